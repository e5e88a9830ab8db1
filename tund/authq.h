/* SPDX-License-Identifier: ISC */
/*
 * Password checks off the event loop: Argon2id against the password file,
 * or a PAM stack.  One Argon2id check costs tens of milliseconds on
 * purpose, and a PAM stack may wait on a directory server; done inline
 * either would stall every session.  A
 * worker thread runs them from a bounded queue and wakes the loop through
 * an eventfd; the loop then answers the session, if it still exists.
 */
#ifndef OSTPD_AUTHQ_H
#define OSTPD_AUTHQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admit.h"
#include "ostp.h"

/* Checks waiting or running at once; past it a login is answered busy,
 * so a flood of logins costs a bounded amount of memory and CPU. */
#define AUTHQ_MAX 64
/* Checks run in parallel: one per core of this 2-core class of machine. */
#define AUTHQ_WORKERS 2

struct auth_job {
	struct auth_job *next;
	uint64_t conn_id;
	char user[OSTP_USER_MAX + 1];
	char pass[OSTP_PASS_MAX + 1];
	size_t pass_len;
	char hash[128];          /* "" for an unknown or untrusted user */
	bool trusted;
	/* Set: PAM decides (pamcheck.h) and hash is unused; the strings
	 * belong to the configuration, which outlives the workers. */
	const char *pam_service;
	const char *pam_confdir;
	char rhost[64];          /* the client's address, for PAM_RHOST */
	char why[160];           /* what PAM said, for the log */
	uint64_t queued_ms;      /* when it was submitted */
	bool ok;                 /* the worker's verdict */
	struct admit_login login;/* counted against its source and user until done */
};

struct authq;
struct evloop;
/* A finished job, back on the event loop; the queue wipes and frees the
 * job after the call. */
typedef void (*authq_done_fn)(void *ctx, struct auth_job *job);

/* 0 or -errno. */
int authq_start(struct authq **out, struct evloop *loop, authq_done_fn done, void *ctx);
/* Takes the job (and wipes its password when done); -EBUSY when full. */
int authq_submit(struct authq *q, struct auth_job *job, uint64_t now_ms);
void authq_stop(struct authq *q);

#endif
