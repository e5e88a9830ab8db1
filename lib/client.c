/* SPDX-License-Identifier: ISC */
/* The client side of the OSTP handshake and of an established session. */
#include <string.h>

#include "session.h"

static int send_pap(ostp_session *s, uint16_t spw)
{
	struct ostp_pap pap = { .spw = spw, .code = OSTP_PAP_SUCCESS };
	uint8_t buf[OSTP_PAP_LEN];

	ostp_pap_encode(buf, sizeof(buf), &pap);
	s->u.c.spw_last = spw;
	return ostp_queue_msg(s, OSTP_MSG_PAP, buf, sizeof(buf));
}

static int send_mgmt(ostp_session *s, uint8_t type, uint16_t word)
{
	struct ostp_mgmt m = { .type = type, .word = word };
	uint8_t buf[OSTP_MGMT_LEN];

	ostp_mgmt_encode(buf, sizeof(buf), &m);
	return ostp_queue_msg(s, OSTP_MSG_MGMT, buf, sizeof(buf));
}

static int client_check_config(const struct ostp_client_config *cfg)
{
	if (cfg->options & OSTP_OPT_RESERVED)
		return OSTP_E_RESERVED;
	/* I promises a CLIENT_AUTH, which needs the key */
	if ((cfg->options & OSTP_OPT_I) && !cfg->identity_sk)
		return OSTP_E_INVAL;
	if (cfg->pad_len && (cfg->pad_len < OSTP_PAD_MIN || cfg->pad_len > OSTP_PAD_MAX))
		return OSTP_E_PAD;
	if (!(cfg->options & OSTP_OPT_U))
		return OSTP_OK;
	if (!cfg->username || !ostp_username_valid(cfg->username, strlen(cfg->username)))
		return OSTP_E_USER;
	if (!cfg->password || strlen(cfg->password) > OSTP_PASS_MAX)
		return OSTP_E_PASS;
	return OSTP_OK;
}

static int send_session_request(ostp_session *s, uint8_t options, uint8_t pad_len)
{
	uint8_t seed[32], pad[OSTP_PAD_MAX];
	struct ostp_sr sr = { .options = options };
	int err;

	ostp_rng_fill(s, seed, sizeof(seed));
	crypto_kx_seed_keypair(s->eph_pk, s->eph_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	if (!pad_len) {
		uint8_t r;

		ostp_rng_fill(s, &r, 1);
		pad_len = (uint8_t)(OSTP_PAD_MIN + r % (OSTP_PAD_MAX - OSTP_PAD_MIN + 1));
	}
	ostp_rng_fill(s, pad, pad_len - 1u);
	memcpy(sr.pubkey, s->eph_pk, sizeof(sr.pubkey));
	sr.pad_len = pad_len;
	err = ostp_sr_encode(s->hs, sizeof(s->hs), &s->sr_len, &sr, pad);
	if (err)
		return err;
	s->hs_len = s->sr_len;
	return ostp_queue_raw(s, s->hs, s->sr_len);
}

int ostp_client_new(ostp_session **out, const struct ostp_client_config *cfg,
		    const struct ostp_rng *rng, uint64_t now_ms)
{
	ostp_session *s;
	int err;

	*out = NULL;
	if (!cfg)
		return OSTP_E_INVAL;
	err = client_check_config(cfg);
	if (err)
		return err;
	s = ostp_session_alloc(OSTP_ROLE_CLIENT, rng, &cfg->timing, cfg->outq_max, now_ms);
	if (!s)
		return OSTP_E_NOMEM;
	s->state = ST_C_WAIT_SH;
	s->options = cfg->options | (cfg->identity_sk ? OSTP_OPT_I : 0);
	if (cfg->identity_sk) {
		s->u.c.identity_sk = cfg->identity_sk;
		crypto_sign_ed25519_sk_to_pk(s->u.c.identity_pk, cfg->identity_sk);
	}
	if (cfg->options & OSTP_OPT_U) {
		snprintf(s->user, sizeof(s->user), "%s", cfg->username);
		s->u.c.password_len = strlen(cfg->password);
		memcpy(s->u.c.password, cfg->password, s->u.c.password_len);
	}
	s->u.c.spw_req = cfg->spw & (uint16_t)~OSTP_SPW_QUICK;
	s->u.c.quick = (cfg->spw & OSTP_SPW_QUICK) != 0;
	s->u.c.tofu = cfg->tofu;
	memcpy(s->u.c.server_pk, cfg->server_pk, OSTP_ID_PK_LEN);
	s->u.c.max_peer_blocks = cfg->max_peer_blocks;
	s->keylog = cfg->keylog;
	err = send_session_request(s, s->options, cfg->pad_len);
	if (err) {
		ostp_session_free(s);
		return err;
	}
	*out = s;
	return OSTP_OK;
}

int ostp_client_on_sh(ostp_session *s, struct ostp_event *ev)
{
	struct ostp_keys k;
	int err;

	ostp_transcript_hash(s->th, s->hs, s->sr_len, s->hs + s->sr_len, OSTP_SH_LEN);
	err = ostp_derive_keys(&k, OSTP_ROLE_CLIENT, s->eph_pk, s->eph_sk,
			       s->hs + s->sr_len, s->th);
	sodium_memzero(s->eph_sk, sizeof(s->eph_sk));
	if (err)
		return ostp_fail(s, err, ev);
	err = ostp_set_keys(s, &k);
	sodium_memzero(&k, sizeof(k));
	if (err)
		return ostp_fail(s, err, ev);
	s->state = ST_C_WAIT_SAUTH;
	return OSTP_OK;
}

static int on_server_auth(ostp_session *s, const uint8_t *p, size_t len,
			  struct ostp_event *ev)
{
	int err = ostp_server_auth_check(p, len, s->th, s->u.c.tofu ? NULL : s->u.c.server_pk);

	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	memcpy(s->u.c.server_pk, p, OSTP_ID_PK_LEN);
	s->u.c.server_verified = true;
	/* CLIENT_AUTH still has to sign TH */
	if (!(s->options & OSTP_OPT_I))
		ostp_wipe_handshake(s);
	ev->server_pk = s->u.c.server_pk;
	if (s->u.c.tofu) {
		/* The application sees the key before anything secret leaves:
		 * credentials go out on its next call, unless it closed. */
		ev->type = OSTP_EV_SERVER_KEY;
		s->pending.type = OSTP_EV_HANDSHAKE;
		s->pending.server_pk = s->u.c.server_pk;
		s->u.c.deferred = true;
		return OSTP_OK;
	}
	ev->type = OSTP_EV_HANDSHAKE;
	err = ostp_client_send_credentials(s);
	return err ? ostp_fail(s, err, ev) : OSTP_OK;
}

int ostp_client_send_credentials(ostp_session *s)
{
	int err;

	s->u.c.deferred = false;
	/* Credentials go out only now, to a server that proved its key; the
	 * identity first, so the server can refuse a non-member before it
	 * spends a password check (the SAP or PAP behind it is held). */
	if (s->options & OSTP_OPT_I) {
		uint8_t buf[OSTP_CLIENT_AUTH_LEN];

		ostp_client_auth_make(buf, s->th, s->u.c.server_pk, s->u.c.identity_sk);
		ostp_wipe_handshake(s);
		err = ostp_queue_msg(s, OSTP_MSG_CLIENT_AUTH, buf, sizeof(buf));
		if (err)
			return err;
	}
	if (s->options & OSTP_OPT_U) {
		uint8_t buf[OSTP_SAP_MAX_LEN];
		size_t n;

		err = ostp_sap_encode(buf, sizeof(buf), &n, 0, s->user, strlen(s->user),
				      s->u.c.password, s->u.c.password_len);
		if (!err)
			err = ostp_queue_msg(s, OSTP_MSG_SAP, buf, n);
		sodium_memzero(buf, sizeof(buf));
		sodium_memzero(s->u.c.password, sizeof(s->u.c.password));
		s->state = ST_C_WAIT_SAP;
	} else {
		err = send_pap(s, s->u.c.spw_req | (s->u.c.quick ? OSTP_SPW_QUICK : 0));
		s->state = ST_C_WAIT_PAP;
	}
	return err;
}

static int on_sap(ostp_session *s, const uint8_t *p, size_t len, struct ostp_event *ev)
{
	struct ostp_sap sap;
	int err;

	if (len < OSTP_SAP_FIXED_LEN)
		return ostp_fail(s, OSTP_E_LEN, ev);
	if (p[0] > OSTP_AUTH_BUSY)
		return ostp_fail(s, OSTP_E_TYPE, ev);
	err = ostp_sap_decode(&sap, p, len);
	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	if (sap.pass_len != 0)
		return ostp_fail(s, OSTP_E_LEN, ev);
	if (strcmp(sap.user, s->user) != 0)
		return ostp_fail(s, OSTP_E_USER, ev);
	if (sap.code == OSTP_AUTH_BAD_PW || sap.code == OSTP_AUTH_BUSY) {
		/* BUSY says nothing about the password: the application
		 * retries later instead of asking for another one. */
		err = ostp_fail(s, sap.code == OSTP_AUTH_BUSY ? OSTP_E_AUTH_BUSY : OSTP_E_AUTH, ev);
		ev->code = sap.code;
		return err;
	}
	ev->type = OSTP_EV_AUTH_RESULT;
	ev->code = sap.code;
	err = send_pap(s, s->u.c.spw_req | (s->u.c.quick ? OSTP_SPW_QUICK : 0));
	if (err)
		return ostp_fail(s, err, ev);
	s->state = ST_C_WAIT_PAP;
	return OSTP_OK;
}

static int on_pap(ostp_session *s, const uint8_t *p, size_t len, struct ostp_event *ev)
{
	struct ostp_pap pap;
	int err = ostp_pap_decode(&pap, p, len);

	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	switch (pap.code) {
	case OSTP_PAP_SUCCESS:
		/* The server may grant less than asked, never more. */
		if (s->u.c.quick && (pap.spw & ~OSTP_SPW_DEFINED))
			return ostp_fail(s, OSTP_E_RESERVED, ev);
		if (!s->u.c.quick && pap.spw != s->u.c.spw_last)
			return ostp_fail(s, OSTP_E_SPW, ev);
		ostp_established(s, pap.spw, ev);
		s->u.c.config_due = (pap.spw & OSTP_SPW_CONFIG) != 0;
		return OSTP_OK;
	case OSTP_PAP_BAD_SPW:
	case OSTP_PAP_BAD_PERMS:
		/* never ask for more than last time; a quick request has
		 * nothing to arbitrate */
		if (s->u.c.quick || (pap.spw & ~s->u.c.spw_last) ||
		    ++s->pap_rounds >= s->max_pap_rounds)
			return ostp_fail(s, OSTP_E_SPW, ev);
		err = send_pap(s, pap.spw);
		return err ? ostp_fail(s, err, ev) : OSTP_OK;
	default:
		return ostp_fail(s, OSTP_E_RESOURCE, ev);
	}
}

static int on_config(ostp_session *s, const uint8_t *p, size_t len, struct ostp_event *ev)
{
	int err;

	if (!(s->spw & OSTP_SPW_CONFIG) || s->u.c.config_seen)
		return ostp_fail(s, OSTP_E_STATE, ev);
	/* every malformed CONFIG, a short one too, is OSTP_E_CONFIG */
	err = ostp_config_decode(&s->u.c.config, p, len);
	if (err)
		return ostp_fail(s, err == OSTP_E_SHORT ? OSTP_E_CONFIG : err, ev);
	s->u.c.config_seen = true;
	s->u.c.config_due = false;
	ev->type = OSTP_EV_CONFIG;
	ev->config = &s->u.c.config;
	return OSTP_OK;
}

static int on_peer_block(ostp_session *s, const uint8_t *p, size_t len,
			 struct ostp_event *ev)
{
	struct ostp_client_part *c = &s->u.c;
	size_t n;
	uint8_t seq;
	int err;

	if (!(s->options & OSTP_OPT_P) || c->peers_done)
		return ostp_fail(s, OSTP_E_STATE, ev);
	err = ostp_peer_block_decode(c->peers, &n, &seq, p, len);
	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	if (c->last_seq && seq != c->last_seq - 1)
		return ostp_fail(s, OSTP_E_SEQ, ev);
	c->last_seq = seq;
	c->blocks_read++;
	ev->type = OSTP_EV_PEER_BLOCK;
	ev->peers = c->peers;
	ev->npeers = n;
	ev->seq = seq;
	if (seq == 1) {
		c->peers_done = true;
		return OSTP_OK;
	}
	if (c->max_peer_blocks && c->blocks_read >= c->max_peer_blocks) {
		c->peers_done = true;
		err = send_mgmt(s, OSTP_MFRAME_TRUNC, seq);
	} else {
		err = send_mgmt(s, OSTP_MFRAME_ACK, seq);
	}
	return err ? ostp_fail(s, err, ev) : OSTP_OK;
}

int ostp_client_on_msg(ostp_session *s, uint8_t type, const uint8_t *p, size_t len,
		       struct ostp_event *ev)
{
	switch (s->state) {
	case ST_C_WAIT_SAUTH:
		if (type == OSTP_MSG_SERVER_AUTH)
			return on_server_auth(s, p, len, ev);
		break;
	case ST_C_WAIT_SAP:
		if (type == OSTP_MSG_SAP)
			return on_sap(s, p, len, ev);
		break;
	case ST_C_WAIT_PAP:
		if (type == OSTP_MSG_PAP)
			return on_pap(s, p, len, ev);
		break;
	case ST_ESTABLISHED:
		if (type == OSTP_MSG_CONFIG)
			return on_config(s, p, len, ev);
		if (type == OSTP_MSG_PEER_BLOCK)
			return on_peer_block(s, p, len, ev);
		if (type == OSTP_MSG_MEMBER && (s->spw & OSTP_SPW_MESH))
			return ostp_member_on_msg(s, p, len, ev);
		break;
	default:
		break;
	}
	return ostp_fail(s, OSTP_E_STATE, ev);
}
