/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "authq.h"
#include "evloop.h"
#include "log.h"
#include "pamcheck.h"

struct authq {
	struct ev_watch w;       /* first: the eventfd's watch */
	struct evloop *loop;
	authq_done_fn on_done;
	void *ctx;
	pthread_t thread[AUTHQ_WORKERS];
	size_t n_threads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct auth_job *todo, *done;
	size_t n;                /* jobs queued, running or done but not collected */
	bool stop;
	int efd;
};

static void push(struct auth_job **list, struct auth_job *job)
{
	job->next = NULL;
	while (*list)
		list = &(*list)->next;
	*list = job;
}

/* A name outside the trusted users list never reaches PAM: a stranger
 * must not be able to lock out system accounts (pam_faillock) or load
 * the directory server through the VPN.  Its answer waits as long as a
 * PAM check would instead. */
static void check_pam(struct auth_job *job)
{
	job->ok = false;
	if (!job->trusted) {
		pamcheck_pace();
		return;
	}
	job->ok = pamcheck(job->pam_service, job->pam_confdir, job->user, job->rhost, job->pass,
			   job->pass_len, job->why, sizeof(job->why)) == PAMCHECK_OK;
}

static void *worker(void *arg)
{
	struct authq *q = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct auth_job *job;

		while (!q->todo && !q->stop)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->stop)
			break;
		job = q->todo;
		q->todo = job->next;
		pthread_mutex_unlock(&q->lock);
		if (job->pam_service)
			check_pam(job);
		else	/* verify even an untrusted name: the time taken says nothing */
			job->ok = ostp_pw_verify(job->hash[0] ? job->hash : NULL, job->pass,
						 job->pass_len) && job->trusted;
		sodium_memzero(job->pass, sizeof(job->pass));
		pthread_mutex_lock(&q->lock);
		push(&q->done, job);
		if (write(q->efd, &one, sizeof(one)) < 0)
			log_warn("auth queue: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void on_ready(struct ev_watch *w, uint32_t events)
{
	struct authq *q = (struct authq *)w;
	struct auth_job *list;
	uint64_t count;

	(void)events;
	if (read(q->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&q->lock);
	list = q->done;
	q->done = NULL;
	pthread_mutex_unlock(&q->lock);
	while (list) {
		struct auth_job *job = list;

		list = job->next;
		q->on_done(q->ctx, job);
		pthread_mutex_lock(&q->lock);
		q->n--;
		pthread_mutex_unlock(&q->lock);
		sodium_memzero(job, sizeof(*job));
		free(job);
	}
}

int authq_start(struct authq **out, struct evloop *loop, authq_done_fn done, void *ctx)
{
	struct authq *q = calloc(1, sizeof(*q));
	int err;

	if (!q)
		return -ENOMEM;
	q->loop = loop;
	q->on_done = done;
	q->ctx = ctx;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0 || pthread_mutex_init(&q->lock, NULL) || pthread_cond_init(&q->cond, NULL)) {
		err = -errno;
		log_error("auth worker: %s", strerror(errno));
		if (q->efd >= 0)
			close(q->efd);
		free(q);
		return err ? err : -ENOMEM;
	}
	err = ev_watch_add(loop, &q->w, q->efd, EPOLLIN, on_ready);
	if (err) {
		close(q->efd);
		free(q);
		return err;
	}
	*out = q;
	for (size_t i = 0; i < AUTHQ_WORKERS; i++) {
		if (pthread_create(&q->thread[i], NULL, worker, q) != 0) {
			log_error("auth worker: cannot start a thread");
			authq_stop(q);
			*out = NULL;
			return -EAGAIN;
		}
		q->n_threads++;
	}
	return 0;
}

int authq_submit(struct authq *q, struct auth_job *job, uint64_t now_ms)
{
	pthread_mutex_lock(&q->lock);
	if (q->n >= AUTHQ_MAX) {
		pthread_mutex_unlock(&q->lock);
		return -EBUSY;
	}
	q->n++;
	job->queued_ms = now_ms;
	push(&q->todo, job);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static void free_list(struct auth_job *job)
{
	while (job) {
		struct auth_job *next = job->next;

		sodium_memzero(job, sizeof(*job));
		free(job);
		job = next;
	}
}

void authq_stop(struct authq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < q->n_threads; i++)
		pthread_join(q->thread[i], NULL);
	free_list(q->todo);
	free_list(q->done);
	ev_watch_del(q->loop, &q->w);
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}
