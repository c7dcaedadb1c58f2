/*
 * test_store.c — the store contract: what every backend must do, tested
 * only through store.h.
 *
 * The database comes from PCHAT_TEST_STORE_URL; without it each test gets a
 * fresh temporary SQLite file that is removed afterwards. Against a shared
 * database (PostgreSQL) the tests stay correct: every name carries a random
 * per-test prefix and counts are compared before/after. Backend-specific
 * behaviour (file modes, schema refusal) is tested elsewhere
 * (tests/unit/test_store_sqlite.c).
 *
 * With the default SQLite database the whole suite runs twice: on fresh
 * files, then on files that start as a version-1 database (the schema of
 * the first release, forged with sqlite3 before store_open), so that every
 * operation is checked on a migrated database too.
 *
 * The compliance section drains the queue at the start of each test and
 * compares counts relatively, so it runs on a shared database too.
 */
#include "common/id.h"
#include "common/mailbox.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "store/store.h"

#include <event2/event.h>
#include <event2/thread.h>
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
#include <ctype.h>

#define N_ASYNC 5000 /* write jobs in the ordering test */

/* The SQL of schema version 1, as released (src/store/sqlite/schema.c step 0). */
static const char v1_sql[] =
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " pw_hash TEXT, scram TEXT, admin INTEGER NOT NULL DEFAULT 0,"
    " chat_enabled INTEGER NOT NULL DEFAULT 1, created_ms INTEGER NOT NULL);"
    "CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " allowed TEXT NOT NULL DEFAULT '*', created_ms INTEGER NOT NULL);"
    "INSERT INTO categories (name, allowed, created_ms) VALUES ('general', '*', 1);"
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
    "PRAGMA user_version = 1;";

static bool g_from_v1; /* start every default database as version 1 */

/* Write a version-1 database at path (a file the current store never writes). */
static int forge_v1(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, v1_sql, NULL, NULL, NULL);
	sqlite3_close(db);
	chmod(path, 0600);
	return rc == SQLITE_OK ? 0 : -1;
}

struct tctx {
	char dir[64];            /* temporary directory, or "" with an env URL */
	char url[256];           /* database URL */
	char prefix[12];         /* per-test name prefix */
	struct event_base *base; /* loop for async tests, or NULL */
	struct event *tick;      /* keeps the loop waiting */
	struct mailbox *mb;      /* completions */
	struct store *st;        /* the store under test */
	struct store_conn *c;    /* its direct connection */
};

/* --- fixtures ------------------------------------------------------------ */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static struct store *open_store(struct tctx *t, struct mailbox *mb)
{
	struct store_options opt = {.url = t->url, .create = true, .mb = mb};
	char err[256] = "";
	struct store *st = store_open(&opt, err, sizeof(err));

	if (!st)
		fprintf(stderr, "store_open: %s\n", err);
	return st;
}

static int setup_common(void **state, bool async)
{
	struct tctx *t = calloc(1, sizeof(*t));
	const char *env = getenv("PCHAT_TEST_STORE_URL");
	unsigned char rnd[4];

	id_random(rnd, sizeof(rnd));
	snprintf(t->prefix, sizeof(t->prefix), "t%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	if (env && *env) {
		str_copy(t->url, env, sizeof(t->url));
	} else {
		str_copy(t->dir, "/tmp/pchat-store-XXXXXX", sizeof(t->dir));
		if (!mkdtemp(t->dir))
			return -1;
		snprintf(t->url, sizeof(t->url), "sqlite:%s/chat.db", t->dir);
		if (g_from_v1 && forge_v1(t->url + 7) != 0)
			return -1;
	}
	if (async) {
		struct timeval tv = {0, 10000};

		t->base = event_base_new();
		t->mb = mailbox_new(t->base);
		t->tick = event_new(t->base, -1, EV_PERSIST, tick_cb, NULL);
		event_add(t->tick, &tv);
	}
	t->st = open_store(t, t->mb);
	if (!t->st)
		return -1;
	t->c = store_direct(t->st);
	*state = t;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false);
}

static int setup_async(void **state)
{
	return setup_common(state, true);
}

static void remove_files(struct tctx *t)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	static const char *const base[] = {"chat.db", "chat-compliance.db"};
	char p[300];

	if (!t->dir[0])
		return;
	for (size_t b = 0; b < sizeof(base) / sizeof(base[0]); b++) {
		for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s%s", t->dir, base[b], suffix[i]);
			unlink(p);
		}
	}
	rmdir(t->dir);
}

static int teardown(void **state)
{
	struct tctx *t = *state;

	store_close(t->st);
	if (t->mb)
		mailbox_free(t->mb);
	if (t->tick)
		event_free(t->tick);
	if (t->base)
		event_base_free(t->base);
	remove_files(t);
	free(t);
	return 0;
}

/* prefix + suffix: a name unique to this test */
static const char *nm(struct tctx *t, const char *suffix)
{
	static char buf[8][STORE_NAME_MAX];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, STORE_NAME_MAX, "%s%s", t->prefix, suffix);
	return b;
}

static int64_t add_room(struct tctx *t, const char *name)
{
	struct store_room r = {0};

	str_copy(r.name, name, sizeof(r.name));
	assert_int_equal(store_room_add(t->c, &r), 0);
	assert_true(r.id > 0);
	return r.id;
}

static void fill_msg(struct store_msg *m, int64_t room, const char *sender, const char *peer,
                     const char *text)
{
	memset(m, 0, sizeof(*m));
	m->room_id = room;
	str_copy(m->peer, peer ? peer : "", sizeof(m->peer));
	id_new(time_now_ms(), m->msgid);
	m->ts_ms = time_now_ms();
	str_copy(m->sender, sender, sizeof(m->sender));
	str_copy(m->kind, "PRIVMSG", sizeof(m->kind));
	m->text = (char *)text;
}

static void free_msgs(struct store_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_msg_free(&v[i]);
	free(v);
}

/* --- accounts ------------------------------------------------------------ */

static void test_account_crud(void **state)
{
	struct tctx *t = *state;
	struct store_account a = {0}, b = {0}, got;
	char lower[STORE_NAME_MAX];

	str_copy(a.name, nm(t, "Alice"), sizeof(a.name));
	a.pw_hash = "$argon2id$v=19$x";
	a.chat_enabled = true;
	assert_int_equal(store_account_add(t->c, &a), 0);
	assert_true(a.id > 0);
	assert_true(a.created_ms > 0);

	str_lower(lower, a.name, sizeof(lower));
	assert_int_equal(store_account_get(t->c, lower, &got), 0);
	assert_string_equal(got.name, a.name); /* display case kept */
	assert_int_equal(got.id, a.id);
	assert_string_equal(got.pw_hash, a.pw_hash);
	assert_null(got.scram);
	assert_false(got.admin);
	assert_true(got.chat_enabled);
	assert_int_equal(got.created_ms, a.created_ms);

	/* same name in another case: taken */
	str_copy(b.name, lower, sizeof(b.name));
	assert_int_equal(store_account_add(t->c, &b), STORE_EEXIST);

	/* update by id: flags, secrets, name */
	got.admin = true;
	got.chat_enabled = false;
	free(got.pw_hash);
	got.pw_hash = NULL;
	got.scram = strdup("SCRAM-SHA-256$4096:c2FsdA==$a:b");
	str_copy(got.name, nm(t, "Alicia"), sizeof(got.name));
	assert_int_equal(store_account_update(t->c, &got), 0);
	store_account_free(&got);
	assert_int_equal(store_account_get(t->c, a.name, &got), STORE_ENOTFOUND);
	assert_int_equal(store_account_get(t->c, nm(t, "ALICIA"), &got), 0);
	assert_true(got.admin);
	assert_false(got.chat_enabled);
	assert_null(got.pw_hash);
	assert_string_equal(got.scram, "SCRAM-SHA-256$4096:c2FsdA==$a:b");
	assert_int_equal(got.id, a.id);
	store_account_free(&got);
	assert_null(got.scram);

	/* rename onto a taken name; update of a missing id */
	str_copy(b.name, nm(t, "bob"), sizeof(b.name));
	assert_int_equal(store_account_add(t->c, &b), 0);
	assert_int_equal(store_account_get(t->c, nm(t, "alicia"), &got), 0);
	str_copy(got.name, nm(t, "BOB"), sizeof(got.name));
	assert_int_equal(store_account_update(t->c, &got), STORE_EEXIST);
	got.id = b.id + 1000000;
	str_copy(got.name, nm(t, "zed"), sizeof(got.name));
	assert_int_equal(store_account_update(t->c, &got), STORE_ENOTFOUND);
	store_account_free(&got);

	assert_int_equal(store_account_remove(t->c, nm(t, "BoB")), 0);
	assert_int_equal(store_account_remove(t->c, nm(t, "bob")), STORE_ENOTFOUND);
	assert_int_equal(store_account_get(t->c, nm(t, "bob"), &got), STORE_ENOTFOUND);
}

static void test_account_list(void **state)
{
	struct tctx *t = *state;
	const char *names[] = {"carol", "Alice", "bob"};
	struct store_account *v;
	size_t n, before;
	int seen = 0;

	assert_int_equal(store_account_list(t->c, &v, &before), 0);
	for (size_t i = 0; i < before; i++)
		store_account_free(&v[i]);
	free(v);
	for (int i = 0; i < 3; i++) {
		struct store_account a = {0};

		str_copy(a.name, nm(t, names[i]), sizeof(a.name));
		assert_int_equal(store_account_add(t->c, &a), 0);
	}
	assert_int_equal(store_account_list(t->c, &v, &n), 0);
	assert_int_equal(n, before + 3);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(v[i].name, t->prefix, strlen(t->prefix)) == 0) {
			/* ours, in case-insensitive name order: Alice, bob, carol */
			const char *want[] = {"Alice", "bob", "carol"};

			assert_string_equal(v[i].name + strlen(t->prefix), want[seen]);
			seen++;
		}
		if (i > 0)
			assert_true(str_icmp(v[i - 1].name, v[i].name) < 0);
		store_account_free(&v[i]);
	}
	free(v);
	assert_int_equal(seen, 3);
}

static void test_names_invalid(void **state)
{
	struct tctx *t = *state;
	const char *bad[] = {"", "with space", "a,b", "tab\there", "cr\rlf"};
	struct store_account a = {0}, got;
	struct store_room r = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		str_copy(a.name, bad[i], sizeof(a.name));
		assert_int_equal(store_account_add(t->c, &a), STORE_EINVAL);
		str_copy(r.name, bad[i], sizeof(r.name));
		assert_int_equal(store_room_add(t->c, &r), STORE_EINVAL);
	}
	memset(a.name, 'x', sizeof(a.name)); /* no NUL: too long */
	assert_int_equal(store_account_add(t->c, &a), STORE_EINVAL);
	assert_int_equal(store_account_get(t->c, "", &got), STORE_EINVAL);
	assert_int_equal(store_account_remove(t->c, "a b"), STORE_EINVAL);
	str_copy(a.name, "\xc3\x28", sizeof(a.name)); /* invalid UTF-8 */
	assert_int_equal(store_account_add(t->c, &a), STORE_EINVAL);
}

/* --- categories ---------------------------------------------------------- */

static void test_categories(void **state)
{
	struct tctx *t = *state;
	struct store_category cat = {0}, got;
	struct store_category *v;
	size_t n;
	int found = 0;

	assert_int_equal(store_category_get(t->c, "GENERAL", &got), 0);
	assert_string_equal(got.name, "general");
	assert_string_equal(got.allowed, "*");
	store_category_free(&got);

	str_copy(cat.name, nm(t, "Eng"), sizeof(cat.name));
	cat.allowed = "alice,bob";
	assert_int_equal(store_category_add(t->c, &cat), 0);
	assert_true(cat.id > 0);
	assert_int_equal(store_category_add(t->c, &cat), STORE_EEXIST);
	assert_int_equal(store_category_get(t->c, nm(t, "eng"), &got), 0);
	assert_int_equal(got.id, cat.id);
	assert_string_equal(got.allowed, "alice,bob");
	store_category_free(&got);

	cat.allowed = "*";
	assert_int_equal(store_category_update(t->c, &cat), 0);
	assert_int_equal(store_category_get(t->c, cat.name, &got), 0);
	assert_string_equal(got.allowed, "*");
	store_category_free(&got);

	assert_int_equal(store_category_list(t->c, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		found += v[i].id == cat.id;
		store_category_free(&v[i]);
	}
	free(v);
	assert_int_equal(found, 1);

	assert_int_equal(store_category_get(t->c, nm(t, "none"), &got), STORE_ENOTFOUND);
	assert_int_equal(store_category_remove(t->c, nm(t, "none")), STORE_ENOTFOUND);
}

static void test_category_remove_in_use(void **state)
{
	struct tctx *t = *state;
	struct store_category cat = {0}, got;
	struct store_room r = {0};

	str_copy(cat.name, nm(t, "ops"), sizeof(cat.name));
	assert_int_equal(store_category_add(t->c, &cat), 0);
	str_copy(r.name, nm(t, "oncall"), sizeof(r.name));
	str_copy(r.category, nm(t, "OPS"), sizeof(r.category));
	assert_int_equal(store_room_add(t->c, &r), 0);
	assert_int_equal(store_category_remove(t->c, cat.name), STORE_ENOTEMPTY);
	assert_int_equal(store_category_get(t->c, cat.name, &got), 0);
	store_category_free(&got);
	assert_int_equal(store_room_remove(t->c, r.name), 0);
	assert_int_equal(store_category_remove(t->c, cat.name), 0);
	assert_int_equal(store_category_get(t->c, cat.name, &got), STORE_ENOTFOUND);
}

/* --- rooms --------------------------------------------------------------- */

static void test_room_crud(void **state)
{
	struct tctx *t = *state;
	struct store_room r = {0}, got, upd = {0};
	struct store_category cat = {0};

	str_copy(r.name, nm(t, "Lobby"), sizeof(r.name));
	r.description = "welcome";
	assert_int_equal(store_room_add(t->c, &r), 0);
	assert_string_equal(r.category, "general"); /* default category */
	assert_int_equal(store_room_add(t->c, &r), STORE_EEXIST);
	str_copy(r.name, nm(t, "LOBBY"), sizeof(r.name));
	assert_int_equal(store_room_add(t->c, &r), STORE_EEXIST);

	assert_int_equal(store_room_get(t->c, nm(t, "lobby"), &got), 0);
	assert_string_equal(got.name, nm(t, "Lobby"));
	assert_string_equal(got.category, "general");
	assert_string_equal(got.description, "welcome");
	assert_int_equal(got.last_seq, 0);
	assert_true(got.created_ms > 0);

	/* move to another category, change the topic (by id) */
	str_copy(cat.name, nm(t, "Eng"), sizeof(cat.name));
	assert_int_equal(store_category_add(t->c, &cat), 0);
	free(got.description);
	got.description = strdup("new topic");
	str_copy(got.category, nm(t, "eng"), sizeof(got.category));
	assert_int_equal(store_room_update(t->c, &got), 0);
	store_room_free(&got);
	assert_int_equal(store_room_get(t->c, nm(t, "Lobby"), &got), 0);
	assert_string_equal(got.description, "new topic");
	assert_string_equal(got.category, nm(t, "Eng"));

	/* by name, keeping the category; unknown category; unknown room */
	str_copy(upd.name, nm(t, "lobby"), sizeof(upd.name));
	upd.description = "by name";
	assert_int_equal(store_room_update(t->c, &upd), 0);
	str_copy(upd.category, nm(t, "nope"), sizeof(upd.category));
	assert_int_equal(store_room_update(t->c, &upd), STORE_ENOTFOUND);
	upd.category[0] = '\0';
	str_copy(upd.name, nm(t, "ghost"), sizeof(upd.name));
	assert_int_equal(store_room_update(t->c, &upd), STORE_ENOTFOUND);
	store_room_free(&got);
	assert_int_equal(store_room_get(t->c, nm(t, "lobby"), &got), 0);
	assert_string_equal(got.description, "by name");
	assert_string_equal(got.category, nm(t, "Eng"));
	store_room_free(&got);

	memset(&r, 0, sizeof(r));
	str_copy(r.name, nm(t, "x"), sizeof(r.name));
	str_copy(r.category, nm(t, "nope"), sizeof(r.category));
	assert_int_equal(store_room_add(t->c, &r), STORE_ENOTFOUND);

	assert_int_equal(store_room_remove(t->c, nm(t, "LOBBY")), 0);
	assert_int_equal(store_room_remove(t->c, nm(t, "lobby")), STORE_ENOTFOUND);
	assert_int_equal(store_room_get(t->c, nm(t, "lobby"), &got), STORE_ENOTFOUND);
}

static void test_room_list(void **state)
{
	struct tctx *t = *state;
	struct store_room *v;
	size_t n;
	int seen = 0;

	add_room(t, nm(t, "b"));
	add_room(t, nm(t, "A"));
	assert_int_equal(store_room_list(t->c, &v, &n), 0);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(v[i].name, t->prefix, strlen(t->prefix)) == 0) {
			assert_string_equal(v[i].name + strlen(t->prefix), seen ? "b" : "A");
			assert_non_null(v[i].description);
			seen++;
		}
		store_room_free(&v[i]);
	}
	free(v);
	assert_int_equal(seen, 2);
}

/* --- messages ------------------------------------------------------------ */

static void test_msg_room(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "hist")), other = add_room(t, nm(t, "other"));
	struct store_msg m, *v;
	struct store_room r;
	char text[32];
	size_t n;
	int64_t cnt, all0, all1, seqs[6] = {0};

	assert_int_equal(store_msg_count(t->c, 0, &all0), 0);
	for (int i = 1; i <= 10; i++) {
		snprintf(text, sizeof(text), "hello %d", i);
		fill_msg(&m, i % 2 ? room : other, "alice", NULL, text);
		if (i == 5)
			m.tags = "+draft/reply=abc;+x=y\\sz";
		assert_int_equal(store_msg_insert(t->c, &m), 0);
		assert_true(m.id > 0);
		if (i % 2) { /* per-room sequence: increasing (dense on SQLite only) */
			seqs[(i + 1) / 2] = m.seq;
			assert_true(m.seq > seqs[(i - 1) / 2]);
		}
	}
	assert_int_equal(store_room_get(t->c, nm(t, "hist"), &r), 0);
	assert_int_equal(r.last_seq, seqs[5]);
	store_room_free(&r);
	assert_int_equal(store_msg_count(t->c, room, &cnt), 0);
	assert_int_equal(cnt, 5);
	assert_int_equal(store_msg_count(t->c, 0, &all1), 0);
	assert_int_equal(all1 - all0, 10);

	/* newest 3, oldest first */
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 0, 3, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].seq, seqs[3]);
	assert_int_equal(v[2].seq, seqs[5]);
	assert_string_equal(v[0].text, "hello 5");
	assert_string_equal(v[0].tags, "+draft/reply=abc;+x=y\\sz");
	assert_null(v[1].tags);
	assert_string_equal(v[2].text, "hello 9");
	assert_string_equal(v[2].sender, "alice");
	assert_string_equal(v[2].kind, "PRIVMSG");
	assert_int_equal(v[2].room_id, room);
	assert_string_equal(v[2].peer, "");
	free_msgs(v, n);

	/* before_seq */
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, seqs[3], 10, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].seq, seqs[1]);
	assert_int_equal(v[1].seq, seqs[2]);
	free_msgs(v, n);
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, seqs[1], 10, &v, &n), 0);
	assert_int_equal(n, 0);
	free_msgs(v, n);
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 0, 0, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 0, -1, &v, &n), STORE_EINVAL);
}

static void test_msg_errors(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "err"));
	struct store_msg m, dup;
	struct store_room r;
	int64_t first, cnt;

	fill_msg(&m, room, "alice", NULL, "one");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	first = m.seq;
	dup = m;
	assert_int_equal(store_msg_insert(t->c, &dup), STORE_EEXIST); /* same msgid */

	fill_msg(&m, room + 1000000, "alice", NULL, "x");
	assert_int_equal(store_msg_insert(t->c, &m), STORE_ENOTFOUND);
	fill_msg(&m, room, "alice", NULL, "x");
	str_copy(m.kind, "WHOIS", sizeof(m.kind));
	assert_int_equal(store_msg_insert(t->c, &m), STORE_EINVAL);
	fill_msg(&m, room, "alice", "bob", "x"); /* room message with a peer */
	assert_int_equal(store_msg_insert(t->c, &m), STORE_EINVAL);
	fill_msg(&m, 0, "alice", NULL, "x"); /* private without a peer */
	assert_int_equal(store_msg_insert(t->c, &m), STORE_EINVAL);
	fill_msg(&m, room, "", NULL, "x");
	assert_int_equal(store_msg_insert(t->c, &m), STORE_EINVAL);

	/* failed inserts stored nothing; the next message is the newest */
	fill_msg(&m, room, "alice", NULL, "two");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	assert_true(m.seq > first);
	assert_int_equal(store_msg_count(t->c, room, &cnt), 0);
	assert_int_equal(cnt, 2);
	assert_int_equal(store_room_get(t->c, nm(t, "err"), &r), 0);
	assert_int_equal(r.last_seq, m.seq);
	store_room_free(&r);
}

static void test_msg_private(void **state)
{
	struct tctx *t = *state;
	char alice[STORE_NAME_MAX], bob[STORE_NAME_MAX], carol[STORE_NAME_MAX];
	struct store_msg m, *v;
	int64_t mid;
	size_t n;

	str_copy(alice, nm(t, "Alice"), sizeof(alice));
	str_copy(bob, nm(t, "Bob"), sizeof(bob));
	str_copy(carol, nm(t, "carol"), sizeof(carol));
	fill_msg(&m, 0, alice, bob, "hi bob");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	assert_int_equal(m.seq, 0);
	fill_msg(&m, 0, nm(t, "BOB"), nm(t, "alice"), "hi alice");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	mid = m.id;
	fill_msg(&m, 0, carol, alice, "not in that conversation");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	fill_msg(&m, 0, alice, bob, "third");
	str_copy(m.kind, "NOTICE", sizeof(m.kind));
	assert_int_equal(store_msg_insert(t->c, &m), 0);

	/* either order, any case */
	assert_int_equal(store_msg_latest(t->c, 0, nm(t, "bob"), nm(t, "ALICE"), 0, 10, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].text, "hi bob");
	assert_string_equal(v[0].sender, alice);
	assert_string_equal(v[0].peer, bob);
	assert_int_equal(v[0].room_id, 0);
	assert_string_equal(v[1].text, "hi alice");
	assert_string_equal(v[2].kind, "NOTICE");
	assert_true(v[0].id < v[1].id && v[1].id < v[2].id);
	free_msgs(v, n);

	/* before_seq is a message id for private conversations */
	assert_int_equal(store_msg_latest(t->c, 0, alice, bob, mid, 10, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].text, "hi bob");
	free_msgs(v, n);
	assert_int_equal(store_msg_latest(t->c, 0, alice, carol, 0, 10, &v, &n), 0);
	assert_int_equal(n, 1);
	free_msgs(v, n);
	assert_int_equal(store_msg_latest(t->c, 0, alice, "", 0, 10, &v, &n), STORE_EINVAL);
}

static void test_room_remove_drops_history(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "gone"));
	struct store_msg m;
	int64_t before, after;

	for (int i = 0; i < 3; i++) {
		fill_msg(&m, room, "alice", NULL, "x");
		assert_int_equal(store_msg_insert(t->c, &m), 0);
	}
	assert_int_equal(store_msg_count(t->c, 0, &before), 0);
	assert_int_equal(store_room_remove(t->c, nm(t, "gone")), 0);
	assert_int_equal(store_msg_count(t->c, 0, &after), 0);
	assert_int_equal(before - after, 3);
	assert_int_equal(store_msg_count(t->c, room, &after), 0);
	assert_int_equal(after, 0);
}

/* --- transactions -------------------------------------------------------- */

static void test_transactions(void **state)
{
	struct tctx *t = *state;
	struct store_account a = {0}, got;
	char detail[256];

	str_copy(a.name, nm(t, "tx"), sizeof(a.name));
	assert_int_equal(store_begin(t->c), 0);
	assert_int_equal(store_account_add(t->c, &a), 0);
	assert_int_equal(store_account_add(t->c, &a), STORE_EEXIST); /* statement fails, tx lives */
	assert_int_equal(store_rollback(t->c), 0);
	assert_int_equal(store_account_get(t->c, a.name, &got), STORE_ENOTFOUND);

	assert_int_equal(store_begin(t->c), 0);
	assert_int_equal(store_account_add(t->c, &a), 0);
	assert_int_equal(store_commit(t->c), 0);
	assert_int_equal(store_account_get(t->c, a.name, &got), 0);
	store_account_free(&got);

	assert_int_equal(store_check(t->c, detail, sizeof(detail)), 0);
}

static void test_open_errors(void **state)
{
	struct store_options opt = {0};
	char err[256] = "";

	(void)state;
	/* nothing listens on port 1: the message names the target, never the password */
	opt.url = "postgresql://pchat:secret-pw@127.0.0.1:1/pchat";
	assert_null(store_open(&opt, err, sizeof(err)));
	assert_non_null(strstr(err, "127.0.0.1:1/pchat"));
	assert_non_null(strstr(err, "cannot connect"));
	assert_null(strstr(err, "secret-pw"));
	opt.url = "sqlite:/nonexistent-dir-pchat/x.db";
	opt.create = true;
	err[0] = '\0';
	assert_null(store_open(&opt, err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_string_equal(store_strerror(STORE_EEXIST), "already exists");
}

/* --- asynchronous jobs --------------------------------------------------- */

struct ajob {
	struct tctx *t;     /* test */
	int idx;            /* submission index */
	int64_t room;       /* room to post into */
	int fail;           /* 1: insert then fail; 2: duplicate msgid */
	char msgid[32];     /* for fail == 2 */
	int n_done;         /* completions seen */
	int rc;             /* completion rc */
	int64_t seq;        /* seq set by the job */
	int *order;         /* completion order log */
	int *n_order;       /* its length */
	atomic_int *arrive; /* read concurrency test */
};

static int write_job(struct store_conn *c, void *arg)
{
	struct ajob *j = arg;
	struct store_msg m;

	fill_msg(&m, j->room, "alice", NULL, "async");
	if (j->fail == 2)
		str_copy(m.msgid, j->msgid, sizeof(m.msgid));
	int rc = store_msg_insert(c, &m);

	if (rc)
		return rc;
	j->seq = m.seq;
	return j->fail == 1 ? STORE_EINVAL : 0;
}

static void job_done(int rc, void *arg)
{
	struct ajob *j = arg;

	j->n_done++;
	j->rc = rc;
	if (j->order)
		j->order[(*j->n_order)++] = j->idx;
}

static void run_until(struct tctx *t, struct ajob *jobs, int n)
{
	int64_t deadline = time_mono_ms() + 60000;

	for (;;) {
		int done = 0;

		for (int i = 0; i < n; i++)
			done += jobs[i].n_done > 0;
		if (done == n || time_mono_ms() > deadline)
			break;
		event_base_loop(t->base, EVLOOP_ONCE);
	}
}

static void test_async_order(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "async"));
	struct ajob *jobs = calloc(N_ASYNC, sizeof(*jobs));
	int *order = calloc(N_ASYNC, sizeof(int));
	int n_order = 0;
	int64_t cnt;

	for (int i = 0; i < N_ASYNC; i++) {
		jobs[i] = (struct ajob){.t = t, .idx = i, .room = room};
		jobs[i].order = order;
		jobs[i].n_order = &n_order;
		store_submit_write(t->st, write_job, job_done, &jobs[i]);
	}
	run_until(t, jobs, N_ASYNC);
	assert_int_equal(n_order, N_ASYNC);
	for (int i = 0; i < N_ASYNC; i++) {
		assert_int_equal(order[i], i);       /* in submission order */
		assert_int_equal(jobs[i].n_done, 1); /* exactly once */
		assert_int_equal(jobs[i].rc, 0);
		if (i > 0) /* run in order too */
			assert_true(jobs[i].seq > jobs[i - 1].seq);
	}
	assert_int_equal(store_msg_count(t->c, room, &cnt), 0);
	assert_int_equal(cnt, N_ASYNC);
	free(order);
	free(jobs);
}

/* --- store_stats -------------------------------------------------------- */

#define STATS_JOBS 200

static int stats_job(struct store_conn *c, void *arg)
{
	struct ajob *j = arg;
	struct store_msg m;

	fill_msg(&m, j->room, "alice", NULL, "counted");
	return store_msg_insert(c, &m);
}

/* Every write job is counted once, in one of at most as many group commits. */
static void test_store_stats(void **state)
{
	struct tctx *t = *state;
	struct ajob *jobs = calloc(STATS_JOBS, sizeof(*jobs));
	int64_t room = add_room(t, nm(t, "stats"));
	struct store_stats s0, s1;

	store_stats(t->st, &s0);
	for (int i = 0; i < STATS_JOBS; i++) {
		jobs[i] = (struct ajob){.t = t, .idx = i, .room = room};
		store_submit_write(t->st, stats_job, job_done, &jobs[i]);
		if (i % 10 == 0)
			usleep(1000); /* several commits, not one */
	}
	run_until(t, jobs, STATS_JOBS);
	store_stats(t->st, &s1);
	for (int i = 0; i < STATS_JOBS; i++)
		assert_int_equal(jobs[i].rc, 0);
	assert_int_equal(s1.jobs - s0.jobs, STATS_JOBS);
	assert_true(s1.commits - s0.commits >= 1 && s1.commits - s0.commits <= STATS_JOBS);
	assert_true(s1.upkeep_steps >= s0.upkeep_steps);
	free(jobs);
}

static int slow_job(struct store_conn *c, void *arg)
{
	(void)arg;
	(void)c;
	usleep(100000); /* let the next jobs queue up into one batch */
	return 0;
}

static void test_async_failure_isolated(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "iso"));
	struct ajob jobs[6] = {{0}};
	struct store_msg m, *v;
	size_t n;

	fill_msg(&m, room, "alice", NULL, "existing");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	store_submit_write(t->st, slow_job, NULL, NULL);
	for (int i = 0; i < 6; i++) {
		jobs[i] = (struct ajob){.t = t, .idx = i, .room = room};
		jobs[i].fail = i == 1 ? 1 : i == 3 ? 2 : 0;
		str_copy(jobs[i].msgid, m.msgid, sizeof(jobs[i].msgid));
		store_submit_write(t->st, write_job, job_done, &jobs[i]);
	}
	run_until(t, jobs, 6);
	assert_int_equal(jobs[0].rc, 0);
	assert_int_equal(jobs[1].rc, STORE_EINVAL);
	assert_int_equal(jobs[2].rc, 0);
	assert_int_equal(jobs[3].rc, STORE_EEXIST);
	assert_int_equal(jobs[4].rc, 0);
	assert_int_equal(jobs[5].rc, 0);
	/* job 1's insert was undone */
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 0, 100, &v, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 1; i < n; i++)
		assert_true(v[i].seq > v[i - 1].seq);
	free_msgs(v, n);
}

static int meet_job(struct store_conn *c, void *arg)
{
	struct ajob *j = arg;
	int64_t deadline = time_mono_ms() + 5000;
	int64_t cnt;

	atomic_fetch_add(j->arrive, 1);
	while (atomic_load(j->arrive) < 2 && time_mono_ms() < deadline)
		usleep(1000);
	if (atomic_load(j->arrive) < 2)
		return STORE_EBUSY; /* the other read never ran alongside */
	return store_msg_count(c, j->room, &cnt) || cnt != 1 ? STORE_EIO : 0;
}

static void test_async_reads_concurrent(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "rd"));
	struct ajob w = {.t = t, .room = room}, r[2];
	atomic_int arrive = 0;

	store_submit_write(t->st, write_job, job_done, &w);
	run_until(t, &w, 1);
	assert_int_equal(w.rc, 0);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct ajob){.t = t, .idx = i, .room = room, .arrive = &arrive};
		store_submit_read(t->st, meet_job, job_done, &r[i]);
	}
	run_until(t, r, 2);
	assert_int_equal(r[0].n_done, 1);
	assert_int_equal(r[1].n_done, 1);
	assert_int_equal(r[0].rc, 0); /* both ran at once and saw the commit */
	assert_int_equal(r[1].rc, 0);
}

static int write_in_read(struct store_conn *c, void *arg)
{
	struct store_account a = {0};

	(void)arg;
	str_copy(a.name, "readonly", sizeof(a.name));
	return store_account_add(c, &a);
}

static void test_async_read_only(void **state)
{
	struct tctx *t = *state;
	struct ajob r = {.t = t};

	store_submit_read(t->st, write_in_read, job_done, &r);
	run_until(t, &r, 1);
	assert_int_equal(r.n_done, 1);
	assert_true(r.rc < 0); /* a read job cannot write */
}

static int nested_tx_job(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_begin(c) == STORE_EINVAL ? 0 : STORE_EIO;
}

static void test_async_close_finishes(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "close"));
	enum { N = 1000 };
	struct ajob *jobs = calloc(N, sizeof(*jobs));
	struct ajob nest = {.t = t};
	struct store *st;
	int64_t cnt;

	store_submit_write(t->st, nested_tx_job, job_done, &nest);
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct ajob){.t = t, .idx = i, .room = room};
		store_submit_write(t->st, write_job, job_done, &jobs[i]);
	}
	store_close(t->st); /* finishes the queue; completions wait in the mailbox */
	t->st = NULL;
	run_until(t, jobs, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(jobs[i].n_done, 1);
		assert_int_equal(jobs[i].rc, 0);
	}
	assert_int_equal(nest.rc, 0);
	st = open_store(t, NULL);
	assert_non_null(st);
	assert_int_equal(store_msg_count(store_direct(st), room, &cnt), 0);
	assert_int_equal(cnt, N);
	store_close(st);
	free(jobs);
}

static void test_sync_submit(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "sync"));
	struct ajob j = {.t = t, .room = room}, f = {.t = t, .room = room, .fail = 1};
	int64_t cnt;

	/* a store without a mailbox runs jobs at once, wrapped the same way */
	store_submit_write(t->st, write_job, job_done, &j);
	assert_int_equal(j.n_done, 1);
	assert_int_equal(j.rc, 0);
	store_submit_write(t->st, write_job, job_done, &f);
	assert_int_equal(f.n_done, 1);
	assert_int_equal(f.rc, STORE_EINVAL);
	assert_int_equal(store_msg_count(t->c, room, &cnt), 0);
	assert_int_equal(cnt, 1);
}

/* --- rooms issue: model ---------------------------------------------------- */

static void add_account(struct tctx *t, const char *name)
{
	struct store_account a = {0};

	str_copy(a.name, name, sizeof(a.name));
	a.chat_enabled = true;
	assert_int_equal(store_account_add(t->c, &a), 0);
}

static void test_groups(void **state)
{
	struct tctx *t = *state;
	struct store_group g = {0}, got, *v;
	size_t n;
	int found = 0;

	str_copy(g.name, nm(t, "Ops"), sizeof(g.name));
	g.members = "alice,group:other";
	assert_int_equal(store_group_add(t->c, &g), 0);
	assert_true(g.id > 0);
	assert_int_equal(store_group_add(t->c, &g), STORE_EEXIST);
	str_copy(g.name, nm(t, "OPS"), sizeof(g.name));
	assert_int_equal(store_group_add(t->c, &g), STORE_EEXIST); /* case-insensitive */
	assert_int_equal(store_group_get(t->c, nm(t, "ops"), &got), 0);
	assert_string_equal(got.name, nm(t, "Ops"));
	assert_string_equal(got.members, "alice,group:other");
	assert_true(got.created_ms > 0);
	store_group_free(&got);

	g.members = "bob";
	assert_int_equal(store_group_update(t->c, &g), 0);
	assert_int_equal(store_group_get(t->c, nm(t, "Ops"), &got), 0);
	assert_string_equal(got.members, "bob");
	store_group_free(&got);
	g.members = NULL; /* NULL members = "" */
	assert_int_equal(store_group_update(t->c, &g), 0);
	assert_int_equal(store_group_get(t->c, nm(t, "Ops"), &got), 0);
	assert_string_equal(got.members, "");
	store_group_free(&got);

	assert_int_equal(store_group_list(t->c, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		found += str_ieq(v[i].name, nm(t, "ops"));
		store_group_free(&v[i]);
	}
	free(v);
	assert_int_equal(found, 1);

	str_copy(g.name, nm(t, "bad name"), sizeof(g.name));
	assert_int_equal(store_group_add(t->c, &g), STORE_EINVAL);
	str_copy(g.name, nm(t, "ghost"), sizeof(g.name));
	assert_int_equal(store_group_update(t->c, &g), STORE_ENOTFOUND);
	assert_int_equal(store_group_get(t->c, nm(t, "ghost"), &got), STORE_ENOTFOUND);
	assert_int_equal(store_group_remove(t->c, nm(t, "ghost")), STORE_ENOTFOUND);
	assert_int_equal(store_group_remove(t->c, nm(t, "oPs")), 0);
	assert_int_equal(store_group_get(t->c, nm(t, "ops"), &got), STORE_ENOTFOUND);
	assert_int_equal(store_group_remove(t->c, ""), STORE_EINVAL);
}

static void test_addins(void **state)
{
	struct tctx *t = *state;
	struct store_addin a = {0}, got, *v;
	struct store_room r = {0}, rr;
	size_t n;
	int found = 0;

	str_copy(a.name, nm(t, "Wiki"), sizeof(a.name));
	a.url = "https://wiki.example/pane";
	assert_int_equal(store_addin_add(t->c, &a), 0);
	assert_int_equal(store_addin_add(t->c, &a), STORE_EEXIST);
	a.url = "ftp://x.example/";
	str_copy(a.name, nm(t, "other"), sizeof(a.name));
	assert_int_equal(store_addin_add(t->c, &a), STORE_EINVAL);
	a.url = "https://";
	assert_int_equal(store_addin_add(t->c, &a), STORE_EINVAL);
	a.url = "http://has space/";
	assert_int_equal(store_addin_add(t->c, &a), STORE_EINVAL);
	a.url = NULL;
	assert_int_equal(store_addin_add(t->c, &a), STORE_EINVAL);
	a.url = "HTTP://plain.example/";
	assert_int_equal(store_addin_add(t->c, &a), 0);

	assert_int_equal(store_addin_get(t->c, nm(t, "WIKI"), &got), 0);
	assert_string_equal(got.name, nm(t, "Wiki"));
	assert_string_equal(got.url, "https://wiki.example/pane");
	store_addin_free(&got);
	assert_int_equal(store_addin_get(t->c, nm(t, "none"), &got), STORE_ENOTFOUND);

	/* a room using it: must exist; blocks removal */
	str_copy(r.name, nm(t, "withaddin"), sizeof(r.name));
	str_copy(r.addin, nm(t, "nosuch"), sizeof(r.addin));
	assert_int_equal(store_room_add(t->c, &r), STORE_EINVAL);
	str_copy(r.addin, nm(t, "wiki"), sizeof(r.addin));
	assert_int_equal(store_room_add(t->c, &r), 0);
	assert_int_equal(store_addin_remove(t->c, nm(t, "Wiki")), STORE_ENOTEMPTY);
	assert_int_equal(store_room_get(t->c, r.name, &rr), 0);
	assert_string_equal(rr.addin, nm(t, "wiki"));
	rr.addin[0] = '\0';
	assert_int_equal(store_room_update(t->c, &rr), 0);
	store_room_free(&rr);

	assert_int_equal(store_addin_list(t->c, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		found += str_ieq(v[i].name, nm(t, "wiki")) || str_ieq(v[i].name, nm(t, "other"));
		store_addin_free(&v[i]);
	}
	free(v);
	assert_int_equal(found, 2);
	assert_int_equal(store_addin_remove(t->c, nm(t, "wiki")), 0);
	assert_int_equal(store_addin_remove(t->c, nm(t, "wiki")), STORE_ENOTFOUND);
}

static void test_category_settings(void **state)
{
	struct tctx *t = *state;
	struct store_category cat = {0}, got, *v;
	char *big;
	size_t n;
	int found = 0;

	/* defaults, also for "general" */
	assert_int_equal(store_category_get(t->c, "general", &got), 0);
	assert_string_equal(got.allowed, "*");
	assert_string_equal(got.denied, "");
	assert_string_equal(got.creators, "");
	assert_true(got.invitations && got.file_upload && got.history);
	store_category_free(&got);

	str_copy(cat.name, nm(t, "Eng"), sizeof(cat.name));
	cat.allowed = "group:eng";
	cat.denied = "mallory";
	cat.creators = "alice,bob";
	cat.invitations = false;
	cat.file_upload = true;
	cat.history = false;
	assert_int_equal(store_category_add(t->c, &cat), 0);
	assert_int_equal(store_category_get(t->c, nm(t, "ENG"), &got), 0);
	assert_string_equal(got.allowed, "group:eng");
	assert_string_equal(got.denied, "mallory");
	assert_string_equal(got.creators, "alice,bob");
	assert_false(got.invitations);
	assert_true(got.file_upload);
	assert_false(got.history);

	/* update by id writes every field; NULL lists keep theirs */
	free(got.denied);
	got.denied = NULL;
	free(got.creators);
	got.creators = strdup("carol");
	got.history = true;
	got.file_upload = false;
	got.name[0] = '\0'; /* the id is enough */
	assert_int_equal(store_category_update(t->c, &got), 0);
	store_category_free(&got);
	assert_int_equal(store_category_get(t->c, nm(t, "eng"), &got), 0);
	assert_string_equal(got.denied, "mallory");
	assert_string_equal(got.creators, "carol");
	assert_true(got.history);
	assert_false(got.file_upload);
	assert_false(got.invitations);
	store_category_free(&got);

	/* by name; too long a list */
	memset(&cat, 0, sizeof(cat));
	str_copy(cat.name, nm(t, "eng"), sizeof(cat.name));
	cat.invitations = cat.file_upload = cat.history = true;
	big = malloc(STORE_LIST_MAX + 2);
	memset(big, 'a', STORE_LIST_MAX + 1);
	big[STORE_LIST_MAX + 1] = '\0';
	cat.denied = big;
	assert_int_equal(store_category_update(t->c, &cat), STORE_EINVAL);
	big[STORE_LIST_MAX] = '\0'; /* exactly the maximum fits */
	assert_int_equal(store_category_update(t->c, &cat), 0);
	assert_int_equal(store_category_get(t->c, nm(t, "eng"), &got), 0);
	assert_int_equal(strlen(got.denied), STORE_LIST_MAX);
	assert_true(got.invitations);
	store_category_free(&got);
	big[STORE_LIST_MAX] = 'a';
	str_copy(cat.name, nm(t, "big"), sizeof(cat.name));
	cat.denied = NULL;
	cat.creators = big;
	assert_int_equal(store_category_add(t->c, &cat), STORE_EINVAL);
	free(big);
	str_copy(cat.name, nm(t, "ghost"), sizeof(cat.name));
	cat.creators = NULL;
	assert_int_equal(store_category_update(t->c, &cat), STORE_ENOTFOUND);

	assert_int_equal(store_category_list(t->c, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (str_ieq(v[i].name, nm(t, "eng"))) {
			found++;
			assert_string_equal(v[i].creators, "carol");
		}
		store_category_free(&v[i]);
	}
	free(v);
	assert_int_equal(found, 1);
}

static void test_room_settings(void **state)
{
	struct tctx *t = *state;
	struct store_room r = {0}, got, *v;
	size_t n;
	int found = 0;

	/* defaults */
	str_copy(r.name, nm(t, "plain"), sizeof(r.name));
	assert_int_equal(store_room_add(t->c, &r), 0);
	assert_int_equal(store_room_get(t->c, r.name, &got), 0);
	assert_int_equal(got.privacy, STORE_PRIVACY_CLOSED);
	assert_int_equal(got.type, STORE_ROOM_NORMAL);
	assert_false(got.invitations_off || got.disabled);
	assert_string_equal(got.addin, "");
	assert_string_equal(got.members, "");
	assert_string_equal(got.managers, "");
	assert_string_equal(got.presenters, "");
	store_room_free(&got);

	memset(&r, 0, sizeof(r));
	str_copy(r.name, nm(t, "Stage"), sizeof(r.name));
	r.privacy = STORE_PRIVACY_SECRET;
	r.type = STORE_ROOM_AUDITORIUM;
	r.invitations_off = true;
	r.members = "alice,group:g";
	r.managers = "alice";
	r.presenters = "bob";
	assert_int_equal(store_room_add(t->c, &r), 0);
	assert_int_equal(store_room_get(t->c, nm(t, "stage"), &got), 0);
	assert_int_equal(got.privacy, STORE_PRIVACY_SECRET);
	assert_int_equal(got.type, STORE_ROOM_AUDITORIUM);
	assert_true(got.invitations_off);
	assert_false(got.disabled);
	assert_string_equal(got.members, "alice,group:g");
	assert_string_equal(got.managers, "alice");
	assert_string_equal(got.presenters, "bob");

	/* read-modify-write by id */
	got.disabled = true;
	got.privacy = STORE_PRIVACY_OPEN;
	free(got.presenters);
	got.presenters = strdup("");
	assert_int_equal(store_room_update(t->c, &got), 0);
	store_room_free(&got);
	assert_int_equal(store_room_get(t->c, nm(t, "STAGE"), &got), 0);
	assert_true(got.disabled);
	assert_int_equal(got.privacy, STORE_PRIVACY_OPEN);
	assert_string_equal(got.presenters, "");
	assert_string_equal(got.managers, "alice");

	/* out of range */
	got.privacy = 3;
	assert_int_equal(store_room_update(t->c, &got), STORE_EINVAL);
	got.privacy = 0;
	got.type = -1;
	assert_int_equal(store_room_update(t->c, &got), STORE_EINVAL);
	got.type = 0;
	str_copy(got.addin, "bad name", sizeof(got.addin));
	assert_int_equal(store_room_update(t->c, &got), STORE_EINVAL);
	store_room_free(&got);
	r.privacy = 7;
	str_copy(r.name, nm(t, "bad"), sizeof(r.name));
	assert_int_equal(store_room_add(t->c, &r), STORE_EINVAL);

	assert_int_equal(store_room_list(t->c, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (v[i].id == r.id) {
			found++;
			assert_true(v[i].disabled);
			assert_string_equal(v[i].members, "alice,group:g");
		}
		store_room_free(&v[i]);
	}
	free(v);
	assert_int_equal(found, 1);
}

static void test_follows(void **state)
{
	struct tctx *t = *state;
	char **v;
	size_t n;

	add_account(t, nm(t, "Alice"));
	add_room(t, nm(t, "b-room"));
	add_room(t, nm(t, "A-room"));
	assert_int_equal(store_follow_add(t->c, nm(t, "alice"), nm(t, "B-ROOM")), 0);
	assert_int_equal(store_follow_add(t->c, nm(t, "ALICE"), nm(t, "a-room")), 0);
	assert_int_equal(store_follow_add(t->c, nm(t, "alice"), nm(t, "b-room")), STORE_EEXIST);
	assert_int_equal(store_follow_add(t->c, nm(t, "nobody"), nm(t, "b-room")), STORE_ENOTFOUND);
	assert_int_equal(store_follow_add(t->c, nm(t, "alice"), nm(t, "noroom")), STORE_ENOTFOUND);
	assert_int_equal(store_follow_add(t->c, nm(t, "alice"), "bad room"), STORE_EINVAL);

	assert_int_equal(store_follow_list(t->c, nm(t, "alice"), &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], nm(t, "A-room")); /* by name, display case */
	assert_string_equal(v[1], nm(t, "b-room"));
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	assert_int_equal(store_follow_list(t->c, nm(t, "nobody"), &v, &n), STORE_ENOTFOUND);

	assert_int_equal(store_follow_remove(t->c, nm(t, "alice"), nm(t, "A-ROOM")), 0);
	assert_int_equal(store_follow_remove(t->c, nm(t, "alice"), nm(t, "a-room")),
	                 STORE_ENOTFOUND);
	/* removing the room drops the follow */
	assert_int_equal(store_room_remove(t->c, nm(t, "b-room")), 0);
	assert_int_equal(store_follow_list(t->c, nm(t, "alice"), &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
}

static void test_invites(void **state)
{
	struct tctx *t = *state;
	struct store_invite inv = {0}, *v;
	size_t n;

	add_account(t, nm(t, "bob"));
	add_room(t, nm(t, "r1"));
	add_room(t, nm(t, "r2"));
	str_copy(inv.account, nm(t, "BOB"), sizeof(inv.account));
	str_copy(inv.room, nm(t, "r2"), sizeof(inv.room));
	str_copy(inv.inviter, nm(t, "alice"), sizeof(inv.inviter));
	inv.ts_ms = 1000;
	assert_int_equal(store_invite_add(t->c, &inv), 0);
	str_copy(inv.room, nm(t, "r1"), sizeof(inv.room));
	inv.ts_ms = 2000;
	assert_int_equal(store_invite_add(t->c, &inv), 0);
	/* the same pair again replaces (new inviter and time) */
	str_copy(inv.room, nm(t, "R2"), sizeof(inv.room));
	inv.inviter[0] = '\0';
	inv.ts_ms = 3000;
	assert_int_equal(store_invite_add(t->c, &inv), 0);
	str_copy(inv.room, nm(t, "nope"), sizeof(inv.room));
	assert_int_equal(store_invite_add(t->c, &inv), STORE_ENOTFOUND);
	str_copy(inv.room, nm(t, "r1"), sizeof(inv.room));
	str_copy(inv.account, nm(t, "nobody"), sizeof(inv.account));
	assert_int_equal(store_invite_add(t->c, &inv), STORE_ENOTFOUND);

	assert_int_equal(store_invite_take(t->c, nm(t, "bob"), &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].room, nm(t, "r1")); /* oldest first */
	assert_string_equal(v[0].inviter, nm(t, "alice"));
	assert_int_equal(v[0].ts_ms, 2000);
	assert_string_equal(v[0].account, nm(t, "bob"));
	assert_string_equal(v[1].room, nm(t, "r2"));
	assert_string_equal(v[1].inviter, "");
	assert_int_equal(v[1].ts_ms, 3000);
	free(v);
	/* taken: gone */
	assert_int_equal(store_invite_take(t->c, nm(t, "bob"), &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(store_invite_take(t->c, nm(t, "nobody"), &v, &n), STORE_ENOTFOUND);

	/* inside a transaction too; account removal drops pending ones */
	str_copy(inv.account, nm(t, "bob"), sizeof(inv.account));
	inv.ts_ms = 0; /* now */
	assert_int_equal(store_invite_add(t->c, &inv), 0);
	assert_int_equal(store_begin(t->c), 0);
	assert_int_equal(store_invite_take(t->c, nm(t, "bob"), &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].ts_ms > 0);
	free(v);
	assert_int_equal(store_rollback(t->c), 0); /* the take is undone */
	assert_int_equal(store_account_remove(t->c, nm(t, "bob")), 0);
	add_account(t, nm(t, "bob"));
	assert_int_equal(store_invite_take(t->c, nm(t, "bob"), &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
}

static void test_markers(void **state)
{
	struct tctx *t = *state;
	char target[STORE_NAME_MAX + 1];
	int64_t ts;

	add_account(t, nm(t, "carol"));
	add_room(t, nm(t, "mk"));
	snprintf(target, sizeof(target), "#%s", nm(t, "mk"));
	assert_int_equal(store_marker_get(t->c, nm(t, "carol"), target, &ts), STORE_ENOTFOUND);
	assert_int_equal(ts, 0);
	assert_int_equal(store_marker_set(t->c, nm(t, "carol"), target, 5000), 0);
	assert_int_equal(store_marker_set(t->c, nm(t, "CAROL"), target, 4000), 0); /* back: kept */
	assert_int_equal(store_marker_get(t->c, nm(t, "carol"), target, &ts), 0);
	assert_int_equal(ts, 5000);
	assert_int_equal(store_marker_set(t->c, nm(t, "carol"), target, 6000), 0);
	assert_int_equal(store_marker_get(t->c, nm(t, "carol"), target, &ts), 0);
	assert_int_equal(ts, 6000);
	/* a private target; unknown account; bad target */
	assert_int_equal(store_marker_set(t->c, nm(t, "carol"), nm(t, "dave"), 10), 0);
	assert_int_equal(store_marker_get(t->c, nm(t, "carol"), nm(t, "DAVE"), &ts), 0);
	assert_int_equal(ts, 10);
	assert_int_equal(store_marker_set(t->c, nm(t, "nobody"), target, 1), STORE_ENOTFOUND);
	assert_int_equal(store_marker_set(t->c, nm(t, "carol"), "#", 1), STORE_EINVAL);
	assert_int_equal(store_marker_set(t->c, nm(t, "carol"), target, -1), STORE_EINVAL);
	/* removing the room drops its markers, the account's others stay */
	assert_int_equal(store_room_remove(t->c, nm(t, "mk")), 0);
	assert_int_equal(store_marker_get(t->c, nm(t, "carol"), target, &ts), STORE_ENOTFOUND);
	assert_int_equal(store_marker_get(t->c, nm(t, "carol"), nm(t, "dave"), &ts), 0);
	assert_int_equal(store_account_remove(t->c, nm(t, "carol")), 0);
	add_account(t, nm(t, "carol"));
	assert_int_equal(store_marker_get(t->c, nm(t, "carol"), nm(t, "dave"), &ts),
	                 STORE_ENOTFOUND);
}

static void test_changes(void **state)
{
	struct tctx *t = *state;
	struct store_change *v;
	int64_t last0, last;
	size_t n;

	assert_int_equal(store_change_last(t->c, &last0), 0);
	assert_int_equal(store_change_add(t->c, "room", nm(t, "r")), 0);
	assert_int_equal(store_change_add(t->c, "category", nm(t, "c")), 0);
	assert_int_equal(store_change_add(t->c, "", nm(t, "c")), STORE_EINVAL);
	assert_int_equal(store_change_add(t->c, "room", "bad name"), STORE_EINVAL);
	assert_int_equal(store_change_add(t->c, "averyveryverylongkind", "x"), STORE_EINVAL);
	assert_int_equal(store_change_last(t->c, &last), 0);
	assert_true(last > last0);
	assert_int_equal(store_change_since(t->c, last0, 10, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].kind, "room");
	assert_string_equal(v[0].name, nm(t, "r"));
	assert_string_equal(v[1].kind, "category");
	assert_true(v[0].id < v[1].id && v[1].id == last);
	assert_true(v[0].ts_ms > 0);
	free(v);
	assert_int_equal(store_change_since(t->c, last0, 1, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].kind, "room");
	free(v);
	assert_int_equal(store_change_since(t->c, last, 10, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(store_change_since(t->c, 0, 0, &v, &n), STORE_EINVAL);
}

static void test_changes_trimmed(void **state)
{
	struct tctx *t = *state;
	struct store_change *v;
	int64_t last;
	size_t n;

	assert_int_equal(store_begin(t->c), 0);
	for (int i = 0; i < 10250; i++)
		assert_int_equal(store_change_add(t->c, "account", nm(t, "a")), 0);
	assert_int_equal(store_commit(t->c), 0);
	assert_int_equal(store_change_last(t->c, &last), 0);
	assert_int_equal(store_change_since(t->c, 0, 10000, &v, &n), 0);
	assert_int_equal(n, 10000);
	/* the oldest kept is within the newest 10,000 + 99 */
	assert_true(v[0].id > last - 10100);
	assert_true(v[0].id > 1);
	free(v);
	assert_int_equal(store_change_since(t->c, last - 10000, 10000, &v, &n), 0);
	assert_int_equal(n, 10000); /* the newest 10,000 are all there */
	assert_int_equal(v[n - 1].id, last);
	free(v);
}

/* --- rooms issue: history, search, administration ---------------------------- */

/* Insert a message with a given time; returns its id. */
static int64_t put(struct tctx *t, int64_t room, const char *sender, const char *peer,
                   const char *text, int64_t ts)
{
	struct store_msg m;

	fill_msg(&m, room, sender, peer, text);
	m.ts_ms = ts;
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	return m.id;
}

/* Run a history query; check the texts returned, in order ("" = none). */
static void expect_history(struct tctx *t, const struct store_history_query *q, const char *want)
{
	char got[512] = "";
	size_t len = 0, n;
	struct store_msg *v;

	assert_int_equal(store_msg_history(t->c, q, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		str_appendf(got, sizeof(got), &len, "%s%s", i ? "," : "", v[i].text);
	free_msgs(v, n);
	assert_string_equal(got, want);
}

static void test_history_windows(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "h")), id[11];
	struct store_history_query q = {.room_id = room, .limit = 3, .from_newest = true};
	struct store_msg *v;
	size_t n;
	char text[8];

	for (int i = 1; i <= 10; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		id[i] = put(t, room, "alice", NULL, text, 1000 * i);
	}
	put(t, add_room(t, nm(t, "h2")), "alice", NULL, "elsewhere", 5500);
	expect_history(t, &q, "m8,m9,m10"); /* LATEST */
	q.before_id = id[5];
	q.limit = 2;
	expect_history(t, &q, "m3,m4"); /* BEFORE */
	q.before_id = 0;
	q.after_id = id[5];
	q.from_newest = false;
	expect_history(t, &q, "m6,m7"); /* AFTER */
	q.after_id = id[2];
	q.before_id = id[6];
	q.limit = 10;
	expect_history(t, &q, "m3,m4,m5"); /* BETWEEN */
	q.from_newest = true;
	q.limit = 2;
	expect_history(t, &q, "m4,m5"); /* BETWEEN from the newest end */
	q.after_id = 0;
	q.before_id = id[5] + 1; /* AROUND m5: up to it ... */
	expect_history(t, &q, "m4,m5");
	q.before_id = 0;
	q.after_id = id[5]; /* ... and after it */
	q.from_newest = false;
	expect_history(t, &q, "m6,m7");
	/* time bounds (exclusive) */
	memset(&q, 0, sizeof(q));
	q.room_id = room;
	q.limit = 10;
	q.after_ts = 3000;
	q.before_ts = 6000;
	expect_history(t, &q, "m4,m5");
	q.after_ts = 0;
	q.before_ts = 3500;
	q.from_newest = true;
	q.limit = 2;
	expect_history(t, &q, "m2,m3");
	q.before_ts = 0;
	q.after_ts = 8000;
	q.from_newest = false;
	expect_history(t, &q, "m9,m10");
	q.after_ts = 2000;
	q.before_id = id[4]; /* ids and times together */
	expect_history(t, &q, "m3");
	q.after_ts = 10000;
	q.before_id = 0;
	expect_history(t, &q, "");
	/* bad arguments; an unknown room is empty */
	q.limit = 0;
	assert_int_equal(store_msg_history(t->c, &q, &v, &n), STORE_EINVAL);
	q.limit = 10001;
	assert_int_equal(store_msg_history(t->c, &q, &v, &n), STORE_EINVAL);
	q.limit = 10;
	q.after_id = -1;
	assert_int_equal(store_msg_history(t->c, &q, &v, &n), STORE_EINVAL);
	memset(&q, 0, sizeof(q));
	q.room_id = room + 1000000;
	q.limit = 5;
	expect_history(t, &q, "");
	q.room_id = 0; /* a conversation needs both accounts */
	q.a = "alice";
	assert_int_equal(store_msg_history(t->c, &q, &v, &n), STORE_EINVAL);
}

/*
 * Bounds given by messages of another room or conversation (a msgid
 * reference may name any message): the window is what lies between them
 * in id order, also across a cleared stretch of the room.
 */
static void test_history_foreign_bounds(void **state)
{
	struct tctx *t = *state;
	int64_t a = add_room(t, nm(t, "fa")), b = add_room(t, nm(t, "fb")), ida[9], idb[9], pm;
	struct store_history_query q = {.room_id = a, .limit = 10};
	char text[8];
	int64_t cnt;

	for (int i = 1; i <= 8; i++) {
		snprintf(text, sizeof(text), "a%d", i);
		ida[i] = put(t, a, "alice", NULL, text, 1000 * i);
		snprintf(text, sizeof(text), "b%d", i);
		idb[i] = put(t, b, "alice", NULL, text, 1000 * i + 500);
	}
	pm = put(t, 0, "alice", "bob", "pm", 9000);
	q.after_id = idb[3];
	q.before_id = idb[6];
	expect_history(t, &q, "a4,a5,a6"); /* between b3 and b6 */
	q.from_newest = true;
	q.limit = 2;
	expect_history(t, &q, "a5,a6");
	q.after_id = 0;
	q.before_id = idb[1];
	expect_history(t, &q, "a1"); /* BEFORE a message right after the first */
	q.before_id = ida[1];
	expect_history(t, &q, ""); /* BEFORE the first */
	q.before_id = pm;
	expect_history(t, &q, "a7,a8"); /* a private message as the bound */
	q.before_id = 0;
	q.after_id = idb[8];
	q.from_newest = false;
	expect_history(t, &q, ""); /* AFTER everything */
	q.after_id = ida[1] - 1;
	q.limit = 3;
	expect_history(t, &q, "a1,a2,a3");
	/* a1..a4 cleared: bounds inside the gap */
	assert_int_equal(store_room_clear(t->c, a, 4500, &cnt), 0);
	assert_int_equal(cnt, 4);
	q.after_id = idb[2];
	q.limit = 10;
	expect_history(t, &q, "a5,a6,a7,a8");
	q.after_id = 0;
	q.before_id = idb[4];
	q.from_newest = true;
	expect_history(t, &q, "");
	q.before_id = ida[3]; /* a cleared message of the room itself */
	expect_history(t, &q, "");
	q.before_id = idb[5];
	expect_history(t, &q, "a5");
	q.after_id = ida[2];
	q.before_id = ida[7];
	expect_history(t, &q, "a5,a6");
	/* every id as either bound, against the answer worked out here */
	for (int64_t x = ida[1] > 1 ? ida[1] - 1 : 1; x <= pm + 1; x++) {
		char want_before[8] = "", want_after[8] = "";

		for (int i = 5; i <= 8; i++) {
			if (ida[i] < x)
				snprintf(want_before, sizeof(want_before), "a%d", i);
			if (ida[i] > x && !want_after[0])
				snprintf(want_after, sizeof(want_after), "a%d", i);
		}
		memset(&q, 0, sizeof(q));
		q.room_id = a;
		q.limit = 1;
		q.before_id = x;
		q.from_newest = true;
		expect_history(t, &q, want_before);
		q.before_id = 0;
		q.after_id = x;
		q.from_newest = false;
		expect_history(t, &q, want_after);
	}
}

static void test_history_private_and_redacted(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "hr")), pm2;
	struct store_history_query q = {.limit = 10, .from_newest = true};
	struct store_msg_filter f = {0};
	struct store_msg *v, one;
	size_t n;

	put(t, 0, nm(t, "Alice"), nm(t, "bob"), "p1", 1000);
	pm2 = put(t, 0, nm(t, "BOB"), nm(t, "alice"), "p2", 2000);
	put(t, 0, nm(t, "alice"), nm(t, "carol"), "other", 2500);
	put(t, 0, nm(t, "alice"), nm(t, "Bob"), "p3", 3000);
	q.a = nm(t, "bob");
	q.b = nm(t, "ALICE");
	expect_history(t, &q, "p1,p2,p3");
	q.before_id = pm2;
	expect_history(t, &q, "p1");
	q.before_id = 0;
	q.after_ts = 1500;
	q.from_newest = false;
	expect_history(t, &q, "p2,p3");

	/* removed messages are left out, replaced ones come replaced */
	put(t, room, "alice", NULL, "keep", 1000);
	put(t, room, "alice", NULL, "drop me", 2000);
	put(t, room, "alice", NULL, "fix me", 3000);
	f.room_id = room;
	f.text = "drop";
	assert_int_equal(store_msg_redact(t->c, &f, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	free_msgs(v, n);
	f.text = "fix";
	assert_int_equal(store_msg_redact(t->c, &f, "fixed", &v, &n), 0);
	assert_int_equal(n, 1);
	free_msgs(v, n);
	memset(&q, 0, sizeof(q));
	q.room_id = room;
	q.limit = 2;
	q.from_newest = true;
	expect_history(t, &q, "keep,fixed");
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 0, 10, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[1].redacted, 2);
	assert_int_equal(v[0].redacted, 0);
	free_msgs(v, n);

	/* by msgid (removed ones too: a reference stays valid) */
	assert_int_equal(store_msg_history(t->c, &q, &v, &n), 0);
	assert_int_equal(store_msg_by_msgid(t->c, v[1].msgid, &one), 0);
	assert_int_equal(one.id, v[1].id);
	assert_string_equal(one.text, "fixed");
	assert_int_equal(one.redacted, 2);
	assert_int_equal(one.room_id, room);
	store_msg_free(&one);
	free_msgs(v, n);
	assert_int_equal(store_msg_by_msgid(t->c, "nosuchmsgid", &one), STORE_ENOTFOUND);
	assert_int_equal(store_msg_by_msgid(t->c, "", &one), STORE_EINVAL);
}

static void test_targets(void **state)
{
	struct tctx *t = *state;
	int64_t r1 = add_room(t, nm(t, "t1")), r2 = add_room(t, nm(t, "t2"));
	int64_t rooms[3];
	struct store_target *v;
	size_t n;

	add_account(t, nm(t, "Bob"));
	for (int i = 1; i <= 10; i++)
		put(t, r1, "x", NULL, "m", 1000 * i);
	put(t, r2, "x", NULL, "m", 500);
	put(t, 0, nm(t, "alice"), nm(t, "bob"), "hi", 6500);
	put(t, 0, nm(t, "carol"), nm(t, "ALICE"), "hi", 2000);
	put(t, 0, nm(t, "bob"), nm(t, "carol"), "not alice's", 3000);
	rooms[0] = r1;
	rooms[1] = r2;
	rooms[2] = r2 + 1000000; /* unknown: ignored */
	assert_int_equal(store_msg_targets(t->c, rooms, 3, nm(t, "ALICE"), 0, 0, 10, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_true(v[0].room);
	assert_string_equal(v[0].name, nm(t, "t2"));
	assert_int_equal(v[0].last_ts, 500);
	assert_false(v[1].room);
	assert_string_equal(v[1].name, nm(t, "carol")); /* no account: as written (lower) */
	assert_int_equal(v[1].last_ts, 2000);
	assert_string_equal(v[2].name, nm(t, "Bob")); /* the account's display case */
	assert_int_equal(v[2].last_ts, 6500);
	assert_string_equal(v[3].name, nm(t, "t1"));
	assert_int_equal(v[3].last_ts, 10000);
	free(v);
	/* a window, a limit */
	assert_int_equal(store_msg_targets(t->c, rooms, 2, nm(t, "alice"), 600, 8000, 2, &v, &n),
	                 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, nm(t, "carol"));
	assert_string_equal(v[1].name, nm(t, "Bob"));
	free(v);
	assert_int_equal(store_msg_targets(t->c, rooms, 2, NULL, 600, 8000, 10, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].last_ts, 7000);
	free(v);
	assert_int_equal(store_msg_targets(t->c, rooms, 2, NULL, 0, 0, 0, &v, &n), STORE_EINVAL);
}

/* Search; check the texts returned newest first ("" = none) and *more. */
static void expect_search(struct tctx *t, const struct store_search_query *q, const char *want,
                          bool want_more)
{
	char got[512] = "";
	size_t len = 0, n;
	struct store_msg *v;
	bool more;

	assert_int_equal(store_msg_search(t->c, q, &v, &n, &more), 0);
	for (size_t i = 0; i < n; i++)
		str_appendf(got, sizeof(got), &len, "%s%s", i ? "|" : "", v[i].text);
	free_msgs(v, n);
	assert_string_equal(got, want);
	assert_true(more == want_more);
}

static void test_search(void **state)
{
	struct tctx *t = *state;
	int64_t a = add_room(t, nm(t, "sa")), b = add_room(t, nm(t, "sb"));
	int64_t ra[1] = {a}, rab[2] = {a, b};
	struct store_search_query q = {.room_ids = ra, .n_rooms = 1, .limit = 10};
	struct store_msg *v;
	size_t n;
	bool more;

	put(t, a, nm(t, "alice"), NULL, "The quick brown fox", 1000);
	put(t, a, nm(t, "bob"), NULL, "quick thinking", 2000);
	put(t, a, nm(t, "bob"), NULL, "Brown FOX jumps", 3000);
	put(t, a, nm(t, "alice"), NULL, "caf\xc3\xa9 au lait", 4000);
	put(t, a, nm(t, "alice"), NULL, "say \"hello\" world", 5000);
	put(t, b, nm(t, "alice"), NULL, "quick fox in b", 1500);
	put(t, 0, nm(t, "alice"), nm(t, "bob"), "private fox", 2500);

	q.text = "quick fox";
	expect_search(t, &q, "The quick brown fox", false); /* ALL */
	q.match = STORE_MATCH_ANY;
	expect_search(t, &q, "Brown FOX jumps|quick thinking|The quick brown fox", false);
	q.limit = 2;
	expect_search(t, &q, "Brown FOX jumps|quick thinking", true);
	q.limit = 3;
	expect_search(t, &q, "Brown FOX jumps|quick thinking|The quick brown fox", false);
	q.limit = 10;
	q.match = STORE_MATCH_EXACT;
	q.text = "  brown fox ";
	expect_search(t, &q, "Brown FOX jumps|The quick brown fox", false);
	q.case_sensitive = true;
	expect_search(t, &q, "The quick brown fox", false);
	q.match = STORE_MATCH_ALL;
	q.text = "FOX";
	expect_search(t, &q, "Brown FOX jumps", false);
	q.text = "FO"; /* whole words only */
	expect_search(t, &q, "", false);
	q.case_sensitive = false;
	q.text = "cafe"; /* diacritics removed */
	expect_search(t, &q, "caf\xc3\xa9 au lait", false);
	q.text = "fox";
	q.sender = nm(t, "BOB");
	expect_search(t, &q, "Brown FOX jumps", false);
	q.sender = NULL;
	q.text = "quick";
	q.after_ts = 1000;
	q.before_ts = 3000;
	expect_search(t, &q, "quick thinking", false);
	q.after_ts = q.before_ts = 0;
	q.room_ids = rab;
	q.n_rooms = 2;
	q.text = "fox";
	expect_search(t, &q, "quick fox in b|Brown FOX jumps|The quick brown fox", false);
	q.account = nm(t, "ALICE"); /* plus alice's private messages */
	expect_search(t, &q, "private fox|quick fox in b|Brown FOX jumps|The quick brown fox",
	              false);
	q.room_ids = NULL;
	q.n_rooms = 0;
	expect_search(t, &q, "private fox", false);
	q.account = nm(t, "carol");
	expect_search(t, &q, "", false);
	q.account = NULL; /* nothing readable */
	expect_search(t, &q, "", false);

	/* user text is never FTS5 syntax */
	q.room_ids = ra;
	q.n_rooms = 1;
	q.text = "\"hello\"";
	expect_search(t, &q, "say \"hello\" world", false);
	q.text = "fox\" OR \"quick";
	expect_search(t, &q, "", false);
	q.text = "fox*";
	expect_search(t, &q, "Brown FOX jumps|The quick brown fox", false);
	q.text = "* ( NEAR";
	expect_search(t, &q, "", false);
	q.text = "*";
	expect_search(t, &q, "", false);
	/* empty text: any message, with the other filters */
	q.text = "";
	q.sender = nm(t, "alice");
	expect_search(t, &q, "say \"hello\" world|caf\xc3\xa9 au lait|The quick brown fox", false);
	q.sender = NULL;
	q.limit = 0;
	assert_int_equal(store_msg_search(t->c, &q, &v, &n, &more), STORE_EINVAL);
	q.limit = 1001;
	assert_int_equal(store_msg_search(t->c, &q, &v, &n, &more), STORE_EINVAL);
	q.limit = 10;
	q.match = 9;
	assert_int_equal(store_msg_search(t->c, &q, &v, &n, &more), STORE_EINVAL);
}

static void test_search_case_pages(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "cs")), rooms[1] = {room};
	struct store_search_query q = {.room_ids = rooms, .n_rooms = 1, .limit = 1};
	struct store_msg_filter f = {.room_id = room};
	struct store_msg *v;
	size_t n;

	assert_int_equal(store_begin(t->c), 0);
	put(t, room, "x", NULL, "Foo one", 1);
	put(t, room, "x", NULL, "Foo two", 2);
	for (int i = 0; i < 700; i++)
		put(t, room, "x", NULL, "foo lower", 10 + i);
	assert_int_equal(store_commit(t->c), 0);
	q.text = "Foo";
	q.case_sensitive = true;
	expect_search(t, &q, "Foo two", true); /* found beyond the first pages */
	q.limit = 5;
	expect_search(t, &q, "Foo two|Foo one", false);
	q.case_sensitive = false;
	q.limit = 1;
	expect_search(t, &q, "foo lower", true);

	/* removed messages never match; replaced ones by their replacement */
	f.text = "two";
	assert_int_equal(store_msg_redact(t->c, &f, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	free_msgs(v, n);
	f.text = "one";
	assert_int_equal(store_msg_redact(t->c, &f, "Replaced text", &v, &n), 0);
	free_msgs(v, n);
	q.case_sensitive = true;
	q.limit = 5;
	expect_search(t, &q, "", false);
	q.text = "two";
	expect_search(t, &q, "", false);
	q.text = "replaced";
	q.case_sensitive = false;
	expect_search(t, &q, "Replaced text", false);
}

static void test_redact(void **state)
{
	struct tctx *t = *state;
	int64_t r = add_room(t, nm(t, "rd")), s = add_room(t, nm(t, "rs"));
	const char *admin = "This message was removed by an administrator.";
	struct store_msg_filter f = {0};
	struct store_msg *v;
	size_t n;

	put(t, r, nm(t, "alice"), NULL, "secret plan", 1000);
	put(t, r, nm(t, "bob"), NULL, "Secret meeting", 2000);
	put(t, r, nm(t, "alice"), NULL, "public plan", 3000);
	put(t, s, nm(t, "alice"), NULL, "secret elsewhere", 1500);
	put(t, s, nm(t, "alice"), NULL, "plan secret", 1600);
	put(t, 0, nm(t, "alice"), nm(t, "bob"), "private secret", 1700);

	/* replace, every room, by sender and words (ALL) */
	f.sender = nm(t, "ALICE");
	f.text = "secret plan";
	assert_int_equal(store_msg_redact(t->c, &f, admin, &v, &n), 0);
	assert_int_equal(n, 2); /* both orders of the words, private one untouched */
	assert_string_equal(v[0].text, admin);
	assert_int_equal(v[0].redacted, 2);
	assert_int_equal(v[0].room_id, r);
	assert_int_equal(v[1].room_id, s);
	free_msgs(v, n);
	/* EXACT phrase, case-sensitive, one room */
	memset(&f, 0, sizeof(f));
	f.room_id = r;
	f.text = "Secret meeting";
	f.match = STORE_MATCH_EXACT;
	f.case_sensitive = true;
	assert_int_equal(store_msg_redact(t->c, &f, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].text, "");
	assert_int_equal(v[0].redacted, 1);
	assert_string_equal(v[0].sender, nm(t, "bob"));
	free_msgs(v, n);
	/* ANY, inclusive times */
	f.text = "public nothing";
	f.match = STORE_MATCH_ANY;
	f.case_sensitive = false;
	f.from_ts = 3000;
	f.to_ts = 3000;
	assert_int_equal(store_msg_redact(t->c, &f, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	free_msgs(v, n);
	assert_int_equal(store_msg_redact(t->c, &f, NULL, &v, &n), 0); /* already removed */
	assert_int_equal(n, 0);
	assert_null(v);
	/* no text filter: everything of the room in the window */
	memset(&f, 0, sizeof(f));
	f.room_id = s;
	f.to_ts = 1550;
	assert_int_equal(store_msg_redact(t->c, &f, "gone", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].text, "gone");
	free_msgs(v, n);
	f.match = 3;
	assert_int_equal(store_msg_redact(t->c, &f, NULL, &v, &n), STORE_EINVAL);
	f.match = 0;
	f.sender = "bad name";
	assert_int_equal(store_msg_redact(t->c, &f, NULL, &v, &n), STORE_EINVAL);

	/* the private message kept its text */
	assert_int_equal(store_msg_latest(t->c, 0, nm(t, "alice"), nm(t, "bob"), 0, 5, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].text, "private secret");
	assert_int_equal(v[0].redacted, 0);
	free_msgs(v, n);
}

static void test_room_clear(void **state)
{
	struct tctx *t = *state;
	int64_t room = add_room(t, nm(t, "cl")), other = add_room(t, nm(t, "cl2")), cnt;
	int64_t rooms[2] = {room, other};
	struct store_search_query q = {.room_ids = rooms, .n_rooms = 2, .limit = 10};
	struct store_history_query h = {.room_id = room, .limit = 10, .from_newest = true};
	struct store_room r;
	struct store_msg m;
	int64_t last;

	put(t, room, "x", NULL, "old apple", 1000);
	put(t, room, "x", NULL, "old banana", 2000);
	put(t, room, "x", NULL, "new apple", 3000);
	put(t, other, "x", NULL, "other apple", 1000);
	assert_int_equal(store_room_clear(t->c, room, 2500, &cnt), 0);
	assert_int_equal(cnt, 2);
	expect_history(t, &h, "new apple");
	q.text = "apple";
	expect_search(t, &q, "other apple|new apple", false);
	q.text = "banana";
	expect_search(t, &q, "", false);
	assert_int_equal(store_room_clear(t->c, room, 2500, &cnt), 0);
	assert_int_equal(cnt, 0);
	/* clearing everything keeps the room's last seq: the next one is newer */
	assert_int_equal(store_room_get(t->c, nm(t, "cl"), &r), 0);
	last = r.last_seq;
	store_room_free(&r);
	assert_true(last > 0);
	assert_int_equal(store_room_clear(t->c, room, INT64_MAX, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(store_room_get(t->c, nm(t, "cl"), &r), 0);
	assert_int_equal(r.last_seq, last);
	store_room_free(&r);
	fill_msg(&m, room, "x", NULL, "after");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	assert_true(m.seq > last);
	assert_int_equal(store_room_clear(t->c, 0, 2500, &cnt), STORE_EINVAL);
	assert_int_equal(store_room_clear(t->c, room, 0, &cnt), STORE_EINVAL);
	/* removing the room takes its messages out of search */
	assert_int_equal(store_room_remove(t->c, nm(t, "cl")), 0);
	q.text = "apple";
	expect_search(t, &q, "other apple", false);
}

/* Jobs: the new writes work inside group-committed write jobs. */
struct rjob {
	char account[STORE_NAME_MAX]; /* invitee */
	int64_t room;                 /* room to clear */
	size_t n_taken;               /* invitations taken */
	int64_t n_cleared;            /* messages cleared */
	int rc;                       /* completion rc */
	int n_done;                   /* completions */
};

static int rooms_write_job(struct store_conn *c, void *arg)
{
	struct rjob *j = arg;
	struct store_invite *v;
	int rc = store_invite_take(c, j->account, &v, &j->n_taken);

	free(v);
	if (rc == 0)
		rc = store_change_add(c, "account", j->account);
	if (rc == 0)
		rc = store_room_clear(c, j->room, INT64_MAX, &j->n_cleared);
	return rc;
}

static void rooms_write_done(int rc, void *arg)
{
	struct rjob *j = arg;

	j->rc = rc;
	j->n_done++;
}

static void test_jobs_rooms(void **state)
{
	struct tctx *t = *state;
	struct store_invite inv = {0}, *v;
	struct rjob j = {0};
	int64_t deadline = time_mono_ms() + 30000, last;
	size_t n;

	add_account(t, nm(t, "jo"));
	j.room = add_room(t, nm(t, "jr"));
	put(t, j.room, "x", NULL, "a", 1000);
	put(t, j.room, "x", NULL, "b", 2000);
	str_copy(inv.account, nm(t, "jo"), sizeof(inv.account));
	str_copy(inv.room, nm(t, "jr"), sizeof(inv.room));
	assert_int_equal(store_invite_add(t->c, &inv), 0);
	str_copy(j.account, nm(t, "JO"), sizeof(j.account));
	store_submit_write(t->st, rooms_write_job, rooms_write_done, &j);
	while (j.n_done == 0 && time_mono_ms() < deadline)
		event_base_loop(t->base, EVLOOP_ONCE);
	assert_int_equal(j.n_done, 1);
	assert_int_equal(j.rc, 0);
	assert_int_equal(j.n_taken, 1);
	assert_int_equal(j.n_cleared, 2);
	assert_int_equal(store_invite_take(t->c, nm(t, "jo"), &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(store_change_last(t->c, &last), 0);
	assert_true(last > 0);
}

/* --- compliance queue ---------------------------------------------------------
 *
 * The queue is global, not per name prefix: each test starts by draining it
 * (comp_drain: every waiting event and expired claim exported and purged),
 * compares the export count with the one after the drain, and finishes the
 * claims it leaves live (comp_finish), so the section also runs on a shared
 * database (PostgreSQL). What reads SQLite files directly, and the outbox
 * (store_comp_move carries events only where there is one), is checked
 * only on SQLite (comp_has_outbox).
 */

#define COMP_LEASE 60000

static void fill_cevent(struct store_cevent *e, const char *type, const char *actor,
                        const char *content)
{
	memset(e, 0, sizeof(*e));
	str_copy(e->type, type, sizeof(e->type));
	str_copy(e->actor, actor, sizeof(e->actor));
	e->content = (char *)content;
}

/* Add n CHAT events (committed); ids into ids (when not NULL). */
static void comp_add(struct tctx *t, int n, int64_t *ids)
{
	assert_int_equal(store_begin(t->c), 0);
	for (int i = 0; i < n; i++) {
		struct store_cevent e;
		char text[32];

		snprintf(text, sizeof(text), "message %d", i);
		fill_cevent(&e, "CHAT", "alice", text);
		assert_int_equal(store_cevent_add(t->c, &e), 0);
		if (ids)
			ids[i] = e.id;
	}
	assert_int_equal(store_commit(t->c), 0);
}

static int64_t comp_queued(struct tctx *t)
{
	struct store_comp_status s;

	assert_int_equal(store_comp_status(t->c, &s), 0);
	return s.queued;
}

/* Whether the backend has a compliance outbox (SQLite); PostgreSQL has none. */
static bool comp_has_outbox(const struct tctx *t)
{
	return t->dir[0] != '\0' || strncmp(t->url, "sqlite:", 7) == 0;
}

/*
 * Empty the queue: claim everything waiting (and every expired claim) with a
 * 1 ms lease and purge it. Returns the export count after the drain.
 */
static int64_t comp_drain(struct tctx *t)
{
	struct store_comp_claim cl;
	struct store_comp_status s;
	int rc;

	while ((rc = store_comp_claim(t->c, "drain", "", 100000, 1, &cl)) == 0)
		assert_int_equal(store_comp_done(t->c, &cl, ""), 0);
	assert_int_equal(rc, STORE_ENOTFOUND);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_int_equal(s.queued, 0);
	assert_int_equal(s.claims, 0); /* a live claim left by an earlier test would stay */
	return s.exported;
}

/* Finish a claim the test leaves live, so the next test finds an empty queue. */
static void comp_finish(struct tctx *t, const struct store_comp_claim *cl)
{
	assert_int_equal(store_comp_done(t->c, cl, "cleanup"), 0);
}

/* Run SQL on the compliance file beside the default SQLite database; -1 elsewhere. */
static int64_t raw_count(struct tctx *t, const char *file, const char *sql)
{
	char path[300];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (!t->dir[0])
		return -1;
	snprintf(path, sizeof(path), "%s/%s", t->dir, file);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_comp_add_rollback(void **state)
{
	struct tctx *t = *state;
	struct store_comp_status s;
	struct store_cevent e;
	int64_t base = comp_drain(t);

	assert_int_equal(store_begin(t->c), 0);
	fill_cevent(&e, "CHAT", "alice", "rolled back");
	assert_int_equal(store_cevent_add(t->c, &e), 0);
	assert_true(e.id > 0);
	assert_true(e.ts_ms > 0); /* 0 = now */
	assert_int_equal(store_rollback(t->c), 0);
	assert_int_equal(comp_queued(t), 0);

	assert_int_equal(store_begin(t->c), 0);
	fill_cevent(&e, "JOIN", "bob", NULL);
	e.ts_ms = 123456;
	assert_int_equal(store_cevent_add(t->c, &e), 0);
	assert_int_equal(e.ts_ms, 123456);
	assert_int_equal(store_commit(t->c), 0);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_int_equal(s.queued, 1);
	assert_int_equal(s.oldest_ms, 123456);
	assert_int_equal(s.claims, 0);
	assert_int_equal(s.exported, base);
	assert_false(s.enabled);

	/* the compliance file is private like the chat database */
	if (t->dir[0]) {
		struct stat sb;
		char path[300];

		snprintf(path, sizeof(path), "%s/chat-compliance.db", t->dir);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
}

static void test_comp_invalid(void **state)
{
	struct tctx *t = *state;
	struct store_comp_claim cl;
	struct store_cevent e;
	size_t big = 1024 * 1024 + 1;
	char *text = malloc(big + 1);

	comp_drain(t);
	fill_cevent(&e, "CHATTER", "alice", "x");
	assert_int_equal(store_cevent_add(t->c, &e), STORE_EINVAL);
	fill_cevent(&e, "CHAT", "alice", "x");
	memset(e.actor, 'a', sizeof(e.actor)); /* not terminated */
	assert_int_equal(store_cevent_add(t->c, &e), STORE_EINVAL);
	memset(text, 'x', big);
	text[big] = '\0';
	fill_cevent(&e, "CHAT", "alice", text);
	assert_int_equal(store_cevent_add(t->c, &e), STORE_EINVAL);
	text[big - 1] = '\0'; /* exactly 1 MiB is fine */
	assert_int_equal(store_cevent_add(t->c, &e), 0);
	text[big - 1] = 'x';
	fill_cevent(&e, "SEARCH", "alice", "x");
	e.detail = text; /* 1 MiB + 1 */
	assert_int_equal(store_cevent_add(t->c, &e), STORE_EINVAL);
	free(text);
	assert_int_equal(store_comp_claim(t->c, "", NULL, 10, COMP_LEASE, &cl), STORE_EINVAL);
	assert_int_equal(store_comp_claim(t->c, "a", NULL, 0, COMP_LEASE, &cl), STORE_EINVAL);
	assert_int_equal(store_comp_claim(t->c, "a", NULL, 10, 0, &cl), STORE_EINVAL);
	assert_int_equal(comp_queued(t), 1);
}

static void test_comp_roundtrip(void **state)
{
	struct tctx *t = *state;
	struct store_comp_claim cl, again;
	struct store_comp_status s;
	struct store_cevent e, *v;
	int64_t n, first, next, base = comp_drain(t);
	bool outbox = comp_has_outbox(t);
	size_t nv;

	assert_int_equal(store_begin(t->c), 0);
	fill_cevent(&e, "CHAT", "Alice", "caf\xc3\xa9 \"quoted\" 'single' <b>&amp;</b>");
	e.ts_ms = 1000;
	e.actor_id = 42;
	str_copy(e.address, "192.0.2.7", sizeof(e.address));
	e.room_id = 7;
	str_copy(e.room, "Lobby", sizeof(e.room));
	str_copy(e.category, "general", sizeof(e.category));
	e.logged = true;
	str_copy(e.msgid, "01HMSGID", sizeof(e.msgid));
	e.detail = "{\"tags\":\"+draft/reply=x\"}";
	assert_int_equal(store_cevent_add(t->c, &e), 0);
	first = e.id;
	fill_cevent(&e, "BACKCHAT", "bob", NULL);
	e.ts_ms = 2000;
	str_copy(e.peer, "carol", sizeof(e.peer));
	assert_int_equal(store_cevent_add(t->c, &e), 0);
	assert_true(e.id > first);
	assert_int_equal(store_commit(t->c), 0);

	/* without an outbox (PostgreSQL) there is nothing to move */
	assert_int_equal(store_comp_move(t->c, 1, &n), 0);
	assert_int_equal(n, outbox ? 1 : 0);
	assert_int_equal(comp_queued(t), 2); /* one moved, one in the outbox */
	assert_int_equal(store_comp_move(t->c, 100, &n), 0);
	assert_int_equal(n, outbox ? 1 : 0);
	assert_int_equal(store_comp_move(t->c, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_int_equal(s.queued, 2);
	assert_int_equal(s.oldest_ms, 1000);

	assert_int_equal(store_comp_claim(t->c, "adapter-1", "fmt=xml", 100, COMP_LEASE, &cl), 0);
	assert_int_equal(cl.lo, first);
	assert_int_equal(cl.hi, e.id);
	assert_int_equal(cl.n, 2);
	assert_string_equal(cl.owner, "adapter-1");
	assert_string_equal(cl.params, "fmt=xml");
	assert_false(cl.resumed);
	assert_true(cl.expires_ms > time_now_ms());
	/* the claimed range is not handed out twice */
	assert_int_equal(store_comp_claim(t->c, "adapter-2", "", 100, COMP_LEASE, &again),
	                 STORE_ENOTFOUND);
	assert_int_equal(store_comp_renew(t->c, &cl, COMP_LEASE), 0);

	assert_int_equal(store_comp_fetch(t->c, cl.lo, cl.hi, &v, &nv), 0);
	assert_int_equal(nv, 2);
	assert_int_equal(v[0].id, first);
	assert_int_equal(v[0].ts_ms, 1000);
	assert_string_equal(v[0].type, "CHAT");
	assert_string_equal(v[0].actor, "Alice");
	assert_int_equal(v[0].actor_id, 42);
	assert_string_equal(v[0].address, "192.0.2.7");
	assert_int_equal(v[0].room_id, 7);
	assert_string_equal(v[0].room, "Lobby");
	assert_string_equal(v[0].category, "general");
	assert_true(v[0].logged);
	assert_string_equal(v[0].peer, "");
	assert_string_equal(v[0].msgid, "01HMSGID");
	assert_string_equal(v[0].content, "caf\xc3\xa9 \"quoted\" 'single' <b>&amp;</b>");
	assert_string_equal(v[0].detail, "{\"tags\":\"+draft/reply=x\"}");
	assert_string_equal(v[1].type, "BACKCHAT");
	assert_string_equal(v[1].peer, "carol");
	assert_string_equal(v[1].content, "");
	assert_null(v[1].detail);
	assert_false(v[1].logged);
	assert_int_equal(v[1].room_id, 0);
	for (size_t i = 0; i < nv; i++)
		store_cevent_free(&v[i]);
	free(v);

	assert_int_equal(store_comp_done(t->c, &cl, "/out/pchat-1-2.xml"), 0);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_int_equal(s.queued, 0);
	assert_int_equal(s.oldest_ms, 0);
	assert_int_equal(s.claims, 0);
	assert_int_equal(s.exported, base + 2);
	assert_true(s.last_run_ms > 0);
	assert_string_equal(s.last_file, "/out/pchat-1-2.xml");
	/* done twice (another adapter was first): no error, nothing counted twice */
	assert_int_equal(store_comp_done(t->c, &cl, "/out/pchat-1-2.xml"), 0);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_int_equal(s.exported, base + 2);
	assert_int_equal(store_comp_renew(t->c, &cl, COMP_LEASE), STORE_ENOTFOUND);
	assert_int_equal(store_comp_claim(t->c, "adapter-1", "", 100, COMP_LEASE, &cl),
	                 STORE_ENOTFOUND);

	/* ids are never reused, even with both tables emptied */
	comp_add(t, 1, &next);
	assert_true(next > e.id);
	assert_int_equal(store_comp_claim(t->c, "adapter-1", "", 100, COMP_LEASE, &cl), 0);
	assert_int_equal(cl.lo, next);
	assert_int_equal(cl.n, 1);
	comp_finish(t, &cl);
}

static void test_comp_split(void **state)
{
	struct tctx *t = *state;
	struct store_comp_claim a, b, c;
	struct store_cevent *v;
	int64_t ids[5];
	size_t nv;

	comp_drain(t);
	comp_add(t, 5, ids);
	assert_int_equal(store_comp_claim(t->c, "one", "p", 2, COMP_LEASE, &a), 0);
	assert_int_equal(a.lo, ids[0]);
	assert_int_equal(a.hi, ids[1]);
	assert_int_equal(a.n, 2);
	assert_int_equal(store_comp_claim(t->c, "two", "p", 2, COMP_LEASE, &b), 0);
	assert_int_equal(b.lo, ids[2]);
	assert_int_equal(b.hi, ids[3]);
	assert_int_equal(store_comp_claim(t->c, "one", "p", 2, COMP_LEASE, &c), 0);
	assert_int_equal(c.lo, ids[4]);
	assert_int_equal(c.hi, ids[4]);
	assert_int_equal(c.n, 1);
	assert_int_equal(store_comp_fetch(t->c, b.lo, b.hi, &v, &nv), 0);
	assert_int_equal(nv, 2);
	assert_string_equal(v[0].content, "message 2");
	for (size_t i = 0; i < nv; i++)
		store_cevent_free(&v[i]);
	free(v);
	assert_int_equal(store_comp_done(t->c, &b, "b"), 0);
	assert_int_equal(comp_queued(t), 3);
	/* a gap between claims is not claimed across: a released first range fits below b's */
	assert_int_equal(store_comp_failed(t->c, &a, true, "x"), 0);
	assert_int_equal(store_comp_claim(t->c, "three", "q", 10, COMP_LEASE, &a), 0);
	assert_int_equal(a.lo, ids[0]);
	assert_int_equal(a.hi, ids[1]);
	assert_int_equal(a.n, 2);
	comp_finish(t, &a);
	comp_finish(t, &c);
}

static void test_comp_second_conn(void **state)
{
	struct tctx *t = *state;
	struct store *st2 = open_store(t, NULL);
	struct store_conn *c2;
	struct store_comp_claim a, b;
	struct store_comp_status s;
	int64_t ids[6], base = comp_drain(t);

	assert_non_null(st2);
	c2 = store_direct(st2);
	comp_add(t, 6, ids);
	assert_int_equal(store_comp_claim(t->c, "first", "", 3, COMP_LEASE, &a), 0);
	assert_int_equal(store_comp_claim(c2, "second", "", 100, COMP_LEASE, &b), 0);
	assert_int_equal(a.lo, ids[0]);
	assert_int_equal(a.hi, ids[2]);
	assert_int_equal(b.lo, ids[3]);
	assert_int_equal(b.hi, ids[5]);
	assert_int_equal(b.n, 3);
	assert_int_equal(store_comp_status(c2, &s), 0);
	assert_int_equal(s.claims, 2);
	assert_int_equal(s.queued, 6);
	assert_int_equal(store_comp_done(c2, &b, "b"), 0);
	assert_int_equal(store_comp_done(t->c, &a, "a"), 0);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_int_equal(s.exported, base + 6);
	assert_int_equal(s.queued, 0);
	store_close(st2);
}

#define COMP_THREADS   3
#define COMP_T_EVENTS  300
#define COMP_T_PERCALL 7

struct comp_worker {
	struct store *st; /* its own store on the shared file */
	char owner[16];   /* claim owner */
	atomic_int *seen; /* per event (index id - base): times exported */
	int64_t base;     /* first event id */
	int64_t exported; /* events this worker purged */
	int rc;           /* first failure */
};

static void *comp_worker_main(void *arg)
{
	struct comp_worker *w = arg;
	struct store_conn *c = store_direct(w->st);
	struct store_comp_claim cl;
	struct store_cevent *v;
	size_t n;
	int rc;

	while ((rc = store_comp_claim(c, w->owner, "", COMP_T_PERCALL, COMP_LEASE, &cl)) == 0) {
		if ((rc = store_comp_fetch(c, cl.lo, cl.hi, &v, &n)) != 0)
			break;
		for (size_t i = 0; i < n; i++) {
			int64_t k = v[i].id - w->base;

			if (k >= 0 && k < COMP_T_EVENTS)
				atomic_fetch_add(&w->seen[k], 1);
			store_cevent_free(&v[i]);
		}
		free(v);
		w->exported += (int64_t)n;
		if ((rc = store_comp_done(c, &cl, w->owner)) != 0)
			break;
	}
	w->rc = rc == STORE_ENOTFOUND ? 0 : rc;
	return NULL;
}

/* Adapters of several processes at once: every event exported exactly once. */
static void test_comp_threads(void **state)
{
	struct tctx *t = *state;
	struct comp_worker w[COMP_THREADS];
	pthread_t th[COMP_THREADS];
	static atomic_int seen[COMP_T_EVENTS];
	int64_t ids[COMP_T_EVENTS], total = 0, base = comp_drain(t);
	struct store_comp_status s;

	comp_add(t, COMP_T_EVENTS, ids);
	for (int i = 0; i < COMP_T_EVENTS; i++) {
		atomic_store(&seen[i], 0);
		assert_int_equal(ids[i], ids[0] + i);
	}
	for (int i = 0; i < COMP_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = open_store(t, NULL);
		assert_non_null(w[i].st);
		snprintf(w[i].owner, sizeof(w[i].owner), "w%d", i);
		w[i].seen = seen;
		w[i].base = ids[0];
	}
	for (int i = 0; i < COMP_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, comp_worker_main, &w[i]), 0);
	for (int i = 0; i < COMP_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, 0);
		total += w[i].exported;
		store_close(w[i].st);
	}
	assert_int_equal(total, COMP_T_EVENTS);
	for (int i = 0; i < COMP_T_EVENTS; i++)
		assert_int_equal(atomic_load(&seen[i]), 1);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_int_equal(s.queued, 0);
	assert_int_equal(s.exported, base + COMP_T_EVENTS);
}

static void test_comp_expired(void **state)
{
	struct tctx *t = *state;
	struct store_comp_claim a, b, c;
	int64_t ids[3];

	comp_drain(t);
	comp_add(t, 3, ids);
	assert_int_equal(store_comp_claim(t->c, "dies", "one-room=1", 2, 1, &a), 0);
	usleep(20000);
	/* the next claim resumes it unchanged, whatever its own params and size */
	assert_int_equal(store_comp_claim(t->c, "lives", "one-room=0", 100, COMP_LEASE, &b), 0);
	assert_true(b.resumed);
	assert_int_equal(b.lo, a.lo);
	assert_int_equal(b.hi, a.hi);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.params, "one-room=1");
	assert_string_equal(b.owner, "lives");
	/* the dead adapter no longer owns it */
	assert_int_equal(store_comp_renew(t->c, &a, COMP_LEASE), STORE_ENOTFOUND);
	assert_int_equal(store_comp_renew(t->c, &b, COMP_LEASE), 0);
	/* a live claim is not resumed: the rest is a new range */
	assert_int_equal(store_comp_claim(t->c, "other", "x", 100, COMP_LEASE, &c), 0);
	assert_false(c.resumed);
	assert_int_equal(c.lo, ids[2]);
	assert_int_equal(c.n, 1);
	comp_finish(t, &b);
	comp_finish(t, &c);
}

static void test_comp_failed(void **state)
{
	struct tctx *t = *state;
	struct store_comp_claim a, b;
	struct store_comp_status s;
	int64_t ids[2], base = comp_drain(t);

	comp_add(t, 2, ids);
	assert_int_equal(store_comp_claim(t->c, "ad", "old", 100, COMP_LEASE, &a), 0);
	assert_int_equal(store_comp_failed(t->c, &a, true, "disk full"), 0);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_string_equal(s.last_error, "disk full");
	assert_true(s.last_error_ms > 0);
	assert_int_equal(s.claims, 0);
	assert_int_equal(s.queued, 2);
	/* released: claimed again, with new params, not as a resumption */
	assert_int_equal(store_comp_claim(t->c, "ad", "new", 100, COMP_LEASE, &b), 0);
	assert_int_equal(b.lo, a.lo);
	assert_int_equal(b.hi, a.hi);
	assert_string_equal(b.params, "new");
	assert_false(b.resumed);
	/* kept: nobody else gets it while the lease runs */
	assert_int_equal(store_comp_failed(t->c, &b, false, "write failed"), 0);
	assert_int_equal(store_comp_claim(t->c, "ad2", "", 100, COMP_LEASE, &a), STORE_ENOTFOUND);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_int_equal(s.claims, 1);
	assert_string_equal(s.last_error, "write failed");
	/* an error outside any claim */
	assert_int_equal(store_comp_failed(t->c, NULL, false, "no output directory"), 0);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_string_equal(s.last_error, "no output directory");
	/* success clears it */
	assert_int_equal(store_comp_done(t->c, &b, "f.xml"), 0);
	assert_int_equal(store_comp_status(t->c, &s), 0);
	assert_string_equal(s.last_error, "");
	assert_int_equal(s.last_error_ms, 0);
	assert_int_equal(s.exported, base + 2);
	assert_int_equal(s.claims, 0);
}

/* A crash between the compliance commit and the outbox delete. */
static void test_comp_move_crash(void **state)
{
	struct tctx *t = *state;
	struct store_comp_claim cl;
	struct store_cevent *v;
	int64_t ids[3], n, later;
	size_t nv;

	comp_drain(t);
	comp_add(t, 3, ids);
	setenv("PCHAT_TEST_COMP_MOVE_STOP", "1", 1);
	assert_int_equal(store_comp_move(t->c, 100, &n), 0);
	assert_int_equal(n, comp_has_outbox(t) ? 3 : 0); /* no outbox: nothing to move */
	assert_int_equal(comp_queued(t), 3); /* not 6: rows below the mark are not counted */
	if (t->dir[0])
		assert_int_equal(raw_count(t, "chat.db", "SELECT count(*) FROM compliance_outbox"),
		                 3);
	/* exported and purged while the stale outbox rows are still there */
	assert_int_equal(store_comp_claim(t->c, "ad", "", 100, COMP_LEASE, &cl), 0);
	assert_int_equal(cl.n, 3);
	assert_int_equal(store_comp_done(t->c, &cl, "f"), 0);
	unsetenv("PCHAT_TEST_COMP_MOVE_STOP");
	assert_int_equal(comp_queued(t), 0);
	/* the next move deletes them and inserts nothing */
	assert_int_equal(store_comp_move(t->c, 100, &n), 0);
	assert_int_equal(n, 0);
	if (t->dir[0]) {
		assert_int_equal(raw_count(t, "chat.db", "SELECT count(*) FROM compliance_outbox"),
		                 0);
		assert_int_equal(raw_count(t, "chat-compliance.db", "SELECT count(*) FROM events"),
		                 0);
	}
	assert_int_equal(store_comp_claim(t->c, "ad", "", 100, COMP_LEASE, &cl), STORE_ENOTFOUND);
	comp_add(t, 1, &later);
	assert_true(later > ids[2]);
	assert_int_equal(store_comp_claim(t->c, "ad", "", 100, COMP_LEASE, &cl), 0);
	assert_int_equal(store_comp_fetch(t->c, cl.lo, cl.hi, &v, &nv), 0);
	assert_int_equal(nv, 1);
	assert_int_equal(v[0].id, later);
	store_cevent_free(&v[0]);
	free(v);
	comp_finish(t, &cl);
}

/* The single event in the queue (claimed, fetched, purged). */
static void comp_take_one(struct tctx *t, struct store_cevent *out)
{
	struct store_comp_claim cl;
	struct store_cevent *v;
	size_t nv;

	assert_int_equal(store_comp_claim(t->c, "ad", "", 100, COMP_LEASE, &cl), 0);
	assert_int_equal(store_comp_fetch(t->c, cl.lo, cl.hi, &v, &nv), 0);
	assert_int_equal(nv, 1);
	*out = v[0];
	free(v);
	assert_int_equal(store_comp_done(t->c, &cl, "f"), 0);
}

static void test_comp_admin_change(void **state)
{
	struct tctx *t = *state;
	struct store_admin_change ch = {.kind = "room",
	                                .action = "set",
	                                .actor = "admin",
	                                .actor_id = 3,
	                                .address = "pchatctl",
	                                .detail = "{\"topic\":\"new\"}"};
	struct store_cevent e;
	char want[128];
	int64_t room = add_room(t, nm(t, "adm")), last0, last;
	bool on = true;

	comp_drain(t);
	ch.name = nm(t, "adm");
	assert_int_equal(store_comp_enabled(t->c, &on), 0);
	assert_false(on); /* absent = off */
	assert_int_equal(store_change_last(t->c, &last0), 0);
	assert_int_equal(store_admin_change(t->c, &ch), 0);
	assert_int_equal(store_change_last(t->c, &last), 0);
	assert_true(last > last0);
	assert_int_equal(comp_queued(t), 0); /* capture off: the change row only */

	assert_int_equal(store_comp_set_enabled(t->c, true), 0);
	assert_int_equal(store_comp_enabled(t->c, &on), 0);
	assert_true(on);
	assert_int_equal(store_begin(t->c), 0);
	assert_int_equal(store_admin_change(t->c, &ch), 0);
	assert_int_equal(store_rollback(t->c), 0);
	assert_int_equal(comp_queued(t), 0); /* in the caller's transaction */
	assert_int_equal(store_begin(t->c), 0);
	assert_int_equal(store_admin_change(t->c, &ch), 0);
	assert_int_equal(store_commit(t->c), 0);
	comp_take_one(t, &e);
	snprintf(want, sizeof(want), "set room %s", nm(t, "adm"));
	assert_string_equal(e.type, "ADMIN");
	assert_string_equal(e.content, want);
	assert_string_equal(e.detail, "{\"topic\":\"new\"}");
	assert_string_equal(e.actor, "admin");
	assert_int_equal(e.actor_id, 3);
	assert_string_equal(e.address, "pchatctl");
	assert_int_equal(e.room_id, room);
	assert_string_equal(e.room, nm(t, "adm"));
	assert_string_equal(e.category, "general");
	store_cevent_free(&e);

	/* a removed room: the name, no id */
	assert_int_equal(store_room_remove(t->c, nm(t, "adm")), 0);
	ch.action = "remove";
	ch.detail = NULL;
	assert_int_equal(store_admin_change(t->c, &ch), 0);
	comp_take_one(t, &e);
	assert_int_equal(e.room_id, 0);
	assert_string_equal(e.room, nm(t, "adm"));
	assert_null(e.detail);
	store_cevent_free(&e);

	/* another kind: no room */
	ch.kind = "category";
	ch.name = "general";
	ch.action = "set";
	assert_int_equal(store_admin_change(t->c, &ch), 0);
	comp_take_one(t, &e);
	assert_string_equal(e.content, "set category general");
	assert_string_equal(e.room, "");
	store_cevent_free(&e);

	ch.action = "";
	assert_int_equal(store_admin_change(t->c, &ch), STORE_EINVAL);
	ch.action = "set";
	ch.name = "";
	assert_int_equal(store_admin_change(t->c, &ch), STORE_EINVAL);
	assert_int_equal(store_comp_set_enabled(t->c, false), 0);
	assert_int_equal(store_comp_enabled(t->c, &on), 0);
	assert_false(on);
}

static int move_in_job(struct store_conn *c, void *arg)
{
	int64_t n;

	*(int *)arg = store_comp_move(c, 10, &n);
	return 0;
}

static void test_comp_move_refused(void **state)
{
	struct tctx *t = *state;
	int64_t n = -1;
	int rc = 0;

	comp_drain(t);
	comp_add(t, 1, NULL);
	assert_int_equal(store_begin(t->c), 0);
	assert_int_equal(store_comp_move(t->c, 10, &n), STORE_EINVAL);
	assert_int_equal(store_commit(t->c), 0);
	store_submit_write(t->st, move_in_job, NULL, &rc);
	assert_int_equal(rc, STORE_EINVAL);
	assert_int_equal(store_comp_move(t->c, 0, &n), STORE_EINVAL);
	assert_int_equal(store_comp_move(t->c, 10, &n), 0);
	assert_int_equal(n, comp_has_outbox(t) ? 1 : 0);
}

static int shipped_in_job(struct store_conn *c, void *arg)
{
	struct store_comp_ship sh = {0};

	*(int *)arg = store_comp_shipped(c, true, &sh);
	return 0;
}

/*
 * Log shipping of a claim: nothing to wait for where nothing is archived
 * (SQLite; the contract's PostgreSQL cluster runs without archive_mode),
 * so the first call says shipped. Refused inside a job, and on PostgreSQL
 * inside store_begin (it reads what others committed). The wait itself is
 * tests/integration/test_compliance_ship.py (a cluster that archives).
 */
static void test_comp_shipped(void **state)
{
	struct tctx *t = *state;
	struct store_comp_ship sh;
	struct store_comp_claim cl;
	int rc = 0;

	comp_drain(t);
	comp_add(t, 2, NULL);
	assert_int_equal(store_comp_claim(t->c, "shipper", "", 10, COMP_LEASE, &cl), 0);
	memset(&sh, 0, sizeof(sh));
	assert_int_equal(store_comp_shipped(t->c, true, &sh), 0);
	assert_true(sh.shipped);
	assert_false(sh.archiving);
	assert_string_equal(sh.segment, "");
	memset(&sh, 'x', sizeof(sh.segment)); /* not a string */
	assert_int_equal(store_comp_shipped(t->c, false, &sh), STORE_EINVAL);
	if (!comp_has_outbox(t)) {
		memset(&sh, 0, sizeof(sh));
		assert_int_equal(store_begin(t->c), 0);
		assert_int_equal(store_comp_shipped(t->c, false, &sh), STORE_EINVAL);
		assert_int_equal(store_commit(t->c), 0);
	}
	store_submit_write(t->st, shipped_in_job, NULL, &rc);
	assert_int_equal(rc, STORE_EINVAL);
	comp_finish(t, &cl);
}

struct cjob {
	int n_done; /* completions */
	int rc;     /* the last one's */
};

static int cevent_job(struct store_conn *c, void *arg)
{
	struct store_cevent e;

	(void)arg;
	fill_cevent(&e, "CHAT", "alice", "from a job");
	return store_cevent_add(c, &e);
}

static void cevent_done(int rc, void *arg)
{
	struct cjob *j = arg;

	j->rc = rc;
	j->n_done++;
}

/* The writer thread moves the outbox between batches. */
static int noop_job(struct store_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	return 0;
}

static void test_comp_writer_moves(void **state)
{
	struct tctx *t = *state;
	struct cjob j = {0};
	int64_t deadline = time_mono_ms() + 30000;

	comp_drain(t);
	for (int i = 0; i < 20; i++)
		store_submit_write_atomic(t->st, cevent_job, cevent_done, &j);
	while (j.n_done < 20 && time_mono_ms() < deadline)
		event_base_loop(t->base, EVLOOP_ONCE);
	assert_int_equal(j.n_done, 20);
	assert_int_equal(j.rc, 0);
	assert_int_equal(comp_queued(t), 20);
	if (!t->dir[0])
		return;
	/*
	 * The writer moves between batches and skips a step while another
	 * connection holds the compliance file (here: the status read above
	 * may have created it); an empty batch gives it the next chance.
	 */
	while (raw_count(t, "chat.db", "SELECT count(*) FROM compliance_outbox") != 0 &&
	       time_mono_ms() < deadline) {
		store_submit_write_atomic(t->st, noop_job, NULL, NULL);
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	assert_int_equal(raw_count(t, "chat.db", "SELECT count(*) FROM compliance_outbox"), 0);
	assert_int_equal(raw_count(t, "chat-compliance.db", "SELECT count(*) FROM events"), 20);
	assert_int_equal(comp_queued(t), 20);
}

/* --- pool (store.h "pool") ------------------------------------------------ */

/* The current control row's generation (the database may be shared). */
static int64_t pool_gen(struct tctx *t)
{
	struct store_pool_state p;
	int64_t g;

	assert_int_equal(store_pool_get(t->c, &p), 0);
	assert_non_null(p.active);
	g = p.generation;
	store_pool_state_free(&p);
	return g;
}

static void pool_fill(struct store_pool_state *p, int64_t gen, const char *state,
                      const char *active)
{
	memset(p, 0, sizeof(*p));
	p->generation = gen;
	str_copy(p->state, state, sizeof(p->state));
	p->active = (char *)active;
	p->changed_ms = 1700000000000 + gen;
	str_copy(p->changed_by, "operator", sizeof(p->changed_by));
}

static void test_pool_row(void **state)
{
	struct tctx *t = *state;
	struct store_pool_state p, got;
	int64_t g = pool_gen(t);

	/* a new database: generation 0, normal, no list */
	if (t->dir[0]) {
		assert_int_equal(store_pool_get(t->c, &got), 0);
		assert_int_equal(got.generation, 0);
		assert_string_equal(got.state, "normal");
		assert_string_equal(got.active, "");
		assert_false(got.fenced);
		store_pool_state_free(&got);
	}
	pool_fill(&p, g + 1, "normal", "a1,b1");
	assert_int_equal(store_pool_set(t->c, &p), 0);
	assert_int_equal(store_pool_get(t->c, &got), 0);
	assert_int_equal(got.generation, g + 1);
	assert_string_equal(got.state, "normal");
	assert_string_equal(got.active, "a1,b1");
	assert_int_equal(got.changed_ms, 1700000000000 + g + 1);
	assert_string_equal(got.changed_by, "operator");
	store_pool_state_free(&got);
	assert_null(got.active);

	/* compare-and-set: the same or a lower generation loses */
	pool_fill(&p, g + 1, "failed-over", "x");
	assert_int_equal(store_pool_set(t->c, &p), STORE_EBUSY);
	assert_int_equal(store_pool_get(t->c, &got), 0);
	assert_int_equal(got.generation, g + 1);
	assert_string_equal(got.active, "a1,b1");
	store_pool_state_free(&got);

	pool_fill(&p, g + 3, "failed-over", "");
	p.fenced = true;
	p.fenced_generation = g + 3;
	assert_int_equal(store_pool_set(t->c, &p), 0);
	assert_int_equal(store_pool_get(t->c, &got), 0);
	assert_int_equal(got.generation, g + 3);
	assert_string_equal(got.state, "failed-over");
	assert_string_equal(got.active, "");
	assert_true(got.fenced);
	assert_int_equal(got.fenced_generation, g + 3);
	store_pool_state_free(&got);
	pool_fill(&p, g + 2, "normal", "x"); /* a lower generation loses too */
	assert_int_equal(store_pool_set(t->c, &p), STORE_EBUSY);
	assert_int_equal(pool_gen(t), g + 3);

	/* the fence: nothing to fence for a generation the database has */
	assert_int_equal(store_pool_fence(t->c, g + 3, "pchatctl"), STORE_EBUSY);
	assert_int_equal(store_pool_fence(t->c, 0, "pchatctl"), STORE_EINVAL);
	assert_int_equal(store_pool_fence(t->c, g + 4, "a\r"), STORE_EINVAL);
	if (t->dir[0]) { /* SQLite; PostgreSQL's (read-only database) in test_store_pg.c */
		assert_int_equal(store_pool_fence(t->c, g + 5, "pchatd b1"), 0);
		assert_int_equal(store_pool_get(t->c, &got), 0);
		assert_int_equal(got.generation, g + 3);
		assert_true(got.fenced);
		assert_int_equal(got.fenced_generation, g + 5);
		assert_string_equal(got.changed_by, "pchatd b1");
		store_pool_state_free(&got);
	}
}

static void test_pool_invalid(void **state)
{
	struct tctx *t = *state;
	struct store_pool_state p;
	int64_t g = pool_gen(t);

	pool_fill(&p, g + 1, "sideways", "a1");
	assert_int_equal(store_pool_set(t->c, &p), STORE_EINVAL);
	pool_fill(&p, 0, "normal", "a1");
	assert_int_equal(store_pool_set(t->c, &p), STORE_EINVAL);
	pool_fill(&p, g + 1, "normal", NULL);
	assert_int_equal(store_pool_set(t->c, &p), STORE_EINVAL);
	pool_fill(&p, g + 1, "normal", "a1, b1");
	assert_int_equal(store_pool_set(t->c, &p), STORE_EINVAL);
	pool_fill(&p, g + 1, "normal", "a1");
	p.fenced = true; /* fenced without the generation that fenced it */
	assert_int_equal(store_pool_set(t->c, &p), STORE_EINVAL);
	assert_int_equal(pool_gen(t), g);
}

static void test_pool_transaction(void **state)
{
	struct tctx *t = *state;
	struct store_pool_state p;
	int64_t g = pool_gen(t);

	pool_fill(&p, g + 1, "normal", "a1");
	assert_int_equal(store_begin(t->c), 0);
	assert_int_equal(store_pool_set(t->c, &p), 0);
	assert_int_equal(store_rollback(t->c), 0);
	assert_int_equal(pool_gen(t), g);
	assert_int_equal(store_begin(t->c), 0);
	assert_int_equal(store_pool_set(t->c, &p), 0);
	assert_int_equal(store_commit(t->c), 0);
	assert_int_equal(pool_gen(t), g + 1);
}

/* The rows of this test's servers (name starts with the prefix), in list order. */
static size_t my_servers(struct tctx *t, struct store_server *mine, size_t max)
{
	struct store_server *all = NULL;
	size_t n = 0, k = 0;

	assert_int_equal(store_server_list(t->c, &all, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strncasecmp(all[i].name, t->prefix, strlen(t->prefix)) == 0 && k < max)
			mine[k++] = all[i];
	free(all);
	return k;
}

static void beat(struct tctx *t, const char *name, int clients, bool active, int64_t seen)
{
	struct store_server s = {0};

	str_copy(s.name, name, sizeof(s.name));
	s.started_ms = 1000;
	s.seen_ms = seen;
	s.clients = clients;
	s.active = active;
	s.generation = 5;
	str_copy(s.database, "primary", sizeof(s.database));
	assert_int_equal(store_server_beat(t->c, &s), 0);
}

static void test_pool_servers(void **state)
{
	struct tctx *t = *state;
	struct store_server v[4], bad = {0};
	int64_t before = time_now_ms();
	char upper[STORE_NAME_MAX];

	beat(t, nm(t, "b1"), 2, false, 0);
	beat(t, nm(t, "a1"), 3, true, 0);
	assert_int_equal(my_servers(t, v, 4), 2);
	assert_string_equal(v[0].name, nm(t, "a1"));
	assert_string_equal(v[1].name, nm(t, "b1"));
	assert_int_equal(v[0].clients, 3);
	assert_true(v[0].active);
	assert_false(v[1].active);
	assert_int_equal(v[0].generation, 5);
	assert_int_equal(v[0].started_ms, 1000);
	assert_string_equal(v[0].database, "primary");
	assert_true(v[0].seen_ms >= before); /* the store stamps the heartbeat */

	/* the same server (names compare case-insensitively): one row, updated */
	str_copy(upper, nm(t, "a1"), sizeof(upper));
	for (char *c = upper; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	beat(t, upper, 9, false, 42);
	assert_int_equal(my_servers(t, v, 4), 2);
	assert_int_equal(v[0].clients, 9);
	assert_false(v[0].active);
	assert_int_equal(v[0].seen_ms, 42);

	assert_int_equal(store_server_forget(t->c, nm(t, "b1")), 0);
	assert_int_equal(store_server_forget(t->c, nm(t, "b1")), STORE_ENOTFOUND);
	assert_int_equal(my_servers(t, v, 4), 1);
	assert_int_equal(store_server_forget(t->c, ""), STORE_EINVAL);

	str_copy(bad.name, "a b", sizeof(bad.name));
	assert_int_equal(store_server_beat(t->c, &bad), STORE_EINVAL);
	str_copy(bad.name, nm(t, "c1"), sizeof(bad.name));
	bad.clients = -1;
	assert_int_equal(store_server_beat(t->c, &bad), STORE_EINVAL);
	assert_int_equal(my_servers(t, v, 4), 1);
	assert_int_equal(store_server_forget(t->c, upper), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_account_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_account_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_categories, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_category_remove_in_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_room_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_room_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msg_room, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msg_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msg_private, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_room_remove_drops_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test_setup_teardown(test_sync_submit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_async_order, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_store_stats, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_async_failure_isolated, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_async_reads_concurrent, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_async_read_only, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_async_close_finishes, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_addins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_category_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_room_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_follows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invites, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_markers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changes_trimmed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_windows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_foreign_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_private_and_redacted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_case_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_room_clear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jobs_rooms, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_add_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_split, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_second_conn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_threads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_expired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_failed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_move_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_admin_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_move_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_shipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comp_writer_moves, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_servers, setup, teardown),
	};
	const char *env = getenv("PCHAT_TEST_STORE_URL");
	int failed;

	evthread_use_pthreads();
	failed = cmocka_run_group_tests_name("store contract (fresh database)", tests, NULL, NULL);
	if (env && *env)
		return failed;
	g_from_v1 = true;
	failed += cmocka_run_group_tests_name("store contract (migrated from version 1)", tests,
	                                      NULL, NULL);
	return failed;
}
