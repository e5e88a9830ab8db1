/* SPDX-License-Identifier: ISC */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ostp.h"

START_TEST(hash_then_verify)
{
	char hash[128];
	const char *pw = "correct horse battery staple";

	ck_assert_int_eq(ostp_pw_hash(hash, pw, strlen(pw)), OSTP_OK);
	ck_assert_int_eq(strncmp(hash, "$argon2id$", 10), 0);
	ck_assert(ostp_pw_verify(hash, pw, strlen(pw)));
}
END_TEST

START_TEST(wrong_password)
{
	char hash[128];

	ck_assert_int_eq(ostp_pw_hash(hash, "secret", 6), OSTP_OK);
	ck_assert(!ostp_pw_verify(hash, "Secret", 6));
	ck_assert(!ostp_pw_verify(hash, "secret!", 7));
	/* A prefix of the right password is still wrong. */
	ck_assert(!ostp_pw_verify(hash, "secret", 5));
}
END_TEST

START_TEST(salted)
{
	char a[128], b[128];

	ck_assert_int_eq(ostp_pw_hash(a, "pw", 2), OSTP_OK);
	ck_assert_int_eq(ostp_pw_hash(b, "pw", 2), OSTP_OK);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(null_or_foreign_hash)
{
	ck_assert(!ostp_pw_verify(NULL, "secret", 6));
	ck_assert(!ostp_pw_verify("", "secret", 6));
	ck_assert(!ostp_pw_verify("$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaA",
				  "secret", 6));
	ck_assert(!ostp_pw_verify("$argon2id$garbage", "secret", 6));
}
END_TEST

START_TEST(long_password_refused)
{
	char hash[128];
	char pw[258];

	memset(pw, 'x', sizeof(pw));
	ck_assert_int_eq(ostp_pw_hash(hash, pw, 257), OSTP_E_PASS);
	ck_assert_int_eq(ostp_pw_hash(hash, pw, 256), OSTP_OK);
	ck_assert(ostp_pw_verify(hash, pw, 256));
	ck_assert(!ostp_pw_verify(hash, pw, 257));
}
END_TEST

START_TEST(empty_password)
{
	char hash[128];

	ck_assert_int_eq(ostp_pw_hash(hash, "", 0), OSTP_OK);
	ck_assert(ostp_pw_verify(hash, "", 0));
	ck_assert(!ostp_pw_verify(hash, "x", 1));
}
END_TEST

START_TEST(bad_args)
{
	char hash[128];

	ck_assert_int_eq(ostp_pw_hash(NULL, "x", 1), OSTP_E_INVAL);
	ck_assert_int_eq(ostp_pw_hash(hash, NULL, 1), OSTP_E_INVAL);
	ck_assert(!ostp_pw_verify(NULL, NULL, 1));
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("pwhash");

	tcase_add_test(tc, hash_then_verify);
	tcase_add_test(tc, wrong_password);
	tcase_add_test(tc, salted);
	tcase_add_test(tc, null_or_foreign_hash);
	tcase_add_test(tc, long_password_refused);
	tcase_add_test(tc, empty_password);
	tcase_add_test(tc, bad_args);
	/* Argon2id at 64 MiB is slow under sanitizers and valgrind. */
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(auth_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
