/* SPDX-License-Identifier: ISC */
/*
 * What the control socket may change at run time: extra prefixes owned by
 * a user's sessions, and the static peers handed out in peer blocks.  Both
 * are bounded so a control client cannot grow the daemon without limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static bool same_prefix(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

int rtable_route_add(struct ostpd *d, const struct prefix *p, const char *user)
{
	struct runtime_route *r;

	for (size_t i = 0; i < d->n_routes; i++)
		if (same_prefix(&d->routes[i].prefix, p))
			return strcmp(d->routes[i].user, user) == 0 ? -EEXIST : -EBUSY;
	if (d->n_routes >= MAX_RUNTIME_ROUTES)
		return -ENOSPC;
	r = realloc(d->routes, (d->n_routes + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	d->routes = r;
	r = &d->routes[d->n_routes++];
	r->prefix = *p;
	snprintf(r->user, sizeof(r->user), "%s", user);
	return 0;
}

int rtable_route_del(struct ostpd *d, const struct prefix *p, const char *user)
{
	for (size_t i = 0; i < d->n_routes; i++) {
		if (!same_prefix(&d->routes[i].prefix, p))
			continue;
		if (user && user[0] && strcmp(d->routes[i].user, user) != 0)
			return -ENOENT;
		d->routes[i] = d->routes[--d->n_routes];
		return 0;
	}
	return -ENOENT;
}

int rtable_peer_add(struct ostpd *d, const struct daemon_peer *peer)
{
	struct daemon_peer *p;

	for (size_t i = 0; i < d->n_peers; i++)
		if (strcmp(d->peers[i].name, peer->name) == 0)
			return -EEXIST;
	if (d->n_peers >= MAX_PEERS)
		return -ENOSPC;
	p = realloc(d->peers, (d->n_peers + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	d->peers = p;
	d->peers[d->n_peers++] = *peer;
	return 0;
}

int rtable_peer_del(struct ostpd *d, const char *name)
{
	for (size_t i = 0; i < d->n_peers; i++) {
		if (strcmp(d->peers[i].name, name) == 0) {
			memmove(&d->peers[i], &d->peers[i + 1],
				(d->n_peers - i - 1) * sizeof(d->peers[0]));
			d->n_peers--;
			return 0;
		}
	}
	return -ENOENT;
}

int rtable_load_config_peers(struct ostpd *d)
{
	for (size_t i = 0; i < d->cfg.n_peers; i++) {
		const struct ostpd_peer *cp = &d->cfg.peers[i];
		struct daemon_peer p = { .endpoint = cp->endpoint, .from_config = true };
		size_t off = 0;

		snprintf(p.name, sizeof(p.name), "%s", cp->name);
		memcpy(p.key, cp->key, 32);
		for (size_t j = 0; j < cp->n_allowed_ips && off < sizeof(p.allowed); j++) {
			char buf[PREFIX_STRLEN];

			off += (size_t)snprintf(p.allowed + off, sizeof(p.allowed) - off, "%s%s",
						j ? "," : "", prefix_format(&cp->allowed_ips[j], buf, sizeof(buf)));
		}
		if (rtable_peer_add(d, &p) < 0)
			return -1;
	}
	return 0;
}

struct ostp_peer *rtable_ostp_peers(const struct ostpd *d, size_t *n)
{
	struct ostp_peer *out = calloc(d->n_peers ? d->n_peers : 1, sizeof(*out));

	*n = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct sockaddr_storage *ss = &d->peers[i].endpoint.addr;
		struct ostp_peer *p = &out[(*n)++];

		if (ss->ss_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
			inet_ntop(AF_INET, &in->sin_addr, p->host, sizeof(p->host));
			p->port = ntohs(in->sin_port);
		} else {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, p->host, sizeof(p->host));
			p->port = ntohs(in6->sin6_port);
		}
		memcpy(p->id_pk, d->peers[i].key, 32);
	}
	return out;
}

void rtable_free(struct ostpd *d)
{
	free(d->routes);
	free(d->peers);
	d->routes = NULL;
	d->peers = NULL;
	d->n_routes = d->n_peers = 0;
}
