/* SPDX-License-Identifier: ISC */
/*
 * AES-256-GCM for message frames, behind one small interface with two
 * engines chosen when ostp is built: lib/aead_openssl.c (OpenSSL's
 * libcrypto, `make AEAD=openssl`, the default) or lib/aead_sodium.c
 * (libsodium, `make AEAD=sodium`).  Exactly one of them is linked.  Only
 * frames are sealed and opened here: key exchange, signatures, hashing,
 * password hashing and randomness stay with libsodium whatever the engine.
 *
 * A key is prepared once (when the session's keys are installed and at each
 * rekey); a frame then only sets its IV, and nothing is allocated per frame.
 */
#ifndef OSTP_AEAD_H
#define OSTP_AEAD_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define OSTP_AEAD_KEY_LEN 32u
#define OSTP_AEAD_IV_LEN  12u
#define OSTP_AEAD_TAG_LEN 16u

/* One layout for both engines, so an object compiled while the other engine
 * was chosen can never misread it: libsodium keeps its expanded key in place
 * (the state wants 16-byte alignment, which the type carries), OpenSSL a
 * cipher context it allocates at the first init. */
struct ostp_aead {
	union {
		crypto_aead_aes256gcm_state sodium;
		void *openssl;          /* EVP_CIPHER_CTX * */
	} u;
};

/* OSTP_OK when the engine works on this machine; ostp_init() calls it.
 * libsodium: OSTP_E_NOAES without AES-NI and PCLMUL.  OpenSSL: OSTP_E_CRYPTO
 * when AES-256-GCM cannot be fetched (a broken or restricted
 * configuration); it also makes OpenSSL load its configuration now rather
 * than during the first handshake. */
int ostp_aead_check(void);

/* Install key.  a must be zeroed (or wiped) before its first init; a later
 * init replaces the key and keeps what the first one allocated.  On failure
 * (OSTP_E_NOMEM, OSTP_E_CRYPTO) a is wiped. */
int ostp_aead_init(struct ostp_aead *a, const uint8_t key[OSTP_AEAD_KEY_LEN]);

/* ct may equal pt (in place), not overlap it otherwise.  OSTP_E_LEN for a
 * length the engine cannot take, OSTP_E_CRYPTO when the engine fails. */
int ostp_aead_seal(struct ostp_aead *a, const uint8_t iv[OSTP_AEAD_IV_LEN],
		   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		   uint8_t *ct, uint8_t tag[OSTP_AEAD_TAG_LEN]);

/* pt may equal ct.  OSTP_E_TAG when authentication fails; pt is then all
 * zero, so no unauthenticated plaintext is left behind. */
int ostp_aead_open(struct ostp_aead *a, const uint8_t iv[OSTP_AEAD_IV_LEN],
		   const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		   const uint8_t tag[OSTP_AEAD_TAG_LEN], uint8_t *pt);

/* Free and zero everything the key left, in memory the engine owns too. */
void ostp_aead_wipe(struct ostp_aead *a);

#endif
