/* SPDX-License-Identifier: ISC */
/*
 * What the session targets (fuzz_client.c, fuzz_server.c) share: checking
 * that the output is a well-formed frame stream, and feeding the input in
 * chunks with the clock moving between them.  Included after
 * ../vectors/gen_vectors.c.
 *
 * The last two bytes of the input steer the feeding (appending to a valid
 * stream does not spoil it): b = data[size-2],
 *   b bits 6-7  chunk size limit: 16, 256 or 8192 bytes
 *   b bits 3-5  time step between chunks, in units of 350 ms
 * Chunk sizes come from the stream byte at the start of each chunk, mixed
 * with b.  After each chunk the output is checked, the clock moves and
 * ostp_tick() runs.
 */
#ifndef OSTP_FUZZ_SESSION_H
#define OSTP_FUZZ_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

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
	return t == OSTP_MSG_DATA || t == OSTP_MSG_DATA_GSO || (t >= 0x10 && t <= 0x17) ||
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

/* What holds for events of either role: an error comes with a CLOSED event,
 * messages only on an established session, CLOSED only when closed.  The
 * targets' check_event() adds the role's own events. */
static void check_event_common(ostp_session *s, const struct ostp_event *ev, int err)
{
	if (err) {
		CHECK(err < 0 && err >= OSTP_E_IDENTITY);
		CHECK(ev->type == OSTP_EV_CLOSED);
		CHECK(ev->err == err);
	}
	switch (ev->type) {
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
		break;
	}
}

/* ---- feeding the input -------------------------------------------------------- */

/* What differs between the targets. */
struct fuzz_ops {
	/* Judges an event and the error that came with it. */
	void (*check_event)(ostp_session *s, const struct ostp_event *ev, int err);
	/* Answers an event fed input produced (may be NULL). */
	void (*on_event)(ostp_session *s, const struct ostp_event *ev);
	/* Further checks on what ostp_tick() gave (may be NULL). */
	void (*after_tick)(ostp_session *s, const struct ostp_event *ev, uint64_t now);
	/* A closed session may still hand out a pending event (client). */
	bool pending_after_close;
};

struct fuzz_stream {
	const uint8_t *data;
	size_t size;
	uint8_t a, b;         /* data[size-1], data[size-2]; 0 where missing */
	size_t limit;         /* chunk size limit */
	uint64_t now, step;   /* the clock, and how far it moves per chunk */
};

static void fuzz_stream_init(struct fuzz_stream *fs, const uint8_t *data, size_t size)
{
	fs->data = data;
	fs->size = size;
	fs->a = size ? data[size - 1] : 0;
	fs->b = size > 1 ? data[size - 2] : 0;
	fs->limit = (fs->b & 0x80) ? 8192 : (fs->b & 0x40) ? 256 : 16;
	fs->now = VEC_NOW_MS;
	fs->step = (uint64_t)((fs->b >> 3) & 7) * 350;
}

/* Feeds one chunk: input is never left unconsumed without an event, and a
 * closed session takes nothing more. */
static void feed_chunk(ostp_session *s, const uint8_t *p, size_t n, uint64_t now,
		       const struct fuzz_ops *ops)
{
	size_t off = 0;

	for (;;) {
		struct ostp_event ev;
		size_t used = SIZE_MAX;
		int err = ostp_feed(s, p + off, n - off, &used, now, &ev);

		CHECK(used <= n - off);
		off += used;
		ops->check_event(s, &ev, err);
		if (ops->on_event)
			ops->on_event(s, &ev);
		if (ostp_session_closed(s)) {
			/* a pending event may still come out, then nothing */
			if (ops->pending_after_close)
				while (ostp_feed(s, p, n, &used, now, &ev) == OSTP_OK &&
				       ev.type != OSTP_EV_NONE)
					ops->check_event(s, &ev, 0);
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

/* Feeds the whole stream, or until the session closes. */
static void fuzz_stream_feed(ostp_session *s, struct fuzz_stream *fs, struct out_check *oc,
			     const struct fuzz_ops *ops)
{
	size_t pos = 0;

	while (pos < fs->size && !ostp_session_closed(s)) {
		size_t chunk = 1 + (size_t)((fs->data[pos] + fs->b) * 131u) % fs->limit;
		struct ostp_event ev;
		int err;

		if (chunk > fs->size - pos)
			chunk = fs->size - pos;
		feed_chunk(s, fs->data + pos, chunk, fs->now, ops);
		drain(s, oc);
		pos += chunk;
		fs->now += fs->step;
		err = ostp_tick(s, fs->now, &ev);
		ops->check_event(s, &ev, err);
		if (ops->after_tick)
			ops->after_tick(s, &ev, fs->now);
		drain(s, oc);
	}
}

#endif
