/*
 * ctl.c — the machinery of pchatctl shared by every command: walking the
 * command tree, help pages, error messages, option parsing, JSON output and
 * opening the store.
 *
 * Deliberately not here: any command's own logic (one file per noun) and
 * the global options (main.c).
 */
#include "ctl/ctl.h"

#include "common/str.h"
#include "common/timeutil.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "pchatctl user add" for the current path, plus the word of cmd if given. */
static void cmd_words(const struct ctl *ctx, char *out, size_t outlen)
{
	size_t len = 0;

	str_appendf(out, outlen, &len, "pchatctl");
	for (int i = 0; i < ctx->depth; i++)
		str_appendf(out, outlen, &len, " %s", ctx->path[i]);
}

static void help_exit_status(FILE *fp)
{
	fprintf(fp, "EXIT STATUS\n");
#define CTL_EXIT_HELP(name, value, text) fprintf(fp, "    %d  %s\n", value, text);
	CTL_EXIT_TABLE(CTL_EXIT_HELP)
#undef CTL_EXIT_HELP
}

void ctl_help(const struct ctl *ctx, const struct ctl_cmd *cmd, FILE *fp)
{
	const char *usage = cmd->usage ? cmd->usage : "";
	const char *body = strchr(usage, '\n');
	int synlen = body ? (int)(body - usage) : (int)strlen(usage);
	char words[128];

	cmd_words(ctx, words, sizeof words);
	fprintf(fp, "NAME\n    %s - %s\n\nSYNOPSIS\n    %s%s%.*s\n", words, cmd->summary, words,
	        cmd->subcommands ? " COMMAND [OPTIONS]" : "", synlen, usage);
	if (cmd->subcommands) {
		fprintf(fp, "\nCOMMANDS\n");
		for (const struct ctl_cmd *c = cmd->subcommands; c->name; c++)
			fprintf(fp, "    %-10s %s\n", c->name, c->summary);
	}
	if (body && body[1])
		fprintf(fp, "\n%s", body + 1);
	fprintf(fp, "\nGLOBAL OPTIONS (before the command)\n"
	            "    -c FILE           configuration file (docs/configuration.md)\n"
	            "    --data-dir DIR    data directory (overrides [server] data_dir)\n"
	            "    --database URL    database (overrides [database] url)\n"
	            "    --json            print one JSON document on stdout\n"
	            "    -h, --help        this help\n"
	            "    --version         print the version\n\n");
	help_exit_status(fp);
	if (cmd->subcommands)
		fprintf(fp, "\nRun '%s COMMAND --help' for the help of a command.\n", words);
}

int ctl_fail(const struct ctl *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	fputs("pchatctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int ctl_usage(const struct ctl *ctx, const char *fmt, ...)
{
	char words[128];
	va_list ap;

	cmd_words(ctx, words, sizeof words);
	fputs("pchatctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee '%s --help'\n", words);
	return CTL_EXIT_USAGE;
}

/* Whether a leaf's arguments ask for help; strips a leaf-level --json. */
static bool scan_leaf_args(struct ctl *ctx, int *argc, char **argv)
{
	bool help = false;
	int o = 1;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			help = true;
		if (strcmp(argv[i], "--json") == 0) {
			ctx->json = true;
			continue;
		}
		argv[o++] = argv[i];
	}
	*argc = o;
	argv[o] = NULL;
	return help;
}

static const struct ctl_cmd *find_cmd(const struct ctl_cmd *table, const char *name)
{
	for (const struct ctl_cmd *c = table; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int ctl_dispatch(struct ctl *ctx, const struct ctl_cmd *table, int argc, char **argv)
{
	const struct ctl_cmd *cmd = find_cmd(table, argv[0]);

	if (!cmd)
		return ctl_usage(ctx, "unknown command '%s'", argv[0]);
	if (ctx->depth < 4)
		ctx->path[ctx->depth++] = cmd->name;
	if (!cmd->subcommands) {
		if (scan_leaf_args(ctx, &argc, argv)) {
			ctl_help(ctx, cmd, stdout);
			return CTL_EXIT_OK;
		}
		return cmd->run(ctx, argc, argv);
	}
	if (argc < 2)
		return ctl_usage(ctx, "a command is missing after '%s'", cmd->name);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		ctl_help(ctx, cmd, stdout);
		return CTL_EXIT_OK;
	}
	return ctl_dispatch(ctx, cmd->subcommands, argc - 1, argv + 1);
}

int ctl_parse(struct ctl *ctx, int argc, char **argv, const struct option *opts,
              int (*on_opt)(struct ctl *ctx, void *arg, int val, const char *optarg), void *arg,
              char **pos, int min_pos, int max_pos)
{
	int c, n = 0, rc;

	optind = 0; /* glibc: full reset, argv[0] is the command word */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == '?')
			return ctl_usage(ctx, "unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return ctl_usage(ctx, "option '%s' needs a value", argv[optind - 1]);
		rc = on_opt(ctx, arg, c, optarg);
		if (rc != CTL_EXIT_OK)
			return rc;
	}
	for (int i = optind; i < argc; i++) {
		if (n >= max_pos)
			return ctl_usage(ctx, "unexpected argument '%s'", argv[i]);
		pos[n++] = argv[i];
	}
	if (n < min_pos)
		return ctl_usage(ctx, "missing argument");
	return CTL_EXIT_OK;
}

int ctl_exit_for_store(int store_rc)
{
	switch (store_rc) {
	case STORE_OK:
		return CTL_EXIT_OK;
	case STORE_ENOTFOUND:
		return CTL_EXIT_NOTFOUND;
	case STORE_EEXIST:
		return CTL_EXIT_EXISTS;
	case STORE_EINVAL:
		return CTL_EXIT_INVALID;
	case STORE_ENOTEMPTY:
		return CTL_EXIT_INUSE;
	default:
		return CTL_EXIT_DATABASE;
	}
}

int ctl_mkdir_p(const char *dir)
{
	char buf[CONFIG_PATH_MAX];
	size_t n = str_copy(buf, dir, sizeof buf);

	if (n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int ctl_store(struct ctl *ctx)
{
	struct store_options opt = {.url = ctx->cfg.db_url, .create = true, .mb = NULL};
	char err[512];

	if (ctx->st)
		return CTL_EXIT_OK;
	if (ctl_pool_database(ctx) != CTL_EXIT_OK)
		return CTL_EXIT_CONFIG;
	if (ctl_mkdir_p(ctx->cfg.data_dir) < 0)
		return ctl_fail(ctx, CTL_EXIT_SYSTEM,
		                "cannot create the data directory %s: %s (check the path and its "
		                "permissions, or pass --data-dir)",
		                ctx->cfg.data_dir, strerror(errno));
	ctx->st = store_open(&opt, err, sizeof err);
	if (!ctx->st)
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "cannot open the database %s: %s (check [database] url or "
		                "--database)",
		                ctx->cfg.db_url, err);
	ctx->conn = store_direct(ctx->st);
	return CTL_EXIT_OK;
}

int ctl_json_out(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s) {
		puts(s);
		free(s);
	}
	json_decref(v);
	return CTL_EXIT_OK;
}

const char *ctl_time(int64_t ms)
{
	static char buf[TIME_ISO_LEN];

	time_fmt_iso(ms, buf, sizeof buf);
	return buf;
}
