/* SPDX-License-Identifier: ISC */
/*
 * ostpd's control protocol (docs/CONTROL.md): netlink-format messages on
 * a SOCK_SEQPACKET Unix socket, one request per connection.  Shared by
 * ostpd and ostpctl.
 */
#ifndef OSTP_CTL_PROTO_H
#define OSTP_CTL_PROTO_H

#include <linux/netlink.h>

#define OSTP_CTL_VERSION 1

/* nlmsg_type of requests; replies reuse the request's type */
enum ostp_ctl_cmd {
	OSTP_CTL_GET_INFO = NLMSG_MIN_TYPE,  /* one reply */
	OSTP_CTL_GET_SESSIONS,               /* NLM_F_MULTI replies, NLMSG_DONE */
	OSTP_CTL_RELOAD,                     /* re-read trust list and passwords */
	OSTP_CTL_CLOSE_USER,                 /* OSTP_CTLA_USER: close its sessions */
};

enum ostp_ctl_attr {
	OSTP_CTLA_UNSPEC,
	OSTP_CTLA_IFNAME,        /* string */
	OSTP_CTLA_PUBKEY,        /* 32 bytes */
	OSTP_CTLA_LISTEN_PORT,   /* u16 */
	OSTP_CTLA_USER,          /* string */
	OSTP_CTLA_ENDPOINT,      /* string */
	OSTP_CTLA_ROLE,          /* u8: 0 accepted client, 1 our upstream server */
	OSTP_CTLA_SPW,           /* u16 */
	OSTP_CTLA_UP_MS,         /* u64: milliseconds since established, 0 = handshaking */
	OSTP_CTLA_RX_BYTES,      /* u64 */
	OSTP_CTLA_RX_PACKETS,    /* u64 */
	OSTP_CTLA_TX_BYTES,      /* u64 */
	OSTP_CTLA_TX_PACKETS,    /* u64 */
	OSTP_CTLA_DROPS,         /* u64: queue + source + no route */
	OSTP_CTLA_N_SESSIONS,    /* u32 */
	__OSTP_CTLA_MAX,
};
#define OSTP_CTLA_MAX (__OSTP_CTLA_MAX - 1)

#endif
