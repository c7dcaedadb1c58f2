/*
 * message.h — the IRC wire format: a zero-copy parser for incoming lines
 * (IRCv3 message-tags, RFC 1459/2812 grammar) and a bounded builder for the
 * lines the server sends.
 *
 * The parser only splits and checks the syntax of a line; it knows nothing
 * of commands, registration or UTF-8 policy (the dispatcher and the command
 * handlers decide those). The builder guarantees a well-formed line within
 * the wire limits; it does not know which capabilities a client negotiated
 * (render code builds one line per variant).
 */
#ifndef PCHAT_IRC_MESSAGE_H
#define PCHAT_IRC_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#define IRC_MAX_PARAMS      15   /* RFC 2812 §2.3: at most 15 parameters */
#define IRC_MAX_TAGS        64   /* more tags than this in one line is an error */
#define IRC_BODY_MAX        512  /* source..params plus CRLF (RFC 2812 §2.3) */
#define IRC_TAGS_MAX        8191 /* whole tag section incl. '@' and the space */
#define IRC_CLIENT_TAGS_MAX 4094 /* tag data a client may send (message-tags) */

/* irc_parse() results; all negative. */
enum irc_parse_err {
	IRC_PARSE_EMPTY = -1,         /* blank line or only spaces */
	IRC_PARSE_NUL = -2,           /* a NUL byte inside the line */
	IRC_PARSE_TAGS_TOO_LONG = -3, /* tag data over IRC_CLIENT_TAGS_MAX */
	IRC_PARSE_BODY_TOO_LONG = -4, /* part after the tags over 510 bytes */
	IRC_PARSE_TOO_MANY_TAGS = -5, /* more than IRC_MAX_TAGS distinct tags */
	IRC_PARSE_BAD_TAG = -6,       /* empty key or invalid key character */
	IRC_PARSE_NO_COMMAND = -7,    /* tags and/or source but no command */
	IRC_PARSE_BAD_COMMAND = -8,   /* command neither letters nor 3 digits */
};

struct irc_tag {
	char *key;   /* "+vendor/name", points into the line */
	char *value; /* unescaped in place; "" when absent or empty */
};

struct irc_msg {
	struct irc_tag tags[IRC_MAX_TAGS]; /* distinct keys, in first-seen order */
	int n_tags;                        /* tags in use */
	char *source;                      /* without ':'; NULL if none */
	char *command;                     /* upper-cased in place */
	char *params[IRC_MAX_PARAMS];      /* trailing one without its ':' */
	int n_params;                      /* parameters in use */
};

/*
 * Parse line (len bytes, no CR/LF, line[len] == '\0') into m, in place: the
 * line is modified (NULs written, tag values unescaped, command upper-cased)
 * and m points into it, so m lives no longer than the line buffer.
 * A tag repeated with the same key keeps one slot holding the last value.
 * Returns 0 or an enum irc_parse_err; on error m is unspecified.
 */
int irc_parse(char *line, size_t len, struct irc_msg *m);

/* Value of tag key (exact match) or NULL when absent. */
const char *irc_msg_tag(const struct irc_msg *m, const char *key);

/* A static English description of an irc_parse() result. */
const char *irc_parse_strerror(int err);

/*
 * Escape a tag value for the wire (IRCv3 message-tags "Escaping values").
 * Writes at most outlen - 1 bytes and a NUL (when outlen > 0); never splits
 * an escape sequence. Returns the length the whole escaped value needs
 * (excluding the NUL), like snprintf: a result >= outlen means truncated.
 */
size_t irc_tag_escape(const char *in, char *out, size_t outlen);

/*
 * An outgoing line under construction. Fill in order: tags, source,
 * command, parameters, then irc_out_end(). The struct is large (~8.7 KiB):
 * keep it on the stack of the renderer or embed it, do not copy it around.
 */
struct irc_out {
	char buf[IRC_TAGS_MAX + IRC_BODY_MAX + 1]; /* the line, NUL-terminated */
	size_t len;                                /* bytes in buf */
	size_t body_start;                         /* offset of source/command */
	int n_params;                              /* parameters written */
	bool has_tags;                             /* '@' written */
	bool in_body;                              /* tag section closed */
	bool has_trailing;                         /* a ':' parameter written */
	bool ended;                                /* CRLF appended */
	bool damaged;                              /* something cut or dropped */
};

/* Start an empty line. */
void irc_out_init(struct irc_out *o);

/*
 * Add tag key with value (raw: escaped here; NULL or "" = no value). Must
 * come before source and command. A tag that would push the tag section
 * past IRC_TAGS_MAX, or whose key holds a space, ';', '=', CR or LF, is
 * dropped (and irc_out_end() reports -1).
 */
void irc_out_tag(struct irc_out *o, const char *key, const char *value);

/*
 * Append already-escaped tag text "k=v;k2" (client-only tags relayed as
 * received). Same ordering rule and limit as irc_out_tag(); text holding a
 * space, CR or LF is not valid escaped tag text and is dropped whole.
 */
void irc_out_tags_raw(struct irc_out *o, const char *wire);

/* ":source". Call at most once, before the command. */
void irc_out_source(struct irc_out *o, const char *source);

/* The command or 3-digit numeric. Spaces, CR and LF become '_'. */
void irc_out_cmd(struct irc_out *o, const char *cmd);

/*
 * A middle parameter. Callers pass valid ones (not empty, no ':' first, no
 * space); an invalid one is written as the trailing parameter instead, so
 * the line stays well-formed. Parameters after a trailing one or beyond
 * IRC_MAX_PARAMS are dropped.
 */
void irc_out_param(struct irc_out *o, const char *p);

/* irc_out_param() of a printf-formatted value. */
void irc_out_paramf(struct irc_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The last parameter, always written as ":p". CR and LF become spaces and p
 * stops at its NUL; cut at a UTF-8 boundary if the body would pass 510.
 */
void irc_out_trailing(struct irc_out *o, const char *p);

/* irc_out_trailing() of a printf-formatted value. */
void irc_out_trailingf(struct irc_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Append "\r\n". The body (source..last parameter) never exceeds 510 bytes.
 * Returns 0, or -1 when anything had to be truncated or dropped.
 */
int irc_out_end(struct irc_out *o);

/* The whole line (tags and body), NUL-terminated. */
const char *irc_out_str(const struct irc_out *o);

/* Length of irc_out_str(). */
size_t irc_out_len(const struct irc_out *o);

/* The line without its tag section (for clients without message-tags). */
const char *irc_out_body(const struct irc_out *o);

/* Length of irc_out_body(). */
size_t irc_out_body_len(const struct irc_out *o);

#endif
