/* SPDX-License-Identifier: ISC */
/*
 * Talking to a running ostpd over its control socket (docs/CONTROL.md):
 * one connection per request, messages built and parsed with libmnl.
 */
#ifndef OSTPCTL_CTLCLIENT_H
#define OSTPCTL_CTLCLIENT_H

#include <libmnl/libmnl.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_proto.h"

/* Called once per reply message (each part of a multipart reply);
 * tb[] holds the validated attributes, NULL where absent. */
typedef int (*ctl_reply_fn)(const struct nlattr *tb[OSTP_CTLA_MAX + 1], void *ctx);

/* Request attributes are added by this callback (may be NULL). */
typedef void (*ctl_build_fn)(struct nlmsghdr *nlh, void *ctx);

/* Sends cmd to the daemon whose socket is control_dir/ifname.sock.
 * Returns 0, or a negative errno: -ENOENT/-ECONNREFUSED when the daemon
 * is not running, or the daemon's error, whose message (if any) is copied
 * to msg. */
int ctl_request(const char *control_dir, const char *ifname, uint16_t cmd,
		ctl_build_fn build, void *build_ctx, ctl_reply_fn reply, void *reply_ctx,
		char *msg, size_t msglen);

#endif
