/*
 * names.h — syntax of account and room names, shared by pchatd (SASL, JOIN)
 * and pchatctl (user add, room add), so that both refuse the same names.
 *
 * Only syntax lives here: whether a name is taken is the store's business.
 * Names compare ASCII case-insensitively everywhere (CASEMAPPING=ascii).
 */
#ifndef PCHAT_CHAT_NAMES_H
#define PCHAT_CHAT_NAMES_H

#include <stdbool.h>

#define NAMES_ACCOUNT_MAX 32 /* bytes of an account name */
#define NAMES_ROOM_MAX    50 /* bytes of a room name, without '#' */

/*
 * Whether s is a valid account name (which is also the IRC nick): 1 to 32
 * bytes, an ASCII letter first, then ASCII letters, digits, '-' and '_';
 * and not one of the reserved service names "pchat", "chanserv",
 * "nickserv", "server" in any case. NULL is not valid.
 */
bool names_account_valid(const char *s);

/*
 * Whether s is a valid room name, given without the leading '#': 1 to 50
 * bytes of ASCII letters, digits, '-', '_' and '.'. NULL is not valid.
 */
bool names_room_valid(const char *s);

#endif
