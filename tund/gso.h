/* SPDX-License-Identifier: ISC */
/*
 * Generic segmentation offload between the TUN device and OSTP.  With
 * IFF_VNET_HDR the kernel hands us one large TCP packet (up to 64 KiB)
 * with a virtio-net header; a peer that agreed on the SPW GSO bit gets it
 * whole as one DATA_GSO message, any other peer gets it cut into ordinary
 * packets here, with checksums completed.
 */
#ifndef OSTPD_GSO_H
#define OSTPD_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ostp.h"

/* The kernel's virtio-net header on a TUN is in the host's byte order
 * (DATA_GSO's wire form is ostp_vnet_hdr_decode/encode in ostp.h). */
void vnet_hdr_read_host(struct ostp_vnet_hdr *h, const uint8_t *p);
void vnet_hdr_write_host(uint8_t *p, const struct ostp_vnet_hdr *h);

/* Cut pkt (described by h, from our own TUN) into packets of at most
 * gso_size payload each with complete checksums, calling emit for each.
 * scratch must hold 65535 bytes.  Returns the number of packets, or
 * -EINVAL for a packet it cannot handle (dropped and counted by the
 * caller). */
typedef void (*gso_emit_fn)(void *ctx, const uint8_t *pkt, size_t len);
int gso_segment(const struct ostp_vnet_hdr *h, const uint8_t *pkt, size_t len,
		uint8_t *scratch, gso_emit_fn emit, void *ctx);

/* Internet checksum helpers, exposed for tests. */
uint16_t inet_csum(const uint8_t *p, size_t len, uint32_t sum);

#endif
