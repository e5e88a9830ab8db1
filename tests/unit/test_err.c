/* SPDX-License-Identifier: ISC */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ostp.h"

/* OSTP_E_IDENTITY is the last code in enum ostp_err. */
#define N_CODES (1 - OSTP_E_IDENTITY)

START_TEST(every_code_named)
{
	const char *unknown = ostp_strerror(1);
	const char *s = ostp_strerror(-_i);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_gt(strlen(s), 0);
	ck_assert_str_ne(s, unknown);
	for (int j = 0; j < N_CODES; j++)
		if (j != _i)
			ck_assert_str_ne(s, ostp_strerror(-j));
}
END_TEST

START_TEST(unknown_codes_generic)
{
	const char *g = ostp_strerror(OSTP_E_IDENTITY - 1);

	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(ostp_strerror(1), g);
	ck_assert_str_eq(ostp_strerror(INT_MAX), g);
	ck_assert_str_eq(ostp_strerror(INT_MIN), g);
	ck_assert_str_eq(ostp_strerror(-1000), g);
}
END_TEST

START_TEST(examples)
{
	ck_assert_str_eq(ostp_strerror(OSTP_E_REPLAY), "frame counter replayed");
	ck_assert_str_eq(ostp_strerror(OSTP_OK), "success");
}
END_TEST

START_TEST(close_reasons)
{
	const char *g = ostp_close_reason_str(255);

	ck_assert_ptr_nonnull(g);
	for (unsigned r = OSTP_CLOSE_NORMAL; r <= OSTP_CLOSE_NOT_MEMBER; r++) {
		const char *s = ostp_close_reason_str((uint8_t)r);

		ck_assert_ptr_nonnull(s);
		ck_assert_str_ne(s, g);
		for (unsigned q = OSTP_CLOSE_NORMAL; q < r; q++)
			ck_assert_str_ne(s, ostp_close_reason_str((uint8_t)q));
	}
	ck_assert_str_eq(ostp_close_reason_str(OSTP_CLOSE_NOT_MEMBER + 1), g);
}
END_TEST

static Suite *err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("strings");

	tcase_add_loop_test(tc, every_code_named, 0, N_CODES);
	tcase_add_test(tc, unknown_codes_generic);
	tcase_add_test(tc, examples);
	tcase_add_test(tc, close_reasons);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(err_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
