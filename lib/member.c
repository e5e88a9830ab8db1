/* SPDX-License-Identifier: ISC */
/*
 * MEMBER records (docs/PROTOCOL.md 2.5.13): the OCS tells a member about the
 * other members, a member tells the OCS where it accepts mesh links.  The
 * codec is in wire.c; this is what only a session knows: the seq of each
 * direction, which ops each side may send, and whether the initial list is
 * complete yet.
 */
#include <string.h>

#include "session.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool op_known(uint8_t op)
{
	return op >= OSTP_MEMBER_UPSERT && op <= OSTP_MEMBER_ANNOUNCE;
}

/* Only a client announces, only a server tells about the list. */
static bool op_for_sender(enum ostp_role sender, uint8_t op)
{
	return sender == OSTP_ROLE_CLIENT ? op == OSTP_MEMBER_ANNOUNCE : op != OSTP_MEMBER_ANNOUNCE;
}

/* The list state of the direction server to client: no REMOVE before the
 * initial list is complete (there is nothing to remove from yet), and one
 * SYNCED only. */
static bool op_fits_list(bool synced, uint8_t op)
{
	if (op == OSTP_MEMBER_REMOVE)
		return synced;
	if (op == OSTP_MEMBER_SYNCED)
		return !synced;
	return true;
}

static bool *synced_flag(ostp_session *s)
{
	return s->role == OSTP_ROLE_CLIENT ? &s->u.c.members_synced : &s->u.s.members_synced;
}

/* The caller (client.c, server.c) has made the state checks: established,
 * MESH agreed, and on a server a proven client key. */
int ostp_member_on_msg(ostp_session *s, const uint8_t *p, size_t len, struct ostp_event *ev)
{
	bool client = s->role == OSTP_ROLE_CLIENT;
	uint8_t op;
	int err;

	if (len < OSTP_MEMBER_MIN_LEN)
		return ostp_fail(s, OSTP_E_LEN, ev);
	/* seq never wraps: after 2^32 - 1 records no further one fits */
	if (s->member_rx >= UINT32_MAX || get32(p) != s->member_rx + 1)
		return ostp_fail(s, OSTP_E_SEQ, ev);
	op = p[OSTP_MEMBER_OFF_OP];
	if (!op_known(op))
		return ostp_fail(s, OSTP_E_TYPE, ev);
	if (!op_for_sender(client ? OSTP_ROLE_SERVER : OSTP_ROLE_CLIENT, op) ||
	    (client && !op_fits_list(s->u.c.members_synced, op)))
		return ostp_fail(s, OSTP_E_STATE, ev);
	err = ostp_member_decode(&s->member, p, len);
	if (err)
		return ostp_fail(s, ostp_body_err(err), ev);
	/* a member speaks only for the key it proved */
	if (!client && sodium_memcmp(s->member.id_pk, s->u.s.client_pk, OSTP_ID_PK_LEN) != 0)
		return ostp_fail(s, OSTP_E_PEER, ev);
	s->member_rx++;
	if (op == OSTP_MEMBER_SYNCED)
		*synced_flag(s) = true;
	ev->type = OSTP_EV_MEMBER;
	ev->member = &s->member;
	return OSTP_OK;
}

int ostp_send_member(ostp_session *s, const struct ostp_member *m)
{
	bool client = s->role == OSTP_ROLE_CLIENT;
	uint8_t buf[OSTP_MEMBER_MAX_LEN];
	struct ostp_member tmp;
	size_t n;
	int err;

	if (s->state == ST_CLOSED)
		return OSTP_E_CLOSED;
	if (!m)
		return OSTP_E_INVAL;
	if (s->state != ST_ESTABLISHED || !(s->spw & OSTP_SPW_MESH))
		return OSTP_E_STATE;
	if (!op_known(m->op))
		return OSTP_E_TYPE;
	if (!op_for_sender(s->role, m->op) || (!client && !op_fits_list(*synced_flag(s), m->op)))
		return OSTP_E_STATE;
	if (client) {
		/* only a proven key can be announced, and only that one */
		if (!(s->options & OSTP_OPT_I))
			return OSTP_E_STATE;
		if (sodium_memcmp(m->id_pk, s->u.c.identity_pk, OSTP_ID_PK_LEN) != 0)
			return OSTP_E_INVAL;
	}
	if (s->member_tx >= UINT32_MAX)
		return OSTP_E_STATE;
	tmp = *m;
	tmp.seq = (uint32_t)(s->member_tx + 1);
	err = ostp_member_encode(buf, sizeof(buf), &n, &tmp);
	if (err)
		return err;
	err = ostp_queue_msg(s, OSTP_MSG_MEMBER, buf, n);
	if (err)
		return err;
	s->member_tx++;
	if (m->op == OSTP_MEMBER_SYNCED)
		*synced_flag(s) = true;
	return OSTP_OK;
}
