/*
 * exitcodes.h — every exit status of pchatctl, in one table.
 *
 * X(NAME, value, meaning): CTL_EXIT_NAME is the constant; the meanings are
 * printed in the EXIT STATUS section of every --help page and listed in
 * docs/pchatctl.md. Scripts rely on these numbers: never renumber.
 */
#ifndef PCHAT_CTL_EXITCODES_H
#define PCHAT_CTL_EXITCODES_H

#define CTL_EXIT_TABLE(X)                                                                          \
	X(OK, 0, "success")                                                                        \
	X(USAGE, 1, "usage error: unknown command or option, missing argument")                    \
	X(NOTFOUND, 2, "the named account, room or category does not exist")                       \
	X(EXISTS, 3, "the name is already taken; migrate: the target holds chat data")             \
	X(INVALID, 4, "an invalid value (name syntax, password, number, text)")                    \
	X(DATABASE, 5,                                                                             \
	  "the database failed, is busy, is newer than pchatctl, or is damaged; migrate: "         \
	  "verification failed (rolled back)")                                                     \
	X(CONFIG, 6, "the configuration file is missing or wrong")                                 \
	X(SYSTEM, 7, "a system error (data directory, standard input, output directory)")          \
	X(INUSE, 8,                                                                                \
	  "still in use: a category with rooms, an add-in attached to a room; migrate: pchatd "    \
	  "has the source open")                                                                   \
	X(ALERT, 9,                                                                                \
	  "logship: an alert holds, a gap or a corrupt file stopped the step, or the standby "     \
	  "did not catch up in time")

enum ctl_exit {
#define CTL_EXIT_ENUM(name, value, text) CTL_EXIT_##name = value,
	CTL_EXIT_TABLE(CTL_EXIT_ENUM)
#undef CTL_EXIT_ENUM
};

#endif
