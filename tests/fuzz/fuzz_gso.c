/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: a received DATA_GSO body (tund/gso.c).
 *
 * The input is the body as a peer sends it: a 10-byte big-endian
 * virtio-net header, then the packet.  As tund/tunio.c does with it:
 * ostp_vnet_hdr_decode/encode, and for a header it accepts
 * gso_segment (the server relaying to a client without GSO) into a
 * 65535-byte scratch.  Checked for every emitted packet: it is at most
 * 65535 bytes and lies inside the scratch (or is the input itself, passed
 * through whole).  For a TCP segmentation that succeeded, also: every
 * segment has the input's headers with consistent lengths, the TCP
 * checksum verifies (computed here independently), and the segments'
 * payloads put together are the input's payload.
 *
 * The Makefile compiles only the lib/ sources for the fuzzers (no -Itund, no
 * tund/ objects), so the module under test is included here as source;
 * its own #include "gso.h" resolves next to it, in tund/.
 */
#include "../../tund/gso.c"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)
#define SCRATCH 65535u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	const uint8_t *scratch;
	const uint8_t *in;
	size_t in_len;
	int n;
	bool tcp;               /* a GSO header: check the segments as TCP */
	size_t ip_hlen, hdrs;   /* of the input, for tcp */
	size_t off;             /* payload bytes seen so far */
	bool passthrough;       /* emitted the input itself */
};

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* One's-complement sum, byte by byte, independent of gso.c's helpers. */
static uint64_t sum_bytes(uint64_t acc, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		acc += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	return acc;
}

static uint16_t fold(uint64_t acc)
{
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	return (uint16_t)acc;
}

static void emit(void *ctx, const uint8_t *pkt, size_t len)
{
	struct out *o = ctx;

	o->n++;
	CHECK(len <= 65535);
	if (pkt == o->in) {
		CHECK(len == o->in_len);
		o->passthrough = true;
	} else {
		CHECK(pkt >= o->scratch && pkt <= o->scratch + SCRATCH);
		CHECK(len <= (size_t)(o->scratch + SCRATCH - pkt));
	}
	/* touch every byte, so ASan sees any stale or foreign pointer */
	volatile uint8_t x = 0;
	for (size_t i = 0; i < len; i++)
		x ^= pkt[i];
	(void)x;

	if (!o->tcp)
		return;
	{
		const uint8_t *in = o->in, *tcp = pkt + o->ip_hlen;
		bool v6 = (in[0] >> 4) == 6;
		size_t seg, l4;
		uint8_t ph[40] = { 0 };
		uint64_t acc;

		CHECK(len >= o->hdrs && len <= o->in_len);
		seg = len - o->hdrs;
		l4 = len - o->ip_hlen;
		/* IP header: as the input's but for length, id, checksum */
		if (v6) {
			CHECK(be16(pkt + 4) == l4);
			CHECK(memcmp(pkt, in, 4) == 0 && memcmp(pkt + 6, in + 6, 34) == 0);
			memcpy(ph, pkt + 8, 32);
			ph[34] = (uint8_t)(l4 >> 8);
			ph[35] = (uint8_t)l4;
			ph[39] = 6;
			acc = sum_bytes(0, ph, 40);
		} else {
			CHECK(be16(pkt + 2) == len);
			CHECK(fold(sum_bytes(0, pkt, o->ip_hlen)) == 0xffff);
			CHECK(memcmp(pkt + 12, in + 12, o->ip_hlen - 12) == 0);
			memcpy(ph, pkt + 12, 8);
			ph[9] = 6;
			ph[10] = (uint8_t)(l4 >> 8);
			ph[11] = (uint8_t)l4;
			acc = sum_bytes(0, ph, 12);
		}
		/* TCP: checksum verifies, options as the input's, payload in order */
		CHECK(fold(sum_bytes(acc, tcp, l4)) == 0xffff);
		CHECK(memcmp(tcp + 18, in + o->ip_hlen + 18, o->hdrs - o->ip_hlen - 18) == 0);
		CHECK(o->off + seg <= o->in_len - o->hdrs);
		CHECK(memcmp(pkt + o->hdrs, in + o->hdrs + o->off, seg) == 0);
		o->off += seg;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *scratch;
	struct ostp_vnet_hdr h, again;
	uint8_t wire[OSTP_VNET_HDR_LEN];
	const uint8_t *pkt;
	size_t len;
	struct out o;
	int n;

	if (size < OSTP_VNET_HDR_LEN)
		return 0;
	if (!scratch) {
		scratch = malloc(SCRATCH);   /* exactly 65535: ASan catches overruns */
		if (!scratch)
			abort();
	}
	pkt = data + OSTP_VNET_HDR_LEN;
	len = size - OSTP_VNET_HDR_LEN;
	if (ostp_vnet_hdr_decode(&h, data, size) != OSTP_OK)
		return 0;
	ostp_vnet_hdr_encode(wire, &h);
	CHECK(memcmp(wire, data, OSTP_VNET_HDR_LEN) == 0);
	CHECK(ostp_vnet_hdr_decode(&again, data, size) == OSTP_OK);
	CHECK(memcmp(&again, &h, sizeof(h)) == 0);
	/* what the validator promises */
	CHECK(len >= 20);
	CHECK(!(h.flags & ~OSTP_VNET_F_NEEDS_CSUM));
	if (h.flags & OSTP_VNET_F_NEEDS_CSUM)
		CHECK((size_t)h.csum_start + h.csum_offset + 2 <= len);
	if (h.gso_type != OSTP_VNET_GSO_NONE) {
		uint8_t gso = h.gso_type & (uint8_t)~OSTP_VNET_GSO_ECN;

		CHECK(gso == OSTP_VNET_GSO_TCPV4 || gso == OSTP_VNET_GSO_TCPV6);
		CHECK(h.flags & OSTP_VNET_F_NEEDS_CSUM);
		CHECK(h.gso_size > 0 && h.hdr_len <= len);
		CHECK((pkt[0] >> 4) == (gso == OSTP_VNET_GSO_TCPV4 ? 4 : 6));
	}

	memset(&o, 0, sizeof(o));
	o.scratch = scratch;
	o.in = pkt;
	o.in_len = len;
	if ((h.gso_type & (uint8_t)~OSTP_VNET_GSO_ECN) != OSTP_VNET_GSO_NONE && len <= 65535) {
		/* the layout gso_segment will find, if it accepts the packet */
		o.ip_hlen = (pkt[0] >> 4) == 6 ? 40 : (size_t)(pkt[0] & 0x0f) * 4u;
		if (o.ip_hlen >= 20 && len >= o.ip_hlen + 20) {
			o.hdrs = o.ip_hlen + (size_t)(pkt[o.ip_hlen + 12] >> 4) * 4u;
			o.tcp = o.hdrs >= o.ip_hlen + 20 && o.hdrs <= len;
		}
	}
	n = gso_segment(&h, pkt, len, scratch, emit, &o);
	CHECK(n == -EINVAL || n >= 1);
	if (n < 0) {
		CHECK(o.n == 0);
		return 0;
	}
	CHECK(n == o.n);
	CHECK(len <= 65535);
	if (o.tcp) {
		size_t payload = len - o.hdrs;

		CHECK(o.off == payload);
		CHECK((size_t)n == (payload ? (payload + h.gso_size - 1) / h.gso_size : 1));
		CHECK(!o.passthrough);
	} else {
		CHECK(n == 1);
	}
	return 0;
}
