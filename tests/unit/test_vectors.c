/* SPDX-License-Identifier: ISC */
/*
 * Known-answer vectors (tests/vectors/, README.md there): the session code
 * must reproduce the committed bytes exactly, and the committed bytes must
 * make sense on their own, read with nothing but the wire codecs, the key
 * schedule, the frame layer and libsodium.
 *
 * OSTP_VECTORS_DIR overrides the directory (default "tests/vectors");
 * OSTP_CORPUS_DIR the fuzzer corpus (default VECTORS_DIR/../fuzz/corpus).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define GEN_VECTORS_NO_MAIN
#include "../vectors/gen_vectors.c"

#include "frame.h"
#include "handshake.h"
#include "wire.h"

#define HDR OSTP_FRAME_HDR_LEN

static const char *vectors_dir(void)
{
	const char *d = getenv("OSTP_VECTORS_DIR");

	return d && *d ? d : "tests/vectors";
}

static void corpus_path(char *buf, size_t cap, const char *rel)
{
	const char *c = getenv("OSTP_CORPUS_DIR");

	if (c && *c)
		snprintf(buf, cap, "%s/%s", c, rel);
	else
		snprintf(buf, cap, "%s/../fuzz/corpus/%s", vectors_dir(), rel);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
	}
	ck_assert_msg(!ferror(f), "reading %s failed", path);
	fclose(f);
	*len = n;
	return buf;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Lowercase hex digits and newlines only, an even number of digits. */
static uint8_t *read_hex(const char *name, size_t *len)
{
	char path[4096];
	size_t n, out = 0;
	uint8_t *text, *bin;
	int hi = -1;

	snprintf(path, sizeof(path), "%s/%s", vectors_dir(), name);
	text = slurp(path, &n);
	bin = malloc(n / 2 + 1);
	ck_assert_ptr_nonnull(bin);
	for (size_t i = 0; i < n; i++) {
		int v;

		if (text[i] == '\n')
			continue;
		v = hexval(text[i]);
		ck_assert_msg(v >= 0, "%s: byte %zu (0x%02x) is not a lowercase hex digit", path, i,
			      text[i]);
		if (hi < 0) {
			hi = v;
		} else {
			bin[out++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	ck_assert_msg(hi < 0, "%s: odd number of hex digits", path);
	ck_assert_msg(n > 0 && text[n - 1] == '\n', "%s: no final newline", path);
	free(text);
	*len = out;
	return bin;
}

static void same_bytes(const char *what, const uint8_t *got, size_t got_len,
		       const uint8_t *want, size_t want_len)
{
	size_t i = 0;

	while (i < got_len && i < want_len && got[i] == want[i])
		i++;
	ck_assert_msg(got_len == want_len && i == got_len,
		      "%s: %zu bytes where the committed vector has %zu, first difference at byte %zu",
		      what, got_len, want_len, i);
}

/* ---- the session code reproduces the vectors --------------------------------- */

START_TEST(recomputed_matches_committed)
{
	struct vec_transcript t;
	uint8_t *c2s, *s2c, *ch;
	size_t c2s_len, s2c_len, ch_len;

	ck_assert_int_eq(vec_run(&t), 0);
	c2s = read_hex("handshake_c2s.hex", &c2s_len);
	s2c = read_hex("handshake_s2c.hex", &s2c_len);
	ch = read_hex("chained_c2s.hex", &ch_len);
	same_bytes("handshake_c2s", t.hs_c2s, t.hs_c2s_len, c2s, c2s_len);
	same_bytes("handshake_s2c", t.hs_s2c, t.hs_s2c_len, s2c, s2c_len);
	same_bytes("chained_c2s", t.chained_c2s, t.chained_c2s_len, ch, ch_len);
	free(c2s);
	free(s2c);
	free(ch);
	vec_free(&t);
}
END_TEST

/* Two runs in one process give the same bytes: nothing depends on
 * addresses, time or leftover state. */
START_TEST(recomputed_is_stable)
{
	struct vec_transcript a, b;

	ck_assert_int_eq(vec_run(&a), 0);
	ck_assert_int_eq(vec_run(&b), 0);
	same_bytes("handshake_c2s", a.hs_c2s, a.hs_c2s_len, b.hs_c2s, b.hs_c2s_len);
	same_bytes("handshake_s2c", a.hs_s2c, a.hs_s2c_len, b.hs_s2c, b.hs_s2c_len);
	same_bytes("chained_c2s", a.chained_c2s, a.chained_c2s_len, b.chained_c2s,
		   b.chained_c2s_len);
	vec_free(&a);
	vec_free(&b);
}
END_TEST

/* The fuzzer seeds are the same bytes, raw. */
START_TEST(corpus_seeds_match)
{
	uint8_t *c2s, *s2c, *ch, *f;
	size_t c2s_len, s2c_len, ch_len, n;
	char path[4096];

	c2s = read_hex("handshake_c2s.hex", &c2s_len);
	s2c = read_hex("handshake_s2c.hex", &s2c_len);
	ch = read_hex("chained_c2s.hex", &ch_len);
	corpus_path(path, sizeof(path), "fuzz_server/handshake");
	f = slurp(path, &n);
	ck_assert_uint_eq(n, c2s_len + ch_len);
	same_bytes(path, f, c2s_len, c2s, c2s_len);
	same_bytes(path, f + c2s_len, n - c2s_len, ch, ch_len);
	free(f);
	corpus_path(path, sizeof(path), "fuzz_client/handshake");
	f = slurp(path, &n);
	same_bytes(path, f, n, s2c, s2c_len);
	free(f);
	corpus_path(path, sizeof(path), "fuzz_frame/chained");
	f = slurp(path, &n);
	same_bytes(path, f, n, ch, ch_len);
	free(f);
	free(c2s);
	free(s2c);
	free(ch);
}
END_TEST

/* ---- the vectors on their own ------------------------------------------------ */

static struct ostp_dir d_c2s, d_s2c;

/* Open the frame at *off: its type and flags must be as given. */
static size_t open_next(struct ostp_dir *d, const uint8_t *buf, size_t len, size_t *off,
			uint8_t type, uint8_t flags, uint8_t *pt)
{
	struct ostp_frame_hdr fh;

	ck_assert_uint_le(*off + HDR, len);
	ck_assert_int_eq(ostp_frame_parse_hdr(d, buf + *off, &fh), 0);
	ck_assert_uint_eq(fh.type, type);
	ck_assert_uint_eq(fh.flags, flags);
	ck_assert_uint_le(*off + HDR + fh.len, len);
	ck_assert_int_eq(ostp_frame_open(d, buf + *off, buf + *off + HDR, fh.len, pt), 0);
	*off += HDR + fh.len;
	return fh.len;
}

/* BLAKE2b-256 keyed with kx of label || TH, as the design notes say. */
static void bound_key(uint8_t out[32], const uint8_t kx[32], const char *label,
		      const uint8_t th[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, kx, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, th, 32);
	crypto_generichash_final(&st, out, 32);
}

START_TEST(independent_check)
{
	static const char auth_label[] = "OSTP/1 server auth";
	uint8_t *c2s, *s2c, *ch;
	size_t c2s_len, s2c_len, ch_len, need = 0, off, n;
	struct ostp_sr sr;
	struct test_rng crng, srng;
	uint8_t seed[32], c_pk[32], c_sk[32], s_pk[32], s_sk[32], id_pk[32], id_sk[64];
	uint8_t th[32], th2[32], msg[sizeof(auth_label) - 1 + 32], plen_byte;
	uint8_t pad[OSTP_PAD_MAX], kx_rx[32], kx_tx[32], k_c2s[32], k_s2c[32];
	static uint8_t pt[OSTP_MSG_MAX];
	struct ostp_keys kc, ks;
	struct ostp_sap sap;
	struct ostp_pap pap;
	struct ostp_config conf, want_conf;
	crypto_generichash_state st;

	ck_assert_int_eq(ostp_init(), 0);
	c2s = read_hex("handshake_c2s.hex", &c2s_len);
	s2c = read_hex("handshake_s2c.hex", &s2c_len);
	ch = read_hex("chained_c2s.hex", &ch_len);

	/* The session request: 34 bytes tell its length. */
	ck_assert_int_eq(ostp_sr_decode(&sr, c2s, 34, &need), OSTP_E_SHORT);
	ck_assert_uint_ge(need, OSTP_SR_MIN_LEN);
	ck_assert_uint_le(need, OSTP_SR_MAX_LEN);
	ck_assert_uint_le(need, c2s_len);
	ck_assert_int_eq(ostp_sr_decode(&sr, c2s, need, &need), OSTP_OK);
	ck_assert_uint_eq(sr.options, OSTP_OPT_U);

	/* The client's randomness: seed(32), pad-length byte, pad[1..L-1]. */
	test_rng_init(&crng, VEC_CLIENT_RNG_SEED);
	test_rng_fill(&crng, seed, 32);
	crypto_kx_seed_keypair(c_pk, c_sk, seed);
	ck_assert_mem_eq(sr.pubkey, c_pk, 32);
	test_rng_fill(&crng, &plen_byte, 1);
	ck_assert_uint_eq(sr.pad_len, OSTP_PAD_MIN + plen_byte % 25u);
	test_rng_fill(&crng, pad, sr.pad_len - 1u);
	ck_assert_mem_eq(c2s + 34, pad, sr.pad_len - 1u);

	/* The server reply is its ephemeral key from its first 32 random bytes. */
	test_rng_init(&srng, VEC_SERVER_RNG_SEED);
	test_rng_fill(&srng, seed, 32);
	crypto_kx_seed_keypair(s_pk, s_sk, seed);
	ck_assert_uint_ge(s2c_len, OSTP_SH_LEN + HDR);
	ck_assert_mem_eq(s2c, s_pk, 32);

	/* TH, through lib/handshake.h and by hand. */
	ostp_transcript_hash(th, c2s, need, s2c, OSTP_SH_LEN);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"OSTP/1", 6);
	crypto_generichash_update(&st, c2s, need);
	crypto_generichash_update(&st, s2c, OSTP_SH_LEN);
	crypto_generichash_final(&st, th2, 32);
	ck_assert_mem_eq(th, th2, 32);

	/* Keys: both roles agree, and match the design notes' schedule. */
	ck_assert_int_eq(ostp_derive_keys(&kc, OSTP_ROLE_CLIENT, c_pk, c_sk, s_pk, th), 0);
	ck_assert_int_eq(ostp_derive_keys(&ks, OSTP_ROLE_SERVER, s_pk, s_sk, c_pk, th), 0);
	ck_assert_mem_eq(kc.c2s, ks.c2s, 32);
	ck_assert_mem_eq(kc.s2c, ks.s2c, 32);
	ck_assert(memcmp(kc.c2s, kc.s2c, 32) != 0);
	ck_assert_int_eq(crypto_kx_client_session_keys(kx_rx, kx_tx, c_pk, c_sk, s_pk), 0);
	bound_key(k_c2s, kx_tx, "OSTP/1 c2s", th);
	bound_key(k_s2c, kx_rx, "OSTP/1 s2c", th);
	ck_assert_mem_eq(kc.c2s, k_c2s, 32);
	ck_assert_mem_eq(kc.s2c, k_s2c, 32);

	/* s2c: SERVER_AUTH by the 0x42 identity, then SAP, PAP, CONFIG. */
	vec_identity(id_pk, id_sk);
	ck_assert_int_eq(ostp_dir_init(&d_s2c, kc.s2c), 0);
	off = OSTP_SH_LEN;
	n = open_next(&d_s2c, s2c, s2c_len, &off, OSTP_MSG_SERVER_AUTH, 0, pt);
	ck_assert_uint_eq(n, OSTP_SERVER_AUTH_LEN);
	ck_assert_mem_eq(pt, id_pk, 32);
	memcpy(msg, auth_label, sizeof(auth_label) - 1);
	memcpy(msg + sizeof(auth_label) - 1, th, 32);
	ck_assert_int_eq(crypto_sign_ed25519_verify_detached(pt + 32, msg, sizeof(msg), id_pk), 0);
	ck_assert_int_eq(ostp_server_auth_check(pt, n, th, id_pk), 0);
	/* a different transcript does not verify */
	th2[0] ^= 1;
	ck_assert_int_eq(ostp_server_auth_check(pt, n, th2, id_pk), OSTP_E_SIG);

	n = open_next(&d_s2c, s2c, s2c_len, &off, OSTP_MSG_SAP, 0, pt);
	ck_assert_int_eq(ostp_sap_decode(&sap, pt, n), 0);
	ck_assert_uint_eq(sap.code, OSTP_AUTH_SUCCESS);
	ck_assert_str_eq(sap.user, VEC_USER);
	ck_assert_uint_eq(sap.pass_len, 0);
	n = open_next(&d_s2c, s2c, s2c_len, &off, OSTP_MSG_PAP, 0, pt);
	ck_assert_int_eq(ostp_pap_decode(&pap, pt, n), 0);
	ck_assert_uint_eq(pap.code, OSTP_PAP_SUCCESS);
	ck_assert_uint_eq(pap.spw, VEC_CLIENT_SPW);
	n = open_next(&d_s2c, s2c, s2c_len, &off, OSTP_MSG_CONFIG, 0, pt);
	ck_assert_int_eq(ostp_config_decode(&conf, pt, n), 0);
	vec_config(&want_conf);
	ck_assert_uint_eq(conf.mtu, want_conf.mtu);
	ck_assert_uint_eq(conf.n_addr, want_conf.n_addr);
	ck_assert_mem_eq(conf.addr, want_conf.addr, sizeof(conf.addr));
	ck_assert_uint_eq(off, s2c_len);

	/* c2s after the SR: SAP with the credentials, then PAP. */
	ck_assert_int_eq(ostp_dir_init(&d_c2s, kc.c2s), 0);
	off = need;
	n = open_next(&d_c2s, c2s, c2s_len, &off, OSTP_MSG_SAP, 0, pt);
	ck_assert_int_eq(ostp_sap_decode(&sap, pt, n), 0);
	ck_assert_uint_eq(sap.code, 0);
	ck_assert_str_eq(sap.user, VEC_USER);
	ck_assert_uint_eq(sap.pass_len, strlen(VEC_PASS));
	ck_assert_mem_eq(sap.pass, VEC_PASS, strlen(VEC_PASS));
	n = open_next(&d_c2s, c2s, c2s_len, &off, OSTP_MSG_PAP, 0, pt);
	ck_assert_int_eq(ostp_pap_decode(&pap, pt, n), 0);
	ck_assert_uint_eq(pap.spw, VEC_CLIENT_SPW);
	ck_assert_uint_eq(pap.code, 0);
	ck_assert_uint_eq(off, c2s_len);

	/* The chained message: counters 2, 3, 4; 4096 + 4096 + 1808 bytes. */
	off = 0;
	n = 0;
	for (int i = 0; i < 3; i++) {
		size_t got;

		ck_assert(ostp_get64(ch + off + 8) == (uint64_t)(2 + i));
		got = open_next(&d_c2s, ch, ch_len, &off, OSTP_MSG_DATA,
				i < 2 ? OSTP_FLAG_MORE : 0, pt + n);
		ck_assert_uint_eq(got, i < 2 ? 4096u : VEC_DATA_LEN - 8192u);
		n += got;
	}
	ck_assert_uint_eq(off, ch_len);
	ck_assert_uint_eq(n, VEC_DATA_LEN);
	for (size_t i = 0; i < VEC_DATA_LEN; i++)
		ck_assert_uint_eq(pt[i], vec_data_byte(i));

	sodium_memzero(c_sk, sizeof(c_sk));
	sodium_memzero(s_sk, sizeof(s_sk));
	ostp_dir_wipe(&d_c2s);
	ostp_dir_wipe(&d_s2c);
	free(c2s);
	free(s2c);
	free(ch);
}
END_TEST

/* ---- the annotated .vec files ------------------------------------------------- */

/* The session code, described by vec_scenarios.h, reproduces every .vec
 * file byte for byte. */
START_TEST(annotated_match_committed)
{
	for (size_t i = 0; i < VSC_COUNT; i++) {
		char path[4096];
		size_t len, want_len;
		char *text = vsc_text(i, &len);
		uint8_t *want;

		ck_assert_msg(text != NULL, "scenario %s failed", vsc_all[i].file);
		snprintf(path, sizeof(path), "%s/%s", vectors_dir(), vsc_all[i].file);
		want = slurp(path, &want_len);
		same_bytes(vsc_all[i].file, (const uint8_t *)text, len, want, want_len);
		free(text);
		free(want);
	}
}
END_TEST

/* Section 10.2: the stream is the ChaCha20 (RFC 8439) keystream with key
 * 32 x seed_byte and nonce "LibsodiumDRG", block counter from 0. */
START_TEST(rng_stream_definition)
{
	static const uint8_t nonce[12] = { 'L', 'i', 'b', 's', 'o', 'd', 'i', 'u', 'm', 'D', 'R', 'G' };
	static uint8_t want[8192];
	struct test_rng r;
	uint8_t key[32];

	for (unsigned b = 1; b <= 12; b++) {
		memset(key, (int)b, sizeof(key));
		crypto_stream_chacha20_ietf(want, sizeof(want), nonce, key);
		test_rng_init(&r, (uint8_t)b);
		ck_assert_mem_eq(r.stream, want, sizeof(want));
	}
}
END_TEST

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (strcmp(h, "-") == 0)
		return 0;
	ck_assert_uint_eq(strlen(h) % 2, 0);
	for (; h[0] && h[1]; h += 2) {
		int a = hexval((uint8_t)h[0]), b = hexval((uint8_t)h[1]);

		ck_assert(a >= 0 && b >= 0);
		ck_assert_uint_lt(n, cap);
		out[n++] = (uint8_t)(a << 4 | b);
	}
	return n;
}

#define VEC_KEYS_MAX 8

/* Read a committed .vec file with nothing but its documented format:
 * the draws are the stream, TH and the keys follow from sr and sh, every
 * rekeyed key is BLAKE2b of the one before, and every frame opens under
 * the key it names at the counter it names to the body it lists. */
static void check_vec_file(const char *name)
{
	char path[4096];
	size_t len;
	char *text, *line, *save = NULL;
	static uint8_t buf[2 * OSTP_FRAME_MAX], body[OSTP_FRAME_MAX], pt[OSTP_FRAME_MAX];
	uint8_t keys[2][VEC_KEYS_MAX][32], seed[2][32], stream[2][128], sr[OSTP_SR_MAX_LEN];
	uint8_t sh[32], th[32], kx_c2s[32], kx_s2c[32], k[32], epk[2][32];
	/* option I: the client's identity and its CLIENT_AUTH (section 3.8) */
	uint8_t id_pk[32] = { 0 }, cid_pk[32] = { 0 }, cid_sig[64], cid_seed[32], cid_sk[64];
	bool have_cid = false, have_sig = false;
	unsigned client_auths = 0, members = 0;
	unsigned nkeys[2] = { 0, 0 }, frames = 0;
	size_t sr_len = 0, draw_off[2] = { 0, 0 };
	bool have_sr = false, have_sh = false, ended = false;
	crypto_generichash_state st;

	snprintf(path, sizeof(path), "%s/%s", vectors_dir(), name);
	text = (char *)slurp(path, &len);
	text = realloc(text, len + 1);
	ck_assert_ptr_nonnull(text);
	text[len] = '\0';
	ck_assert_msg(len > 0 && text[len - 1] == '\n', "%s: no final newline", path);
	/* TH and the first keys are listed before the flights that hold the
	 * SR and SH they come from */
	for (int i = 0; i < 2; i++) {
		const char *at = strstr(text, i ? "\nsh s2c " : "\nsr c2s ");
		char hex[2 * OSTP_SR_MAX_LEN + 2];

		ck_assert_ptr_nonnull(at);
		ck_assert_int_eq(sscanf(at + 8, "%131s", hex), 1);
		if (i)
			ck_assert_uint_eq(unhex(hex, sh, sizeof(sh)), 32);
		else
			sr_len = unhex(hex, sr, sizeof(sr));
	}
	have_sr = have_sh = true;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kw[16], a[64], b[64], hex[2 * 2 * OSTP_FRAME_MAX + 8];
		unsigned long long ctr;
		unsigned type, flags, flen, gen;
		int side;

		if (line[0] == '#')
			continue;
		ck_assert_msg(!ended, "%s: text after end", path);
		ck_assert_int_eq(sscanf(line, "%15s", kw), 1);
		if (strcmp(kw, "input") == 0) {
			if (sscanf(line, "input %63s %s", a, hex) == 2 &&
			    strcmp(a, "client_identity_seed") == 0) {
				ck_assert_uint_eq(unhex(hex, cid_seed, 32), 32);
				crypto_sign_ed25519_seed_keypair(cid_pk, cid_sk, cid_seed);
				sodium_memzero(cid_sk, sizeof(cid_sk));
				have_cid = true;
			}
			if (sscanf(line, "input %63s %s", a, hex) == 2 && strstr(a, "_rng_seed")) {
				side = a[0] == 's';
				ck_assert_uint_eq(unhex(hex, seed[side], 32), 32);
				crypto_stream_chacha20_ietf(stream[side], sizeof(stream[side]),
							    (const uint8_t *)"LibsodiumDRG", seed[side]);
			}
		} else if (strcmp(kw, "draw") == 0) {
			ck_assert_int_eq(sscanf(line, "draw %63s %63s %s", a, b, hex), 3);
			side = strcmp(a, "server") == 0;
			len = unhex(hex, body, sizeof(body));
			ck_assert_mem_eq(body, stream[side] + draw_off[side], len);
			draw_off[side] += len;
		} else if (strcmp(kw, "value") == 0) {
			ck_assert_int_eq(sscanf(line, "value %63s %s", a, hex), 2);
			if (strcmp(a, "kx_c2s") == 0)
				unhex(hex, kx_c2s, 32);
			else if (strcmp(a, "kx_s2c") == 0)
				unhex(hex, kx_s2c, 32);
			else if (strcmp(a, "client_epk") == 0)
				unhex(hex, epk[0], 32);
			else if (strcmp(a, "identity_pk") == 0)
				unhex(hex, id_pk, 32);
			else if (strcmp(a, "client_identity_pk") == 0) {
				ck_assert(have_cid);
				ck_assert_uint_eq(unhex(hex, k, 32), 32);
				ck_assert_mem_eq(k, cid_pk, 32);
			} else if (strcmp(a, "client_auth_msg") == 0) {
				static uint8_t msg[256];

				/* label || TH || id_pk_s || id_pk_c */
				ck_assert(have_cid);
				ck_assert_uint_eq(unhex(hex, msg, sizeof(msg)), 114);
				ck_assert_mem_eq(msg, "OSTP/1 client auth", 18);
				ck_assert_mem_eq(msg + 18, th, 32);
				ck_assert_mem_eq(msg + 50, id_pk, 32);
				ck_assert_mem_eq(msg + 82, cid_pk, 32);
			} else if (strcmp(a, "client_auth_sig") == 0) {
				uint8_t msg[114];

				ck_assert_uint_eq(unhex(hex, cid_sig, 64), 64);
				memcpy(msg, "OSTP/1 client auth", 18);
				memcpy(msg + 18, th, 32);
				memcpy(msg + 50, id_pk, 32);
				memcpy(msg + 82, cid_pk, 32);
				ck_assert_int_eq(crypto_sign_ed25519_verify_detached(cid_sig, msg, 114,
										     cid_pk), 0);
				have_sig = true;
			}
			else if (strcmp(a, "server_epk") == 0)
				unhex(hex, epk[1], 32);
			else if (strcmp(a, "th") == 0) {
				ck_assert(have_sr && have_sh);
				unhex(hex, th, 32);
				crypto_generichash_init(&st, NULL, 0, 32);
				crypto_generichash_update(&st, (const uint8_t *)"OSTP/1", 6);
				crypto_generichash_update(&st, sr, sr_len);
				crypto_generichash_update(&st, sh, 32);
				crypto_generichash_final(&st, k, 32);
				ck_assert_mem_eq(k, th, 32);
			}
		} else if (strcmp(kw, "key") == 0) {
			ck_assert_int_eq(sscanf(line, "key %63s %u %s", a, &gen, hex), 3);
			side = strcmp(a, "s2c") == 0;
			ck_assert_uint_eq(gen, nkeys[side]);
			ck_assert_uint_lt(gen, VEC_KEYS_MAX);
			unhex(hex, keys[side][gen], 32);
			if (gen == 0)
				bound_key(k, side ? kx_s2c : kx_c2s, side ? "OSTP/1 s2c" : "OSTP/1 c2s", th);
			else
				crypto_generichash(k, 32, (const uint8_t *)"OSTP/1 rekey", 12,
						   keys[side][gen - 1], 32);
			ck_assert_mem_eq(k, keys[side][gen], 32);
			nkeys[side]++;
		} else if (strcmp(kw, "sr") == 0 || strcmp(kw, "sh") == 0) {
			ck_assert_int_eq(sscanf(line, "%*s %*s %s", hex), 1);
			if (kw[1] == 'r') {
				struct ostp_sr dec;
				size_t need;

				ck_assert_int_eq(ostp_sr_decode(&dec, sr, sr_len, &need), 0);
				ck_assert_mem_eq(dec.pubkey, epk[0], 32);
			} else {
				ck_assert_mem_eq(sh, epk[1], 32);
			}
		} else if (strcmp(kw, "frame") == 0) {
			char typename[32];
			struct ostp_dir d = { 0 };
			struct ostp_frame_hdr fh;
			char *l2 = strtok_r(NULL, "\n", &save), *l3 = strtok_r(NULL, "\n", &save);
			size_t blen, wlen;

			ck_assert_int_eq(sscanf(line, "frame %63s %llu %31s %x %u %u", a, &ctr, typename,
						&flags, &flen, &gen), 6);
			side = strcmp(a, "s2c") == 0;
			ck_assert_uint_lt(gen, nkeys[side]);
			ck_assert_ptr_nonnull(l2);
			ck_assert_ptr_nonnull(l3);
			ck_assert_int_eq(sscanf(l2, "body %63s %s", b, hex), 2);
			ck_assert_str_eq(b, a);
			blen = unhex(hex, body, sizeof(body));
			ck_assert_int_eq(sscanf(l3, "wire %63s %s", b, hex), 2);
			wlen = unhex(hex, buf, sizeof(buf));
			ck_assert_uint_eq(blen, flen);
			ck_assert_uint_eq(wlen, OSTP_FRAME_HDR_LEN + flen);
			ck_assert_int_eq(ostp_dir_init(&d, keys[side][gen]), 0);
			d.counter = ctr;
			ck_assert_int_eq(ostp_frame_parse_hdr(&d, buf, &fh), 0);
			type = fh.type;
			ck_assert_uint_eq(fh.flags, flags);
			ck_assert_int_eq(ostp_frame_open(&d, buf, buf + OSTP_FRAME_HDR_LEN, fh.len, pt), 0);
			ck_assert_mem_eq(pt, body, blen);
			ck_assert(type != 0);
			ck_assert_str_eq(typename, vsc_type_name((uint8_t)type));
			if (type == OSTP_MSG_CLIENT_AUTH) {
				/* the key and signature listed above, nothing else */
				ck_assert(have_sig && blen == 96);
				ck_assert_mem_eq(body, cid_pk, 32);
				ck_assert_mem_eq(body + 32, cid_sig, 64);
				client_auths++;
			}
			if (type == OSTP_MSG_MEMBER) {
				struct ostp_member mb;

				ck_assert_int_eq(ostp_member_decode(&mb, body, blen), 0);
				ck_assert(side ? mb.op != OSTP_MEMBER_ANNOUNCE
					       : mb.op == OSTP_MEMBER_ANNOUNCE &&
						 memcmp(mb.id_pk, cid_pk, 32) == 0);
				members++;
			}
			ostp_dir_wipe(&d);
			frames++;
		} else if (strcmp(kw, "end") == 0) {
			ended = true;
		} else {
			ck_assert_msg(strcmp(kw, "vector") == 0 || strcmp(kw, "step") == 0 ||
				      strcmp(kw, "flight") == 0, "%s: unknown line %s", path, kw);
		}
	}
	ck_assert_msg(ended, "%s: no end line", path);
	ck_assert_uint_gt(frames, 3);
	/* a vector with a client identity shows exactly one CLIENT_AUTH */
	ck_assert_uint_eq(client_auths, have_cid ? 1 : 0);
	(void)members;
	free(text);
}

START_TEST(annotated_independent)
{
	for (size_t i = 0; i < VSC_COUNT; i++)
		check_vec_file(vsc_all[i].file);
}
END_TEST

Suite *vectors_suite(void)
{
	Suite *s = suite_create("vectors");
	TCase *tc = tcase_create("known_answer");

	tcase_set_timeout(tc, 120);

	tcase_add_test(tc, recomputed_matches_committed);
	tcase_add_test(tc, recomputed_is_stable);
	tcase_add_test(tc, corpus_seeds_match);
	tcase_add_test(tc, independent_check);
	tcase_add_test(tc, annotated_match_committed);
	tcase_add_test(tc, rng_stream_definition);
	tcase_add_test(tc, annotated_independent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vectors_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
