/* SPDX-License-Identifier: ISC */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "tmpfiles.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	tmp_dir_create(dir, sizeof(dir), "identity");
	snprintf(path, sizeof(path), "%s/identity.key", dir);
}

static void teardown(void)
{
	tmp_dir_remove(dir);
}

/* RFC 8032 section 7.1, test 1: a seed and the public key it gives. */
static const uint8_t rfc_seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4,
	0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};
static const uint8_t rfc_pk[32] = {
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3,
	0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
	0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};

START_TEST(generate_then_load)
{
	uint8_t pk[32], pk2[32], sk[64];
	char err[256] = "", text[128];
	struct stat st;

	umask(022);
	ck_assert_int_eq(identity_generate(path, pk, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* One line as `wg genkey` writes it. */
	tmp_read_text(path, text, sizeof(text));
	ck_assert_uint_eq(strlen(text), 45);
	ck_assert_int_eq(text[44], '\n');
	ck_assert_int_eq(text[43], '=');

	ck_assert_int_eq(identity_load(path, pk2, sk, err, sizeof(err)), 0);
	ck_assert_mem_eq(pk, pk2, 32);
	/* libsodium's secret key is seed || pk. */
	ck_assert_mem_eq(sk + 32, pk, 32);
	sodium_memzero(sk, sizeof(sk));
}
END_TEST

START_TEST(generate_twice_differs)
{
	uint8_t pk1[32], pk2[32];
	char err[256], p2[160];

	snprintf(p2, sizeof(p2), "%s/second.key", dir);
	ck_assert_int_eq(identity_generate(path, pk1, err, sizeof(err)), 0);
	ck_assert_int_eq(identity_generate(p2, pk2, err, sizeof(err)), 0);
	ck_assert_mem_ne(pk1, pk2, 32);
}
END_TEST

START_TEST(generate_refuses_overwrite)
{
	uint8_t pk[32], pk2[32], sk[64];
	char err[256] = "", before[128], after[128];

	ck_assert_int_eq(identity_generate(path, pk, err, sizeof(err)), 0);
	tmp_read_text(path, before, sizeof(before));
	ck_assert_int_eq(identity_generate(path, pk2, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "File exists"));
	/* The old key survives, byte for byte, and still loads. */
	tmp_read_text(path, after, sizeof(after));
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(identity_load(path, pk2, sk, err, sizeof(err)), 0);
	ck_assert_mem_eq(pk, pk2, 32);
	sodium_memzero(sk, sizeof(sk));
}
END_TEST

START_TEST(load_known_seed)
{
	char b64[IDENTITY_B64_LEN], line[80];
	uint8_t pk[32], sk[64];
	char err[256];

	key_to_base64(b64, rfc_seed);
	/* Blanks around the key and a CRLF are forgiven. */
	snprintf(line, sizeof(line), "  %s \r\n", b64);
	tmp_write_file(path, line, 0600);
	ck_assert_int_eq(identity_load(path, pk, sk, err, sizeof(err)), 0);
	ck_assert_mem_eq(pk, rfc_pk, 32);
	ck_assert_mem_eq(sk, rfc_seed, 32);
	sodium_memzero(sk, sizeof(sk));
}
END_TEST

static const mode_t open_modes[] = { 0644, 0640, 0604, 0620, 0602, 0601, 0610, 0666 };

START_TEST(load_refuses_open_mode)
{
	char b64[IDENTITY_B64_LEN], line[80], want[256], err[256] = "";
	uint8_t pk[32], sk[64];

	key_to_base64(b64, rfc_seed);
	snprintf(line, sizeof(line), "%s\n", b64);
	tmp_write_file(path, line, open_modes[_i]);
	ck_assert_int_eq(identity_load(path, pk, sk, err, sizeof(err)), -EACCES);
	snprintf(want, sizeof(want),
		 "identity key %s is readable by others; chmod 600 it", path);
	ck_assert_str_eq(err, want);
	/* 0400 is as good as 0600. */
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(identity_load(path, pk, sk, err, sizeof(err)), 0);
	sodium_memzero(sk, sizeof(sk));
}
END_TEST

static const char *const junk_files[] = {
	"",
	"\n",
	"not a key at all\n",
	"# comment\n",
	/* Two keys. */
	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\nnWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n",
	/* The RFC seed without its padding. */
	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	/* The hex form of the seed. */
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n",
};

START_TEST(load_refuses_junk)
{
	uint8_t pk[32], sk[64];
	char err[256] = "";

	tmp_write_file(path, junk_files[_i], 0600);
	ck_assert_int_eq(identity_load(path, pk, sk, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not one base64 32-byte key"));
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(load_refuses_nul_and_long_files)
{
	static const char with_nul[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n\0junk";
	char big[400];
	uint8_t pk[32], sk[64];
	char err[256];
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, with_nul, sizeof(with_nul) - 1),
			 (ssize_t)sizeof(with_nul) - 1);
	close(fd);
	ck_assert_int_eq(identity_load(path, pk, sk, err, sizeof(err)), -EINVAL);

	/* A key followed by a lot of blank space is still not a key file. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", 44);
	tmp_write_file(path, big, 0600);
	ck_assert_int_eq(identity_load(path, pk, sk, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

START_TEST(load_missing_file)
{
	uint8_t pk[32], sk[64];
	char err[256] = "";

	ck_assert_int_eq(identity_load(path, pk, sk, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_int_eq(identity_load(dir, pk, sk, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(base64_round_trip)
{
	uint8_t key[32], back[32];
	char b64[IDENTITY_B64_LEN], padded[80];

	for (int i = 0; i < 64; i++) {
		randombytes_buf(key, sizeof(key));
		key_to_base64(b64, key);
		ck_assert_uint_eq(strlen(b64), 44);
		ck_assert_int_eq(key_from_base64(back, b64), 0);
		ck_assert_mem_eq(key, back, 32);
		snprintf(padded, sizeof(padded), " \t%s\r\n ", b64);
		memset(back, 0, sizeof(back));
		ck_assert_int_eq(key_from_base64(back, padded), 0);
		ck_assert_mem_eq(key, back, 32);
	}
	key_to_base64(b64, rfc_seed);
	ck_assert_str_eq(b64, "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
}
END_TEST

START_TEST(base64_wrong_lengths)
{
	uint8_t raw[33], key[32];
	char b64[64];

	memset(raw, 0xa5, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, 31, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_int_eq(key_from_base64(key, b64), -EINVAL);
	sodium_bin2base64(b64, sizeof(b64), raw, 33, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_int_eq(key_from_base64(key, b64), -EINVAL);
	sodium_bin2base64(b64, sizeof(b64), raw, 32, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_int_eq(key_from_base64(key, b64), 0);
}
END_TEST

static const char *const junk_keys[] = {
	"",
	"   \n",
	"hello",
	/* 44 characters, one outside the alphabet. */
	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf!A=",
	/* URL-safe alphabet. */
	"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
	/* Unpadded. */
	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
	/* Non-zero bits after the last byte: a second spelling of a key. */
	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B=",
	/* A blank inside. */
	"nWGxne/9WmC6hEr0kuws xERJxWl7MmkZcDusAxyuf2A=",
	/* Two keys. */
	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A= nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
	/* Trailing garbage after the padding. */
	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=x",
	"============================================",
};

START_TEST(base64_rejects_junk)
{
	uint8_t key[32], zero[32] = { 0 };

	memset(key, 0, sizeof(key));
	ck_assert_int_eq(key_from_base64(key, junk_keys[_i]), -EINVAL);
	/* A refused key leaves the output alone. */
	ck_assert_mem_eq(key, zero, 32);
}
END_TEST

START_TEST(base64_null)
{
	uint8_t key[32];

	ck_assert_int_eq(key_from_base64(key, NULL), -EINVAL);
}
END_TEST

static Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tf = tcase_create("file");
	TCase *tb = tcase_create("base64");

	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, generate_then_load);
	tcase_add_test(tf, generate_twice_differs);
	tcase_add_test(tf, generate_refuses_overwrite);
	tcase_add_test(tf, load_known_seed);
	tcase_add_loop_test(tf, load_refuses_open_mode, 0,
			    (int)(sizeof(open_modes) / sizeof(open_modes[0])));
	tcase_add_loop_test(tf, load_refuses_junk, 0,
			    (int)(sizeof(junk_files) / sizeof(junk_files[0])));
	tcase_add_test(tf, load_refuses_nul_and_long_files);
	tcase_add_test(tf, load_missing_file);
	suite_add_tcase(s, tf);

	tcase_add_checked_fixture(tb, setup, teardown);
	tcase_add_test(tb, base64_round_trip);
	tcase_add_test(tb, base64_wrong_lengths);
	tcase_add_loop_test(tb, base64_rejects_junk, 0,
			    (int)(sizeof(junk_keys) / sizeof(junk_keys[0])));
	tcase_add_test(tb, base64_null);
	suite_add_tcase(s, tb);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(identity_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
