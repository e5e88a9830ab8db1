/* SPDX-License-Identifier: ISC */
/*
 * A program built against an installed libostp through pkg-config: a
 * client and a server session in one process, bytes moved between them in
 * memory.  It authenticates with a password, waits for both sides to be
 * ESTABLISHED, sends a chained DATA message each way, closes, and prints
 * "handshake_demo: ok" only if every step did what the API promises.
 * Only <ostp.h> is included: the installed header must be enough.
 */
#include <ostp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct side {
	const char *name;
	ostp_session *s;
	bool established;
	bool closed;
	bool peer_closed;
	int close_err;
	uint8_t got[8192];
	size_t got_len;
	int messages;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "handshake_demo: %s: %s\n", what, ostp_strerror(err));
	return 1;
}

static void on_event(struct side *sd, const struct ostp_event *ev)
{
	switch (ev->type) {
	case OSTP_EV_AUTH_REQUEST: {
		bool ok = strcmp(ev->username, "demo") == 0 &&
			  ev->password_len == 6 &&
			  memcmp(ev->password, "secret", 6) == 0;
		(void)ostp_server_auth_reply(sd->s, ok, OSTP_SPW_IPV4 | OSTP_SPW_IPV6);
		break;
	}
	case OSTP_EV_ESTABLISHED:
		sd->established = true;
		break;
	case OSTP_EV_MESSAGE:
		if (ev->msg_type == OSTP_MSG_DATA && ev->len <= sizeof(sd->got)) {
			memcpy(sd->got, ev->data, ev->len);
			sd->got_len = ev->len;
		}
		sd->messages++;
		break;
	case OSTP_EV_CLOSED:
		sd->closed = true;
		sd->peer_closed = ev->peer_closed;
		sd->close_err = ev->err;
		break;
	default:
		break;
	}
}

/* Events a session has without new input (input held while a password
 * was checked, or a second event of the last frame). */
static void drain(struct side *to, uint64_t now)
{
	for (int i = 0; i < 64 && !ostp_session_closed(to->s); i++) {
		struct ostp_event ev;
		size_t used;

		(void)ostp_feed(to->s, NULL, 0, &used, now, &ev);
		if (ev.type == OSTP_EV_NONE)
			break;
		on_event(to, &ev);
	}
}

/* What `from` wants to send goes into `to`; returns the bytes moved. */
static size_t move(struct side *from, struct side *to, uint64_t now)
{
	const uint8_t *out;
	size_t n = ostp_output(from->s, &out), off = 0;

	while (off < n && !ostp_session_closed(to->s)) {
		struct ostp_event ev;
		size_t used;

		(void)ostp_feed(to->s, out + off, n - off, &used, now, &ev);
		off += used;
		on_event(to, &ev);
		if (used == 0 && ev.type == OSTP_EV_NONE)
			break;
	}
	ostp_output_consume(from->s, n);
	drain(to, now);
	return n;
}

static void pump(struct side *c, struct side *s, uint64_t now)
{
	for (int i = 0; i < 100; i++)
		if (move(c, s, now) + move(s, c, now) == 0)
			break;
}

int main(void)
{
	uint8_t pk[32], sk[64], big[6000], small[4] = { 1, 2, 3, 4 };
	struct side c = { .name = "client" }, s = { .name = "server" };
	uint64_t now = 1000;
	int err;

	if ((err = ostp_init()))
		return fail("ostp_init", err);
	if ((err = ostp_identity_generate(pk, sk)))
		return fail("ostp_identity_generate", err);

	struct ostp_server_config scfg = {
		.identity_sk = sk,
		.require_auth = true,
		.spw_supported = OSTP_SPW_IPV4 | OSTP_SPW_IPV6,
		.spw_default = OSTP_SPW_IPV4 | OSTP_SPW_IPV6,
	};
	struct ostp_client_config ccfg = {
		.options = OSTP_OPT_U,
		.username = "demo",
		.password = "secret",
		.spw = OSTP_SPW_IPV4,
	};
	memcpy(ccfg.server_pk, pk, sizeof(pk));

	if ((err = ostp_server_new(&s.s, &scfg, NULL, now)))
		return fail("ostp_server_new", err);
	if ((err = ostp_client_new(&c.s, &ccfg, NULL, now)))
		return fail("ostp_client_new", err);

	pump(&c, &s, now);
	if (!c.established || !s.established || !ostp_session_established(c.s))
		return fail("handshake did not complete", OSTP_E_STATE);
	if (ostp_session_spw(c.s) != OSTP_SPW_IPV4 ||
	    strcmp(ostp_session_user(s.s), "demo") != 0)
		return fail("agreed parameters", OSTP_E_SPW);
	if (ostp_next_deadline(c.s) <= now)
		return fail("no keepalive deadline", OSTP_E_STATE);

	/* longer than one frame: travels as a chain */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 1);
	if ((err = ostp_send(c.s, OSTP_MSG_DATA, big, sizeof(big))))
		return fail("ostp_send (client)", err);
	if ((err = ostp_send(s.s, OSTP_MSG_DATA, small, sizeof(small))))
		return fail("ostp_send (server)", err);
	pump(&c, &s, ++now);
	if (s.messages != 1 || s.got_len != sizeof(big) || memcmp(s.got, big, sizeof(big)))
		return fail("server did not receive the message", OSTP_E_CHAIN_TRUNC);
	if (c.messages != 1 || c.got_len != sizeof(small) || memcmp(c.got, small, sizeof(small)))
		return fail("client did not receive the message", OSTP_E_CHAIN_TRUNC);

	if ((err = ostp_close(c.s, OSTP_CLOSE_NORMAL)))
		return fail("ostp_close", err);
	pump(&c, &s, ++now);
	if (!s.closed || !s.peer_closed || s.close_err != 0)
		return fail("server did not see a clean close", s.close_err);

	ostp_session_free(c.s);
	ostp_session_free(s.s);
	printf("handshake_demo: ok (AEAD %s, %zu+%zu bytes of DATA)\n",
	       ostp_aead_engine(), sizeof(big), sizeof(small));
	return 0;
}
