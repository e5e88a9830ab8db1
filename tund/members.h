/* SPDX-License-Identifier: ISC */
/*
 * The member list an OCS vouches for (docs/PROTOCOL.md, MEMBER records):
 * every user with a configured identity key and the mesh permission who
 * is in the trusted users list, online or not; its endpoint while its
 * session is up and has announced one.  Each member session gets the
 * whole list, then every change, coalesced over MEMBERS_FLUSH_MS and sent
 * as its output queue allows.
 *
 * The binding is configured per user (`key` in its user section), the
 * way WireGuard configures peers' public keys, not pinned at first
 * sight: a stolen password must not let an attacker's key be vouched for
 * before the real member's, and changing a key is an administrator's act.
 */
#ifndef OSTPD_MEMBERS_H
#define OSTPD_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "evloop.h"
#include "ostp.h"

/* Changes are collected this long before they are sent. */
#define MEMBERS_FLUSH_MS 50

struct link;
struct members;
/* What a member session keeps of the list: where its first listing is
 * and which members changed since.  Owned by the session's owner. */
struct member_feed;

/* Built from the configuration's users; 0 or -ENOMEM. */
int members_new(struct members **out, struct evloop *loop, const struct ostpd_config *cfg,
		const ostp_trust *trust);
void members_free(struct members *ms);
/* The trusted users list was reloaded: members that joined or left it
 * are announced (REMOVE for those that left). */
void members_trust_changed(struct members *ms, const ostp_trust *trust);

/* The user's configured settings make it a member with key id_pk. */
bool members_vouches(const struct members *ms, const struct ostpd_user *u,
		     const uint8_t id_pk[32]);
/* k (authenticated as u, its key proven, MESH agreed) is u's member
 * session from now on: it gets the list.  peer is its source address,
 * the endpoint host when it announces an empty one.  0 or -ENOMEM. */
int members_session_up(struct members *ms, struct link *k, const struct ostpd_user *u,
		       const struct sockaddr_storage *peer, struct member_feed **feed);
/* An ANNOUNCE received on k. */
void members_announce(struct members *ms, struct member_feed *feed,
		      const struct ostp_member *m);
/* k's output queue drained: more of its list may go. */
void members_pump(struct members *ms, struct member_feed *feed);
/* k is closing: its member goes offline (UPSERT without endpoint). */
void members_session_down(struct members *ms, struct member_feed *feed);

size_t members_count(const struct members *ms);

#endif
