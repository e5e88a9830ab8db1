/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "evloop.h"
#include "log.h"

#define EV_BATCH 64

int evloop_init(struct evloop *l)
{
	memset(l, 0, sizeof(*l));
	timerq_init(&l->timers);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0)
		return -errno;
	l->now_ms = mono_ms();
	return 0;
}

void evloop_close(struct evloop *l)
{
	if (l->ep >= 0)
		close(l->ep);
	l->ep = -1;
	timerq_free(&l->timers);
}

int ev_watch_add(struct evloop *l, struct ev_watch *w, int fd, uint32_t events, ev_watch_fn fn)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fd = fd;
	w->events = events;
	w->fn = fn;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		log_error("epoll: %s", strerror(-err));
		return err;
	}
	return 0;
}

int ev_watch_mod(struct evloop *l, struct ev_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->events == events)
		return 0;
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

void ev_watch_del(struct evloop *l, struct ev_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
}

void ev_timer_set(struct evloop *l, struct timer *t, uint64_t deadline)
{
	/* only allocation can fail, and only when the heap grows: a timer
	 * that could not be queued is logged rather than lost silently */
	if (timer_set(&l->timers, t, deadline) < 0)
		log_error("timer: out of memory");
}

void ev_timer_cancel(struct evloop *l, struct timer *t)
{
	timer_cancel(&l->timers, t);
}

/* busy_poll: for that many microseconds after the last event, poll with a
 * zero timeout instead of sleeping, yielding the CPU to anything runnable
 * between polls.  A thread that does not sleep need not be woken, and on a
 * virtual machine waking a thread on an idle vCPU costs tens to hundreds
 * of microseconds per hop (docs/PERFORMANCE.md). */
static int wait_events(struct evloop *l, struct epoll_event *evs, int timeout)
{
	bool polling = l->busy_poll_us && mono_us() < l->poll_until_us;
	int n = epoll_wait(l->ep, evs, EV_BATCH, polling ? 0 : timeout);

	if (n > 0 && l->busy_poll_us)
		l->poll_until_us = mono_us() + l->busy_poll_us;
	else if (n == 0 && polling)
		sched_yield();
	return n;
}

void evloop_run_once(struct evloop *l, int max_wait_ms)
{
	struct epoll_event evs[EV_BATCH];
	uint64_t next = timerq_next(&l->timers);
	int timeout = max_wait_ms, n;

	l->now_ms = mono_ms();
	if (next != TIMER_NEVER)
		timeout = next <= l->now_ms ? 0
			: next - l->now_ms < (uint64_t)timeout ? (int)(next - l->now_ms) : timeout;
	n = wait_events(l, evs, timeout);
	l->now_ms = mono_ms();
	for (int i = 0; i < n; i++) {
		struct ev_watch *w = evs[i].data.ptr;

		w->fn(w, evs[i].events);
	}
	l->now_ms = mono_ms();
	timerq_run(&l->timers, l->now_ms);
}
