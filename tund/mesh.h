/* SPDX-License-Identifier: ISC */
/*
 * The member role: direct links to the other members the OCS vouches
 * for (docs/PROTOCOL.md 4.6), the path each member's traffic takes
 * (direct while a link is healthy, else relayed by the OCS), and the
 * mesh listener.
 *
 * Who dials: a member dials every member that accepts links, as long as
 * it holds fewer than max_links; when both accept, the one with the
 * lower key dials at once and the other only after dial_delay_ms without
 * a link.  Two links that meet anyway are settled by the protocol's rule
 * (the link dialed by the lower key stays), the same on both sides.
 *
 * Health: a link is probed (ECHO) as soon as it is established and
 * carries traffic only after MESH_PROBES answers; it is given up after
 * dead_ms without input (the library's dead timer, keepalives every
 * keepalive_ms of silence) or when TCP gives up on unacknowledged data
 * (TCP_USER_TIMEOUT = dead_ms).  Its prefixes then fall back to the OCS.
 */
#ifndef OSTPD_MESH_H
#define OSTPD_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshlist.h"
#include "ostp.h"

#define MESH_PROBES       3      /* answered probes before a link carries traffic */
#define MESH_PROBE_MS     100    /* between probes */
#define MESH_PROBE_MAX    30     /* probes sent before the link is given up */
#define MESH_UNAUTH_MAX   64     /* mesh connections not yet authenticated */
#define MESH_TICK_MS      1000
/* dials in a row answered by another key before an entry is left alone */
#define MESH_WRONG_KEY_MAX 3
/* how long a dialer whose key is not listed yet waits for the OCS's
 * record of it (a member that has just joined) */
#define MESH_VERDICT_WAIT_MS 1000

struct ostpd;
struct link;
struct mesh;

enum mesh_path {
	MESH_PATH_DOWN,                  /* neither a link nor the OCS */
	MESH_PATH_RELAY,                 /* through the OCS */
	MESH_PATH_DIRECT,
};

/* One member as `ostpctl show` reports it. */
struct mesh_peer_info {
	char name[OSTP_USER_MAX + 1];
	uint8_t key[32];
	char prefixes[OSTP_MEMBER_PREFIX_MAX * 45];   /* "p1,p2" */
	enum mesh_path path;
	char endpoint[64];               /* the direct link's remote address, or "" */
	char listens[64];                /* where it accepts links, or "" */
	uint64_t link_age_ms;            /* since the current link was established; 0 none */
	uint64_t handshake_ago_ms;       /* since its last handshake; 0 never */
	uint32_t rtt_us;                 /* TCP's smoothed RTT on the direct link; 0 none */
	uint64_t rx_bytes, tx_bytes;     /* over every direct link to it */
	uint32_t failovers;              /* direct paths lost */
	uint64_t drop_source;
	bool dialer;                     /* we dialed the current link */
	char last_error[96];
};

/* Before the privilege drop: the identity key is loaded, the listener
 * bound.  0 or -errno (logged). */
int mesh_start(struct ostpd *d);
/* Links closed (shutdown), then: */
void mesh_free(struct ostpd *d);

/* The OCS session k is established with MESH: our endpoint is
 * announced, and the list it sends replaces ours at its SYNCED. */
void mesh_ocs_up(struct ostpd *d, struct link *k);
void mesh_ocs_member(struct ostpd *d, const struct ostp_member *m);
void mesh_ocs_down(struct ostpd *d);

/* A packet to dst went through the OCS: a member whose link closed for
 * want of traffic (or was capped) is dialed again. */
void mesh_relayed(struct ostpd *d, int family, const uint8_t *dst);

/* k is a link to (or from) another member. */
bool mesh_is_link(const struct link *k);

size_t mesh_peer_count(const struct ostpd *d);
/* The i-th member, 0 <= i < mesh_peer_count(); false past the end. */
bool mesh_peer_get(const struct ostpd *d, size_t i, struct mesh_peer_info *out);

#endif
