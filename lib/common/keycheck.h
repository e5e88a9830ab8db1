/* SPDX-License-Identifier: ISC */
/*
 * The one check of a peer's or server's Ed25519 public key, shared by
 * ostpd.conf (config.c), the control socket's PEER_ADD (tund/ctlreq.c) and
 * ostpctl's command line (ctl/cmd_peer.c), so no path accepts a key
 * another refuses.
 */
#ifndef OSTP_COMMON_KEYCHECK_H
#define OSTP_COMMON_KEYCHECK_H

#include <stdbool.h>
#include <stdint.h>

/* A canonical encoding of a point on the curve that is not of small
 * order: refuses the all-zero key, the identity and every other key no
 * honest key generator produces.  Needs no sodium_init(). */
bool ed25519_pubkey_valid(const uint8_t key[32]);

#endif
