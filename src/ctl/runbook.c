/*
 * runbook.c — the runbook state machine (runbook.h): steps run in order as
 * child pchatctl processes, progress kept in a state file.
 *
 * The state file is one JSON object: kind, started_ms, finished_ms (0 while
 * unfinished) and steps, an object keyed by step name with status
 * (pending, running, done, skipped, stopped), started_ms, ended_ms, exit
 * and output (the step's --json document). It is written with a temporary
 * file, fsync and rename after every transition, so a crash or a power cut
 * leaves the previous or the next state, never a torn one; a step found
 * "running" was interrupted and runs again (every step is idempotent).
 *
 * Deliberately not here: the steps themselves.
 */
#include "ctl/runbook.h"

#include "common/proc.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/vec.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTPUT_MAX (1024 * 1024) /* bytes of a step's JSON output kept */

struct runbook {
	struct ctl *ctx;                   /* the pchatctl run */
	const struct runbook_step *steps;  /* the rows */
	size_t n;                          /* how many */
	const struct runbook_options *opt; /* the caller's options */
	json_t *state;                     /* the state file's document */
	struct ptrvec strs;                /* runbook_strdup copies */
	char self[PATH_MAX];               /* this program */
};

void *runbook_arg(const struct runbook *rb)
{
	return rb->opt->arg;
}

const char *runbook_strdup(struct runbook *rb, const char *s)
{
	char *copy = xstrdup(s);

	ptrvec_push(&rb->strs, copy);
	return copy;
}

static json_t *step_state(const struct runbook *rb, const char *name)
{
	return json_object_get(json_object_get(rb->state, "steps"), name);
}

json_t *runbook_output(const struct runbook *rb, const char *step)
{
	json_t *out = json_object_get(step_state(rb, step), "output");

	return json_is_object(out) ? out : NULL;
}

static const char *status_of(const struct runbook *rb, const char *name)
{
	const char *s = json_string_value(json_object_get(step_state(rb, name), "status"));

	return s ? s : "pending";
}

/* --- the state file ---------------------------------------------------------- */

/* Write the state: temporary file, fsync, rename, fsync of the directory. */
static int save(struct runbook *rb)
{
	char tmp[PATH_MAX + 8], dir[PATH_MAX];
	char *text = json_dumps(rb->state, JSON_INDENT(1) | JSON_SORT_KEYS);
	size_t len = text ? strlen(text) : 0;
	int fd = -1, rc = -1;

	snprintf(tmp, sizeof tmp, "%s.tmp", rb->opt->state_path);
	str_copy(dir, rb->opt->state_path, sizeof dir);
	if (!text || (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto out;
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0 || (fd = -1, rename(tmp, rb->opt->state_path) != 0))
		goto out;
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
out:
	if (rc != 0)
		ctl_fail(rb->ctx, CTL_EXIT_SYSTEM, "cannot write the state file %s: %s",
		         rb->opt->state_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

/* A new state for this kind of run. */
static json_t *fresh_state(const struct runbook *rb)
{
	return json_pack("{s:s, s:I, s:I, s:{}}", "kind", rb->opt->kind, "started_ms",
	                 (json_int_t)time_now_ms(), "finished_ms", (json_int_t)0, "steps");
}

/* Whether this finished run was followed by a run of the other kind (then start afresh). */
static bool superseded(const struct runbook *rb)
{
	json_int_t finished = json_integer_value(json_object_get(rb->state, "finished_ms"));
	json_t *other = rb->opt->other_path ? json_load_file(rb->opt->other_path, 0, NULL) : NULL;
	bool later = other && finished > 0 &&
	             json_integer_value(json_object_get(other, "started_ms")) > finished;

	json_decref(other);
	return later;
}

/* Load the state file, or start a fresh state. CTL_EXIT_OK or an error code. */
static int load(struct runbook *rb)
{
	json_error_t jerr;
	const char *kind;

	if (rb->opt->restart || access(rb->opt->state_path, F_OK) != 0) {
		rb->state = fresh_state(rb);
		return CTL_EXIT_OK;
	}
	rb->state = json_load_file(rb->opt->state_path, 0, &jerr);
	kind = json_string_value(json_object_get(rb->state, "kind"));
	if (!rb->state || !json_is_object(json_object_get(rb->state, "steps")) || !kind)
		return ctl_fail(rb->ctx, CTL_EXIT_INVALID,
		                "the state file %s is damaged (%s): move it away or pass --restart",
		                rb->opt->state_path, rb->state ? "fields missing" : jerr.text);
	if (superseded(rb)) {
		json_decref(rb->state);
		rb->state = fresh_state(rb);
		return CTL_EXIT_OK;
	}
	if (strcmp(kind, rb->opt->kind) != 0)
		return ctl_fail(rb->ctx, CTL_EXIT_INUSE,
		                "the state file %s belongs to an unfinished %s: finish it first, "
		                "or pass --restart to start a %s anyway",
		                rb->opt->state_path, kind, rb->opt->kind);
	return CTL_EXIT_OK;
}

static void set_step(struct runbook *rb, const char *name, const char *status, int exit_code,
                     json_t *output)
{
	json_t *st = step_state(rb, name);
	json_int_t now = (json_int_t)time_now_ms();

	if (!st) {
		st = json_object();
		json_object_set_new(json_object_get(rb->state, "steps"), name, st);
	}
	json_object_set_new(st, "status", json_string(status));
	if (strcmp(status, "running") == 0)
		json_object_set_new(st, "started_ms", json_integer(now));
	else
		json_object_set_new(st, "ended_ms", json_integer(now));
	json_object_set_new(st, "exit", json_integer(exit_code));
	if (output)
		json_object_set_new(st, "output", output);
}

/* --- running one step ------------------------------------------------------------ */

/* The child's full argv: this program, the global options, --json, the words. */
static size_t full_argv(const struct runbook *rb, const char **words, const char **out, size_t max)
{
	size_t n = 0;

	out[n++] = rb->self;
	if (rb->ctx->config_path) {
		out[n++] = "-c";
		out[n++] = rb->ctx->config_path;
	}
	out[n++] = "--json";
	for (size_t i = 0; words[i] && n + 1 < max; i++)
		out[n++] = words[i];
	out[n] = NULL;
	return n;
}

/* Run argv with stdout into *out (JSON, NULL when not parsable); its exit code or -1. */
static int run_child(const char **argv, json_t **out)
{
	char *buf = xmalloc(OUTPUT_MAX + 1);
	int rc = proc_capture(argv, 0, buf, OUTPUT_MAX + 1);

	*out = json_loads(buf, JSON_DECODE_ANY, NULL);
	free(buf);
	return rc;
}

/* Print the top-level fields of a JSON object as "INDENTkey: value" lines. */
static void print_fields(const json_t *obj, const char *indent)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return;
	json_object_foreach((json_t *)obj, key, v)
	{
		char *text =
		    json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		printf("%s%s: %.200s\n", indent, key, text ? text : json_string_value(v));
		free(text);
	}
}

/* Print the command of a step. */
static void print_command(const char **words)
{
	printf("    $ pchatctl");
	for (size_t i = 0; words[i]; i++)
		printf(" %s", words[i]);
	printf("\n");
}

/* One step from pending (or interrupted) to done, skipped or stopped. */
static int run_step(struct runbook *rb, size_t i)
{
	const struct runbook_step *s = &rb->steps[i];
	const char *words[RUNBOOK_MAX_ARGS] = {NULL}, *argv[RUNBOOK_MAX_ARGS + 8];
	const char *why = "";
	json_t *out = NULL;
	int rc = 0;

	if (s->words)
		for (size_t k = 0; s->words[k] && k + 1 < RUNBOOK_MAX_ARGS; k++)
			words[k] = s->words[k];
	else
		rc = s->command(rb, words, &why);

	if (!rb->ctx->json)
		printf("[%zu/%zu] %s: %s\n", i + 1, rb->n, s->name, s->title);
	if (rc != 0) {
		if (!rb->ctx->json)
			printf("    %s: %s\n", rc > 0 ? "skipped" : "stopped", why);
		if (rc < 0)
			fprintf(stderr, "pchatctl: %s: step %s cannot run: %s\n", rb->opt->kind,
			        s->name, why);
		if (!rb->opt->dry_run)
			set_step(rb, s->name, rc > 0 ? "skipped" : "stopped", 0,
			         json_pack("{s:s}", "reason", why));
		return rc > 0 ? CTL_EXIT_OK : CTL_EXIT_CONFIG;
	}
	if (!rb->ctx->json)
		print_command(words);
	if (rb->opt->dry_run)
		return CTL_EXIT_OK;
	set_step(rb, s->name, "running", 0, NULL);
	if (save(rb) != 0)
		return CTL_EXIT_SYSTEM;
	full_argv(rb, words, argv, sizeof argv / sizeof argv[0]);
	fflush(stdout);
	rc = run_child(argv, &out);
	if (!rb->ctx->json)
		print_fields(out, "      ");
	set_step(rb, s->name, rc == 0 ? "done" : "stopped", rc, out);
	if (save(rb) != 0)
		return CTL_EXIT_SYSTEM;
	if (rc != 0)
		fprintf(stderr,
		        "pchatctl: %s stopped at step %zu (%s): exit %d; do what its message says, "
		        "then run the %s again: it resumes at this step\n",
		        rb->opt->kind, i + 1, s->name, rc, rb->opt->kind);
	return rc == 0 ? CTL_EXIT_OK : rc < 0 ? CTL_EXIT_SYSTEM : rc;
}

/* --- the report ---------------------------------------------------------------- */

static int64_t step_ms(const json_t *st)
{
	json_int_t a = json_integer_value(json_object_get(st, "started_ms"));
	json_int_t b = json_integer_value(json_object_get(st, "ended_ms"));

	return a > 0 && b >= a ? (int64_t)(b - a) : 0;
}

/* The "step:key" fields of the options' summary found in the outputs. */
static json_t *summary(const struct runbook *rb)
{
	json_t *sum = json_object();

	for (const char *const *k = rb->opt->summary; k && *k; k++) {
		char step[64];
		const char *colon = strchr(*k, ':');
		json_t *v;

		if (!colon || (size_t)(colon - *k) >= sizeof step)
			continue;
		memcpy(step, *k, (size_t)(colon - *k));
		step[colon - *k] = '\0';
		v = json_object_get(runbook_output(rb, step), colon + 1);
		if (v) {
			char key[128];

			snprintf(key, sizeof key, "%s.%s", step, colon + 1);
			json_object_set(sum, key, v);
		}
	}
	return sum;
}

static int report(struct runbook *rb)
{
	json_int_t started = json_integer_value(json_object_get(rb->state, "started_ms"));
	json_int_t finished = json_integer_value(json_object_get(rb->state, "finished_ms"));
	json_t *steps = json_array(), *sum = summary(rb);

	for (size_t i = 0; i < rb->n; i++) {
		json_t *st = step_state(rb, rb->steps[i].name);

		json_array_append_new(
		    steps,
		    json_pack("{s:s, s:s, s:s, s:I, s:O?}", "name", rb->steps[i].name, "title",
		              rb->steps[i].title, "status", status_of(rb, rb->steps[i].name), "ms",
		              (json_int_t)step_ms(st), "output", json_object_get(st, "output")));
	}
	if (rb->ctx->json)
		return ctl_json_out(
		    json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "kind", rb->opt->kind, "state",
		              finished ? "finished" : "unfinished", "started_ms", started,
		              "finished_ms", finished, "total_ms",
		              finished ? finished - started : 0, "steps", steps, "summary", sum));
	printf("\n%s report (state file %s)\n", rb->opt->kind, rb->opt->state_path);
	for (size_t i = 0; i < rb->n; i++) {
		json_t *st = json_array_get(steps, i);

		printf("  %-18s %-8s %8.1f s\n", rb->steps[i].name,
		       json_string_value(json_object_get(st, "status")),
		       (double)json_integer_value(json_object_get(st, "ms")) / 1000.0);
	}
	if (finished)
		printf("  %-18s %-8s %8.1f s (started %s)\n", "total", "",
		       (double)(finished - started) / 1000.0, ctl_time(started));
	print_fields(sum, "  ");
	json_decref(steps);
	json_decref(sum);
	return CTL_EXIT_OK;
}

/* --- the machine ------------------------------------------------------------------ */

int runbook_run(struct ctl *ctx, const struct runbook_step *steps, size_t n,
                const struct runbook_options *opt)
{
	struct runbook rb = {.ctx = ctx, .steps = steps, .n = n, .opt = opt};
	ssize_t len = readlink("/proc/self/exe", rb.self, sizeof rb.self - 1);
	int rc = CTL_EXIT_OK;

	if (len <= 0)
		return ctl_fail(ctx, CTL_EXIT_SYSTEM, "cannot find this program: %s",
		                strerror(errno));
	rb.self[len] = '\0';
	if ((rc = load(&rb)) != CTL_EXIT_OK)
		goto out;
	if (json_integer_value(json_object_get(rb.state, "finished_ms")) > 0 && !opt->dry_run) {
		if (!ctx->json)
			printf("the %s recorded in %s finished; pass --restart to run a new one\n",
			       opt->kind, opt->state_path);
		rc = report(&rb);
		goto out;
	}
	for (size_t i = 0; i < n && rc == CTL_EXIT_OK; i++) {
		const char *st = status_of(&rb, steps[i].name);

		if (strcmp(st, "done") == 0 || strcmp(st, "skipped") == 0) {
			if (!ctx->json)
				printf("[%zu/%zu] %s: %s earlier\n", i + 1, n, steps[i].name, st);
			continue;
		}
		rc = run_step(&rb, i);
	}
	if (opt->dry_run)
		goto out;
	if (rc == CTL_EXIT_OK) {
		json_object_set_new(rb.state, "finished_ms", json_integer(time_now_ms()));
		if (save(&rb) != 0)
			rc = CTL_EXIT_SYSTEM;
	} else {
		save(&rb);
	}
	if (rc == CTL_EXIT_OK)
		rc = report(&rb);
	else if (ctx->json)
		report(&rb);
out:
	json_decref(rb.state);
	for (size_t i = 0; i < rb.strs.n; i++)
		free(rb.strs.v[i]);
	ptrvec_free(&rb.strs);
	return rc;
}
