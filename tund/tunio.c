/* SPDX-License-Identifier: ISC */
/*
 * Packets between the TUN device and the sessions.  The TUN is opened
 * with IFF_VNET_HDR and TCP segmentation offload, so one read can be a
 * 64 KiB TCP packet: it goes to a GSO peer as one DATA_GSO message and to
 * any other peer as ordinary packets cut here.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon.h"
#include "gso.h"
#include "log.h"

/* The session a packet read from the TUN goes to: a client of ours that
 * owns the destination, else the server we are a client of. */
static struct conn *next_hop(struct ostpd *d, int family, const uint8_t *dst)
{
	struct conn *c = d->cfg.has_server ? route_lookup(d, family, dst) : NULL;

	if (c)
		return c;
	if (d->upstream && !d->upstream->dead && d->upstream->established_ms)
		return d->upstream;
	return NULL;
}

struct emit_ctx {
	struct ostpd *d;
	struct conn *c;
};

static void emit_plain(void *ctx, const uint8_t *pkt, size_t len)
{
	struct emit_ctx *e = ctx;

	conn_send_packet(e->d, e->c, OSTP_MSG_DATA, pkt, len);
}

/* buf = host-order virtio-net header + packet, as the TUN gave it. */
static void send_to(struct ostpd *d, struct conn *c, uint8_t *buf, size_t len)
{
	struct vnet_hdr h;
	struct emit_ctx e = { d, c };

	vnet_hdr_read_host(&h, buf);
	if (c->spw & OSTP_SPW_GSO) {
		vnet_hdr_write_wire(buf, &h);
		conn_send_packet(d, c, OSTP_MSG_DATA_GSO, buf, len);
		return;
	}
	if (h.gso_type == VNET_GSO_NONE && !(h.flags & VNET_F_NEEDS_CSUM)) {
		conn_send_packet(d, c, OSTP_MSG_DATA, buf + VNET_HDR_LEN, len - VNET_HDR_LEN);
		return;
	}
	if (gso_segment(&h, buf + VNET_HDR_LEN, len - VNET_HDR_LEN, d->seg, emit_plain, &e) < 0)
		c->ctr.drop_queue++;
}

static bool conn_full(const struct conn *c)
{
	const uint8_t *p;

	return ostp_output(c->s, &p) >= CONN_OUTQ_MAX;
}

static void tun_watch(struct ostpd *d, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = &d->tun_w };

	if (epoll_ctl(d->ep, EPOLL_CTL_MOD, d->tun_fd, &ev) < 0)
		log_error("epoll: %s: %s", d->ifname, strerror(errno));
}

/* Packets stay in the TUN queue, where the kernel applies its own
 * back-pressure to the inner TCP, until c has room again. */
static void tun_pause(struct ostpd *d, struct conn *c)
{
	d->tun_blocker = c;
	d->tun_paused_ms = now_ms();
	tun_watch(d, 0);
}

static void tun_resume(struct ostpd *d)
{
	d->tun_blocker = NULL;
	tun_watch(d, EPOLLIN);
}

void tun_conn_drained(struct ostpd *d, struct conn *c)
{
	const uint8_t *p;

	/* half the limit, so one ACK-clocked write does not flip us back */
	if (!c->dead && ostp_output(c->s, &p) > CONN_OUTQ_MAX / 2)
		return;
	c->shedding = false;
	if (d->tun_blocker == c)
		tun_resume(d);
}

uint64_t tun_check_stall(struct ostpd *d, uint64_t now)
{
	struct conn *c = d->tun_blocker;
	uint64_t end = d->tun_paused_ms + TUN_STALL_MAX_MS;

	/* a daemon that is only a client has one session to wait for */
	if (!c || !d->cfg.has_server)
		return UINT64_MAX;
	if (now < end)
		return end;
	c->shedding = true;
	log_debug("%s: output queue full for %d ms: dropping its packets until it drains",
		  c->endpoint, TUN_STALL_MAX_MS);
	tun_resume(d);
	return UINT64_MAX;
}

static void remember(struct conn **touched, size_t *n, struct conn *c)
{
	for (size_t j = 0; j < *n; j++)
		if (touched[j] == c)
			return;
	touched[(*n)++] = c;
}

void tun_on_readable(struct ostpd *d)
{
	struct conn *touched[TUN_BATCH];
	size_t n_touched = 0;

	for (int i = 0; i < TUN_BATCH && !d->tun_blocker; i++) {
		ssize_t n = read(d->tun_fd, d->pkt, VNET_HDR_LEN + TUN_PKT_MAX);
		const uint8_t *src, *dst;
		struct conn *c;
		int family;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((size_t)n <= VNET_HDR_LEN ||
		    !packet_addrs(d->pkt + VNET_HDR_LEN, (size_t)n - VNET_HDR_LEN, &family, &src, &dst)) {
			d->tun_ctr.drop_noroute++;
			continue;
		}
		c = next_hop(d, family, dst);
		if (!c) {
			d->tun_ctr.drop_noroute++;
			continue;
		}
		send_to(d, c, d->pkt, (size_t)n);
		/* one write per session per batch, not per packet */
		remember(touched, &n_touched, c);
		if (!c->shedding && conn_full(c)) {
			conn_flush(d, c);
			if (!c->dead && conn_full(c))
				tun_pause(d, c);
		}
	}
	for (size_t j = 0; j < n_touched; j++)
		conn_flush(d, touched[j]);
}

static void write_tun(struct ostpd *d, const struct vnet_hdr *h, const uint8_t *pkt, size_t len)
{
	uint8_t hdr[VNET_HDR_LEN];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)pkt, .iov_len = len },
	};

	vnet_hdr_write_host(hdr, h);
	if (writev(d->tun_fd, iov, 2) < 0)
		d->tun_ctr.drop_queue++;
}

void tun_deliver(struct ostpd *d, struct conn *from, uint8_t msg_type, const uint8_t *data,
		 size_t len)
{
	struct vnet_hdr h = { 0 };
	const uint8_t *pkt = data, *src, *dst;
	size_t pkt_len = len;
	struct conn *to;
	int family;

	if (msg_type == OSTP_MSG_DATA_GSO) {
		vnet_hdr_read_wire(&h, data);
		pkt += VNET_HDR_LEN;
		pkt_len -= VNET_HDR_LEN;
		if (!vnet_hdr_valid(&h, pkt, pkt_len)) {
			from->ctr.drop_source++;
			return;
		}
	}
	if (!packet_addrs(pkt, pkt_len, &family, &src, &dst)) {
		from->ctr.drop_source++;
		return;
	}
	if (from->kind == CONN_ACCEPTED && !route_source_allowed(d, from, family, src)) {
		from->ctr.drop_source++;
		return;
	}
	/* client to client through the server, without touching the kernel */
	to = from->kind == CONN_ACCEPTED ? route_lookup(d, family, dst) : NULL;
	if (to && to != from) {
		/* reaching other clients is the RELAY permission (SPW bit 4) */
		if (!(from->spw & OSTP_SPW_RELAY)) {
			from->ctr.drop_noroute++;
			return;
		}
		if (msg_type == OSTP_MSG_DATA_GSO && (to->spw & OSTP_SPW_GSO)) {
			conn_send_packet(d, to, OSTP_MSG_DATA_GSO, data, len);
		} else {
			struct emit_ctx e = { d, to };

			if (gso_segment(&h, pkt, pkt_len, d->seg, emit_plain, &e) < 0)
				to->ctr.drop_queue++;
		}
		conn_flush(d, to);
		return;
	}
	write_tun(d, &h, pkt, pkt_len);
}
