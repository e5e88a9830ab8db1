/* SPDX-License-Identifier: ISC */
/* Human-readable names for error codes and close reasons, for logs. */
#include "ostp.h"

/* Indexed by -err; designated initializers keep each phrase next to its
 * code so a renumbering cannot shift them silently. */
static const char *const err_str[] = {
	[-OSTP_OK] = "success",
	[-OSTP_E_SHORT] = "input too short",
	[-OSTP_E_LONG] = "input too long",
	[-OSTP_E_PAD] = "bad padding length",
	[-OSTP_E_RESERVED] = "reserved bits not zero",
	[-OSTP_E_SEQ] = "peer block out of sequence",
	[-OSTP_E_LEN] = "bad length field",
	[-OSTP_E_TAG] = "authentication tag mismatch",
	[-OSTP_E_REPLAY] = "frame counter replayed",
	[-OSTP_E_SKIP] = "frame counter skipped ahead",
	[-OSTP_E_CHAIN_TRUNC] = "message chain truncated",
	[-OSTP_E_CHAIN_LONG] = "message chain too long",
	[-OSTP_E_CHAIN_MIX] = "message types mixed in a chain",
	[-OSTP_E_USER] = "invalid username",
	[-OSTP_E_PASS] = "password too long",
	[-OSTP_E_TYPE] = "unknown message type",
	[-OSTP_E_STATE] = "message not allowed in this state",
	[-OSTP_E_PEER] = "malformed peer entry",
	[-OSTP_E_SIG] = "server signature invalid",
	[-OSTP_E_KEY_MISMATCH] = "server key does not match the pinned key",
	[-OSTP_E_AUTH] = "authentication refused",
	[-OSTP_E_AUTH_REQUIRED] = "server requires user authentication",
	[-OSTP_E_SPW] = "session parameter arbitration failed",
	[-OSTP_E_RESOURCE] = "server out of resources",
	[-OSTP_E_TIMEOUT] = "timed out",
	[-OSTP_E_CLOSED] = "session closed",
	[-OSTP_E_EOF] = "connection closed without a close message",
	[-OSTP_E_BUSY] = "output queue full",
	[-OSTP_E_NOMEM] = "out of memory",
	[-OSTP_E_CRYPTO] = "key exchange or AES-GCM engine failed",
	[-OSTP_E_NOAES] = "AES-256-GCM not supported by this CPU",
	[-OSTP_E_INVAL] = "invalid argument",
	[-OSTP_E_SYNTAX] = "syntax error",
	[-OSTP_E_CONFIG] = "malformed config record",
	[-OSTP_E_AUTH_BUSY] = "server busy: login not checked, retry later",
	[-OSTP_E_IDENTITY] = "client identity key not accepted",
};

#define N_ERR (sizeof(err_str) / sizeof(err_str[0]))

_Static_assert(N_ERR == 1 - OSTP_E_IDENTITY,
	       "every error code from OSTP_OK to OSTP_E_IDENTITY has a string");

const char *ostp_strerror(int err)
{
	/* Compare before negating: -INT_MIN overflows. */
	if (err > 0 || err < -(int)(N_ERR - 1) || err_str[-err] == 0)
		return "unknown error";
	return err_str[-err];
}

static const char *const reason_str[] = {
	[OSTP_CLOSE_NORMAL] = "normal close",
	[OSTP_CLOSE_PROTOCOL] = "protocol error",
	[OSTP_CLOSE_AUTH_FAILED] = "authentication failed",
	[OSTP_CLOSE_AUTH_REQUIRED] = "authentication required",
	[OSTP_CLOSE_TIMEOUT] = "timeout",
	[OSTP_CLOSE_SPW] = "parameter arbitration failed",
	[OSTP_CLOSE_RESOURCE] = "server out of resources",
	[OSTP_CLOSE_SHUTDOWN] = "shutting down",
	[OSTP_CLOSE_REVOKED] = "access revoked",
	[OSTP_CLOSE_NOT_MEMBER] = "identity key not accepted",
};

#define N_REASON (sizeof(reason_str) / sizeof(reason_str[0]))

const char *ostp_close_reason_str(uint8_t reason)
{
	if (reason >= N_REASON || reason_str[reason] == 0)
		return "unknown reason";
	return reason_str[reason];
}
