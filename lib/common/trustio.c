/* SPDX-License-Identifier: ISC */
/*
 * Reading the trusted users list and replacing it atomically (trustedit.h).
 * The daemon may re-read the list at any moment (SIGHUP, RELOAD), so the
 * file at its path must always be either the old list or the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "textfile.h"
#include "trustedit.h"

/* The daemon refuses a larger list anyway. */
#define TRUST_FILE_MAX (4u << 20)

int trust_file_read(const char *path, char **buf, size_t *len, struct stat *st)
{
	/* The status comes from the descriptor read: the mode we copy is the
	 * one we read. */
	return read_text_file(path, TRUST_FILE_MAX, buf, len, st);
}

int trust_file_write(const char *path, const char *buf, size_t len,
		     const struct stat *orig, char *err, size_t errlen)
{
	/* A new list is 0644: the daemon reads it after dropping root. */
	return atomic_replace(path, buf, len, orig, 0644, err, errlen);
}

int trust_file_lock(const char *path)
{
	char *dir = path_dir(path);
	int fd, e;

	if (dir == NULL)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	free(dir);
	if (fd < 0)
		return -e;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			e = errno;
			close(fd);
			return -e;
		}
	}
	return fd;
}
