/*
 * args.h — the pure argument parsers of the commands that read structured
 * client input: CAP LS/REQ (IRCv3 capability negotiation), the
 * AUTHENTICATE framing (IRCv3 sasl: 400-byte base64 chunks, "+"),
 * CHATHISTORY (IRCv3 chathistory) and SEARCH (soju.im/search).
 *
 * They take strings and fill plain structs: no client, no chat state, no
 * replies, so the handlers in cap.c, sasl.c, cmd/chathistory.c and
 * cmd/search.c stay thin and tests/fuzz can drive every byte of them.
 * Deliberately not here: looking names up (rooms, accounts), permissions,
 * and the SASL mechanisms themselves (sasl.c, chat/scram.c).
 */
#ifndef PCHAT_IRC_CMD_ARGS_H
#define PCHAT_IRC_CMD_ARGS_H

#include "chat/chat.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- CAP ---------------------------------------------------------------------- */

/*
 * The negotiation version "CAP LS [version]" asks for: 302 for any integer
 * of at least 302 (a newer client gets our newest version), else 301
 * (version absent, smaller or not a number).
 */
int args_cap_ls_version(const char *arg);

/*
 * Read the capability list of "CAP REQ :list" (names separated by spaces,
 * "-name" to disable). All or nothing: every name must be a known
 * capability, and with version 302 cap-notify may not be disabled.
 * Returns 0 and sets *add and *del (CAPBIT masks; the new set is
 * (old | add) & ~del), or -1 (NAK) leaving them 0.
 */
int args_cap_req(const char *arg, int cap_version, uint32_t *add, uint32_t *del);

/* --- AUTHENTICATE framing ------------------------------------------------------- */

#define ARGS_SASL_CHUNK 400  /* base64 bytes per AUTHENTICATE line */
#define ARGS_SASL_MAX   8192 /* decoded payload bytes accepted */
/* base64 bytes that can hold ARGS_SASL_MAX decoded bytes */
#define ARGS_SASL_B64_MAX ((ARGS_SASL_MAX + 2) / 3 * 4)

/*
 * Add one AUTHENTICATE parameter to the base64 gathered so far (*buf of
 * *len bytes, NUL-terminated, owned by the caller, NULL when empty). "+"
 * ends the payload (alone: an empty one); a chunk shorter than 400 bytes
 * is the last. Sets *done when the payload is complete. Returns 0, or -1
 * (ERR_SASLTOOLONG) when the chunk is longer than 400 bytes or the payload
 * would pass ARGS_SASL_B64_MAX; the caller then drops *buf. Superseded
 * buffers are wiped before they are freed.
 */
int args_sasl_chunk(char **buf, size_t *len, const char *chunk, bool *done);

/*
 * Decode the gathered base64 (strict: padding required, no white space).
 * Returns 0 with *out a new buffer (caller wipes and frees) of *out_len
 * bytes plus a NUL after them, or -1 (malformed) with *out NULL.
 */
int args_sasl_decode(const char *b64, size_t len, char **out, size_t *out_len);

/* --- CHATHISTORY ---------------------------------------------------------------- */

enum args_ch_sub {
	ARGS_CH_BEFORE,  /* BEFORE target ref limit */
	ARGS_CH_AFTER,   /* AFTER target ref limit */
	ARGS_CH_LATEST,  /* LATEST target *|ref limit */
	ARGS_CH_AROUND,  /* AROUND target ref limit */
	ARGS_CH_BETWEEN, /* BETWEEN target ref ref limit */
	ARGS_CH_TARGETS, /* TARGETS timestamp= timestamp= limit */
};

/* A reference: msgid=..., timestamp=..., or "*". */
struct args_ch_ref {
	bool star;      /* "*" */
	char msgid[32]; /* msgid reference, or "" */
	int64_t ts;     /* timestamp reference (ms, > 0), or 0 */
};

/* A parsed CHATHISTORY command. */
struct args_ch {
	enum args_ch_sub sub;         /* subcommand */
	const char *target;           /* params[1] (not TARGETS), not looked up */
	struct args_ch_ref r1;        /* first reference */
	struct args_ch_ref r2;        /* second (BETWEEN, TARGETS) */
	int limit;                    /* 1..IRC_CHATHISTORY_MAX */
	struct chat_history_window w; /* bounds and limit; room/peer left empty */
	int64_t from_ts;              /* TARGETS: the earlier timestamp */
	int64_t to_ts;                /* TARGETS: the later timestamp */
};

/* args_ch() results: the FAIL CHATHISTORY INVALID_PARAMS variants. */
enum args_ch_err {
	ARGS_CH_EUNKNOWN = -1, /* unknown subcommand (context: params[0]) */
	ARGS_CH_EPARAMS = -2,  /* bad reference, limit or count (context: the subcommand) */
};

/* The subcommand's name in upper case. */
const char *args_ch_sub_name(enum args_ch_sub sub);

/*
 * Parse "CHATHISTORY sub ..." from its n (>= 1) parameters into *a (which
 * points into params). Returns 0 or an enum args_ch_err.
 */
int args_ch(int n, char *const *params, struct args_ch *a);

/* --- SEARCH --------------------------------------------------------------------- */

#define ARGS_SEARCH_DEFAULT_LIMIT 50   /* results when limit= is not given */
#define ARGS_SEARCH_MAX_LIMIT     1000 /* most results one SEARCH returns */

/* A parsed SEARCH. */
struct args_search {
	struct chat_search_query q; /* everything but q.room */
	char room[CHAT_NAME_MAX];   /* in= room name without '#', "" = every room */
};

/*
 * Parse the SEARCH attributes "k=v;k2=v2" (message-tags syntax and
 * escaping) into *a. Returns 0, or -1 with *why the FAIL SEARCH
 * INVALID_PARAMS text (static). A query with no criterion is accepted
 * here (see args_search_empty) so the handler can check in= first.
 */
int args_search(const char *attrs, struct args_search *a, const char **why);

/* Whether q asks for nothing (no text, author or dates): INVALID_PARAMS. */
bool args_search_empty(const struct chat_search_query *q);

#endif
