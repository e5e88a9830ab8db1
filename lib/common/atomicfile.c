/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"

char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".")
		    : strndup(path, slash == path ? 1 : (size_t)(slash - path));

	return dir;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
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
 * of the new contents is in it. */
static int copy_owner_mode(int fd, const char *path, const struct stat *orig,
			   mode_t new_mode, char *err, size_t errlen)
{
	struct stat tst;
	int e;

	if (orig == NULL) {
		if (fchmod(fd, new_mode) == 0)
			return 0;
		e = errno;
		snprintf(err, errlen, "%s: cannot set mode: %s", path, strerror(e));
		return -e;
	}
	/* Owner first: a chown can clear mode bits set before it.  Not being
	 * allowed to give the file away only matters if it would change. */
	if (fchown(fd, orig->st_uid, orig->st_gid) < 0 &&
	    (fstat(fd, &tst) < 0 || tst.st_uid != orig->st_uid ||
	     tst.st_gid != orig->st_gid)) {
		e = errno;
		snprintf(err, errlen, "%s: cannot keep owner: %s", path, strerror(e));
		return -e;
	}
	if (fchmod(fd, orig->st_mode & 07777) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: cannot keep mode: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

int atomic_replace(const char *path, const char *buf, size_t len,
		   const struct stat *orig, mode_t new_mode, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL, *tmp = NULL;
	struct stat lst;
	int fd = -1, rc;

	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		snprintf(err, errlen, "%s: is a symbolic link; give the file it points to",
			 path);
		return -ELOOP;
	}
	dir = path_dir(path);
	if (dir == NULL || asprintf(&tmp, "%s/.%s.XXXXXX", dir,
				    slash ? slash + 1 : path) < 0) {
		tmp = NULL;
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	/* mkostemp creates the file 0600 whatever the umask. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	rc = copy_owner_mode(fd, path, orig, new_mode, err, errlen);
	if (rc < 0)
		goto out;
	rc = write_all(fd, buf, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		goto out;
	}
	rc = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	sync_dir(dir);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}
