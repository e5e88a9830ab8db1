/* SPDX-License-Identifier: ISC */
#include "keycheck.h"

#include <sodium.h>

bool ed25519_pubkey_valid(const uint8_t key[32])
{
	return crypto_core_ed25519_is_valid_point(key) == 1;
}
