/* SPDX-License-Identifier: ISC */
/*
 * Listening sockets: accept in batches, hand each connection to the
 * owner (a server today, a mesh member next), and never spin when file
 * descriptors run out: at EMFILE/ENFILE the owner is asked to free one
 * (it sheds its oldest unauthenticated connection); when it cannot, a
 * reserve descriptor takes the pending connection off the queue to close
 * it, and the listeners rest briefly.  One log line per 10 s says so.
 */
#ifndef OSTPD_LISTENER_H
#define OSTPD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "endpoint.h"
#include "evloop.h"

#define MAX_LISTEN      CONFIG_LISTEN_MAX   /* config.h */
/* How long the listeners rest when no descriptor can be had at all. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_BATCH    64

struct listener;
/* A connection was accepted: the owner takes fd. */
typedef void (*listener_accept_fn)(struct listener *l, int fd, const struct sockaddr_storage *ss);
/* Descriptors ran out: free one if possible; true when one was freed. */
typedef bool (*listener_shortage_fn)(struct listener *l);

struct listener_sock {
	struct ev_watch w;
	struct listener *l;
};

struct listener {
	struct evloop *loop;
	struct listener_sock sock[MAX_LISTEN];
	size_t n;
	int reserve_fd;
	struct timer pause;
	bool paused;
	listener_accept_fn on_accept;
	listener_shortage_fn on_shortage;
	void *owner;
	unsigned nofile_limit;           /* for the log line */
	struct timer log_window;
	unsigned shed, refused;
};

/* Binds and listens on every endpoint; 0 or -errno (logged). */
int listener_open(struct listener *l, struct evloop *loop, const struct endpoint *eps, size_t n,
		  listener_accept_fn on_accept, listener_shortage_fn on_shortage, void *owner);
void listener_close(struct listener *l);

#endif
