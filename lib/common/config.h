/* SPDX-License-Identifier: ISC */
/* ostpd's configuration file (docs/ostpd.conf.5), parsed with libconfuse
 * into plain structures that the daemon and ostpctl read without ever
 * seeing libconfuse. */
#ifndef OSTP_COMMON_CONFIG_H
#define OSTP_COMMON_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "endpoint.h"
#include "ostp.h"
#include "prefix.h"

/* Names (users and peers) are at most OSTP_USER_MAX bytes, and one
 * interface or user has at most OSTP_CONFIG_ADDR_MAX addresses: what one
 * CONFIG record can push (ostp.h). */

enum ostpd_log_target { OSTPD_LOG_STDERR, OSTPD_LOG_SYSLOG };
enum ostpd_log_level {
	OSTPD_LOG_DEBUG, OSTPD_LOG_INFO, OSTPD_LOG_WARN, OSTPD_LOG_ERROR,
};

/* Listening endpoints of one server or mesh section at most (ostpd's
 * listener takes this many). */
#define CONFIG_LISTEN_MAX 8

struct ostpd_user {
	char name[OSTP_USER_MAX + 1];
	struct prefix addr[OSTP_CONFIG_ADDR_MAX];  /* pushed to the client */
	size_t n_addr;
	struct prefix *allowed_ips;           /* network prefixes */
	size_t n_allowed_ips;
	uint16_t spw;                         /* permitted OSTP_SPW_* bits */
	bool has_key;                         /* a member: its identity key */
	uint8_t key[32];
};

struct ostpd_server {
	struct endpoint *listen;
	size_t n_listen;
	char *trust_file;
	char *password_file;                  /* "" when pam_service is set */
	char *pam_service;                    /* "" = the password file */
	char *pam_confdir;                    /* "" = the system's PAM directory */
	bool require_auth;
	uint16_t spw;                         /* supported OSTP_SPW_* bits */
	unsigned max_sessions;
	unsigned handshake_timeout;           /* seconds */
	/* admission control (tund/admit.h) */
	unsigned max_unauth;
	unsigned max_unauth_per_source;
	unsigned max_logins_per_source;
	unsigned max_logins_per_user;
	unsigned penalty_authfail;            /* seconds */
	unsigned penalty_noauth;
	unsigned penalty_min;
	unsigned penalty_max;
	struct prefix *penalty_exempt;        /* network prefixes */
	size_t n_penalty_exempt;
	unsigned source_prefix4, source_prefix6;
	unsigned max_sources;
	struct ostpd_user *users;
	size_t n_users;
};

/* The member role (client with a mesh section): direct links to the
 * other members the OCS vouches for (tund/mesh.c). */
struct ostpd_mesh {
	struct endpoint *listen;              /* where members dial us; none: dial only */
	size_t n_listen;
	bool have_announce;                   /* else: the address the OCS sees, first listen port */
	struct endpoint announce;
	unsigned keepalive_ms;                /* a link's silence before it is probed */
	unsigned dead_ms;                     /* ... and before it is given up */
	unsigned handshake_ms;
	unsigned dial_delay_ms;               /* the higher key waits this long for the lower's dial */
	unsigned redial_max;                  /* seconds: the longest wait between dials */
	unsigned idle_timeout;                /* seconds without packets before a link closes; 0 never */
	unsigned max_links;
	unsigned list_max_age;                /* seconds the list is used without the OCS */
};

struct ostpd_client {
	struct endpoint server;
	bool have_server_key;
	uint8_t server_key[32];
	char *known_hosts;
	bool trust_on_first_use;
	char username[OSTP_USER_MAX + 1];   /* "" = no authentication */
	char *password_file;                  /* "" when no username */
	uint16_t spw;                         /* requested OSTP_SPW_* bits */
	bool quick;
	bool peers;
	unsigned keepalive;                   /* seconds */
	unsigned dead_after;
	unsigned reconnect_min;
	unsigned reconnect_max;
	struct prefix *routes;                /* network prefixes */
	size_t n_routes;
	bool mesh;                            /* a mesh section: this client is a member */
	struct ostpd_mesh m;
};

struct ostpd_peer {
	char name[OSTP_USER_MAX + 1];
	struct endpoint endpoint;
	uint8_t key[32];
	struct prefix *allowed_ips;           /* network prefixes */
	size_t n_allowed_ips;
};

struct ostpd_config {
	char interface[IFNAMSIZ];
	unsigned mtu;
	unsigned busy_poll_us;                /* 0 = sleep in epoll_wait at once */
	struct prefix addr[OSTP_CONFIG_ADDR_MAX];
	size_t n_addr;
	char *user_name;                      /* "" = stay root */
	enum ostpd_log_target log;
	enum ostpd_log_level log_level;
	char *control_dir;
	char *identity_key;
	char *key_log;                        /* "" = off; see ostpd.conf(5) */
	bool has_server;
	struct ostpd_server server;
	bool has_client;
	struct ostpd_client client;
	struct ostpd_peer *peers;
	size_t n_peers;
};

/* Returns 0, or -errno with "file:line: what is wrong" in errbuf (only
 * "file: ..." when the file cannot be read): the -errno of reading it
 * (read_text_file(), textfile.h: -ENOENT, -EFBIG over 1 MiB, ...),
 * -EINVAL for contents that do not parse or do not make a configuration,
 * -ENOMEM, -EIO when libsodium cannot initialise.  *out needs
 * config_free() only after success.  Not reentrant: libconfuse's scanner
 * is global. */
int config_load(struct ostpd_config *out, const char *path, char *errbuf,
		size_t errlen);
/* Writes every setting, defaults included, in the file's own syntax:
 * loading the output gives back an equal configuration. */
void config_print(const struct ostpd_config *c, FILE *fp);
void config_free(struct ostpd_config *c);

/* SPW bit names as written in the file, and back (lookups: false and
 * NULL mean "no such name", not a failure). */
bool config_spw_bit(const char *name, uint16_t *bit);
const char *config_spw_name(uint16_t bit);

#endif
