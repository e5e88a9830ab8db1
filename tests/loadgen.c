/* SPDX-License-Identifier: ISC */
/*
 * loadgen: many OSTP client sessions against one server, through libostp.
 *
 *   loadgen -s HOST:PORT -k BASE64_SERVER_KEY -n N [-c CONCURRENCY]
 *           [-u USER -p PASSWORD] [-t HOLD_SECONDS] [-T HANDSHAKE_SECONDS]
 *           [-w OPEN_SECONDS]
 *
 * Opens N non-blocking TCP connections (one epoll loop, at most CONCURRENCY
 * handshakes in flight), runs the OSTP handshake on each against the pinned
 * server key (user authentication only with -u/-p), then holds the
 * established sessions idle for HOLD_SECONDS (timers ticked, keepalives
 * answered), then closes every session with an authenticated CLOSE.
 *
 * stdout: one line of key=value results.
 *   established       sessions that reached OSTP_EV_ESTABLISHED
 *   failed            connections that did not (connect error, refused,
 *                     handshake timeout, auth failure ...)
 *   seconds           wall time of the opening phase: first connect() to
 *                     the end of the last handshake (success or failure)
 *   handshakes_per_s  established / seconds
 *   hs_ms_p50/p99/max handshake latency, connect() to ESTABLISHED
 *   lost              established sessions that ended during the hold
 *   closed_clean      sessions whose server answered our CLOSE with EOF
 *   cpu_s             CPU time (user + system) loadgen itself used in the
 *                     opening phase: near `seconds`, loadgen was the limit
 *   t_first, t_last   CLOCK_MONOTONIC seconds of the first connect() and
 *                     of the end of the last handshake, so the results of
 *                     several loadgen processes can be combined
 * stderr: progress ("loadgen: holding N sessions ..." marks the start of
 * the hold phase) and a count per failure reason.
 *
 * Every phase is bounded: each handshake by -T (default 10 s), the whole
 * opening phase by -w (default 120 s), the close phase by 5 s.  SIGINT or
 * SIGTERM ends the current phase early and still closes cleanly.
 *
 * Build: make BUILD=build build/loadgen (libostp and libostpcommon)
 */
#define _GNU_SOURCE
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
#include <sys/time.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "endpoint.h"
#include "identity.h"
#include "ostp.h"

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_ESTABLISHED, C_CLOSING, C_DONE };

struct lconn {
	int fd;
	enum cstate state;
	bool want_out;
	bool shut;               /* closing: SHUT_WR done */
	ostp_session *s;
	uint64_t t0_us;
};

#define MAX_REASONS 24
static struct {
	char what[96];
	unsigned n;
} reasons[MAX_REASONS];
static unsigned n_reasons;

static struct lconn *conns;
static unsigned n_total, concurrency = 256;
static int ep = -1;
static struct sockaddr_storage srv;
static socklen_t srv_len;
static struct ostp_client_config ccfg;
static unsigned hs_timeout_s = 10, open_limit_s = 120, hold_s;

static unsigned opened, inflight, established, failed, lost, closed_clean, n_closing;
static float *hs_ms;            /* latency of each established handshake */
static uint64_t t_first_us, t_last_hs_us;
static volatile sig_atomic_t stop;
static uint8_t rbuf[65536];

static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

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

static void arm_out(struct lconn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };

	if (c->want_out == on)
		return;
	if (on)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_out = on;
}

static void release(struct lconn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	ostp_session_free(c->s);
	c->s = NULL;
	if (c->state == C_CLOSING)
		n_closing--;
	c->state = C_DONE;
}

/* The connection ended before or after ESTABLISHED, not by our close. */
static void conn_end(struct lconn *c, const char *why)
{
	if (c->state == C_DONE)
		return;
	if (c->state == C_CONNECTING || c->state == C_HANDSHAKE) {
		char buf[96];

		failed++;
		inflight--;
		t_last_hs_us = mono_us();
		snprintf(buf, sizeof(buf), "%s%s",
			 c->state == C_CONNECTING ? "connect: " : "handshake: ", why);
		reason_add(buf);
	} else if (c->state == C_ESTABLISHED) {
		char buf[96];

		lost++;
		snprintf(buf, sizeof(buf), "lost while established: %s", why);
		reason_add(buf);
	} else if (c->state == C_CLOSING) {
		char buf[96];

		snprintf(buf, sizeof(buf), "while closing: %s", why);
		reason_add(buf);
	}
	release(c);
}

/* false: the socket failed (the connection has been ended) */
static bool flush_out(struct lconn *c)
{
	for (;;) {
		const uint8_t *p;
		size_t n = c->s ? ostp_output(c->s, &p) : 0;
		ssize_t w;

		if (n == 0) {
			arm_out(c, false);
			return true;
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			ostp_output_consume(c->s, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			arm_out(c, true);
			return true;
		}
		conn_end(c, w < 0 ? strerror(errno) : "send returned 0");
		return false;
	}
}

static void closed_why(char *buf, size_t size, const struct ostp_event *ev)
{
	if (ev->peer_closed)
		snprintf(buf, size, "server closed (%s)", ostp_close_reason_str(ev->close_reason));
	else
		snprintf(buf, size, "%s", ostp_strerror(ev->err));
}

static void on_event(struct lconn *c, const struct ostp_event *ev)
{
	char why[96];

	switch (ev->type) {
	case OSTP_EV_ESTABLISHED:
		if (c->state == C_HANDSHAKE) {
			uint64_t t = mono_us();

			hs_ms[established] = (float)(t - c->t0_us) / 1000.0f;
			established++;
			inflight--;
			t_last_hs_us = t;
			c->state = C_ESTABLISHED;
		}
		break;
	case OSTP_EV_CLOSED:
		closed_why(why, sizeof(why), ev);
		/* best effort: the CLOSE the library queued for a protocol error */
		if (c->s && c->fd >= 0) {
			const uint8_t *p;
			size_t n = ostp_output(c->s, &p);

			if (n)
				(void)send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		conn_end(c, why);
		break;
	default:
		/* HANDSHAKE, AUTH_RESULT, CONFIG, PEER_BLOCK, MESSAGE: nothing to do */
		break;
	}
}

static void feed(struct lconn *c, const uint8_t *buf, size_t n)
{
	uint64_t now = mono_ms();
	size_t off = 0;

	while (c->state != C_DONE && c->s && !ostp_session_closed(c->s)) {
		struct ostp_event ev;
		size_t used = 0;

		ostp_feed(c->s, buf + off, n - off, &used, now, &ev);
		off += used;
		on_event(c, &ev);
		/* stop when no input is left and no event came out: a second
		 * event produced by one frame is drained too */
		if (ev.type == OSTP_EV_NONE && off == n)
			break;
	}
}

static void finish_connect(struct lconn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_end(c, strerror(err));
		return;
	}
	c->state = C_HANDSHAKE;
}

/* Closing: send what is left of the CLOSE, then half-close; the server
 * answers with EOF.  Closing a socket with unread input would send RST. */
static void close_flush(struct lconn *c)
{
	const uint8_t *p;

	if (c->shut)
		return;
	if (!flush_out(c))
		return;
	if (ostp_output(c->s, &p) == 0) {
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
}

static void on_io(struct lconn *c, uint32_t events)
{
	if (c->state == C_DONE)
		return;
	if (c->state == C_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		finish_connect(c);
		if (c->state == C_DONE)
			return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		for (int i = 0; i < 4 && c->state != C_DONE; i++) {
			ssize_t n = read(c->fd, rbuf, sizeof(rbuf));

			if (n > 0) {
				if (c->state == C_CLOSING)
					continue;   /* after our CLOSE: discard until EOF */
				feed(c, rbuf, (size_t)n);
				continue;
			}
			if (n == 0) {
				if (c->state == C_CLOSING) {
					closed_clean++;
					release(c);
				} else {
					struct ostp_event ev;

					ostp_eof(c->s, &ev);
					if (ev.type == OSTP_EV_CLOSED)
						on_event(c, &ev);
					else
						conn_end(c, "EOF after close");
				}
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_end(c, strerror(errno));
			break;
		}
	}
	if (c->state == C_CLOSING)
		close_flush(c);
	else if (c->state != C_DONE)
		(void)flush_out(c);
}

static void open_one(struct lconn *c)
{
	int one = 1, err;

	opened++;
	inflight++;
	c->t0_us = mono_us();
	if (!t_first_us)
		t_first_us = c->t0_us;
	c->state = C_CONNECTING;
	c->fd = socket(srv.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_end(c, strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	err = ostp_client_new(&c->s, &ccfg, NULL, mono_ms());
	if (err) {
		conn_end(c, ostp_strerror(err));
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&srv, srv_len) < 0 && errno != EINPROGRESS) {
		conn_end(c, strerror(errno));
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLOUT, .data.ptr = c };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		conn_end(c, strerror(errno));
		return;
	}
	c->want_out = true;
}

/* Session timers: handshake deadline, keepalive, dead peer, rekey. */
static void tick_all(void)
{
	uint64_t now = mono_ms();

	for (unsigned i = 0; i < opened; i++) {
		struct lconn *c = &conns[i];
		struct ostp_event ev;

		if (c->state != C_HANDSHAKE && c->state != C_CONNECTING &&
		    c->state != C_ESTABLISHED)
			continue;
		if (now < ostp_next_deadline(c->s))
			continue;
		ostp_tick(c->s, now, &ev);
		on_event(c, &ev);
		if (c->state != C_DONE && c->state != C_CONNECTING)
			(void)flush_out(c);
	}
}

/* One round of the event loop, waiting at most wait_ms. */
static void pump(int wait_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(ep, evs, 256, wait_ms < 0 ? 0 : wait_ms);

	for (int i = 0; i < n; i++)
		on_io(evs[i].data.ptr, evs[i].events);
}

/* The server's address, numeric, as ostpd's own configuration takes it. */
static int set_server(const char *text)
{
	if (!parse_endpoint(text, &srv, &srv_len)) {
		fprintf(stderr, "loadgen: %s: not a numeric address:port\n", text);
		return -1;
	}
	return 0;
}

static void raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want > rl.rlim_max ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fprintf(stderr, "loadgen: setrlimit(RLIMIT_NOFILE, %lu): %s\n",
			(unsigned long)rl.rlim_cur, strerror(errno));
	if (rl.rlim_cur < want)
		fprintf(stderr, "loadgen: warning: only %lu file descriptors (hard limit); "
			"%u wanted\n", (unsigned long)rl.rlim_cur, want);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static float pct(const float *v, unsigned n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen -s HOST:PORT -k BASE64_SERVER_KEY -n N [-c CONCURRENCY]\n"
		"               [-u USER -p PASSWORD] [-t HOLD_SECONDS]\n"
		"               [-T HANDSHAKE_TIMEOUT_S] [-w OPEN_PHASE_LIMIT_S]\n");
	exit(2);
}

static unsigned parse_uint(const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "loadgen: bad number '%s' (%u..%u)\n", s, min, max);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *key = NULL, *user = NULL, *pass = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t t_end, t_open_end;
	int opt, err;

	while ((opt = getopt(argc, argv, "s:k:n:c:u:p:t:T:w:h")) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'k': key = optarg; break;
		case 'n': n_total = parse_uint(optarg, 1, 1000000); break;
		case 'c': concurrency = parse_uint(optarg, 1, 1000000); break;
		case 'u': user = optarg; break;
		case 'p': pass = optarg; break;
		case 't': hold_s = parse_uint(optarg, 0, 86400); break;
		case 'T': hs_timeout_s = parse_uint(optarg, 1, 3600); break;
		case 'w': open_limit_s = parse_uint(optarg, 1, 86400); break;
		default: usage();
		}
	}
	if (optind != argc || !server || !key || !n_total || (!user != !pass))
		usage();
	err = ostp_init();
	if (err) {
		fprintf(stderr, "loadgen: %s\n", ostp_strerror(err));
		return 1;
	}
	if (set_server(server) < 0) {
		fprintf(stderr, "loadgen: bad server address '%s'\n", server);
		return 2;
	}
	if (key_from_base64(ccfg.server_pk, key) < 0) {
		fprintf(stderr, "loadgen: the server key is not one base64 32-byte key\n");
		return 2;
	}
	ccfg.spw = OSTP_SPW_QUICK;   /* whatever the server grants by default */
	ccfg.timing.handshake_ms = hs_timeout_s * 1000u;
	if (user) {
		ccfg.options = OSTP_OPT_U;
		ccfg.username = user;
		ccfg.password = pass;
	}
	raise_nofile(n_total + 64);
	conns = calloc(n_total, sizeof(*conns));
	hs_ms = calloc(n_total, sizeof(*hs_ms));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || !hs_ms || ep < 0) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < n_total; i++)
		conns[i].fd = -1;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* ---- opening phase */
	uint64_t t_start = mono_us(), last_tick = 0;
	double cpu0 = cpu_seconds();

	t_end = t_start + (uint64_t)open_limit_s * 1000000u;
	while (!stop && (opened < n_total || inflight > 0) && mono_us() < t_end) {
		while (opened < n_total && inflight < concurrency)
			open_one(&conns[opened]);
		pump(inflight ? 10 : 0);
		if (mono_ms() - last_tick >= 50) {
			tick_all();
			last_tick = mono_ms();
		}
	}
	t_open_end = mono_us();
	double cpu_open = cpu_seconds() - cpu0;
	/* still in flight: count as failed */
	for (unsigned i = 0; i < opened; i++)
		if (conns[i].state == C_CONNECTING || conns[i].state == C_HANDSHAKE)
			conn_end(&conns[i], stop ? "interrupted" : "opening phase time limit");
	if (!t_last_hs_us)
		t_last_hs_us = t_open_end;
	double secs = t_first_us ? (double)(t_last_hs_us - t_first_us) / 1e6 : 0;
	unsigned est_at_open = established;

	/* ---- hold phase */
	fprintf(stderr, "loadgen: holding %u sessions for %u s (%u failed)\n", established,
		hold_s, failed);
	fflush(stderr);
	t_end = mono_us() + (uint64_t)hold_s * 1000000u;
	while (!stop && mono_us() < t_end) {
		uint64_t left = (t_end - mono_us()) / 1000u;

		pump(left > 100 ? 100 : (int)left);
		tick_all();
	}

	/* ---- close phase: CLOSE, half-close, wait for each server's EOF */
	for (unsigned i = 0; i < opened; i++) {
		struct lconn *c = &conns[i];

		if (c->state != C_ESTABLISHED)
			continue;
		ostp_close(c->s, OSTP_CLOSE_NORMAL);
		if (!flush_out(c))
			continue;
		c->state = C_CLOSING;
		n_closing++;
		close_flush(c);
	}
	t_end = mono_us() + 5000000u;
	while (n_closing > 0 && mono_us() < t_end)
		pump(50);
	for (unsigned i = 0; i < opened; i++)
		if (conns[i].state != C_DONE)
			release(&conns[i]);

	/* ---- report */
	qsort(hs_ms, est_at_open, sizeof(*hs_ms), cmp_float);
	for (unsigned i = 0; i < n_reasons; i++)
		fprintf(stderr, "loadgen: %u x %s\n", reasons[i].n, reasons[i].what);
	printf("established=%u failed=%u seconds=%.3f handshakes_per_s=%.1f "
	       "hs_ms_p50=%.2f hs_ms_p99=%.2f hs_ms_max=%.2f lost=%u closed_clean=%u cpu_s=%.3f "
	       "t_first=%.6f t_last=%.6f\n",
	       est_at_open, failed, secs, secs > 0 ? est_at_open / secs : 0.0,
	       pct(hs_ms, est_at_open, 0.5), pct(hs_ms, est_at_open, 0.99),
	       pct(hs_ms, est_at_open, 1.0), lost, closed_clean, cpu_open,
	       (double)t_first_us / 1e6, (double)t_last_hs_us / 1e6);
	fflush(stdout);
	close(ep);
	free(conns);
	free(hs_ms);
	return established > 0 && failed == 0 ? 0 : 1;
}
