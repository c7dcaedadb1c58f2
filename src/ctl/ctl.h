/*
 * ctl.h — what the pchatctl command files share: the context, the command
 * tree node, and helpers for options, output, errors and the store.
 *
 * A command is a node of a tree (pg_autoctl's commandline.h): a node with
 * subcommands dispatches on the next word, a leaf runs. The dispatcher
 * handles --help (man-page style, from the node's summary and usage) and a
 * leaf-level --json before a leaf runs, so leaves only parse their own
 * options. Leaves open the store with ctl_store() after checking their
 * arguments, so a usage error never creates a database.
 */
#ifndef PCHAT_CTL_CTL_H
#define PCHAT_CTL_CTL_H

#include "core/config.h"
#include "ctl/exitcodes.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct store;
struct store_conn;

struct ctl {
	struct config cfg;       /* defaults, then -c FILE, then flags, then finished */
	bool json;               /* --json: one JSON document on stdout */
	const char *path[4];     /* words of the command being run ("user", "add") */
	int depth;               /* words in path */
	struct store *st;        /* opened by ctl_store(), closed by main */
	struct store_conn *conn; /* store_direct(st) */
};

struct ctl_cmd {
	const char *name;    /* the word on the command line */
	const char *summary; /* one line, for NAME and parent listings */
	const char *usage;   /* first line: SYNOPSIS arguments; then the page body */
	int (*run)(struct ctl *ctx, int argc, char **argv); /* leaf: returns a CTL_EXIT_* */
	const struct ctl_cmd *subcommands;                  /* node: NULL-name-terminated table */
};

/* The command tables, one per noun file. */
extern const struct ctl_cmd ctl_user_cmds[];
extern const struct ctl_cmd ctl_room_cmds[];
extern const struct ctl_cmd ctl_message_cmds[];
extern const struct ctl_cmd ctl_db_cmds[];

/*
 * Run the command named by argv[0] among the nodes of table (a node's
 * subcommands, or the root). Handles --help and a leaf's --json. Returns a
 * CTL_EXIT_* code.
 */
int ctl_dispatch(struct ctl *ctx, const struct ctl_cmd *table, int argc, char **argv);

/* Print the help page of cmd (NAME, SYNOPSIS, ..., EXIT STATUS) to fp. */
void ctl_help(const struct ctl *ctx, const struct ctl_cmd *cmd, FILE *fp);

/*
 * Print "pchatctl: message" and a newline to stderr; returns code so that
 * a leaf can `return ctl_fail(ctx, CTL_EXIT_X, "...")`.
 */
int ctl_fail(const struct ctl *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A usage error: the message, then "see 'pchatctl WORDS --help'". CTL_EXIT_USAGE. */
int ctl_usage(const struct ctl *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Open the store (creating the data directory, mode 0700, and the database
 * when missing) unless it is open. Returns CTL_EXIT_OK or an error code
 * after printing why.
 */
int ctl_store(struct ctl *ctx);

/* Exit code for a store error code (STORE_ENOTFOUND -> CTL_EXIT_NOTFOUND, ...). */
int ctl_exit_for_store(int store_rc);

/*
 * Print a JSON value as the one document on stdout and take ownership of it
 * (decref). Returns CTL_EXIT_OK.
 */
int ctl_json_out(json_t *v);

/*
 * Parse the leaf's options with getopt_long (GNU permutation, so options
 * may follow positional arguments). For each option, calls on_opt(ctx, arg,
 * val, optarg); collects positional arguments into pos (up to max_pos).
 * Returns CTL_EXIT_OK, or an error code after printing why (unknown
 * option, missing value, too many or too few arguments).
 */
struct option;
int ctl_parse(struct ctl *ctx, int argc, char **argv, const struct option *opts,
              int (*on_opt)(struct ctl *ctx, void *arg, int val, const char *optarg), void *arg,
              char **pos, int min_pos, int max_pos);

/* Format ms as ISO 8601 into a static buffer (single-threaded tool). */
const char *ctl_time(int64_t ms);

#endif
