/* SPDX-License-Identifier: ISC */
/*
 * ostpctl subcommands, one file each.  Every command returns the process
 * exit status: 0 success, 1 usage error, 2 a failure from the kernel or
 * the daemon.  Errors are printed as "ostpctl: what failed: why".
 */
#ifndef OSTPCTL_COMMANDS_H
#define OSTPCTL_COMMANDS_H

#define EXIT_USAGE 1
#define EXIT_FAIL  2

/* Global options, set by main.c before a command runs. */
struct ctl_opts {
	const char *config;      /* -c FILE, NULL: /etc/ostp/IFNAME.conf */
	unsigned wait_s;         /* --wait SECONDS (default 10) */
	int json;                /* --json */
};
extern struct ctl_opts ctl_opts;

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_peer(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_genkey(int argc, char **argv);
int cmd_pubkey(int argc, char **argv);

/* Shared helpers (ctl/util.c). */
void ctl_err(const char *what, const char *why);
/* Loads the configuration for IFNAME (ctl_opts.config or
 * /etc/ostp/IFNAME.conf); 0 or prints the error and returns -1. */
struct ostpd_config;
int ctl_load_config(const char *ifname, struct ostpd_config *cfg);
/* Requires root; prints "ostpctl: WHAT: must be run as root" otherwise. */
int ctl_need_root(const char *what);

#endif
