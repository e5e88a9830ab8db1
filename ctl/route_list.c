/* SPDX-License-Identifier: ISC */
/*
 * ostpctl route list [dev IFNAME]: the kernel's main-table routes out of
 * each tunnel interface, merged with the daemon's routing table, one line
 * per route:
 *
 *   PREFIX dev IFNAME [proto P] [user NAME origin config|runtime]
 *
 * "proto" appears when the kernel has the route, "user" when the daemon
 * has an owner for it; a prefix only the daemon knows has no "proto".
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ctl.h"
#include "ctlclient.h"
#include "fmt.h"
#include "rtnl.h"

struct droute {
	struct prefix p;
	char txt[PREFIX_STRLEN];
	char user[OSTP_USER_MAX + 1];
	int origin;          /* -1 unknown */
	bool matched;        /* printed with a kernel route */
};

struct list {
	const char *dir;
	struct rtnl *h;
	bool explicit_dev;
	int rc;
	struct droute *d;
	size_t nd, capd;
	struct rtnl_route *k;
	size_t nk, capk;
};

static bool grow(void **v, size_t *cap, size_t n, size_t elem)
{
	void *nv;

	if (n < *cap)
		return true;
	nv = realloc(*v, (*cap ? *cap * 2 : 16) * elem);
	if (!nv)
		return false;
	*v = nv;
	*cap = *cap ? *cap * 2 : 16;
	return true;
}

static int droute_cb(const struct nlattr *tb[OSTP_CTLA_MAX + 1], void *ctx)
{
	struct list *l = ctx;
	struct droute *r;

	if (!tb[OSTP_CTLA_PREFIX])
		return 0;
	if (!grow((void **)&l->d, &l->capd, l->nd, sizeof(*l->d)))
		return -ENOMEM;
	r = &l->d[l->nd++];
	memset(r, 0, sizeof(*r));
	snprintf(r->txt, sizeof(r->txt), "%s", mnl_attr_get_str(tb[OSTP_CTLA_PREFIX]));
	/* unparsable text still gets listed, it just matches nothing */
	parse_prefix(r->txt, &r->p.family, r->p.addr, &r->p.len);
	if (tb[OSTP_CTLA_USER])
		snprintf(r->user, sizeof(r->user), "%s", mnl_attr_get_str(tb[OSTP_CTLA_USER]));
	r->origin = tb[OSTP_CTLA_ORIGIN] ? mnl_attr_get_u8(tb[OSTP_CTLA_ORIGIN]) : -1;
	return 0;
}

static void kroute_cb(void *ctx, const struct rtnl_route *route)
{
	struct list *l = ctx;

	if (grow((void **)&l->k, &l->capk, l->nk, sizeof(*l->k)))
		l->k[l->nk++] = *route;
}

static bool same(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr, b->addr, prefix_addr_len(a->family)) == 0;
}

static void print_owner(const struct droute *r)
{
	char safe[sizeof(r->user)];

	printf(" user %s", r->user[0] ? fmt_safe(safe, sizeof(safe), r->user) : "(none)");
	if (r->origin >= 0)
		printf(" origin %s", r->origin ? "runtime" : "config");
}

static const char *proto_name(unsigned p, char *buf, size_t size)
{
	switch (p) {
	case RTPROT_KERNEL: return "kernel";
	case RTPROT_BOOT: return "boot";
	case RTPROT_STATIC: return "static";
	}
	snprintf(buf, size, "%u", p);
	return buf;
}

static void print_routes(const char *ifname, struct list *l)
{
	char txt[PREFIX_STRLEN], pbuf[16];

	for (size_t i = 0; i < l->nk; i++) {
		const struct rtnl_route *k = &l->k[i];

		printf("%s dev %s proto %s", prefix_format(&k->dst, txt, sizeof(txt)), ifname,
		       proto_name(k->protocol, pbuf, sizeof(pbuf)));
		for (size_t j = 0; j < l->nd; j++) {
			if (same(&k->dst, &l->d[j].p)) {
				print_owner(&l->d[j]);
				l->d[j].matched = true;
			}
		}
		putchar('\n');
	}
	for (size_t j = 0; j < l->nd; j++) {
		if (l->d[j].matched)
			continue;
		printf("%s dev %s", fmt_safe(txt, sizeof(txt), l->d[j].txt), ifname);
		print_owner(&l->d[j]);
		putchar('\n');
	}
}

static void list_one(const char *ifname, void *ctx)
{
	struct list *l = ctx;
	char msg[256];
	int idx = rtnl_link_index(l->h, ifname), err;

	l->nd = l->nk = 0;
	if (idx <= 0) {
		/* a listed socket whose daemon died is no interface to list */
		if (l->explicit_dev || idx != -ENODEV) {
			fprintf(stderr, "ostpctl: route list: no interface '%s'\n", ifname);
			l->rc = EXIT_FAIL;
		}
		return;
	}
	err = rtnl_route_list(l->h, (unsigned)idx, kroute_cb, l);
	if (err < 0) {
		fprintf(stderr, "ostpctl: route list: %s: %s\n", ifname, rtnl_strerror(l->h, err));
		l->rc = EXIT_FAIL;
		return;
	}
	/* kernel routes alone when no daemon (or an older one) answers */
	err = ctl_request(l->dir, ifname, OSTP_CTL_ROUTE_LIST, NULL, NULL, droute_cb, l,
			  msg, sizeof(msg));
	if (err < 0 && !ctl_not_running(err) && err != -EOPNOTSUPP) {
		fprintf(stderr, "ostpctl: route list: %s: daemon: %s\n", ifname,
			ctl_strerror(err, msg));
		l->rc = EXIT_FAIL;
		l->nd = 0;
	}
	print_routes(ifname, l);
	fflush(stdout);
}

int route_list(int argc, char **argv)
{
	char dir[PATH_MAX];
	struct rtnl h;
	struct list l = { .dir = dir, .h = &h };
	const char *dev = NULL;
	int err, n;

	if (argc == 4 && strcmp(argv[2], "dev") == 0)
		dev = argv[3];
	else if (argc != 2)
		return ctl_usage_error("route");
	if (dev && !ctl_ifname_valid(dev)) {
		fprintf(stderr, "ostpctl: route list: bad interface name '%s'\n", dev);
		return EXIT_USAGE;
	}
	if (ctl_find_dir("route list", dev, dir, sizeof(dir)) < 0)
		return EXIT_USAGE;
	if ((err = rtnl_open(&h)) < 0) {
		fprintf(stderr, "ostpctl: route list: rtnetlink: %s\n", strerror(-err));
		return EXIT_FAIL;
	}
	l.explicit_dev = dev != NULL;
	if (dev) {
		list_one(dev, &l);
	} else if ((n = ctl_list_ifaces(dir, list_one, &l)) < 0 && n != -ENOENT) {
		fprintf(stderr, "ostpctl: route list: %s: %s\n", dir, strerror(-n));
		l.rc = EXIT_FAIL;
	}
	rtnl_close(&h);
	free(l.d);
	free(l.k);
	return l.rc;
}
