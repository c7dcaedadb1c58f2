/*
 * chat_int.h — what the chat engine's files share and nobody else sees.
 */
#ifndef PCHAT_CHAT_CHAT_INT_H
#define PCHAT_CHAT_CHAT_INT_H

#include "chat/chat.h"

struct event;

struct chat {
	struct chat_params p;     /* base, store, workq, limits */
	struct chat_sink sink;    /* protocol callbacks */
	void *sink_ctx;           /* their context */
	struct map users;         /* lower-cased nick -> struct chat_user */
	struct map rooms;         /* lower-cased room name -> struct chat_room */
	struct map sessions;      /* hex session id -> struct chat_session */
	struct map auth_fails;    /* "n:name" / "p:peer" -> struct auth_fail */
	uint64_t next_session_id; /* last session id given */
	size_t n_sessions;        /* sessions online */
	char *dummy_hash;         /* Argon2id of a random password (timing) */
	struct map categories;    /* lower-cased name -> struct chat_category */
	struct map groups;        /* lower-cased group name -> char * member list */
	int64_t feed_id;          /* newest change-feed id applied */
	struct event *feed_timer; /* polls the change feed */
	bool feed_busy;           /* a poll is in flight */
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

#endif
