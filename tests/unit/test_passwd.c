/* SPDX-License-Identifier: ISC */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ostp.h"
#include "passwd.h"
#include "tmpfiles.h"

#define H1 "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaDFoYXNoMWhhc2gx"
#define H2 "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaDJoYXNoMmhhc2gy"
#define H3 "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaDNoYXNoM2hhc2gz"
#define HN "$argon2id$v=19$m=65536,t=2,p=1$bmV3bmV3bmV3bmV3$bmV3aGFzaG5ld2hhc2g"

static char dir[64];
static char path[128];

static void setup(void)
{
	tmp_dir_create(dir, sizeof(dir), "passwd");
	snprintf(path, sizeof(path), "%s/passwords", dir);
}

static void teardown(void)
{
	tmp_dir_remove(dir);
}

/* Returns a malloc'd NUL-terminated copy of the file. */
static char *read_all(const char *p)
{
	FILE *f = fopen(p, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count_entries(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(dd);
	while ((de = readdir(dd)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dd);
	return n;
}

static int parse(struct pwfile **pw, const char *s, char *err, size_t errlen)
{
	return pwfile_parse(pw, "mem", s, strlen(s), err, errlen);
}

static const char good_file[] =
	"# ostp passwords\n"
	"\n"
	"alice:" H1 "\n"
	"   # an indented comment\n"
	"  bob:" H2 "  \n"
	"\t\n"
	"carol:" H3 "\r\n"
	"d.e_f-9:" HN;          /* no final newline */

START_TEST(parse_good_file)
{
	struct pwfile *pw = NULL;
	char err[256] = "";

	ck_assert_int_eq(parse(&pw, good_file, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(pwfile_lookup(pw, "alice"), H1);
	ck_assert_str_eq(pwfile_lookup(pw, "bob"), H2);
	ck_assert_str_eq(pwfile_lookup(pw, "carol"), H3);
	ck_assert_str_eq(pwfile_lookup(pw, "d.e_f-9"), HN);
	ck_assert_ptr_null(pwfile_lookup(pw, "dave"));
	ck_assert_ptr_null(pwfile_lookup(pw, "Alice"));
	ck_assert_ptr_null(pwfile_lookup(pw, "alic"));
	ck_assert_ptr_null(pwfile_lookup(pw, ""));
	ck_assert_ptr_null(pwfile_lookup(pw, "# ostp passwords"));
	ck_assert_ptr_null(pwfile_lookup(pw, NULL));
	pwfile_free(pw);
}
END_TEST

START_TEST(parse_empty_and_comments_only)
{
	struct pwfile *pw = NULL;
	char err[256];

	ck_assert_int_eq(pwfile_parse(&pw, "mem", "", 0, err, sizeof(err)), 0);
	ck_assert_ptr_null(pwfile_lookup(pw, "alice"));
	pwfile_free(pw);
	ck_assert_int_eq(parse(&pw, "# nothing\n\n#\n", err, sizeof(err)), 0);
	ck_assert_ptr_null(pwfile_lookup(pw, "alice"));
	pwfile_free(pw);
	pwfile_free(NULL);
}
END_TEST

/* Only len bytes count: a bad line past the end is never seen. */
START_TEST(parse_length_not_strlen)
{
	static const char s[] = "alice:" H1 "\nthis line is bad\n";
	struct pwfile *pw = NULL;
	char err[256];

	ck_assert_int_eq(pwfile_parse(&pw, "mem", s, strlen("alice:" H1 "\n"),
				      err, sizeof(err)), 0);
	ck_assert_str_eq(pwfile_lookup(pw, "alice"), H1);
	pwfile_free(pw);
}
END_TEST

static const struct {
	const char *text;
	const char *err;    /* exact message */
} bad_files[] = {
	{ "# c\n\nalice " H1 "\n",
	  "mem:3: expected user:hash" },
	{ "alice:" H1 "\nb@d:" H2 "\n",
	  "mem:2: invalid user name" },
	{ ":" H1 "\n",
	  "mem:1: invalid user name" },
	{ "-alice:" H1 "\n",
	  "mem:1: invalid user name" },
	{ "al ice:" H1 "\n",
	  "mem:1: invalid user name" },
	{ "\n\n\n\nalice:$2b$12$abcdefghijklmnopqrstuv\n",
	  "mem:5: the hash is not an $argon2id$ hash" },
	{ "alice:$argon2i$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA\n",
	  "mem:1: the hash is not an $argon2id$ hash" },
	{ "alice:\n",
	  "mem:1: the hash is not an $argon2id$ hash" },
	{ "alice:" H1 "\nbob:$argon2id$v=19 m=1$x\n",
	  "mem:2: whitespace in the hash" },
	{ "alice:$argon2id$v=19\rm=1$x\n",
	  "mem:1: whitespace in the hash" },
	{ "alice:$argon2id$v=19\x1bm=1$x\n",
	  "mem:1: control character in the hash" },
	{ "alice:" H1 "\nbob:" H2 "\n# c\ncarol:" H3 "\nbob:" HN "\n",
	  "mem:5: duplicate user \"bob\" (first on line 2)" },
	/* The first repeat in file order is reported, not the first name
	 * in sort order. */
	{ "zed:" H1 "\nalice:" H1 "\nzed:" H2 "\nalice:" H2 "\n",
	  "mem:3: duplicate user \"zed\" (first on line 1)" },
	{ "alice:" H1 "\n  alice:" H1 "\n",
	  "mem:2: duplicate user \"alice\" (first on line 1)" },
};

START_TEST(parse_errors)
{
	struct pwfile *pw = (struct pwfile *)1;
	char err[256] = "";

	ck_assert_int_eq(parse(&pw, bad_files[_i].text, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(pw);
	ck_assert_str_eq(err, bad_files[_i].err);
}
END_TEST

START_TEST(parse_hash_too_long)
{
	char line[300];
	struct pwfile *pw = NULL;
	char err[256];

	/* 127 characters is the longest that fits crypto_pwhash_STRBYTES. */
	memset(line, 0, sizeof(line));
	strcpy(line, "alice:$argon2id$");
	memset(line + strlen(line), 'a', 127 - strlen("$argon2id$"));
	strcat(line, "\n");
	ck_assert_int_eq(parse(&pw, line, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(pwfile_lookup(pw, "alice")), 127);
	pwfile_free(pw);

	memset(line, 0, sizeof(line));
	strcpy(line, "alice:$argon2id$");
	memset(line + strlen(line), 'a', 128 - strlen("$argon2id$"));
	strcat(line, "\n");
	ck_assert_int_eq(parse(&pw, line, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "mem:1: the hash is too long");
}
END_TEST

START_TEST(parse_nul_byte)
{
	static const char s[] = "alice:" H1 "\nbob\0:" H2 "\n";
	struct pwfile *pw = NULL;
	char err[256];

	ck_assert_int_eq(pwfile_parse(&pw, "mem", s, sizeof(s) - 1, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "mem:2: NUL byte in line");
}
END_TEST

START_TEST(parse_too_large)
{
	size_t len = 4u * 1024u * 1024u + 1;
	char *buf = malloc(len);
	struct pwfile *pw = NULL;
	char err[256];

	ck_assert_ptr_nonnull(buf);
	memset(buf, '\n', len);
	ck_assert_int_eq(pwfile_parse(&pw, "big", buf, len, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_null(pw);
	ck_assert_ptr_nonnull(strstr(err, "big: larger than"));
	/* Exactly at the limit is fine. */
	ck_assert_int_eq(pwfile_parse(&pw, "big", buf, len - 1, err, sizeof(err)), 0);
	pwfile_free(pw);
	free(buf);
}
END_TEST

START_TEST(load_file)
{
	struct pwfile *pw = NULL;
	char err[256], want[300];

	tmp_write_file(path, good_file, 0600);
	ck_assert_int_eq(pwfile_load(&pw, path, err, sizeof(err)), 0);
	ck_assert_str_eq(pwfile_lookup(pw, "carol"), H3);
	pwfile_free(pw);

	/* Errors from a file carry its path. */
	tmp_write_file(path, "alice:" H1 "\nalice\n", 0600);
	ck_assert_int_eq(pwfile_load(&pw, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: expected user:hash", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(load_missing_file)
{
	struct pwfile *pw = NULL;
	char err[256];

	ck_assert_int_eq(pwfile_load(&pw, path, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(pw);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	/* A directory is not a password file. */
	ck_assert_int_eq(pwfile_load(&pw, dir, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(set_adds_user)
{
	static const char before[] = "# header\n\nalice:" H1 "\n  # note  \n";
	struct pwfile *pw = NULL;
	char err[256], *after;

	tmp_write_file(path, before, 0600);
	ck_assert_int_eq(pwfile_set(path, "bob", H2, err, sizeof(err)), 0);
	after = read_all(path);
	ck_assert_str_eq(after, "# header\n\nalice:" H1 "\n  # note  \nbob:" H2 "\n");
	free(after);
	ck_assert_int_eq(pwfile_load(&pw, path, err, sizeof(err)), 0);
	ck_assert_str_eq(pwfile_lookup(pw, "alice"), H1);
	ck_assert_str_eq(pwfile_lookup(pw, "bob"), H2);
	pwfile_free(pw);
	/* Only the password file remains: no temporary file left behind. */
	ck_assert_int_eq(count_entries(dir), 1);
}
END_TEST

START_TEST(set_adds_after_missing_newline)
{
	char err[256], *after;

	tmp_write_file(path, "alice:" H1, 0600);
	ck_assert_int_eq(pwfile_set(path, "bob", H2, err, sizeof(err)), 0);
	after = read_all(path);
	ck_assert_str_eq(after, "alice:" H1 "\nbob:" H2 "\n");
	free(after);
}
END_TEST

/* Every byte outside the replaced hash stays: comments, blanks, CRLF and
 * a missing final newline alike. */
START_TEST(set_replaces_user)
{
	static const char before[] =
		"# c1  \n"
		"alice:" H1 "\n"
		"\n"
		"  # indented\r\n"
		"bob:" H2 "\r\n"
		"\t\n"
		"carol:" H3;
	char err[256], *after;
	struct pwfile *pw = NULL;

	tmp_write_file(path, before, 0600);
	ck_assert_int_eq(pwfile_set(path, "bob", HN, err, sizeof(err)), 0);
	after = read_all(path);
	ck_assert_str_eq(after,
		"# c1  \n"
		"alice:" H1 "\n"
		"\n"
		"  # indented\r\n"
		"bob:" HN "\r\n"
		"\t\n"
		"carol:" H3);
	free(after);

	ck_assert_int_eq(pwfile_set(path, "carol", H1, err, sizeof(err)), 0);
	ck_assert_int_eq(pwfile_set(path, "alice", H3, err, sizeof(err)), 0);
	after = read_all(path);
	ck_assert_str_eq(after,
		"# c1  \n"
		"alice:" H3 "\n"
		"\n"
		"  # indented\r\n"
		"bob:" HN "\r\n"
		"\t\n"
		"carol:" H1);
	free(after);
	ck_assert_int_eq(pwfile_load(&pw, path, err, sizeof(err)), 0);
	ck_assert_str_eq(pwfile_lookup(pw, "alice"), H3);
	ck_assert_str_eq(pwfile_lookup(pw, "bob"), HN);
	ck_assert_str_eq(pwfile_lookup(pw, "carol"), H1);
	pwfile_free(pw);
	ck_assert_int_eq(count_entries(dir), 1);
}
END_TEST

START_TEST(set_creates_missing_file)
{
	struct stat st;
	char err[256], *after;

	umask(022);
	ck_assert_int_eq(pwfile_set(path, "alice", H1, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	after = read_all(path);
	ck_assert_str_eq(after, "alice:" H1 "\n");
	free(after);
	ck_assert_int_eq(count_entries(dir), 1);
}
END_TEST

START_TEST(set_keeps_mode_and_owner)
{
	struct stat st;
	char err[256];
	int root = geteuid() == 0;

	tmp_write_file(path, "alice:" H1 "\n", 0640);
	/* Only root can give a file away; otherwise the owner is ours. */
	if (root)
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(pwfile_set(path, "alice", H2, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	if (root) {
		ck_assert_uint_eq(st.st_uid, 65534);
		ck_assert_uint_eq(st.st_gid, 65534);
	} else {
		ck_assert_uint_eq(st.st_uid, geteuid());
	}
}
END_TEST

START_TEST(set_refuses_bad_input)
{
	char err[256], *after;
	static const char bad[] = "alice:" H1 "\nnot a line\n";

	ck_assert_int_eq(pwfile_set(path, "b@d", H1, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "invalid user name");
	ck_assert_int_eq(pwfile_set(path, "", H1, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(pwfile_set(path, "bob", "$2b$12$xx", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "the hash is not an $argon2id$ hash");
	ck_assert_int_eq(pwfile_set(path, "bob", H1 "\nroot:" H2, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "whitespace in the hash");
	ck_assert_int_eq(access(path, F_OK), -1);

	/* A broken file is pointed at, not rewritten. */
	tmp_write_file(path, bad, 0600);
	ck_assert_int_eq(pwfile_set(path, "bob", H2, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, ":2: expected user:hash"));
	after = read_all(path);
	ck_assert_str_eq(after, bad);
	free(after);
	ck_assert_int_eq(count_entries(dir), 1);
}
END_TEST

START_TEST(set_refuses_symlink)
{
	char target[160], err[256];

	snprintf(target, sizeof(target), "%s/real", dir);
	tmp_write_file(target, "alice:" H1 "\n", 0600);
	ck_assert_int_eq(symlink("real", path), 0);
	ck_assert_int_eq(pwfile_set(path, "bob", H2, err, sizeof(err)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
}
END_TEST

/* The real path from a password to a login decision. */
START_TEST(real_hash_round_trip)
{
	char hash[128], err[256];
	struct pwfile *pw = NULL;
	const char *h;

	ck_assert_int_eq(ostp_pw_hash(hash, "correct horse", 13), OSTP_OK);
	ck_assert_int_eq(pwfile_set(path, "alice", hash, err, sizeof(err)), 0);
	ck_assert_int_eq(pwfile_load(&pw, path, err, sizeof(err)), 0);
	h = pwfile_lookup(pw, "alice");
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h, hash);
	ck_assert(ostp_pw_verify(h, "correct horse", 13));
	ck_assert(!ostp_pw_verify(h, "correct horsf", 13));
	ck_assert(!ostp_pw_verify(pwfile_lookup(pw, "bob"), "correct horse", 13));
	pwfile_free(pw);
}
END_TEST

static Suite *passwd_suite(void)
{
	Suite *s = suite_create("passwd");
	TCase *tp = tcase_create("parse");
	TCase *tf = tcase_create("file");

	tcase_add_test(tp, parse_good_file);
	tcase_add_test(tp, parse_empty_and_comments_only);
	tcase_add_test(tp, parse_length_not_strlen);
	tcase_add_loop_test(tp, parse_errors, 0,
			    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tp, parse_hash_too_long);
	tcase_add_test(tp, parse_nul_byte);
	tcase_add_test(tp, parse_too_large);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, load_file);
	tcase_add_test(tf, load_missing_file);
	tcase_add_test(tf, set_adds_user);
	tcase_add_test(tf, set_adds_after_missing_newline);
	tcase_add_test(tf, set_replaces_user);
	tcase_add_test(tf, set_creates_missing_file);
	tcase_add_test(tf, set_keeps_mode_and_owner);
	tcase_add_test(tf, set_refuses_bad_input);
	tcase_add_test(tf, set_refuses_symlink);
	tcase_add_test(tf, real_hash_round_trip);
	/* Argon2id is slow under the sanitizers and valgrind. */
	tcase_set_timeout(tf, 60);
	suite_add_tcase(s, tf);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(passwd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
