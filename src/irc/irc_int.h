/*
 * irc_int.h — the IRC layer's shared internals: the server state, the
 * client (the IRC side of a connection), capabilities, the command table,
 * and the helpers every command handler uses to answer.
 */
#ifndef PCHAT_IRC_IRC_INT_H
#define PCHAT_IRC_IRC_INT_H

#include "chat/chat.h"
#include "core/config.h"
#include "irc/irc.h"
#include "irc/message.h"
#include "irc/numerics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct conn;
struct event;
struct scram;

/* Capabilities (IRCv3). The order is the CAP LS order. */
#define IRC_CAPS(X)                                                                                \
	X(CAP_ACCOUNT_NOTIFY, "account-notify")                                                    \
	X(CAP_ACCOUNT_TAG, "account-tag")                                                          \
	X(CAP_AWAY_NOTIFY, "away-notify")                                                          \
	X(CAP_BATCH, "batch")                                                                      \
	X(CAP_CAP_NOTIFY, "cap-notify")                                                            \
	X(CAP_CHATHISTORY, "chathistory")                                                          \
	X(CAP_DRAFT_CHATHISTORY, "draft/chathistory")                                              \
	X(CAP_ECHO_MESSAGE, "echo-message")                                                        \
	X(CAP_EVENT_PLAYBACK, "draft/event-playback")                                              \
	X(CAP_EXTENDED_JOIN, "extended-join")                                                      \
	X(CAP_INVITE_NOTIFY, "invite-notify")                                                      \
	X(CAP_LABELED_RESPONSE, "labeled-response")                                                \
	X(CAP_MESSAGE_TAGS, "message-tags")                                                        \
	X(CAP_MULTI_PREFIX, "multi-prefix")                                                        \
	X(CAP_SASL, "sasl")                                                                        \
	X(CAP_SERVER_TIME, "server-time")                                                          \
	X(CAP_READ_MARKER, "draft/read-marker")                                                    \
	X(CAP_REDACTION, "draft/message-redaction")                                                \
	X(CAP_SETNAME, "setname")                                                                  \
	X(CAP_SEARCH, "soju.im/search")                                                            \
	X(CAP_STANDARD_REPLIES, "standard-replies")                                                \
	X(CAP_USERHOST_IN_NAMES, "userhost-in-names")

enum irc_cap {
#define X(id, name) id,
	IRC_CAPS(X)
#undef X
	    N_CAPS
};

#define CAPBIT(c) (1u << (c))

/* Registration state of a client: the only states commands are allowed in. */
enum client_state {
	CLIENT_UNREG = 1, /* before 001 */
	CLIENT_REG = 2,   /* after 001 */
	CLIENT_DEAD = 4,  /* connection closing: nothing more is processed */
};

enum sasl_mech {
	SASL_NONE,  /* no exchange in progress */
	SASL_PLAIN, /* PLAIN */
	SASL_SCRAM, /* SCRAM-SHA-256 */
};

/* A labeled-response context: what one labeled command answered. */
struct irc_resp {
	char label[65]; /* the client's label */
	char *buf;      /* lines answered so far (rendered, CRLF-ended) */
	size_t len;     /* bytes in buf */
	size_t cap;     /* bytes allocated */
	int n_lines;    /* lines in buf */
};

struct client {
	struct irc *irc;               /* the server */
	struct conn *conn;             /* the connection (NULL once closed) */
	uint64_t id;                   /* client id (callbacks find clients by id) */
	enum client_state state;       /* registration state */
	uint32_t caps;                 /* enabled capabilities (CAPBIT) */
	bool cap_negotiating;          /* CAP LS/REQ seen, CAP END not yet */
	int cap_version;               /* 301 or 302 */
	char nick[CHAT_NAME_MAX];      /* requested or current nick */
	char ident[16];                /* USER's user name */
	char realname[CHAT_REAL_MAX];  /* USER's real name */
	bool has_user;                 /* USER received */
	bool registering;              /* an asynchronous registration step runs */
	char account[CHAT_NAME_MAX];   /* SASL account, "" = none */
	bool admin;                    /* account is an administrator */
	int64_t account_id;            /* SASL account id, 0 = none */
	enum sasl_mech sasl;           /* exchange in progress */
	struct scram *scram;           /* SCRAM state */
	int sasl_stage;                /* SCRAM: 0 first, 1 final, 2 ack expected */
	char sasl_user[CHAT_NAME_MAX]; /* SCRAM: the name asked for (canonical once found) */
	bool sasl_known;               /* SCRAM: that account exists (not yet proven) */
	bool sasl_admin;               /* SCRAM: that account is an administrator */
	int64_t sasl_id;               /* SCRAM: that account's id */
	char *sasl_buf;                /* AUTHENTICATE chunks so far */
	size_t sasl_len;               /* bytes in sasl_buf */
	bool sasl_busy;                /* waiting for the store/worker */
	int sasl_fails;                /* failed attempts on this connection */
	int n_holds;                   /* asynchronous steps the input waits for */
	struct chat_session *session;  /* once registered */
	struct irc_resp *resp;         /* labeled-response capture, or NULL */
	unsigned batch_seq;            /* for batch ids */
	int64_t connected_ms;          /* for WHOIS idle/signon */
	struct client *next_unreg;     /* list of unregistered clients */
	struct client *prev_unreg;     /* its back link */
};

struct irc {
	struct event_base *base; /* the loop */
	struct config cfg;       /* configuration in force */
	struct net *net;         /* network core */
	struct store *store;     /* storage */
	struct chat *chat;       /* chat engine */
	struct map clients;      /* hex id -> struct client */
	uint64_t next_client_id; /* last id given */
	struct client *unreg;    /* clients not yet registered */
	struct event *tick;      /* registration timeouts */
	int64_t started_ms;      /* for RPL_CREATED */
	char created[64];        /* start time as text */
	char *motd;              /* MOTD text (owned) */
	char idle_reason[320];   /* "Closing link: ..." while idle, "" = accepting (irc_set_idle) */
	size_t max_users_seen;   /* for 265/266 */
};

/* --- commands (dispatch.c) -------------------------------------------------- */

/* A handler returns whether the client still exists (false: it was closed). */
typedef bool (*irc_handler)(struct client *cl, struct irc_msg *m);

enum irc_cmd_flags {
	CMD_NO_PENALTY = 1, /* does not count for flood control (PONG) */
	CMD_ADMIN = 2,      /* administrators only */
};

struct irc_cmd {
	const char *name;    /* upper case */
	irc_handler handler; /* the command */
	int min_params;      /* fewer: 461 */
	int max_params;      /* more are ignored (-1: no limit) */
	unsigned states;     /* client_state bits where it is allowed */
	unsigned flags;      /* irc_cmd_flags */
};

/* Parse and run one line from a client. */
void irc_dispatch(struct client *cl, char *line, size_t len);

/* --- clients (client.c) ------------------------------------------------------- */

/* net's accept callback: a new client on c. */
void irc_accept(struct conn *c, void *arg);
void irc_clients_init(struct irc *irc);
void irc_clients_free(struct irc *irc);

struct client *client_find(struct irc *irc, uint64_t id);
/* Pack/unpack a client id into a callback argument (no allocation, no dangling). */
#define CLIENT_ARG(cl) ((void *)(uintptr_t)(cl)->id)
struct client *client_from_arg(struct irc *irc, void *arg);

/*
 * Hold the client's input while an asynchronous step its next lines depend
 * on (SASL check, registration) runs; release when it is done.
 */
void client_hold(struct client *cl);
void client_release(struct client *cl);

/* Close with an ERROR line; the client goes away later (from the loop). */
void client_exit(struct client *cl, const char *reason);

/* Registration may be complete: NICK+USER, CAP END, SASL done. */
void client_try_register(struct client *cl);

/* The client's source prefix nick!ident@host. */
void client_source(const struct client *cl, char *out, size_t n);
void user_source(const struct chat_user *u, char *out, size_t n);

/* --- answering (reply.c) ------------------------------------------------------ */

/* Queue one rendered line (ends with CRLF) to cl, through its label capture. */
void client_send_raw(struct client *cl, const char *line, size_t len);
/* Queue a built line. */
void client_send_out(struct client *cl, struct irc_out *o);
/*
 * A numeric reply ":<server> NNN <nick> <formatted params>". Call it as
 * client_num(cl, NAME, args...): the compiler checks args against NAME's
 * format in numerics.def.
 */
void client_num_fmt(struct client *cl, enum irc_numeric n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define client_num(cl, NAME, ...) client_num_fmt(cl, NAME, IRC_NUMFMT_##NAME, ##__VA_ARGS__)
/* FAIL (standard-replies; sent whether or not the cap was negotiated). */
void client_fail(struct client *cl, const char *cmd, const char *code, const char *ctx,
                 const char *text);
/* A line from the server: ":server CMD params..." with server-time if negotiated. */
void client_start_server_line(struct client *cl, struct irc_out *o, const char *cmd);
/* Tags every line to this client starts with (time when server-time). */
void client_base_tags(struct client *cl, struct irc_out *o, int64_t ts_ms);
/* Whether cl has capability c. */
static inline bool client_has(const struct client *cl, enum irc_cap c)
{
	return (cl->caps & CAPBIT(c)) != 0;
}

/* Labeled response: begin for a command with a label tag, end after the handler. */
void client_resp_begin(struct client *cl, const char *label);
void client_resp_end(struct client *cl);
/* Take the capture away for an asynchronous answer / put it back. */
struct irc_resp *client_resp_detach(struct client *cl);
void client_resp_attach(struct client *cl, struct irc_resp *r);
void irc_resp_free(struct irc_resp *r);
/*
 * An answer that comes later (after a store round trip): begin takes the
 * client's label capture away; resume finds the client again (NULL when it
 * has gone) with the capture back in place; end finishes the labeled
 * response (when cl is not NULL) and frees a.
 */
struct irc_async {
	struct irc *irc;       /* server */
	void *arg;             /* CLIENT_ARG of the client */
	struct irc_resp *resp; /* its label capture, or NULL */
};
struct irc_async *irc_async_begin(struct client *cl);
struct client *irc_async_resume(struct irc_async *a);
void irc_async_end(struct irc_async *a, struct client *cl);
/* Take the capture back after a resume, for another wait. */
void irc_async_suspend(struct irc_async *a, struct client *cl);

/* A new batch id for this client. */
void client_batch_id(struct client *cl, char *out, size_t n);

/* --- capabilities (cap.c), SASL (sasl.c), ISUPPORT and welcome (welcome.c) ---- */

const char *cap_name(enum irc_cap c);
/* Forget any SASL exchange in progress (wipes its buffers). */
void sasl_reset(struct client *cl);
void welcome_send(struct client *cl);
void isupport_send(struct client *cl);
void motd_send(struct client *cl);
void lusers_send(struct client *cl);

/* --- the chat sink (sink.c) --------------------------------------------------- */

extern const struct chat_sink irc_sink;

/* Which rendering of a message this client needs (server-time/message-tags/account-tag). */
unsigned client_variant(const struct client *cl);
/* Render a message line (tags for variant v, in batch when not NULL) addressed to target. */
void render_msg(struct irc_out *o, unsigned v, const struct chat_msg *m, const char *target,
                const char *batch);

/* The session's client. */
static inline struct client *session_client(const struct chat_session *s)
{
	return s ? (struct client *)s->owner : NULL;
}

/*
 * Status prefix of u in r as viewer should see it: "@" managers, "+"
 * presenters, both with multi-prefix ("" for neither).
 */
void room_prefix(const struct client *viewer, const struct chat_room *r, const struct chat_user *u,
                 char out[3]);
/* Channel modes of a room ("+imnst" style, from its settings). */
void room_modes(const struct chat_room *r, char out[8]);
/* Whether the client may know the room exists (else: answer as if it did not). */
bool client_can_find(const struct client *cl, const struct chat_room *r);

/* Send JOIN/NAMES/TOPIC of a room just joined to one client. */
void join_burst(struct client *cl, struct chat_room *r);
void names_send(struct client *cl, struct chat_room *r);
/* RPL_TOPIC/RPL_TOPICWHOTIME, or RPL_NOTOPIC when always and there is none. */
void topic_send(struct client *cl, struct chat_room *r, bool always);

/* Most messages one CHATHISTORY may ask for (ISUPPORT CHATHISTORY=). */
#define IRC_CHATHISTORY_MAX     1000
#define IRC_CHATHISTORY_MAX_STR "1000"

/* Whether the client reads history itself (no replay on JOIN). */
static inline bool client_has_chathistory(const struct client *cl)
{
	return (cl->caps & (CAPBIT(CAP_CHATHISTORY) | CAPBIT(CAP_DRAFT_CHATHISTORY))) != 0;
}

/*
 * INVITE who into r from source: to every connection of who, and to the
 * room's clients with invite-notify (except `except`).
 */
void invite_broadcast(struct irc *irc, struct chat_room *r, struct chat_user *who,
                      const char *source, struct client *except);
/* An INVITE line for who into r, from source. */
void invite_line(struct client *cl, const char *source, const struct chat_user *who,
                 const struct chat_room *r);

/* Send the room's read marker after JOIN (draft/read-marker). */
void markread_after_join(struct client *cl, struct chat_room *r);

/* Deliver the invitations kept while the account was offline (at login). */
void deliver_invites(struct client *cl);

/* Join the rooms the client's account follows (at login). */
void join_followed(struct client *cl);

/* A private message to the pchat service (cmd/service.c). */
void service_message(struct client *cl, const char *text);

/* "#name" of a room, in a buffer that lives as long as the enclosing block. */
static inline const char *chan_name(const struct chat_room *r, char *buf)
{
	buf[0] = '#';
	memcpy(buf + 1, r->name, strnlen(r->name, CHAT_NAME_MAX - 1) + 1);
	return buf;
}
#define CHAN(r) chan_name((r), (char[CHAT_NAME_MAX + 1]){0})

/* Every handler, one per command or family (files in cmd/). */
#define IRC_HANDLERS(X)                                                                            \
	X(cap)                                                                                     \
	X(authenticate)                                                                            \
	X(nick)                                                                                    \
	X(user)                                                                                    \
	X(pass)                                                                                    \
	X(ping)                                                                                    \
	X(pong)                                                                                    \
	X(quit)                                                                                    \
	X(join)                                                                                    \
	X(part)                                                                                    \
	X(privmsg)                                                                                 \
	X(notice)                                                                                  \
	X(tagmsg)                                                                                  \
	X(topic)                                                                                   \
	X(names)                                                                                   \
	X(list)                                                                                    \
	X(who)                                                                                     \
	X(whois)                                                                                   \
	X(mode)                                                                                    \
	X(away)                                                                                    \
	X(motd)                                                                                    \
	X(lusers)                                                                                  \
	X(version)                                                                                 \
	X(time)                                                                                    \
	X(setname)                                                                                 \
	X(invite)                                                                                  \
	X(userhost)                                                                                \
	X(ison)                                                                                    \
	X(chathistory)                                                                             \
	X(search)                                                                                  \
	X(redact)                                                                                  \
	X(markread)
#define X(h) bool cmd_##h(struct client *cl, struct irc_msg *m);
IRC_HANDLERS(X)
#undef X

#endif
