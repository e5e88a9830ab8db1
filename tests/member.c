/* SPDX-License-Identifier: ISC */
/*
 * member: one mesh member's session with an OCS, through libostp, for the
 * member-list test (tests/netns/test_mesh_ocs.sh).
 *
 *   member -s HOST:PORT -k SERVER_KEY_B64 [-i IDENTITY_KEYFILE]
 *          [-u USER -p PASSWORD] [-a PORT] [-t SECS]
 *
 *   -s  the OCS's address (IPv4, or IPv6 in brackets: [fd00::1]:7000)
 *   -k  its pinned Ed25519 key, base64 (what `ostpd -g` printed)
 *   -i  identity key file as `ostpd -g FILE` / `ostpctl genkey FILE` write
 *       it (mode 0600): the session sets option I and proves that key
 *       with CLIENT_AUTH.  Without -i the session is a plain client's.
 *   -u, -p  user authentication (option U); both or neither
 *   -a  once established with MESH agreed, ANNOUNCE port PORT with ACCEPTS
 *       and an empty host ("the address you see me from")
 *   -t  run for SECS seconds (1..3600, default 10) from the start, then
 *       close with an authenticated CLOSE(NORMAL)
 *
 * It asks for SPW MESH|IPV4|IPV6|CONFIG (0x0027) and takes whatever subset
 * the server counter-proposes; keepalives are answered and sent by the
 * library as the timers come due.  SIGINT or SIGTERM ends the run early,
 * with the same authenticated close.
 *
 * stdout: one JSON object per line, flushed per line; every one has
 * "event" and "t" (CLOCK_MONOTONIC milliseconds, comparable between
 * processes on one machine):
 *   {"event":"established","spw":39,"mesh":true,"key":"B64","t":...}
 *       key: this member's own identity key ("" without -i)
 *   {"event":"config","mtu":1420,"addresses":["198.18.1.2/24",...],"t":...}
 *   {"event":"announce","ok":true,"err":"","port":7100,"host":"","flags":1,"t":...}
 *   {"event":"member","op":"upsert","name":"quinn","key":"B64",
 *    "host":"198.18.0.3","port":7100,"flags":1,
 *    "prefixes":["198.18.1.3/32","fd00:1::3/128"],"seq":2,"t":...}
 *       op: upsert, remove, synced (or announce/unknown, which a server
 *       never sends)
 *   {"event":"closed","err":"...","peer_closed":true,"close_reason":9,
 *    "reason":"...","local":false,"t":...}
 *       local: true when this tool closed (time up or signal); err is the
 *       libostp error text ("" for a clean close), or the socket's error.
 * stderr: diagnostics only.
 *
 * Exit status: 3 if the server closed the session with reason 9
 * (NOT_MEMBER), else 0 if the session reached ESTABLISHED, else 1; 2 for
 * bad usage or an identity key file that cannot be read.  Every phase is bounded: connect and handshake by the
 * library's handshake deadline (10 s) and by -t, the closing handshake by
 * 2 s.
 *
 * Build: make BUILD=build build/member (links libostpcommon.a for the
 * identity key file reader, and libostp.a).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
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
#include <time.h>
#include <unistd.h>

#include "identity.h"
#include "clock.h"
#include "endpoint.h"
#include "ostp.h"

#define HANDSHAKE_MS 10000u
#define CLOSE_WAIT_MS 2000u
#define WANT_SPW (OSTP_SPW_MESH | OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_CONFIG)

enum phase { PH_CONNECTING, PH_SESSION, PH_CLOSING, PH_DONE };

static int fd = -1;
static ostp_session *sess;
static enum phase phase = PH_CONNECTING;
static bool want_out, established, refused, shut;
static uint16_t announce_port;
static bool have_identity;
static uint8_t id_pk[32], id_sk[64];
static struct sockaddr_storage srv;
static socklen_t srv_len;
static volatile sig_atomic_t stop;
static uint8_t rbuf[65536];

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

static void json_key(const uint8_t key[32])
{
	char b64[IDENTITY_B64_LEN];

	key_to_base64(b64, key);
	json_str(b64);
}

static void json_prefix(const struct ostp_config_addr *a)
{
	char txt[INET6_ADDRSTRLEN + 8], buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->addr, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	snprintf(txt, sizeof(txt), "%s/%u", buf, a->prefix_len);
	json_str(txt);
}

static void json_end(void)
{
	printf(",\"t\":%llu}\n", (unsigned long long)mono_ms());
	fflush(stdout);
}

static const char *op_name(uint8_t op)
{
	switch (op) {
	case OSTP_MEMBER_UPSERT: return "upsert";
	case OSTP_MEMBER_REMOVE: return "remove";
	case OSTP_MEMBER_SYNCED: return "synced";
	case OSTP_MEMBER_ANNOUNCE: return "announce";
	default: return "unknown";
	}
}

static void print_member(const struct ostp_member *m)
{
	printf("{\"event\":\"member\",\"op\":");
	json_str(op_name(m->op));
	printf(",\"name\":");
	json_str(m->name);
	printf(",\"key\":");
	json_key(m->id_pk);
	printf(",\"host\":");
	json_str(m->host);
	printf(",\"port\":%u,\"flags\":%u,\"prefixes\":[", m->port, m->flags);
	for (unsigned i = 0; i < m->n_prefix && i < OSTP_MEMBER_PREFIX_MAX; i++) {
		if (i)
			putchar(',');
		json_prefix(&m->prefix[i]);
	}
	printf("],\"seq\":%lu", (unsigned long)m->seq);
	json_end();
}

static void print_config(const struct ostp_config *c)
{
	printf("{\"event\":\"config\",\"mtu\":%u,\"addresses\":[", c->mtu);
	for (unsigned i = 0; i < c->n_addr && i < OSTP_CONFIG_ADDR_MAX; i++) {
		if (i)
			putchar(',');
		json_prefix(&c->addr[i]);
	}
	putchar(']');
	json_end();
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

static void announce(void)
{
	struct ostp_member m;
	int err;

	memset(&m, 0, sizeof(m));
	m.op = OSTP_MEMBER_ANNOUNCE;
	m.flags = OSTP_MEMBER_F_ACCEPTS;
	m.port = announce_port;
	memcpy(m.id_pk, id_pk, sizeof(m.id_pk));
	if (!have_identity)
		err = OSTP_E_STATE;
	else if (!(ostp_session_spw(sess) & OSTP_SPW_MESH))
		err = OSTP_E_SPW;
	else
		err = ostp_send_member(sess, &m);
	if (err)
		fprintf(stderr, "member: announce: %s%s\n", ostp_strerror(err),
			have_identity ? "" : " (no identity: -i)");
	printf("{\"event\":\"announce\",\"ok\":%s,\"err\":", err ? "false" : "true");
	json_str(err ? ostp_strerror(err) : "");
	printf(",\"port\":%u,\"host\":\"\",\"flags\":%u", m.port, m.flags);
	json_end();
}

static void on_event(const struct ostp_event *ev)
{
	switch (ev->type) {
	case OSTP_EV_ESTABLISHED:
		established = true;
		printf("{\"event\":\"established\",\"spw\":%u,\"mesh\":%s,\"key\":",
		       ev->spw, ev->spw & OSTP_SPW_MESH ? "true" : "false");
		if (have_identity)
			json_key(id_pk);
		else
			json_str("");
		json_end();
		if (announce_port)
			announce();
		break;
	case OSTP_EV_CONFIG:
		print_config(ev->config);
		break;
	case OSTP_EV_MEMBER:
		print_member(ev->member);
		break;
	case OSTP_EV_CLOSED:
		if (ev->peer_closed && ev->close_reason == OSTP_CLOSE_NOT_MEMBER)
			refused = true;
		print_closed(ev->err ? ostp_strerror(ev->err) : "", ev->peer_closed,
			     ev->close_reason, false);
		/* best effort: the CLOSE the library queued for a protocol error */
		phase = PH_DONE;
		(void)flush_out();
		break;
	default:
		/* HANDSHAKE, AUTH_RESULT, PEER_BLOCK, MESSAGE: nothing to do */
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
			if (phase == PH_SESSION)
				print_closed(strerror(errno), false, 0, false);
			phase = PH_DONE;
		}
		return;
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

/* The server's address, numeric, as ostpd's own configuration takes it. */
static int set_server(const char *text)
{
	if (!parse_endpoint(text, &srv, &srv_len)) {
		fprintf(stderr, "member: %s: not a numeric address:port\n", text);
		return -1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: member -s HOST:PORT -k SERVER_KEY_B64 [-i IDENTITY_KEYFILE]\n"
		"              [-u USER -p PASSWORD] [-a PORT] [-t SECS]\n");
	exit(2);
}

static unsigned parse_uint(const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "member: bad number '%s' (%u..%u)\n", s, min, max);
		exit(2);
	}
	return (unsigned)v;
}

static int exit_status(void)
{
	if (refused)
		return 3;
	return established ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *key = NULL, *idfile = NULL, *user = NULL, *pass = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	struct ostp_client_config ccfg;
	unsigned secs = 10;
	uint64_t t_end, t_close = 0;
	int opt, err, one = 1;

	while ((opt = getopt(argc, argv, "s:k:i:u:p:a:t:h")) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'k': key = optarg; break;
		case 'i': idfile = optarg; break;
		case 'u': user = optarg; break;
		case 'p': pass = optarg; break;
		case 'a': announce_port = (uint16_t)parse_uint(optarg, 1, 65535); break;
		case 't': secs = parse_uint(optarg, 1, 3600); break;
		default: usage();
		}
	}
	if (optind != argc || !server || !key || (!user != !pass))
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	err = ostp_init();
	if (err) {
		fprintf(stderr, "member: %s\n", ostp_strerror(err));
		return 1;
	}
	memset(&ccfg, 0, sizeof(ccfg));
	if (key_from_base64(ccfg.server_pk, key) < 0) {
		fprintf(stderr, "member: the server key is not one base64 32-byte key\n");
		return 2;
	}
	if (set_server(server) < 0) {
		fprintf(stderr, "member: bad server address '%s'\n", server);
		return 2;
	}
	if (idfile) {
		char msg[256];

		if (identity_load(idfile, id_pk, id_sk, msg, sizeof(msg)) < 0) {
			fprintf(stderr, "member: %s\n", msg);
			return 2;
		}
		have_identity = true;
		ccfg.identity_sk = id_sk;
	}
	ccfg.spw = WANT_SPW;
	ccfg.timing.handshake_ms = HANDSHAKE_MS;
	if (user) {
		ccfg.options = OSTP_OPT_U;
		ccfg.username = user;
		ccfg.password = pass;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	t_end = mono_ms() + (uint64_t)secs * 1000u;
	err = ostp_client_new(&sess, &ccfg, NULL, mono_ms());
	if (err) {
		fprintf(stderr, "member: %s\n", ostp_strerror(err));
		return 1;
	}
	fd = socket(srv.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "member: socket: %s\n", strerror(errno));
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&srv, srv_len) < 0 && errno != EINPROGRESS) {
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
			fprintf(stderr, "member: no EOF from the server %u ms after CLOSE\n",
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
		wake = phase == PH_CLOSING ? t_close : t_end;
		if (phase != PH_CLOSING) {
			uint64_t d = ostp_next_deadline(sess);

			if (d < wake)
				wake = d;
		}
		if (want_out)
			pfd.events |= POLLOUT;
		n = poll(&pfd, 1, wake > now ? (int)(wake - now > 1000 ? 1000 : wake - now) : 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "member: poll: %s\n", strerror(errno));
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
	sodium_memzero(id_sk, sizeof(id_sk));
	return exit_status();
}
