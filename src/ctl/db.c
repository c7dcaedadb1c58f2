/*
 * db.c — pchatctl db check|version.
 *
 * Deliberately not here: backups, mirroring and log shipping (later
 * commands), and migrations, which store_open runs by itself.
 */
#include "ctl/ctl.h"

#include "store/store.h"

#include <getopt.h>

static int no_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	return ctl_usage(ctx, "unknown option");
}

static int db_check(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	char detail[1024] = "";
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, no_opt, NULL, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_check(ctx->conn, detail, sizeof detail);
	if (ctx->json)
		ctl_json_out(json_pack("{s:b, s:s, s:s}", "ok", rc == STORE_OK, "database",
		                       ctx->cfg.db_url, "detail", rc == STORE_OK ? "ok" : detail));
	else if (rc == STORE_OK)
		printf("%s: ok\n", ctx->cfg.db_url);
	if (rc != STORE_OK)
		return ctl_fail(ctx, CTL_EXIT_DATABASE,
		                "%s failed the integrity check: %s (restore it from a backup)",
		                ctx->cfg.db_url, detail[0] ? detail : store_strerror(rc));
	return CTL_EXIT_OK;
}

static int db_version(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, no_opt, NULL, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx); /* refuses a newer schema, migrates an older one */
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctx->json)
		return ctl_json_out(json_pack("{s:i, s:s, s:s}", "schema_version",
		                              STORE_SCHEMA_VERSION, "version", PCHAT_VERSION,
		                              "database", ctx->cfg.db_url));
	printf("schema version %d (pchatctl %s)\n", STORE_SCHEMA_VERSION, PCHAT_VERSION);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_db_cmds[] = {
    {"check", "check the integrity of the database",
     "\n"
     "DESCRIPTION\n"
     "    Run the backend's integrity check (SQLite: PRAGMA integrity_check and\n"
     "    foreign_key_check). Exit status 0 when it passes, 5 when it does not.\n\n"
     "EXAMPLES\n"
     "    pchatctl db check\n"
     "    pchatctl --json db check\n",
     db_check, NULL},
    {"version", "print the schema version",
     "\n"
     "DESCRIPTION\n"
     "    Open the database (migrating an older one to the current schema, refusing\n"
     "    a newer one with exit status 5) and print its schema version.\n\n"
     "EXAMPLES\n"
     "    pchatctl db version\n",
     db_version, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
