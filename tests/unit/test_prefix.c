/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "prefix.h"

static struct prefix must_parse(const char *text)
{
	struct prefix p;

	memset(&p, 0, sizeof(p));
	ck_assert_msg(parse_prefix(text, &p.family, p.addr, &p.len),
		      "rejected %s", text);
	return p;
}

START_TEST(prefix_accepts)
{
	char buf[PREFIX_STRLEN];
	struct prefix p;

	p = must_parse("198.18.0.1/24");
	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_int_eq(p.len, 24);
	ck_assert_str_eq(prefix_format(&p, buf, sizeof(buf)), "198.18.0.1/24");

	p = must_parse("fd00::1/64");
	ck_assert_int_eq(p.family, AF_INET6);
	ck_assert_int_eq(p.len, 64);
	ck_assert_str_eq(prefix_format(&p, buf, sizeof(buf)), "fd00::1/64");

	p = must_parse("198.18.0.1");
	ck_assert_int_eq(p.len, 32);
	p = must_parse("fd00::1");
	ck_assert_int_eq(p.len, 128);
	p = must_parse("0.0.0.0/0");
	ck_assert_int_eq(p.len, 0);
	p = must_parse("fd00::/128");
	ck_assert_int_eq(p.len, 128);
	p = must_parse("198.18.0.0/32");
	ck_assert_int_eq(p.len, 32);
	/* The unused tail of an IPv4 address stays zero. */
	p = must_parse("255.255.255.255/32");
	for (int i = 4; i < 16; i++)
		ck_assert_int_eq(p.addr[i], 0);
}
END_TEST

static const char *const bad_prefixes[] = {
	"198.18.0.1/33", "fd00::/129", "1.2.3", "300.1.1.1/8", "1.2.3.4/",
	"/24", "", "198.18.0.1/24x", "198.18.0.1 /24", "198.18.0.1/ 24",
	"198.18.0.1/+8", "198.18.0.1/-1", "198.18.0.1/024", "198.18.0.1/8/8",
	"198.18.0.1x", "fd00::1::2/64", "fd00::g/64", "01.2.3.4/8",
	"1.2.3.4.5", "fd00::1/1000", "localhost",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 and then much more text",
};

START_TEST(prefix_rejects)
{
	const char *text = bad_prefixes[_i];
	struct prefix p = { .family = 99, .len = 77 };

	ck_assert_msg(!parse_prefix(text, &p.family, p.addr, &p.len),
		      "accepted \"%s\"", text);
	/* A rejected parse leaves the output alone. */
	ck_assert_int_eq(p.family, 99);
	ck_assert_int_eq(p.len, 77);
}
END_TEST

START_TEST(prefix_contains_works)
{
	struct prefix net = must_parse("198.18.10.0/23");
	struct prefix v6 = must_parse("fd00:1::/33");
	struct prefix all = must_parse("0.0.0.0/0");
	uint8_t a[16];

	inet_pton(AF_INET, "198.18.11.255", a);
	ck_assert(prefix_contains(&net, AF_INET, a));
	inet_pton(AF_INET, "198.18.12.0", a);
	ck_assert(!prefix_contains(&net, AF_INET, a));
	ck_assert(prefix_contains(&all, AF_INET, a));
	/* Families never match each other. */
	ck_assert(!prefix_contains(&v6, AF_INET, a));

	inet_pton(AF_INET6, "fd00:1:7fff::1", a);
	ck_assert(prefix_contains(&v6, AF_INET6, a));
	inet_pton(AF_INET6, "fd00:1:8000::1", a);
	ck_assert(!prefix_contains(&v6, AF_INET6, a));
	ck_assert(!prefix_contains(&all, AF_INET6, a));

	struct prefix host = must_parse("198.18.0.1");
	inet_pton(AF_INET, "198.18.0.1", a);
	ck_assert(prefix_contains(&host, AF_INET, a));
	inet_pton(AF_INET, "198.18.0.2", a);
	ck_assert(!prefix_contains(&host, AF_INET, a));
}
END_TEST

START_TEST(prefix_network)
{
	struct prefix p;

	p = must_parse("198.18.10.0/24");
	ck_assert(prefix_is_network(&p));
	p = must_parse("198.18.10.1/24");
	ck_assert(!prefix_is_network(&p));
	p = must_parse("198.18.10.128/25");
	ck_assert(prefix_is_network(&p));
	p = must_parse("198.18.10.64/25");
	ck_assert(!prefix_is_network(&p));
	p = must_parse("fd00:1::/64");
	ck_assert(prefix_is_network(&p));
	p = must_parse("fd00:1::1/64");
	ck_assert(!prefix_is_network(&p));
	p = must_parse("198.18.0.1");
	ck_assert(prefix_is_network(&p));
	p = must_parse("0.0.0.0/0");
	ck_assert(prefix_is_network(&p));
}
END_TEST

START_TEST(endpoint_accepts)
{
	struct sockaddr_storage ss;
	char buf[ENDPOINT_STRLEN];
	socklen_t len;

	ck_assert(parse_endpoint("198.18.0.1:7000", &ss, &len));
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(len, sizeof(struct sockaddr_in));
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 7000);
	ck_assert_str_eq(endpoint_format((struct sockaddr *)&ss, buf, sizeof(buf)),
			 "198.18.0.1:7000");

	ck_assert(parse_endpoint("[fd00::1]:7000", &ss, &len));
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 7000);
	ck_assert_str_eq(endpoint_format((struct sockaddr *)&ss, buf, sizeof(buf)),
			 "[fd00::1]:7000");

	ck_assert(parse_endpoint("[::]:65535", &ss, &len));
	ck_assert_str_eq(endpoint_format((struct sockaddr *)&ss, buf, sizeof(buf)),
			 "[::]:65535");
	ck_assert(parse_endpoint("0.0.0.0:1", &ss, &len));
}
END_TEST

static const char *const bad_endpoints[] = {
	"198.18.0.1:99999", "[fd00::1]", "fd00::1:7000", "198.18.0.1",
	"198.18.0.1:", ":7000", "198.18.0.1:0", "198.18.0.1:07000",
	"198.18.0.1:70x", "198.18.0.1:7000 ", " 198.18.0.1:7000",
	"300.1.1.1:7000", "1.2.3:7000", "[198.18.0.1]:7000", "[fd00::1]7000",
	"[fd00::1]:", "[]:7000", "[fd00::1:7000", "host.example:7000",
	"198.18.0.1:+80", "198.18.0.1:-80", "198.18.0.1:1:2", "",
	"[fd00::1]:7000x",
};

START_TEST(endpoint_rejects)
{
	struct sockaddr_storage ss;
	socklen_t len;

	ck_assert_msg(!parse_endpoint(bad_endpoints[_i], &ss, &len),
		      "accepted \"%s\"", bad_endpoints[_i]);
}
END_TEST

static Suite *prefix_suite(void)
{
	Suite *s = suite_create("prefix");
	TCase *tc = tcase_create("prefix");

	tcase_add_test(tc, prefix_accepts);
	tcase_add_loop_test(tc, prefix_rejects, 0,
			    sizeof(bad_prefixes) / sizeof(bad_prefixes[0]));
	tcase_add_test(tc, prefix_contains_works);
	tcase_add_test(tc, prefix_network);
	suite_add_tcase(s, tc);

	tc = tcase_create("endpoint");
	tcase_add_test(tc, endpoint_accepts);
	tcase_add_loop_test(tc, endpoint_rejects, 0,
			    sizeof(bad_endpoints) / sizeof(bad_endpoints[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(prefix_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
