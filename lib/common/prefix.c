/* SPDX-License-Identifier: ISC */
#include "prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

size_t prefix_addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* Digits only and no leading zero, so "/024", "/+8" or "/ 8" are refused
 * instead of being read as something the writer may not have meant. */
static bool parse_len(const char *s, unsigned max, uint8_t *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint8_t)v;
	return true;
}

bool parse_prefix(const char *text, int *family, uint8_t addr[16],
		  uint8_t *prefixlen)
{
	char buf[PREFIX_STRLEN];
	uint8_t tmp[16] = { 0 };
	const char *len_text = NULL;
	char *slash;
	int fam;

	if (!text || strlen(text) >= sizeof(buf))
		return false;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		len_text = slash + 1;
	}

	/* inet_pton is strict: "1.2.3", "300.1.1.1" and "01.2.3.4" fail. */
	if (inet_pton(AF_INET, buf, tmp) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, buf, tmp) == 1)
		fam = AF_INET6;
	else
		return false;

	unsigned max = fam == AF_INET ? 32 : 128;
	uint8_t len = (uint8_t)max;
	if (len_text && !parse_len(len_text, max, &len))
		return false;

	*family = fam;
	memcpy(addr, tmp, 16);
	*prefixlen = len;
	return true;
}

char *prefix_format(const struct prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, size, "%s/%u", a, (unsigned)p->len);
	return buf;
}

/* Compares the first len bits of a and b. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned whole = len / 8, rest = len % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

bool prefix_contains(const struct prefix *p, int family, const uint8_t *addr)
{
	if (p->family != family || !prefix_addr_len(family))
		return false;
	return bits_equal(p->addr, addr, p->len);
}

bool prefix_is_network(const struct prefix *p)
{
	size_t n = prefix_addr_len(p->family);
	unsigned len = p->len;

	for (size_t i = 0; i < n; i++) {
		unsigned first = (unsigned)i * 8;
		uint8_t host;

		if (first + 8 <= len)
			continue;
		host = first >= len ? 0xff : (uint8_t)(0xffu >> (len - first));
		if (p->addr[i] & host)
			return false;
	}
	return true;
}
