/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"

#define WINDOW_MS 10000

static void set_armed(struct listener *l, bool on)
{
	for (size_t i = 0; i < l->n; i++)
		ev_watch_mod(l->loop, &l->sock[i].w, on ? EPOLLIN : 0);
	l->paused = !on;
}

static void on_pause_end(struct timer *t, uint64_t now)
{
	struct listener *l = (struct listener *)((char *)t - offsetof(struct listener, pause));

	(void)now;
	set_armed(l, true);
}

static void on_log_window(struct timer *t, uint64_t now)
{
	struct listener *l = (struct listener *)((char *)t - offsetof(struct listener, log_window));

	(void)now;
	/* the first of the window was logged when it happened */
	if (l->shed + l->refused > 1)
		log_warn("accept: out of file descriptors (limit %u): shed %u unauthenticated "
			 "connections and refused %u in the last %d s", l->nofile_limit, l->shed,
			 l->refused, WINDOW_MS / 1000);
	l->shed = l->refused = 0;
}

static unsigned nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 0xffffffffu)
		return 0;
	return (unsigned)rl.rlim_cur;
}

/* Returns whether accepting may go on. */
static bool out_of_descriptors(struct listener *l, int lfd)
{
	bool freed = l->on_shortage && l->on_shortage(l);

	if (!timer_pending(&l->log_window)) {
		l->nofile_limit = nofile_limit();
		log_warn("accept: out of file descriptors (limit %u): shedding the oldest "
			 "unauthenticated connections", l->nofile_limit);
		ev_timer_set(l->loop, &l->log_window, ev_now(l->loop) + WINDOW_MS);
	}
	if (freed) {
		l->shed++;
		return true;
	}
	if (l->reserve_fd >= 0) {
		int fd;

		close(l->reserve_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			l->refused++;
		}
		l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	set_armed(l, false);
	ev_timer_set(l->loop, &l->pause, ev_now(l->loop) + ACCEPT_PAUSE_MS);
	return false;
}

static void on_readable(struct ev_watch *w, uint32_t events)
{
	struct listener_sock *s = (struct listener_sock *)w;
	struct listener *l = s->l;

	(void)events;
	for (int i = 0; i < ACCEPT_BATCH && !l->paused; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			l->on_accept(l, fd, &ss);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			if (out_of_descriptors(l, w->fd))
				continue;
			return;
		}
		/* the peer gave up while queued: take the next one */
		if (errno == ECONNABORTED || errno == EINTR || errno == EPROTO)
			continue;
		return;
	}
}

int listener_open(struct listener *l, struct evloop *loop, const struct endpoint *eps, size_t n,
		  listener_accept_fn on_accept, listener_shortage_fn on_shortage, void *owner)
{
	memset(l, 0, sizeof(*l));
	l->loop = loop;
	l->on_accept = on_accept;
	l->on_shortage = on_shortage;
	l->owner = owner;
	l->pause.fn = on_pause_end;
	l->log_window.fn = on_log_window;
	l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (size_t i = 0; i < n && l->n < MAX_LISTEN; i++) {
		const struct endpoint *ep = &eps[i];
		int one = 1, fd, err;
		char name[ENDPOINT_STRLEN];

		endpoint_format((const struct sockaddr *)&ep->addr, name, sizeof(name));
		fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = -errno;
			log_error("listen %s: %s", name, strerror(-err));
			return err;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ep->addr.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 ||
		    listen(fd, 512) < 0) {
			err = -errno;
			log_error("listen %s: %s", name, strerror(-err));
			close(fd);
			return err;
		}
		l->sock[l->n].l = l;
		err = ev_watch_add(loop, &l->sock[l->n].w, fd, EPOLLIN, on_readable);
		if (err) {
			close(fd);
			return err;
		}
		l->n++;
		log_info("listening on %s", name);
	}
	return 0;
}

void listener_close(struct listener *l)
{
	if (!l->loop)
		return;
	for (size_t i = 0; i < l->n; i++) {
		ev_watch_del(l->loop, &l->sock[i].w);
		close(l->sock[i].w.fd);
	}
	l->n = 0;
	ev_timer_cancel(l->loop, &l->pause);
	ev_timer_cancel(l->loop, &l->log_window);
	if (l->reserve_fd >= 0)
		close(l->reserve_fd);
	l->reserve_fd = -1;
}
