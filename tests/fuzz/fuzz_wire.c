/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: every record decoder of lib/wire.h on the input.
 *
 * Each decoder gets the whole input, and also the input without its first
 * byte, so one input can reach more than one exact length.  When a record
 * decodes, it is encoded again: the encoding must be byte-identical to what
 * was decoded (every record has exactly one encoding), and decoding that
 * must give the same record.  A rejected input must leave the decoder's
 * output alone (wire.h: "writes its output only on success").
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool untouched(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0xa5)
			return false;
	return true;
}

static bool is_err(int rc)
{
	return rc < 0 && rc >= OSTP_E_IDENTITY;
}

static void sr(const uint8_t *in, size_t len)
{
	struct ostp_sr a, b;
	uint8_t out[OSTP_SR_MAX_LEN];
	size_t need = 0, n = 0, need2 = 0;
	int rc;

	memset(&a, 0xa5, sizeof(a));
	rc = ostp_sr_decode(&a, in, len, &need);
	if (rc != OSTP_OK) {
		CHECK(is_err(rc) && untouched(&a, sizeof(a)));
		if (rc == OSTP_E_SHORT)
			CHECK(need > len && need <= OSTP_SR_MAX_LEN);
		if (rc == OSTP_E_LONG)
			CHECK(need < len);
		return;
	}
	CHECK(need == len && len >= OSTP_SR_MIN_LEN && len <= OSTP_SR_MAX_LEN);
	CHECK(a.pad_len == len - OSTP_SR_FIXED_LEN && !(a.options & OSTP_OPT_RESERVED));
	CHECK(ostp_sr_encode(out, sizeof(out), &n, &a, in + OSTP_SR_FIXED_LEN + 1) == OSTP_OK);
	CHECK(n == len && memcmp(out, in, len) == 0);
	CHECK(ostp_sr_decode(&b, out, n, &need2) == OSTP_OK);
	CHECK(a.options == b.options && a.pad_len == b.pad_len);
	CHECK(memcmp(a.pubkey, b.pubkey, sizeof(a.pubkey)) == 0);
}

static void sap(const uint8_t *in, size_t len)
{
	static struct ostp_sap a, b;
	uint8_t out[OSTP_SAP_MAX_LEN];
	size_t n = 0;
	int rc;

	memset(&a, 0xa5, sizeof(a));
	rc = ostp_sap_decode(&a, in, len);
	if (rc != OSTP_OK) {
		CHECK(is_err(rc) && untouched(&a, sizeof(a)));
		return;
	}
	CHECK(a.user_len >= 1 && a.user_len <= OSTP_USER_MAX && a.pass_len <= OSTP_PASS_MAX);
	CHECK(strlen(a.user) == a.user_len && a.pass[a.pass_len] == '\0');
	CHECK(ostp_username_valid(a.user, a.user_len));
	CHECK(ostp_sap_encode(out, sizeof(out), &n, a.code, a.user, a.user_len, a.pass,
			      a.pass_len) == OSTP_OK);
	CHECK(n == len && memcmp(out, in, len) == 0);
	memset(&b, 0, sizeof(b));
	CHECK(ostp_sap_decode(&b, out, n) == OSTP_OK);
	CHECK(a.code == b.code && a.user_len == b.user_len && a.pass_len == b.pass_len);
	CHECK(memcmp(a.user, b.user, a.user_len + 1u) == 0);
	CHECK(memcmp(a.pass, b.pass, a.pass_len + 1u) == 0);
}

static void pap(const uint8_t *in, size_t len)
{
	struct ostp_pap a, b;
	uint8_t out[OSTP_PAP_LEN];
	int rc;

	memset(&a, 0xa5, sizeof(a));
	rc = ostp_pap_decode(&a, in, len);
	if (rc != OSTP_OK) {
		CHECK(is_err(rc) && untouched(&a, sizeof(a)));
		return;
	}
	CHECK(len == OSTP_PAP_LEN && a.code <= OSTP_PAP_RESOURCE);
	CHECK(ostp_pap_encode(out, sizeof(out), &a) == OSTP_OK);
	CHECK(memcmp(out, in, OSTP_PAP_LEN) == 0);
	CHECK(ostp_pap_decode(&b, out, sizeof(out)) == OSTP_OK);
	CHECK(a.spw == b.spw && a.code == b.code);
}

static void mgmt(const uint8_t *in, size_t len)
{
	struct ostp_mgmt a, b;
	uint8_t out[OSTP_MGMT_LEN];
	int rc;

	memset(&a, 0xa5, sizeof(a));
	rc = ostp_mgmt_decode(&a, in, len);
	if (rc != OSTP_OK) {
		CHECK(is_err(rc) && untouched(&a, sizeof(a)));
		return;
	}
	CHECK(len == OSTP_MGMT_LEN && a.type <= OSTP_MFRAME_TRUNC);
	CHECK(ostp_mgmt_encode(out, sizeof(out), &a) == OSTP_OK);
	CHECK(memcmp(out, in, OSTP_MGMT_LEN) == 0);
	CHECK(ostp_mgmt_decode(&b, out, sizeof(out)) == OSTP_OK);
	CHECK(a.type == b.type && a.word == b.word);
}

static void peer_block(const uint8_t *in, size_t len)
{
	static struct ostp_peer a[OSTP_PB_N_PEERS], b[OSTP_PB_N_PEERS];
	static uint8_t out[OSTP_PEER_BLOCK_LEN];
	size_t n = 999, n2 = 0;
	uint8_t seq = 0xa5, seq2 = 0;
	int rc;

	memset(a, 0xa5, sizeof(a));
	rc = ostp_peer_block_decode(a, &n, &seq, in, len);
	if (rc != OSTP_OK) {
		CHECK(is_err(rc) && n == 999 && seq == 0xa5);
		CHECK(untouched(a, sizeof(a)));
		return;
	}
	CHECK(len == OSTP_PEER_BLOCK_LEN && n <= OSTP_PB_N_PEERS && seq >= 1);
	CHECK(seq == 1 || n == OSTP_PB_N_PEERS);
	for (size_t i = 0; i < n; i++)
		CHECK(a[i].port != 0 && memchr(a[i].host, 0, sizeof(a[i].host)) != NULL);
	CHECK(ostp_peer_block_encode(out, sizeof(out), a, n, seq) == OSTP_OK);
	CHECK(memcmp(out, in, OSTP_PEER_BLOCK_LEN) == 0);
	CHECK(ostp_peer_block_decode(b, &n2, &seq2, out, sizeof(out)) == OSTP_OK);
	CHECK(n2 == n && seq2 == seq);
	for (size_t i = 0; i < n; i++) {
		CHECK(a[i].port == b[i].port && strcmp(a[i].host, b[i].host) == 0);
		CHECK(memcmp(a[i].id_pk, b[i].id_pk, 32) == 0);
	}
}

static void config(const uint8_t *in, size_t len)
{
	struct ostp_config a, b;
	uint8_t out[OSTP_CONFIG_MAX_LEN];
	size_t n = 0;
	int rc;

	memset(&a, 0xa5, sizeof(a));
	rc = ostp_config_decode(&a, in, len);
	if (rc != OSTP_OK) {
		CHECK(is_err(rc) && untouched(&a, sizeof(a)));
		return;
	}
	CHECK(a.n_addr <= OSTP_CONFIG_ADDR_MAX && len == 3u + 18u * a.n_addr);
	CHECK(ostp_config_encode(out, sizeof(out), &n, &a) == OSTP_OK);
	CHECK(n == len && memcmp(out, in, len) == 0);
	memset(&b, 0, sizeof(b));
	CHECK(ostp_config_decode(&b, out, n) == OSTP_OK);
	/* field by field: struct assignment need not copy padding */
	CHECK(a.mtu == b.mtu && a.n_addr == b.n_addr);
	for (size_t i = 0; i < a.n_addr; i++)
		CHECK(a.addr[i].family == b.addr[i].family &&
		      a.addr[i].prefix_len == b.addr[i].prefix_len &&
		      memcmp(a.addr[i].addr, b.addr[i].addr, 16) == 0);
}

/* A MEMBER that decodes passes every rule of docs/PROTOCOL.md 2.5.13 that
 * needs no session, re-encodes to the same bytes, and decodes the same. */
static bool prefix_ok(const struct ostp_config_addr *a)
{
	unsigned bits = a->family == 4 ? 32u : 128u;

	if (!((a->family == 4 && a->prefix_len <= 32) || (a->family == 6 && a->prefix_len <= 128)))
		return false;
	for (unsigned i = a->family == 4 ? 4u : 16u; i < 16; i++)
		if (a->addr[i])
			return false;
	for (unsigned i = a->prefix_len; i < bits; i++)
		if (a->addr[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

static void member(const uint8_t *in, size_t len)
{
	static struct ostp_member a, b;
	static uint8_t out[OSTP_MEMBER_MAX_LEN];
	size_t n = 0, name_len, host_len;
	bool accepts, empty;
	int rc;

	memset(&a, 0xa5, sizeof(a));
	rc = ostp_member_decode(&a, in, len);
	if (rc != OSTP_OK) {
		CHECK(is_err(rc) && untouched(&a, sizeof(a)));
		return;
	}
	name_len = strnlen(a.name, sizeof(a.name));
	host_len = strnlen(a.host, sizeof(a.host));
	CHECK(name_len <= OSTP_USER_MAX && host_len < sizeof(a.host));
	CHECK(len == 88u + name_len + 18u * a.n_prefix && len <= OSTP_MEMBER_MAX_LEN);
	CHECK(a.seq == ((uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3]));
	CHECK(a.op >= OSTP_MEMBER_UPSERT && a.op <= OSTP_MEMBER_ANNOUNCE);
	CHECK((a.flags & ~OSTP_MEMBER_F_ACCEPTS) == 0 && a.n_prefix <= OSTP_MEMBER_PREFIX_MAX);
	CHECK(name_len == 0 || ostp_username_valid(a.name, name_len));
	for (size_t i = host_len; i < sizeof(a.host); i++)
		CHECK(a.host[i] == 0);
	for (size_t i = 0; i < a.n_prefix; i++)
		CHECK(prefix_ok(&a.prefix[i]));
	accepts = (a.flags & OSTP_MEMBER_F_ACCEPTS) != 0;
	empty = host_len == 0;
	switch (a.op) {
	case OSTP_MEMBER_UPSERT:
		CHECK(accepts ? a.port != 0 && !empty : a.port == 0 && empty);
		break;
	case OSTP_MEMBER_ANNOUNCE:
		CHECK(name_len == 0 && a.n_prefix == 0);
		CHECK(accepts ? a.port != 0 : a.port == 0 && empty);
		break;
	default:
		CHECK(a.flags == 0 && a.port == 0 && empty && name_len == 0 && a.n_prefix == 0);
		if (a.op == OSTP_MEMBER_SYNCED)
			for (size_t i = 0; i < 32; i++)
				CHECK(a.id_pk[i] == 0);
	}
	CHECK(ostp_member_encode(out, sizeof(out), &n, &a) == OSTP_OK);
	CHECK(n == len && memcmp(out, in, len) == 0);
	memset(&b, 0, sizeof(b));
	CHECK(ostp_member_decode(&b, out, n) == OSTP_OK);
	CHECK(a.seq == b.seq && a.op == b.op && a.flags == b.flags && a.port == b.port &&
	      a.n_prefix == b.n_prefix);
	CHECK(memcmp(a.id_pk, b.id_pk, 32) == 0 && strcmp(a.host, b.host) == 0 &&
	      strcmp(a.name, b.name) == 0);
	for (size_t i = 0; i < a.n_prefix; i++)
		CHECK(a.prefix[i].family == b.prefix[i].family &&
		      a.prefix[i].prefix_len == b.prefix[i].prefix_len &&
		      memcmp(a.prefix[i].addr, b.prefix[i].addr, 16) == 0);
}

static void all(const uint8_t *in, size_t len)
{
	sr(in, len);
	sap(in, len);
	pap(in, len);
	mgmt(in, len);
	peer_block(in, len);
	config(in, len);
	member(in, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	all(data, size);
	if (size > 0)
		all(data + 1, size - 1);
	/* the big-endian helpers agree with each other */
	if (size >= 8) {
		uint8_t b[8];

		ostp_put64(b, ostp_get64(data));
		CHECK(memcmp(b, data, 8) == 0);
		ostp_put16(b, ostp_get16(data));
		CHECK(memcmp(b, data, 2) == 0);
	}
	return 0;
}
