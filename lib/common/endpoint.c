/* SPDX-License-Identifier: ISC */
#include "endpoint.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static bool parse_port(const char *s, uint16_t *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

bool parse_endpoint(const char *text, struct sockaddr_storage *out,
		    socklen_t *len)
{
	char host[INET6_ADDRSTRLEN];
	const char *port_text;
	uint16_t port;

	if (!text)
		return false;
	memset(out, 0, sizeof(*out));

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
		size_t n;

		if (!close || close[1] != ':')
			return false;
		n = (size_t)(close - text - 1);
		if (n == 0 || n >= sizeof(host))
			return false;
		memcpy(host, text + 1, n);
		host[n] = '\0';
		port_text = close + 2;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1 ||
		    !parse_port(port_text, &port))
			return false;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return true;
	}

	/* Unbracketed IPv6 is ambiguous ("fd00::1:7000"), so only IPv4
	 * is accepted here and it contains exactly one colon. */
	const char *colon = strchr(text, ':');
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	size_t n;

	if (!colon || strchr(colon + 1, ':'))
		return false;
	n = (size_t)(colon - text);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    !parse_port(colon + 1, &port))
		return false;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	*len = sizeof(*sin);
	return true;
}

char *endpoint_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, (unsigned)ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, (unsigned)ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, size, "?");
	}
	return buf;
}
