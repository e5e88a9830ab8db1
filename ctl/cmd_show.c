/* SPDX-License-Identifier: ISC */
/*
 * ostpctl show [IFNAME], show --json, dump [IFNAME]: what GET_INFO and
 * GET_SESSIONS report (and MESH_LIST, for a mesh member), as `wg show`
 * would print it, as one JSON document, or as one tab-separated line per
 * session and member.  Without IFNAME every daemon with a socket in the
 * control directory is shown.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ctl.h"
#include "ctlclient.h"
#include "fmt.h"
#include "identity.h"

enum mode { TEXT, JSON, DUMP };

struct show {
	enum mode mode;
	const char *dir;
	const char *what;  /* "show" or "dump", for errors */
	bool all;          /* no IFNAME given: skip sockets nobody listens on */
	int shown;         /* interfaces printed so far */
	int rc;
};

/* What one interface reported. */
struct iface {
	struct ctl_info info;
	struct ctl_session *s;
	size_t n;
	struct ctl_member *m;   /* only when info.have_members */
	size_t nm;
};

static const char *role_text(uint8_t role)
{
	switch (role) {
	case 0: return "accepted client";
	case 1: return "upstream server";
	case 2: return "mesh member";
	}
	return "unknown";
}

static const char *role_json(uint8_t role)
{
	switch (role) {
	case 0: return "client";
	case 1: return "server";
	case 2: return "mesh";
	}
	return "unknown";
}

/* The first 11 characters of the base64 key, as the daemon's log shows it. */
static const char *short_key(char *buf, size_t size, const struct ctl_member *m)
{
	char b64[IDENTITY_B64_LEN];

	if (!m->have_key)
		return "(none)";
	key_to_base64(b64, m->key);
	snprintf(buf, size, "%.11s...", b64);
	return buf;
}

/* "a,b" as "a, b", the way show lists addresses. */
static const char *comma_space(char *buf, size_t size, const char *list)
{
	size_t o = 0;

	for (const char *p = list; *p && o + 3 < size; p++) {
		buf[o++] = *p;
		if (*p == ',')
			buf[o++] = ' ';
	}
	buf[o] = '\0';
	return buf;
}

static void text_member(const struct ctl_member *m)
{
	char a[64], b[64], key[32], name[sizeof(m->name)], safe[sizeof(m->last_error)];
	char list[2 * sizeof(m->prefixes)], safe_list[sizeof(list)];

	printf("\nmember: %s  key: %s  prefixes: %s\n", fmt_safe(name, sizeof(name), m->name),
	       short_key(key, sizeof(key), m),
	       m->prefixes[0] ? fmt_safe(safe_list, sizeof(safe_list),
					 comma_space(list, sizeof(list), m->prefixes))
			      : "(none)");
	printf("  accepts links: %s\n",
	       m->listens[0] ? fmt_safe(safe, sizeof(safe), m->listens) : "no");
	if (m->path == CTL_PATH_DIRECT)
		printf("  path: direct %s (%s dialed)\n", fmt_safe(safe, sizeof(safe), m->endpoint),
		       m->dialer ? "we" : "it");
	else if (m->path == CTL_PATH_RELAY && m->endpoint[0])
		printf("  path: relay via OCS (link to %s being probed)\n",
		       fmt_safe(safe, sizeof(safe), m->endpoint));
	else if (m->path == CTL_PATH_RELAY)
		printf("  path: relay via OCS\n");
	else
		printf("  path: %s\n", ctl_path_name(m->path));
	if (m->link_age_ms)
		printf("  link: %s", fmt_duration(a, sizeof(a), (m->link_age_ms - 1) / 1000));
	else
		printf("  link: none");
	if (m->handshake_ms)
		printf(", latest handshake: %s ago",
		       fmt_duration(b, sizeof(b), (m->handshake_ms - 1) / 1000));
	else
		printf(", latest handshake: never");
	if (m->rtt_us)
		printf(", rtt %.2f ms", m->rtt_us / 1000.0);
	printf("\n  transfer: %s received, %s sent; failovers: %" PRIu32
	       "; source drops: %" PRIu64 "\n",
	       fmt_bytes(a, sizeof(a), m->rx_bytes), fmt_bytes(b, sizeof(b), m->tx_bytes),
	       m->failovers, m->drop_source);
	if (m->last_error[0])
		printf("  last error: %s\n", fmt_safe(safe, sizeof(safe), m->last_error));
}

static void text_session(const struct ctl_session *s)
{
	char a[64], b[64], spw[128], safe[sizeof(s->addrs)];

	printf("\nsession: %s\n", s->user[0] ? fmt_safe(safe, sizeof(safe), s->user) : "(no user)");
	printf("  endpoint: %s\n", fmt_safe(safe, sizeof(safe), s->endpoint));
	printf("  role: %s\n", role_text(s->role));
	if (s->addrs[0])
		printf("  addresses: %s\n", fmt_safe(safe, sizeof(safe), s->addrs));
	printf("  spw: %s\n", s->spw ? fmt_spw(spw, sizeof(spw), s->spw, ", ") : "(none)");
	if (s->up_ms)
		printf("  latest handshake: %s ago\n",
		       fmt_duration(a, sizeof(a), (s->up_ms - 1) / 1000));
	else
		printf("  latest handshake: (handshaking)\n");
	printf("  transfer: %s received, %s sent\n", fmt_bytes(a, sizeof(a), s->rx_bytes),
	       fmt_bytes(b, sizeof(b), s->tx_bytes));
	printf("  packets: %" PRIu64 " received, %" PRIu64 " sent\n", s->rx_packets,
	       s->tx_packets);
	if (s->have_drop_detail)
		printf("  drops: %" PRIu64 " (queue full %" PRIu64 ", source not allowed %" PRIu64 ")\n",
		       s->drops, s->drop_queue, s->drop_source);
	else
		printf("  drops: %" PRIu64 "\n", s->drops);
}

static void text_iface(const struct iface *f)
{
	const struct ctl_info *in = &f->info;
	char key[IDENTITY_B64_LEN], safe[sizeof(in->last_error)];

	printf("interface: %s\n", fmt_safe(safe, sizeof(safe), in->ifname));
	if (in->have_pubkey) {
		key_to_base64(key, in->pubkey);
		printf("  public key: %s\n", key);
	}
	if (in->have_port)
		printf("  listening port: %u\n", in->port);
	if (in->have_server_key) {
		key_to_base64(key, in->server_key);
		printf("  server key: %s\n", key);
	}
	if (in->have_up)
		printf("  upstream: %s\n", in->up ? "up" : "down");
	if (in->last_error[0])
		printf("  last error: %s\n", fmt_safe(safe, sizeof(safe), in->last_error));
	if (in->have_members)
		printf("  mesh members: %" PRIu32 "\n", in->n_members);
	if (in->aead_engine[0])
		printf("  aead engine: %s\n", fmt_safe(safe, sizeof(safe), in->aead_engine));
	printf("  sessions: %" PRIu32 " established\n", in->n_sessions);
	for (size_t i = 0; i < f->n; i++)
		text_session(&f->s[i]);
	for (size_t i = 0; i < f->nm; i++)
		text_member(&f->m[i]);
}

static void json_u64(const char *name, uint64_t v, bool comma)
{
	printf("\"%s\": %" PRIu64 "%s", name, v, comma ? ", " : "");
}

static void json_session(const struct ctl_session *s, bool last)
{
	char spw[128];

	printf("      {\"user\": ");
	json_str(stdout, s->user);
	printf(", \"endpoint\": ");
	json_str(stdout, s->endpoint);
	printf(", \"role\": \"%s\", \"addresses\": ", role_json(s->role));
	json_str_list(stdout, s->addrs);
	printf(", \"spw\": ");
	json_str_list(stdout, fmt_spw(spw, sizeof(spw), s->spw, ","));
	printf(", \"spw_value\": %u, \"handshaking\": %s, ", s->spw,
	       s->up_ms ? "false" : "true");
	if (s->up_ms)
		json_u64("latest_handshake_seconds", (s->up_ms - 1) / 1000, true);
	else
		printf("\"latest_handshake_seconds\": null, ");
	json_u64("up_ms", s->up_ms, true);
	json_u64("rx_bytes", s->rx_bytes, true);
	json_u64("rx_packets", s->rx_packets, true);
	json_u64("tx_bytes", s->tx_bytes, true);
	json_u64("tx_packets", s->tx_packets, true);
	json_u64("drops", s->drops, s->have_drop_detail);
	if (s->have_drop_detail) {
		json_u64("drops_queue", s->drop_queue, true);
		json_u64("drops_source", s->drop_source, false);
	}
	printf("}%s\n", last ? "" : ",");
}

/* A string, or null when it is empty. */
static void json_str_or_null(const char *name, const char *v)
{
	printf("\"%s\": ", name);
	if (v[0])
		json_str(stdout, v);
	else
		printf("null");
	printf(", ");
}

/* A "plus one, 0 none" number of milliseconds as the number, or null. */
static void json_ms1(const char *name, uint64_t v)
{
	if (v)
		json_u64(name, v - 1, true);
	else
		printf("\"%s\": null, ", name);
}

static void json_member(const struct ctl_member *m, bool last)
{
	char b64[IDENTITY_B64_LEN];

	printf("      {\"name\": ");
	json_str(stdout, m->name);
	printf(", \"public_key\": ");
	if (m->have_key) {
		key_to_base64(b64, m->key);
		printf("\"%s\"", b64);
	} else {
		printf("null");
	}
	printf(", \"prefixes\": ");
	json_str_list(stdout, m->prefixes);
	printf(", \"path\": \"%s\", ", ctl_path_name(m->path));
	json_str_or_null("endpoint", m->endpoint);
	printf("\"we_dialed\": %s, ", !m->endpoint[0] ? "null" : m->dialer ? "true" : "false");
	json_str_or_null("listen", m->listens);
	json_ms1("link_age_ms", m->link_age_ms);
	json_ms1("handshake_ago_ms", m->handshake_ms);
	if (m->handshake_ms)
		json_u64("latest_handshake_seconds", (m->handshake_ms - 1) / 1000, true);
	else
		printf("\"latest_handshake_seconds\": null, ");
	json_u64("rtt_us", m->rtt_us, true);
	json_u64("rx_bytes", m->rx_bytes, true);
	json_u64("tx_bytes", m->tx_bytes, true);
	json_u64("failovers", m->failovers, true);
	json_u64("drops_source", m->drop_source, true);
	printf("\"last_error\": ");
	json_str(stdout, m->last_error);
	printf("}%s\n", last ? "" : ",");
}

static void json_key(const char *name, bool have, const uint8_t key[32])
{
	char b64[IDENTITY_B64_LEN];

	printf("    \"%s\": ", name);
	if (have) {
		key_to_base64(b64, key);
		printf("\"%s\",\n", b64);
	} else {
		printf("null,\n");
	}
}

static void json_iface(const struct iface *f, bool first)
{
	const struct ctl_info *in = &f->info;

	printf("%s  ", first ? "" : ",\n");
	json_str(stdout, in->ifname);
	printf(": {\n    \"interface\": ");
	json_str(stdout, in->ifname);
	printf(",\n");
	json_key("public_key", in->have_pubkey, in->pubkey);
	if (in->have_port)
		printf("    \"listen_port\": %u,\n", in->port);
	else
		printf("    \"listen_port\": null,\n");
	json_key("server_key", in->have_server_key, in->server_key);
	printf("    \"pid\": %" PRIu32 ",\n", in->pid);
	printf("    \"aead_engine\": ");
	json_str(stdout, in->aead_engine);
	printf(",\n");
	printf("    \"roles\": [%s%s%s],\n", in->roles & 1 ? "\"server\"" : "",
	       (in->roles & 3) == 3 ? ", " : "", in->roles & 2 ? "\"client\"" : "");
	printf("    \"up\": %s,\n", !in->have_up ? "null" : in->up ? "true" : "false");
	printf("    \"last_error\": ");
	json_str(stdout, in->last_error);
	printf(",\n    \"config_path\": ");
	json_str(stdout, in->config_path);
	printf(",\n    \"established_sessions\": %" PRIu32 ",\n    \"sessions\": [\n",
	       in->n_sessions);
	for (size_t i = 0; i < f->n; i++)
		json_session(&f->s[i], i + 1 == f->n);
	printf("    ]");
	/* only a mesh member has the key: other documents stay as they were */
	if (in->have_members) {
		printf(",\n    \"mesh\": [\n");
		for (size_t i = 0; i < f->nm; i++)
			json_member(&f->m[i], i + 1 == f->nm);
		printf("    ]");
	}
	printf("\n  }");
}

static void dump_sessions(const char *ifname, const struct ctl_session *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char addrs[sizeof(s->addrs)], user[sizeof(s->user)], ep[sizeof(s->endpoint)];

		/* one field per column: the addresses are joined by commas */
		fmt_safe(addrs, sizeof(addrs), s[i].addrs[0] ? s[i].addrs : "(none)");
		for (char *p = addrs; *p; p++)
			if (*p == ' ')
				*p = ',';
		printf("%s\t%s\t%s\t%s\t%u\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
		       "\t%" PRIu64 "\t%" PRIu64 "\n",
		       ifname, s[i].user[0] ? fmt_safe(user, sizeof(user), s[i].user) : "(none)",
		       fmt_safe(ep, sizeof(ep), s[i].endpoint), addrs,
		       s[i].spw, s[i].up_ms, s[i].rx_bytes, s[i].rx_packets, s[i].tx_bytes,
		       s[i].tx_packets, s[i].drops);
	}
}

/* One line per member: interface, the word "mesh" (with 17 fields, never
 * taken for a session's 11), then what MESH_LIST says (ostpctl(8)). */
static void dump_members(const char *ifname, const struct ctl_member *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char b64[IDENTITY_B64_LEN], name[sizeof(m->name)], pfx[sizeof(m->prefixes)];
		char ep[sizeof(m->endpoint)], ls[sizeof(m->listens)], err[sizeof(m->last_error)];

		if (m[i].have_key)
			key_to_base64(b64, m[i].key);
		printf("%s\tmesh\t%s\t%s\t%s\t%s\t%s\t%s\t%u\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu32
		       "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu32 "\t%" PRIu64 "\t%s\n",
		       ifname, fmt_safe(name, sizeof(name), m[i].name),
		       m[i].have_key ? b64 : "(none)",
		       m[i].prefixes[0] ? fmt_safe(pfx, sizeof(pfx), m[i].prefixes) : "(none)",
		       ctl_path_name(m[i].path),
		       m[i].endpoint[0] ? fmt_safe(ep, sizeof(ep), m[i].endpoint) : "(none)",
		       m[i].listens[0] ? fmt_safe(ls, sizeof(ls), m[i].listens) : "(none)",
		       m[i].dialer ? 1u : 0u, m[i].link_age_ms, m[i].handshake_ms, m[i].rtt_us,
		       m[i].rx_bytes, m[i].tx_bytes, m[i].failovers, m[i].drop_source,
		       m[i].last_error[0] ? fmt_safe(err, sizeof(err), m[i].last_error) : "(none)");
	}
}

static void show_one(const char *ifname, void *ctx)
{
	struct show *sh = ctx;
	struct iface f = { 0 };
	struct ctl_info *info = &f.info;
	char msg[256];
	int err = ctl_get_info(sh->dir, ifname, info, msg, sizeof(msg));

	if (err == 0)
		err = ctl_get_sessions(sh->dir, ifname, &f.s, &f.n, msg, sizeof(msg));
	/* a member with nobody else listed yet has nothing to list */
	if (err == 0 && info->have_members && info->n_members)
		err = ctl_get_members(sh->dir, ifname, &f.m, &f.nm, msg, sizeof(msg));
	if (err < 0) {
		free(f.s);
		/* a stale socket left by a killed daemon is no interface */
		if (sh->all && ctl_not_running(err))
			return;
		fprintf(stderr, "ostpctl: %s %s: %s\n", sh->what, ifname,
			ctl_not_running(err) ? "not up" : ctl_strerror(err, msg));
		sh->rc = EXIT_FAIL;
		return;
	}
	if (!info->ifname[0])
		snprintf(info->ifname, sizeof(info->ifname), "%s", ifname);
	if (sh->mode == TEXT) {
		if (sh->shown)
			putchar('\n');
		text_iface(&f);
	} else if (sh->mode == JSON) {
		json_iface(&f, sh->shown == 0);
	} else {
		dump_sessions(info->ifname, f.s, f.n);
		dump_members(info->ifname, f.m, f.nm);
	}
	fflush(stdout);
	sh->shown++;
	free(f.s);
	free(f.m);
}

static int run(int argc, char **argv, enum mode mode)
{
	char dir[PATH_MAX];
	const char *what = mode == DUMP ? "dump" : "show";
	struct show sh = { .mode = mode, .dir = dir, .what = what };
	int n = 0;

	if (argc > 2)
		return ctl_usage_error(argv[0]);
	if (argc == 2 && !ctl_ifname_valid(argv[1])) {
		fprintf(stderr, "ostpctl: %s: bad interface name '%s'\n", what, argv[1]);
		return EXIT_USAGE;
	}
	if (ctl_find_dir(what, argc == 2 ? argv[1] : NULL, dir, sizeof(dir)) < 0)
		return EXIT_USAGE;
	if (mode == JSON)
		printf("{\n");
	if (argc == 2) {
		show_one(argv[1], &sh);
	} else {
		sh.all = true;
		n = ctl_list_ifaces(dir, show_one, &sh);
	}
	if (mode == JSON)
		printf("%s}\n", sh.shown ? "\n" : "");
	if (n < 0 && n != -ENOENT) {
		fprintf(stderr, "ostpctl: %s: %s: %s\n", what, dir, strerror(-n));
		return EXIT_FAIL;
	}
	return sh.rc;
}

int cmd_show(int argc, char **argv)
{
	return run(argc, argv, ctl_opts.json ? JSON : TEXT);
}

int cmd_dump(int argc, char **argv)
{
	return run(argc, argv, DUMP);
}
