/* SPDX-License-Identifier: ISC */
#include <string.h>

#include "frame.h"

static const char rekey_label[] = "OSTP/1 rekey";

int ostp_dir_init(struct ostp_dir *d, const uint8_t key[32])
{
	int err = ostp_aead_init(&d->aead, key);

	if (err) {
		ostp_dir_wipe(d);
		return err;
	}
	memcpy(d->key, key, sizeof(d->key));
	d->counter = 0;
	d->since_rekey = 0;
	return OSTP_OK;
}

int ostp_dir_rekey(struct ostp_dir *d)
{
	uint8_t next[32];
	int err;

	crypto_generichash(next, sizeof(next), (const uint8_t *)rekey_label,
			   sizeof(rekey_label) - 1, d->key, sizeof(d->key));
	err = ostp_dir_init(d, next);
	sodium_memzero(next, sizeof(next));
	return err;
}

int ostp_dir_copy(struct ostp_dir *dst, const struct ostp_dir *src)
{
	int err;

	memset(dst, 0, sizeof(*dst));
	err = ostp_dir_init(dst, src->key);
	if (err)
		return err;
	dst->counter = src->counter;
	dst->since_rekey = src->since_rekey;
	return OSTP_OK;
}

void ostp_dir_wipe(struct ostp_dir *d)
{
	ostp_aead_wipe(&d->aead);
	sodium_memzero(d, sizeof(*d));
}

/* iv = type | flags | 00 00 | nonce, nonce = 00 00 00 00 | counter (BE) */
static void build_iv(uint8_t iv[OSTP_IV_LEN], uint8_t type, uint8_t flags, uint64_t counter)
{
	memset(iv, 0, OSTP_IV_LEN);
	iv[OSTP_IV_TYPE] = type;
	iv[OSTP_IV_FLAGS] = flags;
	ostp_put64(iv + OSTP_IV_LEN - 8, counter);
}

/* AAD is iv || len, which sit next to each other only around the tag. */
static void build_aad(uint8_t aad[OSTP_AAD_LEN], const uint8_t *hdr)
{
	memcpy(aad, hdr, OSTP_IV_LEN);
	memcpy(aad + OSTP_IV_LEN, hdr + OSTP_IV_LEN + OSTP_TAG_LEN, 2);
}

int ostp_frame_seal(struct ostp_dir *d, uint8_t hdr[OSTP_FRAME_HDR_LEN],
		    uint8_t type, uint8_t flags, const uint8_t *pt, size_t len,
		    uint8_t *ct)
{
	uint8_t aad[OSTP_AAD_LEN];
	int err;

	if (len > OSTP_FRAME_PAYLOAD_MAX || (flags & OSTP_FLAG_RESERVED))
		return OSTP_E_LEN;
	/* A counter at its end must never wrap into reuse; the session rekeys
	 * long before, so reaching this is a bug, not traffic. */
	if (d->counter == UINT64_MAX)
		return OSTP_E_CRYPTO;
	build_iv(hdr, type, flags, d->counter);
	ostp_put16(hdr + OSTP_IV_LEN + OSTP_TAG_LEN, (uint16_t)len);
	build_aad(aad, hdr);
	err = ostp_aead_seal(&d->aead, hdr + OSTP_IV_NONCE, aad, sizeof(aad), pt, len, ct,
			     hdr + OSTP_IV_LEN);
	if (err)
		return err;
	d->counter++;
	d->since_rekey++;
	return OSTP_OK;
}

int ostp_frame_parse_hdr(const struct ostp_dir *d, const uint8_t *hdr,
			 struct ostp_frame_hdr *out)
{
	uint64_t counter;
	uint16_t len;

	if (hdr[2] | hdr[3] | hdr[4] | hdr[5] | hdr[6] | hdr[7])
		return OSTP_E_RESERVED;
	if (hdr[OSTP_IV_FLAGS] & OSTP_FLAG_RESERVED)
		return OSTP_E_RESERVED;
	len = ostp_get16(hdr + OSTP_IV_LEN + OSTP_TAG_LEN);
	if (len > OSTP_FRAME_PAYLOAD_MAX)
		return OSTP_E_LEN;
	counter = ostp_get64(hdr + OSTP_IV_LEN - 8);
	if (counter < d->counter)
		return OSTP_E_REPLAY;
	if (counter > d->counter)
		return OSTP_E_SKIP;
	out->type = hdr[OSTP_IV_TYPE];
	out->flags = hdr[OSTP_IV_FLAGS];
	out->len = len;
	return OSTP_OK;
}

int ostp_frame_open(struct ostp_dir *d, const uint8_t *hdr, const uint8_t *ct,
		    size_t len, uint8_t *pt)
{
	uint8_t aad[OSTP_AAD_LEN];
	int err;

	build_aad(aad, hdr);
	err = ostp_aead_open(&d->aead, hdr + OSTP_IV_NONCE, aad, sizeof(aad), ct, len,
			     hdr + OSTP_IV_LEN, pt);
	if (err)
		return err;
	d->counter++;
	d->since_rekey++;
	return OSTP_OK;
}
