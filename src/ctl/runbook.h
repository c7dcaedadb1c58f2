/*
 * runbook.h — a runbook as a table-driven state machine (STYLE.md): the
 * failover and failback of a pool (docs/operations.md) are rows of steps,
 * each one pchatctl command that checks its own preconditions; this module
 * runs them in order as child processes, keeps the progress in a state
 * file written atomically after every transition, resumes an interrupted
 * run at the step it was in, and reports each step's time.
 *
 *      pending --start--> running --exit 0--> done
 *                            |  \--exit != 0--> stopped --run again--> running
 *                            \--not needed--> skipped
 *
 * Deliberately not here: what the steps do (logship.c, db_ha.c, pool.c)
 * and which steps make a runbook (failover.c).
 */
#ifndef PCHAT_CTL_RUNBOOK_H
#define PCHAT_CTL_RUNBOOK_H

#include "ctl/ctl.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNBOOK_MAX_ARGS 24 /* words of one step's command */

struct runbook;

/* One step: a pchatctl command (argv words after the global options). */
struct runbook_step {
	const char *name;         /* short name, the key in the state file */
	const char *title;        /* what it does, one line */
	const char *const *words; /* a fixed command (NULL-terminated), or NULL: */
	/*
	 * Fill argv (at most RUNBOOK_MAX_ARGS - 1 words, NULL-terminated; strings
	 * must outlive the step: use runbook_strdup). Returns 0, 1 when the step is
	 * not needed here (skipped, *why says why), or -1 with *why set.
	 */
	int (*command)(struct runbook *rb, const char **argv, const char **why);
};

/* What the caller gives a run. */
struct runbook_options {
	const char *kind;       /* "failover" or "failback" (state file kind) */
	const char *state_path; /* the state file */
	const char *other_path; /* the other kind's state file: a run of it started after
	                           this one finished makes this one start afresh (or NULL) */
	bool dry_run;           /* print the plan, run nothing */
	bool restart;           /* forget a finished or stopped run and start again */
	void *arg;              /* for the step functions (runbook_arg) */
	/*
	 * Fields of the steps' outputs the report shows as its summary, as
	 * "step:key" (NULL-terminated; NULL = none): e.g. the recovery point.
	 */
	const char *const *summary;
};

/*
 * Run steps (n) with the options: prints each step as it goes and the
 * report at the end (or one JSON document with ctx->json). Returns
 * CTL_EXIT_OK when every step is done or skipped, else the exit code of
 * the step that stopped (the state file keeps where to resume).
 */
int runbook_run(struct ctl *ctx, const struct runbook_step *steps, size_t n,
                const struct runbook_options *opt);

/* The caller's argument (runbook_options.arg). */
void *runbook_arg(const struct runbook *rb);

/* A copy of s that lives as long as the run. */
const char *runbook_strdup(struct runbook *rb, const char *s);

/*
 * The JSON document a done step printed (NULL when none or not parsed), for
 * the report of a later step or of the caller (borrowed).
 */
json_t *runbook_output(const struct runbook *rb, const char *step);

#endif
