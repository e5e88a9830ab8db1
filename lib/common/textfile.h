/* SPDX-License-Identifier: ISC */
/*
 * Reading small text files (configuration, lists, password and key files)
 * whole into memory, and walking their lines.  Lines are trimmed with
 * ostp_text_trim() (ostp.h), the trusted users list's rule.
 */
#ifndef OSTP_COMMON_TEXTFILE_H
#define OSTP_COMMON_TEXTFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Reads a whole file of at most max bytes into a NUL-terminated buffer
 * the caller frees; *len does not count the NUL.  When st is not NULL it
 * gets the file's status (of the descriptor read, so it describes the
 * bytes returned) and anything but a regular file is refused.  0, or
 * -errno: -ENOENT for a missing file, -EFBIG for one over max bytes,
 * -EINVAL for one that is not a regular file. */
int read_text_file(const char *path, size_t max, char **buf, size_t *len,
		   struct stat *st);
/* read_text_file without the status, for files of fewer than max bytes:
 * a file of max bytes or more is refused with -EFBIG. */
int read_small_file(const char *path, size_t max, char **buf, size_t *len);

/* The next line of buf[0, len) from *pos: *line and *n, without its '\n';
 * *pos moves past it.  1, or 0 when there is no line left (an iterator,
 * not a failure). */
int text_next_line(const char *buf, size_t len, size_t *pos, const char **line,
		   size_t *n);

#endif
