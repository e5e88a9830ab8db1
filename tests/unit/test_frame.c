/* SPDX-License-Identifier: ISC */
/*
 * Message frames (lib/frame.h) on their own and inside whole sessions
 * (pair.h): layout, AEAD coverage of the header, counters, chaining,
 * message types per state, and the authenticated CLOSE every error leaves
 * behind once keys exist.  Frames a well-behaved peer would never send are
 * crafted with the session's own tx state (session.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "pair.h"
#include "session.h"
#include "wire.h"

#define HDR OSTP_FRAME_HDR_LEN

static uint8_t id_pk[32], id_sk[64];

static void setup_identity(void)
{
	uint8_t seed[32];

	ck_assert_int_eq(ostp_init(), 0);
	memset(seed, 0x42, sizeof(seed));
	ck_assert_int_eq(ostp_identity_from_seed(id_pk, id_sk, seed), 0);
}

static const uint8_t key_a[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

/* struct ostp_dir holds an aligned GCM state: keep test copies static or
 * on the stack, never in a packed or malloc'd-unaligned place.  Static, so
 * zero before their first init; a later init reuses the engine's state. */
static struct ostp_dir dtx, drx;

static void dirs_init(uint64_t counter)
{
	ck_assert_int_eq(ostp_dir_init(&dtx, key_a), 0);
	ck_assert_int_eq(ostp_dir_init(&drx, key_a), 0);
	dtx.counter = drx.counter = counter;
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7u + (i >> 8));
}

/* ---- frame level ----------------------------------------------------------- */

/* An independent AES-256-GCM check: nonce = iv[4..15], AAD = iv || len. */
static bool gcm_opens(const uint8_t key[32], const uint8_t *hdr, const uint8_t *ct, size_t len,
		      uint8_t *pt)
{
	uint8_t aad[18];

	memcpy(aad, hdr, 16);
	memcpy(aad + 16, hdr + 32, 2);
	return crypto_aead_aes256gcm_decrypt_detached(pt, NULL, ct, len, hdr + 16, aad, sizeof(aad),
						      hdr + 4, key) == 0;
}

START_TEST(frame_round_trip)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 100, 1400, 4095, 4096 };
	static uint8_t pt[4096], ct[4096], back[4096];
	uint8_t hdr[HDR];
	uint64_t ctr = 0;

	dirs_init(0);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (int more = 0; more <= 1; more++) {
			const uint8_t type = more ? OSTP_MSG_DATA : (uint8_t)(0x10 + k);
			struct ostp_frame_hdr fh;
			size_t len = lens[k];

			pattern(pt, len, (uint8_t)k);
			ck_assert_int_eq(ostp_frame_seal(&dtx, hdr, type, more ? OSTP_FLAG_MORE : 0,
							 pt, len, ct), 0);
			/* iv = type | flags | 00 00 | 00 00 00 00 | counter BE; tag; len BE */
			ck_assert_uint_eq(hdr[0], type);
			ck_assert_uint_eq(hdr[1], more ? 1 : 0);
			for (int i = 2; i < 8; i++)
				ck_assert_uint_eq(hdr[i], 0);
			ck_assert(ostp_get64(hdr + 8) == ctr);
			ck_assert_uint_eq(ostp_get16(hdr + 32), len);
			ck_assert(dtx.counter == ctr + 1);
			if (len >= 16)
				ck_assert(memcmp(ct, pt, len) != 0);
			ck_assert(gcm_opens(key_a, hdr, ct, len, back));
			if (len)
				ck_assert_mem_eq(back, pt, len);

			ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh), 0);
			ck_assert_uint_eq(fh.type, type);
			ck_assert_uint_eq(fh.flags, more ? 1 : 0);
			ck_assert_uint_eq(fh.len, len);
			memset(back, 0, sizeof(back));
			ck_assert_int_eq(ostp_frame_open(&drx, hdr, ct, len, back), 0);
			if (len)
				ck_assert_mem_eq(back, pt, len);
			ck_assert(drx.counter == ctr + 1);
			/* the same frame again is now a replay */
			ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh), OSTP_E_REPLAY);
			ctr++;
		}
	}
	ck_assert(dtx.since_rekey == ctr && drx.since_rekey == ctr);
}
END_TEST

START_TEST(frame_in_place)
{
	static uint8_t orig[4096], buf[4096], ct[4096];
	uint8_t hdr1[HDR], hdr2[HDR];

	pattern(orig, sizeof(orig), 3);
	for (size_t len = 0; len <= 4096; len += 455) {
		struct ostp_frame_hdr fh;

		/* out of place and in place from the same state give the same frame */
		dirs_init(41);
		ck_assert_int_eq(ostp_frame_seal(&dtx, hdr1, OSTP_MSG_DATA, 0, orig, len, ct), 0);
		dtx.counter = 41;
		memcpy(buf, orig, len);
		ck_assert_int_eq(ostp_frame_seal(&dtx, hdr2, OSTP_MSG_DATA, 0, buf, len, buf), 0);
		ck_assert_mem_eq(hdr1, hdr2, HDR);
		if (len)
			ck_assert_mem_eq(buf, ct, len);
		/* open in place */
		ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr2, &fh), 0);
		ck_assert_int_eq(ostp_frame_open(&drx, hdr2, buf, len, buf), 0);
		if (len)
			ck_assert_mem_eq(buf, orig, len);
	}
}
END_TEST

START_TEST(frame_len_limit)
{
	static const uint16_t bad[] = { 4097, 4098, 0x1001 | 0x0100, 0x8000, 0xffff };
	static uint8_t pt[4096], ct[4096];
	uint8_t hdr[HDR];
	struct ostp_frame_hdr fh;

	dirs_init(0);
	ck_assert_int_eq(ostp_frame_seal(&dtx, hdr, OSTP_MSG_DATA, 0, pt, 4096, ct), 0);
	ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh), 0);
	ck_assert_uint_eq(fh.len, 4096);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ostp_put16(hdr + 32, bad[i]);
		ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh), OSTP_E_LEN);
	}
	/* the sender refuses too */
	dirs_init(0);
	ck_assert_int_eq(ostp_frame_seal(&dtx, hdr, OSTP_MSG_DATA, 0, pt, 4097, ct), OSTP_E_LEN);
	ck_assert(dtx.counter == 0);
}
END_TEST

/* Every single-bit flip of a sealed frame: header fields are checked
 * before decryption, everything else is covered by the tag. */
START_TEST(frame_every_bit_flip)
{
	enum { LEN = 64, START = 5 };
	static uint8_t frame[HDR + LEN], mod[HDR + 4096], pt[LEN], out[4096];
	size_t tried = 0;

	pattern(pt, LEN, 9);
	dirs_init(START);
	ck_assert_int_eq(ostp_frame_seal(&dtx, frame, OSTP_MSG_DATA, 0, pt, LEN, frame + HDR), 0);
	for (size_t byte = 0; byte < sizeof(frame); byte++) {
		for (int bit = 0; bit < 8; bit++) {
			struct ostp_frame_hdr fh;
			int want, got;

			memset(mod, 0, sizeof(mod));
			memcpy(mod, frame, sizeof(frame));
			mod[byte] ^= (uint8_t)(1u << bit);
			if (byte == 0)
				want = OSTP_E_TAG;                      /* type: AAD */
			else if (byte == 1)
				want = bit == 0 ? OSTP_E_TAG : OSTP_E_RESERVED; /* MORE: AAD */
			else if (byte < 8)
				want = OSTP_E_RESERVED;
			else if (byte < 16)
				want = ostp_get64(mod + 8) < START ? OSTP_E_REPLAY : OSTP_E_SKIP;
			else if (byte < 32)
				want = OSTP_E_TAG;                      /* tag */
			else if (byte < 34)
				want = ostp_get16(mod + 32) > 4096 ? OSTP_E_LEN : OSTP_E_TAG;
			else
				want = OSTP_E_TAG;                      /* ciphertext */
			got = ostp_frame_parse_hdr(&drx, mod, &fh);
			if (got == OSTP_OK)
				got = ostp_frame_open(&drx, mod, mod + HDR, fh.len, out);
			ck_assert_msg(got == want, "byte %zu bit %d: got %d want %d", byte, bit, got,
				      want);
			ck_assert(drx.counter == START);
			tried++;
		}
	}
	ck_assert_uint_eq(tried, (HDR + LEN) * 8);
	/* the receiver is unharmed: the genuine frame still opens */
	{
		struct ostp_frame_hdr fh;

		ck_assert_int_eq(ostp_frame_parse_hdr(&drx, frame, &fh), 0);
		ck_assert_int_eq(ostp_frame_open(&drx, frame, frame + HDR, LEN, out), 0);
		ck_assert_mem_eq(out, pt, LEN);
	}
}
END_TEST

START_TEST(frame_reserved)
{
	static uint8_t pt[16], ct[16];
	uint8_t hdr[HDR], mod[HDR];
	struct ostp_frame_hdr fh;

	dirs_init(0);
	ck_assert_int_eq(ostp_frame_seal(&dtx, hdr, OSTP_MSG_ECHO_REQ, 0, pt, 16, ct), 0);
	for (int i = 2; i <= 7; i++) {
		static const uint8_t vals[] = { 0x01, 0x80, 0xff };

		for (size_t v = 0; v < sizeof(vals); v++) {
			memcpy(mod, hdr, HDR);
			mod[i] = vals[v];
			ck_assert_int_eq(ostp_frame_parse_hdr(&drx, mod, &fh), OSTP_E_RESERVED);
		}
	}
	for (int bit = 1; bit <= 7; bit++) {
		memcpy(mod, hdr, HDR);
		mod[1] = (uint8_t)(1u << bit);
		ck_assert_int_eq(ostp_frame_parse_hdr(&drx, mod, &fh), OSTP_E_RESERVED);
		mod[1] |= OSTP_FLAG_MORE;
		ck_assert_int_eq(ostp_frame_parse_hdr(&drx, mod, &fh), OSTP_E_RESERVED);
		/* the sender cannot produce it */
		ck_assert_int_ne(ostp_frame_seal(&dtx, mod, OSTP_MSG_DATA, (uint8_t)(1u << bit), pt,
						 16, ct), 0);
	}
	ck_assert(dtx.counter == 1);
	ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh), 0);
}
END_TEST

START_TEST(frame_counter_window)
{
	static uint8_t pt[8], ct[8];
	uint8_t hdr[HDR];
	struct ostp_frame_hdr fh;

	for (uint64_t at = 0; at < 3; at++) {
		dirs_init(at);
		drx.counter = 1;
		ck_assert_int_eq(ostp_frame_seal(&dtx, hdr, OSTP_MSG_DATA, 0, pt, 8, ct), 0);
		ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh),
				 at < 1 ? OSTP_E_REPLAY : at > 1 ? OSTP_E_SKIP : OSTP_OK);
	}
	/* far ends of the counter space */
	dirs_init(UINT64_MAX - 1);
	drx.counter = 0;
	ck_assert_int_eq(ostp_frame_seal(&dtx, hdr, OSTP_MSG_DATA, 0, pt, 8, ct), 0);
	ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh), OSTP_E_SKIP);
	drx.counter = UINT64_MAX;
	ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh), OSTP_E_REPLAY);
	/* a counter at its end is never used: no wrap into reuse */
	ck_assert(dtx.counter == UINT64_MAX);
	ck_assert_int_ne(ostp_frame_seal(&dtx, hdr, OSTP_MSG_DATA, 0, pt, 8, ct), 0);
	ck_assert(dtx.counter == UINT64_MAX);
}
END_TEST

START_TEST(frame_rekey)
{
	static const char label[] = "OSTP/1 rekey";
	static uint8_t pt[32], ct[32], out[32];
	uint8_t next[32], hdr[HDR];
	struct ostp_frame_hdr fh;

	crypto_generichash(next, 32, (const uint8_t *)label, sizeof(label) - 1, key_a, 32);
	dirs_init(77);
	ck_assert_int_eq(ostp_dir_rekey(&dtx), 0);
	ck_assert(dtx.counter == 0 && dtx.since_rekey == 0);
	ck_assert_mem_eq(dtx.key, next, 32);
	ck_assert_int_eq(ostp_frame_seal(&dtx, hdr, OSTP_MSG_DATA, 0, pt, 32, ct), 0);
	ck_assert(gcm_opens(next, hdr, ct, 32, out));
	/* the old key at the same counter does not open it */
	drx.counter = 0;
	ck_assert_int_eq(ostp_frame_parse_hdr(&drx, hdr, &fh), 0);
	ck_assert_int_eq(ostp_frame_open(&drx, hdr, ct, 32, out), OSTP_E_TAG);
	ck_assert_int_eq(ostp_dir_rekey(&drx), 0);
	ck_assert_int_eq(ostp_frame_open(&drx, hdr, ct, 32, out), 0);
}
END_TEST

/* ---- sessions ----------------------------------------------------------------- */

static struct ostp_server_config server_cfg(void)
{
	struct ostp_server_config sc = {
		.identity_sk = id_sk,
		.spw_supported = OSTP_SPW_CONFIG | OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_GSO,
		.spw_default = OSTP_SPW_IPV4,
		.spw_permitted = OSTP_SPW_CONFIG | OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_GSO,
	};
	return sc;
}

static struct ostp_client_config client_cfg(void)
{
	struct ostp_client_config cc = { .spw = OSTP_SPW_IPV4 };

	memcpy(cc.server_pk, id_pk, 32);
	return cc;
}

static bool auth_yes(const char *user, const char *pass, uint16_t *permitted)
{
	(void)user;
	(void)pass;
	*permitted = OSTP_SPW_DEFINED;
	return true;
}

static void start_with(struct pair *p, const struct ostp_client_config *cc,
		       const struct ostp_server_config *sc)
{
	pair_init(p);
	p->auth = auth_yes;
	ck_assert_int_eq(ostp_client_new(&p->c.s, cc, &(struct ostp_rng){ test_rng_fill, &p->crng },
					 p->now), 0);
	ck_assert_int_eq(ostp_server_new(&p->s.s, sc, &(struct ostp_rng){ test_rng_fill, &p->srng },
					 p->now), 0);
}

static void established_with(struct pair *p, const struct ostp_client_config *cc,
			     const struct ostp_server_config *sc)
{
	const uint8_t *out;

	start_with(p, cc, sc);
	pair_pump(p);
	ck_assert_ptr_nonnull(side_find(&p->c, OSTP_EV_ESTABLISHED));
	ck_assert_ptr_nonnull(side_find(&p->s, OSTP_EV_ESTABLISHED));
	ck_assert(ostp_session_established(p->c.s));
	ck_assert(ostp_session_established(p->s.s));
	ck_assert_uint_eq(ostp_output(p->c.s, &out), 0);
	ck_assert_uint_eq(ostp_output(p->s.s, &out), 0);
}

static void established(struct pair *p)
{
	struct ostp_client_config cc = client_cfg();
	struct ostp_server_config sc = server_cfg();

	established_with(p, &cc, &sc);
}

/* Keys agreed and SERVER_AUTH checked, but the client's first PAP (c2s
 * counter 0) is withdrawn so the test can put its own frame there. */
static void before_established(struct pair *p, uint8_t options)
{
	struct ostp_client_config cc = client_cfg();
	struct ostp_server_config sc = server_cfg();
	const uint8_t *out;

	cc.options = options;
	cc.username = "ian";
	cc.password = "hunter2";
	start_with(p, &cc, &sc);
	pair_move(p, &p->c, &p->s);
	pair_move(p, &p->s, &p->c);
	ck_assert(p->c.s->keys && p->s.s->keys);
	ck_assert(!ostp_session_established(p->s.s));
	ostp_output_consume(p->c.s, ostp_output(p->c.s, &out));
	ck_assert(p->c.s->tx.counter == 1);
	p->c.s->tx.counter = 0;
}

/* Seal one frame with a session's tx state into out; returns its size. */
static size_t craft(ostp_session *s, uint8_t *out, uint8_t type, uint8_t flags,
		    const uint8_t *pt, size_t len)
{
	ck_assert_int_eq(ostp_frame_seal(&s->tx, out, type, flags, pt, len, out + HDR), 0);
	return HDR + len;
}

/* Feed everything; stop at an error or a CLOSED event.  *ev gets that event,
 * or the last one seen; *nmsg counts MESSAGE events. */
static int feed_all(ostp_session *s, const uint8_t *buf, size_t len, uint64_t now,
		    struct ostp_event *ev, size_t *nmsg)
{
	size_t off = 0;
	struct ostp_event e;

	memset(ev, 0, sizeof(*ev));
	if (nmsg)
		*nmsg = 0;
	for (;;) {
		size_t used = 0;
		int err = ostp_feed(s, buf ? buf + off : NULL, len - off, &used, now, &e);

		off += used;
		if (e.type != OSTP_EV_NONE)
			*ev = e;
		if (e.type == OSTP_EV_MESSAGE && nmsg)
			(*nmsg)++;
		if (err)
			return err;
		if (e.type == OSTP_EV_CLOSED)
			return OSTP_OK;
		if (e.type == OSTP_EV_NONE && (off == len || used == 0))
			return OSTP_OK;
	}
}

/* The error closed s: the feed returned it with a CLOSED event, and the
 * session takes nothing more. */
static void expect_fail(ostp_session *s, const uint8_t *buf, size_t len, uint64_t now, int want)
{
	struct ostp_event ev;
	size_t used = 99;
	int err = feed_all(s, buf, len, now, &ev, NULL);

	ck_assert_msg(err == want, "feed returned %d (%s), want %d (%s)", err,
		      ostp_strerror(err), want, ostp_strerror(want));
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert_int_eq(ev.err, want);
	ck_assert(!ev.peer_closed);
	ck_assert(ostp_session_closed(s));
	ck_assert(!s->keys);
	ck_assert_int_eq(ostp_feed(s, buf, len, &used, now, &ev), OSTP_E_CLOSED);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(ostp_send(s, OSTP_MSG_DATA, (const uint8_t *)"x", 1), OSTP_E_CLOSED);
}

/* `from` failed with keys: its output is whole frames, the last one a CLOSE
 * with one byte, and `to` authenticates it as CLOSE(PROTOCOL). */
static void expect_close_sent(struct pair *p, struct side *from, struct side *to)
{
	const uint8_t *out;
	size_t n = ostp_output(from->s, &out), off = 0, last = SIZE_MAX;
	uint8_t *copy;
	struct ostp_event ev;

	ck_assert_uint_gt(n, 0);
	while (off + HDR <= n) {
		last = off;
		off += HDR + ostp_get16(out + off + 32);
	}
	ck_assert_uint_eq(off, n);
	ck_assert_uint_ne(last, SIZE_MAX);
	ck_assert_uint_eq(out[last], OSTP_MSG_CLOSE);
	ck_assert_uint_eq(out[last + 1], 0);
	ck_assert_uint_eq(ostp_get16(out + last + 32), 1);
	copy = malloc(n);
	memcpy(copy, out, n);
	ostp_output_consume(from->s, n);
	ck_assert_int_eq(feed_all(to->s, copy, n, p->now, &ev, NULL), OSTP_OK);
	free(copy);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert(ev.peer_closed);
	ck_assert_uint_eq(ev.close_reason, OSTP_CLOSE_PROTOCOL);
	ck_assert_int_ne(ev.err, OSTP_OK);
	ck_assert(ostp_session_closed(to->s));
}

/* Nothing was sent: an error before keys exist just closes. */
static void expect_nothing_sent(ostp_session *s)
{
	const uint8_t *out;

	ck_assert_uint_eq(ostp_output(s, &out), 0);
}

/* One DATA message from the client, taken out of its output. */
static size_t client_data(struct pair *p, uint8_t *buf, size_t len, uint8_t seed)
{
	static uint8_t msg[OSTP_MSG_MAX];
	const uint8_t *out;
	size_t n;

	pattern(msg, len, seed);
	ck_assert_int_eq(ostp_send(p->c.s, OSTP_MSG_DATA, msg, len), 0);
	n = ostp_output(p->c.s, &out);
	memcpy(buf, out, n);
	ostp_output_consume(p->c.s, n);
	return n;
}

enum tamper_what { T_CT, T_TAG, T_LEN_DOWN, T_LEN_UP, T_TYPE, T_MORE };

static void session_tamper(enum tamper_what what, uint8_t type_to)
{
	static uint8_t buf[HDR + 4096 + 1];
	struct pair p;
	size_t n;

	established(&p);
	n = client_data(&p, buf, what == T_MORE ? 4096 : 300, 1);
	switch (what) {
	case T_CT: buf[HDR + 150] ^= 0x01; break;
	case T_TAG: buf[16 + 7] ^= 0x80; break;
	case T_LEN_DOWN: ostp_put16(buf + 32, 299); n--; break;
	case T_LEN_UP: ostp_put16(buf + 32, 301); buf[n++] = 0; break;
	case T_TYPE: buf[0] = type_to; break;
	case T_MORE: buf[1] |= OSTP_FLAG_MORE; break;
	}
	expect_fail(p.s.s, buf, n, p.now, OSTP_E_TAG);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_MESSAGE), 0);
	expect_close_sent(&p, &p.s, &p.c);
	pair_free(&p);
}

START_TEST(session_flip_ciphertext) { session_tamper(T_CT, 0); }
END_TEST
START_TEST(session_flip_tag) { session_tamper(T_TAG, 0); }
END_TEST
START_TEST(session_flip_len) { session_tamper(T_LEN_DOWN, 0); session_tamper(T_LEN_UP, 0); }
END_TEST
START_TEST(session_flip_type)
{
	/* to another chainable type, a control type, CLOSE and an unknown type:
	 * the tag fails before the type means anything */
	static const uint8_t to[] = { OSTP_MSG_DATA_GSO, OSTP_MSG_ECHO_REQ, OSTP_MSG_PAP,
				      OSTP_MSG_CLOSE, 0x03, 0xff };

	for (size_t i = 0; i < sizeof(to); i++)
		session_tamper(T_TYPE, to[i]);
}
END_TEST
START_TEST(session_flip_more) { session_tamper(T_MORE, 0); }
END_TEST

static void session_header_error(size_t byte, uint8_t value, int want)
{
	static uint8_t buf[HDR + 300];
	struct pair p;
	size_t n;

	established(&p);
	n = client_data(&p, buf, 300, 2);
	buf[byte] = value;
	expect_fail(p.s.s, buf, n, p.now, want);
	expect_close_sent(&p, &p.s, &p.c);
	pair_free(&p);
}

START_TEST(session_len_over_max)
{
	/* 300 = 0x012c: 0x102c = 4140, 0x112c, 0xff2c */
	session_header_error(32, 0x10, OSTP_E_LEN);
	session_header_error(32, 0x11, OSTP_E_LEN);
	session_header_error(32, 0xff, OSTP_E_LEN);
}
END_TEST

START_TEST(session_reserved_iv)
{
	for (size_t i = 2; i <= 7; i++)
		session_header_error(i, 0x01, OSTP_E_RESERVED);
}
END_TEST

START_TEST(session_reserved_flag)
{
	for (int bit = 1; bit <= 7; bit++)
		session_header_error(1, (uint8_t)(1u << bit), OSTP_E_RESERVED);
}
END_TEST

START_TEST(session_replay)
{
	static uint8_t buf[HDR + 500];
	struct pair p;
	struct ostp_event ev;
	size_t n, nmsg;

	established(&p);
	n = client_data(&p, buf, 500, 3);
	ck_assert_int_eq(feed_all(p.s.s, buf, n, p.now, &ev, &nmsg), 0);
	ck_assert_uint_eq(nmsg, 1);
	ck_assert_uint_eq(ev.len, 500);
	expect_fail(p.s.s, buf, n, p.now, OSTP_E_REPLAY);
	expect_close_sent(&p, &p.s, &p.c);
	pair_free(&p);
}
END_TEST

START_TEST(session_skip)
{
	static uint8_t a[HDR + 100], b[HDR + 100];
	struct pair p;

	established(&p);
	client_data(&p, a, 100, 4);
	client_data(&p, b, 100, 5);
	expect_fail(p.s.s, b, sizeof(b), p.now, OSTP_E_SKIP);
	expect_close_sent(&p, &p.s, &p.c);
	pair_free(&p);
}
END_TEST

/* A frame the server sent is fed back to it: a frame from the other
 * direction has the wrong key (and here the wrong counter too). */
START_TEST(session_reflected)
{
	static uint8_t buf[HDR + 64], msg[64];
	struct pair p;
	const uint8_t *out;
	size_t n;

	established(&p);
	/* align the counters so only the key differs */
	while (p.s.s->tx.counter < p.s.s->rx.counter)
		ck_assert_int_eq(ostp_send(p.s.s, OSTP_MSG_DATA, msg, 1), 0);
	while (p.c.s->tx.counter < p.s.s->tx.counter) {
		ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, msg, 1), 0);
		pair_move(&p, &p.c, &p.s);
	}
	pair_move(&p, &p.s, &p.c);
	ck_assert(p.s.s->tx.counter == p.s.s->rx.counter);
	ck_assert_int_eq(ostp_send(p.s.s, OSTP_MSG_DATA, msg, sizeof(msg)), 0);
	n = ostp_output(p.s.s, &out);
	ck_assert_uint_eq(n, sizeof(buf));
	memcpy(buf, out, n);
	ostp_output_consume(p.s.s, n);
	expect_fail(p.s.s, buf, n, p.now, OSTP_E_TAG);
	pair_free(&p);
}
END_TEST

/* ---- chains ---------------------------------------------------------------------- */

static uint8_t chainbuf[20 * (HDR + 4096)];
static uint8_t chunk[4096];

START_TEST(chain_short_more)
{
	static const size_t lens[] = { 0, 1, 100, 4095 };

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct pair p;
		size_t n;

		established(&p);
		/* a good first frame, then a short middle one */
		n = craft(p.c.s, chainbuf, OSTP_MSG_DATA, OSTP_FLAG_MORE, chunk, 4096);
		n += craft(p.c.s, chainbuf + n, OSTP_MSG_DATA, OSTP_FLAG_MORE, chunk, lens[k]);
		n += craft(p.c.s, chainbuf + n, OSTP_MSG_DATA, 0, chunk, 10);
		expect_fail(p.s.s, chainbuf, n, p.now, OSTP_E_CHAIN_TRUNC);
		ck_assert_uint_eq(side_count(&p.s, OSTP_EV_MESSAGE), 0);
		expect_close_sent(&p, &p.s, &p.c);
		pair_free(&p);
	}
}
END_TEST

/* The peer's authenticated CLOSE arrives in the middle of a chain: the
 * chain is reported cut, and nothing is sent back to a peer that is gone
 * (design notes: "After CLOSE nothing more is sent"). */
START_TEST(chain_cut_by_close)
{
	struct pair p;
	uint8_t reason = OSTP_CLOSE_NORMAL;
	struct ostp_event ev;
	size_t n;

	established(&p);
	n = craft(p.c.s, chainbuf, OSTP_MSG_DATA, OSTP_FLAG_MORE, chunk, 4096);
	n += craft(p.c.s, chainbuf + n, OSTP_MSG_CLOSE, 0, &reason, 1);
	ck_assert_int_eq(feed_all(p.s.s, chainbuf, n, p.now, &ev, NULL), OSTP_E_CHAIN_TRUNC);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert_int_eq(ev.err, OSTP_E_CHAIN_TRUNC);
	ck_assert(ostp_session_closed(p.s.s));
	ck_assert(!p.s.s->keys);
	expect_nothing_sent(p.s.s);
	ck_assert_int_eq(side_count(&p.s, OSTP_EV_MESSAGE), 0);
	pair_free(&p);
}
END_TEST

START_TEST(chain_cut_by_eof)
{
	struct pair p;
	struct ostp_event ev;
	size_t n;

	established(&p);
	n = craft(p.c.s, chainbuf, OSTP_MSG_DATA, OSTP_FLAG_MORE, chunk, 4096);
	n += craft(p.c.s, chainbuf + n, OSTP_MSG_DATA, OSTP_FLAG_MORE, chunk, 4096);
	ck_assert_int_eq(feed_all(p.s.s, chainbuf, n, p.now, &ev, NULL), 0);
	ck_assert_int_eq(ev.type, OSTP_EV_NONE);
	ck_assert_int_eq(ostp_eof(p.s.s, &ev), OSTP_E_CHAIN_TRUNC);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert_int_eq(ev.err, OSTP_E_CHAIN_TRUNC);
	ck_assert(ostp_session_closed(p.s.s));
	expect_close_sent(&p, &p.s, &p.c);
	pair_free(&p);
}
END_TEST

/* EOF between whole messages is a plain cut, not a truncated chain. */
START_TEST(eof_between_messages)
{
	struct pair p;
	struct ostp_event ev;
	size_t n, nmsg;

	established(&p);
	n = craft(p.c.s, chainbuf, OSTP_MSG_DATA, OSTP_FLAG_MORE, chunk, 4096);
	n += craft(p.c.s, chainbuf + n, OSTP_MSG_DATA, 0, chunk, 1);
	ck_assert_int_eq(feed_all(p.s.s, chainbuf, n, p.now, &ev, &nmsg), 0);
	ck_assert_uint_eq(nmsg, 1);
	ck_assert_uint_eq(ev.len, 4097);
	ck_assert_int_eq(ostp_eof(p.s.s, &ev), OSTP_E_EOF);
	pair_free(&p);
}
END_TEST

/* 16 MORE frames of 4096 are 65536 bytes; the largest message is 65600. */
static int chain_of(size_t nmore, size_t last_len, bool last_more, size_t *nmsg, size_t *msglen)
{
	struct pair p;
	struct ostp_event ev;
	size_t n = 0;
	int err;

	established(&p);
	for (size_t i = 0; i < nmore; i++)
		n += craft(p.c.s, chainbuf + n, OSTP_MSG_DATA, OSTP_FLAG_MORE, chunk, 4096);
	n += craft(p.c.s, chainbuf + n, OSTP_MSG_DATA, last_more ? OSTP_FLAG_MORE : 0, chunk,
		   last_len);
	err = feed_all(p.s.s, chainbuf, n, p.now, &ev, nmsg);
	*msglen = ev.type == OSTP_EV_MESSAGE ? ev.len : 0;
	if (err) {
		ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
		ck_assert(ostp_session_closed(p.s.s));
		expect_close_sent(&p, &p.s, &p.c);
	}
	pair_free(&p);
	return err;
}

START_TEST(chain_longest)
{
	size_t nmsg, len;

	ck_assert_int_eq(chain_of(16, 64, false, &nmsg, &len), 0);
	ck_assert_uint_eq(nmsg, 1);
	ck_assert_uint_eq(len, OSTP_MSG_MAX);
	ck_assert_int_eq(chain_of(16, 65, false, &nmsg, &len), OSTP_E_CHAIN_LONG);
	ck_assert_uint_eq(nmsg, 0);
	/* 17 full MORE frames: the 17th already overflows, whatever follows */
	ck_assert_int_eq(chain_of(16, 4096, true, &nmsg, &len), OSTP_E_CHAIN_LONG);
	ck_assert_int_eq(chain_of(17, 4096, true, &nmsg, &len), OSTP_E_CHAIN_LONG);
	ck_assert_int_eq(chain_of(17, 1, false, &nmsg, &len), OSTP_E_CHAIN_LONG);
	ck_assert_uint_eq(nmsg, 0);
}
END_TEST

START_TEST(chain_mixed)
{
	static const uint8_t intruders[] = { OSTP_MSG_ECHO_REQ, OSTP_MSG_DATA_GSO, OSTP_MSG_REKEY,
					     OSTP_MSG_PAP, 0x03 };

	for (size_t k = 0; k < sizeof(intruders); k++) {
		struct pair p;
		size_t n;

		established(&p);
		n = craft(p.c.s, chainbuf, OSTP_MSG_DATA, OSTP_FLAG_MORE, chunk, 4096);
		n += craft(p.c.s, chainbuf + n, intruders[k], 0, chunk,
			   intruders[k] == OSTP_MSG_REKEY ? 0 : 8);
		expect_fail(p.s.s, chainbuf, n, p.now, OSTP_E_CHAIN_MIX);
		expect_close_sent(&p, &p.s, &p.c);
		pair_free(&p);
	}
}
END_TEST

START_TEST(more_on_control_type)
{
	static const uint8_t types[] = { OSTP_MSG_ECHO_REQ, OSTP_MSG_ECHO_REPLY, OSTP_MSG_REKEY,
					 OSTP_MSG_CLOSE, OSTP_MSG_PAP, OSTP_MSG_SAP, OSTP_MSG_MGMT,
					 OSTP_MSG_CONFIG, OSTP_MSG_SERVER_AUTH,
					 OSTP_MSG_PEER_BLOCK };

	for (size_t k = 0; k < sizeof(types); k++) {
		static const size_t lens[] = { 8, 4096 };

		for (size_t l = 0; l < 2; l++) {
			struct pair p;
			size_t n;

			established(&p);
			n = craft(p.c.s, chainbuf, types[k], OSTP_FLAG_MORE, chunk, lens[l]);
			expect_fail(p.s.s, chainbuf, n, p.now, OSTP_E_RESERVED);
			expect_close_sent(&p, &p.s, &p.c);
			pair_free(&p);
		}
	}
}
END_TEST

/* Length rules of the design notes, per type: DATA 1..65600, ECHO 0..64,
 * REKEY 0, CLOSE 1; anything else is E_LEN. */
START_TEST(message_lengths)
{
	static const struct { uint8_t type; size_t len; int want; } cases[] = {
		{ OSTP_MSG_DATA, 0, OSTP_E_LEN },
		{ OSTP_MSG_ECHO_REQ, 65, OSTP_E_LEN },
		{ OSTP_MSG_ECHO_REPLY, 65, OSTP_E_LEN },
		{ OSTP_MSG_ECHO_REQ, 4096, OSTP_E_LEN },
		{ OSTP_MSG_REKEY, 1, OSTP_E_LEN },
		{ OSTP_MSG_CLOSE, 0, OSTP_E_LEN },
		{ OSTP_MSG_CLOSE, 2, OSTP_E_LEN },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct pair p;
		size_t n;

		established(&p);
		n = craft(p.c.s, chainbuf, cases[k].type, 0, chunk, cases[k].len);
		expect_fail(p.s.s, chainbuf, n, p.now, cases[k].want);
		expect_close_sent(&p, &p.s, &p.c);
		pair_free(&p);
	}
	/* the limits themselves are fine: an echo of 64 comes back whole */
	{
		struct pair p;
		struct ostp_event ev;
		const uint8_t *out;
		size_t n;

		established(&p);
		pattern(chunk, 64, 0x64);
		n = craft(p.c.s, chainbuf, OSTP_MSG_ECHO_REQ, 0, chunk, 64);
		ck_assert_int_eq(feed_all(p.s.s, chainbuf, n, p.now, &ev, NULL), 0);
		ck_assert(!ostp_session_closed(p.s.s));
		n = ostp_output(p.s.s, &out);
		ck_assert_uint_eq(n, HDR + 64);
		ck_assert_uint_eq(out[0], OSTP_MSG_ECHO_REPLY);
		ck_assert_int_eq(ostp_frame_parse_hdr(&p.c.s->rx, out, &(struct ostp_frame_hdr){ 0 }), 0);
		ck_assert_int_eq(ostp_frame_open(&p.c.s->rx, out, out + HDR, 64, chainbuf), 0);
		ck_assert_mem_eq(chainbuf, chunk, 64);
		pair_free(&p);
	}
}
END_TEST

static bool known_type(unsigned t)
{
	switch (t) {
	case 0x01: case 0x02: case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15:
	case 0x16: case 0x17: case 0x20: case 0x21: case 0x22: case 0x7f:
		return true;
	default:
		return false;
	}
}

START_TEST(unknown_types)
{
	size_t tried = 0;

	for (unsigned t = 0; t <= 255; t++) {
		struct pair p;
		size_t n;

		if (known_type(t))
			continue;
		established(&p);
		n = craft(p.c.s, chainbuf, (uint8_t)t, 0, chunk, t % 3 ? 5 : 0);
		expect_fail(p.s.s, chainbuf, n, p.now, OSTP_E_TYPE);
		expect_close_sent(&p, &p.s, &p.c);
		pair_free(&p);
		tried++;
	}
	ck_assert_uint_eq(tried, 256 - 14);
	/* and towards a client */
	{
		struct pair p;
		size_t n;

		established(&p);
		n = craft(p.s.s, chainbuf, 0x7e, 0, chunk, 3);
		expect_fail(p.c.s, chainbuf, n, p.now, OSTP_E_TYPE);
		expect_close_sent(&p, &p.c, &p.s);
		pair_free(&p);
	}
}
END_TEST

/* ---- message types per state -------------------------------------------------------- */

START_TEST(state_data_before_established)
{
	static const uint8_t types[] = { OSTP_MSG_DATA, OSTP_MSG_DATA_GSO, OSTP_MSG_ECHO_REQ,
					 OSTP_MSG_ECHO_REPLY, OSTP_MSG_REKEY, OSTP_MSG_MGMT };

	for (size_t k = 0; k < sizeof(types); k++) {
		for (uint8_t opt = 0; opt <= OSTP_OPT_U; opt += OSTP_OPT_U) {
			struct pair p;
			size_t n, len = types[k] == OSTP_MSG_REKEY ? 0 : 3;
			uint8_t pt[3] = { 0, 0, 1 };

			/* server waiting for a PAP (no U) or a SAP (U) */
			before_established(&p, opt);
			n = craft(p.c.s, chainbuf, types[k], 0, pt, len);
			expect_fail(p.s.s, chainbuf, n, p.now, OSTP_E_STATE);
			expect_close_sent(&p, &p.s, &p.c);
			pair_free(&p);
		}
	}
}
END_TEST

/* The client refuses data before it is established as well. */
START_TEST(state_data_to_client_before_established)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg();
	struct ostp_server_config sc = server_cfg();
	size_t n;

	start_with(&p, &cc, &sc);
	pair_move(&p, &p.c, &p.s);  /* SR; the server answers SH + SERVER_AUTH */
	pair_move(&p, &p.s, &p.c);  /* the client sends its PAP */
	ck_assert(!ostp_session_established(p.c.s));
	n = craft(p.s.s, chainbuf, OSTP_MSG_DATA, 0, chunk, 20);
	expect_fail(p.c.s, chainbuf, n, p.now, OSTP_E_STATE);
	pair_free(&p);
}
END_TEST

struct state_case {
	bool to_client;
	uint8_t type;
	size_t len;
};

/* Established, SPW = IPV4 only, no P: each of these is out of place. */
START_TEST(state_established_misplaced)
{
	static const struct state_case cases[] = {
		{ true, OSTP_MSG_PEER_BLOCK, OSTP_PEER_BLOCK_LEN }, /* client did not set P */
		{ false, OSTP_MSG_SERVER_AUTH, OSTP_SERVER_AUTH_LEN },
		{ true, OSTP_MSG_SERVER_AUTH, OSTP_SERVER_AUTH_LEN },/* handshake is over */
		{ true, OSTP_MSG_CONFIG, 3 },                       /* CONFIG not agreed */
		{ false, OSTP_MSG_CONFIG, 3 },
		{ false, OSTP_MSG_PEER_BLOCK, OSTP_PEER_BLOCK_LEN },
		{ false, OSTP_MSG_MGMT, OSTP_MGMT_LEN },            /* no block outstanding */
		{ true, OSTP_MSG_MGMT, OSTP_MGMT_LEN },
		{ false, OSTP_MSG_PAP, OSTP_PAP_LEN },
		{ true, OSTP_MSG_PAP, OSTP_PAP_LEN },
		{ false, OSTP_MSG_SAP, 7 },
		{ true, OSTP_MSG_SAP, 7 },
		{ false, OSTP_MSG_DATA_GSO, 20 },                   /* GSO not agreed */
		{ true, OSTP_MSG_DATA_GSO, 20 },
	};
	static uint8_t payload[OSTP_PEER_BLOCK_LEN];

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct state_case *c = &cases[k];
		struct pair p;
		struct side *from, *to;
		size_t n, plen = 0;

		memset(payload, 0, sizeof(payload));
		/* well-formed payloads, so only the state is wrong */
		switch (c->type) {
		case OSTP_MSG_PEER_BLOCK:
			ck_assert_int_eq(ostp_peer_block_encode(payload, sizeof(payload), NULL, 0, 1), 0);
			break;
		case OSTP_MSG_MGMT:
			payload[0] = OSTP_MFRAME_ACK;
			payload[2] = 1;
			break;
		case OSTP_MSG_PAP:
			payload[1] = OSTP_SPW_IPV4;
			break;
		case OSTP_MSG_SAP:
			ck_assert_int_eq(ostp_sap_encode(payload, sizeof(payload), &plen, 0, "ian", 3,
							 NULL, 0), 0);
			ck_assert_uint_eq(plen, c->len);
			break;
		case OSTP_MSG_CONFIG:
			ostp_put16(payload, 1400);
			break;
		case OSTP_MSG_SERVER_AUTH:
			memcpy(payload, id_pk, 32);
			break;
		default:
			payload[0] = 0x45;
			break;
		}
		established(&p);
		from = c->to_client ? &p.s : &p.c;
		to = c->to_client ? &p.c : &p.s;
		n = craft(from->s, chainbuf, c->type, 0, payload, c->len);
		expect_fail(to->s, chainbuf, n, p.now, OSTP_E_STATE);
		expect_close_sent(&p, to, from);
		pair_free(&p);
	}
}
END_TEST

/* A well-formed CONFIG is accepted once CONFIG is agreed: the control for
 * the CONFIG case above.  The server always sends one when CONFIG is
 * agreed (empty here: it has nothing to push). */
START_TEST(state_config_when_agreed)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg();
	struct ostp_server_config sc = server_cfg();
	uint8_t payload[3] = { 0x05, 0x78, 0 };
	size_t n;

	cc.spw = OSTP_SPW_IPV4 | OSTP_SPW_CONFIG;
	established_with(&p, &cc, &sc);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_CONFIG), 1);
	ck_assert_uint_eq(p.c.s->u.c.config.mtu, 0);
	ck_assert_uint_eq(p.c.s->u.c.config.n_addr, 0);
	/* but only once */
	n = craft(p.s.s, chainbuf, OSTP_MSG_CONFIG, 0, payload, 3);
	expect_fail(p.c.s, chainbuf, n, p.now, OSTP_E_STATE);
	expect_close_sent(&p, &p.c, &p.s);
	pair_free(&p);
}
END_TEST

/* ostp_server_set_peers() while a peer block sequence is in flight (the
 * daemon refreshing its peer list).  Whatever the library decides -- refuse
 * the new list until the sequence is done, or restart with it -- the next
 * block must come from inside the list it holds.  Today it does not:
 * set_peers keeps peers_sent, send_block computes npeers - peers_sent
 * (5 - 16, wrapped) and encodes 16 entries from past the end of the new
 * 5-entry array (lib/server.c send_block).  The test checks that state
 * before the client's ACK is delivered, so it fails cleanly instead of
 * reading out of bounds.  See the report. */
static struct pair bug_pair;
static bool bug_pair_live;

/* checked teardown: runs after a failed assertion too, so nothing leaks */
static void bug_pair_teardown(void)
{
	if (bug_pair_live)
		pair_free(&bug_pair);
	bug_pair_live = false;
}

START_TEST(set_peers_during_block_sequence)
{
	struct ostp_client_config cc = client_cfg();
	struct ostp_server_config sc = server_cfg();
	static struct ostp_peer peers[40];
	struct pair *pp = &bug_pair;
	uint8_t last_seq = 0;
	int rc;

	for (size_t i = 0; i < 40; i++) {
		memset(&peers[i], 0, sizeof(peers[i]));
		peers[i].port = (uint16_t)(7000 + i);
		snprintf(peers[i].host, sizeof(peers[i].host), "198.18.0.%zu", i + 1);
		memset(peers[i].id_pk, (int)i + 1, 32);
	}
	cc.options = OSTP_OPT_P;
	start_with(pp, &cc, &sc);
	bug_pair_live = true;
	ck_assert_int_eq(ostp_server_set_peers(pp->s.s, peers, 40), 0);
	pair_move(pp, &pp->c, &pp->s);   /* SR */
	pair_move(pp, &pp->s, &pp->c);   /* SH, SERVER_AUTH */
	pair_move(pp, &pp->c, &pp->s);   /* PAP: established, block 3 of 3 queued */
	ck_assert(ostp_session_established(pp->s.s));
	pair_move(pp, &pp->s, &pp->c);   /* PAP reply and block 3; the client ACKs */
	ck_assert_uint_eq(side_count(&pp->c, OSTP_EV_PEER_BLOCK), 1);

	rc = ostp_server_set_peers(pp->s.s, peers, 5);
	ck_assert_msg(pp->s.s->u.s.peers_sent <= pp->s.s->u.s.npeers,
		      "set_peers(5) with 16 already sent (rc %d): the next block would be "
		      "read from past the end of the new peer list", rc);
	pair_pump(pp);
	/* the sequence stays well formed and ends, the session lives on */
	ck_assert(!ostp_session_closed(pp->s.s));
	ck_assert(!ostp_session_closed(pp->c.s));
	for (size_t i = 0; i < pp->c.nev; i++)
		if (pp->c.ev[i].type == OSTP_EV_PEER_BLOCK)
			last_seq = pp->c.ev[i].seq;
	ck_assert_uint_eq(last_seq, 1);
	bug_pair_teardown();
}
END_TEST

/* ---- client configuration and the cleartext handshake ----------------------------------- */

START_TEST(client_new_bad_credentials)
{
	static char u64[65], u65[66], p256[257], p257[258];
	struct ostp_client_config cc = client_cfg();
	ostp_session *s = (ostp_session *)&cc;

	memset(u64, 'a', 64);
	memset(u65, 'a', 65);
	memset(p256, 'p', 256);
	memset(p257, 'p', 257);
	cc.options = OSTP_OPT_U;
	cc.username = u65;
	cc.password = "pw";
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_USER);
	ck_assert_ptr_null(s);
	cc.username = "";
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_USER);
	cc.username = NULL;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_USER);
	cc.username = "bad name";
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_USER);
	cc.username = u64;
	cc.password = p257;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_PASS);
	ck_assert_ptr_null(s);
	cc.password = NULL;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_PASS);
	/* the limits themselves are fine */
	cc.password = p256;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_OK);
	ck_assert_ptr_nonnull(s);
	ostp_session_free(s);
	/* without U the credentials are not looked at */
	cc.options = 0;
	cc.username = u65;
	cc.password = p257;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_OK);
	ostp_session_free(s);
	/* other configuration errors */
	cc.options = 0x08;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_RESERVED);
	/* I without a key to prove */
	cc.options = OSTP_OPT_I;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_INVAL);
	cc.options = 0;
	cc.pad_len = 7;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_PAD);
	cc.pad_len = 33;
	ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), OSTP_E_PAD);
	ck_assert_int_eq(ostp_client_new(&s, NULL, NULL, 0), OSTP_E_INVAL);
}
END_TEST

/* Points whose X25519 product is all zero whatever the scalar. */
static const uint8_t low_order[][32] = {
	{ 0 },
	{ 1 },
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
	  0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
	  0xb8, 0x00 },
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
	  0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
	  0x11, 0x57 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0x7f },
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0x7f },
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0x7f },
};

START_TEST(low_order_client_key)
{
	for (size_t k = 0; k < sizeof(low_order) / sizeof(low_order[0]); k++) {
		struct ostp_server_config sc = server_cfg();
		ostp_session *s;
		uint8_t sr[41];

		memset(sr, 0x33, sizeof(sr));
		sr[0] = 0;
		memcpy(sr + 1, low_order[k], 32);
		sr[33] = 8;
		ck_assert_int_eq(ostp_server_new(&s, &sc, NULL, 0), 0);
		expect_fail(s, sr, sizeof(sr), 0, OSTP_E_CRYPTO);
		expect_nothing_sent(s);
		ostp_session_free(s);
	}
}
END_TEST

START_TEST(low_order_server_key)
{
	for (size_t k = 0; k < sizeof(low_order) / sizeof(low_order[0]); k++) {
		struct ostp_client_config cc = client_cfg();
		ostp_session *s;
		const uint8_t *out;

		ck_assert_int_eq(ostp_client_new(&s, &cc, NULL, 0), 0);
		ostp_output_consume(s, ostp_output(s, &out));
		expect_fail(s, low_order[k], 32, 0, OSTP_E_CRYPTO);
		expect_nothing_sent(s);
		ostp_session_free(s);
	}
}
END_TEST

/* Before keys exist an error closes without sending anything. */
START_TEST(cleartext_errors_send_nothing)
{
	static const struct { uint8_t opt, pad; int want; } cases[] = {
		{ 0x08, 8, OSTP_E_RESERVED }, { 0x80, 8, OSTP_E_RESERVED },
		{ 0, 7, OSTP_E_PAD }, { 0, 33, OSTP_E_PAD }, { 0, 0, OSTP_E_PAD }, { 0, 255, OSTP_E_PAD },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct ostp_server_config sc = server_cfg();
		ostp_session *s;
		uint8_t sr[65];

		memset(sr, 0x21, sizeof(sr));
		sr[0] = cases[k].opt;
		sr[33] = cases[k].pad;
		ck_assert_int_eq(ostp_server_new(&s, &sc, NULL, 0), 0);
		expect_fail(s, sr, sizeof(sr), 0, cases[k].want);
		expect_nothing_sent(s);
		ostp_session_free(s);
	}
}
END_TEST

/* ---- nonces ------------------------------------------------------------------------------ */

struct seen {
	unsigned epoch;
	uint64_t counter;
};

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	return x->counter < y->counter ? -1 : x->counter > y->counter;
}

START_TEST(nonce_unique_across_rekey)
{
	enum { N = 10000 };
	struct pair p;
	struct ostp_client_config cc = client_cfg();
	struct ostp_server_config sc = server_cfg();
	static struct seen seen[N + 16];
	uint8_t key0[32], key1[32], expect1[32], msg[16];
	struct ostp_event ev;
	size_t nseen = 0, off, rekeys = 0, nmsg = 0, wire_len, cap;
	unsigned epoch = 0;
	uint64_t next = 0;
	uint8_t *wire;

	cc.timing.rekey_ms = 1000;
	cc.timing.keepalive_ms = sc.timing.keepalive_ms = 1000000;
	cc.timing.dead_ms = sc.timing.dead_ms = 2000000;
	established_with(&p, &cc, &sc);
	/* every c2s byte: the handshake part as the pair moved it, then ours */
	cap = p.c.wire_len + (N + 1) * (HDR + sizeof(msg));
	wire = malloc(cap);
	memcpy(wire, p.c.wire, p.c.wire_len);
	wire_len = p.c.wire_len;
	memcpy(key0, p.c.s->tx.key, 32);
	ck_assert_mem_eq(key0, p.s.s->rx.key, 32);
	for (int i = 0; i < N; i++) {
		const uint8_t *out;
		size_t n, got;

		if (i == N / 2) {
			p.now += 1000;
			ck_assert_int_eq(ostp_tick(p.c.s, p.now, &ev), 0);
			ck_assert_int_eq(ev.type, OSTP_EV_NONE);
			memcpy(key1, p.c.s->tx.key, 32);
		}
		memset(msg, 0x5a, sizeof(msg)); /* the same plaintext every time */
		ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, msg, sizeof(msg)), 0);
		n = ostp_output(p.c.s, &out);
		ck_assert_uint_le(wire_len + n, cap);
		memcpy(wire + wire_len, out, n);
		ck_assert_int_eq(feed_all(p.s.s, out, n, p.now, &ev, &got), 0);
		ostp_output_consume(p.c.s, n);
		wire_len += n;
		nmsg += got;
	}
	/* the server read every message under the right key */
	ck_assert_uint_eq(nmsg, N);
	ck_assert(!ostp_session_closed(p.s.s));
	ck_assert(p.s.s->rx.counter == p.c.s->tx.counter);
	ck_assert_mem_eq(p.s.s->rx.key, key1, 32);
	crypto_generichash(expect1, 32, (const uint8_t *)"OSTP/1 rekey", 12, key0, 32);
	ck_assert_mem_eq(key1, expect1, 32);
	ck_assert(memcmp(key0, key1, 32) != 0);

	/* Walk every c2s frame the client sent, after the cleartext SR. */
	off = OSTP_SR_FIXED_LEN + wire[OSTP_SR_FIXED_LEN];
	while (off < wire_len) {
		const uint8_t *h = wire + off;
		uint64_t ctr;

		ck_assert_uint_le(off + HDR, wire_len);
		ctr = ostp_get64(h + 8);
		for (int i = 2; i < 8; i++)
			ck_assert_uint_eq(h[i], 0);
		/* counters run 0, 1, 2, ... under each key */
		ck_assert_msg(ctr == next, "frame %zu: counter %llu, expected %llu", nseen,
			      (unsigned long long)ctr, (unsigned long long)next);
		ck_assert_uint_lt(nseen, sizeof(seen) / sizeof(seen[0]));
		seen[nseen].epoch = epoch;
		seen[nseen].counter = ctr;
		nseen++;
		next++;
		if (h[0] == OSTP_MSG_REKEY) {
			epoch++;
			next = 0;
			rekeys++;
		}
		off += HDR + ostp_get16(h + 32);
	}
	ck_assert_uint_eq(off, wire_len);
	ck_assert_uint_eq(rekeys, 1);
	ck_assert_uint_ge(nseen, N);
	qsort(seen, nseen, sizeof(seen[0]), seen_cmp);
	for (size_t i = 1; i < nseen; i++)
		ck_assert_msg(seen_cmp(&seen[i - 1], &seen[i]) != 0, "(key %u, counter %llu) reused",
			      seen[i].epoch, (unsigned long long)seen[i].counter);
	free(wire);
	pair_free(&p);
}
END_TEST

START_TEST(directions_use_different_keys)
{
	static struct ostp_dir c2s, s2c;
	static uint8_t pt[256], ct1[256], ct2[256];
	uint8_t h1[HDR], h2[HDR];
	struct pair p;

	established(&p);
	ck_assert(memcmp(p.c.s->tx.key, p.c.s->rx.key, 32) != 0);
	ck_assert_mem_eq(p.c.s->tx.key, p.s.s->rx.key, 32);
	ck_assert_mem_eq(p.s.s->tx.key, p.c.s->rx.key, 32);
	ck_assert_int_eq(ostp_dir_copy(&c2s, &p.c.s->tx), 0);
	ck_assert_int_eq(ostp_dir_copy(&s2c, &p.s.s->tx), 0);
	pattern(pt, sizeof(pt), 77);
	for (uint64_t ctr = 0; ctr < 4; ctr++) {
		c2s.counter = s2c.counter = ctr;
		ck_assert_int_eq(ostp_frame_seal(&c2s, h1, OSTP_MSG_DATA, 0, pt, sizeof(pt), ct1), 0);
		ck_assert_int_eq(ostp_frame_seal(&s2c, h2, OSTP_MSG_DATA, 0, pt, sizeof(pt), ct2), 0);
		/* same iv (type, flags, nonce) and len ... */
		ck_assert_mem_eq(h1, h2, 16);
		ck_assert_mem_eq(h1 + 32, h2 + 32, 2);
		/* ... different keystream and tag */
		ck_assert(memcmp(ct1, ct2, sizeof(ct1)) != 0);
		ck_assert(memcmp(h1 + 16, h2 + 16, 16) != 0);
	}
	ostp_dir_wipe(&c2s);
	ostp_dir_wipe(&s2c);
	pair_free(&p);
}
END_TEST

Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *fr = tcase_create("frame");
	TCase *se = tcase_create("session");
	TCase *ch = tcase_create("chain");
	TCase *st = tcase_create("state");
	TCase *nc = tcase_create("nonce");
	TCase *bug = tcase_create("lib_bugs");

	tcase_add_unchecked_fixture(fr, setup_identity, NULL);
	tcase_add_unchecked_fixture(se, setup_identity, NULL);
	tcase_add_unchecked_fixture(ch, setup_identity, NULL);
	tcase_add_unchecked_fixture(st, setup_identity, NULL);
	tcase_add_unchecked_fixture(nc, setup_identity, NULL);
	tcase_add_unchecked_fixture(bug, setup_identity, NULL);
	tcase_add_checked_fixture(bug, NULL, bug_pair_teardown);
	/* generous: valgrind or a loaded machine in fork mode */
	tcase_set_timeout(fr, 120);
	tcase_set_timeout(se, 120);
	tcase_set_timeout(ch, 120);
	tcase_set_timeout(st, 120);
	tcase_set_timeout(nc, 120);
	tcase_set_timeout(bug, 120);
	tcase_add_test(fr, frame_round_trip);
	tcase_add_test(fr, frame_in_place);
	tcase_add_test(fr, frame_len_limit);
	tcase_add_test(fr, frame_every_bit_flip);
	tcase_add_test(fr, frame_reserved);
	tcase_add_test(fr, frame_counter_window);
	tcase_add_test(fr, frame_rekey);
	tcase_add_test(se, session_flip_ciphertext);
	tcase_add_test(se, session_flip_tag);
	tcase_add_test(se, session_flip_len);
	tcase_add_test(se, session_flip_type);
	tcase_add_test(se, session_flip_more);
	tcase_add_test(se, session_len_over_max);
	tcase_add_test(se, session_reserved_iv);
	tcase_add_test(se, session_reserved_flag);
	tcase_add_test(se, session_replay);
	tcase_add_test(se, session_skip);
	tcase_add_test(se, session_reflected);
	tcase_add_test(ch, chain_short_more);
	tcase_add_test(ch, chain_cut_by_close);
	tcase_add_test(ch, chain_cut_by_eof);
	tcase_add_test(ch, eof_between_messages);
	tcase_add_test(ch, chain_longest);
	tcase_add_test(ch, chain_mixed);
	tcase_add_test(ch, more_on_control_type);
	tcase_add_test(ch, unknown_types);
	tcase_add_test(ch, message_lengths);
	tcase_add_test(st, state_data_before_established);
	tcase_add_test(st, state_data_to_client_before_established);
	tcase_add_test(st, state_established_misplaced);
	tcase_add_test(st, state_config_when_agreed);
	tcase_add_test(st, client_new_bad_credentials);
	tcase_add_test(st, low_order_client_key);
	tcase_add_test(st, low_order_server_key);
	tcase_add_test(st, cleartext_errors_send_nothing);
	tcase_add_test(nc, nonce_unique_across_rekey);
	tcase_add_test(nc, directions_use_different_keys);
	tcase_add_test(bug, set_peers_during_block_sequence);
	suite_add_tcase(s, fr);
	suite_add_tcase(s, se);
	suite_add_tcase(s, ch);
	suite_add_tcase(s, st);
	suite_add_tcase(s, nc);
	suite_add_tcase(s, bug);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
