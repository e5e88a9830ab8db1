/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: message frames.
 *
 * Part 1, a fixed-key struct ostp_dir (lib/frame.h):
 *  a) the input as a stream of received frames: parse_hdr, then open while
 *     they keep passing.  Errors must be one of the typed header errors or
 *     E_TAG, and a failed open must not move the counter.
 *  b) the input as a frame to send: type = data[0], MORE = data[1] bit 0,
 *     counter = data[2], payload = the rest (at most 4096 bytes).  Seal,
 *     then parse_hdr and open must give the payload back; a single-bit
 *     flip anywhere in the frame (position from data[3..4]) must be refused.
 *
 * Part 2, a server session that completed the handshake of tests/vectors/
 * with its fixed-RNG client.  That handshake runs once, on the first call,
 * and the established server is kept as a snapshot; every input gets a
 * fresh copy of it and is fed to it as client frames (c2s counter 2).  The
 * seed corpus/fuzz_frame/chained (the vectors' chained DATA message) is a
 * valid input.  The server's answers must be a well-formed frame stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GEN_VECTORS_NO_MAIN
#include "../vectors/gen_vectors.c"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)
#define HDR OSTP_FRAME_HDR_LEN

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fixed_key[32] = {
	0x6f, 0x73, 0x74, 0x70, 0x20, 0x66, 0x75, 0x7a, 0x7a, 0x20, 0x66, 0x72, 0x61, 0x6d, 0x65, 0x21,
	0x6f, 0x73, 0x74, 0x70, 0x20, 0x66, 0x75, 0x7a, 0x7a, 0x20, 0x66, 0x72, 0x61, 0x6d, 0x65, 0x21,
};

static struct ostp_dir rx, tx;           /* static: the GCM state wants alignment */
static uint8_t id_pk[32], id_sk[64];
static ostp_session *snapshot;           /* established server, never fed */
static struct test_rng server_rng;       /* the snapshot's RNG context */

/* ---- part 1: the frame layer alone -------------------------------------------- */

static void frames_received(const uint8_t *data, size_t size)
{
	static uint8_t pt[OSTP_FRAME_PAYLOAD_MAX];
	size_t off = 0;

	CHECK(ostp_dir_init(&rx, fixed_key) == OSTP_OK);
	while (size - off >= HDR) {
		struct ostp_frame_hdr fh;
		uint64_t before = rx.counter;
		int err = ostp_frame_parse_hdr(&rx, data + off, &fh);

		if (err) {
			CHECK(err == OSTP_E_RESERVED || err == OSTP_E_LEN || err == OSTP_E_REPLAY ||
			      err == OSTP_E_SKIP);
			break;
		}
		CHECK(fh.len <= OSTP_FRAME_PAYLOAD_MAX && (fh.flags & ~OSTP_FLAG_MORE) == 0);
		CHECK(fh.type == data[off] && fh.len == ostp_get16(data + off + 32));
		if (size - off - HDR < fh.len)
			break;
		err = ostp_frame_open(&rx, data + off, data + off + HDR, fh.len, pt);
		if (err) {
			CHECK(err == OSTP_E_TAG && rx.counter == before);
			break;
		}
		CHECK(rx.counter == before + 1);
		off += HDR + fh.len;
	}
}

static void seal_open(const uint8_t *data, size_t size)
{
	static uint8_t frame[HDR + OSTP_FRAME_PAYLOAD_MAX], pt[OSTP_FRAME_PAYLOAD_MAX];
	struct ostp_frame_hdr fh;
	size_t len, flip;
	uint8_t type, flags;
	uint64_t ctr;
	int err;

	if (size < 5)
		return;
	type = data[0];
	flags = data[1] & OSTP_FLAG_MORE;
	ctr = data[2];
	flip = ostp_get16(data + 3);
	len = size - 5 > OSTP_FRAME_PAYLOAD_MAX ? OSTP_FRAME_PAYLOAD_MAX : size - 5;

	CHECK(ostp_dir_init(&tx, fixed_key) == OSTP_OK);
	CHECK(ostp_dir_init(&rx, fixed_key) == OSTP_OK);
	tx.counter = rx.counter = ctr;
	/* out of place, then in place from the same state: the same frame */
	CHECK(ostp_frame_seal(&tx, frame, type, flags, data + 5, len, frame + HDR) == OSTP_OK);
	CHECK(tx.counter == ctr + 1);
	memcpy(pt, data + 5, len);
	tx.counter = ctr;
	{
		uint8_t hdr2[HDR];

		CHECK(ostp_frame_seal(&tx, hdr2, type, flags, pt, len, pt) == OSTP_OK);
		CHECK(memcmp(hdr2, frame, HDR) == 0 && memcmp(pt, frame + HDR, len) == 0);
	}
	CHECK(ostp_frame_parse_hdr(&rx, frame, &fh) == OSTP_OK);
	CHECK(fh.type == type && fh.flags == flags && fh.len == len);
	CHECK(ostp_frame_open(&rx, frame, frame + HDR, len, pt) == OSTP_OK);
	CHECK(memcmp(pt, data + 5, len) == 0);

	/* one flipped bit anywhere: refused, and the receiver does not move */
	rx.counter = ctr;
	flip %= (HDR + len) * 8;
	frame[flip / 8] ^= (uint8_t)(1u << (flip % 8));
	err = ostp_frame_parse_hdr(&rx, frame, &fh);
	if (err == OSTP_OK) {
		/* only a len that still fits can get this far; the bytes past
		 * the payload are whatever is in the buffer */
		CHECK(fh.len <= OSTP_FRAME_PAYLOAD_MAX);
		err = ostp_frame_open(&rx, frame, frame + HDR, fh.len, pt);
	}
	CHECK(err != OSTP_OK);
	CHECK(rx.counter == ctr);
}

/* ---- part 2: an established server session -------------------------------------- */

static bool auth_yes(const char *user, const char *pass, uint16_t *permitted)
{
	return vec_auth(user, pass, permitted);
}

/* Runs the vectors' handshake against a server with the vectors' RNG and
 * keeps that server. */
static void make_snapshot(void)
{
	struct vec_transcript t;
	struct ostp_server_config sc;
	struct ostp_config conf;
	struct ostp_event ev;
	const uint8_t *out;
	ostp_session *s;
	size_t off = 0, used;

	CHECK(vec_run(&t) == 0);
	test_rng_init(&server_rng, VEC_SERVER_RNG_SEED);
	vec_server_config(&sc, id_sk);
	vec_config(&conf);
	CHECK(ostp_server_new(&s, &sc, &(struct ostp_rng){ test_rng_fill, &server_rng },
			      VEC_NOW_MS) == OSTP_OK);
	CHECK(ostp_server_set_config(s, &conf) == OSTP_OK);
	while (off < t.hs_c2s_len) {
		CHECK(ostp_feed(s, t.hs_c2s + off, t.hs_c2s_len - off, &used, VEC_NOW_MS, &ev) ==
		      OSTP_OK);
		off += used;
		if (ev.type == OSTP_EV_AUTH_REQUEST) {
			uint16_t permitted = 0;

			CHECK(auth_yes(ev.username, ev.password, &permitted));
			CHECK(ostp_server_auth_reply(s, true, permitted) == OSTP_OK);
		}
	}
	CHECK(ostp_session_established(s));
	/* what it sent is exactly the vectors' server side */
	CHECK(ostp_output(s, &out) == t.hs_s2c_len && memcmp(out, t.hs_s2c, t.hs_s2c_len) == 0);
	ostp_output_consume(s, t.hs_s2c_len);
	vec_free(&t);

	/* The copy below shares nothing on the heap with the snapshot: no
	 * output buffer, no chain buffer, no peer list; its frame directions
	 * get engine state of their own. */
	free(s->out);
	s->out = NULL;
	s->out_off = s->out_len = s->out_cap = 0;
	CHECK(s->msg == NULL && s->u.s.peers == NULL);
	snapshot = s;
}

static ostp_session *fresh_server(void)
{
	ostp_session *s = aligned_alloc(16, (sizeof(*s) + 15u) & ~(size_t)15u);

	CHECK(s != NULL);
	memcpy(s, snapshot, sizeof(*s));
	/* the AEAD engine may own memory (OpenSSL's cipher contexts), which
	 * the struct copy would share and the copy's free would release */
	CHECK(ostp_dir_copy(&s->tx, &snapshot->tx) == OSTP_OK);
	CHECK(ostp_dir_copy(&s->rx, &snapshot->rx) == OSTP_OK);
	return s;
}

static bool known_type(uint8_t t)
{
	return t == OSTP_MSG_DATA || t == OSTP_MSG_DATA_GSO || (t >= 0x10 && t <= 0x17) ||
	       t == OSTP_MSG_ECHO_REQ || t == OSTP_MSG_ECHO_REPLY || t == OSTP_MSG_REKEY ||
	       t == OSTP_MSG_CLOSE;
}

/* Everything the server sent since the snapshot: whole frames, counters
 * following on from the snapshot's, nothing after a CLOSE. */
struct out_state {
	uint64_t ctr;         /* the next frame's counter */
	bool closed;          /* a CLOSE went out */
};

static void check_output(ostp_session *s, struct out_state *st)
{
	const uint8_t *p;
	size_t n = ostp_output(s, &p), off = 0;

	while (off < n) {
		const uint8_t *h = p + off;
		uint16_t len;

		CHECK(!st->closed && n - off >= HDR);
		len = ostp_get16(h + 32);
		CHECK(known_type(h[0]) && (h[1] & ~OSTP_FLAG_MORE) == 0);
		CHECK((h[2] | h[3] | h[4] | h[5] | h[6] | h[7]) == 0);
		CHECK(ostp_get64(h + 8) == st->ctr);
		CHECK(len <= OSTP_FRAME_PAYLOAD_MAX && n - off - HDR >= len);
		st->ctr = h[0] == OSTP_MSG_REKEY ? 0 : st->ctr + 1;
		st->closed = h[0] == OSTP_MSG_CLOSE;
		off += HDR + len;
	}
	ostp_output_consume(s, n);
}

static void session_frames(const uint8_t *data, size_t size)
{
	ostp_session *s = fresh_server();
	struct out_state st = { .ctr = snapshot->tx.counter };
	uint64_t now = VEC_NOW_MS + 1;
	struct ostp_event ev;
	size_t off = 0, used;
	int err;

	for (;;) {
		err = ostp_feed(s, data + off, size - off, &used, now, &ev);
		CHECK(used <= size - off);
		off += used;
		if (err) {
			CHECK(err < 0 && err >= OSTP_E_IDENTITY);
			CHECK(ev.type == OSTP_EV_CLOSED && ev.err == err && ostp_session_closed(s));
			break;
		}
		if (ev.type == OSTP_EV_MESSAGE)
			CHECK(ev.len >= 1 && ev.len <= OSTP_MSG_MAX &&
			      (ev.msg_type == OSTP_MSG_DATA || ev.msg_type == OSTP_MSG_DATA_GSO) &&
			      (ev.data[0] | ev.data[ev.len - 1]) <= 0xff);
		else
			CHECK(ev.type == OSTP_EV_NONE || ev.type == OSTP_EV_CLOSED);
		if (ev.type == OSTP_EV_CLOSED) {
			CHECK(ostp_session_closed(s));
			break;
		}
		if (ev.type == OSTP_EV_NONE) {
			CHECK(off == size);
			break;
		}
	}
	check_output(s, &st);
	if (!ostp_session_closed(s)) {
		/* keepalive and rekey after a long silence, then the cut */
		err = ostp_tick(s, now + 15000, &ev);
		CHECK(err == OSTP_OK && ev.type == OSTP_EV_NONE);
		check_output(s, &st);
		err = ostp_eof(s, &ev);
		CHECK(err == OSTP_E_EOF || err == OSTP_E_CHAIN_TRUNC);
		CHECK(ev.type == OSTP_EV_CLOSED && ostp_session_closed(s));
	}
	check_output(s, &st);
	ostp_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!snapshot) {
		CHECK(ostp_init() == OSTP_OK);
		vec_identity(id_pk, id_sk);
		make_snapshot();
	}
	frames_received(data, size);
	seal_open(data, size);
	session_frames(data, size);
	return 0;
}
