/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "identity.h"
#include "keylog.h"
#include "log.h"
#include "mesh.h"
#include "ptable.h"

struct mesh_link {
	struct link k;
	struct ostpd *d;
	struct mesh_peer *peer;          /* dialed: the target; accepted: once its key is */
	bool dialed;
	bool duplicate;                  /* closed as the second link of a pair */
	bool unauth;                     /* counted in n_unauth */
	unsigned probes_sent;
	uint64_t echo_base;
	struct timer probe;
	bool verdict_pending;            /* its key is not listed yet: waiting for the OCS */
	uint8_t key[32];                 /* the key it proved, while pending */
};

struct mesh {
	struct ostpd *d;
	struct meshlist list;
	struct listener listen;
	bool listening;
	struct link *ocs;                /* the OCS session while it is up */
	uint64_t ocs_down_ms;            /* since when it is not; 0 while up */
	bool stale_logged;
	struct ptable *owners;           /* member prefix -> struct mesh_peer */
	struct timer tick;
	size_t n_unauth;
	uint16_t spw;                    /* what mesh links carry */
	struct timer refused_window;     /* one line per window for refused keys */
	unsigned refused;
	bool apply_err_logged;
	/* mesh_peer_get()'s place in the list, valid while list_gen holds */
	struct mesh_peer *cursor;
	size_t cursor_i;
	uint64_t cursor_gen, list_gen;
};

static void mesh_event(struct link *k, const struct ostp_event *ev);
static void mesh_close(struct link *k, const char *why);
static void mesh_drain(struct link *k);
static void mesh_link_free(struct link *k);

static const struct link_ops mesh_ops = {
	.on_event = mesh_event,
	.on_close = mesh_close,
	.on_drain = mesh_drain,
	.on_free = mesh_link_free,
};

static struct mesh_link *ml_of(struct link *k)
{
	return (struct mesh_link *)k;
}

static uint64_t now_of(const struct mesh *m)
{
	return ev_now(&m->d->loop);
}

static const struct ostpd_mesh *conf(const struct mesh *m)
{
	return &m->d->cfg.client.m;
}

static void short_key(char *out, const uint8_t key[32])
{
	char b64[IDENTITY_B64_LEN];

	key_to_base64(b64, key);
	snprintf(out, 12, "%.11s", b64);
}

/* The list may be used while the OCS session is up, and for
 * list_max_age after it went down: removals made meanwhile are not
 * known here (docs/PROTOCOL.md 4.6). */
static bool list_fresh(const struct mesh *m)
{
	unsigned age = conf(m)->list_max_age;

	return !m->ocs_down_ms || !age || now_of(m) - m->ocs_down_ms < age * 1000ull;
}

static bool we_dial_first(const struct mesh *m, const struct mesh_peer *p)
{
	return memcmp(m->d->id_pk, p->key, 32) < 0;
}

static size_t links_in_use(const struct mesh *m)
{
	size_t n = 0;

	for (const struct mesh_peer *p = m->list.head; p; p = p->next)
		n += p->link || p->out;
	return n;
}

/* Whether we should be dialing p now. */
static bool want_dial(const struct mesh *m, const struct mesh_peer *p)
{
	if (m->d->loop.quit || !p->accepts || p->link || p->idle || !list_fresh(m) ||
	    p->refused >= MESH_WRONG_KEY_MAX)
		return false;
	if (p->out)
		return true;
	if (links_in_use(m) >= conf(m)->max_links)
		return false;
	return we_dial_first(m, p) || !m->listening || p->delay_passed;
}

/* The higher key waits for the lower's dial before dialing itself. */
static bool should_wait(const struct mesh *m, const struct mesh_peer *p)
{
	return !m->d->loop.quit && p->accepts && !p->link && !p->out && !p->idle &&
	       list_fresh(m) && m->listening && !we_dial_first(m, p) && !p->delay_passed;
}

static int on_dial(struct dial_target *t, int fd);

static void stop_dialing(struct mesh *m, struct mesh_peer *p)
{
	(void)m;
	if (p->dial_on)
		dial_stop(&p->dial);
	p->dial_on = false;
}

/* Dials p, waits for it, or stops dialing it, as want_dial() says. */
static void consider(struct mesh *m, struct mesh_peer *p)
{
	if (want_dial(m, p)) {
		ev_timer_cancel(&m->d->loop, &p->delay);
		if (p->out || p->dial_on)
			return;   /* under way, or waiting its backoff */
		dial_target_init(&p->dial, &m->d->loop, &p->ep, p->name, 1000,
				 conf(m)->redial_max * 1000u, on_dial, p);
		p->dial_on = true;
		dial_now(&p->dial);
		return;
	}
	if (!p->out)
		stop_dialing(m, p);
	if (should_wait(m, p) && !timer_pending(&p->delay))
		ev_timer_set(&m->d->loop, &p->delay, now_of(m) + conf(m)->dial_delay_ms);
}

static void on_delay(struct timer *t, uint64_t now)
{
	struct mesh_peer *p = (struct mesh_peer *)((char *)t - offsetof(struct mesh_peer, delay));

	(void)now;
	p->delay_passed = true;
	consider(p->mesh, p);
}

static void tune_mesh_socket(const struct mesh *m, int fd)
{
	unsigned timeout = conf(m)->dead_ms;

	link_tune_socket(fd);
	/* unacknowledged data for longer than the dead timer: the path is
	 * gone even if keepalives could not tell yet */
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout));
}

static struct ostp_timing mesh_timing(const struct mesh *m)
{
	return (struct ostp_timing){
		.handshake_ms = conf(m)->handshake_ms,
		.keepalive_ms = conf(m)->keepalive_ms,
		.dead_ms = conf(m)->dead_ms,
	};
}

static struct mesh_link *new_mesh_link(struct mesh *m)
{
	struct mesh_link *ml = calloc(1, sizeof(*ml));

	if (ml)
		ml->d = m->d;
	return ml;
}

static int on_dial(struct dial_target *t, int fd)
{
	struct mesh_peer *p = t->owner;
	struct mesh *m = p->mesh;
	struct ostp_client_config cc = {
		.spw = m->spw,
		.timing = mesh_timing(m),
		.outq_max = LINK_OUTQ_MAX,
		.identity_sk = m->d->id_sk,
		.keylog = keylog_hook(),
	};
	struct mesh_link *ml = new_mesh_link(m);
	ostp_session *s;
	int err;

	if (!ml)
		return -ENOMEM;
	memcpy(cc.server_pk, p->key, 32);
	err = ostp_client_new(&s, &cc, NULL, now_of(m));
	if (err) {
		log_error("mesh: session for %s: %s", p->name, ostp_strerror(err));
		free(ml);
		return -ENOMEM;
	}
	ml->peer = p;
	ml->dialed = true;
	tune_mesh_socket(m, fd);
	if (link_start(&ml->k, &m->d->links, fd, s, p->ep_text, true, &mesh_ops) < 0) {
		ostp_session_free(s);
		free(ml);
		return -ENOMEM;
	}
	snprintf(ml->k.user, sizeof(ml->k.user), "%s", p->name);
	p->out = ml;
	log_debug("mesh: dialing %s at %s", p->name, p->ep_text);
	return 0;
}

/* The oldest connection still proving its key. */
static struct link *oldest_unauth(const struct mesh *m)
{
	struct link *old = NULL;

	for (struct link *k = m->d->links.head; k; k = k->next)
		if (k->ops == &mesh_ops && !k->dead && ml_of(k)->unauth &&
		    (!old || k->id < old->id))
			old = k;
	return old;
}

static void on_accept(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	struct mesh *m = l->owner;
	struct ostp_server_config sc = {
		.identity_sk = m->d->id_sk,
		.require_identity = true,
		.spw_supported = m->spw,
		.spw_default = m->spw,
		.spw_permitted = m->spw,
		.timing = mesh_timing(m),
		.outq_max = LINK_OUTQ_MAX,
		.keylog = keylog_hook(),
	};
	char ep[ENDPOINT_STRLEN];
	struct mesh_link *ml;
	ostp_session *s;

	endpoint_format((const struct sockaddr *)ss, ep, sizeof(ep));
	/* Every slot taken: the oldest makes room.  Refusing the newest
	 * instead lets one host that holds MESH_UNAUTH_MAX handshakes open
	 * (each until handshake_ms) keep every member out; a member's own
	 * handshake needs a round trip, far less than refilling the slots. */
	if (list_fresh(m) && m->n_unauth >= MESH_UNAUTH_MAX) {
		struct link *old = oldest_unauth(m);

		if (old)
			link_close(old, OSTP_CLOSE_RESOURCE, "handshake slots full: oldest closed");
	}
	if (m->n_unauth >= MESH_UNAUTH_MAX || !list_fresh(m)) {
		log_debug("mesh: %s: refused (%s)", ep,
			  list_fresh(m) ? "too many handshakes" : "no member list");
		close(fd);
		return;
	}
	ml = new_mesh_link(m);
	if (!ml || ostp_server_new(&s, &sc, NULL, now_of(m)) != OSTP_OK) {
		free(ml);
		close(fd);
		return;
	}
	tune_mesh_socket(m, fd);
	if (link_start(&ml->k, &m->d->links, fd, s, ep, false, &mesh_ops) < 0) {
		ostp_session_free(s);
		free(ml);
		close(fd);
		return;
	}
	ml->unauth = true;
	m->n_unauth++;
}

static void on_refused_window(struct timer *t, uint64_t now)
{
	struct mesh *m = (struct mesh *)((char *)t - offsetof(struct mesh, refused_window));

	(void)now;
	if (m->refused)
		log_warn("mesh: refused %u more links from keys not on the member list", m->refused);
	m->refused = 0;
}

static void refuse_key(struct mesh_link *ml, const uint8_t key[32])
{
	struct mesh *m = ml->d->mesh;
	struct link *k = &ml->k;
	char b64[IDENTITY_B64_LEN];

	key_to_base64(b64, key);
	if (!timer_pending(&m->refused_window)) {
		log_warn("mesh: %s: key %s is not on the member list%s: refused", k->endpoint, b64,
			 list_fresh(m) ? "" : " (the list is too old)");
		ev_timer_set(&m->d->loop, &m->refused_window, now_of(m) + 10000);
	} else {
		m->refused++;
	}
	ostp_server_identity_reply(k->s, false);
	link_close(k, OSTP_CLOSE_NOT_MEMBER, "not a member");
}

/* The verdict on a dialer whose key is (now) on the list. */
static void accept_key(struct mesh_link *ml, struct mesh_peer *p)
{
	struct mesh *m = ml->d->mesh;
	struct link *k = &ml->k;

	ml->verdict_pending = false;
	ev_timer_cancel(&m->d->loop, &ml->probe);
	if (!p->link && !p->out && links_in_use(m) >= conf(m)->max_links) {
		if (!p->cap_logged)
			log_info("mesh: %s: link refused: max_links (%u) reached; relaying through the OCS",
				 p->name, conf(m)->max_links);
		p->cap_logged = true;
		ostp_server_identity_reply(k->s, true);
		link_close(k, OSTP_CLOSE_RESOURCE, "mesh link cap reached");
		return;
	}
	ml->peer = p;
	snprintf(k->user, sizeof(k->user), "%s", p->name);
	ostp_server_identity_reply(k->s, true);
	/* input held while the verdict was pending is read now */
	link_feed(k, NULL, 0);
}

static void on_verdict_timeout(struct timer *t, uint64_t now)
{
	struct mesh_link *ml = (struct mesh_link *)((char *)t - offsetof(struct mesh_link, probe));

	(void)now;
	if (ml->verdict_pending && !ml->k.dead) {
		ml->verdict_pending = false;
		refuse_key(ml, ml->key);
	}
}

/* The dialer proved key: a member, or refused.  A member that has just
 * joined dials as soon as it has the list, which may be before the OCS's
 * record of it reaches us: while the OCS session is up, an unknown key
 * waits up to MESH_VERDICT_WAIT_MS for it.  A key not on the list is
 * logged once per 10 s window and summed up after, as anyone who can
 * reach the listener can try. */
static void on_client_key(struct mesh_link *ml, const uint8_t key[32])
{
	struct mesh *m = ml->d->mesh;
	struct mesh_peer *p = meshlist_find(&m->list, key);

	if (p && list_fresh(m)) {
		accept_key(ml, p);
		return;
	}
	if (!p && m->ocs && link_up(m->ocs)) {
		ml->verdict_pending = true;
		memcpy(ml->key, key, 32);
		ml->probe.fn = on_verdict_timeout;
		ev_timer_set(&m->d->loop, &ml->probe, now_of(m) + MESH_VERDICT_WAIT_MS);
		return;
	}
	refuse_key(ml, key);
}

static void install_prefixes(struct mesh *m, struct mesh_peer *p, struct link *k)
{
	for (size_t i = 0; i < p->n_prefix; i++)
		if (fwd_add(&m->d->fwd, &p->prefix[i], k) < 0)
			log_warn("mesh: %s: no memory for its prefixes", p->name);
}

static void probe(struct mesh_link *ml);

static void on_probe(struct timer *t, uint64_t now)
{
	(void)now;
	probe((struct mesh_link *)((char *)t - offsetof(struct mesh_link, probe)));
}

/* The link answered its probes: p's traffic moves to it. */
static void go_direct(struct mesh_link *ml)
{
	struct mesh *m = ml->d->mesh;
	struct mesh_peer *p = ml->peer;

	if (!p || p->link != ml)
		return;
	ml->k.standby = false;
	p->direct = true;
	p->direct_since_ms = now_of(m);
	p->path_changes++;
	p->active_ms = now_of(m);
	p->last_error[0] = '\0';
	log_info("mesh: %s: direct via %s (%s)", p->name, ml->k.endpoint,
		 ml->dialed ? "we dialed" : "it dialed");
}

static void probe(struct mesh_link *ml)
{
	struct link *k = &ml->k;
	uint64_t now = ev_now(&ml->d->loop);

	if (k->dead)
		return;
	if (ostp_session_echo_replies(k->s) - ml->echo_base >= MESH_PROBES) {
		go_direct(ml);
		return;
	}
	if (ml->probes_sent >= MESH_PROBE_MAX) {
		link_close(k, OSTP_CLOSE_TIMEOUT, "probes unanswered");
		return;
	}
	if (ostp_send_echo(k->s, now) == OSTP_OK) {
		ml->probes_sent++;
		link_flush(k);
	}
	if (!k->dead)
		ev_timer_set(&ml->d->loop, &ml->probe, now + MESH_PROBE_MS);
}

/* Of two established links to one member, the one dialed by the lower
 * key stays (docs/PROTOCOL.md 4.6), so both ends drop the same one; two
 * dialed by the same side: the newer, as the older is likely dead. */
static struct mesh_link *keeper(const struct mesh *m, struct mesh_link *a, struct mesh_link *b)
{
	const uint8_t *ka = a->dialed ? m->d->id_pk : a->peer->key;
	const uint8_t *kb = b->dialed ? m->d->id_pk : b->peer->key;
	int c = memcmp(ka, kb, 32);

	if (c)
		return c < 0 ? a : b;
	return a->k.id > b->k.id ? a : b;
}

static void on_established(struct mesh_link *ml)
{
	struct mesh *m = ml->d->mesh;
	struct mesh_peer *p = ml->peer;
	struct link *k = &ml->k;

	if (ml->unauth) {
		ml->unauth = false;
		m->n_unauth--;
	}
	if (!p) {
		link_close(k, OSTP_CLOSE_REVOKED, "no longer a member");
		return;
	}
	if (p->out == ml)
		p->out = NULL;
	p->handshake_ms = now_of(m);
	k->policy = &fwd_policy_mesh;
	if (p->link) {
		struct mesh_link *keep = keeper(m, p->link, ml);
		struct mesh_link *drop = keep == ml ? p->link : ml;

		log_info("mesh: %s: two links at once: keeping the one %s dialed", p->name,
			 keep->dialed ? "we" : "it");
		drop->duplicate = true;
		if (drop == p->link) {
			fwd_forget(&m->d->fwd, &drop->k);
			p->rx_bytes += drop->k.ctr.rx_bytes;
			p->tx_bytes += drop->k.ctr.tx_bytes;
			p->drop_source += drop->k.ctr.drop_source;
			p->link = NULL;
			p->direct = false;
		}
		link_close(&drop->k, OSTP_CLOSE_NORMAL, "second link to the same member");
		if (keep != ml)
			return;
	}
	p->link = ml;
	p->cap_logged = false;
	p->delay_passed = false;
	p->idle = false;
	p->last_pkts = 0;
	p->active_ms = now_of(m);
	ev_timer_cancel(&m->d->loop, &p->delay);
	if (!p->out)
		stop_dialing(m, p);
	/* its prefixes name it at once, for the source check; it carries
	 * our traffic once its probes are answered */
	k->standby = true;
	install_prefixes(m, p, k);
	ml->echo_base = ostp_session_echo_replies(k->s);
	ml->probe.fn = on_probe;
	probe(ml);
}

static void mesh_event(struct link *k, const struct ostp_event *ev)
{
	struct mesh_link *ml = ml_of(k);

	switch (ev->type) {
	case OSTP_EV_MESSAGE:
		tun_deliver(ml->d, k, ev->msg_type, ev->data, ev->len);
		break;
	case OSTP_EV_CLIENT_KEY:
		on_client_key(ml, ev->client_pk);
		break;
	case OSTP_EV_ESTABLISHED:
		on_established(ml);
		break;
	default:
		break;
	}
}

static bool ocs_up(const struct mesh *m)
{
	return m->ocs && link_up(m->ocs);
}

static void mesh_close(struct link *k, const char *why)
{
	struct mesh_link *ml = ml_of(k);
	struct mesh *m = ml->d->mesh;
	struct mesh_peer *p = ml->peer;
	const struct ostpd_mesh *c = conf(m);

	ev_timer_cancel(&m->d->loop, &ml->probe);
	if (ml->unauth) {
		ml->unauth = false;
		m->n_unauth--;
	}
	fwd_forget(&m->d->fwd, k);
	if (!p) {
		log_debug("mesh: %s: closed: %s", k->endpoint, why);
		return;
	}
	if (p->out == ml) {
		/* a dial that keeps failing the same way is logged once */
		bool again = strcmp(p->last_error, why) == 0;
		bool wrong_key = strcmp(why, ostp_strerror(OSTP_E_KEY_MISMATCH)) == 0;

		p->out = NULL;
		snprintf(p->last_error, sizeof(p->last_error), "%s", why);
		if (again)
			log_debug("mesh: %s at %s: %s", p->name, k->endpoint, why);
		else if (wrong_key)
			log_warn("mesh: %s at %s: another key answered there, not %s's: "
				 "its entry points at another listener", p->name, k->endpoint, p->name);
		else
			log_info("mesh: %s at %s: %s", p->name, k->endpoint, why);
		/* An entry that keeps pointing at someone else's listener is
		 * not dialed again until it changes: a member must not be able
		 * to make the whole mesh knock on a port of its choosing. */
		p->refused = wrong_key ? p->refused + 1 : 0;
		if (p->refused >= MESH_WRONG_KEY_MAX) {
			log_warn("mesh: %s: %u dials answered by another key: not dialed again until its entry changes",
				 p->name, p->refused);
			stop_dialing(m, p);
			return;
		}
		if (p->dial_on && want_dial(m, p))
			dial_lost(&p->dial, why);
		else
			consider(m, p);
		return;
	}
	if (p->link != ml) {
		log_debug("mesh: %s at %s: closed: %s", p->name, k->endpoint, why);
		return;
	}
	p->link = NULL;
	p->rx_bytes += k->ctr.rx_bytes;
	p->tx_bytes += k->ctr.tx_bytes;
	p->drop_source += k->ctr.drop_source;
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	/* Idle, here or at the other end: not dialed again until traffic
	 * asks for it (mesh_relayed).  The other end closes an idle link
	 * with a clean CLOSE(NORMAL), whatever our own idle_timeout; it
	 * closes a duplicate the same way, but then our own dial is under
	 * way and takes over. */
	if ((k->peer_closed && k->close_reason == OSTP_CLOSE_NORMAL && !p->out) ||
	    (c->idle_timeout && now_of(m) - p->active_ms >= c->idle_timeout * 500ull))
		p->idle = true;
	if (p->direct && p->idle) {
		p->direct = false;
		p->path_changes++;
		log_info("mesh: %s: link closed (%s): idle, relaying through the OCS until traffic needs it",
			 p->name, why);
	} else if (p->direct && p->out) {
		/* both dialed: the other end settled the pair first and closed
		 * this one; ours, under way, takes over (no path was lost) */
		p->direct = false;
		p->path_changes++;
		log_info("mesh: %s: link closed (%s); the one we dialed takes over", p->name, why);
	} else if (p->direct) {
		p->direct = false;
		p->failovers++;
		p->path_changes++;
		if (m->d->loop.quit)
			log_info("mesh: %s: link closed (%s)", p->name, why);
		else
			log_warn("mesh: %s: direct path lost (%s): %s", p->name, why,
				 ocs_up(m) ? "relaying through the OCS"
					   : "unreachable until a link or the OCS returns");
	} else {
		log_info("mesh: %s at %s: closed before carrying traffic: %s", p->name, k->endpoint, why);
	}
	stop_dialing(m, p);
	consider(m, p);
}

static void mesh_drain(struct link *k)
{
	tun_link_drained(ml_of(k)->d, k);
}

static void mesh_link_free(struct link *k)
{
	free(ml_of(k));
}

static void forget_peer_prefixes(struct mesh *m, struct mesh_peer *p)
{
	ptable_remove_owner(m->owners, p);
}

static void learn_peer_prefixes(struct mesh *m, struct mesh_peer *p)
{
	for (size_t i = 0; i < p->n_prefix; i++)
		ptable_insert(m->owners, p->prefix[i].family, p->prefix[i].addr, p->prefix[i].len, p);
}

/* p left the list: its links close, then it is freed. */
static void drop_peer(struct mesh *m, struct mesh_peer *p, const char *why)
{
	struct link *k, *next;

	p->accepts = false;      /* nothing redials it while its links close */
	stop_dialing(m, p);
	ev_timer_cancel(&m->d->loop, &p->delay);
	forget_peer_prefixes(m, p);
	for (k = m->d->links.head; k; k = next) {
		next = k->next;
		if (k->ops == &mesh_ops && ml_of(k)->peer == p) {
			/* detached first: this is no failover (the OCS relays
			 * nothing to a member it dropped) */
			ml_of(k)->peer = NULL;
			link_close(k, OSTP_CLOSE_REVOKED, why);
		}
	}
	p->link = p->out = NULL;
	log_info("mesh: %s: %s", p->name, why);
	free(p);
}

static void on_tick(struct timer *t, uint64_t now)
{
	struct mesh *m = (struct mesh *)((char *)t - offsetof(struct mesh, tick));
	unsigned idle = conf(m)->idle_timeout;

	for (struct mesh_peer *p = m->list.head; p; p = p->next) {
		struct link *k = p->link ? &p->link->k : NULL;
		uint64_t pkts;

		if (!k || k->dead)
			continue;
		pkts = k->ctr.rx_packets + k->ctr.tx_packets;
		if (pkts != p->last_pkts) {
			p->last_pkts = pkts;
			p->active_ms = now;
		} else if (idle && now - p->active_ms >= idle * 1000ull) {
			p->idle = true;
			link_close(k, OSTP_CLOSE_NORMAL, "idle");
		}
	}
	if (!list_fresh(m) && !m->stale_logged) {
		log_warn("mesh: no OCS session for %u s: no new mesh links until it returns",
			 conf(m)->list_max_age);
		m->stale_logged = true;
		for (struct mesh_peer *p = m->list.head; p; p = p->next)
			consider(m, p);
	}
	ev_timer_set(&m->d->loop, &m->tick, now + MESH_TICK_MS);
}

int mesh_start(struct ostpd *d)
{
	const struct ostpd_mesh *c = &d->cfg.client.m;
	struct mesh *m;
	int err;

	if (!d->have_identity) {
		log_error("mesh: needs an identity key (identity_key)");
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	d->mesh = m;
	m->d = d;
	meshlist_init(&m->list, d->id_pk);
	m->spw = d->cfg.client.spw & (OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_GSO);
	m->ocs_down_ms = mono_ms();
	m->tick.fn = on_tick;
	m->refused_window.fn = on_refused_window;
	err = ptable_new(&m->owners);
	if (err)
		return err;
	if (c->n_listen) {
		err = listener_open(&m->listen, &d->loop, c->listen, c->n_listen, on_accept, NULL, m);
		if (err)
			return err;
		m->listening = true;
	}
	ev_timer_set(&d->loop, &m->tick, mono_ms() + MESH_TICK_MS);
	d->tun.relayed = mesh_relayed;
	return 0;
}

void mesh_free(struct ostpd *d)
{
	struct mesh *m = d->mesh;

	if (!m)
		return;
	for (struct mesh_peer *p = m->list.head; p; p = p->next) {
		stop_dialing(m, p);
		ev_timer_cancel(&d->loop, &p->delay);
	}
	ev_timer_cancel(&d->loop, &m->tick);
	ev_timer_cancel(&d->loop, &m->refused_window);
	if (m->listening)
		listener_close(&m->listen);
	ptable_free(m->owners);
	meshlist_free(&m->list);
	free(m);
	d->mesh = NULL;
}

static uint16_t announced_port(const struct mesh *m)
{
	const struct endpoint *ep = conf(m)->have_announce ? &conf(m)->announce : &conf(m)->listen[0];
	const struct sockaddr *sa = (const struct sockaddr *)&ep->addr;

	return ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
					      : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void announce(struct mesh *m, struct link *k)
{
	struct ostp_member a = { .op = OSTP_MEMBER_ANNOUNCE };
	int err;

	if (!m->listening)
		return;
	memcpy(a.id_pk, m->d->id_pk, 32);
	a.flags = OSTP_MEMBER_F_ACCEPTS;
	a.port = announced_port(m);
	if (conf(m)->have_announce) {
		const struct sockaddr *sa = (const struct sockaddr *)&conf(m)->announce.addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a.host,
				  sizeof(a.host));
		else
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a.host,
				  sizeof(a.host));
	}
	err = ostp_send_member(k->s, &a);
	if (err)
		log_warn("mesh: announce to the OCS: %s", ostp_strerror(err));
	link_flush(k);
}

void mesh_ocs_up(struct ostpd *d, struct link *k)
{
	struct mesh *m = d->mesh;

	m->ocs = k;
	m->ocs_down_ms = 0;
	m->stale_logged = false;
	meshlist_begin(&m->list);
	announce(m, k);
}

void mesh_ocs_down(struct ostpd *d)
{
	struct mesh *m = d->mesh;

	if (!m || !m->ocs)
		return;
	m->ocs = NULL;
	m->ocs_down_ms = now_of(m);
	if (!d->loop.quit)
		log_info("mesh: the OCS is gone: links stay up; new ones for %u s", conf(m)->list_max_age);
}

/* p was just listed: a dialer with its key waiting for a verdict is
 * accepted. */
static void answer_pending(struct mesh *m, struct mesh_peer *p)
{
	struct link *k, *next;

	for (k = m->d->links.head; k; k = next) {
		next = k->next;
		if (k->ops == &mesh_ops && ml_of(k)->verdict_pending && !k->dead &&
		    sodium_memcmp(ml_of(k)->key, p->key, 32) == 0)
			accept_key(ml_of(k), p);
	}
}

static void log_member(const struct mesh_peer *p, const char *what)
{
	char key[12];

	short_key(key, p->key);
	if (p->accepts)
		log_info("mesh: member %s (%s...) %s, accepts links at %s", p->name, key, what,
			 p->ep_text);
	else
		log_info("mesh: member %s (%s...) %s, does not accept links", p->name, key, what);
}

void mesh_ocs_member(struct ostpd *d, const struct ostp_member *mr)
{
	struct mesh *m = d->mesh;
	enum meshlist_change change;
	struct mesh_peer *p;
	char old_ep[ENDPOINT_STRLEN];
	struct mesh_peer *known = meshlist_find(&m->list, mr->id_pk);
	int err;

	snprintf(old_ep, sizeof(old_ep), "%s", known ? known->ep_text : "");
	m->list_gen++;
	err = meshlist_apply(&m->list, mr, &p, &change);
	if (err) {
		if (!m->apply_err_logged)
			log_warn("mesh: member record not applied: %s (logged once)", strerror(-err));
		m->apply_err_logged = true;
		return;
	}
	switch (change) {
	case MESHLIST_NONE:
		return;
	case MESHLIST_ADDED:
		p->mesh = m;
		p->delay.fn = on_delay;
		learn_peer_prefixes(m, p);
		log_member(p, "listed");
		answer_pending(m, p);
		consider(m, p);
		return;
	case MESHLIST_CHANGED:
		forget_peer_prefixes(m, p);
		learn_peer_prefixes(m, p);
		if (p->link) {
			fwd_forget(&d->fwd, &p->link->k);
			install_prefixes(m, p, &p->link->k);
		}
		if (strcmp(old_ep, p->ep_text) != 0) {
			p->refused = 0;
			if (!p->out)
				stop_dialing(m, p);
		}
		log_member(p, "changed");
		consider(m, p);
		return;
	case MESHLIST_REMOVED:
		drop_peer(m, p, "removed from the member list: links closed");
		return;
	case MESHLIST_SYNCED:
		while ((p = meshlist_take_unseen(&m->list)))
			drop_peer(m, p, "not on the OCS's new member list: links closed");
		/* a member the new list repeats unchanged may be dialable now
		 * (the list is fresh again) */
		for (p = m->list.head; p; p = p->next)
			consider(m, p);
		log_info("mesh: member list synced: %zu other members", m->list.n);
		return;
	}
}

void mesh_relayed(struct ostpd *d, int family, const uint8_t *dst)
{
	struct mesh *m = d->mesh;
	struct mesh_peer *p = ptable_lookup(m->owners, family, dst);

	if (!p || p->link || p->out || p->dial_on)
		return;
	if (p->idle) {
		/* the answers come through the OCS too, so both ends want the
		 * link: the usual rule (lower key first) avoids two dials */
		p->idle = false;
		p->delay_passed = !m->listening;
	}
	consider(m, p);
}

bool mesh_is_link(const struct link *k)
{
	return k->ops == &mesh_ops;
}

size_t mesh_peer_count(const struct ostpd *d)
{
	return d->mesh ? d->mesh->list.n : 0;
}

static void prefix_list(const struct mesh_peer *p, char *out, size_t size)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->n_prefix && off < size; i++) {
		char buf[PREFIX_STRLEN];

		prefix_format(&p->prefix[i], buf, sizeof(buf));
		off += (size_t)snprintf(out + off, size - off, "%s%s", i ? "," : "", buf);
	}
}

bool mesh_peer_get(const struct ostpd *d, size_t i, struct mesh_peer_info *out)
{
	struct mesh *m = d->mesh;
	struct mesh_peer *p;
	uint64_t now;

	if (!m)
		return false;
	/* a listing asks for 0, 1, 2, ...: continue from the last answer
	 * rather than walk the list from its head each time */
	if (m->cursor && i == m->cursor_i + 1 && m->cursor_gen == m->list_gen) {
		p = m->cursor->next;
	} else {
		size_t j = i;

		for (p = m->list.head; p && j; p = p->next)
			j--;
	}
	if (!p)
		return false;
	m->cursor = p;
	m->cursor_i = i;
	m->cursor_gen = m->list_gen;
	now = now_of(m);
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", p->name);
	memcpy(out->key, p->key, 32);
	prefix_list(p, out->prefixes, sizeof(out->prefixes));
	snprintf(out->listens, sizeof(out->listens), "%s", p->ep_text);
	out->path = p->direct ? MESH_PATH_DIRECT : ocs_up(m) ? MESH_PATH_RELAY : MESH_PATH_DOWN;
	out->rx_bytes = p->rx_bytes;
	out->tx_bytes = p->tx_bytes;
	out->drop_source = p->drop_source;
	out->failovers = p->failovers;
	out->handshake_ago_ms = p->handshake_ms ? now - p->handshake_ms : 0;
	snprintf(out->last_error, sizeof(out->last_error), "%s", p->last_error);
	if (p->link) {
		const struct link *k = &p->link->k;
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		out->rx_bytes += k->ctr.rx_bytes;
		out->tx_bytes += k->ctr.tx_bytes;
		out->drop_source += k->ctr.drop_source;
		out->link_age_ms = now - k->established_ms;
		out->dialer = p->link->dialed;
		snprintf(out->endpoint, sizeof(out->endpoint), "%s", k->endpoint);
		if (getsockopt(k->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
			out->rtt_us = ti.tcpi_rtt;
	}
	return true;
}
