/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"

#define B64_KEY_CHARS (IDENTITY_B64_LEN - 1)
/* A key line is 44 characters; the slack allows blanks and a CRLF, and a
 * larger file is certainly not a key. */
#define KEY_FILE_MAX 256

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '\v' || c == '\f';
}

void key_to_base64(char out[IDENTITY_B64_LEN], const uint8_t key[32])
{
	sodium_bin2base64(out, IDENTITY_B64_LEN, key, 32,
			  sodium_base64_VARIANT_ORIGINAL);
}

int key_decode(uint8_t key[32], const char *s, size_t n)
{
	/* One spare byte so that an over-long key fails on its length rather
	 * than relying on how the decoder reports running out of room. */
	uint8_t tmp[33];
	size_t bin_len = 0;
	const char *end = NULL;
	int rc = -EINVAL;

	if (s == NULL || n != B64_KEY_CHARS)
		return -EINVAL;
	/* No ignore set: a blank inside the key means it is two things. */
	if (sodium_base642bin(tmp, sizeof(tmp), s, n, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    bin_len == 32 && end == s + n) {
		memcpy(key, tmp, 32);
		rc = 0;
	}
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

int key_from_base64(uint8_t key[32], const char *text)
{
	const char *p = text;
	size_t n;

	if (text == NULL)
		return -EINVAL;
	while (is_space(*p))
		p++;
	n = strlen(p);
	while (n > 0 && is_space(p[n - 1]))
		n--;
	return key_decode(key, p, n);
}

int identity_load(const char *path, uint8_t pk[32], uint8_t sk[64], char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	uint8_t seed[32];
	struct stat st;
	size_t used = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "identity key %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "identity key %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	/* -EINVAL as read_text_file() (textfile.h) answers for the same. */
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "identity key %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	/* Checked on the open descriptor, so a chmod between check and read
	 * cannot slip past it.  -EACCES: what is wrong is the file's
	 * permissions, not its contents. */
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "identity key %s is readable by others; chmod 600 it", path);
		close(fd);
		return -EACCES;
	}
	for (;;) {
		ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			snprintf(err, errlen, "identity key %s: %s", path, strerror(-rc));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used == sizeof(buf) - 1) {
			char c;

			if (read(fd, &c, 1) != 0) {
				snprintf(err, errlen, "identity key %s: too long for a key", path);
				rc = -EFBIG;
				goto out;
			}
			break;
		}
	}
	buf[used] = '\0';
	if (memchr(buf, '\0', used) != NULL || key_from_base64(seed, buf) < 0) {
		snprintf(err, errlen,
			 "identity key %s: not one base64 32-byte key",
			 path);
		rc = -EINVAL;
		goto out;
	}
	crypto_sign_ed25519_seed_keypair(pk, sk, seed);
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

int identity_generate(const char *path, uint8_t pk[32], char *err, size_t errlen)
{
	char line[IDENTITY_B64_LEN + 1];
	uint8_t seed[32], sk[64];
	int fd, rc = 0;

	/* libsodium gives no reason; what fails in practice is reaching the
	 * system's random source. */
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	/* O_EXCL: an existing key is an identity clients have pinned;
	 * replacing it by accident would lock every one of them out. */
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "identity key %s: %s", path, strerror(-rc));
		return rc;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_ed25519_seed_keypair(pk, sk, seed);
	key_to_base64(line, seed);
	line[IDENTITY_B64_LEN - 1] = '\n';
	{
		const char *p = line;
		size_t left = IDENTITY_B64_LEN;

		while (left > 0) {
			ssize_t n = write(fd, p, left);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				rc = -errno;
				snprintf(err, errlen, "identity key %s: %s", path,
					 strerror(-rc));
				goto out;
			}
			p += n;
			left -= (size_t)n;
		}
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		snprintf(err, errlen, "identity key %s: %s", path, strerror(-rc));
		goto out;
	}
out:
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		snprintf(err, errlen, "identity key %s: %s", path, strerror(-rc));
	}
	/* A half-written key would be refused at the next start; removing it
	 * lets the operator simply run the command again. */
	if (rc < 0)
		unlink(path);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	return rc;
}
