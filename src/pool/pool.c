/*
 * pool.c — the state logic of a pool shared by pchatd and pchatctl: the
 * database a state designates, the database in use, who is active, and the
 * active-list commands (pool.h); reading the control rows of both
 * databases at once, a thread each, so that a data center cut off by a
 * partition (its packets dropped: every connection attempt waits libpq's
 * whole connect_timeout) costs POOL_PEER_WAIT_MS, not seconds per attempt;
 * and the fence.
 *
 * Deliberately not here: the heartbeat timer of pchatd (member.c), the
 * topology file (topology.c), and writing the pool state (pchatctl
 * decides where to write; the fence is the one write here).
 */
#include "pool/pool.h"

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *pool_db_name(enum pool_db_index i)
{
	return i == POOL_BACKUP ? "backup" : "primary";
}

enum pool_db_index pool_db_for_state(const char *state)
{
	return strcmp(state, "failed-over") == 0 ? POOL_BACKUP : POOL_PRIMARY;
}

/* Whether the comma-separated list holds name (ASCII case-insensitive). */
static bool list_has(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		size_t w = strcspn(p, ",");

		if (w == len && strncasecmp(p, name, len) == 0)
			return true;
		p += w + (p[w] == ',');
	}
	return false;
}

bool pool_server_active(const struct store_pool_state *st, const char *server)
{
	const char *list = st->active ? st->active : "";

	if (st->generation == 0 && list[0] == '\0')
		return true; /* a new pool: every server serves */
	return list_has(list, server);
}

struct store *pool_db_open(const char *url, char *err, size_t errlen)
{
	struct store_options o = {.url = url, .n_readers = 1, .create = true, .quiet = true};

	return store_open(&o, err, errlen);
}

void pool_view_decide(struct pool_view *v)
{
	int best = -1;

	for (int i = 0; i < 2; i++)
		if (v->reachable[i] && (best < 0 || v->row[i].generation > v->row[best].generation))
			best = i;
	v->any = best >= 0;
	v->from = best;
	v->use = POOL_PRIMARY;
	v->generation = 0;
	if (best >= 0) {
		v->generation = v->row[best].generation;
		v->use = pool_db_for_state(v->row[best].state);
	}
}

void pool_read(const struct topology *t, struct pool_view *v)
{
	struct store *open[2] = {NULL, NULL};

	pool_open_read(t, -1, POOL_PEER_WAIT_MS, open, v);
	for (int i = 0; i < 2; i++)
		store_close(open[i]);
}

/* --- reading both databases at once ------------------------------------------ */

/*
 * One database's open and read on a thread of its own, shared with the
 * caller of pool_open_read under mu of its struct pool_probes. Whoever lets
 * go last frees: the caller when the thread answered in time, the thread
 * when the caller stopped waiting (it then closes what it opened).
 */
struct pool_probe {
	char url[CONFIG_PATH_MAX];   /* the database (copied: the topology may go first) */
	struct store *st;            /* opened (NULL: could not) */
	struct store_pool_state row; /* its row when read (owned) */
	bool read;                   /* row holds the row */
	char error[512];             /* why not */
	bool done;                   /* the thread finished */
};

struct pool_probes {
	pthread_mutex_t mu;      /* guards done and refs */
	pthread_cond_t cv;       /* signalled when a probe is done */
	int refs;                /* the caller and each thread still running */
	struct pool_probe db[2]; /* by enum pool_db_index */
};

static void probes_unref(struct pool_probes *p)
{
	bool last;

	pthread_mutex_lock(&p->mu);
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (!last)
		return;
	for (int i = 0; i < 2; i++) {
		store_close(p->db[i].st);
		store_pool_state_free(&p->db[i].row);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

/* Open and read one database (on its thread, or inline when none could start). */
static void probe_run(struct pool_probe *b)
{
	int rc;

	b->st = pool_db_open(b->url, b->error, sizeof b->error);
	if (!b->st)
		return;
	rc = store_pool_get(store_direct(b->st), &b->row);
	if (rc == 0)
		b->read = true;
	else
		snprintf(b->error, sizeof b->error, "cannot read the pool state: %s",
		         store_strerror(rc));
}

/* A probe thread's argument. */
struct probe_arg {
	struct pool_probes *p; /* the pair */
	int i;                 /* which one */
};

static void *probe_main(void *arg)
{
	struct probe_arg a = *(struct probe_arg *)arg;
	struct pool_probe *b = &a.p->db[a.i];

	free(arg);
	probe_run(b);
	pthread_mutex_lock(&a.p->mu);
	b->done = true;
	pthread_cond_broadcast(&a.p->cv);
	pthread_mutex_unlock(&a.p->mu);
	probes_unref(a.p); /* the last one (caller gone) closes what was opened */
	return NULL;
}

/*
 * The database to wait for without a deadline: prefer when given, else the
 * one the highest generation read so far designates (-1: nothing read yet).
 */
static int awaited(const struct pool_probes *p, int prefer)
{
	int best = -1;

	if (prefer >= 0)
		return prefer;
	for (int i = 0; i < 2; i++)
		if (p->db[i].done && p->db[i].read &&
		    (best < 0 || p->db[i].row.generation > p->db[best].row.generation))
			best = i;
	return best < 0 ? -1 : (int)pool_db_for_state(p->db[best].row.state);
}

/* Wait (under mu) until both answered, or the awaited one did and the other's time is up. */
static void probes_wait(struct pool_probes *p, int prefer, int other_wait_ms)
{
	int64_t until = time_mono_ms() + other_wait_ms;

	while (!(p->db[0].done && p->db[1].done)) {
		int d = awaited(p, prefer);
		int64_t now = time_mono_ms();
		struct timespec ts;

		if (d >= 0 && p->db[d].done && now >= until)
			break;
		if (d < 0 || !p->db[d].done) {
			pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)((until - now) % 1000) * 1000000L;
		ts.tv_sec += (time_t)((until - now) / 1000) + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
}

void pool_open_read(const struct topology *t, int prefer, int other_wait_ms, struct store *open[2],
                    struct pool_view *v)
{
	const struct topo_db *dbs[2] = {&t->primary, &t->backup};
	struct pool_probes *p = xcalloc(1, sizeof(*p));

	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->refs = 1;
	for (int i = 0; i < 2; i++) {
		struct probe_arg *a = xmalloc(sizeof(*a));
		pthread_t th;

		str_copy(p->db[i].url, dbs[i]->url, sizeof p->db[i].url);
		*a = (struct probe_arg){p, i};
		p->refs++;
		if (pthread_create(&th, NULL, probe_main, a) == 0) {
			pthread_detach(th);
			continue;
		}
		p->refs--; /* no thread: the probe runs here */
		free(a);
		probe_run(&p->db[i]);
		p->db[i].done = true;
	}
	pthread_mutex_lock(&p->mu);
	probes_wait(p, prefer, other_wait_ms);
	for (int i = 0; i < 2; i++) {
		struct pool_probe *b = &p->db[i];

		open[i] = NULL;
		if (!b->done) {
			if (other_wait_ms > 0)
				snprintf(v->error[i], sizeof v->error[i],
				         "no answer within %.1f s (cut off by a partition?)",
				         other_wait_ms / 1000.0);
			else
				str_copy(v->error[i], "not waited for", sizeof v->error[i]);
			continue; /* its thread closes what it opens */
		}
		str_copy(v->error[i], b->error, sizeof v->error[i]);
		if (b->read) {
			open[i] = b->st;
			b->st = NULL;
			v->row[i] = b->row;
			b->row.active = NULL; /* moved */
			v->reachable[i] = true;
		}
	}
	pthread_mutex_unlock(&p->mu);
	probes_unref(p);
	pool_view_decide(v);
}

/* Whether v shows database i as a stale primary: its own row designates it, a newer one not. */
static bool stale(const struct pool_view *v, int i)
{
	const struct store_pool_state *r = &v->row[i];

	return v->reachable[i] && v->from >= 0 && v->from != i && r->generation < v->generation &&
	       pool_db_for_state(v->row[v->from].state) != (enum pool_db_index)i &&
	       pool_db_for_state(r->state) == (enum pool_db_index)i &&
	       (!r->fenced || r->fenced_generation < v->generation);
}

int pool_fence_stale(const struct topology *t, struct store *const open[2], struct pool_view *v,
                     const char *by)
{
	const struct topo_db *dbs[2] = {&t->primary, &t->backup};
	int n = 0;

	for (int i = 0; i < 2; i++) {
		char err[512];
		struct store *st;
		int rc;

		if (!stale(v, i) || (open && !open[i]))
			continue; /* not stale, or read by another connection than the caller's */
		st = open ? open[i] : pool_db_open(dbs[i]->url, err, sizeof err);
		rc = st ? store_pool_fence(store_direct(st), v->generation, by) : STORE_EIO;
		if (!open)
			store_close(st);
		if (rc == 0) {
			log_warn("pool",
			         "pool %s: the %s database was in use before generation %lld: "
			         "fenced (read-only, its pchat sessions ended)",
			         t->name, pool_db_name((enum pool_db_index)i),
			         (long long)v->generation);
			v->row[i].fenced = true;
			v->row[i].fenced_generation = v->generation;
			n++;
		} else if (rc != STORE_EBUSY) {
			log_error("pool", "pool %s: cannot fence the stale %s database: %s",
			          t->name, pool_db_name((enum pool_db_index)i),
			          st ? store_strerror(rc) : err);
		}
	}
	return n;
}

void pool_view_free(struct pool_view *v)
{
	for (int i = 0; i < 2; i++)
		store_pool_state_free(&v->row[i]);
}

bool pool_decide(const struct topology *t, const struct store_pool_state *st, const char *server,
                 enum pool_db_index db, char *reason, size_t reason_len)
{
	enum pool_db_index want = pool_db_for_state(st->state);

	if (want != db) {
		snprintf(reason, reason_len,
		         "this server is idle in pool %s (the pool state is %s: the %s database is "
		         "in use, this server uses the %s): connect to another server of the pool",
		         t->name, st->state, pool_db_name(want), pool_db_name(db));
		return false;
	}
	if (st->fenced) {
		snprintf(reason, reason_len,
		         "this server is idle in pool %s (its database was fenced by generation "
		         "%lld): connect to another server of the pool",
		         t->name, (long long)st->fenced_generation);
		return false;
	}
	if (!pool_server_active(st, server)) {
		snprintf(reason, reason_len,
		         "this server is idle in pool %s (not an active server): connect to "
		         "another server of the pool",
		         t->name);
		return false;
	}
	if (reason_len > 0)
		reason[0] = '\0';
	return true;
}

/* --- active lists ----------------------------------------------------------- */

/* Check every name against the topology; -1 with a message for the first unknown. */
static int names_known(const struct topology *t, char *const *names, size_t n, char *err,
                       size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (topo_server(t, names[i]))
			continue;
		snprintf(err, errlen,
		         "%s is not a server of pool %s (the topology %s lists its servers)",
		         names[i], t->name, t->path);
		return -1;
	}
	return 0;
}

/* Whether the i-th topology server is in the new list. */
static bool chosen(const struct topology *t, int i, const struct store_pool_state *cur,
                   enum pool_active_op op, char *const *names, size_t n)
{
	const char *s = t->servers[i].name;
	bool named = false, now = pool_server_active(cur, s);

	for (size_t k = 0; k < n; k++)
		named = named || str_ieq(names[k], s);
	switch (op) {
	case POOL_ACTIVE_SET:
		return named;
	case POOL_ACTIVE_ADD:
		return now || named;
	case POOL_ACTIVE_REMOVE:
		return now && !named;
	case POOL_ACTIVE_SWAP:
		return !now;
	default:
		return false;
	}
}

/*
 * Whether the data-center rule refuses making s active: set and swap choose
 * the whole list, add answers only for what it adds; remove and clear make
 * no server active.
 */
static bool dc_refused(const struct topo_server *s, const struct topo_db *db,
                       const struct store_pool_state *cur, enum pool_active_op op, bool low_latency)
{
	if (low_latency || str_ieq(s->datacenter, db->datacenter))
		return false;
	if (op == POOL_ACTIVE_SET || op == POOL_ACTIVE_SWAP)
		return true;
	return !pool_server_active(cur, s->name);
}

int pool_active_compute(const struct topology *t, const struct store_pool_state *cur,
                        enum pool_active_op op, char *const *names, size_t n, bool low_latency,
                        char *out, size_t outlen, char *err, size_t errlen)
{
	const struct topo_db *db =
	    pool_db_for_state(cur->state) == POOL_BACKUP ? &t->backup : &t->primary;
	size_t len = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (names_known(t, names, n, err, errlen) != 0)
		return -1;
	for (int i = 0; i < t->n_servers; i++) {
		const struct topo_server *s = &t->servers[i];

		if (!chosen(t, i, cur, op, names, n))
			continue;
		if (dc_refused(s, db, cur, op, low_latency)) {
			snprintf(err, errlen,
			         "%s is in data center %s, but the database in use (%s) is in %s: "
			         "active servers must be in the database's data center (add "
			         "--low-latency-link if the link between them is fast)",
			         s->name, s->datacenter,
			         pool_db_name(pool_db_for_state(cur->state)), db->datacenter);
			return -1;
		}
		if (str_appendf(out, outlen, &len, "%s%s", len ? "," : "", s->name) != 0) {
			snprintf(err, errlen, "the active list is too long");
			return -1;
		}
	}
	return 0;
}
