/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "textfile.h"

int read_text_file(const char *path, size_t max, char **buf, size_t *len,
		   struct stat *st)
{
	size_t cap = 4096, n = 0;
	char *p = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0)
		return -errno;
	if (st != NULL) {
		if (fstat(fd, st) < 0)
			goto fail;
		if (!S_ISREG(st->st_mode)) {
			errno = EINVAL;
			goto fail;
		}
	}
	for (;;) {
		ssize_t r;

		if (p == NULL || n == cap) {
			char *q;

			if (p != NULL)
				cap *= 2;
			q = realloc(p, cap + 1);
			if (q == NULL) {
				errno = ENOMEM;
				goto fail;
			}
			p = q;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
fail:
	/* errno is left as returned too, for callers that print it */
	e = errno;
	free(p);
	close(fd);
	errno = e;
	return -e;
}

int read_small_file(const char *path, size_t max, char **buf, size_t *len)
{
	return read_text_file(path, max > 0 ? max - 1 : 0, buf, len, NULL);
}

int text_next_line(const char *buf, size_t len, size_t *pos, const char **line,
		   size_t *n)
{
	const char *nl;
	size_t end;

	if (*pos >= len)
		return 0;
	nl = memchr(buf + *pos, '\n', len - *pos);
	end = nl ? (size_t)(nl - buf) : len;
	*line = buf + *pos;
	*n = end - *pos;
	*pos = nl ? end + 1 : len;
	return 1;
}
