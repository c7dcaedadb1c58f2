/*
 * member.c — pchatd as a member of a pool: every second a write job for
 * its heartbeat (store_server_beat) and a read job for the control row
 * (store_pool_get); a change of the row is applied on the loop thread as
 * soon as the read completes, so a change reaches the server within about
 * a second (2 s at worst) without a restart.
 *
 * The loop never waits: both are store jobs, at most one of each in
 * flight, and their completions touch only the member (which outlives the
 * store and its completions: pool_member_free after store_close and the
 * mailbox's last completions). A failed read keeps the last
 * status (a database hiccup must not flip every server idle); the store
 * logs the failure itself.
 *
 * The watch: a thread of its own runs a round every POOL_WATCH_MS: it asks
 * two reader threads, one per database, each with a connection of its own,
 * to read their control rows, waits for the answers at most
 * POOL_PEER_WAIT_MS (a reader still busy from an earlier round — stuck
 * connecting into a partition that drops its packets — is not waited for
 * at all), fences a stale primary it finds (pool_fence_stale), and posts
 * what it saw to the loop. A database that did not answer is unreachable
 * in that round; its reader goes on alone. When the generation in force
 * designates the other database, the server is told once (ops->moved) and
 * restarts onto it. While this server's own database is unreachable, or
 * after a session was lost, the next round comes after POOL_WATCH_RETRY_MS:
 * the pool is probably moving. The threads and the member share struct
 * pool_watch, freed by whichever lets go last; nothing is posted after
 * pool_member_stop.
 *
 * Deliberately not here: refusing clients (the server's status callback
 * does that through the IRC layer) and the restart itself (pchatd).
 */
#include "pool/pool.h"

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#include "common/mailbox.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One database's reader thread, its half of struct pool_watch (under mu). */
struct watch_reader {
	struct store *st;            /* its connection (NULL: not open); the thread's */
	bool want;                   /* a read is asked for */
	bool busy;                   /* reading, or st lent to the round (fencing) */
	uint64_t n_done;             /* reads finished */
	bool reachable;              /* the last read succeeded */
	bool lost;                   /* the last read found an open session gone */
	struct store_pool_state row; /* the last row read (owned; taken by the round) */
	char error[512];             /* why not reachable */
};

/* Shared by the member (loop thread), the round thread and the readers; under mu. */
struct pool_watch {
	pthread_mutex_t mu;         /* guards everything below */
	pthread_cond_t cv;          /* a read asked for or done, or stop */
	int refs;                   /* the member and each thread */
	bool stop;                  /* no more rounds, nothing more posted */
	struct mailbox *mb;         /* to the loop */
	struct topology topo;       /* the pool (copied) */
	char by[TOPO_NAME_MAX + 8]; /* "pchatd NAME", who fences */
	enum pool_db_index db;      /* the database this server uses */
	struct watch_reader rd[2];  /* by enum pool_db_index */
	struct pool_member *m;      /* the member (loop thread only) */
};

/* A reader thread's argument. */
struct reader_arg {
	struct pool_watch *w; /* the watch */
	int i;                /* its database */
};

/* What one round saw, posted to the loop. */
struct watch_seen {
	struct pool_watch *w;   /* the watch */
	bool reachable[2];      /* by enum pool_db_index */
	char error[2][512];     /* why not */
	int64_t generation;     /* in force (0: none read) */
	enum pool_db_index use; /* the database it designates */
};

struct pool_member {
	struct topology topo;         /* the pool (copied) */
	char server[TOPO_NAME_MAX];   /* this server's name */
	enum pool_db_index db;        /* the database this server uses */
	struct store *st;             /* that database */
	struct event *timer;          /* every second */
	struct pool_member_ops ops;   /* the server's callbacks */
	void *arg;                    /* their argument */
	int64_t started_ms;           /* this process's start */
	int64_t generation;           /* the generation obeyed */
	bool active;                  /* the status last told */
	char reason[POOL_REASON_MAX]; /* why idle ("" when active) */
	bool beat_busy;               /* a heartbeat job is in flight */
	bool read_busy;               /* a read job is in flight */
	bool stopped;                 /* no new jobs */
	bool unconfirmed;             /* fail-closed until the other database is read */
	bool moved;                   /* ops->moved was called */
	bool reachable[2];            /* the watch's last view, for log lines on changes */
	struct store_pool_state last; /* the last row applied (owned) */
	struct pool_watch *watch;     /* the watch thread's half, NULL once stopped */
};

/* A read job's argument: the member (used only in the completion) and the row. */
struct member_read {
	struct pool_member *m;      /* the member */
	struct store_pool_state st; /* filled by the job */
};

/* A heartbeat job's argument. */
struct member_beat {
	struct pool_member *m; /* the member */
	struct store_server s; /* the row to write */
};

/* Decide the status under st; tell the server and log when it changed. */
static void apply(struct pool_member *m, const struct store_pool_state *st, bool first)
{
	char reason[POOL_REASON_MAX];
	bool active = pool_decide(&m->topo, st, m->server, m->db, reason, sizeof reason);
	bool changed;

	if (active && m->unconfirmed) {
		active = false;
		snprintf(
		    reason, sizeof reason,
		    "this server is idle in pool %s (the pool state cannot be confirmed: the "
		    "%s database is unreachable and [pool] unconfirmed = fail-closed): connect "
		    "to another server of the pool",
		    m->topo.name, pool_db_name(m->db == POOL_PRIMARY ? POOL_BACKUP : POOL_PRIMARY));
	}
	if (&m->last != st) {
		store_pool_state_free(&m->last);
		m->last = *st;
		m->last.active = xstrdup(st->active ? st->active : "");
	}
	changed = first || active != m->active || strcmp(reason, m->reason) != 0;

	if (st->generation != m->generation || first)
		log_info("pool", "pool %s: generation %lld, state %s, active servers: %s",
		         m->topo.name, (long long)st->generation, st->state,
		         st->active && st->active[0] ? st->active
		         : st->generation == 0       ? "(every server)"
		                                     : "(none)");
	m->generation = st->generation;
	if (!changed)
		return;
	m->active = active;
	str_copy(m->reason, reason, sizeof m->reason);
	if (pool_db_for_state(st->state) != m->db)
		log_warn("pool",
		         "pool %s is %s: the %s database is in use but this server uses "
		         "the %s: idle until it restarts onto it",
		         m->topo.name, st->state, pool_db_name(pool_db_for_state(st->state)),
		         pool_db_name(m->db));
	else if (active)
		log_info("pool", "server %s is active in pool %s: accepting new clients", m->server,
		         m->topo.name);
	else
		log_warn("pool", "server %s is idle in pool %s: refusing new clients (%s)",
		         m->server, m->topo.name, reason);
	m->ops.status(active, active ? NULL : m->reason, m->arg);
}

static int read_job(struct store_conn *c, void *arg)
{
	struct member_read *r = arg;

	return store_pool_get(c, &r->st);
}

static void read_done(int rc, void *arg)
{
	struct member_read *r = arg;
	struct pool_member *m = r->m;

	m->read_busy = false;
	if (rc == 0)
		apply(m, &r->st, false);
	store_pool_state_free(&r->st);
	free(r);
}

static int beat_job(struct store_conn *c, void *arg)
{
	struct member_beat *b = arg;

	return store_server_beat(c, &b->s);
}

static void beat_done(int rc, void *arg)
{
	struct member_beat *b = arg;

	(void)rc; /* the store logged a failure; the next second tries again */
	b->m->beat_busy = false;
	free(b);
}

static void submit_beat(struct pool_member *m)
{
	struct member_beat *b = xcalloc(1, sizeof(*b));

	b->m = m;
	str_copy(b->s.name, m->server, sizeof b->s.name);
	b->s.started_ms = m->started_ms;
	b->s.clients = m->ops.clients(m->arg);
	b->s.active = m->active;
	b->s.generation = m->generation;
	str_copy(b->s.database, pool_db_name(m->db), sizeof b->s.database);
	m->beat_busy = true;
	store_submit_write_atomic(m->st, beat_job, beat_done, b);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pool_member *m = arg;
	struct member_read *r;

	(void)fd;
	(void)what;
	if (m->stopped)
		return;
	if (!m->beat_busy && !m->last.fenced) /* a fenced database takes no writes */
		submit_beat(m);
	if (!m->read_busy) {
		r = xcalloc(1, sizeof(*r));
		r->m = m;
		m->read_busy = true;
		store_submit_read(m->st, read_job, read_done, r);
	}
}

/* --- the watch --------------------------------------------------------------- */

/* Let go of w; the last one frees it. */
static void watch_unref(struct pool_watch *w)
{
	bool last;

	pthread_mutex_lock(&w->mu);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	for (int i = 0; i < 2; i++)
		store_pool_state_free(&w->rd[i].row);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

/* The loop thread: what a round saw. */
static void watch_seen_cb(void *arg)
{
	struct watch_seen *s = arg;
	struct pool_member *m = s->w->m; /* set and cleared on this thread */

	for (int i = 0; m && i < 2; i++) {
		if (s->reachable[i] != m->reachable[i] && s->reachable[i])
			log_info("pool", "pool %s: the %s database is reachable", m->topo.name,
			         pool_db_name((enum pool_db_index)i));
		else if (s->reachable[i] != m->reachable[i])
			log_warn("pool", "pool %s: the %s database is unreachable: %s",
			         m->topo.name, pool_db_name((enum pool_db_index)i), s->error[i]);
		m->reachable[i] = s->reachable[i];
	}
	if (m && m->unconfirmed &&
	    s->reachable[m->db == POOL_PRIMARY ? POOL_BACKUP : POOL_PRIMARY]) {
		m->unconfirmed = false;
		log_info("pool", "pool %s: state confirmed by both databases", m->topo.name);
		apply(m, &m->last, false);
	}
	if (m && !m->moved && s->generation > 0 && s->use != m->db && s->reachable[s->use]) {
		m->moved = true;
		log_warn("pool",
		         "pool %s moved to the %s database (generation %lld): restarting onto it",
		         m->topo.name, pool_db_name(s->use), (long long)s->generation);
		if (m->ops.moved)
			m->ops.moved(s->use, s->generation, m->arg);
	}
	watch_unref(s->w); /* the reference the post held */
	free(s);
}

/* One read of database i by its reader (outside mu): open if needed, read, publish. */
static void reader_read(struct pool_watch *w, int i)
{
	const struct topo_db *db = i == POOL_PRIMARY ? &w->topo.primary : &w->topo.backup;
	struct watch_reader *r = &w->rd[i];
	struct store *st = r->st; /* the reader's own while busy */
	struct store_pool_state row = {0};
	char error[512] = "";
	bool was_open = st != NULL, ok = false;
	int rc;

	if (!st)
		st = pool_db_open(db->url, error, sizeof error);
	if (st) {
		rc = store_pool_get(store_direct(st), &row);
		ok = rc == 0;
		if (!ok) {
			snprintf(error, sizeof error, "cannot read the pool state: %s",
			         store_strerror(rc));
			store_close(st); /* opened again next time */
			st = NULL;
		}
	}
	pthread_mutex_lock(&w->mu);
	r->st = st;
	r->reachable = ok;
	r->lost = !ok && was_open;
	store_pool_state_free(&r->row);
	r->row = row;
	str_copy(r->error, error, sizeof r->error);
	r->n_done++;
	r->busy = false;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* A reader thread: one read each time the round asks, until stop. */
static void *reader_main(void *arg)
{
	struct reader_arg a = *(struct reader_arg *)arg;
	struct pool_watch *w = a.w;
	struct watch_reader *r = &w->rd[a.i];
	struct store *st;

	free(arg);
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		if (!r->want) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		r->want = false;
		r->busy = true;
		pthread_mutex_unlock(&w->mu);
		reader_read(w, a.i);
		pthread_mutex_lock(&w->mu);
	}
	while (r->busy) /* the round may still be fencing through st */
		pthread_cond_wait(&w->cv, &w->mu);
	st = r->st;
	r->st = NULL;
	pthread_mutex_unlock(&w->mu);
	store_close(st);
	watch_unref(w);
	return NULL;
}

/*
 * Under mu: ask every idle reader for a read and wait for the answers of
 * those asked, at most POOL_PEER_WAIT_MS. Fills got[i] when reader i
 * finished a read during the round (one asked now, or one still busy from
 * before that answered meanwhile).
 */
static void round_wait(struct pool_watch *w, bool got[2])
{
	uint64_t from[2];
	bool asked[2];
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(POOL_PEER_WAIT_MS % 1000) * 1000000L;
	until.tv_sec += POOL_PEER_WAIT_MS / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	for (int i = 0; i < 2; i++) {
		from[i] = w->rd[i].n_done;
		asked[i] = !w->rd[i].busy;
		w->rd[i].want = asked[i];
	}
	pthread_cond_broadcast(&w->cv);
	while (!w->stop && ((asked[0] && w->rd[0].n_done == from[0]) ||
	                    (asked[1] && w->rd[1].n_done == from[1])))
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
			break;
	for (int i = 0; i < 2; i++) {
		got[i] = w->rd[i].n_done != from[i];
		w->rd[i].want = false; /* not taken yet: dropped */
	}
}

/*
 * One round of the watch thread: read both, fence, post. Returns whether
 * the next round should come soon (POOL_WATCH_RETRY_MS): a session that was
 * open was lost (ended by a failover step, a restart), or this server's own
 * database did not answer (the pool is probably moving).
 */
static bool watch_round(struct pool_watch *w)
{
	struct watch_seen *s = xcalloc(1, sizeof(*s));
	struct store *open[2] = {NULL, NULL};
	bool got[2], lent[2] = {false, false}, soon = false;
	struct pool_view v;

	memset(&v, 0, sizeof v);
	pthread_mutex_lock(&w->mu);
	round_wait(w, got);
	for (int i = 0; i < 2; i++) {
		struct watch_reader *r = &w->rd[i];

		if (!got[i]) {
			snprintf(v.error[i], sizeof v.error[i],
			         "no answer within %.1f s (cut off by a partition?)",
			         POOL_PEER_WAIT_MS / 1000.0);
			continue;
		}
		soon = soon || r->lost;
		str_copy(v.error[i], r->error, sizeof v.error[i]);
		if (!r->reachable)
			continue;
		v.reachable[i] = true;
		v.row[i] = r->row;
		r->row.active = NULL; /* moved */
		open[i] = r->st;
		r->busy = lent[i] = true; /* st is this round's until it is given back */
	}
	pthread_mutex_unlock(&w->mu);
	pool_view_decide(&v);
	pool_fence_stale(&w->topo, open, &v, w->by);
	s->w = w;
	for (int i = 0; i < 2; i++) {
		s->reachable[i] = v.reachable[i];
		str_copy(s->error[i], v.error[i], sizeof s->error[i]);
	}
	s->generation = v.generation;
	s->use = v.use;
	soon = soon || !v.reachable[w->db];
	pool_view_free(&v);
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < 2; i++)
		if (lent[i])
			w->rd[i].busy = false;
	pthread_cond_broadcast(&w->cv);
	if (!w->stop) {
		w->refs++; /* held by the post until watch_seen_cb */
		mailbox_post(w->mb, watch_seen_cb, s);
		s = NULL;
	}
	pthread_mutex_unlock(&w->mu);
	free(s);
	return soon;
}

static void *watch_main(void *arg)
{
	struct pool_watch *w = arg;
	struct timespec until;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		int wait_ms;

		pthread_mutex_unlock(&w->mu);
		wait_ms = watch_round(w) ? POOL_WATCH_RETRY_MS : POOL_WATCH_MS;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		until.tv_sec += wait_ms / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&w->mu);
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->mu);
	watch_unref(w);
	return NULL;
}

/* Stop every thread of the watch (none is waited for) and let go of it. */
static void watch_stop(struct pool_member *m)
{
	struct pool_watch *w = m->watch;

	if (!w)
		return;
	m->watch = NULL;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	w->m = NULL;
	pthread_cond_broadcast(&w->cv); /* the round thread and the readers */
	pthread_mutex_unlock(&w->mu);
	watch_unref(w);
}

/* Start a detached thread running fn(arg); false when it could not. */
static bool start_detached(void *(*fn)(void *), void *arg)
{
	pthread_t th;

	if (pthread_create(&th, NULL, fn, arg) != 0)
		return false;
	pthread_detach(th);
	return true;
}

/*
 * Start the watch: the round thread and a reader per database, all
 * detached (stopping never waits for a slow connect). A thread that cannot
 * start leaves the member without a watch (logged).
 */
static void watch_start(struct pool_member *m, struct mailbox *mb)
{
	struct pool_watch *w = xcalloc(1, sizeof(*w));

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->refs = 1;
	w->mb = mb;
	w->topo = m->topo;
	w->db = m->db;
	snprintf(w->by, sizeof w->by, "pchatd %s", m->server);
	w->m = m;
	m->watch = w;
	for (int i = 0; i < 2; i++) {
		struct reader_arg *a = xmalloc(sizeof(*a));

		*a = (struct reader_arg){w, i};
		pthread_mutex_lock(&w->mu);
		w->refs++;
		pthread_mutex_unlock(&w->mu);
		if (!start_detached(reader_main, a)) {
			free(a);
			watch_unref(w);
			goto out_fail;
		}
	}
	pthread_mutex_lock(&w->mu);
	w->refs++;
	pthread_mutex_unlock(&w->mu);
	if (start_detached(watch_main, w))
		return;
	watch_unref(w);
out_fail:
	log_error("pool", "cannot start the watch of the pool's databases");
	watch_stop(m);
}

struct pool_member *pool_member_start(struct event_base *base, struct mailbox *mb, struct store *st,
                                      const struct topology *t, const char *server,
                                      enum pool_db_index db, const struct store_pool_state *initial,
                                      bool unconfirmed, const struct pool_member_ops *ops,
                                      void *arg)
{
	struct pool_member *m = xcalloc(1, sizeof(*m));
	struct timeval tv = {1, 0};

	m->unconfirmed = unconfirmed;
	m->reachable[0] = m->reachable[1] = true; /* pchatd logged what it could not read */
	m->topo = *t;
	str_copy(m->server, server, sizeof m->server);
	m->db = db;
	m->st = st;
	m->ops = *ops;
	m->arg = arg;
	m->started_ms = time_now_ms();
	apply(m, initial, true);
	m->timer = event_new(base, -1, EV_PERSIST, on_timer, m);
	event_add(m->timer, &tv);
	on_timer(-1, 0, m); /* the first heartbeat now: pchatctl sees the server at once */
	watch_start(m, mb);
	return m;
}

void pool_member_stop(struct pool_member *m)
{
	if (!m)
		return;
	m->stopped = true;
	if (m->timer)
		event_del(m->timer);
	watch_stop(m);
}

void pool_member_free(struct pool_member *m)
{
	if (!m)
		return;
	if (m->timer)
		event_free(m->timer);
	watch_stop(m);
	store_pool_state_free(&m->last);
	free(m);
}

bool pool_member_db_reachable(const struct pool_member *m)
{
	return m && m->reachable[m->db];
}
