/* SPDX-License-Identifier: ISC */
/*
 * The daemon's one event loop: an epoll set whose entries carry their own
 * callback, the monotonic clock read once per wakeup, and timers keyed by
 * deadline (timerq.h).  A module registers its descriptors and timers and
 * is called back; nothing dispatches on kinds, and nothing calls up into
 * main.c.
 */
#ifndef OSTPD_EVLOOP_H
#define OSTPD_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "timerq.h"

struct evloop;
struct ev_watch;
typedef void (*ev_watch_fn)(struct ev_watch *w, uint32_t events);

/* Embedded in its owner, who finds itself with container_of-style
 * arithmetic or a pointer of its own. */
struct ev_watch {
	int fd;
	uint32_t events;
	ev_watch_fn fn;
};

struct evloop {
	int ep;
	uint64_t now_ms;         /* when the loop last woke up */
	struct timerq timers;
	unsigned busy_poll_us;   /* poll instead of sleeping this long after an event */
	uint64_t poll_until_us;
	bool quit;
};

/* 0 or -errno. */
int evloop_init(struct evloop *l);
void evloop_close(struct evloop *l);

/* The time of the current wakeup: cheap, and the same for every callback
 * of one batch. */
static inline uint64_t ev_now(const struct evloop *l) { return l->now_ms; }

/* 0 or -errno. */
int ev_watch_add(struct evloop *l, struct ev_watch *w, int fd, uint32_t events, ev_watch_fn fn);
int ev_watch_mod(struct evloop *l, struct ev_watch *w, uint32_t events);
void ev_watch_del(struct evloop *l, struct ev_watch *w);

/* t->fn must be set; TIMER_NEVER cancels. */
void ev_timer_set(struct evloop *l, struct timer *t, uint64_t deadline);
void ev_timer_cancel(struct evloop *l, struct timer *t);

/* Waits for events or the next timer (never longer than max_wait_ms),
 * runs their callbacks, then the timers that are due. */
void evloop_run_once(struct evloop *l, int max_wait_ms);

#endif
