/* SPDX-License-Identifier: ISC */
#include <sodium.h>
#include <string.h>

#include "handshake.h"
#include "wire.h"

static const char th_label[] = "OSTP/1";
static const char c2s_label[] = "OSTP/1 c2s";
static const char s2c_label[] = "OSTP/1 s2c";
static const char auth_label[] = "OSTP/1 server auth";
static const char cauth_label[] = "OSTP/1 client auth";

#define LABEL_LEN(l) (sizeof(l) - 1u)

void ostp_transcript_hash(uint8_t th[OSTP_TH_LEN], const uint8_t *sr, size_t sr_len,
			  const uint8_t *sh, size_t sh_len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, OSTP_TH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)th_label, LABEL_LEN(th_label));
	crypto_generichash_update(&st, sr, sr_len);
	crypto_generichash_update(&st, sh, sh_len);
	crypto_generichash_final(&st, th, OSTP_TH_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* A keyed BLAKE2b of label || TH: the crypto_kx output alone would not
 * cover the options byte or the padding. */
static void bind_key(uint8_t out[32], const uint8_t kx_key[32], const char *label,
		     size_t label_len, const uint8_t th[OSTP_TH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, kx_key, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, label_len);
	crypto_generichash_update(&st, th, OSTP_TH_LEN);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof(st));
}

int ostp_derive_keys(struct ostp_keys *k, enum ostp_role role,
		     const uint8_t my_pk[32], const uint8_t my_sk[32],
		     const uint8_t peer_pk[32], const uint8_t th[OSTP_TH_LEN])
{
	uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
	int rc;

	if (role == OSTP_ROLE_CLIENT)
		rc = crypto_kx_client_session_keys(rx, tx, my_pk, my_sk, peer_pk);
	else
		rc = crypto_kx_server_session_keys(rx, tx, my_pk, my_sk, peer_pk);
	if (rc != 0) {
		sodium_memzero(rx, sizeof(rx));
		sodium_memzero(tx, sizeof(tx));
		return OSTP_E_CRYPTO;
	}
	/* client: rx = s2c, tx = c2s; server: rx = c2s, tx = s2c */
	const uint8_t *kx_c2s = role == OSTP_ROLE_CLIENT ? tx : rx;
	const uint8_t *kx_s2c = role == OSTP_ROLE_CLIENT ? rx : tx;
	bind_key(k->c2s, kx_c2s, c2s_label, LABEL_LEN(c2s_label), th);
	bind_key(k->s2c, kx_s2c, s2c_label, LABEL_LEN(s2c_label), th);
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	return OSTP_OK;
}

static void auth_message(uint8_t msg[LABEL_LEN(auth_label) + OSTP_TH_LEN],
			 const uint8_t th[OSTP_TH_LEN])
{
	memcpy(msg, auth_label, LABEL_LEN(auth_label));
	memcpy(msg + LABEL_LEN(auth_label), th, OSTP_TH_LEN);
}

void ostp_server_auth_make(uint8_t out[96], const uint8_t th[OSTP_TH_LEN],
			   const uint8_t id_sk[64])
{
	uint8_t msg[LABEL_LEN(auth_label) + OSTP_TH_LEN];

	auth_message(msg, th);
	crypto_sign_ed25519_sk_to_pk(out, id_sk);
	crypto_sign_ed25519_detached(out + OSTP_ID_PK_LEN, NULL, msg, sizeof(msg), id_sk);
}

int ostp_server_auth_check(const uint8_t *in, size_t len, const uint8_t th[OSTP_TH_LEN],
			   const uint8_t *pinned)
{
	uint8_t msg[LABEL_LEN(auth_label) + OSTP_TH_LEN];

	if (len != OSTP_SERVER_AUTH_LEN)
		return len < OSTP_SERVER_AUTH_LEN ? OSTP_E_SHORT : OSTP_E_LONG;
	if (pinned && sodium_memcmp(in, pinned, OSTP_ID_PK_LEN) != 0)
		return OSTP_E_KEY_MISMATCH;
	auth_message(msg, th);
	if (crypto_sign_ed25519_verify_detached(in + OSTP_ID_PK_LEN, msg, sizeof(msg), in) != 0)
		return OSTP_E_SIG;
	return OSTP_OK;
}

_Static_assert(sizeof(cauth_label) - 1u + OSTP_TH_LEN + 64u == OSTP_CLIENT_AUTH_MSG_LEN,
	       "client auth message is label || TH || id_pk_s || id_pk_c");

void ostp_client_auth_message(uint8_t msg[OSTP_CLIENT_AUTH_MSG_LEN],
			      const uint8_t th[OSTP_TH_LEN], const uint8_t server_pk[32],
			      const uint8_t client_pk[32])
{
	uint8_t *p = msg;

	memcpy(p, cauth_label, LABEL_LEN(cauth_label));
	p += LABEL_LEN(cauth_label);
	memcpy(p, th, OSTP_TH_LEN);
	p += OSTP_TH_LEN;
	memcpy(p, server_pk, OSTP_ID_PK_LEN);
	memcpy(p + OSTP_ID_PK_LEN, client_pk, OSTP_ID_PK_LEN);
}

void ostp_client_auth_make(uint8_t out[96], const uint8_t th[OSTP_TH_LEN],
			   const uint8_t server_pk[32], const uint8_t id_sk[64])
{
	uint8_t msg[OSTP_CLIENT_AUTH_MSG_LEN];

	crypto_sign_ed25519_sk_to_pk(out, id_sk);
	ostp_client_auth_message(msg, th, server_pk, out);
	crypto_sign_ed25519_detached(out + OSTP_ID_PK_LEN, NULL, msg, sizeof(msg), id_sk);
}

int ostp_client_auth_check(const uint8_t *in, size_t len, const uint8_t th[OSTP_TH_LEN],
			   const uint8_t server_pk[32])
{
	uint8_t msg[OSTP_CLIENT_AUTH_MSG_LEN];

	if (len != OSTP_CLIENT_AUTH_LEN)
		return len < OSTP_CLIENT_AUTH_LEN ? OSTP_E_SHORT : OSTP_E_LONG;
	ostp_client_auth_message(msg, th, server_pk, in);
	/* the same call, so the same rules, as SERVER_AUTH (3.5) */
	if (crypto_sign_ed25519_verify_detached(in + OSTP_ID_PK_LEN, msg, sizeof(msg), in) != 0)
		return OSTP_E_SIG;
	return OSTP_OK;
}

int ostp_identity_generate(uint8_t pk[32], uint8_t sk[64])
{
	return crypto_sign_ed25519_keypair(pk, sk) == 0 ? OSTP_OK : OSTP_E_CRYPTO;
}

int ostp_identity_from_seed(uint8_t pk[32], uint8_t sk[64], const uint8_t seed[32])
{
	return crypto_sign_ed25519_seed_keypair(pk, sk, seed) == 0 ? OSTP_OK : OSTP_E_CRYPTO;
}
