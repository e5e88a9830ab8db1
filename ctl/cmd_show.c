/* SPDX-License-Identifier: ISC */
/*
 * ostpctl show [IFNAME], show --json, dump [IFNAME]: what GET_INFO and
 * GET_SESSIONS report, as `wg show` would print it, as one JSON document,
 * or as one tab-separated line per session.  Without IFNAME every daemon
 * with a socket in the control directory is shown.
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

static void text_session(const struct ctl_session *s)
{
	char a[64], b[64], spw[128], safe[sizeof(s->addrs)];

	printf("\nsession: %s\n", s->user[0] ? fmt_safe(safe, sizeof(safe), s->user) : "(no user)");
	printf("  endpoint: %s\n", fmt_safe(safe, sizeof(safe), s->endpoint));
	printf("  role: %s\n", s->role ? "upstream server" : "accepted client");
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

static void text_iface(const struct ctl_info *in, const struct ctl_session *s, size_t n)
{
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
	printf("  sessions: %" PRIu32 " established\n", in->n_sessions);
	for (size_t i = 0; i < n; i++)
		text_session(&s[i]);
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
	printf(", \"role\": \"%s\", \"addresses\": ", s->role ? "server" : "client");
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

static void json_iface(const struct ctl_info *in, const struct ctl_session *s, size_t n,
		       bool first)
{
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
	printf("    \"roles\": [%s%s%s],\n", in->roles & 1 ? "\"server\"" : "",
	       (in->roles & 3) == 3 ? ", " : "", in->roles & 2 ? "\"client\"" : "");
	printf("    \"up\": %s,\n", !in->have_up ? "null" : in->up ? "true" : "false");
	printf("    \"last_error\": ");
	json_str(stdout, in->last_error);
	printf(",\n    \"config_path\": ");
	json_str(stdout, in->config_path);
	printf(",\n    \"established_sessions\": %" PRIu32 ",\n    \"sessions\": [\n",
	       in->n_sessions);
	for (size_t i = 0; i < n; i++)
		json_session(&s[i], i + 1 == n);
	printf("    ]\n  }");
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

static void show_one(const char *ifname, void *ctx)
{
	struct show *sh = ctx;
	struct ctl_info info;
	struct ctl_session *s = NULL;
	size_t n = 0;
	char msg[256];
	int err = ctl_get_info(sh->dir, ifname, &info, msg, sizeof(msg));

	if (err == 0)
		err = ctl_get_sessions(sh->dir, ifname, &s, &n, msg, sizeof(msg));
	if (err < 0) {
		/* a stale socket left by a killed daemon is no interface */
		if (sh->all && ctl_not_running(err))
			return;
		fprintf(stderr, "ostpctl: %s %s: %s\n", sh->what, ifname,
			ctl_not_running(err) ? "not up" : ctl_strerror(err, msg));
		sh->rc = EXIT_FAIL;
		return;
	}
	if (!info.ifname[0])
		snprintf(info.ifname, sizeof(info.ifname), "%s", ifname);
	if (sh->mode == TEXT) {
		if (sh->shown)
			putchar('\n');
		text_iface(&info, s, n);
	} else if (sh->mode == JSON)
		json_iface(&info, s, n, sh->shown == 0);
	else
		dump_sessions(info.ifname, s, n);
	fflush(stdout);
	sh->shown++;
	free(s);
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
