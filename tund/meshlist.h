/* SPDX-License-Identifier: ISC */
/*
 * The member list as a member holds it: what the OCS's MEMBER records
 * said about every other member (docs/PROTOCOL.md 4.6).  UPSERT adds or
 * replaces an entry, REMOVE deletes it, and a new OCS session's SYNCED
 * deletes every entry the new list did not repeat.  Data only: what the
 * links to these members do is mesh.c's.
 */
#ifndef OSTPD_MESHLIST_H
#define OSTPD_MESHLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dialer.h"
#include "endpoint.h"
#include "ostp.h"
#include "prefix.h"
#include "timerq.h"

/* Entries a member keeps at most: the OCS is trusted, but memory a
 * peer can fill is bounded all the same.  As many as an OCS lists in
 * peer blocks (MAX_PEERS); lookups scan the list. */
#define MESHLIST_MAX 4096

struct mesh;
struct mesh_link;

struct mesh_peer {
	struct mesh_peer *next;
	/* as the OCS vouches for it */
	uint8_t key[32];
	char name[OSTP_USER_MAX + 1];
	bool accepts;                    /* ep is where it takes links */
	struct endpoint ep;
	char ep_text[ENDPOINT_STRLEN];
	struct prefix prefix[OSTP_MEMBER_PREFIX_MAX];
	size_t n_prefix;
	bool seen;                       /* listed by the current OCS session */

	/* the links to it (mesh.c) */
	struct mesh *mesh;
	struct dial_target dial;
	struct timer delay;              /* the higher key's wait */
	struct mesh_link *link;          /* established, in use or being probed */
	struct mesh_link *out;           /* our dial, not yet established */
	bool direct;                     /* link passed its probes and carries traffic */
	bool dial_on;                    /* dial is initialised and not stopped */
	bool delay_passed;               /* the higher key's wait for the lower's dial is over */
	bool idle;                       /* closed for want of traffic: dial again on demand */
	bool cap_logged;                 /* its link refused at max_links was logged */
	uint64_t direct_since_ms, handshake_ms, active_ms, last_pkts;
	uint32_t failovers, path_changes, refused;
	uint64_t rx_bytes, tx_bytes;     /* of links already closed */
	uint64_t drop_source;
	char last_error[96];
};

/* What applying one record changed. */
enum meshlist_change {
	MESHLIST_NONE,                   /* nothing (a REMOVE of an unknown key, our own key) */
	MESHLIST_ADDED,
	MESHLIST_CHANGED,                /* endpoint, name or prefixes */
	MESHLIST_REMOVED,                /* *peer is unlinked: the caller frees it */
	MESHLIST_SYNCED,
};

struct meshlist {
	struct mesh_peer *head;
	size_t n;
	uint8_t self[32];                /* our own key: never an entry */
};

void meshlist_init(struct meshlist *l, const uint8_t self[32]);
/* Frees every entry (their links must be gone). */
void meshlist_free(struct meshlist *l);
struct mesh_peer *meshlist_find(const struct meshlist *l, const uint8_t key[32]);
/* A new OCS session begins its list: every entry is unseen until
 * repeated. */
void meshlist_begin(struct meshlist *l);
/* Applies an UPSERT, REMOVE or SYNCED; *peer is the entry concerned.
 * -ENOMEM, -ENOSPC past MESHLIST_MAX entries, or -EINVAL for an entry whose address does not parse (which
 * the record checks of the library already exclude). */
int meshlist_apply(struct meshlist *l, const struct ostp_member *m, struct mesh_peer **peer,
		   enum meshlist_change *change);
/* After SYNCED: unlinks one entry the new list did not repeat and
 * returns it for the caller to free, or NULL when none is left. */
struct mesh_peer *meshlist_take_unseen(struct meshlist *l);

#endif
