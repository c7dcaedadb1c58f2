/*
 * lg_irc.h — the little IRC the load generator needs: a line splitter into
 * source, command and parameters (RFC 1459 §2.3.1, IRCv3 message-tags
 * skipped), and the benchmark message body ("t=<ns> s=<seq> xxx...").
 *
 * The parser points into the caller's line (which it modifies) and never
 * allocates. It deliberately does not unescape tags or validate anything
 * beyond what a benchmark needs.
 */
#ifndef PCHAT_BENCH_LG_IRC_H
#define PCHAT_BENCH_LG_IRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_IRC_MAX_PARAMS 15

struct lg_irc_msg {
	const char *source;                   /* prefix without ':', or NULL */
	size_t source_nick_len;               /* length of the nick part of source */
	const char *command;                  /* command or numeric, NUL-terminated */
	int n_params;                         /* parameters in param[] */
	const char *param[LG_IRC_MAX_PARAMS]; /* NUL-terminated, last may be trailing */
};

/*
 * Parse line (len bytes, no CR/LF; line[len] must be writable and is set to
 * NUL) into m. The parameters point into line. Returns 0, or -1 when there
 * is no command.
 */
int lg_irc_parse(char *line, size_t len, struct lg_irc_msg *m);

/*
 * Write a PRIVMSG line to target with a body of exactly body_size bytes
 * (or the header's length when body_size is smaller) carrying send time
 * t_ns and sequence seq, padded with 'x', then CRLF, into buf of size cap.
 * Returns the line's length, or 0 when it does not fit.
 */
size_t lg_irc_format_msg(char *buf, size_t cap, const char *target, int64_t t_ns, uint64_t seq,
                         size_t body_size);

/*
 * Parse a body made by lg_irc_format_msg. Returns 0 and sets *t_ns and
 * *seq, or -1 when the body is not a benchmark message.
 */
int lg_irc_parse_body(const char *body, int64_t *t_ns, uint64_t *seq);

/* Whether the nick part of m's source is exactly nick (ASCII case-folded). */
bool lg_irc_from(const struct lg_irc_msg *m, const char *nick, size_t nick_len);

/*
 * The client index in nick (len bytes, need not be NUL-terminated) when it
 * reads prefix, a decimal number without leading zeros, then suffix (ASCII
 * case-folded): how a receiver knows which client sent a message from the
 * message's source. Returns the index (>= 0), or -1 when nick is not one of
 * the generator's (another prefix, a nick changed after 433, no digits...).
 */
int lg_irc_nick_index(const char *nick, size_t len, const char *prefix, const char *suffix);

#endif
