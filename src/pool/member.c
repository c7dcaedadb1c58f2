/*
 * member.c — pchatd as a member of a pool: every second a write job for
 * its heartbeat (store_server_beat) and a read job for the control row
 * (store_pool_get); a change of the row is applied on the loop thread as
 * soon as the read completes, so a change reaches the server within about
 * a second (2 s at worst) without a restart.
 *
 * The loop never waits: both are store jobs, at most one of each in
 * flight, and their completions touch only the member (which outlives the
 * store: pool_member_free after store_close). A failed read keeps the last
 * status (a database hiccup must not flip every server idle); the store
 * logs the failure itself.
 *
 * Deliberately not here: refusing clients (the server's status callback
 * does that through the IRC layer) and switching databases at run time
 * (issue 6: a state that designates the other database makes this server
 * idle, with an error logged once).
 */
#include "pool/pool.h"

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

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
	bool changed = first || active != m->active || strcmp(reason, m->reason) != 0;

	if (st->generation != m->generation || first)
		log_info("pool", "pool %s: generation %lld, state %s, active servers: %s",
		         m->topo.name, (long long)st->generation, st->state,
		         st->active && st->active[0] ? st->active : "(every server)");
	m->generation = st->generation;
	if (!changed)
		return;
	m->active = active;
	str_copy(m->reason, reason, sizeof m->reason);
	if (pool_db_for_state(st->state) != m->db)
		log_error("pool",
		          "pool %s is %s: the %s database is in use but this server uses "
		          "the %s; idle until restarted (failover is issue 6's)",
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
	if (!m->beat_busy)
		submit_beat(m);
	if (!m->read_busy) {
		r = xcalloc(1, sizeof(*r));
		r->m = m;
		m->read_busy = true;
		store_submit_read(m->st, read_job, read_done, r);
	}
}

struct pool_member *pool_member_start(struct event_base *base, struct store *st,
                                      const struct topology *t, const char *server,
                                      enum pool_db_index db, const struct store_pool_state *initial,
                                      const struct pool_member_ops *ops, void *arg)
{
	struct pool_member *m = xcalloc(1, sizeof(*m));
	struct timeval tv = {1, 0};

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
	return m;
}

void pool_member_stop(struct pool_member *m)
{
	if (!m)
		return;
	m->stopped = true;
	if (m->timer)
		event_del(m->timer);
}

void pool_member_free(struct pool_member *m)
{
	if (!m)
		return;
	if (m->timer)
		event_free(m->timer);
	free(m);
}
