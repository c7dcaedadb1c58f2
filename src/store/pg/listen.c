/*
 * listen.c — the pool bus on PostgreSQL (store.h "pool bus"): store_notify
 * as pg_notify() in the caller's transaction, and the listener, a session of
 * its own driven by the event loop that LISTENs on the channel "pchat" and
 * hands every notification to its callback on the loop thread.
 *
 * It deliberately does not know what a payload means (the pool does), and
 * it never runs on a store thread: the listener's session is used by the
 * loop thread only, the notify statement only by the thread of the caller's
 * transaction.
 *
 * The listener's session goes through these states (set_state logs them):
 *
 *   WAIT --timer--> CONNECTING --PQconnectPoll ok--> SUBSCRIBING --LISTEN ok--> READY
 *     ^                  |                                |                      |
 *     +---- failure, lost session, connect deadline: back off 100 ms .. 5 s ----+
 *
 * The first session is opened synchronously by pg_bus_listen_open (at
 * start-up, before the loop serves anyone) so that store_listen returns only
 * once LISTEN is in effect: every notification committed after it returns
 * is heard. Reconnects never block the loop: PQconnectStartParams and
 * PQconnectPoll watched on PQsocket, LISTEN sent with PQsendQuery on a
 * non-blocking session (only a host-name lookup inside PQconnectStartParams
 * may wait; give an address to avoid it). TCP keepalives find a peer that
 * vanished without closing, since a listener never sends anything itself.
 *
 * PostgreSQL delivers identical payloads notified in one transaction once:
 * payloads should carry something unique (an id) when each counts.
 */
#include "store/pg/pg_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUS_CHANNEL            "pchat"
#define BUS_BACKOFF_MIN_MS     100
#define BUS_BACKOFF_MAX_MS     5000
#define BUS_CONNECT_TIMEOUT_MS 10000 /* PQconnectPoll has no deadline of its own */
#define BUS_MAX_PER_EVENT      256   /* notifications handed out per loop turn */

enum bus_state {
	BUS_WAIT,        /* no session: the timer starts the next attempt */
	BUS_CONNECTING,  /* PQconnectPoll in progress */
	BUS_SUBSCRIBING, /* LISTEN sent, its result not read yet */
	BUS_READY,       /* listening: notifications go to cb */
};

/* A listener; base stays first (store_bus.c sees only base). */
struct pg_listener {
	struct store_listener base; /* generic part */
	struct event_base *evb;     /* the loop that drives it */
	store_listen_cb cb;         /* called on the loop thread */
	void *arg;                  /* for cb */
	char *conninfo;             /* the store's URL or conninfo (owned) */
	char label[128];            /* "host:port/db" for messages, no password */
	PGconn *db;                 /* the session, NULL in BUS_WAIT */
	struct event *io;           /* on PQsocket(db) while db exists */
	int io_fd;                  /* the socket io watches */
	short io_what;              /* the events io waits for */
	struct event *timer;        /* the backoff wait, or the connect deadline */
	enum bus_state state;       /* see the file header */
	int backoff_ms;             /* wait after the next failure */
	bool outage;                /* lost since READY: log and cb(NULL) when back */
	bool in_cb;                 /* inside cb: freeing is deferred */
	bool freed;                 /* pg_bus_listen_free was called inside cb */
};

static const struct pg_stmt bus_notify_stmt = {"bus_notify",
                                               "SELECT pg_notify('" BUS_CHANNEL "', $1)", 1};

/*
 * A large payload goes into notify_large in the same transaction and the
 * notification carries "@id"; rows older than STORE_NOTIFY_KEEP_MS go on
 * the way (large payloads are rare: a user in hundreds of rooms, a message
 * whose tags and escapes outgrow NOTIFY).
 */
static const struct pg_stmt bus_notify_large_stmt = {
    "bus_notify_large",
    "WITH d AS (DELETE FROM notify_large WHERE ts_ms < $2::bigint - $3::bigint), "
    "i AS (INSERT INTO notify_large (ts_ms, payload) VALUES ($2, $1) RETURNING id) "
    "SELECT pg_notify('" BUS_CHANNEL "', '@' || id) FROM i",
    3};

static const struct pg_stmt bus_notify_fetch_stmt = {
    "bus_notify_fetch", "SELECT payload FROM notify_large WHERE id = $1", 1};

int pg_bus_notify(struct store_conn *c, const char *payload, bool large)
{
	struct pg_conn *pc = pg_of(c);
	char b_now[24], b_keep[24];
	const char *params[] = {payload, pg_i64(b_now, time_now_ms()),
	                        pg_i64(b_keep, STORE_NOTIFY_KEEP_MS)};

	/* Outside a transaction it would be sent at once, even for a write that fails. */
	if (!pc->in_tx)
		return STORE_EINVAL;
	/* nothing to read back: sent with the batch's other statements (pg_defer) */
	return pg_defer(pc, large ? &bus_notify_large_stmt : &bus_notify_stmt, params, NULL, NULL,
	                "notify");
}

int pg_bus_notify_fetch(struct store_conn *c, int64_t id, char **payload)
{
	char b_id[24];
	const char *params[] = {pg_i64(b_id, id)};
	int rc = 0;
	PGresult *r =
	    pg_run(pg_of(c), &bus_notify_fetch_stmt, params, &rc, "reading a notification");

	if (!r)
		return rc;
	if (PQntuples(r) == 1)
		*payload = xstrdup(PQgetvalue(r, 0, 0));
	else
		rc = STORE_ENOTFOUND;
	PQclear(r);
	return rc;
}

/* --- sessions ------------------------------------------------------------- */

static void on_io(evutil_socket_t fd, short what, void *arg);

static const char *state_name(enum bus_state s)
{
	static const char *const names[] = {"wait", "connecting", "subscribing", "ready"};

	return names[s];
}

static void set_state(struct pg_listener *l, enum bus_state s)
{
	log_debug("store", "notifications %s: %s -> %s", l->label, state_name(l->state),
	          state_name(s));
	l->state = s;
}

/* "host:port/dbname" of the conninfo, never its password. */
static void bus_label(const char *conninfo, char *out, size_t outlen)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *v[4] = {NULL, NULL, NULL, NULL};
	static const char *const keys[] = {"host", "port", "dbname", "user"};

	for (const PQconninfoOption *o = opts; o && o->keyword; o++)
		for (int i = 0; i < 4; i++)
			if (strcmp(o->keyword, keys[i]) == 0 && o->val && *o->val)
				v[i] = o->val;
	snprintf(out, outlen, "%s:%s/%s", v[0] ? v[0] : "localhost", v[1] ? v[1] : "5432",
	         v[2] ? v[2] : (v[3] ? v[3] : "?"));
	PQconninfoFree(opts);
}

/* The server's notices and late errors (FATAL on termination) go to the log, not stderr. */
static void bus_notice(void *arg, const char *msg)
{
	struct pg_listener *l = arg;
	char line[256];

	str_copy(line, msg, sizeof(line));
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	log_debug("store", "notifications %s: server says: %s", l->label, line);
}

/*
 * Start a session: the conninfo's own values override these (expand_dbname).
 * NULL only when out of memory.
 */
static PGconn *bus_connect(struct pg_listener *l, bool async)
{
	static const char *const keys[] = {"connect_timeout", "application_name", PG_TCP_KEYS,
	                                   "dbname", NULL};
	char app[80];
	const char *vals[] = {"5", app, PG_TCP_VALS, l->conninfo, NULL};
	PGconn *db;

	snprintf(app, sizeof(app), "%s bus", store_client_name());
	db = async ? PQconnectStartParams(keys, vals, 1) : PQconnectdbParams(keys, vals, 1);

	if (db)
		PQsetNoticeProcessor(db, bus_notice, l);
	return db;
}

/* Watch the session's socket for what (EV_PERSIST added); 0 or -1. */
static int watch(struct pg_listener *l, short what)
{
	int fd = PQsocket(l->db);

	if (fd < 0)
		return -1;
	if (l->io && l->io_fd == fd && l->io_what == what)
		return 0;
	if (l->io)
		event_free(l->io);
	l->io = event_new(l->evb, fd, what | EV_PERSIST, on_io, l);
	l->io_fd = fd;
	l->io_what = what;
	if (!l->io || event_add(l->io, NULL) != 0)
		return -1;
	return 0;
}

static void drop_session(struct pg_listener *l)
{
	if (l->io)
		event_free(l->io);
	l->io = NULL;
	l->io_fd = -1;
	l->io_what = 0;
	if (l->db)
		PQfinish(l->db);
	l->db = NULL;
}

static void arm_timer(struct pg_listener *l, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	evtimer_add(l->timer, &tv);
}

/*
 * The session failed (why: a short reason): close it and try again after
 * the backoff. Losing a listening session is logged once per outage.
 */
static void fail(struct pg_listener *l, const char *why)
{
	char msg[256];

	str_copy(msg, l->db ? PQerrorMessage(l->db) : "", sizeof(msg));
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (l->state == BUS_READY) {
		log_warn("store", "notifications: lost connection to %s", l->label);
		l->outage = true;
		l->backoff_ms = BUS_BACKOFF_MIN_MS;
	}
	log_debug("store", "notifications %s: %s: %s", l->label, why, msg);
	drop_session(l);
	set_state(l, BUS_WAIT);
	arm_timer(l, l->backoff_ms);
	l->backoff_ms =
	    l->backoff_ms * 2 > BUS_BACKOFF_MAX_MS ? BUS_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

static void start_connect(struct pg_listener *l)
{
	l->db = bus_connect(l, true);
	set_state(l, BUS_CONNECTING);
	if (!l->db || PQstatus(l->db) == CONNECTION_BAD) {
		fail(l, "cannot start connecting");
		return;
	}
	arm_timer(l, BUS_CONNECT_TIMEOUT_MS);
	/* libpq: after PQconnectStart, behave as if PQconnectPoll said WRITING */
	if (watch(l, EV_WRITE) != 0)
		fail(l, "cannot watch the socket");
}

/* Send what libpq holds: wait for writability too while some is left. */
static void flush(struct pg_listener *l)
{
	int r = PQflush(l->db);

	if (r < 0)
		fail(l, "cannot send");
	else if (watch(l, r == 1 ? EV_READ | EV_WRITE : EV_READ) != 0)
		fail(l, "cannot watch the socket");
}

static void subscribe(struct pg_listener *l)
{
	set_state(l, BUS_SUBSCRIBING);
	if (PQsetnonblocking(l->db, 1) != 0 || !PQsendQuery(l->db, "LISTEN " BUS_CHANNEL)) {
		fail(l, "cannot send LISTEN");
		return;
	}
	flush(l);
}

static void step_connect(struct pg_listener *l)
{
	/*
	 * PQconnectPoll may close the socket and open another (next address,
	 * SSL refused) under the same number: watch it afresh at every step.
	 */
	if (l->io)
		event_free(l->io);
	l->io = NULL;
	switch (PQconnectPoll(l->db)) {
	case PGRES_POLLING_READING:
		if (watch(l, EV_READ) != 0)
			fail(l, "cannot watch the socket");
		break;
	case PGRES_POLLING_WRITING:
		if (watch(l, EV_WRITE) != 0)
			fail(l, "cannot watch the socket");
		break;
	case PGRES_POLLING_OK:
		subscribe(l);
		break;
	default:
		fail(l, "cannot connect");
		break;
	}
}

/* --- delivering ----------------------------------------------------------- */

/* cb(payload); false when the listener was freed inside it. */
static bool call_cb(struct pg_listener *l, const char *payload)
{
	l->in_cb = true;
	l->cb(payload, l->arg);
	l->in_cb = false;
	return !l->freed;
}

/* LISTEN is in effect: back from an outage, tell the caller to resynchronise. */
static bool became_ready(struct pg_listener *l)
{
	set_state(l, BUS_READY);
	evtimer_del(l->timer);
	l->backoff_ms = BUS_BACKOFF_MIN_MS;
	if (!l->outage)
		return true;
	l->outage = false;
	log_info("store", "notifications: reconnected to %s", l->label);
	return call_cb(l, NULL);
}

/* Read LISTEN's results; false when the session failed or l was freed. */
static bool take_results(struct pg_listener *l)
{
	PGresult *r;

	while (!PQisBusy(l->db)) {
		bool ok;

		r = PQgetResult(l->db);
		if (!r)
			return became_ready(l);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok) {
			fail(l, "LISTEN failed");
			return false;
		}
	}
	return true;
}

/* Hand out what was received, at most a turn's worth; false when l was freed. */
static bool deliver(struct pg_listener *l)
{
	PGnotify *n;
	int count = 0;

	while (count < BUS_MAX_PER_EVENT && (n = PQnotifies(l->db)) != NULL) {
		bool alive = call_cb(l, n->extra);

		PQfreemem(n);
		if (!alive)
			return false;
		count++;
	}
	if (count == BUS_MAX_PER_EVENT)
		event_active(l->io, EV_READ, 0); /* the rest next turn */
	return true;
}

/* Readable: take input, then LISTEN's results, then notifications. */
static bool on_readable(struct pg_listener *l)
{
	if (!PQconsumeInput(l->db) || PQstatus(l->db) == CONNECTION_BAD) {
		fail(l, "lost");
		return true;
	}
	if (l->state == BUS_SUBSCRIBING && !take_results(l))
		return !l->freed;
	if (l->state != BUS_READY)
		return true;
	return deliver(l);
}

static void destroy(struct pg_listener *l)
{
	drop_session(l);
	if (l->timer)
		event_free(l->timer);
	free(l->conninfo);
	free(l);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
	struct pg_listener *l = arg;

	(void)fd;
	if (l->state == BUS_CONNECTING) {
		step_connect(l);
		return;
	}
	if ((what & EV_WRITE) && l->db) {
		flush(l);
		if (!l->db)
			return;
	}
	if ((what & EV_READ) && l->db && !on_readable(l))
		destroy(l);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pg_listener *l = arg;

	(void)fd;
	(void)what;
	if (l->state == BUS_WAIT)
		start_connect(l);
	else if (l->state != BUS_READY)
		fail(l, "timed out");
}

/* --- opening and closing -------------------------------------------------- */

/* The first session, synchronously: LISTEN is in effect on return. */
static int open_first(struct pg_listener *l, char *err, size_t errlen)
{
	PGresult *r;
	char msg[256];

	l->db = bus_connect(l, false);
	if (!l->db || PQstatus(l->db) != CONNECTION_OK)
		goto out_error;
	r = PQexec(l->db, "LISTEN " BUS_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		goto out_error;
	}
	PQclear(r);
	if (PQsetnonblocking(l->db, 1) != 0 || watch(l, EV_READ) != 0)
		goto out_error;
	set_state(l, BUS_READY);
	return 0;

out_error:
	str_copy(msg, l->db ? PQerrorMessage(l->db) : "out of memory", sizeof(msg));
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	snprintf(err, errlen, "notifications: cannot listen on %s: %s", l->label, msg);
	return STORE_EIO;
}

struct store_listener *pg_bus_listen_open(struct store_conn *c, struct event_base *base,
                                          store_listen_cb cb, void *arg, char *err, size_t errlen)
{
	struct pg_listener *l = xcalloc(1, sizeof(*l));

	l->base.be = &store_pg_backend;
	l->evb = base;
	l->cb = cb;
	l->arg = arg;
	l->conninfo = xstrdup(pg_of(c)->conninfo); /* set at open, never changed */
	l->io_fd = -1;
	l->state = BUS_WAIT;
	l->backoff_ms = BUS_BACKOFF_MIN_MS;
	bus_label(l->conninfo, l->label, sizeof(l->label));
	l->timer = evtimer_new(base, on_timer, l);
	if (!l->timer) {
		snprintf(err, errlen, "notifications: cannot create a timer");
		goto out_destroy;
	}
	if (open_first(l, err, errlen) != 0)
		goto out_destroy;
	return &l->base;

out_destroy:
	destroy(l);
	return NULL;
}

void pg_bus_listen_free(struct store_listener *base)
{
	struct pg_listener *l = (struct pg_listener *)base;

	if (!l)
		return;
	if (l->in_cb) {
		/* on_io frees it when cb returns; nothing else runs meanwhile */
		l->freed = true;
		return;
	}
	destroy(l);
}
