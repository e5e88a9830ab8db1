/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "log.h"

struct admit_source {
	struct admit_source *hnext;              /* hash chain */
	struct admit_source *lru_prev, *lru_next;/* most recently seen first */
	struct admit_source *dirty_next;         /* has an open log window */
	bool dirty;
	bool exempt;
	bool enforcing;                          /* penalty crossed penalty_min */
	unsigned strikes;                        /* enforcements in a row */
	const char *penalty_why;
	int family;
	uint8_t addr[16];                        /* masked to the source prefix */
	uint32_t unauth, logins;
	uint64_t penalty_until;                  /* ms */
	uint64_t window_start;
	uint32_t count[ADMIT_EV_COUNT];
	char name[PREFIX_STRLEN];
};

struct admit {
	struct admit_config cfg;
	struct prefix *exempt;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct admit_source **bucket;
	size_t n_buckets, n_sources;
	struct admit_source *lru_head, *lru_tail;
	struct admit_source *dirty;
	/* connections whose source has no table entry (table full) are
	 * counted and logged under this one; it never gets caps or penalties */
	struct admit_source other;
	struct admit_ticket *fifo_head, *fifo_tail;
	struct admit_login *logins;
	size_t n_unauth, n_logins;
	bool full_logged;
};

int admit_new(struct admit **out, const struct admit_config *cfg)
{
	struct admit *a = calloc(1, sizeof(*a));
	size_t n = 64;

	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	if (cfg->n_exempt) {
		a->exempt = calloc(cfg->n_exempt, sizeof(*a->exempt));
		if (!a->exempt) {
			free(a);
			return -ENOMEM;
		}
		memcpy(a->exempt, cfg->exempt, cfg->n_exempt * sizeof(*a->exempt));
	}
	a->cfg.exempt = a->exempt;
	/* chains of about four when the table is full */
	while (n < cfg->max_sources / 4)
		n *= 2;
	a->bucket = calloc(n, sizeof(*a->bucket));
	if (!a->bucket) {
		free(a->exempt);
		free(a);
		return -ENOMEM;
	}
	a->n_buckets = n;
	/* a keyed hash: a sender choosing its addresses cannot aim them all
	 * at one chain */
	randombytes_buf(a->hash_key, sizeof(a->hash_key));
	a->other.exempt = true;
	snprintf(a->other.name, sizeof(a->other.name), "unlisted sources");
	*out = a;
	return 0;
}

void admit_free(struct admit *a)
{
	if (!a)
		return;
	for (struct admit_source *s = a->lru_head, *next; s; s = next) {
		next = s->lru_next;
		free(s);
	}
	free(a->bucket);
	free(a->exempt);
	free(a);
}

/* The address of a peer: IPv4 also when mapped into IPv6. */
static bool peer_addr(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			memcpy(addr, in6->s6_addr + 12, 4);
			*family = AF_INET;
		} else {
			memcpy(addr, in6->s6_addr, 16);
			*family = AF_INET6;
		}
	} else {
		return false;
	}
	return true;
}

/* What one source is: source_prefix4 bits of an IPv4 address, and
 * source_prefix6 of an IPv6 one, since a single host usually holds a
 * whole /64. */
static unsigned mask_source(const struct admit *a, int family, uint8_t addr[16])
{
	unsigned plen = family == AF_INET ? a->cfg.source_prefix4 : a->cfg.source_prefix6;

	for (unsigned bit = plen; bit < (family == AF_INET ? 32u : 128u); bit++)
		addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return plen;
}

static size_t bucket_of(const struct admit *a, int family, const uint8_t addr[16])
{
	uint8_t in[17], h[crypto_shorthash_BYTES];
	uint64_t v;

	in[0] = (uint8_t)family;
	memcpy(in + 1, addr, 16);
	crypto_shorthash(h, in, sizeof(in), a->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (a->n_buckets - 1));
}

static void lru_unlink(struct admit *a, struct admit_source *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		a->lru_head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		a->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void lru_push(struct admit *a, struct admit_source *s)
{
	s->lru_next = a->lru_head;
	if (a->lru_head)
		a->lru_head->lru_prev = s;
	a->lru_head = s;
	if (!a->lru_tail)
		a->lru_tail = s;
}

static bool penalized(struct admit_source *s, uint64_t now)
{
	if (s->penalty_until <= now)
		s->enforcing = false;
	return s->enforcing;
}

/* Nothing left to remember: no connection, no check, no penalty, no
 * pending summary. */
static bool idle(struct admit_source *s, uint64_t now)
{
	return !s->unauth && !s->logins && !s->dirty && s->penalty_until <= now;
}

static void forget(struct admit *a, struct admit_source *s)
{
	struct admit_source **pp = &a->bucket[bucket_of(a, s->family, s->addr)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	lru_unlink(a, s);
	a->n_sources--;
	free(s);
}

/* Makes room by forgetting an idle source near the cold end; bounded,
 * so a table full of busy sources costs a few steps, not a scan. */
static bool evict_one(struct admit *a, uint64_t now)
{
	struct admit_source *s = a->lru_tail;

	for (int i = 0; s && i < 64; i++, s = s->lru_prev) {
		if (idle(s, now)) {
			forget(a, s);
			return true;
		}
	}
	return false;
}

static bool is_exempt(const struct admit *a, int family, const uint8_t addr[16])
{
	for (size_t i = 0; i < a->cfg.n_exempt; i++)
		if (prefix_contains(&a->cfg.exempt[i], family, addr))
			return true;
	return false;
}

static struct admit_source *find(struct admit *a, const struct sockaddr *sa, bool create,
				 uint64_t now)
{
	int family;
	uint8_t raw[16], addr[16];
	unsigned plen;
	size_t b;
	struct admit_source *s;

	if (!peer_addr(sa, &family, raw))
		return NULL;
	memcpy(addr, raw, 16);
	plen = mask_source(a, family, addr);
	b = bucket_of(a, family, addr);
	for (s = a->bucket[b]; s; s = s->hnext)
		if (s->family == family && memcmp(s->addr, addr, 16) == 0)
			break;
	if (s) {
		lru_unlink(a, s);
		lru_push(a, s);
		return s;
	}
	if (!create)
		return NULL;
	if (a->n_sources >= a->cfg.max_sources && !evict_one(a, now)) {
		if (!a->full_logged)
			log_warn("admission: source table full (%u sources): new sources are "
				 "counted together and not penalized", a->cfg.max_sources);
		a->full_logged = true;
		return NULL;
	}
	a->full_logged = false;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->family = family;
	memcpy(s->addr, addr, 16);
	/* the first address seen decides for the whole source prefix */
	s->exempt = is_exempt(a, family, raw);
	if (plen == (family == AF_INET ? 32u : 128u)) {
		inet_ntop(family, addr, s->name, sizeof(s->name));
	} else {
		struct prefix p = { .family = family, .len = (uint8_t)plen };

		memcpy(p.addr, addr, 16);
		prefix_format(&p, s->name, sizeof(s->name));
	}
	s->hnext = a->bucket[b];
	a->bucket[b] = s;
	lru_push(a, s);
	a->n_sources++;
	return s;
}

struct admit_source *admit_lookup(struct admit *a, const struct sockaddr *sa)
{
	return find(a, sa, false, 0);
}

const char *admit_source_name(const struct admit_source *src)
{
	return src->name;
}

unsigned admit_penalty_left(const struct admit_source *src, uint64_t now_ms)
{
	if (!src || !src->enforcing || src->penalty_until <= now_ms)
		return 0;
	return (unsigned)((src->penalty_until - now_ms + 999) / 1000);
}

/* Penalties accrue as in OpenSSH (until = max(until, now) + secs) and are
 * enforced once penalty_min is reached.  Each enforcement that follows
 * an earlier one within penalty_max doubles, so a source that comes back
 * the moment its penalty ends gets ever longer ones, up to penalty_max. */
static void add_penalty(struct admit *a, struct admit_source *s, unsigned secs,
			const char *why, uint64_t now)
{
	uint64_t base, cap, max = (uint64_t)a->cfg.penalty_max * 1000u;

	if (!s || s->exempt || !secs)
		return;
	penalized(s, now);
	if (s->penalty_until + max < now)
		s->strikes = 0;
	base = s->penalty_until > now ? s->penalty_until : now;
	cap = now + max;
	s->penalty_until = base + (uint64_t)secs * 1000u;
	if (s->penalty_until > cap)
		s->penalty_until = cap;
	if (!s->enforcing && s->penalty_until - now >= (uint64_t)a->cfg.penalty_min * 1000u) {
		uint64_t len = s->penalty_until - now;

		for (unsigned i = 0; i < s->strikes && len < max; i++)
			len *= 2;
		s->penalty_until = now + (len < max ? len : max);
		s->strikes++;
		s->enforcing = true;
		s->penalty_why = why;
		log_warn("%s: penalized for %u s (%s)", s->name,
			 admit_penalty_left(s, now), why);
	}
}

void admit_note(struct admit *a, struct admit_source *src, enum admit_event ev,
		const char *detail, uint64_t now_ms)
{
	struct admit_source *s = src ? src : &a->other;

	if (!s->dirty) {
		s->dirty = true;
		s->window_start = now_ms;
		s->dirty_next = a->dirty;
		a->dirty = s;
	}
	if (!detail)
		s->count[ev]++;
	else if (++s->count[ev] > 1)
		log_debug("%s", detail);   /* in the summary unless debugging */
	else if (ev == ADMIT_EV_NOAUTH)
		log_info("%s", detail);
	else
		log_warn("%s", detail);
}

static void fifo_unlink(struct admit *a, struct admit_ticket *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		a->fifo_head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		a->fifo_tail = t->prev;
	t->prev = t->next = NULL;
}

/* t leaves the unauthenticated totals. */
static void uncount(struct admit *a, struct admit_ticket *t)
{
	if (!t->unauth)
		return;
	fifo_unlink(a, t);
	if (t->src)
		t->src->unauth--;
	a->n_unauth--;
	t->unauth = false;
}

struct admit_ticket *admit_oldest_unauth(const struct admit *a)
{
	for (struct admit_ticket *t = a->fifo_head; t; t = t->next)
		if (!t->logging_in)
			return t;
	return NULL;
}

enum admit_verdict admit_check(struct admit *a, const struct sockaddr *sa, uint64_t now_ms,
			       struct admit_source **src)
{
	struct admit_source *s = find(a, sa, true, now_ms);

	*src = s;
	if (s && penalized(s, now_ms))
		return ADMIT_PENALIZED;
	if (s && s->unauth >= a->cfg.max_unauth_per_source)
		return ADMIT_SOURCE_FULL;
	if (a->n_unauth >= a->cfg.max_unauth && !admit_oldest_unauth(a))
		return ADMIT_FULL;
	return ADMIT_OK;
}

struct admit_ticket *admit_count(struct admit *a, struct admit_ticket *t,
				 struct admit_source *src)
{
	struct admit_ticket *shed = NULL;

	if (a->n_unauth >= a->cfg.max_unauth) {
		/* Shedding the oldest gives every connection some time to
		 * authenticate however fast new ones arrive; one source's share
		 * is already bounded by max_unauth_per_source. */
		shed = admit_oldest_unauth(a);
		if (shed) {
			shed->no_penalty = true;
			uncount(a, shed);
		}
	}
	memset(t, 0, sizeof(*t));
	t->src = src;
	t->unauth = true;
	t->prev = a->fifo_tail;
	if (a->fifo_tail)
		a->fifo_tail->next = t;
	else
		a->fifo_head = t;
	a->fifo_tail = t;
	if (src)
		src->unauth++;
	a->n_unauth++;
	return shed;
}

enum admit_verdict admit_login_begin(struct admit *a, struct admit_ticket *t,
				     struct admit_login *login, const char *user,
				     uint64_t now_ms)
{
	struct admit_source *s = t->src;
	unsigned same_user = 0;

	memset(login, 0, sizeof(*login));
	if (s && penalized(s, now_ms))
		return ADMIT_PENALIZED;
	if (s && s->logins >= a->cfg.max_logins_per_source)
		return ADMIT_SOURCE_LOGINS;
	for (const struct admit_login *l = a->logins; l; l = l->next)
		if (strcmp(l->user, user) == 0)
			same_user++;
	if (same_user >= a->cfg.max_logins_per_user)
		return ADMIT_USER_LOGINS;
	login->src = s;
	snprintf(login->user, sizeof(login->user), "%s", user);
	login->next = a->logins;
	if (a->logins)
		a->logins->prev = login;
	a->logins = login;
	if (s)
		s->logins++;
	a->n_logins++;
	t->logging_in = true;
	return ADMIT_OK;
}

void admit_login_end(struct admit *a, struct admit_login *login, bool failed,
		     uint64_t now_ms)
{
	if (login->prev)
		login->prev->next = login->next;
	else
		a->logins = login->next;
	if (login->next)
		login->next->prev = login->prev;
	login->prev = login->next = NULL;
	a->n_logins--;
	if (login->src) {
		login->src->logins--;
		if (failed)
			add_penalty(a, login->src, a->cfg.penalty_authfail, "failed logins", now_ms);
	}
	login->src = NULL;
}

void admit_authenticated(struct admit *a, struct admit_ticket *t)
{
	uncount(a, t);
	t->src = NULL;
}

void admit_release(struct admit *a, struct admit_ticket *t, uint64_t now_ms)
{
	if (t->unauth && !t->no_penalty)
		add_penalty(a, t->src, a->cfg.penalty_noauth, "connections closed before authenticating",
			    now_ms);
	uncount(a, t);
	t->src = NULL;
}

static const char *const event_summary[ADMIT_EV_COUNT] = {
	[ADMIT_EV_REFUSED] = "refused %u connections in the last %d s%s",
	[ADMIT_EV_SHED] = "shed %u unauthenticated connections in the last %d s%s",
	[ADMIT_EV_NOAUTH] = "%u connections closed before authenticating in the last %d s%s",
	[ADMIT_EV_FAILED] = "%u failed logins in the last %d s%s",
	[ADMIT_EV_BUSY] = "%u logins answered busy in the last %d s%s",
};

static void summarise(struct admit_source *s, uint64_t now)
{
	for (int ev = 0; ev < ADMIT_EV_COUNT; ev++) {
		char line[160], extra[64] = "";
		unsigned left = admit_penalty_left(s, now);

		/* the first of each kind was logged when it happened */
		if (s->count[ev] > 1) {
			if (ev == ADMIT_EV_REFUSED)
				snprintf(extra, sizeof(extra), left ? " (penalty %u s left)"
						: " (too many unauthenticated connections)", left);
			snprintf(line, sizeof(line), event_summary[ev], s->count[ev], ADMIT_WINDOW_S,
				 extra);
			log_warn("%s: %s", s->name, line);
		}
		s->count[ev] = 0;
	}
}

uint64_t admit_tick(struct admit *a, uint64_t now_ms)
{
	uint64_t next = now_ms + ADMIT_WINDOW_S * 1000u;
	struct admit_source **pp = &a->dirty;

	while (*pp) {
		struct admit_source *s = *pp;
		uint64_t end = s->window_start + ADMIT_WINDOW_S * 1000u;

		if (end <= now_ms) {
			summarise(s, now_ms);
			s->dirty = false;
			*pp = s->dirty_next;
			s->dirty_next = NULL;
			continue;
		}
		if (end < next)
			next = end;
		pp = &s->dirty_next;
	}
	/* forget what a flood left behind, a bounded amount per call */
	for (int i = 0; i < 256 && a->lru_tail && idle(a->lru_tail, now_ms); i++)
		forget(a, a->lru_tail);
	return next;
}

size_t admit_unauth_count(const struct admit *a)
{
	return a->n_unauth;
}

size_t admit_logins_count(const struct admit *a)
{
	return a->n_logins;
}

size_t admit_source_count(const struct admit *a)
{
	return a->n_sources;
}
