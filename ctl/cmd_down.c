/* SPDX-License-Identifier: ISC */
/*
 * ostpctl down IFNAME: ask the daemon to close every session with the
 * authenticated close and exit, then wait until its process and its
 * interface are gone.  The addresses and routes `up` checked live on the
 * interface, so they go with it.  Idempotent: a tunnel that is not up is
 * already down.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "commands.h"
#include "ctl.h"
#include "ctlclient.h"
#include "rtnl.h"

/* True once neither the process nor the interface is left. */
static bool gone(const struct ctl_proc *p, struct rtnl *h, const char *ifname)
{
	return !ctl_proc_alive(p) && !rtnl_link_exists(h, ifname);
}

int cmd_down(int argc, char **argv)
{
	char dir[PATH_MAX], msg[256];
	const char *ifname;
	struct ctl_info info;
	struct ctl_proc proc = { 0 };
	struct rtnl h;
	uint64_t deadline;
	int err;

	if (argc != 2)
		return ctl_usage_error("down");
	ifname = argv[1];
	if (!ctl_ifname_valid(ifname)) {
		fprintf(stderr, "ostpctl: down: bad interface name '%s'\n", ifname);
		return EXIT_USAGE;
	}
	if (ctl_need_root("down") < 0)
		return EXIT_FAIL;
	if (ctl_find_dir("down", ifname, dir, sizeof(dir)) < 0)
		return EXIT_USAGE;
	err = ctl_get_info(dir, ifname, &info, msg, sizeof(msg));
	if (ctl_not_running(err)) {
		printf("%s is not up\n", ifname);
		return 0;
	}
	if (err < 0) {
		fprintf(stderr, "ostpctl: down %s: %s\n", ifname, ctl_strerror(err, msg));
		return EXIT_FAIL;
	}
	/* identify the process before asking it to go, so a recycled PID is
	 * never mistaken for it */
	if (info.pid)
		ctl_proc_get((pid_t)info.pid, &proc);
	if ((err = rtnl_open(&h)) < 0) {
		fprintf(stderr, "ostpctl: down %s: rtnetlink: %s\n", ifname, strerror(-err));
		return EXIT_FAIL;
	}
	err = ctl_request(dir, ifname, OSTP_CTL_SHUTDOWN, NULL, NULL, NULL, NULL,
			  msg, sizeof(msg));
	/* an ostpd without SHUTDOWN does the same authenticated close on SIGTERM */
	if (err == -EOPNOTSUPP && proc.pid > 0 && ctl_proc_alive(&proc))
		err = kill(proc.pid, SIGTERM) < 0 ? -errno : 0;
	/* the daemon may exit before it finishes answering */
	if (err < 0 && !(err == -ECONNRESET && proc.pid > 0)) {
		fprintf(stderr, "ostpctl: down %s: %s\n", ifname, ctl_strerror(err, msg));
		rtnl_close(&h);
		return EXIT_FAIL;
	}
	deadline = mono_ms() + ctl_opts.wait_s * 1000ull;
	while (!gone(&proc, &h, ifname) && ctl_tick(deadline))
		;
	if (!gone(&proc, &h, ifname)) {
		if (ctl_proc_alive(&proc))
			fprintf(stderr, "ostpctl: down %s: ostpd (PID %d) still runs after %u s\n",
				ifname, (int)proc.pid, ctl_opts.wait_s);
		else
			fprintf(stderr, "ostpctl: down %s: the interface still exists after %u s\n",
				ifname, ctl_opts.wait_s);
		rtnl_close(&h);
		return EXIT_FAIL;
	}
	rtnl_close(&h);
	return 0;
}
