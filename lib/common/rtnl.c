/* SPDX-License-Identifier: ISC */
#include "rtnl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Large enough that the kernel never truncates a dump message: it sizes
 * dump batches by the reader's buffer, up to 32 KiB. */
#define RTNL_BUF_SIZE 32768
/* Every request here is a header and at most a few small attributes. */
#define RTNL_REQ_SIZE 256

/* One request in flight: the caller's message callback and what the
 * control messages (ack, error, end of dump) reported. */
struct run {
	struct rtnl *h;
	mnl_cb_t cb;
	void *data;
	int cb_err;            /* first failure of cb, as -errno */
	bool done;             /* the final ack, error or NLMSG_DONE was seen */
};

static int ext_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NLMSGERR_ATTR_MAX) < 0)
		return MNL_CB_OK;
	if (type == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

/* The extended ack attributes follow the error header and, unless the
 * kernel capped it, a copy of our request's payload. */
static void save_ext_msg(struct rtnl *h, const struct nlmsghdr *nlh,
			 size_t offset)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    offset > mnl_nlmsg_get_payload_len(nlh))
		return;
	if (mnl_attr_parse(nlh, (unsigned)offset, ext_attr_cb, tb) < 0 ||
	    !tb[NLMSGERR_ATTR_MSG])
		return;
	snprintf(h->ext_msg, sizeof(h->ext_msg), "%s",
		 mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct run *run = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof(*e);

	run->done = true;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	save_ext_msg(run->h, nlh, MNL_ALIGN(offset));
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* A dump ends with NLMSG_DONE, whose payload is the dump's own status. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct run *run = data;
	int status = 0;

	run->done = true;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(status))
		memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
	if (status == 0)
		return MNL_CB_STOP;
	save_ext_msg(run->h, nlh, MNL_ALIGN(sizeof(status)));
	errno = status < 0 ? -status : status;
	return MNL_CB_ERROR;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int overrun_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	errno = ENOBUFS;
	return MNL_CB_ERROR;
}

/* A failing message callback must not abort the run: the rest of the
 * reply would stay queued and be read as the answer to the next request. */
static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct run *run = data;

	if (run->cb && run->cb(nlh, run->data) == MNL_CB_ERROR &&
	    run->cb_err == 0)
		run->cb_err = errno ? -errno : -EPROTO;
	return MNL_CB_OK;
}

/* Not const: libmnl 1.0.4 takes a non-const array. */
static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = noop_cb,
	[NLMSG_ERROR] = error_cb,
	[NLMSG_DONE] = done_cb,
	[NLMSG_OVERRUN] = overrun_cb,
};

static bool has_final(const char *buf, int len, uint32_t seq)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (nlh->nlmsg_seq == seq && (nlh->nlmsg_type == NLMSG_ERROR ||
					      nlh->nlmsg_type == NLMSG_DONE))
			return true;
	return false;
}

/* After libmnl gave up on a reply (interrupted dump, stray message),
 * read up to our final message so the socket is clean again. */
static void drain(struct rtnl *h, char *buf, int len, uint32_t seq)
{
	while (!has_final(buf, len, seq)) {
		ssize_t n = mnl_socket_recvfrom(h->nl, buf, RTNL_BUF_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		len = (int)n;
	}
}

static int fail(struct rtnl *h, int err)
{
	h->last_err = err;
	return err;
}

static int request(struct rtnl *h, struct nlmsghdr *nlh, mnl_cb_t cb,
		   void *data)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_BUF_SIZE];
	struct run run = { .h = h, .cb = cb, .data = data };
	uint32_t seq = ++h->seq;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	h->ext_msg[0] = '\0';
	h->last_err = 0;

	if (mnl_socket_sendto(h->nl, nlh, nlh->nlmsg_len) < 0)
		return fail(h, -errno);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(h->nl, buf, sizeof(buf));
		int ret;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(h, -errno);
		}
		errno = 0;
		ret = mnl_cb_run2(buf, (size_t)n, seq, h->portid, data_cb, &run,
				  ctl_cbs, NLMSG_MIN_TYPE);
		if (ret < 0) {
			int err = errno ? -errno : -EPROTO;

			if (!run.done)
				drain(h, buf, (int)n, seq);
			return fail(h, err);
		}
		if (ret == MNL_CB_STOP)
			return fail(h, run.cb_err);
	}
}

int rtnl_open(struct rtnl *h)
{
	int one = 1;

	memset(h, 0, sizeof(*h));
	h->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!h->nl)
		return -errno;
	if (mnl_socket_bind(h->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		rtnl_close(h);
		return err;
	}
	h->portid = mnl_socket_get_portid(h->nl);
	/* Both are optional: older kernels still answer, only less helpfully. */
	mnl_socket_setsockopt(h->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(h->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

void rtnl_close(struct rtnl *h)
{
	if (h->nl)
		mnl_socket_close(h->nl);
	h->nl = NULL;
}

const char *rtnl_strerror(const struct rtnl *h, int err)
{
	if (h && err != 0 && err == h->last_err && h->ext_msg[0])
		return h->ext_msg;
	return strerror(err < 0 ? -err : err);
}

/* Request buffers start zeroed: libmnl 1.0.4 leaves attribute padding
 * as it finds it, and stack garbage has no business in the kernel. */

/* ---- links ----------------------------------------------------------- */

static struct nlmsghdr *link_msg(char *buf, uint16_t type, unsigned ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return nlh;
}

static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 0 && n < IFNAMSIZ;
}

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	int *index = data;
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	ifi = mnl_nlmsg_get_payload(nlh);
	*index = ifi->ifi_index;
	return MNL_CB_OK;
}

int rtnl_link_index(struct rtnl *h, const char *name)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;
	int index = 0, err;

	if (!name_ok(name))
		return -EINVAL;
	nlh = link_msg(buf, RTM_GETLINK, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	err = request(h, nlh, link_index_cb, &index);
	if (err < 0)
		return err;
	return index > 0 ? index : fail(h, -ENODEV);
}

bool rtnl_link_exists(struct rtnl *h, const char *name)
{
	return rtnl_link_index(h, name) > 0;
}

int rtnl_link_set(struct rtnl *h, unsigned ifindex, bool up, unsigned mtu)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return request(h, nlh, NULL, NULL);
}

int rtnl_link_del(struct rtnl *h, const char *name)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;

	if (!name_ok(name))
		return -EINVAL;
	nlh = link_msg(buf, RTM_DELLINK, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return request(h, nlh, NULL, NULL);
}

/* ---- addresses --------------------------------------------------------- */

static int addr_msg(struct rtnl *h, uint16_t type, uint16_t flags,
		    unsigned ifindex, int family, const uint8_t *addr,
		    uint8_t prefixlen)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_REQ_SIZE] = { 0 };
	size_t alen = prefix_addr_len(family);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (!alen || prefixlen > alen * 8)
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	/* As iproute2 does: local and peer address equal means "no peer"
	 * even on a point-to-point link such as a TUN. */
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	return request(h, nlh, NULL, NULL);
}

int rtnl_addr_add(struct rtnl *h, unsigned ifindex, int family,
		  const uint8_t *addr, uint8_t prefixlen)
{
	return addr_msg(h, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex,
			family, addr, prefixlen);
}

int rtnl_addr_del(struct rtnl *h, unsigned ifindex, int family,
		  const uint8_t *addr, uint8_t prefixlen)
{
	return addr_msg(h, RTM_DELADDR, 0, ifindex, family, addr, prefixlen);
}

#define ATTRS_MAX (RTA_MAX > IFA_MAX ? RTA_MAX : IFA_MAX)

/* Attribute table plus what the validator needs to know. */
struct attrs {
	const struct nlattr *tb[ATTRS_MAX + 1];
	int max;
	size_t alen;
	const int *addr_types;  /* attributes holding an address, 0-ended */
	const int *u32_types;   /* attributes holding a u32, 0-ended */
};

static bool in_list(const int *list, int type)
{
	for (; *list; list++)
		if (*list == type)
			return true;
	return false;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, (uint16_t)a->max) < 0)
		return MNL_CB_OK;
	if (in_list(a->addr_types, type)) {
		if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, a->alen) < 0)
			return MNL_CB_ERROR;
	} else if (in_list(a->u32_types, type)) {
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
	} else {
		return MNL_CB_OK;   /* not read, so not kept */
	}
	a->tb[type] = attr;
	return MNL_CB_OK;
}

struct list_ctx {
	unsigned ifindex;
	rtnl_addr_fn addr_fn;
	rtnl_route_fn route_fn;
	void *ctx;
};

static void copy_addr(struct prefix *p, const struct nlattr *attr)
{
	memcpy(p->addr, mnl_attr_get_payload(attr), prefix_addr_len(p->family));
}

static int addr_list_cb(const struct nlmsghdr *nlh, void *data)
{
	static const int addr_types[] = { IFA_ADDRESS, IFA_LOCAL, 0 };
	static const int none[] = { 0 };
	struct list_ctx *lc = data;
	const struct ifaddrmsg *ifa;
	struct attrs a = { .max = IFA_MAX, .addr_types = addr_types,
			   .u32_types = none };
	const struct nlattr *addr;
	struct prefix p = { 0 };

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	ifa = mnl_nlmsg_get_payload(nlh);
	a.alen = prefix_addr_len(ifa->ifa_family);
	if (!a.alen || (lc->ifindex && ifa->ifa_index != lc->ifindex))
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &a) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* IFA_LOCAL is this host's side; IFA_ADDRESS may be a p2p peer. */
	addr = a.tb[IFA_LOCAL] ? a.tb[IFA_LOCAL] : a.tb[IFA_ADDRESS];
	if (!addr)
		return MNL_CB_OK;
	p.family = ifa->ifa_family;
	p.len = ifa->ifa_prefixlen;
	copy_addr(&p, addr);
	lc->addr_fn(lc->ctx, ifa->ifa_index, &p);
	return MNL_CB_OK;
}

int rtnl_addr_list(struct rtnl *h, unsigned ifindex, rtnl_addr_fn fn,
		   void *ctx)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct list_ctx lc = { .ifindex = ifindex, .addr_fn = fn, .ctx = ctx };

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	return request(h, nlh, addr_list_cb, &lc);
}

/* ---- routes ------------------------------------------------------------ */

static int route_msg(struct rtnl *h, uint16_t type, uint16_t flags,
		     uint8_t scope, unsigned ifindex, int family,
		     const uint8_t *dst, uint8_t prefixlen)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_REQ_SIZE] = { 0 };
	size_t alen = prefix_addr_len(family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!alen || prefixlen > alen * 8)
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = prefixlen;
	rtm->rtm_table = RT_TABLE_MAIN;
	/* Deletion with RTPROT_STATIC leaves routes others added alone. */
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = scope;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, alen, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return request(h, nlh, NULL, NULL);
}

int rtnl_route_add(struct rtnl *h, unsigned ifindex, int family,
		   const uint8_t *dst, uint8_t prefixlen)
{
	return route_msg(h, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
			 RT_SCOPE_LINK, ifindex, family, dst, prefixlen);
}

int rtnl_route_del(struct rtnl *h, unsigned ifindex, int family,
		   const uint8_t *dst, uint8_t prefixlen)
{
	/* RT_SCOPE_NOWHERE matches a route of any scope. */
	return route_msg(h, RTM_DELROUTE, 0, RT_SCOPE_NOWHERE, ifindex,
			 family, dst, prefixlen);
}

static int route_list_cb(const struct nlmsghdr *nlh, void *data)
{
	static const int addr_types[] = { RTA_DST, 0 };
	static const int u32_types[] = { RTA_OIF, RTA_TABLE, 0 };
	struct list_ctx *lc = data;
	const struct rtmsg *rtm;
	struct attrs a = { .max = RTA_MAX, .addr_types = addr_types,
			   .u32_types = u32_types };
	struct rtnl_route r = { 0 };
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	rtm = mnl_nlmsg_get_payload(nlh);
	a.alen = prefix_addr_len(rtm->rtm_family);
	if (!a.alen)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, &a) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* Table ids above 255 only fit in RTA_TABLE. */
	table = a.tb[RTA_TABLE] ? mnl_attr_get_u32(a.tb[RTA_TABLE])
				: rtm->rtm_table;
	if (table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	r.ifindex = a.tb[RTA_OIF] ? mnl_attr_get_u32(a.tb[RTA_OIF]) : 0;
	if (lc->ifindex && r.ifindex != lc->ifindex)
		return MNL_CB_OK;
	r.dst.family = rtm->rtm_family;
	r.dst.len = rtm->rtm_dst_len;
	if (a.tb[RTA_DST])
		copy_addr(&r.dst, a.tb[RTA_DST]);
	r.table = (uint8_t)table;
	r.protocol = rtm->rtm_protocol;
	r.scope = rtm->rtm_scope;
	r.type = rtm->rtm_type;
	lc->route_fn(lc->ctx, &r);
	return MNL_CB_OK;
}

int rtnl_route_list(struct rtnl *h, unsigned ifindex, rtnl_route_fn fn,
		    void *ctx)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	struct list_ctx lc = { .ifindex = ifindex, .route_fn = fn, .ctx = ctx };

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	return request(h, nlh, route_list_cb, &lc);
}

/* ---- configuration ----------------------------------------------------- */

int rtnl_link_apply(struct rtnl *h, unsigned ifindex, unsigned mtu,
		    const struct prefix *addrs, size_t n_addrs,
		    const struct prefix *routes, size_t n_routes,
		    char *err, size_t errlen)
{
	char txt[PREFIX_STRLEN];
	int rc = rtnl_link_set(h, ifindex, true, mtu);

	if (rc < 0) {
		snprintf(err, errlen, "set link up: %s", rtnl_strerror(h, rc));
		return rc;
	}
	for (size_t i = 0; i < n_addrs; i++) {
		const struct prefix *p = &addrs[i];

		rc = rtnl_addr_add(h, ifindex, p->family, p->addr, p->len);
		if (rc < 0 && rc != -EEXIST) {
			snprintf(err, errlen, "address %s: %s",
				 prefix_format(p, txt, sizeof(txt)), rtnl_strerror(h, rc));
			return rc;
		}
	}
	for (size_t i = 0; i < n_routes; i++) {
		const struct prefix *p = &routes[i];

		rc = rtnl_route_add(h, ifindex, p->family, p->addr, p->len);
		if (rc < 0 && rc != -EEXIST) {
			snprintf(err, errlen, "route %s: %s",
				 prefix_format(p, txt, sizeof(txt)), rtnl_strerror(h, rc));
			return rc;
		}
	}
	return 0;
}
