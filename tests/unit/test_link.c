/* SPDX-License-Identifier: ISC */
/*
 * The daemon core without a network: two links joined by a socketpair in
 * one event loop (tund/evloop.c, tund/link.c, tund/timerq.c), a client
 * session on one end and a server session on the other, with owners that
 * only record what they are told.
 */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "link.h"

struct owner {
	struct link k;           /* first: the callbacks get &k */
	unsigned established, messages, closes, drains, frees, connected;
	char why[128];
	uint8_t last[64];
	size_t last_len;
	int order;               /* 1: close came before free */
};

static uint8_t id_pk[32], id_sk[64];

static void on_event(struct link *k, const struct ostp_event *ev)
{
	struct owner *o = (struct owner *)k;

	if (ev->type == OSTP_EV_ESTABLISHED)
		o->established++;
	if (ev->type == OSTP_EV_MESSAGE) {
		o->messages++;
		o->last_len = ev->len < sizeof(o->last) ? ev->len : sizeof(o->last);
		memcpy(o->last, ev->data, o->last_len);
	}
}

static void on_close(struct link *k, const char *why)
{
	struct owner *o = (struct owner *)k;

	o->closes++;
	snprintf(o->why, sizeof(o->why), "%s", why);
}

static void on_drain(struct link *k)
{
	((struct owner *)k)->drains++;
}

/* The owners live in the test: freeing only records the order. */
static void on_free(struct link *k)
{
	struct owner *o = (struct owner *)k;

	o->frees++;
	o->order = o->closes == 1 ? 1 : -1;
}

static const struct link_ops ops = {
	.on_event = on_event, .on_close = on_close, .on_drain = on_drain, .on_free = on_free,
};

struct rig {
	struct evloop loop;
	struct link_set links;
	struct owner cli, srv;
	int fd[2];
};

static void rig_start(struct rig *r, uint32_t handshake_ms)
{
	struct ostp_client_config cc = { .spw = OSTP_SPW_IPV4 | OSTP_SPW_IPV6 };
	struct ostp_server_config sc = {
		.identity_sk = id_sk,
		.spw_supported = OSTP_SPW_IPV4 | OSTP_SPW_IPV6,
		.spw_permitted = OSTP_SPW_IPV4 | OSTP_SPW_IPV6,
		.timing.handshake_ms = handshake_ms,
	};
	ostp_session *cs, *ss;

	memset(r, 0, sizeof(*r));
	memcpy(cc.server_pk, id_pk, 32);
	ck_assert_int_eq(evloop_init(&r->loop), 0);
	ck_assert_int_eq(link_set_init(&r->links, &r->loop), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, r->fd), 0);
	ck_assert_int_eq(ostp_client_new(&cs, &cc, NULL, ev_now(&r->loop)), 0);
	ck_assert_int_eq(ostp_server_new(&ss, &sc, NULL, ev_now(&r->loop)), 0);
	ck_assert_int_eq(link_start(&r->srv.k, &r->links, r->fd[1], ss, "server", false, &ops), 0);
	ck_assert_int_eq(link_start(&r->cli.k, &r->links, r->fd[0], cs, "client", false, &ops), 0);
	link_flush(&r->cli.k);   /* the Session Request */
}

static void rig_run(struct rig *r, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		evloop_run_once(&r->loop, 20);
		link_reap(&r->links);
	}
}

static void rig_stop(struct rig *r)
{
	link_close_all(&r->links, OSTP_CLOSE_SHUTDOWN, "test over");
	link_reap(&r->links);
	link_set_free(&r->links);
	evloop_close(&r->loop);
}

START_TEST(handshake_and_data)
{
	struct rig r;
	static const uint8_t pkt[] = { 0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8,
				       198, 18, 1, 2, 198, 18, 1, 1 };

	rig_start(&r, 5000);
	rig_run(&r, 20);
	ck_assert_uint_eq(r.cli.established, 1);
	ck_assert_uint_eq(r.srv.established, 1);
	ck_assert(link_up(&r.cli.k) && link_up(&r.srv.k));
	ck_assert_int_eq(link_send(&r.cli.k, OSTP_MSG_DATA, pkt, sizeof(pkt)), 0);
	link_flush(&r.cli.k);
	rig_run(&r, 5);
	ck_assert_uint_eq(r.srv.messages, 1);
	ck_assert_uint_eq(r.srv.last_len, sizeof(pkt));
	ck_assert_mem_eq(r.srv.last, pkt, sizeof(pkt));
	ck_assert_uint_eq(r.cli.k.ctr.tx_packets, 1);
	ck_assert_uint_eq(r.srv.k.ctr.rx_bytes, sizeof(pkt));
	/* an authenticated close reaches the peer's owner with its reason */
	link_close(&r.cli.k, OSTP_CLOSE_NORMAL, "done");
	ck_assert_uint_eq(r.cli.closes, 1);
	rig_run(&r, 5);
	ck_assert_uint_eq(r.srv.closes, 1);
	ck_assert_ptr_nonnull(strstr(r.srv.why, "peer closed the session"));
	ck_assert_uint_eq(r.cli.frees, 1);
	ck_assert_uint_eq(r.srv.frees, 1);
	ck_assert_int_eq(r.cli.order, 1);
	ck_assert_int_eq(r.srv.order, 1);
	ck_assert_uint_eq(r.links.n, 0);
	rig_stop(&r);
}
END_TEST

/* A peer that never answers: the session's own deadline, kept in the
 * timer heap, closes the link; nothing else wakes the loop. */
START_TEST(handshake_deadline_fires)
{
	struct rig r;
	uint64_t t0;

	rig_start(&r, 200);
	/* the client end goes silent: its link is dropped from the loop */
	link_close(&r.cli.k, OSTP_CLOSE_NORMAL, "gone quiet");
	link_reap(&r.links);
	t0 = ev_now(&r.loop);
	for (int i = 0; i < 100 && !r.srv.closes; i++)
		rig_run(&r, 1);
	ck_assert_uint_eq(r.srv.closes, 1);
	ck_assert(ev_now(&r.loop) - t0 < 2000);
	rig_stop(&r);
}
END_TEST

/* Closing every link at shutdown leaves nothing behind, and a link
 * closed twice is closed once. */
START_TEST(close_all_and_twice)
{
	struct rig r;

	rig_start(&r, 5000);
	rig_run(&r, 20);
	link_close(&r.srv.k, OSTP_CLOSE_SHUTDOWN, "first");
	link_close(&r.srv.k, OSTP_CLOSE_SHUTDOWN, "second");
	ck_assert_uint_eq(r.srv.closes, 1);
	ck_assert_str_eq(r.srv.why, "first");
	link_close_all(&r.links, OSTP_CLOSE_SHUTDOWN, "shutdown");
	ck_assert_uint_eq(r.cli.closes, 1);
	link_reap(&r.links);
	ck_assert_uint_eq(r.links.n, 0);
	ck_assert_uint_eq(r.cli.frees + r.srv.frees, 2);
	link_set_free(&r.links);
	evloop_close(&r.loop);
}
END_TEST

/* The socket read buffer starts on a page boundary: 16 bytes past one,
 * where malloc puts a block this large, the kernel's copy out of the
 * socket ran 3-4 times slower (tund/link.c). */
START_TEST(read_buffer_page_aligned)
{
	struct evloop loop;
	struct link_set ls;

	ck_assert_int_eq(evloop_init(&loop), 0);
	ck_assert_int_eq(link_set_init(&ls, &loop), 0);
	ck_assert_uint_eq((uintptr_t)ls.rbuf % 4096u, 0);
	link_set_free(&ls);
	evloop_close(&loop);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("link");
	SRunner *sr;
	int failed;

	if (ostp_init() != 0)
		return EXIT_FAILURE;
	ostp_identity_generate(id_pk, id_sk);
	tcase_add_test(tc, handshake_and_data);
	tcase_add_test(tc, handshake_deadline_fires);
	tcase_add_test(tc, close_all_and_twice);
	tcase_add_test(tc, read_buffer_page_aligned);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sodium_memzero(id_sk, sizeof(id_sk));
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
