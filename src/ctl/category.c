/*
 * category.c — pchatctl category add|set|show|list|remove.
 *
 * A category holds rooms and says who may be in them: allowed (the scope),
 * denied (the ethical wall, overrides allowed), creators (may create rooms
 * in it), and the invitations, file-upload and history switches (SPEC §3).
 * Every write records a "category" change for a running pchatd.
 *
 * Deliberately not here: what the lists mean for access (chat/rules.h),
 * and rooms themselves (room.c).
 */
#include "ctl/ctl.h"

#include "chat/names.h"
#include "common/str.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_ALLOWED = 256, OPT_DENIED, OPT_CREATORS, OPT_INVITATIONS, OPT_FILE_UPLOAD, OPT_HISTORY };

/* Options of category add and set (-1: a switch not given). */
struct cat_opts {
	const char *allowed;  /* --allowed */
	const char *denied;   /* --denied */
	const char *creators; /* --creators */
	int invitations;      /* --invitations, 0/1, -1 unset */
	int file_upload;      /* --file-upload */
	int history;          /* --history */
	bool any;             /* some option was given */
};

static const struct option cat_options[] = {
    {"allowed", required_argument, NULL, OPT_ALLOWED},
    {"denied", required_argument, NULL, OPT_DENIED},
    {"creators", required_argument, NULL, OPT_CREATORS},
    {"invitations", required_argument, NULL, OPT_INVITATIONS},
    {"file-upload", required_argument, NULL, OPT_FILE_UPLOAD},
    {"history", required_argument, NULL, OPT_HISTORY},
    {NULL, 0, NULL, 0}};

static int set_switch(struct ctl *ctx, const char *opt, const char *v, int *out)
{
	bool b;
	int rc = ctl_onoff(ctx, opt, v, &b);

	*out = b;
	return rc;
}

static int on_cat_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct cat_opts *o = arg;

	o->any = true;
	switch (val) {
	case OPT_ALLOWED:
		o->allowed = optarg;
		return CTL_EXIT_OK;
	case OPT_DENIED:
		o->denied = optarg;
		return CTL_EXIT_OK;
	case OPT_CREATORS:
		o->creators = optarg;
		return CTL_EXIT_OK;
	case OPT_INVITATIONS:
		return set_switch(ctx, "--invitations", optarg, &o->invitations);
	case OPT_FILE_UPLOAD:
		return set_switch(ctx, "--file-upload", optarg, &o->file_upload);
	case OPT_HISTORY:
		return set_switch(ctx, "--history", optarg, &o->history);
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

static int check_cat_name(const struct ctl *ctx, const char *name)
{
	if (!names_room_valid(name))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "invalid category name '%s': use 1-50 letters, digits, '-', '_' or "
		                "'.'",
		                name);
	return CTL_EXIT_OK;
}

static json_t *cat_json(const struct store_category *c)
{
	return json_pack("{s:I, s:s, s:o, s:o, s:o, s:b, s:b, s:b, s:I, s:s}", "id",
	                 (json_int_t)c->id, "name", c->name, "allowed", ctl_list_json(c->allowed),
	                 "denied", ctl_list_json(c->denied), "creators", ctl_list_json(c->creators),
	                 "invitations", c->invitations, "file_upload", c->file_upload, "history",
	                 c->history, "created_ms", (json_int_t)c->created_ms, "created",
	                 ctl_time(c->created_ms));
}

/* Apply one list option: edit/replace *field, check its principals. */
static int apply_list(struct ctl *ctx, const char *opt, const char *spec, char **field,
                      const struct ctl_groups *gs)
{
	char *v = NULL;
	int rc;

	if (!spec)
		return CTL_EXIT_OK;
	rc = ctl_list_value(ctx, opt, *field, spec, &v);
	if (rc == CTL_EXIT_OK)
		rc = ctl_check_principals(ctx, opt, v, gs, true);
	if (rc != CTL_EXIT_OK) {
		free(v);
		return rc;
	}
	free(*field);
	*field = v;
	return CTL_EXIT_OK;
}

/* Apply every option of o to c (lists checked against the store). */
static int apply_opts(struct ctl *ctx, const struct cat_opts *o, struct store_category *c)
{
	struct ctl_groups gs = {0};
	int rc = ctl_groups_load(ctx, &gs);

	if (rc == CTL_EXIT_OK)
		rc = apply_list(ctx, "--allowed", o->allowed, &c->allowed, &gs);
	if (rc == CTL_EXIT_OK)
		rc = apply_list(ctx, "--denied", o->denied, &c->denied, &gs);
	if (rc == CTL_EXIT_OK)
		rc = apply_list(ctx, "--creators", o->creators, &c->creators, &gs);
	ctl_groups_free(&gs);
	if (o->invitations >= 0)
		c->invitations = o->invitations;
	if (o->file_upload >= 0)
		c->file_upload = o->file_upload;
	if (o->history >= 0)
		c->history = o->history;
	return rc;
}

/* Write c (add or update) and its change record in one transaction. */
static int write_cat(struct ctl *ctx, struct store_category *c, bool add)
{
	int rc = ctl_begin(ctx), src;

	if (rc != CTL_EXIT_OK)
		return rc;
	src = add ? store_category_add(ctx->conn, c) : store_category_update(ctx->conn, c);
	if (src == STORE_EEXIST)
		rc = ctl_fail(
		    ctx, CTL_EXIT_EXISTS,
		    "category '%s' already exists (change it with 'pchatctl category set')",
		    c->name);
	else if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot write category '%s': %s",
		              c->name, store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "category", c->name, add ? "add" : "set", cat_json(c));
	return ctl_end(ctx, rc);
}

static int print_cat(struct ctl *ctx, const struct store_category *c, const char *verb)
{
	if (ctx->json)
		return ctl_json_out(cat_json(c));
	printf("%s category '%s': allowed=%s denied=%s creators=%s invitations=%s "
	       "file-upload=%s history=%s\n",
	       verb, c->name, c->allowed[0] ? c->allowed : "(nobody)",
	       c->denied[0] ? c->denied : "(nobody)", c->creators[0] ? c->creators : "(nobody)",
	       c->invitations ? "on" : "off", c->file_upload ? "on" : "off",
	       c->history ? "on" : "off");
	return CTL_EXIT_OK;
}

static int category_add(struct ctl *ctx, int argc, char **argv)
{
	struct cat_opts o = {.invitations = -1, .file_upload = -1, .history = -1};
	struct store_category c = {.invitations = true, .file_upload = true, .history = true};
	char *pos[1];
	int rc;

	c.allowed = strdup("*");
	c.denied = strdup("");
	c.creators = strdup("");
	rc = ctl_parse(ctx, argc, argv, cat_options, on_cat_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = check_cat_name(ctx, pos[0]);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc == CTL_EXIT_OK)
		rc = apply_opts(ctx, &o, &c);
	if (rc != CTL_EXIT_OK)
		goto out;
	str_copy(c.name, pos[0], sizeof c.name);
	rc = write_cat(ctx, &c, true);
	if (rc == CTL_EXIT_OK)
		rc = print_cat(ctx, &c, "created");
out:
	store_category_free(&c);
	return rc;
}

/* Read a category by the name on the command line. */
static int get_cat(struct ctl *ctx, const char *name, struct store_category *c)
{
	int rc = check_cat_name(ctx, name);

	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_category_get(ctx->conn, name, c);
	if (rc == STORE_ENOTFOUND)
		return ctl_fail(ctx, CTL_EXIT_NOTFOUND,
		                "no category '%s' (see 'pchatctl category list')", name);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read category '%s': %s", name,
		                store_strerror(rc));
	return CTL_EXIT_OK;
}

static int category_set(struct ctl *ctx, int argc, char **argv)
{
	struct cat_opts o = {.invitations = -1, .file_upload = -1, .history = -1};
	struct store_category c = {0};
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, cat_options, on_cat_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK && !o.any)
		rc = ctl_usage(ctx, "nothing to change: give at least one option");
	if (rc == CTL_EXIT_OK)
		rc = get_cat(ctx, pos[0], &c);
	if (rc == CTL_EXIT_OK)
		rc = apply_opts(ctx, &o, &c);
	if (rc == CTL_EXIT_OK)
		rc = write_cat(ctx, &c, false);
	if (rc == CTL_EXIT_OK)
		rc = print_cat(ctx, &c, "changed");
	store_category_free(&c);
	return rc;
}

/* The names of the rooms of category name, as a JSON array. */
static int cat_rooms(struct ctl *ctx, const char *name, json_t **out)
{
	struct store_room *v = NULL;
	size_t n = 0;
	int rc = store_room_list(ctx->conn, &v, &n);

	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot list rooms: %s",
		                store_strerror(rc));
	*out = json_array();
	for (size_t i = 0; i < n; i++) {
		if (str_ieq(v[i].category, name))
			json_array_append_new(*out, json_string(v[i].name));
		store_room_free(&v[i]);
	}
	free(v);
	return CTL_EXIT_OK;
}

static int category_show(struct ctl *ctx, int argc, char **argv)
{
	struct cat_opts o = {0};
	struct store_category c = {0};
	json_t *rooms = NULL;
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, cat_options + 6, on_cat_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = get_cat(ctx, pos[0], &c);
	if (rc == CTL_EXIT_OK)
		rc = cat_rooms(ctx, c.name, &rooms);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (ctx->json) {
		json_t *j = cat_json(&c);

		json_object_set_new(j, "rooms", rooms);
		rooms = NULL;
		rc = ctl_json_out(j);
		goto out;
	}
	printf("name:         %s\ncreated:      %s\nallowed:      %s\ndenied:       %s\n"
	       "creators:     %s\ninvitations:  %s\nfile-upload:  %s\nhistory:      %s\nrooms:",
	       c.name, ctl_time(c.created_ms), c.allowed, c.denied, c.creators,
	       c.invitations ? "on" : "off", c.file_upload ? "on" : "off",
	       c.history ? "on" : "off");
	for (size_t i = 0; i < json_array_size(rooms); i++)
		printf("%s#%s", i ? "," : " ", json_string_value(json_array_get(rooms, i)));
	printf("\n");
out:
	json_decref(rooms);
	store_category_free(&c);
	return rc;
}

static int category_list(struct ctl *ctx, int argc, char **argv)
{
	struct cat_opts o = {0};
	struct store_category *v = NULL;
	json_t *arr = NULL;
	size_t n = 0;
	int rc;

	rc = ctl_parse(ctx, argc, argv, cat_options + 6, on_cat_opt, &o, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_category_list(ctx->conn, &v, &n);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot list categories: %s",
		                store_strerror(rc));
	if (ctx->json)
		arr = json_array();
	else
		printf("%-20s %-4s %-4s %-4s %-24s %-16s %s\n", "CATEGORY", "INV", "FILE", "HIST",
		       "ALLOWED", "DENIED", "CREATORS");
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(arr, cat_json(&v[i]));
		else
			printf("%-20s %-4s %-4s %-4s %-24s %-16s %s\n", v[i].name,
			       v[i].invitations ? "on" : "off", v[i].file_upload ? "on" : "off",
			       v[i].history ? "on" : "off", v[i].allowed, v[i].denied,
			       v[i].creators);
		store_category_free(&v[i]);
	}
	free(v);
	return arr ? ctl_json_out(arr) : CTL_EXIT_OK;
}

static int category_remove(struct ctl *ctx, int argc, char **argv)
{
	struct cat_opts o = {0};
	struct store_category c = {0};
	char *pos[1];
	int rc, src;

	rc = ctl_parse(ctx, argc, argv, cat_options + 6, on_cat_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = get_cat(ctx, pos[0], &c);
	if (rc == CTL_EXIT_OK)
		rc = ctl_begin(ctx);
	if (rc != CTL_EXIT_OK)
		goto out;
	src = store_category_remove(ctx->conn, c.name);
	if (src == STORE_ENOTEMPTY)
		rc =
		    ctl_fail(ctx, CTL_EXIT_INUSE,
		             "category '%s' still has rooms (see 'pchatctl category show %s'; move "
		             "them with 'pchatctl room set ROOM --category OTHER' or remove them)",
		             c.name, c.name);
	else if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot remove category '%s': %s",
		              c.name, store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "category", c.name, "remove", NULL);
	rc = ctl_end(ctx, rc);
	if (rc == CTL_EXIT_OK && ctx->json)
		rc = ctl_json_out(json_pack("{s:s, s:b}", "name", c.name, "removed", 1));
	else if (rc == CTL_EXIT_OK)
		printf("removed category '%s'\n", c.name);
out:
	store_category_free(&c);
	return rc;
}

#define CAT_OPTIONS_HELP                                                                           \
	"OPTIONS\n"                                                                                \
	"    --allowed LIST      the scope: who may find and join its rooms (default *)\n"         \
	"    --denied LIST       the ethical wall: never in scope, whatever else says\n"           \
	"                        (default nobody)\n"                                               \
	"    --creators LIST     who may create rooms here, becoming their managers\n"             \
	"                        (default nobody; administrators always may)\n"                    \
	"    --invitations on|off  adding a member sends an INVITE (default on)\n"                 \
	"    --file-upload on|off  file upload allowed (default on)\n"                             \
	"    --history on|off    keep messages as history (default on); off: messages\n"           \
	"                        are delivered and go to compliance, never stored\n\n"             \
	"    LIST is comma-separated principals: account names, group:NAME and * (everyone,\n"     \
	"    guests included when guests are allowed). With set, a LIST whose every item\n"        \
	"    starts with + or - edits the current list (+bob,-carol); otherwise it\n"              \
	"    replaces it ('' empties it). Unknown accounts and groups are refused.\n\n"

const struct ctl_cmd ctl_category_cmds[] = {
    {"add", "create a category",
     " NAME [OPTIONS]\n"
     "DESCRIPTION\n"
     "    Create the category NAME (1-50 letters, digits, '-', '_' or '.').\n\n" CAT_OPTIONS_HELP
     "EXAMPLES\n"
     "    pchatctl category add eng --allowed group:eng --creators alice\n"
     "    pchatctl category add trading --allowed '*' --denied group:research\n",
     category_add, NULL},
    {"set", "change a category",
     " NAME OPTION...\n"
     "DESCRIPTION\n"
     "    Change the settings of category NAME; options not given keep their\n"
     "    value. A running pchatd applies the change within a second.\n\n" CAT_OPTIONS_HELP
     "EXAMPLES\n"
     "    pchatctl category set eng --denied +mallory --history off\n"
     "    pchatctl category set eng --creators alice,bob\n",
     category_set, NULL},
    {"show", "show a category and its rooms",
     " NAME\n"
     "DESCRIPTION\n"
     "    Show the settings of NAME and the names of its rooms. With --json:\n"
     "    {id, name, allowed, denied, creators, invitations, file_upload, history,\n"
     "    created_ms, created, rooms}, lists as arrays.\n\n"
     "EXAMPLES\n"
     "    pchatctl category show general\n",
     category_show, NULL},
    {"list", "list categories",
     "\n"
     "DESCRIPTION\n"
     "    List every category with its settings. With --json: an array of the\n"
     "    objects of 'category show' without rooms.\n\n"
     "EXAMPLES\n"
     "    pchatctl category list\n",
     category_list, NULL},
    {"remove", "delete an empty category",
     " NAME\n"
     "DESCRIPTION\n"
     "    Delete the category NAME. A category that still has rooms is refused\n"
     "    with exit status 8: move or remove its rooms first.\n\n"
     "EXAMPLES\n"
     "    pchatctl category remove old\n",
     category_remove, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
