/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "link.h"

int link_set_init(struct link_set *ls, struct evloop *loop)
{
	memset(ls, 0, sizeof(*ls));
	ls->loop = loop;
	/* Page-aligned: malloc puts a block this large 16 bytes past a page
	 * boundary (its header), and read into there, the copy out of the
	 * socket (_copy_to_iter) took 22-32 % of a receiving ostpd's CPU in
	 * scripts/profile on a busy machine, against 6-10 % at offset 0 or
	 * 2048, whatever the read size; probably 4 KiB aliasing between the
	 * copy's loads and stores. */
	ls->rbuf = aligned_alloc(4096, LINK_READ_MAX);
	return ls->rbuf ? 0 : -ENOMEM;
}

void link_set_free(struct link_set *ls)
{
	free(ls->rbuf);
	ls->rbuf = NULL;
}

void link_tune_socket(int fd)
{
	int one = 1, lowat = LINK_TCP_UNSENT_MAX;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
}

static void want_out(struct link *k, bool on)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0);

	ev_watch_mod(k->set->loop, &k->w, ev);
}

/* false when the socket failed */
static bool write_out(struct link *k)
{
	for (;;) {
		const uint8_t *p;
		size_t n = ostp_output(k->s, &p);
		ssize_t w;

		if (n == 0) {
			want_out(k, false);
			return true;
		}
		w = send(k->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			ostp_output_consume(k->s, (size_t)w);
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(k, true);
			return true;
		}
		if (w < 0 && errno == EINTR)
			continue;
		return false;
	}
}

size_t link_queued(const struct link *k)
{
	const uint8_t *p;

	return k->s ? ostp_output(k->s, &p) : 0;
}

bool link_up(const struct link *k)
{
	return !k->dead && k->established_ms;
}

void link_rearm(struct link *k)
{
	uint64_t next;

	if (k->dead)
		return;
	next = ostp_next_deadline(k->s);
	/* A deadline that moved later is found when the timer fires early
	 * and re-arms; only an earlier one needs the heap now, so a busy
	 * session does not pay a heap update per packet. */
	if (!timer_pending(&k->timer) || next < k->timer.deadline)
		ev_timer_set(k->set->loop, &k->timer, next);
}

void link_close(struct link *k, uint8_t reason, const char *why)
{
	if (k->dead)
		return;
	k->dead = true;
	k->set->n_dead++;
	k->close_reason = reason;
	if (!ostp_session_closed(k->s))
		ostp_close(k->s, reason);
	/* best effort: the authenticated CLOSE, if the socket takes it */
	if (!k->connecting)
		(void)write_out(k);
	ev_timer_cancel(k->set->loop, &k->timer);
	k->ops->on_close(k, why);
	ev_watch_del(k->set->loop, &k->w);
	close(k->fd);
	k->fd = -1;
	k->w.fd = -1;
	k->ops->on_drain(k);
}

void link_flush(struct link *k)
{
	if (k->dead || k->connecting)
		return;
	if (!write_out(k))
		link_close(k, OSTP_CLOSE_NORMAL, strerror(errno));
	else if (link_queued(k) <= LINK_OUTQ_MAX / 2)
		/* half the limit, so one ACK-clocked write does not flip
		 * back-pressure on and off */
		k->ops->on_drain(k);
}

int link_send(struct link *k, uint8_t msg_type, const uint8_t *data, size_t len)
{
	int err;

	if (k->dead) {
		k->ctr.drop_queue++;
		return OSTP_E_CLOSED;
	}
	err = ostp_send(k->s, msg_type, data, len);
	if (err) {
		k->ctr.drop_queue++;
		return err;
	}
	k->ctr.tx_packets++;
	k->ctr.tx_bytes += len;
	return 0;
}

static void describe_close(char *buf, size_t size, const struct ostp_event *ev)
{
	if (ev->peer_closed)
		snprintf(buf, size, "peer closed the session (%s)",
			 ostp_close_reason_str(ev->close_reason));
	else
		snprintf(buf, size, "%s", ostp_strerror(ev->err));
}

static void on_event(struct link *k, const struct ostp_event *ev)
{
	char why[128];

	switch (ev->type) {
	case OSTP_EV_NONE:
		return;
	case OSTP_EV_CLOSED:
		describe_close(why, sizeof(why), ev);
		k->peer_closed = ev->peer_closed;
		link_close(k, ev->close_reason, why);
		return;
	case OSTP_EV_MESSAGE:
		k->ctr.rx_packets++;
		k->ctr.rx_bytes += ev->len;
		break;
	case OSTP_EV_ESTABLISHED:
		k->established_ms = ev_now(k->set->loop);
		k->spw = ev->spw;
		break;
	default:
		break;
	}
	k->ops->on_event(k, ev);
}

void link_feed(struct link *k, const uint8_t *buf, size_t n)
{
	uint64_t now = ev_now(k->set->loop);
	size_t off = 0;

	while (!k->dead && !ostp_session_closed(k->s)) {
		struct ostp_event ev;
		size_t used = 0;

		ostp_feed(k->s, buf + off, n - off, &used, now, &ev);
		off += used;
		on_event(k, &ev);
		/* stop only when no input is left and no event came out, so a
		 * second event produced by one frame is drained too */
		if (ev.type == OSTP_EV_NONE && off == n)
			break;
	}
	link_rearm(k);
}

static void on_eof(struct link *k)
{
	struct ostp_event ev;

	ostp_eof(k->s, &ev);
	if (ev.type == OSTP_EV_CLOSED)
		on_event(k, &ev);
	else
		link_close(k, OSTP_CLOSE_NORMAL, "connection ended after close");
}

static void finish_connect(struct link *k)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	k->connecting = false;
	if (err)
		link_close(k, OSTP_CLOSE_NORMAL, strerror(err));
}

static void on_io(struct ev_watch *w, uint32_t events)
{
	struct link *k = (struct link *)w;

	if (k->dead)
		return;   /* closed earlier in this batch */
	if (k->connecting) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		finish_connect(k);
		if (k->dead)
			return;
		if (k->ops->on_connected)
			k->ops->on_connected(k);
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		/* a few reads per wakeup so one busy peer cannot starve others */
		for (int i = 0; i < 4 && !k->dead; i++) {
			ssize_t n = read(k->fd, k->set->rbuf, LINK_READ_MAX);

			if (n > 0) {
				link_feed(k, k->set->rbuf, (size_t)n);
				continue;
			}
			if (n == 0) {
				on_eof(k);
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				link_close(k, OSTP_CLOSE_NORMAL, strerror(errno));
			break;
		}
	}
	link_flush(k);
}

static void on_timer(struct timer *t, uint64_t now)
{
	struct link *k = (struct link *)((char *)t - offsetof(struct link, timer));
	struct ostp_event ev;

	if (k->dead)
		return;
	if (now >= ostp_next_deadline(k->s)) {
		ostp_tick(k->s, now, &ev);
		on_event(k, &ev);
	}
	if (k->dead)
		return;
	ev_timer_set(k->set->loop, &k->timer, ostp_next_deadline(k->s));
	link_flush(k);
}

int link_start(struct link *k, struct link_set *ls, int fd, ostp_session *s,
	       const char *endpoint, bool connecting, const struct link_ops *ops)
{
	int err;

	k->set = ls;
	k->ops = ops;
	k->fd = fd;
	k->s = s;
	k->connecting = connecting;
	k->id = ++ls->next_id;
	k->created_ms = ev_now(ls->loop);
	snprintf(k->endpoint, sizeof(k->endpoint), "%s", endpoint);
	err = ev_watch_add(ls->loop, &k->w, fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT, on_io);
	if (err)
		return err;
	k->timer.fn = on_timer;
	ev_timer_set(ls->loop, &k->timer, ostp_next_deadline(s));
	/* newest first: listings resume by id (ctlsock.c) */
	k->next = ls->head;
	if (ls->head)
		ls->head->prev = k;
	ls->head = k;
	ls->n++;
	return 0;
}

void link_reap(struct link_set *ls)
{
	struct link *k = ls->head;

	/* called after every loop iteration: with thousands of idle links a
	 * walk each time would cost more than the packets */
	if (!ls->n_dead)
		return;
	ls->n_dead = 0;
	while (k) {
		struct link *next = k->next;

		if (k->dead) {
			if (k->prev)
				k->prev->next = k->next;
			else
				ls->head = k->next;
			if (k->next)
				k->next->prev = k->prev;
			ls->n--;
			ostp_session_free(k->s);
			k->s = NULL;
			k->ops->on_free(k);
		}
		k = next;
	}
}

/* Closing a socket that still has unread input makes the kernel answer
 * with RST, which can destroy our CLOSE before the peer reads it.  So on
 * shutdown: send CLOSE, half-close, and discard input until each peer's
 * FIN or a short deadline, then close. */
void link_close_all(struct link_set *ls, uint8_t reason, const char *why)
{
	size_t n = 0, open_n;
	struct pollfd *pfd = calloc(ls->n ? ls->n : 1, sizeof(*pfd));
	uint64_t deadline = mono_ms() + 300;

	for (struct link *k = ls->head; k && pfd; k = k->next) {
		if (k->dead || k->connecting)
			continue;
		if (!ostp_session_closed(k->s))
			ostp_close(k->s, reason);
		if (!write_out(k))
			continue;
		shutdown(k->fd, SHUT_WR);
		pfd[n++] = (struct pollfd){ .fd = k->fd, .events = POLLIN };
	}
	open_n = n;
	while (open_n && mono_ms() < deadline) {
		if (poll(pfd, n, (int)(deadline - mono_ms())) <= 0)
			break;
		for (size_t i = 0; i < n; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			r = read(pfd[i].fd, ls->rbuf, LINK_READ_MAX);
			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			pfd[i].fd = -1;   /* FIN or error: this peer is done */
			open_n--;
		}
	}
	free(pfd);
	for (struct link *k = ls->head; k; k = k->next)
		link_close(k, reason, why);
}
