/* SPDX-License-Identifier: ISC */
/* Admission control (tund/admit.c): caps, shedding, penalties, the source
 * table's bound and the rate-limited log, all in memory with a fake clock. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"
#include "log.h"

static const struct admit_config base_cfg = {
	.max_unauth = 1024,
	.max_unauth_per_source = 3,
	.max_logins_per_source = 2,
	.max_logins_per_user = 3,
	.penalty_authfail = 5,
	.penalty_noauth = 1,
	.penalty_min = 15,
	.penalty_max = 600,
	.source_prefix4 = 32,
	.source_prefix6 = 64,
	.max_sources = 65536,
};

static struct sockaddr_storage v4(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* admit_check + admit_count, as ocs.c does at accept. */
static enum admit_verdict accept_at(struct admit *a, struct admit_ticket *t,
				    const struct sockaddr_storage *ss, uint64_t now,
				    struct admit_ticket **shed)
{
	struct admit_source *src;
	enum admit_verdict v = admit_check(a, (const struct sockaddr *)ss, now, &src);

	*shed = NULL;
	if (v == ADMIT_OK)
		*shed = admit_count(a, t, src);
	return v;
}

static struct admit *make(const struct admit_config *cfg)
{
	struct admit *a;

	ck_assert_int_eq(admit_new(&a, cfg), 0);
	return a;
}

START_TEST(per_source_cap)
{
	struct admit *a = make(&base_cfg);
	struct admit_ticket t[5], *shed;
	struct sockaddr_storage atk = v4("198.18.0.10"), other = v4("198.18.0.11");

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(accept_at(a, &t[i], &atk, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(accept_at(a, &t[3], &atk, 0, &shed), ADMIT_SOURCE_FULL);
	ck_assert_int_eq(accept_at(a, &t[4], &other, 0, &shed), ADMIT_OK);
	ck_assert_uint_eq(admit_unauth_count(a), 4);
	/* an authenticated connection no longer counts against its source */
	admit_authenticated(a, &t[0]);
	ck_assert_int_eq(accept_at(a, &t[3], &atk, 0, &shed), ADMIT_OK);
	for (int i = 1; i < 5; i++)
		admit_release(a, &t[i], 0);
	ck_assert_uint_eq(admit_unauth_count(a), 0);
	admit_free(a);
}
END_TEST

START_TEST(global_cap_sheds_oldest)
{
	struct admit_config cfg = base_cfg;
	struct admit *a;
	struct admit_ticket t[6], *shed;
	struct admit_login login;
	char ip[32];

	cfg.max_unauth = 4;
	a = make(&cfg);
	for (int i = 0; i < 4; i++) {
		struct sockaddr_storage ss;

		snprintf(ip, sizeof(ip), "198.18.0.%d", 10 + i);
		ss = v4(ip);
		ck_assert_int_eq(accept_at(a, &t[i], &ss, 0, &shed), ADMIT_OK);
		ck_assert_ptr_null(shed);
	}
	/* the oldest is logging in: the next oldest is shed instead */
	ck_assert_int_eq(admit_login_begin(a, &t[0], &login, "ian", 0), ADMIT_OK);
	{
		struct sockaddr_storage ss = v4("198.18.0.20");

		ck_assert_int_eq(accept_at(a, &t[4], &ss, 0, &shed), ADMIT_OK);
		ck_assert_ptr_eq(shed, &t[1]);
		ck_assert(!t[1].unauth);
		ck_assert(t[1].no_penalty);
		ck_assert_uint_eq(admit_unauth_count(a), 4);
		ck_assert_ptr_eq(admit_oldest_unauth(a), &t[2]);
	}
	admit_login_end(a, &login, false, 0);
	t[0].logging_in = false;
	for (int i = 0; i < 5; i++)
		admit_release(a, &t[i], 0);
	admit_free(a);
}
END_TEST

START_TEST(global_cap_all_logging_in)
{
	struct admit_config cfg = base_cfg;
	struct admit *a;
	struct admit_ticket t[3], *shed;
	struct admit_login login[2];
	struct sockaddr_storage s1 = v4("198.18.0.10"), s2 = v4("198.18.0.11");

	cfg.max_unauth = 2;
	a = make(&cfg);
	ck_assert_int_eq(accept_at(a, &t[0], &s1, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(accept_at(a, &t[1], &s2, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(admit_login_begin(a, &t[0], &login[0], "ian", 0), ADMIT_OK);
	ck_assert_int_eq(admit_login_begin(a, &t[1], &login[1], "quinn", 0), ADMIT_OK);
	ck_assert_int_eq(accept_at(a, &t[2], &s2, 0, &shed), ADMIT_FULL);
	for (int i = 0; i < 2; i++) {
		admit_login_end(a, &login[i], false, 0);
		t[i].logging_in = false;
		admit_release(a, &t[i], 0);
	}
	admit_free(a);
}
END_TEST

START_TEST(authfail_penalty_enforced_after_min)
{
	struct admit *a = make(&base_cfg);
	struct admit_ticket t, *shed;
	struct admit_login login;
	struct sockaddr_storage atk = v4("198.18.0.10"), other = v4("198.18.0.11");
	uint64_t now = 1000;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(accept_at(a, &t, &atk, now, &shed), ADMIT_OK);
		ck_assert_int_eq(admit_login_begin(a, &t, &login, "ian", now), ADMIT_OK);
		admit_login_end(a, &login, true, now);
		t.logging_in = false;
		t.no_penalty = true;
		admit_release(a, &t, now);
	}
	/* 3 x 5 s reaches penalty_min: enforced for 15 s */
	ck_assert_int_eq(accept_at(a, &t, &atk, now, &shed), ADMIT_PENALIZED);
	ck_assert_int_eq(accept_at(a, &t, &other, now, &shed), ADMIT_OK);
	admit_release(a, &t, now);
	ck_assert_int_eq(accept_at(a, &t, &atk, now + 14000, &shed), ADMIT_PENALIZED);
	ck_assert_int_eq(accept_at(a, &t, &atk, now + 15001, &shed), ADMIT_OK);
	admit_authenticated(a, &t);
	admit_free(a);
}
END_TEST

START_TEST(penalty_capped_and_exempt)
{
	struct admit_config cfg = base_cfg;
	struct prefix ex = { .family = AF_INET, .len = 32 };
	struct admit *a;
	struct admit_ticket t, *shed;
	struct admit_login login;
	struct sockaddr_storage atk = v4("198.18.0.10"), friend = v4("198.18.0.2");

	inet_pton(AF_INET, "198.18.0.2", ex.addr);
	cfg.exempt = &ex;
	cfg.n_exempt = 1;
	cfg.penalty_max = 60;
	a = make(&cfg);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(accept_at(a, &t, &friend, 0, &shed), ADMIT_OK);
		ck_assert_int_eq(admit_login_begin(a, &t, &login, "ian", 0), ADMIT_OK);
		admit_login_end(a, &login, true, 0);
		t.logging_in = false;
		admit_release(a, &t, 0);
	}
	ck_assert_int_eq(accept_at(a, &t, &friend, 0, &shed), ADMIT_OK);
	admit_release(a, &t, 0);
	/* each time the source comes back as its penalty ends, the next
	 * penalty doubles: 15, 30, then penalty_max */
	{
		uint64_t now = 0;
		const unsigned expect[] = { 15, 30, 60, 60 };

		for (int round = 0; round < 4; round++) {
			int fails = 0;

			while (accept_at(a, &t, &atk, now, &shed) == ADMIT_OK) {
				ck_assert_int_le(++fails, 3);
				ck_assert_int_eq(admit_login_begin(a, &t, &login, "ian", now), ADMIT_OK);
				admit_login_end(a, &login, true, now);
				t.logging_in = false;
				t.no_penalty = true;
				admit_release(a, &t, now);
			}
			ck_assert_uint_eq(admit_penalty_left(admit_lookup(a, SA(atk)), now),
					  expect[round]);
			now += expect[round] * 1000u - 1;
			ck_assert_int_eq(accept_at(a, &t, &atk, now, &shed), ADMIT_PENALIZED);
			now += 2;
		}
		ck_assert_int_eq(accept_at(a, &t, &atk, now, &shed), ADMIT_OK);
	}
	admit_release(a, &t, 0);
	admit_free(a);
}
END_TEST

START_TEST(noauth_penalty)
{
	struct admit *a = make(&base_cfg);
	struct admit_ticket t, *shed;
	struct sockaddr_storage atk = v4("198.18.0.10");

	/* connections we closed ourselves cost the source nothing */
	for (int i = 0; i < 30; i++) {
		ck_assert_int_eq(accept_at(a, &t, &atk, 0, &shed), ADMIT_OK);
		t.no_penalty = true;
		admit_release(a, &t, 0);
	}
	ck_assert_int_eq(accept_at(a, &t, &atk, 0, &shed), ADMIT_OK);
	admit_release(a, &t, 0);
	/* 14 more give 15 s: enforced */
	for (int i = 0; i < 14; i++) {
		ck_assert_int_eq(accept_at(a, &t, &atk, 0, &shed), ADMIT_OK);
		admit_release(a, &t, 0);
	}
	ck_assert_int_eq(accept_at(a, &t, &atk, 0, &shed), ADMIT_PENALIZED);
	admit_free(a);
}
END_TEST

START_TEST(login_caps)
{
	struct admit_config cfg = base_cfg;
	struct admit *a;
	struct admit_ticket t[6], *shed;
	struct admit_login login[6];
	struct sockaddr_storage s1 = v4("198.18.0.10"), s2 = v4("198.18.0.11"),
				s3 = v4("198.18.0.12");

	cfg.max_unauth_per_source = 10;
	a = make(&cfg);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(accept_at(a, &t[i], &s1, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(admit_login_begin(a, &t[0], &login[0], "ian", 0), ADMIT_OK);
	ck_assert_int_eq(admit_login_begin(a, &t[1], &login[1], "ian", 0), ADMIT_OK);
	ck_assert_int_eq(admit_login_begin(a, &t[2], &login[2], "quinn", 0), ADMIT_SOURCE_LOGINS);
	ck_assert(!t[2].logging_in);
	ck_assert_int_eq(accept_at(a, &t[3], &s2, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(accept_at(a, &t[4], &s3, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(admit_login_begin(a, &t[3], &login[3], "ian", 0), ADMIT_OK);
	/* a third source, but ian already has max_logins_per_user checks */
	ck_assert_int_eq(admit_login_begin(a, &t[4], &login[4], "ian", 0), ADMIT_USER_LOGINS);
	ck_assert_int_eq(admit_login_begin(a, &t[4], &login[4], "quinn", 0), ADMIT_OK);
	ck_assert_uint_eq(admit_logins_count(a), 4);
	/* the connection leaves; its check still counts until it is done */
	t[0].logging_in = false;
	admit_release(a, &t[0], 0);
	ck_assert_int_eq(admit_login_begin(a, &t[2], &login[2], "quinn", 0), ADMIT_SOURCE_LOGINS);
	admit_login_end(a, &login[0], false, 0);
	ck_assert_int_eq(admit_login_begin(a, &t[2], &login[2], "quinn", 0), ADMIT_OK);
	ck_assert_uint_eq(admit_logins_count(a), 4);
	admit_login_end(a, &login[1], false, 0);
	admit_login_end(a, &login[2], false, 0);
	admit_login_end(a, &login[3], false, 0);
	admit_login_end(a, &login[4], false, 0);
	ck_assert_uint_eq(admit_logins_count(a), 0);
	for (int i = 1; i < 5; i++) {
		t[i].logging_in = false;
		admit_release(a, &t[i], 0);
	}
	admit_free(a);
}
END_TEST

START_TEST(ipv6_sources_by_prefix)
{
	struct admit *a = make(&base_cfg);
	struct admit_ticket t[5], *shed;
	struct sockaddr_storage a1 = v6("fd00:1::1"), a2 = v6("fd00:1::2:3"),
				a3 = v6("fd00:1::ffff"), b = v6("fd00:2::1"),
				mapped = v6("::ffff:198.18.0.10"), plain = v4("198.18.0.10");

	/* three hosts of one /64 are one source */
	ck_assert_int_eq(accept_at(a, &t[0], &a1, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(accept_at(a, &t[1], &a2, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(accept_at(a, &t[2], &a3, 0, &shed), ADMIT_OK);
	ck_assert_int_eq(accept_at(a, &t[3], &a1, 0, &shed), ADMIT_SOURCE_FULL);
	ck_assert_int_eq(accept_at(a, &t[3], &b, 0, &shed), ADMIT_OK);
	ck_assert_str_eq(admit_source_name(t[0].src), "fd00:1::/64");
	/* a v4-mapped address is the IPv4 source */
	ck_assert_int_eq(accept_at(a, &t[4], &mapped, 0, &shed), ADMIT_OK);
	ck_assert_ptr_eq(admit_lookup(a, SA(plain)), t[4].src);
	ck_assert_str_eq(admit_source_name(t[4].src), "198.18.0.10");
	for (int i = 0; i < 5; i++)
		admit_release(a, &t[i], 0);
	admit_free(a);
}
END_TEST

START_TEST(source_table_bounded)
{
	struct admit_config cfg = base_cfg;
	struct admit *a;
	struct admit_ticket t[70], u, *shed;
	char ip[32];

	cfg.max_sources = 64;
	a = make(&cfg);
	/* sources that leave nothing behind are forgotten to make room */
	for (int i = 0; i < 1000; i++) {
		struct sockaddr_storage ss;

		snprintf(ip, sizeof(ip), "198.18.%d.%d", 10 + i / 250, i % 250);
		ss = v4(ip);
		ck_assert_int_eq(accept_at(a, &u, &ss, 0, &shed), ADMIT_OK);
		admit_authenticated(a, &u);
		ck_assert_uint_le(admit_source_count(a), 64);
	}
	/* 64 busy sources fill it: the next is admitted, untracked */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;

		snprintf(ip, sizeof(ip), "198.19.0.%d", i);
		ss = v4(ip);
		ck_assert_int_eq(accept_at(a, &t[i], &ss, 0, &shed), ADMIT_OK);
		ck_assert_ptr_nonnull(t[i].src);
	}
	{
		struct sockaddr_storage ss = v4("198.19.1.1");

		ck_assert_int_eq(accept_at(a, &t[64], &ss, 0, &shed), ADMIT_OK);
		ck_assert_ptr_null(t[64].src);
		ck_assert_uint_eq(admit_source_count(a), 64);
	}
	for (int i = 0; i < 65; i++)
		admit_release(a, &t[i], 0);
	/* released with a noauth penalty each, not enforced: remembered
	 * until it runs out, then tick forgets them */
	admit_tick(a, 2000);
	ck_assert_uint_eq(admit_source_count(a), 0);
	admit_free(a);
}
END_TEST

/* stderr goes to a pipe while a test counts log lines */
static int capture_start(int *saved)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	return p[0];
}

static size_t capture_end(int rd, int saved, char *out, size_t size)
{
	size_t used = 0;
	ssize_t n;

	dup2(saved, STDERR_FILENO);
	close(saved);
	while (used < size - 1 && (n = read(rd, out + used, size - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(rd);
	return used;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(log_rate_limited)
{
	struct admit *a = make(&base_cfg);
	struct sockaddr_storage atk = v4("198.18.0.10");
	struct admit_ticket t, *shed;
	static char out[16384];
	int saved, rd;

	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_INFO);
	ck_assert_int_eq(accept_at(a, &t, &atk, 0, &shed), ADMIT_OK);
	rd = capture_start(&saved);
	for (int i = 0; i < 5000; i++)
		admit_note(a, t.src, ADMIT_EV_REFUSED, "198.18.0.10:1234: refused: source penalized",
			   1000 + (uint64_t)i);
	admit_tick(a, 9000);          /* window still open: nothing */
	admit_tick(a, 11000);
	capture_end(rd, saved, out, sizeof(out));
	ck_assert_uint_eq(count_lines(out), 2);
	ck_assert_ptr_nonnull(strstr(out, "refused: source penalized"));
	ck_assert_ptr_nonnull(strstr(out, "198.18.0.10: refused 5000 connections in the last 10 s"));
	/* a new window starts with a detailed line again */
	rd = capture_start(&saved);
	admit_note(a, t.src, ADMIT_EV_REFUSED, "first again", 12000);
	admit_tick(a, 22000);
	capture_end(rd, saved, out, sizeof(out));
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "first again"));
	admit_release(a, &t, 22000);
	admit_free(a);
}
END_TEST

static Suite *admit_suite(void)
{
	Suite *s = suite_create("admit");
	TCase *tc = tcase_create("admit");

	tcase_add_test(tc, per_source_cap);
	tcase_add_test(tc, global_cap_sheds_oldest);
	tcase_add_test(tc, global_cap_all_logging_in);
	tcase_add_test(tc, authfail_penalty_enforced_after_min);
	tcase_add_test(tc, penalty_capped_and_exempt);
	tcase_add_test(tc, noauth_penalty);
	tcase_add_test(tc, login_caps);
	tcase_add_test(tc, ipv6_sources_by_prefix);
	tcase_add_test(tc, source_table_bounded);
	tcase_add_test(tc, log_rate_limited);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(admit_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
