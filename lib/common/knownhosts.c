/* SPDX-License-Identifier: ISC */
/*
 * The whole file is checked on every lookup, not only up to the match: a
 * damaged file is reported the first time it is read rather than when the
 * damage happens to reach the line being looked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "knownhosts.h"
#include "ostp.h"
#include "textfile.h"

#define KH_MAX_INPUT    (4u * 1024u * 1024u)
#define KH_ENDPOINT_MAX 64u     /* "[" v6 "]:" port is at most 53 */

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int endpoint_ok(const char *s, size_t n)
{
	if (n == 0 || n > KH_ENDPOINT_MAX || s[0] == '#' || memchr(s, ':', n) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* 1 with key set on a match, 0 without one, -EINVAL with *bad_line set. */
static int kh_parse(const char *buf, size_t len, const char *endpoint,
		    uint8_t key[32], size_t *bad_line)
{
	size_t pos = 0, line = 0, elen = strlen(endpoint), n, hlen;
	const char *p, *host, *k;
	int found = 0;

	while (text_next_line(buf, len, &pos, &p, &n)) {
		uint8_t lk[32];

		line++;
		ostp_text_trim(&p, &n);
		if (n == 0 || p[0] == '#')
			continue;
		host = p;
		while (n > 0 && !is_blank(*p)) {
			p++;
			n--;
		}
		hlen = (size_t)(p - host);
		while (n > 0 && is_blank(*p)) {
			p++;
			n--;
		}
		k = p;
		if (!endpoint_ok(host, hlen) || key_decode(lk, k, n) < 0) {
			*bad_line = line;
			return -EINVAL;
		}
		/* The first record wins, as it was the first key seen. */
		if (!found && hlen == elen && memcmp(host, endpoint, elen) == 0) {
			memcpy(key, lk, 32);
			found = 1;
		}
	}
	return found;
}

int knownhosts_lookup(const char *path, const char *endpoint, uint8_t key[32])
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, bad_line = 0;
	int rc;

	if (endpoint == NULL || !endpoint_ok(endpoint, strlen(endpoint)))
		return -EINVAL;
	rc = read_text_file(path, KH_MAX_INPUT, &buf, &len, &st);
	if (rc < 0)
		/* Only a missing file means "nothing recorded yet"; an
		 * unreadable one must not turn into trusting any key. */
		return rc == -ENOENT ? 0 : rc;
	/* st_size bounds what is parsed: a file growing meanwhile (another
	 * instance appending) is read as it was when looked at. */
	if (len > (size_t)st.st_size)
		len = (size_t)st.st_size;
	rc = kh_parse(buf, len, endpoint, key, &bad_line);
	free(buf);
	return rc;
}

int knownhosts_add(const char *path, const char *endpoint, const uint8_t key[32])
{
	char line[KH_ENDPOINT_MAX + 1 + IDENTITY_B64_LEN + 2];
	char b64[IDENTITY_B64_LEN];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	if (endpoint == NULL || !endpoint_ok(endpoint, strlen(endpoint)))
		return -EINVAL;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	/* A file whose last line lacks its newline would otherwise glue the
	 * new record onto it and spoil both. */
	if (st.st_size > 0) {
		char last;

		n = pread(fd, &last, 1, st.st_size - 1);
		if (n != 1) {
			/* 0: the file shrank under us since the fstat. */
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		if (last != '\n')
			line[len++] = '\n';
	}
	key_to_base64(b64, key);
	len += (size_t)snprintf(line + len, sizeof(line) - len, "%s %s\n", endpoint, b64);
	/* One write with O_APPEND: two instances recording at once each get
	 * a whole line. */
	n = write(fd, line, len);
	if (n != (ssize_t)len) {
		/* A short write says no errno of its own. */
		rc = n < 0 ? -errno : -EIO;
		goto out;
	}
	rc = fsync(fd) < 0 ? -errno : 0;
out:
	/* The first failure is the one to report. */
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}
