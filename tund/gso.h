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

#define VNET_HDR_LEN 10u

/* struct virtio_net_hdr, host byte order */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

#define VNET_F_NEEDS_CSUM 1u
#define VNET_GSO_NONE     0u
#define VNET_GSO_TCPV4    1u
#define VNET_GSO_TCPV6    4u
#define VNET_GSO_ECN      0x80u
/* smallest segment size accepted from a peer (IPv4's minimum MSS is 536) */
#define GSO_SIZE_MIN      512u

void vnet_hdr_read_host(struct vnet_hdr *h, const uint8_t *p);
void vnet_hdr_write_host(uint8_t *p, const struct vnet_hdr *h);
/* The wire form inside DATA_GSO is big-endian (docs/PROTOCOL.md). */
void vnet_hdr_read_wire(struct vnet_hdr *h, const uint8_t *p);
void vnet_hdr_write_wire(uint8_t *p, const struct vnet_hdr *h);

/* A header received from a peer describes pkt[len] consistently: known
 * flags and GSO type, offsets inside the packet, an IP version that
 * matches the GSO type.  Never trust a peer's hdr_len or csum_start. */
bool vnet_hdr_valid(const struct vnet_hdr *h, const uint8_t *pkt, size_t len);

/* Cut pkt (described by h, from our own TUN) into packets of at most
 * gso_size payload each with complete checksums, calling emit for each.
 * scratch must hold 65535 bytes.  Returns the number of packets, or -1 for
 * a packet it cannot handle (dropped and counted by the caller). */
typedef void (*gso_emit_fn)(void *ctx, const uint8_t *pkt, size_t len);
int gso_segment(const struct vnet_hdr *h, const uint8_t *pkt, size_t len,
		uint8_t *scratch, gso_emit_fn emit, void *ctx);

/* Internet checksum helpers, exposed for tests. */
uint16_t inet_csum(const uint8_t *p, size_t len, uint32_t sum);

#endif
