/*
 * test_store_pg.c — what only the PostgreSQL backend promises: conninfo
 * strings, the schema created on open and refused when newer, servers
 * migrating one database at the same time, the integrity check finding
 * what is wrong, and a connection that survives its session being killed
 * (without ever continuing a transaction on a new session).
 *
 * The generic behaviour is the contract suite's (tests/contract). This file
 * uses libpq directly to forge what the store would never write. It needs
 * PCHAT_TEST_STORE_URL=postgresql://USER@HOST:PORT/DB of a role that may
 * create databases (tests/pg/run_contract.sh BUILD test_store_pg); each test
 * creates and drops a database of its own. Without the variable it skips.
 */
#include "common/id.h"
#include "common/mailbox.h"
#include "common/timeutil.h"
#include "common/str.h"
#include "store/store.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_MIGRATORS 6
#define N_DEFER     200 /* deferred inserts per pass */

struct tctx {
	char db[32];        /* this test's database */
	char url[256];      /* URL of db */
	char conninfo[256]; /* the same as a conninfo string */
	char admin[256];    /* URL of the database named by PCHAT_TEST_STORE_URL */
};

/* Run SQL on url with a raw connection; it must succeed. */
static void raw_exec(const char *url, const char *sql)
{
	PGconn *db = PQconnectdb(url);
	PGresult *r;

	assert_int_equal(PQstatus(db), CONNECTION_OK);
	r = PQexec(db, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(db);
}

/* One integer from a query. */
static long long raw_int(const char *url, const char *sql)
{
	PGconn *db = PQconnectdb(url);
	PGresult *r;
	long long v;

	assert_int_equal(PQstatus(db), CONNECTION_OK);
	r = PQexec(db, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(db);
	return v;
}

/* A conninfo string for the same server, user and database as url. */
static void to_conninfo(const char *url, char *out, size_t outlen)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	size_t used = 0;

	assert_non_null(opts);
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && *o->val)
			str_appendf(out, outlen, &used, "%s%s=%s", used ? " " : "", o->keyword,
			            o->val);
	PQconninfoFree(opts);
}

static int setup(void **state)
{
	const char *env = getenv("PCHAT_TEST_STORE_URL");
	struct tctx *t;
	unsigned char rnd[4];
	char sql[96];
	const char *slash;

	if (!env || strncmp(env, "postgres", 8) != 0)
		skip();
	t = calloc(1, sizeof(*t));
	str_copy(t->admin, env, sizeof(t->admin));
	id_random(rnd, sizeof(rnd));
	snprintf(t->db, sizeof(t->db), "pgt_%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	slash = strrchr(env, '/');
	assert_non_null(slash);
	snprintf(t->url, sizeof(t->url), "%.*s/%s", (int)(slash - env), env, t->db);
	to_conninfo(t->url, t->conninfo, sizeof(t->conninfo));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->db);
	raw_exec(t->admin, sql);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tctx *t = *state;
	char sql[96];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->db);
	raw_exec(t->admin, sql);
	free(t);
	return 0;
}

static struct store *open_at(const char *url, char *err, size_t errlen)
{
	struct store_options opt = {.url = url, .create = true};

	return store_open(&opt, err, errlen);
}

static void add_account(struct store *st, const char *name, int want)
{
	struct store_account a = {0};

	str_copy(a.name, name, sizeof(a.name));
	a.chat_enabled = true;
	assert_int_equal(store_account_add(store_direct(st), &a), want);
}

static bool has_account(struct store *st, const char *name)
{
	struct store_account a = {0};
	int rc = store_account_get(store_direct(st), name, &a);

	assert_true(rc == 0 || rc == STORE_ENOTFOUND);
	store_account_free(&a);
	return rc == 0;
}

/* Kill every other pchat session on the test's database (a restart, as far as we can tell). */
static void kill_sessions(const struct tctx *t)
{
	char sql[200];

	snprintf(sql, sizeof(sql),
	         "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '%s'"
	         " AND application_name = 'pchat'",
	         t->db);
	raw_exec(t->admin, sql);
}

/* The port of the URL's server (postgresql://USER@HOST:PORT/DB). */
static int url_port(const char *url)
{
	const char *colon = strrchr(url, ':');

	assert_non_null(colon);
	return atoi(colon + 1);
}

/*
 * The store's sessions to the server carry keepalives and a
 * tcp_user_timeout (a silent partition ends them in tens of seconds, not
 * the kernel's minutes); a conninfo's own value overrides ours.
 */
static void test_sessions_time_out_on_a_silent_network(void **state)
{
	struct tctx *t = *state;
	char err[256] = "", url[300];
	int port = url_port(t->url), found = 0, seen_120 = 0;
	struct store *st;

	snprintf(url, sizeof(url), "%s?tcp_user_timeout=120000", t->url);
	for (int round = 0; round < 2; round++) {
		st = open_at(round == 0 ? t->url : url, err, sizeof(err));
		if (!st)
			fail_msg("%s", err);
		for (int fd = 3; fd < 1024; fd++) {
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			int on = 0, idle = 0;
			unsigned int uto = 0;
			socklen_t ol = sizeof(on), il = sizeof(idle), ul = sizeof(uto);

			if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0 ||
			    peer.sin_family != AF_INET || ntohs(peer.sin_port) != port)
				continue;
			assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &ol), 0);
			assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &il), 0);
			assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, &ul),
			                 0);
			assert_int_equal(on, 1);
			assert_int_equal(idle, 10);
			if (round == 0) {
				assert_int_equal(uto, 30000);
				found++;
			} else if (uto == 120000) {
				seen_120++;
			}
		}
		store_close(st);
	}
	assert_true(found >= 1); /* the direct session at least */
	assert_true(seen_120 >= 1);
}

static void test_conninfo_and_schema(void **state)
{
	struct tctx *t = *state;
	char err[256] = "", detail[256] = "";
	struct store *st = open_at(t->conninfo, err, sizeof(err));

	if (!st)
		fail_msg("%s: %s", t->conninfo, err);
	assert_int_equal(raw_int(t->url, "SELECT version FROM schema_version"),
	                 STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(t->url, "SELECT count(*) FROM categories WHERE name = 'general'"),
	                 1);
	assert_int_equal(store_check(store_direct(st), detail, sizeof(detail)), 0);
	add_account(st, "Alice", 0);
	add_account(st, "ALICE", STORE_EEXIST); /* pchat_key: ASCII case folded */
	store_close(st);
	/* reopening (by URL) migrates nothing and keeps the data */
	st = open_at(t->url, err, sizeof(err));
	assert_non_null(st);
	assert_true(has_account(st, "alice"));
	assert_int_equal(raw_int(t->url, "SELECT count(*) FROM schema_version"), 1);
	store_close(st);
}

static void test_newer_schema_refused(void **state)
{
	struct tctx *t = *state;
	char err[256] = "";
	struct store *st = open_at(t->url, err, sizeof(err));

	assert_non_null(st);
	store_close(st);
	raw_exec(t->url, "UPDATE schema_version SET version = 99");
	assert_null(open_at(t->url, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	assert_non_null(strstr(err, t->db));
}

static void *migrate_thread(void *arg)
{
	const struct tctx *t = arg;
	char err[256] = "";
	struct store *st = open_at(t->url, err, sizeof(err));

	if (st)
		store_close(st);
	return st ? arg : NULL;
}

static void test_concurrent_migrations(void **state)
{
	struct tctx *t = *state;
	pthread_t th[N_MIGRATORS];
	void *res;

	for (int i = 0; i < N_MIGRATORS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, t), 0);
	for (int i = 0; i < N_MIGRATORS; i++) {
		assert_int_equal(pthread_join(th[i], &res), 0);
		assert_ptr_equal(res, t); /* every store opened */
	}
	assert_int_equal(raw_int(t->url, "SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(raw_int(t->url, "SELECT count(*) FROM counters"), 2);
}

static void test_check_finds_damage(void **state)
{
	struct tctx *t = *state;
	char err[256] = "", detail[512] = "";
	struct store *st = open_at(t->url, err, sizeof(err));

	assert_non_null(st);
	/* a message of a room that does not exist (foreign keys switched off to forge it) */
	raw_exec(t->url, "SET session_replication_role = replica;"
	                 "INSERT INTO messages (room_id, msgid, ts_ms, sender, kind, text)"
	                 " VALUES (424242, 'orphan', 1, 'x', 'PRIVMSG', 'lost')");
	raw_exec(t->url, "DELETE FROM counters WHERE name = 'compliance'");
	assert_int_equal(store_check(store_direct(st), detail, sizeof(detail)), STORE_EIO);
	assert_non_null(strstr(detail, "rooms that do not exist"));
	assert_non_null(strstr(detail, "counters"));
	raw_exec(t->url, "UPDATE schema_version SET version = 2");
	assert_int_equal(store_check(store_direct(st), detail, sizeof(detail)), STORE_EIO);
	assert_non_null(strstr(detail, "schema version 2"));
	store_close(st);
}

static void test_reconnect(void **state)
{
	struct tctx *t = *state;
	char err[256] = "";
	struct store *st = open_at(t->url, err, sizeof(err));
	struct store_conn *c;

	assert_non_null(st);
	c = store_direct(st);
	add_account(st, "before", 0);
	/* an idle session killed: the next BEGIN reconnects and works */
	kill_sessions(t);
	assert_int_equal(store_begin(c), 0);
	add_account(st, "intx", 0);
	assert_int_equal(store_commit(c), 0);
	assert_true(has_account(st, "intx"));
	/* killed inside a transaction: the rest fails, nothing is committed */
	assert_int_equal(store_begin(c), 0);
	add_account(st, "lost1", 0);
	kill_sessions(t);
	add_account(st, "lost2", STORE_EIO);
	add_account(st, "lost3", STORE_EIO); /* never on a new session in autocommit */
	assert_int_equal(store_commit(c), STORE_EIO);
	assert_false(has_account(st, "lost1"));
	assert_false(has_account(st, "lost3"));
	/* killed outside a transaction: that statement fails, the next reconnects */
	kill_sessions(t);
	add_account(st, "after1", STORE_EIO);
	add_account(st, "after2", 0);
	assert_true(has_account(st, "before"));
	assert_true(has_account(st, "after2"));
	store_close(st);
}

/*
 * As SQLite: a conflict inside a transaction leaves it usable. But a
 * statement that really fails aborts a PostgreSQL transaction, and then
 * COMMIT must report the failure, not commit the rest (it would "succeed"
 * as a ROLLBACK).
 */
static void test_failed_tx_not_committed(void **state)
{
	struct tctx *t = *state;
	char err[256] = "";
	struct store *st = open_at(t->url, err, sizeof(err));
	struct store_conn *c;

	assert_non_null(st);
	c = store_direct(st);
	add_account(st, "dup", 0);
	assert_int_equal(store_begin(c), 0);
	add_account(st, "fresh", 0);
	add_account(st, "DUP", STORE_EEXIST);
	assert_int_equal(store_commit(c), 0);
	assert_true(has_account(st, "fresh"));
	/* a constraint the store does not know: the insert fails in the database */
	raw_exec(t->url, "ALTER TABLE accounts ADD CONSTRAINT forged CHECK (name <> 'bad')");
	assert_int_equal(store_begin(c), 0);
	add_account(st, "fresh2", 0);
	add_account(st, "bad", STORE_EINVAL);
	assert_int_equal(store_commit(c), STORE_EIO);
	assert_false(has_account(st, "fresh2"));
	/* the connection is usable again */
	add_account(st, "fresh2", 0);
	assert_true(has_account(st, "fresh2"));
	store_close(st);
}

/* --- two writers taking the same rows in opposite orders (a pool) ---------- */

#define N_CROSS 12 /* jobs per writer */

/* One job: a message into room first, a pause, then one into room second. */
struct cross_job {
	int64_t first;  /* room locked first */
	int64_t second; /* room locked then */
	int rc;         /* completion's rc, -1 until done */
	int *n_done;    /* shared counter */
};

static int cross_insert(struct store_conn *c, int64_t room)
{
	struct store_msg m = {0};

	m.room_id = room;
	m.ts_ms = time_now_ms();
	id_new(m.ts_ms, m.msgid);
	str_copy(m.sender, "x", sizeof(m.sender));
	str_copy(m.kind, "PRIVMSG", sizeof(m.kind));
	m.text = "deadlock?";
	return store_msg_insert(c, &m);
}

static int cross_fn(struct store_conn *c, void *arg)
{
	struct cross_job *j = arg;
	int rc = cross_insert(c, j->first);

	if (rc == 0) {
		usleep(30000); /* the other writer takes its first row meanwhile */
		rc = cross_insert(c, j->second);
	}
	return rc;
}

static void cross_done(int rc, void *arg)
{
	struct cross_job *j = arg;

	j->rc = rc;
	(*j->n_done)++;
}

/*
 * Two stores (two servers of a pool) whose writers lock rooms A and B in
 * opposite orders: PostgreSQL aborts one transaction of each deadlock, and
 * the store runs that group commit again, so every job succeeds and every
 * message is stored.
 */
static void test_deadlocked_batches_run_again(void **state)
{
	struct tctx *t = *state;
	struct event_base *base = event_base_new();
	struct mailbox *mb = mailbox_new(base);
	struct store_options opt = {.url = t->url, .create = true, .mb = mb, .max_batch = 1};
	struct store_room ra = {0}, rb = {0};
	struct cross_job jobs[2 * N_CROSS];
	struct store *s1, *s2;
	char err[256];
	int n_done = 0;
	int64_t deadline = time_mono_ms() + 60000, n = 0;

	s1 = store_open(&opt, err, sizeof(err));
	assert_non_null(s1);
	s2 = store_open(&opt, err, sizeof(err));
	assert_non_null(s2);
	str_copy(ra.name, "roomA", sizeof(ra.name));
	str_copy(rb.name, "roomB", sizeof(rb.name));
	assert_int_equal(store_room_add(store_direct(s1), &ra), 0);
	assert_int_equal(store_room_add(store_direct(s1), &rb), 0);
	for (int i = 0; i < 2 * N_CROSS; i++) {
		jobs[i].first = i % 2 ? rb.id : ra.id;
		jobs[i].second = i % 2 ? ra.id : rb.id;
		jobs[i].rc = -1;
		jobs[i].n_done = &n_done;
		store_submit_write(i % 2 ? s2 : s1, cross_fn, cross_done, &jobs[i]);
	}
	while (n_done < 2 * N_CROSS && time_mono_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(n_done, 2 * N_CROSS);
	for (int i = 0; i < 2 * N_CROSS; i++)
		assert_int_equal(jobs[i].rc, 0);
	assert_int_equal(store_msg_count(store_direct(s1), 0, &n), 0);
	assert_int_equal(n, 4 * N_CROSS);
	store_room_free(&ra);
	store_room_free(&rb);
	store_close(s1);
	store_close(s2);
	mailbox_free(mb);
	event_base_free(base);
}

/* A job posting one deferred message (store_msg.defer). */
struct defer_job {
	struct store_msg m; /* the message; id and seq read in the completion */
	int64_t id_in_job;  /* m.id as the job saw it */
	int rc;             /* the completion's rc */
	int64_t id_done;    /* m.id in the completion */
	int *n_done;        /* completions seen */
};

static int defer_fn(struct store_conn *c, void *arg)
{
	struct defer_job *j = arg;
	int rc = store_msg_insert(c, &j->m);

	j->id_in_job = j->m.id;
	if (rc == 0)
		rc = store_notify(c, j->m.msgid); /* sent with it, no answer awaited */
	return rc;
}

static void defer_done(int rc, void *arg)
{
	struct defer_job *j = arg;

	j->rc = rc;
	j->id_done = j->m.id;
	(*j->n_done)++;
}

/*
 * Deferred inserts (pipeline mode): a batch of them commits at once, ids are
 * known in the completions, in order; one taken msgid in the batch makes it
 * run again without pipelining, so that only that job fails, with its error.
 */
static void test_deferred_inserts(void **state)
{
	struct tctx *t = *state;
	struct event_base *base = event_base_new();
	struct mailbox *mb = mailbox_new(base);
	struct store_options opt = {.url = t->url, .create = true, .mb = mb};
	struct store_room room = {0};
	struct defer_job jobs[N_DEFER];
	struct store *st;
	char err[256];
	int n_done = 0;
	int64_t deadline = time_mono_ms() + 60000, n = 0;

	st = store_open(&opt, err, sizeof(err));
	assert_non_null(st);
	str_copy(room.name, "pipelined", sizeof(room.name));
	assert_int_equal(store_room_add(store_direct(st), &room), 0);
	for (int pass = 0; pass < 2; pass++) {
		n_done = 0;
		for (int i = 0; i < N_DEFER; i++) {
			struct store_msg *m = &jobs[i].m;

			memset(&jobs[i], 0, sizeof(jobs[i]));
			m->room_id = room.id;
			m->ts_ms = time_now_ms();
			id_new(m->ts_ms, m->msgid);
			if (pass == 1 && i == N_DEFER / 2)
				str_copy(m->msgid, jobs[0].m.msgid, sizeof(m->msgid)); /* taken */
			str_copy(m->sender, "x", sizeof(m->sender));
			str_copy(m->kind, "PRIVMSG", sizeof(m->kind));
			m->text = "sent ahead";
			m->defer = true;
			jobs[i].n_done = &n_done;
			store_submit_write_atomic(st, defer_fn, defer_done, &jobs[i]);
		}
		while (n_done < N_DEFER && time_mono_ms() < deadline)
			event_base_loop(base, EVLOOP_ONCE);
		assert_int_equal(n_done, N_DEFER);
		for (int i = 0; i < N_DEFER; i++) {
			bool dup = pass == 1 && i == N_DEFER / 2;

			assert_int_equal(jobs[i].rc, dup ? STORE_EEXIST : 0);
			if (dup)
				continue;
			assert_true(jobs[i].id_done > 0);
			assert_int_equal(jobs[i].m.seq, jobs[i].id_done);
			if (i > 0 && !(pass == 1 && i - 1 == N_DEFER / 2))
				assert_true(jobs[i].id_done > jobs[i - 1].id_done);
		}
	}
	assert_true(jobs[1].id_in_job == 0 || jobs[1].id_in_job == jobs[1].id_done);
	assert_int_equal(store_msg_count(store_direct(st), room.id, &n), 0);
	assert_int_equal(n, 2 * N_DEFER - 1);
	store_room_free(&room);
	store_close(st);
	mailbox_free(mb);
	event_base_free(base);
}

/* The fence: the row says so, new sessions cannot write, pchat sessions were ended. */
static void test_fence(void **state)
{
	struct tctx *t = *state;
	char err[256] = "", sql[300];
	struct store *st = open_at(t->url, err, sizeof(err)), *other;
	struct store_pool_state row = {.generation = 2, .state = "normal", .changed_ms = 1};

	assert_non_null(st);
	other = open_at(t->url, err, sizeof(err));
	assert_non_null(other);
	add_account(other, "before", 0);
	row.active = "a1";
	str_copy(row.changed_by, "test", sizeof(row.changed_by));
	assert_int_equal(store_pool_set(store_direct(st), &row), 0);
	/* nothing to fence: the database is as new as the generation */
	assert_int_equal(store_pool_fence(store_direct(st), 2, "b1"), STORE_EBUSY);
	assert_int_equal(store_pool_fence(store_direct(st), 0, "b1"), STORE_EINVAL);
	assert_int_equal(store_pool_fence(store_direct(st), 3, "b\n1"), STORE_EINVAL);
	assert_int_equal(store_pool_fence(store_direct(st), 3, "pchatd b1"), 0);
	memset(&row, 0, sizeof(row));
	assert_int_equal(store_pool_get(store_direct(st), &row), 0);
	assert_true(row.fenced);
	assert_int_equal(row.fenced_generation, 3);
	assert_int_equal(row.generation, 2); /* its own state is kept */
	assert_string_equal(row.active, "a1");
	assert_string_equal(row.changed_by, "pchatd b1");
	store_pool_state_free(&row);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = "
	         "s.setdatabase WHERE d.datname = '%s' AND "
	         "'default_transaction_read_only=on' = ANY (s.setconfig)",
	         t->db);
	assert_int_equal(raw_int(t->admin, sql), 1);
	/* the other server's session was ended; its new session cannot write */
	add_account(other, "after", STORE_EIO);
	assert_true(has_account(other, "before"));
	assert_false(has_account(other, "after"));
	/* fencing again (a newer generation) works on the read-only database */
	assert_int_equal(store_pool_fence(store_direct(st), 4, "pchatctl"), 0);
	assert_int_equal(store_pool_get(store_direct(st), &row), 0);
	assert_int_equal(row.fenced_generation, 4);
	store_pool_state_free(&row);
	store_close(other);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_conninfo_and_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions_time_out_on_a_silent_network, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_migrations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_finds_damage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_tx_not_committed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deadlocked_batches_run_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deferred_inserts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fence, setup, teardown),
	};

	evthread_use_pthreads(); /* the mailbox is used from store threads */
	return cmocka_run_group_tests_name("store PostgreSQL only", tests, NULL, NULL);
}
