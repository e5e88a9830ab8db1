/* SPDX-License-Identifier: ISC */
/* Numeric transport endpoints: "198.18.0.1:7000" and "[fd00::1]:7000". */
#ifndef OSTP_COMMON_ENDPOINT_H
#define OSTP_COMMON_ENDPOINT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* "[" address "]:" 5 digits and the NUL */
#define ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 8)

struct endpoint {
	struct sockaddr_storage addr;
	socklen_t len;
};

/* No name resolution: a daemon that starts before DNS works must not
 * depend on it, and a numeric address cannot silently change meaning.
 * Port 0 is refused. */
bool parse_endpoint(const char *text, struct sockaddr_storage *out,
		    socklen_t *len);
/* Writes the form parse_endpoint reads back and returns buf. */
char *endpoint_format(const struct sockaddr *sa, char *buf, size_t size);

#endif
