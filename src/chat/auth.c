/*
 * auth.c — checking account credentials without blocking the loop.
 *
 * The account is read on a store thread, the Argon2id check runs on the
 * worker pool, and failures are throttled per account name and per peer
 * address (a delay that doubles, at most 8 s). An unknown account costs the
 * same Argon2id check as a known one, so timing does not tell them apart.
 * Passwords are wiped from memory when the check is done.
 */
#include "chat/chat_int.h"
#include "chat/password.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/workq.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <event2/event.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_DELAY_MAX_MS   8000   /* longest throttle delay */
#define AUTH_FAIL_FORGET_MS 600000 /* failures older than this are forgotten */

struct auth_fail {
	int n;           /* consecutive failures */
	int64_t last_ms; /* time of the last one */
};

struct auth_op {
	struct chat *ch;           /* engine */
	char name[CHAT_NAME_MAX];  /* account asked for */
	char peer[64];             /* client address */
	char *password;            /* wiped and freed when done; NULL for lookup */
	struct store_account acct; /* as stored */
	int rc;                    /* result so far */
	bool ok;                   /* password matched */
	struct event *timer;       /* throttle delay */
	chat_auth_cb cb;           /* caller's completion */
	void *arg;                 /* its argument */
};

static void fail_key(char *out, size_t n, char kind, const char *s)
{
	char low[96];

	str_lower(low, s, sizeof(low));
	out[0] = kind;
	out[1] = ':';
	str_copy(out + 2, low, n - 2);
}

static int fail_count(struct chat *ch, char kind, const char *s)
{
	char key[100];
	struct auth_fail *f;

	fail_key(key, sizeof(key), kind, s);
	f = map_get(&ch->auth_fails, key);
	if (!f)
		return 0;
	if (time_now_ms() - f->last_ms > AUTH_FAIL_FORGET_MS) {
		free(map_del(&ch->auth_fails, key));
		return 0;
	}
	return f->n;
}

static void fail_bump(struct chat *ch, char kind, const char *s)
{
	char key[100];
	struct auth_fail *f;

	fail_key(key, sizeof(key), kind, s);
	f = map_get(&ch->auth_fails, key);
	if (!f) {
		/* Bound the table: an attacker cycling names must not grow it forever. */
		if (ch->auth_fails.n_entries > 100000)
			return;
		f = xcalloc(1, sizeof(*f));
		map_put(&ch->auth_fails, key, f);
	}
	f->n++;
	f->last_ms = time_now_ms();
}

static void fail_reset(struct chat *ch, const char *name)
{
	char key[100];

	fail_key(key, sizeof(key), 'n', name);
	free(map_del(&ch->auth_fails, key));
}

void chat_auth_init(struct chat *ch)
{
	struct password_params pp;
	char rnd[33], *scram = NULL;

	/* A hash of a random password, checked for unknown accounts. Start-up only. */
	password_params_default(&pp);
	if (ch->p.argon2_opslimit > 0)
		pp.argon2_opslimit = ch->p.argon2_opslimit;
	if (ch->p.argon2_memlimit_kib > 0)
		pp.argon2_memlimit_kib = ch->p.argon2_memlimit_kib;
	pp.scram_iterations = 4096;
	for (int i = 0; i < 32; i++)
		rnd[i] = (char)('a' + randombytes_uniform(26));
	rnd[32] = '\0';
	if (password_derive(rnd, &pp, &ch->dummy_hash, &scram) == 0)
		free(scram);
	sodium_memzero(rnd, sizeof(rnd));
}

void chat_auth_free_all(struct chat *ch)
{
	struct map_entry *e;
	size_t it;

	for (e = map_first(&ch->auth_fails, &it); e; e = map_next(&ch->auth_fails, e, &it))
		free(e->value);
	map_clear(&ch->auth_fails);
	free(ch->dummy_hash);
}

int chat_auth_delay_ms(struct chat *ch, const char *name, const char *peer)
{
	int n = fail_count(ch, 'n', name);
	int np = fail_count(ch, 'p', peer);
	int64_t d;

	if (np > n)
		n = np;
	if (n == 0 || ch->p.auth_fail_delay_ms <= 0)
		return 0;
	d = (int64_t)ch->p.auth_fail_delay_ms << (n > 4 ? 4 : n - 1);
	return d > AUTH_DELAY_MAX_MS ? AUTH_DELAY_MAX_MS : (int)d;
}

void chat_auth_failed(struct chat *ch, const char *name, const char *peer)
{
	fail_bump(ch, 'n', name);
	fail_bump(ch, 'p', peer);
}

static void op_free(struct auth_op *op)
{
	if (op->password) {
		sodium_memzero(op->password, strlen(op->password));
		free(op->password);
	}
	if (op->timer)
		event_free(op->timer);
	store_account_free(&op->acct);
	free(op);
}

static void finish(struct auth_op *op)
{
	struct chat_account a;

	memset(&a, 0, sizeof(a));
	if (op->rc == 0) {
		str_copy(a.name, op->acct.name, sizeof(a.name));
		a.id = op->acct.id;
		a.admin = op->acct.admin;
		a.scram = op->acct.scram;
		op->cb(0, &a, op->arg);
	} else {
		op->cb(op->rc, NULL, op->arg);
	}
	op_free(op);
}

static void delay_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish(arg);
}

/* Answer now, or after the throttle delay when this is a failure. */
static void answer(struct auth_op *op)
{
	int delay = 0;

	if (op->rc == CHAT_EAUTH && op->password) {
		delay = chat_auth_delay_ms(op->ch, op->name, op->peer);
		chat_auth_failed(op->ch, op->name, op->peer);
	} else if (op->rc == 0 && op->password) {
		fail_reset(op->ch, op->name);
	}
	if (delay > 0) {
		struct timeval tv = {delay / 1000, (delay % 1000) * 1000};

		op->timer = evtimer_new(op->ch->p.base, delay_fired, op);
		evtimer_add(op->timer, &tv);
		return;
	}
	finish(op);
}

static int lookup_job(struct store_conn *c, void *arg)
{
	struct auth_op *op = arg;

	return store_account_get(c, op->name, &op->acct);
}

static void verify_work(void *arg)
{
	struct auth_op *op = arg;
	const char *hash = op->rc == 0 && op->acct.pw_hash ? op->acct.pw_hash : op->ch->dummy_hash;

	op->ok = hash && password_verify(hash, op->password);
}

static void verify_done(void *arg)
{
	struct auth_op *op = arg;

	if (op->rc == 0 && !op->ok)
		op->rc = CHAT_EAUTH;
	else if (op->rc == 0 && !op->acct.chat_enabled)
		op->rc = CHAT_EDISABLED;
	answer(op);
}

static void lookup_done(int rc, void *arg)
{
	struct auth_op *op = arg;

	op->rc = rc == 0 ? 0 : rc == STORE_ENOTFOUND ? CHAT_EAUTH : CHAT_ESTORE;
	if (op->password && op->rc != CHAT_ESTORE) {
		workq_submit(op->ch->p.workq, verify_work, verify_done, op);
		return;
	}
	if (!op->password && op->rc == 0 && !op->acct.chat_enabled)
		op->rc = CHAT_EDISABLED;
	answer(op);
}

static struct auth_op *auth_op_new(struct chat *ch, const char *name, const char *peer,
                                   chat_auth_cb cb, void *arg)
{
	struct auth_op *op = xcalloc(1, sizeof(*op));

	op->ch = ch;
	str_copy(op->name, name, sizeof(op->name));
	str_copy(op->peer, peer ? peer : "", sizeof(op->peer));
	op->cb = cb;
	op->arg = arg;
	return op;
}

void chat_auth_password(struct chat *ch, const char *name, const char *password, const char *peer,
                        chat_auth_cb cb, void *arg)
{
	struct auth_op *op = auth_op_new(ch, name, peer, cb, arg);

	op->password = xstrdup(password);
	store_submit_read(ch->p.store, lookup_job, lookup_done, op);
}

void chat_auth_lookup(struct chat *ch, const char *name, chat_auth_cb cb, void *arg)
{
	struct auth_op *op = auth_op_new(ch, name, NULL, cb, arg);

	store_submit_read(ch->p.store, lookup_job, lookup_done, op);
}
