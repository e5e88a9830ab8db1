/* SPDX-License-Identifier: ISC */
/*
 * Timers keyed by deadline: a binary min-heap of timers that the owners
 * embed in their own structures.  Setting, moving and cancelling a timer
 * is O(log n); finding the next deadline is O(1); an idle session whose
 * timer is far away costs nothing per loop iteration.  No clock and no
 * allocation per timer: the caller passes the time.
 */
#ifndef OSTPD_TIMERQ_H
#define OSTPD_TIMERQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMER_NEVER UINT64_MAX

struct timer;
typedef void (*timer_fn)(struct timer *t, uint64_t now);

struct timer {
	uint64_t deadline;
	size_t slot;             /* index in the heap + 1; 0: not scheduled */
	timer_fn fn;
};

struct timerq {
	struct timer **heap;
	size_t n, cap;
};

void timerq_init(struct timerq *q);
void timerq_free(struct timerq *q);
/* Schedules t (or moves it) to fire at deadline; TIMER_NEVER cancels.
 * 0 or -ENOMEM. */
int timer_set(struct timerq *q, struct timer *t, uint64_t deadline);
void timer_cancel(struct timerq *q, struct timer *t);
static inline bool timer_pending(const struct timer *t) { return t->slot != 0; }
/* The earliest deadline, or TIMER_NEVER. */
uint64_t timerq_next(const struct timerq *q);
/* Fires the timers due at now, earliest first, at most as many as were
 * scheduled at entry; a callback may set or cancel any timer, its own
 * included.  Returns how many fired. */
size_t timerq_run(struct timerq *q, uint64_t now);

#endif
