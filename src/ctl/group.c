/*
 * group.c — pchatctl group add|remove|show|list and group members
 * add|remove: local groups of accounts, usable as "group:NAME" wherever a
 * principal list is expected.
 *
 * A group holds accounts and other groups (never "*"); cycles and nesting
 * deeper than 8 levels are refused. Every write records a "group" change
 * so that a running pchatd re-evaluates memberships.
 *
 * Deliberately not here: who may join what (chat/rules.h).
 */
#include "ctl/ctl.h"

#include "common/str.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POS 256 /* principals on one command line */

enum { OPT_MEMBERS = 256 };

/* Options of the group leaves. */
struct group_opts {
	const char *members; /* --members */
};

static int on_group_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct group_opts *o = arg;

	if (val != OPT_MEMBERS)
		return ctl_usage(ctx, "unknown option");
	o->members = optarg;
	return CTL_EXIT_OK;
}

static int check_group_name(const struct ctl *ctx, const char *name)
{
	if (!principal_group_name_valid(name))
		return ctl_fail(
		    ctx, CTL_EXIT_INVALID,
		    "invalid group name '%s': use 1-50 letters, digits, '-', '_' or '.'", name);
	return CTL_EXIT_OK;
}

static json_t *group_json(const struct store_group *g)
{
	return json_pack("{s:I, s:s, s:o, s:I, s:s}", "id", (json_int_t)g->id, "name", g->name,
	                 "members", ctl_list_json(g->members), "created_ms",
	                 (json_int_t)g->created_ms, "created", ctl_time(g->created_ms));
}

/* Check the new member list of group name: principals exist, no "*", no cycle. */
static int check_members(struct ctl *ctx, struct ctl_groups *gs, const char *name,
                         const char *members)
{
	char err[512];
	int rc = ctl_check_principals(ctx, "members", members, gs, false);

	if (rc != CTL_EXIT_OK)
		return rc;
	ctl_groups_set(gs, name, members);
	if (principal_group_check(name, &gs->res, err, sizeof err) < 0)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "%s; nothing was changed", err);
	return CTL_EXIT_OK;
}

/* Write a new or changed group and its change record in one transaction. */
static int write_group(struct ctl *ctx, struct store_group *g, bool add)
{
	int rc = ctl_begin(ctx), src;

	if (rc != CTL_EXIT_OK)
		return rc;
	src = add ? store_group_add(ctx->conn, g) : store_group_update(ctx->conn, g);
	if (src == STORE_EEXIST)
		rc = ctl_fail(ctx, CTL_EXIT_EXISTS,
		              "group '%s' already exists (see 'pchatctl group "
		              "show %s')",
		              g->name, g->name);
	else if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot write group '%s': %s", g->name,
		              store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "group", g->name, add ? "add" : "set", group_json(g));
	return ctl_end(ctx, rc);
}

static int group_add(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"members", required_argument, NULL, OPT_MEMBERS},
	                                     {NULL, 0, NULL, 0}};
	struct group_opts o = {0};
	struct ctl_groups gs = {0};
	struct store_group g = {0};
	char *pos[1], *members = NULL;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_group_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = check_group_name(ctx, pos[0]);
	if (rc == CTL_EXIT_OK)
		rc = ctl_list_value(ctx, "--members", "", o.members ? o.members : "", &members);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc == CTL_EXIT_OK)
		rc = ctl_groups_load(ctx, &gs);
	if (rc == CTL_EXIT_OK)
		rc = check_members(ctx, &gs, pos[0], members);
	if (rc != CTL_EXIT_OK)
		goto out;
	str_copy(g.name, pos[0], sizeof g.name);
	g.members = members;
	rc = write_group(ctx, &g, true);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (ctx->json)
		rc = ctl_json_out(group_json(&g));
	else
		printf("created group '%s' (%s)\n", g.name, members[0] ? members : "no members");
out:
	free(members);
	ctl_groups_free(&gs);
	return rc;
}

/* Read one group by the name on the command line. */
static int get_group(struct ctl *ctx, const char *name, struct store_group *g)
{
	int rc = check_group_name(ctx, name);

	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_group_get(ctx->conn, name, g);
	if (rc == STORE_ENOTFOUND)
		return ctl_fail(ctx, CTL_EXIT_NOTFOUND, "no group '%s' (see 'pchatctl group list')",
		                name);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read group '%s': %s", name,
		                store_strerror(rc));
	return CTL_EXIT_OK;
}

static int group_remove(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct group_opts o = {0};
	struct store_group g = {0};
	char *pos[1];
	int rc, src;

	rc = ctl_parse(ctx, argc, argv, opts, on_group_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = get_group(ctx, pos[0], &g);
	if (rc == CTL_EXIT_OK)
		rc = ctl_begin(ctx);
	if (rc != CTL_EXIT_OK)
		goto out;
	src = store_group_remove(ctx->conn, g.name);
	if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot remove group '%s': %s", g.name,
		              store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "group", g.name, "remove", NULL);
	rc = ctl_end(ctx, rc);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (ctx->json)
		rc = ctl_json_out(json_pack("{s:s, s:b}", "name", g.name, "removed", 1));
	else
		printf("removed group '%s' (lists naming group:%s now match nobody through it)\n",
		       g.name, g.name);
out:
	store_group_free(&g);
	return rc;
}

/* The accounts a group expands to, as a JSON array or printed lines. */
static int print_expanded(struct ctl *ctx, const struct store_group *g, json_t *obj)
{
	struct store_account *acc = NULL;
	struct ctl_groups gs = {0};
	size_t n = 0;
	char list[STORE_NAME_MAX + 8];
	int rc = ctl_groups_load(ctx, &gs), src;

	snprintf(list, sizeof list, "group:%s", g->name);
	src = rc == CTL_EXIT_OK ? store_account_list(ctx->conn, &acc, &n) : STORE_OK;
	if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot list accounts: %s",
		              store_strerror(src));
	if (rc == CTL_EXIT_OK) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			if (principal_list_has(list, acc[i].name, false, &gs.res))
				json_array_append_new(arr, json_string(acc[i].name));
		if (obj) {
			json_object_set_new(obj, "accounts", arr);
		} else {
			printf("accounts:");
			for (size_t i = 0; i < json_array_size(arr); i++)
				printf("%s%s", i ? "," : " ",
				       json_string_value(json_array_get(arr, i)));
			printf("\n");
			json_decref(arr);
		}
	}
	for (size_t i = 0; i < n; i++)
		store_account_free(&acc[i]);
	free(acc);
	ctl_groups_free(&gs);
	return rc;
}

static int group_show(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct group_opts o = {0};
	struct store_group g = {0};
	json_t *j = NULL;
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_group_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = get_group(ctx, pos[0], &g);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (ctx->json)
		j = group_json(&g);
	else
		printf("name:     %s\ncreated:  %s\nmembers:  %s\n", g.name, ctl_time(g.created_ms),
		       g.members);
	rc = print_expanded(ctx, &g, j);
	if (j)
		rc = rc == CTL_EXIT_OK ? ctl_json_out(j) : (json_decref(j), rc);
out:
	store_group_free(&g);
	return rc;
}

static int group_list(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct group_opts o = {0};
	struct store_group *v = NULL;
	json_t *arr = NULL;
	size_t n = 0;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_group_opt, &o, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_group_list(ctx->conn, &v, &n);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot list groups: %s",
		                store_strerror(rc));
	if (ctx->json)
		arr = json_array();
	else
		printf("%-24s %s\n", "GROUP", "MEMBERS");
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(arr, group_json(&v[i]));
		else
			printf("%-24s %s\n", v[i].name, v[i].members);
		store_group_free(&v[i]);
	}
	free(v);
	return arr ? ctl_json_out(arr) : CTL_EXIT_OK;
}

/* "+a,+b" (or "-a,-b") from the principals on the command line (each may hold commas). */
static char *edit_spec(char **pos, int n, char op)
{
	size_t cap = 2, len = 0;
	char *s;

	for (int i = 0; i < n; i++)
		cap += 2 * strlen(pos[i]) + 2;
	s = xmalloc(cap);
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		char *copy = xstrdup(pos[i]), *save = NULL;

		for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
			str_appendf(s, cap, &len, "%s%c%s", len ? "," : "", op, t);
		free(copy);
	}
	return s;
}

/* Check and write the edited member list of g. */
static int apply_members(struct ctl *ctx, struct store_group *g, const char *spec)
{
	struct ctl_groups gs = {0};
	char *members = NULL;
	int rc = ctl_list_value(ctx, "members", g->members, spec, &members);

	if (rc == CTL_EXIT_OK)
		rc = ctl_groups_load(ctx, &gs);
	if (rc == CTL_EXIT_OK && spec[0] == '+')
		rc = check_members(ctx, &gs, g->name, members);
	if (rc == CTL_EXIT_OK) {
		free(g->members);
		g->members = members;
		members = NULL;
		rc = write_group(ctx, g, false);
	}
	free(members);
	ctl_groups_free(&gs);
	return rc;
}

/* group members add|remove GROUP PRINCIPAL... */
static int members_edit(struct ctl *ctx, int argc, char **argv, char op)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct group_opts o = {0};
	struct store_group g = {0};
	char *pos[MAX_POS] = {0}, *spec = NULL;
	int rc, n = 0;

	rc = ctl_parse(ctx, argc, argv, opts, on_group_opt, &o, pos, 2, MAX_POS);
	if (rc == CTL_EXIT_OK)
		rc = get_group(ctx, pos[0], &g);
	if (rc != CTL_EXIT_OK)
		goto out;
	while (n + 1 < MAX_POS && pos[n + 1])
		n++;
	spec = edit_spec(pos + 1, n, op);
	if (!spec[0]) {
		rc = ctl_usage(ctx, "name at least one account or group:NAME");
		goto out;
	}
	rc = apply_members(ctx, &g, spec);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (ctx->json)
		rc = ctl_json_out(group_json(&g));
	else
		printf("group '%s': %s\n", g.name, g.members[0] ? g.members : "no members");
out:
	free(spec);
	store_group_free(&g);
	return rc;
}

static int members_add(struct ctl *ctx, int argc, char **argv)
{
	return members_edit(ctx, argc, argv, '+');
}

static int members_remove(struct ctl *ctx, int argc, char **argv)
{
	return members_edit(ctx, argc, argv, '-');
}

static const struct ctl_cmd members_cmds[] = {
    {"add", "add accounts or groups to a group",
     " GROUP PRINCIPAL...\n"
     "DESCRIPTION\n"
     "    Add each PRINCIPAL (an account name or group:NAME; several per argument\n"
     "    with commas) to GROUP. Already present ones are left as they are. Every\n"
     "    principal must exist; a group may not contain itself, directly or\n"
     "    through others, and groups nest at most 8 levels. On any error nothing\n"
     "    is changed.\n\n"
     "EXAMPLES\n"
     "    pchatctl group members add eng alice bob group:qa\n",
     members_add, NULL},
    {"remove", "remove accounts or groups from a group",
     " GROUP PRINCIPAL...\n"
     "DESCRIPTION\n"
     "    Remove each PRINCIPAL from GROUP; absent ones are ignored.\n\n"
     "EXAMPLES\n"
     "    pchatctl group members remove eng bob\n",
     members_remove, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct ctl_cmd ctl_group_cmds[] = {
    {"add", "create a group",
     " NAME [--members LIST]\n"
     "DESCRIPTION\n"
     "    Create the group NAME (1-50 letters, digits, '-', '_' or '.'). Lists\n"
     "    elsewhere name it group:NAME. LIST is comma-separated account names and\n"
     "    group:NAME (not '*'); every one must exist.\n\n"
     "OPTIONS\n"
     "    --members LIST  the initial members (default none)\n\n"
     "EXAMPLES\n"
     "    pchatctl group add eng --members alice,bob\n"
     "    pchatctl group add staff --members group:eng,carol\n",
     group_add, NULL},
    {"remove", "delete a group",
     " NAME\n"
     "DESCRIPTION\n"
     "    Delete the group NAME. Lists that name group:NAME keep the name but no\n"
     "    longer cover anyone through it.\n\n"
     "EXAMPLES\n"
     "    pchatctl group remove eng\n",
     group_remove, NULL},
    {"show", "show a group and the accounts it expands to",
     " NAME\n"
     "DESCRIPTION\n"
     "    Show the members of NAME as stored and the accounts they expand to\n"
     "    (nested groups included). With --json: {id, name, members, created_ms,\n"
     "    created, accounts}.\n\n"
     "EXAMPLES\n"
     "    pchatctl group show eng\n",
     group_show, NULL},
    {"list", "list groups",
     "\n"
     "DESCRIPTION\n"
     "    List every group with its members. With --json: an array of objects\n"
     "    {id, name, members, created_ms, created}.\n\n"
     "EXAMPLES\n"
     "    pchatctl --json group list\n",
     group_list, NULL},
    {"members", "add or remove members of a group",
     "\n"
     "DESCRIPTION\n"
     "    Change the members of an existing group.\n",
     NULL, members_cmds},
    {NULL, NULL, NULL, NULL, NULL},
};
