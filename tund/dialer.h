/* SPDX-License-Identifier: ISC */
/*
 * Outgoing connections kept up: each target (the OCS today, mesh peers
 * next) has its own endpoint, state and backoff.  The dialer opens a
 * non-blocking TCP connection and hands the socket to its owner, who
 * starts a link on it and tells the dialer when that link is up (the
 * backoff resets) or gone (the next attempt waits its backoff).
 */
#ifndef OSTPD_DIALER_H
#define OSTPD_DIALER_H

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"
#include "evloop.h"

struct dial_target;
/* A connect is under way on fd (non-blocking); the owner takes fd.
 * Returns 0, or -errno when it could not use it (then the dialer closes
 * fd and waits its backoff). */
typedef int (*dial_fn)(struct dial_target *t, int fd);

struct dial_target {
	struct evloop *loop;
	struct endpoint ep;
	char name[ENDPOINT_STRLEN];
	const char *what;                /* "the server": for log lines */
	unsigned min_ms, max_ms, backoff_ms;
	struct timer retry;
	bool busy;                       /* a connection is being made or is up */
	dial_fn on_dial;
	char last_error[128];
	void *owner;
};

void dial_target_init(struct dial_target *t, struct evloop *loop, const struct endpoint *ep,
		      const char *what, unsigned min_ms, unsigned max_ms, dial_fn on_dial,
		      void *owner);
/* Connects now (nothing happens while busy). */
void dial_now(struct dial_target *t);
/* The link is up: the next loss retries after min_ms again. */
void dial_up(struct dial_target *t);
/* The connection failed or ended (why, for the log): retry after the
 * backoff, which doubles up to max_ms, with +-25% jitter so that many
 * clients of one restarted server do not return together. */
void dial_lost(struct dial_target *t, const char *why);
/* No more attempts. */
void dial_stop(struct dial_target *t);

#endif
