/*
 * test_store_bus.c — the pool bus (store.h "pool bus"): notifications are
 * heard only when their transaction commits, byte for byte, in commit
 * order, by every listener; bad payloads and notifications outside a
 * transaction are refused; a listener whose session is killed comes back
 * by itself, says so once with cb(NULL), and hears again; SQLite has no
 * bus and says why.
 *
 * The PostgreSQL tests need PCHAT_TEST_STORE_URL=postgresql://... of a
 * superuser on a throw-away cluster (tests/pg/run_contract.sh BUILD
 * tests/contract/test_store_bus): they kill sessions and refuse
 * connections to the database for a moment. Without it they skip; the
 * SQLite test always runs on a temporary file. libpq is used directly
 * only to do what the store never does (kill the listener's session).
 */
#include "common/mailbox.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/vec.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS  10000 /* longest wait for something that must happen */
#define QUIET_MS 300   /* how long nothing more must arrive */

struct tctx {
	struct event_base *base; /* the loop */
	struct mailbox *mb;      /* store completions */
	struct store *st;        /* the store under test */
	char url[512];           /* its URL */
	char path[64];           /* SQLite: the temporary file, else "" */
	char dbname[64];         /* PostgreSQL: the database's name */
};

/* What a listener heard. */
struct heard {
	struct ptrvec got;            /* payload copies, in order */
	int n_null;                   /* cb(NULL) calls: reconnections */
	struct store_listener *owner; /* freed by the callback when free_on_first */
	bool free_on_first;           /* free owner inside the first callback */
};

/* A write job notifying payloads, then returning rc_after. */
struct notify_job {
	const char *payloads[4]; /* NULL-terminated */
	int rc_after;            /* the job's result when every notify worked */
	int rc;                  /* the completion's rc */
	bool done;               /* the completion ran */
};

/* --- helpers -------------------------------------------------------------- */

static void on_note(const char *payload, void *arg)
{
	struct heard *h = arg;

	if (!payload) {
		h->n_null++;
		return;
	}
	ptrvec_push(&h->got, xstrdup(payload));
	if (h->free_on_first && h->owner) {
		store_listener_free(h->owner);
		h->owner = NULL;
	}
}

static void heard_free(struct heard *h)
{
	for (size_t i = 0; i < h->got.n; i++)
		free(h->got.v[i]);
	ptrvec_free(&h->got);
}

/* Index of payload in h, or -1. */
static int heard_index(const struct heard *h, const char *payload)
{
	for (size_t i = 0; i < h->got.n; i++)
		if (strcmp(h->got.v[i], payload) == 0)
			return (int)i;
	return -1;
}

/* Run the loop for about ms milliseconds. */
static void spin(struct tctx *t, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	event_base_loopexit(t->base, &tv);
	event_base_dispatch(t->base);
}

/* Run the loop until *flag reaches want (or WAIT_MS); whether it did. */
static bool wait_int(struct tctx *t, const int *flag, int want)
{
	int64_t deadline = time_mono_ms() + WAIT_MS;

	while (*flag < want && time_mono_ms() < deadline)
		spin(t, 10);
	return *flag >= want;
}

/* Run the loop until h heard payload; whether it did. */
static bool wait_heard(struct tctx *t, const struct heard *h, const char *payload)
{
	int64_t deadline = time_mono_ms() + WAIT_MS;

	while (heard_index(h, payload) < 0 && time_mono_ms() < deadline)
		spin(t, 10);
	return heard_index(h, payload) >= 0;
}

static int notify_fn(struct store_conn *c, void *arg)
{
	struct notify_job *j = arg;
	int rc;

	for (int i = 0; j->payloads[i]; i++)
		if ((rc = store_notify(c, j->payloads[i])) != 0)
			return rc;
	return j->rc_after;
}

static void notify_done(int rc, void *arg)
{
	struct notify_job *j = arg;

	j->rc = rc;
	j->done = true;
}

/* Submit j as a write job (no wait). */
static void submit(struct tctx *t, struct notify_job *j)
{
	j->done = false;
	j->rc = -1;
	store_submit_write(t->st, notify_fn, notify_done, j);
}

/* Run the loop until j completed; its rc. */
static int finish(struct tctx *t, struct notify_job *j)
{
	int64_t deadline = time_mono_ms() + WAIT_MS;

	while (!j->done && time_mono_ms() < deadline)
		spin(t, 5);
	assert_true(j->done);
	return j->rc;
}

/* One write job notifying payload; its rc. */
static int notify_one(struct tctx *t, const char *payload)
{
	struct notify_job j = {.payloads = {payload, NULL}};

	submit(t, &j);
	return finish(t, &j);
}

/* One transaction on the direct connection notifying payload, committed. */
static void notify_direct(struct tctx *t, const char *payload)
{
	struct store_conn *c = store_direct(t->st);

	assert_int_equal(store_begin(c), 0);
	assert_int_equal(store_notify(c, payload), 0);
	assert_int_equal(store_commit(c), 0);
}

static struct store_listener *listen_on(struct tctx *t, struct store *st, struct heard *h)
{
	char err[256] = "";
	struct store_listener *l = store_listen(st, t->base, on_note, h, err, sizeof(err));

	if (!l)
		fail_msg("store_listen: %s", err);
	return l;
}

/* Run SQL on a raw session; it must succeed. Returns the first value as a number. */
static long long raw(PGconn *db, const char *sql)
{
	PGresult *r = PQexec(db, sql);
	long long v = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/*
 * A raw session on the cluster's "postgres" database (a database cannot
 * refuse connections to itself from a session of its own).
 */
static PGconn *raw_connect(const struct tctx *t)
{
	const char *keys[] = {"dbname", "dbname", NULL};
	const char *vals[] = {t->url, "postgres", NULL};
	PGconn *db = PQconnectdbParams(keys, vals, 1);

	assert_int_equal(PQstatus(db), CONNECTION_OK);
	return db;
}

/* End every listening session of the test's database; how many. */
static long long kill_listeners(const struct tctx *t, PGconn *db)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
	         " WHERE datname = '%s' AND query LIKE 'LISTEN%%'",
	         t->dbname);
	return raw(db, sql);
}

/* Let new sessions into the test's database, or refuse them. */
static void allow_connections(const struct tctx *t, PGconn *db, bool allow)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS %s", t->dbname,
	         allow ? "true" : "false");
	raw(db, sql);
}

/* --- setup ---------------------------------------------------------------- */

static struct store *open_url(const char *url, struct mailbox *mb)
{
	struct store_options opt = {.url = url, .create = true, .mb = mb, .n_readers = 1};
	char err[256] = "";
	struct store *st = store_open(&opt, err, sizeof(err));

	if (!st)
		fail_msg("store_open %s: %s", url, err);
	return st;
}

static struct tctx *ctx_new(void)
{
	struct tctx *t = xcalloc(1, sizeof(*t));

	t->base = event_base_new();
	t->mb = mailbox_new(t->base);
	return t;
}

static int setup_pg(void **state)
{
	const char *env = getenv("PCHAT_TEST_STORE_URL");
	static bool said;
	struct tctx *t;

	if (!env || strncmp(env, "postgres", 8) != 0) {
		if (!said)
			fprintf(stderr, "PCHAT_TEST_STORE_URL is not a postgresql:// URL: skipping "
			                "the PostgreSQL tests (run tests/pg/run_contract.sh BUILD "
			                "tests/contract/test_store_bus)\n");
		said = true;
		*state = NULL; /* each test skips (cmocka counts a skip in setup as an error) */
		return 0;
	}
	t = ctx_new();
	str_copy(t->url, env, sizeof(t->url));
	{
		PQconninfoOption *opts = PQconninfoParse(env, NULL);

		for (PQconninfoOption *o = opts; o && o->keyword; o++)
			if (strcmp(o->keyword, "dbname") == 0 && o->val)
				str_copy(t->dbname, o->val, sizeof(t->dbname));
		PQconninfoFree(opts);
		assert_true(t->dbname[0] != '\0');
	}
	t->st = open_url(t->url, t->mb);
	*state = t;
	return 0;
}

static int setup_sqlite(void **state)
{
	struct tctx *t = ctx_new();

	snprintf(t->path, sizeof(t->path), "/tmp/pchat-test-bus-%d.db", (int)getpid());
	snprintf(t->url, sizeof(t->url), "sqlite:%s", t->path);
	t->st = open_url(t->url, t->mb);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tctx *t = *state;
	char p[96];

	if (!t)
		return 0;
	store_close(t->st);
	mailbox_free(t->mb); /* runs the completions still queued */
	event_base_free(t->base);
	if (t->path[0]) {
		unlink(t->path);
		snprintf(p, sizeof(p), "%s-wal", t->path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", t->path);
		unlink(p);
	}
	free(t);
	return 0;
}

/* --- PostgreSQL ----------------------------------------------------------- */

/* The test's context, or skip the test when there is no PostgreSQL. */
static struct tctx *need_pg(void **state)
{
	if (!*state)
		skip();
	return *state;
}

/* 7900 bytes of UTF-8 (2- and 3-byte characters), starting with tag. */
static char *big_payload(const char *tag)
{
	char *p = xmalloc(STORE_NOTIFY_MAX + 1);
	size_t used = 0;

	str_appendf(p, STORE_NOTIFY_MAX + 1, &used, "%s", tag);
	while (used + 5 <= STORE_NOTIFY_MAX)
		str_appendf(p, STORE_NOTIFY_MAX + 1, &used, "é✓");
	while (used < STORE_NOTIFY_MAX)
		str_appendf(p, STORE_NOTIFY_MAX + 1, &used, "x");
	assert_int_equal(strlen(p), STORE_NOTIFY_MAX);
	return p;
}

static void test_committed_heard(void **state)
{
	struct tctx *t = need_pg(state);
	struct heard h = {0};
	struct store_listener *l = listen_on(t, t->st, &h);
	char *big = big_payload("big:");
	struct notify_job j = {.payloads = {"c-plain", "c-ünïcødé ✓ 日本語", big, NULL}};

	submit(t, &j);
	assert_int_equal(finish(t, &j), 0);
	assert_true(wait_heard(t, &h, big));
	assert_int_equal(h.got.n, 3);
	assert_string_equal(h.got.v[0], "c-plain");
	assert_string_equal(h.got.v[1], "c-ünïcødé ✓ 日本語");
	assert_memory_equal(h.got.v[2], big, STORE_NOTIFY_MAX + 1);
	/* an empty payload is a payload too */
	assert_int_equal(notify_one(t, ""), 0);
	assert_true(wait_heard(t, &h, ""));
	assert_int_equal(h.n_null, 0);
	store_listener_free(l);
	heard_free(&h);
	free(big);
}

static void test_rolled_back_never_heard(void **state)
{
	struct tctx *t = need_pg(state);
	struct heard h = {0};
	struct store_listener *l = listen_on(t, t->st, &h);
	struct store_conn *c = store_direct(t->st);
	/* the failing job shares the batch of the good ones: its savepoint is rolled back */
	struct notify_job bad = {.payloads = {"rb-job", NULL}, .rc_after = STORE_EEXIST};
	struct notify_job good = {.payloads = {"rb-good", NULL}};
	struct notify_job after = {.payloads = {"rb-after", NULL}};

	submit(t, &good);
	submit(t, &bad);
	submit(t, &after);
	assert_int_equal(finish(t, &good), 0);
	assert_int_equal(finish(t, &bad), STORE_EEXIST);
	assert_int_equal(finish(t, &after), 0);
	assert_int_equal(store_begin(c), 0);
	assert_int_equal(store_notify(c, "rb-direct"), 0);
	assert_int_equal(store_rollback(c), 0);
	notify_direct(t, "rb-marker");
	assert_true(wait_heard(t, &h, "rb-marker"));
	spin(t, QUIET_MS);
	assert_int_equal(heard_index(&h, "rb-job"), -1);
	assert_int_equal(heard_index(&h, "rb-direct"), -1);
	assert_int_equal(h.got.n, 3);
	assert_string_equal(h.got.v[0], "rb-good");
	assert_string_equal(h.got.v[1], "rb-after");
	assert_string_equal(h.got.v[2], "rb-marker");
	store_listener_free(l);
	heard_free(&h);
}

static void test_commit_order(void **state)
{
	struct tctx *t = need_pg(state);
	struct heard h = {0};
	struct store_listener *l = listen_on(t, t->st, &h);
	struct store_conn *c = store_direct(t->st);
	char p[32];

	/* notified first, committed last: heard last */
	assert_int_equal(store_begin(c), 0);
	assert_int_equal(store_notify(c, "o-notified-first"), 0);
	assert_int_equal(notify_one(t, "o-committed-first"), 0);
	assert_int_equal(store_commit(c), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "o-%02d", i);
		if (i % 2)
			notify_direct(t, p);
		else
			assert_int_equal(notify_one(t, p), 0);
	}
	assert_true(wait_heard(t, &h, "o-19"));
	spin(t, QUIET_MS);
	assert_int_equal(h.got.n, 22);
	assert_string_equal(h.got.v[0], "o-committed-first");
	assert_string_equal(h.got.v[1], "o-notified-first");
	for (int i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "o-%02d", i);
		assert_string_equal(h.got.v[i + 2], p);
	}
	store_listener_free(l);
	heard_free(&h);
}

static void test_two_listeners(void **state)
{
	struct tctx *t = need_pg(state);
	struct heard h1 = {0}, h2 = {0};
	/* a second "server": its own store (sync-only) on the same database */
	struct store *other = open_url(t->url, NULL);
	struct store_listener *l1 = listen_on(t, t->st, &h1);
	struct store_listener *l2 = listen_on(t, other, &h2);

	assert_int_equal(notify_one(t, "two-a"), 0);
	assert_int_equal(store_begin(store_direct(other)), 0);
	assert_int_equal(store_notify(store_direct(other), "two-b"), 0);
	assert_int_equal(store_commit(store_direct(other)), 0);
	assert_true(wait_heard(t, &h1, "two-b"));
	assert_true(wait_heard(t, &h2, "two-b"));
	assert_int_equal(h1.got.n, 2);
	assert_int_equal(h2.got.n, 2);
	assert_string_equal(h1.got.v[0], "two-a");
	assert_string_equal(h2.got.v[0], "two-a");
	store_listener_free(l1);
	store_listener_free(l2);
	store_close(other);
	heard_free(&h1);
	heard_free(&h2);
}

static void test_invalid_payloads(void **state)
{
	struct tctx *t = need_pg(state);
	struct store_conn *c = store_direct(t->st);
	struct heard h = {0};
	struct store_listener *l = listen_on(t, t->st, &h);
	char *big = big_payload("inv:");
	char *over = xmalloc(STORE_NOTIFY_LARGE_MAX + 2);

	memset(over, 'a', STORE_NOTIFY_LARGE_MAX + 1);
	over[STORE_NOTIFY_LARGE_MAX + 1] = '\0';
	/* outside a transaction: it would be sent at once */
	assert_int_equal(store_notify(c, "inv-outside"), STORE_EINVAL);
	assert_int_equal(store_begin(c), 0);
	assert_int_equal(store_notify(c, NULL), STORE_EINVAL);
	assert_int_equal(store_notify(c, over), STORE_EINVAL);
	assert_int_equal(store_notify(c, "inv-\xff\xfe"), STORE_EINVAL);
	assert_int_equal(store_notify(c, "inv-\xc3"), STORE_EINVAL); /* cut sequence */
	assert_int_equal(store_notify(NULL, "inv-x"), STORE_EINVAL);
	/* the refusals left the transaction usable */
	assert_int_equal(store_notify(c, big), 0);
	assert_int_equal(store_commit(c), 0);
	/* the same refusals inside a job */
	{
		struct notify_job j = {.payloads = {"inv-job", over, NULL}};

		submit(t, &j);
		assert_int_equal(finish(t, &j), STORE_EINVAL);
	}
	notify_direct(t, "inv-marker");
	assert_true(wait_heard(t, &h, "inv-marker"));
	spin(t, QUIET_MS);
	assert_int_equal(h.got.n, 2);
	assert_string_equal(h.got.v[0], big);
	assert_int_equal(heard_index(&h, "inv-outside"), -1);
	assert_int_equal(heard_index(&h, "inv-job"), -1);
	store_listener_free(l);
	heard_free(&h);
	free(big);
	free(over);
}

/* A payload over what NOTIFY carries: a reference at commit, read back whole. */
static void test_large_payload_by_reference(void **state)
{
	struct tctx *t = need_pg(state);
	struct store_conn *c = store_direct(t->st);
	struct heard h = {0};
	struct store_listener *l = listen_on(t, t->st, &h);
	size_t len = 300000, used = 0;
	char *large = xmalloc(len + 1), *back = NULL;
	struct notify_job rb = {.payloads = {NULL, NULL}, .rc_after = STORE_EINVAL};

	large[0] = '\0';
	while (used + 5 <= len) /* multi-byte UTF-8 throughout */
		str_appendf(large, len + 1, &used, "ü✓");
	/* rolled back: no reference, and nothing kept */
	rb.payloads[0] = large;
	submit(t, &rb);
	assert_int_equal(finish(t, &rb), STORE_EINVAL);
	notify_one(t, "lp-before");
	notify_one(t, large);
	notify_one(t, "lp-after");
	assert_true(wait_heard(t, &h, "lp-after"));
	assert_int_equal(h.got.n, 3); /* in commit order */
	assert_string_equal(h.got.v[0], "lp-before");
	assert_true(store_notify_is_ref(h.got.v[1]));
	assert_false(store_notify_is_ref(h.got.v[0]));
	assert_true(strlen(h.got.v[1]) < 32);
	assert_int_equal(store_notify_fetch(c, h.got.v[1], &back), 0);
	assert_non_null(back);
	assert_string_equal(back, large);
	free(back);
	/* what cannot be a reference, or is none */
	assert_int_equal(store_notify_fetch(c, "@999999999", &back), STORE_ENOTFOUND);
	assert_null(back);
	assert_int_equal(store_notify_fetch(c, "@", &back), STORE_EINVAL);
	assert_int_equal(store_notify_fetch(c, "@12x", &back), STORE_EINVAL);
	assert_int_equal(store_notify_fetch(c, "12", &back), STORE_EINVAL);
	assert_int_equal(store_notify_fetch(c, "@-3", &back), STORE_EINVAL);
	store_listener_free(l);
	heard_free(&h);
	free(large);
}

static void test_killed_session_comes_back(void **state)
{
	struct tctx *t = need_pg(state);
	struct heard h = {0};
	struct store_listener *l = listen_on(t, t->st, &h);
	PGconn *db = raw_connect(t);

	assert_int_equal(notify_one(t, "k-before"), 0);
	assert_true(wait_heard(t, &h, "k-before"));
	assert_int_equal(kill_listeners(t, db), 1);
	assert_true(wait_int(t, &h.n_null, 1));
	/* LISTEN is in effect again when cb(NULL) comes */
	assert_int_equal(notify_one(t, "k-after"), 0);
	assert_true(wait_heard(t, &h, "k-after"));
	/* a second outage is reported once more, and only once */
	assert_int_equal(kill_listeners(t, db), 1);
	assert_true(wait_int(t, &h.n_null, 2));
	assert_int_equal(notify_one(t, "k-after-2"), 0);
	assert_true(wait_heard(t, &h, "k-after-2"));
	spin(t, QUIET_MS);
	assert_int_equal(h.n_null, 2);
	assert_int_equal(h.got.n, 3);
	store_listener_free(l);
	PQfinish(db);
	heard_free(&h);
}

/* Reconnect attempts fail for a while (backoff), then succeed: one cb(NULL). */
static void test_outage_with_failed_attempts(void **state)
{
	struct tctx *t = need_pg(state);
	struct heard h = {0};
	struct store_listener *l = listen_on(t, t->st, &h);
	PGconn *db = raw_connect(t);
	int64_t t0;

	allow_connections(t, db, false);
	assert_int_equal(kill_listeners(t, db), 1);
	t0 = time_mono_ms();
	/* attempts at ~100, 300, 700, 1500 ms all fail; the loop never blocks meanwhile */
	while (time_mono_ms() - t0 < 1800) {
		int64_t before = time_mono_ms();

		spin(t, 20);
		assert_true(time_mono_ms() - before < 500);
	}
	assert_int_equal(h.n_null, 0);
	/* committed during the outage: lost (the caller resynchronises on cb(NULL)) */
	notify_direct(t, "out-during");
	allow_connections(t, db, true);
	assert_true(wait_int(t, &h.n_null, 1));
	assert_int_equal(notify_one(t, "out-after"), 0);
	assert_true(wait_heard(t, &h, "out-after"));
	spin(t, QUIET_MS);
	assert_int_equal(h.n_null, 1);
	assert_int_equal(heard_index(&h, "out-during"), -1);
	store_listener_free(l);
	PQfinish(db);
	heard_free(&h);
}

/* Freeing a listener inside its callback, or while it waits to reconnect. */
static void test_free_anytime(void **state)
{
	struct tctx *t = need_pg(state);
	struct heard h = {.free_on_first = true}, h2 = {0};
	struct store_listener *l2 = listen_on(t, t->st, &h2);
	struct notify_job j = {.payloads = {"f-1", "f-2", "f-3", NULL}};
	PGconn *db = raw_connect(t);

	h.owner = listen_on(t, t->st, &h);
	submit(t, &j);
	assert_int_equal(finish(t, &j), 0);
	assert_true(wait_heard(t, &h2, "f-3"));
	spin(t, QUIET_MS);
	assert_null(h.owner);
	assert_int_equal(h.got.n, 1); /* nothing after it was freed */
	/* l2 loses its session and is freed before it reconnects */
	assert_int_equal(kill_listeners(t, db), 1);
	spin(t, 50);
	store_listener_free(l2);
	spin(t, QUIET_MS); /* a timer or socket event of l2 would crash here (ASan) */
	assert_int_equal(h2.n_null, 0);
	PQfinish(db);
	heard_free(&h);
	heard_free(&h2);
}

/* The first connection failing: NULL and a message naming the database, no password. */
static void test_listen_first_connect_fails(void **state)
{
	struct tctx *t = need_pg(state);
	struct heard h = {0};
	PGconn *db = raw_connect(t);
	char err[256] = "";

	allow_connections(t, db, false);
	assert_null(store_listen(t->st, t->base, on_note, &h, err, sizeof(err)));
	allow_connections(t, db, true);
	assert_non_null(strstr(err, "notifications: cannot listen on 127.0.0.1:"));
	PQfinish(db);
}

/* --- SQLite --------------------------------------------------------------- */

static void test_sqlite_has_no_bus(void **state)
{
	struct tctx *t = *state;
	struct heard h = {0};
	char err[256] = "";
	char *over = xmalloc(STORE_NOTIFY_LARGE_MAX + 2);
	struct notify_job j = {.payloads = {"s-1", NULL}};

	assert_null(store_listen(t->st, t->base, on_note, &h, err, sizeof(err)));
	assert_string_equal(err,
	                    "notifications need PostgreSQL (a pool); SQLite serves one server");
	submit(t, &j);
	assert_int_equal(finish(t, &j), 0);
	/* the payload is still checked: a caller's bug shows on SQLite too */
	memset(over, 'a', STORE_NOTIFY_LARGE_MAX + 1);
	over[STORE_NOTIFY_LARGE_MAX + 1] = '\0';
	assert_int_equal(store_notify(store_direct(t->st), over), STORE_EINVAL);
	assert_int_equal(store_notify(store_direct(t->st), NULL), STORE_EINVAL);
	assert_int_equal(store_notify(store_direct(t->st), "\xff"), STORE_EINVAL);
	store_listener_free(NULL);
	free(over);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sqlite_has_no_bus, setup_sqlite, teardown),
	    cmocka_unit_test_setup_teardown(test_committed_heard, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_rolled_back_never_heard, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_order, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_two_listeners, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_payloads, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_large_payload_by_reference, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_killed_session_comes_back, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_outage_with_failed_attempts, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_free_anytime, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_listen_first_connect_fails, setup_pg, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
