/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "log.h"
#include "members.h"

struct mem {
	const struct ostpd_user *u;
	bool vouched;                    /* trusted, keyed, mesh permitted */
	bool dirty;                      /* changed since the last flush */
	/* its endpoint, while its session is up and has announced one */
	uint8_t flags;
	uint16_t port;
	char host[INET6_ADDRSTRLEN];
	struct member_feed *online;      /* its current session, or NULL */
};

struct member_feed {
	struct members *ms;
	struct link *k;
	struct member_feed *next, *prev;
	size_t self;                     /* its own entry */
	size_t cursor;                   /* next entry of the first listing */
	bool synced;                     /* SYNCED sent: the first listing is done */
	bool pumping;                    /* members_pump() is running for it */
	struct sockaddr_storage peer;
	uint8_t pending[];               /* a bit per entry that changed since it was sent */
};

struct members {
	struct evloop *loop;
	struct timer flush;
	struct member_feed *feeds;
	size_t n;
	struct mem m[];
};

static bool mesh_user(const struct ostpd_user *u)
{
	return u->has_key && (u->spw & OSTP_SPW_MESH);
}

static void on_flush(struct timer *t, uint64_t now);

int members_new(struct members **out, struct evloop *loop, const struct ostpd_config *cfg,
		const ostp_trust *trust)
{
	const struct ostpd_server *sv = &cfg->server;
	size_t n = 0;
	struct members *ms;

	for (size_t i = 0; i < sv->n_users; i++)
		n += mesh_user(&sv->users[i]);
	ms = calloc(1, sizeof(*ms) + n * sizeof(ms->m[0]));
	if (!ms)
		return -ENOMEM;
	ms->loop = loop;
	ms->flush.fn = on_flush;
	for (size_t i = 0; i < sv->n_users; i++) {
		const struct ostpd_user *u = &sv->users[i];

		if (!mesh_user(u))
			continue;
		ms->m[ms->n].u = u;
		ms->m[ms->n].vouched = trust && ostp_trust_contains(trust, u->name);
		ms->n++;
	}
	*out = ms;
	return 0;
}

void members_free(struct members *ms)
{
	if (!ms)
		return;
	ev_timer_cancel(ms->loop, &ms->flush);
	while (ms->feeds)
		members_session_down(ms, ms->feeds);
	free(ms);
}

size_t members_count(const struct members *ms)
{
	size_t n = 0;

	for (size_t i = 0; ms && i < ms->n; i++)
		n += ms->m[i].vouched;
	return n;
}

static void mark_dirty(struct members *ms, size_t i)
{
	ms->m[i].dirty = true;
	if (!timer_pending(&ms->flush))
		ev_timer_set(ms->loop, &ms->flush, ev_now(ms->loop) + MEMBERS_FLUSH_MS);
}

void members_trust_changed(struct members *ms, const ostp_trust *trust)
{
	for (size_t i = 0; ms && i < ms->n; i++) {
		bool v = trust && ostp_trust_contains(trust, ms->m[i].u->name);

		if (v != ms->m[i].vouched) {
			ms->m[i].vouched = v;
			mark_dirty(ms, i);
		}
	}
}

bool members_vouches(const struct members *ms, const struct ostpd_user *u,
		     const uint8_t id_pk[32])
{
	(void)ms;
	return u && mesh_user(u) && memcmp(u->key, id_pk, 32) == 0;
}

static void put_prefix(struct ostp_member *r, const struct prefix *p, bool host)
{
	struct ostp_config_addr *a;
	size_t len = prefix_addr_len(p->family);

	if (r->n_prefix >= OSTP_MEMBER_PREFIX_MAX)
		return;
	a = &r->prefix[r->n_prefix++];
	a->family = p->family == AF_INET ? 4 : 6;
	a->prefix_len = host ? (uint8_t)(len * 8) : p->len;
	memcpy(a->addr, p->addr, len);
}

/* The record that says what the list holds for entry i now. */
static void fill(const struct members *ms, size_t i, struct ostp_member *r)
{
	const struct mem *e = &ms->m[i];

	memset(r, 0, sizeof(*r));
	memcpy(r->id_pk, e->u->key, 32);
	if (!e->vouched) {
		r->op = OSTP_MEMBER_REMOVE;
		return;
	}
	r->op = OSTP_MEMBER_UPSERT;
	snprintf(r->name, sizeof(r->name), "%s", e->u->name);
	/* a pushed address is the member's own: a host prefix */
	for (size_t j = 0; j < e->u->n_addr; j++)
		put_prefix(r, &e->u->addr[j], true);
	for (size_t j = 0; j < e->u->n_allowed_ips; j++)
		put_prefix(r, &e->u->allowed_ips[j], false);
	if (e->online && (e->flags & OSTP_MEMBER_F_ACCEPTS) && e->port) {
		r->flags = OSTP_MEMBER_F_ACCEPTS;
		r->port = e->port;
		snprintf(r->host, sizeof(r->host), "%s", e->host);
	}
}

static void clear_bit(struct member_feed *f, size_t i)
{
	f->pending[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static bool bit(const struct member_feed *f, size_t i)
{
	return f->pending[i / 8] & (1u << (i % 8));
}

/* Sends a record unless the session's queue is past half its limit (the
 * rest waits for members_pump on drain): data keeps the other half. */
static int send_rec(struct member_feed *f, const struct ostp_member *r)
{
	int err;

	if (link_queued(f->k) >= LINK_OUTQ_MAX / 2)
		return -EAGAIN;
	err = ostp_send_member(f->k->s, r);
	if (err) {
		log_warn("%s: member list: %s", f->k->endpoint, ostp_strerror(err));
		return -EIO;
	}
	return 0;
}

/* Queues what is due for f until its queue is half full: the first
 * listing, SYNCED, then the entries that changed.  0 when all is sent,
 * -EAGAIN when the queue is full, -EIO on a refused record. */
static int queue_some(struct members *ms, struct member_feed *f)
{
	struct ostp_member r;
	int rc;

	for (; f->cursor < ms->n; f->cursor++) {
		size_t i = f->cursor;

		if (i != f->self && ms->m[i].vouched) {
			fill(ms, i, &r);
			if ((rc = send_rec(f, &r)) < 0)
				return rc;
		}
		clear_bit(f, i);
	}
	if (!f->synced) {
		memset(&r, 0, sizeof(r));
		r.op = OSTP_MEMBER_SYNCED;
		if ((rc = send_rec(f, &r)) < 0)
			return rc;
		f->synced = true;
	}
	for (size_t i = 0; i < ms->n; i++) {
		if (!bit(f, i))
			continue;
		fill(ms, i, &r);
		if ((rc = send_rec(f, &r)) < 0)
			return rc;
		clear_bit(f, i);
	}
	return 0;
}

void members_pump(struct members *ms, struct member_feed *f)
{
	struct link *k = f->k;

	/* link_flush() below reports a drained queue, which pumps again:
	 * this loop already goes on while the socket takes the bytes */
	if (f->pumping || k->dead || !link_up(k))
		return;
	f->pumping = true;
	for (;;) {
		int rc = queue_some(ms, f);

		link_flush(k);
		if (k->dead)
			return;   /* closed, and f with it */
		/* done, or the socket is full and its drain calls us again */
		if (rc != -EAGAIN || link_queued(k) >= LINK_OUTQ_MAX / 2)
			break;
	}
	f->pumping = false;
}

static void on_flush(struct timer *t, uint64_t now)
{
	struct members *ms = (struct members *)((char *)t - offsetof(struct members, flush));

	(void)now;
	for (size_t i = 0; i < ms->n; i++) {
		if (!ms->m[i].dirty)
			continue;
		ms->m[i].dirty = false;
		for (struct member_feed *f = ms->feeds; f; f = f->next)
			if (i != f->self)
				f->pending[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	for (struct member_feed *f = ms->feeds, *next; f; f = next) {
		next = f->next;
		members_pump(ms, f);
	}
}

int members_session_up(struct members *ms, struct link *k, const struct ostpd_user *u,
		       const struct sockaddr_storage *peer, struct member_feed **feed)
{
	struct member_feed *f;
	size_t i = 0;

	while (i < ms->n && ms->m[i].u != u)
		i++;
	if (i == ms->n)
		return -ENOENT;
	f = calloc(1, sizeof(*f) + (ms->n + 7) / 8);
	if (!f)
		return -ENOMEM;
	f->ms = ms;
	f->k = k;
	f->self = i;
	f->peer = *peer;
	f->next = ms->feeds;
	if (ms->feeds)
		ms->feeds->prev = f;
	ms->feeds = f;
	/* a reconnect replaces a session whose end the OCS has not seen yet */
	ms->m[i].online = f;
	*feed = f;
	members_pump(ms, f);
	return 0;
}

static void peer_host(const struct sockaddr_storage *ss, char *out, size_t size)
{
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)size);
	} else {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, a->s6_addr + 12, out, (socklen_t)size);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)size);
	}
}

void members_announce(struct members *ms, struct member_feed *f, const struct ostp_member *r)
{
	struct mem *e = &ms->m[f->self];

	if (e->online != f)
		return;   /* an older session of the member: its successor speaks */
	e->flags = r->flags & OSTP_MEMBER_F_ACCEPTS;
	e->port = r->port;
	/* behind NAT a member cannot know its address; the OCS sees it */
	if (r->host[0])
		snprintf(e->host, sizeof(e->host), "%s", r->host);
	else
		peer_host(&f->peer, e->host, sizeof(e->host));
	log_info("%s: member %s accepts mesh links at %s port %u", f->k->endpoint, e->u->name,
		 e->flags ? e->host : "(none)", e->port);
	mark_dirty(ms, f->self);
}

void members_session_down(struct members *ms, struct member_feed *f)
{
	struct mem *e = &ms->m[f->self];

	if (f->prev)
		f->prev->next = f->next;
	else
		ms->feeds = f->next;
	if (f->next)
		f->next->prev = f->prev;
	if (e->online == f) {
		e->online = NULL;
		if (e->flags || e->port) {
			e->flags = 0;
			e->port = 0;
			e->host[0] = '\0';
			mark_dirty(ms, f->self);
		}
	}
	free(f);
}
