/* SPDX-License-Identifier: ISC */
/*
 * libostp: the OSTP protocol core, sans I/O.
 *
 * A session turns received bytes into events and requests into bytes to
 * send.  It never touches a socket, a file descriptor or the clock: the
 * caller feeds bytes, drains output, and passes the time (milliseconds on
 * any monotonic clock) into every call that needs it.
 *
 * Every function that can fail returns 0 or a negative enum ostp_err.
 */
#ifndef OSTP_H
#define OSTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ostp_err {
	OSTP_OK = 0,
	OSTP_E_SHORT = -1,        /* input ends before the record does */
	OSTP_E_LONG = -2,         /* record longer than its maximum */
	OSTP_E_PAD = -3,          /* bad padding length byte */
	OSTP_E_RESERVED = -4,     /* a reserved bit or byte is not zero */
	OSTP_E_SEQ = -5,          /* peer block sequence zero or out of order */
	OSTP_E_LEN = -6,          /* frame len > 4096, or a field length is wrong */
	OSTP_E_TAG = -7,          /* AES-GCM authentication failed */
	OSTP_E_REPLAY = -8,       /* frame counter below the expected one */
	OSTP_E_SKIP = -9,         /* frame counter above the expected one */
	OSTP_E_CHAIN_TRUNC = -10, /* chain cut short (short middle frame, close, EOF) */
	OSTP_E_CHAIN_LONG = -11,  /* chain longer than OSTP_MSG_MAX */
	OSTP_E_CHAIN_MIX = -12,   /* another message type inside a chain */
	OSTP_E_USER = -13,        /* username empty, too long or bad characters */
	OSTP_E_PASS = -14,        /* password too long */
	OSTP_E_TYPE = -15,        /* unknown message type or management type */
	OSTP_E_STATE = -16,       /* message not allowed in this state */
	OSTP_E_PEER = -17,        /* malformed peer entry */
	OSTP_E_SIG = -18,         /* server signature does not verify */
	OSTP_E_KEY_MISMATCH = -19,/* server key is not the pinned one */
	OSTP_E_AUTH = -20,        /* authentication refused */
	OSTP_E_AUTH_REQUIRED = -21,/* server requires user authentication */
	OSTP_E_SPW = -22,         /* parameter arbitration failed */
	OSTP_E_RESOURCE = -23,    /* server out of resources */
	OSTP_E_TIMEOUT = -24,     /* handshake or keepalive deadline passed */
	OSTP_E_CLOSED = -25,      /* session is closed */
	OSTP_E_EOF = -26,         /* transport closed without an authenticated close */
	OSTP_E_BUSY = -27,        /* output queue full: drop and count */
	OSTP_E_NOMEM = -28,
	OSTP_E_CRYPTO = -29,      /* key exchange produced an invalid secret, or the AEAD engine failed */
	OSTP_E_NOAES = -30,       /* libsodium engine: CPU lacks AES-NI/PCLMUL */
	OSTP_E_INVAL = -31,       /* bad argument from the caller */
	OSTP_E_SYNTAX = -32,      /* trust list or text input malformed */
	OSTP_E_CONFIG = -33,      /* malformed CONFIG record */
	OSTP_E_AUTH_BUSY = -34,   /* server could not check the login now: retry later */
	OSTP_E_IDENTITY = -35,    /* the client's identity key is not accepted */
};

const char *ostp_strerror(int err);

/* ---- Limits and message types (docs/PROTOCOL.md §1.7, §2.6.4) ---------- */
#define OSTP_FRAME_PAYLOAD_MAX 4096u
/* Longest message a chain may carry: a 64 KiB IP packet plus a virtio-net
 * header, rounded up; 17 frames. */
#define OSTP_MSG_MAX        (65536u + 64u)
#define OSTP_USER_MAX       64u       /* username bytes */
#define OSTP_PASS_MAX       256u      /* password bytes */
#define OSTP_CONFIG_ADDR_MAX 8u       /* addresses in one CONFIG */
#define OSTP_VNET_HDR_LEN   10u       /* the virtio-net header of DATA_GSO */
#define OSTP_MEMBER_PREFIX_MAX 16u    /* inner prefixes in one MEMBER record */

/* Inner message types (iv[0]); ostp_send() takes DATA and DATA_GSO. */
enum ostp_msg_type {
	OSTP_MSG_DATA        = 0x01, /* one IP packet, may be chained */
	OSTP_MSG_DATA_GSO    = 0x02, /* virtio_net_hdr + GSO packet, needs SPW GSO */
	OSTP_MSG_SERVER_AUTH = 0x10, /* server identity key + signature */
	OSTP_MSG_SAP         = 0x11, /* session authentication packet */
	OSTP_MSG_PAP         = 0x12, /* parameter arbitration packet */
	OSTP_MSG_MGMT        = 0x13, /* management frame */
	OSTP_MSG_PEER_BLOCK  = 0x14,
	OSTP_MSG_CONFIG      = 0x15, /* server pushes MTU and addresses */
	OSTP_MSG_CLIENT_AUTH = 0x16, /* client identity key + signature (option I) */
	OSTP_MSG_MEMBER      = 0x17, /* one member list change (SPW MESH) */
	OSTP_MSG_ECHO_REQ    = 0x20,
	OSTP_MSG_ECHO_REPLY  = 0x21,
	OSTP_MSG_REKEY       = 0x22,
	OSTP_MSG_CLOSE       = 0x7f, /* authenticated close */
};

/* ---- DATA_GSO's virtio-net header (docs/PROTOCOL.md §2.5.11) ---------- */
/* struct virtio_net_hdr, in host byte order once decoded. */
struct ostp_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

#define OSTP_VNET_F_NEEDS_CSUM 1u
#define OSTP_VNET_GSO_NONE     0u
#define OSTP_VNET_GSO_TCPV4    1u
#define OSTP_VNET_GSO_TCPV6    4u
#define OSTP_VNET_GSO_ECN      0x80u
/* The smallest segment size accepted from a peer (IPv4's minimum MSS is
 * 536): a tiny one would let one message fan out into tens of thousands
 * of packets when cut for a peer without GSO. */
#define OSTP_GSO_SIZE_MIN      512u

/* A DATA_GSO body: the big-endian header, then the packet it describes.
 * Decodes the header and checks it against the packet: known flags and
 * GSO type (else OSTP_E_RESERVED), offsets inside the packet, a segment
 * size of at least OSTP_GSO_SIZE_MIN and an IP version that matches the
 * GSO type (else OSTP_E_LEN); OSTP_E_SHORT when the body cannot hold a
 * header and an IP header.  Never trust a peer's hdr_len or csum_start
 * without it. */
int ostp_vnet_hdr_decode(struct ostp_vnet_hdr *h, const uint8_t *body, size_t len);
/* The header in DATA_GSO's big-endian form. */
void ostp_vnet_hdr_encode(uint8_t out[OSTP_VNET_HDR_LEN], const struct ostp_vnet_hdr *h);

/* Session Request options byte. */
#define OSTP_OPT_U           0x01u /* user authentication follows */
#define OSTP_OPT_P           0x02u /* client wants peer blocks */
#define OSTP_OPT_I           0x04u /* client proves an identity key (CLIENT_AUTH) */

/* Session Parameter Word bits (docs/PROTOCOL.md "SPW bits"). */
#define OSTP_SPW_CONFIG      0x0001u /* server pushes MTU and addresses */
#define OSTP_SPW_IPV4        0x0002u /* carry IPv4 packets */
#define OSTP_SPW_IPV6        0x0004u /* carry IPv6 packets */
#define OSTP_SPW_GSO         0x0008u /* DATA_GSO messages (virtio-net header) */
#define OSTP_SPW_RELAY       0x0010u /* server relays to other clients (permission) */
#define OSTP_SPW_MESH        0x0020u /* mesh links and MEMBER records (permission) */
#define OSTP_SPW_DEFINED     0x003fu
#define OSTP_SPW_QUICK       0x8000u /* quick session request: skip arbitration */

/* Close reasons carried by an authenticated CLOSE. */
enum ostp_close_reason {
	OSTP_CLOSE_NORMAL = 0,
	OSTP_CLOSE_PROTOCOL = 1,
	OSTP_CLOSE_AUTH_FAILED = 2,
	OSTP_CLOSE_AUTH_REQUIRED = 3,
	OSTP_CLOSE_TIMEOUT = 4,
	OSTP_CLOSE_SPW = 5,
	OSTP_CLOSE_RESOURCE = 6,
	OSTP_CLOSE_SHUTDOWN = 7,
	OSTP_CLOSE_REVOKED = 8,
	OSTP_CLOSE_NOT_MEMBER = 9, /* the client's identity key is not accepted */
};
const char *ostp_close_reason_str(uint8_t reason);

struct ostp_peer {
	uint16_t port;
	char host[46];           /* textual IPv4 or IPv6 address, NUL-terminated */
	uint8_t id_pk[32];       /* the peer's Ed25519 identity key */
};

struct ostp_config_addr {
	uint8_t family;          /* 4 or 6 */
	uint8_t prefix_len;
	uint8_t addr[16];        /* IPv4 in the first 4 bytes, rest zero */
};

struct ostp_config {
	uint16_t mtu;            /* 0: no opinion */
	uint8_t n_addr;
	struct ostp_config_addr addr[OSTP_CONFIG_ADDR_MAX];
};

/* MEMBER record (docs/PROTOCOL.md 2.5.13): one change to the member list
 * (server to client) or the sender's own endpoint (client to server). */
#define OSTP_MEMBER_UPSERT   0x01u /* s->c: add or replace the member with id_pk */
#define OSTP_MEMBER_REMOVE   0x02u /* s->c: the member with id_pk is gone */
#define OSTP_MEMBER_SYNCED   0x03u /* s->c: the list sent so far is complete */
#define OSTP_MEMBER_ANNOUNCE 0x04u /* c->s: the sender's own listening endpoint */
#define OSTP_MEMBER_F_ACCEPTS 0x01u /* accepts mesh links at host:port */

struct ostp_member {
	uint32_t seq;            /* filled by ostp_send_member() */
	uint8_t op;              /* OSTP_MEMBER_* */
	uint8_t flags;           /* OSTP_MEMBER_F_* */
	uint8_t id_pk[32];       /* the member's Ed25519 identity key */
	uint16_t port;
	char host[46];           /* textual IP address or ""; NUL-terminated */
	char name[OSTP_USER_MAX + 1]; /* the member's user name or "" */
	uint8_t n_prefix;
	struct ostp_config_addr prefix[OSTP_MEMBER_PREFIX_MAX]; /* inner prefixes it owns */
};

/* Randomness source; tests replace it to make handshakes reproducible. */
struct ostp_rng {
	void (*fill)(void *ctx, uint8_t *buf, size_t len);
	void *ctx;
};

struct ostp_timing {
	uint32_t handshake_ms;   /* whole handshake deadline (default 5000) */
	uint32_t keepalive_ms;   /* idle time before an echo request (default 10000) */
	uint32_t dead_ms;        /* silence before the session is dead (default 30000) */
	uint32_t rekey_ms;       /* rekey interval (default 120000) */
};

/* Key log, a debugging aid: a session's traffic keys, for decrypting
 * captures of it (ostpd's key_log setting appends them to a file that the
 * Wireshark dissector scripts/wireshark/ostp.lua reads).  Off while line
 * is NULL, as in a zeroed config.  Whoever holds the lines reads every
 * frame of the sessions they name: never in production.
 *
 * line() is called each time the session installs a traffic key: both
 * generation-0 keys once the key exchange is done, then one line per
 * rekey, for the direction that rekeyed.  The text, without a newline:
 *
 *   OSTP_TRAFFIC_KEY <epk_c> <c2s|s2c> <generation> <key>
 *
 * epk_c is the client's ephemeral public key (bytes 1..32 of the Session
 * Request, so a capture of the SR names the session), generation is
 * decimal (0, then 1 per rekey of that direction) and epk_c and the key
 * are lowercase hex.  The buffer is wiped when line() returns: copy what
 * is kept. */
struct ostp_keylog {
	void (*line)(void *ctx, const char *line);
	void *ctx;
};

struct ostp_client_config {
	uint8_t options;         /* OSTP_OPT_U | OSTP_OPT_P */
	const char *username;    /* copied; needed with OSTP_OPT_U */
	const char *password;    /* copied and wiped by the session */
	uint16_t spw;            /* requested SPW; OSTP_SPW_QUICK for a quick request */
	bool tofu;               /* accept any server key and report it */
	uint8_t server_pk[32];   /* pinned Ed25519 key when !tofu */
	unsigned max_peer_blocks;/* TRUNC after this many (0: read all) */
	struct ostp_timing timing;
	size_t outq_max;         /* data refused past this (default 1 MiB) */
	uint8_t pad_len;         /* 0: random in 8..32 */
	/* Ed25519 secret key, 64 bytes, borrowed until the session is freed:
	 * when set, the client sets OSTP_OPT_I and proves this key with
	 * CLIENT_AUTH right after it verified the server's. */
	const uint8_t *identity_sk;
	struct ostp_keylog keylog;    /* off unless set (see struct ostp_keylog) */
};

struct ostp_server_config {
	const uint8_t *identity_sk;   /* Ed25519 secret key, 64 bytes, borrowed */
	bool require_auth;
	uint16_t spw_supported;       /* bits this server implements */
	uint16_t spw_default;         /* applied to quick session requests */
	uint16_t spw_permitted;       /* for sessions without user auth */
	struct ostp_timing timing;
	size_t outq_max;
	unsigned max_auth_attempts;   /* default 3 */
	unsigned max_pap_rounds;      /* default 4 */
	/* close sessions without OSTP_OPT_I with CLOSE(NOT_MEMBER) */
	bool require_identity;
	struct ostp_keylog keylog;    /* off unless set (see struct ostp_keylog) */
};

enum ostp_role { OSTP_ROLE_CLIENT, OSTP_ROLE_SERVER };

enum ostp_event_type {
	OSTP_EV_NONE = 0,
	OSTP_EV_SERVER_KEY,      /* client, TOFU: server_pk to record */
	OSTP_EV_HANDSHAKE,       /* keys agreed; client: server authenticated */
	OSTP_EV_AUTH_REQUEST,    /* server: answer with ostp_server_auth_reply() */
	OSTP_EV_AUTH_RESULT,     /* client: code */
	OSTP_EV_ESTABLISHED,     /* both: spw agreed, data may flow */
	OSTP_EV_PEER_BLOCK,      /* client: peers[npeers], seq */
	OSTP_EV_CONFIG,          /* client: config */
	OSTP_EV_MESSAGE,         /* both: msg_type, data[len] */
	OSTP_EV_CLOSED,          /* both: err, and close_reason when clean */
	OSTP_EV_CLIENT_KEY,      /* server: client_pk proven; answer with
				  * ostp_server_identity_reply() */
	OSTP_EV_MEMBER,          /* both (SPW MESH): member */
};

struct ostp_event {
	enum ostp_event_type type;
	int err;                 /* EV_CLOSED: 0 for a clean close, else why */
	bool peer_closed;        /* EV_CLOSED: the peer sent an authenticated CLOSE */
	uint8_t close_reason;    /* EV_CLOSED: reason sent or received */
	uint8_t code;            /* EV_AUTH_RESULT */
	uint16_t spw;            /* EV_ESTABLISHED */
	uint8_t msg_type;        /* EV_MESSAGE */
	const uint8_t *data;     /* EV_MESSAGE: valid until the next call */
	size_t len;
	const char *username;    /* EV_AUTH_REQUEST */
	const char *password;    /* EV_AUTH_REQUEST: wiped after the reply */
	size_t password_len;
	const uint8_t *server_pk;/* EV_SERVER_KEY, EV_HANDSHAKE (client) */
	const struct ostp_peer *peers; /* EV_PEER_BLOCK */
	size_t npeers;
	uint8_t seq;
	const struct ostp_config *config; /* EV_CONFIG */
	const uint8_t *client_pk;/* EV_CLIENT_KEY: the key the client proved */
	const struct ostp_member *member; /* EV_MEMBER: valid until the next call */
};

typedef struct ostp_session ostp_session;

/* Call once: checks libsodium and the AES-256-GCM engine (OSTP_E_NOAES:
 * the libsodium engine on a CPU without AES-NI and PCLMUL). */
int ostp_init(void);
/* The AES-256-GCM engine this build seals and opens frames with:
 * "openssl" or "libsodium" (chosen with make AEAD=openssl|sodium). */
const char *ostp_aead_engine(void);

int ostp_client_new(ostp_session **out, const struct ostp_client_config *cfg,
		    const struct ostp_rng *rng, uint64_t now_ms);
int ostp_server_new(ostp_session **out, const struct ostp_server_config *cfg,
		    const struct ostp_rng *rng, uint64_t now_ms);
/* Wipes every key and secret, then frees. */
void ostp_session_free(ostp_session *s);

/* Consume received bytes until one event is ready or the input is used up.
 * *used says how many bytes were consumed; call again with the rest.
 * A protocol error closes the session (queuing an authenticated CLOSE when
 * keys exist) and returns the error, with ev->type == OSTP_EV_CLOSED. */
int ostp_feed(ostp_session *s, const uint8_t *in, size_t len, size_t *used,
	      uint64_t now_ms, struct ostp_event *ev);
/* The transport reached EOF. */
int ostp_eof(ostp_session *s, struct ostp_event *ev);
/* Timers: handshake deadline, keepalive, dead peer, rekey. */
int ostp_tick(ostp_session *s, uint64_t now_ms, struct ostp_event *ev);
/* Earliest time ostp_tick() has something to do. */
uint64_t ostp_next_deadline(const ostp_session *s);

/* Bytes waiting to be written to the transport. */
size_t ostp_output(const ostp_session *s, const uint8_t **p);
void ostp_output_consume(ostp_session *s, size_t n);

/* Seal one message (chained when longer than a frame) into the output.
 * OSTP_E_BUSY when the output queue is over its limit. */
int ostp_send(ostp_session *s, uint8_t msg_type, const uint8_t *data, size_t len);
/* Authenticated close: queue CLOSE and stop accepting input. */
int ostp_close(ostp_session *s, uint8_t reason);

/* Server side.  While an AUTH_REQUEST is unanswered the handshake
 * deadline is suspended; a server that took ms to check the password may
 * give them back with ostp_session_extend_handshake() before replying.
 * Input fed meanwhile is held (up to 8192 bytes) and read after the reply:
 * call ostp_feed(s, NULL, 0, ...) until it returns no event right after
 * replying (ostp_tick() reads it too, and ostp_next_deadline() is 0 while
 * held input waits). */
int ostp_server_auth_reply(ostp_session *s, bool ok, uint16_t spw_permitted);
/* The server cannot check this login now (queue full, per-source or
 * per-user limit): answers SAP(AUTH_BUSY), sends CLOSE(RESOURCE) and
 * closes the session.  Nothing was decided about the password, so this is
 * not a failed attempt.  OSTP_E_STATE unless an AUTH_REQUEST is pending. */
int ostp_server_auth_busy(ostp_session *s);
void ostp_session_extend_handshake(ostp_session *s, uint64_t ms);
/* The verdict on OSTP_EV_CLIENT_KEY (is this key a member?).  Until it
 * comes, the handshake deadline is suspended and input is held exactly as
 * during a password check.  ok: the handshake goes on (a SAP or PAP held
 * behind CLIENT_AUTH is read next).  Refused: CLOSE(NOT_MEMBER), the
 * session is closed and OSTP_E_IDENTITY is returned.  OSTP_E_STATE unless
 * a CLIENT_KEY is pending. */
int ostp_server_identity_reply(ostp_session *s, bool ok);
int ostp_server_set_peers(ostp_session *s, const struct ostp_peer *peers, size_t n);
/* Like ostp_server_set_peers, without a copy: the session reads peers
 * until it has sent the last block (or is freed), then calls
 * release(ctx).  For one immutable list shared by many sessions. */
int ostp_server_lend_peers(ostp_session *s, const struct ostp_peer *peers, size_t n,
			   void (*release)(void *ctx), void *ctx);
int ostp_server_set_config(ostp_session *s, const struct ostp_config *c);
void ostp_server_set_resource_ok(ostp_session *s, bool ok);

enum ostp_role ostp_session_role(const ostp_session *s);
bool ostp_session_established(const ostp_session *s);
bool ostp_session_closed(const ostp_session *s);
uint16_t ostp_session_spw(const ostp_session *s);
uint8_t ostp_session_options(const ostp_session *s);
const char *ostp_session_user(const ostp_session *s);
/* The peer's long-term key: on a server the key the client proved with
 * CLIENT_AUTH (once its signature verified), on a client the server key
 * it verified.  false (out untouched) before that. */
bool ostp_session_peer_key(const ostp_session *s, uint8_t out[32]);

/* A probe of the path: one ECHO_REQ now, on an established session
 * (OSTP_E_STATE before), whatever the keepalive timer says.  The answers
 * are counted by ostp_session_echo_replies(), every ECHO_REPLY received
 * on the session, keepalives' included, so a caller compares the count
 * before and after. */
int ostp_send_echo(ostp_session *s, uint64_t now_ms);
uint64_t ostp_session_echo_replies(const ostp_session *s);

/* Send one MEMBER record on an established session that agreed SPW MESH.
 * seq is filled in (*m is not changed).  A server sends UPSERT, REMOVE and
 * SYNCED (one SYNCED, no REMOVE before it); a client sends ANNOUNCE, only
 * after proving its key.  OSTP_E_STATE for a record not allowed now,
 * OSTP_E_INVAL for an ANNOUNCE whose id_pk is not the proven key, and the
 * codec's error (OSTP_E_RESERVED, _USER, _PEER, _LEN) for a record that
 * breaks the field rules of docs/PROTOCOL.md 2.5.13. */
int ostp_send_member(ostp_session *s, const struct ostp_member *m);

/* Identity keys (Ed25519). */
int ostp_identity_generate(uint8_t pk[32], uint8_t sk[64]);
int ostp_identity_from_seed(uint8_t pk[32], uint8_t sk[64], const uint8_t seed[32]);

/* ---- Trusted users list (lib/trust.c) ----------------------------------- */
typedef struct ostp_trust ostp_trust;
/* warn() is told about lines that are accepted but suspicious ("root"). */
typedef void (*ostp_trust_warn_fn)(void *ctx, size_t line, const char *msg);
int ostp_trust_parse(ostp_trust **out, const char *buf, size_t len,
		     size_t *bad_line, ostp_trust_warn_fn warn, void *ctx);
bool ostp_trust_contains(const ostp_trust *t, const char *user);
size_t ostp_trust_count(const ostp_trust *t);
const char *ostp_trust_name(const ostp_trust *t, size_t i);
void ostp_trust_free(ostp_trust *t);
/* 1..64 bytes of [A-Za-z0-9._-], not starting with '-' or '.' */
bool ostp_username_valid(const char *name, size_t len);
/* Drops leading blanks (space, tab) and trailing blanks and '\r's from
 * line[0, *len): editors leave blanks and CRLF files a CR, while a CR
 * inside stays and makes a name invalid.  The list's rule, which the
 * other line-oriented files ostp reads (passwords, known hosts) share. */
void ostp_text_trim(const char **line, size_t *len);
enum ostp_trust_line {
	OSTP_TRUST_BLANK,        /* nothing but blanks */
	OSTP_TRUST_COMMENT,      /* starts with "//" once trimmed */
	OSTP_TRUST_NAME,         /* a name, valid or not */
};
/* What one line of a trusted users list (without its '\n') is; for a name
 * line *name and *name_len give the trimmed name, which the list accepts
 * only if ostp_username_valid() does.  Tools that edit the list use this
 * so they never disagree with the parser about which line names whom. */
enum ostp_trust_line ostp_trust_line(const char *line, size_t len,
				     const char **name, size_t *name_len);

/* ---- Password hashes (lib/auth.c) --------------------------------------- */
/* Argon2id via crypto_pwhash_str.  verify with hash == NULL spends the same
 * time on a dummy hash and returns false, so unknown users are not told
 * apart from wrong passwords. */
int ostp_pw_hash(char out[128], const char *pw, size_t pw_len);
bool ostp_pw_verify(const char *hash, const char *pw, size_t pw_len);

#ifdef __cplusplus
}
#endif

#endif
