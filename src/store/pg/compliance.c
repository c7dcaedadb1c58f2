/*
 * compliance.c — the PostgreSQL compliance queue (store.h "compliance"):
 * capturing events, the capture setting, claims of event ranges, fetching
 * and purging a range, errors and status, and whether a claim has reached
 * the backup by log shipping (the WAL archive: pg_stat_archiver).
 *
 * The queue is a table of the chat database (compliance_events), so it is
 * replicated and fails over with the chat data, and an event commits with
 * its message in the caller's transaction. There is no outbox: comp_move
 * has nothing to carry.
 *
 * Event ids come from the counters row 'compliance', not from a sequence:
 * the row lock taken by the increment is held to commit, so ids become
 * visible in increasing order and an id below a claimed range can never
 * commit later. Claims (compliance_claims) are disjoint ranges; every claim
 * transaction first takes one advisory transaction lock, so adapters of
 * several servers never get overlapping ranges. Each statement of a claim
 * sees everything committed before it (READ COMMITTED).
 *
 * The operations that run their own transaction in the SQLite backend
 * (claim, done, failed) run one here only when the connection is not in one
 * already (pg_conn.in_tx); otherwise they work inside the caller's.
 *
 * It does not validate events nor read the clock (store_comp.c), it does
 * not write files nor choose params (src/compliance/), and it never waits
 * for the archiver (the adapter polls store_comp_shipped).
 */
#include "store/pg/pg_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PGC_SETTING_ENABLED "compliance.enabled"

#define PGC_EVENT_COLS                                                                             \
	"id, ts_ms, type, actor, actor_id, address, room_id, room, category, logged, peer, "       \
	"msgid, "                                                                                  \
	"content, detail"

/* --- statements ------------------------------------------------------------ */

static const struct pg_stmt st_cevent_add = {
    "compliance_cevent_add",
    "WITH c AS (UPDATE counters SET value = value + 1 WHERE name = 'compliance' "
    "RETURNING value) "
    "INSERT INTO compliance_events (" PGC_EVENT_COLS ") "
    "SELECT c.value, $1::bigint, $2::text, $3::text, $4::bigint, $5::text, $6::bigint, "
    "$7::text, $8::text, $9::boolean, $10::text, $11::text, $12::text, $13::text FROM c "
    "RETURNING id",
    13};

static const struct pg_stmt st_setting_get = {"compliance_setting_get",
                                              "SELECT value FROM settings WHERE key = $1", 1};

static const struct pg_stmt st_setting_set = {
    "compliance_setting_set",
    "INSERT INTO settings (key, value) VALUES ($1, $2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    2};

static const struct pg_stmt st_lock = {
    "compliance_lock", "SELECT pg_advisory_xact_lock(hashtext('pchat-compliance-claim'))", 0};

/* The oldest expired claim, locked against a concurrent renew or release. */
static const struct pg_stmt st_claim_expired = {
    "compliance_claim_expired",
    "SELECT lo, hi, params FROM compliance_claims WHERE expires_ms < $1::bigint "
    "ORDER BY lo LIMIT 1 FOR UPDATE",
    1};

static const struct pg_stmt st_claim_take = {
    "compliance_claim_take",
    "UPDATE compliance_claims SET owner = $2, expires_ms = $3::bigint WHERE lo = $1::bigint", 3};

static const struct pg_stmt st_claim_delete = {
    "compliance_claim_delete", "DELETE FROM compliance_claims WHERE lo = $1::bigint", 1};

static const struct pg_stmt st_range_count = {
    "compliance_range_count",
    "SELECT count(*) FROM compliance_events WHERE id >= $1::bigint AND id <= $2::bigint", 2};

static const struct pg_stmt st_event_next = {
    "compliance_event_next", "SELECT min(id) FROM compliance_events WHERE id > $1::bigint", 1};

static const struct pg_stmt st_claim_covering = {
    "compliance_claim_covering",
    "SELECT hi FROM compliance_claims WHERE lo <= $1::bigint ORDER BY lo DESC LIMIT 1", 1};

static const struct pg_stmt st_claim_next_lo = {
    "compliance_claim_next_lo", "SELECT min(lo) FROM compliance_claims WHERE lo > $1::bigint", 1};

static const struct pg_stmt st_range = {
    "compliance_range",
    "SELECT max(id), count(*) FROM (SELECT id FROM compliance_events "
    "WHERE id >= $1::bigint AND id <= $2::bigint ORDER BY id LIMIT $3::bigint) r",
    3};

static const struct pg_stmt st_claim_insert = {
    "compliance_claim_insert",
    "INSERT INTO compliance_claims (lo, hi, owner, expires_ms, params) "
    "VALUES ($1::bigint, $2::bigint, $3, $4::bigint, $5)",
    5};

static const struct pg_stmt st_fetch = {"compliance_fetch",
                                        "SELECT " PGC_EVENT_COLS " FROM compliance_events "
                                        "WHERE id >= $1::bigint AND id <= $2::bigint ORDER BY id",
                                        2};

static const struct pg_stmt st_renew = {"compliance_renew",
                                        "UPDATE compliance_claims SET expires_ms = $4::bigint "
                                        "WHERE lo = $1::bigint AND hi = $2::bigint AND owner = $3",
                                        4};

/* Purge, drop the claim (any owner) and note the run: one statement. */
static const struct pg_stmt st_done = {
    "compliance_done",
    "WITH p AS (DELETE FROM compliance_events WHERE id >= $1::bigint AND id <= $2::bigint "
    "RETURNING 1), "
    "d AS (DELETE FROM compliance_claims WHERE lo = $1::bigint AND hi = $2::bigint) "
    "UPDATE compliance_state SET exported = exported + (SELECT count(*) FROM p), "
    "last_run_ms = $3::bigint, last_file = $4, last_error_ms = 0, last_error = '' "
    "WHERE id = 1",
    4};

/* Note the error and, with $6, release the claim if $5 still holds it. */
static const struct pg_stmt st_failed = {
    "compliance_failed",
    "WITH r AS (DELETE FROM compliance_claims WHERE $6::boolean AND lo = $3::bigint "
    "AND hi = $4::bigint AND owner = $5) "
    "UPDATE compliance_state SET last_error_ms = $1::bigint, last_error = $2 WHERE id = 1",
    6};

static const struct pg_stmt st_status = {
    "compliance_status",
    "SELECT (SELECT count(*) FROM compliance_events), "
    "(SELECT coalesce(min(ts_ms), 0) FROM compliance_events), "
    "(SELECT count(*) FROM compliance_claims), "
    "exported, last_run_ms, last_file, last_error_ms, last_error, "
    "coalesce((SELECT value = '1' FROM settings WHERE key = '" PGC_SETTING_ENABLED "'), false) "
    "FROM compliance_state WHERE id = 1",
    0};

/*
 * Log shipping (store_comp_shipped). Archiving counts when archive_mode is
 * on (or always) on a primary with an archive_command or archive_library:
 * with an empty one PostgreSQL keeps the log without shipping it, and
 * archive_command reads "(disabled)" while archive_mode is off. The
 * segment to wait for holds the insert position: everything committed
 * before, the caller's claim included.
 */
static const struct pg_stmt st_ship_mark = {
    "compliance_ship_mark",
    "SELECT NOT pg_is_in_recovery() AND current_setting('archive_mode') IN ('on', 'always') "
    "AND (current_setting('archive_command') <> '' "
    "OR coalesce(current_setting('archive_library', true), '') <> ''), "
    "CASE WHEN NOT pg_is_in_recovery() THEN pg_walfile_name(pg_current_wal_insert_lsn()) END, "
    "(SELECT setting::bigint FROM pg_settings WHERE name = 'archive_timeout') * 1000",
    0};

/* The archiver's progress, whether its last attempt failed, and the segment being written. */
static const struct pg_stmt st_ship_state = {
    "compliance_ship_state",
    "SELECT coalesce(last_archived_wal, ''), coalesce(last_failed_wal, ''), "
    "coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false), "
    "pg_walfile_name(pg_current_wal_insert_lsn()) FROM pg_stat_archiver",
    0};

/*
 * End the segment being written, when the role may (never an error: false
 * when it may not), and never on a database made read-only (fenced, or
 * frozen by a failback): its WAL must not move on.
 */
static const struct pg_stmt st_ship_switch = {
    "compliance_ship_switch",
    "SELECT CASE WHEN current_setting('transaction_read_only') = 'off' "
    "AND has_function_privilege('pg_catalog.pg_switch_wal()', 'EXECUTE') "
    "THEN pg_switch_wal() IS NOT NULL ELSE false END",
    0};

/* --- helpers ----------------------------------------------------------------- */

/*
 * Run st and read column 0 of its first row into *v: 0, STORE_ENOTFOUND for
 * no row or NULL, or the error of pg_run.
 */
static int q_i64(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params,
                 int64_t *v, const char *what)
{
	PGresult *r;
	int rc = 0;

	if (!(r = pg_run(pc, st, params, &rc, what)))
		return rc;
	if (PQntuples(r) < 1 || PQgetisnull(r, 0, 0))
		rc = STORE_ENOTFOUND;
	else
		*v = pg_get_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

/* q_i64 with one or two integer parameters. */
static int q_i64_ab(struct pg_conn *pc, const struct pg_stmt *st, int64_t a, int64_t b, int64_t *v)
{
	char ba[24], bb[24];
	const char *params[2] = {pg_i64(ba, a), pg_i64(bb, b)};

	return q_i64(pc, st, params, v, "reading the compliance queue");
}

/*
 * Before a statement that may run on its own (autocommit: pchatctl, an
 * adapter outside any job): reconnect a lost session, as pg_begin would.
 * Inside a transaction a lost session stays lost (pg_run fails).
 */
static int ready(struct pg_conn *pc)
{
	return pc->in_tx ? 0 : pg_ensure(pc);
}

/* Begin a write transaction unless pc is in one; *own says whether it did. */
static int tx_open(struct pg_conn *pc, bool *own)
{
	int rc;

	*own = false;
	if (pc->in_tx)
		return 0;
	if ((rc = pg_begin(&pc->base, true)) == 0)
		*own = true;
	return rc;
}

/*
 * End what tx_open began: commit when keep (rc kept unless the commit
 * fails), else roll back. Returns rc or the commit's error.
 */
static int tx_close(struct pg_conn *pc, bool own, bool keep, int rc)
{
	int crc;

	if (!own)
		return rc;
	if (!keep) {
		pg_rollback(&pc->base);
		return rc;
	}
	if ((crc = pg_commit(&pc->base)) != 0) {
		pg_rollback(&pc->base); /* conn.c may already have: harmless */
		return crc;
	}
	return rc;
}

/* One row of st_fetch into e (e zeroed by the caller; content and detail owned). */
static void cevent_row(const PGresult *r, int row, struct store_cevent *e)
{
	e->id = pg_get_i64(r, row, 0);
	e->ts_ms = pg_get_i64(r, row, 1);
	pg_get_copy(r, row, 2, e->type, sizeof(e->type));
	pg_get_copy(r, row, 3, e->actor, sizeof(e->actor));
	e->actor_id = pg_get_i64(r, row, 4);
	pg_get_copy(r, row, 5, e->address, sizeof(e->address));
	e->room_id = pg_get_i64(r, row, 6);
	pg_get_copy(r, row, 7, e->room, sizeof(e->room));
	pg_get_copy(r, row, 8, e->category, sizeof(e->category));
	e->logged = pg_get_bool(r, row, 9);
	pg_get_copy(r, row, 10, e->peer, sizeof(e->peer));
	pg_get_copy(r, row, 11, e->msgid, sizeof(e->msgid));
	e->content = pg_get_dup(r, row, 12, false);
	e->detail = pg_get_dup(r, row, 13, true);
}

/* --- events ------------------------------------------------------------------ */

int pg_cevent_add(struct store_conn *c, struct store_cevent *e)
{
	struct pg_conn *pc = pg_of(c);
	char ts[24], actor_id[24], room_id[24];
	const char *params[13] = {pg_i64(ts, e->ts_ms),
	                          e->type,
	                          e->actor,
	                          pg_i64(actor_id, e->actor_id),
	                          e->address,
	                          pg_i64(room_id, e->room_id),
	                          e->room,
	                          e->category,
	                          e->logged ? "t" : "f",
	                          e->peer,
	                          e->msgid,
	                          e->content ? e->content : "",
	                          e->detail};
	PGresult *r;
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_cevent_add, params, &rc, "adding a compliance event")))
		return rc;
	if (PQntuples(r) == 1) {
		e->id = pg_get_i64(r, 0, 0);
	} else {
		log_error("store", "%s: adding a compliance event: no 'compliance' counter",
		          pc->label);
		rc = STORE_EIO;
	}
	PQclear(r);
	return rc;
}

/* --- settings ---------------------------------------------------------------- */

int pg_comp_enabled(struct store_conn *c, bool *on)
{
	struct pg_conn *pc = pg_of(c);
	const char *params[1] = {PGC_SETTING_ENABLED};
	PGresult *r;
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_setting_get, params, &rc, "reading a setting")))
		return rc;
	*on = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && strcmp(PQgetvalue(r, 0, 0), "1") == 0;
	PQclear(r);
	return 0;
}

int pg_comp_set_enabled(struct store_conn *c, bool on)
{
	struct pg_conn *pc = pg_of(c);
	const char *params[2] = {PGC_SETTING_ENABLED, on ? "1" : "0"};
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	return pg_exec(pc, &st_setting_set, params, "writing a setting");
}

int pg_comp_move(struct store_conn *c, int limit, int64_t *n)
{
	struct pg_conn *pc = pg_of(c);

	(void)limit;
	*n = 0;
	/* refused where SQLite refuses it (a reader, or inside store_begin): same contract */
	if (pc->readonly || pc->in_tx)
		return STORE_EINVAL;
	return 0; /* the queue is in the chat database: nothing to carry */
}

/* --- claims ------------------------------------------------------------------ */

/*
 * Take over the oldest expired claim (same range and params), dropping
 * expired claims whose events are gone on the way. STORE_ENOTFOUND when
 * none. The claim lock is held.
 */
static int take_expired(struct pg_conn *pc, const char *owner, int64_t now, int64_t expires,
                        struct store_comp_claim *out)
{
	char bnow[24], blo[24], bexp[24];
	const char *p_exp[1] = {pg_i64(bnow, now)};
	const char *p_take[3] = {blo, owner, pg_i64(bexp, expires)};
	PGresult *r;
	int rc = 0;

	do {
		if (!(r = pg_run(pc, &st_claim_expired, p_exp, &rc, "reading claims")))
			return rc;
		if (PQntuples(r) < 1) {
			PQclear(r);
			return STORE_ENOTFOUND;
		}
		out->lo = pg_get_i64(r, 0, 0);
		out->hi = pg_get_i64(r, 0, 1);
		pg_get_copy(r, 0, 2, out->params, sizeof(out->params));
		PQclear(r);
		if ((rc = q_i64_ab(pc, &st_range_count, out->lo, out->hi, &out->n)) != 0)
			return rc;
		pg_i64(blo, out->lo);
		if (out->n == 0 &&
		    (rc = pg_exec(pc, &st_claim_delete, p_take, "dropping a claim")) != 0)
			return rc;
	} while (out->n == 0);
	if ((rc = pg_exec(pc, &st_claim_take, p_take, "taking over a claim")) != 0)
		return rc;
	str_copy(out->owner, owner, sizeof(out->owner));
	out->expires_ms = expires;
	out->resumed = true;
	return 0;
}

/* The first event id that no claim covers, in *lo; STORE_ENOTFOUND when none. */
static int first_free(struct pg_conn *pc, int64_t *lo)
{
	int64_t cursor = 0, cov_hi;
	int rc;

	for (;;) {
		if ((rc = q_i64_ab(pc, &st_event_next, cursor, 0, lo)) != 0)
			return rc;
		rc = q_i64_ab(pc, &st_claim_covering, *lo, 0, &cov_hi);
		if (rc == STORE_ENOTFOUND || (rc == 0 && cov_hi < *lo))
			return 0;
		if (rc != 0)
			return rc;
		cursor = cov_hi; /* inside a claim: look past it */
	}
}

/* Size the range [lo, limit_hi] to at most max events: out->hi and out->n. */
static int size_range(struct pg_conn *pc, int64_t lo, int64_t limit_hi, int max,
                      struct store_comp_claim *out)
{
	char blo[24], bhi[24], bmax[24];
	const char *params[3] = {pg_i64(blo, lo), pg_i64(bhi, limit_hi), pg_i64(bmax, max)};
	PGresult *r;
	int rc = 0;

	if (!(r = pg_run(pc, &st_range, params, &rc, "sizing a claim")))
		return rc;
	out->lo = lo;
	out->hi = pg_get_i64(r, 0, 0);
	out->n = pg_get_i64(r, 0, 1);
	PQclear(r);
	return out->n > 0 ? 0 : STORE_ENOTFOUND;
}

/* A new claim from the first free event: at most max events, below the next claim. */
static int claim_new(struct pg_conn *pc, const char *owner, const char *params, int max,
                     int64_t expires, struct store_comp_claim *out)
{
	char blo[24], bhi[24], bexp[24];
	const char *p_ins[5] = {blo, bhi, owner, bexp, params};
	int64_t lo, next_lo;
	int rc;

	if ((rc = first_free(pc, &lo)) != 0)
		return rc;
	rc = q_i64_ab(pc, &st_claim_next_lo, lo, 0, &next_lo);
	if (rc == STORE_ENOTFOUND)
		next_lo = INT64_MAX;
	else if (rc != 0)
		return rc;
	if ((rc = size_range(pc, lo, next_lo - 1, max, out)) != 0)
		return rc;
	str_copy(out->owner, owner, sizeof(out->owner));
	str_copy(out->params, params, sizeof(out->params));
	out->expires_ms = expires;
	pg_i64(blo, out->lo);
	pg_i64(bhi, out->hi);
	pg_i64(bexp, expires);
	return pg_exec(pc, &st_claim_insert, p_ins, "recording a claim");
}

int pg_comp_claim(struct store_conn *c, const char *owner, const char *params, int max_events,
                  int64_t lease_ms, int64_t now_ms, struct store_comp_claim *out)
{
	struct pg_conn *pc = pg_of(c);
	bool own = false;
	int rc;

	if (pc->readonly)
		return STORE_EINVAL;
	if ((rc = tx_open(pc, &own)) != 0)
		goto out_clear;
	rc = pg_exec(pc, &st_lock, NULL, "locking the compliance claims");
	if (rc == 0)
		rc = take_expired(pc, owner, now_ms, now_ms + lease_ms, out);
	if (rc == STORE_ENOTFOUND)
		rc = claim_new(pc, owner, params, max_events, now_ms + lease_ms, out);
	/* nothing to claim still keeps the dropped empty claims */
	rc = tx_close(pc, own, rc == 0 || rc == STORE_ENOTFOUND, rc);
out_clear:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int pg_comp_fetch(struct store_conn *c, int64_t lo, int64_t hi, struct store_cevent **out,
                  size_t *n)
{
	struct pg_conn *pc = pg_of(c);
	char blo[24], bhi[24];
	const char *params[2] = {pg_i64(blo, lo), pg_i64(bhi, hi)};
	PGresult *r;
	int rc, rows;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_fetch, params, &rc, "fetching compliance events")))
		return rc;
	rows = PQntuples(r);
	if (rows > 0) {
		*out = xcalloc((size_t)rows, sizeof(**out));
		for (int i = 0; i < rows; i++)
			cevent_row(r, i, &(*out)[i]);
		*n = (size_t)rows;
	}
	PQclear(r);
	return 0;
}

int pg_comp_renew(struct store_conn *c, const struct store_comp_claim *cl, int64_t expires_ms)
{
	struct pg_conn *pc = pg_of(c);
	char blo[24], bhi[24], bexp[24];
	const char *params[4] = {pg_i64(blo, cl->lo), pg_i64(bhi, cl->hi), cl->owner,
	                         pg_i64(bexp, expires_ms)};
	PGresult *r;
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_renew, params, &rc, "renewing a claim")))
		return rc;
	if (pg_affected(r) == 0)
		rc = STORE_ENOTFOUND; /* done, released, or taken over */
	PQclear(r);
	return rc;
}

/*
 * Run one statement of done/failed under the claim lock, in its own
 * transaction unless pc is in one.
 */
static int locked_exec(struct pg_conn *pc, const struct pg_stmt *st, const char *const *params,
                       const char *what)
{
	bool own = false;
	int rc;

	if ((rc = tx_open(pc, &own)) != 0)
		return rc;
	rc = pg_exec(pc, &st_lock, NULL, "locking the compliance claims");
	if (rc == 0)
		rc = pg_exec(pc, st, params, what);
	return tx_close(pc, own, rc == 0, rc);
}

int pg_comp_done(struct store_conn *c, const struct store_comp_claim *cl, const char *file,
                 int64_t now_ms)
{
	char blo[24], bhi[24], bnow[24];
	const char *params[4] = {pg_i64(blo, cl->lo), pg_i64(bhi, cl->hi), pg_i64(bnow, now_ms),
	                         file};

	return locked_exec(pg_of(c), &st_done, params, "noting an export");
}

int pg_comp_failed(struct store_conn *c, const struct store_comp_claim *cl, bool release,
                   const char *error, int64_t now_ms)
{
	char bnow[24], blo[24], bhi[24];
	const char *params[6] = {pg_i64(bnow, now_ms),         error,
	                         pg_i64(blo, cl ? cl->lo : 0), pg_i64(bhi, cl ? cl->hi : 0),
	                         cl ? cl->owner : "",          cl && release ? "t" : "f"};

	return locked_exec(pg_of(c), &st_failed, params, "noting an export error");
}

/* --- status ------------------------------------------------------------------ */

int pg_comp_status(struct store_conn *c, struct store_comp_status *out)
{
	struct pg_conn *pc = pg_of(c);
	PGresult *r;
	int rc;

	if ((rc = ready(pc)) != 0)
		return rc;
	if (!(r = pg_run(pc, &st_status, NULL, &rc, "reading the compliance queue")))
		return rc;
	if (PQntuples(r) != 1) {
		log_error("store", "%s: reading the compliance queue: no compliance_state row",
		          pc->label);
		rc = STORE_EIO;
		goto out_clear;
	}
	out->queued = pg_get_i64(r, 0, 0);
	out->oldest_ms = pg_get_i64(r, 0, 1);
	out->claims = pg_get_i64(r, 0, 2);
	out->exported = pg_get_i64(r, 0, 3);
	out->last_run_ms = pg_get_i64(r, 0, 4);
	pg_get_copy(r, 0, 5, out->last_file, sizeof(out->last_file));
	out->last_error_ms = pg_get_i64(r, 0, 6);
	pg_get_copy(r, 0, 7, out->last_error, sizeof(out->last_error));
	out->enabled = pg_get_bool(r, 0, 8);
out_clear:
	PQclear(r);
	return rc;
}

/* --- log shipping ------------------------------------------------------------ */

/* Whether name starts with a segment's 24 upper-case hex digits (TLI, log, segment). */
static bool wal_name_ok(const char *name)
{
	for (int i = 0; i < 24; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'F')))
			return false;
	return true;
}

/*
 * Whether the archiver having archived the file archived means segment
 * target is archived: it archives in name order, so a later log/segment
 * (whatever the suffix: .partial, .backup) covers target; the same one
 * only as a plain segment of target's timeline or a later one (a .partial
 * is the end of an older timeline, a .backup file does not finish its
 * segment). A .history file tells nothing.
 */
static bool wal_covers(const char *archived, const char *target)
{
	int c;

	if (strlen(target) != 24 || !wal_name_ok(target) || strlen(archived) < 24 ||
	    !wal_name_ok(archived))
		return false;
	c = strncmp(archived + 8, target + 8, 16);
	if (c != 0)
		return c > 0;
	return archived[24] == '\0' && strncmp(archived, target, 8) >= 0;
}

/* The first call: whether the database archives, and the segment to wait for. */
static int ship_mark(struct pg_conn *pc, struct store_comp_ship *st)
{
	PGresult *r;
	int rc = 0;

	if (!(r = pg_run(pc, &st_ship_mark, NULL, &rc, "reading the archive settings")))
		return rc;
	st->archiving = pg_get_bool(r, 0, 0) && !PQgetisnull(r, 0, 1);
	if (st->archiving)
		pg_get_copy(r, 0, 1, st->segment, sizeof(st->segment));
	st->archive_timeout_ms = pg_get_i64(r, 0, 2);
	PQclear(r);
	return 0;
}

static int ship_state(struct pg_conn *pc, struct store_comp_ship *st)
{
	char current[64];
	PGresult *r;
	int rc = 0;

	if (!(r = pg_run(pc, &st_ship_state, NULL, &rc, "reading the archiver's progress")))
		return rc;
	pg_get_copy(r, 0, 0, st->last_archived, sizeof(st->last_archived));
	pg_get_copy(r, 0, 1, st->last_failed, sizeof(st->last_failed));
	st->failing = pg_get_bool(r, 0, 2);
	pg_get_copy(r, 0, 3, current, sizeof(current));
	PQclear(r);
	st->shipped = wal_covers(st->last_archived, st->segment);
	st->complete = strlen(current) == 24 && strncmp(current + 8, st->segment + 8, 16) > 0;
	return 0;
}

int pg_comp_shipped(struct store_conn *c, bool end_segment, struct store_comp_ship *st)
{
	struct pg_conn *pc = pg_of(c);
	PGresult *r;
	int rc;

	if (pc->in_tx)
		return STORE_EINVAL;
	if ((rc = pg_ensure(pc)) != 0)
		return rc;
	if (!st->segment[0] && (rc = ship_mark(pc, st)) != 0)
		return rc;
	if (!st->archiving) {
		st->shipped = true;
		return 0;
	}
	if ((rc = ship_state(pc, st)) != 0 || !end_segment || st->shipped || st->complete ||
	    st->failing || st->switch_tried)
		return rc;
	/* once: a failing archiver would only pile up segments in pg_wal */
	st->switch_tried = true;
	if ((r = pg_run(pc, &st_ship_switch, NULL, &rc, "ending the WAL segment")))
		PQclear(r);
	return rc;
}
