/* SPDX-License-Identifier: ISC */
/*
 * A link: one TCP connection carrying one OSTP session, whatever the role.
 * It moves bytes between the socket and the session, runs the session's
 * timers, and hands every session event to the callbacks its owner (the
 * server, the client, a mesh member) installed.  It knows nothing of
 * roles, users or the TUN device.
 */
#ifndef OSTPD_LINK_H
#define OSTPD_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "ostp.h"

#define LINK_ENDPOINT_MAX 64
/* Sealed bytes a session may hold before ostp_send() refuses data. */
#define LINK_OUTQ_MAX   (1024u * 1024u)
#define LINK_READ_MAX   (256u * 1024u)
/* Unsent bytes the kernel may hold per TCP connection: enough for a few
 * chained 64 KiB messages, short enough that latency stays in our queue
 * (bounded) rather than in the socket.  SO_SNDBUF itself is left alone so
 * autotuning keeps working. */
#define LINK_TCP_UNSENT_MAX (256u * 1024u)

struct counters {
	uint64_t rx_bytes, rx_packets;   /* from the peer */
	uint64_t tx_bytes, tx_packets;   /* to the peer */
	uint64_t drop_queue;             /* output queue full */
	uint64_t drop_source;            /* inner source not allowed */
	uint64_t drop_noroute;           /* no session owns the destination */
};

struct link;
struct fwd_policy;

struct link_ops {
	/* The non-blocking connect finished (dialed links only); may be NULL. */
	void (*on_connected)(struct link *k);
	/* Every session event but OSTP_EV_CLOSED. */
	void (*on_event)(struct link *k, const struct ostp_event *ev);
	/* The link is ending: the session's CLOSE is queued and flushed as
	 * far as the socket takes it.  Called once; the link is freed after
	 * the current loop iteration. */
	void (*on_close)(struct link *k, const char *why);
	/* Its output queue drained to half or below (or it closed). */
	void (*on_drain)(struct link *k);
	/* Frees the owner's structure around the link. */
	void (*on_free)(struct link *k);
};

struct link_set {
	struct link *head;
	size_t n;
	size_t n_dead;                   /* closed, freed by the next link_reap() */
	uint64_t next_id;
	uint8_t *rbuf;                   /* LINK_READ_MAX bytes shared by every read */
	struct evloop *loop;
};

struct link {
	struct ev_watch w;
	struct timer timer;              /* the session's next deadline */
	struct link_set *set;
	const struct link_ops *ops;
	struct link *next, *prev;
	uint64_t id;                     /* never reused; newer links have larger ids */
	int fd;
	ostp_session *s;
	char endpoint[LINK_ENDPOINT_MAX];
	char user[OSTP_USER_MAX + 1];    /* authenticated user, or "" */
	bool connecting;                 /* non-blocking connect pending */
	bool dead;
	bool shedding;                   /* held the TUN too long: drop until drained */
	bool standby;                    /* authenticated, not yet trusted with traffic (a
					  * mesh link being probed): forwarding passes it by */
	bool peer_closed;                /* the peer sent an authenticated CLOSE ... */
	uint8_t close_reason;            /* ... with this reason, or the one we sent */
	uint64_t created_ms, established_ms;
	uint16_t spw;
	struct counters ctr;
	const struct fwd_policy *policy; /* what forwarding allows it (fwd.h); NULL: nothing */
};

/* 0 or -ENOMEM. */
int link_set_init(struct link_set *ls, struct evloop *loop);
void link_set_free(struct link_set *ls);

/* Sets TCP_NODELAY and TCP_NOTSENT_LOWAT on a tunnel socket. */
void link_tune_socket(int fd);
/* Starts a link on a connected (or, with connecting, connecting) socket
 * and session s, which it owns from now on.  0 or -errno; on failure the
 * caller still owns fd and s. */
int link_start(struct link *k, struct link_set *ls, int fd, ostp_session *s,
	       const char *endpoint, bool connecting, const struct link_ops *ops);
/* Authenticated close (best effort), then on_close. */
void link_close(struct link *k, uint8_t reason, const char *why);
/* Writes what the session has queued; closes the link when the socket
 * fails. */
void link_flush(struct link *k);
/* Bytes from the socket into the session, events handled; n == 0 hands
 * over input the session held back (during a password check). */
void link_feed(struct link *k, const uint8_t *buf, size_t n);
/* Seals one message; counts it or the drop.  0 or a negative ostp_err. */
int link_send(struct link *k, uint8_t msg_type, const uint8_t *data, size_t len);
/* Bytes sealed but not yet written. */
size_t link_queued(const struct link *k);
bool link_up(const struct link *k);
/* The session's deadline may have moved earlier (held input, a reply). */
void link_rearm(struct link *k);
/* Frees links that closed during this loop iteration. */
void link_reap(struct link_set *ls);
/* Daemon shutdown: authenticated close of every session, lingering
 * briefly so each CLOSE is read before the socket goes away. */
void link_close_all(struct link_set *ls, uint8_t reason, const char *why);

#endif
