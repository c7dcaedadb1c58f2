/*
 * store.c — the generic half of the store: picks the backend from the URL,
 * runs the writer thread (group commit) and the reader threads, posts
 * completions to the loop's mailbox, and validates arguments before they
 * reach a backend.
 *
 * It deliberately knows no SQL and no backend type: everything
 * backend-specific goes through struct store_backend (store_int.h).
 *
 * Group commit: the writer takes every queued write job (up to max_batch),
 * opens one write transaction, runs each job inside its own savepoint (a
 * failing job is rolled back alone and keeps its own rc), commits once, and
 * only then posts the completions, in submission order, as one mailbox
 * callback. If the transaction itself fails (BEGIN, COMMIT, or a savepoint
 * that cannot be rolled back), every job of the batch completes with
 * STORE_EIO: nothing of it was committed.
 */
#include "store/store_int.h"

#include "common/log.h"
#include "common/mailbox.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STORE_DEFAULT_READERS 2
#define STORE_DEFAULT_BATCH   4096
#define STORE_MAX_READERS     64

#define STORE_MAINTAIN_BUDGET 250  /* rows of upkeep per step between batches */
#define STORE_MAINTAIN_GAP_US 2000 /* pause between upkeep steps (the write lock is free) */
#define STORE_UPKEEP_DELAY_NS (25 * 1000000LL) /* a commit's upkeep waits this long for more */
#define STORE_BATCH_TRIES     6 /* runs of a batch aborted by deadlocks before it fails */

struct store_job {
	struct store_job *next; /* FIFO link */
	store_job_fn fn;        /* runs on a store thread */
	store_done_cb done;     /* runs on the loop thread */
	void *arg;              /* for both */
	int rc;                 /* fn's result (or the batch's failure) */
	bool atomic;            /* fn changes nothing when it fails: no savepoint */
};

struct store_queue {
	pthread_mutex_t lock;   /* guards everything below */
	pthread_cond_t cond;    /* signalled on a new job or on stop */
	struct store_job *head; /* oldest job */
	struct store_job *tail; /* newest job */
	bool stop;              /* threads exit once the queue is empty */
};

struct store {
	const struct store_backend *be; /* chosen by the URL */
	struct mailbox *mb;             /* completions; NULL in sync-only mode */
	int max_batch;                  /* write jobs per transaction */
	struct store_conn *direct;      /* store_direct()'s connection */
	struct store_conn *writer;      /* the writer thread's connection */
	struct store_conn **readers;    /* one per reader thread (n_slots) */
	int n_slots;                    /* entries of readers[] */
	int n_readers;                  /* reader threads started */
	bool writer_started;            /* writer thread running */
	pthread_t writer_thread;        /* its handle */
	pthread_t *reader_threads;      /* their handles */
	struct store_queue wq;          /* write jobs */
	struct store_queue rq;          /* read jobs */
	_Atomic uint64_t n_commits;     /* group commits run (store_stats) */
	_Atomic uint64_t n_written;     /* write jobs they held */
	_Atomic uint64_t n_upkeep;      /* upkeep steps run */
};

/* Argument of one reader thread. */
struct reader_arg {
	struct store *st;     /* the store */
	struct store_conn *c; /* this thread's connection */
};

const char *store_strerror(int err)
{
	switch (err) {
	case STORE_OK:
		return "ok";
	case STORE_ENOTFOUND:
		return "not found";
	case STORE_EEXIST:
		return "already exists";
	case STORE_EINVAL:
		return "invalid argument";
	case STORE_EIO:
		return "database error";
	case STORE_EVERSION:
		return "database schema is newer than this program";
	case STORE_EBUSY:
		return "database busy";
	case STORE_ECLOSED:
		return "store is closing";
	case STORE_ENOTEMPTY:
		return "still in use";
	default:
		return "unknown store error";
	}
}

/* --- queues --------------------------------------------------------------- */

/* store_set_client_name: written once at start, before any thread */
static char client_name[64] = "pchat";

void store_set_client_name(const char *name)
{
	if (name && *name)
		str_copy(client_name, name, sizeof(client_name));
}

const char *store_client_name(void)
{
	return client_name;
}

static void queue_init(struct store_queue *q)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* time_mono_ns() deadlines */
	pthread_cond_init(&q->cond, &attr);
	pthread_condattr_destroy(&attr);
	q->head = q->tail = NULL;
	q->stop = false;
}

static void queue_destroy(struct store_queue *q)
{
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
}

static void queue_stop(struct store_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* Append j unless stopped; false when the queue no longer accepts jobs. */
static bool queue_push(struct store_queue *q, struct store_job *j)
{
	bool ok;

	pthread_mutex_lock(&q->lock);
	ok = !q->stop;
	if (ok) {
		if (q->tail)
			q->tail->next = j;
		else
			q->head = j;
		q->tail = j;
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

/*
 * Wait for jobs, until deadline_ns (time_mono_ns(); 0: no deadline), and
 * detach up to max of them, oldest first (a NULL-terminated list; *n: how
 * many). NULL when the deadline passed with no job, or when the queue is
 * stopped and empty (queue_stopped tells which).
 */
static struct store_job *queue_take_until(struct store_queue *q, int max, int *n,
                                          int64_t deadline_ns)
{
	struct store_job *first, *last;
	struct timespec ts = {(time_t)(deadline_ns / 1000000000), (long)(deadline_ns % 1000000000)};

	*n = 0;
	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->stop) {
		if (!deadline_ns)
			pthread_cond_wait(&q->cond, &q->lock);
		else if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) == ETIMEDOUT)
			break;
	}
	first = last = q->head;
	if (last)
		*n = 1;
	for (; last && *n < max && last->next; ++*n)
		last = last->next;
	if (last) {
		q->head = last->next;
		if (!q->head)
			q->tail = NULL;
		last->next = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	return first;
}

/* queue_take_until with no deadline: NULL only when stopped and empty. */
static struct store_job *queue_take(struct store_queue *q, int max, int *n)
{
	return queue_take_until(q, max, n, 0);
}

static bool queue_stopped(struct store_queue *q)
{
	bool stopped;

	pthread_mutex_lock(&q->lock);
	stopped = q->stop && !q->head;
	pthread_mutex_unlock(&q->lock);
	return stopped;
}

/* --- completions (loop thread) -------------------------------------------- */

/* Mailbox callback: run every completion of a list in order, free the jobs. */
static void jobs_done(void *arg)
{
	struct store_job *j = arg;

	while (j) {
		struct store_job *next = j->next;

		if (j->done)
			j->done(j->rc, j->arg);
		free(j);
		j = next;
	}
}

/* --- writer thread -------------------------------------------------------- */

/*
 * Run one job inside a savepoint. Returns 0 when the transaction is still
 * usable (whatever the job's own rc), -1 when it is not.
 */
static int run_one_write(const struct store_backend *be, struct store_conn *c, struct store_job *j)
{
	if (j->atomic) {
		/* Its own failure changes nothing; a database error may have. */
		j->rc = j->fn(c, j->arg);
		return j->rc == STORE_EIO || j->rc == STORE_EBUSY ? -1 : 0;
	}
	if (be->savepoint(c) != 0) {
		j->rc = STORE_EIO;
		return -1;
	}
	j->rc = j->fn(c, j->arg);
	if (j->rc == STORE_EBUSY)
		return -1; /* a deadlock or serialization failure: the batch is retried */
	if (j->rc == 0 && be->release(c) == 0)
		return 0;
	if (j->rc == 0)
		j->rc = STORE_EIO;
	if (be->rollback_to(c) != 0 || be->release(c) != 0)
		return -1;
	return 0;
}

static void fail_all(struct store_job *batch, int rc)
{
	for (struct store_job *j = batch; j; j = j->next)
		j->rc = rc;
}

/*
 * One try of a group commit. Returns 0 (committed, or failed for good: the
 * jobs hold their rc) or STORE_EBUSY when the database gave up on the
 * transaction for a deadlock or a serialization failure with another
 * server of a pool: nothing was committed and the batch may run again.
 */
static int try_batch(struct store *st, struct store_job *batch)
{
	const struct store_backend *be = st->be;
	struct store_conn *c = st->writer;
	struct store_job *j;
	int rc;

	if (be->begin(c, true) != 0) {
		fail_all(batch, STORE_EIO);
		return 0;
	}
	c->in_job = true;
	for (j = batch; j; j = j->next)
		if (run_one_write(be, c, j) != 0)
			break;
	c->in_job = false;
	if (j) {
		be->rollback(c);
		if (j->rc == STORE_EBUSY)
			return STORE_EBUSY;
		log_error("store", "write transaction broken by a job: rolling back its batch");
		fail_all(batch, STORE_EIO);
		return 0;
	}
	rc = be->commit(c);
	if (rc != 0) {
		be->rollback(c);
		if (rc == STORE_EBUSY)
			return STORE_EBUSY;
		fail_all(batch, STORE_EIO);
	}
	return 0;
}

/*
 * One group commit: every job of batch in one transaction. Several servers
 * writing into one PostgreSQL database can deadlock (each holds room rows
 * the other needs until its commit); the database then aborts one of the
 * transactions, which is simply run again after a random pause, as
 * PostgreSQL advises, a few times before its jobs fail. Jobs are written so that running them again
 * after a rollback is harmless.
 */
static void run_batch(struct store *st, struct store_job *batch)
{
	for (int attempt = 1; try_batch(st, batch) == STORE_EBUSY; attempt++) {
		if (attempt == STORE_BATCH_TRIES) {
			log_error("store",
			          "write transaction aborted %d times by conflicts with "
			          "other writers: its jobs fail",
			          attempt);
			fail_all(batch, STORE_EBUSY);
			return;
		}
		log_info("store",
		         "write transaction aborted (a conflict with another writer, or a "
		         "statement sent ahead failed): running it again (attempt %d)",
		         attempt + 1);
		/* A random pause, longer each time, so that the two writers do not meet again. */
		usleep((useconds_t)(attempt * 20000 + time_mono_ns() % 40000));
	}
}

static bool queue_idle(struct store_queue *q)
{
	bool idle;

	pthread_mutex_lock(&q->lock);
	idle = !q->head && !q->stop;
	pthread_mutex_unlock(&q->lock);
	return idle;
}

/*
 * Upkeep between batches, only while no write waits (so it never delays a
 * commit by more than one small step): the backend's deferred work, e.g.
 * indexing the newest messages for search. Returns 0 when it is all done,
 * 1 when a write came first (work may be left: the next batch goes on with
 * it), -1 when a step failed.
 */
static int writer_idle(struct store *st)
{
	bool more = true;

	if (!st->be->maintain)
		return 0;
	while (more) {
		if (!queue_idle(&st->wq))
			return 1;
		atomic_fetch_add_explicit(&st->n_upkeep, 1, memory_order_relaxed);
		if (st->be->maintain(st->writer, STORE_MAINTAIN_BUDGET, &more) != 0)
			return -1;
		/* a gap in which other connections (pchatctl, the direct one) take the lock */
		if (more)
			usleep(STORE_MAINTAIN_GAP_US);
	}
	return 0;
}

void store_conn_note_cache(struct store_conn *c)
{
	if (c && c->be->cache_bytes)
		atomic_store_explicit(&c->cache_bytes, c->be->cache_bytes(c), memory_order_relaxed);
}

size_t store_cache_bytes(struct store *st)
{
	size_t n = 0;

	if (st->direct)
		n += atomic_load_explicit(&st->direct->cache_bytes, memory_order_relaxed);
	if (st->writer)
		n += atomic_load_explicit(&st->writer->cache_bytes, memory_order_relaxed);
	for (int i = 0; i < st->n_slots; i++)
		if (st->readers[i])
			n += atomic_load_explicit(&st->readers[i]->cache_bytes,
			                          memory_order_relaxed);
	return n;
}

/*
 * The next group commit's jobs: blocks until there is one, or until
 * deadline_ns (0: none; NULL then); counted for store_stats.
 */
static struct store_job *writer_take(struct store *st, int64_t deadline_ns)
{
	int n = 0;
	struct store_job *batch = queue_take_until(&st->wq, st->max_batch, &n, deadline_ns);

	atomic_fetch_add_explicit(&st->n_commits, batch ? 1 : 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->n_written, (uint64_t)n, memory_order_relaxed);
	return batch;
}

/*
 * When the upkeep is next due (time_mono_ns()), after writer_idle returned
 * rc: at once while a backlog is left, in STORE_UPKEEP_DELAY_NS after a
 * failed step, and 0 (not until a commit adds work) when it is all done.
 */
static int64_t upkeep_due(int rc)
{
	if (rc > 0)
		return time_mono_ns();
	return rc < 0 ? time_mono_ns() + STORE_UPKEEP_DELAY_NS : 0;
}

/*
 * A commit's upkeep (indexing its messages for search) waits up to
 * STORE_UPKEEP_DELAY_NS for the commits after it, and then runs for all of
 * them in one step: under a steady load of a few thousand messages a second
 * that is one step of ~100 rows where there were five of ~20, each with a
 * transaction and a new index segment of its own. A backlog (a full step)
 * goes on between batches as soon as no write waits.
 */
static void *writer_main(void *arg)
{
	struct store *st = arg;
	struct store_job *batch;
	int64_t due;

	pthread_setname_np(pthread_self(), "store-writer");
	due = upkeep_due(writer_idle(st)); /* what the last run left */
	for (;;) {
		batch = writer_take(st, due);
		if (batch) {
			run_batch(st, batch);
			mailbox_post(st->mb, jobs_done, batch);
			if (!due && st->be->maintain)
				due = time_mono_ns() + STORE_UPKEEP_DELAY_NS;
		} else if (queue_stopped(&st->wq)) {
			break;
		}
		if (due && time_mono_ns() >= due)
			due = upkeep_due(writer_idle(st));
		store_conn_note_cache(st->writer);
	}
	return NULL;
}

void store_stats(struct store *st, struct store_stats *out)
{
	out->commits = atomic_load_explicit(&st->n_commits, memory_order_relaxed);
	out->jobs = atomic_load_explicit(&st->n_written, memory_order_relaxed);
	out->upkeep_steps = atomic_load_explicit(&st->n_upkeep, memory_order_relaxed);
}

/* --- reader threads ------------------------------------------------------- */

/* A read job runs in a read transaction: one consistent snapshot. */
static void run_read(const struct store_backend *be, struct store_conn *c, struct store_job *j)
{
	if (be->begin(c, false) != 0) {
		j->rc = STORE_EIO;
		return;
	}
	c->in_job = true;
	j->rc = j->fn(c, j->arg);
	c->in_job = false;
	be->rollback(c);
}

static void *reader_main(void *arg)
{
	struct reader_arg *ra = arg;
	struct store *st = ra->st;
	struct store_job *j;
	int n;

	pthread_setname_np(pthread_self(), "store-reader");
	while ((j = queue_take(&st->rq, 1, &n)) != NULL) {
		run_read(st->be, ra->c, j);
		store_conn_note_cache(ra->c);
		mailbox_post(st->mb, jobs_done, j);
	}
	free(ra);
	return NULL;
}

/* --- opening and closing -------------------------------------------------- */

/* Pick the backend from the URL; *target is what the backend opens. */
static const struct store_backend *pick_backend(const char *url, const char **target, char *err,
                                                size_t errlen)
{
	if (!url || !*url) {
		snprintf(err, errlen, "no database given");
		return NULL;
	}
	/* A PostgreSQL URL, or a libpq conninfo ("host=... dbname=..."): libpq parses it whole. */
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0 ||
	    (!strstr(url, "://") && (strstr(url, "host=") || strstr(url, "dbname=") ||
	                             strstr(url, "service=") || strstr(url, "port=")))) {
		*target = url;
		return &store_pg_backend;
	}
	*target = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
	if (!**target) {
		snprintf(err, errlen, "database %s: no file name", url);
		return NULL;
	}
	return &store_sqlite_backend;
}

static int start_threads(struct store *st, const char *target, const struct store_options *opt,
                         char *err, size_t errlen)
{
	int n = opt->n_readers > 0 ? opt->n_readers : STORE_DEFAULT_READERS;
	int rc;

	if (n > STORE_MAX_READERS)
		n = STORE_MAX_READERS;
	rc = st->be->open_conn(target, STORE_CONN_GROUP, false, &st->writer, err, errlen);
	if (rc)
		return rc;
	st->n_slots = n;
	st->readers = xcalloc((size_t)n, sizeof(*st->readers));
	st->reader_threads = xcalloc((size_t)n, sizeof(*st->reader_threads));
	for (int i = 0; i < n; i++) {
		struct reader_arg *ra;

		rc =
		    st->be->open_conn(target, STORE_CONN_READ, false, &st->readers[i], err, errlen);
		if (rc)
			return rc;
		ra = xmalloc(sizeof(*ra));
		ra->st = st;
		ra->c = st->readers[i];
		if (pthread_create(&st->reader_threads[i], NULL, reader_main, ra) != 0) {
			free(ra);
			snprintf(err, errlen, "cannot start a store reader thread");
			return STORE_EIO;
		}
		st->n_readers++;
	}
	if (pthread_create(&st->writer_thread, NULL, writer_main, st) != 0) {
		snprintf(err, errlen, "cannot start the store writer thread");
		return STORE_EIO;
	}
	st->writer_started = true;
	return 0;
}

struct store *store_open(const struct store_options *opt, char *err, size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	const char *target = NULL;
	int rc;

	queue_init(&st->wq);
	queue_init(&st->rq);
	st->mb = opt->mb;
	st->max_batch = opt->max_batch > 0 ? opt->max_batch : STORE_DEFAULT_BATCH;
	st->be = pick_backend(opt->url, &target, err, errlen);
	if (!st->be)
		goto out_close;
	/* The direct connection creates the database and migrates it first. */
	rc = st->be->open_conn(target, STORE_CONN_WRITE, opt->create, &st->direct, err, errlen);
	if (rc)
		goto out_close;
	if (st->be->migrate(st->direct, err, errlen) != 0)
		goto out_close;
	if (st->mb && start_threads(st, target, opt, err, errlen) != 0)
		goto out_close;
	return st;

out_close:
	if (!opt->quiet)
		log_error("store", "%s", err);
	store_close(st);
	return NULL;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	queue_stop(&st->wq);
	queue_stop(&st->rq);
	if (st->writer_started)
		pthread_join(st->writer_thread, NULL);
	for (int i = 0; i < st->n_readers; i++)
		pthread_join(st->reader_threads[i], NULL);
	if (st->be) {
		for (int i = 0; i < st->n_slots; i++)
			st->be->close_conn(st->readers[i]);
		st->be->close_conn(st->writer);
		st->be->close_conn(st->direct);
	}
	free(st->readers);
	free(st->reader_threads);
	queue_destroy(&st->wq);
	queue_destroy(&st->rq);
	free(st);
}

struct store_conn *store_direct(struct store *st)
{
	return st->direct;
}

/* --- submitting ----------------------------------------------------------- */

/*
 * Without threads (sync-only stores, e.g. pchatctl sharing chat code) a job
 * runs at once on the direct connection, wrapped like a threaded one.
 */
static void run_inline(struct store *st, struct store_job *j, bool write)
{
	struct store_conn *c = st->direct;

	if (!write) {
		run_read(st->be, c, j);
	} else if (st->be->begin(c, true) != 0) {
		j->rc = STORE_EIO;
	} else {
		c->in_job = true;
		j->rc = j->fn(c, j->arg);
		c->in_job = false;
		if (j->rc != 0)
			st->be->rollback(c);
		else if (st->be->commit(c) != 0)
			j->rc = STORE_EIO;
	}
	jobs_done(j);
}

static void submit(struct store *st, struct store_queue *q, bool write, store_job_fn fn,
                   store_done_cb done, void *arg, bool atomic)
{
	struct store_job *j = xmalloc(sizeof(*j));

	j->atomic = atomic;
	j->next = NULL;
	j->fn = fn;
	j->done = done;
	j->arg = arg;
	j->rc = 0;
	if (!st->mb) {
		run_inline(st, j, write);
		return;
	}
	if (!queue_push(q, j)) {
		j->rc = STORE_ECLOSED;
		mailbox_post(st->mb, jobs_done, j);
	}
}

void store_submit_read(struct store *st, store_job_fn fn, store_done_cb done, void *arg)
{
	submit(st, &st->rq, false, fn, done, arg, false);
}

void store_submit_write(struct store *st, store_job_fn fn, store_done_cb done, void *arg)
{
	submit(st, &st->wq, true, fn, done, arg, false);
}

void store_submit_write_atomic(struct store *st, store_job_fn fn, store_done_cb done, void *arg)
{
	submit(st, &st->wq, true, fn, done, arg, true);
}

/* --- transactions --------------------------------------------------------- */

int store_begin(struct store_conn *c)
{
	if (c->in_job)
		return STORE_EINVAL;
	return c->be->begin(c, true);
}

int store_commit(struct store_conn *c)
{
	if (c->in_job)
		return STORE_EINVAL;
	return c->be->commit(c);
}

int store_rollback(struct store_conn *c)
{
	if (c->in_job)
		return STORE_EINVAL;
	return c->be->rollback(c);
}

/* --- validation ----------------------------------------------------------- */

/*
 * A name (account, category, room): 1 to STORE_NAME_MAX - 1 bytes of valid
 * UTF-8 without controls, spaces or commas (commas separate lists of
 * principals and IRC targets).
 */
bool store_name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, STORE_NAME_MAX);
	if (n == 0 || n >= STORE_NAME_MAX || !utf8_valid(name, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch <= ' ' || ch == 0x7f || ch == ',')
			return false;
	}
	return true;
}

/* Messages, and the history events of event-playback. */
static bool kind_ok(const char *kind)
{
	static const char *const kinds[] = {"PRIVMSG", "NOTICE", "TAGMSG", "JOIN",
	                                    "PART",    "TOPIC",  "MODE"};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

static bool msg_ok(const struct store_msg *m)
{
	size_t idlen = strnlen(m->msgid, sizeof(m->msgid));

	if (idlen == 0 || idlen >= sizeof(m->msgid) || !kind_ok(m->kind))
		return false;
	if (!store_name_ok(m->sender) || m->room_id < 0)
		return false;
	if (m->room_id == 0 && !store_name_ok(m->peer))
		return false;
	return m->room_id == 0 || m->peer[0] == '\0';
}

/* --- synchronous operations ----------------------------------------------- */

int store_account_add(struct store_conn *c, struct store_account *a)
{
	if (!store_name_ok(a->name))
		return STORE_EINVAL;
	if (a->created_ms == 0)
		a->created_ms = time_now_ms();
	return c->be->account_add(c, a);
}

int store_account_get(struct store_conn *c, const char *name, struct store_account *out)
{
	memset(out, 0, sizeof(*out));
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->account_get(c, name, out);
}

int store_account_update(struct store_conn *c, const struct store_account *a)
{
	if (a->id <= 0 || !store_name_ok(a->name))
		return STORE_EINVAL;
	return c->be->account_update(c, a);
}

int store_account_remove(struct store_conn *c, const char *name)
{
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->account_remove(c, name);
}

int store_account_list(struct store_conn *c, struct store_account **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return c->be->account_list(c, out, n);
}

void store_account_free(struct store_account *a)
{
	if (!a)
		return;
	free(a->pw_hash);
	free(a->scram);
	a->pw_hash = a->scram = NULL;
}

/* The principal lists of a category fit (NULL is fine). */
static bool category_ok(const struct store_category *cat)
{
	return store_list_ok(cat->allowed) && store_list_ok(cat->denied) &&
	       store_list_ok(cat->creators);
}

/* The settings of a room are in range and its lists fit. */
static bool room_ok(const struct store_room *r)
{
	if (r->privacy < STORE_PRIVACY_CLOSED || r->privacy > STORE_PRIVACY_SECRET)
		return false;
	if (r->type < STORE_ROOM_NORMAL || r->type > STORE_ROOM_AUDITORIUM)
		return false;
	if (r->addin[0] && !store_name_ok(r->addin))
		return false;
	return store_list_ok(r->members) && store_list_ok(r->managers) &&
	       store_list_ok(r->presenters);
}

int store_category_add(struct store_conn *c, struct store_category *cat)
{
	if (!store_name_ok(cat->name) || !category_ok(cat))
		return STORE_EINVAL;
	if (cat->created_ms == 0)
		cat->created_ms = time_now_ms();
	return c->be->category_add(c, cat);
}

int store_category_get(struct store_conn *c, const char *name, struct store_category *out)
{
	memset(out, 0, sizeof(*out));
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->category_get(c, name, out);
}

int store_category_update(struct store_conn *c, const struct store_category *cat)
{
	if ((cat->id <= 0 && !store_name_ok(cat->name)) || !category_ok(cat))
		return STORE_EINVAL;
	return c->be->category_update(c, cat);
}

int store_category_remove(struct store_conn *c, const char *name)
{
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->category_remove(c, name);
}

int store_category_list(struct store_conn *c, struct store_category **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return c->be->category_list(c, out, n);
}

void store_category_free(struct store_category *cat)
{
	if (!cat)
		return;
	free(cat->allowed);
	free(cat->denied);
	free(cat->creators);
	cat->allowed = cat->denied = cat->creators = NULL;
}

int store_room_add(struct store_conn *c, struct store_room *r)
{
	if (!store_name_ok(r->name))
		return STORE_EINVAL;
	if (r->category[0] == '\0')
		str_copy(r->category, "general", sizeof(r->category));
	if (!store_name_ok(r->category) || !room_ok(r))
		return STORE_EINVAL;
	if (r->created_ms == 0)
		r->created_ms = time_now_ms();
	return c->be->room_add(c, r);
}

int store_room_get(struct store_conn *c, const char *name, struct store_room *out)
{
	memset(out, 0, sizeof(*out));
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->room_get(c, name, out);
}

int store_room_update(struct store_conn *c, const struct store_room *r)
{
	const char *cat = r->category[0] ? r->category : NULL;

	if (r->id <= 0 && !store_name_ok(r->name))
		return STORE_EINVAL;
	if ((cat && !store_name_ok(cat)) || !room_ok(r))
		return STORE_EINVAL;
	return c->be->room_update(c, r);
}

int store_room_remove(struct store_conn *c, const char *name)
{
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->room_remove(c, name);
}

int store_room_list(struct store_conn *c, struct store_room **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return c->be->room_list(c, out, n);
}

void store_room_free(struct store_room *r)
{
	if (!r)
		return;
	free(r->description);
	free(r->members);
	free(r->managers);
	free(r->presenters);
	r->description = r->members = r->managers = r->presenters = NULL;
}

int store_msg_insert(struct store_conn *c, struct store_msg *m)
{
	if (!msg_ok(m))
		return STORE_EINVAL;
	return c->be->msg_insert(c, m);
}

int store_msg_latest(struct store_conn *c, int64_t room_id, const char *a, const char *b,
                     int64_t before_seq, int limit, struct store_msg **out, size_t *n)
{
	char la[STORE_NAME_MAX], lb[STORE_NAME_MAX];

	*out = NULL;
	*n = 0;
	if (limit < 0 || room_id < 0)
		return STORE_EINVAL;
	if (limit == 0)
		return 0;
	if (room_id > 0)
		return c->be->msg_latest(c, room_id, NULL, NULL, before_seq, limit, out, n);
	if (!store_name_ok(a) || !store_name_ok(b))
		return STORE_EINVAL;
	str_lower(la, a, sizeof(la));
	str_lower(lb, b, sizeof(lb));
	if (strcmp(la, lb) > 0)
		return c->be->msg_latest(c, 0, lb, la, before_seq, limit, out, n);
	return c->be->msg_latest(c, 0, la, lb, before_seq, limit, out, n);
}

void store_msg_free(struct store_msg *m)
{
	if (!m)
		return;
	free(m->text);
	free(m->tags);
	m->text = m->tags = NULL;
}

int store_msg_count(struct store_conn *c, int64_t room_id, int64_t *n)
{
	*n = 0;
	if (room_id < 0)
		return STORE_EINVAL;
	return c->be->msg_count(c, room_id, n);
}

int store_check(struct store_conn *c, char *detail, size_t detail_len)
{
	if (detail_len > 0)
		detail[0] = '\0';
	return c->be->check(c, detail, detail_len);
}
