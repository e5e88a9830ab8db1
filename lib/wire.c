/* SPDX-License-Identifier: ISC */
/* Codecs of the OSTP records that are not message frames. */
#include <arpa/inet.h>
#include <string.h>

#include "wire.h"

int ostp_sr_encode(uint8_t *out, size_t cap, size_t *out_len,
		   const struct ostp_sr *sr, const uint8_t *pad_random)
{
	size_t len = OSTP_SR_FIXED_LEN + sr->pad_len;

	if (sr->options & OSTP_OPT_RESERVED)
		return OSTP_E_RESERVED;
	if (sr->pad_len < OSTP_PAD_MIN || sr->pad_len > OSTP_PAD_MAX)
		return OSTP_E_PAD;
	if (cap < len)
		return OSTP_E_LONG;
	out[0] = sr->options;
	memcpy(out + 1, sr->pubkey, OSTP_PUBKEY_LEN);
	out[OSTP_SR_FIXED_LEN] = sr->pad_len;
	memcpy(out + OSTP_SR_FIXED_LEN + 1, pad_random, sr->pad_len - 1u);
	*out_len = len;
	return OSTP_OK;
}

int ostp_sr_decode(struct ostp_sr *sr, const uint8_t *in, size_t len, size_t *need)
{
	uint8_t pad_len;

	*need = OSTP_SR_FIXED_LEN + 1u;
	if (len >= 1 && (in[0] & OSTP_OPT_RESERVED))
		return OSTP_E_RESERVED;
	if (len < *need)
		return OSTP_E_SHORT;
	pad_len = in[OSTP_SR_FIXED_LEN];
	if (pad_len < OSTP_PAD_MIN || pad_len > OSTP_PAD_MAX)
		return OSTP_E_PAD;
	*need = OSTP_SR_FIXED_LEN + pad_len;
	if (len < *need)
		return OSTP_E_SHORT;
	if (len > *need)
		return OSTP_E_LONG;
	sr->options = in[0];
	memcpy(sr->pubkey, in + 1, OSTP_PUBKEY_LEN);
	sr->pad_len = pad_len;
	return OSTP_OK;
}

int ostp_sap_encode(uint8_t *out, size_t cap, size_t *out_len,
		    uint8_t code, const char *user, size_t user_len,
		    const char *pass, size_t pass_len)
{
	size_t len = OSTP_SAP_FIXED_LEN + user_len + pass_len;

	if (!ostp_username_valid(user, user_len))
		return OSTP_E_USER;
	if (pass_len > OSTP_PASS_MAX)
		return OSTP_E_PASS;
	if (cap < len)
		return OSTP_E_LONG;
	out[0] = code;
	out[1] = (uint8_t)user_len;
	ostp_put16(out + 2, (uint16_t)pass_len);
	memcpy(out + OSTP_SAP_FIXED_LEN, user, user_len);
	if (pass_len)
		memcpy(out + OSTP_SAP_FIXED_LEN + user_len, pass, pass_len);
	*out_len = len;
	return OSTP_OK;
}

int ostp_sap_decode(struct ostp_sap *sap, const uint8_t *in, size_t len)
{
	uint8_t user_len;
	uint16_t pass_len;

	if (len < OSTP_SAP_FIXED_LEN)
		return OSTP_E_SHORT;
	user_len = in[1];
	pass_len = ostp_get16(in + 2);
	if (user_len == 0 || user_len > OSTP_USER_MAX)
		return OSTP_E_USER;
	if (pass_len > OSTP_PASS_MAX)
		return OSTP_E_PASS;
	if (len < OSTP_SAP_FIXED_LEN + (size_t)user_len + pass_len)
		return OSTP_E_SHORT;
	if (len > OSTP_SAP_FIXED_LEN + (size_t)user_len + pass_len)
		return OSTP_E_LONG;
	if (!ostp_username_valid((const char *)in + OSTP_SAP_FIXED_LEN, user_len))
		return OSTP_E_USER;
	sap->code = in[0];
	sap->user_len = user_len;
	sap->pass_len = pass_len;
	memcpy(sap->user, in + OSTP_SAP_FIXED_LEN, user_len);
	sap->user[user_len] = '\0';
	memcpy(sap->pass, in + OSTP_SAP_FIXED_LEN + user_len, pass_len);
	sap->pass[pass_len] = '\0';
	return OSTP_OK;
}

int ostp_pap_encode(uint8_t *out, size_t cap, const struct ostp_pap *pap)
{
	if (cap < OSTP_PAP_LEN)
		return OSTP_E_LONG;
	ostp_put16(out, pap->spw);
	out[2] = pap->code;
	return OSTP_OK;
}

int ostp_pap_decode(struct ostp_pap *pap, const uint8_t *in, size_t len)
{
	if (len < OSTP_PAP_LEN)
		return OSTP_E_SHORT;
	if (len > OSTP_PAP_LEN)
		return OSTP_E_LONG;
	if (in[2] > OSTP_PAP_RESOURCE)
		return OSTP_E_TYPE;
	pap->spw = ostp_get16(in);
	pap->code = in[2];
	return OSTP_OK;
}

int ostp_mgmt_encode(uint8_t *out, size_t cap, const struct ostp_mgmt *m)
{
	if (cap < OSTP_MGMT_LEN)
		return OSTP_E_LONG;
	out[0] = m->type;
	ostp_put16(out + 1, m->word);
	return OSTP_OK;
}

int ostp_mgmt_decode(struct ostp_mgmt *m, const uint8_t *in, size_t len)
{
	if (len < OSTP_MGMT_LEN)
		return OSTP_E_SHORT;
	if (len > OSTP_MGMT_LEN)
		return OSTP_E_LONG;
	if (in[0] != OSTP_MFRAME_ACK && in[0] != OSTP_MFRAME_TRUNC)
		return OSTP_E_TYPE;
	m->type = in[0];
	m->word = ostp_get16(in + 1);
	return OSTP_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* host must be a NUL-terminated numeric address with zero fill after it,
 * so one address has exactly one encoding. */
static bool peer_host_valid(const char *host)
{
	size_t n = strnlen(host, OSTP_PEER_HOST_LEN);
	uint8_t addr[16];

	if (n == 0 || n == OSTP_PEER_HOST_LEN)
		return false;
	if (!all_zero((const uint8_t *)host + n, OSTP_PEER_HOST_LEN - n))
		return false;
	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

static int peer_encode(uint8_t *out, const struct ostp_peer *p)
{
	char host[OSTP_PEER_HOST_LEN];

	memset(host, 0, sizeof(host));
	memcpy(host, p->host, strnlen(p->host, sizeof(p->host)));
	if (p->port == 0 || !peer_host_valid(host))
		return OSTP_E_PEER;
	out[0] = OSTP_PEER_PAD;
	ostp_put16(out + 1, p->port);
	memcpy(out + 3, host, OSTP_PEER_HOST_LEN);
	memcpy(out + 3 + OSTP_PEER_HOST_LEN, p->id_pk, OSTP_ID_PK_LEN);
	return OSTP_OK;
}

static int peer_decode(struct ostp_peer *p, const uint8_t *in)
{
	if (in[0] != OSTP_PEER_PAD)
		return OSTP_E_PEER;
	memcpy(p->host, in + 3, OSTP_PEER_HOST_LEN);
	p->port = ostp_get16(in + 1);
	if (p->port == 0 || !peer_host_valid(p->host))
		return OSTP_E_PEER;
	memcpy(p->id_pk, in + 3 + OSTP_PEER_HOST_LEN, OSTP_ID_PK_LEN);
	return OSTP_OK;
}

int ostp_peer_block_encode(uint8_t *out, size_t cap,
			   const struct ostp_peer *peers, size_t n, uint8_t seq)
{
	if (cap < OSTP_PEER_BLOCK_LEN)
		return OSTP_E_LONG;
	if (n > OSTP_PB_N_PEERS)
		return OSTP_E_INVAL;
	if (seq == 0 || (seq > 1 && n != OSTP_PB_N_PEERS))
		return OSTP_E_SEQ;
	memset(out, 0, OSTP_PEER_BLOCK_LEN);
	for (size_t i = 0; i < n; i++) {
		int err = peer_encode(out + i * OSTP_PEER_LEN, &peers[i]);
		if (err)
			return err;
	}
	out[OSTP_PEER_BLOCK_LEN - 1] = seq;
	return OSTP_OK;
}

int ostp_peer_block_decode(struct ostp_peer *peers, size_t *n, uint8_t *seq,
			   const uint8_t *in, size_t len)
{
	struct ostp_peer tmp[OSTP_PB_N_PEERS];
	size_t used = 0;
	bool seen_empty = false;
	uint8_t s;

	if (len < OSTP_PEER_BLOCK_LEN)
		return OSTP_E_SHORT;
	if (len > OSTP_PEER_BLOCK_LEN)
		return OSTP_E_LONG;
	s = in[OSTP_PEER_BLOCK_LEN - 1];
	if (s == 0)
		return OSTP_E_SEQ;
	for (size_t i = 0; i < OSTP_PB_N_PEERS; i++) {
		const uint8_t *e = in + i * OSTP_PEER_LEN;
		int err;

		if (all_zero(e, OSTP_PEER_LEN)) {
			seen_empty = true;
			continue;
		}
		if (seen_empty)
			return OSTP_E_PEER;
		err = peer_decode(&tmp[used], e);
		if (err)
			return err;
		used++;
	}
	if (s > 1 && used != OSTP_PB_N_PEERS)
		return OSTP_E_PEER;
	/* the caller's array is written only on success */
	memcpy(peers, tmp, used * sizeof(*tmp));
	*n = used;
	*seq = s;
	return OSTP_OK;
}

static bool config_addr_valid(const struct ostp_config_addr *a)
{
	if (a->family == 4)
		return a->prefix_len <= 32 && all_zero(a->addr + 4, 12);
	return a->family == 6 && a->prefix_len <= 128;
}

int ostp_config_encode(uint8_t *out, size_t cap, size_t *out_len,
		       const struct ostp_config *c)
{
	size_t len = 3u + (size_t)c->n_addr * OSTP_CONFIG_ENTRY_LEN;

	if (c->n_addr > OSTP_CONFIG_ADDR_MAX)
		return OSTP_E_CONFIG;
	if (cap < len)
		return OSTP_E_LONG;
	ostp_put16(out, c->mtu);
	out[2] = c->n_addr;
	for (size_t i = 0; i < c->n_addr; i++) {
		const struct ostp_config_addr *a = &c->addr[i];
		uint8_t *e = out + 3 + i * OSTP_CONFIG_ENTRY_LEN;

		if (!config_addr_valid(a))
			return OSTP_E_CONFIG;
		e[0] = a->family;
		e[1] = a->prefix_len;
		memcpy(e + 2, a->addr, 16);
	}
	*out_len = len;
	return OSTP_OK;
}

int ostp_config_decode(struct ostp_config *c, const uint8_t *in, size_t len)
{
	struct ostp_config tmp;

	if (len < 3)
		return OSTP_E_SHORT;
	memset(&tmp, 0, sizeof(tmp));
	tmp.mtu = ostp_get16(in);
	tmp.n_addr = in[2];
	if (tmp.n_addr > OSTP_CONFIG_ADDR_MAX ||
	    len != 3u + (size_t)tmp.n_addr * OSTP_CONFIG_ENTRY_LEN)
		return OSTP_E_CONFIG;
	for (size_t i = 0; i < tmp.n_addr; i++) {
		const uint8_t *e = in + 3 + i * OSTP_CONFIG_ENTRY_LEN;
		struct ostp_config_addr *a = &tmp.addr[i];

		a->family = e[0];
		a->prefix_len = e[1];
		memcpy(a->addr, e + 2, 16);
		if (!config_addr_valid(a))
			return OSTP_E_CONFIG;
	}
	*c = tmp;
	return OSTP_OK;
}

/* ---- MEMBER ------------------------------------------------------------------ */

/* Every bit of addr past prefix_len is zero, so one prefix has exactly one
 * encoding and a member cannot claim "10.0.0.7/8" for "10.0.0.0/8". */
static bool prefix_host_bits_zero(const struct ostp_config_addr *a)
{
	unsigned bits = a->family == 4 ? 32u : 128u;

	for (unsigned i = a->prefix_len; i < bits; i++)
		if (a->addr[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

static bool member_prefix_valid(const struct ostp_config_addr *a)
{
	return config_addr_valid(a) && prefix_host_bits_zero(a);
}

/* host: a NUL within the field, zeros after it, and text that is empty or
 * a numeric address (the PEER host rule, with "" allowed). */
static bool member_host_valid(const char *host)
{
	size_t n = strnlen(host, OSTP_PEER_HOST_LEN);

	if (n == OSTP_PEER_HOST_LEN)
		return false;
	if (n == 0)
		return all_zero((const uint8_t *)host, OSTP_PEER_HOST_LEN);
	return peer_host_valid(host);
}

/* The field rules of each op (check 14 of 2.5.13), on a record whose
 * other fields are already valid. */
static bool member_op_fields_valid(const struct ostp_member *m, size_t name_len)
{
	bool accepts = (m->flags & OSTP_MEMBER_F_ACCEPTS) != 0;
	bool host_empty = m->host[0] == '\0';

	switch (m->op) {
	case OSTP_MEMBER_UPSERT:
		return accepts ? m->port != 0 && !host_empty : m->port == 0 && host_empty;
	case OSTP_MEMBER_SYNCED:
		if (!all_zero(m->id_pk, sizeof(m->id_pk)))
			return false;
		/* fall through */
	case OSTP_MEMBER_REMOVE:
		return m->flags == 0 && m->port == 0 && host_empty && name_len == 0 &&
		       m->n_prefix == 0;
	case OSTP_MEMBER_ANNOUNCE:
		if (name_len != 0 || m->n_prefix != 0)
			return false;
		return accepts ? m->port != 0 : m->port == 0 && host_empty;
	default:
		return false;
	}
}

static bool member_op_known(uint8_t op)
{
	return op >= OSTP_MEMBER_UPSERT && op <= OSTP_MEMBER_ANNOUNCE;
}

/* The checks of decode from check 6 on, in the same order, on a record in
 * struct form; shared by encode so both accept exactly the same set. */
static int member_check(const struct ostp_member *m, size_t name_len)
{
	if (!member_op_known(m->op))
		return OSTP_E_TYPE;
	if (m->flags & OSTP_MEMBER_F_RESERVED)
		return OSTP_E_RESERVED;
	if (name_len > OSTP_USER_MAX || m->n_prefix > OSTP_MEMBER_PREFIX_MAX)
		return OSTP_E_LEN;
	if (!member_host_valid(m->host))
		return OSTP_E_PEER;
	if (name_len && !ostp_username_valid(m->name, name_len))
		return OSTP_E_USER;
	for (size_t i = 0; i < m->n_prefix; i++)
		if (!member_prefix_valid(&m->prefix[i]))
			return OSTP_E_PEER;
	return member_op_fields_valid(m, name_len) ? OSTP_OK : OSTP_E_PEER;
}

int ostp_member_encode(uint8_t *out, size_t cap, size_t *out_len, const struct ostp_member *m)
{
	struct ostp_member tmp = *m;
	size_t name_len = strnlen(m->name, sizeof(m->name)), len;
	uint8_t *e;
	int err;

	if (name_len == sizeof(m->name))
		return OSTP_E_LEN;
	/* the host goes out zero-filled after its NUL, whatever the caller
	 * left there */
	memset(tmp.host, 0, sizeof(tmp.host));
	memcpy(tmp.host, m->host, strnlen(m->host, sizeof(m->host)));
	err = member_check(&tmp, name_len);
	if (err)
		return err;
	len = OSTP_MEMBER_LEN(name_len, tmp.n_prefix);
	if (cap < len)
		return OSTP_E_LONG;
	out[0] = (uint8_t)(tmp.seq >> 24);
	out[1] = (uint8_t)(tmp.seq >> 16);
	out[2] = (uint8_t)(tmp.seq >> 8);
	out[3] = (uint8_t)tmp.seq;
	out[OSTP_MEMBER_OFF_OP] = tmp.op;
	out[OSTP_MEMBER_OFF_FLAGS] = tmp.flags;
	memcpy(out + OSTP_MEMBER_OFF_ID, tmp.id_pk, OSTP_ID_PK_LEN);
	ostp_put16(out + OSTP_MEMBER_OFF_PORT, tmp.port);
	memcpy(out + OSTP_MEMBER_OFF_HOST, tmp.host, OSTP_PEER_HOST_LEN);
	out[OSTP_MEMBER_OFF_NLEN] = (uint8_t)name_len;
	memcpy(out + OSTP_MEMBER_HEAD_LEN, tmp.name, name_len);
	out[OSTP_MEMBER_HEAD_LEN + name_len] = tmp.n_prefix;
	e = out + OSTP_MEMBER_MIN_LEN + name_len;
	for (size_t i = 0; i < tmp.n_prefix; i++, e += OSTP_CONFIG_ENTRY_LEN) {
		e[0] = tmp.prefix[i].family;
		e[1] = tmp.prefix[i].prefix_len;
		memcpy(e + 2, tmp.prefix[i].addr, 16);
	}
	*out_len = len;
	return OSTP_OK;
}

int ostp_member_decode(struct ostp_member *m, const uint8_t *in, size_t len)
{
	struct ostp_member tmp;
	size_t name_len, total;
	const uint8_t *e;
	int err;

	/* sizes first, in the order of 2.5.13, so every later check reads
	 * only bytes that are there */
	if (len < OSTP_MEMBER_MIN_LEN)
		return OSTP_E_SHORT;
	if (!member_op_known(in[OSTP_MEMBER_OFF_OP]))
		return OSTP_E_TYPE;
	if (in[OSTP_MEMBER_OFF_FLAGS] & OSTP_MEMBER_F_RESERVED)
		return OSTP_E_RESERVED;
	name_len = in[OSTP_MEMBER_OFF_NLEN];
	if (name_len > OSTP_USER_MAX)
		return OSTP_E_LEN;
	if (len < OSTP_MEMBER_MIN_LEN + name_len)
		return OSTP_E_SHORT;
	if (in[OSTP_MEMBER_HEAD_LEN + name_len] > OSTP_MEMBER_PREFIX_MAX)
		return OSTP_E_LEN;
	total = OSTP_MEMBER_LEN(name_len, in[OSTP_MEMBER_HEAD_LEN + name_len]);
	if (len != total)
		return len < total ? OSTP_E_SHORT : OSTP_E_LONG;

	memset(&tmp, 0, sizeof(tmp));
	tmp.seq = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	tmp.op = in[OSTP_MEMBER_OFF_OP];
	tmp.flags = in[OSTP_MEMBER_OFF_FLAGS];
	memcpy(tmp.id_pk, in + OSTP_MEMBER_OFF_ID, OSTP_ID_PK_LEN);
	tmp.port = ostp_get16(in + OSTP_MEMBER_OFF_PORT);
	memcpy(tmp.host, in + OSTP_MEMBER_OFF_HOST, OSTP_PEER_HOST_LEN);
	memcpy(tmp.name, in + OSTP_MEMBER_HEAD_LEN, name_len);
	tmp.n_prefix = in[OSTP_MEMBER_HEAD_LEN + name_len];
	e = in + OSTP_MEMBER_MIN_LEN + name_len;
	for (size_t i = 0; i < tmp.n_prefix; i++, e += OSTP_CONFIG_ENTRY_LEN) {
		tmp.prefix[i].family = e[0];
		tmp.prefix[i].prefix_len = e[1];
		memcpy(tmp.prefix[i].addr, e + 2, 16);
	}
	err = member_check(&tmp, name_len);
	if (err)
		return err;
	*m = tmp;
	return OSTP_OK;
}
