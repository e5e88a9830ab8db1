/* SPDX-License-Identifier: ISC */
/*
 * flood: hostile (and one legitimate) OSTP client for the admission-control
 * tests (tests/netns/test_flood_auth.sh, test_flood_conn.sh,
 * test_fd_exhaust.sh), built on libostp.  One epoll loop, non-blocking
 * sockets; every run is bounded by a duration and a connection count.
 *
 *   flood hold  -s HOST:PORT -t SECS [-S N] [-R N] [-D N] [-r MS] [-m MAX]
 *       Hold N connections of each kind for SECS seconds, reopening each
 *       one the server closes:
 *         -S N  silent: connect, send nothing
 *         -R N  stall: send one whole valid Session Request, then nothing
 *         -D N  dribble: send a Session Request one byte every 100 ms
 *
 *   flood guess -s HOST:PORT -k KEY -u USER [-p PASSWORD] -t SECS [-P N]
 *               [-r MS] [-m MAX]
 *       N parallel connections (default 1); each completes the handshake
 *       against the pinned server KEY and sends a login as USER with a
 *       wrong PASSWORD (default "not-the-password"), reconnecting as soon as
 *       the server answers.  Prints "flood: first password sent" on stderr
 *       once the first login is on its way.
 *
 *   flood login -s HOST:PORT -k KEY -u USER -p PASSWORD [-T SECS] [-r MS]
 *       One legitimate login: connect, handshake, authenticate, until
 *       ESTABLISHED; a connection answered busy, refused or timed out is
 *       retried after MS (default 250) until SECS (default 5) have passed
 *       since the first connect.  A wrong-password answer ends it.  Then an
 *       authenticated CLOSE.  Exit status 0 only if ESTABLISHED was reached.
 *
 *   flood hash -p PASSWORD [-M MIB] (-O OPSLIMIT | -w MS)
 *       Print an Argon2id hash (crypto_pwhash_str) of PASSWORD using MIB
 *       MiB (default 32), with OPSLIMIT passes, or with as many passes as
 *       make one check take about MS milliseconds on this machine, for a
 *       deliberately slow password check.  The cost is reported on stderr.
 *
 * Common options: -t SECS (1..600) bounds the run, -m MAX (default
 * 1000000) the connections opened in total; a run ends early when MAX is
 * reached and every connection has ended.  -r MS (default 0, login 250):
 * a slot whose connection got no reply from the server (refused, shed,
 * connect error) waits MS before reopening; a real attacker may not wait,
 * but pacing keeps the load the tests measure about the server rather
 * than about SYN handling on a busy CI machine.
 *
 * stdout: one line of key=value counts.
 *   mode secs       the mode and the wall time of the run
 *   opened          connect() calls (first openings and reopenings)
 *   reopens         of those, openings of a slot that had been closed
 *   connected       TCP connections that completed
 *   connect_err     connect() failed (refused, unreachable ...)
 *   connect_timeout no TCP connection within 5 s
 *   refused         closed by the server before any byte of its reply and
 *                   less than 1 s after connecting (closed at accept)
 *   dropped         closed by the server before any reply, later
 *                   (handshake timeout, shed to make room)
 *   replied         connections on which the server sent its reply
 *   eof rst         how the server ended connections (FIN or reset)
 *   handshakes      server authenticated against the pinned key (guess, login)
 *   bad_pw          logins answered "wrong password"
 *   busy            logins answered "busy, retry" (OSTP_E_AUTH_BUSY)
 *   success         sessions that reached ESTABLISHED
 *   close_timeout close_resource close_protocol close_auth_failed close_other
 *                   authenticated CLOSEs from the server after its reply,
 *                   by reason (busy and wrong-password answers excluded)
 *   local_timeout   our own handshake deadline passed
 *   held held_max   connections open at the end, and the most at once
 *   ok ms attempts  (login) reached ESTABLISHED; ms from the first
 *                   connect() to ESTABLISHED, retries included
 * stderr: progress and a count per other close reason.
 *
 * Descriptors: RLIMIT_NOFILE is raised to what the slots need.  SIGINT or
 * SIGTERM ends the run early; the counts are still printed.
 *
 * Build: make BUILD=build build/flood (libostp and libostpcommon)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "endpoint.h"
#include "identity.h"
#include "ostp.h"

/* The busy answer is newer than some libostp trees this is built with. */
#ifdef OSTP_E_AUTH_BUSY
#define ERR_AUTH_BUSY OSTP_E_AUTH_BUSY
#else
#define ERR_AUTH_BUSY (-34)
#endif

#define CONNECT_TIMEOUT_MS 5000u
#define REFUSE_MS          1000u   /* a close sooner than this is a refusal */
#define DRIBBLE_MS         100u
#define SR_MAX             128u
#define MAX_SLOTS          100000u
#define MAX_REASONS        24

enum kind { K_SILENT, K_STALL, K_DRIBBLE, K_GUESS, K_LOGIN };
enum state { ST_WAIT, ST_CONNECTING, ST_OPEN, ST_CLOSING, ST_OFF };

struct slot {
	int fd;
	enum kind kind;
	enum state st;
	bool want_out;
	bool replied;            /* the server sent something on this connection */
	bool used;               /* opened before: the next opening is a reopen */
	ostp_session *s;
	uint64_t t_open, t_up;   /* connect() called, TCP connected */
	uint64_t next_ms;        /* ST_WAIT: reopen; dribble: next byte */
	uint8_t sr[SR_MAX];      /* hold modes: the Session Request to send */
	size_t sr_len, sr_off;
};

static struct {
	unsigned long opened, reopens, connected, connect_err, connect_timeout;
	unsigned long refused, dropped, replied, eof, rst;
	unsigned long handshakes, bad_pw, busy, success;
	unsigned long close_timeout, close_resource, close_protocol, close_auth_failed,
		close_other, local_timeout;
	unsigned long held_max;
} n;

static struct {
	char what[96];
	unsigned long n;
} reasons[MAX_REASONS];
static unsigned n_reasons;

static struct slot *slots;
static unsigned n_slots;
static int ep = -1;
static struct sockaddr_storage srv;
static socklen_t srv_len;
static struct ostp_client_config ccfg;
static unsigned long max_conns = 1000000;
static unsigned retry_ms;
static uint64_t t_end;
static volatile sig_atomic_t stop;
static bool sap_reported;
static uint8_t rbuf[65536];

/* login mode */
static bool login_done, login_ok;
static uint64_t login_t0, login_ms, login_deadline, close_deadline;
static unsigned long attempts;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void reason_add(const char *what)
{
	for (unsigned i = 0; i < n_reasons; i++)
		if (strcmp(reasons[i].what, what) == 0) {
			reasons[i].n++;
			return;
		}
	if (n_reasons < MAX_REASONS) {
		snprintf(reasons[n_reasons].what, sizeof(reasons[n_reasons].what), "%s", what);
		reasons[n_reasons++].n = 1;
	} else {
		reasons[MAX_REASONS - 1].n++;
	}
}

static bool is_session_kind(const struct slot *sl)
{
	return sl->kind == K_GUESS || sl->kind == K_LOGIN;
}

static void arm(struct slot *sl, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = sl };

	if (sl->want_out == out)
		return;
	if (out)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, sl->fd, &ev) == 0)
		sl->want_out = out;
}

/* Drop the connection with a reset: a flood that left every socket in
 * TIME_WAIT would run out of local ports before the server noticed. */
static void drop_fd(struct slot *sl)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (sl->fd < 0)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, sl->fd, NULL);
	setsockopt(sl->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(sl->fd);
	sl->fd = -1;
	sl->want_out = false;
}

/* The connection is gone; schedule the slot's next one. */
static void slot_reset(struct slot *sl)
{
	uint64_t now = mono_ms();

	drop_fd(sl);
	ostp_session_free(sl->s);
	sl->s = NULL;
	sl->sr_off = 0;
	if (sl->kind == K_LOGIN) {
		if (login_done || now + retry_ms >= login_deadline) {
			login_done = true;
			sl->st = ST_OFF;
			return;
		}
	}
	sl->st = ST_WAIT;
	/* a flood answers an answer at once; a user waits before retrying */
	sl->next_ms = now + (sl->replied && sl->kind != K_LOGIN ? 0 : retry_ms);
}

/* The server ended the transport (FIN or reset). */
static void count_server_close(struct slot *sl, bool reset)
{
	if (reset)
		n.rst++;
	else
		n.eof++;
	if (!sl->replied) {
		if (mono_ms() - sl->t_up < REFUSE_MS)
			n.refused++;
		else
			n.dropped++;
	}
}

static void on_closed_event(struct slot *sl, const struct ostp_event *ev)
{
	char buf[96];

	if (ev->err == OSTP_E_AUTH) {
		n.bad_pw++;
		if (sl->kind == K_LOGIN) {
			/* the bug the tests look for: a right password refused */
			fprintf(stderr, "flood: login answered wrong password\n");
			login_done = true;
		}
	} else if (ev->err == ERR_AUTH_BUSY) {
		n.busy++;
	} else if (ev->err == OSTP_E_TIMEOUT && !ev->peer_closed) {
		n.local_timeout++;
	} else if (ev->peer_closed) {
		switch (ev->close_reason) {
		case OSTP_CLOSE_TIMEOUT: n.close_timeout++; break;
		case OSTP_CLOSE_RESOURCE: n.close_resource++; break;
		case OSTP_CLOSE_PROTOCOL: n.close_protocol++; break;
		case OSTP_CLOSE_AUTH_FAILED: n.close_auth_failed++; break;
		default: n.close_other++; break;
		}
		snprintf(buf, sizeof(buf), "server closed: %s",
			 ostp_close_reason_str(ev->close_reason));
		reason_add(buf);
	} else if (ev->err != OSTP_E_EOF) {
		/* EOF is counted where it is read (eof/refused/dropped) */
		n.close_other++;
		snprintf(buf, sizeof(buf), "%s", ostp_strerror(ev->err));
		reason_add(buf);
	}
	slot_reset(sl);
}

/* false: the connection ended */
static bool flush_session(struct slot *sl)
{
	for (;;) {
		const uint8_t *p;
		size_t len = sl->s ? ostp_output(sl->s, &p) : 0;
		ssize_t w;

		if (len == 0) {
			arm(sl, false);
			return true;
		}
		w = send(sl->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			ostp_output_consume(sl->s, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			arm(sl, true);
			return true;
		}
		count_server_close(sl, true);
		slot_reset(sl);
		return false;
	}
}

static void login_close(struct slot *sl)
{
	const uint8_t *p;

	ostp_close(sl->s, OSTP_CLOSE_NORMAL);
	if (!flush_session(sl))
		return;
	if (ostp_output(sl->s, &p) == 0)
		shutdown(sl->fd, SHUT_WR);
	sl->st = ST_CLOSING;
	close_deadline = mono_ms() + 2000u;
}

static void on_event(struct slot *sl, const struct ostp_event *ev)
{
	switch (ev->type) {
	case OSTP_EV_HANDSHAKE:
		n.handshakes++;
		break;
	case OSTP_EV_ESTABLISHED:
		n.success++;
		if (sl->kind == K_LOGIN) {
			login_ok = login_done = true;
			login_ms = mono_ms() - login_t0;
			login_close(sl);
		} else {
			slot_reset(sl);
		}
		break;
	case OSTP_EV_CLOSED:
		/* best effort: the CLOSE the library queued */
		if (sl->s && sl->fd >= 0) {
			const uint8_t *p;
			size_t len = ostp_output(sl->s, &p);

			if (len)
				(void)send(sl->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		on_closed_event(sl, ev);
		break;
	default:
		break;
	}
}

static void feed(struct slot *sl, const uint8_t *buf, size_t len)
{
	uint64_t now = mono_ms();
	size_t off = 0;

	while (sl->st == ST_OPEN && sl->s && !ostp_session_closed(sl->s)) {
		struct ostp_event ev;
		size_t used = 0;

		ostp_feed(sl->s, buf + off, len - off, &used, now, &ev);
		off += used;
		on_event(sl, &ev);
		if (ev.type == OSTP_EV_NONE && off == len)
			break;
	}
	if (sl->st == ST_OPEN && sl->s && flush_session(sl) && !sap_reported &&
	    sl->kind == K_GUESS && n.handshakes > 0) {
		sap_reported = true;
		fprintf(stderr, "flood: first password sent\n");
		fflush(stderr);
	}
}

static void send_sr_bytes(struct slot *sl, size_t count)
{
	while (count > 0 && sl->sr_off < sl->sr_len) {
		ssize_t w = send(sl->fd, sl->sr + sl->sr_off, count, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			sl->sr_off += (size_t)w;
			count -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		count_server_close(sl, true);
		slot_reset(sl);
		return;
	}
}

static void on_connected(struct slot *sl)
{
	uint64_t now = mono_ms();
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		n.connect_err++;
		reason_add(strerror(err));
		slot_reset(sl);
		return;
	}
	n.connected++;
	sl->st = ST_OPEN;
	sl->t_up = now;
	arm(sl, false);
	switch (sl->kind) {
	case K_SILENT:
		break;
	case K_STALL:
		send_sr_bytes(sl, sl->sr_len);
		break;
	case K_DRIBBLE:
		sl->next_ms = now + DRIBBLE_MS;
		send_sr_bytes(sl, 1);
		break;
	case K_GUESS:
	case K_LOGIN:
		err = ostp_client_new(&sl->s, &ccfg, NULL, now);
		if (err) {
			fprintf(stderr, "flood: client session: %s\n", ostp_strerror(err));
			stop = 1;
			slot_reset(sl);
			return;
		}
		(void)flush_session(sl);
		break;
	}
}

static void on_io(struct slot *sl, uint32_t events)
{
	if (sl->st == ST_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			on_connected(sl);
		if (sl->st != ST_OPEN)
			return;
	}
	if (sl->st != ST_OPEN && sl->st != ST_CLOSING)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		for (int i = 0; i < 4 && (sl->st == ST_OPEN || sl->st == ST_CLOSING); i++) {
			ssize_t r = read(sl->fd, rbuf, sizeof(rbuf));

			if (r > 0) {
				if (sl->st == ST_CLOSING)
					continue;
				if (!sl->replied) {
					sl->replied = true;
					n.replied++;
				}
				if (is_session_kind(sl))
					feed(sl, rbuf, (size_t)r);
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			/* EOF or error: the server ended it */
			if (sl->st == ST_CLOSING) {
				login_done = true;
				slot_reset(sl);
				break;
			}
			count_server_close(sl, r < 0);
			if (sl->s) {
				struct ostp_event ev;

				ostp_eof(sl->s, &ev);
				if (ev.type == OSTP_EV_CLOSED) {
					on_event(sl, &ev);
					break;
				}
			}
			slot_reset(sl);
			break;
		}
	}
	if (sl->st == ST_OPEN && (events & EPOLLOUT)) {
		if (sl->s)
			(void)flush_session(sl);
		else if (sl->kind == K_STALL)
			send_sr_bytes(sl, sl->sr_len);
	}
}

static void slot_open(struct slot *sl)
{
	uint64_t now = mono_ms();
	int one = 1;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLOUT, .data.ptr = sl };

	if (n.opened >= max_conns) {
		sl->st = ST_OFF;
		return;
	}
	n.opened++;
	if (sl->used)
		n.reopens++;
	sl->used = true;
	sl->replied = false;
	sl->t_open = sl->t_up = now;
	if (sl->kind == K_LOGIN)
		attempts++;
	sl->fd = socket(srv.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sl->fd < 0) {
		fprintf(stderr, "flood: socket: %s\n", strerror(errno));
		stop = 1;
		sl->st = ST_OFF;
		return;
	}
	setsockopt(sl->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sl->st = ST_CONNECTING;
	if (connect(sl->fd, (struct sockaddr *)&srv, srv_len) < 0 && errno != EINPROGRESS) {
		n.connect_err++;
		reason_add(strerror(errno));
		slot_reset(sl);
		return;
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sl->fd, &ev) < 0) {
		fprintf(stderr, "flood: epoll_ctl: %s\n", strerror(errno));
		stop = 1;
		slot_reset(sl);
		sl->st = ST_OFF;
		return;
	}
	sl->want_out = true;
}

/* Openings, connect deadlines, dribbled bytes and session timers. */
static void timers(void)
{
	uint64_t now = mono_ms();
	unsigned long held = 0;

	for (unsigned i = 0; i < n_slots; i++) {
		struct slot *sl = &slots[i];

		switch (sl->st) {
		case ST_WAIT:
			if (now >= sl->next_ms && now < t_end)
				slot_open(sl);
			break;
		case ST_CONNECTING:
			if (now - sl->t_open >= CONNECT_TIMEOUT_MS) {
				n.connect_timeout++;
				slot_reset(sl);
			}
			break;
		case ST_OPEN:
			held++;
			if (sl->kind == K_DRIBBLE && sl->sr_off < sl->sr_len && now >= sl->next_ms) {
				sl->next_ms += DRIBBLE_MS;
				send_sr_bytes(sl, 1);
			} else if (sl->s && now >= ostp_next_deadline(sl->s)) {
				struct ostp_event ev;

				ostp_tick(sl->s, now, &ev);
				on_event(sl, &ev);
				if (sl->st == ST_OPEN && sl->s)
					(void)flush_session(sl);
			}
			break;
		case ST_CLOSING:
			if (now >= close_deadline)
				slot_reset(sl);
			break;
		case ST_OFF:
			break;
		}
	}
	if (held > n.held_max)
		n.held_max = held;
}

static bool all_off(void)
{
	for (unsigned i = 0; i < n_slots; i++)
		if (slots[i].st != ST_OFF)
			return false;
	return true;
}

/* The server's address, numeric, as ostpd's own configuration takes it. */
static int set_server(const char *text)
{
	if (!parse_endpoint(text, &srv, &srv_len)) {
		fprintf(stderr, "flood: %s: not a numeric address:port\n", text);
		return -1;
	}
	return 0;
}

static int raise_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;   /* needs CAP_SYS_RESOURCE; the tests run as root */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "flood: cannot raise the open files limit to %lu: %s\n", want,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: flood hold  -s HOST:PORT -t SECS [-S N] [-R N] [-D N] [-r MS] [-m MAX]\n"
		"       flood guess -s HOST:PORT -k KEY -u USER [-p PASSWORD] -t SECS [-P N]\n"
		"                   [-r MS] [-m MAX]\n"
		"       flood login -s HOST:PORT -k KEY -u USER -p PASSWORD [-T SECS] [-r MS]\n"
		"       flood hash  -p PASSWORD [-M MIB] (-O OPSLIMIT | -w MS)\n");
	exit(2);
}

static unsigned long parse_num(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "flood: bad number '%s' (%lu..%lu)\n", s, min, max);
		exit(2);
	}
	return v;
}

/* One crypto_pwhash_str, timed; 0 on failure. */
static uint64_t time_hash(char out[crypto_pwhash_STRBYTES], const char *pw,
			  unsigned long long ops, size_t mem)
{
	uint64_t t0 = mono_ms();

	if (crypto_pwhash_str(out, pw, strlen(pw), ops, mem) != 0)
		return 0;
	return mono_ms() - t0 + 1;
}

static int do_hash(const char *pw, unsigned long mib, unsigned long ops, unsigned long target)
{
	char out[crypto_pwhash_STRBYTES];
	size_t mem = (size_t)mib << 20;
	uint64_t ms;

	if (!pw || (!ops == !target))
		usage();
	if (!ops) {
		/* Argon2id's time is a fixed cost (allocating and touching the
		 * memory) plus one cost per pass: time 1 and 5 passes, the best
		 * of two each against a busy machine's noise. */
		uint64_t t1 = 0, t5 = 0, pass, fixed;

		for (int i = 0; i < 2; i++) {
			uint64_t a = time_hash(out, pw, 1, mem), b = time_hash(out, pw, 5, mem);

			if (!a || !b) {
				fprintf(stderr, "flood: crypto_pwhash_str failed (memory?)\n");
				return 1;
			}
			t1 = t1 && t1 < a ? t1 : a;
			t5 = t5 && t5 < b ? t5 : b;
		}
		pass = t5 > t1 ? (t5 - t1 + 2) / 4 : 1;
		if (pass == 0)
			pass = 1;
		fixed = t1 > pass ? t1 - pass : 0;
		ops = target > fixed ? (unsigned long)((target - fixed + pass / 2) / pass) : 1;
		if (ops < 1)
			ops = 1;
	}
	ms = time_hash(out, pw, ops, mem);
	if (!ms) {
		fprintf(stderr, "flood: crypto_pwhash_str failed (memory?)\n");
		return 1;
	}
	printf("%s\n", out);
	fprintf(stderr, "flood: hash opslimit=%lu memlimit=%lu MiB took %llu ms\n", ops, mib,
		(unsigned long long)ms);
	sodium_memzero(out, sizeof(out));
	return 0;
}

static void report(const char *mode, double secs)
{
	unsigned long held = 0;

	for (unsigned i = 0; i < n_slots; i++)
		if (slots[i].st == ST_OPEN)
			held++;
	for (unsigned i = 0; i < n_reasons; i++)
		fprintf(stderr, "flood: %lu x %s\n", reasons[i].n, reasons[i].what);
	printf("mode=%s secs=%.3f opened=%lu reopens=%lu connected=%lu connect_err=%lu "
	       "connect_timeout=%lu refused=%lu dropped=%lu replied=%lu eof=%lu rst=%lu "
	       "handshakes=%lu bad_pw=%lu busy=%lu success=%lu close_timeout=%lu "
	       "close_resource=%lu close_protocol=%lu close_auth_failed=%lu close_other=%lu "
	       "local_timeout=%lu held=%lu held_max=%lu",
	       mode, secs, n.opened, n.reopens, n.connected, n.connect_err, n.connect_timeout,
	       n.refused, n.dropped, n.replied, n.eof, n.rst, n.handshakes, n.bad_pw, n.busy,
	       n.success, n.close_timeout, n.close_resource, n.close_protocol,
	       n.close_auth_failed, n.close_other, n.local_timeout, held, n.held_max);
	if (strcmp(mode, "login") == 0)
		printf(" ok=%d ms=%llu attempts=%lu", login_ok ? 1 : 0,
		       (unsigned long long)(login_ok ? login_ms : 0), attempts);
	printf("\n");
	fflush(stdout);
}

/* A Session Request for the hold modes, from a throwaway client session. */
static int make_sr(struct slot *sl)
{
	struct ostp_client_config c = { .options = OSTP_OPT_U, .username = "flood",
					.password = "flood", .spw = OSTP_SPW_QUICK,
					.tofu = true };
	ostp_session *s = NULL;
	const uint8_t *p;
	size_t len;
	int err = ostp_client_new(&s, &c, NULL, mono_ms());

	if (err) {
		fprintf(stderr, "flood: client session: %s\n", ostp_strerror(err));
		return -1;
	}
	len = ostp_output(s, &p);
	if (len == 0 || len > sizeof(sl->sr)) {
		fprintf(stderr, "flood: unexpected Session Request of %zu bytes\n", len);
		ostp_session_free(s);
		return -1;
	}
	memcpy(sl->sr, p, len);
	sl->sr_len = len;
	ostp_session_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode, *server = NULL, *key = NULL, *user = NULL, *pass = NULL;
	unsigned long n_silent = 0, n_stall = 0, n_dribble = 0, n_guess = 1, secs = 0;
	unsigned long login_s = 5, mib = 32, ops = 0, target = 0;
	bool retry_set = false;
	struct sigaction sa = { .sa_handler = on_signal };
	int opt, err;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "s:k:u:p:t:S:R:D:P:r:m:T:M:O:w:")) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'k': key = optarg; break;
		case 'u': user = optarg; break;
		case 'p': pass = optarg; break;
		case 't': secs = parse_num(optarg, 1, 600); break;
		case 'S': n_silent = parse_num(optarg, 0, MAX_SLOTS); break;
		case 'R': n_stall = parse_num(optarg, 0, MAX_SLOTS); break;
		case 'D': n_dribble = parse_num(optarg, 0, MAX_SLOTS); break;
		case 'P': n_guess = parse_num(optarg, 1, MAX_SLOTS); break;
		case 'r': retry_ms = (unsigned)parse_num(optarg, 0, 60000); retry_set = true; break;
		case 'm': max_conns = parse_num(optarg, 1, 100000000); break;
		case 'T': login_s = parse_num(optarg, 1, 600); break;
		case 'M': mib = parse_num(optarg, 8, 4096); break;
		case 'O': ops = parse_num(optarg, 1, 100000); break;
		case 'w': target = parse_num(optarg, 1, 600000); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (sodium_init() < 0) {
		fprintf(stderr, "flood: libsodium init failed\n");
		return 1;
	}
	if (strcmp(mode, "hash") == 0)
		return do_hash(pass, mib, ops, target);

	if (strcmp(mode, "hold") == 0) {
		n_slots = (unsigned)(n_silent + n_stall + n_dribble);
		if (!server || !secs || n_slots == 0 || n_slots > MAX_SLOTS)
			usage();
	} else if (strcmp(mode, "guess") == 0) {
		if (!server || !key || !user || !secs)
			usage();
		if (!pass)
			pass = "not-the-password";
		n_slots = (unsigned)n_guess;
	} else if (strcmp(mode, "login") == 0) {
		if (!server || !key || !user || !pass)
			usage();
		if (!retry_set)
			retry_ms = 250;
		secs = login_s + 3;   /* room for the closing handshake */
		n_slots = 1;
	} else {
		usage();
	}
	err = ostp_init();
	if (err) {
		fprintf(stderr, "flood: %s\n", ostp_strerror(err));
		return 1;
	}
	if (set_server(server) < 0) {
		fprintf(stderr, "flood: bad server address '%s'\n", server);
		return 2;
	}
	if (key) {
		if (key_from_base64(ccfg.server_pk, key) < 0) {
			fprintf(stderr, "flood: the server key is not one base64 32-byte key\n");
			return 2;
		}
	}
	ccfg.options = OSTP_OPT_U;
	ccfg.username = user;
	ccfg.password = pass;
	ccfg.spw = OSTP_SPW_QUICK;
	/* a slow password check may keep a login waiting for seconds */
	ccfg.timing.handshake_ms = (uint32_t)(strcmp(mode, "login") == 0 ? login_s : 30) * 1000u;

	if (raise_nofile(n_slots + 32ul) < 0)
		return 1;
	slots = calloc(n_slots, sizeof(*slots));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || ep < 0) {
		fprintf(stderr, "flood: out of memory\n");
		free(slots);
		return 1;
	}
	for (unsigned i = 0; i < n_slots; i++) {
		struct slot *sl = &slots[i];

		sl->fd = -1;
		sl->st = ST_WAIT;
		if (strcmp(mode, "guess") == 0)
			sl->kind = K_GUESS;
		else if (strcmp(mode, "login") == 0)
			sl->kind = K_LOGIN;
		else
			sl->kind = i < n_silent ? K_SILENT
				   : i < n_silent + n_stall ? K_STALL : K_DRIBBLE;
		if ((sl->kind == K_STALL || sl->kind == K_DRIBBLE) && make_sr(sl) < 0) {
			free(slots);
			close(ep);
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uint64_t t0 = mono_ms(), last_timers = 0;

	t_end = t0 + secs * 1000u;
	login_t0 = t0;
	login_deadline = t0 + login_s * 1000u;
	while (!stop && mono_ms() < t_end) {
		struct epoll_event evs[256];
		int k;

		if (mono_ms() - last_timers >= 10) {
			timers();
			last_timers = mono_ms();
			if (all_off())
				break;
		}
		k = epoll_wait(ep, evs, 256, 10);
		for (int i = 0; i < k; i++)
			on_io(evs[i].data.ptr, evs[i].events);
		if (n_slots == 1 && slots[0].kind == K_LOGIN && !login_ok && !login_done &&
		    mono_ms() >= login_deadline) {
			fprintf(stderr, "flood: login not established within %lu s\n", login_s);
			login_done = true;
			slot_reset(&slots[0]);
		}
	}
	report(mode, (double)(mono_ms() - t0) / 1000.0);
	for (unsigned i = 0; i < n_slots; i++) {
		drop_fd(&slots[i]);
		ostp_session_free(slots[i].s);
	}
	free(slots);
	close(ep);
	if (strcmp(mode, "login") == 0)
		return login_ok ? 0 : 1;
	return 0;
}
