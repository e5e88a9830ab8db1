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
 *   a bit 4     answer only after the chunk, so input behind the SAP is
 *               held (docs/PROTOCOL.md 5.3.2) and read after the answer
 *   a bit 5     answer busy (ostp_server_auth_busy) instead
 *   a bit 6     the server has peers to hand out
 *   a bit 7     identity mode: require_identity, SPW MESH supported and
 *               permitted, and once established the server sends an
 *               UPSERT and SYNCED.  Whatever the mode, a CLIENT_KEY is
 *               answered like an AUTH_REQUEST (bit 0, deferred by bit 4).
 *   b           chunk sizes and time steps, as fuzz_session.h says
 *
 * The server uses the vectors' configuration and RNG stream (seed 2), so the
 * seed corpus/fuzz_server/handshake (the client bytes of
 * tests/vectors/) goes all the way to the chained DATA message, and
 * corpus/fuzz_server/identity (option I, a = 0x81) through CLIENT_AUTH to
 * the client's ANNOUNCE.
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
#include "fuzz_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t id_pk[32], id_sk[64], cid_pk[32], cid_sk[64];
static struct ostp_peer peers[20];
static bool identity_mode;

static void init_once(void)
{
	static bool ready;

	if (ready)
		return;
	CHECK(ostp_init() == OSTP_OK);
	vec_identity(id_pk, id_sk);
	{
		uint8_t seed[32];

		memset(seed, 0x43, sizeof(seed));
		CHECK(ostp_identity_from_seed(cid_pk, cid_sk, seed) == OSTP_OK);
	}
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		peers[i].port = (uint16_t)(7000 + i);
		memcpy(peers[i].host, "198.18.0.1", 11);
		peers[i].host[9] = (char)('1' + i % 9);
		memset(peers[i].id_pk, (int)i + 1, 32);
	}
	ready = true;
}

static void check_event(ostp_session *s, const struct ostp_event *ev, int err)
{
	check_event_common(s, ev, err);
	switch (ev->type) {
	case OSTP_EV_NONE:
	case OSTP_EV_MESSAGE:
	case OSTP_EV_CLOSED:
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
	case OSTP_EV_CLIENT_KEY: {
		uint8_t k[32];

		/* only after a signature by that key over this transcript */
		CHECK(ev->client_pk && (ostp_session_options(s) & OSTP_OPT_I));
		CHECK(ostp_session_peer_key(s, k) && memcmp(k, ev->client_pk, 32) == 0);
		CHECK(!ostp_session_established(s) && ostp_next_deadline(s) == UINT64_MAX);
		break;
	}
	case OSTP_EV_MEMBER: {
		uint8_t k[32];
		const struct ostp_member *m = ev->member;

		/* a member announces itself, only on a MESH session with a key */
		CHECK(m && m->op == OSTP_MEMBER_ANNOUNCE && m->name[0] == '\0' && m->n_prefix == 0);
		CHECK((ostp_session_spw(s) & OSTP_SPW_MESH) && ostp_session_peer_key(s, k));
		CHECK(memcmp(k, m->id_pk, 32) == 0 && (m->flags & ~OSTP_MEMBER_F_ACCEPTS) == 0);
		CHECK((m->flags & OSTP_MEMBER_F_ACCEPTS) ? m->port != 0 : m->port == 0);
		CHECK(memchr(m->host, 0, sizeof(m->host)) != NULL);
		break;
	}
	default:
		/* SERVER_KEY, AUTH_RESULT, PEER_BLOCK, CONFIG are client events */
		CHECK(0);
	}
}

/* a bits 0, 4, 5: the answer to AUTH_REQUEST for this input */
static bool auth_accept, auth_defer, auth_busy, auth_due, ident_due;

static void reply(ostp_session *s)
{
	int r;

	if (ident_due) {
		ident_due = false;
		r = ostp_server_identity_reply(s, auth_accept);
		CHECK(auth_accept ? r == OSTP_OK : r == OSTP_E_IDENTITY && ostp_session_closed(s));
		return;
	}
	auth_due = false;
	if (auth_busy) {
		CHECK(ostp_server_auth_busy(s) == OSTP_OK);
		CHECK(ostp_session_closed(s));
		return;
	}
	r = ostp_server_auth_reply(s, auth_accept, identity_mode ? VEC_MESH_SPW : VEC_PERMITTED);
	CHECK(r == OSTP_OK || r == OSTP_E_AUTH);
	CHECK(r == OSTP_OK || ostp_session_closed(s));
}

static void answer_auth(ostp_session *s, const struct ostp_event *ev)
{
	if (ev->type == OSTP_EV_ESTABLISHED && identity_mode) {
		struct ostp_member m = vsc_member(0);

		CHECK(ostp_send_member(s, &m) == ((ev->spw & OSTP_SPW_MESH) ? OSTP_OK : OSTP_E_STATE));
		m.op = OSTP_MEMBER_SYNCED;
		CHECK(ostp_send_member(s, &m) != OSTP_OK);   /* SYNCED carries nothing */
		CHECK(ostp_send_member(s, &(struct ostp_member){ .op = OSTP_MEMBER_SYNCED }) ==
		      ((ev->spw & OSTP_SPW_MESH) ? OSTP_OK : OSTP_E_STATE));
		return;
	}
	if (ev->type == OSTP_EV_CLIENT_KEY) {
		ident_due = true;
		if (!auth_defer)
			reply(s);
		return;
	}
	if (ev->type != OSTP_EV_AUTH_REQUEST)
		return;
	if (auth_defer)
		auth_due = true;
	else
		reply(s);
}

static const struct fuzz_ops server_ops;

static void check_tick(ostp_session *s, const struct ostp_event *ev, uint64_t now)
{
	CHECK(ev->type == OSTP_EV_NONE || ev->type == OSTP_EV_CLOSED);
	CHECK(ostp_session_closed(s) || ostp_next_deadline(s) > now);
	/* a deferred answer, then what was held behind the SAP */
	if ((auth_due || ident_due) && !ostp_session_closed(s)) {
		static const uint8_t nothing[1];

		reply(s);
		if (!ostp_session_closed(s))
			feed_chunk(s, nothing, 0, now, &server_ops);
	}
}

static const struct fuzz_ops server_ops = {
	.check_event = check_event,
	.on_event = answer_auth,
	.after_tick = check_tick,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ostp_server_config sc;
	struct ostp_config conf;
	struct test_rng rng;
	struct out_check oc = { .skip = OSTP_SH_LEN };
	struct fuzz_stream fs;
	struct ostp_event ev;
	ostp_session *s;
	int err;

	init_once();
	fuzz_stream_init(&fs, data, size);
	auth_accept = fs.a & 1;
	auth_defer = (fs.a & 0x10) != 0;
	auth_busy = (fs.a & 0x20) != 0;
	auth_due = ident_due = false;
	identity_mode = (fs.a & 0x80) != 0;
	test_rng_init(&rng, VEC_SERVER_RNG_SEED);
	vec_server_config(&sc, id_sk);
	if (identity_mode) {
		struct ostp_client_config unused;

		vec_identity_configs(&unused, &sc, id_pk, id_sk, cid_sk);
		sc.spw_permitted |= OSTP_SPW_MESH;
	}
	sc.require_auth = !(fs.a & 0x02);
	sc.max_auth_attempts = 1u + ((fs.a >> 2) & 3u);
	vec_config(&conf);
	CHECK(ostp_server_new(&s, &sc, &(struct ostp_rng){ test_rng_fill, &rng }, fs.now) == OSTP_OK);
	CHECK(ostp_server_set_config(s, &conf) == OSTP_OK);
	if (fs.a & 0x40)
		CHECK(ostp_server_set_peers(s, peers, sizeof(peers) / sizeof(peers[0])) == OSTP_OK);

	fuzz_stream_feed(s, &fs, &oc, &server_ops);
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
