/* SPDX-License-Identifier: ISC */
/*
 * The server's routing decision: the session whose user owns the longest
 * matching prefix (its pushed addresses and its allowed_ips) gets the
 * packet; a session may only use sources inside those same prefixes, as
 * WireGuard's allowed IPs do.
 */
#include <string.h>

#include "daemon.h"
#include "prefix.h"

bool packet_addrs(const uint8_t *pkt, size_t len, int *family,
		  const uint8_t **src, const uint8_t **dst)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		*family = AF_INET;
		*src = pkt + 12;
		*dst = pkt + 16;
		return true;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		*family = AF_INET6;
		*src = pkt + 8;
		*dst = pkt + 24;
		return true;
	}
	return false;
}

/* Longest prefix of the user's that contains addr, or -1. */
static int match_len(const struct ostpd_user *u, int family, const uint8_t *addr)
{
	int best = -1;

	for (size_t i = 0; i < u->n_addr; i++) {
		/* a pushed address is the client's own: route it as a host */
		struct prefix host = u->addr[i];

		host.len = host.family == AF_INET ? 32 : 128;
		if (prefix_contains(&host, family, addr) && host.len > best)
			best = host.len;
	}
	for (size_t i = 0; i < u->n_allowed_ips; i++) {
		const struct prefix *p = &u->allowed_ips[i];

		if (prefix_contains(p, family, addr) && p->len > best)
			best = p->len;
	}
	return best;
}

/* The user's configured prefixes and those added at run time. */
static int conn_match(const struct ostpd *d, const struct conn *c, int family,
		      const uint8_t *addr)
{
	int best = c->ucfg ? match_len(c->ucfg, family, addr) : -1;

	for (size_t i = 0; i < d->n_routes; i++) {
		const struct runtime_route *r = &d->routes[i];

		if (r->prefix.len > best && strcmp(r->user, c->user) == 0 &&
		    prefix_contains(&r->prefix, family, addr))
			best = r->prefix.len;
	}
	return best;
}

struct conn *route_lookup(struct ostpd *d, int family, const uint8_t *addr)
{
	struct conn *best = NULL;
	int best_len = -1;

	for (struct conn *c = d->conns; c; c = c->next) {
		int len;

		if (c->dead || c->kind != CONN_ACCEPTED || !c->user[0] || !c->established_ms)
			continue;
		len = conn_match(d, c, family, addr);
		/* on a tie the newest session wins: a reconnect replaces a
		 * session whose death the server has not noticed yet */
		if (len > best_len || (len == best_len && len >= 0 &&
				       c->established_ms >= best->established_ms)) {
			best = c;
			best_len = len;
		}
	}
	return best_len >= 0 ? best : NULL;
}

bool route_source_allowed(const struct ostpd *d, const struct conn *c, int family,
			  const uint8_t *addr)
{
	return c->user[0] && conn_match(d, c, family, addr) >= 0;
}
