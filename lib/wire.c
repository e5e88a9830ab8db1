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
