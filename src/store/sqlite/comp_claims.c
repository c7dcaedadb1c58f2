/*
 * comp_claims.c — the SQLite compliance queue, second half: claims of event
 * ranges, fetching a range, purging it once exported, errors and status,
 * all on the compliance database handle (sq_conn.cdb, compliance.c).
 *
 * Claims are rows (lo, hi, owner, expires_ms, params) of disjoint ranges of
 * event ids. Every change runs in a BEGIN IMMEDIATE transaction of the
 * compliance file, so adapters of several processes (pchatd, pchatctl)
 * claiming at the same time get disjoint ranges. A claim never grows:
 * events moved later have ids above every existing event, hence above every
 * claim's hi.
 *
 * It does not write files nor choose params (src/compliance/), and it does
 * not touch the chat database except to read the outbox for status and the
 * capture setting.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SQC_CLAIM_MOVE_ROWS  50000 /* rows per move before a claim */
#define SQC_CLAIM_MOVE_STEPS 10    /* at most this many moves before a claim */

/* Bind ?1 = a and, when the statement has it, ?2 = b. */
static sqlite3_stmt *bound(struct sq_conn *sc, enum sqc_stmt_id id, int64_t a, int64_t b)
{
	sqlite3_stmt *st = sqc_stmt(sc, id);

	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	return st;
}

/* sqc_int64 of statement id with ?1 = a, ?2 = b. */
static int q_int64(struct sq_conn *sc, enum sqc_stmt_id id, int64_t a, int64_t b, int64_t *v)
{
	sqlite3_stmt *st = bound(sc, id, a, b);

	if (!st)
		return STORE_EIO;
	return sqc_int64(sc, st, v, "reading the compliance queue");
}

/*
 * Take over the oldest expired claim (same range and params). Expired claims
 * whose events are gone are dropped on the way. STORE_ENOTFOUND when none.
 */
static int take_expired(struct sq_conn *sc, const char *owner, int64_t now, int64_t expires,
                        struct store_comp_claim *out)
{
	sqlite3_stmt *st = sqc_stmt(sc, SQC_CLAIM_EXPIRED);
	sqlite3_stmt *take = sqc_stmt(sc, SQC_CLAIM_TAKE);
	int rc;

	if (!st || !take)
		return STORE_EIO;
	do {
		sqlite3_bind_int64(st, 1, now);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			sqlite3_reset(st);
			return STORE_ENOTFOUND;
		}
		if (rc != SQLITE_ROW)
			return sqc_fail(sc, st, rc, "reading claims");
		out->lo = sqlite3_column_int64(st, 0);
		out->hi = sqlite3_column_int64(st, 1);
		str_copy(out->params, (const char *)sqlite3_column_text(st, 2),
		         sizeof(out->params));
		sqlite3_reset(st);
		if ((rc = q_int64(sc, SQC_RANGE_COUNT, out->lo, out->hi, &out->n)) != 0)
			return rc;
		if (out->n == 0 && (rc = sqc_exec(sc, bound(sc, SQC_CLAIM_DELETE, out->lo, 0),
		                                  "dropping a claim")) != 0)
			return rc;
	} while (out->n == 0);
	sqlite3_bind_int64(take, 1, out->lo);
	sq_bind_text(take, 2, owner);
	sqlite3_bind_int64(take, 3, expires);
	if ((rc = sqc_exec(sc, take, "taking over a claim")) != 0)
		return rc;
	str_copy(out->owner, owner, sizeof(out->owner));
	out->expires_ms = expires;
	out->resumed = true;
	return 0;
}

/* The first event id that no claim covers, in *lo; STORE_ENOTFOUND when none. */
static int first_free(struct sq_conn *sc, int64_t *lo)
{
	int64_t cursor = 0, cov_hi;
	int rc;

	for (;;) {
		if ((rc = q_int64(sc, SQC_EVENT_NEXT, cursor, 0, lo)) != 0)
			return rc;
		rc = q_int64(sc, SQC_CLAIM_COVERING, *lo, 0, &cov_hi);
		if (rc == STORE_ENOTFOUND || (rc == 0 && cov_hi < *lo))
			return 0;
		if (rc != 0)
			return rc;
		cursor = cov_hi; /* inside a claim: look past it */
	}
}

/* A new claim from the first free event: at most max events, below the next claim. */
static int claim_new(struct sq_conn *sc, const char *owner, const char *params, int max,
                     int64_t expires, struct store_comp_claim *out)
{
	sqlite3_stmt *range, *ins;
	int64_t lo, next_lo;
	int rc;

	if ((rc = first_free(sc, &lo)) != 0)
		return rc;
	rc = q_int64(sc, SQC_CLAIM_NEXT_LO, lo, 0, &next_lo);
	if (rc == STORE_ENOTFOUND)
		next_lo = INT64_MAX;
	else if (rc != 0)
		return rc;
	if (!(range = bound(sc, SQC_RANGE, lo, next_lo - 1)) ||
	    !(ins = sqc_stmt(sc, SQC_CLAIM_INSERT)))
		return STORE_EIO;
	sqlite3_bind_int(range, 3, max);
	if ((rc = sqlite3_step(range)) != SQLITE_ROW)
		return sqc_fail(sc, range, rc, "sizing a claim");
	out->lo = lo;
	out->hi = sqlite3_column_int64(range, 0);
	out->n = sqlite3_column_int64(range, 1);
	sqlite3_reset(range);
	str_copy(out->owner, owner, sizeof(out->owner));
	str_copy(out->params, params, sizeof(out->params));
	out->expires_ms = expires;
	sqlite3_bind_int64(ins, 1, out->lo);
	sqlite3_bind_int64(ins, 2, out->hi);
	sq_bind_text(ins, 3, owner);
	sqlite3_bind_int64(ins, 4, expires);
	sq_bind_text(ins, 5, params);
	rc = sqc_exec(sc, ins, "recording a claim");
	sqlite3_clear_bindings(ins);
	return rc;
}

/* Move the outbox until it is empty or the bound is reached. */
static int move_all(struct sq_conn *sc)
{
	int64_t n = SQC_CLAIM_MOVE_ROWS;
	int rc = 0;

	for (int i = 0; rc == 0 && n == SQC_CLAIM_MOVE_ROWS && i < SQC_CLAIM_MOVE_STEPS; i++)
		rc = sqc_move(sc, SQC_CLAIM_MOVE_ROWS, false, &n);
	return rc;
}

int sq_comp_claim(struct store_conn *c, const char *owner, const char *params, int max_events,
                  int64_t lease_ms, int64_t now_ms, struct store_comp_claim *out)
{
	struct sq_conn *sc = sq_of(c);
	int rc;

	if (sc->readonly)
		return STORE_EINVAL;
	/* inside a chat transaction the outbox cannot be emptied: claim what was moved */
	if (!c->in_job && sqlite3_get_autocommit(sc->db) && (rc = move_all(sc)) != 0)
		return rc;
	if ((rc = sqc_open(sc)) != 0 || (rc = sqc_begin(sc, false)) != 0)
		return rc;
	rc = take_expired(sc, owner, now_ms, now_ms + lease_ms, out);
	if (rc == STORE_ENOTFOUND)
		rc = claim_new(sc, owner, params, max_events, now_ms + lease_ms, out);
	if (rc == 0)
		rc = sqc_commit(sc);
	if (rc != 0) {
		sqc_rollback(sc);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* Free an array of events (store_cevent_free each, then free). */
static void cevents_free(struct store_cevent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_cevent_free(&v[i]);
	free(v);
}

int sq_comp_fetch(struct store_conn *c, int64_t lo, int64_t hi, struct store_cevent **out,
                  size_t *n)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if ((rc = sqc_open(sc)) != 0)
		return rc;
	if (!(st = bound(sc, SQC_FETCH, lo, hi)))
		return STORE_EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		memset(&(*out)[*n], 0, sizeof(**out));
		sq_cevent_row(st, &(*out)[(*n)++]);
	}
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	rc = sqc_fail(sc, st, rc, "fetching compliance events");
	cevents_free(*out, *n);
	*out = NULL;
	*n = 0;
	return rc;
}

int sq_comp_renew(struct store_conn *c, const struct store_comp_claim *cl, int64_t expires_ms)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqc_open(sc)) != 0)
		return rc;
	if (!(st = bound(sc, SQC_RENEW, cl->lo, cl->hi)))
		return STORE_EIO;
	sq_bind_text(st, 3, cl->owner);
	sqlite3_bind_int64(st, 4, expires_ms);
	if ((rc = sqc_exec(sc, st, "renewing a claim")) == 0 && sqlite3_changes(sc->cdb) == 0)
		rc = STORE_ENOTFOUND; /* done, released, or taken over */
	return rc;
}

/* The statements of store_comp_done, in the open transaction. */
static int done_locked(struct sq_conn *sc, const struct store_comp_claim *cl, const char *file,
                       int64_t now_ms)
{
	sqlite3_stmt *st;
	int64_t purged;
	int rc;

	if ((rc = sqc_exec(sc, bound(sc, SQC_PURGE, cl->lo, cl->hi), "purging events")) != 0)
		return rc;
	purged = sqlite3_changes64(sc->cdb); /* 0 when another adapter did it first */
	rc = sqc_exec(sc, bound(sc, SQC_CLAIM_DONE, cl->lo, cl->hi), "dropping a claim");
	if (rc != 0)
		return rc;
	if (!(st = bound(sc, SQC_STATE_DONE, purged, now_ms)))
		return STORE_EIO;
	sq_bind_text(st, 3, file);
	return sqc_exec(sc, st, "noting an export");
}

int sq_comp_done(struct store_conn *c, const struct store_comp_claim *cl, const char *file,
                 int64_t now_ms)
{
	struct sq_conn *sc = sq_of(c);
	int rc;

	if ((rc = sqc_open(sc)) != 0 || (rc = sqc_begin(sc, false)) != 0)
		return rc;
	if ((rc = done_locked(sc, cl, file, now_ms)) == 0 && (rc = sqc_commit(sc)) == 0)
		return 0;
	sqc_rollback(sc);
	return rc;
}

int sq_comp_failed(struct store_conn *c, const struct store_comp_claim *cl, bool release,
                   const char *error, int64_t now_ms)
{
	struct sq_conn *sc = sq_of(c);
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqc_open(sc)) != 0 || (rc = sqc_begin(sc, false)) != 0)
		return rc;
	if (!(st = bound(sc, SQC_STATE_ERROR, now_ms, 0))) {
		rc = STORE_EIO;
		goto out_rollback;
	}
	sq_bind_text(st, 2, error);
	if ((rc = sqc_exec(sc, st, "noting an export error")) != 0)
		goto out_rollback;
	if (cl && release && (st = bound(sc, SQC_CLAIM_RELEASE, cl->lo, cl->hi)) != NULL) {
		sq_bind_text(st, 3, cl->owner);
		if ((rc = sqc_exec(sc, st, "releasing a claim")) != 0)
			goto out_rollback;
	}
	if ((rc = sqc_commit(sc)) == 0)
		return 0;
out_rollback:
	sqc_rollback(sc);
	return rc;
}

/* The compliance file's part of status, one read transaction; *mark for the outbox. */
static int status_queue(struct sq_conn *sc, struct store_comp_status *out, int64_t *mark)
{
	sqlite3_stmt *st = sqc_stmt(sc, SQC_STATE);
	sqlite3_stmt *ev = sqc_stmt(sc, SQC_EVENT_STATS);
	int rc;

	if (!st || !ev)
		return STORE_EIO;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return sqc_fail(sc, st, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "reading state");
	*mark = sqlite3_column_int64(st, 0);
	out->exported = sqlite3_column_int64(st, 1);
	out->last_run_ms = sqlite3_column_int64(st, 2);
	str_copy(out->last_file, (const char *)sqlite3_column_text(st, 3), sizeof(out->last_file));
	out->last_error_ms = sqlite3_column_int64(st, 4);
	str_copy(out->last_error, (const char *)sqlite3_column_text(st, 5),
	         sizeof(out->last_error));
	sqlite3_reset(st);
	if ((rc = sqlite3_step(ev)) != SQLITE_ROW)
		return sqc_fail(sc, ev, rc, "counting events");
	out->queued = sqlite3_column_int64(ev, 0);
	out->oldest_ms = sqlite3_column_int64(ev, 1);
	sqlite3_reset(ev);
	return q_int64(sc, SQC_CLAIM_COUNT, 0, 0, &out->claims);
}

/* Add the outbox rows above mark (not yet moved) to queued and oldest_ms. */
static int status_outbox(struct sq_conn *sc, struct store_comp_status *out, int64_t mark)
{
	sqlite3_stmt *st = sq_stmt(sc, SQ_OUTBOX_STATS);
	int64_t oldest;
	int rc;

	if (!st)
		return STORE_EIO;
	sqlite3_bind_int64(st, 1, mark);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return sq_fail(sc, st, rc, "counting the compliance outbox");
	out->queued += sqlite3_column_int64(st, 0);
	oldest = sqlite3_column_int64(st, 1);
	if (oldest > 0 && (out->oldest_ms == 0 || oldest < out->oldest_ms))
		out->oldest_ms = oldest;
	sqlite3_reset(st);
	return 0;
}

int sq_comp_status(struct store_conn *c, struct store_comp_status *out)
{
	struct sq_conn *sc = sq_of(c);
	int64_t mark = 0;
	int rc;

	if ((rc = sq_comp_enabled(c, &out->enabled)) != 0 || (rc = sqc_open(sc)) != 0)
		return rc;
	if ((rc = sqc_exec(sc, sqc_stmt(sc, SQC_BEGIN), "reading the compliance queue")) != 0)
		return rc;
	rc = status_queue(sc, out, &mark);
	sqc_rollback(sc); /* a read: nothing to keep */
	if (rc == 0)
		rc = status_outbox(sc, out, mark);
	return rc;
}
