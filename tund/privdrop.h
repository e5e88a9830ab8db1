/* SPDX-License-Identifier: ISC */
/* Dropping root after setup while keeping CAP_NET_ADMIN (addresses and
 * routes still change at run time). */
#ifndef OSTPD_PRIVDROP_H
#define OSTPD_PRIVDROP_H

#include <stddef.h>

/* Takes user's uid, group and supplementary groups (those the group
 * database lists for it, root's dropped), keeping only CAP_NET_ADMIN.
 * user == "" does nothing.  0, or -errno with a message in err. */
int privdrop(const char *user, char *err, size_t errlen);

#endif
