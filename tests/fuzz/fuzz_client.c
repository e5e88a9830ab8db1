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
 *                     bits 4-5 max_peer_blocks,
 *                     bit 6 identity mode: the client proves the 0x43
 *                     identity (option I) and asks for SPW MESH too; it
 *                     announces itself once established.  The seed
 *                     corpus/fuzz_client/identity (a = 0x40) takes it
 *                     through CLIENT_AUTH to the MEMBER records.
 *   b = data[size-2]: chunk sizes and time steps, as fuzz_session.h says
 *
 * Checked as in fuzz_server.c: errors come with a CLOSED event, no stall,
 * sane events, and a well-formed outgoing frame stream after the SR.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GEN_VECTORS_NO_MAIN
#include "../vectors/gen_vectors.c"
#include "fuzz_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t id_pk[32], id_sk[64], cid_pk[32], cid_sk[64];
static bool identity_mode, members_synced;
static uint32_t member_seq;

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
	ready = true;
}

static void check_event(ostp_session *s, const struct ostp_event *ev, int err)
{
	check_event_common(s, ev, err);
	switch (ev->type) {
	case OSTP_EV_NONE:
	case OSTP_EV_MESSAGE:
	case OSTP_EV_CLOSED:
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
		CHECK((ev->spw & ~(identity_mode ? VEC_MESH_SPW : VEC_CLIENT_SPW)) == 0);
		if (identity_mode && (ev->spw & OSTP_SPW_MESH)) {
			struct ostp_member an = { .op = OSTP_MEMBER_ANNOUNCE };

			memcpy(an.id_pk, cid_pk, 32);
			CHECK(ostp_send_member(s, &an) == OSTP_OK);
			an.id_pk[0] ^= 1;
			CHECK(ostp_send_member(s, &an) == OSTP_E_INVAL);
		}
		break;
	case OSTP_EV_MEMBER: {
		const struct ostp_member *m = ev->member;

		/* in order, from the server's ops, the list state respected */
		CHECK(m && (ostp_session_spw(s) & OSTP_SPW_MESH));
		CHECK(m->seq == ++member_seq && m->op >= OSTP_MEMBER_UPSERT &&
		      m->op <= OSTP_MEMBER_SYNCED);
		CHECK(m->op != OSTP_MEMBER_REMOVE || members_synced);
		CHECK(m->op != OSTP_MEMBER_SYNCED || !members_synced);
		if (m->op == OSTP_MEMBER_SYNCED)
			members_synced = true;
		CHECK(m->n_prefix <= OSTP_MEMBER_PREFIX_MAX && (m->flags & ~OSTP_MEMBER_F_ACCEPTS) == 0);
		CHECK(memchr(m->host, 0, sizeof(m->host)) && memchr(m->name, 0, sizeof(m->name)));
		CHECK(m->name[0] == '\0' || ostp_username_valid(m->name, strlen(m->name)));
		for (size_t i = 0; i < m->n_prefix; i++)
			CHECK((m->prefix[i].family == 4 && m->prefix[i].prefix_len <= 32) ||
			      (m->prefix[i].family == 6 && m->prefix[i].prefix_len <= 128));
		if (m->op != OSTP_MEMBER_UPSERT)
			CHECK(m->port == 0 && m->host[0] == '\0' && m->name[0] == '\0' &&
			      m->n_prefix == 0 && m->flags == 0);
		break;
	}
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
	default:
		/* AUTH_REQUEST is a server event */
		CHECK(0);
	}
}

static const struct fuzz_ops client_ops = {
	.check_event = check_event,
	.pending_after_close = true,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ostp_client_config cc;
	struct test_rng rng;
	struct out_check oc = { 0 };
	struct fuzz_stream fs;
	struct ostp_event ev;
	ostp_session *s;
	const uint8_t *out;
	size_t n;
	int err;

	init_once();
	fuzz_stream_init(&fs, data, size);
	test_rng_init(&rng, VEC_CLIENT_RNG_SEED);
	identity_mode = (fs.a & 0x40) != 0;
	members_synced = false;
	member_seq = 0;
	if (identity_mode) {
		struct ostp_server_config unused;

		vec_identity_configs(&cc, &unused, id_pk, id_sk, cid_sk);
	} else {
		vec_client_config(&cc, id_pk);
	}
	cc.tofu = (fs.a & 0x02) != 0;
	cc.max_peer_blocks = (fs.a >> 4) & 3u;
	CHECK(ostp_client_new(&s, &cc, &(struct ostp_rng){ test_rng_fill, &rng }, fs.now) == OSTP_OK);
	/* the SR goes out at once and is the only cleartext the client sends */
	n = ostp_output(s, &out);
	CHECK(n >= OSTP_SR_MIN_LEN && n <= OSTP_SR_MAX_LEN &&
	      out[0] == (OSTP_OPT_U | (identity_mode ? OSTP_OPT_I : 0)));
	CHECK(n == OSTP_SR_FIXED_LEN + out[OSTP_SR_FIXED_LEN]);
	ostp_output_consume(s, n);

	fuzz_stream_feed(s, &fs, &oc, &client_ops);
	/* a pending second event (TOFU) is still there to collect */
	do {
		size_t used;

		err = ostp_feed(s, NULL, 0, &used, fs.now, &ev);
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
