/* SPDX-License-Identifier: ISC */
/*
 * Parsing one control request (docs/CONTROL.md): a pure function of the
 * bytes received, so that the daemon and the libFuzzer target
 * (tests/fuzz/fuzz_ctl.c) run the same code.  Everything a request names
 * is checked here (lengths, attributes, names, prefixes, endpoints, keys);
 * what depends on the daemon's state (roles, tables) is left to ctlsock.c.
 */
#ifndef OSTPD_CTLREQ_H
#define OSTPD_CTLREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_proto.h"
#include "endpoint.h"
#include "ostp.h"
#include "prefix.h"
#include "ostp.h"      /* OSTP_USER_MAX */

/* The longest request record the daemon reads; longer ones are refused. */
#define CTLREQ_MAX 8192
/* String attributes of requests: at most this many bytes with the NUL. */
#define CTLREQ_STR_MAX 256

enum ctlreq_err {
	CTLREQ_OK = 0,
	CTLREQ_E_SHORT,     /* fewer bytes than a struct nlmsghdr */
	CTLREQ_E_TOO_LONG,  /* more than CTLREQ_MAX bytes */
	CTLREQ_E_LENGTH,    /* nlmsg_len below the header or above the bytes received */
	CTLREQ_E_UNKNOWN,   /* nlmsg_type is no command */
	CTLREQ_E_ATTR,      /* an attribute is malformed */
	CTLREQ_E_MISSING,   /* a required attribute is absent */
	CTLREQ_E_VALUE,     /* an attribute's value is refused */
};

struct ctlreq {
	/* The request's header, echoed in every reply.  Zero when the record
	 * is shorter than a header; otherwise as received, nlmsg_len too. */
	struct nlmsghdr hdr;
	uint16_t cmd;                        /* enum ostp_ctl_cmd */
	bool has_user, has_prefix, has_name, has_endpoint, has_key, has_allowed;
	char user[OSTP_USER_MAX + 1];        /* a valid user name */
	char name[OSTP_USER_MAX + 1];        /* a valid peer name */
	struct prefix prefix;                /* a network prefix */
	struct endpoint endpoint;
	uint8_t key[32];                     /* passed ed25519_pubkey_valid() */
	char allowed[CTLREQ_STR_MAX];        /* "p1,p2", each a network prefix */
	const char *why;                     /* on error: the message for the client */
};

/* Parses the record buf[0..len).  Nothing outside it is read: nlmsg_len is
 * compared, as an unsigned number, with len before libmnl sees the
 * message, and the message is copied to a zeroed buffer first.  *req is
 * cleared and then filled; on error req->why says why (and req->hdr holds
 * what could be read of the header, for the reply). */
enum ctlreq_err ctlreq_parse(const void *buf, size_t len, struct ctlreq *req);

/* The errno a client gets for err (EINVAL, EMSGSIZE, EOPNOTSUPP). */
int ctlreq_errno(enum ctlreq_err err);

#endif
