/* SPDX-License-Identifier: ISC */
/* The state of one `ostpctl up` (cmd_up.c) and its rollback (up_stop.c). */
#ifndef OSTPCTL_UP_H
#define OSTPCTL_UP_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "ctl.h"

struct ostpd_config;

struct up_run {
	const char *ifname;
	const struct ostpd_config *cfg;
	char dir[PATH_MAX];        /* the daemon's control directory */
	char log[PATH_MAX];        /* dir/IFNAME.log: the daemon's output */
	off_t log_start;           /* where this run's output begins */
	pid_t pid;                 /* the daemon we started, 0 once reaped */
	bool answered;             /* its control socket answered once */
	bool died;                 /* it exited on its own; status below */
	int status;
	struct ctl_info info;      /* its last GET_INFO */
	char reason[PATH_MAX + 512]; /* why up failed, "" = ask the daemon */
};

/* Stops the daemon we started: SHUTDOWN, then SIGTERM, then SIGKILL,
 * 3 s apart, and reaps it. */
void up_rollback(struct up_run *u);
/* The last lines this run wrote to the log, indented, on stderr. */
void up_print_log_tail(const struct up_run *u, int lines);

#endif
