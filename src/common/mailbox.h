/*
 * mailbox.h — hand a callback from any thread to the libevent loop thread.
 *
 * Store threads and the worker pool post their completions here; the loop
 * runs them in posting order, in batches, on its own thread. libevent
 * itself needs no locking for this (an eventfd wakes the loop).
 */
#ifndef PCHAT_COMMON_MAILBOX_H
#define PCHAT_COMMON_MAILBOX_H

struct event_base;
struct mailbox;

typedef void (*mailbox_cb)(void *arg);

/* A mailbox delivering on base's thread. */
struct mailbox *mailbox_new(struct event_base *base);

/*
 * Run what is still queued, then free. Call on the loop thread after every
 * poster has stopped.
 */
void mailbox_free(struct mailbox *mb);

/* Queue fn(arg) to run on the loop thread. Thread-safe, never blocks long. */
void mailbox_post(struct mailbox *mb, mailbox_cb fn, void *arg);

#endif
