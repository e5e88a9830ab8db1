/* SPDX-License-Identifier: ISC */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Debian 12's kernel headers predate UDP segmentation offload for TUN
 * (Linux 6.2); the values are ABI, so the running kernel understands them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

static int setup_vnet(int fd)
{
	int hdrsz = OSTP_VNET_HDR_LEN;
	unsigned base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) < 0)
		return errno;
	/* TCP only: UDP segmentation (USO) would need a second segmenter for
	 * peers without GSO, for a gain that TCP-carried traffic rarely sees. */
	if (ioctl(fd, TUNSETOFFLOAD, base) < 0)
		return errno;
	return 0;
}

int tun_open(char ifname[IFNAMSIZ], bool vnet_hdr)
{
	struct ifreq ifr;
	int fd, e;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	/* ifname may be unterminated when it fills IFNAMSIZ. */
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);

	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		goto fail;
	}
	if (vnet_hdr && (e = setup_vnet(fd)) != 0)
		goto fail;

	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	return fd;

fail:
	close(fd);
	return -e;
}

int tun_set_persist(int fd, bool persist)
{
	if (ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) < 0)
		return -errno;
	return 0;
}
