/* SPDX-License-Identifier: ISC */
/* Key schedule and server authentication of the OSTP/1 handshake. */
#ifndef OSTP_HANDSHAKE_H
#define OSTP_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "ostp.h"

#define OSTP_TH_LEN 32u

struct ostp_keys {
	uint8_t c2s[32];
	uint8_t s2c[32];
};

/* TH = BLAKE2b-256("OSTP/1" || session request || server reply) */
void ostp_transcript_hash(uint8_t th[OSTP_TH_LEN], const uint8_t *sr, size_t sr_len,
			  const uint8_t *sh, size_t sh_len);

/* Directional keys from the ephemeral pair, bound to the transcript.
 * OSTP_E_CRYPTO when the peer's key is a low-order point. */
int ostp_derive_keys(struct ostp_keys *k, enum ostp_role role,
		     const uint8_t my_pk[32], const uint8_t my_sk[32],
		     const uint8_t peer_pk[32], const uint8_t th[OSTP_TH_LEN]);

/* SERVER_AUTH payload: id_pk | Ed25519(id_sk, "OSTP/1 server auth" || TH) */
void ostp_server_auth_make(uint8_t out[96], const uint8_t th[OSTP_TH_LEN],
			   const uint8_t id_sk[64]);
/* pinned == NULL: any key (trust on first use). */
int ostp_server_auth_check(const uint8_t *in, size_t len, const uint8_t th[OSTP_TH_LEN],
			   const uint8_t *pinned);

/* CLIENT_AUTH payload: id_pk_c | Ed25519(id_sk_c, "OSTP/1 client auth" ||
 * TH || id_pk_s || id_pk_c), id_pk_s being the server key the client
 * verified (docs/PROTOCOL.md 3.8). */
#define OSTP_CLIENT_AUTH_MSG_LEN (18u + OSTP_TH_LEN + 32u + 32u)
void ostp_client_auth_message(uint8_t msg[OSTP_CLIENT_AUTH_MSG_LEN],
			      const uint8_t th[OSTP_TH_LEN], const uint8_t server_pk[32],
			      const uint8_t client_pk[32]);
void ostp_client_auth_make(uint8_t out[96], const uint8_t th[OSTP_TH_LEN],
			   const uint8_t server_pk[32], const uint8_t id_sk[64]);
/* OSTP_E_SHORT / OSTP_E_LONG for a body that is not 96 bytes, OSTP_E_SIG
 * when the signature fails the rules of 3.5. */
int ostp_client_auth_check(const uint8_t *in, size_t len, const uint8_t th[OSTP_TH_LEN],
			   const uint8_t server_pk[32]);

#endif
