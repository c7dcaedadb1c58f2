/*
 * mailbox.c — a mutex-protected queue and one event made active from other
 * threads (event_active() is thread-safe once libevent has locking).
 */
#include "common/mailbox.h"
#include "common/xmalloc.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

struct mail {
	struct mail *next; /* FIFO link */
	mailbox_cb fn;     /* what to run */
	void *arg;         /* its argument */
};

struct mailbox {
	pthread_mutex_t lock; /* guards head/tail/armed */
	struct mail *head;    /* oldest */
	struct mail *tail;    /* newest */
	int armed;            /* event already made active */
	struct event *ev;     /* runs drain() on the loop */
};

static void drain(evutil_socket_t fd, short what, void *arg)
{
	struct mailbox *mb = arg;
	struct mail *m;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&mb->lock);
	m = mb->head;
	mb->head = mb->tail = NULL;
	mb->armed = 0;
	pthread_mutex_unlock(&mb->lock);
	while (m) {
		struct mail *next = m->next;

		m->fn(m->arg);
		free(m);
		m = next;
	}
}

struct mailbox *mailbox_new(struct event_base *base)
{
	struct mailbox *mb = xcalloc(1, sizeof(*mb));

	pthread_mutex_init(&mb->lock, NULL);
	mb->ev = event_new(base, -1, 0, drain, mb);
	return mb;
}

void mailbox_free(struct mailbox *mb)
{
	if (!mb)
		return;
	drain(-1, 0, mb);
	event_free(mb->ev);
	pthread_mutex_destroy(&mb->lock);
	free(mb);
}

void mailbox_post(struct mailbox *mb, mailbox_cb fn, void *arg)
{
	struct mail *m = xmalloc(sizeof(*m));
	int arm;

	m->next = NULL;
	m->fn = fn;
	m->arg = arg;
	pthread_mutex_lock(&mb->lock);
	if (mb->tail)
		mb->tail->next = m;
	else
		mb->head = m;
	mb->tail = m;
	arm = !mb->armed;
	mb->armed = 1;
	pthread_mutex_unlock(&mb->lock);
	if (arm)
		event_active(mb->ev, 0, 0);
}
