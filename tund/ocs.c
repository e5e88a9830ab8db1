/* SPDX-License-Identifier: ISC */
/* The server (OCS) role: listening, accepting, checking users. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
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

static const char *refusal(enum admit_verdict v)
{
	switch (v) {
	case ADMIT_PENALIZED: return "source penalized";
	case ADMIT_SOURCE_FULL: return "too many unauthenticated connections from this source";
	case ADMIT_FULL: return "too many logins in progress";
	case ADMIT_SOURCE_LOGINS: return "too many logins in progress from this source";
	case ADMIT_USER_LOGINS: return "too many logins in progress for this user";
	default: return "admitted";
	}
}

/* Closes an unauthenticated connection to make room for another; the
 * source it came from is not penalized for it. */
static void shed_conn(struct ostpd *d, struct admit_ticket *t, const char *why, uint64_t now)
{
	struct conn *old = (struct conn *)((char *)t - offsetof(struct conn, adm));
	char line[ENDPOINT_STRLEN + 128];

	snprintf(line, sizeof(line), "%s: shed: %s", old->endpoint, why);
	admit_note(d->admit, t->src, ADMIT_EV_SHED, line, now);
	t->no_penalty = true;
	conn_close(d, old, OSTP_CLOSE_RESOURCE, why);
}

static void accept_one(struct ostpd *d, int fd, const struct sockaddr_storage *ss, uint64_t now)
{
	char name[ENDPOINT_STRLEN], line[ENDPOINT_STRLEN + 128];
	struct admit_source *src;
	struct admit_ticket *shed;
	enum admit_verdict v;
	struct conn *c;

	endpoint_format((const struct sockaddr *)ss, name, sizeof(name));
	v = admit_check(d->admit, (const struct sockaddr *)ss, now, &src);
	if (v != ADMIT_OK) {
		/* closed before a byte is read: the cheapest answer to a flood */
		close(fd);
		snprintf(line, sizeof(line), "%s: refused: %s", name, refusal(v));
		admit_note(d->admit, src, ADMIT_EV_REFUSED, line, now);
		return;
	}
	conn_tune_socket(fd);
	c = conn_new(d, fd, CONN_ACCEPTED, name);
	if (!c) {
		close(fd);
		return;
	}
	shed = admit_count(d->admit, &c->adm, src);
	if (shed)
		shed_conn(d, shed, "oldest unauthenticated connection, to make room (max_unauth)", now);
	if (new_session(d, c) != 0) {
		c->adm.no_penalty = true;
		conn_close(d, c, OSTP_CLOSE_RESOURCE, "out of memory");
		return;
	}
	log_debug("%s: connection accepted", name);
}

/* At EMFILE/ENFILE the listening socket stays readable, so without this
 * the loop would spin on accept.  First free a descriptor by shedding
 * the oldest unauthenticated connection; with none to shed, spend the
 * reserve descriptor to take one pending connection off the queue and
 * close it, then rest the listeners briefly. */
static bool out_of_descriptors(struct ostpd *d, int lfd, uint64_t now)
{
	struct admit_ticket *t = admit_oldest_unauth(d->admit);
	bool go_on = true;

	if (!d->fd_window_start)
		d->fd_window_start = now;
	if (t) {
		d->fd_shed++;
		shed_conn(d, t, "oldest unauthenticated connection, out of file descriptors", now);
	} else {
		int fd = -1;

		if (d->reserve_fd >= 0) {
			close(d->reserve_fd);
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
		d->fd_refused += fd >= 0;
		ocs_pause_listeners(d, now + ACCEPT_PAUSE_MS);
		go_on = false;
	}
	if (d->fd_shed + d->fd_refused == 1)
		log_warn("accept: out of file descriptors (limit %u): shedding the oldest "
			 "unauthenticated connections", d->nofile_limit);
	return go_on;
}

void ocs_on_accept(struct ostpd *d, int lfd)
{
	uint64_t now = now_ms();

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				if (out_of_descriptors(d, lfd, now))
					continue;
				return;
			}
			/* the peer gave up while queued: take the next one */
			if (errno == ECONNABORTED || errno == EINTR || errno == EPROTO)
				continue;
			return;
		}
		accept_one(d, fd, &ss, now);
	}
}

void ocs_pause_listeners(struct ostpd *d, uint64_t until)
{
	for (size_t i = 0; i < d->n_listen && !d->listen_paused_until; i++) {
		struct epoll_event ev = { .events = 0, .data.ptr = &d->listen_w[i] };

		epoll_ctl(d->ep, EPOLL_CTL_MOD, d->listen_fd[i], &ev);
	}
	d->listen_paused_until = until;
}

static void resume_listeners(struct ostpd *d)
{
	for (size_t i = 0; i < d->n_listen; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->listen_w[i] };

		epoll_ctl(d->ep, EPOLL_CTL_MOD, d->listen_fd[i], &ev);
	}
	d->listen_paused_until = 0;
}

uint64_t ocs_tick(struct ostpd *d, uint64_t now)
{
	uint64_t next;

	if (d->listen_paused_until && now >= d->listen_paused_until)
		resume_listeners(d);
	if (d->fd_window_start && now >= d->fd_window_start + ADMIT_WINDOW_S * 1000u) {
		if (d->fd_shed + d->fd_refused > 1)
			log_warn("accept: out of file descriptors (limit %u): shed %u unauthenticated "
				 "connections and refused %u in the last %d s", d->nofile_limit,
				 d->fd_shed, d->fd_refused, ADMIT_WINDOW_S);
		d->fd_shed = d->fd_refused = 0;
		d->fd_window_start = 0;
	}
	next = admit_tick(d->admit, now);
	if (d->listen_paused_until && d->listen_paused_until < next)
		next = d->listen_paused_until;
	if (d->fd_window_start && d->fd_window_start + ADMIT_WINDOW_S * 1000u < next)
		next = d->fd_window_start + ADMIT_WINDOW_S * 1000u;
	return next;
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

/* The login is not checked: the client is told to come back later,
 * never that its password is wrong. */
static void answer_busy(struct ostpd *d, struct conn *c, const char *user,
			enum admit_verdict why, uint64_t now)
{
	char line[ENDPOINT_STRLEN + 200];

	snprintf(line, sizeof(line), "%s: login of %s answered busy: %s", c->endpoint, user,
		 refusal(why));
	admit_note(d->admit, c->adm.src, ADMIT_EV_BUSY, line, now);
	c->adm.no_penalty = true;
	ostp_server_auth_busy(c->s);
	conn_close(d, c, OSTP_CLOSE_RESOURCE, "server busy");
}

void ocs_on_auth(struct ostpd *d, struct conn *c, const struct ostp_event *ev)
{
	struct auth_job *job = calloc(1, sizeof(*job));
	uint64_t now = now_ms();
	enum admit_verdict v;
	const char *hash;

	if (!job) {
		conn_close(d, c, OSTP_CLOSE_RESOURCE, "out of memory");
		return;
	}
	v = admit_login_begin(d->admit, &c->adm, &job->login, ev->username, now);
	if (v != ADMIT_OK) {
		free(job);
		answer_busy(d, c, ev->username, v, now);
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
		admit_login_end(d->admit, &job->login, false, now);
		c->adm.logging_in = false;
		sodium_memzero(job, sizeof(*job));
		free(job);
		answer_busy(d, c, ev->username, ADMIT_FULL, now);
	}
}

/* The worker's verdict, back on the event loop. */
void ocs_auth_done(struct ostpd *d, struct auth_job *job)
{
	const struct ostpd_user *u = find_user(d, job->user);
	uint16_t permitted = u ? u->spw : (uint16_t)(d->cfg.server.spw & ~SPW_PRIVILEGED);
	uint64_t now = now_ms();
	struct conn *c = d->conns;
	char line[ENDPOINT_STRLEN + 200];
	int err;

	/* a reload while the check ran may have removed the user */
	if (job->ok && !(d->trust && ostp_trust_contains(d->trust, job->user))) {
		job->ok = false;
		job->trusted = false;
	}
	/* counted against the source even when the client already left:
	 * hanging up early must not dodge the penalty */
	admit_login_end(d->admit, &job->login, !job->ok, now);
	while (c && c->id != job->conn_id)
		c = c->next;
	if (!c || c->dead)
		return;   /* the client went away while we checked */
	c->adm.logging_in = false;
	ostp_session_extend_handshake(c->s, now - job->queued_ms);
	if (job->ok) {
		snprintf(c->user, sizeof(c->user), "%s", job->user);
		c->ucfg = u;
		if (u)
			push_config(d, c, u);
		admit_authenticated(d->admit, &c->adm);
		log_info("%s: authenticated as %s", c->endpoint, c->user);
		err = ostp_server_auth_reply(c->s, true, permitted);
	} else {
		snprintf(line, sizeof(line), "%s: rejected user %s: %s", c->endpoint, job->user,
			 !job->trusted ? "not in the trusted users list"
			 : !job->hash[0] ? "no password set" : "wrong password");
		admit_note(d->admit, c->adm.src, ADMIT_EV_FAILED, line, now);
		/* already penalized for the failure */
		c->adm.no_penalty = true;
		err = ostp_server_auth_reply(c->s, false, 0);
	}
	if (err == OSTP_E_AUTH) {
		conn_close(d, c, OSTP_CLOSE_AUTH_FAILED, "too many failed logins");
		return;
	}
	/* what the client sent while we checked (a pipelined PAP) was held
	 * by the session until this answer */
	conn_feed(d, c, d->rbuf, 0);
	conn_flush(d, c);
}

void ocs_on_established(struct ostpd *d, struct conn *c)
{
	/* without user authentication, establishing is authenticating */
	admit_authenticated(d->admit, &c->adm);
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
