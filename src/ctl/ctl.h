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
#include "chat/principal.h"
#include "common/map.h"
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
	const char *config_path; /* -c FILE, NULL when none (runbook.c passes it on) */
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
extern const struct ctl_cmd ctl_group_cmds[];
extern const struct ctl_cmd ctl_category_cmds[];
extern const struct ctl_cmd ctl_addin_cmds[];
extern const struct ctl_cmd ctl_compliance_cmds[];
extern const struct ctl_cmd ctl_pool_cmds[];
extern const struct ctl_cmd ctl_logship_cmds[];

/*
 * With [pool] topology in the configuration and no database given: set
 * ctx->cfg.db_url to the database in use (the one the highest pool-state
 * generation designates; the primary when none can be read). pool.c.
 * Called by ctl_store (and commands that need the URL) only, so commands
 * that open no chat database — logship, the runbook — never wait on a
 * database of a lost data center. CTL_EXIT_OK, or CTL_EXIT_CONFIG after
 * printing why (a bad topology).
 */
int ctl_pool_database(struct ctl *ctx);

/* pchatctl failover (failover.c): a leaf at the root of the tree. */
extern const char ctl_failover_summary[];
extern const char ctl_failover_usage[];
int ctl_failover_run(struct ctl *ctx, int argc, char **argv);

/* pchatctl failback (failover.c): the same machine, the way back. */
extern const char ctl_failback_summary[];
extern const char ctl_failback_usage[];
int ctl_failback_run(struct ctl *ctx, int argc, char **argv);

/* pchatctl migrate (migrate.c): a leaf at the root of the tree. */
extern const char ctl_migrate_summary[];
extern const char ctl_migrate_usage[];
int ctl_migrate_run(struct ctl *ctx, int argc, char **argv);

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

/* mkdir -p with mode 0700 for every directory created. 0 or -1 (errno). */
int ctl_mkdir_p(const char *dir);

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

/* --- shared by the administration commands (admin.c) ---------------------- */

/* Every group of the store, as a principal resolver (group name -> members). */
struct ctl_groups {
	struct map by_name;            /* lower-case name -> struct store_group * */
	struct store_group *v;         /* the groups as read */
	size_t n;                      /* entries in v */
	struct principal_resolver res; /* resolves through by_name */
};

/*
 * Read every group (the store must be open). Returns CTL_EXIT_OK or an
 * error code after printing why; g is usable (empty) and must be freed
 * with ctl_groups_free() either way.
 */
int ctl_groups_load(struct ctl *ctx, struct ctl_groups *g);
/* Replace the member list of group name in g (for checks before a write); copies members. */
void ctl_groups_set(struct ctl_groups *g, const char *name, const char *members);
void ctl_groups_free(struct ctl_groups *g);

/*
 * The value of a list option: spec replaces current, or edits it with
 * +name/-name items (principal_list_edit). *out is the normalized list
 * (caller frees). CTL_EXIT_OK, or CTL_EXIT_INVALID after printing a message
 * that names the option and the bad item.
 */
int ctl_list_value(const struct ctl *ctx, const char *opt, const char *current, const char *spec,
                   char **out);

/*
 * Check that every account and group:NAME of list exists (accounts in the
 * store, groups in g); with allow_star false, "*" is refused too. Returns
 * CTL_EXIT_OK or CTL_EXIT_NOTFOUND (CTL_EXIT_INVALID for a refused "*")
 * after printing every unknown name.
 */
int ctl_check_principals(struct ctl *ctx, const char *opt, const char *list,
                         const struct ctl_groups *g, bool allow_star);

/*
 * Parse an ISO 8601 date ("2024-05-01", midnight UTC) or date-time
 * ("2024-05-01T12:00:00[.sss][Z]", UTC) given to option opt. With
 * end_of_day, a date alone means its last millisecond (for inclusive "to"
 * bounds). CTL_EXIT_OK or CTL_EXIT_INVALID after printing why.
 */
int ctl_date(const struct ctl *ctx, const char *opt, const char *s, bool end_of_day, int64_t *ms);

/* Parse on|off (also yes|no, true|false, 1|0) for option opt. */
int ctl_onoff(const struct ctl *ctx, const char *opt, const char *s, bool *out);

/* Start a transaction; CTL_EXIT_OK or an error code after printing why. */
int ctl_begin(struct ctl *ctx);
/*
 * Record the change (store_admin_change: the change-feed row, so a running
 * pchatd applies it within a second, and with compliance on an ADMIN event
 * naming the operator — the Unix user running pchatctl — the action and
 * detail, a JSON object that is consumed; NULL = none). Inside the
 * caller's transaction. CTL_EXIT_OK or an error code.
 */
int ctl_change(struct ctl *ctx, const char *kind, const char *name, const char *action,
               json_t *detail);
/* Commit when rc is CTL_EXIT_OK, else roll back. Returns rc or the commit's error. */
int ctl_end(struct ctl *ctx, int rc);

/* A JSON array of the items of a principal list. */
json_t *ctl_list_json(const char *list);

#endif
