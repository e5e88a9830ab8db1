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

Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *hs = tcase_create("handshake");
	TCase *tm = tcase_create("tamper");

	tcase_add_unchecked_fixture(hs, setup_identity, NULL);
	tcase_add_unchecked_fixture(tm, setup_identity, NULL);
	tcase_add_test(hs, no_auth);
	tcase_add_test(hs, auth_good);
	tcase_add_test(hs, auth_wrong_password);
	tcase_add_test(hs, auth_unknown_user);
	tcase_add_test(hs, auth_not_trusted);
	tcase_add_test(hs, auth_no_enumeration);
	tcase_add_test(hs, auth_required);
	tcase_add_test(hs, auth_attempts_bounded);
	tcase_add_test(hs, auth_pending_suspends_deadline);
	tcase_add_test(hs, spw_accepted);
	tcase_add_test(hs, spw_arbitrated);
	tcase_add_test(hs, spw_bad_perms);
	tcase_add_test(hs, spw_bad_perms_refused);
	tcase_add_test(hs, spw_resource);
	tcase_add_test(hs, quick_request);
	tcase_add_test(hs, peers_40_three_blocks);
	tcase_add_test(hs, peers_trunc_after_first);
	tcase_add_test(hs, peers_none);
	tcase_add_test(hs, data_round_trip_chained);
	tcase_add_test(hs, byte_at_a_time);
	tcase_add_test(hs, clean_close);
	tcase_add_test(hs, cut_connection);
	tcase_add_test(hs, timers);
	tcase_add_test(hs, handshake_timeout);
	tcase_add_test(tm, tamper_options);
	tcase_add_test(tm, tamper_padding);
	tcase_add_test(tm, tamper_server_ephemeral);
	tcase_add_test(tm, wrong_pinned_key);
	tcase_add_test(tm, tofu_reports_key);
	tcase_add_test(tm, forged_signature);
	tcase_add_test(tm, tofu_rejected_sends_no_password);
	suite_add_tcase(s, hs);
	suite_add_tcase(s, tm);
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
