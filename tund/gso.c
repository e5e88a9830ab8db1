/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>

#include "gso.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The kernel's virtio-net header on a TUN is in the host's byte order. */
void vnet_hdr_read_host(struct ostp_vnet_hdr *h, const uint8_t *p)
{
	h->flags = p[0];
	h->gso_type = p[1];
	memcpy(&h->hdr_len, p + 2, 2);
	memcpy(&h->gso_size, p + 4, 2);
	memcpy(&h->csum_start, p + 6, 2);
	memcpy(&h->csum_offset, p + 8, 2);
}

void vnet_hdr_write_host(uint8_t *p, const struct ostp_vnet_hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	memcpy(p + 2, &h->hdr_len, 2);
	memcpy(p + 4, &h->gso_size, 2);
	memcpy(p + 6, &h->csum_start, 2);
	memcpy(p + 8, &h->csum_offset, 2);
}

static uint32_t csum_add(const uint8_t *p, size_t len, uint32_t sum)
{
	while (len > 1) {
		sum += get16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t inet_csum(const uint8_t *p, size_t len, uint32_t sum)
{
	return csum_fold(csum_add(p, len, sum));
}

/* NEEDS_CSUM: the field holds the pseudo-header sum; finish it over the
 * rest of the packet, as the kernel's skb_checksum_help does. */
static void complete_csum(uint8_t *pkt, size_t len, const struct ostp_vnet_hdr *h)
{
	uint8_t *field = pkt + h->csum_start + h->csum_offset;
	uint16_t c = inet_csum(pkt + h->csum_start, len - h->csum_start, 0);

	/* 0 means "no checksum" to UDP; 0xffff is the same sum (CSUM_MANGLED_0) */
	put16(field, c ? c : 0xffff);
}

static uint32_t pseudo_sum(const uint8_t *ip, bool v6, uint32_t l4_len)
{
	uint32_t sum = 6; /* TCP */

	if (v6)
		return csum_add(ip + 8, 32, sum + l4_len);
	return csum_add(ip + 12, 8, sum + l4_len);
}

int gso_segment(const struct ostp_vnet_hdr *h, const uint8_t *pkt, size_t len,
		uint8_t *scratch, gso_emit_fn emit, void *ctx)
{
	uint8_t gso = h->gso_type & (uint8_t)~OSTP_VNET_GSO_ECN;
	size_t ip_hlen, tcp_hlen, hdrs, payload, mss;
	bool v6;
	int n = 0;

	if (len > 65535 || len < 20)
		return -EINVAL;
	if (gso == OSTP_VNET_GSO_NONE) {
		if (!(h->flags & OSTP_VNET_F_NEEDS_CSUM)) {
			emit(ctx, pkt, len);
			return 1;
		}
		if ((size_t)h->csum_start + h->csum_offset + 2u > len)
			return -EINVAL;
		memcpy(scratch, pkt, len);
		complete_csum(scratch, len, h);
		emit(ctx, scratch, len);
		return 1;
	}
	if (gso != OSTP_VNET_GSO_TCPV4 && gso != OSTP_VNET_GSO_TCPV6)
		return -EINVAL;
	v6 = gso == OSTP_VNET_GSO_TCPV6;
	if (v6) {
		if ((pkt[0] >> 4) != 6 || len < 40 || pkt[6] != 6)
			return -EINVAL;   /* extension headers: not produced by our TSO */
		ip_hlen = 40;
	} else {
		if ((pkt[0] >> 4) != 4 || pkt[9] != 6)
			return -EINVAL;
		ip_hlen = (size_t)(pkt[0] & 0x0f) * 4u;
	}
	if (ip_hlen < 20 || len < ip_hlen + 20)
		return -EINVAL;
	tcp_hlen = (size_t)(pkt[ip_hlen + 12] >> 4) * 4u;
	hdrs = ip_hlen + tcp_hlen;
	mss = h->gso_size;
	if (tcp_hlen < 20 || hdrs > len || mss == 0)
		return -EINVAL;
	payload = len - hdrs;
	for (size_t off = 0; off < payload || (payload == 0 && n == 0); off += mss) {
		size_t seg = payload - off < mss ? payload - off : mss;
		bool last = off + seg >= payload;
		uint8_t *tcp = scratch + ip_hlen;

		memcpy(scratch, pkt, hdrs);
		memcpy(scratch + hdrs, pkt + hdrs + off, seg);
		if (v6) {
			put16(scratch + 4, (uint16_t)(tcp_hlen + seg));
		} else {
			put16(scratch + 2, (uint16_t)(hdrs + seg));
			put16(scratch + 4, (uint16_t)(get16(pkt + 4) + n));
			put16(scratch + 10, 0);
			put16(scratch + 10, inet_csum(scratch, ip_hlen, 0));
		}
		put32(tcp + 4, get32(pkt + ip_hlen + 4) + (uint32_t)off);
		if (!last)
			tcp[13] &= (uint8_t)~0x09;   /* FIN and PSH only on the last */
		if (n > 0)
			tcp[13] &= (uint8_t)~0x80;   /* CWR only on the first */
		put16(tcp + 16, 0);
		put16(tcp + 16, inet_csum(tcp, tcp_hlen + seg,
					  pseudo_sum(scratch, v6, (uint32_t)(tcp_hlen + seg))));
		emit(ctx, scratch, hdrs + seg);
		n++;
		if (payload == 0)
			break;
	}
	return n;
}
