/*
 * conn.c — PostgreSQL connections: opening (libpq, blocking mode), losing
 * and regaining them (backoff), running prepared statements and mapping
 * their errors, reading columns, transactions and the integrity check.
 *
 * It does not know the data operations (rooms.c, history.c, compliance.c),
 * the schema (schema.c, which also holds pg_migrate) nor threads (store.c):
 * a connection is used by one thread at a time.
 *
 * Statements are prepared on first use under their pg_stmt name and
 * remembered in pc->prepared; prepared statements are per session and
 * survive a ROLLBACK, so the set is emptied only when the session is lost.
 *
 * A lost session (server restart, failover, network) fails the statement
 * that finds it with STORE_EIO and closes the handle; the next BEGIN, or the
 * next statement outside a transaction, reconnects (pg_ensure). Inside a
 * transaction whose session died every statement fails until the caller's
 * COMMIT (STORE_EIO) or ROLLBACK: a transaction is never replayed nor
 * continued on a new session. Only a BEGIN that finds the session dead is
 * retried once on a new session, since nothing of the caller's work was
 * sent yet.
 *
 * Messages name the database by its label (host:port/dbname), never by the
 * conninfo, which may hold a password.
 */
#include "store/pg/pg_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000

/* Settings of every session (the store's commits must be durable: SPEC §4). */
#define PG_SESSION_SQL "SET synchronous_commit = on; SET statement_timeout = '30s'"
/*
 * Writing sessions run the same few inserts thousands of times a second:
 * one generic plan instead of planning each execution (measured: +15%
 * inserts/s, bench_store). Readers keep custom plans, which see the
 * bounds of a history or search query.
 */
#define PG_WRITER_SQL "SET plan_cache_mode = force_generic_plan"

/* The integrity checks: a query returning one integer, the value it must be, what it means. */
struct pg_check_row {
	const char *sql;  /* returns one row, one integer */
	int64_t want;     /* the healthy value */
	const char *what; /* detail line when it differs */
};

static const struct pg_check_row pg_checks[] = {
    {"SELECT count(*) FROM schema_version", 1, "schema_version must hold one row"},
    {"SELECT count(*) FROM counters WHERE name IN ('changes', 'compliance')", 2,
     "counters rows 'changes' and 'compliance' missing"},
    {"SELECT count(*) FROM compliance_state WHERE id = 1", 1, "compliance_state row missing"},
    {"SELECT count(*) FROM messages m LEFT JOIN rooms r ON r.id = m.room_id"
     " WHERE m.room_id IS NOT NULL AND r.id IS NULL",
     0, "messages of rooms that do not exist"},
    {"SELECT count(*) FROM changes WHERE id > (SELECT value FROM counters WHERE name = "
     "'changes')",
     0, "change ids above the 'changes' counter"},
    {"SELECT count(*) FROM compliance_events WHERE id > (SELECT value FROM counters WHERE name "
     "= 'compliance')",
     0, "compliance event ids above the 'compliance' counter"},
};

/* --- labels and messages -------------------------------------------------- */

/* One line of libpq's message (it ends with a newline, may hold several lines). */
static void one_line(const char *msg, char *out, size_t outlen)
{
	str_copy(out, msg ? msg : "", outlen);
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	for (size_t n = strlen(out); n > 0 && out[n - 1] == ' '; n--)
		out[n - 1] = '\0';
}

/* The value of keyword in a parsed conninfo, or NULL. */
static const char *opt_value(const PQconninfoOption *opts, const char *keyword)
{
	for (const PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val && *o->val)
			return o->val;
	return NULL;
}

/* "host:port/dbname" from the target (before a session exists): never the password. */
static void label_from_target(const char *target, char *out, size_t outlen)
{
	PQconninfoOption *opts = PQconninfoParse(target, NULL);
	const char *host = opt_value(opts, "host"), *port = opt_value(opts, "port");
	const char *db = opt_value(opts, "dbname"), *user = opt_value(opts, "user");

	if (!opts) {
		str_copy(out, "postgresql (unparsable conninfo)", outlen);
		return;
	}
	snprintf(out, outlen, "%s:%s/%s", host ? host : "localhost", port ? port : "5432",
	         db ? db : (user ? user : "?"));
	PQconninfoFree(opts);
}

/* The label of a live session: the host it reached (multi-host conninfos). */
static void label_from_session(struct pg_conn *pc)
{
	const char *host = PQhost(pc->db), *port = PQport(pc->db), *db = PQdb(pc->db);

	if (host && *host && port && *port && db && *db)
		snprintf(pc->label, sizeof(pc->label), "%s:%s/%s", host, port, db);
}

/* --- sessions ------------------------------------------------------------- */

/*
 * Forget the session: its prepared statements and transaction die with it.
 * in_tx stays as it was: a transaction whose session died stays open (and
 * every statement in it fails) until the caller's commit or rollback, so
 * that its remaining statements never run outside it on a new session.
 */
static void drop_session(struct pg_conn *pc)
{
	if (pc->db)
		PQfinish(pc->db);
	pc->db = NULL;
	pc->pipelining = false; /* what was sent is lost with the transaction */
	pc->n_pend = 0;
	map_clear(&pc->prepared); /* frees the table too: start a new one */
	map_init(&pc->prepared);
}

/*
 * Open a session: connect_timeout, application_name and the TCP settings
 * come first so that the conninfo's own values (expand_dbname) override them.
 */
static int connect_session(struct pg_conn *pc, char *err, size_t errlen)
{
	static const char *const keys[] = {"connect_timeout", "application_name", PG_TCP_KEYS,
	                                   "dbname", NULL};
	const char *vals[] = {"5", store_client_name(), PG_TCP_VALS, pc->conninfo, NULL};
	char msg[256];
	PGresult *r;

	pc->db = PQconnectdbParams(keys, vals, 1);
	if (!pc->db || PQstatus(pc->db) != CONNECTION_OK) {
		one_line(pc->db ? PQerrorMessage(pc->db) : "out of memory", msg, sizeof(msg));
		snprintf(err, errlen, "database %s: cannot connect: %s", pc->label, msg);
		goto out_drop;
	}
	label_from_session(pc);
	r = PQexec(pc->db, pc->readonly ? PG_SESSION_SQL : PG_SESSION_SQL "; " PG_WRITER_SQL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		one_line(PQresultErrorMessage(r), msg, sizeof(msg));
		snprintf(err, errlen, "database %s: cannot configure the session: %s", pc->label,
		         msg);
		PQclear(r);
		goto out_drop;
	}
	PQclear(r);
	return 0;

out_drop:
	drop_session(pc);
	return STORE_EIO;
}

int pg_open_conn(const char *target, enum store_conn_mode mode, bool create,
                 struct store_conn **out, char *err, size_t errlen)
{
	struct pg_conn *pc = xcalloc(1, sizeof(*pc));
	int rc;

	/* create: the schema is made by pg_migrate; the database itself must exist. */
	(void)create;
	pc->base.be = &store_pg_backend;
	pc->conninfo = xstrdup(target);
	pc->readonly = mode == STORE_CONN_READ;
	map_init(&pc->prepared);
	label_from_target(target, pc->label, sizeof(pc->label));
	if ((rc = connect_session(pc, err, errlen)) != 0) {
		pg_close_conn(&pc->base);
		*out = NULL;
		return rc;
	}
	*out = &pc->base;
	return 0;
}

void pg_close_conn(struct store_conn *c)
{
	struct pg_conn *pc = pg_of(c);

	if (!pc)
		return;
	drop_session(pc);
	map_clear(&pc->prepared);
	free(pc->conninfo);
	free(pc->pend);
	free(pc);
}

int pg_ensure(struct pg_conn *pc)
{
	char err[512];
	int64_t now;

	if (pc->db && PQstatus(pc->db) == CONNECTION_OK)
		return 0;
	if (pc->db)
		drop_session(pc);
	if (pc->backoff_ms == 0) {
		/* the first attempt of an outage is immediate */
		log_warn("store", "lost connection to %s", pc->label);
		pc->backoff_ms = PG_BACKOFF_MIN_MS;
		pc->next_try_ms = 0;
	}
	now = time_mono_ms();
	if (now < pc->next_try_ms)
		return STORE_EIO;
	if (connect_session(pc, err, sizeof(err)) == 0) {
		log_info("store", "reconnected to %s", pc->label);
		pc->backoff_ms = 0;
		pc->next_try_ms = 0;
		return 0;
	}
	log_debug("store", "%s", err);
	pc->next_try_ms = now + pc->backoff_ms;
	pc->backoff_ms =
	    pc->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : pc->backoff_ms * 2;
	return STORE_EIO;
}

/* --- statements ----------------------------------------------------------- */

/* A store_err for a failed result (NULL = libpq could not even send it); logs the unexpected. */
static int map_failure(struct pg_conn *pc, const PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char msg[512];

	one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(pc->db), msg, sizeof(msg));
	if (PQstatus(pc->db) == CONNECTION_BAD) {
		log_error("store", "%s: %s: %s", pc->label, what, msg);
		drop_session(pc);
		return STORE_EIO;
	}
	if (state && strcmp(state, "23505") == 0)
		return STORE_EEXIST;
	if (state && (strcmp(state, "23503") == 0 || strcmp(state, "23514") == 0))
		return STORE_EINVAL;
	if (state && strcmp(state, "23001") == 0) /* ON DELETE RESTRICT */
		return STORE_ENOTEMPTY;
	if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)) {
		log_warn("store", "%s: %s: %s", pc->label, what, msg);
		return STORE_EBUSY;
	}
	log_error("store", "%s: %s: %s", pc->label, what, msg);
	return STORE_EIO;
}

/* --- pipeline mode (pg_defer) ----------------------------------------------- */

/*
 * Deferred statements in flight at most: in blocking mode the results not
 * yet read must fit the server's socket buffer, or both sides would wait on
 * each other (libpq's pipeline mode, "Interleaving Result Processing").
 */
#define PG_PIPELINE_MAX 256

/* Read the results of the deferred statement i (until libpq's NULL); rc as pipeline_sync. */
static int read_deferred(struct pg_conn *pc, size_t i, int rc)
{
	PGresult *r;

	while (pc->db && (r = PQgetResult(pc->db)) != NULL) {
		ExecStatusType s = PQresultStatus(r);

		if ((s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) && rc == 0 && pc->pend[i].done)
			pc->pend[i].done(r, pc->pend[i].arg);
		else if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK &&
		         s != PGRES_PIPELINE_ABORTED && rc == 0)
			rc = map_failure(pc, r, pc->pend[i].what); /* may drop the session */
		PQclear(r);
	}
	return rc;
}

/*
 * A sync point: read every deferred result in order and leave pipeline
 * mode. 0, STORE_EIO (session lost), or STORE_EBUSY: the transaction failed
 * and the writer runs the batch again (without pipelining but for a
 * deadlock, so that a failing job gets its own result).
 */
static int pipeline_sync(struct pg_conn *pc)
{
	int rc = 0;
	PGresult *r;

	if (!pc->pipelining)
		return 0;
	if (PQpipelineSync(pc->db) != 1)
		rc = map_failure(pc, NULL, "pipeline");
	for (size_t i = 0; i < pc->n_pend && pc->db; i++)
		rc = read_deferred(pc, i, rc);
	while (pc->db && (r = PQgetResult(pc->db)) != NULL) /* the sync's own result */
		PQclear(r);
	if (pc->db)
		PQexitPipelineMode(pc->db);
	pc->pipelining = false;
	pc->n_pend = 0;
	if (rc == 0 || rc == STORE_EIO)
		return rc;
	if (rc != STORE_EBUSY)
		pc->no_pipeline = true;
	return STORE_EBUSY;
}

/* Leave pipeline mode discarding what was sent (a rollback follows). */
static void pipeline_discard(struct pg_conn *pc)
{
	void (*none)(const PGresult *, void *) = NULL;

	for (size_t i = 0; i < pc->n_pend; i++)
		pc->pend[i].done = none;
	pipeline_sync(pc);
}

/* r if it succeeded, else NULL with *rc set (r cleared). */
static PGresult *checked(struct pg_conn *pc, PGresult *r, int *rc, const char *what)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (r && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)) {
		*rc = 0;
		return r;
	}
	*rc = map_failure(pc, r, what);
	PQclear(r);
	return NULL;
}

PGresult *pg_run(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params, int *rc,
                 const char *what)
{
	PGresult *r;

	if (pc->pipelining && (*rc = pipeline_sync(pc)) != 0)
		return NULL; /* this statement waits for its result: a sync point */
	if (!pc->db && (pc->in_tx || pg_ensure(pc) != 0)) {
		*rc = STORE_EIO; /* lost in this transaction (logged when found), or still down */
		return NULL;
	}
	if (!map_get(&pc->prepared, st->name)) {
		r = checked(pc, PQprepare(pc->db, st->name, st->sql, st->n_params, NULL), rc, what);
		if (!r)
			return NULL;
		PQclear(r);
		map_put(&pc->prepared, st->name, (void *)st);
	}
	r = PQexecPrepared(pc->db, st->name, st->n_params, params, NULL, NULL, 0);
	return checked(pc, r, rc, what);
}

PGresult *pg_run_sql(struct pg_conn *pc, const char *sql, const char *const *params, int n, int *rc,
                     const char *what)
{
	PGresult *r;

	if (pc->pipelining && (*rc = pipeline_sync(pc)) != 0)
		return NULL;
	if (!pc->db && (pc->in_tx || pg_ensure(pc) != 0)) {
		*rc = STORE_EIO;
		return NULL;
	}
	/* Without parameters, the simple protocol: several statements are allowed (migrations). */
	if (n == 0)
		r = PQexec(pc->db, sql);
	else
		r = PQexecParams(pc->db, sql, n, NULL, params, NULL, NULL, 0);
	return checked(pc, r, rc, what);
}

bool pg_can_defer(const struct pg_conn *pc)
{
	return pc->in_tx && !pc->readonly && !pc->no_pipeline && pc->db;
}

int pg_defer(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params,
             void (*done)(const PGresult *r, void *arg), void *arg, const char *what)
{
	int rc = 0;
	PGresult *r;

	if (!pg_can_defer(pc)) {
		r = pg_run(pc, st, params, &rc, what);
		if (r && done)
			done(r, arg);
		PQclear(r);
		return rc;
	}
	if (!map_get(&pc->prepared, st->name)) { /* prepared outside pipeline mode */
		if ((rc = pipeline_sync(pc)) != 0)
			return rc;
		if (!(r = checked(pc, PQprepare(pc->db, st->name, st->sql, st->n_params, NULL), &rc,
		                  what)))
			return rc;
		PQclear(r);
		map_put(&pc->prepared, st->name, (void *)st);
	}
	if (pc->n_pend == PG_PIPELINE_MAX && (rc = pipeline_sync(pc)) != 0)
		return rc;
	if (!pc->pipelining) {
		if (PQenterPipelineMode(pc->db) != 1)
			return map_failure(pc, NULL, what);
		pc->pipelining = true;
	}
	if (PQsendQueryPrepared(pc->db, st->name, st->n_params, params, NULL, NULL, 0) != 1) {
		rc = map_failure(pc, NULL, what);
		pipeline_discard(pc);
		return rc ? rc : STORE_EIO;
	}
	if (pc->n_pend == pc->cap_pend) {
		pc->cap_pend = pc->cap_pend ? 2 * pc->cap_pend : 64;
		pc->pend = xrealloc(pc->pend, pc->cap_pend * sizeof(*pc->pend));
	}
	pc->pend[pc->n_pend++] = (struct pg_deferred){done, arg, what};
	return 0;
}

int pg_exec(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params,
            const char *what)
{
	int rc;
	PGresult *r = pg_run(pc, st, params, &rc, what);

	PQclear(r);
	return rc;
}

int64_t pg_affected(const PGresult *r)
{
	const char *s = PQcmdTuples((PGresult *)r);

	return s && *s ? strtoll(s, NULL, 10) : 0;
}

const char *pg_i64(char *buf, int64_t v)
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

int64_t pg_get_i64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool pg_get_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

char *pg_get_dup(const PGresult *r, int row, int col, bool nullable)
{
	if (PQgetisnull(r, row, col))
		return nullable ? NULL : xstrdup("");
	return xstrdup(PQgetvalue(r, row, col));
}

void pg_get_copy(const PGresult *r, int row, int col, char *out, size_t outlen)
{
	const char *v = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
	size_t n = (size_t)PQgetlength(r, row, col);

	if (outlen == 0)
		return;
	if (n >= outlen)
		n = utf8_trunc(v, outlen - 1);
	memcpy(out, v, n);
	out[n] = '\0';
}

/* --- transactions --------------------------------------------------------- */

/* A transaction-control command without parameters. */
static int simple(struct pg_conn *pc, const char *sql, const char *what)
{
	int rc;
	PGresult *r = pg_run_sql(pc, sql, NULL, 0, &rc, what);

	PQclear(r);
	return rc;
}

int pg_begin(struct store_conn *c, bool write)
{
	struct pg_conn *pc = pg_of(c);
	/* a read job sees one snapshot, and cannot write by mistake */
	const char *sql =
	    write ? "BEGIN" : "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY";
	int rc;

	if (pc->in_tx) {
		log_error("store", "%s: begin: a transaction is already open", pc->label);
		return STORE_EIO;
	}
	if ((rc = pg_ensure(pc)) != 0)
		return rc;
	rc = simple(pc, sql, "begin");
	/* a session that died while idle: nothing was sent yet, so try once more */
	if (rc == STORE_EIO && !pc->db && pg_ensure(pc) == 0)
		rc = simple(pc, sql, "begin");
	if (rc == 0)
		pc->in_tx = 1;
	return rc;
}

int pg_commit(struct store_conn *c)
{
	struct pg_conn *pc = pg_of(c);
	int rc;

	if (pc->pipelining && (rc = pipeline_sync(pc)) != 0) {
		pg_rollback(c);
		return rc;
	}
	if (!pc->db) {
		pc->in_tx = 0;
		return STORE_EIO;
	}
	/* a lost transaction must not look committed: COMMIT outside one only warns */
	if (PQtransactionStatus(pc->db) == PQTRANS_IDLE) {
		log_error("store", "%s: commit: no transaction is open", pc->label);
		pc->in_tx = 0;
		return STORE_EIO;
	}
	/* COMMIT of a failed transaction "succeeds" as a ROLLBACK: not a commit */
	if (PQtransactionStatus(pc->db) == PQTRANS_INERROR) {
		log_error("store", "%s: commit: the transaction had failed, rolled back",
		          pc->label);
		simple(pc, "ROLLBACK", "rollback");
		pc->in_tx = 0;
		return STORE_EIO;
	}
	rc = simple(pc, "COMMIT", "commit");
	pc->in_tx = 0;
	if (rc == 0)
		pc->no_pipeline = false; /* a batch went through: pipeline the next one again */
	return rc;
}

int pg_rollback(struct store_conn *c)
{
	struct pg_conn *pc = pg_of(c);

	if (pc->pipelining)
		pipeline_discard(pc);
	if (pc->db && PQtransactionStatus(pc->db) != PQTRANS_IDLE)
		simple(pc, "ROLLBACK", "rollback"); /* a failure means the session is gone */
	pc->in_tx = 0;
	return 0;
}

int pg_savepoint(struct store_conn *c)
{
	return simple(pg_of(c), "SAVEPOINT j", "savepoint");
}

int pg_release(struct store_conn *c)
{
	return simple(pg_of(c), "RELEASE SAVEPOINT j", "release savepoint");
}

int pg_rollback_to(struct store_conn *c)
{
	return simple(pg_of(c), "ROLLBACK TO SAVEPOINT j", "rollback to savepoint");
}

/* --- integrity ------------------------------------------------------------ */

/* Run one check; 0 when healthy, else a line appended to detail. */
static int check_one(struct pg_conn *pc, const struct pg_check_row *ck, int64_t *got)
{
	int rc;
	PGresult *r = pg_run_sql(pc, ck->sql, NULL, 0, &rc, "integrity check");

	*got = -1;
	if (!r)
		return rc;
	*got = PQntuples(r) == 1 ? pg_get_i64(r, 0, 0) : -1;
	PQclear(r);
	return *got == ck->want ? 0 : STORE_EIO;
}

int pg_check(struct store_conn *c, char *detail, size_t detail_len)
{
	struct pg_conn *pc = pg_of(c);
	size_t used = 0;
	int64_t v = 0;
	int rc = pc->in_tx ? 0 : pg_ensure(pc), bad = 0;

	if (detail_len)
		detail[0] = '\0';
	if (rc) {
		str_appendf(detail, detail_len, &used, "cannot connect to %s", pc->label);
		return rc;
	}
	if (check_one(pc,
	              &(struct pg_check_row){"SELECT max(version) FROM schema_version",
	                                     STORE_SCHEMA_VERSION, NULL},
	              &v) != 0) {
		str_appendf(detail, detail_len, &used, "schema version %" PRId64 ", expected %d", v,
		            STORE_SCHEMA_VERSION);
		bad = 1;
	}
	for (size_t i = 0; i < sizeof(pg_checks) / sizeof(pg_checks[0]); i++) {
		if (check_one(pc, &pg_checks[i], &v) == 0)
			continue;
		str_appendf(detail, detail_len, &used, "%s%s (%" PRId64 ")", used ? "; " : "",
		            pg_checks[i].what, v);
		bad = 1;
	}
	if (!bad)
		return 0;
	log_error("store", "%s: integrity check failed: %s", pc->label, detail);
	return STORE_EIO;
}
