/* SPDX-License-Identifier: ISC */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostp.h"

/* The example list from the protocol text, trailing blanks included. */
static const char seed_list[] =
	"//  \n"
	"// OSMORA Trust List  \n"
	"//  \n"
	"// Be careful with \"root!\"  \n"
	"//  \n"
	"  \n"
	"ian  \n"
	"dominik  \n"
	"quinn  \n"
	"// root\n";

struct warnings {
	size_t n;
	size_t line[8];
	char msg[8][160];
};

static void record_warning(void *ctx, size_t line, const char *msg)
{
	struct warnings *w = ctx;

	if (w->n < 8) {
		w->line[w->n] = line;
		strncpy(w->msg[w->n], msg, sizeof(w->msg[0]) - 1);
	}
	w->n++;
}

/* Parses a C string; the helper keeps (buffer, length) visible in tests. */
static int parse(ostp_trust **t, const char *s, size_t *bad, struct warnings *w)
{
	return ostp_trust_parse(t, s, strlen(s), bad, record_warning, w);
}

START_TEST(seed_example)
{
	ostp_trust *t = NULL;
	struct warnings w = { 0 };
	size_t bad = 99;

	ck_assert_int_eq(parse(&t, seed_list, &bad, &w), OSTP_OK);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_uint_eq(ostp_trust_count(t), 3);
	ck_assert(ostp_trust_contains(t, "ian"));
	ck_assert(ostp_trust_contains(t, "dominik"));
	ck_assert(ostp_trust_contains(t, "quinn"));
	ck_assert(!ostp_trust_contains(t, "root"));
	ck_assert(!ostp_trust_contains(t, "// root"));
	ostp_trust_free(t);
}
END_TEST

START_TEST(lookups)
{
	ostp_trust *t = NULL;

	ck_assert_int_eq(parse(&t, seed_list, NULL, NULL), OSTP_OK);
	ck_assert(ostp_trust_contains(t, "ian"));
	ck_assert(!ostp_trust_contains(t, "ia"));
	ck_assert(!ostp_trust_contains(t, "iann"));
	ck_assert(!ostp_trust_contains(t, "Ian"));
	ck_assert(!ostp_trust_contains(t, ""));
	ck_assert(!ostp_trust_contains(t, "ian "));
	ck_assert(!ostp_trust_contains(t, NULL));
	ck_assert(!ostp_trust_contains(NULL, "ian"));
	ostp_trust_free(t);
}
END_TEST

START_TEST(names_enumerate_sorted)
{
	ostp_trust *t = NULL;

	ck_assert_int_eq(parse(&t, seed_list, NULL, NULL), OSTP_OK);
	ck_assert_str_eq(ostp_trust_name(t, 0), "dominik");
	ck_assert_str_eq(ostp_trust_name(t, 1), "ian");
	ck_assert_str_eq(ostp_trust_name(t, 2), "quinn");
	ck_assert_ptr_null(ostp_trust_name(t, 3));
	ck_assert_ptr_null(ostp_trust_name(NULL, 0));
	ck_assert_uint_eq(ostp_trust_count(NULL), 0);
	ostp_trust_free(t);
	ostp_trust_free(NULL);
}
END_TEST

START_TEST(root_listed_warns_once)
{
	ostp_trust *t = NULL;
	struct warnings w = { 0 };

	ck_assert_int_eq(parse(&t, "ian\n  root\t\nquinn\n", NULL, &w), OSTP_OK);
	ck_assert(ostp_trust_contains(t, "root"));
	ck_assert_uint_eq(w.n, 1);
	ck_assert_uint_eq(w.line[0], 2);
	ck_assert_str_eq(w.msg[0], "root is listed as a trusted user");
	ostp_trust_free(t);
}
END_TEST

START_TEST(duplicate_warns_and_keeps_one)
{
	ostp_trust *t = NULL;
	struct warnings w = { 0 };

	ck_assert_int_eq(parse(&t, "ian\nquinn\n\nian\n", NULL, &w), OSTP_OK);
	ck_assert_uint_eq(ostp_trust_count(t), 2);
	ck_assert(ostp_trust_contains(t, "ian"));
	ck_assert_uint_eq(w.n, 1);
	ck_assert_uint_eq(w.line[0], 4);
	ck_assert_ptr_nonnull(strstr(w.msg[0], "duplicate"));
	ostp_trust_free(t);
}
END_TEST

START_TEST(warnings_in_file_order)
{
	ostp_trust *t = NULL;
	struct warnings w = { 0 };

	ck_assert_int_eq(parse(&t, "zed\nroot\nzed\nroot\n", NULL, &w), OSTP_OK);
	ck_assert_uint_eq(ostp_trust_count(t), 2);
	ck_assert_uint_eq(w.n, 3);
	ck_assert_uint_eq(w.line[0], 2);
	ck_assert_uint_eq(w.line[1], 3);
	ck_assert_uint_eq(w.line[2], 4);
	ostp_trust_free(t);
}
END_TEST

START_TEST(case_sensitive)
{
	ostp_trust *t = NULL;

	ck_assert_int_eq(parse(&t, "Ian\n", NULL, NULL), OSTP_OK);
	ck_assert(ostp_trust_contains(t, "Ian"));
	ck_assert(!ostp_trust_contains(t, "ian"));
	ostp_trust_free(t);
}
END_TEST

START_TEST(crlf_lines)
{
	ostp_trust *t = NULL;
	size_t bad = 0;

	ck_assert_int_eq(parse(&t, "// list\r\nian\r\n\r\ndominik \r\nquinn", &bad,
			       NULL), OSTP_OK);
	ck_assert_uint_eq(ostp_trust_count(t), 3);
	ck_assert(ostp_trust_contains(t, "ian"));
	ck_assert(ostp_trust_contains(t, "dominik"));
	ck_assert(ostp_trust_contains(t, "quinn"));
	ostp_trust_free(t);
}
END_TEST

START_TEST(cr_inside_name_rejected)
{
	ostp_trust *t = NULL;
	size_t bad = 0;

	ck_assert_int_eq(parse(&t, "ian\nqu\rinn\n", &bad, NULL), OSTP_E_SYNTAX);
	ck_assert_uint_eq(bad, 2);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(name_length_limit)
{
	char buf[256];
	char name64[65];
	ostp_trust *t = NULL;
	size_t bad = 0;

	memset(name64, 'a', 64);
	name64[64] = '\0';
	snprintf(buf, sizeof(buf), "ian\n%s\n", name64);
	ck_assert_int_eq(parse(&t, buf, &bad, NULL), OSTP_OK);
	ck_assert(ostp_trust_contains(t, name64));
	ostp_trust_free(t);
	t = NULL;

	snprintf(buf, sizeof(buf), "ian\n// x\n\n%sb\n", name64);
	ck_assert_int_eq(parse(&t, buf, &bad, NULL), OSTP_E_SYNTAX);
	ck_assert_uint_eq(bad, 4);
	ck_assert_ptr_null(t);
}
END_TEST

static const char *const bad_lines[] = {
	"ian quinn",     /* space inside */
	"ian/quinn",
	"/ian",          /* one slash is not a comment */
	"-ian",
	".ian",
	"ian\tquinn",
	"d\xc3\xb6minik", /* UTF-8 */
	"ian@host",
	"ian\v",
};

START_TEST(bad_characters)
{
	char buf[128];
	ostp_trust *t = NULL;
	size_t bad = 0;

	snprintf(buf, sizeof(buf), "// header\nquinn\n%s\ndominik\n", bad_lines[_i]);
	ck_assert_int_eq(parse(&t, buf, &bad, NULL), OSTP_E_SYNTAX);
	ck_assert_uint_eq(bad, 3);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(nul_byte)
{
	static const char buf[] = "ian\nqu\0inn\n";
	ostp_trust *t = NULL;
	size_t bad = 0;

	ck_assert_int_eq(ostp_trust_parse(&t, buf, sizeof(buf) - 1, &bad, NULL, NULL),
			 OSTP_E_SYNTAX);
	ck_assert_uint_eq(bad, 2);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(empty_inputs)
{
	ostp_trust *t = NULL;

	ck_assert_int_eq(ostp_trust_parse(&t, "", 0, NULL, NULL, NULL), OSTP_OK);
	ck_assert_uint_eq(ostp_trust_count(t), 0);
	ck_assert(!ostp_trust_contains(t, "ian"));
	ostp_trust_free(t);

	ck_assert_int_eq(ostp_trust_parse(&t, NULL, 0, NULL, NULL, NULL), OSTP_OK);
	ck_assert_uint_eq(ostp_trust_count(t), 0);
	ostp_trust_free(t);

	ck_assert_int_eq(parse(&t, "// only\n  \n\t\n", NULL, NULL), OSTP_OK);
	ck_assert_uint_eq(ostp_trust_count(t), 0);
	ostp_trust_free(t);
}
END_TEST

START_TEST(null_args)
{
	ostp_trust *t = NULL;

	ck_assert_int_eq(ostp_trust_parse(NULL, "ian", 3, NULL, NULL, NULL),
			 OSTP_E_INVAL);
	ck_assert_int_eq(ostp_trust_parse(&t, NULL, 3, NULL, NULL, NULL),
			 OSTP_E_INVAL);
}
END_TEST

START_TEST(length_not_strlen)
{
	ostp_trust *t = NULL;

	/* Only the first line is inside the given length. */
	ck_assert_int_eq(ostp_trust_parse(&t, "ian\nquinn\n", 4, NULL, NULL, NULL),
			 OSTP_OK);
	ck_assert_uint_eq(ostp_trust_count(t), 1);
	ck_assert(!ostp_trust_contains(t, "quinn"));
	ostp_trust_free(t);
}
END_TEST

START_TEST(too_large_input)
{
	size_t len = 4u * 1024u * 1024u + 1u;
	char *buf = malloc(len);
	ostp_trust *t = NULL;

	ck_assert_ptr_nonnull(buf);
	memset(buf, '\n', len);
	ck_assert_int_eq(ostp_trust_parse(&t, buf, len, NULL, NULL, NULL),
			 OSTP_E_LONG);
	ck_assert_ptr_null(t);
	free(buf);
}
END_TEST

/* 65536 distinct names fit; one more does not. */
static char *many_names(size_t n, size_t *len)
{
	char *buf = malloc(n * 8 + 1), *p = buf;

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "u%05zx\n", i);
	*len = (size_t)(p - buf);
	return buf;
}

START_TEST(name_count_limit)
{
	size_t len;
	char *buf = many_names(65536, &len);
	ostp_trust *t = NULL;

	ck_assert_int_eq(ostp_trust_parse(&t, buf, len, NULL, NULL, NULL), OSTP_OK);
	ck_assert_uint_eq(ostp_trust_count(t), 65536);
	ck_assert(ostp_trust_contains(t, "u00000"));
	ck_assert(ostp_trust_contains(t, "u0ffff"));
	ck_assert(!ostp_trust_contains(t, "u10000"));
	ostp_trust_free(t);
	free(buf);

	buf = many_names(65537, &len);
	ck_assert_int_eq(ostp_trust_parse(&t, buf, len, NULL, NULL, NULL),
			 OSTP_E_LONG);
	ck_assert_ptr_null(t);
	free(buf);
}
END_TEST

START_TEST(username_valid)
{
	ck_assert(ostp_username_valid("ian", 3));
	ck_assert(ostp_username_valid("a.b_c-d9", 8));
	ck_assert(ostp_username_valid("_x", 2));
	ck_assert(!ostp_username_valid("", 0));
	ck_assert(!ostp_username_valid(NULL, 3));
	ck_assert(!ostp_username_valid("-x", 2));
	ck_assert(!ostp_username_valid(".x", 2));
	ck_assert(!ostp_username_valid("a b", 3));
	/* Length is what counts, not the NUL. */
	ck_assert(ostp_username_valid("ian\0x", 3));
	ck_assert(!ostp_username_valid("ian\0x", 5));
}
END_TEST

static Suite *trust_suite(void)
{
	Suite *s = suite_create("trust");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, seed_example);
	tcase_add_test(tc, lookups);
	tcase_add_test(tc, names_enumerate_sorted);
	tcase_add_test(tc, root_listed_warns_once);
	tcase_add_test(tc, duplicate_warns_and_keeps_one);
	tcase_add_test(tc, warnings_in_file_order);
	tcase_add_test(tc, case_sensitive);
	tcase_add_test(tc, crlf_lines);
	tcase_add_test(tc, cr_inside_name_rejected);
	tcase_add_test(tc, name_length_limit);
	tcase_add_loop_test(tc, bad_characters, 0,
			    (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
	tcase_add_test(tc, nul_byte);
	tcase_add_test(tc, empty_inputs);
	tcase_add_test(tc, null_args);
	tcase_add_test(tc, length_not_strlen);
	tcase_add_test(tc, too_large_input);
	tcase_add_test(tc, name_count_limit);
	tcase_add_test(tc, username_valid);
	/* The 65536-name case is slow under valgrind. */
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(trust_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
