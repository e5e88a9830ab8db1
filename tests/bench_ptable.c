/* SPDX-License-Identifier: ISC */
/*
 * ns per ptable_lookup with 1 and with 20,000 sessions, each owning one /32
 * and one /128 inside a shared /10 and /64 plus default routes, next to a
 * linear scan of the same prefixes (what route.c does per packet).  Not
 * run by make check; build it by hand, e.g.
 *
 *   make BUILD=build-pt build-pt/libtund.a
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Ilib -Itund tests/bench_ptable.c \
 *      build-pt/libtund.a -o build-pt/bench_ptable
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "prefix.h"
#include "ptable.h"

#define QUERIES 4096
#define ROUNDS_NS 200000000ULL  /* run each case for about 0.2 s */

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void host(int family, unsigned i, uint8_t a[16])
{
	memset(a, 0, 16);
	if (family == AF_INET) {
		a[0] = 100;
		a[1] = (uint8_t)(64 + (i >> 16));
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
	} else {
		a[0] = 0xfd;
		a[13] = (uint8_t)(i >> 16);
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
	}
}

struct setup {
	struct ptable *t;
	struct prefix *list;    /* the same prefixes, for the linear scan */
	void **list_owner;
	size_t n_list;
	char *owners;
};

static void add(struct setup *s, int family, const uint8_t *a, unsigned len,
		void *owner)
{
	struct prefix *p = &s->list[s->n_list];

	if (ptable_insert(s->t, family, a, len, owner) != 0) {
		fprintf(stderr, "insert failed\n");
		exit(1);
	}
	p->family = family;
	memcpy(p->addr, a, 16);
	p->len = (uint8_t)len;
	s->list_owner[s->n_list++] = owner;
}

static void build(struct setup *s, unsigned sessions)
{
	static const uint8_t zero[16];
	uint8_t net4[16] = { 100, 64 }, net6[16] = { 0xfd }, a[16];

	memset(s, 0, sizeof(*s));
	s->owners = calloc(sessions + 1, 1);
	s->list = calloc(4 * (size_t)sessions + 2, sizeof(*s->list));
	s->list_owner = calloc(4 * (size_t)sessions + 2, sizeof(void *));
	if (!s->owners || !s->list || !s->list_owner || ptable_new(&s->t)) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	add(s, AF_INET, zero, 0, &s->owners[sessions]);
	add(s, AF_INET6, zero, 0, &s->owners[sessions]);
	for (unsigned i = 0; i < sessions; i++) {
		if (sessions > 1) {
			add(s, AF_INET, net4, 10, &s->owners[i]);
			add(s, AF_INET6, net6, 64, &s->owners[i]);
		}
		host(AF_INET, i, a);
		add(s, AF_INET, a, 32, &s->owners[i]);
		host(AF_INET6, i, a);
		add(s, AF_INET6, a, 128, &s->owners[i]);
	}
}

static void teardown(struct setup *s)
{
	ptable_free(s->t);
	free(s->list);
	free(s->list_owner);
	free(s->owners);
}

/* route.c's shape: every prefix checked, longest kept. */
static void *linear(const struct setup *s, int family, const uint8_t *a)
{
	void *best = NULL;
	int best_len = -1;

	for (size_t i = 0; i < s->n_list; i++)
		if (s->list[i].len >= best_len &&
		    prefix_contains(&s->list[i], family, a)) {
			best = s->list_owner[i];
			best_len = s->list[i].len;
		}
	return best;
}

static double run(const struct setup *s, int family, uint8_t (*q)[16],
		  bool use_linear)
{
	/* A scan of 80,000 prefixes takes far longer than a lookup, so it
	 * looks at the clock after fewer queries. */
	unsigned batch = use_linear ? 16 : QUERIES, next = 0;
	uint64_t start = now_ns(), n = 0, sink = 0, el;

	do {
		for (unsigned i = 0; i < batch; i++) {
			const uint8_t *a = q[next++ % QUERIES];
			void *o = use_linear ? linear(s, family, a)
					     : ptable_lookup(s->t, family, a);

			sink += (uintptr_t)o;
		}
		n += batch;
		el = now_ns() - start;
	} while (el < (use_linear ? ROUNDS_NS / 4 : ROUNDS_NS));
	if (sink == 1)
		puts("");
	return (double)el / (double)n;
}

int main(void)
{
	static uint8_t hit[QUERIES][16], miss[QUERIES][16];
	static const unsigned sizes[] = { 1, 20000 };

	printf("%-8s %-6s %-28s %10s %12s\n", "sessions", "family", "query",
	       "ptable ns", "linear ns");
	for (size_t z = 0; z < 2; z++) {
		unsigned n = sizes[z];
		struct setup s;

		build(&s, n);
		for (int f = 0; f < 2; f++) {
			int family = f ? AF_INET6 : AF_INET;

			for (unsigned i = 0; i < QUERIES; i++) {
				host(family, (unsigned)(rnd() % n), hit[i]);
				/* past the hosts: the shared net or default */
				host(family, n + (unsigned)(rnd() % 1000), miss[i]);
			}
			printf("%-8u %-6s %-28s %10.1f %12.1f\n", n,
			       f ? "IPv6" : "IPv4", "a session's host",
			       run(&s, family, hit, false),
			       run(&s, family, hit, true));
			printf("%-8u %-6s %-28s %10.1f %12.1f\n", n,
			       f ? "IPv6" : "IPv4", "no host (shared or default)",
			       run(&s, family, miss, false),
			       run(&s, family, miss, true));
		}
		printf("%-8u %zu entries\n", n, ptable_count(s.t));
		teardown(&s);
	}
	return 0;
}
