/*
 * store_migrate.c — moving a whole chat database into another one
 * (store.h "moving a database"): the table definitions every backend dumps
 * and loads, the canonical checksum of a table, and store_copy(), which
 * streams every table from the source into the target in one transaction
 * and verifies the result by reading the target back.
 *
 * It knows no SQL: each backend turns store_dump_defs into its own
 * queries (sqlite/dump.c, pg/load.c). It does not decide whether pchatd is
 * stopped (pchatctl asks store_in_use first) nor print anything: progress
 * goes to the caller's callback, results into the report.
 *
 * The checksum: SHA-256 over every row in key order, each value written as
 * 'N' (NULL), 'I' and 8 bytes big-endian (integers and booleans 0/1) or 'T',
 * 8 bytes big-endian length and the bytes (text). Both sides are hashed
 * from the rows their backend returns, so a value that changed on the way
 * (a truncated text, a lost NULL, a boolean, an id) changes the sum.
 */
#include "store/store_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define COPY_BATCH_ROWS   1000  /* rows per store_load call (bounded memory) */
#define COPY_OUTBOX_BATCH 10000 /* compliance events moved per step */

#define COLS(a) a, (int)(sizeof(a) / sizeof(a[0]))

static const struct store_dump_col settings_cols[] = {
    {"key", STORE_COL_TEXT, false, false},
    {"value", STORE_COL_TEXT, false, false},
};
static const struct store_dump_col accounts_cols[] = {
    {"id", STORE_COL_INT, false, false},         {"name", STORE_COL_TEXT, false, false},
    {"pw_hash", STORE_COL_TEXT, true, false},    {"scram", STORE_COL_TEXT, true, false},
    {"admin", STORE_COL_BOOL, false, false},     {"chat_enabled", STORE_COL_BOOL, false, false},
    {"created_ms", STORE_COL_INT, false, false},
};
static const struct store_dump_col categories_cols[] = {
    {"id", STORE_COL_INT, false, false},           {"name", STORE_COL_TEXT, false, false},
    {"allowed", STORE_COL_TEXT, false, false},     {"created_ms", STORE_COL_INT, false, false},
    {"denied", STORE_COL_TEXT, false, false},      {"creators", STORE_COL_TEXT, false, false},
    {"invitations", STORE_COL_BOOL, false, false}, {"file_upload", STORE_COL_BOOL, false, false},
    {"history", STORE_COL_BOOL, false, false},
};
static const struct store_dump_col groups_cols[] = {
    {"id", STORE_COL_INT, false, false},
    {"name", STORE_COL_TEXT, false, false},
    {"members", STORE_COL_TEXT, false, false},
    {"created_ms", STORE_COL_INT, false, false},
};
static const struct store_dump_col addins_cols[] = {
    {"id", STORE_COL_INT, false, false},
    {"name", STORE_COL_TEXT, false, false},
    {"url", STORE_COL_TEXT, false, false},
};
static const struct store_dump_col rooms_cols[] = {
    {"id", STORE_COL_INT, false, false},
    {"name", STORE_COL_TEXT, false, false},
    {"category_id", STORE_COL_INT, false, false},
    {"description", STORE_COL_TEXT, false, false},
    {"created_ms", STORE_COL_INT, false, false},
    {"last_seq", STORE_COL_INT, false, false},
    {"privacy", STORE_COL_INT, false, false},
    {"type", STORE_COL_INT, false, false},
    {"invitations_off", STORE_COL_BOOL, false, false},
    {"disabled", STORE_COL_BOOL, false, false},
    {"addin", STORE_COL_TEXT, false, false},
    {"members", STORE_COL_TEXT, false, false},
    {"managers", STORE_COL_TEXT, false, false},
    {"presenters", STORE_COL_TEXT, false, false},
};
static const struct store_dump_col follows_cols[] = {
    {"account_id", STORE_COL_INT, false, false},
    {"room_id", STORE_COL_INT, false, false},
};
static const struct store_dump_col invitations_cols[] = {
    {"account_id", STORE_COL_INT, false, false},
    {"room_id", STORE_COL_INT, false, false},
    {"inviter", STORE_COL_TEXT, false, false},
    {"ts_ms", STORE_COL_INT, false, false},
};
static const struct store_dump_col markers_cols[] = {
    {"account_id", STORE_COL_INT, false, false},
    {"target", STORE_COL_TEXT, false, true},
    {"ts_ms", STORE_COL_INT, false, false},
};
static const struct store_dump_col messages_cols[] = {
    {"id", STORE_COL_INT, false, false},       {"room_id", STORE_COL_INT, true, false},
    {"pm_a", STORE_COL_TEXT, true, false},     {"pm_b", STORE_COL_TEXT, true, false},
    {"peer", STORE_COL_TEXT, true, false},     {"seq", STORE_COL_INT, false, false},
    {"msgid", STORE_COL_TEXT, false, false},   {"ts_ms", STORE_COL_INT, false, false},
    {"sender", STORE_COL_TEXT, false, false},  {"kind", STORE_COL_TEXT, false, false},
    {"text", STORE_COL_TEXT, false, false},    {"tags", STORE_COL_TEXT, true, false},
    {"redacted", STORE_COL_INT, false, false},
};
static const struct store_dump_col changes_cols[] = {
    {"id", STORE_COL_INT, false, false},
    {"kind", STORE_COL_TEXT, false, false},
    {"name", STORE_COL_TEXT, false, false},
    {"ts_ms", STORE_COL_INT, false, false},
};
static const struct store_dump_col counters_cols[] = {
    {"name", STORE_COL_TEXT, false, false},
    {"value", STORE_COL_INT, false, false},
};
static const struct store_dump_col cevents_cols[] = {
    {"id", STORE_COL_INT, false, false},        {"ts_ms", STORE_COL_INT, false, false},
    {"type", STORE_COL_TEXT, false, false},     {"actor", STORE_COL_TEXT, false, false},
    {"actor_id", STORE_COL_INT, false, false},  {"address", STORE_COL_TEXT, false, false},
    {"room_id", STORE_COL_INT, false, false},   {"room", STORE_COL_TEXT, false, false},
    {"category", STORE_COL_TEXT, false, false}, {"logged", STORE_COL_BOOL, false, false},
    {"peer", STORE_COL_TEXT, false, false},     {"msgid", STORE_COL_TEXT, false, false},
    {"content", STORE_COL_TEXT, false, false},  {"detail", STORE_COL_TEXT, true, false},
};
static const struct store_dump_col cclaims_cols[] = {
    {"lo", STORE_COL_INT, false, false},      {"hi", STORE_COL_INT, false, false},
    {"owner", STORE_COL_TEXT, false, false},  {"expires_ms", STORE_COL_INT, false, false},
    {"params", STORE_COL_TEXT, false, false},
};
static const struct store_dump_col cstate_cols[] = {
    {"exported", STORE_COL_INT, false, false},    {"last_run_ms", STORE_COL_INT, false, false},
    {"last_file", STORE_COL_TEXT, false, false},  {"last_error_ms", STORE_COL_INT, false, false},
    {"last_error", STORE_COL_TEXT, false, false},
};

const struct store_dump_def store_dump_defs[STORE_DUMP_N] = {
    [STORE_DUMP_SETTINGS] = {"settings", COLS(settings_cols), 1},
    [STORE_DUMP_ACCOUNTS] = {"accounts", COLS(accounts_cols), 1},
    [STORE_DUMP_CATEGORIES] = {"categories", COLS(categories_cols), 1},
    [STORE_DUMP_GROUPS] = {"groups", COLS(groups_cols), 1},
    [STORE_DUMP_ADDINS] = {"addins", COLS(addins_cols), 1},
    [STORE_DUMP_ROOMS] = {"rooms", COLS(rooms_cols), 1},
    [STORE_DUMP_FOLLOWS] = {"follows", COLS(follows_cols), 2},
    [STORE_DUMP_INVITATIONS] = {"invitations", COLS(invitations_cols), 2},
    [STORE_DUMP_MARKERS] = {"markers", COLS(markers_cols), 2},
    [STORE_DUMP_MESSAGES] = {"messages", COLS(messages_cols), 1},
    [STORE_DUMP_CHANGES] = {"changes", COLS(changes_cols), 1},
    [STORE_DUMP_COUNTERS] = {"counters", COLS(counters_cols), 1},
    [STORE_DUMP_CEVENTS] = {"compliance_events", COLS(cevents_cols), 1},
    [STORE_DUMP_CCLAIMS] = {"compliance_claims", COLS(cclaims_cols), 1},
    [STORE_DUMP_CSTATE] = {"compliance_state", COLS(cstate_cols), 0},
};

_Static_assert(sizeof(messages_cols) / sizeof(messages_cols[0]) <= STORE_DUMP_MAX_COLS, "widest");
_Static_assert(sizeof(cevents_cols) / sizeof(cevents_cols[0]) <= STORE_DUMP_MAX_COLS, "widest");

int store_dump(struct store_conn *c, int table, store_row_cb cb, void *arg)
{
	if (table < 0 || table >= STORE_DUMP_N || !cb || !c->be->dump)
		return STORE_EINVAL;
	return c->be->dump(c, table, cb, arg);
}

int store_load(struct store_conn *c, int table, const struct store_value *rows, size_t n)
{
	if (table < 0 || table >= STORE_DUMP_N || !c->be->load)
		return STORE_EINVAL;
	if (n == 0)
		return 0;
	return c->be->load(c, table, rows, n);
}

bool store_in_use(const char *url, int *pid)
{
	const char *target = url;

	*pid = 0;
	if (!url || strstr(url, "=") || (strstr(url, "://") && strncmp(url, "sqlite:", 7) != 0))
		return false; /* PostgreSQL: many servers share it by design */
	if (strncmp(url, "sqlite:", 7) == 0)
		target = url + 7;
	if (!*target || !store_sqlite_backend.in_use)
		return false;
	return store_sqlite_backend.in_use(target, pid);
}

/* --- the canonical checksum ---------------------------------------------- */

static void put_u64(crypto_hash_sha256_state *h, char tag, uint64_t v)
{
	unsigned char b[9];

	b[0] = (unsigned char)tag;
	for (int i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)(v >> (56 - 8 * i));
	crypto_hash_sha256_update(h, b, sizeof b);
}

/* Feed one row of table into h. */
static void hash_row(crypto_hash_sha256_state *h, const struct store_dump_def *d,
                     const struct store_value *row)
{
	for (int i = 0; i < d->n_cols; i++) {
		const struct store_value *v = &row[i];

		if (v->null) {
			crypto_hash_sha256_update(h, (const unsigned char *)"N", 1);
		} else if (d->cols[i].type == STORE_COL_TEXT) {
			put_u64(h, 'T', v->len);
			crypto_hash_sha256_update(h, (const unsigned char *)v->s, v->len);
		} else {
			put_u64(h, 'I', (uint64_t)v->i);
		}
	}
}

static void hash_hex(crypto_hash_sha256_state *h, char out[65])
{
	unsigned char md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_final(h, md);
	sodium_bin2hex(out, 65, md, sizeof md);
}

/* --- copying one table ----------------------------------------------------- */

/* The state of one table's copy: hashing, batching, progress. */
struct copier {
	struct store_conn *dst;               /* target (NULL: only hash and count) */
	int table;                            /* enum store_dump_table */
	const struct store_dump_def *def;     /* its definition */
	const struct store_copy_options *opt; /* progress */
	crypto_hash_sha256_state h;           /* running checksum */
	int64_t rows;                         /* rows seen */
	struct store_value *batch;            /* COPY_BATCH_ROWS rows of n_cols values */
	size_t n_batch;                       /* rows in batch */
};

static void batch_clear(struct copier *cp)
{
	size_t n = cp->n_batch * (size_t)cp->def->n_cols;

	for (size_t i = 0; i < n; i++)
		free((char *)cp->batch[i].s);
	cp->n_batch = 0;
}

static int batch_flush(struct copier *cp)
{
	int rc = 0;

	if (cp->n_batch > 0)
		rc = store_load(cp->dst, cp->table, cp->batch, cp->n_batch);
	batch_clear(cp);
	return rc;
}

/* A row from the source (or, without dst, from the target being verified). */
static int copier_row(void *arg, const struct store_value *row)
{
	struct copier *cp = arg;
	struct store_value *slot;

	hash_row(&cp->h, cp->def, row);
	cp->rows++;
	if (cp->opt && cp->opt->progress && cp->opt->every > 0 && cp->rows % cp->opt->every == 0)
		cp->opt->progress(cp->opt->arg, cp->def->name, cp->rows);
	if (!cp->dst)
		return 0;
	slot = &cp->batch[cp->n_batch * (size_t)cp->def->n_cols];
	for (int i = 0; i < cp->def->n_cols; i++) {
		slot[i] = row[i];
		slot[i].s = NULL;
		if (!row[i].null && cp->def->cols[i].type == STORE_COL_TEXT) {
			char *s = xmalloc(row[i].len + 1);

			memcpy(s, row[i].s, row[i].len);
			s[row[i].len] = '\0';
			slot[i].s = s;
		}
	}
	if (++cp->n_batch == COPY_BATCH_ROWS)
		return batch_flush(cp);
	return 0;
}

/* Read table from src (into dst when not NULL); count and checksum into rows/sum. */
static int copy_table(struct store_conn *src, struct store_conn *dst, int table,
                      const struct store_copy_options *opt, int64_t *rows, char sum[65])
{
	struct copier cp = {.dst = dst, .table = table, .def = &store_dump_defs[table], .opt = opt};
	int rc;

	crypto_hash_sha256_init(&cp.h);
	if (dst)
		cp.batch = xcalloc(COPY_BATCH_ROWS * (size_t)cp.def->n_cols, sizeof(*cp.batch));
	rc = store_dump(src, table, copier_row, &cp);
	if (rc == 0 && dst)
		rc = batch_flush(&cp);
	batch_clear(&cp);
	free(cp.batch);
	*rows = cp.rows;
	hash_hex(&cp.h, sum);
	return rc;
}

/* --- the whole copy ---------------------------------------------------------- */

/* Carry src's compliance outbox into its queue (SQLite), so that the queue is complete. */
static int move_outbox(struct store_conn *src, int64_t *moved)
{
	int64_t n;
	int rc;

	*moved = 0;
	do {
		rc = store_comp_move(src, COPY_OUTBOX_BATCH, &n);
		*moved += n;
	} while (rc == 0 && n > 0);
	return rc;
}

/* Copy every table, then read the target back; the report says what agrees. */
static int copy_all(struct store_conn *src, struct store_conn *dst,
                    const struct store_copy_options *opt, struct store_copy_report *rep)
{
	int rc;

	for (int t = 0; t < STORE_DUMP_N; t++) {
		rc = copy_table(src, dst, t, opt, &rep->t[t].src_rows, rep->t[t].src_sum);
		if (rc != 0)
			return rc;
	}
	if ((rc = dst->be->load_finish(dst)) != 0)
		return rc;
	rep->ok = true;
	for (int t = 0; t < STORE_DUMP_N; t++) {
		struct store_copy_table *ct = &rep->t[t];

		rc = copy_table(dst, NULL, t, NULL, &ct->dst_rows, ct->dst_sum);
		if (rc != 0)
			return rc;
		ct->ok = ct->src_rows == ct->dst_rows && strcmp(ct->src_sum, ct->dst_sum) == 0;
		rep->ok = rep->ok && ct->ok;
	}
	rep->verified = true;
	return 0;
}

int store_copy(struct store_conn *src, struct store_conn *dst, const struct store_copy_options *opt,
               struct store_copy_report *rep)
{
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (src->in_job || dst->in_job || !src->be->dump || !dst->be->load ||
	    !dst->be->load_prepare || !dst->be->load_finish)
		return STORE_EINVAL;
	if (sodium_init() < 0)
		return STORE_EIO;
	if ((rc = move_outbox(src, &rep->outbox_moved)) != 0)
		return rc;
	if ((rc = src->be->begin(src, false)) != 0)
		return rc;
	if ((rc = dst->be->begin(dst, true)) != 0)
		goto out_end_src;
	rc = dst->be->load_prepare(dst, opt->replace);
	if (rc == 0)
		rc = copy_all(src, dst, opt, rep);
	if (rc == 0 && !rep->ok)
		rc = STORE_EIO;
	if (rc == 0)
		rc = dst->be->commit(dst);
	else
		dst->be->rollback(dst);

out_end_src:
	src->be->rollback(src); /* a read transaction: nothing to keep */
	return rc;
}
