/*
 * workq.h — a small pool of threads for CPU-heavy work (password hashing)
 * that must not run on the event loop. Completions come back through a
 * mailbox on the loop thread.
 */
#ifndef PCHAT_COMMON_WORKQ_H
#define PCHAT_COMMON_WORKQ_H

struct mailbox;
struct workq;

typedef void (*workq_fn)(void *arg);

/* n_threads workers posting completions to mb. */
struct workq *workq_new(int n_threads, struct mailbox *mb);

/* Finish queued work, join the threads, free. */
void workq_free(struct workq *wq);

/* Run work(arg) on a worker, then done(arg) on the loop thread. */
void workq_submit(struct workq *wq, workq_fn work, workq_fn done, void *arg);

#endif
