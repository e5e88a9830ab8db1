/* SPDX-License-Identifier: ISC */
/* ostpd's key log (tund/keylog.c): off unless a path is given; lines
 * appended whole, one a line, to a file made 0600; what was there kept. */
#include <check.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "keylog.h"
#include "log.h"
#include "tmpfiles.h"

static char dir[64];

static void setup(void)
{
	/* the start-up warning goes to stderr: not the test's business */
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_ERROR);
	tmp_dir_create(dir, sizeof(dir), "keylog");
}

static void teardown(void)
{
	keylog_close();
	tmp_dir_remove(dir);
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_INFO);
}

START_TEST(off_by_default)
{
	struct ostp_keylog k = keylog_hook();

	ck_assert_ptr_null(k.line);
	ck_assert_int_eq(keylog_open(NULL), 0);
	ck_assert_ptr_null(keylog_hook().line);
	ck_assert_int_eq(keylog_open(""), 0);
	ck_assert_ptr_null(keylog_hook().line);
}
END_TEST

START_TEST(appends_lines)
{
	char p[128], text[512];
	struct ostp_keylog k;
	struct stat st;

	snprintf(p, sizeof(p), "%s/keys", dir);
	ck_assert_int_eq(keylog_open(p), 0);
	k = keylog_hook();
	ck_assert_ptr_nonnull(k.line);
	k.line(k.ctx, "OSTP_TRAFFIC_KEY a c2s 0 b");
	k.line(k.ctx, "OSTP_TRAFFIC_KEY a s2c 0 c");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	tmp_read_text(p, text, sizeof(text));
	ck_assert_str_eq(text, "OSTP_TRAFFIC_KEY a c2s 0 b\nOSTP_TRAFFIC_KEY a s2c 0 c\n");
	keylog_close();
	ck_assert_ptr_null(keylog_hook().line);

	/* a second start appends: keys of earlier sessions stay readable */
	ck_assert_int_eq(keylog_open(p), 0);
	k = keylog_hook();
	k.line(k.ctx, "x");
	tmp_read_text(p, text, sizeof(text));
	ck_assert_str_eq(text, "OSTP_TRAFFIC_KEY a c2s 0 b\nOSTP_TRAFFIC_KEY a s2c 0 c\nx\n");
}
END_TEST

START_TEST(refuses_what_it_cannot_open)
{
	char p[128], link[128];

	snprintf(p, sizeof(p), "%s/no/such/dir/keys", dir);
	ck_assert_int_lt(keylog_open(p), 0);
	ck_assert_ptr_null(keylog_hook().line);
	/* no following a symbolic link planted where the log goes */
	snprintf(p, sizeof(p), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/keys", dir);
	tmp_write_file(p, "", 0600);
	ck_assert_int_eq(symlink(p, link), 0);
	ck_assert_int_lt(keylog_open(link), 0);
	ck_assert_ptr_null(keylog_hook().line);
}
END_TEST

static Suite *keylog_suite(void)
{
	Suite *s = suite_create("keylog");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, off_by_default);
	tcase_add_test(tc, appends_lines);
	tcase_add_test(tc, refuses_what_it_cannot_open);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(keylog_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
