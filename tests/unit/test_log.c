/* SPDX-License-Identifier: ISC */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* stderr is swapped for a pipe around each test; the lines are small
 * enough to sit in the pipe until read. */
static int saved_stderr = -1;
static int pipe_rd = -1;
static char captured[8192];

static void capture_start(void)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	pipe_rd = p[0];
}

/* Puts stderr back and returns what was written meanwhile. */
static const char *capture_end(void)
{
	size_t used = 0;
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	/* The write end is gone now, so read() ends at EOF. */
	while ((n = read(pipe_rd, captured + used, sizeof(captured) - 1 - used)) > 0)
		used += (size_t)n;
	captured[used] = '\0';
	close(pipe_rd);
	pipe_rd = -1;
	return captured;
}

static void teardown(void)
{
	if (saved_stderr >= 0)
		capture_end();
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_INFO);
}

START_TEST(level_filtering)
{
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_WARN);
	capture_start();
	log_debug("d %d", 1);
	log_info("i %d", 2);
	log_warn("w %d", 3);
	log_error("e %d", 4);
	ck_assert_str_eq(capture_end(), "WARN: w 3\nERROR: e 4\n");

	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_ERROR);
	capture_start();
	log_info("i");
	log_warn("w");
	log_error("e");
	ck_assert_str_eq(capture_end(), "ERROR: e\n");
}
END_TEST

START_TEST(every_level)
{
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_DEBUG);
	capture_start();
	log_debug("a");
	log_info("b");
	log_warn("c");
	log_error("d");
	log_msg(OSTPD_LOG_INFO, "%s=%u", "x", 7u);
	ck_assert_str_eq(capture_end(), "DEBUG: a\nINFO: b\nWARN: c\nERROR: d\nINFO: x=7\n");
}
END_TEST

/* A name from the network cannot end the line and forge another, nor
 * carry terminal escapes; other bytes (UTF-8) pass untouched. */
START_TEST(control_characters_replaced)
{
	/* "\?" below: C11 would read "??!" as a trigraph. */
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_INFO);
	capture_start();
	log_info("login by %s", "mallory\nERROR: forged\r\x1b[2K\x7f\t\x01!");
	log_info("caf\xc3\xa9 ~");
	ck_assert_str_eq(capture_end(),
			 "INFO: login by mallory?ERROR: forged?\?[2K?\?\?!\n"
			 "INFO: caf\xc3\xa9 ~\n");
}
END_TEST

START_TEST(long_message_one_line)
{
	char big[5000];
	const char *out;
	size_t len;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_INFO);
	capture_start();
	log_warn("%s", big);
	out = capture_end();
	len = strlen(out);
	ck_assert_uint_gt(len, 100);
	ck_assert_uint_le(len, 4096);
	ck_assert(strncmp(out, "WARN: xxx", 9) == 0);
	ck_assert_int_eq(out[len - 1], '\n');
	ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
}
END_TEST

/* Callers log a failure and then go on to use errno. */
START_TEST(errno_kept)
{
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_INFO);
	capture_start();
	errno = ENOENT;
	log_error("open: %m");
	ck_assert_int_eq(errno, ENOENT);
	errno = EACCES;
	log_debug("dropped");
	ck_assert_int_eq(errno, EACCES);
	ck_assert_str_eq(capture_end(), "ERROR: open: No such file or directory\n");
}
END_TEST

START_TEST(syslog_target_leaves_stderr_alone)
{
	log_init(OSTPD_LOG_SYSLOG, OSTPD_LOG_DEBUG);
	capture_start();
	log_info("to syslog");
	ck_assert_str_eq(capture_end(), "");
	log_init(OSTPD_LOG_STDERR, OSTPD_LOG_INFO);
	capture_start();
	log_info("back");
	ck_assert_str_eq(capture_end(), "INFO: back\n");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("stderr");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, level_filtering);
	tcase_add_test(tc, every_level);
	tcase_add_test(tc, control_characters_replaced);
	tcase_add_test(tc, long_message_one_line);
	tcase_add_test(tc, errno_kept);
	tcase_add_test(tc, syslog_target_leaves_stderr_alone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
