/*
 * pool.c — pchatctl pool status|state|active: the servers of a pool, its
 * state (normal or failed-over: which database is in use) and its active
 * servers (Lync's Set-CsPersistentChatState and
 * Set-CsPersistentChatActiveServer, -Swap included).
 *
 * Every command reads the topology (--topology FILE, or [pool] topology of
 * the configuration), opens both databases it names and reads their control
 * rows: the highest generation decides the database in use. Changes write
 * generation + 1 (compare-and-set), and every running pchatd applies them
 * within 2 seconds.
 *
 * Deliberately not here: the rules (src/pool/pool.c, shared with pchatd),
 * failover and failback steps (issue 6), and SQL.
 */
#include "ctl/ctl.h"

#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "pool/pool.h"
#include "store/store.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_TOPOLOGY = 400, OPT_FORCE, OPT_LOW_LATENCY };

/* One pool command's state: options, the topology, both databases. */
struct pool_ctx {
	const char *topology;  /* --topology FILE */
	bool force;            /* --force */
	bool low_latency;      /* --low-latency-link */
	struct topology topo;  /* the topology read */
	struct store *db[2];   /* the databases opened (NULL = unreachable) */
	struct pool_view view; /* their rows */
};

static int on_pool_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct pool_ctx *p = arg;

	switch (val) {
	case OPT_TOPOLOGY:
		p->topology = optarg;
		return CTL_EXIT_OK;
	case OPT_FORCE:
		p->force = true;
		return CTL_EXIT_OK;
	case OPT_LOW_LATENCY:
		p->low_latency = true;
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

/*
 * Read the topology, open both databases at once and read their rows:
 * prefer (a pool state's target, -1 for none) and the database in use are
 * waited for as long as connecting takes, the other at most
 * POOL_PEER_WAIT_MS (pool_open_read): a data center cut off by a partition
 * costs a second, not a connect timeout.
 */
static int pool_open(struct ctl *ctx, struct pool_ctx *p, int prefer)
{
	const char *path = p->topology ? p->topology : ctx->cfg.pool_topology;
	char err[1200];

	if (!path[0])
		return ctl_fail(ctx, CTL_EXIT_CONFIG,
		                "no topology: pass --topology FILE or set [pool] topology in the "
		                "configuration given with -c (docs/deployment.md)");
	if (topo_load(&p->topo, path, err, sizeof err) != 0)
		return ctl_fail(ctx, CTL_EXIT_CONFIG, "%s (fix the topology file)", err);
	pool_open_read(&p->topo, prefer, POOL_PEER_WAIT_MS, p->db, &p->view);
	/* whoever reads both databases fences a stale primary (docs/architecture.md) */
	pool_fence_stale(&p->topo, p->db, &p->view, "pchatctl");
	if (!p->view.any)
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "no database of pool %s can be read (check the topology's urls and "
		                "that PostgreSQL runs)",
		                p->topo.name);
	return CTL_EXIT_OK;
}

static void pool_close(struct pool_ctx *p)
{
	pool_view_free(&p->view);
	for (int i = 0; i < 2; i++)
		store_close(p->db[i]);
}

/* The row with the highest generation (the one in force). */
static const struct store_pool_state *pool_row(const struct pool_ctx *p)
{
	return &p->view.row[p->view.from];
}

/* Who runs pchatctl, for changed_by. */
static void operator_name(char *out, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	snprintf(out, len, "%s", pw && pw->pw_name ? pw->pw_name : "operator");
}

int ctl_pool_database(struct ctl *ctx)
{
	struct topology *t;
	struct pool_view v;
	char err[1200];
	int rc = CTL_EXIT_OK;

	if (!ctx->cfg.pool_topology[0] || ctx->cfg.db_url[0])
		return CTL_EXIT_OK;
	t = xmalloc(sizeof(*t));
	if (topo_load(t, ctx->cfg.pool_topology, err, sizeof err) != 0) {
		rc = ctl_fail(ctx, CTL_EXIT_CONFIG, "%s (fix the topology file)", err);
		goto out_free;
	}
	pool_read(t, &v);
	str_copy(ctx->cfg.db_url, topo_db(t, pool_db_name(v.use))->url, sizeof ctx->cfg.db_url);
	pool_view_free(&v);
out_free:
	free(t);
	return rc;
}

/* --- status ------------------------------------------------------------------ */

/* The heartbeat row of name among v (n), or NULL. */
static const struct store_server *beat_of(const struct store_server *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (str_ieq(v[i].name, name))
			return &v[i];
	return NULL;
}

static json_t *server_json(const struct store_server *b, const char *name, const char *dc,
                           bool in_topology, int64_t now)
{
	bool reachable = b && now - b->seen_ms <= POOL_SEEN_MS;

	return json_pack(
	    "{s:s, s:s?, s:b, s:b, s:b, s:i, s:s, s:I, s:I, s:I}", "name", name, "datacenter", dc,
	    "in_topology", in_topology, "reachable", reachable, "active",
	    b && reachable && b->active, "clients", b ? b->clients : 0, "database",
	    b ? b->database : "", "generation", (json_int_t)(b ? b->generation : 0), "started_ms",
	    (json_int_t)(b ? b->started_ms : 0), "seen_ms", (json_int_t)(b ? b->seen_ms : 0));
}

static void server_line(const json_t *s)
{
	bool reach = json_is_true(json_object_get(s, "reachable"));
	const char *dc = json_string_value(json_object_get(s, "datacenter"));

	printf("  %-16s %-10s %-11s %-6s clients %-6lld database %-8s generation %-5lld %s%s\n",
	       json_string_value(json_object_get(s, "name")), dc ? dc : "-",
	       reach ? "reachable" : "unreachable",
	       !reach                                       ? "-"
	       : json_is_true(json_object_get(s, "active")) ? "active"
	                                                    : "idle",
	       (long long)json_integer_value(json_object_get(s, "clients")),
	       json_string_value(json_object_get(s, "database"))[0]
	           ? json_string_value(json_object_get(s, "database"))
	           : "-",
	       (long long)json_integer_value(json_object_get(s, "generation")),
	       json_integer_value(json_object_get(s, "started_ms"))
	           ? ctl_time(json_integer_value(json_object_get(s, "started_ms")))
	           : "never seen",
	       json_is_true(json_object_get(s, "in_topology"))
	           ? ""
	           : "  NOT IN THE TOPOLOGY (stale configuration?)");
}

/* One JSON object per topology server, then the heartbeating strangers. */
static json_t *servers_json(const struct pool_ctx *p, const struct store_server *v, size_t n)
{
	json_t *arr = json_array();
	int64_t now = time_now_ms();

	for (int i = 0; i < p->topo.n_servers; i++) {
		const struct topo_server *s = &p->topo.servers[i];

		json_array_append_new(
		    arr, server_json(beat_of(v, n, s->name), s->name, s->datacenter, true, now));
	}
	for (size_t i = 0; i < n; i++)
		if (!topo_server(&p->topo, v[i].name))
			json_array_append_new(arr, server_json(&v[i], v[i].name, NULL, false, now));
	return arr;
}

static json_t *status_json(const struct pool_ctx *p, json_t *servers)
{
	const struct store_pool_state *r = pool_row(p);
	enum pool_db_index use = p->view.use;
	json_t *dbs = json_object();

	for (int i = 0; i < 2; i++)
		json_object_set_new(
		    dbs, pool_db_name((enum pool_db_index)i),
		    json_pack("{s:s, s:b, s:I, s:s}", "datacenter",
		              i == POOL_PRIMARY ? p->topo.primary.datacenter
		                                : p->topo.backup.datacenter,
		              "reachable", p->view.reachable[i], "generation",
		              (json_int_t)(p->view.reachable[i] ? p->view.row[i].generation : 0),
		              "error", p->view.reachable[i] ? "" : p->view.error[i]));
	return json_pack("{s:s, s:I, s:s, s:s, s:b, s:I, s:s, s:s, s:o, s:o}", "pool", p->topo.name,
	                 "generation", (json_int_t)r->generation, "state", r->state, "active",
	                 r->active, "fenced", r->fenced, "changed_ms", (json_int_t)r->changed_ms,
	                 "changed_by", r->changed_by, "database", pool_db_name(use), "databases",
	                 dbs, "servers", servers);
}

static void status_text(const struct pool_ctx *p, json_t *servers)
{
	const struct store_pool_state *r = pool_row(p);
	enum pool_db_index use = p->view.use;
	size_t i;
	json_t *s;

	printf("pool:       %s\n", p->topo.name);
	printf("state:      %s (generation %lld)%s\n", r->state, (long long)r->generation,
	       r->fenced ? " FENCED" : "");
	printf("database:   %s in data center %s\n", pool_db_name(use),
	       use == POOL_PRIMARY ? p->topo.primary.datacenter : p->topo.backup.datacenter);
	printf("active:     %s\n", r->generation == 0 && !r->active[0]
	                               ? "every server (no list set yet)"
	                           : r->active[0] ? r->active
	                                          : "none");
	printf("changed:    %s by %s\n", r->changed_ms ? ctl_time(r->changed_ms) : "never",
	       r->changed_by[0] ? r->changed_by : "-");
	for (int k = 0; k < 2; k++)
		printf("%-11s %-8s %s, generation %lld%s%s\n", k == 0 ? "databases:" : "",
		       pool_db_name((enum pool_db_index)k),
		       p->view.reachable[k] ? "reachable" : "UNREACHABLE",
		       (long long)(p->view.reachable[k] ? p->view.row[k].generation : 0),
		       p->view.reachable[k] ? "" : ": ",
		       p->view.reachable[k] ? "" : p->view.error[k]);
	printf("servers:\n");
	json_array_foreach(servers, i, s) server_line(s);
}

static int pool_status_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"topology", required_argument, NULL, OPT_TOPOLOGY},
	                                     {NULL, 0, NULL, 0}};
	struct pool_ctx p = {0};
	struct store_server *v = NULL;
	size_t n = 0;
	json_t *servers;
	int rc, use;

	rc = ctl_parse(ctx, argc, argv, opts, on_pool_opt, &p, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = pool_open(ctx, &p, -1);
	if (rc != CTL_EXIT_OK)
		goto out_close;
	use = p.db[p.view.use] ? (int)p.view.use : p.view.from;
	if (p.db[use] && store_server_list(store_direct(p.db[use]), &v, &n) != 0)
		fprintf(stderr, "pchatctl: cannot list the servers' heartbeats\n");
	servers = servers_json(&p, v, n);
	if (ctx->json)
		ctl_json_out(status_json(&p, servers));
	else {
		status_text(&p, servers);
		json_decref(servers);
	}
	free(v);
out_close:
	pool_close(&p);
	return rc;
}

/* --- state ------------------------------------------------------------------- */

/* Write row into database i; a message naming it on failure. */
static int write_row(struct ctl *ctx, struct pool_ctx *p, enum pool_db_index i,
                     const struct store_pool_state *row)
{
	int rc;

	if (!p->db[i])
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "the %s database is unreachable: %s (the pool state is written "
		                "into the database it designates)",
		                pool_db_name(i), p->view.error[i]);
	rc = store_pool_set(store_direct(p->db[i]), row);
	if (rc == STORE_EBUSY)
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "another change of the pool state got there first: run the "
		                "command again");
	if (rc != 0)
		return ctl_fail(
		    ctx, CTL_EXIT_DATABASE,
		    "cannot write the pool state into the %s database: it is read-only "
		    "or failing (%s); a standby in recovery is promoted by the failover "
		    "first",
		    pool_db_name(i), store_strerror(rc));
	return CTL_EXIT_OK;
}

static int pool_state_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"topology", required_argument, NULL, OPT_TOPOLOGY},
	                                     {"force", no_argument, NULL, OPT_FORCE},
	                                     {NULL, 0, NULL, 0}};
	struct pool_ctx p = {0};
	struct store_pool_state row;
	char *pos[1] = {NULL};
	enum pool_db_index target, other;
	bool both;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_pool_opt, &p, pos, 1, 1);
	if (rc == CTL_EXIT_OK && strcmp(pos[0], "normal") != 0 &&
	    strcmp(pos[0], "failed-over") != 0)
		rc = ctl_usage(ctx, "expected normal or failed-over, not '%s'", pos[0]);
	/* the database the new state designates is the one that matters (a failover: the backup) */
	if (rc == CTL_EXIT_OK)
		rc = pool_open(ctx, &p, (int)pool_db_for_state(pos[0]));
	if (rc != CTL_EXIT_OK)
		goto out_close;
	if (strcmp(pool_row(&p)->state, pos[0]) == 0 && !p.force) {
		printf("pool %s is already %s (generation %lld); --force writes it again\n",
		       p.topo.name, pos[0], (long long)p.view.generation);
		goto out_close;
	}
	row = *pool_row(&p);
	row.generation = p.view.generation + 1;
	str_copy(row.state, pos[0], sizeof row.state);
	row.fenced = false;
	row.fenced_generation = 0;
	row.changed_ms = time_now_ms();
	operator_name(row.changed_by, sizeof row.changed_by);
	target = pool_db_for_state(pos[0]);
	other = target == POOL_PRIMARY ? POOL_BACKUP : POOL_PRIMARY;
	rc = write_row(ctx, &p, target, &row);
	if (rc != CTL_EXIT_OK)
		goto out_close;
	/* the other database too when it takes writes (not a standby) */
	both = p.db[other] && store_pool_set(store_direct(p.db[other]), &row) == 0;
	if (ctx->json)
		ctl_json_out(json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:b}", "pool", p.topo.name,
		                       "old_state", pool_row(&p)->state, "state", row.state,
		                       "old_generation", (json_int_t)p.view.generation,
		                       "generation", (json_int_t)row.generation, "database",
		                       pool_db_name(target), "written_to_both", both));
	else
		printf(
		    "pool %s: %s -> %s, generation %lld -> %lld (written to the %s database%s)\n",
		    p.topo.name, pool_row(&p)->state, row.state, (long long)p.view.generation,
		    (long long)row.generation, pool_db_name(target),
		    both ? " and the other one" : "");
out_close:
	pool_close(&p);
	return rc;
}

/* --- active ------------------------------------------------------------------ */

/* Split "a,b" arguments into names (pointers into argv, which is modified). */
static size_t split_names(char **pos, size_t npos, char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < npos && pos[i]; i++)
		for (char *tok = strtok(pos[i], ","); tok && n < max; tok = strtok(NULL, ","))
			names[n++] = tok;
	return n;
}

static int active_write(struct ctl *ctx, struct pool_ctx *p, enum pool_active_op op, char **names,
                        size_t n)
{
	const struct store_pool_state *cur = pool_row(p);
	struct store_pool_state row = *cur;
	char list[STORE_POOL_ACTIVE_MAX + 1], err[512];
	int rc;

	for (size_t i = 0; i < n; i++)
		if (!topo_server(&p->topo, names[i]))
			return ctl_fail(ctx, CTL_EXIT_NOTFOUND,
			                "%s is not a server of pool %s (see the topology %s)",
			                names[i], p->topo.name, p->topo.path);
	if (pool_active_compute(&p->topo, cur, op, names, n, p->low_latency, list, sizeof list, err,
	                        sizeof err) != 0)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "%s", err);
	row.generation = p->view.generation + 1;
	row.active = list;
	row.changed_ms = time_now_ms();
	operator_name(row.changed_by, sizeof row.changed_by);
	rc = write_row(ctx, p, p->view.use, &row);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctx->json)
		return ctl_json_out(json_pack("{s:s, s:s, s:s, s:I, s:I}", "pool", p->topo.name,
		                              "old_active", cur->active, "active", list,
		                              "old_generation", (json_int_t)p->view.generation,
		                              "generation", (json_int_t)row.generation));
	printf("pool %s: active servers %s -> %s, generation %lld -> %lld\n", p->topo.name,
	       cur->generation == 0 && !cur->active[0] ? "(every server)"
	       : cur->active[0]                        ? cur->active
	                                               : "(none)",
	       list[0] ? list : "(none)", (long long)p->view.generation, (long long)row.generation);
	return CTL_EXIT_OK;
}

/* The operation of each subcommand word. */
static enum pool_active_op active_op(const struct ctl *ctx)
{
	const char *w = ctx->path[ctx->depth - 1];

	if (strcmp(w, "set") == 0)
		return POOL_ACTIVE_SET;
	if (strcmp(w, "add") == 0)
		return POOL_ACTIVE_ADD;
	if (strcmp(w, "remove") == 0)
		return POOL_ACTIVE_REMOVE;
	if (strcmp(w, "clear") == 0)
		return POOL_ACTIVE_CLEAR;
	return POOL_ACTIVE_SWAP;
}

static int pool_active_cmd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"topology", required_argument, NULL, OPT_TOPOLOGY},
	    {"low-latency-link", no_argument, NULL, OPT_LOW_LATENCY},
	    {NULL, 0, NULL, 0}};
	enum pool_active_op op = active_op(ctx);
	bool takes = op == POOL_ACTIVE_SET || op == POOL_ACTIVE_ADD || op == POOL_ACTIVE_REMOVE;
	struct pool_ctx p = {0};
	char *pos[TOPO_MAX_SERVERS] = {NULL}, *names[TOPO_MAX_SERVERS];
	size_t n;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_pool_opt, &p, pos, takes ? 1 : 0,
	               takes ? TOPO_MAX_SERVERS : 0);
	if (rc != CTL_EXIT_OK)
		return rc;
	n = split_names(pos, TOPO_MAX_SERVERS, names, TOPO_MAX_SERVERS);
	rc = pool_open(ctx, &p, -1);
	if (rc == CTL_EXIT_OK)
		rc = active_write(ctx, &p, op, names, n);
	pool_close(&p);
	return rc;
}

#define POOL_OPTS_HELP "    --topology FILE    the topology (default: [pool] topology of -c FILE)\n"

static const struct ctl_cmd active_cmds[] = {
    {"set", "make exactly these servers active",
     " SERVER[,SERVER...] [--low-latency-link] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    The listed servers accept new clients; every other server of the pool\n"
     "    refuses them (its connected clients stay). Every server must be in the\n"
     "    data center of the database in use, unless --low-latency-link.\n\n"
     "OPTIONS\n" POOL_OPTS_HELP "    --low-latency-link allow servers of the other data center\n\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat.ini pool active set a1,a2\n",
     pool_active_cmd, NULL},
    {"add", "make servers active too",
     " SERVER... [--low-latency-link] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Add servers to the active list (same data-center rule as set).\n\n"
     "OPTIONS\n" POOL_OPTS_HELP "    --low-latency-link allow servers of the other data center\n",
     pool_active_cmd, NULL},
    {"remove", "make servers idle",
     " SERVER... [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Remove servers from the active list: they refuse new clients within 2\n"
     "    seconds and keep the clients they have.\n\n"
     "OPTIONS\n" POOL_OPTS_HELP,
     pool_active_cmd, NULL},
    {"clear", "make every server idle",
     " [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Empty the active list: no server accepts new clients.\n\n"
     "OPTIONS\n" POOL_OPTS_HELP,
     pool_active_cmd, NULL},
    {"swap", "make the idle servers active and the active ones idle",
     " [--low-latency-link] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Lync's Set-CsPersistentChatActiveServer -Swap: the active list becomes\n"
     "    every server of the topology that is not active now (used to move\n"
     "    service to the other data center after a failover).\n\n"
     "OPTIONS\n" POOL_OPTS_HELP "    --low-latency-link allow servers of the other data center\n",
     pool_active_cmd, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct ctl_cmd ctl_pool_cmds[] = {
    {"status", "show the pool: state, database in use, every server",
     " [--topology FILE]\n"
     "DESCRIPTION\n"
     "    The control row of the database in use (generation, state, active\n"
     "    servers, who changed it and when), each database's reachability, then\n"
     "    one line per server of the topology: reachable (a heartbeat within 5\n"
     "    s), active or idle, clients, the database it uses, the generation it\n"
     "    obeys and when it started. Servers heartbeating that the topology does\n"
     "    not list are flagged (a stale configuration).\n\n"
     "OPTIONS\n" POOL_OPTS_HELP "\n"
     "EXAMPLES\n"
     "    pchatctl -c pchat.ini pool status\n"
     "    pchatctl --json pool status --topology /etc/pchat/topology.ini\n",
     pool_status_cmd, NULL},
    {"state", "set the pool state: normal (primary) or failed-over (backup)",
     " normal|failed-over [--force] [--topology FILE]\n"
     "DESCRIPTION\n"
     "    Lync's Set-CsPersistentChatState. Writes generation + 1 with the new\n"
     "    state into the database the new state designates (normal: primary,\n"
     "    failed-over: backup), and into the other one too when it takes writes.\n"
     "    Refused when that database is unreachable or read-only (a standby:\n"
     "    the failover promotes it first). Servers using the other database go\n"
     "    idle until restarted.\n\n"
     "OPTIONS\n" POOL_OPTS_HELP "    --force            write even when the state is unchanged\n",
     pool_state_cmd, NULL},
    {"active", "choose the servers that accept new clients",
     "\n"
     "DESCRIPTION\n"
     "    Lync's Set-CsPersistentChatActiveServer. A pool whose list was never set\n"
     "    has every server active; once set, exactly the listed servers are.\n",
     NULL, active_cmds},
    {NULL, NULL, NULL, NULL, NULL},
};
