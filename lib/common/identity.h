/* SPDX-License-Identifier: ISC */
/*
 * Keys as text, and identity key files.  Every 32-byte key ostp writes or
 * reads (identity seeds, public keys in ostpd.conf, known_hosts, ostpctl's
 * arguments and output) is the base64 (standard alphabet, padded) of its
 * bytes, as `wg genkey` writes a key; the functions here are the only
 * encoder and decoder.  An identity key file is one such line holding the
 * Ed25519 seed.
 */
#ifndef OSTP_COMMON_IDENTITY_H
#define OSTP_COMMON_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define IDENTITY_B64_LEN 45   /* 44 characters + NUL */

/* Loads the key; refuses (with a message) a file readable by group or
 * others.  0, or -errno with a message in err: the open's or read's own
 * error (-ENOENT, ...), -EINVAL for anything but a regular file or for
 * contents that are not one key, -EACCES for a file readable by others,
 * -EFBIG for one too long to be a key.  sk is wiped by the caller. */
int identity_load(const char *path, uint8_t pk[32], uint8_t sk[64], char *err, size_t errlen);
/* Creates a new key file with mode 0600 (fails with -EEXIST if it
 * exists).  0, or -errno with a message in err (-EIO when libsodium cannot
 * initialise). */
int identity_generate(const char *path, uint8_t pk[32], char *err, size_t errlen);
void key_to_base64(char out[IDENTITY_B64_LEN], const uint8_t key[32]);
/* s[0, n) is exactly one key: 44 characters, nothing around them, and the
 * canonical spelling (the decoder refuses non-zero bits after the last
 * byte).  0, or -EINVAL.  Says nothing about the key being a valid curve
 * point: ed25519_pubkey_valid() (keycheck.h) does. */
int key_decode(uint8_t key[32], const char *s, size_t n);
/* key_decode() of text with surrounding whitespace (a key file's line and
 * its newline, a pasted argument).  0, or -EINVAL (also for NULL). */
int key_from_base64(uint8_t key[32], const char *text);

#endif
