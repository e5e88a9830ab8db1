/* SPDX-License-Identifier: ISC */
/*
 * Annotated known-answer vectors (docs/PROTOCOL.md section 10.1): rekey,
 * peer blocks, SPW arbitration, the quick request, the busy reply, a mesh
 * link with CLIENT_AUTH and an OCS session with MEMBER records.
 *
 * A scenario drives a client/server pair (tests/unit/pair.h) and records,
 * in order, what the applications did ("step") and every flight of bytes.
 * vsc_describe() then writes the .vec text from those bytes alone: it
 * rebuilds the random draws from the documented stream, derives q, kx, TH
 * and the keys with libsodium, opens every frame with lib/frame.h and
 * follows each REKEY with BLAKE2b.  Nothing in the text comes from the
 * session code's internal state, so a difference between the session and
 * the specification shows up as a frame that does not open.
 *
 * Included by gen_vectors.c, after pair.h and session.h.
 */
#ifndef OSTP_VEC_SCENARIOS_H
#define OSTP_VEC_SCENARIOS_H

#include <stdarg.h>

#define VSC_MAX_ENTRIES 64
#define VSC_HUGE_MS     100000000u   /* keepalive/dead timers kept out of the way */

struct vsc_entry {
	bool flight;            /* else a step */
	bool c2s;
	size_t off, len;        /* flight: bytes in the sender's pair wire */
	char step[200];
};

struct vsc {
	const char *name;
	const char *about;      /* comment lines, '\n'-separated */
	struct pair p;
	uint8_t crng_seed, srng_seed;
	struct ostp_client_config cc;
	struct ostp_server_config sc;
	bool have_config;
	struct ostp_config conf;
	struct ostp_peer *peers;
	size_t npeers;
	uint8_t id_pk[32], id_sk[64];
	uint8_t cid_pk[32], cid_sk[64];    /* the client's identity (option I) */
	uint8_t cid_seed_byte;             /* 0: none */
	uint16_t user_permitted;           /* 0: vec_auth's VEC_PERMITTED */
	struct vsc_entry e[VSC_MAX_ENTRIES];
	size_t n;
	bool failed;
};

VEC_HELPER void vsc_step(struct vsc *v, const char *fmt, ...)
{
	va_list ap;

	if (v->n >= VSC_MAX_ENTRIES) {
		v->failed = true;
		return;
	}
	v->e[v->n].flight = false;
	va_start(ap, fmt);
	vsnprintf(v->e[v->n].step, sizeof(v->e[v->n].step), fmt, ap);
	va_end(ap);
	v->n++;
}

/* Move one flight and record it. */
VEC_HELPER void vsc_move(struct vsc *v, bool c2s)
{
	struct side *from = c2s ? &v->p.c : &v->p.s;
	size_t before = from->wire_len;

	pair_move(&v->p, from, c2s ? &v->p.s : &v->p.c);
	if (from->wire_len == before)
		return;
	if (v->n >= VSC_MAX_ENTRIES) {
		v->failed = true;
		return;
	}
	v->e[v->n] = (struct vsc_entry){ .flight = true, .c2s = c2s, .off = before,
					 .len = from->wire_len - before };
	v->n++;
}

/* Flights back and forth until both sides are quiet. */
VEC_HELPER void vsc_pump(struct vsc *v)
{
	for (int i = 0; i < 100; i++) {
		size_t n = v->n;

		vsc_move(v, true);
		vsc_move(v, false);
		if (v->n == n && !ostp_output(v->p.c.s, &(const uint8_t *){ 0 }) &&
		    !ostp_output(v->p.s.s, &(const uint8_t *){ 0 }))
			break;
	}
}

VEC_HELPER void vsc_hex(FILE *f, const uint8_t *p, size_t n)
{
	if (n == 0)
		fputc('-', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

VEC_HELPER void vsc_line(FILE *f, const char *kw, const char *name, const uint8_t *p, size_t n)
{
	fprintf(f, "%s %s ", kw, name);
	vsc_hex(f, p, n);
	fputc('\n', f);
}

/* The deterministic stream of section 10.2, computed without pair.h. */
VEC_HELPER void vsc_stream(uint8_t *out, size_t n, uint8_t seed_byte)
{
	static const uint8_t nonce[12] = { 'L', 'i', 'b', 's', 'o', 'd', 'i', 'u', 'm', 'D', 'R', 'G' };
	uint8_t key[32];

	memset(key, seed_byte, sizeof(key));
	crypto_stream_chacha20_ietf(out, n, nonce, key);
}

static const char *vsc_type_name(uint8_t t)
{
	switch (t) {
	case OSTP_MSG_DATA: return "DATA";
	case OSTP_MSG_DATA_GSO: return "DATA_GSO";
	case OSTP_MSG_SERVER_AUTH: return "SERVER_AUTH";
	case OSTP_MSG_SAP: return "SAP";
	case OSTP_MSG_PAP: return "PAP";
	case OSTP_MSG_MGMT: return "MGMT";
	case OSTP_MSG_PEER_BLOCK: return "PEER_BLOCK";
	case OSTP_MSG_CONFIG: return "CONFIG";
	case OSTP_MSG_CLIENT_AUTH: return "CLIENT_AUTH";
	case OSTP_MSG_MEMBER: return "MEMBER";
	case OSTP_MSG_ECHO_REQ: return "ECHO_REQ";
	case OSTP_MSG_ECHO_REPLY: return "ECHO_REPLY";
	case OSTP_MSG_REKEY: return "REKEY";
	case OSTP_MSG_CLOSE: return "CLOSE";
	default: return "?";
	}
}

struct vsc_dir {
	struct ostp_dir d;
	uint8_t key[32];
	unsigned gen;
	uint8_t *buf;          /* bytes of this direction not yet parsed */
	size_t have;
	bool cleartext_done;
};

/* Keyed BLAKE2b-256 of label || th (th may be NULL). */
static void vsc_keyed(uint8_t out[32], const uint8_t key[32], const char *label,
		      const uint8_t *th)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	if (th)
		crypto_generichash_update(&st, th, 32);
	crypto_generichash_final(&st, out, 32);
}

/* Parse and print every complete frame waiting in one direction. */
static int vsc_frames(FILE *f, struct vsc_dir *d, const char *dir)
{
	static uint8_t pt[OSTP_FRAME_PAYLOAD_MAX];
	size_t off = 0;

	while (d->have - off >= OSTP_FRAME_HDR_LEN) {
		struct ostp_frame_hdr fh;
		const uint8_t *fr = d->buf + off;
		uint64_t ctr = ostp_get64(fr + 8);

		if (ostp_frame_parse_hdr(&d->d, fr, &fh) != OSTP_OK)
			return -1;
		if (d->have - off < OSTP_FRAME_HDR_LEN + fh.len)
			break;
		if (ostp_frame_open(&d->d, fr, fr + OSTP_FRAME_HDR_LEN, fh.len, pt) != OSTP_OK)
			return -1;
		fprintf(f, "frame %s %llu %s %02x %u %u\n", dir, (unsigned long long)ctr,
			vsc_type_name(fh.type), fh.flags, fh.len, d->gen);
		vsc_line(f, "body", dir, pt, fh.len);
		vsc_line(f, "wire", dir, fr, OSTP_FRAME_HDR_LEN + fh.len);
		off += OSTP_FRAME_HDR_LEN + fh.len;
		if (fh.type == OSTP_MSG_REKEY) {
			uint8_t next[32];
			char name[32];

			vsc_keyed(next, d->key, "OSTP/1 rekey", NULL);
			memcpy(d->key, next, 32);
			if (ostp_dir_init(&d->d, next) != OSTP_OK)
				return -1;
			d->gen++;
			snprintf(name, sizeof(name), "%s %u", dir, d->gen);
			vsc_line(f, "key", name, next, 32);
		}
	}
	memmove(d->buf, d->buf + off, d->have - off);
	d->have -= off;
	return 0;
}

VEC_HELPER void vsc_inputs(FILE *f, const struct vsc *v)
{
	const struct ostp_client_config *cc = &v->cc;
	const struct ostp_server_config *sc = &v->sc;
	uint8_t seed[32];

	memset(seed, v->crng_seed, 32);
	vsc_line(f, "input", "client_rng_seed", seed, 32);
	memset(seed, v->srng_seed, 32);
	vsc_line(f, "input", "server_rng_seed", seed, 32);
	memset(seed, VEC_IDENTITY_SEED_BYTE, 32);
	vsc_line(f, "input", "identity_seed", seed, 32);
	/* the options byte of the SR: the session adds I for identity_sk */
	fprintf(f, "input client_options %02x\n",
		cc->options | (v->cid_seed_byte ? OSTP_OPT_I : 0));
	fprintf(f, "input client_user %s\n", cc->username ? cc->username : "-");
	vsc_line(f, "input", "client_password", (const uint8_t *)(cc->password ? cc->password : ""),
		 cc->password ? strlen(cc->password) : 0);
	fprintf(f, "input client_spw %04x\n", cc->spw);
	fprintf(f, "input client_pad_len %u\n", cc->pad_len);
	fprintf(f, "input client_max_peer_blocks %u\n", cc->max_peer_blocks);
	fprintf(f, "input client_tofu %u\n", cc->tofu);
	/* only in vectors with option I, so the older files stay as they are */
	if (v->cid_seed_byte) {
		memset(seed, v->cid_seed_byte, 32);
		vsc_line(f, "input", "client_identity_seed", seed, 32);
	}
	fprintf(f, "input server_require_auth %u\n", sc->require_auth);
	if (sc->require_identity)
		fprintf(f, "input server_require_identity 1\n");
	if (v->user_permitted)
		fprintf(f, "input server_user_permitted %04x\n", v->user_permitted);
	fprintf(f, "input server_spw_supported %04x\n", sc->spw_supported);
	fprintf(f, "input server_spw_default %04x\n", sc->spw_default);
	fprintf(f, "input server_spw_permitted %04x\n", sc->spw_permitted);
	fprintf(f, "input server_max_auth_attempts %u\n",
		sc->max_auth_attempts ? sc->max_auth_attempts : 3);
	fprintf(f, "input server_max_pap_rounds %u\n", sc->max_pap_rounds ? sc->max_pap_rounds : 4);
	fprintf(f, "input timing_ms %u %u %u %u\n", cc->timing.handshake_ms ? cc->timing.handshake_ms : 5000,
		cc->timing.keepalive_ms ? cc->timing.keepalive_ms : 10000,
		cc->timing.dead_ms ? cc->timing.dead_ms : 30000,
		cc->timing.rekey_ms ? cc->timing.rekey_ms : 120000);
	if (v->have_config) {
		uint8_t buf[OSTP_CONFIG_MAX_LEN];
		size_t n = 0;

		ostp_config_encode(buf, sizeof(buf), &n, &v->conf);
		vsc_line(f, "input", "server_config", buf, n);
	}
	fprintf(f, "input server_peers %zu\n", v->npeers);
	for (size_t i = 0; i < v->npeers; i++) {
		fprintf(f, "input peer %zu %u %s ", i, v->peers[i].port, v->peers[i].host);
		vsc_hex(f, v->peers[i].id_pk, 32);
		fputc('\n', f);
	}
}

/* Write the whole .vec text of a finished scenario to f; 0 on success. */
VEC_HELPER int vsc_describe(FILE *f, const struct vsc *v)
{
	const uint8_t *cw = v->p.c.wire, *sw = v->p.s.wire;
	static uint8_t cbuf[PAIR_WIRE], sbuf[PAIR_WIRE];
	struct vsc_dir c2s = { .buf = cbuf }, s2c = { .buf = sbuf };
	uint8_t cstream[128], sstream[32], c_pk[32], c_sk[32], s_pk[32], s_sk[32];
	uint8_t q[32], kx[64], th[32], k_c2s[32], k_s2c[32];
	size_t sr_len, draw = 0;
	uint8_t L, id_pk[32], id_sk[64], seed[32];
	crypto_generichash_state st;
	const char *a;
	int rc = 0;

	fprintf(f, "# OSTP/1 known-answer vector \"%s\" (docs/PROTOCOL.md section 10.1)\n", v->name);
	for (a = v->about; *a;) {
		const char *nl = strchr(a, '\n');
		size_t len = nl ? (size_t)(nl - a) : strlen(a);

		fprintf(f, "# %.*s\n", (int)len, a);
		a += len + (nl ? 1 : 0);
	}
	fprintf(f, "vector %s\n", v->name);
	vsc_inputs(f, v);

	/* the draws, from the stream of section 10.2 */
	vsc_stream(cstream, sizeof(cstream), v->crng_seed);
	vsc_stream(sstream, sizeof(sstream), v->srng_seed);
	vsc_line(f, "draw", "client ephemeral_seed", cstream, 32);
	draw = 32;
	if (v->cc.pad_len) {
		L = v->cc.pad_len;
	} else {
		vsc_line(f, "draw", "client pad_len_byte", cstream + draw, 1);
		L = (uint8_t)(OSTP_PAD_MIN + cstream[draw] % (OSTP_PAD_MAX - OSTP_PAD_MIN + 1));
		draw++;
	}
	vsc_line(f, "draw", "client pad", cstream + draw, L - 1u);
	vsc_line(f, "draw", "server ephemeral_seed", sstream, 32);

	/* the values both sides derive */
	sr_len = OSTP_SR_FIXED_LEN + L;
	crypto_kx_seed_keypair(c_pk, c_sk, cstream);
	crypto_kx_seed_keypair(s_pk, s_sk, sstream);
	memset(seed, VEC_IDENTITY_SEED_BYTE, 32);
	crypto_sign_ed25519_seed_keypair(id_pk, id_sk, seed);
	if (v->p.c.wire_len < sr_len || v->p.s.wire_len < OSTP_SH_LEN ||
	    memcmp(cw + 1, c_pk, 32) != 0 || cw[OSTP_SR_FIXED_LEN] != L ||
	    memcmp(cw + OSTP_SR_FIXED_LEN + 1, cstream + draw, L - 1u) != 0 ||
	    memcmp(sw, s_pk, 32) != 0)
		return -1;
	if (crypto_scalarmult(q, c_sk, s_pk) != 0)
		return -1;
	crypto_generichash_init(&st, NULL, 0, 64);
	crypto_generichash_update(&st, q, 32);
	crypto_generichash_update(&st, c_pk, 32);
	crypto_generichash_update(&st, s_pk, 32);
	crypto_generichash_final(&st, kx, 64);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"OSTP/1", 6);
	crypto_generichash_update(&st, cw, sr_len);
	crypto_generichash_update(&st, sw, OSTP_SH_LEN);
	crypto_generichash_final(&st, th, 32);
	vsc_keyed(k_c2s, kx + 32, "OSTP/1 c2s", th);
	vsc_keyed(k_s2c, kx, "OSTP/1 s2c", th);
	vsc_line(f, "value", "client_esk", c_sk, 32);
	vsc_line(f, "value", "client_epk", c_pk, 32);
	vsc_line(f, "value", "server_esk", s_sk, 32);
	vsc_line(f, "value", "server_epk", s_pk, 32);
	vsc_line(f, "value", "identity_pk", id_pk, 32);
	vsc_line(f, "value", "q", q, 32);
	vsc_line(f, "value", "kx_s2c", kx, 32);
	vsc_line(f, "value", "kx_c2s", kx + 32, 32);
	vsc_line(f, "value", "th", th, 32);
	if (v->cid_seed_byte) {
		/* section 3.8: what the client signs, from TH and both keys */
		uint8_t cpk[32], csk[64], msg[OSTP_CLIENT_AUTH_MSG_LEN], sig[64];

		memset(seed, v->cid_seed_byte, 32);
		crypto_sign_ed25519_seed_keypair(cpk, csk, seed);
		memcpy(msg, "OSTP/1 client auth", 18);
		memcpy(msg + 18, th, 32);
		memcpy(msg + 50, id_pk, 32);
		memcpy(msg + 82, cpk, 32);
		crypto_sign_ed25519_detached(sig, NULL, msg, sizeof(msg), csk);
		sodium_memzero(csk, sizeof(csk));
		vsc_line(f, "value", "client_identity_pk", cpk, 32);
		vsc_line(f, "value", "client_auth_msg", msg, sizeof(msg));
		vsc_line(f, "value", "client_auth_sig", sig, 64);
	}
	vsc_line(f, "key", "c2s 0", k_c2s, 32);
	vsc_line(f, "key", "s2c 0", k_s2c, 32);
	if (ostp_dir_init(&c2s.d, k_c2s) != OSTP_OK || ostp_dir_init(&s2c.d, k_s2c) != OSTP_OK)
		rc = -1;
	memcpy(c2s.key, k_c2s, 32);
	memcpy(s2c.key, k_s2c, 32);

	for (size_t i = 0; i < v->n && rc == 0; i++) {
		const struct vsc_entry *e = &v->e[i];
		struct vsc_dir *d = e->c2s ? &c2s : &s2c;
		const uint8_t *w = (e->c2s ? cw : sw) + e->off;
		size_t len = e->len, skip = 0;

		if (!e->flight) {
			fprintf(f, "step %s\n", e->step);
			continue;
		}
		fprintf(f, "flight %s %zu\n", e->c2s ? "c2s" : "s2c", len);
		if (!d->cleartext_done) {
			/* every flight record starts whole: the SR and SH are
			 * the first bytes of their direction's first flight */
			skip = e->c2s ? sr_len : OSTP_SH_LEN;
			vsc_line(f, e->c2s ? "sr" : "sh", e->c2s ? "c2s" : "s2c", w, skip);
			d->cleartext_done = true;
		}
		memcpy(d->buf + d->have, w + skip, len - skip);
		d->have += len - skip;
		rc = vsc_frames(f, d, e->c2s ? "c2s" : "s2c");
	}
	if (rc == 0 && (c2s.have || s2c.have))
		rc = -1;   /* a flight ended inside a frame */
	fprintf(f, "end\n");
	sodium_memzero(c_sk, sizeof(c_sk));
	sodium_memzero(s_sk, sizeof(s_sk));
	sodium_memzero(id_sk, sizeof(id_sk));
	ostp_dir_wipe(&c2s.d);
	ostp_dir_wipe(&s2c.d);
	return rc;
}

/* ---- the scenarios --------------------------------------------------------- */

VEC_HELPER void vsc_init(struct vsc *v, const char *name, const char *about,
			 uint8_t crng, uint8_t srng)
{
	memset(v, 0, sizeof(*v));
	v->name = name;
	v->about = about;
	v->crng_seed = crng;
	v->srng_seed = srng;
	vec_identity(v->id_pk, v->id_sk);
	memcpy(v->cc.server_pk, v->id_pk, 32);
	v->sc.identity_sk = v->id_sk;
	v->sc.spw_supported = OSTP_SPW_CONFIG | OSTP_SPW_IPV4 | OSTP_SPW_IPV6 | OSTP_SPW_GSO |
			      OSTP_SPW_RELAY;
	v->sc.spw_default = OSTP_SPW_IPV4 | OSTP_SPW_IPV6;
	v->sc.spw_permitted = OSTP_SPW_IPV4 | OSTP_SPW_IPV6;
}

VEC_HELPER int vsc_start(struct vsc *v)
{
	pair_init(&v->p);
	test_rng_init(&v->p.crng, v->crng_seed);
	test_rng_init(&v->p.srng, v->srng_seed);
	v->p.now = VEC_NOW_MS;
	v->p.auth = vec_auth;
	if (ostp_client_new(&v->p.c.s, &v->cc, &(struct ostp_rng){ test_rng_fill, &v->p.crng },
			    v->p.now) != OSTP_OK ||
	    ostp_server_new(&v->p.s.s, &v->sc, &(struct ostp_rng){ test_rng_fill, &v->p.srng },
			    v->p.now) != OSTP_OK)
		return -1;
	if (v->have_config && ostp_server_set_config(v->p.s.s, &v->conf) != OSTP_OK)
		return -1;
	if (v->npeers && ostp_server_set_peers(v->p.s.s, v->peers, v->npeers) != OSTP_OK)
		return -1;
	return 0;
}

VEC_HELPER void vsc_free(struct vsc *v)
{
	if (v->p.c.wire)
		pair_free(&v->p);
	free(v->peers);
	sodium_memzero(v->id_sk, sizeof(v->id_sk));
	sodium_memzero(v->cid_sk, sizeof(v->cid_sk));
	memset(v, 0, sizeof(*v));
}

VEC_HELPER int vsc_send(struct vsc *v, bool client, const char *text)
{
	vsc_step(v, "send %s DATA %s", client ? "client" : "server", text);
	return ostp_send(client ? v->p.c.s : v->p.s.s, OSTP_MSG_DATA, (const uint8_t *)text,
			 strlen(text));
}

/* Both directions rekey on time; DATA before and after shows K and K'. */
VEC_HELPER int vsc_rekey(struct vsc *v)
{
	struct ostp_event ev;

	vsc_init(v, "rekey",
		 "No user authentication, SPW IPV4.  One DATA each way, then rekey_ms\n"
		 "(1000) passes: each side's tick sends REKEY with its old key and\n"
		 "switches; one more DATA each way under the new keys.",
		 3, 4);
	v->cc.spw = OSTP_SPW_IPV4;
	v->cc.timing = v->sc.timing = (struct ostp_timing){
		.rekey_ms = 1000, .keepalive_ms = VSC_HUGE_MS, .dead_ms = VSC_HUGE_MS };
	if (vsc_start(v))
		return -1;
	vsc_pump(v);
	if (!ostp_session_established(v->p.c.s) || vsc_send(v, true, "before rekey, c2s") ||
	    vsc_send(v, false, "before rekey, s2c"))
		return -1;
	vsc_pump(v);
	v->p.now += 1000;
	vsc_step(v, "tick client %llu", (unsigned long long)v->p.now);
	if (ostp_tick(v->p.c.s, v->p.now, &ev) || vsc_send(v, true, "after rekey, c2s"))
		return -1;
	vsc_move(v, true);
	vsc_step(v, "tick server %llu", (unsigned long long)v->p.now);
	if (ostp_tick(v->p.s.s, v->p.now, &ev) || vsc_send(v, false, "after rekey, s2c"))
		return -1;
	vsc_pump(v);
	return side_count(&v->p.s, OSTP_EV_MESSAGE) == 2 &&
	       side_count(&v->p.c, OSTP_EV_MESSAGE) == 2 ? 0 : -1;
}

/* 40 peers are 3 blocks; a client that reads 2 ACKs the first, TRUNCs the
 * second. */
VEC_HELPER int vsc_peers(struct vsc *v)
{
	vsc_init(v, "peers",
		 "P set, SPW IPV4, 40 peers on the server (3 blocks: 16, 16, 8).  The\n"
		 "client reads at most 2 blocks: ACK(3) after block 3, TRUNC(2) after\n"
		 "block 2; block 1 is never sent.",
		 5, 6);
	v->cc.options = OSTP_OPT_P;
	v->cc.spw = OSTP_SPW_IPV4;
	v->cc.max_peer_blocks = 2;
	v->npeers = 40;
	v->peers = calloc(v->npeers, sizeof(*v->peers));
	if (!v->peers)
		return -1;
	for (size_t i = 0; i < v->npeers; i++) {
		v->peers[i].port = (uint16_t)(7000 + i);
		if (i % 2)
			snprintf(v->peers[i].host, sizeof(v->peers[i].host), "fd00:18::%zx", i + 1);
		else
			snprintf(v->peers[i].host, sizeof(v->peers[i].host), "198.18.0.%zu", i + 1);
		memset(v->peers[i].id_pk, (int)(i + 1), 32);
	}
	if (vsc_start(v))
		return -1;
	vsc_pump(v);
	return side_count(&v->p.c, OSTP_EV_PEER_BLOCK) == 2 && v->p.c.peers_seen == 32 &&
	       !ostp_session_closed(v->p.s.s) ? 0 : -1;
}

/* Section 4.3 (c): BAD_SPW, then BAD_PERMS, then SUCCESS; CONFIG agreed
 * with nothing to push, so the CONFIG is empty. */
VEC_HELPER int vsc_arbitration(struct vsc *v)
{
	vsc_init(v, "arbitration",
		 "No user authentication.  The client asks 0x0057 (CONFIG IPV4 IPV6\n"
		 "RELAY and reserved bit 6); the server supports 0x003f and permits\n"
		 "0x000f: BAD_SPW 0x0017, BAD_PERMS 0x0007, SUCCESS 0x0007, then the\n"
		 "empty CONFIG the server sends when CONFIG is agreed and it has\n"
		 "nothing to push.",
		 7, 8);
	v->cc.spw = 0x0057;
	v->sc.spw_supported = OSTP_SPW_DEFINED;
	v->sc.spw_permitted = 0x000f;
	if (vsc_start(v))
		return -1;
	vsc_pump(v);
	return ostp_session_spw(v->p.c.s) == 0x0007 && side_count(&v->p.c, OSTP_EV_CONFIG) == 1
	       ? 0 : -1;
}

/* The quick request, with DATA in the same flight as the PAP. */
VEC_HELPER int vsc_quick(struct vsc *v)
{
	vsc_init(v, "quick",
		 "No user authentication, quick request (SPW 0x8000).  The client\n"
		 "sends one DATA right behind its PAP, in the same flight; the server\n"
		 "answers PAP(spw_default & supported & permitted = 0x0006, SUCCESS),\n"
		 "then reads the DATA and answers with one DATA.",
		 9, 10);
	v->cc.spw = OSTP_SPW_QUICK;
	if (vsc_start(v))
		return -1;
	vsc_move(v, true);
	vsc_move(v, false);
	if (vsc_send(v, true, "quick, c2s"))
		return -1;
	vsc_move(v, true);
	if (!ostp_session_established(v->p.s.s) || vsc_send(v, false, "quick, s2c"))
		return -1;
	vsc_pump(v);
	return ostp_session_spw(v->p.c.s) == (OSTP_SPW_IPV4 | OSTP_SPW_IPV6) &&
	       side_count(&v->p.c, OSTP_EV_MESSAGE) == 1 &&
	       side_count(&v->p.s, OSTP_EV_MESSAGE) == 1 ? 0 : -1;
}

/* ostp_server_auth_busy(): SAP(BUSY), CLOSE(6); the client sends CLOSE(6). */
VEC_HELPER int vsc_busy(struct vsc *v)
{
	const struct recorded *r;

	vsc_init(v, "busy",
		 "User ian authenticates; the server cannot check the login now and\n"
		 "calls ostp_server_auth_busy(): SAP(AUTH_BUSY, \"ian\", plen 0), then\n"
		 "CLOSE(6).  The client reports OSTP_E_AUTH_BUSY and sends CLOSE(6),\n"
		 "which the closed server no longer reads.",
		 11, 12);
	v->cc.options = OSTP_OPT_U;
	v->cc.username = VEC_USER;
	v->cc.password = VEC_PASS;
	v->cc.spw = OSTP_SPW_IPV4;
	v->sc.require_auth = true;
	if (vsc_start(v))
		return -1;
	v->p.defer_auth = true;
	vsc_pump(v);
	vsc_step(v, "auth_busy server");
	if (ostp_server_auth_busy(v->p.s.s) != OSTP_OK)
		return -1;
	vsc_pump(v);
	r = side_find(&v->p.c, OSTP_EV_CLOSED);
	return r && r->err == OSTP_E_AUTH_BUSY ? 0 : -1;
}

/* The client proves the identity of seed byte b (section 3.8). */
VEC_HELPER void vsc_client_identity(struct vsc *v, uint8_t b)
{
	uint8_t seed[32];

	memset(seed, b, sizeof(seed));
	ostp_identity_from_seed(v->cid_pk, v->cid_sk, seed);
	v->cid_seed_byte = b;
	v->cc.identity_sk = v->cid_sk;
}

/* The acceptor's application judges the key: accepted, and the input it
 * held behind CLIENT_AUTH is read. */
VEC_HELPER int vsc_identity_ok(struct vsc *v)
{
	if (side_count(&v->p.s, OSTP_EV_CLIENT_KEY) != 1 ||
	    memcmp(v->p.s.client_pk, v->cid_pk, 32) != 0)
		return -1;
	vsc_step(v, "identity_reply server 1");
	if (ostp_server_identity_reply(v->p.s.s, true) != OSTP_OK)
		return -1;
	vsc_pump(v);
	return 0;
}

/* A mesh link: the dialer proves its key, the acceptor requires it. */
VEC_HELPER int vsc_mesh_link(struct vsc *v)
{
	vsc_init(v, "mesh_link",
		 "A mesh link.  The dialer (client role) proves the identity of seed\n"
		 "0x43 (option I, SR options 0x04) and pins the acceptor's 0x42 key;\n"
		 "the acceptor (server role) sets require_identity.  CLIENT_AUTH and\n"
		 "the PAP go in one flight; the PAP is held until the acceptor's\n"
		 "application accepts the key (identity_reply), then arbitrated (SPW\n"
		 "IPV4 IPV6).  One DATA each way.",
		 13, 14);
	vsc_client_identity(v, 0x43);
	v->cc.spw = OSTP_SPW_IPV4 | OSTP_SPW_IPV6;
	v->sc.require_identity = true;
	if (vsc_start(v))
		return -1;
	v->p.defer_identity = true;
	vsc_pump(v);
	if (ostp_session_established(v->p.s.s) || vsc_identity_ok(v) ||
	    !ostp_session_established(v->p.c.s) || vsc_send(v, true, "mesh, c2s") ||
	    vsc_send(v, false, "mesh, s2c"))
		return -1;
	vsc_pump(v);
	return side_count(&v->p.s, OSTP_EV_MESSAGE) == 1 &&
	       side_count(&v->p.c, OSTP_EV_MESSAGE) == 1 ? 0 : -1;
}

static uint16_t vsc_permitted;

static bool vsc_auth_permit(const char *user, const char *pass, uint16_t *permitted)
{
	bool ok = vec_auth(user, pass, permitted);

	*permitted = vsc_permitted;
	return ok;
}

/* Member a of the OCS's list: identity seed 0x61 or 0x62. */
VEC_HELPER struct ostp_member vsc_member(int a)
{
	struct ostp_member m = { .op = OSTP_MEMBER_UPSERT };
	uint8_t seed[32], sk[64];

	memset(seed, a ? 0x62 : 0x61, sizeof(seed));
	ostp_identity_from_seed(m.id_pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	if (a == 0) {
		m.flags = OSTP_MEMBER_F_ACCEPTS;
		m.port = 7001;
		snprintf(m.host, sizeof(m.host), "198.18.0.7");
		snprintf(m.name, sizeof(m.name), "dominik");
		m.n_prefix = 2;
		m.prefix[0] = (struct ostp_config_addr){ 4, 24, { 10, 77, 1, 0 } };
		m.prefix[1] = (struct ostp_config_addr){ 6, 64, { 0xfd, 0x77, 0, 1 } };
	} else {
		snprintf(m.name, sizeof(m.name), "quinn");
		m.n_prefix = 1;
		m.prefix[0] = (struct ostp_config_addr){ 4, 24, { 10, 77, 2, 0 } };
	}
	return m;
}

VEC_HELPER int vsc_send_member(struct vsc *v, bool client, const struct ostp_member *m)
{
	static const char *const names[] = { "?", "UPSERT", "REMOVE", "SYNCED", "ANNOUNCE" };

	vsc_step(v, "send_member %s %s", client ? "client" : "server", names[m->op <= 4 ? m->op : 0]);
	return ostp_send_member(client ? v->p.c.s : v->p.s.s, m);
}

/* An OCS session of a member: I and U, MESH agreed, the initial list (two
 * UPSERTs, SYNCED), the member's ANNOUNCE, then a REMOVE. */
VEC_HELPER int vsc_members(struct vsc *v)
{
	struct ostp_member a = vsc_member(0), b = vsc_member(1), x;

	vsc_init(v, "members",
		 "A member's OCS session: options I and U (0x05), identity seed 0x43,\n"
		 "user ian; require_identity and require_auth.  CLIENT_AUTH and the\n"
		 "SAP go in one flight; the SAP is held until identity_reply, then\n"
		 "checked (granting IPV4 MESH).  SPW 0x0022 agreed, then the OCS sends\n"
		 "the list (UPSERT dominik, seed 0x61, accepting at 198.18.0.7:7001,\n"
		 "10.77.1.0/24 and fd77:1::/64; UPSERT quinn, seed 0x62, not\n"
		 "accepting, 10.77.2.0/24), SYNCED; the member announces port 7000\n"
		 "with an empty host (the address the OCS sees); dominik leaves\n"
		 "(REMOVE).",
		 15, 16);
	vsc_client_identity(v, 0x43);
	v->cc.options = OSTP_OPT_U;
	v->cc.username = VEC_USER;
	v->cc.password = VEC_PASS;
	v->cc.spw = OSTP_SPW_IPV4 | OSTP_SPW_MESH;
	v->sc.require_auth = true;
	v->sc.require_identity = true;
	v->sc.spw_supported |= OSTP_SPW_MESH;
	v->user_permitted = OSTP_SPW_IPV4 | OSTP_SPW_MESH;
	vsc_permitted = v->user_permitted;
	if (vsc_start(v))
		return -1;
	v->p.auth = vsc_auth_permit;
	v->p.defer_identity = true;
	vsc_pump(v);
	if (side_find(&v->p.s, OSTP_EV_AUTH_REQUEST) || vsc_identity_ok(v) ||
	    !ostp_session_established(v->p.s.s) || !ostp_session_established(v->p.c.s))
		return -1;
	if (vsc_send_member(v, false, &a) || vsc_send_member(v, false, &b) ||
	    vsc_send_member(v, false, &(struct ostp_member){ .op = OSTP_MEMBER_SYNCED }))
		return -1;
	vsc_move(v, false);
	x = (struct ostp_member){ .op = OSTP_MEMBER_ANNOUNCE, .flags = OSTP_MEMBER_F_ACCEPTS,
				  .port = 7000 };
	memcpy(x.id_pk, v->cid_pk, 32);
	if (vsc_send_member(v, true, &x))
		return -1;
	vsc_move(v, true);
	x = (struct ostp_member){ .op = OSTP_MEMBER_REMOVE };
	memcpy(x.id_pk, a.id_pk, 32);
	if (vsc_send_member(v, false, &x))
		return -1;
	vsc_pump(v);
	return side_count(&v->p.c, OSTP_EV_MEMBER) == 4 && side_count(&v->p.s, OSTP_EV_MEMBER) == 1 &&
	       !ostp_session_closed(v->p.c.s) ? 0 : -1;
}

typedef int (*vsc_fn)(struct vsc *v);

static const struct {
	const char *file;
	vsc_fn run;
} vsc_all[] = {
	{ "rekey.vec", vsc_rekey },
	{ "peers.vec", vsc_peers },
	{ "arbitration.vec", vsc_arbitration },
	{ "quick.vec", vsc_quick },
	{ "busy.vec", vsc_busy },
	{ "mesh_link.vec", vsc_mesh_link },
	{ "members.vec", vsc_members },
};

#define VSC_COUNT (sizeof(vsc_all) / sizeof(vsc_all[0]))

/* Runs scenario i and returns its .vec text (malloc'd) or NULL. */
VEC_HELPER char *vsc_text(size_t i, size_t *len)
{
	struct vsc *v = calloc(1, sizeof(*v));
	char *text = NULL;
	FILE *f;
	int rc;

	*len = 0;
	if (!v || ostp_init() != OSTP_OK) {
		free(v);
		return NULL;
	}
	rc = vsc_all[i].run(v);
	if (rc || v->failed) {
		fprintf(stderr, "gen_vectors: scenario %s did not run as expected\n", vsc_all[i].file);
		vsc_free(v);
		free(v);
		return NULL;
	}
	f = open_memstream(&text, len);
	if (f) {
		rc = vsc_describe(f, v);
		if (fclose(f) != 0)
			rc = -1;
	}
	if (!f || rc) {
		fprintf(stderr, "gen_vectors: scenario %s: the bytes do not follow the "
			"specification\n", vsc_all[i].file);
		free(text);
		text = NULL;
	}
	vsc_free(v);
	free(v);
	return text;
}

#endif
