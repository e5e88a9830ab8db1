/* SPDX-License-Identifier: ISC */
/* The trusted users list edits of ostpctl (lib/common/trustedit.h). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trustedit.h"

/* The shipped example (etc/trusted_users), comments and all. */
static const char seed[] =
	"//\n"
	"// OSMORA Trust List\n"
	"//\n"
	"// Be careful with \"root!\"\n"
	"//\n"
	"\n"
	"ian\n"
	"dominik\n"
	"quinn\n"
	"// root\n";

static char *out;
static size_t outlen, bad;

static void teardown(void)
{
	free(out);
	out = NULL;
}

static int add(const char *in, const char *name)
{
	free(out);
	out = NULL;
	return trust_text_add(in, strlen(in), name, &out, &outlen, &bad);
}

static int del(const char *in, const char *name)
{
	free(out);
	out = NULL;
	return trust_text_del(in, strlen(in), name, &out, &outlen, &bad);
}

static int list(const char *in)
{
	free(out);
	out = NULL;
	return trust_text_list(in, strlen(in), &out, &outlen, &bad);
}

START_TEST(add_appends_and_keeps_comments)
{
	ck_assert_int_eq(add(seed, "alice"), TE_OK);
	/* Every original byte first, then exactly one new line. */
	ck_assert_uint_eq(outlen, strlen(seed) + strlen("alice\n"));
	ck_assert_int_eq(memcmp(out, seed, strlen(seed)), 0);
	ck_assert_str_eq(out + strlen(seed), "alice\n");
	ck_assert_uint_eq(strlen(out), outlen);
}
END_TEST

START_TEST(add_to_empty)
{
	ck_assert_int_eq(add("", "alice"), TE_OK);
	ck_assert_str_eq(out, "alice\n");
	free(out);
	ck_assert_int_eq(trust_text_add(NULL, 0, "bob", &out, &outlen, &bad), TE_OK);
	ck_assert_str_eq(out, "bob\n");
}
END_TEST

START_TEST(add_no_trailing_newline)
{
	ck_assert_int_eq(add("// list\nian", "alice"), TE_OK);
	ck_assert_str_eq(out, "// list\nian\nalice\n");
	ck_assert_int_eq(add("// only a comment", "alice"), TE_OK);
	ck_assert_str_eq(out, "// only a comment\nalice\n");
}
END_TEST

START_TEST(add_crlf)
{
	ck_assert_int_eq(add("// list\r\nian\r\n", "alice"), TE_OK);
	ck_assert_str_eq(out, "// list\r\nian\r\nalice\r\n");
	/* Missing final line ending, and a final lone CR. */
	ck_assert_int_eq(add("// list\r\nian", "alice"), TE_OK);
	ck_assert_str_eq(out, "// list\r\nian\r\nalice\r\n");
	ck_assert_int_eq(add("// list\r\nian\r", "alice"), TE_OK);
	ck_assert_str_eq(out, "// list\r\nian\r\nalice\r\n");
}
END_TEST

START_TEST(add_duplicate)
{
	ck_assert_int_eq(add(seed, "quinn"), TE_PRESENT);
	ck_assert_ptr_null(out);
	/* Surrounding blanks and CR do not hide a listed name. */
	ck_assert_int_eq(add("  ian \t\r\n", "ian"), TE_PRESENT);
	/* A commented-out name is not listed: it may be added. */
	ck_assert_int_eq(add(seed, "root"), TE_OK);
	ck_assert_str_eq(out + strlen(seed), "root\n");
	/* Names are case-sensitive, as the daemon compares them. */
	ck_assert_int_eq(add(seed, "Ian"), TE_OK);
}
END_TEST

START_TEST(del_removes_exactly_one_line)
{
	const char *want =
		"//\n// OSMORA Trust List\n//\n// Be careful with \"root!\"\n//\n\n"
		"ian\nquinn\n// root\n";

	ck_assert_int_eq(del(seed, "dominik"), TE_OK);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(outlen, strlen(want));
}
END_TEST

START_TEST(del_leaves_other_names)
{
	char *rest;

	ck_assert_int_eq(del(seed, "ian"), TE_OK);
	rest = out;             /* list() frees out */
	out = NULL;
	ck_assert_int_eq(list(rest), TE_OK);
	free(rest);
	ck_assert_str_eq(out, "dominik\nquinn\n");
	ck_assert_int_eq(del(seed, "quinn"), TE_OK);
	ck_assert_ptr_nonnull(strstr(out, "dominik\n// root\n"));
}
END_TEST

START_TEST(del_never_touches_comments)
{
	/* "root" only appears commented out: it is not trusted. */
	ck_assert_int_eq(del(seed, "root"), TE_ABSENT);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(del("// ian\nian\n//ian\n", "ian"), TE_OK);
	ck_assert_str_eq(out, "// ian\n//ian\n");
}
END_TEST

START_TEST(del_absent)
{
	ck_assert_int_eq(del(seed, "alice"), TE_ABSENT);
	ck_assert_int_eq(del("", "alice"), TE_ABSENT);
	/* A prefix or a longer name is a different user. */
	ck_assert_int_eq(del(seed, "qui"), TE_ABSENT);
	ck_assert_int_eq(del(seed, "quinnn"), TE_ABSENT);
}
END_TEST

START_TEST(del_crlf_blanks_and_last_line)
{
	ck_assert_int_eq(del("a\r\n  ian \r\nb\r\n", "ian"), TE_OK);
	ck_assert_str_eq(out, "a\r\nb\r\n");
	/* The last line without a line ending. */
	ck_assert_int_eq(del("a\nian", "ian"), TE_OK);
	ck_assert_str_eq(out, "a\n");
	ck_assert_int_eq(del("ian", "ian"), TE_OK);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(outlen, 0);
}
END_TEST

START_TEST(del_every_duplicate)
{
	/* A copy left behind would keep the user trusted. */
	ck_assert_int_eq(del("ian\nbob\nian\n", "ian"), TE_OK);
	ck_assert_str_eq(out, "bob\n");
}
END_TEST

START_TEST(list_file_order)
{
	ck_assert_int_eq(list(seed), TE_OK);
	ck_assert_str_eq(out, "ian\ndominik\nquinn\n");
	ck_assert_int_eq(list("zed\r\n  amy\t\r\nzed\nbob"), TE_OK);
	ck_assert_str_eq(out, "zed\namy\nbob\n");
	ck_assert_int_eq(list("// nobody\n\n"), TE_OK);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_int_eq(trust_text_list(NULL, 0, &out, &outlen, &bad), TE_OK);
	ck_assert_uint_eq(outlen, 0);
}
END_TEST

START_TEST(invalid_name)
{
	char big[80];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(add(seed, big), TE_BADNAME);
	ck_assert_int_eq(del(seed, big), TE_BADNAME);
	/* 64 bytes is the limit, 65 is over it. */
	big[64] = '\0';
	ck_assert_int_eq(add(seed, big), TE_OK);
	big[64] = 'a';
	big[65] = '\0';
	ck_assert_int_eq(add(seed, big), TE_BADNAME);
	ck_assert_int_eq(add(seed, ""), TE_BADNAME);
	ck_assert_int_eq(add(seed, "-x"), TE_BADNAME);
	ck_assert_int_eq(add(seed, ".x"), TE_BADNAME);
	ck_assert_int_eq(add(seed, "a b"), TE_BADNAME);
	ck_assert_int_eq(add(seed, "a\nb"), TE_BADNAME);
	ck_assert_int_eq(add(seed, "//x"), TE_BADNAME);
	ck_assert_int_eq(add(seed, NULL), TE_BADNAME);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(invalid_list_refused)
{
	/* A bad line is reported, never silently rewritten. */
	ck_assert_int_eq(add("ian\nbad name\n", "bob"), TE_INVALID);
	ck_assert_uint_eq(bad, 2);
	ck_assert_int_eq(del("ian\n# hash comment\n", "ian"), TE_INVALID);
	ck_assert_uint_eq(bad, 2);
	ck_assert_int_eq(list("ok\nok\n\xff\n"), TE_INVALID);
	ck_assert_uint_eq(bad, 3);
	ck_assert_int_eq(trust_text_add("a\0b\n", 4, "x", &out, &outlen, &bad),
			 TE_INVALID);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(trust_text_strerror(TE_INVALID), "not a valid trusted users list");
}
END_TEST

START_TEST(write_is_atomic_and_keeps_mode)
{
	char dir[] = "/tmp/test_trustedit.XXXXXX", path[64], link[64], err[256];
	char *buf = NULL;
	size_t len = 0;
	struct stat st, st2;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/trusted", dir);
	snprintf(link, sizeof(link), "%s/link", dir);

	/* A new list gets mode 0644: the daemon reads it as its own user. */
	ck_assert_int_eq(trust_file_write(path, seed, strlen(seed), NULL, err,
					  sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);

	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(trust_file_read(path, &buf, &len, &st), 0);
	ck_assert_uint_eq(len, strlen(seed));
	ck_assert_str_eq(buf, seed);
	ck_assert_int_eq(trust_text_add(buf, len, "alice", &out, &outlen, &bad), TE_OK);
	ck_assert_int_eq(trust_file_write(path, out, outlen, &st, err, sizeof(err)), 0);
	free(buf);
	ck_assert_int_eq(trust_file_read(path, &buf, &len, &st2), 0);
	ck_assert_str_eq(buf, out);
	ck_assert_uint_eq(st2.st_mode & 07777, 0640);
	/* Replaced, not rewritten in place: a reader keeps the old inode. */
	ck_assert_uint_ne(st2.st_ino, st.st_ino);
	free(buf);

	/* A symlink would be replaced by a file: refused. */
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(trust_file_write(link, seed, strlen(seed), NULL, err,
					  sizeof(err)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, "symbolic link"));

	/* Missing file, directory instead of a file. */
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(trust_file_read(link, &buf, &len, &st), -ENOENT);
	ck_assert_int_eq(trust_file_read(dir, &buf, &len, &st), -EINVAL);

	/* The lock is on the directory, and no temporary file is left. */
	{
		int fd = trust_file_lock(path);

		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *trustedit_suite(void)
{
	Suite *s = suite_create("trustedit");
	TCase *tc = tcase_create("edit");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, add_appends_and_keeps_comments);
	tcase_add_test(tc, add_to_empty);
	tcase_add_test(tc, add_no_trailing_newline);
	tcase_add_test(tc, add_crlf);
	tcase_add_test(tc, add_duplicate);
	tcase_add_test(tc, del_removes_exactly_one_line);
	tcase_add_test(tc, del_leaves_other_names);
	tcase_add_test(tc, del_never_touches_comments);
	tcase_add_test(tc, del_absent);
	tcase_add_test(tc, del_crlf_blanks_and_last_line);
	tcase_add_test(tc, del_every_duplicate);
	tcase_add_test(tc, list_file_order);
	tcase_add_test(tc, invalid_name);
	tcase_add_test(tc, invalid_list_refused);
	tcase_add_test(tc, write_is_atomic_and_keeps_mode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(trustedit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
