/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>

#include "timerq.h"

void timerq_init(struct timerq *q)
{
	q->heap = NULL;
	q->n = q->cap = 0;
}

void timerq_free(struct timerq *q)
{
	for (size_t i = 0; i < q->n; i++)
		q->heap[i]->slot = 0;
	free(q->heap);
	timerq_init(q);
}

static void place(struct timerq *q, size_t i, struct timer *t)
{
	q->heap[i] = t;
	t->slot = i + 1;
}

static void sift_up(struct timerq *q, size_t i)
{
	struct timer *t = q->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (q->heap[parent]->deadline <= t->deadline)
			break;
		place(q, i, q->heap[parent]);
		i = parent;
	}
	place(q, i, t);
}

static void sift_down(struct timerq *q, size_t i)
{
	struct timer *t = q->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= q->n)
			break;
		if (child + 1 < q->n && q->heap[child + 1]->deadline < q->heap[child]->deadline)
			child++;
		if (t->deadline <= q->heap[child]->deadline)
			break;
		place(q, i, q->heap[child]);
		i = child;
	}
	place(q, i, t);
}

void timer_cancel(struct timerq *q, struct timer *t)
{
	size_t i;
	struct timer *last;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	last = q->heap[--q->n];
	if (i == q->n)
		return;
	place(q, i, last);
	if (i > 0 && q->heap[(i - 1) / 2]->deadline > last->deadline)
		sift_up(q, i);
	else
		sift_down(q, i);
}

int timer_set(struct timerq *q, struct timer *t, uint64_t deadline)
{
	if (deadline == TIMER_NEVER) {
		timer_cancel(q, t);
		return 0;
	}
	if (t->slot) {
		size_t i = t->slot - 1;
		uint64_t old = t->deadline;

		t->deadline = deadline;
		if (deadline < old)
			sift_up(q, i);
		else if (deadline > old)
			sift_down(q, i);
		return 0;
	}
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct timer **heap = realloc(q->heap, cap * sizeof(*heap));

		if (!heap)
			return -ENOMEM;
		q->heap = heap;
		q->cap = cap;
	}
	t->deadline = deadline;
	place(q, q->n++, t);
	sift_up(q, q->n - 1);
	return 0;
}

uint64_t timerq_next(const struct timerq *q)
{
	return q->n ? q->heap[0]->deadline : TIMER_NEVER;
}

size_t timerq_run(struct timerq *q, uint64_t now)
{
	/* bounded by the timers there at entry: a callback that sets its
	 * timer to a time already past cannot keep this loop going */
	size_t fired = 0, limit = q->n;

	while (q->n && q->heap[0]->deadline <= now && fired < limit) {
		struct timer *t = q->heap[0];

		timer_cancel(q, t);
		fired++;
		t->fn(t, now);
	}
	return fired;
}
