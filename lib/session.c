/* SPDX-License-Identifier: ISC */
/*
 * Session plumbing common to both roles: byte intake and frame reassembly,
 * message chaining, the output queue, timers and the authenticated close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

static void default_fill(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

int ostp_init(void)
{
	/* libsodium sizes the protocol relies on, checked at run time as
	 * tomsg advises: a different build must fail loudly, not silently. */
	if (sodium_init() < 0)
		return OSTP_E_CRYPTO;
	if (crypto_kx_PUBLICKEYBYTES != 32 || crypto_kx_SECRETKEYBYTES != 32 ||
	    crypto_kx_SESSIONKEYBYTES != 32 || OSTP_AEAD_KEY_LEN != 32 ||
	    OSTP_AEAD_IV_LEN != OSTP_NONCE_LEN || OSTP_AEAD_TAG_LEN != OSTP_TAG_LEN ||
	    crypto_sign_ed25519_BYTES != OSTP_SIG_LEN)
		return OSTP_E_CRYPTO;
	/* the frame engine's own checks: libsodium's needs AES-NI and PCLMUL,
	 * OpenSSL's runs without them too (more slowly) */
	return ostp_aead_check();
}

void ostp_rng_fill(ostp_session *s, uint8_t *buf, size_t len)
{
	s->rng.fill(s->rng.ctx, buf, len);
}

static void timing_defaults(struct ostp_timing *t, const struct ostp_timing *in)
{
	*t = *in;
	if (!t->handshake_ms)
		t->handshake_ms = 5000;
	if (!t->keepalive_ms)
		t->keepalive_ms = 10000;
	if (!t->dead_ms)
		t->dead_ms = 30000;
	if (!t->rekey_ms)
		t->rekey_ms = 120000;
}

ostp_session *ostp_session_alloc(enum ostp_role role, const struct ostp_rng *rng,
				 const struct ostp_timing *timing, size_t outq_max,
				 uint64_t now)
{
	ostp_session *s = aligned_alloc(16, (sizeof(*s) + 15u) & ~(size_t)15u);

	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->role = role;
	s->rng.fill = rng && rng->fill ? rng->fill : default_fill;
	s->rng.ctx = rng ? rng->ctx : NULL;
	timing_defaults(&s->timing, timing);
	s->outq_max = outq_max ? outq_max : OSTP_OUTQ_DEFAULT;
	s->created_ms = s->last_rx_ms = s->last_echo_ms = s->last_rekey_ms = now;
	s->max_pap_rounds = 4;
	return s;
}

void ostp_wipe_handshake(ostp_session *s)
{
	sodium_memzero(s->eph_sk, sizeof(s->eph_sk));
	sodium_memzero(s->th, sizeof(s->th));
}

static void wipe_secrets(ostp_session *s)
{
	ostp_wipe_handshake(s);
	ostp_dir_wipe(&s->tx);
	ostp_dir_wipe(&s->rx);
	sodium_memzero(s->ctl, sizeof(s->ctl));
	if (s->msg)
		sodium_memzero(s->msg, OSTP_MSG_MAX);
	if (s->role == OSTP_ROLE_CLIENT) {
		sodium_memzero(s->u.c.password, sizeof(s->u.c.password));
	} else {
		sodium_memzero(&s->u.s.sap, sizeof(s->u.s.sap));
	}
	s->keys = false;
}

static void hold_drop(ostp_session *s)
{
	if (s->hold) {
		sodium_memzero(s->hold, OSTP_HOLD_MAX);
		free(s->hold);
	}
	s->hold = NULL;
	s->hold_off = s->hold_len = 0;
}

void ostp_session_free(ostp_session *s)
{
	if (!s)
		return;
	wipe_secrets(s);
	hold_drop(s);
	if (s->role == OSTP_ROLE_SERVER)
		ostp_server_free_part(s);
	free(s->msg);
	free(s->out);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

/* "OSTP_TRAFFIC_KEY " epk_c " c2s " generation " " key, and the NUL */
#define KEYLOG_LINE_MAX (17u + 64u + 5u + 10u + 1u + 64u + 1u)

/* One key-log line for the key a direction has just installed. */
static void keylog_key(ostp_session *s, bool tx)
{
	char line[KEYLOG_LINE_MAX], id[2 * OSTP_PUBKEY_LEN + 1], key[2 * 32 + 1];
	const struct ostp_dir *d = tx ? &s->tx : &s->rx;
	bool c2s = tx == (s->role == OSTP_ROLE_CLIENT);

	if (!s->keylog.line)
		return;
	sodium_bin2hex(id, sizeof(id), s->keylog_id, sizeof(s->keylog_id));
	sodium_bin2hex(key, sizeof(key), d->key, sizeof(d->key));
	snprintf(line, sizeof(line), "OSTP_TRAFFIC_KEY %s %s %u %s", id, c2s ? "c2s" : "s2c",
		 (unsigned)(tx ? s->gen_tx : s->gen_rx), key);
	s->keylog.line(s->keylog.ctx, line);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(line, sizeof(line));
}

int ostp_set_keys(ostp_session *s, const struct ostp_keys *k)
{
	bool client = s->role == OSTP_ROLE_CLIENT;
	int err = ostp_dir_init(&s->tx, client ? k->c2s : k->s2c);

	if (!err)
		err = ostp_dir_init(&s->rx, client ? k->s2c : k->c2s);
	if (err) {
		ostp_dir_wipe(&s->tx);
		return err;
	}
	s->keys = true;
	if (s->keylog.line) {
		/* both roles hold the SR at the start of hs: epk_c follows
		 * its options byte */
		memcpy(s->keylog_id, s->hs + 1, sizeof(s->keylog_id));
		keylog_key(s, client);    /* c2s first, in both roles */
		keylog_key(s, !client);
	}
	return OSTP_OK;
}

/* ---- output queue --------------------------------------------------------- */

static size_t out_pending(const ostp_session *s)
{
	return s->out_len - s->out_off;
}

/* Hard ceiling whatever the caller does: the data limit plus one whole
 * chained message plus room for control replies. */
static size_t out_hard_cap(const ostp_session *s)
{
	return s->outq_max + 2u * (OSTP_MSG_MAX + OSTP_CHAIN_FRAMES_MAX * OSTP_FRAME_HDR_LEN);
}

static uint8_t *out_reserve(ostp_session *s, size_t n)
{
	if (out_pending(s) + n > out_hard_cap(s))
		return NULL;
	if (s->out_off && s->out_len + n > s->out_cap) {
		memmove(s->out, s->out + s->out_off, out_pending(s));
		s->out_len -= s->out_off;
		s->out_off = 0;
	}
	if (s->out_len + n > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		uint8_t *p;

		while (cap < s->out_len + n)
			cap *= 2;
		p = realloc(s->out, cap);
		if (!p)
			return NULL;
		s->out = p;
		s->out_cap = cap;
	}
	s->out_len += n;
	return s->out + s->out_len - n;
}

int ostp_queue_raw(ostp_session *s, const uint8_t *data, size_t len)
{
	uint8_t *p = out_reserve(s, len);

	if (!p)
		return OSTP_E_NOMEM;
	memcpy(p, data, len);
	return OSTP_OK;
}

static bool chainable(uint8_t type)
{
	return type == OSTP_MSG_DATA || type == OSTP_MSG_DATA_GSO;
}

int ostp_queue_msg(ostp_session *s, uint8_t type, const uint8_t *data, size_t len)
{
	size_t nframes = len ? (len + OSTP_FRAME_PAYLOAD_MAX - 1) / OSTP_FRAME_PAYLOAD_MAX : 1;
	size_t mark;
	uint8_t *p;

	if (!s->keys || s->close_sent)
		return OSTP_E_CLOSED;
	if (len > OSTP_MSG_MAX || (nframes > 1 && !chainable(type)))
		return OSTP_E_LONG;
	p = out_reserve(s, len + nframes * OSTP_FRAME_HDR_LEN);
	if (!p)
		return OSTP_E_NOMEM;
	mark = (size_t)(p - s->out);
	for (size_t i = 0; i < nframes; i++) {
		size_t off = i * OSTP_FRAME_PAYLOAD_MAX;
		size_t n = len - off < OSTP_FRAME_PAYLOAD_MAX ? len - off : OSTP_FRAME_PAYLOAD_MAX;
		uint8_t flags = i + 1 < nframes ? OSTP_FLAG_MORE : 0;
		int err = ostp_frame_seal(&s->tx, p, type, flags, data + off, n,
					  p + OSTP_FRAME_HDR_LEN);
		if (err) {
			/* the reserved bytes hold no sealed frame (old buffer
			 * contents, perhaps): they must never be sent */
			s->out_len = mark;
			return err;
		}
		p += OSTP_FRAME_HDR_LEN + n;
	}
	return OSTP_OK;
}

size_t ostp_output(const ostp_session *s, const uint8_t **p)
{
	*p = s->out ? s->out + s->out_off : NULL;
	return out_pending(s);
}

void ostp_output_consume(ostp_session *s, size_t n)
{
	if (n > out_pending(s))
		n = out_pending(s);
	s->out_off += n;
	if (s->out_off == s->out_len) {
		s->out_off = s->out_len = 0;
		/* An idle session should not keep a burst's worth of memory. */
		if (s->out_cap > 65536) {
			free(s->out);
			s->out = NULL;
			s->out_cap = 0;
		}
	}
}

/* ---- close ---------------------------------------------------------------- */

static uint8_t reason_for(int err)
{
	switch (err) {
	case OSTP_OK: return OSTP_CLOSE_NORMAL;
	case OSTP_E_AUTH: return OSTP_CLOSE_AUTH_FAILED;
	case OSTP_E_AUTH_REQUIRED: return OSTP_CLOSE_AUTH_REQUIRED;
	case OSTP_E_TIMEOUT: return OSTP_CLOSE_TIMEOUT;
	case OSTP_E_SPW: return OSTP_CLOSE_SPW;
	case OSTP_E_RESOURCE:
	case OSTP_E_AUTH_BUSY: return OSTP_CLOSE_RESOURCE;
	case OSTP_E_IDENTITY: return OSTP_CLOSE_NOT_MEMBER;
	default: return OSTP_CLOSE_PROTOCOL;
	}
}

static int err_for(uint8_t reason)
{
	switch (reason) {
	case OSTP_CLOSE_NORMAL:
	case OSTP_CLOSE_SHUTDOWN: return OSTP_OK;
	case OSTP_CLOSE_AUTH_FAILED:
	case OSTP_CLOSE_REVOKED: return OSTP_E_AUTH;
	case OSTP_CLOSE_AUTH_REQUIRED: return OSTP_E_AUTH_REQUIRED;
	case OSTP_CLOSE_TIMEOUT: return OSTP_E_TIMEOUT;
	case OSTP_CLOSE_SPW: return OSTP_E_SPW;
	case OSTP_CLOSE_RESOURCE: return OSTP_E_RESOURCE;
	case OSTP_CLOSE_NOT_MEMBER: return OSTP_E_IDENTITY;
	default: return OSTP_E_STATE;
	}
}

static void close_with(ostp_session *s, uint8_t reason)
{
	if (s->keys && !s->close_sent) {
		(void)ostp_queue_msg(s, OSTP_MSG_CLOSE, &reason, 1);
		s->close_sent = true;
	}
	s->state = ST_CLOSED;
	wipe_secrets(s);
}

static void closed_event(struct ostp_event *ev, int err, bool by_peer, uint8_t reason)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = OSTP_EV_CLOSED;
	ev->err = err;
	ev->peer_closed = by_peer;
	ev->close_reason = reason;
}

int ostp_fail(ostp_session *s, int err, struct ostp_event *ev)
{
	uint8_t reason = reason_for(err);

	close_with(s, reason);
	closed_event(ev, err, false, reason);
	return err;
}

int ostp_close(ostp_session *s, uint8_t reason)
{
	if (s->state == ST_CLOSED)
		return OSTP_E_CLOSED;
	close_with(s, reason);
	return OSTP_OK;
}

int ostp_eof(ostp_session *s, struct ostp_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (s->state == ST_CLOSED)
		return OSTP_OK;
	/* No CLOSE was received: the connection was cut, not ended. */
	close_with(s, OSTP_CLOSE_PROTOCOL);
	s->close_sent = true;
	closed_event(ev, s->in_chain ? OSTP_E_CHAIN_TRUNC : OSTP_E_EOF, false, 0);
	return ev->err;
}

void ostp_established(ostp_session *s, uint16_t spw, struct ostp_event *ev)
{
	s->state = ST_ESTABLISHED;
	s->spw = spw;
	s->last_rekey_ms = s->last_rx_ms;
	ostp_wipe_handshake(s);
	ev->type = OSTP_EV_ESTABLISHED;
	ev->spw = spw;
}

/* ---- messages common to both roles ------------------------------------------ */

static int on_common(ostp_session *s, uint8_t type, const uint8_t *p, size_t len,
		     struct ostp_event *ev, bool *handled)
{
	int err;

	*handled = true;
	switch (type) {
	case OSTP_MSG_CLOSE:
		if (len != OSTP_CLOSE_LEN)
			return ostp_fail(s, OSTP_E_LEN, ev);
		{
			/* p points into ctl, which closing wipes */
			uint8_t reason = p[0];

			/* The peer is gone: nothing more may be sent. */
			s->close_sent = true;
			close_with(s, reason);
			closed_event(ev, err_for(reason), true, reason);
		}
		return OSTP_OK;
	case OSTP_MSG_ECHO_REQ:
	case OSTP_MSG_ECHO_REPLY:
	case OSTP_MSG_REKEY:
		break;
	default:
		*handled = false;
		return OSTP_OK;
	}
	if (s->state != ST_ESTABLISHED)
		return ostp_fail(s, OSTP_E_STATE, ev);
	if (type == OSTP_MSG_REKEY) {
		if (len != 0)
			return ostp_fail(s, OSTP_E_LEN, ev);
		err = ostp_dir_rekey(&s->rx);
		if (err)
			return ostp_fail(s, err, ev);
		s->gen_rx++;
		keylog_key(s, false);
		return OSTP_OK;
	}
	if (len > OSTP_ECHO_MAX)
		return ostp_fail(s, OSTP_E_LEN, ev);
	if (type == OSTP_MSG_ECHO_REPLY)
		s->echo_replies++;
	if (type == OSTP_MSG_ECHO_REQ) {
		err = ostp_queue_msg(s, OSTP_MSG_ECHO_REPLY, p, len);
		if (err)
			return ostp_fail(s, err, ev);
	}
	return OSTP_OK;
}

/* A session that agreed neither IPv4 nor IPv6 carries no packets at all
 * (a peer-list-only session, or a counter-proposal of 0x0000). */
static bool carries_packets(const ostp_session *s)
{
	return (s->spw & (OSTP_SPW_IPV4 | OSTP_SPW_IPV6)) != 0;
}

static int on_data(ostp_session *s, uint8_t type, const uint8_t *p, size_t len,
		   struct ostp_event *ev)
{
	if (s->state != ST_ESTABLISHED || !carries_packets(s) ||
	    (type == OSTP_MSG_DATA_GSO && !(s->spw & OSTP_SPW_GSO)))
		return ostp_fail(s, OSTP_E_STATE, ev);
	/* a GSO message is at least a virtio-net header and one byte */
	if (len == 0 || (type == OSTP_MSG_DATA_GSO && len <= OSTP_VNET_HDR_LEN))
		return ostp_fail(s, OSTP_E_LEN, ev);
	ev->type = OSTP_EV_MESSAGE;
	ev->msg_type = type;
	ev->data = p;
	ev->len = len;
	return OSTP_OK;
}

static bool known_type(uint8_t type)
{
	switch (type) {
	case OSTP_MSG_DATA: case OSTP_MSG_DATA_GSO: case OSTP_MSG_SERVER_AUTH:
	case OSTP_MSG_SAP: case OSTP_MSG_PAP: case OSTP_MSG_MGMT:
	case OSTP_MSG_PEER_BLOCK: case OSTP_MSG_CONFIG: case OSTP_MSG_CLIENT_AUTH:
	case OSTP_MSG_MEMBER: case OSTP_MSG_ECHO_REQ:
	case OSTP_MSG_ECHO_REPLY: case OSTP_MSG_REKEY: case OSTP_MSG_CLOSE:
		return true;
	default:
		return false;
	}
}

static int dispatch(ostp_session *s, uint8_t type, const uint8_t *p, size_t len,
		    struct ostp_event *ev)
{
	bool handled;
	int err;

	if (!known_type(type))
		return ostp_fail(s, OSTP_E_TYPE, ev);
	/* The client relies on CONFIG coming first once it was agreed. */
	if (s->role == OSTP_ROLE_CLIENT && s->u.c.config_due && type != OSTP_MSG_CONFIG &&
	    type != OSTP_MSG_CLOSE)
		return ostp_fail(s, OSTP_E_STATE, ev);
	err = on_common(s, type, p, len, ev, &handled);
	if (handled)
		return err;
	if (chainable(type))
		return on_data(s, type, p, len, ev);
	if (s->role == OSTP_ROLE_CLIENT)
		return ostp_client_on_msg(s, type, p, len, ev);
	return ostp_server_on_msg(s, type, p, len, ev);
}

/* ---- intake ------------------------------------------------------------------ */

static int hdr_complete(ostp_session *s, struct ostp_event *ev)
{
	int err = ostp_frame_parse_hdr(&s->rx, s->hdr, &s->fh);

	if (err)
		return ostp_fail(s, err, ev);
	/* CLOSE inside a chain is let through so it reports the cut chain. */
	if (s->in_chain && s->fh.type != s->chain_type && s->fh.type != OSTP_MSG_CLOSE)
		return ostp_fail(s, OSTP_E_CHAIN_MIX, ev);
	if (s->fh.flags & OSTP_FLAG_MORE) {
		if (!chainable(s->fh.type))
			return ostp_fail(s, OSTP_E_RESERVED, ev);
		if (s->fh.len != OSTP_FRAME_PAYLOAD_MAX)
			return ostp_fail(s, OSTP_E_CHAIN_TRUNC, ev);
	}
	if (chainable(s->fh.type)) {
		if (s->msg_len + s->fh.len > OSTP_MSG_MAX)
			return ostp_fail(s, OSTP_E_CHAIN_LONG, ev);
		if (!s->msg && !(s->msg = malloc(OSTP_MSG_MAX)))
			return ostp_fail(s, OSTP_E_NOMEM, ev);
	}
	return OSTP_OK;
}

static uint8_t *frame_dest(ostp_session *s)
{
	return chainable(s->fh.type) ? s->msg + s->msg_len : s->ctl;
}

static int frame_complete(ostp_session *s, const uint8_t *ct, uint64_t now,
			  struct ostp_event *ev)
{
	uint8_t *dest = frame_dest(s);
	uint8_t type = s->fh.type;
	size_t len = s->fh.len;
	int err = ostp_frame_open(&s->rx, s->hdr, ct, len, dest);

	s->hdr_have = 0;
	s->ct_have = 0;
	if (err)
		return ostp_fail(s, err, ev);
	s->last_rx_ms = now;
	if (s->fh.flags & OSTP_FLAG_MORE) {
		s->in_chain = true;
		s->chain_type = type;
		s->msg_len += len;
		return OSTP_OK;
	}
	if (type == OSTP_MSG_CLOSE && s->in_chain) {
		s->close_sent = true;   /* the peer is gone: answer nothing */
		return ostp_fail(s, OSTP_E_CHAIN_TRUNC, ev);
	}
	if (chainable(type)) {
		size_t total = s->msg_len + len;

		s->msg_len = 0;
		s->in_chain = false;
		return dispatch(s, type, s->msg, total, ev);
	}
	return dispatch(s, type, s->ctl, len, ev);
}

static int intake_cleartext(ostp_session *s, const uint8_t *p, size_t avail,
			    size_t *n, struct ostp_event *ev)
{
	size_t need;
	int err;

	*n = 0;
	if (s->role == OSTP_ROLE_CLIENT) {
		need = s->sr_len + OSTP_SH_LEN - s->hs_len;
		*n = avail < need ? avail : need;
		memcpy(s->hs + s->hs_len, p, *n);
		s->hs_len += *n;
		if (s->hs_len < s->sr_len + OSTP_SH_LEN)
			return OSTP_OK;
		return ostp_client_on_sh(s, ev);
	}
	for (;;) {
		struct ostp_sr sr;

		err = ostp_sr_decode(&sr, s->hs, s->hs_len, &need);
		if (err == OSTP_OK) {
			s->sr_len = s->hs_len;
			return ostp_server_on_sr(s, &sr, ev);
		}
		if (err != OSTP_E_SHORT)
			return ostp_fail(s, err, ev);
		if (*n == avail)
			return OSTP_OK;
		size_t take = need - s->hs_len;
		if (take > avail - *n)
			take = avail - *n;
		memcpy(s->hs + s->hs_len, p + *n, take);
		s->hs_len += take;
		*n += take;
	}
}

static int intake_frame(ostp_session *s, const uint8_t *p, size_t avail, size_t *n,
			uint64_t now, struct ostp_event *ev)
{
	size_t need;
	int err;

	*n = 0;
	if (s->hdr_have < OSTP_FRAME_HDR_LEN) {
		need = OSTP_FRAME_HDR_LEN - s->hdr_have;
		*n = avail < need ? avail : need;
		memcpy(s->hdr + s->hdr_have, p, *n);
		s->hdr_have += *n;
		if (s->hdr_have < OSTP_FRAME_HDR_LEN)
			return OSTP_OK;
		err = hdr_complete(s, ev);
		if (err || s->fh.len != 0)
			return err;
		return frame_complete(s, s->ctl, now, ev);
	}
	need = s->fh.len - s->ct_have;
	if (s->ct_have == 0 && avail >= need) {
		/* Whole payload in the caller's buffer: decrypt straight from it. */
		*n = need;
		return frame_complete(s, p, now, ev);
	}
	*n = avail < need ? avail : need;
	memcpy(frame_dest(s) + s->ct_have, p, *n);
	s->ct_have += *n;
	if (s->ct_have < s->fh.len)
		return OSTP_OK;
	return frame_complete(s, frame_dest(s), now, ev);
}

/* While the server's password check (or identity verdict) runs, whatever
 * the client sends next is kept unread, so what it means does not depend on whether it arrived before
 * or after the answer went out.  Past OSTP_HOLD_MAX the client is sending
 * more than any compliant client could before its answer. */
static int hold_input(ostp_session *s, const uint8_t *p, size_t n, struct ostp_event *ev)
{
	size_t have = s->hold_len - s->hold_off;

	if (n > OSTP_HOLD_MAX - have)
		return ostp_fail(s, OSTP_E_STATE, ev);
	if (!s->hold && !(s->hold = malloc(OSTP_HOLD_MAX)))
		return ostp_fail(s, OSTP_E_NOMEM, ev);
	memmove(s->hold, s->hold + s->hold_off, have);
	s->hold_off = 0;
	memcpy(s->hold + have, p, n);
	s->hold_len = have + n;
	return OSTP_OK;
}

static bool have_held(const ostp_session *s)
{
	return s->hold_off < s->hold_len && !ostp_verdict_pending(s) &&
	       s->state != ST_CLOSED;
}

/* Held input is read first, in order, once the check is answered; it stops
 * at an event, at the next check (a held SAP) or at the close. */
static int drain_held(ostp_session *s, uint64_t now, struct ostp_event *ev)
{
	int err = OSTP_OK;

	while (have_held(s) && ev->type == OSTP_EV_NONE) {
		size_t n;

		err = intake_frame(s, s->hold + s->hold_off, s->hold_len - s->hold_off, &n,
				   now, ev);
		s->hold_off += n;
		if (err)
			break;
	}
	if (s->hold_off >= s->hold_len || s->state == ST_CLOSED)
		hold_drop(s);
	return err;
}

static bool take_pending(ostp_session *s, struct ostp_event *ev, int *err)
{

	if (s->pending.type == OSTP_EV_NONE)
		return false;
	*ev = s->pending;
	memset(&s->pending, 0, sizeof(s->pending));
	if (s->state == ST_CLOSED) {
		/* the application closed on the first event: nothing more */
		memset(ev, 0, sizeof(*ev));
		return false;
	}
	*err = OSTP_OK;
	if (s->role == OSTP_ROLE_CLIENT && s->u.c.deferred) {
		*err = ostp_client_send_credentials(s);
		if (*err)
			ostp_fail(s, *err, ev);
	}
	return true;
}

int ostp_feed(ostp_session *s, const uint8_t *in, size_t len, size_t *used,
	      uint64_t now, struct ostp_event *ev)
{
	int perr;

	memset(ev, 0, sizeof(*ev));
	*used = 0;
	if (take_pending(s, ev, &perr))
		return perr;
	if (s->state == ST_CLOSED)
		return OSTP_E_CLOSED;
	if (have_held(s)) {
		perr = drain_held(s, now, ev);
		if (perr || ev->type != OSTP_EV_NONE || s->state == ST_CLOSED)
			return perr;
	}
	while (*used < len && ev->type == OSTP_EV_NONE && s->state != ST_CLOSED) {
		size_t n;
		int err;

		if (ostp_verdict_pending(s)) {
			/* all of it is taken, so a caller that feeds until the
			 * input is used up never spins */
			err = hold_input(s, in + *used, len - *used, ev);
			if (!err)
				*used = len;
			return err;
		}
		err = s->keys ? intake_frame(s, in + *used, len - *used, &n, now, ev)
			      : intake_cleartext(s, in + *used, len - *used, &n, ev);

		*used += n;
		if (err)
			return err;
	}
	return OSTP_OK;
}

/* ---- timers ------------------------------------------------------------------ */

static uint64_t since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static int rekey_tx(ostp_session *s, uint64_t now)
{
	int err = ostp_queue_msg(s, OSTP_MSG_REKEY, NULL, 0);

	if (err)
		return err;
	err = ostp_dir_rekey(&s->tx);
	if (err)
		return err;
	s->gen_tx++;
	keylog_key(s, true);
	s->last_rekey_ms = now;
	return OSTP_OK;
}

int ostp_tick(ostp_session *s, uint64_t now, struct ostp_event *ev)
{
	int err;

	memset(ev, 0, sizeof(*ev));
	if (take_pending(s, ev, &err))
		return err;
	if (s->state == ST_CLOSED)
		return OSTP_OK;
	/* input held during a password check is read here too, so a caller
	 * that only feeds when bytes arrive does not leave it waiting */
	if (have_held(s)) {
		err = drain_held(s, now, ev);
		if (err || ev->type != OSTP_EV_NONE || s->state == ST_CLOSED)
			return err;
	}
	/* the server's own password check or identity verdict is not the
	 * client's delay */
	if (ostp_verdict_pending(s))
		return OSTP_OK;
	if (s->state != ST_ESTABLISHED) {
		if (since(now, s->created_ms) >= s->timing.handshake_ms)
			return ostp_fail(s, OSTP_E_TIMEOUT, ev);
		return OSTP_OK;
	}
	if (since(now, s->last_rx_ms) >= s->timing.dead_ms)
		return ostp_fail(s, OSTP_E_TIMEOUT, ev);
	if (since(now, s->last_rx_ms) >= s->timing.keepalive_ms &&
	    since(now, s->last_echo_ms) >= s->timing.keepalive_ms) {
		uint8_t stamp[OSTP_ECHO_LEN];

		ostp_put64(stamp, now);
		err = ostp_queue_msg(s, OSTP_MSG_ECHO_REQ, stamp, sizeof(stamp));
		if (err)
			return ostp_fail(s, err, ev);
		s->last_echo_ms = now;
	}
	if (since(now, s->last_rekey_ms) >= s->timing.rekey_ms ||
	    s->tx.since_rekey >= OSTP_REKEY_AFTER_FRAMES) {
		err = rekey_tx(s, now);
		if (err)
			return ostp_fail(s, err, ev);
	}
	return OSTP_OK;
}

uint64_t ostp_next_deadline(const ostp_session *s)
{
	uint64_t t, echo;

	if (s->state == ST_CLOSED || ostp_verdict_pending(s))
		return UINT64_MAX;
	if (have_held(s))
		return 0;   /* held input waits to be read */
	if (s->state != ST_ESTABLISHED)
		return s->created_ms + s->timing.handshake_ms;
	t = s->last_rx_ms + s->timing.dead_ms;
	echo = (s->last_rx_ms > s->last_echo_ms ? s->last_rx_ms : s->last_echo_ms) +
	       s->timing.keepalive_ms;
	if (echo < t)
		t = echo;
	if (s->last_rekey_ms + s->timing.rekey_ms < t)
		t = s->last_rekey_ms + s->timing.rekey_ms;
	return t;
}

/* ---- application data ------------------------------------------------------ */

static bool may_send_data(const ostp_session *s)
{
	if (s->state == ST_ESTABLISHED)
		return true;
	/* A quick request lets the client send right behind its PAP. */
	return s->role == OSTP_ROLE_CLIENT && s->state == ST_C_WAIT_PAP && s->u.c.quick;
}

int ostp_send(ostp_session *s, uint8_t msg_type, const uint8_t *data, size_t len)
{
	if (s->state == ST_CLOSED)
		return OSTP_E_CLOSED;
	if (!chainable(msg_type) || len == 0)
		return OSTP_E_INVAL;
	if (!may_send_data(s) ||
	    (s->state == ST_ESTABLISHED && !carries_packets(s)) ||
	    (msg_type == OSTP_MSG_DATA_GSO && !(s->spw & OSTP_SPW_GSO)))
		return OSTP_E_STATE;
	if (len > OSTP_MSG_MAX)
		return OSTP_E_LONG;
	if (out_pending(s) >= s->outq_max)
		return OSTP_E_BUSY;
	if (s->tx.since_rekey >= OSTP_REKEY_AFTER_FRAMES) {
		int err = rekey_tx(s, s->last_rekey_ms);
		if (err)
			return err;
	}
	return ostp_queue_msg(s, msg_type, data, len);
}

void ostp_session_extend_handshake(ostp_session *s, uint64_t ms)
{
	s->created_ms += ms;
}

/* ---- accessors ----------------------------------------------------------------- */

enum ostp_role ostp_session_role(const ostp_session *s) { return s->role; }
bool ostp_session_established(const ostp_session *s) { return s->state == ST_ESTABLISHED; }
bool ostp_session_closed(const ostp_session *s) { return s->state == ST_CLOSED; }
uint16_t ostp_session_spw(const ostp_session *s) { return s->spw; }
uint8_t ostp_session_options(const ostp_session *s) { return s->options; }
const char *ostp_session_user(const ostp_session *s) { return s->user; }

uint64_t ostp_session_echo_replies(const ostp_session *s) { return s->echo_replies; }

int ostp_send_echo(ostp_session *s, uint64_t now_ms)
{
	uint8_t stamp[OSTP_ECHO_LEN];

	if (s->state != ST_ESTABLISHED)
		return OSTP_E_STATE;
	ostp_put64(stamp, now_ms);
	return ostp_queue_msg(s, OSTP_MSG_ECHO_REQ, stamp, sizeof(stamp));
}

bool ostp_session_peer_key(const ostp_session *s, uint8_t out[32])
{
	const uint8_t *k = NULL;

	if (s->role == OSTP_ROLE_CLIENT && s->u.c.server_verified)
		k = s->u.c.server_pk;
	else if (s->role == OSTP_ROLE_SERVER && s->u.s.client_proven)
		k = s->u.s.client_pk;
	if (!k)
		return false;
	memcpy(out, k, OSTP_ID_PK_LEN);
	return true;
}
