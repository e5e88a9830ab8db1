/* SPDX-License-Identifier: ISC */
/* The TUN device: every ioctl on /dev/net/tun lives in tun.c. */
#ifndef OSTPD_TUN_H
#define OSTPD_TUN_H

#include <net/if.h>
#include <stdbool.h>

#include "ostp.h"

/* Size of the virtio-net header prefixed to every packet with vnet_hdr. */

/* Opens a layer-3 TUN without packet information, non-blocking and
 * close-on-exec.  ifname is the wanted name ("" or a pattern such as
 * "ostp%d" lets the kernel choose) and receives the actual one.
 * With vnet_hdr, each packet carries a OSTP_VNET_HDR_LEN header and the
 * kernel may hand over TCP (and, when the kernel supports USO, UDP)
 * super-packets with checksums left to finish.
 * Returns the fd, or -errno. */
int tun_open(char ifname[IFNAMSIZ], bool vnet_hdr);

/* A persistent device outlives its fd; ostpd clears the flag so a crash
 * does not leave a stale interface.  Returns 0 or -errno. */
int tun_set_persist(int fd, bool persist);

#endif
