/* SPDX-License-Identifier: ISC */
/*
 * The forwarding decision, in one place: where a packet read from the TUN
 * goes, and what happens to a packet a link delivered (to the TUN,
 * relayed to another link, or dropped and why).  One longest-prefix table
 * maps every prefix a session owns (its user's addresses, allowed_ips and
 * run-time routes) to its link; it changes when sessions come and go and
 * when routes change, and is never scanned per packet.  The source check
 * is a lookup too: a packet's source must belong to the link it came from.
 *
 * Decisions only: no I/O, so they are tested in memory (tunio.c acts).
 */
#ifndef OSTPD_FWD_H
#define OSTPD_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

struct link;
struct ptable;

/* What a session may do, resolved once when it is authenticated. */
struct fwd_policy {
	bool check_source;       /* its packets' sources must be its own prefixes */
	bool lookup_dest;        /* its packets may go to other links, not only the TUN */
	bool may_relay;          /* ... and are relayed there (else dropped) */
};

/* A member of the server: its sources are checked, and it reaches other
 * members only with the RELAY permission. */
extern const struct fwd_policy fwd_policy_member;
extern const struct fwd_policy fwd_policy_member_relay;
/* A mesh link: its sources are the member's prefixes, and what it sends
 * is for us (members do not relay for each other). */
extern const struct fwd_policy fwd_policy_mesh;
/* The server seen from a client: everything it sends goes to the TUN. */
extern const struct fwd_policy fwd_policy_upstream;

struct fwd {
	struct ptable *table;    /* prefix -> struct link * */
	struct link *fallback;   /* where the TUN's unmatched packets go (the OCS), or NULL */
};

enum fwd_action {
	FWD_TO_TUN,
	FWD_TO_LINK,
	FWD_DROP_MALFORMED,      /* not an IPv4 or IPv6 packet */
	FWD_DROP_SOURCE,         /* the sender does not own the source address */
	FWD_DROP_NOROUTE,        /* nobody owns the destination */
	FWD_DROP_NORELAY,        /* another link owns it, and the sender may not relay */
};

struct fwd_decision {
	enum fwd_action action;
	struct link *to;         /* FWD_TO_LINK */
};

/* 0 or -ENOMEM. */
int fwd_init(struct fwd *f);
void fwd_free(struct fwd *f);

/* Family and addresses of an IP packet; false when it is not one. */
bool packet_addrs(const uint8_t *pkt, size_t len, int *family,
		  const uint8_t **src, const uint8_t **dst);

/* A prefix k owns from now on (newest owner wins); 0 or -errno. */
int fwd_add(struct fwd *f, const struct prefix *p, struct link *k);
int fwd_del(struct fwd *f, const struct prefix *p, struct link *k);
/* k is gone: every prefix it owned is released. */
void fwd_forget(struct fwd *f, struct link *k);
/* The link that owns addr, or NULL. */
struct link *fwd_owner(const struct fwd *f, int family, const uint8_t *addr);

struct fwd_decision fwd_from_tun(const struct fwd *f, const uint8_t *pkt, size_t len);
struct fwd_decision fwd_from_link(const struct fwd *f, const struct link *from,
				  const uint8_t *pkt, size_t len);

#endif
