/* SPDX-License-Identifier: ISC */
/*
 * The libsodium engine of lib/aead.h (make AEAD=sodium): the expanded key
 * is computed once per key by crypto_aead_aes256gcm_beforenm and kept in
 * place; each frame uses the precomputed ("afternm") detached calls.
 */
#include "aead.h"
#include "ostp.h"

const char *ostp_aead_engine(void)
{
	return "libsodium";
}

int ostp_aead_check(void)
{
	/* sizes the frames rely on, checked at run time as tomsg advises: a
	 * different build must fail loudly, not silently */
	if (crypto_aead_aes256gcm_KEYBYTES != OSTP_AEAD_KEY_LEN ||
	    crypto_aead_aes256gcm_NPUBBYTES != OSTP_AEAD_IV_LEN ||
	    crypto_aead_aes256gcm_ABYTES != OSTP_AEAD_TAG_LEN)
		return OSTP_E_CRYPTO;
	if (!crypto_aead_aes256gcm_is_available())
		return OSTP_E_NOAES;
	return OSTP_OK;
}

int ostp_aead_init(struct ostp_aead *a, const uint8_t key[OSTP_AEAD_KEY_LEN])
{
	/* cannot fail once ostp_aead_check() passed */
	crypto_aead_aes256gcm_beforenm(&a->u.sodium, key);
	return OSTP_OK;
}

int ostp_aead_seal(struct ostp_aead *a, const uint8_t iv[OSTP_AEAD_IV_LEN],
		   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		   uint8_t *ct, uint8_t tag[OSTP_AEAD_TAG_LEN])
{
	/* far above any frame; checked because libsodium would abort */
	if (len > crypto_aead_aes256gcm_MESSAGEBYTES_MAX)
		return OSTP_E_LEN;
	crypto_aead_aes256gcm_encrypt_detached_afternm(ct, tag, NULL, pt, len, aad, aad_len,
						       NULL, iv, &a->u.sodium);
	return OSTP_OK;
}

int ostp_aead_open(struct ostp_aead *a, const uint8_t iv[OSTP_AEAD_IV_LEN],
		   const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		   const uint8_t tag[OSTP_AEAD_TAG_LEN], uint8_t *pt)
{
	if (len > crypto_aead_aes256gcm_MESSAGEBYTES_MAX)
		return OSTP_E_LEN;
	if (crypto_aead_aes256gcm_decrypt_detached_afternm(pt, NULL, ct, len, tag, aad, aad_len,
							   iv, &a->u.sodium) != 0) {
		/* libsodium 1.0.18 already clears it; the contract does not
		 * depend on that */
		if (len)
			sodium_memzero(pt, len);
		return OSTP_E_TAG;
	}
	return OSTP_OK;
}

void ostp_aead_wipe(struct ostp_aead *a)
{
	sodium_memzero(a, sizeof(*a));
}
