/* SPDX-License-Identifier: ISC */
/*
 * Helpers shared by the daemon-facing ostpctl commands (up, down, show,
 * dump, route, peer): where a daemon's socket is, what GET_INFO and
 * GET_SESSIONS say, and whether a daemon process still runs.
 */
#ifndef OSTPCTL_CTL_H
#define OSTPCTL_CTL_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ostp.h"

#define CTL_DEFAULT_DIR "/run/ostp"
#define CTL_CONF_DIR    "/etc/ostp"

/* main.c: the usage of one object ("route"), or of all when NULL. */
void ctl_usage(FILE *fp, const char *object);
/* main.c: usage of OBJECT on stderr, then EXIT_USAGE. */
int ctl_usage_error(const char *object);

/* route_list.c: ostpctl route list [dev IFNAME] */
int route_list(int argc, char **argv);

/* iface.c ----------------------------------------------------------------- */

/* A name usable as an interface and as a socket file name. */
bool ctl_ifname_valid(const char *name);
/* The control directory of IFNAME's daemon: -c FILE's control_dir, else
 * that of /etc/ostp/IFNAME.conf when it loads, else /run/ostp.  With
 * ifname NULL only -c is consulted.  0, or -1 after printing why (-c FILE
 * does not load, or configures another interface).  what prefixes the
 * error. */
int ctl_find_dir(const char *what, const char *ifname, char *dir, size_t size);
/* Calls fn for every IFNAME.sock in dir, sorted by name; returns how many
 * names there were, or -errno when dir cannot be read (-ENOENT: none). */
int ctl_list_ifaces(const char *dir, void (*fn)(const char *ifname, void *ctx),
		    void *ctx);
/* The single interface of dir for commands whose `dev` is optional:
 * 0, or prints why not and returns the exit status. */
int ctl_only_iface(const char *what, const char *dir, char *ifname, size_t size);

/* A process identity that survives PID reuse: the PID plus its start time. */
struct ctl_proc {
	pid_t pid;
	unsigned long long start;
};
int ctl_proc_get(pid_t pid, struct ctl_proc *p);
/* True while it runs (a zombie counts as gone). */
bool ctl_proc_alive(const struct ctl_proc *p);
/* Sleeps 100 ms; false once the deadline (mono_ms(), clock.h) passed. */
bool ctl_tick(uint64_t deadline_ms);

/* ctlclient.c: GET_INFO and GET_SESSIONS as plain structures ------------- */

struct ctl_info {
	char ifname[IFNAMSIZ];
	bool have_pubkey, have_port, have_pid, have_roles, have_server_key;
	bool have_up, up;
	uint8_t pubkey[32], server_key[32];
	uint16_t port;
	uint32_t n_sessions;
	uint32_t pid;           /* PID attribute, else the socket's peer PID */
	uint8_t roles;          /* bit 0 server, bit 1 client */
	char config_path[PATH_MAX];
	char last_error[256];
	bool have_members;      /* a mesh member: MESH_LIST has something to say */
	uint32_t n_members;
	char aead_engine[16];   /* "" from a daemon that does not say */
};

struct ctl_session {
	char user[OSTP_USER_MAX + 1];
	char endpoint[64];
	char addrs[512];        /* ' '-separated, "" when unknown */
	uint8_t role;           /* 0 accepted client, 1 our upstream server, 2 mesh link */
	uint16_t spw;
	uint64_t up_ms;         /* 0 = handshaking, else ms since up + 1 */
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets, drops;
	bool have_drop_detail;
	uint64_t drop_queue, drop_source;
};

/* The PID of the daemon at the other end of the last connected request
 * (SO_PEERCRED), 0 when unknown: the fallback for a daemon that does not
 * send OSTP_CTLA_PID. */
extern pid_t ctl_peer_pid;

int ctl_get_info(const char *dir, const char *ifname, struct ctl_info *info,
		 char *msg, size_t msglen);
/* *out is malloc'ed (free it); *n sessions. */
int ctl_get_sessions(const char *dir, const char *ifname,
		     struct ctl_session **out, size_t *n, char *msg, size_t msglen);

/* mesh_list.c: MESH_LIST, one entry per other member of the mesh */
enum ctl_mesh_path { CTL_PATH_DOWN, CTL_PATH_RELAY, CTL_PATH_DIRECT };

struct ctl_member {
	char name[OSTP_USER_MAX + 1];
	bool have_key;
	uint8_t key[32];
	char prefixes[1024];    /* ','-separated */
	uint8_t path;           /* enum ctl_mesh_path; a newer daemon may send more */
	char endpoint[64];      /* the link's remote address, "" without one */
	char listens[64];       /* where it accepts links, "" if it does not */
	bool dialer;            /* we dialed the link */
	uint64_t link_age_ms;   /* ms since the link was established plus one; 0 none */
	uint64_t handshake_ms;  /* ms since the latest handshake plus one; 0 never */
	uint32_t rtt_us;        /* 0 unknown */
	uint64_t rx_bytes, tx_bytes, drop_source;
	uint32_t failovers;
	char last_error[256];
};

/* *out is malloc'ed (free it); *n members. */
int ctl_get_members(const char *dir, const char *ifname,
		    struct ctl_member **out, size_t *n, char *msg, size_t msglen);
/* "direct", "relay", "down" (or "unknown" from a newer daemon). */
const char *ctl_path_name(uint8_t path);

/* The daemon is not there: no socket, or nobody listening on it. */
bool ctl_not_running(int err);
/* The daemon's message when it sent one, else a description of err. */
const char *ctl_strerror(int err, const char *msg);

#endif
