/*
 * numerics.h — numeric replies from the table in numerics.def.
 *
 * Every numeric is an enum member named as in the table, so a misspelt
 * numeric is a compile error. Each row's format also exists as a constant
 * array IRC_NUMFMT_<NAME>; irc_out_numeric() passes that array as the
 * format argument of a printf-checked function, so GCC and Clang check the
 * arguments of every call site against the table (-Wformat, an error under
 * -Werror). Rendering only: which numeric to send is the handlers' choice.
 */
#ifndef PCHAT_IRC_NUMERICS_H
#define PCHAT_IRC_NUMERICS_H

#include "irc/message.h"

#include <inttypes.h> /* PRId64 in numerics.def formats */

enum irc_numeric {
#define X(name, code, fmt) name = code,
#include "irc/numerics.def"
#undef X
};

/* IRC_NUMFMT_<NAME>: the row's format; unused ones cost nothing. */
#define X(name, code, fmt) static const char IRC_NUMFMT_##name[] __attribute__((unused)) = fmt;
#include "irc/numerics.def"
#undef X

/* The row's format, or NULL for a value that is not in the table. */
const char *irc_numeric_fmt(enum irc_numeric n);

/* "ERR_NEEDMOREPARAMS", or NULL for a value that is not in the table. */
const char *irc_numeric_name(enum irc_numeric n);

/* The numeric code (461), or -1 for a value that is not in the table. */
int irc_numeric_code(enum irc_numeric n);

/*
 * Append ":server CODE target <formatted rest>" to o (after any tags the
 * caller added; the caller still calls irc_out_end()). server NULL = no
 * source; target NULL or "" = "*" (a client without a nick yet). fmt must
 * be irc_numeric_fmt(n): call it through irc_out_numeric(), which supplies
 * it and lets the compiler check the arguments. The formatted text is split
 * into parameters at spaces; " :" begins the trailing parameter.
 */
void irc_out_numeric_fmt(struct irc_out *o, const char *server, const char *target,
                         enum irc_numeric n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * irc_out_numeric(o, server, target, NAME, args...): NAME is the bare
 * numeric name (ERR_NEEDMOREPARAMS); args are checked against its format.
 */
#define irc_out_numeric(o, server, target, NAME, ...)                                              \
	irc_out_numeric_fmt(o, server, target, NAME, IRC_NUMFMT_##NAME, ##__VA_ARGS__)

#endif
