/*
 * workq.c — fixed thread pool with a FIFO of jobs.
 */
#include "common/workq.h"
#include "common/mailbox.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
	struct job *next; /* FIFO link */
	workq_fn work;    /* runs on a worker */
	workq_fn done;    /* runs on the loop */
	void *arg;        /* for both */
};

struct workq {
	pthread_mutex_t lock; /* guards the queue and stop */
	pthread_cond_t cond;  /* signalled on new job or stop */
	struct job *head;     /* oldest job */
	struct job *tail;     /* newest job */
	bool stop;            /* threads exit when the queue is empty */
	int n_threads;        /* threads started */
	pthread_t *threads;   /* their handles */
	struct mailbox *mb;   /* completions go here */
};

static void *worker(void *arg)
{
	struct workq *wq = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&wq->lock);
		while (!wq->head && !wq->stop)
			pthread_cond_wait(&wq->cond, &wq->lock);
		j = wq->head;
		if (j) {
			wq->head = j->next;
			if (!wq->head)
				wq->tail = NULL;
		}
		pthread_mutex_unlock(&wq->lock);
		if (!j)
			return NULL;
		j->work(j->arg);
		mailbox_post(wq->mb, j->done, j->arg);
		free(j);
	}
}

struct workq *workq_new(int n_threads, struct mailbox *mb)
{
	struct workq *wq = xcalloc(1, sizeof(*wq));

	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->cond, NULL);
	wq->mb = mb;
	wq->threads = xcalloc((size_t)n_threads, sizeof(*wq->threads));
	for (int i = 0; i < n_threads; i++)
		if (pthread_create(&wq->threads[wq->n_threads], NULL, worker, wq) == 0)
			wq->n_threads++;
	return wq;
}

void workq_free(struct workq *wq)
{
	if (!wq)
		return;
	pthread_mutex_lock(&wq->lock);
	wq->stop = true;
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
	for (int i = 0; i < wq->n_threads; i++)
		pthread_join(wq->threads[i], NULL);
	free(wq->threads);
	pthread_cond_destroy(&wq->cond);
	pthread_mutex_destroy(&wq->lock);
	free(wq);
}

void workq_submit(struct workq *wq, workq_fn work, workq_fn done, void *arg)
{
	struct job *j = xmalloc(sizeof(*j));

	j->next = NULL;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&wq->lock);
	if (wq->tail)
		wq->tail->next = j;
	else
		wq->head = j;
	wq->tail = j;
	pthread_cond_signal(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}
