/*
 * conn.c — SQLite connections: opening (file modes, pragmas), the statement
 * cache, error mapping, transactions, migrations and the integrity check.
 *
 * It does not know the data operations (sqlite.c) nor threads (store.c).
 *
 * File modes: the database file is created by us with open(O_CREAT, 0600)
 * before sqlite3_open_v2, and SQLite's unix VFS gives the -wal and -shm
 * files the permissions of the database file. We do not use umask(): it is
 * process-wide, and pchatd has other threads creating files meanwhile. The
 * compliance database file (compliance.c) is created the same way
 * (sq_prepare_file).
 *
 * Durability: journal_mode=WAL with synchronous=FULL fsyncs the WAL at every
 * COMMIT, so a commit that returned survives kill -9 and power loss (SPEC
 * §4); group commit (store.c) keeps that cheap.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_MALLOC_TOP_PAD  (8 << 20)

static pthread_once_t sq_once = PTHREAD_ONCE_INIT;

/*
 * Wait for the write lock in 1 ms steps, up to SQ_BUSY_TIMEOUT_MS. SQLite's
 * own busy timeout sleeps up to 100 ms between tries, so it can miss every
 * short gap a busy writer leaves between its transactions (the writer
 * thread's upkeep pauses 2 ms between its steps, store.c): pchatd's direct
 * connection and pchatctl then failed with "database is locked" while the
 * writer indexed a large import for search.
 */
static int busy_wait(void *arg, int tries)
{
	(void)arg;
	if (tries >= SQ_BUSY_TIMEOUT_MS)
		return 0;
	usleep(1000);
	return 1;
}

/*
 * Process-wide settings, once, before the first connection:
 *  - no memory statistics: they take a global mutex around every SQLite
 *    allocation, on every thread;
 *  - glibc keeps 8 MiB free at the top of each heap instead of handing it
 *    back to the kernel at once: every RELEASE of a job's savepoint frees
 *    ~20 KiB (sub-journal, bitvecs) that the next job takes again, and the
 *    loop frees and takes again ~1-2 MiB of output buffers per flush under
 *    fan-out. With 512 KiB the loop's heap went up and down with brk at
 *    every flush (page faults, TLB shootdowns): at 5,000 msgs/s into rooms
 *    of 100, delivery p99 184 ms instead of 50-56 ms. Setting it also fixes
 *    the mmap threshold at 128 KiB (no dynamic raise), so large result
 *    arrays are mapped and unmapped, never held in a heap. What a pad can
 *    hold is bounded (8 MiB an arena); the compliance thread, the only one
 *    with large transient peaks, trims after each export (service.c).
 */
static void sq_global_init(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); /* MISUSE if already initialised */
	mallopt(M_TOP_PAD, SQ_MALLOC_TOP_PAD);
}

sqlite3_stmt *sq_stmt(struct sq_conn *sc, enum sq_stmt_id id)
{
	sqlite3_stmt *st = sc->stmts[id];
	int rc;

	if (st)
		return st;
	rc = sqlite3_prepare_v3(sc->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		log_error("store", "%s: preparing statement %d: %s", sc->path, (int)id,
		          sqlite3_errmsg(sc->db));
		sqlite3_finalize(st);
		return NULL;
	}
	sc->stmts[id] = st;
	return st;
}

int sq_fail(struct sq_conn *sc, sqlite3_stmt *stmt, int rc, const char *what)
{
	return sq_fail_db(sc->db, sc->path, stmt, rc, what);
}

int sq_fail_db(sqlite3 *db, const char *path, sqlite3_stmt *stmt, int rc, const char *what)
{
	int ret;

	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		ret = STORE_EEXIST;
		break;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
	case SQLITE_CONSTRAINT_TRIGGER: /* ON DELETE RESTRICT */
		ret = STORE_ENOTEMPTY;
		break;
	default:
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			ret = STORE_EBUSY;
		else if ((rc & 0xff) == SQLITE_CONSTRAINT)
			ret = STORE_EINVAL;
		else
			ret = STORE_EIO;
		log_error("store", "%s: %s: %s", path, what, sqlite3_errmsg(db));
		break;
	}
	if (stmt)
		sqlite3_reset(stmt);
	return ret;
}

int sq_exec_stmt(struct sq_conn *sc, sqlite3_stmt *stmt, const char *what)
{
	int rc;

	if (!stmt)
		return STORE_EIO;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(sc, stmt, rc, what);
	sqlite3_reset(stmt);
	return 0;
}

int sq_bind_text(sqlite3_stmt *stmt, int col, const char *s)
{
	if (!s)
		return sqlite3_bind_null(stmt, col);
	return sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
}

char *sq_col_dup(sqlite3_stmt *stmt, int col, bool nullable)
{
	const char *s = (const char *)sqlite3_column_text(stmt, col);

	if (!s)
		return nullable ? NULL : xstrdup("");
	return xstrdup(s);
}

int sq_prepare_file(const char *path, bool create, char *err, size_t errlen)
{
	struct stat sb;

	/*
	 * Never open and close the file itself once it exists: closing any
	 * descriptor of a file drops every POSIX lock this process holds on it,
	 * including the locks of connections already open (SQLite's own
	 * warning). Only a file that does not exist yet is created here.
	 */
	if (stat(path, &sb) != 0) {
		int fd;

		if (errno != ENOENT || !create) {
			snprintf(err, errlen,
			         errno == ENOENT ? "database %s does not exist" : "database %s: %s",
			         path, strerror(errno));
			return errno == ENOENT ? STORE_ENOTFOUND : STORE_EIO;
		}
		fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
		if (fd < 0 && errno != EEXIST) {
			snprintf(err, errlen, "database %s: %s", path, strerror(errno));
			return STORE_EIO;
		}
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if ((sb.st_mode & 077) != 0) {
		log_warn("store", "database %s was readable by others: mode set to 0600", path);
		if (chmod(path, 0600) != 0)
			log_warn("store", "chmod %s: %s", path, strerror(errno));
	}
	return 0;
}

/*
 * Per-connection settings; journal_mode is set by writers only.
 * temp_store=MEMORY keeps the savepoint sub-journal in memory; a 16 MiB
 * page cache and a checkpoint every 4096 pages (16 MiB of WAL) keep the
 * writer from re-reading and re-syncing the database file too often. The
 * writer thread's connection checkpoints from a thread of its own instead
 * (ckpt.c), and a WAL that grew behind it is cut back to 64 MiB when it
 * starts over.
 */
static int apply_pragmas(struct sq_conn *sc, enum store_conn_mode mode, char *err, size_t errlen)
{
	const char *sql = mode != STORE_CONN_READ ? "PRAGMA journal_mode=WAL;"
	                                            "PRAGMA synchronous=FULL;"
	                                            "PRAGMA foreign_keys=ON;"
	                                            "PRAGMA temp_store=MEMORY;"
	                                            "PRAGMA cache_size=-16384;"
	                                            "PRAGMA wal_autocheckpoint=4096;"
	                                            "PRAGMA journal_size_limit=67108864;"
	                                          : "PRAGMA foreign_keys=ON;";
	char *msg = NULL;

	sqlite3_extended_result_codes(sc->db, 1);
	sqlite3_busy_handler(sc->db, busy_wait, NULL);
	if (sqlite3_exec(sc->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", sc->path, msg ? msg : "cannot configure");
		sqlite3_free(msg);
		return STORE_EIO;
	}
	return 0;
}

/* Page-cache bytes of one handle (NULL: 0). */
static size_t handle_cache_bytes(sqlite3 *db)
{
	int cur = 0, hi = 0;

	if (db && sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0) != SQLITE_OK)
		cur = 0;
	return cur > 0 ? (size_t)cur : 0;
}

size_t sq_cache_bytes(struct store_conn *c)
{
	struct sq_conn *sc = sq_of(c);

	return handle_cache_bytes(sc->db) + handle_cache_bytes(sc->cdb);
}

/* Whether the database really is in WAL mode (a writer could not switch). */
static int check_wal(struct sq_conn *sc, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int ret = STORE_EIO;

	if (sqlite3_prepare_v2(sc->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW &&
	    str_ieq((const char *)sqlite3_column_text(st, 0), "wal"))
		ret = 0;
	else
		snprintf(err, errlen, "database %s: cannot use WAL journal mode", sc->path);
	sqlite3_finalize(st);
	return ret;
}

int sq_open_conn(const char *target, enum store_conn_mode mode, bool create,
                 struct store_conn **out, char *err, size_t errlen)
{
	struct sq_conn *sc = xcalloc(1, sizeof(*sc));
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc;

	pthread_once(&sq_once, sq_global_init);
	sc->base.be = &store_sqlite_backend;
	if (str_copy(sc->path, target, sizeof(sc->path)) >= sizeof(sc->path)) {
		snprintf(err, errlen, "database path too long");
		rc = STORE_EINVAL;
		goto out_free;
	}
	flags |= mode != STORE_CONN_READ ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	sc->readonly = mode == STORE_CONN_READ;
	if (mode != STORE_CONN_READ && (rc = sq_prepare_file(sc->path, create, err, errlen)) != 0)
		goto out_free;
	if (sqlite3_open_v2(sc->path, &sc->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", sc->path,
		         sc->db ? sqlite3_errmsg(sc->db) : "out of memory");
		rc = STORE_EIO;
		goto out_free;
	}
	if ((rc = apply_pragmas(sc, mode, err, errlen)) != 0 ||
	    (rc = check_wal(sc, err, errlen)) != 0 ||
	    (mode == STORE_CONN_GROUP && (rc = sq_ckpt_start(sc, err, errlen)) != 0))
		goto out_free;
	*out = &sc->base;
	return 0;

out_free:
	sq_close_conn(&sc->base);
	*out = NULL;
	return rc;
}

void sq_close_conn(struct store_conn *c)
{
	struct sq_conn *sc = sq_of(c);

	if (!sc)
		return;
	sq_ckpt_stop(sc);
	sqc_close(sc);
	for (int i = 0; i < SQ_N_STMTS; i++)
		sqlite3_finalize(sc->stmts[i]);
	if (sc->db && sqlite3_close(sc->db) != SQLITE_OK)
		log_error("store", "%s: close: %s", sc->path, sqlite3_errmsg(sc->db));
	free(sc);
}

/* --- transactions --------------------------------------------------------- */

int sq_begin(struct store_conn *c, bool write)
{
	struct sq_conn *sc = sq_of(c);

	return sq_exec_stmt(sc, sq_stmt(sc, write ? SQ_BEGIN_IMMEDIATE : SQ_BEGIN), "begin");
}

int sq_commit(struct store_conn *c)
{
	struct sq_conn *sc = sq_of(c);

	return sq_exec_stmt(sc, sq_stmt(sc, SQ_COMMIT), "commit");
}

int sq_rollback(struct store_conn *c)
{
	struct sq_conn *sc = sq_of(c);

	if (sqlite3_get_autocommit(sc->db))
		return 0; /* nothing open (SQLite may already have rolled back) */
	return sq_exec_stmt(sc, sq_stmt(sc, SQ_ROLLBACK), "rollback");
}

int sq_savepoint(struct store_conn *c)
{
	struct sq_conn *sc = sq_of(c);

	return sq_exec_stmt(sc, sq_stmt(sc, SQ_SAVEPOINT), "savepoint");
}

int sq_release(struct store_conn *c)
{
	struct sq_conn *sc = sq_of(c);

	return sq_exec_stmt(sc, sq_stmt(sc, SQ_RELEASE), "release savepoint");
}

int sq_rollback_to(struct store_conn *c)
{
	struct sq_conn *sc = sq_of(c);

	return sq_exec_stmt(sc, sq_stmt(sc, SQ_ROLLBACK_TO), "rollback to savepoint");
}

/* --- migrations ----------------------------------------------------------- */

static int user_version(struct sq_conn *sc, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(sc->db, "PRAGMA user_version", -1, &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		rc = sq_fail(sc, NULL, rc, "reading the schema version");
	}
	sqlite3_finalize(st);
	return rc;
}

static int apply_steps(struct sq_conn *sc, int from, char *err, size_t errlen)
{
	char sql[64];
	char *msg = NULL;

	for (int v = from; v < sq_n_migrations; v++) {
		if (sqlite3_exec(sc->db, sq_migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "database %s: migration to version %d failed: %s",
			         sc->path, v + 1, msg ? msg : "?");
			sqlite3_free(msg);
			return STORE_EIO;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", sq_n_migrations);
	if (sqlite3_exec(sc->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: cannot set the schema version", sc->path);
		return STORE_EIO;
	}
	return 0;
}

int sq_migrate(struct store_conn *c, char *err, size_t errlen)
{
	struct sq_conn *sc = sq_of(c);
	int v = 0;
	int rc = sq_begin(c, true);

	if (rc) {
		snprintf(err, errlen, "database %s: cannot lock for migration", sc->path);
		return rc;
	}
	if ((rc = user_version(sc, &v)) != 0) {
		snprintf(err, errlen, "database %s: cannot read the schema version", sc->path);
		goto out_rollback;
	}
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
		         "database %s has schema version %d, newer than this pchat's %d: use a "
		         "newer pchat",
		         sc->path, v, STORE_SCHEMA_VERSION);
		rc = STORE_EVERSION;
		goto out_rollback;
	}
	if (v < STORE_SCHEMA_VERSION && (rc = apply_steps(sc, v, err, errlen)) != 0)
		goto out_rollback;
	if ((rc = sq_commit(c)) != 0) {
		snprintf(err, errlen, "database %s: cannot commit the migration", sc->path);
		goto out_rollback;
	}
	if (v < STORE_SCHEMA_VERSION)
		log_info("store", "database %s: schema version %d -> %d", sc->path, v,
		         STORE_SCHEMA_VERSION);
	return 0;

out_rollback:
	sq_rollback(c);
	return rc;
}

/* --- integrity ------------------------------------------------------------ */

/* Run a check pragma; rows other than "ok" are appended to detail. */
static int check_pragma(struct sq_conn *sc, const char *sql, char *detail, size_t len, size_t *used)
{
	sqlite3_stmt *st = NULL;
	int bad = 0, rc;

	if ((rc = sqlite3_prepare_v2(sc->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return sq_fail(sc, NULL, rc, sql);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);

		if (row && strcmp(row, "ok") == 0)
			continue;
		bad = 1;
		str_appendf(detail, len, used, "%s%s", *used ? "; " : "", row ? row : "?");
	}
	if (rc != SQLITE_DONE)
		bad = sq_fail(sc, NULL, rc, sql);
	sqlite3_finalize(st);
	return bad ? STORE_EIO : 0;
}

int sq_check(struct store_conn *c, char *detail, size_t detail_len)
{
	struct sq_conn *sc = sq_of(c);
	size_t used = 0;
	int rc = check_pragma(sc, "PRAGMA integrity_check", detail, detail_len, &used);

	/* foreign_key_check names the table of a row whose parent is missing */
	if (check_pragma(sc, "PRAGMA foreign_key_check", detail, detail_len, &used) != 0)
		rc = STORE_EIO;
	if (rc)
		log_error("store", "%s: integrity check failed: %s", sc->path, detail);
	return rc;
}
