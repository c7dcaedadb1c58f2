/*
 * chat.h — the chat engine: users and their sessions, rooms and who is in
 * them, posting messages (stored durably before anyone sees them), away
 * state, authentication of accounts.
 *
 * It knows neither IRC text nor SQL: protocol layers call these functions
 * and learn what happened through struct chat_sink; storage goes through
 * store.h jobs. Every function runs on the event-loop thread.
 */
#ifndef PCHAT_CHAT_CHAT_H
#define PCHAT_CHAT_CHAT_H

#include "common/map.h"
#include "common/vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;
struct workq;
struct chat;
struct chat_user;
struct chat_session;

#define CHAT_NAME_MAX  64  /* nick/account/room name bytes with NUL */
#define CHAT_TOPIC_MAX 390 /* description bytes with NUL (TOPICLEN=389) */
#define CHAT_AWAY_MAX  390 /* away message bytes with NUL (AWAYLEN=389) */
#define CHAT_REAL_MAX  128 /* real name bytes with NUL */

/* Errors of the chat layer (negative; 0 is success). */
enum chat_err {
	CHAT_OK = 0,
	CHAT_ENOROOM = -20,   /* no such room (or not visible to the user) */
	CHAT_ENOUSER = -21,   /* no such user online */
	CHAT_EDENIED = -22,   /* not allowed (category scope, guest) */
	CHAT_ENOTIN = -23,    /* not in that room */
	CHAT_EINUSE = -24,    /* nick in use */
	CHAT_ESTORE = -25,    /* the store failed: nothing was delivered */
	CHAT_EAUTH = -26,     /* wrong credentials (never says which part) */
	CHAT_EDISABLED = -27, /* account exists but chat-enabled is off */
	CHAT_EGONE = -28,     /* the session went away meanwhile */
};

/* A category as the chat engine keeps it (SPEC §3). */
struct chat_category {
	char name[CHAT_NAME_MAX]; /* display name */
	char key[CHAT_NAME_MAX];  /* lower-cased name (map key) */
	char *allowed;            /* scope, principal list (owned) */
	char *denied;             /* ethical wall, principal list (owned) */
	char *creators;           /* who may create rooms, principal list (owned) */
	bool invitations;         /* rooms send invitations unless a room says off */
	bool file_upload;         /* file upload allowed */
	bool history;             /* messages are kept as history */
};

struct chat_room {
	int64_t id;                   /* store id */
	char name[CHAT_NAME_MAX];     /* display name, without '#' */
	char key[CHAT_NAME_MAX];      /* lower-cased name (map key) */
	char topic[CHAT_TOPIC_MAX];   /* description */
	char topic_by[CHAT_NAME_MAX]; /* who set the topic ("" = unknown) */
	int64_t topic_ms;             /* when it was set */
	int64_t created_ms;           /* room creation time */
	struct ptrvec members;        /* struct chat_user * present in the room */
	char category[CHAT_NAME_MAX]; /* its category's key */
	int privacy;                  /* enum store_privacy values (0 closed, 1 open, 2 secret) */
	int type;                     /* 0 normal, 1 auditorium */
	bool disabled;                /* hidden, emptied, content kept */
	bool invitations_off;         /* off; false = inherit the category's */
	char addin[CHAT_NAME_MAX];    /* add-in name, "" = none */
	char *member_list;            /* members, principal list (owned) */
	char *manager_list;           /* managers, principal list (owned) */
	char *presenter_list;         /* presenters, principal list (owned) */
	bool quiet;                   /* too many present: JOIN/PART/QUIT not broadcast */
};

struct chat_user {
	char name[CHAT_NAME_MAX];     /* nick (= account name for accounts) */
	char key[CHAT_NAME_MAX];      /* lower-cased name (map key) */
	char ident[20];               /* user part of the source (protocol-chosen) */
	char host[64];                /* host part of the source (protocol-chosen) */
	char realname[CHAT_REAL_MAX]; /* real name (setname) */
	char away[CHAT_AWAY_MAX];     /* away message, "" = present */
	bool account;                 /* logged in to an account (false: guest) */
	int64_t account_id;           /* its store id (0: guest); for compliance */
	bool admin;                   /* administrator */
	bool bot;                     /* bot mode (+B) */
	int64_t signon_ms;            /* first session's login time */
	int64_t last_active_ms;       /* last message sent */
	struct ptrvec sessions;       /* struct chat_session * of this user */
	struct ptrvec rooms;          /* struct chat_room * joined */
	struct ptrvec servers;        /* other pool servers it is connected through (char *) */
	uint64_t mark;                /* scratch for fan-out de-duplication */
};

struct chat_session {
	struct chat_user *user; /* owner user */
	void *owner;            /* the protocol layer's connection object */
	uint64_t id;            /* unique for the process lifetime */
	char addr[64];          /* client address (compliance), "" = unknown */
};

enum chat_msg_kind {
	CHAT_PRIVMSG,  /* a normal message */
	CHAT_NOTICE,   /* a notice */
	CHAT_TAGMSG,   /* tags only (typing, reactions): relayed, not stored */
	CHAT_EV_JOIN,  /* history event (event-playback): someone joined */
	CHAT_EV_PART,  /* someone left (text: reason) */
	CHAT_EV_TOPIC, /* the description changed (text: the new one) */
	CHAT_EV_MODE,  /* modes changed (text: "+o nick" as sent) */
};

/* Whether a kind is a history event rather than a message. */
static inline bool chat_kind_is_event(enum chat_msg_kind k)
{
	return k >= CHAT_EV_JOIN;
}

/* A message as delivered (and, except TAGMSG, stored). */
struct chat_msg {
	enum chat_msg_kind kind;       /* what it is */
	char msgid[32];                /* IRCv3 msgid */
	int64_t ts_ms;                 /* server time */
	int64_t seq;                   /* per-room sequence (0 for private) */
	struct chat_user *from;        /* sender (NULL if gone meanwhile) */
	char from_name[CHAT_NAME_MAX]; /* sender nick */
	struct chat_room *room;        /* target room, or NULL */
	struct chat_user *to;          /* target user, or NULL */
	const char *text;              /* body ("" for TAGMSG) */
	const char *client_tags;       /* client-only tags, escaped wire form, or NULL */
};

/* How chat tells the protocol layer what happened. ctx is sink_ctx. */
struct chat_sink {
	/* A stored message for a room: deliver to every member's sessions. */
	void (*room_message)(void *ctx, const struct chat_msg *m, struct chat_session *from);
	/* A private message: deliver to m->to's sessions and the sender's others. */
	void (*private_message)(void *ctx, const struct chat_msg *m, struct chat_session *from);
	/* who joined room (tell the room, including who). */
	void (*join)(void *ctx, struct chat_room *room, struct chat_user *who);
	/* who left room (tell the room, including who). */
	void (*part)(void *ctx, struct chat_room *room, struct chat_user *who, const char *reason);
	/* who's last session left: tell those who share a room with who. */
	void (*quit)(void *ctx, struct chat_user *who, const char *reason);
	/* who's away state changed. */
	void (*away)(void *ctx, struct chat_user *who);
	/* who's real name changed. */
	void (*setname)(void *ctx, struct chat_user *who);
	/* room's topic changed. */
	void (*topic)(void *ctx, struct chat_room *room);
	/* who is removed from room by the system (tell the room, who included). */
	void (*kick)(void *ctx, struct chat_room *room, struct chat_user *who, const char *reason);
	/* who's roles in room changed (now: chat_is_manager/presenter). */
	void (*roles)(void *ctx, struct chat_room *room, struct chat_user *who, bool was_manager,
	              bool was_presenter);
	/* who was invited into room (by inviter, "" = the system): tell who and the room. */
	void (*invite)(void *ctx, struct chat_room *room, struct chat_user *who,
	               const char *inviter);
	/* a message of room was removed or replaced by an administrator. */
	void (*redact)(void *ctx, struct chat_room *room, const char *msgid);
	/* room's privacy or type changed (from old_privacy / old_type). */
	void (*settings)(void *ctx, struct chat_room *room, int old_privacy, int old_type);
	/* who may no longer be connected (account removed or disabled). */
	void (*kill)(void *ctx, struct chat_user *who, const char *reason);
};

struct chat_params {
	struct event_base *base;      /* loop for timers */
	struct store *store;          /* durable storage (not owned) */
	struct workq *workq;          /* password hashing threads (not owned) */
	int auth_fail_delay_ms;       /* first delay after a failed login (doubles) */
	int argon2_opslimit;          /* Argon2id cost of the site's hashes, so that */
	int argon2_memlimit_kib;      /* unknown accounts cost the same to check */
	bool guests_allowed;          /* guests exist: "*" covers them too */
	int participant_update_limit; /* large rooms: quiet above it, loud below 80% */
	bool compliance;              /* capture compliance events (SPEC §5) */
	const char *pool_server;      /* this server's name in a pool, NULL = no pool (bus.c) */
};

/* --- life ----------------------------------------------------------------- */

/* A chat engine over p->store; sink callbacks get sink_ctx. */
struct chat *chat_new(const struct chat_params *p, const struct chat_sink *sink, void *sink_ctx);
void chat_free(struct chat *ch);

/*
 * Follow changes made elsewhere (pchatctl, other servers) through the
 * store's change feed, applied within a second (feed.c).
 */
void chat_feed_start(struct chat *ch);

/*
 * In a pool (p.pool_server set): listen to the other servers and announce
 * this one's events (bus.c). Nothing without a pool. 0, or -1 when the
 * database offers no notifications or cannot be reached (logged).
 */
int chat_bus_start(struct chat *ch);

/* Load every room from the store (blocking: at start-up, before the loop). 0 or CHAT_ESTORE. */
int chat_load(struct chat *ch);

/* --- authentication (asynchronous) --------------------------------------- */

struct chat_account {
	char name[CHAT_NAME_MAX]; /* account name, display case */
	int64_t id;               /* account id (store) */
	bool admin;               /* administrator */
	char *scram;              /* stored SCRAM keys or NULL (owned) */
};

/* rc is 0 (acct filled, valid only during the call) or CHAT_EAUTH / CHAT_EDISABLED / CHAT_ESTORE.
 */
typedef void (*chat_auth_cb)(int rc, const struct chat_account *acct, void *arg);

/*
 * Check name/password (SASL PLAIN). The Argon2id check runs on the worker
 * pool; after recent failures for the same name or peer the answer is
 * delayed (auth_fail_delay_ms, doubling, at most 8 s). peer is the client
 * address, for throttling.
 */
void chat_auth_password(struct chat *ch, const char *name, const char *password, const char *peer,
                        chat_auth_cb cb, void *arg);

/*
 * Look an account up for SCRAM (acct->scram set, or NULL when unknown;
 * rc CHAT_EAUTH when unknown, with acct still passed as NULL).
 */
void chat_auth_lookup(struct chat *ch, const char *name, chat_auth_cb cb, void *arg);

/* Record a failed SCRAM proof (for throttling) / a success. */
void chat_auth_failed(struct chat *ch, const char *name, const char *peer);

/* Delay (ms) the protocol layer should wait before answering a failure. */
int chat_auth_delay_ms(struct chat *ch, const char *name, const char *peer);

/* --- presence ------------------------------------------------------------- */

/*
 * Attach a new session to user `name` (created when not online).
 * account=false (guest) fails with CHAT_EINUSE when the nick is online.
 * account=true joins the existing user of that account if present.
 * On success *out is the session (owned by chat until chat_logout).
 */
int chat_login(struct chat *ch, const char *name, bool account, bool admin, void *owner,
               struct chat_session **out);

/*
 * Detach a session. When it was the user's last one, the user leaves every
 * room (sink->quit, with reason) and is freed.
 */
/*
 * s's user is ready (registration done, its attributes set): in a pool, its
 * state is announced to the other servers when this is its first session.
 */
void chat_login_done(struct chat *ch, struct chat_session *s);
void chat_logout(struct chat *ch, struct chat_session *s, const char *reason);

struct chat_user *chat_user_find(struct chat *ch, const char *name);
struct chat_room *chat_room_find(struct chat *ch, const char *name);

/* Every user / room online, for LIST, WHO, LUSERS (iterate with map_first). */
const struct map *chat_users(const struct chat *ch);
const struct map *chat_rooms(const struct chat *ch);

/* Whether user is in room. */
bool chat_in_room(const struct chat_user *u, const struct chat_room *r);

/* The session with this id, or NULL when it has gone. */
struct chat_session *chat_session_find(struct chat *ch, uint64_t id);

/* Change away ("" or NULL = back); tells sink->away. */
void chat_set_away(struct chat *ch, struct chat_user *u, const char *msg);
/* Change the real name; tells sink->setname. */
void chat_set_realname(struct chat *ch, struct chat_user *u, const char *realname);

/* --- rooms ---------------------------------------------------------------- */

typedef void (*chat_join_cb)(int rc, struct chat_room *room, void *arg);

/*
 * Join user of session s to room `name` (without '#'). A room not in
 * memory is looked up in the store first (so rooms created by pchatctl
 * appear without restart). cb gets 0 and the room (sink->join has told the
 * room), or CHAT_ENOROOM / CHAT_EDENIED / CHAT_EGONE. Joining a room the
 * user is in already: cb(0, room) without a new sink->join.
 */
void chat_join(struct chat *ch, struct chat_session *s, const char *name, chat_join_cb cb,
               void *arg);

/* user leaves room (sink->part). CHAT_ENOTIN when not in it. */
int chat_part(struct chat *ch, struct chat_user *u, struct chat_room *room, const char *reason);

/*
 * Set the room's topic (its description; managers and administrators only:
 * CHAT_EDENIED otherwise). Stored; sink->topic on success. cb may be NULL.
 */
typedef void (*chat_done_cb)(int rc, void *arg);
void chat_set_topic(struct chat *ch, struct chat_user *u, struct chat_room *room, const char *topic,
                    chat_done_cb cb, void *arg);

/* --- messages ------------------------------------------------------------- */

/*
 * Post text from session s to a room or a user. Room: the sender must be in
 * it (CHAT_ENOTIN). The message gets a msgid and server time, is stored
 * (not TAGMSG), and only when its commit is durable does cb run (rc 0, the
 * message) and the sink deliver it. On a store failure cb gets CHAT_ESTORE
 * and no one sees the message. cb may be NULL. text and client_tags are
 * copied.
 */
typedef void (*chat_post_cb)(int rc, const struct chat_msg *m, void *arg);
void chat_post_room(struct chat *ch, struct chat_session *s, struct chat_room *room,
                    enum chat_msg_kind kind, const char *text, const char *client_tags,
                    chat_post_cb cb, void *arg);
void chat_post_user(struct chat *ch, struct chat_session *s, struct chat_user *to,
                    enum chat_msg_kind kind, const char *text, const char *client_tags,
                    chat_post_cb cb, void *arg);

/*
 * The newest `limit` messages of a room, oldest first (replayed on JOIN to
 * clients without chathistory), read by u (recorded as BACKCHAT). msgs[i].from is the sender when
 * online, else NULL (from_name is always set); valid only during the call.
 */
typedef void (*chat_history_cb)(int rc, const struct chat_msg *msgs, size_t n, void *arg);
void chat_history_latest(struct chat *ch, struct chat_user *u, struct chat_room *room, int limit,
                         chat_history_cb cb, void *arg);

/*
 * The rules of SPEC §3 (chat/rules.h) applied to the engine's users, rooms,
 * categories and groups: who may know a room exists (LIST, WHOIS, search,
 * TARGETS; everyone else is answered as if it did not), join it and read
 * its history, post in it, manage it; and the roles shown as @ and +.
 */
bool chat_can_find(const struct chat *ch, const struct chat_user *u, const struct chat_room *r);
bool chat_can_join(const struct chat *ch, const struct chat_user *u, const struct chat_room *r);
bool chat_can_post(const struct chat *ch, const struct chat_user *u, const struct chat_room *r);
bool chat_can_manage(const struct chat *ch, const struct chat_user *u, const struct chat_room *r);
bool chat_is_manager(const struct chat *ch, const struct chat_user *u, const struct chat_room *r);
bool chat_is_presenter(const struct chat *ch, const struct chat_user *u, const struct chat_room *r);
/* Whether u may create rooms in the category (its creators, administrators). */
bool chat_can_create(const struct chat *ch, const struct chat_user *u, const char *category);
/* Whether adding a member to the room invites them (room inherit, category on). */
bool chat_invitations_on(const struct chat *ch, const struct chat_room *r);
/* Whether the room's category keeps history. */
bool chat_keeps_history(const struct chat *ch, const struct chat_room *r);

/* Whether u may read room's history (= may join it). */
bool chat_may_read(const struct chat *ch, const struct chat_user *u, const struct chat_room *room);

/*
 * A window of one conversation's history (IRCv3 chathistory). References
 * are msgids or times ("" / 0 = none), exclusive; AROUND takes about half
 * the limit on each side of its reference, the reference message included.
 */
struct chat_history_window {
	struct chat_room *room;   /* a room, or NULL for the conversation with peer */
	char peer[CHAT_NAME_MAX]; /* private conversation partner (account) */
	char after_msgid[32];     /* lower bound by msgid */
	char before_msgid[32];    /* upper bound by msgid */
	char around_msgid[32];    /* AROUND reference by msgid */
	int64_t after_ts;         /* lower bound by time */
	int64_t before_ts;        /* upper bound by time */
	int64_t around_ts;        /* AROUND reference by time */
	int limit;                /* messages wanted (1..) */
	bool from_newest;         /* take the newest `limit` of the window */
	bool messages_only;       /* no history events (clients without event-playback) */
};

/* Read a window for user u: cb gets CHAT_ENOROOM / CHAT_EDENIED / CHAT_ESTORE or 0. */
void chat_history_query(struct chat *ch, struct chat_user *u, const struct chat_history_window *w,
                        chat_history_cb cb, void *arg);

/* Conversations with activity in a time window (chathistory TARGETS), oldest first. */
struct chat_target {
	bool room;                /* a room (name without '#') or a private peer */
	char name[CHAT_NAME_MAX]; /* which */
	int64_t last_ts;          /* newest message in the window */
};
typedef void (*chat_targets_cb)(int rc, const struct chat_target *t, size_t n, void *arg);
void chat_history_targets(struct chat *ch, struct chat_user *u, int64_t after_ts, int64_t before_ts,
                          int limit, chat_targets_cb cb, void *arg);

/* rc 0, or an error with a message for the user (valid during the call). */
typedef void (*chat_manage_cb)(int rc, const char *msg, void *arg);

/* A list of names (valid during the call). */
typedef void (*chat_list_cb)(int rc, const char *const *names, size_t n, void *arg);

/*
 * The invitations kept for u while offline, taken (delivered once):
 * names are room names; valid during the call.
 */
void chat_invites_take(struct chat *ch, struct chat_user *u, chat_list_cb cb, void *arg);

/*
 * Remove one message of a room (administrators only: end users cannot
 * delete messages, SPEC §3): CHAT_EDENIED, CHAT_ENOROOM (unknown msgid or a
 * private message), or 0; every client with message-redaction learns it
 * through the change feed.
 */
void chat_redact(struct chat *ch, struct chat_user *u, const char *msgid, chat_manage_cb cb,
                 void *arg);

/*
 * Read markers (draft/read-marker): the time up to which u has read target
 * ("#room" or an account), kept per account so every device agrees. Set
 * only ever moves forward; cb gets the marker in force (0 = none).
 */
typedef void (*chat_marker_cb)(int rc, int64_t ts_ms, void *arg);
void chat_marker_get(struct chat *ch, struct chat_user *u, const char *target, chat_marker_cb cb,
                     void *arg);
void chat_marker_set(struct chat *ch, struct chat_user *u, const char *target, int64_t ts_ms,
                     chat_marker_cb cb, void *arg);

/*
 * Record a history event of room for event-playback (who: an account, or
 * the server's name; text: the PART reason, the new description, or the
 * protocol's mode string), when the room keeps history. Not awaited.
 */
void chat_event(struct chat *ch, struct chat_room *r, const char *who, enum chat_msg_kind kind,
                const char *text);

/* --- search (search.c) ------------------------------------------------------- */

/*
 * A search over every room u may read (or only `room`) and u's private
 * conversations (when room is NULL). Semantics of the text match: see
 * docs/protocol.md "Search" (words, any word, exact phrase, case).
 */
struct chat_search_query {
	struct chat_room *room;   /* only this room, or NULL for all readable */
	char text[400];           /* words or phrase ("" = any) */
	int match;                /* 0 all words, 1 any word, 2 exact phrase */
	bool case_sensitive;      /* compare case too */
	char from[CHAT_NAME_MAX]; /* only this author, or "" */
	int64_t after_ts;         /* exclusive, 0 = none */
	int64_t before_ts;        /* exclusive, 0 = none */
	int limit;                /* 1..1000 */
};
/* msgs newest first; more: further results exist. */
typedef void (*chat_search_cb)(int rc, const struct chat_msg *msgs, size_t n, bool more, void *arg);
void chat_search(struct chat *ch, struct chat_user *u, const struct chat_search_query *q,
                 chat_search_cb cb, void *arg);

/* --- changes users make from their client (manage.c) ----------------------- */

enum chat_room_field {
	CHAT_SET_DESCRIPTION, /* value: the text */
	CHAT_SET_PRIVACY,     /* open, closed, secret */
	CHAT_SET_TYPE,        /* normal, auditorium */
	CHAT_SET_INVITATIONS, /* inherit, off */
	CHAT_EDIT_MEMBERS,    /* "+name,-group:x" edits or a replacement list */
	CHAT_EDIT_MANAGERS,   /* likewise */
	CHAT_EDIT_PRESENTERS, /* likewise */
};

/*
 * Change a room's setting or role list (managers and administrators). The
 * change is stored with a change-feed record and reaches every connected
 * client through the feed (members removed, roles shown) within a second.
 */
void chat_room_manage(struct chat *ch, struct chat_user *u, struct chat_room *r,
                      enum chat_room_field field, const char *value, chat_manage_cb cb, void *arg);

/* Create a room in category (its creators and administrators); u becomes its manager. */
void chat_room_create(struct chat *ch, struct chat_user *u, const char *name, const char *category,
                      const char *privacy, chat_manage_cb cb, void *arg);

/* Follow (on) or unfollow a room; the followed rooms are joined at every login. */
void chat_follow(struct chat *ch, struct chat_user *u, struct chat_room *r, bool on,
                 chat_manage_cb cb, void *arg);
/* The rooms u follows. */
void chat_following(struct chat *ch, struct chat_user *u, chat_list_cb cb, void *arg);

/* Counters for LUSERS and metrics. */
struct chat_stats {
	size_t n_users;    /* users online */
	size_t n_sessions; /* sessions online */
	size_t n_rooms;    /* rooms loaded */
	size_t n_guests;   /* users without an account */
};
void chat_get_stats(const struct chat *ch, struct chat_stats *st);

#endif
