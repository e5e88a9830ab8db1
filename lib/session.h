/* SPDX-License-Identifier: ISC */
/*
 * The session object shared by the client and server state machines.
 * session.c owns framing, output, timers and close; client.c and server.c
 * own what each role does with a complete inner message.
 */
#ifndef OSTP_SESSION_H
#define OSTP_SESSION_H

#include "frame.h"
#include "handshake.h"
#include "wire.h"

/* Rekey well before a counter or the GCM per-key data volume matters. */
#define OSTP_REKEY_AFTER_FRAMES (1ull << 20)
#define OSTP_PEERS_MAX         (OSTP_PEER_BLOCKS_MAX * OSTP_PB_N_PEERS)
#define OSTP_OUTQ_DEFAULT      (1u << 20)
#define OSTP_ECHO_LEN          8u
/* Input held unread while the server's password check runs: enough for
 * every message a client may pipeline behind its SAP (PAP, CLOSE) and a
 * first full-size packet, small enough that a thousand sessions in their
 * password check cost only 8 MiB. */
#define OSTP_HOLD_MAX          8192u

/* Decoders say SHORT or LONG; on the wire a body of the wrong size is
 * OSTP_E_LEN (docs/PROTOCOL.md section 2.5). */
static inline int ostp_body_err(int err)
{
	return err == OSTP_E_SHORT || err == OSTP_E_LONG ? OSTP_E_LEN : err;
}

enum ostp_state {
	ST_C_WAIT_SH,      /* client: SR sent, waiting for the server's key */
	ST_C_WAIT_SAUTH,   /* client: keys agreed, server not yet proven */
	ST_C_WAIT_SAP,     /* client: credentials sent */
	ST_C_WAIT_PAP,     /* client: SPW proposed */
	ST_S_WAIT_SR,      /* server: nothing received yet */
	ST_S_WAIT_CAUTH,   /* server: option I, waiting for CLIENT_AUTH */
	ST_S_IDENT_PENDING,/* server: application is judging the client's key */
	ST_S_WAIT_SAP,     /* server: waiting for credentials */
	ST_S_AUTH_PENDING, /* server: application is checking credentials */
	ST_S_WAIT_PAP,     /* server: waiting for an SPW */
	ST_ESTABLISHED,
	ST_CLOSED,
};

struct ostp_client_part {
	char password[OSTP_PASS_MAX + 1];
	size_t password_len;
	uint16_t spw_req;         /* bits asked for, QUICK stripped */
	uint16_t spw_last;        /* last PAP sent */
	bool quick;
	bool tofu;
	uint8_t server_pk[OSTP_ID_PK_LEN];
	unsigned max_peer_blocks;
	unsigned blocks_read;
	uint8_t last_seq;         /* 0: no block seen yet */
	bool peers_done;
	bool config_seen;
	bool config_due;          /* CONFIG agreed: it must be the next message */
	bool deferred;            /* TOFU: credentials wait for the next call */
	struct ostp_peer peers[OSTP_PB_N_PEERS];
	struct ostp_config config;
	const uint8_t *identity_sk;  /* borrowed; NULL: no option I */
	uint8_t identity_pk[OSTP_ID_PK_LEN];
	bool server_verified;     /* server_pk holds the key SERVER_AUTH proved */
	bool members_synced;      /* SYNCED received */
};

struct ostp_server_part {
	const uint8_t *identity_sk;
	bool require_auth;
	uint16_t spw_supported;
	uint16_t spw_default;
	uint16_t spw_permitted;
	bool resource_ok;
	unsigned auth_attempts;
	unsigned max_auth_attempts;
	struct ostp_sap sap;      /* pending credentials, wiped after reply */
	const struct ostp_peer *peers;
	size_t npeers;
	/* a borrowed list is handed back through release, a copy freed */
	void (*release)(void *ctx);
	void *release_ctx;
	uint8_t next_seq;         /* seq of the block sent last; 0: none pending */
	size_t peers_sent;
	bool have_config;
	struct ostp_config config;
	bool require_identity;
	uint8_t identity_pk[OSTP_ID_PK_LEN]; /* ours, id_pk_s of CLIENT_AUTH */
	uint8_t client_pk[OSTP_ID_PK_LEN];
	bool client_proven;       /* client_pk passed CLIENT_AUTH */
	bool members_synced;      /* SYNCED sent */
};

struct ostp_session {
	/* First: libsodium's GCM states want 16-byte alignment, which
	 * ostp_session_alloc() gives. */
	struct ostp_dir tx;
	struct ostp_dir rx;
	enum ostp_role role;
	enum ostp_state state;
	bool keys;
	bool close_sent;
	struct ostp_rng rng;
	struct ostp_timing timing;
	size_t outq_max;
	uint64_t created_ms, last_rx_ms, last_echo_ms, last_rekey_ms;
	uint64_t echo_replies;     /* ECHO_REPLY records received */

	uint8_t options;
	uint16_t spw;
	unsigned pap_rounds;
	unsigned max_pap_rounds;
	char user[OSTP_USER_MAX + 1];

	uint8_t eph_pk[OSTP_PUBKEY_LEN];
	uint8_t eph_sk[OSTP_PUBKEY_LEN];
	uint8_t th[OSTP_TH_LEN];
	uint8_t hs[OSTP_SR_MAX_LEN + OSTP_SH_LEN]; /* cleartext records: SR, then SH */
	size_t hs_len;
	size_t sr_len;

	/* Frame being received. */
	uint8_t hdr[OSTP_FRAME_HDR_LEN];
	size_t hdr_have;
	struct ostp_frame_hdr fh;
	size_t ct_have;
	uint8_t ctl[OSTP_FRAME_PAYLOAD_MAX]; /* plaintext of control messages */

	/* Message being reassembled from a chain (DATA, DATA_GSO only). */
	uint8_t *msg;
	size_t msg_len;
	bool in_chain;
	uint8_t chain_type;

	uint8_t *out;
	size_t out_off, out_len, out_cap;

	struct ostp_event pending;   /* a second event produced by one frame */

	/* MEMBER records: how many went each way (seq of the last one), and
	 * the last one received, which EV_MEMBER points to. */
	uint64_t member_tx, member_rx;
	struct ostp_member member;

	/* Key log (ostp.h): off while keylog.line is NULL; epk_c names the
	 * session in its lines, gen_* count each direction's rekeys. */
	struct ostp_keylog keylog;
	uint8_t keylog_id[OSTP_PUBKEY_LEN];
	uint32_t gen_tx, gen_rx;

	/* Server: bytes received while a password check is pending, read in
	 * order once it is answered (hold[hold_off..hold_len)). */
	uint8_t *hold;
	size_t hold_off, hold_len;

	union {
		struct ostp_client_part c;
		struct ostp_server_part s;
	} u;
};

/* session.c, used by client.c and server.c */
ostp_session *ostp_session_alloc(enum ostp_role role, const struct ostp_rng *rng,
				 const struct ostp_timing *timing, size_t outq_max,
				 uint64_t now);
int ostp_queue_msg(ostp_session *s, uint8_t type, const uint8_t *data, size_t len);
int ostp_queue_raw(ostp_session *s, const uint8_t *data, size_t len);
int ostp_fail(ostp_session *s, int err, struct ostp_event *ev);
void ostp_wipe_handshake(ostp_session *s);
void ostp_rng_fill(ostp_session *s, uint8_t *buf, size_t len);
int ostp_set_keys(ostp_session *s, const struct ostp_keys *k);
void ostp_established(ostp_session *s, uint16_t spw, struct ostp_event *ev);

/* client.c / server.c: a complete, authenticated inner message */
int ostp_client_on_msg(ostp_session *s, uint8_t type, const uint8_t *p, size_t len,
		       struct ostp_event *ev);
int ostp_server_on_msg(ostp_session *s, uint8_t type, const uint8_t *p, size_t len,
		       struct ostp_event *ev);
/* cleartext phase: a complete server reply / session request */
int ostp_client_on_sh(ostp_session *s, struct ostp_event *ev);
int ostp_server_on_sr(ostp_session *s, const struct ostp_sr *sr, struct ostp_event *ev);
void ostp_server_free_part(ostp_session *s);
int ostp_client_send_credentials(ostp_session *s);
/* Both roles: a received MEMBER (after the dispatcher's checks) */
int ostp_member_on_msg(ostp_session *s, const uint8_t *p, size_t len, struct ostp_event *ev);

/* The server waits for the application (password check, identity
 * verdict): input is held, the handshake deadline suspended. */
static inline bool ostp_verdict_pending(const ostp_session *s)
{
	return s->state == ST_S_AUTH_PENDING || s->state == ST_S_IDENT_PENDING;
}

#endif
