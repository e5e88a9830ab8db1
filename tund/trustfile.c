/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "trustfile.h"

#define TRUST_FILE_MAX (4u << 20)

int read_small_file(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *p;

	if (fd < 0)
		return -1;
	p = malloc(cap + 1);
	for (;;) {
		ssize_t r;

		if (!p) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		if (n == cap) {
			char *q;

			if (cap >= max) {
				free(p);
				close(fd);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			q = realloc(p, cap + 1);
			if (!q)
				free(p);
			p = q;
			continue;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(p);
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
}

struct warn_ctx {
	const char *path;
};

static void warn_line(void *ctx, size_t line, const char *msg)
{
	const struct warn_ctx *w = ctx;

	log_warn("%s:%zu: %s", w->path, line, msg);
}

int trust_file_load(ostp_trust **out, const char *path, char *err, size_t errlen)
{
	struct warn_ctx w = { path };
	size_t len, bad_line = 0;
	char *buf;
	int rc;

	if (read_small_file(path, TRUST_FILE_MAX, &buf, &len) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ostp_trust_parse(out, buf, len, &bad_line, warn_line, &w);
	free(buf);
	if (rc != OSTP_OK) {
		if (bad_line)
			snprintf(err, errlen, "%s:%zu: %s", path, bad_line, ostp_strerror(rc));
		else
			snprintf(err, errlen, "%s: %s", path, ostp_strerror(rc));
		return -1;
	}
	return 0;
}
