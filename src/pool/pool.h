/*
 * pool.h — the pool's state logic, shared by pchatd and pchatctl (SPEC §6,
 * docs/architecture.md "Pool, pool state and the fence"):
 *
 *  - which database a pool state designates (normal -> primary,
 *    failed-over -> backup) and which database is in use: the one the
 *    highest generation readable from the topology's databases designates;
 *  - who is active: a row never written (generation 0, no list) makes every
 *    server active; once a list was written, exactly the listed servers are;
 *  - the active-list commands of pchatctl (set, add, remove, clear, swap)
 *    with the data-center rule;
 *  - in pchatd, a pool member: a heartbeat and a read of the control row
 *    every second as store jobs (never blocking the loop), telling the
 *    server when it becomes active or idle; and a watch of both databases
 *    (threads of its own) that fences a stale primary and tells the
 *    server when the pool moved to the other database;
 *  - reading both databases at once without waiting long for the one
 *    that does not matter (a data center cut off by a partition);
 *  - the fence of a stale primary (pool_fence_stale).
 *
 * Deliberately not here: the file format (topology.h), SQL (store.h),
 * refusing clients (the IRC layer, told through a callback), promoting
 * databases and shipping logs (src/ctl, src/ha).
 */
#ifndef PCHAT_POOL_POOL_H
#define PCHAT_POOL_POOL_H

#include "pool/topology.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define POOL_REASON_MAX 300  /* bytes of an idle reason, with NUL */
#define POOL_SEEN_MS    5000 /* a heartbeat older than this: not reachable */

enum pool_db_index {
	POOL_PRIMARY = 0, /* [database primary] */
	POOL_BACKUP = 1,  /* [database backup] */
};

/* "primary" or "backup". */
const char *pool_db_name(enum pool_db_index i);

/* The database a state designates: POOL_BACKUP for "failed-over", else POOL_PRIMARY. */
enum pool_db_index pool_db_for_state(const char *state);

/* Whether server is active under st (generation 0 with no list: everyone). */
bool pool_server_active(const struct store_pool_state *st, const char *server);

/* The control rows of the topology's databases, as read by pool_read(). */
struct pool_view {
	bool reachable[2];              /* opened and read (by enum pool_db_index) */
	struct store_pool_state row[2]; /* its row when reachable (owned) */
	char error[2][512];             /* why not reachable */
	enum pool_db_index use;         /* the database in use */
	int from;                       /* the row with the highest generation, -1 = none */
	int64_t generation;             /* the highest generation read (0 when none) */
	bool any;                       /* at least one database was reachable */
};

/*
 * Open a database of the topology for synchronous use (store_open without
 * threads; the schema is created or migrated). NULL with a message in err.
 */
struct store *pool_db_open(const char *url, char *err, size_t errlen);

/*
 * How long a read of both databases waits for the one the pool state does
 * not designate (pool_open_read): a data center cut off by a partition
 * drops the packets instead of refusing them, and libpq would wait its
 * whole connect_timeout (5 s) for each attempt.
 */
#define POOL_PEER_WAIT_MS 1000

/*
 * Open both databases of t at once (a thread each), read their control
 * rows and decide the database in use (pool_view_decide). The wait: for the
 * database prefer names (a pool state command's target; -1 for none, then
 * the one the highest generation read so far designates) as long as its
 * connection attempt takes; for the other at most other_wait_ms from the
 * start. A database that did not answer in time is unreachable in v ("no
 * answer within ...") and its thread finishes alone (it closes what it
 * opens). The databases read are left open in open[] for the caller to
 * close (NULL: unreachable). Free v with pool_view_free().
 */
void pool_open_read(const struct topology *t, int prefer, int other_wait_ms, struct store *open[2],
                    struct pool_view *v);

/*
 * Read the control row of both databases and decide the database in use:
 * the one the highest generation designates (the primary when none is
 * reachable). Both are opened at once and closed here (pool_open_read with
 * no preference and POOL_PEER_WAIT_MS). Free v with pool_view_free().
 */
void pool_read(const struct topology *t, struct pool_view *v);
/* Fill v->any, from, use and generation from its rows read (reachable). */
void pool_view_decide(struct pool_view *v);
void pool_view_free(struct pool_view *v);

/*
 * The fence (docs/architecture.md): every database v shows as a stale
 * primary — reachable, its own row designating itself, behind the
 * generation in force which designates the other — is fenced
 * (store_pool_fence, by names who) and v updated. With open NULL each
 * one to fence is opened here; with open given, through open[i], and a
 * database whose open[i] is NULL is left alone (v may hold its row read
 * through another connection, or none).
 * Returns how many were fenced now; failures are logged.
 */
int pool_fence_stale(const struct topology *t, struct store *const open[2], struct pool_view *v,
                     const char *by);

/*
 * Whether server (of topology t, using database db) may accept new
 * clients under st; when not, reason says why in the words a client sees
 * ("this server is idle in pool NAME ...").
 */
bool pool_decide(const struct topology *t, const struct store_pool_state *st, const char *server,
                 enum pool_db_index db, char *reason, size_t reason_len);

enum pool_active_op {
	POOL_ACTIVE_SET,    /* exactly names */
	POOL_ACTIVE_ADD,    /* current + names */
	POOL_ACTIVE_REMOVE, /* current - names */
	POOL_ACTIVE_CLEAR,  /* none */
	POOL_ACTIVE_SWAP,   /* every topology server not active now (Lync -Swap) */
};

/*
 * The active list after op over the current row cur (names: n server names
 * for set, add and remove). Refuses names not in the topology and, unless
 * low_latency, servers the command makes active outside the data center of
 * the database cur designates. The list is written in topology order with
 * the topology's spelling into out. 0, or -1 with a message in err.
 */
int pool_active_compute(const struct topology *t, const struct store_pool_state *cur,
                        enum pool_active_op op, char *const *names, size_t n, bool low_latency,
                        char *out, size_t outlen, char *err, size_t errlen);

/* --- pchatd: the pool member ---------------------------------------------- */

struct pool_member;

/* What the member asks of and tells the server (called on the loop thread). */
struct pool_member_ops {
	int (*clients)(void *arg);                                  /* connections now */
	void (*status)(bool active, const char *reason, void *arg); /* reason NULL when active */
	/* the pool now uses database use (generation): restart onto it (once) */
	void (*moved)(enum pool_db_index use, int64_t generation, void *arg);
};

#define POOL_WATCH_MS       2000 /* the watch reads both databases this often */
#define POOL_WATCH_RETRY_MS 200  /* and this soon after losing a session or its own database */

/*
 * Start heartbeats and control-row reads on store st (its jobs; st must
 * have mailbox mb on base) for server of topology t (copied) using database
 * db, starting from the row initial (copied; decided at once, so the
 * server's first status is known before it serves). ops->status is called
 * now and on every change. The watch's threads start too (completions through
 * mb). unconfirmed: the other database could not be read at start and
 * [pool] unconfirmed = fail-closed: idle until the watch reads it. Free
 * with pool_member_free() after store_close(st) and after the completions
 * it posted to mb ran (mailbox_free runs those still queued).
 */
struct pool_member *pool_member_start(struct event_base *base, struct mailbox *mb, struct store *st,
                                      const struct topology *t, const char *server,
                                      enum pool_db_index db, const struct store_pool_state *initial,
                                      bool unconfirmed, const struct pool_member_ops *ops,
                                      void *arg);

/* Stop the timer and the watch (no new jobs); the member stays valid for completions. */
void pool_member_stop(struct pool_member *m);

/* Free (NULL is fine). */
void pool_member_free(struct pool_member *m);

/*
 * Whether the watch's last round read the database this server uses (true
 * until a round says otherwise; false for NULL). pchatd restarting onto the
 * other database uses it to tell store threads stuck connecting to a lost
 * database from work that must finish.
 */
bool pool_member_db_reachable(const struct pool_member *m);

#endif
