/* SPDX-License-Identifier: ISC */
/*
 * Known-answer vectors for OSTP/1: one full handshake with fixed randomness
 * and one chained DATA message, written as the exact bytes each side sent
 * (the .hex files), and the annotated .vec files of vec_scenarios.h (rekey,
 * peer blocks, arbitration, quick request, busy reply).
 * tests/vectors/README.md lists every input.
 *
 *   gcc -std=c11 -D_GNU_SOURCE -O1 -Ilib -o /tmp/gen_vectors \
 *       tests/vectors/gen_vectors.c LIB_SOURCES $(pkg-config --cflags --libs libsodium)
 *   /tmp/gen_vectors [VECTORS_DIR [CORPUS_DIR]]
 *
 * (LIB_SOURCES: every .c file in lib/; see README.md for the exact line.)
 *
 * defaults: tests/vectors and tests/fuzz/corpus.  tests/unit/test_vectors.c
 * includes this file with GEN_VECTORS_NO_MAIN to recompute the transcript.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../unit/pair.h"
#include "session.h"

#define VEC_IDENTITY_SEED_BYTE 0x42
#define VEC_CLIENT_RNG_SEED    1   /* pair.h: client stream */
#define VEC_SERVER_RNG_SEED    2   /* pair.h: server stream */
#define VEC_USER               "ian"
#define VEC_PASS               "hunter2"
#define VEC_CLIENT_SPW         (OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_CONFIG)
#define VEC_PERMITTED          (OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_CONFIG)
#define VEC_DATA_LEN           10000u
#define VEC_NOW_MS             1000u

/* Programs that include this file use only some of the helpers. */
#if defined(__GNUC__)
#define VEC_HELPER static __attribute__((unused))
#else
#define VEC_HELPER static
#endif

struct vec_transcript {
	uint8_t *hs_c2s;       /* SR, SAP, PAP */
	size_t hs_c2s_len;
	uint8_t *hs_s2c;       /* SH, SERVER_AUTH, SAP, PAP, CONFIG */
	size_t hs_s2c_len;
	uint8_t *chained_c2s;  /* DATA, 10000 bytes, three frames */
	size_t chained_c2s_len;
};

VEC_HELPER uint8_t vec_data_byte(size_t i)
{
	return (uint8_t)(i * 7u % 256u);
}

VEC_HELPER void vec_identity(uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];

	memset(seed, VEC_IDENTITY_SEED_BYTE, sizeof(seed));
	ostp_identity_from_seed(pk, sk, seed);
}

VEC_HELPER void vec_config(struct ostp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mtu = 1400;
	c->n_addr = 2;
	c->addr[0].family = 4;
	c->addr[0].prefix_len = 24;
	memcpy(c->addr[0].addr, (const uint8_t[]){ 10, 77, 0, 2 }, 4);
	c->addr[1].family = 6;
	c->addr[1].prefix_len = 64;
	memcpy(c->addr[1].addr,
	       (const uint8_t[]){ 0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02 }, 16);
}

VEC_HELPER bool vec_auth(const char *user, const char *pass, uint16_t *permitted)
{
	*permitted = VEC_PERMITTED;
	return strcmp(user, VEC_USER) == 0 && strcmp(pass, VEC_PASS) == 0;
}

/* The client of the vectors: user "ian", pinned 0x42 identity. */
VEC_HELPER void vec_client_config(struct ostp_client_config *cc, const uint8_t id_pk[32])
{
	memset(cc, 0, sizeof(*cc));
	cc->options = OSTP_OPT_U;
	cc->username = VEC_USER;
	cc->password = VEC_PASS;
	cc->spw = VEC_CLIENT_SPW;
	memcpy(cc->server_pk, id_pk, 32);
}

/* The server of the vectors; also call ostp_server_set_config(vec_config). */
VEC_HELPER void vec_server_config(struct ostp_server_config *sc, const uint8_t id_sk[64])
{
	memset(sc, 0, sizeof(*sc));
	sc->identity_sk = id_sk;
	sc->require_auth = true;
	sc->spw_supported = OSTP_SPW_CONFIG | OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_GSO |
			    OSTP_SPW_RELAY;
	sc->spw_default = OSTP_SPW_IPV4 | OSTP_SPW_IPV6;
	sc->spw_permitted = 0;
}

VEC_HELPER uint8_t *vec_dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

VEC_HELPER void vec_free(struct vec_transcript *t)
{
	free(t->hs_c2s);
	free(t->hs_s2c);
	free(t->chained_c2s);
	memset(t, 0, sizeof(*t));
}

/* Runs the whole exchange; 0 on success, else a message on stderr. */
VEC_HELPER int vec_run(struct vec_transcript *t)
{
	static uint8_t id_pk[32], id_sk[64];
	struct pair *p = calloc(1, sizeof(*p));
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	struct ostp_config conf;
	const uint8_t *out;
	uint8_t *data = NULL;
	struct ostp_event ev;
	size_t n, off = 0, used;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (!p || ostp_init() != OSTP_OK)
		goto done;
	vec_identity(id_pk, id_sk);
	pair_init(p);
	test_rng_init(&p->crng, VEC_CLIENT_RNG_SEED);
	test_rng_init(&p->srng, VEC_SERVER_RNG_SEED);
	p->now = VEC_NOW_MS;
	p->auth = vec_auth;

	vec_client_config(&cc, id_pk);
	vec_server_config(&sc, id_sk);
	vec_config(&conf);

	if (ostp_client_new(&p->c.s, &cc, &(struct ostp_rng){ test_rng_fill, &p->crng },
			    p->now) != OSTP_OK ||
	    ostp_server_new(&p->s.s, &sc, &(struct ostp_rng){ test_rng_fill, &p->srng },
			    p->now) != OSTP_OK ||
	    ostp_server_set_config(p->s.s, &conf) != OSTP_OK) {
		fprintf(stderr, "gen_vectors: cannot create the sessions\n");
		goto done;
	}
	pair_pump(p);
	if (!ostp_session_established(p->c.s) || !ostp_session_established(p->s.s) ||
	    ostp_session_spw(p->c.s) != VEC_CLIENT_SPW || !side_find(&p->c, OSTP_EV_CONFIG) ||
	    side_count(&p->s, OSTP_EV_AUTH_REQUEST) != 1) {
		fprintf(stderr, "gen_vectors: handshake did not complete as expected\n");
		goto done;
	}
	t->hs_c2s = vec_dup(p->c.wire, p->c.wire_len);
	t->hs_c2s_len = p->c.wire_len;
	t->hs_s2c = vec_dup(p->s.wire, p->s.wire_len);
	t->hs_s2c_len = p->s.wire_len;

	data = malloc(VEC_DATA_LEN);
	if (!data || !t->hs_c2s || !t->hs_s2c)
		goto done;
	for (size_t i = 0; i < VEC_DATA_LEN; i++)
		data[i] = vec_data_byte(i);
	if (ostp_send(p->c.s, OSTP_MSG_DATA, data, VEC_DATA_LEN) != OSTP_OK) {
		fprintf(stderr, "gen_vectors: ostp_send failed\n");
		goto done;
	}
	n = ostp_output(p->c.s, &out);
	t->chained_c2s = vec_dup(out, n);
	t->chained_c2s_len = n;
	if (!t->chained_c2s)
		goto done;
	ostp_output_consume(p->c.s, n);
	/* the server must read it back as one message */
	memset(&ev, 0, sizeof(ev));
	while (off < n) {
		if (ostp_feed(p->s.s, t->chained_c2s + off, n - off, &used, p->now, &ev) != OSTP_OK ||
		    used == 0)
			break;
		off += used;
		if (ev.type == OSTP_EV_MESSAGE)
			break;
	}
	if (off != n || ev.type != OSTP_EV_MESSAGE || ev.len != VEC_DATA_LEN ||
	    memcmp(ev.data, data, VEC_DATA_LEN) != 0) {
		fprintf(stderr, "gen_vectors: the server did not read the chained message\n");
		goto done;
	}
	rc = 0;
done:
	if (p) {
		if (p->c.wire)
			pair_free(p);
		free(p);
	}
	free(data);
	if (rc)
		vec_free(t);
	return rc;
}

#include "vec_scenarios.h"

/* The fuzzer seeds of option I (fuzz_server/identity, fuzz_client/identity):
 * the vectors' client (stream 1, user ian) with the 0x43 identity and SPW
 * MESH, against the vectors' server (stream 2) with require_identity; the
 * server sends one UPSERT and SYNCED, the client its ANNOUNCE.  What each
 * side sent; 0 on success. */
#define VEC_MESH_SPW (VEC_CLIENT_SPW | OSTP_SPW_MESH)

static bool vec_auth_mesh(const char *user, const char *pass, uint16_t *permitted)
{
	bool ok = vec_auth(user, pass, permitted);

	*permitted = VEC_MESH_SPW;
	return ok;
}

VEC_HELPER void vec_identity_configs(struct ostp_client_config *cc, struct ostp_server_config *sc,
				     const uint8_t id_pk[32], const uint8_t id_sk[64],
				     const uint8_t cid_sk[64])
{
	vec_client_config(cc, id_pk);
	cc->identity_sk = cid_sk;
	cc->spw = VEC_MESH_SPW;
	vec_server_config(sc, id_sk);
	sc->require_identity = true;
	sc->spw_supported |= OSTP_SPW_MESH;
}

VEC_HELPER int vec_run_identity(struct vec_transcript *t)
{
	static uint8_t id_pk[32], id_sk[64], cid_pk[32], cid_sk[64];
	struct pair *p = calloc(1, sizeof(*p));
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	struct ostp_config conf;
	struct ostp_member a = vsc_member(0), an = { .op = OSTP_MEMBER_ANNOUNCE,
						      .flags = OSTP_MEMBER_F_ACCEPTS, .port = 7000 };
	uint8_t seed[32];
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (!p || ostp_init() != OSTP_OK)
		goto done;
	vec_identity(id_pk, id_sk);
	memset(seed, 0x43, sizeof(seed));
	ostp_identity_from_seed(cid_pk, cid_sk, seed);
	memcpy(an.id_pk, cid_pk, 32);
	pair_init(p);
	test_rng_init(&p->crng, VEC_CLIENT_RNG_SEED);
	test_rng_init(&p->srng, VEC_SERVER_RNG_SEED);
	p->now = VEC_NOW_MS;
	p->auth = vec_auth_mesh;
	vec_identity_configs(&cc, &sc, id_pk, id_sk, cid_sk);
	vec_config(&conf);
	if (ostp_client_new(&p->c.s, &cc, &(struct ostp_rng){ test_rng_fill, &p->crng },
			    p->now) != OSTP_OK ||
	    ostp_server_new(&p->s.s, &sc, &(struct ostp_rng){ test_rng_fill, &p->srng },
			    p->now) != OSTP_OK ||
	    ostp_server_set_config(p->s.s, &conf) != OSTP_OK)
		goto done;
	pair_pump(p);
	if (ostp_send_member(p->s.s, &a) != OSTP_OK ||
	    ostp_send_member(p->s.s, &(struct ostp_member){ .op = OSTP_MEMBER_SYNCED }) != OSTP_OK ||
	    ostp_send_member(p->c.s, &an) != OSTP_OK)
		goto done;
	pair_pump(p);
	if (side_count(&p->c, OSTP_EV_MEMBER) != 2 || side_count(&p->s, OSTP_EV_MEMBER) != 1)
		goto done;
	t->hs_c2s = vec_dup(p->c.wire, p->c.wire_len);
	t->hs_c2s_len = p->c.wire_len;
	t->hs_s2c = vec_dup(p->s.wire, p->s.wire_len);
	t->hs_s2c_len = p->s.wire_len;
	rc = t->hs_c2s && t->hs_s2c ? 0 : -1;
done:
	if (rc)
		fprintf(stderr, "gen_vectors: the identity session did not run as expected\n");
	if (p) {
		if (p->c.wire)
			pair_free(p);
		free(p);
	}
	if (rc)
		vec_free(t);
	return rc;
}

#ifndef GEN_VECTORS_NO_MAIN

static int write_file(const char *dir, const char *name, const uint8_t *p, size_t n, bool hex)
{
	char path[4096];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "gen_vectors: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (hex) {
		/* 32 bytes per line, lowercase, every line ends with a newline */
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%02x%s", p[i], (i % 32 == 31 || i + 1 == n) ? "\n" : "");
	} else {
		fwrite(p, 1, n, f);
	}
	ok = !ferror(f);
	if (fclose(f) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "gen_vectors: writing %s failed\n", path);
		return -1;
	}
	printf("wrote %s (%zu bytes%s)\n", path, n, hex ? " as hex" : "");
	return 0;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "gen_vectors: mkdir %s: %s\n", path, strerror(errno));
	return -1;
}

int main(int argc, char **argv)
{
	const char *vdir = argc > 1 ? argv[1] : "tests/vectors";
	const char *cdir = argc > 2 ? argv[2] : "tests/fuzz/corpus";
	struct vec_transcript t;
	char sub[4096];
	uint8_t *all_c2s;
	int rc = 0;

	if (vec_run(&t) != 0)
		return EXIT_FAILURE;
	rc |= write_file(vdir, "handshake_c2s.hex", t.hs_c2s, t.hs_c2s_len, true);
	rc |= write_file(vdir, "handshake_s2c.hex", t.hs_s2c, t.hs_s2c_len, true);
	rc |= write_file(vdir, "chained_c2s.hex", t.chained_c2s, t.chained_c2s_len, true);
	for (size_t i = 0; i < VSC_COUNT; i++) {
		size_t len;
		char *text = vsc_text(i, &len);

		if (!text)
			return EXIT_FAILURE;
		rc |= write_file(vdir, vsc_all[i].file, (const uint8_t *)text, len, false);
		free(text);
	}

	/* fuzzer seeds: what each side receives, raw */
	all_c2s = malloc(t.hs_c2s_len + t.chained_c2s_len);
	if (!all_c2s)
		return EXIT_FAILURE;
	memcpy(all_c2s, t.hs_c2s, t.hs_c2s_len);
	memcpy(all_c2s + t.hs_c2s_len, t.chained_c2s, t.chained_c2s_len);
	rc |= make_dir(cdir);
	snprintf(sub, sizeof(sub), "%s/fuzz_server", cdir);
	rc |= make_dir(sub);
	rc |= write_file(sub, "handshake", all_c2s, t.hs_c2s_len + t.chained_c2s_len, false);
	snprintf(sub, sizeof(sub), "%s/fuzz_client", cdir);
	rc |= make_dir(sub);
	rc |= write_file(sub, "handshake", t.hs_s2c, t.hs_s2c_len, false);
	snprintf(sub, sizeof(sub), "%s/fuzz_frame", cdir);
	rc |= make_dir(sub);
	rc |= write_file(sub, "chained", t.chained_c2s, t.chained_c2s_len, false);
	free(all_c2s);

	/* option I seeds, with the steering bytes (b, a) their targets read
	 * from the end: fuzz_server a = 0x81 (identity mode, accept),
	 * fuzz_client a = 0x40 (identity mode) */
	{
		struct vec_transcript it;
		uint8_t *buf;

		if (vec_run_identity(&it) != 0)
			return EXIT_FAILURE;
		buf = malloc((it.hs_c2s_len > it.hs_s2c_len ? it.hs_c2s_len : it.hs_s2c_len) + 2);
		if (!buf)
			return EXIT_FAILURE;
		memcpy(buf, it.hs_c2s, it.hs_c2s_len);
		buf[it.hs_c2s_len] = 0x00;
		buf[it.hs_c2s_len + 1] = 0x81;
		snprintf(sub, sizeof(sub), "%s/fuzz_server", cdir);
		rc |= write_file(sub, "identity", buf, it.hs_c2s_len + 2, false);
		memcpy(buf, it.hs_s2c, it.hs_s2c_len);
		buf[it.hs_s2c_len] = 0x00;
		buf[it.hs_s2c_len + 1] = 0x40;
		snprintf(sub, sizeof(sub), "%s/fuzz_client", cdir);
		rc |= write_file(sub, "identity", buf, it.hs_s2c_len + 2, false);
		free(buf);
		vec_free(&it);
	}
	vec_free(&t);
	return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
