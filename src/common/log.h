/*
 * log.h — one line per event on stderr, with a level.
 *
 * Format: "2026-11-26T12:00:00.123Z LEVEL [module] message". Thread-safe
 * (each line is written with one call). Never pass a secret (password, SASL
 * payload, token) to these functions.
 */
#ifndef PCHAT_COMMON_LOG_H
#define PCHAT_COMMON_LOG_H

enum log_level {
	LOG_LEVEL_DEBUG, /* developer detail */
	LOG_LEVEL_INFO,  /* normal events: start, stop, connections */
	LOG_LEVEL_WARN,  /* something an operator may want to look at */
	LOG_LEVEL_ERROR, /* something failed */
};

/* Set the lowest level that is printed (default INFO). */
void log_set_level(enum log_level level);

/* Parse "debug", "info", "warn", "error"; returns 0 or -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);

/* Print one line when level is enabled. module is a short tag ("conn"). */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether a level would be printed (to skip costly formatting). */
int log_enabled(enum log_level level);

#define log_debug(mod, ...) log_msg(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_LEVEL_ERROR, mod, __VA_ARGS__)

#endif
