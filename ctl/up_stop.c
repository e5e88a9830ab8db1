/* SPDX-License-Identifier: ISC */
/*
 * Undoing a failed `ostpctl up`: the daemon we started is stopped (its
 * TUN, with the addresses and routes on it, disappears with it), and
 * what it said before dying is shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "commands.h"
#include "ctlclient.h"
#include "rtnl.h"
#include "up.h"

#define STOP_GRACE_MS 3000

/* True once our child is gone (and reaped). */
static bool wait_child(struct up_run *u, uint64_t ms)
{
	uint64_t deadline = mono_ms() + ms;

	do {
		pid_t r = waitpid(u->pid, NULL, WNOHANG);

		if (r == u->pid || (r < 0 && errno == ECHILD)) {
			u->pid = 0;
			return true;
		}
	} while (ctl_tick(deadline));
	return false;
}

void up_rollback(struct up_run *u)
{
	struct rtnl h;

	if (u->pid > 0) {
		/* the authenticated close first: the server sees a clean end */
		int err = ctl_request(u->dir, u->ifname, OSTP_CTL_SHUTDOWN, NULL, NULL,
				      NULL, NULL, NULL, 0);

		if (err < 0 || !wait_child(u, STOP_GRACE_MS)) {
			kill(u->pid, SIGTERM);
			if (!wait_child(u, STOP_GRACE_MS)) {
				fprintf(stderr, "ostpctl: up %s: ostpd (PID %d) ignored SIGTERM, killing it\n",
					u->ifname, (int)u->pid);
				kill(u->pid, SIGKILL);
				waitpid(u->pid, NULL, 0);
				u->pid = 0;
			}
		}
	}
	if (rtnl_open(&h) == 0) {
		if (rtnl_link_exists(&h, u->ifname))
			fprintf(stderr, "ostpctl: up %s: warning: the interface still exists\n",
				u->ifname);
		rtnl_close(&h);
	}
}

void up_print_log_tail(const struct up_run *u, int lines)
{
	char buf[8192];
	ssize_t n;
	off_t from;
	int fd = open(u->log, O_RDONLY | O_CLOEXEC);
	char *p, *end;
	int seen = 0;

	if (fd < 0)
		return;
	from = lseek(fd, 0, SEEK_END);
	from = from - (off_t)sizeof(buf) + 1 > u->log_start
	       ? from - (off_t)sizeof(buf) + 1 : u->log_start;
	n = pread(fd, buf, sizeof(buf) - 1, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	end = buf + n;
	if (end > buf && end[-1] == '\n')
		*--end = '\0';
	/* back up to the start of the last `lines` lines */
	for (p = end; p > buf; p--)
		if (p[-1] == '\n' && ++seen == lines)
			break;
	while (p && *p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		fprintf(stderr, "  %s\n", p);
		p = nl ? nl + 1 : NULL;
	}
}
