/* SPDX-License-Identifier: ISC */
/*
 * Replacing a file atomically, for files a running daemon may re-read at
 * any moment (the trusted users list, the password file): whoever opens
 * the path sees the old contents or the new ones, never a mix.
 */
#ifndef OSTP_COMMON_ATOMICFILE_H
#define OSTP_COMMON_ATOMICFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Replaces the file at path with len bytes of buf: a temporary file in the
 * same directory (created 0600, so nothing in it is readable by others
 * meanwhile) that takes the owner and mode of orig, or new_mode with our
 * owner when orig is NULL; written, fsync'd, renamed over path, then the
 * directory fsync'd.  A symbolic link at path is refused: rename() would
 * replace the link and leave the real file unchanged.  A failed attempt
 * leaves no temporary file behind.  0, or -errno with "what: why" in err. */
int atomic_replace(const char *path, const char *buf, size_t len,
		   const struct stat *orig, mode_t new_mode, char *err, size_t errlen);

/* The directory part of path ("." for a bare name, "/" for "/name"), for
 * the caller to free; NULL when out of memory. */
char *path_dir(const char *path);

#endif
