/*
 * pool.c — the state logic of a pool shared by pchatd and pchatctl: the
 * database a state designates, the database in use, who is active, and the
 * active-list commands (pool.h).
 *
 * Deliberately not here: the heartbeat timer of pchatd (member.c), the
 * topology file (topology.c), and anything that writes (pchatctl decides
 * where to write; this file only computes).
 */
#include "pool/pool.h"

#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Read the row of one database into v (opening it unless already open). */
static void read_one(const struct topo_db *db, struct store *const *open, struct pool_view *v,
                     enum pool_db_index i)
{
	struct store *st;
	int rc;

	if (open && !open[i]) {
		snprintf(v->error[i], sizeof v->error[i], "not connected");
		return; /* the caller tried to open it */
	}
	st = open ? open[i] : pool_db_open(db->url, v->error[i], sizeof v->error[i]);
	if (!st)
		return;
	rc = store_pool_get(store_direct(st), &v->row[i]);
	if (rc == 0)
		v->reachable[i] = true;
	else
		snprintf(v->error[i], sizeof v->error[i], "cannot read the pool state: %s",
		         store_strerror(rc));
	if (!open)
		store_close(st);
}

void pool_read(const struct topology *t, struct store *const open[2], struct pool_view *v)
{
	const struct topo_db *dbs[2] = {&t->primary, &t->backup};
	int best = -1;

	memset(v, 0, sizeof(*v));
	for (int i = 0; i < 2; i++) {
		read_one(dbs[i], open, v, (enum pool_db_index)i);
		if (v->reachable[i] && (best < 0 || v->row[i].generation > v->row[best].generation))
			best = i;
	}
	v->any = best >= 0;
	v->from = best;
	v->use = POOL_PRIMARY;
	if (best >= 0) {
		v->generation = v->row[best].generation;
		v->use = pool_db_for_state(v->row[best].state);
	}
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

		if (!stale(v, i))
			continue;
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
