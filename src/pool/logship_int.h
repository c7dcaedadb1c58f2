/*
 * logship_int.h — what logship.c (file work, state files) and logship_seq.c
 * (names, sequence, monitor, retention) share. Not for other modules.
 */
#ifndef PCHAT_POOL_LOGSHIP_INT_H
#define PCHAT_POOL_LOGSHIP_INT_H

#include "pool/logship.h"

#include "common/str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A complete file of a directory (NAME with NAME.sha256 beside it). */
struct ls_entry {
	char name[LOGSHIP_NAME_MAX]; /* its name */
	int64_t mtime_ms;            /* its modification (archive) time */
	uint64_t size;               /* bytes */
};

/* Format "message" into err and return code (common/str.h). */
#define ls_fail str_errf

/* out = "DIR/NAMESUFFIX" (suffix may be ""). 0, or -1 when it does not fit. */
int ls_path(char *out, size_t len, const char *dir, const char *name, const char *suffix);

/* Whether path exists. */
bool ls_exists(const char *path);

/*
 * The complete files of dir sorted by name: *out (caller frees) with *n
 * entries. LOGSHIP_OK or LOGSHIP_ESYS with err set.
 */
int ls_list(const char *dir, struct ls_entry **out, size_t *n, char *err, size_t errlen);

#endif
