/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: a fresh client session fed arbitrary server bytes.
 *
 * The client is the client of tests/vectors/: user "ian", the 0x42 server
 * identity pinned, and the same RNG stream (seed 1), so its session request
 * is always the same.  A reply only gets past the key exchange if it holds
 * the server's real ephemeral key and frames sealed under the keys that
 * follow.  The seed corpus/fuzz_client/handshake (the server bytes of the
 * vectors) is such a reply: it takes the client through SERVER_AUTH, SAP,
 * PAP and CONFIG.
 *
 * The whole input is the byte stream.  Its last two bytes also steer the
 * run (appending to a valid stream does not spoil it):
 *   a = data[size-1]: bit 1 TOFU instead of the pinned key,
 *                     bits 4-5 max_peer_blocks
 *   b = data[size-2]: bits 6-7 chunk size limit (16, 256, 8192),
 *                     bits 3-5 time step between chunks (x 350 ms)
 *
 * Checked as in fuzz_server.c: errors come with a CLOSED event, no stall,
 * sane events, and a well-formed outgoing frame stream after the SR.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GEN_VECTORS_NO_MAIN
#include "../vectors/gen_vectors.c"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t id_pk[32], id_sk[64];

static void init_once(void)
{
	static bool ready;

	if (ready)
		return;
	CHECK(ostp_init() == OSTP_OK);
	vec_identity(id_pk, id_sk);
	ready = true;
}

/* ---- the output must be a well-formed frame stream -------------------------- */

struct out_check {
	size_t skip;
	uint8_t hdr[OSTP_FRAME_HDR_LEN];
	size_t hdr_have;
	size_t body_left;
	uint64_t counter;
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
	case OSTP_EV_AUTH_RESULT:
		break;
	case OSTP_EV_SERVER_KEY:
	case OSTP_EV_HANDSHAKE:
		/* only the real identity can sign this transcript */
		CHECK(ev->server_pk != NULL);
		CHECK(memcmp(ev->server_pk, id_pk, 32) == 0);
		break;
	case OSTP_EV_ESTABLISHED:
		CHECK(ostp_session_established(s));
		CHECK((ev->spw & ~OSTP_SPW_DEFINED) == 0);
		/* never more than asked for */
		CHECK((ev->spw & ~VEC_CLIENT_SPW) == 0);
		break;
	case OSTP_EV_PEER_BLOCK:
		CHECK(ev->npeers <= OSTP_PB_N_PEERS && ev->seq >= 1);
		CHECK(ev->npeers == 0 || ev->peers != NULL);
		for (size_t i = 0; i < ev->npeers; i++) {
			CHECK(ev->peers[i].port != 0);
			CHECK(memchr(ev->peers[i].host, 0, sizeof(ev->peers[i].host)) != NULL);
		}
		break;
	case OSTP_EV_CONFIG:
		CHECK(ev->config != NULL && ev->config->n_addr <= OSTP_CONFIG_ADDR_MAX);
		for (size_t i = 0; i < ev->config->n_addr; i++) {
			const struct ostp_config_addr *x = &ev->config->addr[i];

			CHECK((x->family == 4 && x->prefix_len <= 32) ||
			      (x->family == 6 && x->prefix_len <= 128));
		}
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
		/* AUTH_REQUEST is a server event */
		CHECK(0);
	}
}

static void feed_chunk(ostp_session *s, const uint8_t *p, size_t n, uint64_t now)
{
	size_t off = 0;

	for (;;) {
		struct ostp_event ev;
		size_t used = SIZE_MAX;
		int err = ostp_feed(s, p + off, n - off, &used, now, &ev);

		CHECK(used <= n - off);
		off += used;
		check_event(s, &ev, err);
		if (ostp_session_closed(s)) {
			/* a pending event may still come out, then nothing */
			while (ostp_feed(s, p, n, &used, now, &ev) == OSTP_OK && ev.type != OSTP_EV_NONE)
				check_event(s, &ev, 0);
			CHECK(ostp_feed(s, p, n, &used, now, &ev) == OSTP_E_CLOSED && used == 0);
			return;
		}
		if (ev.type == OSTP_EV_NONE) {
			CHECK(off == n);
			return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ostp_client_config cc;
	struct test_rng rng;
	struct out_check oc = { 0 };
	struct ostp_event ev;
	ostp_session *s;
	const uint8_t *out;
	uint8_t a = size ? data[size - 1] : 0, b = size > 1 ? data[size - 2] : 0;
	size_t limit = (b & 0x80) ? 8192 : (b & 0x40) ? 256 : 16, pos = 0, n;
	uint64_t now = VEC_NOW_MS, step = (uint64_t)((b >> 3) & 7) * 350;
	int err;

	init_once();
	test_rng_init(&rng, VEC_CLIENT_RNG_SEED);
	vec_client_config(&cc, id_pk);
	cc.tofu = (a & 0x02) != 0;
	cc.max_peer_blocks = (a >> 4) & 3u;
	CHECK(ostp_client_new(&s, &cc, &(struct ostp_rng){ test_rng_fill, &rng }, now) == OSTP_OK);
	/* the SR goes out at once and is the only cleartext the client sends */
	n = ostp_output(s, &out);
	CHECK(n >= OSTP_SR_MIN_LEN && n <= OSTP_SR_MAX_LEN && out[0] == OSTP_OPT_U);
	CHECK(n == OSTP_SR_FIXED_LEN + out[OSTP_SR_FIXED_LEN]);
	ostp_output_consume(s, n);

	while (pos < size && !ostp_session_closed(s)) {
		size_t chunk = 1 + (size_t)((data[pos] + b) * 131u) % limit;

		if (chunk > size - pos)
			chunk = size - pos;
		feed_chunk(s, data + pos, chunk, now);
		drain(s, &oc);
		pos += chunk;
		now += step;
		err = ostp_tick(s, now, &ev);
		check_event(s, &ev, err);
		drain(s, &oc);
	}
	/* a pending second event (TOFU) is still there to collect */
	do {
		size_t used;

		err = ostp_feed(s, NULL, 0, &used, now, &ev);
		if (err == OSTP_E_CLOSED)
			break;
		check_event(s, &ev, err);
	} while (ev.type != OSTP_EV_NONE);
	if (!ostp_session_closed(s)) {
		err = ostp_eof(s, &ev);
		CHECK(err == OSTP_E_EOF || err == OSTP_E_CHAIN_TRUNC);
		check_event(s, &ev, err);
	}
	CHECK(ostp_session_closed(s));
	drain(s, &oc);
	ostp_session_free(s);
	return 0;
}
