/* SPDX-License-Identifier: ISC */
/*
 * Every OSTP wire record, its size and its codec.  docs/PROTOCOL.md is the
 * normative text; the numbers here are pinned to it with _Static_assert so a
 * change to either shows up at compile time.
 *
 * All multi-byte integers on the wire are big-endian (network order).
 * Every decoder takes (buffer, length), writes its output only on success and
 * returns 0 or a negative enum ostp_err.
 */
#ifndef OSTP_WIRE_H
#define OSTP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ostp.h"

/* ---- Session Request (client -> server, cleartext) ---------------------- */
/* OSTP_OPT_U, OSTP_OPT_P and OSTP_OPT_I are in ostp.h. */
#define OSTP_OPT_RESERVED   0xf8u

#define OSTP_PUBKEY_LEN     32u
#define OSTP_PAD_MIN        8u
#define OSTP_PAD_MAX        32u
/* options(1) | pubkey(32) | pad(L), pad[0] = L, 8 <= L <= 32 */
#define OSTP_SR_FIXED_LEN   (1u + OSTP_PUBKEY_LEN)
#define OSTP_SR_MIN_LEN     (OSTP_SR_FIXED_LEN + OSTP_PAD_MIN)
#define OSTP_SR_MAX_LEN     (OSTP_SR_FIXED_LEN + OSTP_PAD_MAX)

/* ---- Server reply (server -> client, cleartext): pubkey(32) ------------- */
#define OSTP_SH_LEN         OSTP_PUBKEY_LEN

/* ---- Message frame ------------------------------------------------------- */
#define OSTP_IV_LEN         16u
#define OSTP_TAG_LEN        16u
#define OSTP_FRAME_HDR_LEN  (OSTP_IV_LEN + OSTP_TAG_LEN + 2u)
#define OSTP_FRAME_MAX      (OSTP_FRAME_HDR_LEN + OSTP_FRAME_PAYLOAD_MAX)
#define OSTP_AAD_LEN        (OSTP_IV_LEN + 2u)   /* iv || len */

/* iv[0] = message type, iv[1] = frame flags, iv[2..3] = 0,
 * iv[4..15] = the 96-bit AES-GCM nonce = 0x00000000 || counter (u64 BE). */
#define OSTP_IV_TYPE        0
#define OSTP_IV_FLAGS       1
#define OSTP_IV_NONCE       4
#define OSTP_NONCE_LEN      12u
#define OSTP_FLAG_MORE      0x01u /* another frame of this message follows */
#define OSTP_FLAG_RESERVED  0xfeu

/* OSTP_MSG_MAX and OSTP_FRAME_PAYLOAD_MAX are in ostp.h. */
#define OSTP_CHAIN_FRAMES_MAX \
	((OSTP_MSG_MAX + OSTP_FRAME_PAYLOAD_MAX - 1u) / OSTP_FRAME_PAYLOAD_MAX)

/* Inner message types (enum ostp_msg_type) and OSTP_VNET_HDR_LEN are in
 * ostp.h. */

/* ---- SERVER_AUTH: id_pk(32) | sig(64) ------------------------------------ */
#define OSTP_ID_PK_LEN      32u
#define OSTP_ID_SK_LEN      64u
#define OSTP_SIG_LEN        64u
#define OSTP_SERVER_AUTH_LEN (OSTP_ID_PK_LEN + OSTP_SIG_LEN)

/* ---- CLIENT_AUTH: id_pk_c(32) | sig(64), the same layout ---------------- */
#define OSTP_CLIENT_AUTH_LEN (OSTP_ID_PK_LEN + OSTP_SIG_LEN)

/* ---- SAP: code(1) | ulen(1) | plen(2) | user | pass ---------------------- */
#define OSTP_SAP_FIXED_LEN  4u
/* OSTP_USER_MAX and OSTP_PASS_MAX are in ostp.h. */
#define OSTP_SAP_MAX_LEN    (OSTP_SAP_FIXED_LEN + OSTP_USER_MAX + OSTP_PASS_MAX)
#define OSTP_AUTH_SUCCESS   0x00u
#define OSTP_AUTH_BAD_PW    0x01u
#define OSTP_AUTH_BUSY      0x02u /* login not checked: retry later */

/* ---- PAP: spw(2) | code(1) ------------------------------------------------ */
#define OSTP_PAP_LEN        3u
#define OSTP_PAP_SUCCESS    0x00u
#define OSTP_PAP_BAD_SPW    0x01u
#define OSTP_PAP_BAD_PERMS  0x02u
#define OSTP_PAP_RESOURCE   0x03u

/* ---- MGMT: type(1) | word(2) ---------------------------------------------- */
#define OSTP_MGMT_LEN       3u
#define OSTP_MFRAME_ACK     0x00u
#define OSTP_MFRAME_TRUNC   0x01u

/* ---- Peer and peer block ---------------------------------------------------
 * peer: pad(1) = 0xff | port(2) | host[46] NUL-terminated, zero-filled |
 *       id_pk(32).  An all-zero entry is an empty slot; empty slots only
 *       after the used ones.  block: peer[PB_N_PEERS] | seq(1). */
#define OSTP_PB_N_PEERS     16u
#define OSTP_PEER_PAD       0xffu
#define OSTP_PEER_HOST_LEN  46u
#define OSTP_PEER_LEN       (1u + 2u + OSTP_PEER_HOST_LEN + OSTP_ID_PK_LEN)
#define OSTP_PEER_BLOCK_LEN (OSTP_PB_N_PEERS * OSTP_PEER_LEN + 1u)
#define OSTP_PEER_BLOCKS_MAX 255u

/* ---- CONFIG: mtu(2) | naddr(1) | naddr * (family(1) | plen(1) | addr(16)) */
/* OSTP_CONFIG_ADDR_MAX is in ostp.h. */
#define OSTP_CONFIG_ENTRY_LEN 18u
#define OSTP_CONFIG_MAX_LEN (3u + OSTP_CONFIG_ADDR_MAX * OSTP_CONFIG_ENTRY_LEN)

/* ---- MEMBER --------------------------------------------------------------
 * seq(4) | op(1) | flags(1) | id_pk(32) | port(2) | host[46] | name_len(1) |
 * name(name_len) | nprefix(1) | nprefix * (family(1) | plen(1) | addr(16))
 * ops, flags and OSTP_MEMBER_PREFIX_MAX are in ostp.h. */
#define OSTP_MEMBER_OFF_OP     4u
#define OSTP_MEMBER_OFF_FLAGS  5u
#define OSTP_MEMBER_OFF_ID     6u
#define OSTP_MEMBER_OFF_PORT   (OSTP_MEMBER_OFF_ID + OSTP_ID_PK_LEN)
#define OSTP_MEMBER_OFF_HOST   (OSTP_MEMBER_OFF_PORT + 2u)
#define OSTP_MEMBER_OFF_NLEN   (OSTP_MEMBER_OFF_HOST + OSTP_PEER_HOST_LEN)
/* everything up to and including name_len */
#define OSTP_MEMBER_HEAD_LEN   (OSTP_MEMBER_OFF_NLEN + 1u)
/* the shortest body: no name, no prefix (name_len 0, nprefix 0) */
#define OSTP_MEMBER_MIN_LEN    (OSTP_MEMBER_HEAD_LEN + 1u)
#define OSTP_MEMBER_LEN(name_len, nprefix) \
	(OSTP_MEMBER_MIN_LEN + (size_t)(name_len) + OSTP_CONFIG_ENTRY_LEN * (size_t)(nprefix))
#define OSTP_MEMBER_MAX_LEN    OSTP_MEMBER_LEN(OSTP_USER_MAX, OSTP_MEMBER_PREFIX_MAX)
#define OSTP_MEMBER_F_RESERVED 0xfeu

/* ---- ECHO: 0..64 opaque bytes; REKEY: empty; CLOSE: reason(1) ----------- */
#define OSTP_ECHO_MAX       64u
#define OSTP_CLOSE_LEN      1u

_Static_assert(OSTP_FRAME_HDR_LEN == 34, "frame header is 34 bytes");
_Static_assert(OSTP_SR_MIN_LEN == 41 && OSTP_SR_MAX_LEN == 65, "session request 41..65");
_Static_assert(OSTP_PEER_LEN == 81, "peer entry is 81 bytes");
_Static_assert(OSTP_PEER_BLOCK_LEN == 1297, "peer block is 1297 bytes");
_Static_assert(OSTP_PEER_BLOCK_LEN <= OSTP_FRAME_PAYLOAD_MAX, "a peer block fits a frame");
_Static_assert(OSTP_SAP_MAX_LEN <= OSTP_FRAME_PAYLOAD_MAX, "a SAP fits a frame");
_Static_assert(OSTP_CONFIG_MAX_LEN <= OSTP_FRAME_PAYLOAD_MAX, "a CONFIG fits a frame");
_Static_assert((OSTP_PB_N_PEERS & (OSTP_PB_N_PEERS - 1u)) == 0, "PB_N_PEERS is a power of two");
_Static_assert(OSTP_CHAIN_FRAMES_MAX == 17, "a 64 KiB packet is 17 frames");
_Static_assert(OSTP_CLIENT_AUTH_LEN == 96, "CLIENT_AUTH is 96 bytes");
_Static_assert(OSTP_MEMBER_HEAD_LEN == 87, "MEMBER fixed part up to name_len is 87 bytes");
_Static_assert(OSTP_MEMBER_MIN_LEN == 88 && OSTP_MEMBER_MAX_LEN == 440,
	       "MEMBER body is 88 + name_len + 18 * nprefix: 88..440 bytes");
_Static_assert(OSTP_MEMBER_MAX_LEN <= OSTP_FRAME_PAYLOAD_MAX, "a MEMBER fits a frame");
_Static_assert(OSTP_OPT_RESERVED == (uint8_t)~(OSTP_OPT_U | OSTP_OPT_P | OSTP_OPT_I),
	       "every option bit is defined or reserved");

/* ---- Decoded records ------------------------------------------------------ */
struct ostp_sr {
	uint8_t options;
	uint8_t pubkey[OSTP_PUBKEY_LEN];
	uint8_t pad_len;
};

struct ostp_sap {
	uint8_t code;
	uint8_t user_len;
	uint16_t pass_len;
	char user[OSTP_USER_MAX + 1];   /* NUL-terminated copy */
	char pass[OSTP_PASS_MAX + 1];   /* NUL-terminated copy; wipe after use */
};

struct ostp_pap {
	uint16_t spw;
	uint8_t code;
};

struct ostp_mgmt {
	uint8_t type;
	uint16_t word;
};

/* Big-endian helpers; wire code uses nothing else to read integers. */
static inline uint16_t ostp_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline void ostp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline uint64_t ostp_get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
static inline void ostp_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Session request.  decode returns OSTP_E_SHORT while more bytes are needed
 * (then *need holds the total length known so far). */
int ostp_sr_encode(uint8_t *out, size_t cap, size_t *out_len,
		   const struct ostp_sr *sr, const uint8_t *pad_random);
int ostp_sr_decode(struct ostp_sr *sr, const uint8_t *in, size_t len, size_t *need);

int ostp_sap_encode(uint8_t *out, size_t cap, size_t *out_len,
		    uint8_t code, const char *user, size_t user_len,
		    const char *pass, size_t pass_len);
int ostp_sap_decode(struct ostp_sap *sap, const uint8_t *in, size_t len);

int ostp_pap_encode(uint8_t *out, size_t cap, const struct ostp_pap *pap);
int ostp_pap_decode(struct ostp_pap *pap, const uint8_t *in, size_t len);

int ostp_mgmt_encode(uint8_t *out, size_t cap, const struct ostp_mgmt *m);
int ostp_mgmt_decode(struct ostp_mgmt *m, const uint8_t *in, size_t len);

int ostp_peer_block_encode(uint8_t *out, size_t cap,
			   const struct ostp_peer *peers, size_t n, uint8_t seq);
int ostp_peer_block_decode(struct ostp_peer *peers, size_t *n, uint8_t *seq,
			   const uint8_t *in, size_t len);

int ostp_config_encode(uint8_t *out, size_t cap, size_t *out_len,
		       const struct ostp_config *c);
int ostp_config_decode(struct ostp_config *c, const uint8_t *in, size_t len);

/* MEMBER.  decode runs the body checks of docs/PROTOCOL.md 2.5.13 that need
 * no session (everything but seq, direction, list state and the ANNOUNCE
 * key): OSTP_E_SHORT / OSTP_E_LONG / OSTP_E_LEN for sizes, OSTP_E_TYPE for
 * an unknown op, OSTP_E_RESERVED for reserved flags, OSTP_E_USER for the
 * name, OSTP_E_PEER for host, prefixes and the op's field rules.  encode
 * accepts exactly what decode accepts and writes nothing on failure. */
int ostp_member_encode(uint8_t *out, size_t cap, size_t *out_len, const struct ostp_member *m);
int ostp_member_decode(struct ostp_member *m, const uint8_t *in, size_t len);

#endif
