/* SPDX-License-Identifier: ISC */
/* DATA_GSO's virtio-net header, big-endian on the wire (PROTOCOL.md §2.5.11). */
#include <string.h>

#include "ostp.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

int ostp_vnet_hdr_decode(struct ostp_vnet_hdr *out, const uint8_t *body, size_t len)
{
	struct ostp_vnet_hdr h;
	const uint8_t *pkt = body + OSTP_VNET_HDR_LEN;
	size_t pkt_len;
	uint8_t gso;
	unsigned version;

	if (len < OSTP_VNET_HDR_LEN + 20u)
		return OSTP_E_SHORT;
	pkt_len = len - OSTP_VNET_HDR_LEN;
	h.flags = body[0];
	h.gso_type = body[1];
	h.hdr_len = get16(body + 2);
	h.gso_size = get16(body + 4);
	h.csum_start = get16(body + 6);
	h.csum_offset = get16(body + 8);
	gso = h.gso_type & (uint8_t)~OSTP_VNET_GSO_ECN;
	version = pkt[0] >> 4;
	if (h.flags & ~OSTP_VNET_F_NEEDS_CSUM)
		return OSTP_E_RESERVED;
	if (gso != OSTP_VNET_GSO_NONE && gso != OSTP_VNET_GSO_TCPV4 && gso != OSTP_VNET_GSO_TCPV6)
		return OSTP_E_RESERVED;
	if (gso == OSTP_VNET_GSO_NONE && h.gso_type != OSTP_VNET_GSO_NONE)
		return OSTP_E_RESERVED;
	if (h.hdr_len > pkt_len)
		return OSTP_E_LEN;
	if ((h.flags & OSTP_VNET_F_NEEDS_CSUM) &&
	    (size_t)h.csum_start + h.csum_offset + 2u > pkt_len)
		return OSTP_E_LEN;
	if (gso != OSTP_VNET_GSO_NONE) {
		if (!(h.flags & OSTP_VNET_F_NEEDS_CSUM) || h.gso_size < OSTP_GSO_SIZE_MIN)
			return OSTP_E_LEN;
		if (!((gso == OSTP_VNET_GSO_TCPV4 && version == 4) ||
		      (gso == OSTP_VNET_GSO_TCPV6 && version == 6)))
			return OSTP_E_LEN;
	}
	*out = h;
	return OSTP_OK;
}

void ostp_vnet_hdr_encode(uint8_t out[OSTP_VNET_HDR_LEN], const struct ostp_vnet_hdr *h)
{
	out[0] = h->flags;
	out[1] = h->gso_type;
	put16(out + 2, h->hdr_len);
	put16(out + 4, h->gso_size);
	put16(out + 6, h->csum_start);
	put16(out + 8, h->csum_offset);
}
