/* SPDX-License-Identifier: ISC */
/* The timer heap (tund/timerq.c) against a naive list, with a fake clock. */
#include <check.h>
#include <stdlib.h>

#include "timerq.h"

struct rec {
	struct timer t;
	int id;
	unsigned fired;
	uint64_t fired_at;
};

static uint64_t last_fired_deadline;
static int order_ok;

static void on_fire(struct timer *t, uint64_t now)
{
	struct rec *r = (struct rec *)t;

	r->fired++;
	r->fired_at = now;
	if (t->deadline < last_fired_deadline)
		order_ok = 0;
	last_fired_deadline = t->deadline;
}

START_TEST(fires_in_order)
{
	struct timerq q;
	struct rec r[5];
	const uint64_t when[5] = { 50, 10, 40, 20, 30 };

	timerq_init(&q);
	for (int i = 0; i < 5; i++) {
		r[i] = (struct rec){ .t.fn = on_fire, .id = i };
		ck_assert_int_eq(timer_set(&q, &r[i].t, when[i]), 0);
	}
	ck_assert_uint_eq(timerq_next(&q), 10);
	last_fired_deadline = 0;
	order_ok = 1;
	ck_assert_uint_eq(timerq_run(&q, 25), 2);
	ck_assert_uint_eq(r[1].fired, 1);
	ck_assert_uint_eq(r[3].fired, 1);
	ck_assert_uint_eq(r[4].fired, 0);
	ck_assert(!timer_pending(&r[1].t));
	ck_assert_uint_eq(timerq_next(&q), 30);
	ck_assert_uint_eq(timerq_run(&q, 100), 3);
	ck_assert(order_ok);
	ck_assert_uint_eq(timerq_next(&q), TIMER_NEVER);
	timerq_free(&q);
}
END_TEST

START_TEST(move_and_cancel)
{
	struct timerq q;
	struct rec a = { .t.fn = on_fire }, b = { .t.fn = on_fire }, c = { .t.fn = on_fire };

	timerq_init(&q);
	timer_set(&q, &a.t, 100);
	timer_set(&q, &b.t, 200);
	timer_set(&q, &c.t, 300);
	timer_set(&q, &c.t, 50);           /* earlier */
	ck_assert_uint_eq(timerq_next(&q), 50);
	timer_set(&q, &c.t, 400);          /* later */
	ck_assert_uint_eq(timerq_next(&q), 100);
	timer_cancel(&q, &a.t);
	ck_assert(!timer_pending(&a.t));
	timer_cancel(&q, &a.t);            /* twice is harmless */
	ck_assert_uint_eq(timerq_next(&q), 200);
	timer_set(&q, &b.t, TIMER_NEVER);  /* cancels */
	ck_assert_uint_eq(timerq_next(&q), 400);
	ck_assert_uint_eq(timerq_run(&q, 1000), 1);
	ck_assert_uint_eq(a.fired + b.fired, 0);
	ck_assert_uint_eq(c.fired, 1);
	timerq_free(&q);
}
END_TEST

static struct timerq *rearm_q;

static void rearm_past(struct timer *t, uint64_t now)
{
	struct rec *r = (struct rec *)t;

	r->fired++;
	timer_set(rearm_q, t, now);        /* due again at once */
}

START_TEST(rearm_in_callback_is_bounded)
{
	struct timerq q;
	struct rec a = { .t.fn = rearm_past }, b = { .t.fn = on_fire };

	timerq_init(&q);
	rearm_q = &q;
	timer_set(&q, &a.t, 10);
	timer_set(&q, &b.t, 20);
	ck_assert_uint_le(timerq_run(&q, 30), 2);
	ck_assert(timer_pending(&a.t));
	timerq_free(&q);
}
END_TEST

/* 2,000 timers set, moved and cancelled at random; after each step the
 * heap's next deadline equals the minimum of a plain array. */
START_TEST(random_against_reference)
{
	enum { N = 2000 };
	static struct rec r[N];
	struct timerq q;

	srandom(7);
	timerq_init(&q);
	for (int i = 0; i < N; i++)
		r[i] = (struct rec){ .t.fn = on_fire, .id = i };
	for (int step = 0; step < 50000; step++) {
		struct rec *x = &r[random() % N];
		uint64_t min = TIMER_NEVER;

		if (random() % 4 == 0)
			timer_cancel(&q, &x->t);
		else
			ck_assert_int_eq(timer_set(&q, &x->t, 1000 + (uint64_t)(random() % 100000)), 0);
		if (step % 97 == 0) {
			for (int i = 0; i < N; i++)
				if (timer_pending(&r[i].t) && r[i].t.deadline < min)
					min = r[i].t.deadline;
			ck_assert_uint_eq(timerq_next(&q), min);
		}
	}
	last_fired_deadline = 0;
	order_ok = 1;
	{
		size_t pending = 0;

		for (int i = 0; i < N; i++)
			pending += timer_pending(&r[i].t);
		ck_assert_uint_eq(timerq_run(&q, TIMER_NEVER - 1), pending);
	}
	ck_assert(order_ok);
	timerq_free(&q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("timerq");
	TCase *tc = tcase_create("timerq");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, fires_in_order);
	tcase_add_test(tc, move_and_cancel);
	tcase_add_test(tc, rearm_in_callback_is_bounded);
	tcase_add_test(tc, random_against_reference);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
