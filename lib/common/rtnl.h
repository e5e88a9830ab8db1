/* SPDX-License-Identifier: ISC */
/* Links, addresses and routes over rtnetlink (libmnl), for ostpd and
 * ostpctl.  Every request asks for an acknowledgement and waits for it,
 * so a function returning 0 means the kernel applied the change.
 * Errors are negative errno values; rtnl_strerror() explains them. */
#ifndef OSTP_COMMON_RTNL_H
#define OSTP_COMMON_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

struct mnl_socket;

struct rtnl {
	struct mnl_socket *nl;
	uint32_t seq;
	uint32_t portid;
	int last_err;          /* error the message below belongs to */
	char ext_msg[256];     /* kernel's extended ack text, "" if none */
};

/* A route as listed by rtnl_route_list(). */
struct rtnl_route {
	struct prefix dst;
	unsigned ifindex;
	uint8_t table;
	uint8_t protocol;     /* RTPROT_* */
	uint8_t scope;        /* RT_SCOPE_* */
	uint8_t type;         /* RTN_* */
};

typedef void (*rtnl_addr_fn)(void *ctx, unsigned ifindex,
			     const struct prefix *addr);
typedef void (*rtnl_route_fn)(void *ctx, const struct rtnl_route *route);

int rtnl_open(struct rtnl *h);
void rtnl_close(struct rtnl *h);
/* The kernel's extended ack message when err came with one, else
 * strerror(-err).  Valid until the next request on h. */
const char *rtnl_strerror(const struct rtnl *h, int err);

/* Returns the ifindex (> 0) or -errno (-ENODEV when there is none). */
int rtnl_link_index(struct rtnl *h, const char *name);
bool rtnl_link_exists(struct rtnl *h, const char *name);
/* mtu 0 leaves the MTU unchanged. */
int rtnl_link_set(struct rtnl *h, unsigned ifindex, bool up, unsigned mtu);
int rtnl_link_del(struct rtnl *h, const char *name);

/* addr holds 4 bytes for AF_INET, 16 for AF_INET6. */
int rtnl_addr_add(struct rtnl *h, unsigned ifindex, int family,
		  const uint8_t *addr, uint8_t prefixlen);
int rtnl_addr_del(struct rtnl *h, unsigned ifindex, int family,
		  const uint8_t *addr, uint8_t prefixlen);
/* Calls fn for each address of ifindex (every link when 0). */
int rtnl_addr_list(struct rtnl *h, unsigned ifindex, rtnl_addr_fn fn,
		   void *ctx);

/* Main table, RTPROT_STATIC, scope link: the prefix is reached directly
 * through the tunnel interface, no gateway. */
int rtnl_route_add(struct rtnl *h, unsigned ifindex, int family,
		   const uint8_t *dst, uint8_t prefixlen);
int rtnl_route_del(struct rtnl *h, unsigned ifindex, int family,
		   const uint8_t *dst, uint8_t prefixlen);
/* Calls fn for each main-table route out of ifindex (every link when 0). */
int rtnl_route_list(struct rtnl *h, unsigned ifindex, rtnl_route_fn fn,
		    void *ctx);

/* What a configuration asks of its interface, in order: the link up (with
 * mtu unless 0), then each address, then each route (rtnl_route_add).  An
 * address or route already there counts as added, so running it again,
 * or after the daemon did it, changes nothing.  Stops at the first
 * failure: 0, or -errno with "set link up: why", "address PREFIX: why" or
 * "route PREFIX: why" in err. */
int rtnl_link_apply(struct rtnl *h, unsigned ifindex, unsigned mtu,
		    const struct prefix *addrs, size_t n_addrs,
		    const struct prefix *routes, size_t n_routes,
		    char *err, size_t errlen);

#endif
