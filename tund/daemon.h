/* SPDX-License-Identifier: ISC */
/*
 * The state of one ostpd process: its event loop, its links (one TCP
 * connection and one session each, in any role), the forwarding table,
 * the TUN device, and what the server and client roles keep.  One thread
 * runs it all (password checks run on workers, authq.c); every descriptor
 * is non-blocking.
 *
 * Who calls whom, top to bottom, never back up: main -> ctlsock -> ocs,
 * upstream -> mesh -> listener, dialer, authq, pamcheck, admit, rtable -> tunio ->
 * fwd -> link -> evloop.  mesh (the member role) sits below upstream,
 * which hands it the OCS session's member records.  Calls upward go through callbacks the upper module
 * installed (link_ops, listener and dialer callbacks, authq's done).
 */
#ifndef OSTPD_DAEMON_H
#define OSTPD_DAEMON_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "admit.h"
#include "config.h"
#include "dialer.h"
#include "endpoint.h"
#include "evloop.h"
#include "fwd.h"
#include "link.h"
#include "listener.h"
#include "members.h"
#include "mesh.h"
#include "ostp.h"
#include "prefix.h"
#include "rtnl.h"

#define TUN_BATCH       64      /* packets read from the TUN per wakeup */
#define TUN_PKT_MAX     65536u
/* A session whose queue is full stops TUN reads until it drains to half,
 * so the inner TCP meets back-pressure in the TUN queue instead of losing
 * packets we read and then cannot queue.  A server reads one TUN for every
 * client: one slow client may hold it for at most TUN_STALL_MAX_MS, after
 * which that client's packets are dropped until its queue drains. */
#define TUN_STALL_MAX_MS 20
/* Bounds on what the control socket can add at run time. */
#define MAX_RUNTIME_ROUTES 4096
#define MAX_PEERS       4080     /* what 255 peer blocks can carry */
/* Descriptors ostpd holds besides its sessions: listeners, TUN, epoll,
 * signalfd, eventfd, netlink, control socket and its clients, the
 * reserve, log. */
#define FD_OVERHEAD     64

struct runtime_route {
	struct prefix prefix;
	char user[OSTP_USER_MAX + 1];
};

struct daemon_peer {
	char name[OSTP_USER_MAX + 1];
	struct endpoint endpoint;
	uint8_t key[32];
	char allowed[256];               /* "p1,p2" as given */
	bool from_config;
};

/* The peer list as the sessions that asked for it see it: immutable once
 * built, rebuilt when a peer is added or removed, and kept alive by the
 * sessions still sending it. */
struct peer_snapshot {
	unsigned refs;
	size_t n;
	struct ostp_peer peers[];
};

struct tunio {
	int fd;
	char ifname[IFNAMSIZ];
	unsigned ifindex;
	struct ev_watch w;
	struct timer stall;              /* a paused TUN waits at most TUN_STALL_MAX_MS */
	struct link *blocker;            /* full link TUN reads wait for, or NULL */
	uint64_t paused_ms;
	struct counters ctr;
	uint8_t *pkt;                    /* virtio-net header + TUN_PKT_MAX bytes */
	uint8_t *seg;                    /* one segment cut from a GSO packet */
	/* told of every packet the fallback (the OCS) takes; may be NULL */
	void (*relayed)(struct ostpd *d, int family, const uint8_t *dst);
};

/* A session the server accepted. */
struct srv_link {
	struct link k;
	struct ostpd *d;
	struct admit_ticket adm;         /* counted until authenticated */
	const struct ostpd_user *ucfg;   /* settings of its user, or NULL */
	struct peer_snapshot *peers;     /* borrowed while peer blocks are sent */
	struct sockaddr_storage peer;    /* its source address */
	struct member_feed *feed;        /* a member session: its view of the list */
};

struct server {
	struct listener listen;
	struct admit *admit;
	struct timer admit_timer;
	struct members *members;
	struct authq *authq;
	ostp_trust *trust;
	struct pwfile *pw;
	size_t n_established;
};

/* The session to the server, when this daemon is a client. */
struct cli_link {
	struct link k;
	struct ostpd *d;
};

struct client {
	struct dial_target dial;         /* the OCS; its last_error says why the session ended */
	struct cli_link *link;           /* the current session, or NULL */
	char *password;                  /* sodium_malloc'd, read before privdrop */
	char addrs[256];                 /* what the server assigned us */
};

struct ostpd {
	struct ostpd_config cfg;
	const char *cfg_path;
	struct evloop loop;
	struct link_set links;
	struct fwd fwd;
	struct tunio tun;
	struct rtnl rtnl;
	struct ev_watch sig_w;
	int sig_fd;

	bool have_identity;
	uint8_t id_pk[32], id_sk[64];

	bool is_server, is_client;
	struct server srv;
	struct client cli;
	struct mesh *mesh;               /* the member role (mesh.c), or NULL */

	/* prefixes given to a user's sessions by `ostpctl route add ... user` */
	struct runtime_route *routes;
	size_t n_routes;
	/* static peers: from the configuration, then `ostpctl peer add` */
	struct daemon_peer *peers;
	size_t n_peers;
	struct peer_snapshot *peer_snap;

	struct ev_watch ctl_w;
	int ctl_fd;
	char ctl_path[108];
	struct ctl_clients *ctlc;        /* connected control clients (ctlsock.c) */
};

/* tunio.c: packets between the TUN and the links */
int tun_setup(struct ostpd *d);
void tun_close(struct ostpd *d);
/* A packet a link delivered. */
void tun_deliver(struct ostpd *d, struct link *from, uint8_t msg_type, const uint8_t *data,
		 size_t len);
/* k's output queue shrank or k is closing: TUN reads may go on. */
void tun_link_drained(struct ostpd *d, struct link *k);

/* rtable.c: run-time routes, static peers, and the prefixes of a session */
int rtable_route_add(struct ostpd *d, const struct prefix *p, const char *user);
/* user NULL or "": whoever has it.  The route removed in *removed. */
int rtable_route_del(struct ostpd *d, const struct prefix *p, const char *user,
		     struct runtime_route *removed);
/* u's own configuration (addresses as hosts, allowed_ips) holds p. */
bool rtable_user_has(const struct ostpd_user *u, const struct prefix *p);
int rtable_peer_add(struct ostpd *d, const struct daemon_peer *peer);
int rtable_peer_del(struct ostpd *d, const char *name);
int rtable_load_config_peers(struct ostpd *d);
/* The current peer list, with a reference for the caller. */
struct peer_snapshot *rtable_peers_get(struct ostpd *d);
void rtable_peers_put(struct peer_snapshot *snap);
/* Enters every prefix of user's session k into the forwarding table. */
int rtable_link_up(struct ostpd *d, struct link *k, const struct ostpd_user *u);
void rtable_free(struct ostpd *d);

/* ocs.c: the server role */
int ocs_start(struct ostpd *d);
int ocs_start_workers(struct ostpd *d);
/* Listeners and workers off (shutdown starts); ocs_free once every link
 * is gone. */
void ocs_stop(struct ostpd *d);
void ocs_free(struct ostpd *d);
int ocs_reload(struct ostpd *d);
/* Run-time routes: stored (rtable.c) and applied to the user's sessions. */
int ocs_route_add(struct ostpd *d, const struct prefix *p, const char *user);
int ocs_route_del(struct ostpd *d, const struct prefix *p, const char *user);
/* Closes every session of user; returns how many. */
int ocs_close_user(struct ostpd *d, const char *user, uint8_t reason, const char *why);
/* The configured settings of a server session's user, or NULL. */
const struct ostpd_user *ocs_link_user(const struct link *k);

/* upstream.c: the client role */
int upstream_start(struct ostpd *d);
/* After the privilege drop: the first connection. */
void upstream_connect(struct ostpd *d);
void upstream_stop(struct ostpd *d);
bool upstream_is(const struct ostpd *d, const struct link *k);
bool upstream_up(const struct ostpd *d);

/* ctlsock.c */
int ctl_open(struct ostpd *d);
void ctl_close(struct ostpd *d);

#endif
