/* SPDX-License-Identifier: ISC */
/*
 * MESH_LIST (docs/CONTROL.md 3.7) as plain structures for show and dump:
 * one entry per other member of the mesh the daemon belongs to.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctlclient.h"

struct member_list {
	struct ctl_member *v;
	size_t n, cap;
};

static void copy_str(char *dst, size_t size, const struct nlattr *a)
{
	if (a)
		snprintf(dst, size, "%s", mnl_attr_get_str(a));
}

static uint64_t u64_or0(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

static uint32_t u32_or0(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

static int member_cb(const struct nlattr *tb[OSTP_CTLA_MAX + 1], void *ctx)
{
	struct member_list *l = ctx;
	struct ctl_member *m;

	/* a member without its name is of no use to anyone reading this */
	if (!tb[OSTP_CTLA_PEER_NAME])
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ctl_member *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	m = &l->v[l->n++];
	memset(m, 0, sizeof(*m));
	copy_str(m->name, sizeof(m->name), tb[OSTP_CTLA_PEER_NAME]);
	if ((m->have_key = tb[OSTP_CTLA_PUBKEY] != NULL))
		memcpy(m->key, mnl_attr_get_payload(tb[OSTP_CTLA_PUBKEY]), 32);
	copy_str(m->prefixes, sizeof(m->prefixes), tb[OSTP_CTLA_ALLOWED]);
	m->path = tb[OSTP_CTLA_PATH] ? mnl_attr_get_u8(tb[OSTP_CTLA_PATH]) : CTL_PATH_DOWN;
	copy_str(m->endpoint, sizeof(m->endpoint), tb[OSTP_CTLA_ENDPOINT]);
	copy_str(m->listens, sizeof(m->listens), tb[OSTP_CTLA_LISTENS]);
	m->dialer = tb[OSTP_CTLA_DIALER] && mnl_attr_get_u8(tb[OSTP_CTLA_DIALER]);
	m->link_age_ms = u64_or0(tb[OSTP_CTLA_LINK_AGE_MS]);
	m->handshake_ms = u64_or0(tb[OSTP_CTLA_HANDSHAKE_AGO_MS]);
	m->rtt_us = u32_or0(tb[OSTP_CTLA_RTT_US]);
	m->rx_bytes = u64_or0(tb[OSTP_CTLA_RX_BYTES]);
	m->tx_bytes = u64_or0(tb[OSTP_CTLA_TX_BYTES]);
	m->drop_source = u64_or0(tb[OSTP_CTLA_DROP_SOURCE]);
	m->failovers = u32_or0(tb[OSTP_CTLA_FAILOVERS]);
	copy_str(m->last_error, sizeof(m->last_error), tb[OSTP_CTLA_LAST_ERROR]);
	return 0;
}

int ctl_get_members(const char *dir, const char *ifname,
		    struct ctl_member **out, size_t *n, char *msg, size_t msglen)
{
	struct member_list l = { 0 };
	int err = ctl_request(dir, ifname, OSTP_CTL_MESH_LIST, NULL, NULL,
			      member_cb, &l, msg, msglen);

	if (err < 0) {
		free(l.v);
		l.v = NULL;
		l.n = 0;
	}
	*out = l.v;
	*n = l.n;
	return err;
}

const char *ctl_path_name(uint8_t path)
{
	switch (path) {
	case CTL_PATH_DOWN: return "down";
	case CTL_PATH_RELAY: return "relay";
	case CTL_PATH_DIRECT: return "direct";
	}
	return "unknown";
}
