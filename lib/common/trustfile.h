/* SPDX-License-Identifier: ISC */
/* Loading the trusted users list file for the daemon (the format and its
 * parser are the core's: ostp_trust_parse in lib/trust.c). */
#ifndef OSTP_COMMON_TRUSTFILE_H
#define OSTP_COMMON_TRUSTFILE_H

#include <stddef.h>

#include "ostp.h"

/* Told about each line that is accepted but suspicious (a repeated name,
 * "root"), as "file:line: what"; the caller logs it. */
typedef void (*trust_file_warn_fn)(void *ctx, const char *msg);

/* Reads and parses the trusted users list; warn may be NULL.  0, or -errno
 * with "file:line: what is wrong" in err: -EINVAL for a line that is not a
 * name, -EFBIG for a list over its limits, or what reading the file gave. */
int trust_file_load(ostp_trust **out, const char *path, trust_file_warn_fn warn,
		    void *ctx, char *err, size_t errlen);

#endif
