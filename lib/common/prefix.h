/* SPDX-License-Identifier: ISC */
/* IP prefixes as written in configuration and on the ostpctl command line. */
#ifndef OSTP_COMMON_PREFIX_H
#define OSTP_COMMON_PREFIX_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "ffff:...:ffff/128" plus the terminating NUL */
#define PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

struct prefix {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* IPv4 in the first 4 bytes, rest zero */
	uint8_t len;
};

/* "198.18.0.1/24", "fd00::1/64"; a bare address means /32 or /128.
 * Host bits are kept: an interface address needs them. */
bool parse_prefix(const char *text, int *family, uint8_t addr[16],
		  uint8_t *prefixlen);
/* Writes "addr/len" into buf (PREFIX_STRLEN is enough) and returns buf. */
char *prefix_format(const struct prefix *p, char *buf, size_t size);
/* addr holds 4 bytes for AF_INET, 16 for AF_INET6. */
bool prefix_contains(const struct prefix *p, int family, const uint8_t *addr);
/* True when no host bits are set, as routes and allowed_ips require. */
bool prefix_is_network(const struct prefix *p);
/* Byte length of an address of this family: 4, 16, or 0 if unknown. */
size_t prefix_addr_len(int family);

#endif
