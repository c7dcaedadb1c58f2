/*
 * store.h — the one storage interface of pchat.
 *
 * Two halves:
 *  - synchronous operations on a struct store_conn (one backend connection).
 *    pchatd calls them only inside job functions running on store threads;
 *    pchatctl and the tests call them directly.
 *  - store_submit_read()/store_submit_write(): run a job function on a store
 *    thread, then its completion on the event-loop thread. Write jobs are
 *    grouped: one transaction and one durable commit for every job queued
 *    meanwhile (group commit). The completion of a write job runs only after
 *    its commit is durable.
 *
 * Nothing here is specific to a backend: SQLite now, PostgreSQL later fill a
 * struct store_backend (store_int.h). Names of accounts and rooms compare
 * ASCII case-insensitively in every backend.
 */
#ifndef PCHAT_STORE_STORE_H
#define PCHAT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct mailbox;
struct store;
struct store_conn;

/* Error codes: every int-returning function returns 0 or one of these. */
enum store_err {
	STORE_OK = 0,
	STORE_ENOTFOUND = -2, /* no such row */
	STORE_EEXIST = -3,    /* unique name taken */
	STORE_EINVAL = -4,    /* bad argument (name syntax, empty field) */
	STORE_EIO = -5,       /* the database failed (logged where detected) */
	STORE_EVERSION = -6,  /* database schema newer than this binary */
	STORE_EBUSY = -7,     /* locked for too long */
	STORE_ECLOSED = -8,   /* the store is shutting down */
	STORE_ENOTEMPTY = -9, /* still used by other rows (a category with rooms) */
};

/* Text for an error code ("not found", ...). */
const char *store_strerror(int err);

#define STORE_NAME_MAX 64 /* account, category and room names, bytes + NUL */

/* Current schema version written by this binary. */
#define STORE_SCHEMA_VERSION 1

struct store_options {
	const char *url;    /* "sqlite:PATH" or a plain path (SQLite) */
	int n_readers;      /* reader threads/connections (default 2) */
	int max_batch;      /* write jobs per transaction (default 4096) */
	bool create;        /* create the database if missing */
	struct mailbox *mb; /* completions go here; NULL for sync-only use */
};

/* An account as stored. Strings are owned by the struct (store_account_free). */
struct store_account {
	int64_t id;                /* stable id */
	char name[STORE_NAME_MAX]; /* account name = nick, display case */
	char *pw_hash;             /* Argon2id encoded string, or NULL */
	char *scram;        /* "SCRAM-SHA-256$iter:salt$storedkey:serverkey" (base64), or NULL */
	bool admin;         /* administrator */
	bool chat_enabled;  /* may log in */
	int64_t created_ms; /* creation time */
};

struct store_room {
	int64_t id;                    /* stable id */
	char name[STORE_NAME_MAX];     /* without the leading '#' */
	char category[STORE_NAME_MAX]; /* category name */
	char *description;             /* topic; owned, never NULL after a get */
	int64_t created_ms;            /* creation time */
	int64_t last_seq;              /* sequence number of the newest message */
};

struct store_category {
	int64_t id;                /* stable id */
	char name[STORE_NAME_MAX]; /* unique name */
	char *allowed;             /* principals, comma-separated ("*" = everyone); owned */
	int64_t created_ms;        /* creation time */
};

/*
 * A message. For a room message room_id is set and peer is empty; for a
 * private message room_id is 0 and peer names the recipient account (the
 * conversation is the unordered pair sender/peer).
 */
struct store_msg {
	int64_t id;                  /* global id, set by insert */
	int64_t room_id;             /* room, or 0 */
	char peer[STORE_NAME_MAX];   /* private recipient, or "" */
	int64_t seq;                 /* per-room sequence, set by insert (0 for private) */
	char msgid[32];              /* IRCv3 msgid, set by the caller */
	int64_t ts_ms;               /* server time, set by the caller */
	char sender[STORE_NAME_MAX]; /* account name (or guest nick) */
	char kind[8];                /* "PRIVMSG", "NOTICE" or "TAGMSG" */
	char *text;                  /* body; owned */
	char *tags;                  /* client tags in IRC wire form (escaped), or NULL; owned */
};

/* --- opening ----------------------------------------------------------- */

/*
 * Open (and with opt->create, create) the database at opt->url, run the
 * migrations, start the threads when opt->mb is set. On failure returns NULL
 * and writes a message for the operator into err.
 */
struct store *store_open(const struct store_options *opt, char *err, size_t errlen);

/* Finish queued jobs (their completions run), stop threads, close. */
void store_close(struct store *st);

/*
 * A connection for synchronous use by the caller's thread (pchatctl,
 * tests). Owned by the store; valid until store_close().
 */
struct store_conn *store_direct(struct store *st);

/* --- asynchronous jobs (pchatd) ----------------------------------------- */

/* Runs on a store thread; returns 0 or a store_err. Touches only arg. */
typedef int (*store_job_fn)(struct store_conn *c, void *arg);
/* Runs on the loop thread with the job's result. */
typedef void (*store_done_cb)(int rc, void *arg);

/*
 * Queue a read-only job (runs in one read transaction). Without a mailbox
 * (opt->mb NULL) jobs run at once on the direct connection and done is
 * called before returning. After store_close() began, done gets
 * STORE_ECLOSED. Job functions must not call store_begin/commit/rollback.
 */
void store_submit_read(struct store *st, store_job_fn fn, store_done_cb done, void *arg);
/* Queue a write job; done runs after the commit holding it is durable. */
void store_submit_write(struct store *st, store_job_fn fn, store_done_cb done, void *arg);

/*
 * The same for a job that leaves the database unchanged whenever it fails
 * (a single operation such as store_msg_insert): it runs without its own
 * savepoint, which makes grouped commits of many small jobs cheaper.
 */
void store_submit_write_atomic(struct store *st, store_job_fn fn, store_done_cb done, void *arg);

/* --- synchronous operations -------------------------------------------- */

/* Transactions (used by pchatctl for multi-step changes; jobs are wrapped). */
int store_begin(struct store_conn *c);
int store_commit(struct store_conn *c);
int store_rollback(struct store_conn *c);

int store_account_add(struct store_conn *c, struct store_account *a); /* sets a->id */
int store_account_get(struct store_conn *c, const char *name, struct store_account *out);
int store_account_update(struct store_conn *c, const struct store_account *a); /* by id */
int store_account_remove(struct store_conn *c, const char *name);
/* All accounts ordered by name; *out is an array of *n (store_account_free each, then free). */
int store_account_list(struct store_conn *c, struct store_account **out, size_t *n);
void store_account_free(struct store_account *a); /* frees the strings, not a */

int store_category_add(struct store_conn *c, struct store_category *cat);
int store_category_get(struct store_conn *c, const char *name, struct store_category *out);
/* Set a category's allowed list, found by name. */
int store_category_update(struct store_conn *c, const struct store_category *cat);
/* Remove an empty category; STORE_ENOTEMPTY while a room is in it. */
int store_category_remove(struct store_conn *c, const char *name);
/* All categories ordered by name; like store_account_list. */
int store_category_list(struct store_conn *c, struct store_category **out, size_t *n);
void store_category_free(struct store_category *cat);

int store_room_add(struct store_conn *c, struct store_room *r); /* category by name; sets id */
int store_room_get(struct store_conn *c, const char *name, struct store_room *out);
/*
 * Set description and category of a room found by id (id > 0) or else by
 * name; a NULL description or an empty category keeps the current one.
 */
int store_room_update(struct store_conn *c, const struct store_room *r);
/* Remove a room and its messages. */
int store_room_remove(struct store_conn *c, const char *name);
int store_room_list(struct store_conn *c, struct store_room **out, size_t *n);
void store_room_free(struct store_room *r);

/* Insert one message; sets m->id and m->seq (room messages). */
int store_msg_insert(struct store_conn *c, struct store_msg *m);

/*
 * The newest `limit` messages of a room (room_id) or of a private
 * conversation (room_id 0, a and b the two accounts), oldest first, with
 * seq < before_seq when before_seq > 0. Private messages have no seq: for
 * them before_seq is a message id (store_msg.id), and only messages with
 * id < before_seq are returned. *out is an array of *n (store_msg_free
 * each, then free; NULL when *n is 0).
 */
int store_msg_latest(struct store_conn *c, int64_t room_id, const char *a, const char *b,
                     int64_t before_seq, int limit, struct store_msg **out, size_t *n);
void store_msg_free(struct store_msg *m);

/* Number of messages in a room (0 = every message). */
int store_msg_count(struct store_conn *c, int64_t room_id, int64_t *n);

/* Whether the database passes the backend's integrity check. */
int store_check(struct store_conn *c, char *detail, size_t detail_len);

#endif
