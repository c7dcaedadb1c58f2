/*
 * chat_int.h — what the chat engine's files share and nobody else sees.
 */
#ifndef PCHAT_CHAT_CHAT_INT_H
#define PCHAT_CHAT_CHAT_INT_H

#include "chat/chat.h"

#include <jansson.h>

struct event;

struct chat {
	struct chat_params p;       /* base, store, workq, limits */
	struct chat_sink sink;      /* protocol callbacks */
	void *sink_ctx;             /* their context */
	struct map users;           /* lower-cased nick -> struct chat_user */
	struct map rooms;           /* lower-cased room name -> struct chat_room */
	struct map rooms_by_id;     /* decimal store id -> the same rooms (chat_room_by_id) */
	struct map sessions;        /* hex session id -> struct chat_session */
	struct map auth_fails;      /* "n:name" / "p:peer" -> struct auth_fail */
	uint64_t next_session_id;   /* last session id given */
	size_t n_sessions;          /* sessions online */
	char *dummy_hash;           /* Argon2id of a random password (timing) */
	struct map categories;      /* lower-cased name -> struct chat_category */
	struct map groups;          /* lower-cased group name -> char * member list */
	int64_t feed_id;            /* newest change-feed id applied */
	struct event *feed_timer;   /* polls the change feed */
	bool feed_busy;             /* a poll is in flight */
	struct store_listener *bus; /* pool notifications (bus.c), NULL = no pool */
	struct event *bus_timer;    /* dead servers, late rooms */
	struct ptrvec bus_pending;  /* struct bus_pending * waiting for their room */
	bool bus_busy;              /* a server-list read is in flight */
	struct ptrvec bus_inbox;    /* char * events held behind a large one being read */
	size_t bus_inbox_head;      /* next of bus_inbox to apply */
	bool bus_fetching;          /* a large event is being read (bus_inbox waits) */
	struct ptrvec bus_sweep;    /* "server\nuser" not yet confirmed since an outage */
	int64_t bus_sweep_until_ms; /* when the unconfirmed are dropped, 0 = no sweep */
};

/* Key of a session id in ch->sessions. */
void chat_session_key(uint64_t id, char out[17]);

/* --- model.c: rooms, categories, groups from store rows ---------------- */
struct store_room;
struct store_category;
struct chat_room *chat_room_from_store(const struct store_room *sr);
void chat_room_apply(struct chat_room *r, const struct store_room *sr);
void chat_room_free(struct chat_room *r);
struct chat_category *chat_category_from_store(const struct store_category *sc);
void chat_category_put(struct chat *ch, struct chat_category *c); /* takes c */
void chat_category_free(struct chat_category *c);
/* Set (members non-NULL) or forget (NULL) a group. */
void chat_group_put(struct chat *ch, const char *name, const char *members);
void chat_model_free(struct chat *ch);

/* How principal lists expand here (groups of this engine, guests per config). */
struct principal_resolver;
void chat_resolver(const struct chat *ch, struct principal_resolver *res);

/* A stored row as a message (strings borrowed from s). */
struct store_msg;
void chat_msg_from_store(struct chat *ch, const struct store_msg *s, struct chat_room *room,
                         struct chat_user *to, struct chat_msg *m);

/* The kind named in the store ("PRIVMSG", "JOIN", ...). */
enum chat_msg_kind chat_kind_of(const char *kind);

/* Update r->quiet after its head count changed (large rooms). */
void chat_room_count(const struct chat *ch, struct chat_room *r);

/* --- feed.c: applying changes made by pchatctl (the change feed) ----------- */
void chat_feed_stop(struct chat *ch);

/* Insert room in ch->rooms (replacing nothing: returns the one already there). */
struct chat_room *chat_room_adopt(struct chat *ch, struct chat_room *room);

/* Set up / tear down authentication state (auth.c). */
void chat_auth_init(struct chat *ch);
void chat_auth_free_all(struct chat *ch);

/* --- capture.c: compliance events (SPEC §5) ---------------------------- */

struct store_cevent;
struct store_conn;

/* Who did something, as compliance records it. */
struct chat_actor {
	char name[CHAT_NAME_MAX]; /* account or guest nick ("" = the system) */
	int64_t id;               /* account id, 0 = none */
	char addr[64];            /* client address, "" = unknown */
};

/* Fill a from u (NULL = the system) and its session s (NULL = its first one). */
void chat_actor_of(struct chat_actor *a, const struct chat_user *u, const struct chat_session *s);

/*
 * A new event of type for u (session s, room r; each may be NULL), or NULL
 * when capture is off. Owned by the caller until chat_capture_submit or
 * chat_capture_free.
 */
struct store_cevent *chat_capture_new(struct chat *ch, const char *type, const struct chat_user *u,
                                      const struct chat_session *s, const struct chat_room *r);
/* The same for the actor a. */
struct store_cevent *chat_capture_new_as(struct chat *ch, const char *type,
                                         const struct chat_actor *a, const struct chat_room *r);
/* Set its content (copied) and detail (a JSON object, consumed; NULL = none). */
void chat_capture_set(struct store_cevent *e, const char *content, json_t *detail);
void chat_capture_free(struct store_cevent *e);
/* Write e in a job of its own (not awaited; a failure is logged). Takes e; NULL is fine. */
void chat_capture_submit(struct chat *ch, struct store_cevent *e);

/*
 * Inside a write job: the change-feed row of an administrative change and,
 * when capture is on, its ADMIN event (store_admin_change). detail is
 * consumed (NULL = none).
 */
int chat_admin_record(struct store_conn *c, const struct chat_actor *a, const char *kind,
                      const char *name, const char *action, json_t *detail);

/* BACKCHAT: a read the window w of room r (or of the conversation with peer): msgs[0..n). */
void chat_capture_backchat(struct chat *ch, const struct chat_actor *a, const struct chat_room *r,
                           const char *peer, const struct chat_history_window *w,
                           const struct chat_msg *msgs, size_t n);
/* SEARCH: a searched q (in room, or everywhere) and got n results. */
void chat_capture_search(struct chat *ch, const struct chat_actor *a,
                         const struct chat_search_query *q, const struct chat_room *room, size_t n,
                         bool more);

/* --- chat.c: users and membership shared by presence and the pool bus ---- */

/* A new user without sessions, in ch->users. */
struct chat_user *chat_user_new(struct chat *ch, const char *name, bool account);
/* Drop u from every room (no sink calls), from ch->users, and free it. */
void chat_user_forget(struct chat *ch, struct chat_user *u);
/* u enters / leaves r (membership on both sides, the room's size rules). */
void chat_room_enter(struct chat *ch, struct chat_room *r, struct chat_user *u);
void chat_room_leave(struct chat *ch, struct chat_room *r, struct chat_user *u);
/* The room with store id id, or NULL. */
struct chat_room *chat_room_by_id(struct chat *ch, int64_t id);
/* Forget a room removed from the store (both maps) and free it. */
void chat_room_drop(struct chat *ch, struct chat_room *r);

/* --- bus.c: one chat network over a pool's servers --------------------------- */

struct store_msg;

/* Whether this server is part of a pool (listening to its notifications). */
static inline bool chat_bus_on(const struct chat *ch)
{
	return ch->bus != NULL;
}
void chat_bus_stop(struct chat *ch);
/* Announce ev (a JSON object, consumed) to the pool in a job of its own. */
void chat_bus_announce(struct chat *ch, json_t *ev);
/*
 * The announcement of a stored message, built on the store thread inside
 * the message's own job (server: this server's name); NULL when it cannot
 * be announced (not representable, or over STORE_NOTIFY_LARGE_MAX).
 * Thread-safe: touches nothing of the engine.
 */
char *chat_bus_message_text(const char *server, const struct store_msg *sm, bool account);
void chat_bus_user(struct chat *ch, const struct chat_user *u);
void chat_bus_join(struct chat *ch, const struct chat_room *r, const struct chat_user *u);
void chat_bus_part(struct chat *ch, const struct chat_room *r, const struct chat_user *u,
                   const char *reason);
void chat_bus_quit(struct chat *ch, const struct chat_user *u, const char *reason);
void chat_bus_attr(struct chat *ch, const struct chat_user *u);
void chat_bus_topic(struct chat *ch, const struct chat_room *r);

#endif
