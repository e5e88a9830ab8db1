/* SPDX-License-Identifier: ISC */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ostp.h"

bool check_prefix(const char *what, const char *text, struct prefix *p)
{
	memset(p, 0, sizeof(*p));
	if (!parse_prefix(text, &p->family, p->addr, &p->len)) {
		fprintf(stderr, "ostpctl: %s: bad prefix '%s'\n", what, text);
		return false;
	}
	if (!prefix_is_network(p)) {
		fprintf(stderr, "ostpctl: %s: bad prefix '%s': host bits are set\n", what, text);
		return false;
	}
	return true;
}

bool check_name(const char *what, const char *kind, const char *name)
{
	size_t n = strlen(name);

	if (n > OSTP_USER_MAX) {
		fprintf(stderr, "ostpctl: %s: bad %s: %zu bytes long, at most %u allowed\n",
			what, kind, n, OSTP_USER_MAX);
		return false;
	}
	if (!ostp_username_valid(name, n)) {
		fprintf(stderr, "ostpctl: %s: bad %s '%s' (1 to %u of A-Z a-z 0-9 . _ -, "
			"not starting with '.' or '-')\n", what, kind, name, OSTP_USER_MAX);
		return false;
	}
	return true;
}
