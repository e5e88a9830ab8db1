/* SPDX-License-Identifier: ISC */
/*
 * The password file: one "user:$argon2id$..." line per user, '#' comments
 * and blank lines allowed.  Loaded whole; looked up by name.
 */
#ifndef OSTP_COMMON_PASSWD_H
#define OSTP_COMMON_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

struct pwfile;

/* 0, or -errno with "file:line: what is wrong" in err: the -errno of
 * reading the file (read_text_file(), textfile.h: -ENOENT for a missing
 * one, which is an error here), else as pwfile_parse().  At most 65536
 * entries, 4 MiB. */
int pwfile_load(struct pwfile **out, const char *path, char *err, size_t errlen);
/* Parse from memory; name is used in error messages.  0, or with the
 * message in err -EINVAL for a bad line or a repeated user, -EFBIG for
 * more than 4 MiB or 65536 users, -ENOMEM. */
int pwfile_parse(struct pwfile **out, const char *name, const char *buf, size_t len,
		 char *err, size_t errlen);
/* The stored hash, or NULL for an unknown user. */
const char *pwfile_lookup(const struct pwfile *pw, const char *user);
void pwfile_free(struct pwfile *pw);

/* Replace or add user's hash in the file at path, atomically (temporary
 * file in the same directory, fsync, rename), keeping other lines and
 * comments as they are; creates the file (mode 0600) when missing.  0, or
 * -errno with the reason in err: -EINVAL for a bad user name or hash,
 * -ELOOP for a symbolic link at path, -EFBIG when the file would outgrow
 * its limits, else as pwfile_load() and atomic_replace(). */
int pwfile_set(const char *path, const char *user, const char *hash, char *err, size_t errlen);

#endif
