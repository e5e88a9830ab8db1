/* SPDX-License-Identifier: ISC */
/* The server (OCS) role: listening, accepting, checking users. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "endpoint.h"
#include "log.h"
#include "authq.h"
#include "passwd.h"
#include "trustfile.h"

/* Relaying and mesh membership are granted per user, never by default. */
#define SPW_PRIVILEGED (OSTP_SPW_RELAY | OSTP_SPW_MESH)

int ocs_listen(struct ostpd *d)
{
	const struct ostpd_server *sv = &d->cfg.server;

	for (size_t i = 0; i < sv->n_listen && d->n_listen < MAX_LISTEN; i++) {
		const struct endpoint *ep = &sv->listen[i];
		int one = 1, fd;
		char name[ENDPOINT_STRLEN];

		endpoint_format((const struct sockaddr *)&ep->addr, name, sizeof(name));
		fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			log_error("listen %s: %s", name, strerror(errno));
			return -1;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ep->addr.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 ||
		    listen(fd, 512) < 0) {
			log_error("listen %s: %s", name, strerror(errno));
			close(fd);
			return -1;
		}
		if (watch_add(d, &d->listen_w[d->n_listen], fd, W_LISTEN, EPOLLIN) < 0) {
			close(fd);
			return -1;
		}
		d->listen_fd[d->n_listen++] = fd;
		log_info("listening on %s", name);
	}
	return 0;
}

static int new_session(struct ostpd *d, struct conn *c)
{
	const struct ostpd_server *sv = &d->cfg.server;
	struct ostp_server_config sc = {
		.identity_sk = d->id_sk,
		.require_auth = sv->require_auth,
		.spw_supported = sv->spw,
		.spw_default = sv->spw & (OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_CONFIG),
		.spw_permitted = sv->spw & (uint16_t)~SPW_PRIVILEGED,
		.timing.handshake_ms = sv->handshake_timeout * 1000u,
		.outq_max = CONN_OUTQ_MAX,
	};
	int err = ostp_server_new(&c->s, &sc, NULL, now_ms());

	if (err)
		return err;
	ostp_server_set_resource_ok(c->s, d->n_established < sv->max_sessions);
	if (d->n_peers) {
		size_t n;
		struct ostp_peer *peers = rtable_ostp_peers(d, &n);

		if (!peers)
			return OSTP_E_NOMEM;
		err = ostp_server_set_peers(c->s, peers, n);
		free(peers);
	}
	return err;
}

static void accept_one(struct ostpd *d, int fd, const struct sockaddr_storage *ss)
{
	char name[ENDPOINT_STRLEN];
	struct conn *c;

	endpoint_format((const struct sockaddr *)ss, name, sizeof(name));
	if (d->n_conns - d->n_established >= MAX_HANDSHAKING ||
	    d->n_conns >= d->cfg.server.max_sessions + MAX_HANDSHAKING) {
		log_warn("%s: refused: too many connections", name);
		close(fd);
		return;
	}
	conn_tune_socket(fd);
	c = conn_new(d, fd, CONN_ACCEPTED, name);
	if (!c) {
		close(fd);
		return;
	}
	if (new_session(d, c) != 0) {
		conn_close(d, c, OSTP_CLOSE_RESOURCE, "out of memory");
		return;
	}
	log_debug("%s: connection accepted", name);
}

void ocs_on_accept(struct ostpd *d, int lfd)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		accept_one(d, fd, &ss);
	}
}

static const struct ostpd_user *find_user(const struct ostpd *d, const char *name)
{
	for (size_t i = 0; i < d->cfg.server.n_users; i++)
		if (strcmp(d->cfg.server.users[i].name, name) == 0)
			return &d->cfg.server.users[i];
	return NULL;
}

static void push_config(struct ostpd *d, struct conn *c, const struct ostpd_user *u)
{
	struct ostp_config oc = { .mtu = (uint16_t)d->cfg.mtu };

	for (size_t i = 0; i < u->n_addr && i < OSTP_CONFIG_ADDR_MAX; i++) {
		struct ostp_config_addr *a = &oc.addr[oc.n_addr++];

		a->family = u->addr[i].family == AF_INET ? 4 : 6;
		a->prefix_len = u->addr[i].len;
		memcpy(a->addr, u->addr[i].addr, 16);
	}
	ostp_server_set_config(c->s, &oc);
}

void ocs_on_auth(struct ostpd *d, struct conn *c, const struct ostp_event *ev)
{
	struct auth_job *job = calloc(1, sizeof(*job));
	const char *hash;

	if (!job) {
		conn_close(d, c, OSTP_CLOSE_RESOURCE, "out of memory");
		return;
	}
	job->conn_id = c->id;
	snprintf(job->user, sizeof(job->user), "%s", ev->username);
	job->pass_len = ev->password_len;
	memcpy(job->pass, ev->password, ev->password_len);
	job->trusted = d->trust && ostp_trust_contains(d->trust, ev->username);
	hash = job->trusted && d->pw ? pwfile_lookup(d->pw, ev->username) : NULL;
	if (hash)
		snprintf(job->hash, sizeof(job->hash), "%s", hash);
	if (authq_submit(d, job) < 0) {
		sodium_memzero(job, sizeof(*job));
		free(job);
		log_warn("%s: rejected user %s: too many logins in progress", c->endpoint, ev->username);
		if (ostp_server_auth_reply(c->s, false, 0) == OSTP_E_AUTH)
			conn_close(d, c, OSTP_CLOSE_AUTH_FAILED, "too many failed logins");
	}
}

/* The worker's verdict, back on the event loop. */
void ocs_auth_done(struct ostpd *d, struct auth_job *job)
{
	const struct ostpd_user *u = find_user(d, job->user);
	uint16_t permitted = u ? u->spw : (uint16_t)(d->cfg.server.spw & ~SPW_PRIVILEGED);
	struct conn *c = d->conns;
	int err;

	while (c && c->id != job->conn_id)
		c = c->next;
	if (!c || c->dead)
		return;   /* the client went away while we checked */
	ostp_session_extend_handshake(c->s, now_ms() - job->queued_ms);
	/* a reload while the check ran may have removed the user */
	if (job->ok && !(d->trust && ostp_trust_contains(d->trust, job->user))) {
		job->ok = false;
		job->trusted = false;
	}
	if (job->ok) {
		snprintf(c->user, sizeof(c->user), "%s", job->user);
		c->ucfg = u;
		if (u)
			push_config(d, c, u);
		log_info("%s: authenticated as %s", c->endpoint, c->user);
		err = ostp_server_auth_reply(c->s, true, permitted);
	} else {
		log_warn("%s: rejected user %s: %s", c->endpoint, job->user,
			 !job->trusted ? "not in the trusted users list"
			 : !job->hash[0] ? "no password set" : "wrong password");
		err = ostp_server_auth_reply(c->s, false, 0);
	}
	if (err == OSTP_E_AUTH)
		conn_close(d, c, OSTP_CLOSE_AUTH_FAILED, "too many failed logins");
	else
		conn_flush(d, c);
}

void ocs_on_established(struct ostpd *d, struct conn *c)
{
	(void)d;
	log_info("%s: session up%s%s, spw 0x%04x", c->endpoint, c->user[0] ? " for user " : "",
		 c->user, c->spw);
}

int ocs_reload(struct ostpd *d)
{
	const struct ostpd_server *sv = &d->cfg.server;
	ostp_trust *trust = NULL;
	struct pwfile *pw = NULL;
	char err[256];

	if (trust_file_load(&trust, sv->trust_file, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the old list", err);
		return -1;
	}
	if (sv->password_file[0] && pwfile_load(&pw, sv->password_file, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the old passwords", err);
		ostp_trust_free(trust);
		return -1;
	}
	ostp_trust_free(d->trust);
	pwfile_free(d->pw);
	d->trust = trust;
	d->pw = pw;
	for (struct conn *c = d->conns; c; c = c->next)
		if (!c->dead && c->user[0] && !ostp_trust_contains(d->trust, c->user))
			conn_close(d, c, OSTP_CLOSE_REVOKED, "user no longer trusted");
	log_info("reloaded the trusted users list (%zu users) and passwords",
		 ostp_trust_count(d->trust));
	return 0;
}
