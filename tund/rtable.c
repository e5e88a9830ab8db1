/* SPDX-License-Identifier: ISC */
/*
 * What the forwarding table is built from: the prefixes of a user
 * (pushed addresses as hosts, allowed_ips) and the routes given to users
 * at run time; and the static peers, served to sessions as one shared
 * snapshot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static bool same_prefix(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr, b->addr, prefix_addr_len(a->family)) == 0;
}

/* -EEXIST from the table means the link owns it already: not an error. */
static int add_one(struct ostpd *d, const struct prefix *p, struct link *k)
{
	int err = fwd_add(&d->fwd, p, k);

	return err == -EEXIST ? 0 : err;
}

int rtable_link_up(struct ostpd *d, struct link *k, const struct ostpd_user *u)
{
	int rc = 0, err;

	for (size_t i = 0; u && i < u->n_addr; i++) {
		/* a pushed address is the client's own: route it as a host */
		struct prefix host = u->addr[i];

		host.len = host.family == AF_INET ? 32 : 128;
		if ((err = add_one(d, &host, k)) < 0)
			rc = err;
	}
	for (size_t i = 0; u && i < u->n_allowed_ips; i++)
		if ((err = add_one(d, &u->allowed_ips[i], k)) < 0)
			rc = err;
	for (size_t i = 0; i < d->n_routes; i++)
		if (strcmp(d->routes[i].user, k->user) == 0 &&
		    (err = add_one(d, &d->routes[i].prefix, k)) < 0)
			rc = err;
	return rc;
}

bool rtable_user_has(const struct ostpd_user *u, const struct prefix *p)
{
	for (size_t i = 0; u && i < u->n_addr; i++) {
		struct prefix host = u->addr[i];

		host.len = host.family == AF_INET ? 32 : 128;
		if (same_prefix(&host, p))
			return true;
	}
	for (size_t i = 0; u && i < u->n_allowed_ips; i++)
		if (same_prefix(&u->allowed_ips[i], p))
			return true;
	return false;
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

int rtable_route_del(struct ostpd *d, const struct prefix *p, const char *user,
		     struct runtime_route *removed)
{
	for (size_t i = 0; i < d->n_routes; i++) {
		struct runtime_route r = d->routes[i];

		if (!same_prefix(&r.prefix, p))
			continue;
		if (user && user[0] && strcmp(r.user, user) != 0)
			return -ENOENT;
		d->routes[i] = d->routes[--d->n_routes];
		*removed = r;
		return 0;
	}
	return -ENOENT;
}

/* ---- static peers ---------------------------------------------------------- */

static void drop_snapshot(struct ostpd *d)
{
	rtable_peers_put(d->peer_snap);
	d->peer_snap = NULL;
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
	drop_snapshot(d);
	return 0;
}

int rtable_peer_del(struct ostpd *d, const char *name)
{
	for (size_t i = 0; i < d->n_peers; i++) {
		if (strcmp(d->peers[i].name, name) == 0) {
			memmove(&d->peers[i], &d->peers[i + 1],
				(d->n_peers - i - 1) * sizeof(d->peers[0]));
			d->n_peers--;
			drop_snapshot(d);
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
		int err;

		snprintf(p.name, sizeof(p.name), "%s", cp->name);
		memcpy(p.key, cp->key, 32);
		for (size_t j = 0; j < cp->n_allowed_ips && off < sizeof(p.allowed); j++) {
			char buf[PREFIX_STRLEN];

			off += (size_t)snprintf(p.allowed + off, sizeof(p.allowed) - off, "%s%s",
						j ? "," : "", prefix_format(&cp->allowed_ips[j], buf, sizeof(buf)));
		}
		err = rtable_peer_add(d, &p);
		if (err < 0)
			return err;
	}
	return 0;
}

static struct peer_snapshot *build_snapshot(const struct ostpd *d)
{
	struct peer_snapshot *snap = calloc(1, sizeof(*snap) + d->n_peers * sizeof(snap->peers[0]));

	if (!snap)
		return NULL;
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct sockaddr_storage *ss = &d->peers[i].endpoint.addr;
		struct ostp_peer *p = &snap->peers[snap->n++];

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
	snap->refs = 1;   /* the daemon's own, until the list changes */
	return snap;
}

struct peer_snapshot *rtable_peers_get(struct ostpd *d)
{
	if (!d->n_peers)
		return NULL;
	if (!d->peer_snap)
		d->peer_snap = build_snapshot(d);
	if (d->peer_snap)
		d->peer_snap->refs++;
	return d->peer_snap;
}

void rtable_peers_put(struct peer_snapshot *snap)
{
	if (snap && --snap->refs == 0)
		free(snap);
}

void rtable_free(struct ostpd *d)
{
	drop_snapshot(d);
	free(d->routes);
	free(d->peers);
	d->routes = NULL;
	d->peers = NULL;
	d->n_routes = d->n_peers = 0;
}
