/* SPDX-License-Identifier: ISC */
/*
 * Password hashes for user authentication: Argon2id through libsodium's
 * crypto_pwhash_str, at the "interactive" cost so a handshake stays fast.
 */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "ostp.h"
#include "wire.h"

#define PW_HASH_LEN   128u
#define ARGON2ID_PFX  "$argon2id$"

_Static_assert(crypto_pwhash_STRBYTES == PW_HASH_LEN,
	       "ostp_pw_hash() writes into char[128]");

/* The one piece of shared state: a hash to verify against when there is no
 * real one, so that an unknown user costs as much time as a wrong password.
 * It is written once under pthread_once and only read afterwards. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PW_HASH_LEN];
static bool dummy_ok;

static bool is_argon2id(const char *hash)
{
	/* The bound keeps a hash that lacks its NUL from being over-read. */
	return strnlen(hash, PW_HASH_LEN) < PW_HASH_LEN &&
	       strncmp(hash, ARGON2ID_PFX, sizeof(ARGON2ID_PFX) - 1) == 0;
}

static int hash_str(char out[PW_HASH_LEN], const char *pw, size_t pw_len)
{
	if (crypto_pwhash_str(out, pw, pw_len,
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return OSTP_E_NOMEM;
	if (!is_argon2id(out)) {
		sodium_memzero(out, PW_HASH_LEN);
		return OSTP_E_CRYPTO;
	}
	return OSTP_OK;
}

static void dummy_init(void)
{
	/* A random password nobody knows: the dummy can never verify. */
	unsigned char pw[32];

	if (sodium_init() < 0)
		return;
	randombytes_buf(pw, sizeof(pw));
	dummy_ok = hash_str(dummy_hash, (const char *)pw, sizeof(pw)) == OSTP_OK;
	sodium_memzero(pw, sizeof(pw));
}

int ostp_pw_hash(char out[128], const char *pw, size_t pw_len)
{
	if (out == NULL || (pw == NULL && pw_len > 0))
		return OSTP_E_INVAL;
	if (pw_len > OSTP_PASS_MAX)
		return OSTP_E_PASS;
	if (sodium_init() < 0)
		return OSTP_E_CRYPTO;
	return hash_str(out, pw ? pw : "", pw_len);
}

static void burn_dummy(const char *pw, size_t pw_len)
{
	int rc = -1;

	pthread_once(&dummy_once, dummy_init);
	if (dummy_ok)
		rc = crypto_pwhash_str_verify(dummy_hash, pw, pw_len);
	/* The outcome is meaningless: only the time spent matters. */
	(void)rc;
}

bool ostp_pw_verify(const char *hash, const char *pw, size_t pw_len)
{
	if (pw_len > OSTP_PASS_MAX || (pw == NULL && pw_len > 0))
		return false;
	if (sodium_init() < 0)
		return false;
	if (pw == NULL)
		pw = "";
	if (hash == NULL || !is_argon2id(hash)) {
		burn_dummy(pw, pw_len);
		return false;
	}
	return crypto_pwhash_str_verify(hash, pw, pw_len) == 0;
}
