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
 */
#include "common/id.h"
#include "common/mailbox.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "store/store.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define N_ASYNC 5000 /* write jobs in the ordering test */

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
	char p[300];

	if (!t->dir[0])
		return;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s/chat.db%s", t->dir, suffix[i]);
		unlink(p);
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
	int64_t cnt, all0, all1;

	assert_int_equal(store_msg_count(t->c, 0, &all0), 0);
	for (int i = 1; i <= 10; i++) {
		snprintf(text, sizeof(text), "hello %d", i);
		fill_msg(&m, i % 2 ? room : other, "alice", NULL, text);
		if (i == 5)
			m.tags = "+draft/reply=abc;+x=y\\sz";
		assert_int_equal(store_msg_insert(t->c, &m), 0);
		assert_true(m.id > 0);
		assert_int_equal(m.seq, (i + 1) / 2); /* per-room sequence */
	}
	assert_int_equal(store_room_get(t->c, nm(t, "hist"), &r), 0);
	assert_int_equal(r.last_seq, 5);
	store_room_free(&r);
	assert_int_equal(store_msg_count(t->c, room, &cnt), 0);
	assert_int_equal(cnt, 5);
	assert_int_equal(store_msg_count(t->c, 0, &all1), 0);
	assert_int_equal(all1 - all0, 10);

	/* newest 3, oldest first */
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 0, 3, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].seq, 3);
	assert_int_equal(v[2].seq, 5);
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
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 3, 10, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].seq, 1);
	assert_int_equal(v[1].seq, 2);
	free_msgs(v, n);
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 1, 10, &v, &n), 0);
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

	fill_msg(&m, room, "alice", NULL, "one");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	dup = m;
	assert_int_equal(store_msg_insert(t->c, &dup), STORE_EEXIST); /* same msgid */

	fill_msg(&m, room + 1000000, "alice", NULL, "x");
	assert_int_equal(store_msg_insert(t->c, &m), STORE_ENOTFOUND);
	fill_msg(&m, room, "alice", NULL, "x");
	str_copy(m.kind, "JOIN", sizeof(m.kind));
	assert_int_equal(store_msg_insert(t->c, &m), STORE_EINVAL);
	fill_msg(&m, room, "alice", "bob", "x"); /* room message with a peer */
	assert_int_equal(store_msg_insert(t->c, &m), STORE_EINVAL);
	fill_msg(&m, 0, "alice", NULL, "x"); /* private without a peer */
	assert_int_equal(store_msg_insert(t->c, &m), STORE_EINVAL);
	fill_msg(&m, room, "", NULL, "x");
	assert_int_equal(store_msg_insert(t->c, &m), STORE_EINVAL);

	/* failed inserts did not consume sequence numbers */
	fill_msg(&m, room, "alice", NULL, "two");
	assert_int_equal(store_msg_insert(t->c, &m), 0);
	assert_int_equal(m.seq, 2);
	assert_int_equal(store_room_get(t->c, nm(t, "err"), &r), 0);
	assert_int_equal(r.last_seq, 2);
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
	opt.url = "postgresql://localhost/pchat";
	assert_null(store_open(&opt, err, sizeof(err)));
	assert_non_null(strstr(err, "not built yet"));
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
		assert_int_equal(jobs[i].seq, i + 1); /* run in order too */
	}
	assert_int_equal(store_msg_count(t->c, room, &cnt), 0);
	assert_int_equal(cnt, N_ASYNC);
	free(order);
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
	/* job 1's insert was undone, with its sequence number */
	assert_int_equal(store_msg_latest(t->c, room, NULL, NULL, 0, 100, &v, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].seq, (int64_t)i + 1);
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
	    cmocka_unit_test_setup_teardown(test_async_failure_isolated, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_async_reads_concurrent, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_async_read_only, setup_async, teardown),
	    cmocka_unit_test_setup_teardown(test_async_close_finishes, setup_async, teardown),
	};

	evthread_use_pthreads();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
