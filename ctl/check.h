/* SPDX-License-Identifier: ISC */
/* Checks of command-line input, done before anything is changed; each
 * prints "ostpctl: WHAT: ..." when it fails. */
#ifndef OSTPCTL_CHECK_H
#define OSTPCTL_CHECK_H

#include <stdbool.h>

#include "prefix.h"

/* A network prefix (no host bits), as routes and allowed-ips need. */
bool check_prefix(const char *what, const char *text, struct prefix *p);
/* A user or peer name: 1 to 64 of [A-Za-z0-9._-], not starting with
 * '-' or '.'; kind is "user name" or "peer name". */
bool check_name(const char *what, const char *kind, const char *name);

#endif
