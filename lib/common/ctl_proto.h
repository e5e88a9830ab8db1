/* SPDX-License-Identifier: ISC */
/*
 * ostpd's control protocol (docs/CONTROL.md): netlink-format messages on
 * a SOCK_SEQPACKET Unix socket, one request per connection.  Shared by
 * ostpd and ostpctl; requests are parsed by tund/ctlreq.c.
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
	OSTP_CTL_SHUTDOWN,                   /* close every session, remove the interface, exit */
	OSTP_CTL_ROUTE_ADD,                  /* PREFIX, USER: the prefix belongs to USER's sessions */
	OSTP_CTL_ROUTE_DEL,                  /* PREFIX (USER optional) */
	OSTP_CTL_ROUTE_LIST,                 /* NLM_F_MULTI: PREFIX, USER, ORIGIN */
	OSTP_CTL_PEER_ADD,                   /* PEER_NAME, ENDPOINT, PUBKEY, ALLOWED */
	OSTP_CTL_PEER_DEL,                   /* PEER_NAME */
	OSTP_CTL_PEER_LIST,                  /* NLM_F_MULTI: PEER_NAME, ENDPOINT, PUBKEY, ALLOWED, ORIGIN */
	OSTP_CTL_MESH_LIST,                  /* NLM_F_MULTI: one per mesh member (docs/CONTROL.md) */
	__OSTP_CTL_MAX,
};
#define OSTP_CTL_MAX (__OSTP_CTL_MAX - 1)

enum ostp_ctl_attr {
	OSTP_CTLA_UNSPEC,
	OSTP_CTLA_IFNAME,        /* string */
	OSTP_CTLA_PUBKEY,        /* 32 bytes */
	OSTP_CTLA_LISTEN_PORT,   /* u16 */
	OSTP_CTLA_USER,          /* string */
	OSTP_CTLA_ENDPOINT,      /* string */
	OSTP_CTLA_ROLE,          /* u8: 0 accepted client, 1 our upstream server, 2 mesh link */
	OSTP_CTLA_SPW,           /* u16 */
	OSTP_CTLA_UP_MS,         /* u64: milliseconds since established, 0 = handshaking */
	OSTP_CTLA_RX_BYTES,      /* u64 */
	OSTP_CTLA_RX_PACKETS,    /* u64 */
	OSTP_CTLA_TX_BYTES,      /* u64 */
	OSTP_CTLA_TX_PACKETS,    /* u64 */
	OSTP_CTLA_DROPS,         /* u64: queue + source + no route */
	OSTP_CTLA_N_SESSIONS,    /* u32 */
	OSTP_CTLA_PID,           /* u32: the daemon's process id */
	OSTP_CTLA_ROLE_FLAGS,    /* u8: bit 0 server, bit 1 client */
	OSTP_CTLA_PREFIX,        /* string "198.18.10.0/24" */
	OSTP_CTLA_ORIGIN,        /* u8: 0 configuration file, 1 added at run time */
	OSTP_CTLA_PEER_NAME,     /* string */
	OSTP_CTLA_ALLOWED,       /* string: prefixes separated by ',' */
	OSTP_CTLA_ADDRS,         /* string: the session's inner addresses, ' '-separated */
	OSTP_CTLA_SERVER_KEY,    /* 32 bytes: the key of our upstream server */
	OSTP_CTLA_DROP_QUEUE,    /* u64 */
	OSTP_CTLA_DROP_SOURCE,   /* u64 */
	OSTP_CTLA_CONFIG_PATH,   /* string */
	OSTP_CTLA_LAST_ERROR,    /* string: why the upstream session last failed, "" if it did not */
	OSTP_CTLA_UP,            /* u8: client role: 1 when the upstream session is established */
	OSTP_CTLA_N_MEMBERS,     /* u32: a mesh member's count of other members (absent: no member) */
	OSTP_CTLA_PATH,          /* u8: a member's path: 0 down, 1 relay via the OCS, 2 direct */
	OSTP_CTLA_LISTENS,       /* string: where a member accepts links, "" if it does not */
	OSTP_CTLA_LINK_AGE_MS,   /* u64: since the direct link was established, plus one; 0 none */
	OSTP_CTLA_HANDSHAKE_AGO_MS, /* u64: since the member's latest handshake; 0 never */
	OSTP_CTLA_RTT_US,        /* u32: TCP's smoothed RTT on the direct link; 0 none */
	OSTP_CTLA_FAILOVERS,     /* u32: direct paths to the member lost */
	OSTP_CTLA_DIALER,        /* u8: 1 we dialed the current link, 0 it did (or none) */
	OSTP_CTLA_AEAD_ENGINE,   /* string: GET_INFO: the AES-GCM engine, "openssl" or "libsodium" */
	__OSTP_CTLA_MAX,
};
#define OSTP_CTLA_MAX (__OSTP_CTLA_MAX - 1)

#endif
