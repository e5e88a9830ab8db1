/* SPDX-License-Identifier: ISC */
/*
 * One TCP connection carrying one OSTP session: bytes in to libostp,
 * bytes out from it, and what each session event means for the daemon.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "wire.h"

void conn_tune_socket(int fd)
{
	int one = 1, lowat = TCP_UNSENT_MAX;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
}

struct conn *conn_new(struct ostpd *d, int fd, enum conn_kind kind, const char *endpoint)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = kind;
	c->id = ++d->next_conn_id;
	c->fd = fd;
	c->created_ms = now_ms();
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
	if (watch_add(d, &c->w, fd, W_CONN, EPOLLIN | EPOLLRDHUP | EPOLLOUT) < 0) {
		free(c);
		return NULL;
	}
	c->want_out = true;
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->n_conns++;
	return c;
}

static void arm_out(struct ostpd *d, struct conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = &c->w };

	if (c->want_out == on)
		return;
	if (on)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_out = on;
}

/* Returns false when the socket failed. */
static bool flush_out(struct ostpd *d, struct conn *c)
{
	for (;;) {
		const uint8_t *p;
		size_t n = ostp_output(c->s, &p);
		ssize_t w;

		if (n == 0) {
			arm_out(d, c, false);
			return true;
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			ostp_output_consume(c->s, (size_t)w);
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			arm_out(d, c, true);
			return true;
		}
		if (w < 0 && errno == EINTR)
			continue;
		return false;
	}
}

void conn_close(struct ostpd *d, struct conn *c, uint8_t reason, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->s && !ostp_session_closed(c->s))
		ostp_close(c->s, reason);
	/* best effort: the authenticated CLOSE, if the socket takes it */
	if (c->s && !c->connecting)
		(void)flush_out(d, c);
	if (c->kind == CONN_ACCEPTED && !c->user[0] && !c->established_ms) {
		/* one line per unauthenticated connection would let a flood
		 * write the log: the first of a window is shown, the rest
		 * summed up per source */
		char line[sizeof(c->endpoint) + 160];
		uint64_t now = now_ms();

		snprintf(line, sizeof(line), "%s: closed: %s", c->endpoint, why);
		if (c->adm.no_penalty || !c->adm.unauth)
			log_debug("%s", line);
		else
			admit_note(d->admit, c->adm.src, ADMIT_EV_NOAUTH, line, now);
		admit_release(d->admit, &c->adm, now);
	} else if (c->user[0]) {
		log_info("%s user %s: closed: %s", c->endpoint, c->user, why);
	} else {
		log_info("%s: closed: %s", c->endpoint, why);
	}
	epoll_ctl(d->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	tun_conn_drained(d, c);
	if (c->established_ms)
		d->n_established--;
	if (c == d->upstream) {
		snprintf(d->last_error, sizeof(d->last_error), "%s", why);
		upstream_lost(d, c);
	}
}

void conn_flush(struct ostpd *d, struct conn *c)
{
	if (c->dead || c->connecting)
		return;
	if (!flush_out(d, c))
		conn_close(d, c, OSTP_CLOSE_NORMAL, strerror(errno));
	else
		tun_conn_drained(d, c);
}

void conn_send_packet(struct ostpd *d, struct conn *c, uint8_t msg_type,
		      const uint8_t *pkt, size_t len)
{
	int err;

	(void)d;
	if (c->dead) {
		c->ctr.drop_queue++;
		return;
	}
	err = ostp_send(c->s, msg_type, pkt, len);
	if (err) {
		c->ctr.drop_queue++;
		return;
	}
	c->ctr.tx_packets++;
	c->ctr.tx_bytes += len;
}

static void describe_close(char *buf, size_t size, const struct ostp_event *ev)
{
	if (ev->peer_closed)
		snprintf(buf, size, "peer closed the session (%s)",
			 ostp_close_reason_str(ev->close_reason));
	else
		snprintf(buf, size, "%s", ostp_strerror(ev->err));
}

static void on_event(struct ostpd *d, struct conn *c, const struct ostp_event *ev)
{
	char why[128];

	switch (ev->type) {
	case OSTP_EV_NONE:
		return;
	case OSTP_EV_MESSAGE:
		c->ctr.rx_packets++;
		c->ctr.rx_bytes += ev->len;
		tun_deliver(d, c, ev->msg_type, ev->data, ev->len);
		return;
	case OSTP_EV_AUTH_REQUEST:
		ocs_on_auth(d, c, ev);
		return;
	case OSTP_EV_ESTABLISHED:
		c->established_ms = now_ms();
		c->spw = ev->spw;
		d->n_established++;
		if (c->kind == CONN_ACCEPTED)
			ocs_on_established(d, c);
		else
			upstream_on_event(d, c, ev);
		return;
	case OSTP_EV_CLOSED:
		describe_close(why, sizeof(why), ev);
		conn_close(d, c, ev->close_reason, why);
		return;
	default:
		if (c->kind == CONN_UPSTREAM)
			upstream_on_event(d, c, ev);
		else
			log_debug("%s: handshake done", c->endpoint);
		return;
	}
}

void conn_feed(struct ostpd *d, struct conn *c, const uint8_t *buf, size_t n)
{
	uint64_t now = now_ms();
	size_t off = 0;

	while (!c->dead && !ostp_session_closed(c->s)) {
		struct ostp_event ev;
		size_t used = 0;

		ostp_feed(c->s, buf + off, n - off, &used, now, &ev);
		off += used;
		on_event(d, c, &ev);
		/* stop only when no input is left and no event came out, so a
		 * second event produced by one frame is drained too */
		if (ev.type == OSTP_EV_NONE && off == n)
			break;
	}
}

static void on_eof(struct ostpd *d, struct conn *c)
{
	struct ostp_event ev;

	ostp_eof(c->s, &ev);
	if (ev.type == OSTP_EV_CLOSED)
		on_event(d, c, &ev);
	else
		conn_close(d, c, OSTP_CLOSE_NORMAL, "connection ended after close");
}

static void finish_connect(struct ostpd *d, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		c->connecting = false;
		conn_close(d, c, OSTP_CLOSE_NORMAL, strerror(err));
		return;
	}
	c->connecting = false;
	log_info("%s: connected", c->endpoint);
}

void conn_on_io(struct ostpd *d, struct conn *c, uint32_t events)
{
	if (c->connecting) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		finish_connect(d, c);
		if (c->dead)
			return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		/* a few reads per wakeup so one busy peer cannot starve others */
		for (int i = 0; i < 4 && !c->dead; i++) {
			ssize_t n = read(c->fd, d->rbuf, SOCK_READ_MAX);

			if (n > 0) {
				conn_feed(d, c, d->rbuf, (size_t)n);
				continue;
			}
			if (n == 0) {
				on_eof(d, c);
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(d, c, OSTP_CLOSE_NORMAL, strerror(errno));
			break;
		}
	}
	conn_flush(d, c);
}

void conn_tick(struct ostpd *d, struct conn *c, uint64_t now)
{
	struct ostp_event ev;

	if (c->dead || now < ostp_next_deadline(c->s))
		return;
	ostp_tick(c->s, now, &ev);
	on_event(d, c, &ev);
	conn_flush(d, c);
}

void conn_reap(struct ostpd *d)
{
	struct conn *c = d->conns;

	while (c) {
		struct conn *next = c->next;

		if (c->dead) {
			if (c->prev)
				c->prev->next = c->next;
			else
				d->conns = c->next;
			if (c->next)
				c->next->prev = c->prev;
			ostp_session_free(c->s);
			d->n_conns--;
			free(c);
		}
		c = next;
	}
}

/* Closing a socket that still has unread input makes the kernel answer
 * with RST, which can destroy our CLOSE before the peer reads it.  So on
 * shutdown: send CLOSE, half-close, and discard input until each peer's
 * FIN or a short deadline, then close. */
void conn_close_all(struct ostpd *d, uint8_t reason, const char *why)
{
	size_t n = 0, open_n;
	struct pollfd *pfd = calloc(d->n_conns ? d->n_conns : 1, sizeof(*pfd));
	uint64_t deadline = now_ms() + 300;

	for (struct conn *c = d->conns; c && pfd; c = c->next) {
		if (c->dead || c->connecting || !c->s)
			continue;
		if (!ostp_session_closed(c->s))
			ostp_close(c->s, reason);
		if (!flush_out(d, c))
			continue;
		shutdown(c->fd, SHUT_WR);
		pfd[n++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
	}
	open_n = n;
	while (open_n && now_ms() < deadline) {
		if (poll(pfd, n, (int)(deadline - now_ms())) <= 0)
			break;
		for (size_t i = 0; i < n; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			r = read(pfd[i].fd, d->rbuf, SOCK_READ_MAX);
			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			pfd[i].fd = -1;   /* FIN or error: this peer is done */
			open_n--;
		}
	}
	free(pfd);
	for (struct conn *c = d->conns; c; c = c->next)
		conn_close(d, c, reason, why);
}
