/* SPDX-License-Identifier: ISC */
#include "ctlreq.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdio.h>
#include <string.h>

#include "keycheck.h"

#define MALFORMED "malformed attribute (each must fit in the request; strings NUL-terminated, at most 256 bytes; keys 32 bytes)"

struct attrs {
	const struct nlattr *tb[OSTP_CTLA_MAX + 1];
	const uint8_t *end;              /* nlmsg_len bytes after the header's start */
	size_t used;                     /* bytes of attributes seen, with padding */
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	/* libmnl lets the last attribute reach into the alignment padding
	 * after nlmsg_len; a request's attributes end where it says. */
	if ((const uint8_t *)attr + attr->nla_len > a->end)
		return MNL_CB_ERROR;
	a->used += MNL_ALIGN(attr->nla_len);
	if (mnl_attr_type_valid(attr, OSTP_CTLA_MAX) < 0)
		return MNL_CB_OK;   /* unknown attributes from a newer ostpctl */
	switch (type) {
	case OSTP_CTLA_USER:
	case OSTP_CTLA_PREFIX:
	case OSTP_CTLA_PEER_NAME:
	case OSTP_CTLA_ENDPOINT:
	case OSTP_CTLA_ALLOWED:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 ||
		    mnl_attr_get_payload_len(attr) > CTLREQ_STR_MAX)
			return MNL_CB_ERROR;
		break;
	case OSTP_CTLA_PUBKEY:
		if (mnl_attr_get_payload_len(attr) != 32)
			return MNL_CB_ERROR;
		break;
	default:
		return MNL_CB_OK;   /* requests carry no other attribute */
	}
	a->tb[type] = attr;
	return MNL_CB_OK;
}

/* "p1,p2": each a network prefix; "" is an empty list. */
static bool allowed_valid(const char *list)
{
	char copy[CTLREQ_STR_MAX], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", list);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct prefix p;

		if (!parse_prefix(tok, &p.family, p.addr, &p.len) || !prefix_is_network(&p))
			return false;
	}
	return true;
}

static enum ctlreq_err fail(struct ctlreq *req, enum ctlreq_err err, const char *why)
{
	req->why = why;
	return err;
}

/* A user or peer name attribute: copied when it is a valid name. */
static bool copy_name(char *dst, size_t size, const struct nlattr *a)
{
	const char *s = mnl_attr_get_str(a);
	size_t n = strlen(s);

	if (n >= size || !ostp_username_valid(s, n))
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

static bool needs(uint16_t cmd, int attr)
{
	switch (cmd) {
	case OSTP_CTL_CLOSE_USER: return attr == OSTP_CTLA_USER;
	case OSTP_CTL_ROUTE_ADD:
	case OSTP_CTL_ROUTE_DEL: return attr == OSTP_CTLA_PREFIX;
	case OSTP_CTL_PEER_ADD:
	case OSTP_CTL_PEER_DEL: return attr == OSTP_CTLA_PEER_NAME;
	}
	return false;
}

static enum ctlreq_err check_attrs(struct ctlreq *req, const struct attrs *a)
{
	const struct nlattr *const *tb = a->tb;
	uint16_t cmd = req->cmd;

	if (needs(cmd, OSTP_CTLA_USER) && !tb[OSTP_CTLA_USER])
		return fail(req, CTLREQ_E_MISSING, "a user name is required");
	if (needs(cmd, OSTP_CTLA_PREFIX) && !tb[OSTP_CTLA_PREFIX])
		return fail(req, CTLREQ_E_MISSING, "a prefix is required");
	if (needs(cmd, OSTP_CTLA_PEER_NAME) && !tb[OSTP_CTLA_PEER_NAME])
		return fail(req, CTLREQ_E_MISSING, "a peer name is required");
	if (cmd == OSTP_CTL_PEER_ADD && (!tb[OSTP_CTLA_ENDPOINT] || !tb[OSTP_CTLA_PUBKEY]))
		return fail(req, CTLREQ_E_MISSING, "a peer needs an endpoint and a key");

	/* Only what the command uses is looked at: a newer ostpctl may send
	 * more, and an attribute nobody reads cannot do harm. */
	switch (cmd) {
	case OSTP_CTL_CLOSE_USER:
	case OSTP_CTL_ROUTE_ADD:
	case OSTP_CTL_ROUTE_DEL:
		if (tb[OSTP_CTLA_USER]) {
			if (!copy_name(req->user, sizeof(req->user), tb[OSTP_CTLA_USER]))
				return fail(req, CTLREQ_E_VALUE, "bad user name");
			req->has_user = true;
		}
		if (cmd == OSTP_CTL_CLOSE_USER)
			break;
		if (!parse_prefix(mnl_attr_get_str(tb[OSTP_CTLA_PREFIX]), &req->prefix.family,
				  req->prefix.addr, &req->prefix.len) ||
		    !prefix_is_network(&req->prefix))
			return fail(req, CTLREQ_E_VALUE, "bad prefix");
		req->has_prefix = true;
		break;
	case OSTP_CTL_PEER_ADD:
	case OSTP_CTL_PEER_DEL:
		if (!copy_name(req->name, sizeof(req->name), tb[OSTP_CTLA_PEER_NAME]))
			return fail(req, CTLREQ_E_VALUE, "bad peer name");
		req->has_name = true;
		if (cmd == OSTP_CTL_PEER_DEL)
			break;
		if (!parse_endpoint(mnl_attr_get_str(tb[OSTP_CTLA_ENDPOINT]),
				    &req->endpoint.addr, &req->endpoint.len))
			return fail(req, CTLREQ_E_VALUE, "bad endpoint");
		req->has_endpoint = true;
		memcpy(req->key, mnl_attr_get_payload(tb[OSTP_CTLA_PUBKEY]), 32);
		if (!ed25519_pubkey_valid(req->key))
			return fail(req, CTLREQ_E_VALUE, "bad key: not a valid Ed25519 public key");
		req->has_key = true;
		if (tb[OSTP_CTLA_ALLOWED]) {
			const char *s = mnl_attr_get_str(tb[OSTP_CTLA_ALLOWED]);

			if (!allowed_valid(s))
				return fail(req, CTLREQ_E_VALUE, "bad allowed prefix");
			/* attr_cb bounded it to CTLREQ_STR_MAX bytes with the NUL */
			snprintf(req->allowed, sizeof(req->allowed), "%s", s);
			req->has_allowed = true;
		}
		break;
	}
	return CTLREQ_OK;
}

enum ctlreq_err ctlreq_parse(const void *buf, size_t len, struct ctlreq *req)
{
	/* A private copy: libmnl then cannot see a byte beyond nlmsg_len,
	 * whatever the caller's buffer held before, and the input need not
	 * be aligned. */
	_Alignas(struct nlmsghdr) uint8_t msg[CTLREQ_MAX];
	struct attrs a = { 0 };
	uint32_t nlmsg_len;

	memset(req, 0, sizeof(*req));
	if (len < sizeof(struct nlmsghdr))
		return fail(req, CTLREQ_E_SHORT, "request shorter than a netlink header");
	memcpy(&req->hdr, buf, sizeof(req->hdr));
	if (len > CTLREQ_MAX)
		return fail(req, CTLREQ_E_TOO_LONG, "request longer than 8192 bytes");
	/* Unsigned: libmnl's mnl_nlmsg_ok() compares it as an int, so 2^31
	 * and more would pass there and let the parser run past the record. */
	nlmsg_len = req->hdr.nlmsg_len;
	if (nlmsg_len < sizeof(struct nlmsghdr) || nlmsg_len > len)
		return fail(req, CTLREQ_E_LENGTH, "nlmsg_len does not match the bytes received");
	req->cmd = req->hdr.nlmsg_type;
	if (req->cmd < OSTP_CTL_GET_INFO || req->cmd > OSTP_CTL_MAX)
		return fail(req, CTLREQ_E_UNKNOWN, "unknown request");
	memset(msg, 0, sizeof(msg));
	memcpy(msg, buf, nlmsg_len);
	a.end = msg + nlmsg_len;
	/* libmnl stops quietly at an attribute that does not fit; every byte
	 * of the payload must belong to one, or the request is cut short. */
	if (mnl_attr_parse((const struct nlmsghdr *)msg, 0, attr_cb, &a) < 0 ||
	    sizeof(struct nlmsghdr) + a.used < nlmsg_len)
		return fail(req, CTLREQ_E_ATTR, MALFORMED);
	return check_attrs(req, &a);
}

int ctlreq_errno(enum ctlreq_err err)
{
	switch (err) {
	case CTLREQ_OK: return 0;
	case CTLREQ_E_TOO_LONG: return EMSGSIZE;
	case CTLREQ_E_UNKNOWN: return EOPNOTSUPP;
	case CTLREQ_E_SHORT:
	case CTLREQ_E_LENGTH:
	case CTLREQ_E_ATTR:
	case CTLREQ_E_MISSING:
	case CTLREQ_E_VALUE:
		break;
	}
	return EINVAL;
}
