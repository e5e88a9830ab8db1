/* SPDX-License-Identifier: ISC */
/*
 * Micro-benchmark of libostp (not a test): how much the protocol core
 * costs on top of the AEAD it uses.
 *
 *  - seal + open through whole sessions: ostp_send() on an established
 *    client, ostp_feed() of its output into the server, for 1400-byte
 *    messages and for chained 64 KiB messages;
 *  - next to it, in the same run, raw libsodium
 *    crypto_aead_aes256gcm_encrypt_detached_afternm + decrypt_detached_afternm
 *    on the same buffers: one encrypt and one decrypt per message, the
 *    message as one AEAD input (so the ratio includes chaining into 4096-byte
 *    frames as well as headers, copies and state checks);
 *  - full client + server handshakes in memory (no password), per second.
 *
 * Each figure is measured for about SECONDS of wall time (argument 1,
 * default 2) with CLOCK_MONOTONIC, next to the process CPU time.  GB/s is
 * 10^9 payload bytes per second, each byte sealed once and opened once.
 * scripts/bench-core builds this with -O2 and pins it to one CPU.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ostp.h"
#include "wire.h"

struct measure {
	double wall, cpu;     /* seconds */
	double bytes;         /* payload bytes through seal + open */
	unsigned long ops;    /* messages or handshakes */
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_core: %s: %s (%d)\n", what, ostp_strerror(err), err);
	exit(EXIT_FAILURE);
}

static uint8_t id_pk[32], id_sk[64];

/* ---- sessions ------------------------------------------------------------------ */

/* Feed everything in buf to s; returns the number of MESSAGE events. */
static unsigned long feed_all(ostp_session *s, const uint8_t *buf, size_t len, uint64_t now,
			      size_t expect_len)
{
	unsigned long msgs = 0;
	size_t off = 0;

	while (off < len) {
		struct ostp_event ev;
		size_t used;
		int err = ostp_feed(s, buf + off, len - off, &used, now, &ev);

		if (err)
			die("ostp_feed", err);
		off += used;
		if (ev.type == OSTP_EV_MESSAGE) {
			if (ev.len != expect_len)
				die("message length", OSTP_E_LEN);
			msgs++;
		} else if (ev.type == OSTP_EV_CLOSED) {
			die("session closed", ev.err);
		} else if (ev.type == OSTP_EV_NONE && used == 0) {
			break;
		}
	}
	/* a second event produced by the last frame */
	for (;;) {
		struct ostp_event ev;
		size_t used;

		if (ostp_feed(s, NULL, 0, &used, now, &ev) != OSTP_OK || ev.type == OSTP_EV_NONE)
			break;
	}
	return msgs;
}

static size_t move(ostp_session *from, ostp_session *to)
{
	const uint8_t *p;
	size_t n = ostp_output(from, &p);

	if (n) {
		feed_all(to, p, n, 0, 0);
		ostp_output_consume(from, n);
	}
	return n;
}

static void session_pair(ostp_session **c, ostp_session **s, size_t outq)
{
	struct ostp_client_config cc = { .spw = OSTP_SPW_IPV4, .outq_max = outq };
	struct ostp_server_config sc = {
		.identity_sk = id_sk,
		.spw_supported = OSTP_SPW_IPV4 | OSTP_SPW_IPV6,
		.spw_default = OSTP_SPW_IPV4,
		.spw_permitted = OSTP_SPW_IPV4 | OSTP_SPW_IPV6,
		.outq_max = outq,
	};
	int err;

	memcpy(cc.server_pk, id_pk, 32);
	/* no timer fires: nothing calls ostp_tick() */
	if ((err = ostp_client_new(c, &cc, NULL, 0)) != OSTP_OK)
		die("ostp_client_new", err);
	if ((err = ostp_server_new(s, &sc, NULL, 0)) != OSTP_OK)
		die("ostp_server_new", err);
	for (int i = 0; i < 16; i++)
		if (move(*c, *s) + move(*s, *c) == 0)
			break;
	if (!ostp_session_established(*c) || !ostp_session_established(*s))
		die("handshake", OSTP_E_STATE);
}

static struct measure bench_ostp(const uint8_t *msg, size_t len, double seconds)
{
	ostp_session *c, *s;
	struct measure m = { 0 };
	/* send in bursts of about 256 KiB, then hand the burst to the server */
	size_t burst = len >= 65536 ? 4 : (256 * 1024) / len;
	double w0, c0;
	unsigned long got = 0;

	session_pair(&c, &s, 8u << 20);
	w0 = clock_s(CLOCK_MONOTONIC);
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	do {
		const uint8_t *p;
		size_t n;

		for (size_t i = 0; i < burst; i++) {
			int err = ostp_send(c, OSTP_MSG_DATA, msg, len);

			if (err)
				die("ostp_send", err);
		}
		n = ostp_output(c, &p);
		got += feed_all(s, p, n, 0, len);
		ostp_output_consume(c, n);
		m.ops += burst;
		m.wall = clock_s(CLOCK_MONOTONIC) - w0;
	} while (m.wall < seconds);
	m.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (got != m.ops)
		die("messages lost", OSTP_E_STATE);
	m.bytes = (double)m.ops * (double)len;
	ostp_session_free(c);
	ostp_session_free(s);
	return m;
}

/* ---- raw AEAD -------------------------------------------------------------------- */

static struct measure bench_raw(const uint8_t *msg, size_t len, double seconds)
{
	static crypto_aead_aes256gcm_state st;
	uint8_t key[32], nonce[12] = { 0 }, aad[18], tag[16];
	uint8_t *ct = malloc(len), *pt = malloc(len);
	struct measure m = { 0 };
	uint64_t ctr = 0;
	double w0, c0;

	if (!ct || !pt)
		die("malloc", OSTP_E_NOMEM);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(aad, sizeof(aad));
	crypto_aead_aes256gcm_beforenm(&st, key);
	w0 = clock_s(CLOCK_MONOTONIC);
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	do {
		for (int i = 0; i < 64; i++) {
			ctr++;
			for (int b = 0; b < 8; b++)
				nonce[4 + b] = (uint8_t)(ctr >> (56 - 8 * b));
			crypto_aead_aes256gcm_encrypt_detached_afternm(ct, tag, NULL, msg, len, aad,
								       sizeof(aad), NULL, nonce, &st);
			if (crypto_aead_aes256gcm_decrypt_detached_afternm(pt, NULL, ct, len, tag, aad,
									   sizeof(aad), nonce, &st) != 0)
				die("raw decrypt", OSTP_E_TAG);
		}
		m.ops += 64;
		m.wall = clock_s(CLOCK_MONOTONIC) - w0;
	} while (m.wall < seconds);
	m.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (memcmp(pt, msg, len) != 0)
		die("raw round trip", OSTP_E_TAG);
	m.bytes = (double)m.ops * (double)len;
	sodium_memzero(&st, sizeof(st));
	free(ct);
	free(pt);
	return m;
}

/* ---- handshakes ---------------------------------------------------------------------- */

static struct measure bench_handshakes(double seconds)
{
	struct measure m = { 0 };
	double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);

	do {
		ostp_session *c, *s;

		session_pair(&c, &s, 0);
		ostp_session_free(c);
		ostp_session_free(s);
		m.ops++;
		m.wall = clock_s(CLOCK_MONOTONIC) - w0;
	} while (m.wall < seconds);
	m.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	return m;
}

/* ---- report ---------------------------------------------------------------------------- */

static double gbps(const struct measure *m, bool cpu)
{
	double t = cpu ? m->cpu : m->wall;

	return t > 0 ? m->bytes / t / 1e9 : 0;
}

static void row(const char *name, const struct measure *o, const struct measure *r)
{
	printf("| %-24s | %8.3f | %8.3f | %8.3f | %8.3f | %9.3f |\n", name, gbps(o, false),
	       gbps(o, true), gbps(r, false), gbps(r, true), gbps(o, true) / gbps(r, true));
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	static uint8_t small[1400], big[65536];
	struct measure o1, r1, o2, r2, hs;
	int err;

	if (seconds <= 0)
		seconds = 2.0;
	if ((err = ostp_init()) != OSTP_OK)
		die("ostp_init", err);
	if ((err = ostp_identity_generate(id_pk, id_sk)) != OSTP_OK)
		die("identity", err);
	randombytes_buf(small, sizeof(small));
	randombytes_buf(big, sizeof(big));

	o1 = bench_ostp(small, sizeof(small), seconds);
	r1 = bench_raw(small, sizeof(small), seconds);
	o2 = bench_ostp(big, sizeof(big), seconds);
	r2 = bench_raw(big, sizeof(big), seconds);
	hs = bench_handshakes(seconds);

	printf("seal+open, GB/s of payload (%.1f s each; ratio on CPU time)\n\n", seconds);
	printf("| %-24s | %8s | %8s | %8s | %8s | %9s |\n", "message", "ostp", "ostp", "raw",
	       "raw", "ostp/raw");
	printf("| %-24s | %8s | %8s | %8s | %8s | %9s |\n", "", "wall", "cpu", "wall", "cpu", "");
	printf("|--------------------------|----------|----------|----------|----------|-----------|\n");
	row("DATA 1400 B", &o1, &r1);
	row("DATA 64 KiB (16 frames)", &o2, &r2);
	printf("\nmessages: %lu x 1400 B, %lu x 64 KiB through sessions\n", o1.ops, o2.ops);
	printf("\nhandshakes (client + server in memory, no password):\n");
	printf("  %lu in %.2f s wall, %.2f s CPU: %.0f /s wall, %.0f /s per CPU second\n", hs.ops,
	       hs.wall, hs.cpu, (double)hs.ops / hs.wall, (double)hs.ops / hs.cpu);
	sodium_memzero(id_sk, sizeof(id_sk));
	return 0;
}
