/* SPDX-License-Identifier: ISC */
/*
 * The key log (`key_log` in ostpd.conf(5)): every traffic key of every
 * session appended to a file, one line each, for decrypting captures with
 * the Wireshark dissector (scripts/wireshark/ostp.lua).  Off unless
 * configured; whoever reads the file reads the traffic, so never in
 * production.  The library formats the lines (struct ostp_keylog); this
 * only appends them.
 */
#ifndef OSTPD_KEYLOG_H
#define OSTPD_KEYLOG_H

#include "ostp.h"

/* Opens path for appending (created 0600) and warns loudly; path NULL or
 * "" leaves the log off.  Call before the privilege drop: the file stays
 * open.  -errno when it cannot be opened. */
int keylog_open(const char *path);
/* The hook for a session's configuration: off ({ NULL }) unless open. */
struct ostp_keylog keylog_hook(void);
void keylog_close(void);

#endif
