/* SPDX-License-Identifier: ISC */
/*
 * Reading the trusted users list and replacing it atomically (trustedit.h).
 * The daemon may re-read the list at any moment (SIGHUP, RELOAD), so the
 * file at its path must always be either the old list or the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trustedit.h"

#define TRUST_FILE_MAX (4u << 20)

int trust_file_read(const char *path, char **buf, size_t *len, struct stat *st)
{
	size_t cap = 4096, n = 0;
	char *p = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0)
		return -1;
	/* fstat on the descriptor: the mode we copy is the one we read. */
	if (fstat(fd, st) < 0)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		goto fail;
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
		/* The daemon refuses a larger list anyway. */
		if (n > TRUST_FILE_MAX) {
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
	e = errno;
	free(p);
	close(fd);
	errno = e;
	return -1;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is only durable once the directory entry reaches the disk. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The temporary file takes the original's owner and mode before any byte
 * of the new list is in it. */
static int copy_owner_mode(int fd, const char *path, const struct stat *orig,
			   char *err, size_t errlen)
{
	struct stat tst;

	if (orig == NULL) {
		if (fchmod(fd, 0644) == 0)
			return 0;
		snprintf(err, errlen, "%s: cannot set mode: %s", path, strerror(errno));
		return -1;
	}
	/* Owner first: a chown can clear mode bits set before it.  Not being
	 * allowed to give the file away only matters if it would change. */
	if (fchown(fd, orig->st_uid, orig->st_gid) < 0 &&
	    (fstat(fd, &tst) < 0 || tst.st_uid != orig->st_uid ||
	     tst.st_gid != orig->st_gid)) {
		snprintf(err, errlen, "%s: cannot keep owner: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, orig->st_mode & 07777) < 0) {
		snprintf(err, errlen, "%s: cannot keep mode: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int trust_file_write(const char *path, const char *buf, size_t len,
		     const struct stat *orig, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL, *tmp = NULL;
	struct stat lst;
	int fd = -1, rc = -1;

	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		snprintf(err, errlen, "%s: is a symbolic link; give the file it points to",
			 path);
		return -1;
	}
	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL || asprintf(&tmp, "%s/.%s.XXXXXX", dir,
				    slash ? slash + 1 : path) < 0) {
		tmp = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (copy_owner_mode(fd, path, orig, err, errlen) < 0)
		goto out;
	if (write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	sync_dir(dir);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	/* A failed attempt leaves no temporary file behind. */
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}

int trust_file_lock(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".")
		    : strndup(path, slash == path ? 1 : (size_t)(slash - path));
	int fd;

	if (dir == NULL) {
		errno = ENOMEM;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
}
