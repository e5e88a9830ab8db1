/* SPDX-License-Identifier: ISC */
/*
 * The state of one ostpd process: its TUN device, listening sockets, the
 * upstream connection when it is a client, and every session.  One thread,
 * one epoll set; every descriptor is non-blocking.
 */
#ifndef OSTPD_DAEMON_H
#define OSTPD_DAEMON_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "admit.h"
#include "config.h"
#include "endpoint.h"
#include "prefix.h"
#include "ostp.h"
#include "rtnl.h"
#include "wire.h"

#define MAX_LISTEN      8
/* Descriptors ostpd holds besides its sessions: listeners, TUN, epoll,
 * signalfd, eventfd, netlink, control socket and its clients, the
 * reserve, log. */
#define FD_OVERHEAD     64
/* How long the listeners rest when no descriptor can be had at all. */
#define ACCEPT_PAUSE_MS 100
#define TUN_BATCH       64      /* packets read from the TUN per wakeup */
#define SOCK_READ_MAX   (256u * 1024u)
#define TUN_PKT_MAX     65536u
/* Unsent bytes the kernel may hold per TCP connection: enough for a few
 * chained 64 KiB messages, short enough that latency stays in our queue
 * (bounded) rather than in the socket.  SO_SNDBUF itself is left alone so
 * autotuning keeps working. */
#define TCP_UNSENT_MAX  (256u * 1024u)
/* Sealed bytes a session may hold before ostp_send() refuses data. */
#define CONN_OUTQ_MAX   (1024u * 1024u)
/* A session whose queue is full stops TUN reads until it drains to half,
 * so the inner TCP meets back-pressure in the TUN queue instead of losing
 * packets we read and then cannot queue.  A server reads one TUN for every
 * client: one slow client may hold it for at most TUN_STALL_MAX_MS, after
 * which that client's packets are dropped until its queue drains. */
#define TUN_STALL_MAX_MS 20
/* Bounds on what the control socket can add at run time. */
#define MAX_RUNTIME_ROUTES 4096
#define MAX_PEERS       4080     /* what 255 peer blocks can carry */

struct counters {
	uint64_t rx_bytes, rx_packets;   /* from the peer */
	uint64_t tx_bytes, tx_packets;   /* to the peer */
	uint64_t drop_queue;             /* output queue full */
	uint64_t drop_source;            /* inner source not allowed */
	uint64_t drop_noroute;           /* no session owns the destination */
};

enum conn_kind { CONN_ACCEPTED, CONN_UPSTREAM };

struct runtime_route {
	struct prefix prefix;
	char user[OSTP_USER_MAX + 1];
};

struct daemon_peer {
	char name[CONFIG_NAME_MAX + 1];
	struct endpoint endpoint;
	uint8_t key[32];
	char allowed[256];               /* "p1,p2" as given */
	bool from_config;
};

/* What an epoll event points at. */
enum watch_kind { W_TUN, W_LISTEN, W_SIGNAL, W_CONTROL, W_AUTH, W_CONN, W_CTLCLIENT };
struct watch {
	enum watch_kind kind;
	int fd;
};

struct conn {
	struct watch w;                  /* first: epoll data points here */
	uint64_t id;                     /* never reused: names it to the auth worker */
	struct conn *next, *prev;
	int fd;
	enum conn_kind kind;
	ostp_session *s;
	char endpoint[64];
	char user[OSTP_USER_MAX + 1];
	const struct ostpd_user *ucfg;   /* server: settings of the user, or NULL */
	bool connecting;                 /* upstream: non-blocking connect pending */
	bool want_out;                   /* EPOLLOUT armed */
	bool dead;
	bool shedding;                   /* held the TUN too long: drop until drained */
	uint64_t created_ms, established_ms;
	uint16_t spw;
	struct counters ctr;
	struct admit_ticket adm;         /* server: counted until authenticated */
};

struct ostpd {
	struct ostpd_config cfg;
	const char *cfg_path;
	int ep;
	struct watch tun_w, sig_w, ctl_w, auth_w;
	struct authq *authq;
	uint64_t next_conn_id;
	struct watch listen_w[MAX_LISTEN];
	struct admit *admit;             /* server: admission control */
	uint64_t admit_next;             /* when admit_tick() wants to run */
	int reserve_fd;                  /* spent to refuse a connection at EMFILE */
	uint64_t listen_paused_until;    /* 0: listeners armed */
	uint64_t fd_window_start;        /* descriptor shortage, rate-limited log */
	unsigned fd_shed, fd_refused;
	unsigned nofile_limit;
	int tun_fd;
	char ifname[IFNAMSIZ];
	unsigned ifindex;
	struct rtnl rtnl;
	int listen_fd[MAX_LISTEN];
	size_t n_listen;
	int sig_fd;
	int ctl_fd;
	char ctl_path[108];
	struct ctl_clients *ctlc;        /* connected control clients (ctlsock.c) */

	struct conn *conns;
	size_t n_conns, n_established;
	struct conn *upstream;
	uint64_t reconnect_at;
	unsigned backoff_ms;

	bool have_identity;
	uint8_t id_pk[32], id_sk[64];
	ostp_trust *trust;
	struct pwfile *pw;

	/* prefixes given to a user's sessions by `ostpctl route add ... user` */
	struct runtime_route *routes;
	size_t n_routes;
	/* static peers: from the configuration, then `ostpctl peer add` */
	struct daemon_peer *peers;
	size_t n_peers;

	char *client_password;           /* sodium_malloc'd, read before privdrop */
	char last_error[128];            /* why the upstream session last ended */
	char upstream_addrs[256];        /* what the server assigned us */

	struct counters tun_ctr;
	struct conn *tun_blocker;        /* full session TUN reads wait for, or NULL */
	uint64_t tun_paused_ms;
	bool quit;
	uint8_t *pkt;                    /* virtio-net header + TUN_PKT_MAX bytes */
	uint8_t *seg;                    /* one segment cut from a GSO packet */
	uint8_t *rbuf;                   /* SOCK_READ_MAX bytes */
};

uint64_t now_ms(void);
int watch_add(struct ostpd *d, struct watch *w, int fd, enum watch_kind kind, uint32_t events);

/* conn.c */
void conn_tune_socket(int fd);
struct conn *conn_new(struct ostpd *d, int fd, enum conn_kind kind, const char *endpoint);
void conn_close(struct ostpd *d, struct conn *c, uint8_t reason, const char *why);
void conn_on_io(struct ostpd *d, struct conn *c, uint32_t events);
void conn_flush(struct ostpd *d, struct conn *c);
/* Bytes read from c's socket into its session, events handled; with
 * n == 0 it handles input the session held (during a password check). */
void conn_feed(struct ostpd *d, struct conn *c, const uint8_t *buf, size_t n);
void conn_tick(struct ostpd *d, struct conn *c, uint64_t now);
void conn_reap(struct ostpd *d);
/* Daemon shutdown: authenticated close of every session, lingering
 * briefly so each CLOSE is read before the socket goes away. */
void conn_close_all(struct ostpd *d, uint8_t reason, const char *why);
/* Queue one IP packet for the peer; counts drops. */
void conn_send_packet(struct ostpd *d, struct conn *c, uint8_t msg_type,
		      const uint8_t *pkt, size_t len);

/* route.c: which session owns an inner address */
struct conn *route_lookup(struct ostpd *d, int family, const uint8_t *addr);
bool route_source_allowed(const struct ostpd *d, const struct conn *c, int family,
			  const uint8_t *addr);
/* Family and addresses of an IP packet; false when it is not one. */
bool packet_addrs(const uint8_t *pkt, size_t len, int *family,
		  const uint8_t **src, const uint8_t **dst);

/* rtable.c: run-time routes and peers */
int rtable_route_add(struct ostpd *d, const struct prefix *p, const char *user);
int rtable_route_del(struct ostpd *d, const struct prefix *p, const char *user);
int rtable_peer_add(struct ostpd *d, const struct daemon_peer *peer);
int rtable_peer_del(struct ostpd *d, const char *name);
int rtable_load_config_peers(struct ostpd *d);
/* The peers as libostp peer entries; caller frees. */
struct ostp_peer *rtable_ostp_peers(const struct ostpd *d, size_t *n);
void rtable_free(struct ostpd *d);

/* tunio.c */
void tun_on_readable(struct ostpd *d);
void tun_deliver(struct ostpd *d, struct conn *from, uint8_t msg_type, const uint8_t *data,
		 size_t len);
/* c's output queue shrank or c is closing: TUN reads may go on. */
void tun_conn_drained(struct ostpd *d, struct conn *c);
/* Ends a TUN pause that has lasted TUN_STALL_MAX_MS; returns the time the
 * current pause must end by, or UINT64_MAX. */
uint64_t tun_check_stall(struct ostpd *d, uint64_t now);

/* ocs.c: the server role */
int ocs_listen(struct ostpd *d);
void ocs_on_accept(struct ostpd *d, int lfd);
/* Timers of the server role: admission summaries, paused listeners.
 * Returns when it wants to run next. */
uint64_t ocs_tick(struct ostpd *d, uint64_t now);
/* Listeners off until the given time (descriptors ran out). */
void ocs_pause_listeners(struct ostpd *d, uint64_t until);
void ocs_on_auth(struct ostpd *d, struct conn *c, const struct ostp_event *ev);
void ocs_on_established(struct ostpd *d, struct conn *c);
struct auth_job;
void ocs_auth_done(struct ostpd *d, struct auth_job *job);
int ocs_reload(struct ostpd *d);

/* upstream.c: the client role */
void upstream_connect(struct ostpd *d);
void upstream_on_event(struct ostpd *d, struct conn *c, const struct ostp_event *ev);
void upstream_lost(struct ostpd *d, struct conn *c);
int upstream_init(struct ostpd *d);
void upstream_free(struct ostpd *d);

/* ctlsock.c */
int ctl_open(struct ostpd *d);
void ctl_on_readable(struct ostpd *d);
/* A W_CTLCLIENT watch: one control client, or the timer of their deadlines. */
void ctl_on_client(struct ostpd *d, struct watch *w, uint32_t events);
void ctl_close(struct ostpd *d);

#endif
