/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshlist.h"

void meshlist_init(struct meshlist *l, const uint8_t self[32])
{
	memset(l, 0, sizeof(*l));
	memcpy(l->self, self, 32);
}

void meshlist_free(struct meshlist *l)
{
	struct mesh_peer *p = l->head, *next;

	for (; p; p = next) {
		next = p->next;
		free(p);
	}
	l->head = NULL;
	l->n = 0;
}

struct mesh_peer *meshlist_find(const struct meshlist *l, const uint8_t key[32])
{
	for (struct mesh_peer *p = l->head; p; p = p->next)
		/* identity keys are public: no need for a constant-time compare */
		if (memcmp(p->key, key, 32) == 0)
			return p;
	return NULL;
}

void meshlist_begin(struct meshlist *l)
{
	for (struct mesh_peer *p = l->head; p; p = p->next)
		p->seen = false;
}

static void unlink_peer(struct meshlist *l, struct mesh_peer *victim)
{
	for (struct mesh_peer **pp = &l->head; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			victim->next = NULL;
			l->n--;
			return;
		}
	}
}

static bool to_endpoint(const char *host, uint16_t port, struct endpoint *ep)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ep->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ep->addr;

	memset(ep, 0, sizeof(*ep));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		ep->len = sizeof(*a4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		ep->len = sizeof(*a6);
		return true;
	}
	return false;
}

/* The entry's fields from an UPSERT into *out; false when the address
 * does not parse. */
static bool read_entry(const struct ostp_member *m, struct mesh_peer *out)
{
	memcpy(out->key, m->id_pk, 32);
	snprintf(out->name, sizeof(out->name), "%s", m->name);
	out->accepts = (m->flags & OSTP_MEMBER_F_ACCEPTS) && m->port && m->host[0];
	memset(&out->ep, 0, sizeof(out->ep));
	out->ep_text[0] = '\0';
	if (out->accepts) {
		if (!to_endpoint(m->host, m->port, &out->ep))
			return false;
		endpoint_format((const struct sockaddr *)&out->ep.addr, out->ep_text,
				sizeof(out->ep_text));
	}
	out->n_prefix = 0;
	for (size_t i = 0; i < m->n_prefix && i < OSTP_MEMBER_PREFIX_MAX; i++) {
		struct prefix *p = &out->prefix[out->n_prefix++];

		memset(p, 0, sizeof(*p));
		p->family = m->prefix[i].family == 4 ? AF_INET : AF_INET6;
		p->len = m->prefix[i].prefix_len;
		memcpy(p->addr, m->prefix[i].addr, 16);
	}
	return true;
}

static bool same_entry(const struct mesh_peer *a, const struct mesh_peer *b)
{
	return strcmp(a->name, b->name) == 0 && a->accepts == b->accepts &&
	       strcmp(a->ep_text, b->ep_text) == 0 && a->n_prefix == b->n_prefix &&
	       memcmp(a->prefix, b->prefix, a->n_prefix * sizeof(a->prefix[0])) == 0;
}

int meshlist_apply(struct meshlist *l, const struct ostp_member *m, struct mesh_peer **peer,
		   enum meshlist_change *change)
{
	struct mesh_peer *p, fresh;

	*peer = NULL;
	*change = MESHLIST_NONE;
	switch (m->op) {
	case OSTP_MEMBER_SYNCED:
		*change = MESHLIST_SYNCED;
		return 0;
	case OSTP_MEMBER_REMOVE:
		p = meshlist_find(l, m->id_pk);
		if (!p)
			return 0;
		unlink_peer(l, p);
		*peer = p;
		*change = MESHLIST_REMOVED;
		return 0;
	case OSTP_MEMBER_UPSERT:
		break;
	default:
		return 0;
	}
	/* the OCS must not list us; a member ignores it if it does (4.6) */
	if (memcmp(m->id_pk, l->self, 32) == 0)
		return 0;
	memset(&fresh, 0, sizeof(fresh));
	if (!read_entry(m, &fresh))
		return -EINVAL;
	p = meshlist_find(l, m->id_pk);
	if (p) {
		p->seen = true;
		if (same_entry(p, &fresh))
			return 0;
		snprintf(p->name, sizeof(p->name), "%s", fresh.name);
		p->accepts = fresh.accepts;
		p->ep = fresh.ep;
		memcpy(p->ep_text, fresh.ep_text, sizeof(p->ep_text));
		memcpy(p->prefix, fresh.prefix, sizeof(p->prefix));
		p->n_prefix = fresh.n_prefix;
		*peer = p;
		*change = MESHLIST_CHANGED;
		return 0;
	}
	if (l->n >= MESHLIST_MAX)
		return -ENOSPC;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = fresh;
	p->seen = true;
	p->next = l->head;
	l->head = p;
	l->n++;
	*peer = p;
	*change = MESHLIST_ADDED;
	return 0;
}

struct mesh_peer *meshlist_take_unseen(struct meshlist *l)
{
	for (struct mesh_peer *p = l->head; p; p = p->next) {
		if (!p->seen) {
			unlink_peer(l, p);
			return p;
		}
	}
	return NULL;
}
