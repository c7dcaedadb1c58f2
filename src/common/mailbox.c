/*
 * mailbox.c — a mutex-protected queue and an eventfd the loop watches.
 *
 * The eventfd (rather than event_active() from other threads) keeps
 * libevent free of locks: the loop thread is the only one that touches the
 * event base, so the hot path (one write per recipient per message) takes
 * no mutex.
 */
#include "common/mailbox.h"
#include "common/xmalloc.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct mail {
	struct mail *next; /* FIFO link */
	mailbox_cb fn;     /* what to run */
	void *arg;         /* its argument */
};

struct mailbox {
	pthread_mutex_t lock; /* guards head/tail/armed */
	struct mail *head;    /* oldest */
	struct mail *tail;    /* newest */
	int armed;            /* the eventfd has been signalled since the last drain */
	int efd;              /* eventfd the loop reads */
	struct event *ev;     /* runs drain() on the loop */
};

static void drain(evutil_socket_t fd, short what, void *arg)
{
	struct mailbox *mb = arg;
	struct mail *m;
	uint64_t n;

	(void)what;
	if (fd >= 0 && read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing was signalled; the queue is checked anyway. */
	}
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
	mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->efd < 0)
		abort(); /* out of file descriptors at start-up: nothing can work */
	mb->ev = event_new(base, mb->efd, EV_READ | EV_PERSIST, drain, mb);
	event_add(mb->ev, NULL);
	return mb;
}

void mailbox_free(struct mailbox *mb)
{
	if (!mb)
		return;
	drain(-1, 0, mb);
	event_free(mb->ev);
	close(mb->efd);
	pthread_mutex_destroy(&mb->lock);
	free(mb);
}

void mailbox_post(struct mailbox *mb, mailbox_cb fn, void *arg)
{
	struct mail *m = xmalloc(sizeof(*m));
	uint64_t one = 1;
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
	if (arm && write(mb->efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow here: it is reset at every drain. */
	}
}
