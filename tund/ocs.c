/* SPDX-License-Identifier: ISC */
/*
 * The server (OCS) role: accepting connections within the admission
 * limits, checking users, and what a server session's events mean: its
 * prefixes enter the forwarding table when it is established and leave
 * it when it closes.
 */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "authq.h"
#include "pamcheck.h"
#include "identity.h"
#include "keylog.h"
#include "daemon.h"
#include "log.h"
#include "passwd.h"
#include "trustfile.h"

/* Relaying and mesh membership are granted per user, never by default. */
#define SPW_PRIVILEGED (OSTP_SPW_RELAY | OSTP_SPW_MESH)

static void srv_event(struct link *k, const struct ostp_event *ev);
static void srv_close(struct link *k, const char *why);
static void srv_drain(struct link *k);
static void srv_free(struct link *k);

static const struct link_ops srv_ops = {
	.on_event = srv_event,
	.on_close = srv_close,
	.on_drain = srv_drain,
	.on_free = srv_free,
};

static struct srv_link *srv_of(struct link *k)
{
	return (struct srv_link *)k;
}

const struct ostpd_user *ocs_link_user(const struct link *k)
{
	return k->ops == &srv_ops ? ((const struct srv_link *)k)->ucfg : NULL;
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

/* ---- accepting -------------------------------------------------------------- */

static int new_session(struct ostpd *d, ostp_session **s)
{
	const struct ostpd_server *sv = &d->cfg.server;
	struct ostp_server_config sc = {
		.identity_sk = d->id_sk,
		.require_auth = sv->require_auth,
		.spw_supported = sv->spw,
		.spw_default = sv->spw & (OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_CONFIG),
		.spw_permitted = sv->spw & (uint16_t)~SPW_PRIVILEGED,
		.timing.handshake_ms = sv->handshake_timeout * 1000u,
		.outq_max = LINK_OUTQ_MAX,
		.keylog = keylog_hook(),
	};
	int err = ostp_server_new(s, &sc, NULL, ev_now(&d->loop));

	if (err)
		return err;
	ostp_server_set_resource_ok(*s, d->srv.n_established < sv->max_sessions);
	return 0;
}

/* Closes an unauthenticated connection to make room for another; the
 * source it came from is not penalized for it. */
static void shed(struct ostpd *d, struct admit_ticket *t, const char *why)
{
	struct srv_link *old = (struct srv_link *)((char *)t - offsetof(struct srv_link, adm));
	char line[LINK_ENDPOINT_MAX + 128];

	snprintf(line, sizeof(line), "%s: shed: %s", old->k.endpoint, why);
	admit_note(d->srv.admit, t->src, ADMIT_EV_SHED, line, ev_now(&d->loop));
	t->no_penalty = true;
	link_close(&old->k, OSTP_CLOSE_RESOURCE, why);
}

static void on_accept(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	struct ostpd *d = l->owner;
	uint64_t now = ev_now(&d->loop);
	char name[ENDPOINT_STRLEN], line[ENDPOINT_STRLEN + 128];
	struct admit_source *src;
	struct admit_ticket *old;
	enum admit_verdict v;
	struct srv_link *sl;
	ostp_session *s;

	endpoint_format((const struct sockaddr *)ss, name, sizeof(name));
	v = admit_check(d->srv.admit, (const struct sockaddr *)ss, now, &src);
	if (v != ADMIT_OK) {
		/* closed before a byte is read: the cheapest answer to a flood */
		close(fd);
		snprintf(line, sizeof(line), "%s: refused: %s", name, refusal(v));
		admit_note(d->srv.admit, src, ADMIT_EV_REFUSED, line, now);
		return;
	}
	sl = calloc(1, sizeof(*sl));
	if (!sl || new_session(d, &s) != 0) {
		log_warn("%s: refused: out of memory", name);
		free(sl);
		close(fd);
		return;
	}
	sl->d = d;
	sl->peer = *ss;
	link_tune_socket(fd);
	if (link_start(&sl->k, &d->links, fd, s, name, false, &srv_ops) < 0) {
		ostp_session_free(s);
		free(sl);
		close(fd);
		return;
	}
	old = admit_count(d->srv.admit, &sl->adm, src);
	if (old)
		shed(d, old, "oldest unauthenticated connection, to make room (max_unauth)");
	log_debug("%s: connection accepted", name);
}

static bool on_shortage(struct listener *l)
{
	struct ostpd *d = l->owner;
	struct admit_ticket *t = admit_oldest_unauth(d->srv.admit);

	if (!t)
		return false;
	shed(d, t, "oldest unauthenticated connection, out of file descriptors");
	return true;
}

/* ---- logging in ------------------------------------------------------------- */

static const struct ostpd_user *find_user(const struct ostpd *d, const char *name)
{
	for (size_t i = 0; i < d->cfg.server.n_users; i++)
		if (strcmp(d->cfg.server.users[i].name, name) == 0)
			return &d->cfg.server.users[i];
	return NULL;
}

static void push_config(struct srv_link *sl, const struct ostpd_user *u)
{
	struct ostp_config oc = { .mtu = (uint16_t)sl->d->cfg.mtu };

	for (size_t i = 0; i < u->n_addr && i < OSTP_CONFIG_ADDR_MAX; i++) {
		struct ostp_config_addr *a = &oc.addr[oc.n_addr++];

		a->family = u->addr[i].family == AF_INET ? 4 : 6;
		a->prefix_len = u->addr[i].len;
		memcpy(a->addr, u->addr[i].addr, 16);
	}
	ostp_server_set_config(sl->k.s, &oc);
}

static void release_peers(void *ctx)
{
	struct srv_link *sl = ctx;

	rtable_peers_put(sl->peers);
	sl->peers = NULL;
}

/* The peer list goes only to sessions that asked for it, and only once
 * they are authenticated: it is borrowed, not copied. */
static void lend_peers(struct srv_link *sl)
{
	struct peer_snapshot *snap;

	if (!(ostp_session_options(sl->k.s) & OSTP_OPT_P) || sl->peers)
		return;
	snap = rtable_peers_get(sl->d);
	if (!snap)
		return;
	sl->peers = snap;
	if (ostp_server_lend_peers(sl->k.s, snap->peers, snap->n, release_peers, sl) != 0)
		release_peers(sl);
}

/* The login is not checked: the client is told to come back later,
 * never that its password is wrong. */
static void answer_busy(struct srv_link *sl, const char *user, enum admit_verdict why)
{
	struct ostpd *d = sl->d;
	char line[LINK_ENDPOINT_MAX + 200];

	snprintf(line, sizeof(line), "%s: login of %s answered busy: %s", sl->k.endpoint, user,
		 refusal(why));
	admit_note(d->srv.admit, sl->adm.src, ADMIT_EV_BUSY, line, ev_now(&d->loop));
	sl->adm.no_penalty = true;
	ostp_server_auth_busy(sl->k.s);
	link_close(&sl->k, OSTP_CLOSE_RESOURCE, "server busy");
}

static void on_auth_request(struct srv_link *sl, const struct ostp_event *ev)
{
	struct ostpd *d = sl->d;
	struct auth_job *job = calloc(1, sizeof(*job));
	uint64_t now = ev_now(&d->loop);
	enum admit_verdict v;
	const char *hash;

	if (!job) {
		link_close(&sl->k, OSTP_CLOSE_RESOURCE, "out of memory");
		return;
	}
	v = admit_login_begin(d->srv.admit, &sl->adm, &job->login, ev->username, now);
	if (v != ADMIT_OK) {
		free(job);
		answer_busy(sl, ev->username, v);
		return;
	}
	job->conn_id = sl->k.id;
	snprintf(job->user, sizeof(job->user), "%s", ev->username);
	job->pass_len = ev->password_len;
	memcpy(job->pass, ev->password, ev->password_len);
	job->trusted = d->srv.trust && ostp_trust_contains(d->srv.trust, ev->username);
	if (d->cfg.server.pam_service[0]) {
		job->pam_service = d->cfg.server.pam_service;
		job->pam_confdir = d->cfg.server.pam_confdir;
		pamcheck_rhost(sl->k.endpoint, job->rhost, sizeof(job->rhost));
	}
	hash = job->trusted && d->srv.pw ? pwfile_lookup(d->srv.pw, ev->username) : NULL;
	if (hash)
		snprintf(job->hash, sizeof(job->hash), "%s", hash);
	if (authq_submit(d->srv.authq, job, now) < 0) {
		admit_login_end(d->srv.admit, &job->login, false, now);
		sl->adm.logging_in = false;
		sodium_memzero(job, sizeof(*job));
		free(job);
		answer_busy(sl, ev->username, ADMIT_FULL);
	}
}

/* The worker's verdict, back on the event loop. */
static void on_auth_done(void *ctx, struct auth_job *job)
{
	struct ostpd *d = ctx;
	const struct ostpd_user *u = find_user(d, job->user);
	uint16_t permitted = u ? u->spw : (uint16_t)(d->cfg.server.spw & ~SPW_PRIVILEGED);
	uint64_t now = mono_ms();
	char line[LINK_ENDPOINT_MAX + 300], b64[IDENTITY_B64_LEN];
	struct srv_link *sl = NULL;
	uint8_t key[32];
	int err;

	/* a reload while the check ran may have removed the user */
	if (job->ok && !(d->srv.trust && ostp_trust_contains(d->srv.trust, job->user))) {
		job->ok = false;
		job->trusted = false;
	}
	/* counted against the source even when the client already left:
	 * hanging up early must not dodge the penalty */
	admit_login_end(d->srv.admit, &job->login, !job->ok, now);
	for (struct link *k = d->links.head; k; k = k->next) {
		if (k->id == job->conn_id) {
			sl = k->ops == &srv_ops && !k->dead ? srv_of(k) : NULL;
			break;
		}
	}
	if (!sl)
		return;   /* the client went away while we checked */
	sl->adm.logging_in = false;
	ostp_session_extend_handshake(sl->k.s, now - job->queued_ms);
	if (job->ok && u && u->has_key && ostp_session_peer_key(sl->k.s, key) &&
	    memcmp(key, u->key, 32) != 0) {
		/* the right password with another key: not the member we vouch for */
		key_to_base64(b64, key);
		log_warn("%s: user %s proved identity key %s, not the configured key: refused",
			 sl->k.endpoint, job->user, b64);
		sl->adm.no_penalty = true;
		link_close(&sl->k, OSTP_CLOSE_NOT_MEMBER, "identity key is not the configured key");
		return;
	}
	if (job->ok) {
		snprintf(sl->k.user, sizeof(sl->k.user), "%s", job->user);
		sl->ucfg = u;
		if (u)
			push_config(sl, u);
		admit_authenticated(d->srv.admit, &sl->adm);
		log_info("%s: authenticated as %s", sl->k.endpoint, sl->k.user);
		lend_peers(sl);
		err = ostp_server_auth_reply(sl->k.s, true, permitted);
	} else {
		snprintf(line, sizeof(line), "%s: rejected user %s: %s", sl->k.endpoint, job->user,
			 !job->trusted ? "not in the trusted users list"
			 : job->pam_service ? job->why
			 : !job->hash[0] ? "no password set" : "wrong password");
		admit_note(d->srv.admit, sl->adm.src, ADMIT_EV_FAILED, line, now);
		/* already penalized for the failure */
		sl->adm.no_penalty = true;
		err = ostp_server_auth_reply(sl->k.s, false, 0);
	}
	if (err == OSTP_E_AUTH) {
		link_close(&sl->k, OSTP_CLOSE_AUTH_FAILED, "too many failed logins");
		return;
	}
	/* what the client sent while we checked (a pipelined PAP) was held
	 * by the session until this answer */
	link_feed(&sl->k, d->links.rbuf, 0);
	link_flush(&sl->k);
}

/* ---- a server session's events ------------------------------------------------ */

static void on_established(struct srv_link *sl)
{
	struct ostpd *d = sl->d;
	uint8_t key[32];

	d->srv.n_established++;
	/* without user authentication, establishing is authenticating */
	admit_authenticated(d->srv.admit, &sl->adm);
	sl->k.policy = sl->k.spw & OSTP_SPW_RELAY ? &fwd_policy_member_relay : &fwd_policy_member;
	if (sl->k.user[0] && rtable_link_up(d, &sl->k, sl->ucfg) < 0)
		log_warn("%s: not all of user %s's prefixes could be routed", sl->k.endpoint,
			 sl->k.user);
	log_info("%s: session up%s%s, spw 0x%04x", sl->k.endpoint,
		 sl->k.user[0] ? " for user " : "", sl->k.user, sl->k.spw);
	if ((sl->k.spw & OSTP_SPW_MESH) && ostp_session_peer_key(sl->k.s, key) &&
	    members_vouches(d->srv.members, sl->ucfg, key) &&
	    members_session_up(d->srv.members, &sl->k, sl->ucfg, &sl->peer, &sl->feed) < 0)
		log_warn("%s: member %s: out of memory for its member list", sl->k.endpoint,
			 sl->k.user);
}

static void srv_event(struct link *k, const struct ostp_event *ev)
{
	struct srv_link *sl = srv_of(k);

	switch (ev->type) {
	case OSTP_EV_MESSAGE:
		tun_deliver(sl->d, k, ev->msg_type, ev->data, ev->len);
		return;
	case OSTP_EV_AUTH_REQUEST:
		on_auth_request(sl, ev);
		return;
	case OSTP_EV_HANDSHAKE:
		/* a session that will not log in is as authenticated as it gets */
		if (!(ostp_session_options(k->s) & OSTP_OPT_U))
			lend_peers(sl);
		log_debug("%s: handshake done", k->endpoint);
		return;
	case OSTP_EV_ESTABLISHED:
		on_established(sl);
		return;
	case OSTP_EV_CLIENT_KEY:
		/* the key is bound to a user: judged once the user logged in */
		ostp_server_identity_reply(k->s, true);
		return;
	case OSTP_EV_MEMBER:
		if (sl->feed && ev->member->op == OSTP_MEMBER_ANNOUNCE)
			members_announce(sl->d->srv.members, sl->feed, ev->member);
		return;
	default:
		return;
	}
}

static void srv_close(struct link *k, const char *why)
{
	struct srv_link *sl = srv_of(k);
	struct ostpd *d = sl->d;
	uint64_t now = ev_now(&d->loop);

	if (!k->user[0] && !k->established_ms) {
		/* one line per unauthenticated connection would let a flood
		 * write the log: the first of a window is shown, the rest
		 * summed up per source */
		char line[LINK_ENDPOINT_MAX + 160];

		snprintf(line, sizeof(line), "%s: closed: %s", k->endpoint, why);
		if (sl->adm.no_penalty || !sl->adm.unauth)
			log_debug("%s", line);
		else
			admit_note(d->srv.admit, sl->adm.src, ADMIT_EV_NOAUTH, line, now);
	} else if (k->user[0]) {
		log_info("%s user %s: closed: %s", k->endpoint, k->user, why);
	} else {
		log_info("%s: closed: %s", k->endpoint, why);
	}
	admit_release(d->srv.admit, &sl->adm, now);
	if (sl->feed)
		members_session_down(d->srv.members, sl->feed);
	sl->feed = NULL;
	if (k->established_ms)
		d->srv.n_established--;
	fwd_forget(&d->fwd, k);
}

static void srv_drain(struct link *k)
{
	struct srv_link *sl = srv_of(k);

	tun_link_drained(sl->d, k);
	if (sl->feed && !k->dead)
		members_pump(sl->d->srv.members, sl->feed);
}

static void srv_free(struct link *k)
{
	free(srv_of(k));
}

/* ---- start, reload, stop ---------------------------------------------------- */

/* Every session and every connection still handshaking holds one
 * descriptor; running out makes accept fail (listener.c copes, but
 * slowly), so ask for enough at start and say so when the hard limit is
 * lower. */
static void check_nofile(struct ostpd *d)
{
	const struct ostpd_server *sv = &d->cfg.server;
	rlim_t need = (rlim_t)sv->max_sessions + sv->max_unauth + FD_OVERHEAD;
	struct rlimit rl;
	unsigned have;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	have = rl.rlim_cur > UINT_MAX ? UINT_MAX : (unsigned)rl.rlim_cur;
	if (rl.rlim_cur < need)
		log_warn("open files limit %u is below the %llu that max_sessions %u and "
			 "max_unauth %u need; raise it (LimitNOFILE= in the systemd unit)",
			 have, (unsigned long long)need, sv->max_sessions, sv->max_unauth);
}

static void on_admit_timer(struct timer *t, uint64_t now)
{
	struct server *srv = (struct server *)((char *)t - offsetof(struct server, admit_timer));
	struct ostpd *d = (struct ostpd *)((char *)srv - offsetof(struct ostpd, srv));

	ev_timer_set(&d->loop, t, admit_tick(srv->admit, now));
}

static void log_trust_warning(void *ctx, const char *msg)
{
	(void)ctx;
	log_warn("%s", msg);
}

/* Before the privilege drop: files, admission, listeners. */
int ocs_start(struct ostpd *d)
{
	const struct ostpd_server *sv = &d->cfg.server;
	struct admit_config ac = {
		.max_unauth = sv->max_unauth,
		.max_unauth_per_source = sv->max_unauth_per_source,
		.max_logins_per_source = sv->max_logins_per_source,
		.max_logins_per_user = sv->max_logins_per_user,
		.penalty_authfail = sv->penalty_authfail,
		.penalty_noauth = sv->penalty_noauth,
		.penalty_min = sv->penalty_min,
		.penalty_max = sv->penalty_max,
		.source_prefix4 = sv->source_prefix4,
		.source_prefix6 = sv->source_prefix6,
		.max_sources = sv->max_sources,
		.exempt = sv->penalty_exempt,
		.n_exempt = sv->n_penalty_exempt,
	};
	char err[256];
	int rc;

	rc = trust_file_load(&d->srv.trust, sv->trust_file, log_trust_warning, NULL, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		return rc;
	}
	if (sv->password_file[0]) {
		rc = pwfile_load(&d->srv.pw, sv->password_file, err, sizeof(err));
		if (rc < 0) {
			log_error("%s", err);
			return rc;
		}
	}
	if (sv->pam_service[0])
		pamcheck_announce(sv->pam_service, sv->pam_confdir);
	check_nofile(d);
	if (members_new(&d->srv.members, &d->loop, &d->cfg, d->srv.trust) < 0) {
		log_error("member list: out of memory");
		return -ENOMEM;
	}
	if (admit_new(&d->srv.admit, &ac) < 0) {
		log_error("admission control: out of memory");
		return -ENOMEM;
	}
	d->srv.admit_timer.fn = on_admit_timer;
	ev_timer_set(&d->loop, &d->srv.admit_timer, ev_now(&d->loop) + ADMIT_WINDOW_S * 1000u);
	return listener_open(&d->srv.listen, &d->loop, sv->listen, sv->n_listen, on_accept,
			     on_shortage, d);
}

/* After the privilege drop: its capabilities apply to the calling thread
 * only, so the workers start here. */
int ocs_start_workers(struct ostpd *d)
{
	return authq_start(&d->srv.authq, &d->loop, on_auth_done, d);
}

void ocs_stop(struct ostpd *d)
{
	listener_close(&d->srv.listen);
	authq_stop(d->srv.authq);
	d->srv.authq = NULL;
}

/* After every link is gone. */
void ocs_free(struct ostpd *d)
{
	ev_timer_cancel(&d->loop, &d->srv.admit_timer);
	admit_free(d->srv.admit);
	d->srv.admit = NULL;
	members_free(d->srv.members);
	d->srv.members = NULL;
	ostp_trust_free(d->srv.trust);
	pwfile_free(d->srv.pw);
	d->srv.trust = NULL;
	d->srv.pw = NULL;
}

/* The user's established sessions. */
static bool user_link(const struct link *k, const char *user)
{
	return k->ops == &srv_ops && link_up(k) && strcmp(k->user, user) == 0;
}

int ocs_route_add(struct ostpd *d, const struct prefix *p, const char *user)
{
	int err = rtable_route_add(d, p, user);

	if (err)
		return err;
	for (struct link *k = d->links.head; k; k = k->next) {
		if (!user_link(k, user))
			continue;
		err = fwd_add(&d->fwd, p, k);
		if (err && err != -EEXIST)
			log_warn("route for %s: %s: %s", user, k->endpoint, strerror(-err));
	}
	return 0;
}

int ocs_route_del(struct ostpd *d, const struct prefix *p, const char *user)
{
	struct runtime_route r;
	int err = rtable_route_del(d, p, user, &r);

	if (err)
		return err;
	for (struct link *k = d->links.head; k; k = k->next)
		/* the user's own configuration keeps the prefix routed */
		if (user_link(k, r.user) && !rtable_user_has(srv_of(k)->ucfg, &r.prefix))
			fwd_del(&d->fwd, &r.prefix, k);
	return 0;
}

int ocs_close_user(struct ostpd *d, const char *user, uint8_t reason, const char *why)
{
	int n = 0;

	for (struct link *k = d->links.head; k; k = k->next) {
		if (!k->dead && strcmp(k->user, user) == 0) {
			link_close(k, reason, why);
			n++;
		}
	}
	return n;
}

int ocs_reload(struct ostpd *d)
{
	const struct ostpd_server *sv = &d->cfg.server;
	ostp_trust *trust = NULL;
	struct pwfile *pw = NULL;
	char err[256];
	int rc;

	rc = trust_file_load(&trust, sv->trust_file, log_trust_warning, NULL, err, sizeof(err));
	if (rc < 0) {
		log_error("reload: %s; keeping the old list", err);
		return rc;
	}
	if (sv->password_file[0]) {
		rc = pwfile_load(&pw, sv->password_file, err, sizeof(err));
		if (rc < 0) {
			log_error("reload: %s; keeping the old passwords", err);
			ostp_trust_free(trust);
			return rc;
		}
	}
	ostp_trust_free(d->srv.trust);
	pwfile_free(d->srv.pw);
	d->srv.trust = trust;
	d->srv.pw = pw;
	/* a member no longer trusted is removed from every member's list */
	members_trust_changed(d->srv.members, d->srv.trust);
	for (struct link *k = d->links.head; k; k = k->next)
		if (k->ops == &srv_ops && !k->dead && k->user[0] &&
		    !ostp_trust_contains(d->srv.trust, k->user))
			link_close(k, OSTP_CLOSE_REVOKED, "user no longer trusted");
	log_info("reloaded the trusted users list (%zu users) and passwords",
		 ostp_trust_count(d->srv.trust));
	return 0;
}
