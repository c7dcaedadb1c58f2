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
#define STORE_SCHEMA_VERSION 6

/*
 * The name this process gives its database sessions (PostgreSQL
 * application_name, what `pchatctl db who` and pg_stat_activity show), e.g.
 * "pchatd a1"; at most 63 bytes are kept. Process-wide, set once before
 * store_open; "pchat" when never set. The pool listener's session adds " bus".
 */
void store_set_client_name(const char *name);
const char *store_client_name(void);

struct store_options {
	const char *url;    /* "sqlite:PATH" or a path (SQLite); postgresql://... or a conninfo */
	int n_readers;      /* reader threads/connections (default 2) */
	int max_batch;      /* write jobs per transaction (default 4096) */
	bool create;        /* create the database if missing */
	struct mailbox *mb; /* completions go here; NULL for sync-only use */
	bool quiet;         /* a failure to open is not logged (the caller reports it) */
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

/*
 * Principal lists (members, managers, allowed, ...) are stored as text:
 * comma-separated principals, each an account name, "group:NAME" or "*"
 * (everyone). The store keeps them as given (at most STORE_LIST_MAX bytes);
 * the chat layer resolves them.
 */
#define STORE_LIST_MAX 65536

enum store_privacy {
	STORE_PRIVACY_CLOSED = 0, /* found by the category's scope, joined by members (default) */
	STORE_PRIVACY_OPEN = 1,   /* found and joined by the category's scope */
	STORE_PRIVACY_SECRET = 2, /* found and joined by members only */
};

enum store_room_type {
	STORE_ROOM_NORMAL = 0,     /* every member posts */
	STORE_ROOM_AUDITORIUM = 1, /* only presenters post */
};

struct store_room {
	int64_t id;                    /* stable id */
	char name[STORE_NAME_MAX];     /* without the leading '#' */
	char category[STORE_NAME_MAX]; /* category name */
	char *description;             /* topic; owned, never NULL after a get */
	int64_t created_ms;            /* creation time */
	int64_t last_seq;              /* sequence number of the newest message */
	int privacy;                   /* enum store_privacy */
	int type;                      /* enum store_room_type */
	bool invitations_off;          /* "off"; false = inherit the category's */
	bool disabled;                 /* hidden, members removed, content kept */
	char addin[STORE_NAME_MAX];    /* add-in name, "" = none */
	char *members;                 /* principals; owned, never NULL after a get */
	char *managers;                /* principals; owned, never NULL after a get */
	char *presenters;              /* principals; owned, never NULL after a get */
};

struct store_category {
	int64_t id;                /* stable id */
	char name[STORE_NAME_MAX]; /* unique name */
	char *allowed;             /* principals, comma-separated ("*" = everyone); owned */
	int64_t created_ms;        /* creation time */
	char *denied;   /* principals that allowed does not cover; owned, never NULL after a get */
	char *creators; /* principals who may create rooms; owned, never NULL after a get */
	bool invitations; /* rooms send invitations (unless the room says off) */
	bool file_upload; /* file upload allowed */
	bool history;     /* messages are kept as history */
};

struct store_group {
	int64_t id;                /* stable id */
	char name[STORE_NAME_MAX]; /* unique name (case-insensitive) */
	char *members;             /* accounts and "group:NAME"; owned, never NULL after a get */
	int64_t created_ms;        /* creation time */
};

struct store_addin {
	char name[STORE_NAME_MAX]; /* unique name */
	char *url;                 /* http(s) URL; owned */
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
	char kind[8]; /* "PRIVMSG", "NOTICE", "TAGMSG", or an event: JOIN PART TOPIC MODE */
	char *text;   /* body; owned */
	char *tags;   /* client tags in IRC wire form (escaped), or NULL; owned */
	int redacted; /* 0 as sent, 1 removed, 2 replaced (text is the replacement) */
	/*
	 * Inside a write job: the insert may be sent without waiting for its
	 * result (PostgreSQL pipeline mode): id and seq are then set when the
	 * job's transaction commits — read them in the completion, not in the
	 * job — and a failure (a taken msgid, a room removed meanwhile) makes
	 * the writer run the batch again without pipelining, which gives the
	 * job its error. Ignored elsewhere (SQLite, outside a job).
	 */
	bool defer;
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

/*
 * Memory held by the caches of the store's connections (SQLite's page
 * caches; 0 on PostgreSQL), as of each connection's last job: for the
 * operator's memory report. Any thread.
 */
size_t store_cache_bytes(struct store *st);
/* What the writer thread has done since store_open (store_stats). */
struct store_stats {
	uint64_t commits;      /* group commits run */
	uint64_t jobs;         /* write jobs they held (jobs / commits: the grouping) */
	uint64_t upkeep_steps; /* upkeep steps run (search indexing; SQLite only) */
};

/* The writer thread's counters. Any thread. */
void store_stats(struct store *st, struct store_stats *out);
/*
 * Record c's cache use now, for store_cache_bytes(); on the thread that
 * uses c (the store's threads do it after each job; a user of the direct
 * connection on another thread calls it after its work).
 */
void store_conn_note_cache(struct store_conn *c);

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
/*
 * Write every field of a category found by id (id > 0) or else by name (no
 * renaming); a NULL list (allowed, denied, creators) keeps the current one.
 * Callers read, modify, write. STORE_EINVAL for a list over STORE_LIST_MAX.
 */
int store_category_update(struct store_conn *c, const struct store_category *cat);
/* Remove an empty category; STORE_ENOTEMPTY while a room is in it. */
int store_category_remove(struct store_conn *c, const char *name);
/* All categories ordered by name; like store_account_list. */
int store_category_list(struct store_conn *c, struct store_category **out, size_t *n);
void store_category_free(struct store_category *cat);

int store_room_add(struct store_conn *c, struct store_room *r); /* category by name; sets id */
int store_room_get(struct store_conn *c, const char *name, struct store_room *out);
/*
 * Write every field of a room found by id (id > 0) or else by name (no
 * renaming); a NULL string (description, members, managers, presenters) or
 * an empty category keeps the current value. Callers read, modify, write.
 * STORE_EINVAL for an unknown add-in, a list over STORE_LIST_MAX or a
 * privacy/type out of range.
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

/* --- rooms issue: groups, categories, rooms, follows, invitations -------- */

int store_group_add(struct store_conn *c, struct store_group *g); /* sets id */
int store_group_get(struct store_conn *c, const char *name, struct store_group *out);
int store_group_update(struct store_conn *c, const struct store_group *g); /* members, by name */
int store_group_remove(struct store_conn *c, const char *name);
int store_group_list(struct store_conn *c, struct store_group **out, size_t *n);
void store_group_free(struct store_group *g);

int store_addin_add(struct store_conn *c, const struct store_addin *a);
int store_addin_get(struct store_conn *c, const char *name, struct store_addin *out);
int store_addin_remove(struct store_conn *c, const char *name); /* ENOTEMPTY while a room uses it */
int store_addin_list(struct store_conn *c, struct store_addin **out, size_t *n);
void store_addin_free(struct store_addin *a);

/* Followed rooms of an account (by room name, case-insensitive). */
int store_follow_add(struct store_conn *c, const char *account, const char *room);
int store_follow_remove(struct store_conn *c, const char *account, const char *room);
/* Room names the account follows, ordered by name (*out: array of *n names, free each then free).
 */
int store_follow_list(struct store_conn *c, const char *account, char ***out, size_t *n);

/* Pending invitations (kept until delivered at the invitee's next login). */
struct store_invite {
	char account[STORE_NAME_MAX]; /* invitee */
	char room[STORE_NAME_MAX];    /* room name */
	char inviter[STORE_NAME_MAX]; /* who invited ("" = the system) */
	int64_t ts_ms;                /* when */
};
int store_invite_add(struct store_conn *c,
                     const struct store_invite *inv); /* replaces a same pair */
/* Take (read and delete) the account's pending invitations, oldest first. */
int store_invite_take(struct store_conn *c, const char *account, struct store_invite **out,
                      size_t *n);

/* Read markers (draft/read-marker): only ever move forward. */
int store_marker_set(struct store_conn *c, const char *account, const char *target, int64_t ts_ms);
int store_marker_get(struct store_conn *c, const char *account, const char *target, int64_t *ts_ms);

/*
 * Change feed: every administrative write (pchatctl, the service) records
 * what changed ("room", "category", "group", "account", "addin") and its
 * name in the same transaction; a running pchatd polls it to apply changes
 * within a second. Ids increase.
 */
struct store_change {
	int64_t id;                /* increasing */
	char kind[16];             /* what kind of object */
	char name[STORE_NAME_MAX]; /* which one */
	int64_t ts_ms;             /* when */
};
int store_change_add(struct store_conn *c, const char *kind, const char *name);
/* Changes with id > after, oldest first, at most limit. */
int store_change_since(struct store_conn *c, int64_t after, int limit, struct store_change **out,
                       size_t *n);
/* The newest change id (0 when none), to start polling from. */
int store_change_last(struct store_conn *c, int64_t *id);

/* --- rooms issue: history, search, content administration ---------------- */

/*
 * A window of one conversation's history (IRCv3 chathistory): messages
 * strictly between the bounds (0 = unbounded), `limit` of them taken from
 * the newest end when from_newest, else from the oldest end; returned
 * oldest first. Removed messages are left out; replaced ones come with the
 * replacement text.
 */
struct store_history_query {
	int64_t room_id;    /* room, or 0 for the private conversation a/b */
	const char *a;      /* private: one account */
	const char *b;      /* private: the other */
	int64_t after_id;   /* exclusive lower bound on store_msg.id, 0 = none */
	int64_t before_id;  /* exclusive upper bound on store_msg.id, 0 = none */
	int64_t after_ts;   /* exclusive lower bound on ts_ms, 0 = none */
	int64_t before_ts;  /* exclusive upper bound on ts_ms, 0 = none */
	int limit;          /* at most this many (1..10000) */
	bool from_newest;   /* take the newest `limit` (LATEST, BEFORE) */
	bool messages_only; /* leave out history events (JOIN PART TOPIC MODE) */
};
int store_msg_history(struct store_conn *c, const struct store_history_query *q,
                      struct store_msg **out, size_t *n);

/* A message by msgid (for msgid= references); STORE_ENOTFOUND when unknown. */
int store_msg_by_msgid(struct store_conn *c, const char *msgid, struct store_msg *out);

/*
 * Conversations with activity between two times (chathistory TARGETS): the
 * rooms among room_ids and the account's private conversations, each with
 * the time of its newest message in the window, oldest first, at most limit.
 * For a room, name is the room name; for a private conversation, the peer.
 */
struct store_target {
	bool room;                 /* a room (else a private conversation) */
	char name[STORE_NAME_MAX]; /* room name or peer account */
	int64_t last_ts;           /* newest message in the window */
};
int store_msg_targets(struct store_conn *c, const int64_t *room_ids, size_t n_rooms,
                      const char *account, int64_t after_ts, int64_t before_ts, int limit,
                      struct store_target **out, size_t *n);

enum store_match {
	STORE_MATCH_ALL = 0,   /* every word appears */
	STORE_MATCH_ANY = 1,   /* at least one word appears */
	STORE_MATCH_EXACT = 2, /* the text appears as a phrase */
};

/*
 * Full-text search (SQLite FTS5; PostgreSQL full-text search later) over
 * the rooms in room_ids and the private conversations of `account` (NULL =
 * none). Words are whole tokens, case-insensitively (unicode61 / simple
 * dictionary); with case_sensitive the match is also checked byte-for-byte
 * in the text. Removed messages never match; replaced ones only by their
 * replacement. Newest first, at most limit; *more is set when more exist.
 */
struct store_search_query {
	const int64_t *room_ids; /* readable rooms */
	size_t n_rooms;          /* how many */
	const char *account;     /* include this account's private messages, or NULL */
	const char *text;        /* words or phrase ("" = any text) */
	int match;               /* enum store_match */
	bool case_sensitive;     /* also compare case */
	const char *sender;      /* only from this account, or NULL */
	int64_t after_ts;        /* exclusive, 0 = none */
	int64_t before_ts;       /* exclusive, 0 = none */
	int limit;               /* 1..1000 */
};
int store_msg_search(struct store_conn *c, const struct store_search_query *q,
                     struct store_msg **out, size_t *n, bool *more);

/*
 * Content administration: remove (replacement NULL) or replace the text of
 * every message matching the filter; *out receives the affected messages
 * (after the change; for the IRC REDACT notices and compliance). Rooms
 * only (private messages are not administered).
 */
struct store_msg_filter {
	int64_t room_id;     /* 0 = every room */
	const char *sender;  /* NULL = anyone */
	int64_t from_ts;     /* inclusive, 0 = none */
	int64_t to_ts;       /* inclusive, 0 = none */
	const char *text;    /* NULL = any text */
	int match;           /* enum store_match, for text */
	bool case_sensitive; /* for text */
	const char *msgid;   /* only this message, or NULL */
};
int store_msg_redact(struct store_conn *c, const struct store_msg_filter *f,
                     const char *replacement, struct store_msg **out, size_t *n);

/* Remove every message of a room older than before_ts; *n removed. */
int store_room_clear(struct store_conn *c, int64_t room_id, int64_t before_ts, int64_t *n);

/* Whether the database passes the backend's integrity check. */
int store_check(struct store_conn *c, char *detail, size_t detail_len);

/* --- compliance (SPEC §5, docs/compliance.md) ------------------------------ */

/*
 * The compliance queue. An event is added inside the caller's write
 * transaction, so a message and its CHAT event commit together or not at
 * all. Adapters (src/compliance/) take events out in claimed ranges of ids
 * and purge a range only once the files holding it are durable.
 *
 * SQLite keeps the queue in a second file beside the chat database (for
 * DIR/pchat.db: DIR/pchat-compliance.db, mode 0600). A write transaction
 * cannot be atomic across two SQLite files, so an event is first written
 * to an outbox table of the chat database (same transaction as the
 * message), and store_comp_move() carries committed outbox rows over:
 * insert into the compliance file and raise its high-water mark, commit
 * (fsynced), then delete the moved rows from the outbox. A crash between
 * the two leaves rows in the outbox at or below the mark, which are deleted
 * and never inserted again; nothing is lost or doubled. PostgreSQL keeps
 * the queue in the chat database itself (replicated and failed over with
 * it); there store_comp_move() does nothing.
 *
 * Event ids increase in commit order and are never reused.
 */
#define STORE_CEVENT_TYPE_MAX  16
#define STORE_CLAIM_PARAMS_MAX 1024

struct store_cevent {
	int64_t id;                       /* set by store_cevent_add: increasing, never reused */
	int64_t ts_ms;                    /* when it happened; 0 = now (set by the store) */
	char type[STORE_CEVENT_TYPE_MAX]; /* CHAT JOIN PART BACKCHAT SEARCH FILEUPLOAD FILEDOWNLOAD
	                                     ADMIN */
	char actor[STORE_NAME_MAX];       /* who: account, guest nick, or an operator (pchatctl) */
	int64_t actor_id;                 /* account id, 0 when none */
	char address[64];                 /* client address, "pchatctl", or "" */
	int64_t room_id;                  /* room, 0 when none */
	char room[STORE_NAME_MAX];        /* room name at the time, "" when none */
	char category[STORE_NAME_MAX];    /* the room's category at the time, "" */
	bool logged;                      /* the room keeps history */
	char peer[STORE_NAME_MAX];        /* private message: the recipient, else "" */
	char msgid[32];                   /* the message's msgid, else "" */
	char *content;                    /* message text, search words, ...; owned, NULL = "" */
	char *detail;                     /* a JSON object text with the rest, or NULL; owned */
};

/*
 * Add an event to the queue, in the caller's transaction (a job, or
 * store_begin on a direct connection). Sets e->id (and e->ts_ms when 0).
 * STORE_EINVAL for an unknown type or an over-long field.
 */
int store_cevent_add(struct store_conn *c, struct store_cevent *e);
void store_cevent_free(struct store_cevent *e); /* frees content and detail, not e */

/*
 * Whether capture is on: a setting kept in the database, so every server
 * and pchatctl agree (pchatd writes it from [compliance] enabled at start).
 */
int store_comp_enabled(struct store_conn *c, bool *on);
int store_comp_set_enabled(struct store_conn *c, bool on);

/*
 * Carry up to limit committed events from the outbox into the compliance
 * database (SQLite; nothing to do elsewhere). Runs its own transactions:
 * never inside a job or store_begin. *n = events moved (0 = outbox empty).
 */
int store_comp_move(struct store_conn *c, int limit, int64_t *n);

/* A range of events being exported by one adapter. */
struct store_comp_claim {
	int64_t lo;                          /* first event id */
	int64_t hi;                          /* last event id */
	int64_t n;                           /* events in [lo, hi] */
	char owner[64];                      /* the adapter holding it */
	int64_t expires_ms;                  /* end of its lease */
	char params[STORE_CLAIM_PARAMS_MAX]; /* the adapter's parameters, kept with the claim */
	bool resumed;                        /* taken over from an adapter whose lease ran out */
};

/*
 * Claim the next range for owner, in one transaction. An expired claim
 * (oldest first) is taken over unchanged: same range, same params, so a file
 * re-written after a crash has the same name and content (out->resumed).
 * Otherwise a new range of at most max_events events that no live claim
 * covers, recorded with params. STORE_ENOTFOUND when nothing waits.
 * Moves the outbox first (store_comp_move) where there is one, unless c is
 * inside a job or store_begin (then only events already moved are claimed).
 */
int store_comp_claim(struct store_conn *c, const char *owner, const char *params, int max_events,
                     int64_t lease_ms, struct store_comp_claim *out);

/* The events of [lo, hi], oldest first (*out: array of *n; store_cevent_free each, then free). */
int store_comp_fetch(struct store_conn *c, int64_t lo, int64_t hi, struct store_cevent **out,
                     size_t *n);

/* Extend the lease of cl (still owned by cl->owner); STORE_ENOTFOUND when it is not. */
int store_comp_renew(struct store_conn *c, const struct store_comp_claim *cl, int64_t lease_ms);

/*
 * The files holding cl are durable: in one transaction purge its events,
 * drop the claim and note the run (file = the last file written, for
 * status; the export count grows by the events purged, cl->n). A claim
 * already done by another adapter is not an error (and counts nothing).
 */
int store_comp_done(struct store_conn *c, const struct store_comp_claim *cl, const char *file);

/*
 * An export failed: note error (with the time) for status. With cl and
 * release, the claim is dropped (no file of it was put in place) so its
 * range is claimed again, possibly with other params; without release it
 * stays until its lease ends and is then resumed unchanged.
 */
int store_comp_failed(struct store_conn *c, const struct store_comp_claim *cl, bool release,
                      const char *error);

/* Where the log shipping of a claim stands (store_comp_shipped). */
struct store_comp_ship {
	char segment[64];           /* the log file to wait for; "" before the first call */
	bool archiving;             /* the database ships its log (archive_mode on, a primary) */
	bool shipped;               /* segment is archived, or there is nothing to wait for */
	bool complete;              /* segment is no longer written (it can be archived) */
	bool switch_tried;          /* segment was asked to end early (once) */
	bool failing;               /* the archiver's last attempt failed */
	int64_t archive_timeout_ms; /* the longest a written log file waits to end; 0 = none */
	char last_archived[64];     /* the last file archived, "" = none */
	char last_failed[64];       /* the last file that failed to archive, "" = none */
};

/*
 * Whether everything committed before the first call — a claim just taken
 * — has reached the backup database by log shipping (docs/compliance.md
 * "Across a failover": a file is written only after its claim reached the
 * backup). Call it with *st zeroed right after store_comp_claim: it picks
 * the log file holding that commit (st->segment). Call it again with the
 * same st to see how it stands. With end_segment, when that file is still
 * being written and the archiver is not failing, it is ended now, once
 * (PostgreSQL pg_switch_wal, when the role may; else it ends by itself at
 * archive_timeout), so that it is archived at once. Never waits: the
 * caller polls, renewing its claim. st->shipped is true at the first call where the database does
 * not archive its log (SQLite; PostgreSQL with archive_mode off or no
 * archive_command, or in recovery). Call it outside any transaction (it
 * reads what is committed): STORE_EINVAL inside a job, and on PostgreSQL
 * inside store_begin.
 */
int store_comp_shipped(struct store_conn *c, bool end_segment, struct store_comp_ship *st);

struct store_comp_status {
	bool enabled;          /* capture on (store_comp_enabled) */
	int64_t queued;        /* events waiting, outbox included */
	int64_t oldest_ms;     /* time of the oldest waiting event, 0 = none */
	int64_t claims;        /* ranges being exported now */
	int64_t exported;      /* events exported since the queue was created */
	int64_t last_run_ms;   /* end of the last successful export, 0 = never */
	char last_file[512];   /* the last file written, "" = none */
	int64_t last_error_ms; /* time of the last error, 0 = none since the last success */
	char last_error[512];  /* that error */
};
int store_comp_status(struct store_conn *c, struct store_comp_status *out);

/*
 * An administrative change (accounts, groups, categories, rooms, roles,
 * content): the change-feed row (kind, name) and, when capture is on, an
 * ADMIN event saying who did what, both in the caller's transaction.
 */
struct store_admin_change {
	const char *kind;    /* change-feed kind: room category group account addin message */
	const char *name;    /* which object */
	const char *action;  /* what was done: "add", "set", "remove", "clear", "redact", ... */
	const char *actor;   /* who (account or operator) */
	int64_t actor_id;    /* account id, 0 when none */
	const char *address; /* client address or "pchatctl" */
	const char *detail;  /* a JSON object text with the changed fields, or NULL */
};
int store_admin_change(struct store_conn *c, const struct store_admin_change *ch);

/* --- pool (SPEC §6, docs/architecture.md "Pool, pool state and the fence") --- */

/*
 * The pool's control row, kept in every chat database (it replicates with
 * the data). A change writes generation + 1; servers obey the highest
 * generation they can read.
 */
#define STORE_POOL_ACTIVE_MAX 4096

struct store_pool_state {
	int64_t generation;              /* 0 = never set (a new database) */
	char state[16];                  /* "normal" or "failed-over" */
	char *active;                    /* active servers, comma-separated, "" = none set; owned */
	bool fenced;                     /* a newer generation elsewhere fenced this database */
	int64_t fenced_generation;       /* that generation (0 when not fenced) */
	int64_t changed_ms;              /* when it was written */
	char changed_by[STORE_NAME_MAX]; /* who wrote it (operator or server) */
};
/* The row (a database without one gives generation 0, "normal", active ""). */
int store_pool_get(struct store_conn *c, struct store_pool_state *out);
/*
 * Write the row if st->generation is greater than the stored one
 * (compare-and-set; STORE_EBUSY when another change got there first), in
 * the caller's transaction or its own.
 */
int store_pool_set(struct store_conn *c, const struct store_pool_state *st);
void store_pool_state_free(struct store_pool_state *st); /* frees active, not st */
/*
 * The fence (docs/architecture.md): mark this database as superseded by
 * generation, which another database of the pool carries. Its row keeps its
 * own generation, state and active list and gets fenced = true,
 * fenced_generation = generation; on PostgreSQL the database also becomes
 * read-only for every new session (default_transaction_read_only) and the
 * pchat sessions still connected to it (application_name "pchat…", not the
 * caller's) are ended, so no server keeps writing into it. Outside a
 * transaction; by names who fences (for changed_by). 0 when fenced (again);
 * STORE_EBUSY when there is nothing to fence: the row's own generation is
 * not below generation, or the database cannot be written at all (a
 * standby in recovery).
 */
int store_pool_fence(struct store_conn *c, int64_t generation, const char *by);

/* A server of the pool as it reports itself (heartbeat row). */
struct store_server {
	char name[STORE_NAME_MAX];     /* server name from the topology */
	int64_t started_ms;            /* when this process started */
	int64_t seen_ms;               /* last heartbeat */
	int clients;                   /* connections at the last heartbeat */
	bool active;                   /* accepting new clients at the last heartbeat */
	int64_t generation;            /* pool-state generation it obeys */
	char database[STORE_NAME_MAX]; /* the database it uses ("primary", "backup") */
};
/* Insert or update the heartbeat row of s->name. */
int store_server_beat(struct store_conn *c, const struct store_server *s);
/* Every server row, ordered by name (*out: array of *n, free(*out)). */
int store_server_list(struct store_conn *c, struct store_server **out, size_t *n);
/* Forget a server row (and, in pool mode, its presence rows). */
int store_server_forget(struct store_conn *c, const char *name);

/* --- pool bus: notifications between the servers of a pool --------------- */

/*
 * store_notify() queues payload (valid UTF-8 text, at most
 * STORE_NOTIFY_LARGE_MAX bytes) in the caller's write transaction; every
 * listener of every server sharing the database receives it when — and only
 * if — the transaction commits, in commit order (PostgreSQL NOTIFY on the
 * channel "pchat"; identical payloads of one transaction arrive once, so
 * payloads carry an id). SQLite has a single server: there it does nothing
 * and returns 0.
 *
 * A payload longer than STORE_NOTIFY_MAX (what NOTIFY carries) is written to
 * a table in the same transaction and the listeners receive a reference
 * instead: "@" and a number (store_notify_is_ref). The receiver reads the
 * payload with store_notify_fetch (a read job), which finds it for at least
 * STORE_NOTIFY_KEEP_MS after the commit; STORE_ENOTFOUND after that.
 */
#define STORE_NOTIFY_MAX       7900
#define STORE_NOTIFY_LARGE_MAX (1024 * 1024)
#define STORE_NOTIFY_KEEP_MS   60000

int store_notify(struct store_conn *c, const char *payload);
bool store_notify_is_ref(const char *payload);
/* The payload a reference stands for (*payload: free()). */
int store_notify_fetch(struct store_conn *c, const char *ref, char **payload);

/*
 * A listener: a connection of its own driven by the event loop (never
 * blocking it) that calls cb(payload, arg) on the loop thread for every
 * notification, its own server's included. When the connection is lost it
 * reconnects with backoff and then calls cb(NULL, arg) once: notifications
 * of the outage are lost, the caller resynchronises. NULL (with a message
 * in err) when the backend has no notifications (SQLite) or the first
 * connection fails.
 */
struct store_listener;
typedef void (*store_listen_cb)(const char *payload, void *arg);
struct store_listener *store_listen(struct store *st, struct event_base *base, store_listen_cb cb,
                                    void *arg, char *err, size_t errlen);
void store_listener_free(struct store_listener *l);

/* --- moving a database (pchatctl migrate, docs/deployment.md) ----------------- */

/*
 * Every table of a chat database as rows of plain values, the same on every
 * backend: store_dump() reads one table in key order, store_load() inserts
 * rows keeping their ids, sequence numbers, msgids and times. Booleans are
 * integers 0/1; a folded text (markers' target) is ASCII lower case. The
 * compliance queue (events, claims, state) and the id counters ('changes',
 * 'compliance': the last id handed out) are tables here too, wherever the
 * backend keeps them. Tables are listed in load order (parents first).
 */
enum store_dump_table {
	STORE_DUMP_SETTINGS,    /* key, value */
	STORE_DUMP_ACCOUNTS,    /* accounts with password hashes and SCRAM keys */
	STORE_DUMP_CATEGORIES,  /* categories with their settings */
	STORE_DUMP_GROUPS,      /* groups */
	STORE_DUMP_ADDINS,      /* add-ins */
	STORE_DUMP_ROOMS,       /* rooms with settings and roles, last_seq */
	STORE_DUMP_FOLLOWS,     /* followed rooms (account id, room id) */
	STORE_DUMP_INVITATIONS, /* pending invitations */
	STORE_DUMP_MARKERS,     /* read markers */
	STORE_DUMP_MESSAGES,    /* history: messages and events, redacted state, seq, msgid, tags */
	STORE_DUMP_CHANGES,     /* the change feed */
	STORE_DUMP_COUNTERS,    /* name, last id handed out ('changes', 'compliance') */
	STORE_DUMP_CEVENTS,     /* the compliance queue (SQLite: after moving the outbox) */
	STORE_DUMP_CCLAIMS,     /* compliance claims in progress (resumed unchanged) */
	STORE_DUMP_CSTATE,      /* compliance status: exported count, last run, last error */
	STORE_DUMP_N
};

enum store_col_type {
	STORE_COL_INT,  /* 64-bit integer */
	STORE_COL_TEXT, /* UTF-8 text */
	STORE_COL_BOOL, /* 0 or 1 (an integer in rows) */
};

struct store_dump_col {
	const char *name; /* column name (the same in every backend) */
	int type;         /* enum store_col_type */
	bool nullable;    /* may be NULL */
	bool fold;        /* text kept ASCII lower-cased (compared case-insensitively) */
};

struct store_dump_def {
	const char *name;                  /* table name in reports (and in the chat schema) */
	const struct store_dump_col *cols; /* its columns; the first n_key are the key */
	int n_cols;                        /* columns in cols */
	int n_key;                         /* rows are ordered by these (0: one row) */
};

#define STORE_DUMP_MAX_COLS 16 /* the widest table: backends size a row's array by it */

/* The tables, indexed by enum store_dump_table. */
extern const struct store_dump_def store_dump_defs[STORE_DUMP_N];

/*
 * One value of a row. From store_dump, s points into the backend's buffer
 * (valid during the callback); rows given to store_load have s NUL-terminated.
 */
struct store_value {
	bool null;     /* SQL NULL */
	int64_t i;     /* INT and BOOL columns */
	const char *s; /* TEXT columns: the bytes (not NUL-terminated necessarily) */
	size_t len;    /* their length */
};

/* Called with each row (n_cols values); returns 0 to go on, or a store_err to stop. */
typedef int (*store_row_cb)(void *arg, const struct store_value *row);

/*
 * Read every row of table, in key order, inside the caller's transaction
 * (a big table is read in batches: memory stays bounded). Returns 0, the
 * callback's error, or a store_err.
 */
int store_dump(struct store_conn *c, int table, store_row_cb cb, void *arg);

/*
 * Insert n rows of table as given (ids and all), in the caller's
 * transaction; COUNTERS and CSTATE rows overwrite the target's values.
 * STORE_EINVAL when the backend cannot be a target (SQLite).
 */
int store_load(struct store_conn *c, int table, const struct store_value *rows, size_t n);

/* What store_copy found, per table. */
struct store_copy_table {
	int64_t src_rows; /* rows read from the source */
	int64_t dst_rows; /* rows the target holds after the copy */
	char src_sum[65]; /* SHA-256 (hex) of the source rows, canonical form */
	char dst_sum[65]; /* the same over the target's rows */
	bool ok;          /* counts and checksums agree */
};

struct store_copy_report {
	struct store_copy_table t[STORE_DUMP_N]; /* by enum store_dump_table */
	int64_t outbox_moved; /* compliance events moved out of the outbox first */
	bool verified;        /* the target was read back: every sum is complete */
	bool ok;              /* every table agrees */
};

struct store_copy_options {
	bool replace;  /* empty a target that holds data (else STORE_ENOTEMPTY) */
	int64_t every; /* progress every this many rows of a table (0 = never) */
	void (*progress)(void *arg, const char *table, int64_t rows); /* or NULL */
	void *arg;                                                    /* for progress */
};

/*
 * Copy everything of src into the empty database dst (store_dump ->
 * store_load), then read dst back and compare counts and checksums table by
 * table. First moves src's compliance outbox (its only write). All of dst in
 * one transaction: committed only when every table agrees (rep->ok),
 * rolled back otherwise (then STORE_EIO) or on any error. STORE_ENOTEMPTY
 * when dst already holds accounts, rooms, groups, add-ins, messages,
 * changes, compliance events or a category other than "general" (and
 * !opt->replace). Identity sequences and counters end past the copied ids.
 */
int store_copy(struct store_conn *src, struct store_conn *dst, const struct store_copy_options *opt,
               struct store_copy_report *rep);

/*
 * Whether another process has the database at url open (SQLite: a lock on
 * its shared-memory file, so call this before opening it): true (*pid
 * set when known, else 0), false when not seen (always for PostgreSQL).
 */
bool store_in_use(const char *url, int *pid);

#endif
