/* SPDX-License-Identifier: ISC */
/*
 * Admission control for a server: who may open a connection and who may
 * have a password checked, per source address and per user name, so that
 * one source cannot take the password workers or the connection slots
 * (modelled on OpenSSH's PerSourcePenalties and MaxStartups).
 *
 * Pure bookkeeping: no sockets, no clock (every call takes the time), no
 * allocation per packet.  The daemon embeds a ticket in each accepted
 * connection and a login in each password check; what to close, answer
 * or log is the caller's business, except the rate-limited summary lines,
 * which admit_tick() writes.
 */
#ifndef OSTPD_ADMIT_H
#define OSTPD_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "prefix.h"

/* Seconds: a window of summarised log lines per source. */
#define ADMIT_WINDOW_S 10

struct admit_config {
	unsigned max_unauth;             /* connections not yet authenticated, all sources */
	unsigned max_unauth_per_source;
	unsigned max_logins_per_source;  /* password checks queued or running */
	unsigned max_logins_per_user;
	unsigned penalty_authfail;       /* seconds per failed login */
	unsigned penalty_noauth;         /* seconds per connection ended before authenticating */
	unsigned penalty_min;            /* accrued seconds before enforcement starts */
	unsigned penalty_max;
	unsigned source_prefix4, source_prefix6;
	unsigned max_sources;            /* size of the source table */
	const struct prefix *exempt;     /* never penalized; borrowed */
	size_t n_exempt;
};

struct admit;
struct admit_source;

/* One accepted connection, from accept until it is authenticated or
 * closed.  Zero-initialised by the owner. */
struct admit_ticket {
	struct admit_source *src;        /* NULL: not counted (table full, client role) */
	struct admit_ticket *prev, *next;/* unauthenticated FIFO, oldest first */
	bool unauth;                     /* counted in the unauthenticated totals */
	bool logging_in;                 /* a password check for it is in flight */
	bool no_penalty;                 /* closed by us: shed, busy, already penalized */
};

/* One password check, from submission to its verdict; lives in the job,
 * so it is counted until the worker is done even if the connection left. */
struct admit_login {
	struct admit_source *src;
	struct admit_login *prev, *next;
	char user[OSTP_USER_MAX + 1];
};

enum admit_verdict {
	ADMIT_OK = 0,
	ADMIT_PENALIZED,         /* the source is under an enforced penalty */
	ADMIT_SOURCE_FULL,       /* max_unauth_per_source reached */
	ADMIT_FULL,              /* max_unauth reached, every one of them logging in */
	ADMIT_SOURCE_LOGINS,     /* max_logins_per_source reached */
	ADMIT_USER_LOGINS,       /* max_logins_per_user reached */
};

/* What a source did, for its summary lines. */
enum admit_event {
	ADMIT_EV_REFUSED,        /* connection closed at accept */
	ADMIT_EV_SHED,           /* unauthenticated connection closed to make room */
	ADMIT_EV_NOAUTH,         /* connection ended before authenticating */
	ADMIT_EV_FAILED,         /* failed login */
	ADMIT_EV_BUSY,           /* login answered busy */
	ADMIT_EV_COUNT
};

/* 0 or -ENOMEM. */
int admit_new(struct admit **out, const struct admit_config *cfg);
void admit_free(struct admit *a);

/* A connection from sa was accepted: may it stay?  *src is its source
 * (NULL when the table is full), for admit_count() or admit_note(). */
enum admit_verdict admit_check(struct admit *a, const struct sockaddr *sa, uint64_t now_ms,
			       struct admit_source **src);
/* It stays: t is counted as unauthenticated.  Returns the oldest
 * unauthenticated connection to close to stay within max_unauth (its
 * ticket already released), or NULL. */
struct admit_ticket *admit_count(struct admit *a, struct admit_ticket *t,
				 struct admit_source *src);
/* A login for user arrived on t.  ADMIT_OK: the check may run and login
 * is counted until admit_login_end(); otherwise answer busy. */
enum admit_verdict admit_login_begin(struct admit *a, struct admit_ticket *t,
				     struct admit_login *login, const char *user,
				     uint64_t now_ms);
/* The check is done (or was never submitted: ok with counted false).
 * A failure adds penalty_authfail to the source. */
void admit_login_end(struct admit *a, struct admit_login *login, bool failed,
		     uint64_t now_ms);
/* t's connection authenticated: it leaves the unauthenticated totals. */
void admit_authenticated(struct admit *a, struct admit_ticket *t);
/* t's connection is closing.  Still unauthenticated and not no_penalty:
 * penalty_noauth. */
void admit_release(struct admit *a, struct admit_ticket *t, uint64_t now_ms);
/* The oldest unauthenticated connection without a check in flight, or
 * NULL; for shedding when descriptors run out. */
struct admit_ticket *admit_oldest_unauth(const struct admit *a);

/* Counts an event against t's source (or sa's, for refusals), logging the
 * first of its kind in a window at once and the rest in the summary. */
void admit_note(struct admit *a, struct admit_source *src, enum admit_event ev,
		const char *detail, uint64_t now_ms);
/* The source a refused connection came from, if it is in the table. */
struct admit_source *admit_lookup(struct admit *a, const struct sockaddr *sa);
/* "198.18.0.10" or "fd00:1::/64": the source as counted. */
const char *admit_source_name(const struct admit_source *src);
/* Seconds of enforced penalty left, 0 when none. */
unsigned admit_penalty_left(const struct admit_source *src, uint64_t now_ms);

/* Writes the summaries of windows that have ended and forgets sources
 * with nothing left to remember.  Returns when it wants to run next. */
uint64_t admit_tick(struct admit *a, uint64_t now_ms);

size_t admit_unauth_count(const struct admit *a);
size_t admit_logins_count(const struct admit *a);
size_t admit_source_count(const struct admit *a);

#endif
