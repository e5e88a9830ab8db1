/* SPDX-License-Identifier: ISC */
/* Packets between the TUN device and the sessions. */
#include <errno.h>
#include <unistd.h>

#include "daemon.h"
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

void tun_on_readable(struct ostpd *d)
{
	struct conn *touched[TUN_BATCH];
	size_t n_touched = 0;

	for (int i = 0; i < TUN_BATCH; i++) {
		ssize_t n = read(d->tun_fd, d->pkt, TUN_PKT_MAX);
		const uint8_t *src, *dst;
		struct conn *c;
		int family;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!packet_addrs(d->pkt, (size_t)n, &family, &src, &dst)) {
			d->tun_ctr.drop_noroute++;
			continue;
		}
		c = next_hop(d, family, dst);
		if (!c) {
			d->tun_ctr.drop_noroute++;
			continue;
		}
		conn_send_packet(d, c, d->pkt, (size_t)n);
		/* one write per session per batch, not per packet */
		if (n_touched == 0 || touched[n_touched - 1] != c) {
			bool seen = false;

			for (size_t j = 0; j < n_touched; j++)
				seen |= touched[j] == c;
			if (!seen)
				touched[n_touched++] = c;
		}
	}
	for (size_t j = 0; j < n_touched; j++)
		conn_flush(d, touched[j]);
}

void tun_deliver(struct ostpd *d, struct conn *from, const uint8_t *pkt, size_t len)
{
	const uint8_t *src, *dst;
	struct conn *to;
	int family;

	if (!packet_addrs(pkt, len, &family, &src, &dst)) {
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
		conn_send_packet(d, to, pkt, len);
		conn_flush(d, to);
		return;
	}
	if (write(d->tun_fd, pkt, len) < 0)
		d->tun_ctr.drop_queue++;
}
