/* SPDX-License-Identifier: ISC */
/*
 * Micro-benchmark of libostp (not a test): how much the protocol core
 * costs on top of the AEAD it uses, and what each AEAD costs.
 *
 *  - the AES-256-GCM engines: for 64, 1400, 4096 and 16384-byte messages,
 *    seal and open (each on its own) through lib/aead.h with the engine this
 *    build links (make AEAD=openssl|sodium), next to raw libsodium
 *    (crypto_aead_aes256gcm_*_detached_afternm) and raw OpenSSL (one
 *    EVP_CIPHER_CTX, key set once, per message the IV, the 18-byte AAD,
 *    update, final and tag) on the same buffers, so one binary compares
 *    both libraries whatever its engine;
 *  - seal + open through whole sessions: ostp_send() on an established
 *    client, ostp_feed() of its output into the server, for 1400-byte
 *    messages and for chained 64 KiB messages;
 *  - next to it, in the same run, the raw library of this build's engine on
 *    the same buffers: one encrypt and one decrypt per message, the message
 *    as one AEAD input (so the ratio includes chaining into 4096-byte frames
 *    as well as headers, copies and state checks);
 *  - full client + server handshakes in memory (no password), per second.
 *
 * Each session figure is measured for about SECONDS of wall time (argument
 * 1, default 2), each engine figure for half of it, with CLOCK_MONOTONIC
 * next to the process CPU time.  GB/s is 10^9 payload bytes per second;
 * in the session table each byte is sealed once and opened once.
 * scripts/bench-core builds this with -O2 and pins it to one CPU.
 */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aead.h"
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

/* ---- AEAD implementations ---------------------------------------------------------- */

/* Three ways to seal and open one message with one prepared key: the
 * build's engine through lib/aead.h, and each library called directly. */
enum impl { IMPL_ENGINE, IMPL_SODIUM, IMPL_OPENSSL, IMPL_N };

struct aead_ctx {
	enum impl impl;
	struct ostp_aead engine;
	crypto_aead_aes256gcm_state sodium;
	EVP_CIPHER_CTX *evp;
};

static void aead_setup(struct aead_ctx *a, enum impl impl, const uint8_t key[32])
{
	memset(a, 0, sizeof(*a));
	a->impl = impl;
	switch (impl) {
	case IMPL_ENGINE:
		if (ostp_aead_init(&a->engine, key) != OSTP_OK)
			die("ostp_aead_init", OSTP_E_CRYPTO);
		break;
	case IMPL_SODIUM:
		crypto_aead_aes256gcm_beforenm(&a->sodium, key);
		break;
	default:
		a->evp = EVP_CIPHER_CTX_new();
		if (!a->evp || EVP_EncryptInit_ex(a->evp, EVP_aes_256_gcm(), NULL, key, NULL) != 1 ||
		    EVP_CIPHER_CTX_ctrl(a->evp, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1)
			die("EVP setup", OSTP_E_CRYPTO);
		break;
	}
}

static void aead_free(struct aead_ctx *a)
{
	ostp_aead_wipe(&a->engine);
	sodium_memzero(&a->sodium, sizeof(a->sodium));
	EVP_CIPHER_CTX_free(a->evp);
	a->evp = NULL;
}

static void seal(struct aead_ctx *a, const uint8_t iv[12], const uint8_t aad[18],
		 const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[16])
{
	int n;

	switch (a->impl) {
	case IMPL_ENGINE:
		if (ostp_aead_seal(&a->engine, iv, aad, 18, pt, len, ct, tag) != OSTP_OK)
			die("ostp_aead_seal", OSTP_E_CRYPTO);
		break;
	case IMPL_SODIUM:
		crypto_aead_aes256gcm_encrypt_detached_afternm(ct, tag, NULL, pt, len, aad, 18, NULL,
							       iv, &a->sodium);
		break;
	default:
		if (EVP_EncryptInit_ex(a->evp, NULL, NULL, NULL, iv) != 1 ||
		    EVP_EncryptUpdate(a->evp, NULL, &n, aad, 18) != 1 ||
		    EVP_EncryptUpdate(a->evp, ct, &n, pt, (int)len) != 1 ||
		    EVP_EncryptFinal_ex(a->evp, ct + n, &n) != 1 ||
		    EVP_CIPHER_CTX_ctrl(a->evp, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
			die("EVP seal", OSTP_E_CRYPTO);
		break;
	}
}

static bool open_ok(struct aead_ctx *a, const uint8_t iv[12], const uint8_t aad[18],
		    const uint8_t *ct, size_t len, const uint8_t tag[16], uint8_t *pt)
{
	int n;

	switch (a->impl) {
	case IMPL_ENGINE:
		return ostp_aead_open(&a->engine, iv, aad, 18, ct, len, tag, pt) == OSTP_OK;
	case IMPL_SODIUM:
		return crypto_aead_aes256gcm_decrypt_detached_afternm(pt, NULL, ct, len, tag, aad, 18,
								      iv, &a->sodium) == 0;
	default:
		return EVP_DecryptInit_ex(a->evp, NULL, NULL, NULL, iv) == 1 &&
		       EVP_CIPHER_CTX_ctrl(a->evp, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag) == 1 &&
		       EVP_DecryptUpdate(a->evp, NULL, &n, aad, 18) == 1 &&
		       EVP_DecryptUpdate(a->evp, pt, &n, ct, (int)len) == 1 &&
		       EVP_DecryptFinal_ex(a->evp, pt + n, &n) == 1;
	}
}

static void put_ctr(uint8_t iv[12], uint64_t ctr)
{
	memset(iv, 0, 4);
	for (int b = 0; b < 8; b++)
		iv[4 + b] = (uint8_t)(ctr >> (56 - 8 * b));
}

/* Seal (or open, when opening) one message of len bytes over and over for
 * about seconds.  Opening uses one message sealed beforehand: the same
 * work as fresh ones, GCM's cost does not depend on the bytes. */
static struct measure bench_aead(enum impl impl, const uint8_t *msg, size_t len, bool opening,
				 double seconds)
{
	struct aead_ctx a;
	uint8_t key[32], iv[12], aad[18], tag[16];
	uint8_t *ct = malloc(len), *pt = malloc(len);
	struct measure m = { 0 };
	uint64_t ctr = 0;
	double w0, c0;

	if (!ct || !pt)
		die("malloc", OSTP_E_NOMEM);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(aad, sizeof(aad));
	aead_setup(&a, impl, key);
	put_ctr(iv, 0);
	seal(&a, iv, aad, msg, len, ct, tag);
	w0 = clock_s(CLOCK_MONOTONIC);
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	do {
		for (int i = 0; i < 64; i++) {
			if (opening) {
				if (!open_ok(&a, iv, aad, ct, len, tag, pt))
					die("open", OSTP_E_TAG);
			} else {
				put_ctr(iv, ++ctr);
				seal(&a, iv, aad, msg, len, ct, tag);
			}
		}
		m.ops += 64;
		m.wall = clock_s(CLOCK_MONOTONIC) - w0;
	} while (m.wall < seconds);
	m.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	/* what was sealed last opens, with every implementation */
	if (!open_ok(&a, iv, aad, ct, len, tag, pt) || memcmp(pt, msg, len) != 0)
		die("round trip", OSTP_E_TAG);
	m.bytes = (double)m.ops * (double)len;
	aead_free(&a);
	free(ct);
	free(pt);
	return m;
}

/* Seal and open, one after the other, for the session table's baseline. */
static struct measure bench_raw(enum impl impl, const uint8_t *msg, size_t len, double seconds)
{
	struct aead_ctx a;
	uint8_t key[32], iv[12], aad[18], tag[16];
	uint8_t *ct = malloc(len), *pt = malloc(len);
	struct measure m = { 0 };
	uint64_t ctr = 0;
	double w0, c0;

	if (!ct || !pt)
		die("malloc", OSTP_E_NOMEM);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(aad, sizeof(aad));
	aead_setup(&a, impl, key);
	w0 = clock_s(CLOCK_MONOTONIC);
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	do {
		for (int i = 0; i < 64; i++) {
			put_ctr(iv, ++ctr);
			seal(&a, iv, aad, msg, len, ct, tag);
			if (!open_ok(&a, iv, aad, ct, len, tag, pt))
				die("raw decrypt", OSTP_E_TAG);
		}
		m.ops += 64;
		m.wall = clock_s(CLOCK_MONOTONIC) - w0;
	} while (m.wall < seconds);
	m.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (memcmp(pt, msg, len) != 0)
		die("raw round trip", OSTP_E_TAG);
	m.bytes = (double)m.ops * (double)len;
	aead_free(&a);
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

/* The engine table: seal and open GB/s (CPU time) per size and
 * implementation, the engine's columns first. */
static void engine_table(const uint8_t *msg, double seconds)
{
	static const size_t sizes[] = { 64, 1400, 4096, 16384 };
	static const char *const names[IMPL_N] = { "ostp", "libsodium", "OpenSSL" };

	printf("AES-256-GCM, GB/s of payload on CPU time (%.1f s each): the engine of this "
	       "build (ostp_aead_*, %s) and each library called directly\n\n",
	       seconds, ostp_aead_engine());
	printf("| %-7s |", "bytes");
	for (int i = 0; i < IMPL_N; i++)
		printf(" %9s seal | %9s open |", names[i], names[i]);
	printf("\n|---------|");
	for (int i = 0; i < IMPL_N; i++)
		printf("----------------|----------------|");
	printf("\n");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		printf("| %7zu |", sizes[k]);
		for (int i = 0; i < IMPL_N; i++) {
			struct measure s = bench_aead((enum impl)i, msg, sizes[k], false, seconds);
			struct measure o = bench_aead((enum impl)i, msg, sizes[k], true, seconds);

			printf(" %14.3f | %14.3f |", gbps(&s, true), gbps(&o, true));
			fflush(stdout);
		}
		printf("\n");
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	static uint8_t small[1400], big[65536];
	struct measure o1, r1, o2, r2, hs;
	/* the session table's baseline: the library of this build's engine */
	bool openssl = strcmp(ostp_aead_engine(), "openssl") == 0;
	enum impl raw = openssl ? IMPL_OPENSSL : IMPL_SODIUM;
	int err;

	if (seconds <= 0)
		seconds = 2.0;
	if ((err = ostp_init()) != OSTP_OK)
		die("ostp_init", err);
	if ((err = ostp_identity_generate(id_pk, id_sk)) != OSTP_OK)
		die("identity", err);
	randombytes_buf(small, sizeof(small));
	randombytes_buf(big, sizeof(big));

	engine_table(big, seconds / 2);

	o1 = bench_ostp(small, sizeof(small), seconds);
	r1 = bench_raw(raw, small, sizeof(small), seconds);
	o2 = bench_ostp(big, sizeof(big), seconds);
	r2 = bench_raw(raw, big, sizeof(big), seconds);
	hs = bench_handshakes(seconds);

	printf("seal+open through sessions, GB/s of payload (%.1f s each; ratio on CPU time; "
	       "raw: %s called directly)\n\n", seconds, openssl ? "OpenSSL" : "libsodium");
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
