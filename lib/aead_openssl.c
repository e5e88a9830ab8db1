/* SPDX-License-Identifier: ISC */
/*
 * The OpenSSL engine of lib/aead.h (make AEAD=openssl, the default):
 * OpenSSL 3's libcrypto, used for nothing but sealing and opening frames.
 *
 * One EVP_CIPHER_CTX per direction, allocated at the first key and kept
 * across rekeys: the cipher and the 12-byte IV length are set once, the key
 * once per key, and a frame only sets its IV, so no frame allocates.  The
 * same context seals or opens (GCM expands the key the same way for both);
 * each frame says which.
 */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "aead.h"
#include "ostp.h"

const char *ostp_aead_engine(void)
{
	return "openssl";
}

int ostp_aead_check(void)
{
	/* The first fetch loads OpenSSL's configuration file and default
	 * provider: do it here, at start-up, not inside a handshake (and not
	 * after the daemon has dropped privileges). */
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);

	if (!c) {
		ERR_clear_error();
		return OSTP_E_CRYPTO;
	}
	EVP_CIPHER_free(c);
	return OSTP_OK;
}

int ostp_aead_init(struct ostp_aead *a, const uint8_t key[OSTP_AEAD_KEY_LEN])
{
	EVP_CIPHER_CTX *c = a->u.openssl;

	if (!c) {
		c = EVP_CIPHER_CTX_new();
		if (!c)
			return OSTP_E_NOMEM;
		a->u.openssl = c;
		if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, 1) != 1 ||
		    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)OSTP_AEAD_IV_LEN,
					NULL) != 1)
			goto fail;
	}
	/* -1: keep the direction; the key schedule is replaced in place */
	if (EVP_CipherInit_ex(c, NULL, NULL, key, NULL, -1) != 1)
		goto fail;
	return OSTP_OK;
fail:
	ERR_clear_error();
	ostp_aead_wipe(a);
	return OSTP_E_CRYPTO;
}

int ostp_aead_seal(struct ostp_aead *a, const uint8_t iv[OSTP_AEAD_IV_LEN],
		   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		   uint8_t *ct, uint8_t tag[OSTP_AEAD_TAG_LEN])
{
	EVP_CIPHER_CTX *c = a->u.openssl;
	uint8_t none[16];   /* GCM's final step writes nothing; somewhere valid */
	int n;

	if (len > INT_MAX || aad_len > INT_MAX)
		return OSTP_E_LEN;
	if (!c)
		return OSTP_E_CRYPTO;   /* no key installed: a caller's bug */
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, 1) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
	    (len && EVP_CipherUpdate(c, ct, &n, pt, (int)len) != 1) ||
	    EVP_CipherFinal_ex(c, none, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)OSTP_AEAD_TAG_LEN, tag) != 1) {
		ERR_clear_error();
		return OSTP_E_CRYPTO;
	}
	return OSTP_OK;
}

int ostp_aead_open(struct ostp_aead *a, const uint8_t iv[OSTP_AEAD_IV_LEN],
		   const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		   const uint8_t tag[OSTP_AEAD_TAG_LEN], uint8_t *pt)
{
	EVP_CIPHER_CTX *c = a->u.openssl;
	uint8_t none[16];
	int n, err = OSTP_E_CRYPTO;

	if (len > INT_MAX || aad_len > INT_MAX)
		return OSTP_E_LEN;
	if (!c)
		return OSTP_E_CRYPTO;
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)OSTP_AEAD_TAG_LEN,
				(void *)tag) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
	    (len && EVP_CipherUpdate(c, pt, &n, ct, (int)len) != 1))
		goto fail;
	/* the tag is compared only here, after pt was written */
	if (EVP_CipherFinal_ex(c, none, &n) != 1) {
		err = OSTP_E_TAG;
		goto fail;
	}
	return OSTP_OK;
fail:
	ERR_clear_error();
	if (len)
		sodium_memzero(pt, len);
	return err;
}

void ostp_aead_wipe(struct ostp_aead *a)
{
	/* EVP_CIPHER_CTX_free cleanses the key schedule before freeing it */
	EVP_CIPHER_CTX_free(a->u.openssl);
	sodium_memzero(a, sizeof(*a));
}
