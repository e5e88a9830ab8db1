/* SPDX-License-Identifier: ISC */
#ifndef OSTPD_TRUSTFILE_H
#define OSTPD_TRUSTFILE_H

#include <stddef.h>

#include "ostp.h"

/* Reads and parses the trusted users list; warnings go to the log.
 * 0, or -1 with "file:line: what is wrong" in err. */
int trust_file_load(ostp_trust **out, const char *path, char *err, size_t errlen);

#endif
