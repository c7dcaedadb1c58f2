/*
 * test_store_sqlite.c — what only the SQLite backend promises: file modes,
 * refusal of a newer schema, data surviving close/reopen, the integrity
 * check, two processes' worth of connections on one file (WAL).
 *
 * The generic behaviour is the contract suite's (tests/contract). This file
 * uses sqlite3.h directly to forge databases the store would never write.
 */
#include "common/id.h"
#include "common/mailbox.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "store/store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

struct tctx {
	char dir[64];   /* temporary directory */
	char path[128]; /* database file */
	char url[160];  /* "sqlite:" + path */
};

static int setup(void **state)
{
	struct tctx *t = calloc(1, sizeof(*t));

	str_copy(t->dir, "/tmp/pchat-sqlite-XXXXXX", sizeof(t->dir));
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/pchat.db", t->dir);
	snprintf(t->url, sizeof(t->url), "sqlite:%s", t->path);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tctx *t = *state;
	char p[200];

	unlink(t->path);
	snprintf(p, sizeof(p), "%s-wal", t->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", t->path);
	unlink(p);
	rmdir(t->dir);
	free(t);
	return 0;
}

static struct store *open_at(const char *url, bool create, char *err, size_t errlen)
{
	struct store_options opt = {.url = url, .create = create};

	return store_open(&opt, err, errlen);
}

/* Run SQL on the file with a raw connection (forging what the store won't). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_newer_schema_refused(void **state)
{
	struct tctx *t = *state;
	char err[256] = "", want[200];
	struct store *st = open_at(t->url, true, err, sizeof(err));

	assert_non_null(st);
	store_close(st);
	assert_int_equal(raw_int(t->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	raw_exec(t->path, "PRAGMA user_version = 7");
	assert_null(open_at(t->url, false, err, sizeof(err)));
	snprintf(want, sizeof(want), "has schema version 7, newer than this pchat's %d",
	         STORE_SCHEMA_VERSION);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "use a newer pchat"));
	/* refusing did not touch it */
	assert_int_equal(raw_int(t->path, "PRAGMA user_version"), 7);
}

static void expect_mode(const char *path, const char *suffix)
{
	char p[200];
	struct stat sb;

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_file_modes(void **state)
{
	struct tctx *t = *state;
	char err[256];
	mode_t old = umask(0); /* SQLite alone would then create 0644 files */
	struct store *st = open_at(t->url, true, err, sizeof(err));
	struct store_account a = {0};

	umask(old);
	assert_non_null(st);
	str_copy(a.name, "alice", sizeof(a.name));
	assert_int_equal(store_account_add(store_direct(st), &a), 0);
	expect_mode(t->path, "");
	expect_mode(t->path, "-wal");
	expect_mode(t->path, "-shm");
	store_close(st);

	/* a database left readable by others is tightened on open */
	assert_int_equal(chmod(t->path, 0644), 0);
	st = open_at(t->url, false, err, sizeof(err));
	assert_non_null(st);
	expect_mode(t->path, "");
	store_close(st);
}

static void test_survives_reopen(void **state)
{
	struct tctx *t = *state;
	char err[256];
	struct store *st = open_at(t->url, true, err, sizeof(err));
	struct store_room r = {0};
	struct store_msg m = {0}, *v;
	struct store_account a = {0};
	size_t n;

	assert_non_null(st);
	str_copy(r.name, "lobby", sizeof(r.name));
	assert_int_equal(store_room_add(store_direct(st), &r), 0);
	m.room_id = r.id;
	id_new(time_now_ms(), m.msgid);
	str_copy(m.sender, "alice", sizeof(m.sender));
	str_copy(m.kind, "PRIVMSG", sizeof(m.kind));
	m.text = "kept";
	assert_int_equal(store_msg_insert(store_direct(st), &m), 0);
	str_copy(a.name, "Alice", sizeof(a.name));
	a.pw_hash = "$argon2id$v=19$m=1";
	assert_int_equal(store_account_add(store_direct(st), &a), 0);
	store_close(st);

	assert_int_equal(raw_int(t->path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
	                 1);
	st = open_at(t->url, false, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_msg_latest(store_direct(st), r.id, NULL, NULL, 0, 10, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].text, "kept");
	assert_string_equal(v[0].msgid, m.msgid);
	store_msg_free(&v[0]);
	free(v);
	memset(&a, 0, sizeof(a));
	assert_int_equal(store_account_get(store_direct(st), "alice", &a), 0);
	assert_string_equal(a.pw_hash, "$argon2id$v=19$m=1");
	store_account_free(&a);
	store_close(st);
}

static void test_integrity_check(void **state)
{
	struct tctx *t = *state;
	char err[256], detail[256];
	struct store *st = open_at(t->url, true, err, sizeof(err));

	assert_non_null(st);
	assert_int_equal(store_check(store_direct(st), detail, sizeof(detail)), 0);
	store_close(st);

	/* a room pointing at a category that does not exist */
	raw_exec(t->path,
	         "PRAGMA foreign_keys = OFF;"
	         "INSERT INTO rooms (name, category_id, created_ms) VALUES ('bad', 99, 0)");
	st = open_at(t->url, false, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_check(store_direct(st), detail, sizeof(detail)), STORE_EIO);
	assert_non_null(strstr(detail, "rooms"));
	store_close(st);
}

static void test_corrupt_file(void **state)
{
	struct tctx *t = *state;
	char err[256], detail[256], junk[4096];
	struct store *st = open_at(t->url, true, err, sizeof(err));
	struct store_account a = {0};
	int fd;

	assert_non_null(st);
	for (int i = 0; i < 200; i++) {
		snprintf(a.name, sizeof(a.name), "user%d", i);
		assert_int_equal(store_account_add(store_direct(st), &a), 0);
	}
	store_close(st);
	/* scribble over the third page (a table or index b-tree) */
	memset(junk, 0x5a, sizeof(junk));
	fd = open(t->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 2 * 4096), (ssize_t)sizeof(junk));
	close(fd);
	st = open_at(t->url, false, err, sizeof(err));
	if (st) { /* opening may already notice; if not, the check must */
		assert_int_not_equal(store_check(store_direct(st), detail, sizeof(detail)), 0);
		assert_true(detail[0] != '\0');
		store_close(st);
	}
}

static void test_missing_without_create(void **state)
{
	struct tctx *t = *state;
	char err[256] = "";
	struct store *st;

	assert_null(open_at(t->url, false, err, sizeof(err)));
	assert_non_null(strstr(err, "does not exist"));
	assert_int_equal(access(t->path, F_OK), -1);   /* not created */
	st = open_at(t->path, true, err, sizeof(err)); /* a bare path is SQLite too */
	assert_non_null(st);
	store_close(st);
	assert_int_equal(access(t->path, F_OK), 0);
}

static void test_two_stores_one_file(void **state)
{
	struct tctx *t = *state;
	char err[256];
	struct store *daemon = open_at(t->url, true, err, sizeof(err));
	struct store *ctl = open_at(t->url, false, err, sizeof(err));
	struct store_account a = {0}, got;

	assert_non_null(daemon);
	assert_non_null(ctl);
	/* pchatctl holds a write transaction; pchatd still reads */
	assert_int_equal(store_begin(store_direct(ctl)), 0);
	str_copy(a.name, "carol", sizeof(a.name));
	assert_int_equal(store_account_add(store_direct(ctl), &a), 0);
	assert_int_equal(store_account_get(store_direct(daemon), "carol", &got), STORE_ENOTFOUND);
	assert_int_equal(store_commit(store_direct(ctl)), 0);
	assert_int_equal(store_account_get(store_direct(daemon), "carol", &got), 0);
	store_account_free(&got);
	store_close(ctl);
	store_close(daemon);
}

/* --- migration 1 -> 2 and FTS5 ------------------------------------------------ */

/* Schema version 1 exactly as the first release wrote it, plus some data. */
static const char v1_sql[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " pw_hash TEXT, scram TEXT, admin INTEGER NOT NULL DEFAULT 0,"
    " chat_enabled INTEGER NOT NULL DEFAULT 1, created_ms INTEGER NOT NULL);"
    "CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " allowed TEXT NOT NULL DEFAULT '*', created_ms INTEGER NOT NULL);"
    "INSERT INTO categories (name, allowed, created_ms)"
    " VALUES ('general', '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));"
    "CREATE TABLE rooms (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " category_id INTEGER NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,"
    " description TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX rooms_category ON rooms (category_id);"
    "CREATE TABLE messages (id INTEGER PRIMARY KEY,"
    " room_id INTEGER REFERENCES rooms (id) ON DELETE CASCADE, pm_a TEXT, pm_b TEXT, peer TEXT,"
    " seq INTEGER NOT NULL DEFAULT 0, msgid TEXT NOT NULL UNIQUE, ts_ms INTEGER NOT NULL,"
    " sender TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, tags TEXT,"
    " CHECK ((room_id IS NULL) = (pm_a IS NOT NULL AND pm_b IS NOT NULL)));"
    "CREATE UNIQUE INDEX messages_room_seq ON messages (room_id, seq) WHERE room_id IS NOT NULL;"
    "CREATE INDEX messages_pm ON messages (pm_a, pm_b, id) WHERE pm_a IS NOT NULL;"
    "PRAGMA user_version = 1;"
    "INSERT INTO accounts (name, created_ms) VALUES ('Alice', 1);"
    "INSERT INTO categories (name, allowed, created_ms) VALUES ('Eng', 'alice,bob', 2);"
    "INSERT INTO rooms (name, category_id, description, created_ms, last_seq)"
    " VALUES ('Lobby', 2, 'old topic', 3, 2);"
    "INSERT INTO messages (room_id, seq, msgid, ts_ms, sender, kind, text)"
    " VALUES (1, 1, 'v1a', 1000, 'alice', 'PRIVMSG', 'hello from version one'),"
    " (1, 2, 'v1b', 2000, 'bob', 'PRIVMSG', 'Second message, caf\xc3\xa9');"
    "INSERT INTO messages (pm_a, pm_b, peer, msgid, ts_ms, sender, kind, text)"
    " VALUES ('alice', 'bob', 'bob', 'v1c', 1500, 'Alice', 'PRIVMSG', 'private hello');";

static void test_migrate_v1(void **state)
{
	struct tctx *t = *state;
	char err[256] = "", detail[256];
	struct store_category cat;
	struct store_room r;
	struct store_msg m, *v;
	struct store_search_query q = {.n_rooms = 1, .text = "hello", .limit = 10};
	bool more;
	size_t n;
	struct store *st;

	raw_exec(t->path, v1_sql);
	chmod(t->path, 0600);
	st = open_at(t->url, false, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(raw_int(t->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);

	/* existing rows got the defaults */
	assert_int_equal(store_category_get(store_direct(st), "eng", &cat), 0);
	assert_string_equal(cat.allowed, "alice,bob");
	assert_string_equal(cat.denied, "");
	assert_string_equal(cat.creators, "");
	assert_true(cat.invitations && cat.file_upload && cat.history);
	store_category_free(&cat);
	assert_int_equal(store_room_get(store_direct(st), "lobby", &r), 0);
	assert_string_equal(r.category, "Eng");
	assert_string_equal(r.description, "old topic");
	assert_int_equal(r.privacy, STORE_PRIVACY_CLOSED);
	assert_int_equal(r.type, STORE_ROOM_NORMAL);
	assert_false(r.invitations_off || r.disabled);
	assert_string_equal(r.addin, "");
	assert_string_equal(r.members, "");
	assert_int_equal(r.last_seq, 2);

	/* old messages are indexed for search; numbering continues */
	q.room_ids = &r.id;
	q.account = "bob";
	assert_int_equal(store_msg_search(store_direct(st), &q, &v, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].text, "private hello");
	assert_string_equal(v[1].msgid, "v1a");
	assert_int_equal(v[1].redacted, 0);
	for (size_t i = 0; i < n; i++)
		store_msg_free(&v[i]);
	free(v);
	memset(&m, 0, sizeof(m));
	m.room_id = r.id;
	str_copy(m.msgid, "v2a", sizeof(m.msgid));
	m.ts_ms = 3000;
	str_copy(m.sender, "alice", sizeof(m.sender));
	str_copy(m.kind, "PRIVMSG", sizeof(m.kind));
	m.text = "after the migration";
	assert_int_equal(store_msg_insert(store_direct(st), &m), 0);
	assert_int_equal(m.seq, 3);
	store_room_free(&r);
	assert_int_equal(store_check(store_direct(st), detail, sizeof(detail)), 0);
	store_close(st);
	assert_int_equal(raw_int(t->path, "SELECT count(*) FROM messages_fts WHERE messages_fts "
	                                  "MATCH 'cafe'"),
	                 1);

	/* reopening a version-2 file changes nothing */
	st = open_at(t->url, false, err, sizeof(err));
	assert_non_null(st);
	store_close(st);
	assert_int_equal(raw_int(t->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(t->path, "SELECT count(*) FROM messages"), 4);
}

static void test_fts_in_step(void **state)
{
	struct tctx *t = *state;
	char err[256] = "";
	struct store *st = open_at(t->url, true, err, sizeof(err));
	struct store_room r = {0};
	struct store_msg m, *v;
	struct store_msg_filter f = {0};
	int64_t cleared;
	size_t n;

	assert_non_null(st);
	str_copy(r.name, "fts", sizeof(r.name));
	assert_int_equal(store_room_add(store_direct(st), &r), 0);
	for (int i = 0; i < 4; i++) {
		memset(&m, 0, sizeof(m));
		m.room_id = r.id;
		id_new(time_now_ms(), m.msgid);
		m.ts_ms = 1000 * (i + 1);
		str_copy(m.sender, "alice", sizeof(m.sender));
		str_copy(m.kind, "PRIVMSG", sizeof(m.kind));
		m.text = i % 2 ? "zebra crossing" : "yak shaving";
		assert_int_equal(store_msg_insert(store_direct(st), &m), 0);
	}
	f.room_id = r.id;
	f.text = "zebra";
	f.to_ts = 2000;
	assert_int_equal(store_msg_redact(store_direct(st), &f, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	for (size_t i = 0; i < n; i++)
		store_msg_free(&v[i]);
	free(v);
	memset(&f, 0, sizeof(f));
	f.room_id = r.id;
	f.text = "zebra";
	assert_int_equal(store_msg_redact(store_direct(st), &f, "okapi", &v, &n), 0);
	assert_int_equal(n, 1);
	for (size_t i = 0; i < n; i++)
		store_msg_free(&v[i]);
	free(v);
	assert_int_equal(store_room_clear(store_direct(st), r.id, 1500, &cleared), 0);
	assert_int_equal(cleared, 1);
	store_close(st);
	/* the index holds exactly the live texts */
	assert_int_equal(raw_int(t->path, "SELECT count(*) FROM messages_fts WHERE messages_fts "
	                                  "MATCH 'zebra'"),
	                 0);
	assert_int_equal(raw_int(t->path, "SELECT count(*) FROM messages_fts WHERE messages_fts "
	                                  "MATCH 'okapi'"),
	                 1);
	assert_int_equal(raw_int(t->path, "SELECT count(*) FROM messages_fts WHERE messages_fts "
	                                  "MATCH 'yak'"),
	                 1);
	raw_exec(t->path, "INSERT INTO messages_fts (messages_fts, rank) VALUES "
	                  "('integrity-check', 1)");
	/* the history query plans use their indexes (no sort of the room) */
	assert_int_equal(raw_int(t->path, "SELECT count(*) FROM pragma_index_list('messages') "
	                                  "WHERE name IN ('messages_room_seq', 'messages_room_ts', "
	                                  "'messages_pm_ts', 'messages_pm_b')"),
	                 4);
}

/* --- the checkpointer (ckpt.c) ---------------------------------------- */

#define CK_JOBS 3000 /* 2 KiB each: ~1,600 WAL pages, past the 1,024 that start a checkpoint */

struct ck_run {
	int64_t room; /* where the jobs write */
	int done;     /* completions */
	int failed;   /* completions with an error */
};

static int ck_write(struct store_conn *c, void *arg)
{
	struct ck_run *r = arg;
	static char text[2049];
	struct store_msg m = {0};

	memset(text, 'w', sizeof(text) - 1);
	m.room_id = r->room;
	id_new(time_now_ms(), m.msgid);
	str_copy(m.sender, "alice", sizeof(m.sender));
	str_copy(m.kind, "PRIVMSG", sizeof(m.kind));
	m.text = text;
	return store_msg_insert(c, &m);
}

static void ck_done(int rc, void *arg)
{
	struct ck_run *r = arg;

	r->done++;
	r->failed += rc != 0;
}

static void ck_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* A store with its writer thread and a loop for the completions, and one room. */
struct astore {
	struct event_base *base; /* runs the completions */
	struct mailbox *mb;      /* the store posts them here */
	struct event *tick;      /* wakes the loop now and then */
	struct store *st;        /* on t's file */
	struct ck_run run;       /* the jobs' room and counts */
};

static void astore_open(struct tctx *t, struct astore *a, const char *room)
{
	struct timeval tv = {0, 10000};
	struct store_options opt = {.url = t->url, .create = true};
	struct store_room r = {0};
	char err[256] = "";

	memset(a, 0, sizeof(*a));
	a->base = event_base_new();
	a->mb = mailbox_new(a->base);
	a->tick = event_new(a->base, -1, EV_PERSIST, ck_tick, NULL);
	opt.mb = a->mb;
	a->st = store_open(&opt, err, sizeof(err));
	assert_non_null(a->st);
	event_add(a->tick, &tv);
	str_copy(r.name, room, sizeof(r.name));
	assert_int_equal(store_room_add(store_direct(a->st), &r), 0);
	a->run.room = r.id;
}

static void astore_close(struct astore *a)
{
	store_close(a->st);
	event_free(a->tick);
	mailbox_free(a->mb);
	event_base_free(a->base);
}

/*
 * Group commits of ~6 MiB of messages reach the database file while the
 * store stays open: the checkpointer thread copies the WAL (SQLite's own
 * automatic checkpoint would wait for 16 MiB), and nothing is lost.
 */
static void test_checkpointer(void **state)
{
	struct tctx *t = *state;
	struct astore a;
	int64_t deadline, n;
	off_t before;

	astore_open(t, &a, "ckpt");
	before = file_size(t->path);
	for (int i = 0; i < CK_JOBS; i++)
		store_submit_write(a.st, ck_write, ck_done, &a.run);
	deadline = time_mono_ms() + 60000;
	while (a.run.done < CK_JOBS && time_mono_ms() < deadline)
		event_base_loop(a.base, EVLOOP_ONCE);
	assert_int_equal(a.run.done, CK_JOBS);
	assert_int_equal(a.run.failed, 0);
	deadline = time_mono_ms() + 10000;
	while (file_size(t->path) < before + (4 << 20) && time_mono_ms() < deadline)
		usleep(20000);
	assert_true(file_size(t->path) >= before + (4 << 20));
	assert_int_equal(store_msg_count(store_direct(a.st), a.run.room, &n), 0);
	assert_int_equal(n, CK_JOBS);
	astore_close(&a);
	assert_int_equal(raw_int(t->path, "SELECT count(*) FROM messages"), CK_JOBS);
	assert_int_equal(raw_int(t->path, "SELECT integrity_check = 'ok' FROM "
	                                  "pragma_integrity_check"),
	                 1);
}

/* --- other writers get the lock (store.c's upkeep gaps, conn.c's waiting) -- */

#define UK_ROWS       150000 /* messages left to index for search: seconds of upkeep */
#define UK_TAKES      5      /* write transactions another process runs meanwhile */
#define UK_WAIT_MS    2000   /* how long each may wait for the lock */
#define UK_SPACING_US 20000  /* between them: the writer goes on indexing */

static int64_t uk_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One short write transaction on db, waiting for the lock as db was told to. */
static int uk_take(sqlite3 *db, int i)
{
	char sql[128];

	snprintf(sql, sizeof(sql),
	         "BEGIN IMMEDIATE; INSERT OR REPLACE INTO settings VALUES ('uk', %d); COMMIT;", i);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/*
 * While the writer thread indexes a large import for search, step after
 * step, another SQLite client with SQLite's own busy timeout (the sqlite3
 * shell, a backup script), which sleeps up to 100 ms between tries, still
 * gets the write lock: the writer leaves a gap of 2 ms between its steps.
 * Back to back, its steps left gaps of microseconds, which such a client
 * hardly ever hits ("database is locked").
 */
static void test_upkeep_leaves_lock(void **state)
{
	struct tctx *t = *state;
	struct event_base *base = event_base_new();
	struct mailbox *mb = mailbox_new(base);
	struct store_options opt = {.url = t->url, .mb = mb};
	char err[256] = "", sql[512];
	struct store *st = open_at(t->url, true, err, sizeof(err));
	struct store_room r = {0};
	sqlite3 *db = NULL;
	int64_t t0, first = 0;
	const char *preload = getenv("LD_PRELOAD");

	if (preload && strstr(preload, "vgpreload")) {
		/* valgrind runs one thread at a time: a 2 ms gap is no longer one in every step */
		print_message("skipped under valgrind: it changes the threads' timing\n");
		store_close(st);
		mailbox_free(mb);
		event_base_free(base);
		skip();
	}
	assert_non_null(st);
	str_copy(r.name, "upkeep", sizeof(r.name));
	assert_int_equal(store_room_add(store_direct(st), &r), 0);
	store_close(st);
	/* an import the search index has not seen yet */
	snprintf(sql, sizeof(sql),
	         "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
	         " INSERT INTO messages (room_id, seq, msgid, ts_ms, sender, kind, text)"
	         " SELECT %lld, i, 'uk' || i, i, 'alice', 'PRIVMSG',"
	         " 'word' || (i %% 997) || ' lorem ipsum dolor sit amet ' || i FROM c;"
	         "UPDATE rooms SET last_seq = %d WHERE id = %lld;",
	         UK_ROWS, (long long)r.id, UK_ROWS, (long long)r.id);
	raw_exec(t->path, sql);

	st = store_open(&opt, err, sizeof(err)); /* its writer thread starts indexing */
	assert_non_null(st);
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, UK_WAIT_MS);
	t0 = time_mono_ms();
	while ((first = uk_int(db, "SELECT last_id FROM fts_state")) <= 0 &&
	       time_mono_ms() < t0 + 10000)
		usleep(1000);
	assert_true(first > 0);
	for (int i = 0; i < UK_TAKES; i++) {
		usleep(UK_SPACING_US);
		if (uk_take(db, i) != SQLITE_OK)
			fail_msg("write %d of another client: %s", i, sqlite3_errmsg(db));
	}
	/* all of it while the writer went on indexing, and before it was done */
	assert_true(uk_int(db, "SELECT last_id FROM fts_state") > first);
	assert_true(uk_int(db, "SELECT last_id FROM fts_state") < UK_ROWS);
	sqlite3_close(db);
	store_close(st);
	mailbox_free(mb);
	event_base_free(base);
}

/* --- upkeep waits for the commits after it (store.c) ----------------------- */

#define UG_COMMITS  40   /* one message each, one after the other */
#define UG_PAUSE_US 2000 /* between them */

/*
 * A commit's search indexing waits up to 25 ms for the commits after it
 * and runs once for all of them: 40 commits 2 ms apart get about one
 * upkeep step per 25 ms they take, not one each (the writer is idle after
 * every one). And the last ones are indexed without any further write to
 * wake the writer.
 */
static void test_upkeep_groups_commits(void **state)
{
	struct tctx *t = *state;
	struct astore a;
	struct store_stats s0, s1;
	int64_t t0, span_ms, last_id = 0, max_id = 0, deadline;
	sqlite3 *db = NULL;

	astore_open(t, &a, "grouped");
	usleep(100000); /* the room's own upkeep is done */
	store_stats(a.st, &s0);
	t0 = time_mono_ms();
	for (int i = 0; i < UG_COMMITS; i++) {
		store_submit_write(a.st, ck_write, ck_done, &a.run);
		while (a.run.done < i + 1)
			event_base_loop(a.base, EVLOOP_ONCE);
		usleep(UG_PAUSE_US); /* the writer has nothing to do: its upkeep could run */
	}
	span_ms = time_mono_ms() - t0;
	assert_int_equal(a.run.failed, 0);
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	deadline = time_mono_ms() + 5000;
	while (time_mono_ms() < deadline) {
		max_id = uk_int(db, "SELECT max(id) FROM messages");
		last_id = uk_int(db, "SELECT last_id FROM fts_state");
		if (last_id == max_id)
			break;
		usleep(5000);
	}
	sqlite3_close(db);
	assert_int_equal(last_id, max_id); /* indexed with no write after the last */
	store_stats(a.st, &s1);
	assert_int_equal(s1.commits - s0.commits, UG_COMMITS);
	print_message("%d commits in %lld ms: %llu upkeep steps\n", UG_COMMITS, (long long)span_ms,
	              (unsigned long long)(s1.upkeep_steps - s0.upkeep_steps));
	assert_true(s1.upkeep_steps - s0.upkeep_steps >= 1);
	assert_true(s1.upkeep_steps - s0.upkeep_steps <= (uint64_t)(span_ms / 25 + 2));
	astore_close(&a);
}

struct hog {
	const char *path;
	atomic_bool stop;
	atomic_int commits;
};

/* Another process's bulk import: write transactions back to back, no pause. */
static void *hog_main(void *arg)
{
	struct hog *h = arg;
	sqlite3 *db = NULL;
	int64_t end = time_mono_ms() + 8000;

	if (sqlite3_open(h->path, &db) != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(db, 1000);
	sqlite3_exec(db, "PRAGMA synchronous = OFF", NULL, NULL, NULL);
	while (!atomic_load(&h->stop) && time_mono_ms() < end)
		if (sqlite3_exec(
		        db,
		        "BEGIN IMMEDIATE; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL"
		        " SELECT i + 1 FROM c WHERE i < 300) INSERT OR REPLACE INTO settings"
		        " SELECT 'hog' || i, randomblob(32) FROM c; COMMIT;",
		        NULL, NULL, NULL) == SQLITE_OK)
			atomic_fetch_add(&h->commits, 1);
	sqlite3_close(db);
	return NULL;
}

/*
 * The store's connections (pchatctl's, the direct one of pchatd) get the
 * write lock from a writer that leaves only microseconds between its
 * transactions: they try again every millisecond (conn.c). SQLite's own
 * busy timeout, which sleeps up to 100 ms between tries, mostly gave up
 * after its 5 s ("database is locked").
 */
static void test_lock_wait_short_gaps(void **state)
{
	struct tctx *t = *state;
	char err[256] = "";
	struct store *st = open_at(t->url, true, err, sizeof(err));
	struct hog h = {.path = t->path};
	pthread_t th;
	int before;

	assert_non_null(st);
	assert_int_equal(pthread_create(&th, NULL, hog_main, &h), 0);
	while (atomic_load(&h.commits) < 5)
		usleep(1000);
	before = atomic_load(&h.commits);
	for (int i = 0; i < 5; i++) {
		struct store_account a = {0};

		snprintf(a.name, sizeof(a.name), "carol%d", i);
		usleep(20000);
		assert_int_equal(store_account_add(store_direct(st), &a), 0);
	}
	assert_true(atomic_load(&h.commits) > before + 5); /* the import went on meanwhile */
	atomic_store(&h.stop, true);
	pthread_join(th, NULL);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_integrity_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_without_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_stores_one_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fts_in_step, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpointer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upkeep_leaves_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upkeep_groups_commits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock_wait_short_gaps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
