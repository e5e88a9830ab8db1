/* SPDX-License-Identifier: ISC */
#include <errno.h>

#include "fwd.h"
#include "link.h"
#include "ptable.h"

const struct fwd_policy fwd_policy_member = {
	.check_source = true, .lookup_dest = true, .may_relay = false,
};
const struct fwd_policy fwd_policy_member_relay = {
	.check_source = true, .lookup_dest = true, .may_relay = true,
};
const struct fwd_policy fwd_policy_mesh = {
	.check_source = true, .lookup_dest = false, .may_relay = false,
};
const struct fwd_policy fwd_policy_upstream = {
	.check_source = false, .lookup_dest = false, .may_relay = false,
};

int fwd_init(struct fwd *f)
{
	f->fallback = NULL;
	return ptable_new(&f->table);
}

void fwd_free(struct fwd *f)
{
	ptable_free(f->table);
	f->table = NULL;
}

bool packet_addrs(const uint8_t *pkt, size_t len, int *family,
		  const uint8_t **src, const uint8_t **dst)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		*family = AF_INET;
		*src = pkt + 12;
		*dst = pkt + 16;
		return true;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		*family = AF_INET6;
		*src = pkt + 8;
		*dst = pkt + 24;
		return true;
	}
	return false;
}

int fwd_add(struct fwd *f, const struct prefix *p, struct link *k)
{
	return ptable_insert(f->table, p->family, p->addr, p->len, k);
}

int fwd_del(struct fwd *f, const struct prefix *p, struct link *k)
{
	return ptable_remove(f->table, p->family, p->addr, p->len, k);
}

void fwd_forget(struct fwd *f, struct link *k)
{
	ptable_remove_owner(f->table, k);
	if (f->fallback == k)
		f->fallback = NULL;
}

struct link *fwd_owner(const struct fwd *f, int family, const uint8_t *addr)
{
	return ptable_lookup(f->table, family, addr);
}

static bool usable(const struct link *k)
{
	return k && link_up(k) && !k->standby;
}

struct fwd_decision fwd_from_tun(const struct fwd *f, const uint8_t *pkt, size_t len)
{
	const uint8_t *src, *dst;
	struct link *to;
	int family;

	if (!packet_addrs(pkt, len, &family, &src, &dst))
		return (struct fwd_decision){ FWD_DROP_MALFORMED, NULL };
	to = fwd_owner(f, family, dst);
	if (!usable(to))
		to = f->fallback;
	if (!usable(to))
		return (struct fwd_decision){ FWD_DROP_NOROUTE, NULL };
	return (struct fwd_decision){ FWD_TO_LINK, to };
}

struct fwd_decision fwd_from_link(const struct fwd *f, const struct link *from,
				  const uint8_t *pkt, size_t len)
{
	const struct fwd_policy *pol = from->policy;
	const uint8_t *src, *dst;
	struct link *to;
	int family;

	if (!packet_addrs(pkt, len, &family, &src, &dst))
		return (struct fwd_decision){ FWD_DROP_MALFORMED, NULL };
	if (!pol || (pol->check_source && fwd_owner(f, family, src) != from))
		return (struct fwd_decision){ FWD_DROP_SOURCE, NULL };
	if (!pol->lookup_dest)
		return (struct fwd_decision){ FWD_TO_TUN, NULL };
	to = fwd_owner(f, family, dst);
	if (!usable(to) || to == from)
		return (struct fwd_decision){ FWD_TO_TUN, NULL };
	/* reaching other members is the RELAY permission (SPW bit 4) */
	if (!pol->may_relay)
		return (struct fwd_decision){ FWD_DROP_NORELAY, NULL };
	return (struct fwd_decision){ FWD_TO_LINK, to };
}
