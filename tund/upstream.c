/* SPDX-License-Identifier: ISC */
/*
 * The client role: one link to the OCS, kept up by the dialer
 * (exponential backoff with jitter, also when the server answers busy),
 * and what the OCS assigns: MTU and addresses.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "endpoint.h"
#include "identity.h"
#include "keylog.h"
#include "knownhosts.h"
#include "log.h"
#include "prefix.h"
#include "textfile.h"

/* The password file holds the password on its first line. */
static int read_password(const char *path, char *out, size_t size)
{
	char *buf;
	size_t len;
	int rc = read_small_file(path, 4096, &buf, &len);

	if (rc < 0) {
		log_error("password file %s: %s", path, strerror(-rc));
		return rc;
	}
	len = strcspn(buf, "\r\n");
	if (len >= size || len > OSTP_PASS_MAX) {
		log_error("password file %s: password longer than %u bytes", path, OSTP_PASS_MAX);
		sodium_memzero(buf, strlen(buf));
		free(buf);
		return -EMSGSIZE;
	}
	memcpy(out, buf, len);
	out[len] = '\0';
	sodium_memzero(buf, strlen(buf));
	free(buf);
	return 0;
}

/* Read before privileges are dropped (the file is root's and 0600) and kept
 * in guarded, locked memory (sodium_malloc), wiped on exit.  Each connect
 * reads the file again when it can, so a changed password is picked up. */
static int read_initial_password(struct ostpd *d)
{
	const struct ostpd_client *cl = &d->cfg.client;

	if (!cl->username[0])
		return 0;
	d->cli.password = sodium_malloc(OSTP_PASS_MAX + 1);
	if (!d->cli.password) {
		log_error("no memory for the password");
		return -ENOMEM;
	}
	return read_password(cl->password_file, d->cli.password, OSTP_PASS_MAX + 1);
}

static int make_session(struct ostpd *d, const char *endpoint, ostp_session **s)
{
	const struct ostpd_client *cl = &d->cfg.client;
	struct ostp_client_config cc = {
		.spw = (uint16_t)(cl->spw | (cl->quick ? OSTP_SPW_QUICK : 0)),
		.timing.keepalive_ms = cl->keepalive * 1000u,
		.timing.dead_ms = cl->dead_after * 1000u,
		.outq_max = LINK_OUTQ_MAX,
		.keylog = keylog_hook(),
	};
	int known, err;

	if (cl->peers)
		cc.options |= OSTP_OPT_P;
	if (cl->mesh)
		cc.identity_sk = d->id_sk;   /* a member proves its key (option I) */
	if (cl->username[0]) {
		/* read_password() writes only a whole valid password, so a bad
		 * file leaves the one read at start-up in place; after the
		 * privilege drop the file is usually unreadable, which is not
		 * worth an error line per reconnect. */
		if (access(cl->password_file, R_OK) == 0)
			read_password(cl->password_file, d->cli.password, OSTP_PASS_MAX + 1);
		cc.options |= OSTP_OPT_U;
		cc.username = cl->username;
		cc.password = d->cli.password;
	}
	if (cl->have_server_key) {
		memcpy(cc.server_pk, cl->server_key, 32);
	} else {
		known = knownhosts_lookup(cl->known_hosts, endpoint, cc.server_pk);
		if (known < 0) {
			log_error("known hosts file %s is malformed", cl->known_hosts);
			return -EINVAL;
		}
		cc.tofu = known == 0;
	}
	err = ostp_client_new(s, &cc, NULL, ev_now(&d->loop));
	if (err) {
		log_error("client session: %s", ostp_strerror(err));
		return -ENOMEM;
	}
	return 0;
}

static void apply_config(struct ostpd *d, const struct ostp_config *oc)
{
	if (oc->mtu >= 576 && oc->mtu != d->cfg.mtu) {
		int err = rtnl_link_set(&d->rtnl, d->tun.ifindex, true, oc->mtu);

		if (err)
			log_warn("set MTU %u from the server: %s", oc->mtu, rtnl_strerror(&d->rtnl, err));
	}
	size_t off = 0;

	d->cli.addrs[0] = '\0';
	for (size_t i = 0; i < oc->n_addr; i++) {
		const struct ostp_config_addr *a = &oc->addr[i];
		struct prefix p = { .family = a->family == 4 ? AF_INET : AF_INET6,
				    .len = a->prefix_len };
		char text[PREFIX_STRLEN];
		int err;

		memcpy(p.addr, a->addr, 16);
		prefix_format(&p, text, sizeof(text));
		err = rtnl_addr_add(&d->rtnl, d->tun.ifindex, p.family, p.addr, p.len);
		if (err && err != -EEXIST) {
			log_warn("address %s from the server: %s", text, rtnl_strerror(&d->rtnl, err));
			continue;
		}
		log_info("address %s assigned by the server", text);
		if (off < sizeof(d->cli.addrs))
			off += (size_t)snprintf(d->cli.addrs + off, sizeof(d->cli.addrs) - off,
						"%s%s", off ? " " : "", text);
	}
}


static void cli_event(struct link *k, const struct ostp_event *ev);
static void cli_close(struct link *k, const char *why);
static void cli_drain(struct link *k);
static void cli_free(struct link *k);
static void cli_connected(struct link *k);

static const struct link_ops cli_ops = {
	.on_connected = cli_connected,
	.on_event = cli_event,
	.on_close = cli_close,
	.on_drain = cli_drain,
	.on_free = cli_free,
};

static struct ostpd *daemon_of(struct link *k)
{
	return ((struct cli_link *)k)->d;
}

bool upstream_is(const struct ostpd *d, const struct link *k)
{
	return d->cli.link && &d->cli.link->k == k;
}

bool upstream_up(const struct ostpd *d)
{
	return d->cli.link && link_up(&d->cli.link->k);
}

static int on_dial(struct dial_target *t, int fd)
{
	struct ostpd *d = t->owner;
	struct cli_link *cl = calloc(1, sizeof(*cl));
	ostp_session *s;

	if (!cl)
		return -ENOMEM;
	if (make_session(d, t->name, &s) < 0) {
		free(cl);
		return -EINVAL;
	}
	cl->d = d;
	link_tune_socket(fd);
	if (link_start(&cl->k, &d->links, fd, s, t->name, true, &cli_ops) < 0) {
		ostp_session_free(s);
		free(cl);
		return -ENOMEM;
	}
	d->cli.link = cl;
	return 0;
}

static void cli_connected(struct link *k)
{
	log_info("%s: connected", k->endpoint);
}

static void cli_event(struct link *k, const struct ostp_event *ev)
{
	struct ostpd *d = daemon_of(k);
	char key[IDENTITY_B64_LEN];

	switch (ev->type) {
	case OSTP_EV_MESSAGE:
		tun_deliver(d, k, ev->msg_type, ev->data, ev->len);
		break;
	case OSTP_EV_SERVER_KEY:
		key_to_base64(key, ev->server_pk);
		if (knownhosts_add(d->cfg.client.known_hosts, k->endpoint, ev->server_pk) < 0)
			log_error("cannot record the server key in %s", d->cfg.client.known_hosts);
		log_warn("%s: first connection, trusting server key %s (recorded in %s)",
			 k->endpoint, key, d->cfg.client.known_hosts);
		break;
	case OSTP_EV_HANDSHAKE:
		key_to_base64(key, ev->server_pk);
		log_info("%s: server authenticated, key %s", k->endpoint, key);
		break;
	case OSTP_EV_AUTH_RESULT:
		log_info("%s: logged in as %s", k->endpoint, d->cfg.client.username);
		break;
	case OSTP_EV_ESTABLISHED:
		dial_up(&d->cli.dial);
		snprintf(k->user, sizeof(k->user), "%s", d->cfg.client.username);
		k->policy = &fwd_policy_upstream;
		d->fwd.fallback = k;
		log_info("%s: tunnel up, spw 0x%04x", k->endpoint, ev->spw);
		if (d->mesh && (ev->spw & OSTP_SPW_MESH))
			mesh_ocs_up(d, k);
		else if (d->mesh)
			log_warn("%s: the server did not grant mesh: no member list, no direct links",
				 k->endpoint);
		break;
	case OSTP_EV_MEMBER:
		if (d->mesh)
			mesh_ocs_member(d, ev->member);
		break;
	case OSTP_EV_CONFIG:
		apply_config(d, ev->config);
		break;
	case OSTP_EV_PEER_BLOCK:
		for (size_t i = 0; i < ev->npeers; i++)
			log_info("%s: peer %s port %u", k->endpoint, ev->peers[i].host,
				 ev->peers[i].port);
		break;
	default:
		break;
	}
}

static void cli_close(struct link *k, const char *why)
{
	struct ostpd *d = daemon_of(k);

	if (k->user[0])
		log_info("%s user %s: closed: %s", k->endpoint, k->user, why);
	else
		log_info("%s: closed: %s", k->endpoint, why);
	fwd_forget(&d->fwd, k);
	if (upstream_is(d, k)) {
		d->cli.link = NULL;
		mesh_ocs_down(d);
		if (!d->loop.quit)
			dial_lost(&d->cli.dial, why);
		else
			snprintf(d->cli.dial.last_error, sizeof(d->cli.dial.last_error), "%s", why);
	}
}

static void cli_drain(struct link *k)
{
	tun_link_drained(daemon_of(k), k);
}

static void cli_free(struct link *k)
{
	free((struct cli_link *)k);
}

/* Before the privilege drop: the password file is root's. */
int upstream_start(struct ostpd *d)
{
	const struct ostpd_client *cl = &d->cfg.client;
	int err = read_initial_password(d);

	if (err)
		return err;
	dial_target_init(&d->cli.dial, &d->loop, &cl->server, "the server",
			 cl->reconnect_min * 1000u, cl->reconnect_max * 1000u, on_dial, d);
	return 0;
}

void upstream_connect(struct ostpd *d)
{
	dial_now(&d->cli.dial);
}

void upstream_stop(struct ostpd *d)
{
	dial_stop(&d->cli.dial);
	if (d->cli.password)
		sodium_free(d->cli.password);   /* wipes it */
	d->cli.password = NULL;
}
