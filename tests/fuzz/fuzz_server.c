/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: a fresh server session fed arbitrary client bytes.
 *
 * The whole input is the byte stream from the client.  Its last two bytes
 * also steer the run: a = data[size-1], b = data[size-2].  The fuzzer can
 * append bytes to a valid stream without spoiling it, because whatever
 * follows the last whole frame is just an unfinished header.
 *   a bit 0     answer AUTH_REQUEST with ok (1) or refused (0)
 *   a bit 1     require_auth off (1) / on (0)
 *   a bits 2-3  max_auth_attempts - 1
 *   a bit 6     the server has peers to hand out
 *   b bits 6-7  chunk size limit: 16, 256 or 8192 bytes
 *   b bits 3-5  time step between chunks, in units of 350 ms
 * Chunk sizes come from the stream byte at the start of each chunk, mixed
 * with b.  After each chunk the clock moves and ostp_tick() runs.
 *
 * The server uses the vectors' configuration and RNG stream (seed 2), so the
 * seed corpus/fuzz_server/handshake (the client bytes of
 * tests/vectors/) goes all the way to the chained DATA message.
 *
 * Checked: no crash or leak; a returned error comes with a CLOSED event and
 * a closed session; input is never left unconsumed without an event;
 * events carry sane fields; everything the server sends is a well-formed
 * frame stream (after the 32-byte SH) with consecutive counters, and
 * nothing follows a CLOSE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GEN_VECTORS_NO_MAIN
#include "../vectors/gen_vectors.c"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t id_pk[32], id_sk[64];
static struct ostp_peer peers[20];

static void init_once(void)
{
	static bool ready;

	if (ready)
		return;
	CHECK(ostp_init() == OSTP_OK);
	vec_identity(id_pk, id_sk);
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		peers[i].port = (uint16_t)(7000 + i);
		memcpy(peers[i].host, "198.18.0.1", 11);
		peers[i].host[9] = (char)('1' + i % 9);
		memset(peers[i].id_pk, (int)i + 1, 32);
	}
	ready = true;
}

/* ---- the output must be a well-formed frame stream -------------------------- */

struct out_check {
	size_t skip;          /* cleartext still to pass over */
	uint8_t hdr[OSTP_FRAME_HDR_LEN];
	size_t hdr_have;
	size_t body_left;
	uint64_t counter;     /* the next frame's counter */
	bool close_seen;
};

static bool known_type(uint8_t t)
{
	return t == OSTP_MSG_DATA || t == OSTP_MSG_DATA_GSO || (t >= 0x10 && t <= 0x15) ||
	       t == OSTP_MSG_ECHO_REQ || t == OSTP_MSG_ECHO_REPLY || t == OSTP_MSG_REKEY ||
	       t == OSTP_MSG_CLOSE;
}

static void out_check_hdr(struct out_check *c)
{
	const uint8_t *h = c->hdr;
	uint16_t len = ostp_get16(h + 32);

	CHECK(!c->close_seen);
	CHECK(known_type(h[0]));
	CHECK((h[1] & ~OSTP_FLAG_MORE) == 0);
	CHECK((h[2] | h[3] | h[4] | h[5] | h[6] | h[7]) == 0);
	CHECK(len <= OSTP_FRAME_PAYLOAD_MAX);
	CHECK(ostp_get64(h + 8) == c->counter);
	if (h[1] & OSTP_FLAG_MORE)
		CHECK(len == OSTP_FRAME_PAYLOAD_MAX &&
		      (h[0] == OSTP_MSG_DATA || h[0] == OSTP_MSG_DATA_GSO));
	c->counter++;
	if (h[0] == OSTP_MSG_REKEY) {
		CHECK(len == 0);
		c->counter = 0;
	}
	if (h[0] == OSTP_MSG_CLOSE) {
		CHECK(len == 1);
		c->close_seen = true;
	}
	c->body_left = len;
	c->hdr_have = 0;
}

static void out_check_bytes(struct out_check *c, const uint8_t *p, size_t n)
{
	while (n) {
		size_t k;

		if (c->skip || c->body_left) {
			size_t *left = c->skip ? &c->skip : &c->body_left;

			k = n < *left ? n : *left;
			*left -= k;
		} else {
			k = OSTP_FRAME_HDR_LEN - c->hdr_have;
			if (k > n)
				k = n;
			memcpy(c->hdr + c->hdr_have, p, k);
			c->hdr_have += k;
			if (c->hdr_have == OSTP_FRAME_HDR_LEN)
				out_check_hdr(c);
		}
		p += k;
		n -= k;
	}
}

static void drain(ostp_session *s, struct out_check *c)
{
	const uint8_t *p;
	size_t n = ostp_output(s, &p);

	if (n) {
		CHECK(p != NULL);
		out_check_bytes(c, p, n);
	}
	ostp_output_consume(s, n);
	CHECK(ostp_output(s, &p) == 0);
}

/* ---- events ------------------------------------------------------------------- */

static void check_event(ostp_session *s, const struct ostp_event *ev, int err)
{
	if (err) {
		CHECK(err < 0 && err >= OSTP_E_CONFIG);
		CHECK(ev->type == OSTP_EV_CLOSED);
		CHECK(ev->err == err);
	}
	switch (ev->type) {
	case OSTP_EV_NONE:
	case OSTP_EV_HANDSHAKE:
		break;
	case OSTP_EV_AUTH_REQUEST:
		CHECK(ev->username && ostp_username_valid(ev->username, strlen(ev->username)));
		CHECK(ev->password && ev->password_len <= OSTP_PASS_MAX);
		break;
	case OSTP_EV_ESTABLISHED:
		CHECK(ostp_session_established(s));
		CHECK((ev->spw & ~OSTP_SPW_DEFINED) == 0);
		CHECK(ev->spw == ostp_session_spw(s));
		break;
	case OSTP_EV_MESSAGE:
		CHECK(ostp_session_established(s));
		CHECK(ev->msg_type == OSTP_MSG_DATA || ev->msg_type == OSTP_MSG_DATA_GSO);
		CHECK(ev->len >= 1 && ev->len <= OSTP_MSG_MAX && ev->data != NULL);
		CHECK((ev->data[0] | ev->data[ev->len - 1]) <= 0xff);
		break;
	case OSTP_EV_CLOSED:
		CHECK(ostp_session_closed(s));
		break;
	default:
		/* SERVER_KEY, AUTH_RESULT, PEER_BLOCK, CONFIG are client events */
		CHECK(0);
	}
}

static void feed_chunk(ostp_session *s, const uint8_t *p, size_t n, uint64_t now, bool accept)
{
	size_t off = 0;

	for (;;) {
		struct ostp_event ev;
		size_t used = SIZE_MAX;
		int err = ostp_feed(s, p + off, n - off, &used, now, &ev);

		CHECK(used <= n - off);
		off += used;
		check_event(s, &ev, err);
		if (ev.type == OSTP_EV_AUTH_REQUEST) {
			int r = ostp_server_auth_reply(s, accept, VEC_PERMITTED);

			CHECK(r == OSTP_OK || r == OSTP_E_AUTH);
			CHECK(r == OSTP_OK || ostp_session_closed(s));
		}
		if (ostp_session_closed(s)) {
			CHECK(ostp_feed(s, p, n, &used, now, &ev) == OSTP_E_CLOSED && used == 0);
			return;
		}
		/* no event and not closed: everything must have been taken */
		if (ev.type == OSTP_EV_NONE) {
			CHECK(off == n);
			return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ostp_server_config sc;
	struct ostp_config conf;
	struct test_rng rng;
	struct out_check oc = { .skip = OSTP_SH_LEN };
	struct ostp_event ev;
	ostp_session *s;
	uint8_t a = size ? data[size - 1] : 0, b = size > 1 ? data[size - 2] : 0;
	size_t limit = (b & 0x80) ? 8192 : (b & 0x40) ? 256 : 16, pos = 0;
	uint64_t now = VEC_NOW_MS, step = (uint64_t)((b >> 3) & 7) * 350;
	int err;

	init_once();
	test_rng_init(&rng, VEC_SERVER_RNG_SEED);
	vec_server_config(&sc, id_sk);
	sc.require_auth = !(a & 0x02);
	sc.max_auth_attempts = 1u + ((a >> 2) & 3u);
	vec_config(&conf);
	CHECK(ostp_server_new(&s, &sc, &(struct ostp_rng){ test_rng_fill, &rng }, now) == OSTP_OK);
	CHECK(ostp_server_set_config(s, &conf) == OSTP_OK);
	if (a & 0x40)
		CHECK(ostp_server_set_peers(s, peers, sizeof(peers) / sizeof(peers[0])) == OSTP_OK);

	while (pos < size && !ostp_session_closed(s)) {
		size_t chunk = 1 + (size_t)((data[pos] + b) * 131u) % limit;

		if (chunk > size - pos)
			chunk = size - pos;
		feed_chunk(s, data + pos, chunk, now, a & 1);
		drain(s, &oc);
		pos += chunk;
		now += step;
		err = ostp_tick(s, now, &ev);
		check_event(s, &ev, err);
		CHECK(ev.type == OSTP_EV_NONE || ev.type == OSTP_EV_CLOSED);
		CHECK(ostp_session_closed(s) || ostp_next_deadline(s) > now);
		drain(s, &oc);
	}
	if (!ostp_session_closed(s)) {
		err = ostp_eof(s, &ev);
		CHECK(err == OSTP_E_EOF || err == OSTP_E_CHAIN_TRUNC);
		check_event(s, &ev, err);
		CHECK(ostp_session_closed(s));
	} else {
		CHECK(ostp_eof(s, &ev) == OSTP_OK && ev.type == OSTP_EV_NONE);
	}
	drain(s, &oc);
	CHECK(ostp_send(s, OSTP_MSG_DATA, data, size ? 1 : 0) == OSTP_E_CLOSED);
	ostp_session_free(s);
	return 0;
}
