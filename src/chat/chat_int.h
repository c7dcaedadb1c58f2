/*
 * chat_int.h — what the chat engine's files share and nobody else sees.
 */
#ifndef PCHAT_CHAT_CHAT_INT_H
#define PCHAT_CHAT_CHAT_INT_H

#include "chat/chat.h"

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
};

/* Key of a session id in ch->sessions. */
void chat_session_key(uint64_t id, char out[17]);

/* Build the in-memory room from stored fields (not inserted in the map). */
struct chat_room *chat_room_new(int64_t id, const char *name, const char *topic, int64_t created_ms,
                                bool guests_allowed);

/* Insert room in ch->rooms (replacing nothing: returns the one already there). */
struct chat_room *chat_room_adopt(struct chat *ch, struct chat_room *room);

/* Set up / tear down authentication state (auth.c). */
void chat_auth_init(struct chat *ch);
void chat_auth_free_all(struct chat *ch);

#endif
