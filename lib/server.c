/* SPDX-License-Identifier: ISC */
/* The server (OCS) side: credentials, parameter arbitration, peer blocks. */
#include <stdlib.h>
#include <string.h>

#include "session.h"

int ostp_server_new(ostp_session **out, const struct ostp_server_config *cfg,
		    const struct ostp_rng *rng, uint64_t now_ms)
{
	ostp_session *s;

	*out = NULL;
	if (!cfg || !cfg->identity_sk)
		return OSTP_E_INVAL;
	s = ostp_session_alloc(OSTP_ROLE_SERVER, rng, &cfg->timing, cfg->outq_max, now_ms);
	if (!s)
		return OSTP_E_NOMEM;
	s->state = ST_S_WAIT_SR;
	s->u.s.identity_sk = cfg->identity_sk;
	s->u.s.require_auth = cfg->require_auth;
	s->u.s.require_identity = cfg->require_identity;
	crypto_sign_ed25519_sk_to_pk(s->u.s.identity_pk, cfg->identity_sk);
	s->u.s.spw_supported = cfg->spw_supported & OSTP_SPW_DEFINED;
	s->u.s.spw_default = cfg->spw_default & OSTP_SPW_DEFINED;
	s->u.s.spw_permitted = cfg->spw_permitted & OSTP_SPW_DEFINED;
	s->u.s.resource_ok = true;
	s->keylog = cfg->keylog;
	s->u.s.max_auth_attempts = cfg->max_auth_attempts ? cfg->max_auth_attempts : 3;
	if (cfg->max_pap_rounds)
		s->max_pap_rounds = cfg->max_pap_rounds;
	*out = s;
	return OSTP_OK;
}

void ostp_server_free_part(ostp_session *s)
{
	struct ostp_server_part *sv = &s->u.s;

	if (sv->release)
		sv->release(sv->release_ctx);
	else
		free((void *)sv->peers);
	sv->peers = NULL;
	sv->npeers = 0;
	sv->release = NULL;
	sv->release_ctx = NULL;
}

int ostp_server_on_sr(ostp_session *s, const struct ostp_sr *sr, struct ostp_event *ev)
{
	uint8_t seed[32], auth[OSTP_SERVER_AUTH_LEN];
	struct ostp_keys k;
	int err;

	s->options = sr->options;
	ostp_rng_fill(s, seed, sizeof(seed));
	crypto_kx_seed_keypair(s->eph_pk, s->eph_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	memcpy(s->hs + s->sr_len, s->eph_pk, OSTP_SH_LEN);
	s->hs_len = s->sr_len + OSTP_SH_LEN;
	ostp_transcript_hash(s->th, s->hs, s->sr_len, s->eph_pk, OSTP_SH_LEN);
	err = ostp_derive_keys(&k, OSTP_ROLE_SERVER, s->eph_pk, s->eph_sk, sr->pubkey, s->th);
	sodium_memzero(s->eph_sk, sizeof(s->eph_sk));
	if (err)
		return ostp_fail(s, err, ev);
	err = ostp_queue_raw(s, s->eph_pk, OSTP_SH_LEN);
	if (err)
		return ostp_fail(s, err, ev);
	err = ostp_set_keys(s, &k);
	sodium_memzero(&k, sizeof(k));
	if (err)
		return ostp_fail(s, err, ev);
	ostp_server_auth_make(auth, s->th, s->u.s.identity_sk);
	/* CLIENT_AUTH will be checked against TH */
	if (!(s->options & OSTP_OPT_I))
		ostp_wipe_handshake(s);
	err = ostp_queue_msg(s, OSTP_MSG_SERVER_AUTH, auth, sizeof(auth));
	if (err)
		return ostp_fail(s, err, ev);
	/* identity before user: it is the first thing the client sends */
	if (!(s->options & OSTP_OPT_I) && s->u.s.require_identity)
		return ostp_fail(s, OSTP_E_IDENTITY, ev);
	if (!(s->options & OSTP_OPT_U) && s->u.s.require_auth)
		return ostp_fail(s, OSTP_E_AUTH_REQUIRED, ev);
	if (s->options & OSTP_OPT_I)
		s->state = ST_S_WAIT_CAUTH;
	else
		s->state = s->options & OSTP_OPT_U ? ST_S_WAIT_SAP : ST_S_WAIT_PAP;
	ev->type = OSTP_EV_HANDSHAKE;
	return OSTP_OK;
}

static int send_sap_reply(ostp_session *s, uint8_t code)
{
	uint8_t buf[OSTP_SAP_FIXED_LEN + OSTP_USER_MAX];
	size_t n;
	int err = ostp_sap_encode(buf, sizeof(buf), &n, code, s->u.s.sap.user,
				  s->u.s.sap.user_len, NULL, 0);

	return err ? err : ostp_queue_msg(s, OSTP_MSG_SAP, buf, n);
}

int ostp_server_auth_reply(ostp_session *s, bool ok, uint16_t spw_permitted)
{
	struct ostp_server_part *sv = &s->u.s;
	int err;

	if (s->role != OSTP_ROLE_SERVER || s->state != ST_S_AUTH_PENDING)
		return OSTP_E_STATE;
	sodium_memzero(sv->sap.pass, sizeof(sv->sap.pass));
	if (ok) {
		memcpy(s->user, sv->sap.user, sizeof(s->user));
		sv->spw_permitted = spw_permitted & OSTP_SPW_DEFINED;
		s->state = ST_S_WAIT_PAP;
		return send_sap_reply(s, OSTP_AUTH_SUCCESS);
	}
	err = send_sap_reply(s, OSTP_AUTH_BAD_PW);
	if (err)
		return err;
	if (++sv->auth_attempts >= sv->max_auth_attempts) {
		ostp_close(s, OSTP_CLOSE_AUTH_FAILED);
		return OSTP_E_AUTH;
	}
	s->state = ST_S_WAIT_SAP;
	return OSTP_OK;
}

static int on_client_auth(ostp_session *s, const uint8_t *p, size_t len,
			  struct ostp_event *ev)
{
	struct ostp_server_part *sv = &s->u.s;
	int err = ostp_client_auth_check(p, len, s->th, sv->identity_pk);

	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	ostp_wipe_handshake(s);
	memcpy(sv->client_pk, p, OSTP_ID_PK_LEN);
	sv->client_proven = true;
	s->state = ST_S_IDENT_PENDING;
	ev->type = OSTP_EV_CLIENT_KEY;
	ev->client_pk = sv->client_pk;
	return OSTP_OK;
}

int ostp_server_identity_reply(ostp_session *s, bool ok)
{
	if (s->role != OSTP_ROLE_SERVER || s->state != ST_S_IDENT_PENDING)
		return OSTP_E_STATE;
	if (!ok) {
		/* held input (a SAP with a password, say) is never read */
		ostp_close(s, OSTP_CLOSE_NOT_MEMBER);
		return OSTP_E_IDENTITY;
	}
	s->state = s->options & OSTP_OPT_U ? ST_S_WAIT_SAP : ST_S_WAIT_PAP;
	return OSTP_OK;
}

int ostp_server_auth_busy(ostp_session *s)
{
	int err;

	if (s->role != OSTP_ROLE_SERVER || s->state != ST_S_AUTH_PENDING)
		return OSTP_E_STATE;
	sodium_memzero(s->u.s.sap.pass, sizeof(s->u.s.sap.pass));
	/* Nothing was decided about the password, so auth_attempts stays as
	 * it is: a busy server must never look like a wrong password. */
	err = send_sap_reply(s, OSTP_AUTH_BUSY);
	ostp_close(s, OSTP_CLOSE_RESOURCE);
	return err;
}

static int on_sap(ostp_session *s, const uint8_t *p, size_t len, struct ostp_event *ev)
{
	struct ostp_sap *sap = &s->u.s.sap;
	int err;

	/* code is checked right after the fixed part, before the lengths */
	if (len < OSTP_SAP_FIXED_LEN)
		return ostp_fail(s, OSTP_E_LEN, ev);
	if (p[0] != 0)
		return ostp_fail(s, OSTP_E_RESERVED, ev);
	err = ostp_sap_decode(sap, p, len);
	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	s->state = ST_S_AUTH_PENDING;
	ev->type = OSTP_EV_AUTH_REQUEST;
	ev->username = sap->user;
	ev->password = sap->pass;
	ev->password_len = sap->pass_len;
	return OSTP_OK;
}

int ostp_server_set_peers(ostp_session *s, const struct ostp_peer *peers, size_t n)
{
	struct ostp_peer *copy = NULL;

	if (s->role != OSTP_ROLE_SERVER || n > OSTP_PEERS_MAX)
		return OSTP_E_INVAL;
	/* blocks already sent were numbered from the old list */
	if (s->u.s.next_seq)
		return OSTP_E_STATE;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return OSTP_E_NOMEM;
		memcpy(copy, peers, n * sizeof(*copy));
	}
	ostp_server_free_part(s);
	s->u.s.peers = copy;
	s->u.s.npeers = n;
	return OSTP_OK;
}

int ostp_server_lend_peers(ostp_session *s, const struct ostp_peer *peers, size_t n,
			   void (*release)(void *ctx), void *ctx)
{
	if (s->role != OSTP_ROLE_SERVER || n > OSTP_PEERS_MAX || !release)
		return OSTP_E_INVAL;
	if (s->u.s.next_seq)
		return OSTP_E_STATE;
	ostp_server_free_part(s);
	s->u.s.peers = peers;
	s->u.s.npeers = n;
	s->u.s.release = release;
	s->u.s.release_ctx = ctx;
	return OSTP_OK;
}

int ostp_server_set_config(ostp_session *s, const struct ostp_config *c)
{
	if (s->role != OSTP_ROLE_SERVER || c->n_addr > OSTP_CONFIG_ADDR_MAX)
		return OSTP_E_INVAL;
	s->u.s.config = *c;
	s->u.s.have_config = true;
	return OSTP_OK;
}

void ostp_server_set_resource_ok(ostp_session *s, bool ok)
{
	if (s->role == OSTP_ROLE_SERVER)
		s->u.s.resource_ok = ok;
}

static int send_block(ostp_session *s, uint8_t seq)
{
	struct ostp_server_part *sv = &s->u.s;
	uint8_t buf[OSTP_PEER_BLOCK_LEN];
	size_t n = sv->npeers - sv->peers_sent;
	int err;

	if (n > OSTP_PB_N_PEERS)
		n = OSTP_PB_N_PEERS;
	err = ostp_peer_block_encode(buf, sizeof(buf), sv->peers + sv->peers_sent, n, seq);
	if (err)
		return err;
	sv->peers_sent += n;
	sv->next_seq = seq > 1 ? seq : 0;
	if (seq == 1)
		ostp_server_free_part(s);
	return ostp_queue_msg(s, OSTP_MSG_PEER_BLOCK, buf, sizeof(buf));
}

static int after_established(ostp_session *s)
{
	struct ostp_server_part *sv = &s->u.s;
	int err;

	/* Agreed CONFIG means exactly one CONFIG, empty when there is nothing
	 * to push, so the client knows its configuration is complete. */
	if (s->spw & OSTP_SPW_CONFIG) {
		static const struct ostp_config none;
		uint8_t buf[OSTP_CONFIG_MAX_LEN];
		size_t n;

		err = ostp_config_encode(buf, sizeof(buf), &n,
					 sv->have_config ? &sv->config : &none);
		if (!err)
			err = ostp_queue_msg(s, OSTP_MSG_CONFIG, buf, n);
		if (err)
			return err;
	}
	if (s->options & OSTP_OPT_P) {
		size_t nblocks = sv->npeers ? (sv->npeers + OSTP_PB_N_PEERS - 1) / OSTP_PB_N_PEERS : 1;

		sv->peers_sent = 0;
		return send_block(s, (uint8_t)nblocks);
	}
	return OSTP_OK;
}

static int reply_pap(ostp_session *s, uint16_t spw, uint8_t code)
{
	struct ostp_pap pap = { .spw = spw, .code = code };
	uint8_t buf[OSTP_PAP_LEN];

	ostp_pap_encode(buf, sizeof(buf), &pap);
	return ostp_queue_msg(s, OSTP_MSG_PAP, buf, sizeof(buf));
}

static int on_pap(ostp_session *s, const uint8_t *p, size_t len, struct ostp_event *ev)
{
	struct ostp_server_part *sv = &s->u.s;
	struct ostp_pap pap;
	uint16_t req, agreed;
	int err = ostp_pap_decode(&pap, p, len);

	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	if (pap.code != OSTP_PAP_SUCCESS)
		return ostp_fail(s, OSTP_E_RESERVED, ev);
	if (++s->pap_rounds > s->max_pap_rounds)
		return ostp_fail(s, OSTP_E_SPW, ev);
	req = pap.spw & (uint16_t)~OSTP_SPW_QUICK;
	if (pap.spw & OSTP_SPW_QUICK) {
		agreed = sv->spw_default & sv->spw_supported & sv->spw_permitted;
		err = reply_pap(s, agreed, OSTP_PAP_SUCCESS);
	} else if (req & ~sv->spw_supported) {
		return (err = reply_pap(s, req & sv->spw_supported, OSTP_PAP_BAD_SPW))
			? ostp_fail(s, err, ev) : OSTP_OK;
	} else if (req & ~sv->spw_permitted) {
		return (err = reply_pap(s, req & sv->spw_permitted, OSTP_PAP_BAD_PERMS))
			? ostp_fail(s, err, ev) : OSTP_OK;
	} else if (!sv->resource_ok) {
		return (err = reply_pap(s, req, OSTP_PAP_RESOURCE))
			? ostp_fail(s, err, ev) : OSTP_OK;
	} else {
		agreed = req;
		err = reply_pap(s, agreed, OSTP_PAP_SUCCESS);
	}
	if (err)
		return ostp_fail(s, err, ev);
	ostp_established(s, agreed, ev);
	err = after_established(s);
	return err ? ostp_fail(s, err, ev) : OSTP_OK;
}

static int on_mgmt(ostp_session *s, const uint8_t *p, size_t len, struct ostp_event *ev)
{
	struct ostp_server_part *sv = &s->u.s;
	struct ostp_mgmt m;
	int err;

	/* a sub-state check, so it runs before the body checks (check 14) */
	if (sv->next_seq == 0)
		return ostp_fail(s, OSTP_E_STATE, ev);
	err = ostp_mgmt_decode(&m, p, len);
	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	if (m.word != sv->next_seq)
		return ostp_fail(s, OSTP_E_SEQ, ev);
	if (m.type == OSTP_MFRAME_TRUNC) {
		sv->next_seq = 0;
		ostp_server_free_part(s);
		return OSTP_OK;
	}
	err = send_block(s, (uint8_t)(sv->next_seq - 1));
	return err ? ostp_fail(s, err, ev) : OSTP_OK;
}

int ostp_server_on_msg(ostp_session *s, uint8_t type, const uint8_t *p, size_t len,
		       struct ostp_event *ev)
{
	switch (s->state) {
	case ST_S_WAIT_CAUTH:
		if (type == OSTP_MSG_CLIENT_AUTH)
			return on_client_auth(s, p, len, ev);
		break;
	case ST_S_WAIT_SAP:
		if (type == OSTP_MSG_SAP)
			return on_sap(s, p, len, ev);
		break;
	case ST_S_WAIT_PAP:
		if (type == OSTP_MSG_PAP)
			return on_pap(s, p, len, ev);
		break;
	case ST_ESTABLISHED:
		if (type == OSTP_MSG_MGMT)
			return on_mgmt(s, p, len, ev);
		/* MESH agreed and a key proven to speak for */
		if (type == OSTP_MSG_MEMBER && (s->spw & OSTP_SPW_MESH) && s->u.s.client_proven)
			return ostp_member_on_msg(s, p, len, ev);
		break;
	default:
		break;
	}
	return ostp_fail(s, OSTP_E_STATE, ev);
}
