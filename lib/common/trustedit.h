/* SPDX-License-Identifier: ISC */
/*
 * Editing the trusted users list as text, for `ostpctl trust` and
 * `ostpctl passwd`.
 *
 * The list is edited, never regenerated: every byte of the file other than
 * the line added or removed is kept, so an operator's comments, blank lines
 * and line endings survive.  The text functions work on (buffer, length)
 * and return a new buffer, so they are tested without any file; the file
 * functions read the list and replace it atomically.
 */
#ifndef OSTP_COMMON_TRUSTEDIT_H
#define OSTP_COMMON_TRUSTEDIT_H

#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>

/* Results of the text functions: 0 or a negative errno value, with these
 * names for what each means here. */
enum trustedit_rc {
	TE_OK = 0,
	TE_PRESENT = -EEXIST,   /* add: the name is already listed (text unchanged) */
	TE_ABSENT = -ENOENT,    /* del: the name is not listed */
	TE_BADNAME = -EINVAL,   /* the name is not a valid user name */
	TE_INVALID = -EBADMSG,  /* the list does not parse; *bad_line says where */
	TE_NOMEM = -ENOMEM,
};

/* Appends "name" as a new last line, in the file's line ending (CRLF when
 * the first line ends in CRLF), after adding a line ending to a last line
 * that lacks one.  On TE_OK *out is a new NUL-terminated buffer of *outlen
 * bytes for the caller to free; on any other result *out is NULL.
 * bad_line (may be NULL) gets the 1-based line of a TE_INVALID. */
int trust_text_add(const char *buf, size_t len, const char *name,
		   char **out, size_t *outlen, size_t *bad_line);
/* Removes every line that names "name" (surrounding blanks allowed, as the
 * parser allows them), each with its line ending; comment lines such as
 * "// name" are never touched. */
int trust_text_del(const char *buf, size_t len, const char *name,
		   char **out, size_t *outlen, size_t *bad_line);
/* The listed names, one per line ("\n"), in file order, each once. */
int trust_text_list(const char *buf, size_t len, char **out, size_t *outlen,
		    size_t *bad_line);
/* A short English message for a result. */
const char *trust_text_strerror(int rc);

/* Reads the list (at most 4 MiB) into a NUL-terminated buffer; st gets the
 * file's owner and mode.  0, or -errno (-ENOENT when missing, -EINVAL for
 * anything but a regular file, -EFBIG for a larger one). */
int trust_file_read(const char *path, char **buf, size_t *len, struct stat *st);
/* Replaces the file at path with buf: a temporary file in the same
 * directory with the owner and mode of orig (mode 0644, our owner, when
 * orig is NULL: the daemon reads the list after dropping root), fsync,
 * rename, fsync of the directory.  A reader sees the old list or the new
 * one, never a mix.  A symbolic link is refused (-ELOOP): rename() would
 * replace the link and leave the real list unchanged.  0, or -errno with
 * "what: why" in err (atomic_replace(), atomicfile.h). */
int trust_file_write(const char *path, const char *buf, size_t len,
		     const struct stat *orig, char *err, size_t errlen);
/* Serialises read-modify-write cycles of concurrent ostpctl runs: an
 * exclusive flock() on the list's directory (the file itself is replaced,
 * so a lock on it would not be seen by the next writer).  The descriptor
 * to close when done, or -errno. */
int trust_file_lock(const char *path);

#endif
