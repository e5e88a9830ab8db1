/* SPDX-License-Identifier: ISC */
/*
 * ostpctl route add|del PREFIX dev IFNAME [user NAME], route list:
 * the kernel route that sends PREFIX into the tunnel, and, with `user`,
 * the daemon's routing entry that says which session it goes to.  Input
 * is checked before anything changes; an add the daemon refuses takes the
 * kernel route back out, so either both tables change or neither.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ctl.h"
#include "ctlclient.h"
#include "check.h"
#include "rtnl.h"

struct route_req {
	const char *op;           /* "add", "del" */
	const char *prefix_txt;
	struct prefix p;
	char norm[PREFIX_STRLEN]; /* the prefix as the daemon is sent it */
	const char *dev;
	const char *user;
};

static void build_route(struct nlmsghdr *nlh, void *ctx)
{
	const struct route_req *r = ctx;

	mnl_attr_put_strz(nlh, OSTP_CTLA_PREFIX, r->norm);
	if (r->user)
		mnl_attr_put_strz(nlh, OSTP_CTLA_USER, r->user);
}

/* Keyword arguments after the prefix: dev IFNAME, user NAME. */
static int parse_args(int argc, char **argv, struct route_req *r)
{
	char what[32];

	snprintf(what, sizeof(what), "route %s", r->op);
	if (argc < 3)
		return ctl_usage_error("route");
	r->prefix_txt = argv[2];
	for (int i = 3; i < argc; i += 2) {
		if (i + 1 >= argc)
			return ctl_usage_error("route");
		if (strcmp(argv[i], "dev") == 0 && !r->dev)
			r->dev = argv[i + 1];
		else if (strcmp(argv[i], "user") == 0 && !r->user)
			r->user = argv[i + 1];
		else
			return ctl_usage_error("route");
	}
	if (!check_prefix(what, r->prefix_txt, &r->p))
		return EXIT_USAGE;
	prefix_format(&r->p, r->norm, sizeof(r->norm));
	if (!r->dev) {
		fprintf(stderr, "ostpctl: %s: 'dev IFNAME' is required\n", what);
		return EXIT_USAGE;
	}
	if (!ctl_ifname_valid(r->dev)) {
		fprintf(stderr, "ostpctl: %s: bad interface name '%s'\n", what, r->dev);
		return EXIT_USAGE;
	}
	if (r->user && !check_name(what, "user name", r->user))
		return EXIT_USAGE;
	return 0;
}

static int daemon_route(const char *dir, struct route_req *r, uint16_t cmd)
{
	char msg[256];
	int err = ctl_request(dir, r->dev, cmd, build_route, r, NULL, NULL, msg, sizeof(msg));

	if (err < 0)
		fprintf(stderr, "ostpctl: route %s %s user %s: %s\n", r->op, r->norm, r->user,
			ctl_not_running(err) ? "the daemon of this interface is not running"
					     : ctl_strerror(err, msg));
	return err;
}

static int change(int argc, char **argv, bool add)
{
	struct route_req r = { .op = add ? "add" : "del" };
	char dir[PATH_MAX];
	struct ctl_info info;
	struct rtnl h;
	int rc, idx, err;
	bool added = false;

	if ((rc = parse_args(argc, argv, &r)) != 0)
		return rc;
	if (ctl_need_root(add ? "route add" : "route del") < 0)
		return EXIT_FAIL;
	if (ctl_find_dir(add ? "route add" : "route del", r.dev, dir, sizeof(dir)) < 0)
		return EXIT_USAGE;
	/* the daemon must be there before the kernel table changes */
	if (r.user && (err = ctl_get_info(dir, r.dev, &info, NULL, 0)) < 0) {
		fprintf(stderr, "ostpctl: route %s: %s: %s\n", r.op, r.dev,
			ctl_not_running(err) ? "not up (no daemon answers)" : ctl_strerror(err, NULL));
		return EXIT_FAIL;
	}
	if ((err = rtnl_open(&h)) < 0) {
		fprintf(stderr, "ostpctl: route %s: rtnetlink: %s\n", r.op, strerror(-err));
		return EXIT_FAIL;
	}
	rc = EXIT_FAIL;
	idx = rtnl_link_index(&h, r.dev);
	if (idx <= 0) {
		fprintf(stderr, "ostpctl: route %s: no interface '%s'\n", r.op, r.dev);
		goto out;
	}
	err = add ? rtnl_route_add(&h, (unsigned)idx, r.p.family, r.p.addr, r.p.len)
		  : rtnl_route_del(&h, (unsigned)idx, r.p.family, r.p.addr, r.p.len);
	/* with a user the point is the daemon's entry: a kernel route that is
	 * already there (or already gone) is fine */
	if (err < 0 && !(r.user && err == (add ? -EEXIST : -ESRCH))) {
		fprintf(stderr, "ostpctl: route %s %s dev %s: %s\n", r.op, r.norm, r.dev,
			err == -ESRCH ? "no such route" : rtnl_strerror(&h, err));
		goto out;
	}
	added = add && err == 0;
	if (r.user && daemon_route(dir, &r, add ? OSTP_CTL_ROUTE_ADD : OSTP_CTL_ROUTE_DEL) < 0) {
		if (added && (err = rtnl_route_del(&h, (unsigned)idx, r.p.family, r.p.addr,
						   r.p.len)) < 0)
			fprintf(stderr, "ostpctl: route add: removing the kernel route again: %s\n",
				rtnl_strerror(&h, err));
		goto out;
	}
	rc = 0;
out:
	rtnl_close(&h);
	return rc;
}

int cmd_route(int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_error("route");
	if (strcmp(argv[1], "add") == 0)
		return change(argc, argv, true);
	if (strcmp(argv[1], "del") == 0 || strcmp(argv[1], "delete") == 0)
		return change(argc, argv, false);
	if (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "show") == 0)
		return route_list(argc, argv);
	fprintf(stderr, "ostpctl: route: unknown command '%s'\n", argv[1]);
	return ctl_usage_error("route");
}
