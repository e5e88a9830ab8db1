/* SPDX-License-Identifier: ISC */
/*
 * Packets between the TUN device and the links, as fwd.c decides.  The
 * TUN is opened with IFF_VNET_HDR and TCP segmentation offload, so one
 * read can be a 64 KiB TCP packet: it goes to a GSO peer as one DATA_GSO
 * message and to any other peer as ordinary packets cut here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon.h"
#include "gso.h"
#include "log.h"
#include "tun.h"

struct emit_ctx {
	struct link *k;
};

static void emit_plain(void *ctx, const uint8_t *pkt, size_t len)
{
	struct emit_ctx *e = ctx;

	link_send(e->k, OSTP_MSG_DATA, pkt, len);
}

/* buf = host-order virtio-net header + packet, as the TUN gave it. */
static void send_to(struct ostpd *d, struct link *k, uint8_t *buf, size_t len)
{
	struct ostp_vnet_hdr h;
	struct emit_ctx e = { k };

	vnet_hdr_read_host(&h, buf);
	if (k->spw & OSTP_SPW_GSO) {
		ostp_vnet_hdr_encode(buf, &h);
		link_send(k, OSTP_MSG_DATA_GSO, buf, len);
		return;
	}
	if (h.gso_type == OSTP_VNET_GSO_NONE && !(h.flags & OSTP_VNET_F_NEEDS_CSUM)) {
		link_send(k, OSTP_MSG_DATA, buf + OSTP_VNET_HDR_LEN, len - OSTP_VNET_HDR_LEN);
		return;
	}
	if (gso_segment(&h, buf + OSTP_VNET_HDR_LEN, len - OSTP_VNET_HDR_LEN, d->tun.seg,
			emit_plain, &e) < 0)
		k->ctr.drop_queue++;
}

static bool link_full(const struct link *k)
{
	return link_queued(k) >= LINK_OUTQ_MAX;
}

/* Packets stay in the TUN queue, where the kernel applies its own
 * back-pressure to the inner TCP, until k has room again.  A daemon that
 * is only a client has one session to wait for; a server waits for one
 * client at most TUN_STALL_MAX_MS. */
static void tun_pause(struct ostpd *d, struct link *k)
{
	d->tun.blocker = k;
	d->tun.paused_ms = ev_now(&d->loop);
	ev_watch_mod(&d->loop, &d->tun.w, 0);
	if (d->is_server)
		ev_timer_set(&d->loop, &d->tun.stall, d->tun.paused_ms + TUN_STALL_MAX_MS);
}

static void tun_resume(struct ostpd *d)
{
	d->tun.blocker = NULL;
	ev_timer_cancel(&d->loop, &d->tun.stall);
	ev_watch_mod(&d->loop, &d->tun.w, EPOLLIN);
}

void tun_link_drained(struct ostpd *d, struct link *k)
{
	/* half the limit, so one ACK-clocked write does not flip us back */
	if (!k->dead && link_queued(k) > LINK_OUTQ_MAX / 2)
		return;
	k->shedding = false;
	if (d->tun.blocker == k)
		tun_resume(d);
}

static void on_stall(struct timer *t, uint64_t now)
{
	struct tunio *tun = (struct tunio *)((char *)t - offsetof(struct tunio, stall));
	struct ostpd *d = (struct ostpd *)((char *)tun - offsetof(struct ostpd, tun));
	struct link *k = tun->blocker;

	(void)now;
	if (!k)
		return;
	k->shedding = true;
	log_debug("%s: output queue full for %d ms: dropping its packets until it drains",
		  k->endpoint, TUN_STALL_MAX_MS);
	tun_resume(d);
}

static void remember(struct link **touched, size_t *n, struct link *k)
{
	for (size_t j = 0; j < *n; j++)
		if (touched[j] == k)
			return;
	touched[(*n)++] = k;
}

static void tell_relayed(struct ostpd *d, const uint8_t *pkt, size_t len)
{
	const uint8_t *src, *dst;
	int family;

	if (packet_addrs(pkt, len, &family, &src, &dst))
		d->tun.relayed(d, family, dst);
}

static void on_readable(struct ev_watch *w, uint32_t events)
{
	struct tunio *tun = (struct tunio *)((char *)w - offsetof(struct tunio, w));
	struct ostpd *d = (struct ostpd *)((char *)tun - offsetof(struct ostpd, tun));
	struct link *touched[TUN_BATCH];
	size_t n_touched = 0;

	(void)events;
	for (int i = 0; i < TUN_BATCH && !tun->blocker; i++) {
		ssize_t n = read(tun->fd, tun->pkt, OSTP_VNET_HDR_LEN + TUN_PKT_MAX);
		struct fwd_decision fd;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((size_t)n <= OSTP_VNET_HDR_LEN) {
			tun->ctr.drop_noroute++;
			continue;
		}
		fd = fwd_from_tun(&d->fwd, tun->pkt + OSTP_VNET_HDR_LEN, (size_t)n - OSTP_VNET_HDR_LEN);
		if (fd.action != FWD_TO_LINK) {
			tun->ctr.drop_noroute++;
			/* no OCS to relay it: a member whose link closed for
			 * want of traffic is dialed all the same */
			if (fd.action == FWD_DROP_NOROUTE && tun->relayed)
				tell_relayed(d, tun->pkt + OSTP_VNET_HDR_LEN,
					     (size_t)n - OSTP_VNET_HDR_LEN);
			continue;
		}
		if (fd.to == d->fwd.fallback && tun->relayed)
			tell_relayed(d, tun->pkt + OSTP_VNET_HDR_LEN, (size_t)n - OSTP_VNET_HDR_LEN);
		send_to(d, fd.to, tun->pkt, (size_t)n);
		/* one write per session per batch, not per packet */
		remember(touched, &n_touched, fd.to);
		if (!fd.to->shedding && link_full(fd.to)) {
			link_flush(fd.to);
			if (!fd.to->dead && link_full(fd.to))
				tun_pause(d, fd.to);
		}
	}
	for (size_t j = 0; j < n_touched; j++)
		link_flush(touched[j]);
}

static void write_tun(struct ostpd *d, const struct ostp_vnet_hdr *h, const uint8_t *pkt,
		      size_t len)
{
	uint8_t hdr[OSTP_VNET_HDR_LEN];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)pkt, .iov_len = len },
	};

	vnet_hdr_write_host(hdr, h);
	if (writev(d->tun.fd, iov, 2) < 0)
		d->tun.ctr.drop_queue++;
}

void tun_deliver(struct ostpd *d, struct link *from, uint8_t msg_type, const uint8_t *data,
		 size_t len)
{
	struct ostp_vnet_hdr h = { 0 };
	const uint8_t *pkt = data;
	size_t pkt_len = len;
	struct fwd_decision fd;
	struct link *to;

	if (msg_type == OSTP_MSG_DATA_GSO) {
		if (ostp_vnet_hdr_decode(&h, data, len) != OSTP_OK) {
			from->ctr.drop_source++;
			return;
		}
		pkt += OSTP_VNET_HDR_LEN;
		pkt_len -= OSTP_VNET_HDR_LEN;
	}
	fd = fwd_from_link(&d->fwd, from, pkt, pkt_len);
	switch (fd.action) {
	case FWD_TO_TUN:
		write_tun(d, &h, pkt, pkt_len);
		return;
	case FWD_TO_LINK:
		/* member to member through the server, without the kernel */
		to = fd.to;
		if (msg_type == OSTP_MSG_DATA_GSO && (to->spw & OSTP_SPW_GSO)) {
			link_send(to, OSTP_MSG_DATA_GSO, data, len);
		} else {
			struct emit_ctx e = { to };

			if (gso_segment(&h, pkt, pkt_len, d->tun.seg, emit_plain, &e) < 0)
				to->ctr.drop_queue++;
		}
		link_flush(to);
		return;
	case FWD_DROP_NORELAY:
	case FWD_DROP_NOROUTE:
		from->ctr.drop_noroute++;
		return;
	case FWD_DROP_MALFORMED:
	case FWD_DROP_SOURCE:
		from->ctr.drop_source++;
		return;
	}
}

int tun_setup(struct ostpd *d)
{
	struct tunio *tun = &d->tun;
	int err;

	tun->pkt = malloc(OSTP_VNET_HDR_LEN + TUN_PKT_MAX);
	tun->seg = malloc(TUN_PKT_MAX);
	if (!tun->pkt || !tun->seg)
		return -ENOMEM;
	snprintf(tun->ifname, sizeof(tun->ifname), "%s", d->cfg.interface);
	err = tun_open(tun->ifname, true);
	if (err < 0) {
		log_error("TUN %s: %s", tun->ifname, strerror(-err));
		return err;
	}
	tun->fd = err;
	tun->stall.fn = on_stall;
	return ev_watch_add(&d->loop, &tun->w, tun->fd, EPOLLIN, on_readable);
}

void tun_close(struct ostpd *d)
{
	/* the TUN is not persistent: closing it removes the interface and
	 * with it every address and route on it */
	if (d->tun.fd >= 0)
		close(d->tun.fd);
	d->tun.fd = -1;
	free(d->tun.pkt);
	free(d->tun.seg);
	d->tun.pkt = d->tun.seg = NULL;
}
