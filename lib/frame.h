/* SPDX-License-Identifier: ISC */
/*
 * One direction of an OSTP message-frame channel: AES-256-GCM with a
 * precomputed key schedule and a frame counter that is the nonce.  The
 * counter is never random and never reused: it only moves forward, and a
 * rekey replaces the key before it starts again from zero.
 */
#ifndef OSTP_FRAME_H
#define OSTP_FRAME_H

#include <sodium.h>
#include <stdint.h>

#include "wire.h"

struct ostp_dir {
	crypto_aead_aes256gcm_state gcm;
	uint8_t key[32];
	uint64_t counter;     /* next frame's counter */
	uint64_t since_rekey; /* frames sealed or opened under this key */
};

struct ostp_frame_hdr {
	uint8_t type;
	uint8_t flags;
	uint16_t len;
};

void ostp_dir_init(struct ostp_dir *d, const uint8_t key[32]);
/* K' = BLAKE2b-256(key = K, "OSTP/1 rekey"); the counter restarts at 0. */
void ostp_dir_rekey(struct ostp_dir *d);
void ostp_dir_wipe(struct ostp_dir *d);

/* Encrypt len bytes from pt into ct (ct == pt is allowed: in place) and
 * write the 34-byte header.  Advances the counter. */
int ostp_frame_seal(struct ostp_dir *d, uint8_t hdr[OSTP_FRAME_HDR_LEN],
		    uint8_t type, uint8_t flags, const uint8_t *pt, size_t len,
		    uint8_t *ct);

/* Validate a received header against the expected counter, before any
 * decryption: reserved bits, len bound, replayed or skipped counter. */
int ostp_frame_parse_hdr(const struct ostp_dir *d, const uint8_t *hdr,
			 struct ostp_frame_hdr *out);

/* Authenticate and decrypt a frame whose header passed parse_hdr.  pt may
 * equal ct.  Advances the counter only on success. */
int ostp_frame_open(struct ostp_dir *d, const uint8_t *hdr, const uint8_t *ct,
		    size_t len, uint8_t *pt);

#endif
