/* SPDX-License-Identifier: ISC */
/*
 * ostpctl genkey FILE / ostpctl pubkey [FILE]: identity keys as
 * `wg genkey` / `wg pubkey` handle them, in the format ostpd reads
 * (identity.h).  Neither needs root nor a daemon.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "ctl.h"
#include "identity.h"

/* A key line is 44 characters; the slack allows blanks and a CRLF. */
#define KEY_INPUT_MAX 256

static int print_key(const uint8_t pk[32])
{
	char b64[IDENTITY_B64_LEN];

	key_to_base64(b64, pk);
	printf("%s\n", b64);
	return fflush(stdout) == 0 ? 0 : EXIT_FAIL;
}

int cmd_genkey(int argc, char **argv)
{
	uint8_t pk[32];
	char err[512];

	/* No FILE, no key on stdout: a private key printed to a terminal
	 * or a log is a leaked key.  identity_generate never overwrites. */
	if (argc != 2)
		return ctl_usage_error("genkey");
	if (identity_generate(argv[1], pk, err, sizeof(err)) < 0) {
		ctl_err("genkey", err);
		return EXIT_FAIL;
	}
	return print_key(pk);
}

/* The seed as base64 on stdin, as `wg pubkey` reads a private key. */
static int pubkey_stdin(uint8_t pk[32])
{
	char buf[KEY_INPUT_MAX + 1];
	uint8_t seed[32], sk[64];
	size_t used = 0;
	ssize_t n;
	int rc = -1;

	while (used < sizeof(buf) - 1 &&
	       (n = read(STDIN_FILENO, buf + used, sizeof(buf) - 1 - used)) != 0) {
		if (n < 0)
			goto out;
		used += (size_t)n;
	}
	buf[used] = '\0';
	/* A NUL inside would hide the rest of the input from the parser. */
	if (used < sizeof(buf) - 1 && memchr(buf, '\0', used) == NULL &&
	    key_from_base64(seed, buf) == 0) {
		crypto_sign_ed25519_seed_keypair(pk, sk, seed);
		rc = 0;
	}
out:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

int cmd_pubkey(int argc, char **argv)
{
	uint8_t pk[32], sk[64];
	char err[512];
	int rc;

	if (argc > 2)
		return ctl_usage_error("pubkey");
	if (sodium_init() < 0) {
		ctl_err("pubkey", "libsodium failed to initialise");
		return EXIT_FAIL;
	}
	if (argc == 1 || strcmp(argv[1], "-") == 0) {
		if (pubkey_stdin(pk) < 0) {
			ctl_err("pubkey", "standard input is not one base64 32-byte key");
			return EXIT_FAIL;
		}
		return print_key(pk);
	}
	rc = identity_load(argv[1], pk, sk, err, sizeof(err));
	sodium_memzero(sk, sizeof(sk));
	if (rc < 0) {
		ctl_err("pubkey", err);
		return EXIT_FAIL;
	}
	return print_key(pk);
}
