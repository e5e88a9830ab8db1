/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: the daemon's control request parser (tund/ctlreq.c),
 * the same object ostpd links, on the input as one received record.
 *
 * Beyond "no crash, no sanitizer report" it checks what ctlsock.c relies
 * on: a request is accepted only when nlmsg_len, read as unsigned, lies
 * between the header size and the bytes received; nothing past nlmsg_len
 * changes the outcome (the old parser read the previous request there);
 * an accepted request carries exactly the attributes its command needs,
 * each already valid; and a refused one says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlreq.h"
#include "keycheck.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_ok(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	return n < size && ostp_username_valid(s, n);
}

static void check_ok(const struct ctlreq *r, size_t size)
{
	CHECK(r->why == NULL);
	CHECK(r->hdr.nlmsg_len >= sizeof(struct nlmsghdr) && r->hdr.nlmsg_len <= size);
	CHECK(r->cmd == r->hdr.nlmsg_type);
	CHECK(r->cmd >= OSTP_CTL_GET_INFO && r->cmd <= OSTP_CTL_MAX);
	if (r->has_user)
		CHECK(name_ok(r->user, sizeof(r->user)));
	if (r->has_name)
		CHECK(name_ok(r->name, sizeof(r->name)));
	if (r->has_prefix)
		CHECK(prefix_is_network(&r->prefix));
	if (r->has_key)
		CHECK(ed25519_pubkey_valid(r->key));
	if (r->has_allowed)
		CHECK(strnlen(r->allowed, sizeof(r->allowed)) < sizeof(r->allowed));
	switch (r->cmd) {
	case OSTP_CTL_CLOSE_USER:
		CHECK(r->has_user);
		break;
	case OSTP_CTL_ROUTE_ADD:
	case OSTP_CTL_ROUTE_DEL:
		CHECK(r->has_prefix);
		break;
	case OSTP_CTL_PEER_ADD:
		CHECK(r->has_name && r->has_endpoint && r->has_key);
		break;
	case OSTP_CTL_PEER_DEL:
		CHECK(r->has_name);
		break;
	default:
		CHECK(!r->has_user && !r->has_name && !r->has_prefix && !r->has_key &&
		      !r->has_endpoint && !r->has_allowed);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctlreq a, b;
	enum ctlreq_err err = ctlreq_parse(data, size, &a);
	uint32_t nlmsg_len = 0;

	if (size >= sizeof(struct nlmsghdr))
		memcpy(&nlmsg_len, data, sizeof(nlmsg_len));
	CHECK((err == CTLREQ_E_SHORT) == (size < sizeof(struct nlmsghdr)));
	if (size >= sizeof(struct nlmsghdr))
		CHECK((err == CTLREQ_E_TOO_LONG) == (size > CTLREQ_MAX));
	if (size >= sizeof(struct nlmsghdr) && size <= CTLREQ_MAX)
		CHECK((err == CTLREQ_E_LENGTH) ==
		      (nlmsg_len < sizeof(struct nlmsghdr) || nlmsg_len > size));
	if (err == CTLREQ_OK)
		check_ok(&a, size);
	else
		CHECK(a.why && a.why[0] && ctlreq_errno(err) > 0);

	/* The same bytes up to nlmsg_len with different bytes after them
	 * must give the same answer, field for field. */
	if (err != CTLREQ_E_SHORT && err != CTLREQ_E_TOO_LONG && err != CTLREQ_E_LENGTH &&
	    nlmsg_len < size) {
		uint8_t *copy = malloc(size);

		CHECK(copy);
		memcpy(copy, data, nlmsg_len);
		memset(copy + nlmsg_len, 0xa5, size - nlmsg_len);
		CHECK(ctlreq_parse(copy, size, &b) == err);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		CHECK(ctlreq_parse(copy, nlmsg_len, &b) == err);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		free(copy);
	}
	return 0;
}
