/* SPDX-License-Identifier: ISC */
#ifndef OSTPCTL_PWREAD_H
#define OSTPCTL_PWREAD_H

#include <stddef.h>

#include "ostp.h"     /* OSTP_PASS_MAX: the most a client can send */

enum {
	PW_ERR_IO = -1,         /* errno says why */
	PW_ERR_EMPTY = -2,
	PW_ERR_LONG = -3,
	PW_ERR_MISMATCH = -4,
};

/* Reads the password for user: prompts "Password for USER: " and
 * "Again: " on /dev/tty with echo off when stdin is a terminal, else reads
 * one line from stdin.  pw must hold OSTP_PASS_MAX + 2 bytes; the caller
 * wipes it.  0 with *len set, or a PW_ERR_* value. */
int pw_read(const char *user, char pw[OSTP_PASS_MAX + 2], size_t *len);
/* The message for a PW_ERR_* value (PW_ERR_IO: from errno at failure). */
const char *pw_strerror(int rc);

#endif
