/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "dialer.h"
#include "log.h"

static void on_retry(struct timer *tm, uint64_t now)
{
	struct dial_target *t = (struct dial_target *)((char *)tm - offsetof(struct dial_target, retry));

	(void)now;
	dial_now(t);
}

void dial_target_init(struct dial_target *t, struct evloop *loop, const struct endpoint *ep,
		      const char *what, unsigned min_ms, unsigned max_ms, dial_fn on_dial,
		      void *owner)
{
	memset(t, 0, sizeof(*t));
	t->loop = loop;
	t->ep = *ep;
	t->what = what;
	t->min_ms = min_ms;
	t->max_ms = max_ms;
	t->on_dial = on_dial;
	t->owner = owner;
	t->retry.fn = on_retry;
	endpoint_format((const struct sockaddr *)&ep->addr, t->name, sizeof(t->name));
}

static void schedule(struct dial_target *t)
{
	unsigned delay;

	t->busy = false;
	if (t->backoff_ms < t->min_ms)
		t->backoff_ms = t->min_ms;
	delay = t->backoff_ms - t->backoff_ms / 4 + randombytes_uniform(t->backoff_ms / 2 + 1);
	ev_timer_set(t->loop, &t->retry, mono_ms() + delay);
	log_info("reconnecting to %s in %u ms", t->what, delay);
	t->backoff_ms = t->backoff_ms * 2 > t->max_ms ? t->max_ms : t->backoff_ms * 2;
}

void dial_lost(struct dial_target *t, const char *why)
{
	if (why)
		snprintf(t->last_error, sizeof(t->last_error), "%s", why);
	schedule(t);
}

void dial_up(struct dial_target *t)
{
	t->backoff_ms = 0;
	t->last_error[0] = '\0';
}

void dial_stop(struct dial_target *t)
{
	ev_timer_cancel(t->loop, &t->retry);
	t->on_dial = NULL;
}

void dial_now(struct dial_target *t)
{
	int fd, err;

	if (t->busy || !t->on_dial)
		return;
	ev_timer_cancel(t->loop, &t->retry);
	t->busy = true;
	fd = socket(t->ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(t->last_error, sizeof(t->last_error), "%s", strerror(errno));
		log_error("connect to %s: %s", t->name, t->last_error);
		schedule(t);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&t->ep.addr, t->ep.len) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(t->last_error, sizeof(t->last_error), "%s", strerror(errno));
		log_warn("connect to %s: %s", t->name, t->last_error);
		close(fd);
		schedule(t);
		return;
	}
	err = t->on_dial(t, fd);
	if (err < 0) {
		close(fd);
		schedule(t);
	}
}
