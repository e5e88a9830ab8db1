/* SPDX-License-Identifier: ISC */
/*
 * Identity key files: one line, the base64 (standard alphabet, padded) of
 * the 32-byte Ed25519 seed, as `wg genkey` writes a key.  Public keys are
 * printed the same way.
 */
#ifndef OSTPD_IDENTITY_H
#define OSTPD_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define IDENTITY_B64_LEN 45   /* 44 characters + NUL */

/* Loads the key; refuses (with a message) a file readable by group or
 * others.  0 or -1 with a message in err. sk is wiped by the caller. */
int identity_load(const char *path, uint8_t pk[32], uint8_t sk[64], char *err, size_t errlen);
/* Creates a new key file with mode 0600 (fails if it exists). */
int identity_generate(const char *path, uint8_t pk[32], char *err, size_t errlen);
void key_to_base64(char out[IDENTITY_B64_LEN], const uint8_t key[32]);
/* 0 when text is exactly one base64 32-byte key (surrounding blanks ok). */
int key_from_base64(uint8_t key[32], const char *text);

#endif
