/* SPDX-License-Identifier: ISC */
/*
 * tund/gso.c: virtio-net header conversion and validation, and the
 * segmentation of TSO packets for peers without the SPW GSO bit.
 *
 * The packets are built here the way the kernel hands them to a TUN with
 * IFF_VNET_HDR and TSO: one large TCP packet whose checksum field holds
 * the (folded, not inverted) pseudo-header sum, NEEDS_CSUM with
 * csum_start = IP header length and csum_offset = 16.  Every checksum of
 * the output is verified with a one's-complement sum written here, not
 * with gso.c's own helpers.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gso.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* ---- byte helpers ------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- an independent one's-complement sum (RFC 1071) ---------------------- */

/* Byte by byte, even offsets high, into a 64-bit accumulator. */
static uint64_t ref_add(uint64_t acc, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		acc += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	return acc;
}

static uint16_t ref_fold(uint64_t acc)
{
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	return (uint16_t)acc;
}

/* Sum of the pseudo-header (RFC 793 / RFC 8200 8.1) for an L4 part of
 * l4_len bytes; ip points at the IP header. */
static uint64_t ref_pseudo(const uint8_t *ip, uint8_t proto, size_t l4_len)
{
	uint8_t ph[40];

	memset(ph, 0, sizeof(ph));
	if ((ip[0] >> 4) == 6) {
		memcpy(ph, ip + 8, 32);
		wr32(ph + 32, (uint32_t)l4_len);
		ph[39] = proto;
		return ref_add(0, ph, 40);
	}
	memcpy(ph, ip + 12, 8);
	ph[9] = proto;
	wr16(ph + 10, (uint16_t)l4_len);
	return ref_add(0, ph, 12);
}

/* The L4 checksum of pkt (L4 part from l4_off) verifies: pseudo-header +
 * L4 part, checksum field included, sums to 0xffff. */
static bool l4_csum_ok(const uint8_t *pkt, size_t len, size_t l4_off, uint8_t proto)
{
	uint64_t acc = ref_pseudo(pkt, proto, len - l4_off);

	return ref_fold(ref_add(acc, pkt + l4_off, len - l4_off)) == 0xffff;
}

/* ---- test packets ------------------------------------------------------- */

struct spec {
	bool v6;
	size_t ip_opt;          /* IPv4 options, multiple of 4 */
	size_t tcp_opt;         /* TCP options, multiple of 4 */
	size_t payload;
	uint16_t mss;           /* gso_size; 0: no GSO */
	uint8_t tcp_flags;
	uint32_t seq;
	uint16_t ip_id;
	bool ecn;               /* OSTP_VNET_GSO_ECN in gso_type */
};

static uint32_t rng_state = 0x2545f491u;

static uint8_t rnd8(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (uint8_t)(rng_state >> 7);
}

/* A TSO packet as the kernel writes it to the TUN, and its vnet header.
 * Returns its length; the TCP payload starts at *hdrs. */
static size_t build_tcp(uint8_t *buf, const struct spec *s, struct ostp_vnet_hdr *h, size_t *hdrs)
{
	size_t ip_hlen = s->v6 ? 40 : 20 + s->ip_opt;
	size_t tcp_hlen = 20 + s->tcp_opt;
	size_t len = ip_hlen + tcp_hlen + s->payload;
	uint8_t *tcp = buf + ip_hlen;

	ck_assert_uint_le(len, 65535);
	memset(buf, 0, ip_hlen + tcp_hlen);
	if (s->v6) {
		buf[0] = 0x60 | 0x0b;          /* version 6, traffic class 0xb.. */
		buf[1] = 0x81;                 /* flow label 0x12345 */
		buf[2] = 0x23;
		buf[3] = 0x45;
		wr16(buf + 4, (uint16_t)(len - 40));
		buf[6] = 6;                    /* next header: TCP */
		buf[7] = 64;
		buf[8] = 0xfd;                 /* fd00:1::2 -> fd00:1::3 */
		buf[10] = 0x00;
		buf[11] = 0x01;
		buf[23] = 2;
		buf[24] = 0xfd;
		buf[27] = 0x01;
		buf[39] = 3;
	} else {
		buf[0] = (uint8_t)(0x40 | (ip_hlen / 4));
		buf[1] = 0x02;                 /* ECT(0) */
		wr16(buf + 2, (uint16_t)len);
		wr16(buf + 4, s->ip_id);
		wr16(buf + 6, 0x4000);         /* DF */
		buf[8] = 64;
		buf[9] = 6;
		buf[12] = 198; buf[13] = 18; buf[14] = 1; buf[15] = 2;
		buf[16] = 198; buf[17] = 18; buf[18] = 1; buf[19] = 3;
		for (size_t i = 20; i < ip_hlen; i++)
			buf[i] = 1;                /* NOP options */
		wr16(buf + 10, (uint16_t)~ref_fold(ref_add(0, buf, ip_hlen)));
	}
	wr16(tcp, 40000);
	wr16(tcp + 2, 5201);
	wr32(tcp + 4, s->seq);
	wr32(tcp + 8, 0x01020304);
	tcp[12] = (uint8_t)((tcp_hlen / 4) << 4);
	tcp[13] = s->tcp_flags;
	wr16(tcp + 14, 0xfaf0);
	wr16(tcp + 18, 0);
	for (size_t i = 0; i + 4 <= s->tcp_opt; i += 4) {
		if (i == 0 && s->tcp_opt >= 12) {
			/* NOP NOP timestamp */
			tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;
			wr32(tcp + 24, 0x11223344);
			wr32(tcp + 28, 0x55667788);
			i += 8;
		} else {
			memset(tcp + 20 + i, 1, 4);
		}
	}
	for (size_t i = 0; i < s->payload; i++)
		buf[ip_hlen + tcp_hlen + i] = rnd8();
	/* NEEDS_CSUM: the field holds the folded pseudo-header sum. */
	wr16(tcp + 16, ref_fold(ref_pseudo(buf, 6, len - ip_hlen)));

	memset(h, 0, sizeof(*h));
	h->flags = OSTP_VNET_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)ip_hlen;
	h->csum_offset = 16;
	if (s->mss) {
		h->gso_type = (uint8_t)((s->v6 ? OSTP_VNET_GSO_TCPV6 : OSTP_VNET_GSO_TCPV4) |
					(s->ecn ? OSTP_VNET_GSO_ECN : 0));
		h->gso_size = s->mss;
		h->hdr_len = (uint16_t)(ip_hlen + tcp_hlen);
	}
	*hdrs = ip_hlen + tcp_hlen;
	return len;
}

/* ---- collecting what gso_segment emits ---------------------------------- */

struct segs {
	size_t n, cap;
	uint8_t **pkt;
	size_t *len;
	const uint8_t *scratch;
	const uint8_t *input;
	size_t input_len;
	bool outside;           /* an emitted packet was neither in scratch nor the input */
};

static void collect(void *ctx, const uint8_t *pkt, size_t len)
{
	struct segs *s = ctx;

	if (!((pkt >= s->scratch && pkt + len <= s->scratch + 65535) ||
	      (pkt == s->input && len == s->input_len)))
		s->outside = true;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->pkt = realloc(s->pkt, s->cap * sizeof(*s->pkt));
		s->len = realloc(s->len, s->cap * sizeof(*s->len));
		ck_assert(s->pkt && s->len);
	}
	s->pkt[s->n] = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(s->pkt[s->n]);
	memcpy(s->pkt[s->n], pkt, len);
	s->len[s->n++] = len;
}

static void segs_free(struct segs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->pkt[i]);
	free(s->pkt);
	free(s->len);
	memset(s, 0, sizeof(*s));
}

static uint8_t *scratch_buf(void)
{
	uint8_t *p = malloc(65535);

	ck_assert_ptr_nonnull(p);
	memset(p, 0xa5, 65535);
	return p;
}

static int run_segment(const struct ostp_vnet_hdr *h, const uint8_t *pkt, size_t len,
		       uint8_t *scratch, struct segs *out)
{
	memset(out, 0, sizeof(*out));
	out->scratch = scratch;
	out->input = pkt;
	out->input_len = len;
	return gso_segment(h, pkt, len, scratch, collect, out);
}

/* Segment the packet of spec s and check every segment against it. */
static void check_segmentation(const struct spec *s)
{
	uint8_t *pkt = malloc(65535), *copy = malloc(65535), *scratch = scratch_buf();
	uint8_t *joined = malloc(65535);
	size_t ip_hlen = s->v6 ? 40 : 20 + s->ip_opt, tcp_hlen = 20 + s->tcp_opt;
	size_t hdrs, len, expect, off = 0;
	struct ostp_vnet_hdr h;
	struct segs out;
	int n;

	ck_assert(pkt && copy && joined);
	len = build_tcp(pkt, s, &h, &hdrs);
	memcpy(copy, pkt, len);
	n = run_segment(&h, pkt, len, scratch, &out);

	expect = s->payload ? (s->payload + s->mss - 1) / s->mss : 1;
	ck_assert_msg(n >= 0, "gso_segment refused a good packet (v6=%d payload=%zu mss=%u)",
		      s->v6, s->payload, s->mss);
	ck_assert_uint_eq((size_t)n, expect);
	ck_assert_uint_eq(out.n, expect);
	ck_assert_msg(!out.outside, "an emitted packet lies outside scratch");
	ck_assert_msg(memcmp(pkt, copy, len) == 0, "gso_segment changed its input");

	for (size_t i = 0; i < out.n; i++) {
		const uint8_t *p = out.pkt[i], *tcp = p + ip_hlen;
		size_t plen = out.len[i], seg = plen - hdrs;
		bool first = i == 0, last = i + 1 == out.n;
		uint8_t fl = tcp[13];

		ck_assert_uint_ge(plen, hdrs);
		ck_assert_uint_le(plen, 65535);
		ck_assert_uint_le(seg, s->mss);
		if (!last)
			ck_assert_uint_eq(seg, s->mss);
		if (s->v6) {
			ck_assert_uint_eq(p[0] >> 4, 6);
			ck_assert_uint_eq(rd16(p + 4), plen - 40);
			/* everything but the payload length as in the original */
			ck_assert(memcmp(p, pkt, 4) == 0);
			ck_assert(memcmp(p + 6, pkt + 6, 34) == 0);
		} else {
			ck_assert_uint_eq(rd16(p + 2), plen);
			ck_assert_uint_eq(rd16(p + 4), (uint16_t)(s->ip_id + i));
			ck_assert_msg(inet_csum(p, ip_hlen, 0) == 0,
				      "segment %zu: IPv4 header checksum", i);
			ck_assert_uint_eq(ref_fold(ref_add(0, p, ip_hlen)), 0xffff);
			ck_assert(memcmp(p, pkt, 2) == 0);             /* version, IHL, TOS */
			ck_assert(memcmp(p + 6, pkt + 6, 4) == 0);     /* DF, TTL, proto */
			ck_assert(memcmp(p + 12, pkt + 12, ip_hlen - 12) == 0);
		}
		ck_assert_uint_eq(rd32(tcp + 4), (uint32_t)(s->seq + (uint32_t)off));
		ck_assert_msg(!(fl & (TCP_FIN | TCP_PSH)) || last,
			      "segment %zu of %zu has FIN/PSH (flags 0x%02x)", i, out.n, fl);
		if (last)
			ck_assert_uint_eq(fl & (TCP_FIN | TCP_PSH), s->tcp_flags & (TCP_FIN | TCP_PSH));
		ck_assert_msg(!(fl & TCP_CWR) || first,
			      "segment %zu of %zu has CWR (flags 0x%02x)", i, out.n, fl);
		if (first)
			ck_assert_uint_eq(fl & TCP_CWR, s->tcp_flags & TCP_CWR);
		/* the other flags stay */
		ck_assert_uint_eq(fl & ~(TCP_FIN | TCP_PSH | TCP_CWR),
				  s->tcp_flags & ~(TCP_FIN | TCP_PSH | TCP_CWR));
		/* ports, ack, data offset, window, urgent pointer, options */
		ck_assert(memcmp(tcp, pkt + ip_hlen, 4) == 0);
		ck_assert(memcmp(tcp + 8, pkt + ip_hlen + 8, 5) == 0);
		ck_assert(memcmp(tcp + 14, pkt + ip_hlen + 14, 2) == 0);
		ck_assert(memcmp(tcp + 18, pkt + ip_hlen + 18, tcp_hlen - 18) == 0);
		ck_assert_msg(l4_csum_ok(p, plen, ip_hlen, 6),
			      "segment %zu of %zu: TCP checksum does not verify", i, out.n);
		memcpy(joined + off, p + hdrs, seg);
		off += seg;
	}
	ck_assert_uint_eq(off, s->payload);
	ck_assert_msg(memcmp(joined, pkt + hdrs, s->payload) == 0, "payload differs");

	segs_free(&out);
	free(pkt);
	free(copy);
	free(joined);
	free(scratch);
}

/* ---- segmentation ------------------------------------------------------- */

START_TEST(seg_ipv4)
{
	struct spec s = {
		.tcp_opt = 12, .payload = 10000, .mss = 1400, .seq = 0x10000000,
		.ip_id = 0x1234, .tcp_flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR | TCP_ECE,
		.ecn = true,
	};

	check_segmentation(&s);
}
END_TEST

START_TEST(seg_ipv6)
{
	struct spec s = {
		.v6 = true, .tcp_opt = 12, .payload = 10000, .mss = 1400, .seq = 0xdeadbeef,
		.tcp_flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR, .ecn = true,
	};

	check_segmentation(&s);
}
END_TEST

/* IPv4 options, 32-bit wrap of seq and 16-bit wrap of the IP id, odd
 * payload (odd-length checksums), a segment count that is not a round one. */
START_TEST(seg_wraps)
{
	struct spec s = {
		.ip_opt = 8, .tcp_opt = 20, .payload = 9999, .mss = 1388, .seq = 0xfffff000,
		.ip_id = 0xfffd, .tcp_flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR,
	};

	check_segmentation(&s);
	s.v6 = true;
	s.ip_opt = 0;
	check_segmentation(&s);
}
END_TEST

START_TEST(seg_sizes)
{
	static const struct { size_t payload; uint16_t mss; } cases[] = {
		{ 2800, 1400 },     /* exact multiple */
		{ 1400, 1400 },     /* one full segment */
		{ 1401, 1400 },     /* one byte over */
		{ 1, 1400 },
		{ 700, 1400 },      /* below gso_size */
		{ 0, 1400 },        /* headers only */
		{ 301, 1 },         /* one byte per segment */
		{ 5000, 0xffff },
		{ 65535 - 20 - 32, 1448 },   /* the largest IPv4 packet */
		{ 65535 - 40 - 32, 1428 },   /* the largest IPv6 packet */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int v6 = 0; v6 < 2; v6++) {
			struct spec s = {
				.v6 = v6, .tcp_opt = 12, .payload = cases[i].payload,
				.mss = cases[i].mss, .seq = 1000, .ip_id = 7,
				.tcp_flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR,
			};

			if (!v6 && i == 9)
				continue;   /* IPv6 size */
			if (v6 && i == 8)
				s.payload -= 20;
			check_segmentation(&s);
		}
	}
}
END_TEST

/* A non-GSO packet with NEEDS_CSUM (TUN_F_CSUM): one packet, the same
 * bytes, the checksum completed. */
static void check_needs_csum(bool v6, uint8_t proto, size_t payload)
{
	struct spec s = { .v6 = v6, .tcp_opt = 12, .payload = payload, .seq = 5,
			  .tcp_flags = TCP_ACK | TCP_PSH };
	uint8_t *pkt = malloc(65535), *scratch = scratch_buf();
	size_t hdrs, len, ip_hlen = v6 ? 40 : 20;
	struct ostp_vnet_hdr h;
	struct segs out;
	uint16_t field;
	int n;

	ck_assert_ptr_nonnull(pkt);
	len = build_tcp(pkt, &s, &h, &hdrs);
	if (proto == 17) {
		/* UDP: 8-byte header, the TCP bytes become payload */
		if (v6) {
			pkt[6] = 17;
		} else {
			pkt[9] = 17;
			wr16(pkt + 10, 0);
			wr16(pkt + 10, (uint16_t)~ref_fold(ref_add(0, pkt, 20)));
		}
		wr16(pkt + ip_hlen + 4, (uint16_t)(len - ip_hlen));
		wr16(pkt + ip_hlen + 6, ref_fold(ref_pseudo(pkt, 17, len - ip_hlen)));
		h.csum_offset = 6;
	}
	field = (uint16_t)(ip_hlen + h.csum_offset);
	ck_assert_uint_eq(h.gso_type, OSTP_VNET_GSO_NONE);
	n = run_segment(&h, pkt, len, scratch, &out);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_uint_eq(out.len[0], len);
	ck_assert(!out.outside);
	ck_assert(memcmp(out.pkt[0], pkt, field) == 0);
	ck_assert(memcmp(out.pkt[0] + field + 2, pkt + field + 2, len - field - 2) == 0);
	ck_assert_msg(l4_csum_ok(out.pkt[0], len, ip_hlen, proto),
		      "v6=%d proto=%u payload=%zu: checksum does not verify", v6, proto, payload);
	segs_free(&out);
	free(pkt);
	free(scratch);
}

START_TEST(needs_csum_single)
{
	check_needs_csum(false, 6, 1000);
	check_needs_csum(true, 6, 1000);
	check_needs_csum(false, 6, 333);
	check_needs_csum(true, 6, 333);
	check_needs_csum(false, 6, 0);
	check_needs_csum(false, 17, 517);
	check_needs_csum(true, 17, 517);
}
END_TEST

/* RFC 768 / RFC 8200 8.1: a UDP checksum that computes to 0 is sent as
 * 0xffff; 0 means "no checksum", which IPv6 receivers drop.  The kernel's
 * skb_checksum_help writes csum_fold(csum) ?: CSUM_MANGLED_0. */
START_TEST(needs_csum_udp_zero)
{
	uint8_t pkt[40 + 8 + 64];
	uint8_t *scratch = scratch_buf();
	struct ostp_vnet_hdr h = { .flags = OSTP_VNET_F_NEEDS_CSUM, .csum_start = 40, .csum_offset = 6 };
	size_t len = sizeof(pkt);
	struct segs out;
	uint16_t rest;
	unsigned got;
	int n;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x60;
	wr16(pkt + 4, 8 + 64);
	pkt[6] = 17;
	pkt[7] = 64;
	pkt[8] = 0xfd; pkt[11] = 1; pkt[23] = 2;
	pkt[24] = 0xfd; pkt[27] = 1; pkt[39] = 3;
	wr16(pkt + 40, 5353);
	wr16(pkt + 42, 53);
	wr16(pkt + 44, 8 + 64);
	for (size_t i = 48; i < len - 2; i++)
		pkt[i] = (uint8_t)(i * 37);
	/* choose the last payload word so that the full sum is 0xffff */
	rest = ref_fold(ref_add(ref_pseudo(pkt, 17, len - 40), pkt + 40, len - 40));
	wr16(pkt + len - 2, (uint16_t)(0xffff - rest));
	ck_assert_uint_eq(ref_fold(ref_add(ref_pseudo(pkt, 17, len - 40), pkt + 40, len - 40)),
			  0xffff);
	wr16(pkt + 46, ref_fold(ref_pseudo(pkt, 17, len - 40)));

	n = run_segment(&h, pkt, len, scratch, &out);
	got = out.n == 1 ? rd16(out.pkt[0] + 46) : 0x10000u;
	segs_free(&out);
	free(scratch);
	ck_assert_int_eq(n, 1);
	ck_assert_msg(got == 0xffff,
		      "UDP/IPv6 checksum that computes to 0 written as 0x%04x, not 0xffff", got);
}
END_TEST

START_TEST(plain_passthrough)
{
	struct spec s = { .tcp_opt = 12, .payload = 1000, .seq = 5, .tcp_flags = TCP_ACK };
	uint8_t *pkt = malloc(65535), *copy = malloc(65535), *scratch = scratch_buf();
	size_t hdrs, len;
	struct ostp_vnet_hdr h;
	struct segs out;

	ck_assert(pkt && copy);
	for (int v6 = 0; v6 < 2; v6++) {
		s.v6 = v6;
		len = build_tcp(pkt, &s, &h, &hdrs);
		memset(&h, 0, sizeof(h));      /* no flags, no GSO */
		memcpy(copy, pkt, len);
		ck_assert_int_eq(run_segment(&h, pkt, len, scratch, &out), 1);
		ck_assert_uint_eq(out.n, 1);
		ck_assert_uint_eq(out.len[0], len);
		ck_assert(memcmp(out.pkt[0], copy, len) == 0);
		ck_assert(memcmp(pkt, copy, len) == 0);
		segs_free(&out);
	}
	free(pkt);
	free(copy);
	free(scratch);
}
END_TEST

/* gso_segment refuses what it cannot cut, and emits nothing then. */
static void expect_refused(const struct ostp_vnet_hdr *h, const uint8_t *pkt, size_t len,
			   const char *what)
{
	uint8_t *scratch = scratch_buf();
	struct segs out;
	int n = run_segment(h, pkt, len, scratch, &out);

	ck_assert_msg(n == -EINVAL, "%s: gso_segment returned %d, not -EINVAL", what, n);
	ck_assert_msg(out.n == 0, "%s: %zu packets emitted", what, out.n);
	segs_free(&out);
	free(scratch);
}

START_TEST(seg_refuses)
{
	struct spec s4 = { .tcp_opt = 12, .payload = 3000, .mss = 1400, .seq = 1,
			   .tcp_flags = TCP_ACK };
	struct spec s6 = s4;
	uint8_t *pkt = calloc(1, 70000), *bad = calloc(1, 70000);
	size_t hdrs, len4, len6;
	struct ostp_vnet_hdr h4, h6, h;

	ck_assert(pkt && bad);
	s6.v6 = true;

	/* IPv6 with an extension header (hop-by-hop, then TCP) */
	len6 = build_tcp(bad, &s6, &h6, &hdrs);
	bad[6] = 0;
	expect_refused(&h6, bad, len6, "IPv6 with a hop-by-hop header");
	bad[6] = 44;
	expect_refused(&h6, bad, len6, "IPv6 with a fragment header");
	bad[6] = 17;
	expect_refused(&h6, bad, len6, "IPv6 UDP with TCPV6");

	/* gso_size 0 */
	len4 = build_tcp(pkt, &s4, &h4, &hdrs);
	h = h4;
	h.gso_size = 0;
	expect_refused(&h, pkt, len4, "IPv4 gso_size 0");
	len6 = build_tcp(bad, &s6, &h6, &hdrs);
	h = h6;
	h.gso_size = 0;
	expect_refused(&h, bad, len6, "IPv6 gso_size 0");

	/* not TCP */
	memcpy(bad, pkt, len4);
	bad[9] = 17;
	expect_refused(&h4, bad, len4, "IPv4 UDP with TCPV4");
	/* wrong version for the GSO type */
	len6 = build_tcp(bad, &s6, &h6, &hdrs);
	expect_refused(&h4, bad, len6, "TCPV4 on an IPv6 packet");
	expect_refused(&h6, pkt, len4, "TCPV6 on an IPv4 packet");

	/* header lengths past the packet */
	memcpy(bad, pkt, len4);
	bad[0] = 0x4f;                                 /* IHL 60 */
	expect_refused(&h4, bad, 20 + 40 + 19, "IPv4 IHL 60, TCP header cut");
	expect_refused(&h4, bad, 70, "IPv4 IHL 60 in 70 bytes");
	memcpy(bad, pkt, len4);
	bad[0] = 0x44;                                 /* IHL 16 */
	expect_refused(&h4, bad, len4, "IPv4 IHL < 5");
	memcpy(bad, pkt, len4);
	bad[20 + 12] = 0xf0;                           /* TCP data offset 60 */
	expect_refused(&h4, bad, 20 + 59, "TCP data offset 60 in 59 bytes");
	bad[20 + 12] = 0x40;                           /* TCP data offset 16 */
	expect_refused(&h4, bad, len4, "TCP data offset < 5");
	expect_refused(&h4, pkt, 20 + 19, "IPv4 + 19 bytes of TCP");
	expect_refused(&h4, pkt, 20 + 31, "TCP header with options cut");
	len6 = build_tcp(bad, &s6, &h6, &hdrs);
	expect_refused(&h6, bad, 39, "IPv6 header cut");
	expect_refused(&h6, bad, 40 + 19, "IPv6 + 19 bytes of TCP");

	/* len < 20 */
	memset(&h, 0, sizeof(h));
	expect_refused(&h, pkt, 19, "plain, 19 bytes");
	expect_refused(&h4, pkt, 19, "TCPV4, 19 bytes");
	expect_refused(&h4, pkt, 0, "TCPV4, 0 bytes");
	h.flags = OSTP_VNET_F_NEEDS_CSUM;
	h.csum_start = 0;
	h.csum_offset = 0;
	expect_refused(&h, pkt, 19, "NEEDS_CSUM, 19 bytes");

	/* len > 65535 */
	memset(&h, 0, sizeof(h));
	expect_refused(&h, pkt, 65536, "plain, 65536 bytes");
	expect_refused(&h4, pkt, 65536, "TCPV4, 65536 bytes");
	expect_refused(&h6, bad, 70000, "TCPV6, 70000 bytes");

	/* NEEDS_CSUM offsets past the packet (non-GSO) */
	memset(&h, 0, sizeof(h));
	h.flags = OSTP_VNET_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 16;
	expect_refused(&h, pkt, 37, "NEEDS_CSUM field past the end");
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	expect_refused(&h, pkt, len4, "NEEDS_CSUM 0xffff/0xffff");

	free(pkt);
	free(bad);
}
END_TEST

/* ---- the DATA_GSO header check (ostp_vnet_hdr_decode) -------------------- */

/* h and pkt as a DATA_GSO body would carry them, through the library's
 * decoder: the header it accepts is the one that was encoded. */
static bool vnet_hdr_valid(const struct ostp_vnet_hdr *h, const uint8_t *pkt, size_t len)
{
	static uint8_t body[OSTP_VNET_HDR_LEN + 65536];
	struct ostp_vnet_hdr back;

	ostp_vnet_hdr_encode(body, h);
	memcpy(body + OSTP_VNET_HDR_LEN, pkt, len);
	if (ostp_vnet_hdr_decode(&back, body, OSTP_VNET_HDR_LEN + len) != OSTP_OK)
		return false;
	ck_assert_mem_eq(&back, h, sizeof(back));
	return true;
}

START_TEST(valid_accepts)
{
	struct spec s4 = { .tcp_opt = 12, .payload = 3000, .mss = 1400, .seq = 1,
			   .tcp_flags = TCP_ACK };
	struct spec s6 = s4;
	uint8_t p4[4000], p6[4000];
	size_t hdrs, l4, l6;
	struct ostp_vnet_hdr h4, h6, h;

	s6.v6 = true;
	l4 = build_tcp(p4, &s4, &h4, &hdrs);
	l6 = build_tcp(p6, &s6, &h6, &hdrs);
	ck_assert(vnet_hdr_valid(&h4, p4, l4));
	ck_assert(vnet_hdr_valid(&h6, p6, l6));
	h = h4;
	h.gso_type |= OSTP_VNET_GSO_ECN;
	ck_assert(vnet_hdr_valid(&h, p4, l4));
	h = h6;
	h.gso_type |= OSTP_VNET_GSO_ECN;
	ck_assert(vnet_hdr_valid(&h, p6, l6));

	/* no GSO, no flags: nothing to check but the packet size */
	memset(&h, 0, sizeof(h));
	ck_assert(vnet_hdr_valid(&h, p4, l4));
	ck_assert(vnet_hdr_valid(&h, p6, l6));
	ck_assert(vnet_hdr_valid(&h, p4, 20));
	/* no GSO, NEEDS_CSUM */
	h.flags = OSTP_VNET_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 16;
	ck_assert(vnet_hdr_valid(&h, p4, l4));
	ck_assert(vnet_hdr_valid(&h, p4, 38));   /* field ends exactly at the end */
	/* GSO with hdr_len == len and the checksum field at the very end */
	h = h4;
	h.hdr_len = (uint16_t)l4;
	ck_assert(vnet_hdr_valid(&h, p4, l4));
	h = h4;
	h.csum_start = (uint16_t)(l4 - 18);
	ck_assert(vnet_hdr_valid(&h, p4, l4));
	/* gso_size larger than the payload is not an error */
	h = h4;
	h.gso_size = 0xffff;
	ck_assert(vnet_hdr_valid(&h, p4, l4));
}
END_TEST

START_TEST(valid_rejects)
{
	struct spec s4 = { .tcp_opt = 12, .payload = 3000, .mss = 1400, .seq = 1,
			   .tcp_flags = TCP_ACK };
	struct spec s6 = s4;
	uint8_t p4[4000], p6[4000];
	size_t hdrs, l4, l6;
	struct ostp_vnet_hdr h4, h6, h;

	s6.v6 = true;
	l4 = build_tcp(p4, &s4, &h4, &hdrs);
	l6 = build_tcp(p6, &s6, &h6, &hdrs);

	/* unknown flags: DATA_VALID and anything above */
	for (unsigned f = 2; f < 256; f++) {
		h = h4;
		h.flags = (uint8_t)f;
		ck_assert_msg(!vnet_hdr_valid(&h, p4, l4), "flags 0x%02x accepted", f);
		memset(&h, 0, sizeof(h));
		h.flags = (uint8_t)f;
		ck_assert_msg(!vnet_hdr_valid(&h, p4, l4), "flags 0x%02x (no GSO) accepted", f);
	}
	/* unknown GSO types: UDP (3), UDP_L4 (5), anything else */
	for (unsigned t = 0; t < 256; t++) {
		unsigned base = t & ~OSTP_VNET_GSO_ECN;

		if (base == OSTP_VNET_GSO_NONE || base == OSTP_VNET_GSO_TCPV4 || base == OSTP_VNET_GSO_TCPV6)
			continue;
		h = h4;
		h.gso_type = (uint8_t)t;
		ck_assert_msg(!vnet_hdr_valid(&h, p4, l4), "gso_type 0x%02x accepted", t);
		h = h6;
		h.gso_type = (uint8_t)t;
		ck_assert_msg(!vnet_hdr_valid(&h, p6, l6), "gso_type 0x%02x accepted (v6)", t);
	}
	h = h4;
	h.gso_type = 3;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	h.gso_type = 5;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	/* ECN without GSO */
	memset(&h, 0, sizeof(h));
	h.gso_type = OSTP_VNET_GSO_ECN;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	h.flags = OSTP_VNET_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 16;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	/* GSO without NEEDS_CSUM */
	h = h4;
	h.flags = 0;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	h = h6;
	h.flags = 0;
	ck_assert(!vnet_hdr_valid(&h, p6, l6));
	/* csum_start + csum_offset + 2 > len, GSO or not, with no overflow */
	h = h4;
	h.csum_start = (uint16_t)(l4 - 17);
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	h = h4;
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	h = h4;
	h.csum_start = 0;
	h.csum_offset = (uint16_t)(l4 - 1);
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	memset(&h, 0, sizeof(h));
	h.flags = OSTP_VNET_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 16;
	ck_assert(!vnet_hdr_valid(&h, p4, 37));
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	/* hdr_len > len */
	h = h4;
	h.hdr_len = (uint16_t)(l4 + 1);
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	h.hdr_len = 0xffff;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	h = h6;
	h.hdr_len = (uint16_t)(l6 + 1);
	ck_assert(!vnet_hdr_valid(&h, p6, l6));
	/* gso_size 0 */
	h = h4;
	h.gso_size = 0;
	ck_assert(!vnet_hdr_valid(&h, p4, l4));
	h = h6;
	h.gso_size = 0;
	ck_assert(!vnet_hdr_valid(&h, p6, l6));
	/* TCPV4 on IPv6 and the reverse */
	ck_assert(!vnet_hdr_valid(&h4, p6, l6));
	ck_assert(!vnet_hdr_valid(&h6, p4, l4));
	h = h4;
	h.gso_type |= OSTP_VNET_GSO_ECN;
	ck_assert(!vnet_hdr_valid(&h, p6, l6));
	/* an IP version that is neither */
	p4[0] = 0x55;
	ck_assert(!vnet_hdr_valid(&h4, p4, l4));
	p4[0] = 0x45;
	/* shorter than an IP header */
	memset(&h, 0, sizeof(h));
	ck_assert(!vnet_hdr_valid(&h, p4, 19));
	ck_assert(!vnet_hdr_valid(&h, p4, 0));
	ck_assert(!vnet_hdr_valid(&h4, p4, 19));
}
END_TEST

/* The kernel (tun_get_user) refuses a write whose hdr_len exceeds the
 * packet whatever the GSO type; the validator should not be laxer for
 * GSO_NONE than for TCP. */
START_TEST(valid_rejects_hdr_len_no_gso)
{
	uint8_t p[100];
	struct ostp_vnet_hdr h = { 0 };

	memset(p, 0, sizeof(p));
	p[0] = 0x45;
	h.hdr_len = 101;
	ck_assert_msg(!vnet_hdr_valid(&h, p, sizeof(p)),
		      "GSO_NONE with hdr_len %u > len %zu accepted", h.hdr_len, sizeof(p));
}
END_TEST

/* ---- header conversions -------------------------------------------------- */

START_TEST(hdr_wire_big_endian)
{
	const struct ostp_vnet_hdr h = {
		.flags = 0x01, .gso_type = 0x84, .hdr_len = 0x0102,
		.gso_size = 0x0304, .csum_start = 0x0506, .csum_offset = 0x0708,
	};
	static const uint8_t want[OSTP_VNET_HDR_LEN] = {
		0x01, 0x84, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	};
	uint8_t b[OSTP_VNET_HDR_LEN + 2];
	struct ostp_vnet_hdr r;

	memset(b, 0xee, sizeof(b));
	ostp_vnet_hdr_encode(b, &h);
	ck_assert(memcmp(b, want, OSTP_VNET_HDR_LEN) == 0);
	ck_assert_uint_eq(b[OSTP_VNET_HDR_LEN], 0xee);      /* writes 10 bytes only */
	memset(&r, 0x55, sizeof(r));
	{
		/* decoding checks the header against its packet: one it fits */
		static uint8_t body[OSTP_VNET_HDR_LEN + 4000];

		memcpy(body, want, OSTP_VNET_HDR_LEN);
		body[OSTP_VNET_HDR_LEN] = 0x60;   /* IPv6, as TCPV6 requires */
		ck_assert_int_eq(ostp_vnet_hdr_decode(&r, body, sizeof(body)), OSTP_OK);
	}
	ck_assert_uint_eq(r.flags, h.flags);
	ck_assert_uint_eq(r.gso_type, h.gso_type);
	ck_assert_uint_eq(r.hdr_len, 0x0102);
	ck_assert_uint_eq(r.gso_size, 0x0304);
	ck_assert_uint_eq(r.csum_start, 0x0506);
	ck_assert_uint_eq(r.csum_offset, 0x0708);
}
END_TEST

/* The host form is the kernel's struct virtio_net_hdr in native order. */
START_TEST(hdr_host_matches_kernel)
{
	struct virtio_net_hdr k = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
		.hdr_len = 0x1234, .gso_size = 0xabcd, .csum_start = 0x0040,
		.csum_offset = 0xff10,
	};
	uint8_t b[OSTP_VNET_HDR_LEN];
	struct ostp_vnet_hdr h;

	ck_assert_uint_eq(sizeof(k), OSTP_VNET_HDR_LEN);
	ck_assert_uint_eq(OSTP_VNET_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(OSTP_VNET_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(OSTP_VNET_GSO_TCPV6, VIRTIO_NET_HDR_GSO_TCPV6);
	ck_assert_uint_eq(OSTP_VNET_GSO_ECN, VIRTIO_NET_HDR_GSO_ECN);
	memcpy(b, &k, sizeof(b));
	vnet_hdr_read_host(&h, b);
	ck_assert_uint_eq(h.flags, k.flags);
	ck_assert_uint_eq(h.gso_type, k.gso_type);
	ck_assert_uint_eq(h.hdr_len, 0x1234);
	ck_assert_uint_eq(h.gso_size, 0xabcd);
	ck_assert_uint_eq(h.csum_start, 0x0040);
	ck_assert_uint_eq(h.csum_offset, 0xff10);
	memset(b, 0, sizeof(b));
	vnet_hdr_write_host(b, &h);
	ck_assert(memcmp(b, &k, sizeof(b)) == 0);
}
END_TEST

/* An independent big-endian reader, for headers no packet validates:
 * the library decodes a header only together with its packet. */
static void vnet_hdr_read_wire(struct ostp_vnet_hdr *h, const uint8_t *p)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = (uint16_t)rd16(p + 2);
	h->gso_size = (uint16_t)rd16(p + 4);
	h->csum_start = (uint16_t)rd16(p + 6);
	h->csum_offset = (uint16_t)rd16(p + 8);
}

START_TEST(hdr_round_trips)
{
	uint8_t wire[OSTP_VNET_HDR_LEN], host[OSTP_VNET_HDR_LEN], again[OSTP_VNET_HDR_LEN];

	for (int i = 0; i < 2000; i++) {
		struct ostp_vnet_hdr a, b, c;

		for (size_t j = 0; j < OSTP_VNET_HDR_LEN; j++)
			host[j] = rnd8();
		/* host bytes -> struct -> wire -> struct -> host bytes */
		vnet_hdr_read_host(&a, host);
		ostp_vnet_hdr_encode(wire, &a);
		vnet_hdr_read_wire(&b, wire);
		ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
		vnet_hdr_write_host(again, &b);
		ck_assert(memcmp(host, again, sizeof(host)) == 0);
		/* and each 16-bit field on the wire is the value, big-endian */
		ck_assert_uint_eq(rd16(wire + 2), a.hdr_len);
		ck_assert_uint_eq(rd16(wire + 4), a.gso_size);
		ck_assert_uint_eq(rd16(wire + 6), a.csum_start);
		ck_assert_uint_eq(rd16(wire + 8), a.csum_offset);
		/* wire bytes -> struct -> wire bytes */
		vnet_hdr_read_wire(&c, host);
		ostp_vnet_hdr_encode(again, &c);
		ck_assert(memcmp(host, again, sizeof(host)) == 0);
	}
}
END_TEST

START_TEST(csum_helper)
{
	/* RFC 1071 example: sum 0xddf2, checksum 0x220d */
	static const uint8_t v[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t odd[3] = { 0x12, 0x34, 0x56 };

	ck_assert_uint_eq(inet_csum(v, sizeof(v), 0), 0x220d);
	ck_assert_uint_eq(inet_csum(odd, 3, 0), (uint16_t)~(0x1234 + 0x5600));
	ck_assert_uint_eq(inet_csum(odd, 0, 0), 0xffff);
}
END_TEST

static Suite *gso_suite(void)
{
	Suite *s = suite_create("gso");
	TCase *tc = tcase_create("segment");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, seg_ipv4);
	tcase_add_test(tc, seg_ipv6);
	tcase_add_test(tc, seg_wraps);
	tcase_add_test(tc, seg_sizes);
	tcase_add_test(tc, needs_csum_single);
	tcase_add_test(tc, needs_csum_udp_zero);
	tcase_add_test(tc, plain_passthrough);
	tcase_add_test(tc, seg_refuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_add_test(tc, valid_accepts);
	tcase_add_test(tc, valid_rejects);
	tcase_add_test(tc, valid_rejects_hdr_len_no_gso);
	suite_add_tcase(s, tc);

	tc = tcase_create("header");
	tcase_add_test(tc, hdr_wire_big_endian);
	tcase_add_test(tc, hdr_host_matches_kernel);
	tcase_add_test(tc, hdr_round_trips);
	tcase_add_test(tc, csum_helper);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gso_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
