/* SPDX-License-Identifier: ISC */
/* Longest-prefix-match table; the design is described in ptable.h. */
#include "ptable.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

/* Smallest allocated table; an empty table holds no array at all. */
#define TAB_MIN_CAP 8

/*
 * One open-addressing table type serves all four indexes, so probing,
 * resizing and deletion exist once.  Keys are (hi, lo, tag): for prefixes
 * the masked address as two big-endian words (IPv4 in the top half of hi)
 * and the length; for the owner index the owner pointer; for the pair
 * index the prefix and owner record pointers.  The key, and for prefixes
 * the current owner, sit in the slot, so a lookup reads nothing but the
 * slot array.
 */
struct slot {
	uint64_t hi, lo;
	void *val;              /* NULL: empty */
	void *owner;            /* prefixes: the newest owner's pointer */
	uint32_t tag;
	uint32_t hash;          /* kept to skip most key compares and rehashing */
};

struct tab {
	struct slot *slot;
	size_t cap;             /* a power of two, or 0 with no array */
	size_t n;
};

struct entry;

struct pfx {
	struct entry *top;      /* newest owner's entry */
	uint64_t hi, lo;
	uint32_t hash;
	uint8_t fam;            /* index into ptable.fam */
	uint8_t len;
};

struct owner {
	void *owner;
	uint32_t hash;
	struct entry *first;
};

/* One (prefix, owner) pair, on two doubly linked lists so that removing it
 * from the middle of either is O(1). */
struct entry {
	struct pfx *pfx;
	struct owner *own;
	struct entry *older, *newer;    /* owners of the same prefix */
	struct entry *next, *prev;      /* prefixes of the same owner */
	uint32_t hash;                  /* in the pair index */
};

struct fam {
	struct tab tab;
	uint64_t lens[3];       /* bit n: some prefix has length n */
	size_t per_len[129];    /* to know when a length's bit can go */
};

struct ptable {
	uint64_t seed;
	struct fam fam[2];      /* AF_INET, AF_INET6 */
	struct tab owners;
	struct tab pairs;
	size_t count;
};

static const unsigned fam_bits[2] = { 32, 128 };
static const int fam_af[2] = { AF_INET, AF_INET6 };

static int fam_index(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

/* splitmix64's finaliser: every input bit reaches every output bit, which
 * masked addresses (long runs of zero bits) need. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint32_t key_hash(const struct ptable *t, uint64_t hi, uint64_t lo,
			 uint32_t tag)
{
	uint64_t h = mix64(hi ^ t->seed);

	h = mix64(h ^ lo ^ ((uint64_t)tag << 56));
	return (uint32_t)h;
}

static struct slot *tab_find(const struct tab *tb, uint32_t hash, uint64_t hi,
			     uint64_t lo, uint32_t tag)
{
	size_t mask = tb->cap - 1;

	if (!tb->n)
		return NULL;
	/* Ends: a table is never more than half full. */
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct slot *s = &tb->slot[i];

		if (!s->val)
			return NULL;
		if (s->hash == hash && s->hi == hi && s->lo == lo &&
		    s->tag == tag)
			return s;
	}
}

/* The caller has made room with tab_reserve. */
static struct slot *tab_put(struct tab *tb, uint32_t hash, uint64_t hi,
			    uint64_t lo, uint32_t tag, void *val)
{
	size_t mask = tb->cap - 1, i = hash & mask;

	while (tb->slot[i].val)
		i = (i + 1) & mask;
	tb->slot[i] = (struct slot){ .hi = hi, .lo = lo, .val = val,
				     .tag = tag, .hash = hash };
	tb->n++;
	return &tb->slot[i];
}

static int tab_resize(struct tab *tb, size_t cap)
{
	struct slot *old = tb->slot;
	size_t old_cap = tb->cap;
	struct slot *ns = calloc(cap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	tb->slot = ns;
	tb->cap = cap;
	tb->n = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].val)
			tab_put(tb, old[i].hash, old[i].hi, old[i].lo,
				old[i].tag, old[i].val)->owner = old[i].owner;
	free(old);
	return 0;
}

/* Grows the table, if needed, so that `more` puts cannot fail. */
static int tab_reserve(struct tab *tb, size_t more)
{
	size_t cap = tb->cap ? tb->cap : TAB_MIN_CAP;

	if (!more)
		return 0;
	if (tb->n + more < tb->n)
		return -ENOMEM;
	while (tb->n + more > cap / 2) {
		if (cap > SIZE_MAX / 2 / sizeof(struct slot))
			return -ENOMEM;
		cap *= 2;
	}
	return cap == tb->cap ? 0 : tab_resize(tb, cap);
}

/* Backward-shift deletion rather than tombstones, so probe chains only
 * ever get shorter and an emptied table really is empty. */
static void tab_del(struct tab *tb, struct slot *s)
{
	size_t mask = tb->cap - 1;
	size_t i = (size_t)(s - tb->slot), j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (!tb->slot[j].val)
			break;
		size_t k = tb->slot[j].hash & mask;
		/* The slot at j may fill the hole at i only if its home k
		 * is not cyclically within (i, j]: its probe from k must
		 * still pass over i. */
		if (j > i ? (k <= i || k > j) : (k <= i && k > j)) {
			tb->slot[i] = tb->slot[j];
			i = j;
		}
	}
	memset(&tb->slot[i], 0, sizeof(tb->slot[i]));
	tb->n--;
	if (!tb->n) {
		free(tb->slot);
		tb->slot = NULL;
		tb->cap = 0;
	} else if (tb->cap > TAB_MIN_CAP && tb->n < tb->cap / 8) {
		/* A failed shrink leaves a valid, just roomier, table. */
		(void)tab_resize(tb, tb->cap / 2);
	}
}

static uint64_t mask64(unsigned bits)
{
	return bits ? ~0ULL << (64 - bits) : 0;
}

static void load_addr(int fi, const uint8_t *addr, uint64_t *hi, uint64_t *lo)
{
	if (fi == 0) {
		uint32_t v;

		memcpy(&v, addr, 4);
		*hi = (uint64_t)be32toh(v) << 32;
		*lo = 0;
	} else {
		memcpy(hi, addr, 8);
		memcpy(lo, addr + 8, 8);
		*hi = be64toh(*hi);
		*lo = be64toh(*lo);
	}
}

/* IPv4 sits in the top half of hi, so one masking rule serves both. */
static void mask_key(unsigned len, uint64_t *hi, uint64_t *lo)
{
	if (len <= 64) {
		*hi &= mask64(len);
		*lo = 0;
	} else {
		*lo &= mask64(len - 64);
	}
}

static void store_addr(const struct pfx *p, uint8_t out[16])
{
	uint64_t hi = htobe64(p->hi), lo = htobe64(p->lo);

	memcpy(out, &hi, 8);
	memcpy(out + 8, &lo, 8);
}

static uint64_t new_seed(const struct ptable *t)
{
	uint64_t s;
	struct timespec ts;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	/* Early in boot the pool may not be ready.  The seed only spreads
	 * probe chains, so a guessable one costs speed, not correctness. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix64((uint64_t)ts.tv_sec ^ ((uint64_t)ts.tv_nsec << 20) ^
		     (uint64_t)(uintptr_t)t);
}

int ptable_new(struct ptable **out)
{
	struct ptable *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->seed = new_seed(t);
	*out = t;
	return 0;
}

void ptable_free(struct ptable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->owners.cap; i++) {
		struct owner *o = t->owners.slot[i].val;

		if (!o)
			continue;
		for (struct entry *e = o->first, *next; e; e = next) {
			next = e->next;
			free(e);
		}
		free(o);
	}
	for (int fi = 0; fi < 2; fi++) {
		struct tab *tb = &t->fam[fi].tab;

		for (size_t i = 0; i < tb->cap; i++)
			free(tb->slot[i].val);
		free(tb->slot);
	}
	free(t->owners.slot);
	free(t->pairs.slot);
	free(t);
}

static uint32_t owner_hash(const struct ptable *t, const void *owner)
{
	return key_hash(t, (uint64_t)(uintptr_t)owner, 0, 0);
}

static struct owner *find_owner(const struct ptable *t, const void *owner)
{
	struct slot *s = tab_find(&t->owners, owner_hash(t, owner),
				  (uint64_t)(uintptr_t)owner, 0, 0);

	return s ? s->val : NULL;
}

static struct slot *pfx_slot(const struct ptable *t, const struct pfx *p)
{
	return tab_find(&t->fam[p->fam].tab, p->hash, p->hi, p->lo, p->len);
}

static struct slot *find_pair(const struct ptable *t, const struct pfx *p,
			      const struct owner *o)
{
	uint64_t hi = (uint64_t)(uintptr_t)p, lo = (uint64_t)(uintptr_t)o;

	return tab_find(&t->pairs, key_hash(t, hi, lo, 0), hi, lo, 0);
}

/* Validates the arguments and finds the prefix's slot, if any. */
static int prep(const struct ptable *t, int family, const uint8_t *addr,
		unsigned len, void *owner, int *fi, uint64_t *hi,
		uint64_t *lo, uint32_t *hash, struct pfx **p)
{
	struct slot *s;

	*fi = fam_index(family);
	if (!t || *fi < 0 || !addr || !owner || len > fam_bits[*fi])
		return -EINVAL;
	load_addr(*fi, addr, hi, lo);
	mask_key(len, hi, lo);
	*hash = key_hash(t, *hi, *lo, len);
	s = tab_find(&t->fam[*fi].tab, *hash, *hi, *lo, len);
	*p = s ? s->val : NULL;
	return 0;
}

int ptable_insert(struct ptable *t, int family, const uint8_t *addr,
		  unsigned len, void *owner)
{
	struct entry *e;
	struct pfx *p, *np = NULL;
	struct owner *o, *no = NULL;
	uint64_t hi, lo;
	uint32_t hash;
	int fi, err;

	err = prep(t, family, addr, len, owner, &fi, &hi, &lo, &hash, &p);
	if (err)
		return err;
	struct fam *f = &t->fam[fi];

	o = find_owner(t, owner);
	if (p && o && find_pair(t, p, o))
		return -EEXIST;

	/* Everything that can fail comes before the first change, so a
	 * failed insert leaves the table as it was (grown at most). */
	if ((err = tab_reserve(&f->tab, !p)) ||
	    (err = tab_reserve(&t->owners, !o)) ||
	    (err = tab_reserve(&t->pairs, 1)))
		return err;
	e = calloc(1, sizeof(*e));
	if (!p)
		np = calloc(1, sizeof(*np));
	if (!o)
		no = calloc(1, sizeof(*no));
	if (!e || (!p && !np) || (!o && !no)) {
		free(e);
		free(np);
		free(no);
		return -ENOMEM;
	}

	if (!p) {
		p = np;
		p->hi = hi;
		p->lo = lo;
		p->hash = hash;
		p->fam = (uint8_t)fi;
		p->len = (uint8_t)len;
		tab_put(&f->tab, hash, hi, lo, len, p);
		if (f->per_len[len]++ == 0)
			f->lens[len / 64] |= 1ULL << (len % 64);
	}
	if (!o) {
		o = no;
		o->owner = owner;
		o->hash = owner_hash(t, owner);
		tab_put(&t->owners, o->hash, (uint64_t)(uintptr_t)owner, 0, 0, o);
	}

	e->pfx = p;
	e->own = o;
	e->older = p->top;
	if (p->top)
		p->top->newer = e;
	p->top = e;
	pfx_slot(t, p)->owner = owner;

	e->next = o->first;
	if (o->first)
		o->first->prev = e;
	o->first = e;

	e->hash = key_hash(t, (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)o, 0);
	tab_put(&t->pairs, e->hash, (uint64_t)(uintptr_t)p,
		(uint64_t)(uintptr_t)o, 0, e);
	t->count++;
	return 0;
}

static void entry_remove(struct ptable *t, struct entry *e)
{
	struct pfx *p = e->pfx;
	struct owner *o = e->own;

	tab_del(&t->pairs, tab_find(&t->pairs, e->hash, (uint64_t)(uintptr_t)p,
				    (uint64_t)(uintptr_t)o, 0));

	if (e->older)
		e->older->newer = e->newer;
	if (e->newer) {
		e->newer->older = e->older;
	} else {
		p->top = e->older;
		if (p->top)
			pfx_slot(t, p)->owner = p->top->own->owner;
	}
	if (!p->top) {
		struct fam *f = &t->fam[p->fam];

		tab_del(&f->tab, pfx_slot(t, p));
		if (--f->per_len[p->len] == 0)
			f->lens[p->len / 64] &= ~(1ULL << (p->len % 64));
		free(p);
	}

	if (e->next)
		e->next->prev = e->prev;
	if (e->prev)
		e->prev->next = e->next;
	else
		o->first = e->next;
	if (!o->first) {
		tab_del(&t->owners, tab_find(&t->owners, o->hash,
					     (uint64_t)(uintptr_t)o->owner, 0, 0));
		free(o);
	}

	free(e);
	t->count--;
}

int ptable_remove(struct ptable *t, int family, const uint8_t *addr,
		  unsigned len, void *owner)
{
	struct pfx *p;
	struct owner *o;
	struct slot *s;
	uint64_t hi, lo;
	uint32_t hash;
	int fi, err;

	err = prep(t, family, addr, len, owner, &fi, &hi, &lo, &hash, &p);
	if (err)
		return err;
	o = find_owner(t, owner);
	if (!p || !o || !(s = find_pair(t, p, o)))
		return -ENOENT;
	entry_remove(t, s->val);
	return 0;
}

size_t ptable_remove_owner(struct ptable *t, void *owner)
{
	struct owner *o;
	size_t n = 0;

	if (!t || !owner || !(o = find_owner(t, owner)))
		return 0;
	/* The last entry_remove frees o, so o->first is not read after it. */
	for (struct entry *e = o->first, *next; e; e = next) {
		next = e->next;
		entry_remove(t, e);
		n++;
	}
	return n;
}

void *ptable_lookup(const struct ptable *t, int family, const uint8_t *addr)
{
	int fi = fam_index(family);
	const struct fam *f;
	uint64_t hi, lo;

	if (!t || fi < 0 || !addr)
		return NULL;
	f = &t->fam[fi];
	if (!f->tab.n)
		return NULL;
	load_addr(fi, addr, &hi, &lo);
	for (int w = 2; w >= 0; w--) {
		for (uint64_t bits = f->lens[w]; bits;) {
			unsigned b = 63u - (unsigned)__builtin_clzll(bits);
			unsigned len = (unsigned)w * 64 + b;
			uint64_t mh = hi, ml = lo;
			struct slot *s;

			mask_key(len, &mh, &ml);
			s = tab_find(&f->tab, key_hash(t, mh, ml, len), mh, ml, len);
			if (s)
				return s->owner;
			bits &= ~(1ULL << b);
		}
	}
	return NULL;
}

size_t ptable_count(const struct ptable *t)
{
	return t ? t->count : 0;
}

void ptable_walk(const struct ptable *t,
		 void (*fn)(void *ctx, int family, const uint8_t *addr,
			    unsigned len, void *owner),
		 void *ctx)
{
	if (!t || !fn)
		return;
	for (int fi = 0; fi < 2; fi++) {
		const struct tab *tb = &t->fam[fi].tab;

		for (size_t i = 0; i < tb->cap; i++) {
			const struct pfx *p = tb->slot[i].val;
			uint8_t addr[16];

			if (!p)
				continue;
			store_addr(p, addr);
			for (const struct entry *e = p->top; e; e = e->older)
				fn(ctx, fam_af[fi], addr, p->len, e->own->owner);
		}
	}
}
