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

/* 0, or -1 with "file:line: what is wrong" in err (-1: see
 * lib/common/README.md).  A missing file is an error.  At most 65536
 * entries, 4 MiB. */
int pwfile_load(struct pwfile **out, const char *path, char *err, size_t errlen);
/* Parse from memory; name is used in error messages. */
int pwfile_parse(struct pwfile **out, const char *name, const char *buf, size_t len,
		 char *err, size_t errlen);
/* The stored hash, or NULL for an unknown user. */
const char *pwfile_lookup(const struct pwfile *pw, const char *user);
void pwfile_free(struct pwfile *pw);

/* Replace or add user's hash in the file at path, atomically (temporary
 * file in the same directory, fsync, rename), keeping other lines and
 * comments as they are; creates the file (mode 0600) when missing.  0, or
 * -1 with the reason in err. */
int pwfile_set(const char *path, const char *user, const char *hash, char *err, size_t errlen);

#endif
