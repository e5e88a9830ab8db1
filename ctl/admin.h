/* SPDX-License-Identifier: ISC */
/*
 * What `trust` and `passwd` share: both edit a server's files named in its
 * configuration and then have the running daemon, if any, re-read them.
 */
#ifndef OSTPCTL_ADMIN_H
#define OSTPCTL_ADMIN_H

struct ostpd_config;

/* Splits "USER [dev IFNAME]" (argv[0] is USER): 0, or -1 for anything
 * else (the caller prints the usage). */
int admin_user_dev(int argc, char **argv, const char **user, const char **dev);
/* Checks a user name given on the command line; prints
 * "ostpctl: WHAT: invalid user name 'X'" and returns -1 when it is bad. */
int admin_check_user(const char *what, const char *user);
/* Loads the configuration of the interface `dev` names, else of -c FILE,
 * else of the only daemon running in /run/ostp, and requires its server
 * section.  0, or the exit status after printing why.  cfg needs
 * config_free() only after success. */
int admin_config(const char *what, const char *dev, struct ostpd_config *cfg);
/* Asks cfg's daemon to re-read the trusted users list and the password
 * file; a daemon that is not running reads them when it starts, so that is
 * not an error.  0, or EXIT_FAIL after printing why. */
int admin_reload(const char *what, const struct ostpd_config *cfg);

#endif
