/* SPDX-License-Identifier: ISC */
/*
 * The client role: one connection to the OCS, kept up by reconnecting with
 * exponential backoff and jitter, and the addresses the OCS assigns.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "endpoint.h"
#include "identity.h"
#include "knownhosts.h"
#include "log.h"
#include "prefix.h"
#include "textfile.h"
#include "wire.h"

static void schedule_reconnect(struct ostpd *d)
{
	const struct ostpd_client *cl = &d->cfg.client;
	unsigned min_ms = cl->reconnect_min * 1000u, max_ms = cl->reconnect_max * 1000u;
	unsigned delay;

	if (d->backoff_ms < min_ms)
		d->backoff_ms = min_ms;
	/* jitter of -25%..+25% so many clients of one restarted server do
	 * not come back in lockstep */
	delay = d->backoff_ms - d->backoff_ms / 4 + randombytes_uniform(d->backoff_ms / 2 + 1);
	d->reconnect_at = now_ms() + delay;
	log_info("reconnecting to the server in %u ms", delay);
	d->backoff_ms = d->backoff_ms * 2 > max_ms ? max_ms : d->backoff_ms * 2;
}

/* The password file holds the password on its first line. */
static int read_password(const char *path, char *out, size_t size)
{
	char *buf;
	size_t len;

	if (read_small_file(path, 4096, &buf, &len) < 0) {
		log_error("password file %s: %s", path, strerror(errno));
		return -1;
	}
	len = strcspn(buf, "\r\n");
	if (len >= size || len > OSTP_PASS_MAX) {
		log_error("password file %s: password longer than %u bytes", path, OSTP_PASS_MAX);
		sodium_memzero(buf, strlen(buf));
		free(buf);
		return -1;
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
int upstream_init(struct ostpd *d)
{
	const struct ostpd_client *cl = &d->cfg.client;

	if (!d->cfg.has_client || !cl->username[0])
		return 0;
	d->client_password = sodium_malloc(OSTP_PASS_MAX + 1);
	if (!d->client_password) {
		log_error("no memory for the password");
		return -1;
	}
	return read_password(cl->password_file, d->client_password, OSTP_PASS_MAX + 1);
}

void upstream_free(struct ostpd *d)
{
	if (d->client_password)
		sodium_free(d->client_password);   /* wipes it */
	d->client_password = NULL;
}

static int make_session(struct ostpd *d, struct conn *c)
{
	const struct ostpd_client *cl = &d->cfg.client;
	struct ostp_client_config cc = {
		.spw = (uint16_t)(cl->spw | (cl->quick ? OSTP_SPW_QUICK : 0)),
		.timing.keepalive_ms = cl->keepalive * 1000u,
		.timing.dead_ms = cl->dead_after * 1000u,
		.outq_max = CONN_OUTQ_MAX,
	};
	int known, err;

	if (cl->peers)
		cc.options |= OSTP_OPT_P;
	if (cl->username[0]) {
		/* read_password() writes only a whole valid password, so a bad
		 * file leaves the one read at start-up in place; after the
		 * privilege drop the file is usually unreadable, which is not
		 * worth an error line per reconnect. */
		if (access(cl->password_file, R_OK) == 0)
			read_password(cl->password_file, d->client_password, OSTP_PASS_MAX + 1);
		cc.options |= OSTP_OPT_U;
		cc.username = cl->username;
		cc.password = d->client_password;
	}
	if (cl->have_server_key) {
		memcpy(cc.server_pk, cl->server_key, 32);
	} else {
		known = knownhosts_lookup(cl->known_hosts, c->endpoint, cc.server_pk);
		if (known < 0) {
			log_error("known hosts file %s is malformed", cl->known_hosts);
			return -1;
		}
		cc.tofu = known == 0;
	}
	err = ostp_client_new(&c->s, &cc, NULL, now_ms());
	if (err) {
		log_error("client session: %s", ostp_strerror(err));
		return -1;
	}
	return 0;
}

void upstream_connect(struct ostpd *d)
{
	const struct endpoint *ep = &d->cfg.client.server;
	char name[ENDPOINT_STRLEN];
	struct conn *c;
	int fd;

	endpoint_format((const struct sockaddr *)&ep->addr, name, sizeof(name));
	fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(d->last_error, sizeof(d->last_error), "%s", strerror(errno));
		log_error("connect to %s: %s", name, d->last_error);
		schedule_reconnect(d);
		return;
	}
	conn_tune_socket(fd);
	if (connect(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 && errno != EINPROGRESS) {
		snprintf(d->last_error, sizeof(d->last_error), "%s", strerror(errno));
		log_warn("connect to %s: %s", name, d->last_error);
		close(fd);
		schedule_reconnect(d);
		return;
	}
	c = conn_new(d, fd, CONN_UPSTREAM, name);
	if (!c) {
		close(fd);
		schedule_reconnect(d);
		return;
	}
	c->connecting = true;
	d->upstream = c;
	if (make_session(d, c) < 0)
		conn_close(d, c, OSTP_CLOSE_NORMAL, "cannot start a session");
}

void upstream_lost(struct ostpd *d, struct conn *c)
{
	(void)c;
	d->upstream = NULL;
	if (!d->quit)
		schedule_reconnect(d);
}

static void apply_config(struct ostpd *d, const struct ostp_config *oc)
{
	if (oc->mtu >= 576 && oc->mtu != d->cfg.mtu) {
		int err = rtnl_link_set(&d->rtnl, d->ifindex, true, oc->mtu);

		if (err)
			log_warn("set MTU %u from the server: %s", oc->mtu, rtnl_strerror(&d->rtnl, err));
	}
	size_t off = 0;

	d->upstream_addrs[0] = '\0';
	for (size_t i = 0; i < oc->n_addr; i++) {
		const struct ostp_config_addr *a = &oc->addr[i];
		struct prefix p = { .family = a->family == 4 ? AF_INET : AF_INET6,
				    .len = a->prefix_len };
		char text[PREFIX_STRLEN];
		int err;

		memcpy(p.addr, a->addr, 16);
		prefix_format(&p, text, sizeof(text));
		err = rtnl_addr_add(&d->rtnl, d->ifindex, p.family, p.addr, p.len);
		if (err && err != -EEXIST) {
			log_warn("address %s from the server: %s", text, rtnl_strerror(&d->rtnl, err));
			continue;
		}
		log_info("address %s assigned by the server", text);
		if (off < sizeof(d->upstream_addrs))
			off += (size_t)snprintf(d->upstream_addrs + off, sizeof(d->upstream_addrs) - off,
						"%s%s", off ? " " : "", text);
	}
}

void upstream_on_event(struct ostpd *d, struct conn *c, const struct ostp_event *ev)
{
	char key[IDENTITY_B64_LEN];

	switch (ev->type) {
	case OSTP_EV_SERVER_KEY:
		key_to_base64(key, ev->server_pk);
		if (knownhosts_add(d->cfg.client.known_hosts, c->endpoint, ev->server_pk) < 0)
			log_error("cannot record the server key in %s", d->cfg.client.known_hosts);
		log_warn("%s: first connection, trusting server key %s (recorded in %s)",
			 c->endpoint, key, d->cfg.client.known_hosts);
		break;
	case OSTP_EV_HANDSHAKE:
		key_to_base64(key, ev->server_pk);
		log_info("%s: server authenticated, key %s", c->endpoint, key);
		break;
	case OSTP_EV_AUTH_RESULT:
		log_info("%s: logged in as %s", c->endpoint, d->cfg.client.username);
		break;
	case OSTP_EV_ESTABLISHED:
		d->backoff_ms = 0;
		d->last_error[0] = '\0';
		snprintf(c->user, sizeof(c->user), "%s", d->cfg.client.username);
		log_info("%s: tunnel up, spw 0x%04x", c->endpoint, ev->spw);
		break;
	case OSTP_EV_CONFIG:
		apply_config(d, ev->config);
		break;
	case OSTP_EV_PEER_BLOCK:
		for (size_t i = 0; i < ev->npeers; i++)
			log_info("%s: peer %s port %u", c->endpoint, ev->peers[i].host,
				 ev->peers[i].port);
		break;
	default:
		break;
	}
}
