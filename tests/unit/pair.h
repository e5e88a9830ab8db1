/* SPDX-License-Identifier: ISC */
/*
 * An in-memory client/server pair for driving whole OSTP sessions in unit
 * tests: bytes move between the two sessions' outputs and inputs, events
 * are recorded, and randomness is a fixed stream so runs are reproducible.
 */
#ifndef OSTP_TEST_PAIR_H
#define OSTP_TEST_PAIR_H

#include <sodium.h>
#include <string.h>

#include "ostp.h"

#define PAIR_EVENTS 128
#define PAIR_WIRE (1u << 20)

struct test_rng {
	uint8_t stream[8192];
	size_t off;
};

static void test_rng_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct test_rng *r = ctx;

	if (r->off + len > sizeof(r->stream))
		r->off = 0;
	memcpy(buf, r->stream + r->off, len);
	r->off += len;
}

static void test_rng_init(struct test_rng *r, uint8_t seed_byte)
{
	uint8_t seed[randombytes_SEEDBYTES];

	memset(seed, seed_byte, sizeof(seed));
	randombytes_buf_deterministic(r->stream, sizeof(r->stream), seed);
	r->off = 0;
}

struct recorded {
	enum ostp_event_type type;
	int err;
	uint8_t code;
	uint8_t close_reason;
	bool peer_closed;
	uint16_t spw;
	uint8_t msg_type;
	size_t len;
	uint8_t seq;
	size_t npeers;
};

struct side {
	ostp_session *s;
	struct recorded ev[PAIR_EVENTS];
	size_t nev;
	int last_err;
	/* every byte this side sent, for known-answer vectors and tampering */
	uint8_t *wire;
	size_t wire_len;
	uint8_t last_msg[70000];
	size_t last_msg_len;
	size_t peers_seen;
	struct ostp_member last_member;   /* the last EV_MEMBER */
	uint8_t client_pk[32];            /* the last EV_CLIENT_KEY */
};

/* Decides an AUTH_REQUEST on the server side. */
typedef bool (*auth_fn)(const char *user, const char *pass, uint16_t *permitted);

struct pair {
	struct side c, s;
	struct test_rng crng, srng;
	uint64_t now;
	auth_fn auth;
	bool reject_server_key;   /* client application refuses a TOFU key */
	bool defer_auth;          /* leave AUTH_REQUEST unanswered */
	bool defer_identity;      /* leave CLIENT_KEY unanswered */
	bool reject_client_key;   /* server application refuses the client's key */
	/* flips or replaces bytes on the way; offset counted in the sender's stream */
	void (*tamper)(struct pair *p, bool from_client, uint8_t *buf, size_t len, size_t off);
	void *tamper_ctx;
};

static void side_record(struct side *sd, const struct ostp_event *ev, int err)
{
	struct recorded *r;

	if (ev->type == OSTP_EV_NONE || sd->nev >= PAIR_EVENTS)
		return;
	r = &sd->ev[sd->nev++];
	memset(r, 0, sizeof(*r));
	r->type = ev->type;
	r->err = ev->type == OSTP_EV_CLOSED ? ev->err : err;
	r->code = ev->code;
	r->close_reason = ev->close_reason;
	r->peer_closed = ev->peer_closed;
	r->spw = ev->spw;
	r->msg_type = ev->msg_type;
	r->len = ev->len;
	r->seq = ev->seq;
	r->npeers = ev->npeers;
	if (ev->type == OSTP_EV_MESSAGE && ev->len <= sizeof(sd->last_msg)) {
		memcpy(sd->last_msg, ev->data, ev->len);
		sd->last_msg_len = ev->len;
	}
	if (ev->type == OSTP_EV_PEER_BLOCK)
		sd->peers_seen += ev->npeers;
	if (ev->type == OSTP_EV_MEMBER)
		sd->last_member = *ev->member;
	if (ev->type == OSTP_EV_CLIENT_KEY)
		memcpy(sd->client_pk, ev->client_pk, 32);
}

static void pair_handle(struct pair *p, struct side *sd, const struct ostp_event *ev)
{
	if (ev->type == OSTP_EV_SERVER_KEY && p->reject_server_key)
		(void)ostp_close(sd->s, OSTP_CLOSE_PROTOCOL);
	if (ev->type == OSTP_EV_AUTH_REQUEST && !p->defer_auth) {
		uint16_t permitted = OSTP_SPW_DEFINED;
		bool ok = p->auth ? p->auth(ev->username, ev->password, &permitted) : false;
		(void)ostp_server_auth_reply(sd->s, ok, permitted);
	}
	if (ev->type == OSTP_EV_CLIENT_KEY && !p->defer_identity)
		(void)ostp_server_identity_reply(sd->s, !p->reject_client_key);
}

/* Events a session has without new input: a second event of the last
 * frame, or input it held while a password check was pending.  Returns
 * how many. */
static size_t pair_drain(struct pair *p, struct side *sd)
{
	size_t n = 0;

	for (;;) {
		struct ostp_event ev;
		size_t used;
		int err;

		if (ostp_session_closed(sd->s))
			break;
		err = ostp_feed(sd->s, NULL, 0, &used, p->now, &ev);
		if (err)
			sd->last_err = err;
		if (ev.type == OSTP_EV_NONE)
			break;
		side_record(sd, &ev, err);
		pair_handle(p, sd, &ev);
		n++;
	}
	return n;
}

/* Move what `from` has queued into `to`; returns bytes moved, or when
 * there were none, the events `to` produced from what it held. */
static size_t pair_move(struct pair *p, struct side *from, struct side *to)
{
	const uint8_t *out;
	size_t n = ostp_output(from->s, &out);
	uint8_t *buf;
	size_t off = 0;

	if (n == 0)
		return pair_drain(p, to);
	buf = malloc(n);
	memcpy(buf, out, n);
	ostp_output_consume(from->s, n);
	if (p->tamper)
		p->tamper(p, from == &p->c, buf, n, from->wire_len);
	if (from->wire_len + n <= PAIR_WIRE) {
		memcpy(from->wire + from->wire_len, buf, n);
		from->wire_len += n;
	}
	while (off < n && !ostp_session_closed(to->s)) {
		struct ostp_event ev;
		size_t used;
		int err = ostp_feed(to->s, buf + off, n - off, &used, p->now, &ev);

		off += used;
		if (err)
			to->last_err = err;
		side_record(to, &ev, err);
		pair_handle(p, to, &ev);
		if (used == 0 && ev.type == OSTP_EV_NONE)
			break;
	}
	/* drain a second event produced by the last frame */
	pair_drain(p, to);
	free(buf);
	return n;
}

static void pair_pump(struct pair *p)
{
	for (int i = 0; i < 1000; i++) {
		size_t moved = pair_move(p, &p->c, &p->s) + pair_move(p, &p->s, &p->c);
		if (moved == 0)
			break;
	}
}

static void pair_init(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	test_rng_init(&p->crng, 1);
	test_rng_init(&p->srng, 2);
	p->c.wire = malloc(PAIR_WIRE);
	p->s.wire = malloc(PAIR_WIRE);
	p->now = 1000;
}

static void pair_free(struct pair *p)
{
	ostp_session_free(p->c.s);
	ostp_session_free(p->s.s);
	free(p->c.wire);
	free(p->s.wire);
}

static const struct recorded *side_find(const struct side *sd, enum ostp_event_type t)
{
	for (size_t i = 0; i < sd->nev; i++)
		if (sd->ev[i].type == t)
			return &sd->ev[i];
	return NULL;
}

static size_t side_count(const struct side *sd, enum ostp_event_type t)
{
	size_t n = 0;

	for (size_t i = 0; i < sd->nev; i++)
		n += sd->ev[i].type == t;
	return n;
}

#endif
