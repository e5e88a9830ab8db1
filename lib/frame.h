/* SPDX-License-Identifier: ISC */
/*
 * One direction of an OSTP message-frame channel: AES-256-GCM (lib/aead.h,
 * the engine chosen at build time) with its key prepared once per key, and
 * a frame counter that is the nonce.  The counter is never random and never
 * reused: it only moves forward, and a rekey replaces the key before it
 * starts again from zero.
 */
#ifndef OSTP_FRAME_H
#define OSTP_FRAME_H

#include <stdint.h>

#include "aead.h"
#include "wire.h"

/* Zero it (or wipe it) before its first ostp_dir_init(); copy it only with
 * ostp_dir_copy(): the engine may own memory that a struct copy would share. */
struct ostp_dir {
	struct ostp_aead aead;
	uint8_t key[32];
	uint64_t counter;     /* next frame's counter */
	uint64_t since_rekey; /* frames sealed or opened under this key */
};

struct ostp_frame_hdr {
	uint8_t type;
	uint8_t flags;
	uint16_t len;
};

/* Install key with the counter at 0; a dir that already had a key keeps its
 * engine state.  OSTP_E_NOMEM or OSTP_E_CRYPTO leave d wiped. */
int ostp_dir_init(struct ostp_dir *d, const uint8_t key[32]);
/* K' = BLAKE2b-256(key = K, "OSTP/1 rekey"); the counter restarts at 0.
 * Fails (d wiped) only as ostp_dir_init does. */
int ostp_dir_rekey(struct ostp_dir *d);
/* dst gets src's key and counters and engine state of its own.  Whatever
 * dst held is overwritten, not freed: it must not hold a key. */
int ostp_dir_copy(struct ostp_dir *dst, const struct ostp_dir *src);
void ostp_dir_wipe(struct ostp_dir *d);

/* Encrypt len bytes from pt into ct (ct == pt is allowed: in place) and
 * write the 34-byte header.  Advances the counter, only on success. */
int ostp_frame_seal(struct ostp_dir *d, uint8_t hdr[OSTP_FRAME_HDR_LEN],
		    uint8_t type, uint8_t flags, const uint8_t *pt, size_t len,
		    uint8_t *ct);

/* Validate a received header against the expected counter, before any
 * decryption: reserved bits, len bound, replayed or skipped counter. */
int ostp_frame_parse_hdr(const struct ostp_dir *d, const uint8_t *hdr,
			 struct ostp_frame_hdr *out);

/* Authenticate and decrypt a frame whose header passed parse_hdr.  pt may
 * equal ct.  Advances the counter only on success; on OSTP_E_TAG pt is
 * zeroed. */
int ostp_frame_open(struct ostp_dir *d, const uint8_t *hdr, const uint8_t *ct,
		    size_t len, uint8_t *pt);

#endif
