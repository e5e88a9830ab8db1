/* SPDX-License-Identifier: ISC */
/*
 * meshdial: one mesh member dialing another member's mesh listener
 * (docs/PROTOCOL.md §4.4 "Using a peer", §4.6 "Mesh links"), through
 * libostp, for the mesh-link tests.  The acceptor is an OSTP server with
 * require_identity that accepts only identity keys on its member list.
 *
 *   meshdial -c HOST:PORT -k ACCEPTOR_KEY_B64 [-i IDENTITY_KEYFILE]
 *            [-t SECS] [-r RECORD_FILE] [-P N -S A.B.C.D -D A.B.C.D]
 *       A mesh link: a client session pinned to the acceptor's key (-k,
 *       no TOFU) asking for SPW IPV4|IPV6.  With -i the session sets
 *       option I and proves that identity key with CLIENT_AUTH (§2.5.12),
 *       as a member does; without -i it is a non-member's plain session,
 *       which an acceptor answers with CLOSE(9).
 *         -r  every byte written to the socket is also appended to
 *             RECORD_FILE (created mode 0600 if missing), for -x
 *         -P  once established, send N DATA messages, 50 ms apart, each
 *             one 28-byte IPv4 ICMP echo request from -S to -D (ICMP id
 *             the low 16 bits of the pid, sequence 1..N)
 *         -t  the whole run lasts SECS seconds (1..3600, default 10) from
 *             the start; then an authenticated CLOSE(NORMAL)
 *       SIGINT or SIGTERM ends the run early with the same close.
 *
 *   meshdial -c HOST:PORT -x FILE [-t SECS]
 *       Replay: connect, write FILE's bytes raw (what -r recorded), then
 *       read and discard until the peer closes or -t.  The write side is
 *       never shut down, so only the peer's own decision closes the link.
 *
 *   meshdial -c HOST:PORT -g KIND [-t SECS]
 *       Bad input, KIND one of
 *         garbage    4096 random bytes
 *         truncated  the first 10 bytes of a valid Session Request (§2.1)
 *                    with option I, then nothing: the peer's handshake
 *                    deadline must end it, so -t must exceed that deadline
 *         oversized  a valid Session Request with option I; once the
 *                    Server Reply (32 bytes) has come, one 34-byte frame
 *                    header (§2.3.1) whose only fault is len = 4097
 *                    (OSTP_FRAME_PAYLOAD_MAX + 1): type CLIENT_AUTH, flags
 *                    0, counter 0, a random tag, and no body after it.
 *                    The peer must refuse it from the header alone.
 *       then read and discard until the peer closes or -t; the write side
 *       is never shut down.
 *
 * HOST:PORT is numeric: IPv4, or IPv6 in brackets ([fd00::1]:7000).
 *
 * stdout: one JSON object per line, flushed per line; every one has
 * "event" and "t" (CLOCK_MONOTONIC milliseconds, comparable between
 * processes on one machine):
 *   {"event":"established","spw":6,"t":...}
 *   {"event":"data","len":28,"src":"10.0.0.2","dst":"10.0.0.1","proto":1,
 *    "icmp_type":0,"t":...}
 *       one per DATA message received; src and dst "" and proto -1 when
 *       the packet is not IPv4 or IPv6 or too short; icmp_type -1 unless
 *       ICMP (IPv4) or ICMPv6 with its 8-byte header present
 *   {"event":"sent","n":5,"t":...}
 *       -P, once established: after the last packet, or with the count
 *       so far when the session ends (or a send fails) before all N went
 *       out
 *   {"event":"closed","err":"...","peer_closed":true,"close_reason":9,
 *    "reason":"...","local":false,"t":...}
 *       as tests/member.c prints it: local is true when this tool closed
 *       (time up or signal); err is the libostp error text ("" for a clean
 *       close) or the socket's error
 *   {"event":"replay","sent":N,"received":M,"eof":true,"reset":false,
 *    "err":"","t":...}
 *       eof: the peer closed the connection (FIN, or a reset: then reset
 *       is true too); err: a connect or socket error, else ""
 *   {"event":"bad","kind":"oversized","closed":true,"sent":N,"received":M,
 *    "reset":false,"err":"","t":...}
 *       closed: as eof above
 * stderr: diagnostics only.
 *
 * Exit status:
 *   session  3 if the peer closed with reason 9 (NOT_MEMBER); 4 if the
 *            handshake failed because the acceptor did not prove the
 *            pinned key: OSTP_E_KEY_MISMATCH (it presented another key)
 *            or OSTP_E_SIG (its signature does not verify); 0 if the
 *            session reached ESTABLISHED; 1 otherwise, and also when
 *            appending to RECORD_FILE failed
 *   -x       0 if the peer closed the connection before -t, else 1
 *   -g       0 if the peer closed the connection before -t (oversized:
 *            after the bad header was written), else 1
 *   2        bad usage, or an identity key file or FILE that cannot be
 *            read, or a RECORD_FILE that cannot be opened
 * Every phase is bounded: connect and handshake by the library's
 * handshake deadline (10 s) and by -t, the closing handshake by 2 s; -x
 * and -g by -t alone.
 *
 * Build: make BUILD=build build/meshdial (links libostpcommon.a for the
 * endpoint parser, the identity key file reader and the clock, and
 * libostp.a).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "identity.h"
#include "clock.h"
#include "endpoint.h"
#include "ostp.h"

#define HANDSHAKE_MS 10000u
#define CLOSE_WAIT_MS 2000u
#define PACKET_GAP_MS 50u
#define WANT_SPW (OSTP_SPW_IPV4 | OSTP_SPW_IPV6)
#define GARBAGE_LEN 4096u
#define TRUNC_LEN 10u
#define SH_LEN 32u             /* Server Reply, §2.2 */
#define FRAME_HDR_LEN 34u      /* iv (16) + tag (16) + len (2), §2.3.1 */
#define REPLAY_MAX (64u << 20)
#define ICMP_PKT_LEN 28u       /* IPv4 header (20) + ICMP echo header (8) */

enum phase { PH_CONNECTING, PH_SESSION, PH_CLOSING, PH_DONE };

static int fd = -1;
static ostp_session *sess;
static enum phase phase = PH_CONNECTING;
static bool want_out, established, refused, bad_key, shut;
static bool have_identity;
static uint8_t id_pk[32], id_sk[64];
static struct sockaddr_storage srv;
static socklen_t srv_len;
static volatile sig_atomic_t stop;
static uint8_t rbuf[65536];

/* -r */
static int rec_fd = -1;
static bool rec_failed;

/* -P */
static unsigned pkt_total, pkt_sent;
static bool pkt_done;
static uint64_t pkt_next;
static struct in_addr pkt_src, pkt_dst;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A JSON string; what goes in is ASCII, but escape anything odd anyway. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_end(void)
{
	printf(",\"t\":%llu}\n", (unsigned long long)mono_ms());
	fflush(stdout);
}

static void print_closed(const char *err, bool peer_closed, uint8_t reason, bool local)
{
	printf("{\"event\":\"closed\",\"err\":");
	json_str(err);
	printf(",\"peer_closed\":%s,\"close_reason\":%u,\"reason\":",
	       peer_closed ? "true" : "false", reason);
	json_str(ostp_close_reason_str(reason));
	printf(",\"local\":%s", local ? "true" : "false");
	json_end();
}

static void print_sent(void)
{
	pkt_done = true;
	printf("{\"event\":\"sent\",\"n\":%u", pkt_sent);
	json_end();
}

/* What arrived in one DATA message; the peer's bytes, so every field is
 * read only inside len. */
static void print_data(const uint8_t *p, size_t len)
{
	char src[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN] = "";
	int proto = -1, icmp_type = -1;

	if (len >= 20 && p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4u;

		inet_ntop(AF_INET, p + 12, src, sizeof(src));
		inet_ntop(AF_INET, p + 16, dst, sizeof(dst));
		proto = p[9];
		if (proto == IPPROTO_ICMP && ihl >= 20 && len >= ihl + 8)
			icmp_type = p[ihl];
	} else if (len >= 40 && p[0] >> 4 == 6) {
		inet_ntop(AF_INET6, p + 8, src, sizeof(src));
		inet_ntop(AF_INET6, p + 24, dst, sizeof(dst));
		proto = p[6];
		if (proto == IPPROTO_ICMPV6 && len >= 48)
			icmp_type = p[40];
	}
	printf("{\"event\":\"data\",\"len\":%zu,\"src\":", len);
	json_str(src);
	printf(",\"dst\":");
	json_str(dst);
	printf(",\"proto\":%d,\"icmp_type\":%d", proto, icmp_type);
	json_end();
}

/* The Internet checksum (RFC 1071) of an even-length buffer. */
static uint16_t inet_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

/* One IPv4 ICMP echo request, -S to -D, with both checksums right. */
static void build_echo(uint8_t pkt[ICMP_PKT_LEN], uint16_t seq)
{
	uint16_t ident = (uint16_t)(getpid() & 0xffff), c;
	uint8_t *icmp = pkt + 20;

	memset(pkt, 0, ICMP_PKT_LEN);
	pkt[0] = 0x45;                       /* version 4, IHL 5 */
	pkt[2] = 0;
	pkt[3] = ICMP_PKT_LEN;               /* total length */
	pkt[4] = (uint8_t)(seq >> 8);        /* identification */
	pkt[5] = (uint8_t)seq;
	pkt[8] = 64;                         /* TTL */
	pkt[9] = IPPROTO_ICMP;
	memcpy(pkt + 12, &pkt_src, 4);
	memcpy(pkt + 16, &pkt_dst, 4);
	c = inet_csum(pkt, 20);
	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;

	icmp[0] = 8;                         /* echo request, code 0 */
	icmp[4] = (uint8_t)(ident >> 8);
	icmp[5] = (uint8_t)ident;
	icmp[6] = (uint8_t)(seq >> 8);
	icmp[7] = (uint8_t)seq;
	c = inet_csum(icmp, 8);
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
}

/* -r: the bytes the socket took, appended; a short or failed write is
 * reported once and makes the exit status 1. */
static void record(const uint8_t *p, size_t n)
{
	while (rec_fd >= 0 && !rec_failed && n > 0) {
		ssize_t w = write(rec_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "meshdial: record file: %s\n",
				w < 0 ? strerror(errno) : "write returned 0");
			rec_failed = true;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* false: the socket failed (the session has been ended) */
static bool flush_out(void)
{
	for (;;) {
		const uint8_t *p;
		size_t n = sess ? ostp_output(sess, &p) : 0;
		ssize_t w;

		if (n == 0) {
			want_out = false;
			return true;
		}
		w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			record(p, (size_t)w);
			ostp_output_consume(sess, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out = true;
			return true;
		}
		if (phase == PH_SESSION || phase == PH_CONNECTING)
			print_closed(w < 0 ? strerror(errno) : "send returned 0", false, 0, false);
		phase = PH_DONE;
		return false;
	}
}

static void on_event(const struct ostp_event *ev)
{
	switch (ev->type) {
	case OSTP_EV_ESTABLISHED:
		established = true;
		printf("{\"event\":\"established\",\"spw\":%u", ev->spw);
		json_end();
		pkt_next = mono_ms();
		break;
	case OSTP_EV_MESSAGE:
		if (ev->msg_type == OSTP_MSG_DATA)
			print_data(ev->data, ev->len);
		break;
	case OSTP_EV_CLOSED:
		if (ev->peer_closed && ev->close_reason == OSTP_CLOSE_NOT_MEMBER)
			refused = true;
		if (ev->err == OSTP_E_KEY_MISMATCH || ev->err == OSTP_E_SIG)
			bad_key = true;
		if (pkt_total && !pkt_done && established)
			print_sent();
		print_closed(ev->err ? ostp_strerror(ev->err) : "", ev->peer_closed,
			     ev->close_reason, false);
		/* best effort: the CLOSE the library queued for a protocol error */
		phase = PH_DONE;
		(void)flush_out();
		break;
	default:
		/* HANDSHAKE, CONFIG, PEER_BLOCK, MEMBER, ...: nothing to do */
		break;
	}
}

static void feed(const uint8_t *buf, size_t n)
{
	uint64_t now = mono_ms();
	size_t off = 0;

	while (phase == PH_SESSION && !ostp_session_closed(sess)) {
		struct ostp_event ev;
		size_t used = 0;

		ostp_feed(sess, buf + off, n - off, &used, now, &ev);
		off += used;
		on_event(&ev);
		/* a second event produced by one frame is drained too */
		if (ev.type == OSTP_EV_NONE && off == n)
			break;
	}
}

static void on_readable(void)
{
	for (int i = 0; i < 16 && phase != PH_DONE; i++) {
		ssize_t n = read(fd, rbuf, sizeof(rbuf));

		if (n > 0) {
			if (phase == PH_SESSION)
				feed(rbuf, (size_t)n);
			/* closing: discard until EOF */
			continue;
		}
		if (n == 0) {
			if (phase == PH_SESSION) {
				struct ostp_event ev;

				ostp_eof(sess, &ev);
				if (ev.type == OSTP_EV_CLOSED)
					on_event(&ev);
				else
					print_closed("EOF", false, 0, false);
			}
			phase = PH_DONE;
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			if (phase == PH_SESSION) {
				if (pkt_total && !pkt_done && established)
					print_sent();
				print_closed(strerror(errno), false, 0, false);
			}
			phase = PH_DONE;
		}
		return;
	}
}

/* -P: the packets that are due now. */
static void send_packets(uint64_t now)
{
	while (phase == PH_SESSION && established && !pkt_done && now >= pkt_next) {
		uint8_t pkt[ICMP_PKT_LEN];
		int err;

		build_echo(pkt, (uint16_t)(pkt_sent + 1u));
		err = ostp_send(sess, OSTP_MSG_DATA, pkt, sizeof(pkt));
		if (err) {
			fprintf(stderr, "meshdial: packet %u: %s\n", pkt_sent + 1u,
				ostp_strerror(err));
			print_sent();
			return;
		}
		pkt_sent++;
		pkt_next += PACKET_GAP_MS;
		if (pkt_sent == pkt_total)
			print_sent();
		/* never a burst to catch up: one packet per gap */
		if (pkt_next < now)
			pkt_next = now + PACKET_GAP_MS;
	}
}

/* Time is up or a signal came: authenticated close, then wait for EOF. */
static void begin_close(void)
{
	if (phase == PH_CONNECTING) {
		print_closed("no connection", false, 0, true);
		phase = PH_DONE;
		return;
	}
	if (phase != PH_SESSION)
		return;
	if (pkt_total && !pkt_done && established)
		print_sent();
	ostp_close(sess, OSTP_CLOSE_NORMAL);
	print_closed("", false, OSTP_CLOSE_NORMAL, true);
	phase = PH_CLOSING;
}

static void close_flush(void)
{
	const uint8_t *p;

	if (shut || !flush_out())
		return;
	if (ostp_output(sess, &p) == 0) {
		shutdown(fd, SHUT_WR);
		shut = true;
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: meshdial -c HOST:PORT -k ACCEPTOR_KEY_B64 [-i IDENTITY_KEYFILE]\n"
		"                [-t SECS] [-r RECORD_FILE] [-P N -S A.B.C.D -D A.B.C.D]\n"
		"       meshdial -c HOST:PORT -x FILE [-t SECS]\n"
		"       meshdial -c HOST:PORT -g garbage|truncated|oversized [-t SECS]\n");
	exit(2);
}

static unsigned parse_uint(const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "meshdial: bad number '%s' (%u..%u)\n", s, min, max);
		exit(2);
	}
	return (unsigned)v;
}

static void parse_ipv4(const char *s, struct in_addr *out)
{
	if (inet_pton(AF_INET, s, out) != 1) {
		fprintf(stderr, "meshdial: '%s' is not an IPv4 address\n", s);
		exit(2);
	}
}

/* A non-blocking socket with its connect under way; -1 with errno. */
static int open_socket(void)
{
	int s, one = 1;

	s = socket(srv.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, (struct sockaddr *)&srv, srv_len) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(s);
		errno = e;
		return -1;
	}
	return s;
}

/* ---- the session ------------------------------------------------------- */

static int session_exit_status(void)
{
	if (rec_failed)
		return 1;
	if (refused)
		return 3;
	if (bad_key)
		return 4;
	return established ? 0 : 1;
}

static int run_session(const char *key, const char *idfile, const char *recfile,
		       unsigned secs)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ostp_client_config ccfg;
	uint64_t t_end, t_close = 0;
	int err;

	memset(&ccfg, 0, sizeof(ccfg));
	if (key_from_base64(ccfg.server_pk, key) < 0) {
		fprintf(stderr, "meshdial: the acceptor key is not one base64 32-byte key\n");
		return 2;
	}
	if (idfile) {
		char msg[256];

		if (identity_load(idfile, id_pk, id_sk, msg, sizeof(msg)) < 0) {
			fprintf(stderr, "meshdial: %s\n", msg);
			return 2;
		}
		have_identity = true;
		ccfg.identity_sk = id_sk;
	}
	if (recfile) {
		rec_fd = open(recfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (rec_fd < 0) {
			fprintf(stderr, "meshdial: %s: %s\n", recfile, strerror(errno));
			return 2;
		}
	}
	ccfg.options = have_identity ? OSTP_OPT_I : 0;
	ccfg.tofu = false;
	ccfg.spw = WANT_SPW;
	ccfg.timing.handshake_ms = HANDSHAKE_MS;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	t_end = mono_ms() + (uint64_t)secs * 1000u;
	err = ostp_client_new(&sess, &ccfg, NULL, mono_ms());
	if (err) {
		fprintf(stderr, "meshdial: %s\n", ostp_strerror(err));
		return 1;
	}
	fd = open_socket();
	if (fd < 0) {
		print_closed(strerror(errno), false, 0, false);
		phase = PH_DONE;
	}
	want_out = true;   /* connecting: wait for writability */

	while (phase != PH_DONE) {
		uint64_t now = mono_ms(), wake;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		if ((stop || now >= t_end) && (phase == PH_CONNECTING || phase == PH_SESSION)) {
			begin_close();
			t_close = now + CLOSE_WAIT_MS;
			if (phase == PH_CLOSING)
				close_flush();
			continue;
		}
		if (phase == PH_CLOSING && now >= t_close) {
			fprintf(stderr, "meshdial: no EOF from the acceptor %u ms after CLOSE\n",
				CLOSE_WAIT_MS);
			break;
		}
		if (phase == PH_SESSION && now >= ostp_next_deadline(sess)) {
			struct ostp_event ev;

			ostp_tick(sess, now, &ev);
			on_event(&ev);
			if (phase == PH_SESSION)
				(void)flush_out();
			continue;
		}
		if (phase == PH_SESSION && established && pkt_total && !pkt_done &&
		    now >= pkt_next) {
			send_packets(now);
			(void)flush_out();
			continue;
		}
		wake = phase == PH_CLOSING ? t_close : t_end;
		if (phase != PH_CLOSING) {
			uint64_t d = ostp_next_deadline(sess);

			if (d < wake)
				wake = d;
			if (established && pkt_total && !pkt_done && pkt_next < wake)
				wake = pkt_next;
		}
		if (want_out)
			pfd.events |= POLLOUT;
		n = poll(&pfd, 1, wake > now ? (int)(wake - now > 1000 ? 1000 : wake - now) : 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "meshdial: poll: %s\n", strerror(errno));
			break;
		}
		if (n == 0)
			continue;
		if (phase == PH_CONNECTING) {
			int soerr = 0;
			socklen_t len = sizeof(soerr);

			if (!(pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
				continue;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
				soerr = errno;
			if (soerr) {
				print_closed(strerror(soerr), false, 0, false);
				phase = PH_DONE;
				break;
			}
			phase = PH_SESSION;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			on_readable();
		if (phase == PH_SESSION)
			(void)flush_out();
		else if (phase == PH_CLOSING)
			close_flush();
	}
	if (fd >= 0)
		close(fd);
	ostp_session_free(sess);
	sess = NULL;
	sodium_memzero(id_sk, sizeof(id_sk));
	if (rec_fd >= 0 && close(rec_fd) < 0 && !rec_failed) {
		fprintf(stderr, "meshdial: record file: %s\n", strerror(errno));
		rec_failed = true;
	}
	return session_exit_status();
}

/* ---- raw bytes: replay and bad input ---------------------------------- */

/* One burst of bytes, written once at least need_rx bytes have come. */
struct raw_step {
	const uint8_t *p;
	size_t n;
	size_t need_rx;
};

struct raw_result {
	size_t sent, received;
	unsigned steps_done;   /* steps written in full */
	bool closed, reset;
	char err[128];
};

static void raw_error(struct raw_result *r, int e)
{
	snprintf(r->err, sizeof(r->err), "%s", strerror(e));
}

/* Connect, write the steps in order, read and discard; ends when the peer
 * closes (EOF or reset), on any other socket error, or at deadline.  The
 * write side stays open throughout. */
static void run_raw(const struct raw_step *steps, unsigned nsteps, uint64_t deadline,
		    struct raw_result *r)
{
	bool connected = false;
	unsigned step = 0;
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	fd = open_socket();
	if (fd < 0) {
		raw_error(r, errno);
		return;
	}
	for (;;) {
		uint64_t now = mono_ms();
		struct pollfd pfd = { .fd = fd, .events = 0 };
		bool can_write = step < nsteps && r->received >= steps[step].need_rx;
		int n;

		if (now >= deadline)
			break;
		if (!connected || can_write)
			pfd.events |= POLLOUT;
		if (connected)
			pfd.events |= POLLIN;
		n = poll(&pfd, 1, (int)(deadline - now > 1000 ? 1000 : deadline - now));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			raw_error(r, errno);
			break;
		}
		if (n == 0)
			continue;
		if (!connected) {
			int soerr = 0;
			socklen_t len = sizeof(soerr);

			if (!(pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
				continue;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
				soerr = errno;
			if (soerr) {
				raw_error(r, soerr);
				break;
			}
			connected = true;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t got = read(fd, rbuf, sizeof(rbuf));

			if (got > 0) {
				r->received += (size_t)got;
			} else if (got == 0) {
				r->closed = true;
				break;
			} else if (errno == ECONNRESET || errno == EPIPE) {
				r->closed = r->reset = true;
				break;
			} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
				raw_error(r, errno);
				break;
			}
		}
		while (step < nsteps && r->received >= steps[step].need_rx) {
			ssize_t w;

			if (off == steps[step].n) {
				step++;
				off = 0;
				r->steps_done = step;
				continue;
			}
			w = send(fd, steps[step].p + off, steps[step].n - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0) {
				off += (size_t)w;
				r->sent += (size_t)w;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (w < 0 && (errno == ECONNRESET || errno == EPIPE)) {
				/* EPIPE: the peer's FIN, then our write got a reset */
				r->closed = true;
				r->reset = errno == ECONNRESET;
			} else {
				raw_error(r, w < 0 ? errno : EIO);
			}
			goto out;
		}
	}
out:
	close(fd);
	fd = -1;
}

static int run_replay(const char *path, unsigned secs)
{
	uint64_t deadline = mono_ms() + (uint64_t)secs * 1000u;
	struct raw_result r;
	struct raw_step st;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int f = open(path, O_RDONLY | O_CLOEXEC);

	if (f < 0) {
		fprintf(stderr, "meshdial: %s: %s\n", path, strerror(errno));
		return 2;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			uint8_t *nb;

			if (cap >= REPLAY_MAX) {
				fprintf(stderr, "meshdial: %s: longer than %u bytes\n", path,
					REPLAY_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "meshdial: out of memory\n");
				goto fail;
			}
			buf = nb;
		}
		n = read(f, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "meshdial: %s: %s\n", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(f);
	st = (struct raw_step){ .p = buf, .n = len, .need_rx = 0 };
	run_raw(&st, 1, deadline, &r);
	free(buf);
	if (r.err[0])
		fprintf(stderr, "meshdial: replay: %s\n", r.err);
	printf("{\"event\":\"replay\",\"sent\":%zu,\"received\":%zu,\"eof\":%s,\"reset\":%s,"
	       "\"err\":", r.sent, r.received, r.closed ? "true" : "false",
	       r.reset ? "true" : "false");
	json_str(r.err);
	json_end();
	return r.closed ? 0 : 1;
fail:
	close(f);
	free(buf);
	return 2;
}

/* A valid Session Request with option I (§2.1), made by the library for a
 * throwaway identity; 0, or a negative ostp error. */
static int make_sr(uint8_t *out, size_t cap, size_t *len)
{
	struct ostp_client_config ccfg;
	uint8_t pk[32], sk[64];
	const uint8_t *p;
	ostp_session *s;
	size_t n;
	int err;

	err = ostp_identity_generate(pk, sk);
	if (err)
		return err;
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.options = OSTP_OPT_I;
	ccfg.identity_sk = sk;
	ccfg.tofu = true;
	ccfg.spw = WANT_SPW;
	err = ostp_client_new(&s, &ccfg, NULL, mono_ms());
	if (err) {
		sodium_memzero(sk, sizeof(sk));
		return err;
	}
	/* nothing but the SR is queued before the Server Reply is fed */
	n = ostp_output(s, &p);
	if (n > cap || n < 34 || n != 33u + p[33]) {
		err = OSTP_E_LEN;
	} else {
		memcpy(out, p, n);
		*len = n;
	}
	ostp_session_free(s);
	sodium_memzero(sk, sizeof(sk));
	return err;
}

static int run_bad(const char *kind, unsigned secs)
{
	uint64_t deadline = mono_ms() + (uint64_t)secs * 1000u;
	uint8_t garbage[GARBAGE_LEN], sr[128], hdr[FRAME_HDR_LEN];
	struct raw_step st[2];
	struct raw_result r;
	unsigned nst;
	size_t sr_len = 0;
	bool ok;
	int err;

	if (strcmp(kind, "garbage") == 0) {
		randombytes_buf(garbage, sizeof(garbage));
		st[0] = (struct raw_step){ .p = garbage, .n = sizeof(garbage) };
		nst = 1;
	} else if (strcmp(kind, "truncated") == 0 || strcmp(kind, "oversized") == 0) {
		err = make_sr(sr, sizeof(sr), &sr_len);
		if (err) {
			fprintf(stderr, "meshdial: session request: %s\n", ostp_strerror(err));
			return 1;
		}
		if (kind[0] == 't') {
			st[0] = (struct raw_step){ .p = sr, .n = TRUNC_LEN };
			nst = 1;
		} else {
			uint16_t big = OSTP_FRAME_PAYLOAD_MAX + 1u;

			/* iv: type, flags 0, 00 00, 00 00 00 00, counter 0 */
			memset(hdr, 0, sizeof(hdr));
			hdr[0] = OSTP_MSG_CLIENT_AUTH;
			randombytes_buf(hdr + 16, 16);     /* tag */
			hdr[32] = (uint8_t)(big >> 8);
			hdr[33] = (uint8_t)big;
			st[0] = (struct raw_step){ .p = sr, .n = sr_len };
			st[1] = (struct raw_step){ .p = hdr, .n = sizeof(hdr),
						   .need_rx = SH_LEN };
			nst = 2;
		}
	} else {
		fprintf(stderr, "meshdial: -g: unknown kind '%s'\n", kind);
		return 2;
	}
	run_raw(st, nst, deadline, &r);
	if (r.err[0])
		fprintf(stderr, "meshdial: %s: %s\n", kind, r.err);
	ok = r.closed;
	if (nst == 2 && r.steps_done < 2) {
		if (r.closed)
			fprintf(stderr, "meshdial: oversized: the peer closed before the "
				"frame header was sent (%zu bytes received)\n", r.received);
		ok = false;
	}
	printf("{\"event\":\"bad\",\"kind\":");
	json_str(kind);
	printf(",\"closed\":%s,\"sent\":%zu,\"received\":%zu,\"reset\":%s,\"err\":",
	       r.closed ? "true" : "false", r.sent, r.received, r.reset ? "true" : "false");
	json_str(r.err);
	json_end();
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *key = NULL, *idfile = NULL, *recfile = NULL;
	const char *replay = NULL, *bad = NULL, *src = NULL, *dst = NULL;
	unsigned secs = 10;
	int opt, err, modes;

	while ((opt = getopt(argc, argv, "c:k:i:t:r:P:S:D:x:g:h")) != -1) {
		switch (opt) {
		case 'c': server = optarg; break;
		case 'k': key = optarg; break;
		case 'i': idfile = optarg; break;
		case 't': secs = parse_uint(optarg, 1, 3600); break;
		case 'r': recfile = optarg; break;
		case 'P': pkt_total = parse_uint(optarg, 1, 100000); break;
		case 'S': src = optarg; break;
		case 'D': dst = optarg; break;
		case 'x': replay = optarg; break;
		case 'g': bad = optarg; break;
		default: usage();
		}
	}
	modes = !!key + !!replay + !!bad;
	if (optind != argc || !server || modes != 1)
		usage();
	/* session-only options */
	if (!key && (idfile || recfile || pkt_total || src || dst))
		usage();
	if (!pkt_total != !src || !pkt_total != !dst)
		usage();
	if (src)
		parse_ipv4(src, &pkt_src);
	if (dst)
		parse_ipv4(dst, &pkt_dst);
	if (!parse_endpoint(server, &srv, &srv_len)) {
		fprintf(stderr, "meshdial: %s: not a numeric address:port\n", server);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	err = ostp_init();
	if (err) {
		fprintf(stderr, "meshdial: %s\n", ostp_strerror(err));
		return 1;
	}
	if (replay)
		return run_replay(replay, secs);
	if (bad)
		return run_bad(bad, secs);
	return run_session(key, idfile, recfile, secs);
}
