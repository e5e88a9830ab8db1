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

#include "knownhosts.h"
#include "tmpfiles.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	tmp_dir_create(dir, sizeof(dir), "knownhosts");
	snprintf(path, sizeof(path), "%s/known_hosts", dir);
}

static void teardown(void)
{
	tmp_dir_remove(dir);
}

static void write_file(const char *content)
{
	tmp_write_file(path, content, 0600);
}

static char *read_all(void)
{
	static char buf[4096];

	tmp_read_text(path, buf, sizeof(buf));
	return buf;
}

static void fill(uint8_t key[32], uint8_t v)
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(v + i);
}

/* base64 of the 32 bytes 0x00..0x1f and of 0x40..0x5f. */
#define K0  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K40 "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

START_TEST(add_then_lookup)
{
	uint8_t k1[32], k2[32], got[32];
	struct stat st;

	umask(022);
	fill(k1, 0x00);
	fill(k2, 0x40);
	ck_assert_int_eq(knownhosts_add(path, "198.18.0.1:7000", k1), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(knownhosts_add(path, "[fd00::1]:7000", k2), 0);
	ck_assert_str_eq(read_all(),
			 "198.18.0.1:7000 " K0 "\n"
			 "[fd00::1]:7000 " K40 "\n");

	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.1:7000", got), 1);
	ck_assert_mem_eq(got, k1, 32);
	ck_assert_int_eq(knownhosts_lookup(path, "[fd00::1]:7000", got), 1);
	ck_assert_mem_eq(got, k2, 32);
}
END_TEST

START_TEST(absent_endpoint)
{
	uint8_t k[32], got[32], untouched[32];

	fill(k, 0x00);
	ck_assert_int_eq(knownhosts_add(path, "198.18.0.1:7000", k), 0);
	memset(got, 0xee, sizeof(got));
	memset(untouched, 0xee, sizeof(untouched));
	/* Same host, other port; prefix and suffix of a recorded one. */
	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.1:7001", got), 0);
	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.1:700", got), 0);
	ck_assert_int_eq(knownhosts_lookup(path, "98.18.0.1:7000", got), 0);
	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.2:7000", got), 0);
	ck_assert_mem_eq(got, untouched, 32);
}
END_TEST

START_TEST(missing_file)
{
	uint8_t got[32];

	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.1:7000", got), 0);
	/* Looking does not create it. */
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(comments_and_blanks)
{
	uint8_t got[32], want[32];

	fill(want, 0x40);
	write_file("# known hosts\n"
		   "\n"
		   "   \t\n"
		   "  # 198.18.0.1:7000 " K0 "\n"
		   "198.18.0.1:7000\t " K40 "  \r\n");
	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.1:7000", got), 1);
	ck_assert_mem_eq(got, want, 32);
}
END_TEST

/* The first key recorded for an endpoint is the one trusted. */
START_TEST(first_record_wins)
{
	uint8_t got[32], want[32];

	fill(want, 0x00);
	write_file("198.18.0.1:7000 " K0 "\n198.18.0.1:7000 " K40 "\n");
	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.1:7000", got), 1);
	ck_assert_mem_eq(got, want, 32);
}
END_TEST

START_TEST(add_after_missing_newline)
{
	uint8_t k[32], got[32];

	fill(k, 0x40);
	write_file("198.18.0.1:7000 " K0);
	ck_assert_int_eq(knownhosts_add(path, "198.18.0.2:7000", k), 0);
	ck_assert_str_eq(read_all(), "198.18.0.1:7000 " K0 "\n198.18.0.2:7000 " K40 "\n");
	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.2:7000", got), 1);
	ck_assert_mem_eq(got, k, 32);
}
END_TEST

static const char *const malformed[] = {
	"198.18.0.1:7000\n",
	"198.18.0.1:7000 \n",
	" " K0 "\n",
	"198.18.0.1:7000 not-a-key\n",
	"198.18.0.1:7000 " K0 " extra\n",
	/* 31 bytes of key, then 33. */
	"198.18.0.1:7000 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",
	"198.18.0.1:7000 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n",
	/* Unpadded. */
	"198.18.0.1:7000 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
	/* No port. */
	"198.18.0.1 " K0 "\n",
	"198.18.0.1:7000 " K0 "\n\x01:1 " K0 "\n",
	/* A bad line after the one looked up still spoils the file. */
	"198.18.0.1:7000 " K0 "\ngarbage\n",
};

START_TEST(malformed_file)
{
	uint8_t got[32];

	write_file(malformed[_i]);
	ck_assert_int_eq(knownhosts_lookup(path, "198.18.0.1:7000", got), -EINVAL);
}
END_TEST

START_TEST(bad_endpoint_refused)
{
	uint8_t k[32], got[32];

	fill(k, 0);
	ck_assert_int_eq(knownhosts_add(path, "", k), -EINVAL);
	ck_assert_int_eq(knownhosts_add(path, "host 1:7000", k), -EINVAL);
	ck_assert_int_eq(knownhosts_add(path, "host:1\n#:1", k), -EINVAL);
	ck_assert_int_eq(knownhosts_add(path, "#c:1", k), -EINVAL);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(knownhosts_lookup(path, "", got), -EINVAL);
}
END_TEST

START_TEST(unreadable_path)
{
	uint8_t got[32];

	/* A directory is neither "no record" nor a file to trust. */
	ck_assert_int_eq(knownhosts_lookup(dir, "198.18.0.1:7000", got), -EINVAL);
}
END_TEST

static Suite *knownhosts_suite(void)
{
	Suite *s = suite_create("knownhosts");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, add_then_lookup);
	tcase_add_test(tc, absent_endpoint);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, comments_and_blanks);
	tcase_add_test(tc, first_record_wins);
	tcase_add_test(tc, add_after_missing_newline);
	tcase_add_loop_test(tc, malformed_file, 0,
			    (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(tc, bad_endpoint_refused);
	tcase_add_test(tc, unreadable_path);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(knownhosts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
