/* SPDX-License-Identifier: ISC */
/* The forwarding decision (tund/fwd.c) over hand-made links and packets:
 * TUN to link, link to TUN, relay between links, and every drop. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd.h"
#include "link.h"

static struct fwd f;
static struct link a, b, up;

static void setup(void)
{
	ck_assert_int_eq(fwd_init(&f), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&up, 0, sizeof(up));
	a.established_ms = b.established_ms = up.established_ms = 1;
	a.policy = &fwd_policy_member;
	b.policy = &fwd_policy_member_relay;
	up.policy = &fwd_policy_upstream;
}

static void teardown(void)
{
	fwd_free(&f);
}

static struct prefix pfx(const char *text)
{
	struct prefix p;

	memset(&p, 0, sizeof(p));
	ck_assert(parse_prefix(text, &p.family, p.addr, &p.len));
	return p;
}

static void own(const char *text, struct link *k)
{
	struct prefix p = pfx(text);

	ck_assert_int_eq(fwd_add(&f, &p, k), 0);
}

/* A minimal IPv4 or IPv6 header: only version and addresses matter. */
static size_t packet(uint8_t *buf, const char *src, const char *dst)
{
	memset(buf, 0, 64);
	if (strchr(src, ':')) {
		buf[0] = 0x60;
		inet_pton(AF_INET6, src, buf + 8);
		inet_pton(AF_INET6, dst, buf + 24);
		return 60;
	}
	buf[0] = 0x45;
	inet_pton(AF_INET, src, buf + 12);
	inet_pton(AF_INET, dst, buf + 16);
	return 40;
}

START_TEST(tun_goes_to_owner_longest_match)
{
	uint8_t p[64];
	size_t n;
	struct fwd_decision d;

	own("198.18.1.0/24", &a);
	own("198.18.1.7/32", &b);
	own("fd00:1::/64", &a);
	own("fd00:1::7/128", &b);
	n = packet(p, "198.18.1.1", "198.18.1.9");
	d = fwd_from_tun(&f, p, n);
	ck_assert_int_eq(d.action, FWD_TO_LINK);
	ck_assert_ptr_eq(d.to, &a);
	n = packet(p, "198.18.1.1", "198.18.1.7");
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &b);
	n = packet(p, "fd00:1::1", "fd00:1::7");
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &b);
	n = packet(p, "fd00:1::1", "fd00:1::8");
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &a);
}
END_TEST

START_TEST(tun_falls_back_or_drops)
{
	uint8_t p[64];
	size_t n = packet(p, "198.18.1.1", "198.19.0.1");

	ck_assert_int_eq(fwd_from_tun(&f, p, n).action, FWD_DROP_NOROUTE);
	f.fallback = &up;
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &up);
	/* a link that is not up yet is never a next hop */
	up.established_ms = 0;
	ck_assert_int_eq(fwd_from_tun(&f, p, n).action, FWD_DROP_NOROUTE);
	up.established_ms = 1;
	own("198.19.0.0/16", &a);
	a.dead = true;
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &up);
	ck_assert_int_eq(fwd_from_tun(&f, p, 19).action, FWD_DROP_MALFORMED);
	p[0] = 0x55;
	ck_assert_int_eq(fwd_from_tun(&f, p, n).action, FWD_DROP_MALFORMED);
}
END_TEST

START_TEST(source_check)
{
	uint8_t p[64];
	size_t n;

	own("198.18.1.2/32", &a);
	own("198.18.10.0/24", &a);
	own("198.18.1.3/32", &b);
	n = packet(p, "198.18.1.2", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &a, p, n).action, FWD_TO_TUN);
	n = packet(p, "198.18.10.5", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &a, p, n).action, FWD_TO_TUN);
	/* b's address, or nobody's, sent by a */
	n = packet(p, "198.18.1.3", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &a, p, n).action, FWD_DROP_SOURCE);
	n = packet(p, "203.0.113.1", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &a, p, n).action, FWD_DROP_SOURCE);
	ck_assert_int_eq(fwd_from_link(&f, &a, p, 10).action, FWD_DROP_MALFORMED);
	/* the server, seen from a client, sends from anywhere */
	ck_assert_int_eq(fwd_from_link(&f, &up, p, n).action, FWD_TO_TUN);
	/* a link without a policy (not authenticated) sends nothing */
	b.policy = NULL;
	n = packet(p, "198.18.1.3", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &b, p, n).action, FWD_DROP_SOURCE);
}
END_TEST

START_TEST(relay_needs_permission)
{
	uint8_t p[64];
	size_t n;
	struct fwd_decision d;

	own("198.18.1.2/32", &a);
	own("198.18.1.3/32", &b);
	own("fd00:1::2/128", &a);
	own("fd00:1::3/128", &b);
	/* b holds RELAY: to a through the server */
	n = packet(p, "198.18.1.3", "198.18.1.2");
	d = fwd_from_link(&f, &b, p, n);
	ck_assert_int_eq(d.action, FWD_TO_LINK);
	ck_assert_ptr_eq(d.to, &a);
	n = packet(p, "fd00:1::3", "fd00:1::2");
	ck_assert_ptr_eq(fwd_from_link(&f, &b, p, n).to, &a);
	/* a does not */
	n = packet(p, "198.18.1.2", "198.18.1.3");
	ck_assert_int_eq(fwd_from_link(&f, &a, p, n).action, FWD_DROP_NORELAY);
	/* to itself: the kernel's business */
	n = packet(p, "198.18.1.2", "198.18.1.2");
	ck_assert_int_eq(fwd_from_link(&f, &a, p, n).action, FWD_TO_TUN);
	/* a destination whose link is down goes to the TUN */
	b.dead = true;
	n = packet(p, "198.18.1.2", "198.18.1.3");
	ck_assert_int_eq(fwd_from_link(&f, &a, p, n).action, FWD_TO_TUN);
}
END_TEST

START_TEST(sessions_come_and_go)
{
	struct link a2;
	uint8_t p[64];
	size_t n = packet(p, "198.18.1.2", "198.18.0.1");

	memset(&a2, 0, sizeof(a2));
	a2.established_ms = 2;
	a2.policy = &fwd_policy_member;
	own("198.18.1.2/32", &a);
	own("198.18.10.0/24", &a);
	/* the same user reconnects: the newest session owns its prefixes */
	own("198.18.1.2/32", &a2);
	own("198.18.10.0/24", &a2);
	ck_assert_int_eq(fwd_from_link(&f, &a2, p, n).action, FWD_TO_TUN);
	ck_assert_int_eq(fwd_from_link(&f, &a, p, n).action, FWD_DROP_SOURCE);
	n = packet(p, "198.18.0.1", "198.18.10.9");
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &a2);
	/* it goes away: the older one owns them again */
	fwd_forget(&f, &a2);
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &a);
	/* a run-time route added and removed */
	{
		struct prefix r = pfx("198.18.20.0/24");

		n = packet(p, "198.18.0.1", "198.18.20.1");
		ck_assert_int_eq(fwd_from_tun(&f, p, n).action, FWD_DROP_NOROUTE);
		ck_assert_int_eq(fwd_add(&f, &r, &a), 0);
		ck_assert_int_eq(fwd_add(&f, &r, &a), -EEXIST);
		ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &a);
		ck_assert_int_eq(fwd_del(&f, &r, &a), 0);
		ck_assert_int_eq(fwd_from_tun(&f, p, n).action, FWD_DROP_NOROUTE);
	}
	fwd_forget(&f, &a);
	n = packet(p, "198.18.0.1", "198.18.10.9");
	ck_assert_int_eq(fwd_from_tun(&f, p, n).action, FWD_DROP_NOROUTE);
}
END_TEST

START_TEST(fallback_forgotten_with_its_link)
{
	uint8_t p[64];
	size_t n = packet(p, "198.18.1.1", "198.19.0.1");

	f.fallback = &up;
	fwd_forget(&f, &up);
	ck_assert_ptr_null(f.fallback);
	ck_assert_int_eq(fwd_from_tun(&f, p, n).action, FWD_DROP_NOROUTE);
}
END_TEST

/* A mesh link being probed (standby) owns its member's prefixes: what it
 * sends is checked against them already, but the TUN's traffic to them
 * keeps going through the OCS until it is trusted. */
START_TEST(mesh_standby)
{
	struct link m;
	uint8_t p[64];
	size_t n;
	struct fwd_decision d;

	memset(&m, 0, sizeof(m));
	m.established_ms = 1;
	m.policy = &fwd_policy_mesh;
	m.standby = true;
	f.fallback = &up;
	own("198.18.1.2/32", &m);
	own("fd00:1::2/128", &m);
	own("198.18.1.3/32", &a);

	n = packet(p, "198.18.0.1", "198.18.1.2");
	d = fwd_from_tun(&f, p, n);
	ck_assert_int_eq(d.action, FWD_TO_LINK);
	ck_assert_ptr_eq(d.to, &up);
	n = packet(p, "fd00::1", "fd00:1::2");
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &up);
	/* without a fallback there is nowhere to go */
	f.fallback = NULL;
	n = packet(p, "198.18.0.1", "198.18.1.2");
	ck_assert_int_eq(fwd_from_tun(&f, p, n).action, FWD_DROP_NOROUTE);
	f.fallback = &up;

	/* its source check passes in standby, and what it sends is for us,
	 * even to an address another link owns */
	n = packet(p, "198.18.1.2", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &m, p, n).action, FWD_TO_TUN);
	n = packet(p, "fd00:1::2", "fd00::1");
	ck_assert_int_eq(fwd_from_link(&f, &m, p, n).action, FWD_TO_TUN);
	n = packet(p, "198.18.1.2", "198.18.1.3");
	d = fwd_from_link(&f, &m, p, n);
	ck_assert_int_eq(d.action, FWD_TO_TUN);
	ck_assert_ptr_null(d.to);
	/* a source that is not its member's: another link's, or nobody's */
	n = packet(p, "198.18.1.3", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &m, p, n).action, FWD_DROP_SOURCE);
	n = packet(p, "198.18.9.9", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &m, p, n).action, FWD_DROP_SOURCE);
	n = packet(p, "fd00:1::3", "fd00::1");
	ck_assert_int_eq(fwd_from_link(&f, &m, p, n).action, FWD_DROP_SOURCE);

	/* trusted: the TUN's traffic to the member takes the link */
	m.standby = false;
	n = packet(p, "198.18.0.1", "198.18.1.2");
	d = fwd_from_tun(&f, p, n);
	ck_assert_int_eq(d.action, FWD_TO_LINK);
	ck_assert_ptr_eq(d.to, &m);
	n = packet(p, "fd00::1", "fd00:1::2");
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &m);
	/* the source check is the same, and so is the rest */
	n = packet(p, "198.18.1.3", "198.18.0.1");
	ck_assert_int_eq(fwd_from_link(&f, &m, p, n).action, FWD_DROP_SOURCE);
	n = packet(p, "198.18.1.2", "198.18.1.3");
	ck_assert_int_eq(fwd_from_link(&f, &m, p, n).action, FWD_TO_TUN);
	/* and when it dies, traffic falls back to the OCS */
	m.dead = true;
	n = packet(p, "198.18.0.1", "198.18.1.2");
	ck_assert_ptr_eq(fwd_from_tun(&f, p, n).to, &up);
	fwd_forget(&f, &m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fwd");
	TCase *tc = tcase_create("fwd");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tun_goes_to_owner_longest_match);
	tcase_add_test(tc, tun_falls_back_or_drops);
	tcase_add_test(tc, source_check);
	tcase_add_test(tc, relay_needs_permission);
	tcase_add_test(tc, sessions_come_and_go);
	tcase_add_test(tc, fallback_forgotten_with_its_link);
	tcase_add_test(tc, mesh_standby);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
