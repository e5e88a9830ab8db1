/* SPDX-License-Identifier: ISC */
/* Whole client<->server sessions in memory: handshakes, arbitration, peer
 * blocks, data, timers and tampering. */
#include <check.h>
#include <stdlib.h>

#include "pair.h"
#include "session.h"
#include "wire.h"

static uint8_t id_pk[32], id_sk[64];
static const char *const trusted[] = { "ian", "dominik", "quinn" };

static void setup_identity(void)
{
	uint8_t seed[32];

	ck_assert_int_eq(ostp_init(), 0);
	memset(seed, 0x42, sizeof(seed));
	ostp_identity_from_seed(id_pk, id_sk, seed);
}

/* Trust list + password check, as the daemon will do it. */
static bool auth_ok(const char *user, const char *pass, uint16_t *permitted)
{
	bool listed = false;

	for (size_t i = 0; i < sizeof(trusted) / sizeof(trusted[0]); i++)
		listed |= strcmp(user, trusted[i]) == 0;
	*permitted = OSTP_SPW_CONFIG | OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_GSO;
	return listed && strcmp(pass, "hunter2") == 0;
}

static struct ostp_server_config server_cfg(void)
{
	struct ostp_server_config sc = {
		.identity_sk = id_sk,
		.require_auth = false,
		.spw_supported = OSTP_SPW_CONFIG | OSTP_SPW_IPV4 | OSTP_SPW_IPV6 |
				 OSTP_SPW_GSO | OSTP_SPW_RELAY,
		.spw_default = OSTP_SPW_IPV4 | OSTP_SPW_IPV6,
		.spw_permitted = OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_GSO | OSTP_SPW_CONFIG,
	};
	return sc;
}

static struct ostp_client_config client_cfg(uint16_t spw)
{
	struct ostp_client_config cc = { .spw = spw };

	memcpy(cc.server_pk, id_pk, 32);
	return cc;
}

static void start(struct pair *p, const struct ostp_client_config *cc,
		  const struct ostp_server_config *sc)
{
	pair_init(p);
	p->auth = auth_ok;
	ck_assert_int_eq(ostp_client_new(&p->c.s, cc, &(struct ostp_rng){ test_rng_fill, &p->crng },
					 p->now), 0);
	ck_assert_int_eq(ostp_server_new(&p->s.s, sc, &(struct ostp_rng){ test_rng_fill, &p->srng },
					 p->now), 0);
}

static void run(struct pair *p, const struct ostp_client_config *cc,
		const struct ostp_server_config *sc)
{
	start(p, cc, sc);
	pair_pump(p);
}

START_TEST(no_auth)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();

	run(&p, &cc, &sc);
	ck_assert_ptr_nonnull(side_find(&p.c, OSTP_EV_HANDSHAKE));
	ck_assert_ptr_nonnull(side_find(&p.s, OSTP_EV_HANDSHAKE));
	ck_assert(ostp_session_established(p.c.s));
	ck_assert(ostp_session_established(p.s.s));
	ck_assert_uint_eq(ostp_session_spw(p.c.s), OSTP_SPW_IPV4);
	ck_assert_uint_eq(ostp_session_spw(p.s.s), OSTP_SPW_IPV4);
	pair_free(&p);
}
END_TEST

static void auth_case(const char *user, const char *pass, bool expect_ok)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	const struct recorded *r;

	cc.options = OSTP_OPT_U;
	cc.username = user;
	cc.password = pass;
	sc.require_auth = true;
	run(&p, &cc, &sc);
	ck_assert_ptr_nonnull(side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	if (expect_ok) {
		r = side_find(&p.c, OSTP_EV_AUTH_RESULT);
		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(r->code, OSTP_AUTH_SUCCESS);
		ck_assert(ostp_session_established(p.c.s));
		ck_assert_str_eq(ostp_session_user(p.s.s), user);
	} else {
		r = side_find(&p.c, OSTP_EV_CLOSED);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->err, OSTP_E_AUTH);
		ck_assert_uint_eq(r->code, OSTP_AUTH_BAD_PW);
		ck_assert(!ostp_session_established(p.s.s));
		/* the client's authenticated close reached the server */
		r = side_find(&p.s, OSTP_EV_CLOSED);
		ck_assert_ptr_nonnull(r);
		ck_assert(r->peer_closed);
		ck_assert_uint_eq(r->close_reason, OSTP_CLOSE_AUTH_FAILED);
	}
	pair_free(&p);
}

START_TEST(auth_good) { auth_case("ian", "hunter2", true); }
END_TEST
START_TEST(auth_wrong_password) { auth_case("ian", "hunter3", false); }
END_TEST
START_TEST(auth_unknown_user) { auth_case("mallory", "hunter2", false); }
END_TEST
START_TEST(auth_not_trusted) { auth_case("root", "hunter2", false); }
END_TEST

/* Unknown user, untrusted user and wrong password look the same on the
 * wire: the server's SAP replies are byte-identical in length and code. */
START_TEST(auth_no_enumeration)
{
	struct pair a, b;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();

	cc.options = OSTP_OPT_U;
	cc.username = "ian";
	cc.password = "wrong";
	sc.require_auth = true;
	run(&a, &cc, &sc);
	cc.username = "ian";
	cc.password = "hunter2x";
	run(&b, &cc, &sc);
	ck_assert_uint_eq(a.s.wire_len, b.s.wire_len);
	pair_free(&a);
	pair_free(&b);
}
END_TEST

START_TEST(auth_required)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	const struct recorded *r;

	sc.require_auth = true;
	run(&p, &cc, &sc);
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->peer_closed);
	ck_assert_int_eq(r->err, OSTP_E_AUTH_REQUIRED);
	ck_assert(!ostp_session_established(p.s.s));
	pair_free(&p);
}
END_TEST

/* A client that keeps guessing on one session: the server closes after
 * max_auth_attempts.  Our own client gives up after one BAD_PW, so the
 * extra guess is queued by hand before the first answer arrives. */
START_TEST(auth_attempts_bounded)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	uint8_t sap[OSTP_SAP_MAX_LEN];
	size_t n;

	cc.options = OSTP_OPT_U;
	cc.username = "ian";
	cc.password = "guess1";
	sc.require_auth = true;
	sc.max_auth_attempts = 2;
	start(&p, &cc, &sc);
	pair_move(&p, &p.c, &p.s);
	pair_move(&p, &p.s, &p.c);
	ck_assert_int_eq(ostp_sap_encode(sap, sizeof(sap), &n, 0, "ian", 3, "guess2", 6), 0);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_SAP, sap, n), 0);
	pair_move(&p, &p.c, &p.s);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_AUTH_REQUEST), 2);
	ck_assert(ostp_session_closed(p.s.s));
	pair_free(&p);
}
END_TEST

/* A slow password check on the server is not the client's delay: the
 * handshake deadline waits while AUTH_REQUEST is unanswered. */
START_TEST(auth_pending_suspends_deadline)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	struct ostp_event ev;

	cc.options = OSTP_OPT_U;
	cc.username = "ian";
	cc.password = "hunter2";
	cc.timing.handshake_ms = 120000;
	sc.require_auth = true;
	start(&p, &cc, &sc);
	p.defer_auth = true;
	pair_pump(&p);
	ck_assert_ptr_nonnull(side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	ck_assert_uint_eq(ostp_next_deadline(p.s.s), UINT64_MAX);
	p.now += 60000;
	ck_assert_int_eq(ostp_tick(p.s.s, p.now, &ev), 0);
	ck_assert(!ostp_session_closed(p.s.s));
	ostp_session_extend_handshake(p.s.s, 60000);
	ck_assert_int_eq(ostp_server_auth_reply(p.s.s, true, OSTP_SPW_DEFINED), 0);
	ck_assert_int_eq(ostp_tick(p.s.s, p.now, &ev), 0);
	ck_assert(!ostp_session_closed(p.s.s));
	pair_pump(&p);
	ck_assert(ostp_session_established(p.s.s));
	/* without the extension the deadline would have passed */
	p.now += 5000;
	ck_assert_int_eq(ostp_tick(p.s.s, p.now, &ev), 0);
	pair_free(&p);
}
END_TEST

/* ---- the busy reply ------------------------------------------------------ */

/* Open the frames of buf with a copy of the receiving direction and check
 * each one's type and body. */
struct want_frame {
	uint8_t type;
	const uint8_t *body;
	size_t len;
};

static void expect_frames(const struct ostp_dir *rx, const uint8_t *buf, size_t len,
			  const struct want_frame *want, size_t n)
{
	struct ostp_dir d;
	static uint8_t pt[OSTP_FRAME_PAYLOAD_MAX];
	size_t off = 0;

	ck_assert_int_eq(ostp_dir_copy(&d, rx), 0);

	for (size_t i = 0; i < n; i++) {
		struct ostp_frame_hdr fh;

		ck_assert_uint_le(off + OSTP_FRAME_HDR_LEN, len);
		ck_assert_int_eq(ostp_frame_parse_hdr(&d, buf + off, &fh), 0);
		ck_assert_uint_eq(fh.type, want[i].type);
		ck_assert_uint_eq(fh.len, want[i].len);
		ck_assert_int_eq(ostp_frame_open(&d, buf + off, buf + off + OSTP_FRAME_HDR_LEN,
						 fh.len, pt), 0);
		ck_assert_mem_eq(pt, want[i].body, want[i].len);
		off += OSTP_FRAME_HDR_LEN + fh.len;
	}
	ck_assert_uint_eq(off, len);
	ostp_dir_wipe(&d);
}

static void start_auth(struct pair *p, const char *pass, unsigned max_attempts)
{
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();

	cc.options = OSTP_OPT_U;
	cc.username = "ian";
	cc.password = pass;
	sc.require_auth = true;
	sc.max_auth_attempts = max_attempts;
	start(p, &cc, &sc);
	p->defer_auth = true;
}

static const uint8_t sap_busy_ian[] = { OSTP_AUTH_BUSY, 3, 0, 0, 'i', 'a', 'n' };
static const uint8_t sap_bad_ian[] = { OSTP_AUTH_BAD_PW, 3, 0, 0, 'i', 'a', 'n' };
static const uint8_t close_resource[] = { OSTP_CLOSE_RESOURCE };

/* The server cannot check the login now: SAP(BUSY, "ian", plen 0), then
 * CLOSE(6), and the session is over on both sides.  The client reports
 * OSTP_E_AUTH_BUSY, not a refused login, and answers with CLOSE(6). */
START_TEST(auth_busy_reply)
{
	struct pair p;
	const struct recorded *r;
	struct ostp_dir c_rx, s_rx;
	const uint8_t *out;
	size_t n, c_wire_before;

	start_auth(&p, "hunter2", 0);
	pair_pump(&p);
	ck_assert_ptr_nonnull(side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	ck_assert(!ostp_session_closed(p.s.s));
	ck_assert_int_eq(ostp_dir_copy(&c_rx, &p.c.s->rx), 0);
	ck_assert_int_eq(ostp_dir_copy(&s_rx, &p.s.s->rx), 0);
	ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_OK);
	ck_assert(ostp_session_closed(p.s.s));
	ck_assert(!ostp_session_established(p.s.s));
	/* the password is gone with the session's secrets */
	ck_assert_uint_eq(p.s.s->u.s.sap.pass[0], 0);
	n = ostp_output(p.s.s, &out);
	expect_frames(&c_rx, out, n, (const struct want_frame[]){
		{ OSTP_MSG_SAP, sap_busy_ian, sizeof(sap_busy_ian) },
		{ OSTP_MSG_CLOSE, close_resource, 1 } }, 2);
	/* once is all: the session is closed */
	ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_E_STATE);
	c_wire_before = p.c.wire_len;
	pair_pump(&p);
	ck_assert_ptr_null(side_find(&p.c, OSTP_EV_AUTH_RESULT));
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_AUTH_BUSY);
	ck_assert_uint_eq(r->code, OSTP_AUTH_BUSY);
	ck_assert(!r->peer_closed);
	ck_assert_uint_eq(r->close_reason, OSTP_CLOSE_RESOURCE);
	ck_assert(ostp_session_closed(p.c.s));
	/* what the client sent back: CLOSE(6) and nothing else */
	expect_frames(&s_rx, p.c.wire + c_wire_before, p.c.wire_len - c_wire_before,
		      (const struct want_frame[]){ { OSTP_MSG_CLOSE, close_resource, 1 } }, 1);
	ck_assert_str_eq(ostp_strerror(OSTP_E_AUTH_BUSY),
			 "server busy: login not checked, retry later");
	ostp_dir_wipe(&c_rx);
	ostp_dir_wipe(&s_rx);
	pair_free(&p);
}
END_TEST

/* BUSY is not a failed attempt: after one wrong password with a limit of
 * two, a busy answer to the second SAP closes with RESOURCE, not with the
 * AUTH_FAILED that a second counted failure gives (checked on the same
 * script with a refusal instead). */
static void busy_after_bad_pw(bool busy)
{
	struct pair p;
	uint8_t sap[OSTP_SAP_MAX_LEN];
	struct ostp_dir c_rx;
	const uint8_t *out;
	size_t n;
	static const uint8_t close_auth[] = { OSTP_CLOSE_AUTH_FAILED };

	start_auth(&p, "guess1", 2);
	pair_move(&p, &p.c, &p.s);
	pair_move(&p, &p.s, &p.c);
	pair_move(&p, &p.c, &p.s);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_AUTH_REQUEST), 1);
	ck_assert_int_eq(ostp_dir_copy(&c_rx, &p.c.s->rx), 0);
	ck_assert_int_eq(ostp_server_auth_reply(p.s.s, false, 0), OSTP_OK);
	/* a second guess, as a client that prompts again would send it */
	ck_assert_int_eq(ostp_sap_encode(sap, sizeof(sap), &n, 0, "ian", 3, "guess2", 6), 0);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_SAP, sap, n), 0);
	pair_move(&p, &p.c, &p.s);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_AUTH_REQUEST), 2);
	if (busy)
		ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_OK);
	else
		ck_assert_int_eq(ostp_server_auth_reply(p.s.s, false, 0), OSTP_E_AUTH);
	ck_assert(ostp_session_closed(p.s.s));
	n = ostp_output(p.s.s, &out);
	expect_frames(&c_rx, out, n, (const struct want_frame[]){
		{ OSTP_MSG_SAP, sap_bad_ian, sizeof(sap_bad_ian) },
		{ OSTP_MSG_SAP, busy ? sap_busy_ian : sap_bad_ian, sizeof(sap_busy_ian) },
		{ OSTP_MSG_CLOSE, busy ? close_resource : close_auth, 1 } }, 3);
	ostp_dir_wipe(&c_rx);
	pair_free(&p);
}

START_TEST(auth_busy_not_counted)
{
	struct pair p;

	busy_after_bad_pw(true);
	busy_after_bad_pw(false);
	/* and a fresh session after a busy one logs in normally */
	start_auth(&p, "hunter2", 1);
	pair_pump(&p);
	ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_OK);
	pair_pump(&p);
	pair_free(&p);
	start_auth(&p, "hunter2", 1);
	p.defer_auth = false;
	pair_pump(&p);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert(ostp_session_established(p.s.s));
	pair_free(&p);
}
END_TEST

/* Only an unanswered AUTH_REQUEST can be answered BUSY. */
START_TEST(auth_busy_wrong_state)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();

	/* before the SR, and while waiting for the SAP */
	start_auth(&p, "hunter2", 0);
	ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_E_STATE);
	pair_move(&p, &p.c, &p.s);
	ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_E_STATE);
	ck_assert(!ostp_session_closed(p.s.s));
	/* after the answer */
	pair_pump(&p);
	ck_assert_int_eq(ostp_server_auth_reply(p.s.s, true, OSTP_SPW_DEFINED), OSTP_OK);
	ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_E_STATE);
	pair_pump(&p);
	ck_assert(ostp_session_established(p.s.s));
	ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_E_STATE);
	/* a client session never has an AUTH_REQUEST */
	ck_assert_int_eq(ostp_server_auth_busy(p.c.s), OSTP_E_STATE);
	ck_assert(!ostp_session_closed(p.s.s));
	ck_assert(!ostp_session_closed(p.c.s));
	pair_free(&p);
	/* a session without user authentication */
	run(&p, &cc, &sc);
	ck_assert_int_eq(ostp_server_auth_busy(p.s.s), OSTP_E_STATE);
	ck_assert(ostp_session_established(p.s.s));
	pair_free(&p);
}
END_TEST

/* ---- input that arrives while the password check is pending ------------- */

static const uint8_t pap_ipv4[] = { 0x00, OSTP_SPW_IPV4, 0 };

/* A client that pipelines its PAP right behind its SAP.  `early`: the
 * server reads the PAP before it answers the SAP (it is held); otherwise
 * after.  Returns the pair with the server's answer given. */
static void pipelined_pap(struct pair *p, bool ok, bool early)
{
	start_auth(p, "hunter2", 0);
	pair_move(p, &p->c, &p->s);                 /* SR */
	pair_move(p, &p->s, &p->c);                 /* SH, SERVER_AUTH -> SAP */
	if (early)
		ck_assert_int_eq(ostp_queue_msg(p->c.s, OSTP_MSG_PAP, pap_ipv4, 3), 0);
	pair_move(p, &p->c, &p->s);                 /* SAP (+ PAP) */
	ck_assert_uint_eq(side_count(&p->s, OSTP_EV_AUTH_REQUEST), 1);
	ck_assert(!ostp_session_closed(p->s.s));
	ck_assert(!ostp_session_established(p->s.s));
	ck_assert_int_eq(ostp_server_auth_reply(p->s.s, ok, OSTP_SPW_DEFINED), OSTP_OK);
	if (!early) {
		ck_assert_int_eq(ostp_queue_msg(p->c.s, OSTP_MSG_PAP, pap_ipv4, 3), 0);
		pair_move(p, &p->c, &p->s);
	} else {
		/* a daemon that feeds only when bytes arrive: its tick reads
		 * the held PAP */
		struct ostp_event ev;

		ck_assert_uint_eq(ostp_next_deadline(p->s.s), 0);
		ck_assert_int_eq(ostp_tick(p->s.s, p->now, &ev), ok ? 0 : OSTP_E_STATE);
		side_record(&p->s, &ev, 0);
		pair_drain(p, &p->s);
	}
}

/* The answer to a PAP pipelined behind the SAP does not depend on when the
 * server reads it: after AUTH_SUCCESS it is arbitrated, after AUTH_BAD_PW
 * it is a state error; the server sends the same bytes either way. */
static void pipelined_case(bool ok)
{
	struct pair a, b;
	const uint8_t *oa, *ob;
	size_t na, nb;

	pipelined_pap(&a, ok, true);
	pipelined_pap(&b, ok, false);
	for (int i = 0; i < 2; i++) {
		struct pair *p = i ? &b : &a;
		const struct recorded *r;

		if (ok) {
			ck_assert(ostp_session_established(p->s.s));
			ck_assert_uint_eq(ostp_session_spw(p->s.s), OSTP_SPW_IPV4);
			ck_assert_ptr_null(side_find(&p->s, OSTP_EV_CLOSED));
		} else {
			r = side_find(&p->s, OSTP_EV_CLOSED);
			ck_assert_ptr_nonnull(r);
			ck_assert_int_eq(r->err, OSTP_E_STATE);
			ck_assert(ostp_session_closed(p->s.s));
		}
	}
	na = ostp_output(a.s.s, &oa);
	nb = ostp_output(b.s.s, &ob);
	ck_assert_uint_eq(a.s.wire_len, b.s.wire_len);
	ck_assert_mem_eq(a.s.wire, b.s.wire, a.s.wire_len);
	ck_assert_uint_eq(na, nb);
	ck_assert_uint_gt(na, 0);
	ck_assert_mem_eq(oa, ob, na);
	pair_free(&a);
	pair_free(&b);
}

START_TEST(pipelined_pap_after_success) { pipelined_case(true); }
END_TEST
START_TEST(pipelined_pap_after_bad_pw) { pipelined_case(false); }
END_TEST

/* Held input is taken whole (a caller feeding until its input is used up
 * never spins), up to OSTP_HOLD_MAX bytes; past that the session fails. */
START_TEST(held_input_bounded)
{
	struct pair p;
	static uint8_t junk[OSTP_HOLD_MAX + 1];
	struct ostp_event ev;
	size_t used;

	start_auth(&p, "hunter2", 0);
	pair_pump(&p);
	ck_assert_ptr_nonnull(side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	ck_assert_int_eq(ostp_feed(p.s.s, junk, 100, &used, p.now, &ev), 0);
	ck_assert_uint_eq(used, 100);
	ck_assert_int_eq(ev.type, OSTP_EV_NONE);
	ck_assert_int_eq(ostp_feed(p.s.s, junk, OSTP_HOLD_MAX - 100, &used, p.now, &ev), 0);
	ck_assert_uint_eq(used, OSTP_HOLD_MAX - 100);
	ck_assert(!ostp_session_closed(p.s.s));
	ck_assert_int_eq(ostp_feed(p.s.s, junk, 1, &used, p.now, &ev), OSTP_E_STATE);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert(ostp_session_closed(p.s.s));
	/* it was answered with CLOSE(1), and the late verdict is refused */
	ck_assert_int_eq(ostp_server_auth_reply(p.s.s, true, 0), OSTP_E_STATE);
	pair_free(&p);
	/* the same bytes one at a time: the bound is on the total */
	start_auth(&p, "hunter2", 0);
	pair_pump(&p);
	for (size_t i = 0; i < OSTP_HOLD_MAX; i++)
		ck_assert_int_eq(ostp_feed(p.s.s, junk, 1, &used, p.now, &ev), 0);
	ck_assert_int_eq(ostp_feed(p.s.s, junk, 1, &used, p.now, &ev), OSTP_E_STATE);
	pair_free(&p);
}
END_TEST

/* A retried SAP may name another user; each reply echoes the name of the
 * SAP it answers, and the session belongs to the user that succeeded.
 * The second SAP is pipelined, so it is also read only after the first
 * answer. */
START_TEST(retry_with_other_user)
{
	struct pair p;
	uint8_t sap[OSTP_SAP_MAX_LEN];
	struct ostp_dir c_rx;
	const uint8_t *out;
	size_t n;
	static const uint8_t ok_quinn[] = { OSTP_AUTH_SUCCESS, 5, 0, 0, 'q', 'u', 'i', 'n', 'n' };

	start_auth(&p, "guess1", 3);
	p.defer_auth = false;     /* auth_ok: only hunter2 passes */
	pair_move(&p, &p.c, &p.s);
	pair_move(&p, &p.s, &p.c);
	ck_assert_int_eq(ostp_dir_copy(&c_rx, &p.c.s->rx), 0);
	ck_assert_int_eq(ostp_sap_encode(sap, sizeof(sap), &n, 0, "quinn", 5, "hunter2", 7), 0);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_SAP, sap, n), 0);
	pair_move(&p, &p.c, &p.s);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_AUTH_REQUEST), 2);
	ck_assert_str_eq(ostp_session_user(p.s.s), "quinn");
	ck_assert(!ostp_session_closed(p.s.s));
	n = ostp_output(p.s.s, &out);
	expect_frames(&c_rx, out, n, (const struct want_frame[]){
		{ OSTP_MSG_SAP, sap_bad_ian, sizeof(sap_bad_ian) },
		{ OSTP_MSG_SAP, ok_quinn, sizeof(ok_quinn) } }, 2);
	ostp_dir_wipe(&c_rx);
	pair_free(&p);
}
END_TEST

/* ---- CONFIG is always sent when agreed (section 4.1 step 6) ------------- */

START_TEST(config_empty_when_nothing_to_push)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4 | OSTP_SPW_CONFIG);
	struct ostp_server_config sc = server_cfg();

	run(&p, &cc, &sc);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_CONFIG), 1);
	ck_assert_uint_eq(p.c.s->u.c.config.mtu, 0);
	ck_assert_uint_eq(p.c.s->u.c.config.n_addr, 0);
	pair_free(&p);
	/* not agreed: none */
	cc.spw = OSTP_SPW_IPV4;
	run(&p, &cc, &sc);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_CONFIG), 0);
	pair_free(&p);
}
END_TEST

/* The client relies on it: with CONFIG agreed, anything but CONFIG or
 * CLOSE first is a state error.  The server's CONFIG is withdrawn and a
 * DATA (or ECHO_REQ) sealed with the same counter is sent instead. */
static void config_not_first(uint8_t type)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4 | OSTP_SPW_CONFIG);
	struct ostp_server_config sc = server_cfg();
	static const uint8_t pkt[] = { 0x45, 0, 0, 20 };
	const uint8_t *out;
	const struct recorded *r;
	size_t n;

	start(&p, &cc, &sc);
	pair_move(&p, &p.c, &p.s);          /* SR */
	pair_move(&p, &p.s, &p.c);          /* SH, SERVER_AUTH -> PAP */
	pair_move(&p, &p.c, &p.s);          /* PAP -> PAP SUCCESS, CONFIG */
	ck_assert(ostp_session_established(p.s.s));
	n = ostp_output(p.s.s, &out);
	ck_assert_uint_eq(n, 2 * OSTP_FRAME_HDR_LEN + OSTP_PAP_LEN + 3);
	ck_assert_uint_eq(out[OSTP_FRAME_HDR_LEN + OSTP_PAP_LEN], OSTP_MSG_CONFIG);
	p.s.s->out_len -= OSTP_FRAME_HDR_LEN + 3;
	p.s.s->tx.counter--;
	ck_assert_int_eq(ostp_queue_msg(p.s.s, type, pkt, sizeof(pkt)), 0);
	pair_move(&p, &p.s, &p.c);
	ck_assert_ptr_nonnull(side_find(&p.c, OSTP_EV_ESTABLISHED));
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_STATE);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_MESSAGE), 0);
	pair_free(&p);
}

START_TEST(config_must_come_first)
{
	config_not_first(OSTP_MSG_DATA);
	config_not_first(OSTP_MSG_ECHO_REQ);
}
END_TEST

/* ---- a session that agreed neither IPv4 nor IPv6 -------------------------- */

START_TEST(no_family_no_data)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_RELAY);
	struct ostp_server_config sc = server_cfg();
	static const uint8_t pkt[] = { 0x45, 0, 0, 20 };
	const struct recorded *r;

	/* counter-proposal 0x0000, accepted: established, carrying nothing */
	sc.spw_permitted = 0;
	run(&p, &cc, &sc);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert_uint_eq(ostp_session_spw(p.c.s), 0);
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, pkt, sizeof(pkt)), OSTP_E_STATE);
	ck_assert_int_eq(ostp_send(p.s.s, OSTP_MSG_DATA, pkt, sizeof(pkt)), OSTP_E_STATE);
	/* keepalives still work */
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_ECHO_REQ, pkt, 4), 0);
	pair_pump(&p);
	ck_assert(!ostp_session_closed(p.s.s));
	/* a peer that sends DATA anyway breaks the session */
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_DATA, pkt, sizeof(pkt)), 0);
	pair_pump(&p);
	r = side_find(&p.s, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_STATE);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_MESSAGE), 0);
	pair_free(&p);
}
END_TEST

/* ---- ostp_send_echo: a probe of the path on demand ------------------- */

START_TEST(echo_probe)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	uint64_t c0, s0;
	const uint8_t *out;
	size_t msgs;

	/* not before the session is established, on either side */
	start(&p, &cc, &sc);
	ck_assert_int_eq(ostp_send_echo(p.c.s, p.now), OSTP_E_STATE);
	ck_assert_int_eq(ostp_send_echo(p.s.s, p.now), OSTP_E_STATE);
	/* nor halfway through the handshake */
	pair_move(&p, &p.c, &p.s);
	ck_assert(!ostp_session_established(p.s.s));
	ck_assert_int_eq(ostp_send_echo(p.s.s, p.now), OSTP_E_STATE);
	pair_pump(&p);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert(ostp_session_established(p.s.s));
	ck_assert_uint_eq(ostp_output(p.c.s, &out), 0);
	ck_assert_uint_eq(ostp_output(p.s.s, &out), 0);

	c0 = ostp_session_echo_replies(p.c.s);
	s0 = ostp_session_echo_replies(p.s.s);
	msgs = side_count(&p.s, OSTP_EV_MESSAGE) + side_count(&p.c, OSTP_EV_MESSAGE);
	/* at once, whatever the keepalive timer says: nothing has been idle */
	ck_assert_int_eq(ostp_send_echo(p.c.s, p.now), OSTP_OK);
	ck_assert_uint_gt(ostp_output(p.c.s, &out), 0);
	pair_pump(&p);
	ck_assert_uint_eq(ostp_session_echo_replies(p.c.s), c0 + 1);
	ck_assert_uint_eq(ostp_session_echo_replies(p.s.s), s0);
	/* answered inside the library: the application sees no message */
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_MESSAGE) +
			  side_count(&p.c, OSTP_EV_MESSAGE), msgs);
	ck_assert(!ostp_session_closed(p.c.s));
	ck_assert(!ostp_session_closed(p.s.s));

	/* the other way, and two at once count two */
	ck_assert_int_eq(ostp_send_echo(p.s.s, p.now), OSTP_OK);
	ck_assert_int_eq(ostp_send_echo(p.s.s, p.now), OSTP_OK);
	pair_pump(&p);
	ck_assert_uint_eq(ostp_session_echo_replies(p.s.s), s0 + 2);
	ck_assert_uint_eq(ostp_session_echo_replies(p.c.s), c0 + 1);

	/* nor after the session is closed */
	ck_assert_int_eq(ostp_close(p.c.s, OSTP_CLOSE_NORMAL), OSTP_OK);
	ck_assert_int_eq(ostp_send_echo(p.c.s, p.now), OSTP_E_STATE);
	pair_free(&p);
}
END_TEST

/* ---- check order: state (check 14) before body (check 15) ---------------- */

static void established_pair(struct pair *p, uint8_t options, unsigned max_blocks)
{
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();

	cc.options = options;
	cc.max_peer_blocks = max_blocks;
	run(p, &cc, &sc);
	ck_assert(ostp_session_established(p->c.s));
}

/* A PEER_BLOCK of the wrong length: OSTP_E_STATE when none is expected
 * (the sub-state check runs first), OSTP_E_LEN when one is. */
START_TEST(order_peer_block)
{
	struct pair p;
	static const uint8_t short_block[5] = { 1, 2, 3, 4, 1 };
	struct ostp_peer *peers = calloc(40, sizeof(*peers));
	const struct recorded *r;

	established_pair(&p, 0, 0);
	ck_assert_int_eq(ostp_queue_msg(p.s.s, OSTP_MSG_PEER_BLOCK, short_block, 5), 0);
	pair_pump(&p);
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_STATE);
	pair_free(&p);
	/* P set and every block read: PB_DONE */
	established_pair(&p, OSTP_OPT_P, 0);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_PEER_BLOCK), 1);
	ck_assert_int_eq(ostp_queue_msg(p.s.s, OSTP_MSG_PEER_BLOCK, short_block, 5), 0);
	pair_pump(&p);
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_STATE);
	pair_free(&p);
	/* a block is expected: now the length is what is wrong */
	for (size_t i = 0; i < 40; i++) {
		peers[i].port = 7000;
		snprintf(peers[i].host, sizeof(peers[i].host), "198.18.0.%zu", i + 1);
	}
	start(&p, &(struct ostp_client_config){ .options = OSTP_OPT_P, .spw = OSTP_SPW_IPV4 },
	      &(struct ostp_server_config){ .identity_sk = id_sk, .spw_supported = OSTP_SPW_IPV4,
					    .spw_permitted = OSTP_SPW_IPV4 });
	memcpy(p.c.s->u.c.server_pk, id_pk, 32);
	ck_assert_int_eq(ostp_server_set_peers(p.s.s, peers, 40), 0);
	pair_move(&p, &p.c, &p.s);
	pair_move(&p, &p.s, &p.c);
	pair_move(&p, &p.c, &p.s);      /* PAP -> PAP SUCCESS, block 3 */
	pair_move(&p, &p.s, &p.c);      /* block 3 -> ACK 3 */
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_PEER_BLOCK), 1);
	ck_assert_int_eq(ostp_queue_msg(p.s.s, OSTP_MSG_PEER_BLOCK, short_block, 5), 0);
	pair_move(&p, &p.s, &p.c);
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_LEN);
	free(peers);
	pair_free(&p);
}
END_TEST

/* An MGMT of the wrong length: OSTP_E_STATE when no block is outstanding,
 * OSTP_E_LEN when one is. */
START_TEST(order_mgmt)
{
	struct pair p;
	static const uint8_t short_mgmt[2] = { OSTP_MFRAME_ACK, 0 };
	struct ostp_peer *peers = calloc(40, sizeof(*peers));
	const struct recorded *r;

	established_pair(&p, 0, 0);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_MGMT, short_mgmt, 2), 0);
	pair_pump(&p);
	r = side_find(&p.s, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_STATE);
	pair_free(&p);
	for (size_t i = 0; i < 40; i++) {
		peers[i].port = 7000;
		snprintf(peers[i].host, sizeof(peers[i].host), "198.18.0.%zu", i + 1);
	}
	start(&p, &(struct ostp_client_config){ .options = OSTP_OPT_P, .spw = OSTP_SPW_IPV4 },
	      &(struct ostp_server_config){ .identity_sk = id_sk, .spw_supported = OSTP_SPW_IPV4,
					    .spw_permitted = OSTP_SPW_IPV4 });
	memcpy(p.c.s->u.c.server_pk, id_pk, 32);
	ck_assert_int_eq(ostp_server_set_peers(p.s.s, peers, 40), 0);
	pair_move(&p, &p.c, &p.s);
	pair_move(&p, &p.s, &p.c);
	pair_move(&p, &p.c, &p.s);      /* block 3 is outstanding */
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_MGMT, short_mgmt, 2), 0);
	pair_move(&p, &p.c, &p.s);
	r = side_find(&p.s, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_LEN);
	free(peers);
	pair_free(&p);
}
END_TEST

/* ---- after CLOSE (section 2.5.9) ------------------------------------------ */

/* Bytes behind a received CLOSE are not read: the CLOSE ends the feed
 * call, later calls refuse, and nothing is sent back. */
START_TEST(bytes_after_close_ignored)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	static const uint8_t pkt[] = { 0x45, 0, 0, 20 };
	uint8_t buf[256];
	const uint8_t *out;
	struct ostp_event ev;
	size_t n, close_len, used;

	run(&p, &cc, &sc);
	ck_assert_int_eq(ostp_close(p.c.s, OSTP_CLOSE_NORMAL), 0);
	close_len = ostp_output(p.c.s, &out);
	ck_assert_uint_eq(close_len, OSTP_FRAME_HDR_LEN + 1);
	memcpy(buf, out, close_len);
	/* a DATA the client could no longer send, sealed by hand after it */
	p.c.s->keys = true;
	p.c.s->close_sent = false;
	ck_assert_int_eq(ostp_dir_init(&p.c.s->tx, (const uint8_t[32]){ 0 }), 0);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_DATA, pkt, sizeof(pkt)), 0);
	n = ostp_output(p.c.s, &out);
	ck_assert_uint_gt(n, close_len);
	memcpy(buf + close_len, out + close_len, n - close_len);
	ck_assert_int_eq(ostp_feed(p.s.s, buf, n, &used, p.now, &ev), 0);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert(ev.peer_closed);
	ck_assert_int_eq(ev.err, 0);
	ck_assert_uint_eq(used, close_len);
	ck_assert_int_eq(ostp_feed(p.s.s, buf + used, n - used, &used, p.now, &ev), OSTP_E_CLOSED);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(ev.type, OSTP_EV_NONE);
	ck_assert_uint_eq(ostp_output(p.s.s, &out), 0);
	ck_assert_int_eq(ostp_eof(p.s.s, &ev), 0);
	ck_assert_int_eq(ev.type, OSTP_EV_NONE);
	pair_free(&p);
}
END_TEST

/* ---- SERVER_AUTH signature rules (section 3.5) ---------------------------- */

/* L, the order of the Ed25519 base point, little-endian */
static const uint8_t ed_L[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

static void auth_msg(uint8_t msg[50], const uint8_t th[32])
{
	memcpy(msg, "OSTP/1 server auth", 18);
	memcpy(msg + 18, th, 32);
}

/* A signature (R = [r]B, S = r) "verifies" for the identity key under the
 * bare cofactorless equation [S]B = R + [h]A whatever the message. */
static void identity_forgery(uint8_t auth[96], const uint8_t A[32])
{
	uint8_t r[32] = { 7 };

	memcpy(auth, A, 32);
	ck_assert_int_eq(crypto_scalarmult_ed25519_base_noclamp(auth + 32, r), 0);
	memcpy(auth + 64, r, 32);
}

START_TEST(sig_rules)
{
	uint8_t th[32], msg[50], auth[96], bad[96], h64[64], h[32], a[32], a64[64] = { 0 };
	uint8_t sb[32], ha[32], az[64];
	static const uint8_t identity[32] = { 1 };
	unsigned carry = 0;

	memset(th, 0x5a, sizeof(th));
	auth_msg(msg, th);
	ostp_server_auth_make(auth, th, id_sk);
	ck_assert_int_eq(ostp_server_auth_check(auth, 96, th, NULL), OSTP_OK);
	ck_assert_int_eq(ostp_server_auth_check(auth, 96, th, id_pk), OSTP_OK);

	/* S >= L: S + L is the same scalar mod L, and refused */
	memcpy(bad, auth, 96);
	for (int i = 0; i < 32; i++) {
		carry += (unsigned)bad[64 + i] + ed_L[i];
		bad[64 + i] = (uint8_t)carry;
		carry >>= 8;
	}
	ck_assert_uint_eq(carry, 0);
	ck_assert_int_eq(ostp_server_auth_check(bad, 96, th, NULL), OSTP_E_SIG);

	/* small-order A: the identity, with a signature that satisfies the
	 * equation for it */
	identity_forgery(bad, identity);
	ck_assert_int_eq(ostp_server_auth_check(bad, 96, th, NULL), OSTP_E_SIG);
	ck_assert_int_eq(ostp_server_auth_check(bad, 96, th, identity), OSTP_E_SIG);

	/* non-canonical A: y = p + 1 (the identity again, encoded >= p), with
	 * and without the sign bit */
	{
		uint8_t nc[32];

		memset(nc, 0xff, 32);
		nc[0] = 0xee;
		nc[31] = 0x7f;
		identity_forgery(bad, nc);
		ck_assert_int_eq(ostp_server_auth_check(bad, 96, th, NULL), OSTP_E_SIG);
		nc[31] = 0xff;
		identity_forgery(bad, nc);
		ck_assert_int_eq(ostp_server_auth_check(bad, 96, th, NULL), OSTP_E_SIG);
	}

	/* small-order R: R = identity, S = h * a, so [S]B = [h]A and the
	 * equation holds; only the small-order rule refuses it */
	crypto_hash_sha512(az, id_sk, 32);
	az[0] &= 248;
	az[31] &= 127;
	az[31] |= 64;
	memcpy(a64, az, 32);
	crypto_core_ed25519_scalar_reduce(a, a64);
	memcpy(bad, id_pk, 32);
	memcpy(bad + 32, identity, 32);
	{
		crypto_hash_sha512_state st;

		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, identity, 32);
		crypto_hash_sha512_update(&st, id_pk, 32);
		crypto_hash_sha512_update(&st, msg, sizeof(msg));
		crypto_hash_sha512_final(&st, h64);
	}
	crypto_core_ed25519_scalar_reduce(h, h64);
	crypto_core_ed25519_scalar_mul(bad + 64, h, a);
	ck_assert_int_eq(crypto_scalarmult_ed25519_base_noclamp(sb, bad + 64), 0);
	ck_assert_int_eq(crypto_scalarmult_ed25519_noclamp(ha, h, id_pk), 0);
	ck_assert_mem_eq(sb, ha, 32);     /* R' = [S]B - [h]A = identity = R */
	ck_assert_int_eq(ostp_server_auth_check(bad, 96, th, NULL), OSTP_E_SIG);
	ck_assert_int_eq(ostp_server_auth_check(bad, 96, th, id_pk), OSTP_E_SIG);
	sodium_memzero(az, sizeof(az));
	sodium_memzero(a, sizeof(a));
	sodium_memzero(a64, sizeof(a64));
}
END_TEST

START_TEST(spw_accepted)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_CONFIG);
	struct ostp_server_config sc = server_cfg();
	const struct recorded *r;

	run(&p, &cc, &sc);
	r = side_find(&p.c, OSTP_EV_ESTABLISHED);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->spw, OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_CONFIG);
	pair_free(&p);
}
END_TEST

/* Asking for an unsupported bit: BAD_SPW with the bit removed, then the
 * client takes the counter-proposal. */
START_TEST(spw_arbitrated)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4 | OSTP_SPW_MESH);
	struct ostp_server_config sc = server_cfg();

	run(&p, &cc, &sc);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert_uint_eq(ostp_session_spw(p.c.s), OSTP_SPW_IPV4);
	ck_assert_uint_eq(ostp_session_spw(p.s.s), OSTP_SPW_IPV4);
	/* two PAPs went each way: proposal and acceptance */
	pair_free(&p);
}
END_TEST

START_TEST(spw_bad_perms)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4 | OSTP_SPW_RELAY);
	struct ostp_server_config sc = server_cfg();

	/* RELAY is supported but not permitted for unauthenticated sessions */
	run(&p, &cc, &sc);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert_uint_eq(ostp_session_spw(p.c.s), OSTP_SPW_IPV4);
	pair_free(&p);
}
END_TEST

/* A client that insists on a refused bit gives up after the bounded
 * rounds: drive it with a server that permits nothing. */
START_TEST(spw_bad_perms_refused)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_RELAY);
	struct ostp_server_config sc = server_cfg();
	const struct recorded *r;

	/* proposal is 0, which the client accepts; the session is then
	 * established with nothing: check that the refusal was seen first */
	sc.spw_permitted = 0;
	run(&p, &cc, &sc);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert_uint_eq(ostp_session_spw(p.c.s), 0);
	r = side_find(&p.c, OSTP_EV_ESTABLISHED);
	ck_assert_ptr_nonnull(r);
	pair_free(&p);
}
END_TEST

START_TEST(spw_resource)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	const struct recorded *r;

	start(&p, &cc, &sc);
	ostp_server_set_resource_ok(p.s.s, false);
	pair_pump(&p);
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_RESOURCE);
	r = side_find(&p.s, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->close_reason, OSTP_CLOSE_RESOURCE);
	ck_assert(!ostp_session_established(p.s.s));
	pair_free(&p);
}
END_TEST

START_TEST(quick_request)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_QUICK);
	struct ostp_server_config sc = server_cfg();
	static const uint8_t pkt[] = { 0x45, 0, 0, 20, 1, 2, 3, 4 };

	start(&p, &cc, &sc);
	/* client->server: SR; server->client: SH + SERVER_AUTH; client sends
	 * its quick PAP and may send data in the same flight. */
	pair_move(&p, &p.c, &p.s);
	pair_move(&p, &p.s, &p.c);
	ck_assert(!ostp_session_established(p.c.s));
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, pkt, sizeof(pkt)), 0);
	pair_pump(&p);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert_uint_eq(ostp_session_spw(p.c.s), OSTP_SPW_IPV4 | OSTP_SPW_IPV6);
	ck_assert_uint_eq(p.s.last_msg_len, sizeof(pkt));
	ck_assert_mem_eq(p.s.last_msg, pkt, sizeof(pkt));
	pair_free(&p);
}
END_TEST

static struct ostp_peer *make_peers(size_t n)
{
	struct ostp_peer *peers = calloc(n, sizeof(*peers));

	for (size_t i = 0; i < n; i++) {
		peers[i].port = (uint16_t)(7000 + i);
		snprintf(peers[i].host, sizeof(peers[i].host), "198.18.%zu.%zu", i / 200, i % 200 + 1);
		memset(peers[i].id_pk, (int)i + 1, 32);
	}
	return peers;
}

static void peers_case(size_t npeers, unsigned max_blocks, size_t want_blocks, size_t want_peers)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	struct ostp_peer *peers = make_peers(npeers);
	static const uint8_t pkt[] = { 0x60, 0, 0, 0 };

	cc.options = OSTP_OPT_P;
	cc.max_peer_blocks = max_blocks;
	start(&p, &cc, &sc);
	ck_assert_int_eq(ostp_server_set_peers(p.s.s, peers, npeers), 0);
	pair_pump(&p);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_PEER_BLOCK), want_blocks);
	ck_assert_uint_eq(p.c.peers_seen, want_peers);
	/* the session goes on normally after the peer exchange */
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, pkt, sizeof(pkt)), 0);
	pair_pump(&p);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_MESSAGE), 1);
	ck_assert(!ostp_session_closed(p.s.s));
	free(peers);
	pair_free(&p);
}

START_TEST(peers_40_three_blocks)
{
	struct pair p;

	peers_case(40, 0, 3, 40);
	(void)p;
}
END_TEST

/* A lent list is read in place and handed back exactly once: after the
 * last block, after a TRUNC, or when the session goes first. */
static unsigned lent_released;

static void count_release(void *ctx)
{
	(void)ctx;
	lent_released++;
}

static void lend_case(unsigned max_blocks, bool free_early, size_t want_peers)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	struct ostp_peer *peers = make_peers(40);

	cc.options = OSTP_OPT_P;
	cc.max_peer_blocks = max_blocks;
	lent_released = 0;
	start(&p, &cc, &sc);
	ck_assert_int_eq(ostp_server_lend_peers(p.s.s, peers, 40, NULL, NULL), OSTP_E_INVAL);
	ck_assert_int_eq(ostp_server_lend_peers(p.s.s, peers, 40, count_release, NULL), 0);
	if (free_early) {
		pair_free(&p);
		ck_assert_uint_eq(lent_released, 1);
		free(peers);
		return;
	}
	pair_pump(&p);
	ck_assert_uint_eq(p.c.peers_seen, want_peers);
	ck_assert_uint_eq(lent_released, 1);
	pair_free(&p);
	ck_assert_uint_eq(lent_released, 1);
	free(peers);
}

START_TEST(peers_lent_all_blocks) { lend_case(0, false, 40); }
END_TEST
START_TEST(peers_lent_trunc) { lend_case(1, false, 16); }
END_TEST
START_TEST(peers_lent_session_freed_first) { lend_case(0, true, 0); }
END_TEST

START_TEST(peers_trunc_after_first) { peers_case(40, 1, 1, 16); }
END_TEST
START_TEST(peers_none) { peers_case(0, 0, 1, 0); }
END_TEST

START_TEST(data_round_trip_chained)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	static uint8_t big[65536];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 7);
	run(&p, &cc, &sc);
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, big, sizeof(big)), 0);
	ck_assert_int_eq(ostp_send(p.s.s, OSTP_MSG_DATA, big, 4097), 0);
	ck_assert_int_eq(ostp_send(p.s.s, OSTP_MSG_DATA, big, 4096), 0);
	pair_pump(&p);
	ck_assert_uint_eq(p.s.last_msg_len, sizeof(big));
	ck_assert_mem_eq(p.s.last_msg, big, sizeof(big));
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_MESSAGE), 2);
	ck_assert_uint_eq(p.c.last_msg_len, 4096);
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, big, OSTP_MSG_MAX + 1), OSTP_E_LONG);
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, big, 0), OSTP_E_INVAL);
	/* GSO was not agreed */
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA_GSO, big, 100), OSTP_E_STATE);
	pair_free(&p);
}
END_TEST

/* Bytes arrive one at a time: the same events as all at once. */
START_TEST(byte_at_a_time)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	static uint8_t big[9000];
	const uint8_t *out;
	size_t n, got = 0;

	memset(big, 0xab, sizeof(big));
	run(&p, &cc, &sc);
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, big, sizeof(big)), 0);
	n = ostp_output(p.c.s, &out);
	for (size_t i = 0; i < n; i++) {
		struct ostp_event ev;
		size_t used;

		ck_assert_int_eq(ostp_feed(p.s.s, out + i, 1, &used, p.now, &ev), 0);
		ck_assert_uint_eq(used, 1);
		if (ev.type == OSTP_EV_MESSAGE) {
			ck_assert_uint_eq(ev.len, sizeof(big));
			got++;
		}
	}
	ck_assert_uint_eq(got, 1);
	pair_free(&p);
}
END_TEST

START_TEST(clean_close)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	const struct recorded *r;
	struct ostp_event ev;

	run(&p, &cc, &sc);
	ck_assert_int_eq(ostp_close(p.c.s, OSTP_CLOSE_SHUTDOWN), 0);
	pair_pump(&p);
	r = side_find(&p.s, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->peer_closed);
	ck_assert_int_eq(r->err, 0);
	ck_assert_uint_eq(r->close_reason, OSTP_CLOSE_SHUTDOWN);
	/* EOF after a clean close is not an error */
	ck_assert_int_eq(ostp_eof(p.s.s, &ev), 0);
	ck_assert_int_eq(ev.type, OSTP_EV_NONE);
	pair_free(&p);
}
END_TEST

START_TEST(cut_connection)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	struct ostp_event ev;

	run(&p, &cc, &sc);
	ck_assert_int_eq(ostp_eof(p.s.s, &ev), OSTP_E_EOF);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert(!ev.peer_closed);
	pair_free(&p);
}
END_TEST

START_TEST(timers)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	struct ostp_event ev;
	const uint8_t *out;

	cc.timing.dead_ms = sc.timing.dead_ms = 200000;
	run(&p, &cc, &sc);
	/* keepalive: after 10 s of silence an echo goes out and is answered */
	p.now += 10000;
	ck_assert_uint_le(ostp_next_deadline(p.c.s), p.now);
	ck_assert_int_eq(ostp_tick(p.c.s, p.now, &ev), 0);
	ck_assert_uint_gt(ostp_output(p.c.s, &out), 0);
	pair_pump(&p);
	ck_assert(!ostp_session_closed(p.c.s));
	/* rekey: both directions keep working across a rekey */
	p.now += 120000;
	ck_assert_int_eq(ostp_tick(p.s.s, p.now, &ev), 0);
	ck_assert_int_eq(ostp_tick(p.c.s, p.now, &ev), 0);
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, (const uint8_t *)"x", 1), 0);
	ck_assert_int_eq(ostp_send(p.s.s, OSTP_MSG_DATA, (const uint8_t *)"y", 1), 0);
	pair_pump(&p);
	ck_assert_uint_eq(p.s.last_msg[0], 'x');
	ck_assert_uint_eq(p.c.last_msg[0], 'y');
	/* dead peer: dead_ms with nothing received */
	p.now += 200000;
	ck_assert_int_eq(ostp_tick(p.c.s, p.now, &ev), OSTP_E_TIMEOUT);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	pair_free(&p);
}
END_TEST

/* ---- key log ------------------------------------------------------------ */

struct keylog_rec {
	char lines[8][192];
	size_t n;
};

static void keylog_line(void *ctx, const char *line)
{
	struct keylog_rec *r = ctx;

	ck_assert_uint_lt(r->n, 8);
	ck_assert_uint_lt(strlen(line), sizeof(r->lines[0]));
	strcpy(r->lines[r->n++], line);
}

/* Line i of r says direction dir, generation gen and key, for the session
 * whose SR is sr. */
static void keylog_check(const struct keylog_rec *r, size_t i, const uint8_t *sr,
			 const char *dir, unsigned gen, const uint8_t key[32])
{
	char id[65], hex[65], want[192];

	ck_assert_uint_lt(i, r->n);
	sodium_bin2hex(id, sizeof(id), sr + 1, 32);
	sodium_bin2hex(hex, sizeof(hex), key, 32);
	snprintf(want, sizeof(want), "OSTP_TRAFFIC_KEY %s %s %u %s", id, dir, gen, hex);
	ck_assert_str_eq(r->lines[i], want);
}

/* The key log names each direction's key once installed, and each rekey:
 * the very keys the sessions seal and open with, for the session whose SR
 * is on the wire; without a hook nothing is logged. */
START_TEST(key_log)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	struct keylog_rec cl = { .n = 0 }, sl = { .n = 0 };
	uint8_t c2s0[32], s2c0[32], c2s1[32], s2c1[32];
	static const char label[] = "OSTP/1 rekey";
	struct ostp_event ev;

	cc.timing.dead_ms = sc.timing.dead_ms = 200000;
	cc.keylog = (struct ostp_keylog){ keylog_line, &cl };
	sc.keylog = (struct ostp_keylog){ keylog_line, &sl };
	run(&p, &cc, &sc);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert_uint_eq(cl.n, 2);
	ck_assert_uint_eq(sl.n, 2);
	memcpy(c2s0, p.c.s->tx.key, 32);
	memcpy(s2c0, p.c.s->rx.key, 32);
	ck_assert_mem_eq(p.s.s->rx.key, c2s0, 32);
	/* both sides log the same two lines, c2s first */
	keylog_check(&cl, 0, p.c.wire, "c2s", 0, c2s0);
	keylog_check(&cl, 1, p.c.wire, "s2c", 0, s2c0);
	keylog_check(&sl, 0, p.c.wire, "c2s", 0, c2s0);
	keylog_check(&sl, 1, p.c.wire, "s2c", 0, s2c0);

	p.now += 120000;
	ck_assert_int_eq(ostp_tick(p.c.s, p.now, &ev), 0);
	ck_assert_int_eq(ostp_tick(p.s.s, p.now, &ev), 0);
	pair_pump(&p);
	ck_assert_int_eq(ostp_send(p.c.s, OSTP_MSG_DATA, (const uint8_t *)"x", 1), 0);
	pair_pump(&p);
	ck_assert_uint_eq(p.s.last_msg[0], 'x');
	crypto_generichash(c2s1, 32, (const uint8_t *)label, sizeof(label) - 1, c2s0, 32);
	crypto_generichash(s2c1, 32, (const uint8_t *)label, sizeof(label) - 1, s2c0, 32);
	ck_assert_mem_eq(p.c.s->tx.key, c2s1, 32);
	ck_assert_uint_eq(cl.n, 4);
	ck_assert_uint_eq(sl.n, 4);
	/* the sender logs when it switches, the receiver when it follows */
	keylog_check(&cl, 2, p.c.wire, "c2s", 1, c2s1);
	keylog_check(&sl, 2, p.c.wire, "s2c", 1, s2c1);
	keylog_check(&cl, 3, p.c.wire, "s2c", 1, s2c1);
	keylog_check(&sl, 3, p.c.wire, "c2s", 1, c2s1);
	pair_free(&p);

	/* no hook: a full session, nothing logged anywhere */
	cl.n = sl.n = 0;
	cc.keylog = (struct ostp_keylog){ NULL, &cl };
	sc.keylog = (struct ostp_keylog){ NULL, &sl };
	run(&p, &cc, &sc);
	ck_assert(ostp_session_established(p.c.s));
	ck_assert_uint_eq(cl.n + sl.n, 0);
	pair_free(&p);
}
END_TEST

START_TEST(handshake_timeout)
{
	struct ostp_server_config sc = server_cfg();
	ostp_session *s;
	struct ostp_event ev;

	ck_assert_int_eq(ostp_server_new(&s, &sc, NULL, 0), 0);
	ck_assert_int_eq(ostp_tick(s, 4999, &ev), 0);
	ck_assert_int_eq(ostp_tick(s, 5000, &ev), OSTP_E_TIMEOUT);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert(ostp_session_closed(s));
	ostp_session_free(s);
}
END_TEST

/* ---- tampering ---------------------------------------------------------- */

static size_t tamper_at;
static bool tamper_client;
static uint8_t tamper_xor;

static void flip(struct pair *p, bool from_client, uint8_t *buf, size_t len, size_t off)
{
	(void)p;
	if (from_client == tamper_client && tamper_at >= off && tamper_at < off + len)
		buf[tamper_at - off] ^= tamper_xor;
}

static const struct recorded *tampered(struct pair *p, bool from_client, size_t at, uint8_t x,
				       uint8_t options)
{
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();

	cc.options = options;
	cc.username = "ian";
	cc.password = "hunter2";
	tamper_client = from_client;
	tamper_at = at;
	tamper_xor = x;
	start(p, &cc, &sc);
	p->tamper = flip;
	pair_pump(p);
	return side_find(&p->c, OSTP_EV_CLOSED);
}

/* Clearing the U bit: the server sees a different transcript, so its
 * keys differ and the client cannot even read SERVER_AUTH. */
START_TEST(tamper_options)
{
	struct pair p;
	const struct recorded *r = tampered(&p, true, 0, OSTP_OPT_U, OSTP_OPT_U);

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_TAG);
	ck_assert(!ostp_session_established(p.c.s));
	ck_assert_ptr_null(side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	pair_free(&p);
}
END_TEST

START_TEST(tamper_padding)
{
	struct pair p;
	const struct recorded *r = tampered(&p, true, 40, 0x01, 0);

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_TAG);
	pair_free(&p);
}
END_TEST

START_TEST(tamper_server_ephemeral)
{
	struct pair p;
	const struct recorded *r = tampered(&p, false, 5, 0x20, 0);

	ck_assert_ptr_nonnull(r);
	ck_assert(r->err == OSTP_E_TAG || r->err == OSTP_E_CRYPTO);
	ck_assert(!ostp_session_established(p.c.s));
	pair_free(&p);
}
END_TEST

START_TEST(wrong_pinned_key)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	const struct recorded *r;

	cc.server_pk[0] ^= 1;
	cc.options = OSTP_OPT_U;
	cc.username = "ian";
	cc.password = "hunter2";
	run(&p, &cc, &sc);
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_KEY_MISMATCH);
	/* the password never left the client */
	ck_assert_ptr_null(side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	pair_free(&p);
}
END_TEST

START_TEST(tofu_reports_key)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();

	memset(cc.server_pk, 0, 32);
	cc.tofu = true;
	run(&p, &cc, &sc);
	ck_assert_ptr_nonnull(side_find(&p.c, OSTP_EV_SERVER_KEY));
	ck_assert_ptr_nonnull(side_find(&p.c, OSTP_EV_HANDSHAKE));
	ck_assert(ostp_session_established(p.c.s));
	pair_free(&p);
}
END_TEST

/* Refusing a TOFU key on the SERVER_KEY event sends nothing secret: the
 * server never sees credentials, only the authenticated CLOSE. */
START_TEST(tofu_rejected_sends_no_password)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	const struct recorded *r;

	cc.tofu = true;
	cc.options = OSTP_OPT_U;
	cc.username = "ian";
	cc.password = "hunter2";
	start(&p, &cc, &sc);
	p.reject_server_key = true;
	pair_pump(&p);
	ck_assert_ptr_nonnull(side_find(&p.c, OSTP_EV_SERVER_KEY));
	ck_assert_ptr_null(side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	r = side_find(&p.s, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->peer_closed);
	pair_free(&p);
}
END_TEST

/* A server whose identity key is not the one it claims fails the signature. */
START_TEST(forged_signature)
{
	struct pair p;
	struct ostp_client_config cc = client_cfg(OSTP_SPW_IPV4);
	struct ostp_server_config sc = server_cfg();
	uint8_t other_pk[32], other_sk[64], seed[32];
	const struct recorded *r;

	memset(seed, 0x43, sizeof(seed));
	ostp_identity_from_seed(other_pk, other_sk, seed);
	/* sign with other_sk but the SERVER_AUTH carries other_pk: the client
	 * pinned id_pk, so this is a key mismatch; with TOFU it would verify. */
	sc.identity_sk = other_sk;
	run(&p, &cc, &sc);
	r = side_find(&p.c, OSTP_EV_CLOSED);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, OSTP_E_KEY_MISMATCH);
	pair_free(&p);
}
END_TEST


/* ---- client identity (CLIENT_AUTH) and MEMBER records --------------------- */

static uint8_t cid_pk[32], cid_sk[64];     /* a member's identity: seed 0x43 */

static void setup_member_identity(void)
{
	uint8_t seed[32];

	setup_identity();
	memset(seed, 0x43, sizeof(seed));
	ostp_identity_from_seed(cid_pk, cid_sk, seed);
}

#define MESH_SPW (OSTP_SPW_IPV4 | OSTP_SPW_MESH)

/* A mesh link: the dialer proves cid, the acceptor requires it. */
static void mesh_cfg(struct ostp_client_config *cc, struct ostp_server_config *sc)
{
	*cc = client_cfg(MESH_SPW);
	cc->identity_sk = cid_sk;
	*sc = server_cfg();
	sc->require_identity = true;
	sc->spw_supported |= OSTP_SPW_MESH;
	sc->spw_permitted |= OSTP_SPW_MESH;
}

static const struct recorded *closed_with(const struct side *sd, int err)
{
	const struct recorded *r = side_find(sd, OSTP_EV_CLOSED);

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->err, err);
	return r;
}

/* Both nodes dial each other: each proves its key, each accepts the
 * other's, and the accessors tell each side who the other is. */
START_TEST(mesh_link_both_ways)
{
	for (int way = 0; way < 2; way++) {
		struct pair p;
		struct ostp_client_config cc;
		struct ostp_server_config sc;
		const uint8_t *dialer_sk = way ? id_sk : cid_sk, *dialer_pk = way ? id_pk : cid_pk;
		const uint8_t *acceptor_sk = way ? cid_sk : id_sk, *acceptor_pk = way ? cid_pk : id_pk;
		uint8_t k[32];

		mesh_cfg(&cc, &sc);
		cc.identity_sk = dialer_sk;
		memcpy(cc.server_pk, acceptor_pk, 32);
		sc.identity_sk = acceptor_sk;
		start(&p, &cc, &sc);
		ck_assert(!ostp_session_peer_key(p.c.s, k));
		ck_assert(!ostp_session_peer_key(p.s.s, k));
		ck_assert_uint_eq(ostp_session_options(p.c.s), OSTP_OPT_I);
		pair_pump(&p);
		ck_assert_uint_eq(side_count(&p.s, OSTP_EV_CLIENT_KEY), 1);
		ck_assert_mem_eq(p.s.client_pk, dialer_pk, 32);
		ck_assert(ostp_session_established(p.c.s));
		ck_assert(ostp_session_established(p.s.s));
		ck_assert_uint_eq(ostp_session_spw(p.s.s), MESH_SPW);
		ck_assert(ostp_session_peer_key(p.s.s, k));
		ck_assert_mem_eq(k, dialer_pk, 32);
		ck_assert(ostp_session_peer_key(p.c.s, k));
		ck_assert_mem_eq(k, acceptor_pk, 32);
		pair_free(&p);
	}
}
END_TEST

/* I with U (an OCS session), and with TOFU: CLIENT_AUTH goes first, the
 * SAP right behind it is held until the key is judged. */
START_TEST(identity_with_user_and_tofu)
{
	struct pair p;
	struct ostp_client_config cc;
	struct ostp_server_config sc;

	mesh_cfg(&cc, &sc);
	cc.options = OSTP_OPT_U;
	cc.username = "ian";
	cc.password = "hunter2";
	sc.require_auth = true;
	run(&p, &cc, &sc);
	ck_assert_uint_eq(ostp_session_options(p.s.s), OSTP_OPT_I | OSTP_OPT_U);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_CLIENT_KEY), 1);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_AUTH_REQUEST), 1);
	/* the key was judged before the password was looked at */
	ck_assert(side_find(&p.s, OSTP_EV_CLIENT_KEY) < side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	ck_assert(ostp_session_established(p.s.s));
	ck_assert_str_eq(ostp_session_user(p.s.s), "ian");
	pair_free(&p);

	mesh_cfg(&cc, &sc);
	cc.tofu = true;
	memset(cc.server_pk, 0, 32);
	run(&p, &cc, &sc);
	ck_assert_ptr_nonnull(side_find(&p.c, OSTP_EV_SERVER_KEY));
	ck_assert(ostp_session_established(p.s.s));
	pair_free(&p);
	/* a TOFU key refused: not even CLIENT_AUTH goes out */
	start(&p, &cc, &sc);
	p.reject_server_key = true;
	pair_pump(&p);
	ck_assert_ptr_null(side_find(&p.s, OSTP_EV_CLIENT_KEY));
	pair_free(&p);
}
END_TEST

/* The acceptor does not know the key: CLOSE(9), which the client reports
 * as a clean close with reason NOT_MEMBER; a pipelined SAP is never read. */
START_TEST(identity_refused)
{
	struct pair p;
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	const struct recorded *r;

	mesh_cfg(&cc, &sc);
	cc.options = OSTP_OPT_U;
	cc.username = "ian";
	cc.password = "hunter2";
	start(&p, &cc, &sc);
	p.defer_identity = true;
	pair_pump(&p);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_CLIENT_KEY), 1);
	ck_assert_int_eq(ostp_server_auth_reply(p.s.s, true, 0), OSTP_E_STATE);
	ck_assert_int_eq(ostp_server_identity_reply(p.c.s, true), OSTP_E_STATE);
	ck_assert_int_eq(ostp_server_identity_reply(p.s.s, false), OSTP_E_IDENTITY);
	ck_assert(ostp_session_closed(p.s.s));
	ck_assert_int_eq(ostp_server_identity_reply(p.s.s, false), OSTP_E_STATE);
	pair_pump(&p);
	r = closed_with(&p.c, OSTP_E_IDENTITY);
	ck_assert(r->peer_closed);
	ck_assert_uint_eq(r->close_reason, OSTP_CLOSE_NOT_MEMBER);
	ck_assert_ptr_null(side_find(&p.s, OSTP_EV_AUTH_REQUEST));
	ck_assert(!ostp_session_established(p.c.s));
	ck_assert_str_eq(ostp_close_reason_str(OSTP_CLOSE_NOT_MEMBER), "identity key not accepted");
	pair_free(&p);
}
END_TEST

/* require_identity, no I: SH, SERVER_AUTH, CLOSE(9), like require_auth. */
START_TEST(identity_required)
{
	struct pair p;
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	const struct recorded *r;
	struct ostp_event ev;

	mesh_cfg(&cc, &sc);
	cc.identity_sk = NULL;
	sc.require_auth = true;     /* the identity is checked first */
	start(&p, &cc, &sc);
	pair_move(&p, &p.c, &p.s);
	r = closed_with(&p.s, OSTP_E_IDENTITY);
	ck_assert_uint_eq(r->close_reason, OSTP_CLOSE_NOT_MEMBER);
	ck_assert_int_eq(p.s.last_err, OSTP_E_IDENTITY);
	pair_pump(&p);
	r = closed_with(&p.c, OSTP_E_IDENTITY);
	ck_assert(r->peer_closed);
	ck_assert_uint_eq(r->close_reason, OSTP_CLOSE_NOT_MEMBER);
	ck_assert_int_eq(ostp_eof(p.s.s, &ev), 0);
	pair_free(&p);
}
END_TEST

/* TH as both sides computed it, from the cleartext on the wire. */
static void wire_th(const struct pair *p, uint8_t th[32])
{
	size_t sr_len = OSTP_SR_FIXED_LEN + p->c.wire[OSTP_SR_FIXED_LEN];

	ostp_transcript_hash(th, p->c.wire, sr_len, p->s.wire, OSTP_SH_LEN);
}

/* Drive a mesh handshake until the client has queued CLIENT_AUTH, then
 * withdraw it (and what follows) so the test can send its own. */
static void until_client_auth(struct pair *p, const struct ostp_client_config *cc,
			      const struct ostp_server_config *sc)
{
	const uint8_t *out;

	start(p, cc, sc);
	pair_move(p, &p->c, &p->s);
	pair_move(p, &p->s, &p->c);
	ck_assert_uint_gt(ostp_output(p->c.s, &out), 0);
	ck_assert_uint_eq(out[0], OSTP_MSG_CLIENT_AUTH);
	ostp_output_consume(p->c.s, ostp_output(p->c.s, &out));
	p->c.s->tx.counter = 0;
}

/* A signature with one bit flipped, in an otherwise valid CLIENT_AUTH. */
START_TEST(client_auth_bad_signature)
{
	for (int bit = 0; bit < 3; bit++) {
		struct pair p;
		struct ostp_client_config cc;
		struct ostp_server_config sc;
		uint8_t th[32], body[OSTP_CLIENT_AUTH_LEN];

		mesh_cfg(&cc, &sc);
		until_client_auth(&p, &cc, &sc);
		wire_th(&p, th);
		ostp_client_auth_make(body, th, id_pk, cid_sk);
		ck_assert_int_eq(ostp_client_auth_check(body, sizeof(body), th, id_pk), OSTP_OK);
		/* in R, in S, and in the key */
		body[bit == 0 ? 40 : bit == 1 ? 90 : 3] ^= 0x10;
		ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_CLIENT_AUTH, body, sizeof(body)), 0);
		pair_move(&p, &p.c, &p.s);
		closed_with(&p.s, OSTP_E_SIG);
		ck_assert_ptr_null(side_find(&p.s, OSTP_EV_CLIENT_KEY));
		pair_free(&p);
	}
	/* and the length is checked first */
	{
		struct pair p;
		struct ostp_client_config cc;
		struct ostp_server_config sc;
		uint8_t body[OSTP_CLIENT_AUTH_LEN + 1] = { 0 };

		mesh_cfg(&cc, &sc);
		until_client_auth(&p, &cc, &sc);
		ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_CLIENT_AUTH, body, sizeof(body)), 0);
		pair_move(&p, &p.c, &p.s);
		closed_with(&p.s, OSTP_E_LEN);
		pair_free(&p);
	}
}
END_TEST

/* CLIENT_AUTH where none is due: without I, after the identity was
 * judged, and towards a client.  And with I, anything else first. */
START_TEST(client_auth_out_of_place)
{
	struct pair p;
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	uint8_t th[32], body[OSTP_CLIENT_AUTH_LEN];

	/* no I: the server waits for a PAP */
	cc = client_cfg(OSTP_SPW_IPV4);
	sc = server_cfg();
	start(&p, &cc, &sc);
	pair_move(&p, &p.c, &p.s);
	pair_move(&p, &p.s, &p.c);
	ostp_output_consume(p.c.s, ostp_output(p.c.s, &(const uint8_t *){ 0 }));
	p.c.s->tx.counter = 0;
	wire_th(&p, th);
	ostp_client_auth_make(body, th, id_pk, cid_sk);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_CLIENT_AUTH, body, sizeof(body)), 0);
	pair_move(&p, &p.c, &p.s);
	closed_with(&p.s, OSTP_E_STATE);
	pair_free(&p);

	/* I set, a second CLIENT_AUTH after the first was accepted */
	mesh_cfg(&cc, &sc);
	until_client_auth(&p, &cc, &sc);
	wire_th(&p, th);
	ostp_client_auth_make(body, th, id_pk, cid_sk);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_CLIENT_AUTH, body, sizeof(body)), 0);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_CLIENT_AUTH, body, sizeof(body)), 0);
	pair_move(&p, &p.c, &p.s);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_CLIENT_KEY), 1);
	closed_with(&p.s, OSTP_E_STATE);
	pair_free(&p);

	/* I set, a PAP first */
	until_client_auth(&p, &cc, &sc);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_PAP, pap_ipv4, 3), 0);
	pair_move(&p, &p.c, &p.s);
	closed_with(&p.s, OSTP_E_STATE);
	pair_free(&p);

	/* towards a client */
	cc = client_cfg(OSTP_SPW_IPV4);
	sc = server_cfg();
	run(&p, &cc, &sc);
	ck_assert_int_eq(ostp_queue_msg(p.s.s, OSTP_MSG_CLIENT_AUTH, body, sizeof(body)), 0);
	pair_pump(&p);
	closed_with(&p.c, OSTP_E_STATE);
	pair_free(&p);
}
END_TEST

/* A valid CLIENT_AUTH of another session (another TH), sealed into this
 * one by a party that holds this session's keys: the signature does not
 * cover this transcript.  Same with the right TH but another server key
 * (a client that meant to talk to someone else). */
START_TEST(client_auth_spliced)
{
	struct pair a, b;
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	uint8_t th_a[32], th_b[32], body[OSTP_CLIENT_AUTH_LEN];

	mesh_cfg(&cc, &sc);
	until_client_auth(&a, &cc, &sc);
	wire_th(&a, th_a);
	ostp_client_auth_make(body, th_a, id_pk, cid_sk);
	start(&b, &cc, &sc);
	/* another client stream, so another epk_c and another TH */
	test_rng_init(&b.crng, 7);
	ostp_session_free(b.c.s);
	ck_assert_int_eq(ostp_client_new(&b.c.s, &cc,
					 &(struct ostp_rng){ test_rng_fill, &b.crng }, b.now), 0);
	pair_move(&b, &b.c, &b.s);
	pair_move(&b, &b.s, &b.c);
	ostp_output_consume(b.c.s, ostp_output(b.c.s, &(const uint8_t *){ 0 }));
	b.c.s->tx.counter = 0;
	wire_th(&b, th_b);
	ck_assert(memcmp(th_a, th_b, 32) != 0);
	ck_assert_int_eq(ostp_queue_msg(b.c.s, OSTP_MSG_CLIENT_AUTH, body, sizeof(body)), 0);
	pair_move(&b, &b.c, &b.s);
	closed_with(&b.s, OSTP_E_SIG);
	pair_free(&b);

	/* this TH, but signed for a server key other than the acceptor's */
	ostp_client_auth_make(body, th_a, cid_pk, cid_sk);
	ck_assert_int_eq(ostp_queue_msg(a.c.s, OSTP_MSG_CLIENT_AUTH, body, sizeof(body)), 0);
	pair_move(&a, &a.c, &a.s);
	closed_with(&a.s, OSTP_E_SIG);
	pair_free(&a);
}
END_TEST

/* Everything a member sent on one link, replayed to a fresh acceptor:
 * the acceptor's new ephemeral key gives new keys, so the recorded
 * CLIENT_AUTH does not even open. */
START_TEST(client_flight_replayed)
{
	struct pair a, b;
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	struct ostp_event ev;
	size_t off = 0, used;
	int err = 0;

	mesh_cfg(&cc, &sc);
	run(&a, &cc, &sc);
	ck_assert(ostp_session_established(a.s.s));
	start(&b, &cc, &sc);
	test_rng_init(&b.srng, 9);
	ostp_session_free(b.s.s);
	ck_assert_int_eq(ostp_server_new(&b.s.s, &sc,
					 &(struct ostp_rng){ test_rng_fill, &b.srng }, b.now), 0);
	while (off < a.c.wire_len && !ostp_session_closed(b.s.s)) {
		err = ostp_feed(b.s.s, a.c.wire + off, a.c.wire_len - off, &used, b.now, &ev);
		off += used;
		side_record(&b.s, &ev, err);
		if (used == 0 && ev.type == OSTP_EV_NONE)
			break;
	}
	closed_with(&b.s, OSTP_E_TAG);
	ck_assert_ptr_null(side_find(&b.s, OSTP_EV_CLIENT_KEY));
	pair_free(&a);
	pair_free(&b);
}
END_TEST

/* While the key is judged, input is held under the same bound as during a
 * password check, and the handshake deadline waits. */
START_TEST(identity_pending_holds_input)
{
	struct pair p;
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	static uint8_t junk[OSTP_HOLD_MAX];
	struct ostp_event ev;
	size_t used;

	mesh_cfg(&cc, &sc);
	start(&p, &cc, &sc);
	p.defer_identity = true;
	pair_pump(&p);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_CLIENT_KEY), 1);
	ck_assert_uint_eq(ostp_next_deadline(p.s.s), UINT64_MAX);
	p.now += 60000;
	ck_assert_int_eq(ostp_tick(p.s.s, p.now, &ev), 0);
	ck_assert(!ostp_session_closed(p.s.s));
	ck_assert_int_eq(ostp_feed(p.s.s, junk, OSTP_HOLD_MAX - 100, &used, p.now, &ev), 0);
	ck_assert_uint_eq(used, OSTP_HOLD_MAX - 100);
	ck_assert(!ostp_session_closed(p.s.s));
	ck_assert_int_eq(ostp_feed(p.s.s, junk, 101, &used, p.now, &ev), OSTP_E_STATE);
	ck_assert_int_eq(ev.type, OSTP_EV_CLOSED);
	ck_assert_int_eq(ostp_server_identity_reply(p.s.s, true), OSTP_E_STATE);
	pair_free(&p);

	/* the PAP held behind CLIENT_AUTH is read after the verdict, and the
	 * deadline counts again from where the application puts it */
	start(&p, &cc, &sc);
	p.defer_identity = true;
	pair_pump(&p);
	p.now += 60000;
	ostp_session_extend_handshake(p.s.s, 60000);
	ck_assert_int_eq(ostp_server_identity_reply(p.s.s, true), OSTP_OK);
	ck_assert_uint_eq(ostp_next_deadline(p.s.s), 0);
	ck_assert_int_eq(ostp_tick(p.s.s, p.now, &ev), 0);
	side_record(&p.s, &ev, 0);
	pair_pump(&p);
	ck_assert(ostp_session_established(p.s.s));
	ck_assert(ostp_session_established(p.c.s));
	pair_free(&p);
}
END_TEST

/* ---- MEMBER ------------------------------------------------------------------ */

/* An OCS session: I, MESH agreed, established, the key accepted. */
static void member_pair(struct pair *p, bool identity, uint16_t spw)
{
	struct ostp_client_config cc;
	struct ostp_server_config sc;

	mesh_cfg(&cc, &sc);
	sc.require_identity = identity;
	cc.spw = spw;
	if (!identity)
		cc.identity_sk = NULL;
	run(p, &cc, &sc);
	ck_assert(ostp_session_established(p->c.s));
	ck_assert(ostp_session_established(p->s.s));
}

static struct ostp_member upsert(uint8_t key_byte)
{
	struct ostp_member m = { .op = OSTP_MEMBER_UPSERT, .flags = OSTP_MEMBER_F_ACCEPTS,
				 .port = 7001, .host = "198.18.0.7", .name = "dominik", .n_prefix = 1 };

	memset(m.id_pk, key_byte, 32);
	m.prefix[0] = (struct ostp_config_addr){ 4, 24, { 10, 77, 1, 0 } };
	return m;
}

static const struct ostp_member synced = { .op = OSTP_MEMBER_SYNCED };

static struct ostp_member announce(const uint8_t pk[32])
{
	struct ostp_member m = { .op = OSTP_MEMBER_ANNOUNCE, .flags = OSTP_MEMBER_F_ACCEPTS,
				 .port = 7000 };

	memcpy(m.id_pk, pk, 32);
	return m;
}

/* Queue a MEMBER body as it is, past ostp_send_member's checks. */
static void raw_member(ostp_session *from, const struct ostp_member *m,
		       void (*edit)(uint8_t *body, size_t *len))
{
	uint8_t body[OSTP_MEMBER_MAX_LEN + 8];
	size_t n;

	ck_assert_int_eq(ostp_member_encode(body, sizeof(body), &n, m), 0);
	if (edit)
		edit(body, &n);
	ck_assert_int_eq(ostp_queue_msg(from, OSTP_MSG_MEMBER, body, n), 0);
}

START_TEST(member_flow)
{
	struct pair p;
	struct ostp_member m = upsert(0x61), a = announce(cid_pk);

	member_pair(&p, true, MESH_SPW);
	ck_assert_int_eq(ostp_send_member(p.s.s, &m), 0);
	m = upsert(0x62);
	m.flags = 0;
	m.port = 0;
	m.host[0] = '\0';
	ck_assert_int_eq(ostp_send_member(p.s.s, &m), 0);
	ck_assert_int_eq(ostp_send_member(p.s.s, &synced), 0);
	pair_pump(&p);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_MEMBER), 3);
	ck_assert_uint_eq(p.c.last_member.op, OSTP_MEMBER_SYNCED);
	ck_assert_uint_eq(p.c.last_member.seq, 3);
	m = (struct ostp_member){ .op = OSTP_MEMBER_REMOVE };
	memset(m.id_pk, 0x61, 32);
	ck_assert_int_eq(ostp_send_member(p.s.s, &m), 0);
	ck_assert_int_eq(ostp_send_member(p.c.s, &a), 0);
	pair_pump(&p);
	ck_assert_uint_eq(p.c.last_member.op, OSTP_MEMBER_REMOVE);
	ck_assert_uint_eq(p.c.last_member.seq, 4);
	ck_assert_uint_eq(side_count(&p.s, OSTP_EV_MEMBER), 1);
	ck_assert_uint_eq(p.s.last_member.op, OSTP_MEMBER_ANNOUNCE);
	ck_assert_uint_eq(p.s.last_member.seq, 1);
	ck_assert_uint_eq(p.s.last_member.port, 7000);
	ck_assert_str_eq(p.s.last_member.host, "");
	ck_assert(!ostp_session_closed(p.s.s) && !ostp_session_closed(p.c.s));
	pair_free(&p);
}
END_TEST

/* What ostp_send_member refuses before anything goes out. */
START_TEST(member_send_rules)
{
	struct pair p;
	struct ostp_member m = upsert(0x61), a = announce(cid_pk), rm = { .op = OSTP_MEMBER_REMOVE };
	const uint8_t *out;

	member_pair(&p, true, MESH_SPW);
	ck_assert_int_eq(ostp_send_member(p.s.s, &a), OSTP_E_STATE);        /* server announces */
	ck_assert_int_eq(ostp_send_member(p.c.s, &m), OSTP_E_STATE);        /* client lists */
	ck_assert_int_eq(ostp_send_member(p.c.s, &synced), OSTP_E_STATE);
	ck_assert_int_eq(ostp_send_member(p.s.s, &rm), OSTP_E_STATE);       /* before SYNCED */
	a.id_pk[0] ^= 1;
	ck_assert_int_eq(ostp_send_member(p.c.s, &a), OSTP_E_INVAL);        /* not its key */
	m.op = 9;
	ck_assert_int_eq(ostp_send_member(p.s.s, &m), OSTP_E_TYPE);
	m = upsert(0x61);
	m.flags |= 0x80;
	ck_assert_int_eq(ostp_send_member(p.s.s, &m), OSTP_E_RESERVED);
	ck_assert_uint_eq(ostp_output(p.s.s, &out), 0);
	ck_assert_uint_eq(ostp_output(p.c.s, &out), 0);
	ck_assert_int_eq(ostp_send_member(p.s.s, &synced), 0);
	ck_assert_int_eq(ostp_send_member(p.s.s, &synced), OSTP_E_STATE);  /* once */
	ck_assert_int_eq(ostp_send_member(p.s.s, &rm), 0);
	pair_pump(&p);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_MEMBER), 2);
	pair_free(&p);
	/* a client that proved no key has nothing to announce */
	member_pair(&p, false, MESH_SPW);
	ck_assert_int_eq(ostp_send_member(p.c.s, &(struct ostp_member){ .op = OSTP_MEMBER_ANNOUNCE }),
			 OSTP_E_STATE);
	ck_assert_int_eq(ostp_send_member(p.s.s, &synced), 0);
	pair_pump(&p);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_MEMBER), 1);
	pair_free(&p);
	/* MESH not agreed: nothing either way */
	member_pair(&p, true, OSTP_SPW_IPV4);
	ck_assert_int_eq(ostp_send_member(p.s.s, &synced), OSTP_E_STATE);
	ck_assert_int_eq(ostp_send_member(p.c.s, &(struct ostp_member){ .op = OSTP_MEMBER_ANNOUNCE }),
			 OSTP_E_STATE);
	pair_free(&p);
}
END_TEST

static void seq_plus_one(uint8_t *b, size_t *n) { (void)n; b[3]++; }
static void seq_zero(uint8_t *b, size_t *n) { (void)n; b[3] = 0; }
static void flag_reserved(uint8_t *b, size_t *n) { (void)n; b[OSTP_MEMBER_OFF_FLAGS] |= 0x02; }
static void op_unknown(uint8_t *b, size_t *n) { (void)n; b[OSTP_MEMBER_OFF_OP] = 5; }
static void one_short(uint8_t *b, size_t *n) { (void)b; (*n)--; }
static void host_bit(uint8_t *b, size_t *n)
{
	/* the prefix 10.77.1.0/24 becomes 10.77.1.1/24 */
	b[*n - 16 + 3] = 1;
}
static void remove_port(uint8_t *b, size_t *n) { (void)n; b[OSTP_MEMBER_OFF_PORT + 1] = 1; }

struct member_case {
	bool to_client;          /* else the client sends it */
	bool synced_first;       /* the server sends SYNCED before */
	uint8_t op;
	void (*edit)(uint8_t *body, size_t *len);
	int want;
};

/* Each body check of 2.5.13 on its own, at the receiver. */
START_TEST(member_receive_checks)
{
	static const struct member_case cases[] = {
		{ true, false, OSTP_MEMBER_UPSERT, seq_plus_one, OSTP_E_SEQ },
		{ true, false, OSTP_MEMBER_UPSERT, seq_zero, OSTP_E_SEQ },
		{ true, true, OSTP_MEMBER_UPSERT, seq_plus_one, OSTP_E_SEQ },
		{ true, false, OSTP_MEMBER_UPSERT, flag_reserved, OSTP_E_RESERVED },
		{ true, false, OSTP_MEMBER_UPSERT, op_unknown, OSTP_E_TYPE },
		{ true, false, OSTP_MEMBER_UPSERT, one_short, OSTP_E_LEN },
		{ true, false, OSTP_MEMBER_UPSERT, host_bit, OSTP_E_PEER },
		{ true, false, OSTP_MEMBER_REMOVE, NULL, OSTP_E_STATE },     /* before SYNCED */
		{ true, true, OSTP_MEMBER_REMOVE, remove_port, OSTP_E_PEER },
		{ true, true, OSTP_MEMBER_REMOVE, NULL, OSTP_OK },
		{ true, true, OSTP_MEMBER_SYNCED, NULL, OSTP_E_STATE },      /* a second one */
		{ true, false, OSTP_MEMBER_ANNOUNCE, NULL, OSTP_E_STATE },   /* wrong direction */
		{ false, false, OSTP_MEMBER_UPSERT, NULL, OSTP_E_STATE },
		{ false, false, OSTP_MEMBER_ANNOUNCE, NULL, OSTP_OK },
		{ false, false, OSTP_MEMBER_ANNOUNCE, seq_plus_one, OSTP_E_SEQ },
		{ false, false, OSTP_MEMBER_ANNOUNCE, flag_reserved, OSTP_E_RESERVED },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct member_case *c = &cases[k];
		struct pair p;
		struct ostp_member m;
		struct side *to;

		member_pair(&p, true, MESH_SPW);
		if (c->synced_first)
			ck_assert_int_eq(ostp_send_member(p.s.s, &synced), 0);
		switch (c->op) {
		case OSTP_MEMBER_UPSERT: m = upsert(0x61); break;
		case OSTP_MEMBER_ANNOUNCE: m = announce(cid_pk); break;
		default: m = (struct ostp_member){ .op = c->op }; break;
		}
		if (c->op == OSTP_MEMBER_REMOVE)
			memset(m.id_pk, 0x61, 32);
		m.seq = c->synced_first && c->to_client ? 2 : 1;
		raw_member(c->to_client ? p.s.s : p.c.s, &m, c->edit);
		pair_pump(&p);
		to = c->to_client ? &p.c : &p.s;
		if (c->want == OSTP_OK) {
			ck_assert_msg(!ostp_session_closed(to->s), "case %zu closed", k);
			ck_assert_uint_eq(to->last_member.op, c->op);
		} else {
			const struct recorded *r = side_find(to, OSTP_EV_CLOSED);

			ck_assert_msg(r && r->err == c->want, "case %zu: %d, want %d", k,
				      r ? r->err : 0, c->want);
		}
		pair_free(&p);
	}
}
END_TEST

/* ANNOUNCE speaks for the proven key only; MEMBER needs MESH, and on the
 * server a proven key; and it waits for the CONFIG like everything. */
START_TEST(member_state_rules)
{
	struct pair p;
	struct ostp_member a = announce(cid_pk);

	member_pair(&p, true, MESH_SPW);
	a.seq = 1;
	a.id_pk[31] ^= 1;
	raw_member(p.c.s, &a, NULL);
	pair_pump(&p);
	closed_with(&p.s, OSTP_E_PEER);
	pair_free(&p);

	/* MESH not agreed: both directions */
	for (int dir = 0; dir < 2; dir++) {
		member_pair(&p, true, OSTP_SPW_IPV4);
		a = announce(cid_pk);
		a.seq = 1;
		raw_member(dir ? p.s.s : p.c.s, dir ? &synced : &a, NULL);
		pair_pump(&p);
		closed_with(dir ? &p.c : &p.s, OSTP_E_STATE);
		pair_free(&p);
	}
	/* MESH agreed but no key proven: the ANNOUNCE has no key to speak for,
	 * whatever its body (even a short one) */
	member_pair(&p, false, MESH_SPW);
	ck_assert_int_eq(ostp_queue_msg(p.c.s, OSTP_MSG_MEMBER, (const uint8_t *)"x", 1), 0);
	pair_pump(&p);
	closed_with(&p.s, OSTP_E_STATE);
	pair_free(&p);
	/* before established */
	{
		struct ostp_client_config cc;
		struct ostp_server_config sc;

		mesh_cfg(&cc, &sc);
		start(&p, &cc, &sc);
		pair_move(&p, &p.c, &p.s);
		a = announce(cid_pk);
		a.seq = 1;
		raw_member(p.s.s, &(struct ostp_member){ .op = OSTP_MEMBER_SYNCED, .seq = 1 }, NULL);
		pair_move(&p, &p.s, &p.c);
		closed_with(&p.c, OSTP_E_STATE);
		pair_free(&p);
	}
}
END_TEST

/* The largest record (a 64-byte name, 16 IPv6 prefixes, the longest host)
 * goes through a session unchanged. */
START_TEST(member_full_size)
{
	struct pair p;
	struct ostp_member m = upsert(0x61);
	uint8_t body[OSTP_MEMBER_MAX_LEN];
	size_t n;

	memset(m.name, 'n', OSTP_USER_MAX);
	m.name[OSTP_USER_MAX] = '\0';
	snprintf(m.host, sizeof(m.host), "%s", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	m.port = 65535;
	m.n_prefix = OSTP_MEMBER_PREFIX_MAX;
	for (unsigned i = 0; i < OSTP_MEMBER_PREFIX_MAX; i++) {
		m.prefix[i] = (struct ostp_config_addr){ 6, 128, { 0xfd, 0x77 } };
		m.prefix[i].addr[15] = (uint8_t)(i + 1);
	}
	ck_assert_int_eq(ostp_member_encode(body, sizeof(body), &n, &m), 0);
	ck_assert_uint_eq(n, OSTP_MEMBER_MAX_LEN);
	member_pair(&p, true, MESH_SPW);
	ck_assert_int_eq(ostp_send_member(p.s.s, &m), 0);
	pair_pump(&p);
	ck_assert_uint_eq(side_count(&p.c, OSTP_EV_MEMBER), 1);
	m.seq = 1;
	ck_assert_uint_eq(p.c.last_member.seq, 1);
	ck_assert_str_eq(p.c.last_member.name, m.name);
	ck_assert_str_eq(p.c.last_member.host, m.host);
	ck_assert_uint_eq(p.c.last_member.port, 65535);
	ck_assert_uint_eq(p.c.last_member.n_prefix, OSTP_MEMBER_PREFIX_MAX);
	ck_assert_mem_eq(p.c.last_member.prefix, m.prefix, sizeof(m.prefix));
	ck_assert_mem_eq(p.c.last_member.id_pk, m.id_pk, 32);
	pair_free(&p);
}
END_TEST

Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *hs = tcase_create("handshake");
	TCase *tm = tcase_create("tamper");
	TCase *id = tcase_create("identity");

	tcase_add_unchecked_fixture(hs, setup_identity, NULL);
	tcase_add_unchecked_fixture(tm, setup_identity, NULL);
	tcase_add_unchecked_fixture(id, setup_member_identity, NULL);
	tcase_add_test(id, mesh_link_both_ways);
	tcase_add_test(id, identity_with_user_and_tofu);
	tcase_add_test(id, identity_refused);
	tcase_add_test(id, identity_required);
	tcase_add_test(id, client_auth_bad_signature);
	tcase_add_test(id, client_auth_out_of_place);
	tcase_add_test(id, client_auth_spliced);
	tcase_add_test(id, client_flight_replayed);
	tcase_add_test(id, identity_pending_holds_input);
	tcase_add_test(id, member_flow);
	tcase_add_test(id, member_send_rules);
	tcase_add_test(id, member_receive_checks);
	tcase_add_test(id, member_state_rules);
	tcase_add_test(id, member_full_size);
	tcase_add_test(hs, no_auth);
	tcase_add_test(hs, auth_good);
	tcase_add_test(hs, auth_wrong_password);
	tcase_add_test(hs, auth_unknown_user);
	tcase_add_test(hs, auth_not_trusted);
	tcase_add_test(hs, auth_no_enumeration);
	tcase_add_test(hs, auth_required);
	tcase_add_test(hs, auth_attempts_bounded);
	tcase_add_test(hs, auth_pending_suspends_deadline);
	tcase_add_test(hs, auth_busy_reply);
	tcase_add_test(hs, auth_busy_not_counted);
	tcase_add_test(hs, auth_busy_wrong_state);
	tcase_add_test(hs, pipelined_pap_after_success);
	tcase_add_test(hs, pipelined_pap_after_bad_pw);
	tcase_add_test(hs, held_input_bounded);
	tcase_add_test(hs, retry_with_other_user);
	tcase_add_test(hs, config_empty_when_nothing_to_push);
	tcase_add_test(hs, config_must_come_first);
	tcase_add_test(hs, no_family_no_data);
	tcase_add_test(hs, order_peer_block);
	tcase_add_test(hs, order_mgmt);
	tcase_add_test(hs, bytes_after_close_ignored);
	tcase_add_test(hs, sig_rules);
	tcase_add_test(hs, spw_accepted);
	tcase_add_test(hs, spw_arbitrated);
	tcase_add_test(hs, spw_bad_perms);
	tcase_add_test(hs, spw_bad_perms_refused);
	tcase_add_test(hs, spw_resource);
	tcase_add_test(hs, quick_request);
	tcase_add_test(hs, peers_40_three_blocks);
	tcase_add_test(hs, peers_trunc_after_first);
	tcase_add_test(hs, peers_none);
	tcase_add_test(hs, peers_lent_all_blocks);
	tcase_add_test(hs, peers_lent_trunc);
	tcase_add_test(hs, peers_lent_session_freed_first);
	tcase_add_test(hs, data_round_trip_chained);
	tcase_add_test(hs, byte_at_a_time);
	tcase_add_test(hs, clean_close);
	tcase_add_test(hs, cut_connection);
	tcase_add_test(hs, timers);
	tcase_add_test(hs, echo_probe);
	tcase_add_test(hs, handshake_timeout);
	tcase_add_test(hs, key_log);
	tcase_add_test(tm, tamper_options);
	tcase_add_test(tm, tamper_padding);
	tcase_add_test(tm, tamper_server_ephemeral);
	tcase_add_test(tm, wrong_pinned_key);
	tcase_add_test(tm, tofu_reports_key);
	tcase_add_test(tm, forged_signature);
	tcase_add_test(tm, tofu_rejected_sends_no_password);
	suite_add_tcase(s, hs);
	suite_add_tcase(s, tm);
	suite_add_tcase(s, id);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(session_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
