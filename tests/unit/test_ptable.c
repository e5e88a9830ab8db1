/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "prefix.h"
#include "ptable.h"

/* Owners are only compared, so the addresses of these will do. */
static char own[16];
#define O(i) ((void *)&own[i])

static struct ptable *new_table(void)
{
	struct ptable *t = NULL;

	ck_assert_int_eq(ptable_new(&t), 0);
	ck_assert_ptr_nonnull(t);
	return t;
}

static struct prefix pfx(const char *text)
{
	struct prefix p;

	memset(&p, 0, sizeof(p));
	ck_assert_msg(parse_prefix(text, &p.family, p.addr, &p.len),
		      "bad prefix %s", text);
	return p;
}

static int ins(struct ptable *t, const char *text, void *owner)
{
	struct prefix p = pfx(text);

	return ptable_insert(t, p.family, p.addr, p.len, owner);
}

static int rem(struct ptable *t, const char *text, void *owner)
{
	struct prefix p = pfx(text);

	return ptable_remove(t, p.family, p.addr, p.len, owner);
}

static void *look(const struct ptable *t, const char *addr)
{
	struct prefix p = pfx(addr);

	return ptable_lookup(t, p.family, p.addr);
}

#define LOOK(t, addr, want) \
	ck_assert_msg(look(t, addr) == (want), "lookup %s", addr)

START_TEST(lpm_ipv4)
{
	struct ptable *t = new_table();

	/* Longest first, so the result cannot come from insertion order. */
	ck_assert_int_eq(ins(t, "10.1.2.3/32", O(4)), 0);
	ck_assert_int_eq(ins(t, "10.1.2.0/24", O(3)), 0);
	ck_assert_int_eq(ins(t, "10.1.0.0/16", O(2)), 0);
	ck_assert_int_eq(ins(t, "10.0.0.0/8", O(1)), 0);
	ck_assert_int_eq(ins(t, "0.0.0.0/0", O(0)), 0);
	ck_assert_int_eq(ptable_count(t), 5);

	LOOK(t, "10.1.2.3", O(4));
	LOOK(t, "10.1.2.2", O(3));
	LOOK(t, "10.1.2.255", O(3));
	LOOK(t, "10.1.3.1", O(2));
	LOOK(t, "10.1.255.255", O(2));
	LOOK(t, "10.2.0.0", O(1));
	LOOK(t, "10.255.255.255", O(1));
	LOOK(t, "11.0.0.0", O(0));
	LOOK(t, "9.255.255.255", O(0));
	LOOK(t, "255.255.255.255", O(0));
	LOOK(t, "0.0.0.0", O(0));

	ck_assert_int_eq(rem(t, "10.1.2.0/24", O(3)), 0);
	LOOK(t, "10.1.2.2", O(2));
	LOOK(t, "10.1.2.3", O(4));
	ck_assert_int_eq(rem(t, "10.1.2.3/32", O(4)), 0);
	LOOK(t, "10.1.2.3", O(2));
	ck_assert_int_eq(rem(t, "0.0.0.0/0", O(0)), 0);
	LOOK(t, "11.0.0.0", NULL);
	LOOK(t, "10.9.9.9", O(1));
	ck_assert_int_eq(ptable_count(t), 2);

	/* Lengths that do not fall on a byte boundary. */
	ck_assert_int_eq(ins(t, "10.1.128.0/17", O(5)), 0);
	ck_assert_int_eq(ins(t, "10.1.2.2/31", O(6)), 0);
	LOOK(t, "10.1.128.1", O(5));
	LOOK(t, "10.1.127.255", O(2));
	LOOK(t, "10.1.2.3", O(6));
	LOOK(t, "10.1.2.4", O(2));
	ptable_free(t);
}
END_TEST

START_TEST(lpm_ipv6)
{
	struct ptable *t = new_table();

	ck_assert_int_eq(ins(t, "fd00:1:2:3::5/128", O(4)), 0);
	ck_assert_int_eq(ins(t, "fd00:1:2:3::/64", O(3)), 0);
	ck_assert_int_eq(ins(t, "fd00:1:2::/48", O(2)), 0);
	ck_assert_int_eq(ins(t, "::/0", O(0)), 0);

	LOOK(t, "fd00:1:2:3::5", O(4));
	LOOK(t, "fd00:1:2:3::4", O(3));
	LOOK(t, "fd00:1:2:3:ffff:ffff:ffff:ffff", O(3));
	LOOK(t, "fd00:1:2:4::5", O(2));
	LOOK(t, "fd00:1:2:ffff::", O(2));
	LOOK(t, "fd00:1:3::", O(0));
	LOOK(t, "::", O(0));
	LOOK(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", O(0));

	/* Either side of the 64-bit word boundary the table splits on. */
	ck_assert_int_eq(ins(t, "fd00:1:2:3:8000::/65", O(5)), 0);
	ck_assert_int_eq(ins(t, "fd00:1:2:2::/63", O(6)), 0);
	ck_assert_int_eq(ins(t, "fd00:1:2:3::4/127", O(7)), 0);
	LOOK(t, "fd00:1:2:3:8000::1", O(5));
	LOOK(t, "fd00:1:2:3:7fff::1", O(3));
	LOOK(t, "fd00:1:2:2::1", O(6));
	LOOK(t, "fd00:1:2:3::5", O(4));
	LOOK(t, "fd00:1:2:3::4", O(7));
	LOOK(t, "fd00:1:2:3::6", O(3));

	ck_assert_int_eq(rem(t, "fd00:1:2:3::5/128", O(4)), 0);
	LOOK(t, "fd00:1:2:3::5", O(7));
	ck_assert_int_eq(rem(t, "fd00:1:2:3::/64", O(3)), 0);
	LOOK(t, "fd00:1:2:3::6", O(6));
	ck_assert_int_eq(rem(t, "::/0", O(0)), 0);
	LOOK(t, "fe80::1", NULL);
	ptable_free(t);
}
END_TEST

START_TEST(host_bits_ignored)
{
	struct ptable *t = new_table();

	ck_assert_int_eq(ins(t, "10.1.2.3/24", O(1)), 0);
	LOOK(t, "10.1.2.77", O(1));
	LOOK(t, "10.1.3.3", NULL);
	/* The same prefix however its host bits are written. */
	ck_assert_int_eq(ins(t, "10.1.2.0/24", O(1)), -EEXIST);
	ck_assert_int_eq(ins(t, "10.1.2.255/24", O(1)), -EEXIST);
	ck_assert_int_eq(rem(t, "10.1.2.200/24", O(1)), 0);
	ck_assert_int_eq(ptable_count(t), 0);

	ck_assert_int_eq(ins(t, "fd00:1:2:3:4:5:6:7/64", O(2)), 0);
	LOOK(t, "fd00:1:2:3::", O(2));
	ck_assert_int_eq(ins(t, "fd00:1:2:3::/64", O(2)), -EEXIST);
	ck_assert_int_eq(ins(t, "255.255.255.255/0", O(3)), 0);
	LOOK(t, "1.2.3.4", O(3));
	ck_assert_int_eq(rem(t, "0.0.0.0/0", O(3)), 0);
	ck_assert_int_eq(rem(t, "fd00:1:2:3:ffff::/64", O(2)), 0);
	ck_assert_int_eq(ptable_count(t), 0);
	ptable_free(t);
}
END_TEST

START_TEST(families_apart)
{
	struct ptable *t = new_table();
	uint8_t a[16] = { 10, 0, 0, 1 };

	ck_assert_int_eq(ins(t, "0.0.0.0/0", O(1)), 0);
	ck_assert_int_eq(ins(t, "10.0.0.0/8", O(2)), 0);
	LOOK(t, "::", NULL);
	LOOK(t, "a00:1::", NULL);
	/* The same bytes as an IPv6 address match nothing. */
	ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a), O(2));
	ck_assert_ptr_null(ptable_lookup(t, AF_INET6, a));

	ck_assert_int_eq(ins(t, "::/0", O(3)), 0);
	ck_assert_int_eq(ins(t, "a00::/8", O(4)), 0);
	ck_assert_ptr_eq(ptable_lookup(t, AF_INET6, a), O(4));
	ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a), O(2));
	LOOK(t, "11.0.0.1", O(1));
	LOOK(t, "b00::", O(3));
	ck_assert_int_eq(rem(t, "0.0.0.0/0", O(1)), 0);
	LOOK(t, "11.0.0.1", NULL);
	LOOK(t, "b00::", O(3));
	/* An IPv4 /0 is not an IPv6 /0 for the same owner either. */
	ck_assert_int_eq(rem(t, "::/0", O(1)), -ENOENT);
	ptable_free(t);
}
END_TEST

START_TEST(newest_wins)
{
	struct ptable *t = new_table();

	ck_assert_int_eq(ins(t, "10.0.0.0/24", O(1)), 0);
	ck_assert_int_eq(ins(t, "10.0.0.0/24", O(2)), 0);
	LOOK(t, "10.0.0.9", O(2));
	ck_assert_int_eq(ins(t, "10.0.0.0/24", O(3)), 0);
	LOOK(t, "10.0.0.9", O(3));
	ck_assert_int_eq(rem(t, "10.0.0.0/24", O(3)), 0);
	LOOK(t, "10.0.0.9", O(2));
	/* Removing one below the top changes nothing visible. */
	ck_assert_int_eq(rem(t, "10.0.0.0/24", O(1)), 0);
	LOOK(t, "10.0.0.9", O(2));
	ck_assert_int_eq(rem(t, "10.0.0.0/24", O(2)), 0);
	LOOK(t, "10.0.0.9", NULL);

	/* A session that reconnects becomes the newest again. */
	ck_assert_int_eq(ins(t, "fd00::/64", O(1)), 0);
	ck_assert_int_eq(ins(t, "fd00::/64", O(2)), 0);
	ck_assert_int_eq(ptable_remove_owner(t, O(2)), 1);
	LOOK(t, "fd00::7", O(1));
	ck_assert_int_eq(ins(t, "fd00::/64", O(2)), 0);
	LOOK(t, "fd00::7", O(2));
	ck_assert_int_eq(ins(t, "fd00::/64", O(1)), -EEXIST);
	LOOK(t, "fd00::7", O(2));
	ck_assert_int_eq(ptable_count(t), 2);
	ptable_free(t);
}
END_TEST

START_TEST(bad_arguments)
{
	struct ptable *t = new_table();
	uint8_t a[16] = { 10 };

	ck_assert_int_eq(ptable_insert(t, AF_UNIX, a, 8, O(1)), -EINVAL);
	ck_assert_int_eq(ptable_insert(t, 0, a, 0, O(1)), -EINVAL);
	ck_assert_int_eq(ptable_insert(t, AF_INET, a, 33, O(1)), -EINVAL);
	ck_assert_int_eq(ptable_insert(t, AF_INET6, a, 129, O(1)), -EINVAL);
	ck_assert_int_eq(ptable_insert(t, AF_INET, a, 8, NULL), -EINVAL);
	ck_assert_int_eq(ptable_insert(t, AF_INET, NULL, 8, O(1)), -EINVAL);
	ck_assert_int_eq(ptable_remove(t, AF_UNIX, a, 8, O(1)), -EINVAL);
	ck_assert_int_eq(ptable_remove(t, AF_INET, a, 33, O(1)), -EINVAL);
	ck_assert_int_eq(ptable_remove(t, AF_INET6, a, 129, O(1)), -EINVAL);
	ck_assert_ptr_null(ptable_lookup(t, AF_UNIX, a));
	ck_assert_int_eq(ptable_count(t), 0);

	ck_assert_int_eq(ptable_insert(t, AF_INET, a, 32, O(1)), 0);
	ck_assert_int_eq(ptable_insert(t, AF_INET6, a, 128, O(1)), 0);
	ck_assert_int_eq(ptable_insert(t, AF_INET, a, 32, O(1)), -EEXIST);
	ck_assert_int_eq(ptable_count(t), 2);

	/* Absent: another prefix, another length, another owner. */
	ck_assert_int_eq(rem(t, "10.0.0.1/32", O(1)), -ENOENT);
	ck_assert_int_eq(rem(t, "10.0.0.0/31", O(1)), -ENOENT);
	ck_assert_int_eq(rem(t, "10.0.0.0/32", O(2)), -ENOENT);
	ck_assert_int_eq(rem(t, "a00::/127", O(1)), -ENOENT);
	ck_assert_int_eq(ptable_count(t), 2);
	ck_assert_int_eq(rem(t, "10.0.0.0/32", O(1)), 0);
	ck_assert_int_eq(rem(t, "10.0.0.0/32", O(1)), -ENOENT);
	ptable_free(t);
	ptable_free(NULL);
}
END_TEST

START_TEST(empty_table)
{
	struct ptable *t = new_table();

	LOOK(t, "1.2.3.4", NULL);
	LOOK(t, "::1", NULL);
	ck_assert_int_eq(ptable_count(t), 0);
	ck_assert_int_eq(rem(t, "0.0.0.0/0", O(1)), -ENOENT);
	ck_assert_int_eq(ptable_remove_owner(t, O(1)), 0);
	ptable_free(t);
}
END_TEST

START_TEST(remove_owner_keeps_others)
{
	struct ptable *t = new_table();

	ck_assert_int_eq(ins(t, "10.0.0.1/32", O(1)), 0);
	ck_assert_int_eq(ins(t, "10.0.0.0/24", O(1)), 0);
	ck_assert_int_eq(ins(t, "172.16.0.0/12", O(1)), 0);
	ck_assert_int_eq(ins(t, "fd00::1/128", O(1)), 0);
	ck_assert_int_eq(ins(t, "fd00::/64", O(1)), 0);
	ck_assert_int_eq(ins(t, "10.0.0.2/32", O(2)), 0);
	ck_assert_int_eq(ins(t, "10.0.0.0/24", O(2)), 0);
	ck_assert_int_eq(ins(t, "fd00::2/128", O(2)), 0);
	/* O(1) is newest on the shared /24 */
	ck_assert_int_eq(ins(t, "10.0.0.0/24", O(3)), 0);
	ck_assert_int_eq(rem(t, "10.0.0.0/24", O(3)), 0);
	ck_assert_int_eq(ptable_remove_owner(t, O(2)), 3);
	ck_assert_int_eq(ins(t, "10.0.0.2/32", O(2)), 0);
	ck_assert_int_eq(ins(t, "10.0.0.0/24", O(2)), 0);
	ck_assert_int_eq(ins(t, "fd00::2/128", O(2)), 0);
	ck_assert_int_eq(ptable_count(t), 8);

	ck_assert_int_eq(ptable_remove_owner(t, O(1)), 5);
	ck_assert_int_eq(ptable_count(t), 3);
	LOOK(t, "10.0.0.1", O(2));
	LOOK(t, "10.0.0.2", O(2));
	LOOK(t, "10.0.0.3", O(2));
	LOOK(t, "172.16.0.1", NULL);
	LOOK(t, "fd00::1", NULL);
	LOOK(t, "fd00::2", O(2));
	ck_assert_int_eq(ptable_remove_owner(t, O(1)), 0);
	ck_assert_int_eq(ptable_remove_owner(t, O(9)), 0);
	ck_assert_int_eq(ptable_count(t), 3);
	ck_assert_int_eq(ptable_remove_owner(t, O(2)), 3);
	ck_assert_int_eq(ptable_count(t), 0);
	LOOK(t, "10.0.0.2", NULL);
	ptable_free(t);
}
END_TEST

/* The daemon's two questions for a packet that arrived on link `from`:
 * may it come from there, and which link does it go to. */
static bool source_ok(const struct ptable *t, void *from, const uint8_t *pkt)
{
	if ((pkt[0] >> 4) == 4)
		return ptable_lookup(t, AF_INET, pkt + 12) == from;
	return ptable_lookup(t, AF_INET6, pkt + 8) == from;
}

static void *next_hop(const struct ptable *t, const uint8_t *pkt)
{
	if ((pkt[0] >> 4) == 4)
		return ptable_lookup(t, AF_INET, pkt + 16);
	return ptable_lookup(t, AF_INET6, pkt + 24);
}

static void packet(uint8_t pkt[40], const char *src, const char *dst)
{
	struct prefix s = pfx(src), d = pfx(dst);

	memset(pkt, 0, 40);
	if (s.family == AF_INET) {
		pkt[0] = 0x45;
		memcpy(pkt + 12, s.addr, 4);
		memcpy(pkt + 16, d.addr, 4);
	} else {
		pkt[0] = 0x60;
		memcpy(pkt + 8, s.addr, 16);
		memcpy(pkt + 24, d.addr, 16);
	}
}

START_TEST(source_check)
{
	struct ptable *t = new_table();
	void *a = O(1), *b = O(2), *server = O(3);
	uint8_t pkt[40];

	ck_assert_int_eq(ins(t, "0.0.0.0/0", server), 0);
	ck_assert_int_eq(ins(t, "::/0", server), 0);
	ck_assert_int_eq(ins(t, "198.18.0.2/32", a), 0);
	ck_assert_int_eq(ins(t, "198.18.10.0/24", a), 0);
	ck_assert_int_eq(ins(t, "fd00::2/128", a), 0);
	ck_assert_int_eq(ins(t, "198.18.0.3/32", b), 0);
	ck_assert_int_eq(ins(t, "fd00::3/128", b), 0);

	packet(pkt, "198.18.0.2", "198.18.0.3");
	ck_assert(source_ok(t, a, pkt));
	ck_assert_ptr_eq(next_hop(t, pkt), b);
	packet(pkt, "198.18.10.77", "198.18.0.3");
	ck_assert(source_ok(t, a, pkt));
	packet(pkt, "fd00::2", "fd00::3");
	ck_assert(source_ok(t, a, pkt));
	ck_assert_ptr_eq(next_hop(t, pkt), b);
	packet(pkt, "198.18.0.3", "198.18.0.2");
	ck_assert(source_ok(t, b, pkt));
	ck_assert_ptr_eq(next_hop(t, pkt), a);
	packet(pkt, "198.18.0.3", "203.0.113.1");
	ck_assert_ptr_eq(next_hop(t, pkt), server);

	/* Spoofed: another client's address, an address nobody owns (the
	 * server's default route), and the same from IPv6. */
	packet(pkt, "198.18.0.3", "198.18.0.2");
	ck_assert(!source_ok(t, a, pkt));
	packet(pkt, "198.18.10.77", "198.18.0.3");
	ck_assert(!source_ok(t, b, pkt));
	packet(pkt, "203.0.113.9", "198.18.0.3");
	ck_assert(!source_ok(t, a, pkt));
	packet(pkt, "fd00::3", "fd00::2");
	ck_assert(!source_ok(t, a, pkt));
	packet(pkt, "fd00::99", "fd00::2");
	ck_assert(!source_ok(t, b, pkt));

	/* Once b is gone, its address is no longer a's either. */
	ck_assert_int_eq(ptable_remove_owner(t, b), 2);
	packet(pkt, "198.18.0.3", "198.18.0.2");
	ck_assert(!source_ok(t, a, pkt));
	packet(pkt, "198.18.0.2", "198.18.0.3");
	ck_assert_ptr_eq(next_hop(t, pkt), server);
	ptable_free(t);
}
END_TEST

/* ---- ptable_walk ------------------------------------------------------ */

struct seen {
	struct prefix p;
	void *owner;
	int visits;
};

struct walk_ctx {
	struct seen *want;
	size_t n;
	size_t calls;
	bool unexpected;
};

static void walk_cb(void *ctx, int family, const uint8_t *addr, unsigned len,
		    void *owner)
{
	struct walk_ctx *w = ctx;
	size_t alen = prefix_addr_len(family);

	w->calls++;
	for (size_t i = 0; i < w->n; i++) {
		struct seen *s = &w->want[i];

		if (s->p.family == family && s->p.len == len &&
		    s->owner == owner && memcmp(s->p.addr, addr, alen) == 0) {
			s->visits++;
			return;
		}
	}
	w->unexpected = true;
}

START_TEST(walk_visits_each_once)
{
	static const struct {
		const char *pfx, *masked;
		int owner;
	} in[] = {
		{ "0.0.0.0/0", "0.0.0.0/0", 0 },
		{ "10.1.2.3/8", "10.0.0.0/8", 1 },
		{ "10.0.0.0/8", "10.0.0.0/8", 2 },
		{ "10.1.2.3/32", "10.1.2.3/32", 2 },
		{ "10.1.2.3/31", "10.1.2.2/31", 3 },
		{ "::/0", "::/0", 0 },
		{ "fd00::/48", "fd00::/48", 1 },
		{ "fd00::ff/48", "fd00::/48", 2 },
		{ "fd00::ff/48", "fd00::/48", 3 },
		{ "fd00::ff/128", "fd00::ff/128", 3 },
		{ "fd00::ff/121", "fd00::80/121", 4 },
	};
	enum { N = sizeof(in) / sizeof(in[0]) };
	struct seen want[N];
	struct walk_ctx w = { .want = want, .n = N };
	struct ptable *t = new_table();

	for (size_t i = 0; i < N; i++) {
		ck_assert_int_eq(ins(t, in[i].pfx, O(in[i].owner)), 0);
		want[i].p = pfx(in[i].masked);
		want[i].owner = O(in[i].owner);
		want[i].visits = 0;
	}
	ptable_walk(t, walk_cb, &w);
	ck_assert(!w.unexpected);
	ck_assert_int_eq(w.calls, N);
	for (size_t i = 0; i < N; i++)
		ck_assert_msg(want[i].visits == 1, "%s owner %d visited %d times",
			      in[i].pfx, in[i].owner, want[i].visits);

	ck_assert_int_eq(ptable_remove_owner(t, O(2)), 3);
	memset(&w, 0, sizeof(w));
	ptable_walk(t, walk_cb, &w);
	ck_assert_int_eq(w.calls, N - 3);
	ptable_free(t);
}
END_TEST

/* ---- against a reference that scans a list ---------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure replays exactly */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Addresses from a small space so that prefixes overlap and repeat. */
static void rand_addr(int family, uint8_t a[16])
{
	static const uint8_t v4b0[] = { 10, 11, 138 }, v4b1[] = { 0, 1, 128 },
			     v4b2[] = { 0, 1, 255 };

	memset(a, 0, 16);
	if (family == AF_INET) {
		a[0] = v4b0[pick(3)];
		a[1] = v4b1[pick(3)];
		a[2] = v4b2[pick(3)];
		a[3] = (uint8_t)pick(4);
	} else {
		a[0] = 0xfd;
		a[1] = (uint8_t)pick(2);
		a[5] = pick(2) ? 0x80 : 0;
		a[7] = (uint8_t)pick(2);
		a[8] = pick(2) ? 0x80 : 0;
		a[15] = (uint8_t)pick(3);
	}
}

static unsigned rand_len(int family)
{
	static const uint8_t v4[] = { 0, 1, 7, 8, 9, 16, 17, 23, 24, 31, 32 };
	static const uint8_t v6[] = { 0, 1, 8, 16, 40, 47, 48, 63, 64, 65, 120,
				      127, 128 };

	return family == AF_INET ? v4[pick(sizeof(v4))] : v6[pick(sizeof(v6))];
}

#define REF_MAX 4096
#define REF_OWNERS 12

struct ref_entry {
	struct prefix p;        /* host bits left as inserted */
	void *owner;
	unsigned long seq;
};

static struct ref_entry ref[REF_MAX];
static size_t nref;

static bool ref_same(const struct ref_entry *r, const struct prefix *p,
		     void *owner)
{
	return r->owner == owner && r->p.family == p->family &&
	       r->p.len == p->len && prefix_contains(&r->p, p->family, p->addr);
}

static long ref_find(const struct prefix *p, void *owner)
{
	for (size_t i = 0; i < nref; i++)
		if (ref_same(&ref[i], p, owner))
			return (long)i;
	return -1;
}

static void *ref_lookup(int family, const uint8_t *addr)
{
	const struct ref_entry *best = NULL;

	for (size_t i = 0; i < nref; i++) {
		const struct ref_entry *r = &ref[i];

		if (!prefix_contains(&r->p, family, addr))
			continue;
		if (!best || r->p.len > best->p.len ||
		    (r->p.len == best->p.len && r->seq > best->seq))
			best = r;
	}
	return best ? best->owner : NULL;
}

static void check_lookup(const struct ptable *t, int family, const uint8_t *a,
			 int step)
{
	void *got = ptable_lookup(t, family, a), *want = ref_lookup(family, a);

	if (got != want) {
		char buf[INET6_ADDRSTRLEN];

		inet_ntop(family, a, buf, sizeof(buf));
		ck_abort_msg("step %d: lookup %s gave owner %td, want %td", step,
			     buf, got ? (char *)got - own : -1,
			     want ? (char *)want - own : -1);
	}
}

START_TEST(random_against_reference)
{
	struct ptable *t = new_table();
	unsigned long seq = 0;

	rng_state = 0x9e3779b97f4a7c15ULL;
	nref = 0;
	for (int step = 0; step < 10000; step++) {
		unsigned op = pick(100);
		struct prefix p = { 0 };
		void *owner = O(pick(REF_OWNERS));

		p.family = pick(2) ? AF_INET : AF_INET6;
		rand_addr(p.family, p.addr);
		p.len = (uint8_t)rand_len(p.family);

		if (op < (nref < 200 ? 50u : 30u)) {
			long i = ref_find(&p, owner);
			int rc = ptable_insert(t, p.family, p.addr, p.len, owner);

			ck_assert_int_eq(rc, i >= 0 ? -EEXIST : 0);
			if (i < 0) {
				ck_assert_int_lt(nref, REF_MAX);
				ref[nref++] = (struct ref_entry){ p, owner, ++seq };
			}
		} else if (op < 85) {
			/* Half the time something that is there, with other
			 * host bits than it was inserted with. */
			if (nref && pick(2)) {
				const struct ref_entry *r = &ref[pick((unsigned)nref)];

				p = r->p;
				owner = r->owner;
				if (p.len < (p.family == AF_INET ? 32 : 128))
					p.addr[prefix_addr_len(p.family) - 1] ^= 1;
			}
			long i = ref_find(&p, owner);
			int rc = ptable_remove(t, p.family, p.addr, p.len, owner);

			ck_assert_int_eq(rc, i >= 0 ? 0 : -ENOENT);
			if (i >= 0)
				ref[i] = ref[--nref];
		} else if (op < 90) {
			size_t n = 0;

			for (size_t i = 0; i < nref;) {
				if (ref[i].owner == owner) {
					ref[i] = ref[--nref];
					n++;
				} else {
					i++;
				}
			}
			ck_assert_int_eq(ptable_remove_owner(t, owner), n);
		}
		ck_assert_int_eq(ptable_count(t), nref);

		for (int k = 0; k < 4; k++) {
			uint8_t a[16];
			int fam = k & 1 ? AF_INET : AF_INET6;

			rand_addr(fam, a);
			check_lookup(t, fam, a, step);
		}
		if (nref) {
			const struct ref_entry *r = &ref[pick((unsigned)nref)];

			check_lookup(t, r->p.family, r->p.addr, step);
		}
	}
	/* Leave entries behind on purpose: ptable_free must take them. */
	ck_assert_int_gt(nref, 0);
	ptable_free(t);
}
END_TEST

/* ---- scale: 20,000 sessions ------------------------------------------- */

#define SCALE_N 20000

static void host4(uint8_t a[16], unsigned i)
{
	/* 100.64.0.0/10 */
	memset(a, 0, 16);
	a[0] = 100;
	a[1] = (uint8_t)(64 + (i >> 16));
	a[2] = (uint8_t)(i >> 8);
	a[3] = (uint8_t)i;
}

static void host6(uint8_t a[16], unsigned i)
{
	memset(a, 0, 16);
	a[0] = 0xfd;
	a[13] = (uint8_t)(i >> 16);
	a[14] = (uint8_t)(i >> 8);
	a[15] = (uint8_t)i;
}

START_TEST(scale_20000_owners)
{
	struct ptable *t = new_table();
	char *owners = calloc(SCALE_N, 1);
	struct prefix net4 = pfx("100.64.0.0/10"), net6 = pfx("fd00::/64");
	uint8_t a[16];

	ck_assert_ptr_nonnull(owners);
	for (unsigned i = 0; i < SCALE_N; i++) {
		host4(a, i);
		ck_assert_int_eq(ptable_insert(t, AF_INET, a, 32, &owners[i]), 0);
		host6(a, i);
		ck_assert_int_eq(ptable_insert(t, AF_INET6, a, 128, &owners[i]), 0);
		ck_assert_int_eq(ptable_insert(t, AF_INET, net4.addr, net4.len,
					       &owners[i]), 0);
		ck_assert_int_eq(ptable_insert(t, AF_INET6, net6.addr, net6.len,
					       &owners[i]), 0);
	}
	ck_assert_int_eq(ptable_count(t), 4 * SCALE_N);
	ck_assert_int_eq(ptable_insert(t, AF_INET, net4.addr, net4.len,
				       &owners[7]), -EEXIST);

	for (unsigned i = 0; i < SCALE_N; i++) {
		host4(a, i);
		ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a), &owners[i]);
		host6(a, i);
		ck_assert_ptr_eq(ptable_lookup(t, AF_INET6, a), &owners[i]);
	}
	/* Inside the shared networks but nobody's host: the newest. */
	host4(a, SCALE_N);
	ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a), &owners[SCALE_N - 1]);
	host6(a, SCALE_N);
	ck_assert_ptr_eq(ptable_lookup(t, AF_INET6, a), &owners[SCALE_N - 1]);
	ck_assert_ptr_null(look(t, "100.128.0.0"));
	ck_assert_ptr_null(look(t, "fd00:0:0:1::"));

	/* The newest leaves: the one before it shows through. */
	ck_assert_int_eq(ptable_remove_owner(t, &owners[SCALE_N - 1]), 4);
	host4(a, SCALE_N);
	ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a), &owners[SCALE_N - 2]);
	host4(a, SCALE_N - 1);
	ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a), &owners[SCALE_N - 2]);

	/* Every odd session goes away. */
	for (unsigned i = 1; i < SCALE_N - 1; i += 2)
		ck_assert_int_eq(ptable_remove_owner(t, &owners[i]), 4);
	ck_assert_int_eq(ptable_count(t), 4 * (SCALE_N / 2));
	for (unsigned i = 0; i < SCALE_N - 1; i++) {
		void *want = i % 2 ? &owners[SCALE_N - 2] : &owners[i];

		host4(a, i);
		ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a), want);
		host6(a, i);
		ck_assert_ptr_eq(ptable_lookup(t, AF_INET6, a), want);
	}
	ptable_free(t);
	free(owners);
}
END_TEST

/* Tables shrink back to nothing and grow again. */
START_TEST(grow_shrink)
{
	struct ptable *t = new_table();
	uint8_t a[16];

	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 5000; i++) {
			host4(a, i);
			ck_assert_int_eq(ptable_insert(t, AF_INET, a, 32, O(i % 16)), 0);
		}
		for (unsigned i = 0; i < 5000; i++) {
			host4(a, i);
			ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a), O(i % 16));
		}
		for (unsigned i = 0; i < 5000; i += 2) {
			host4(a, i);
			ck_assert_int_eq(ptable_remove(t, AF_INET, a, 32, O(i % 16)), 0);
		}
		for (unsigned i = 0; i < 5000; i++) {
			host4(a, i);
			ck_assert_ptr_eq(ptable_lookup(t, AF_INET, a),
					 i % 2 ? O(i % 16) : NULL);
		}
		for (int o = 0; o < 16; o++)
			ck_assert_int_eq(ptable_remove_owner(t, O(o)),
					 o % 2 ? 5000 / 16 + (o < 5000 % 16) : 0);
		ck_assert_int_eq(ptable_count(t), 0);
		host4(a, 1);
		ck_assert_ptr_null(ptable_lookup(t, AF_INET, a));
	}
	ptable_free(t);
}
END_TEST

static Suite *ptable_suite(void)
{
	Suite *s = suite_create("ptable");
	TCase *tc = tcase_create("ptable");

	tcase_add_test(tc, lpm_ipv4);
	tcase_add_test(tc, lpm_ipv6);
	tcase_add_test(tc, host_bits_ignored);
	tcase_add_test(tc, families_apart);
	tcase_add_test(tc, newest_wins);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, empty_table);
	tcase_add_test(tc, remove_owner_keeps_others);
	tcase_add_test(tc, source_check);
	tcase_add_test(tc, walk_visits_each_once);
	suite_add_tcase(s, tc);

	/* Slow under valgrind, where Check's default 4 s is too short. */
	tc = tcase_create("load");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, random_against_reference);
	tcase_add_test(tc, scale_20000_owners);
	tcase_add_test(tc, grow_shrink);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ptable_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
