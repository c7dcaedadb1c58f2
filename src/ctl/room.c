/*
 * room.c — pchatctl room add|list|show|remove.
 *
 * Room names are accepted with or without the leading '#' and stored
 * without it. A running pchatd finds a new room when someone joins it.
 *
 * Deliberately not here: membership, managers and privacy (later commands),
 * and categories beyond naming an existing one.
 */
#include "ctl/ctl.h"

#include "chat/names.h"
#include "common/str.h"
#include "common/utf8.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX 1000 /* bytes of a room description */

enum { OPT_DESCRIPTION = 256, OPT_CATEGORY };

/* Options of the room leaves. */
struct room_opts {
	const char *description; /* --description */
	const char *category;    /* --category */
};

static int on_room_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct room_opts *o = arg;

	if (val == OPT_DESCRIPTION)
		o->description = optarg;
	else if (val == OPT_CATEGORY)
		o->category = optarg;
	else
		return ctl_usage(ctx, "unknown option");
	return CTL_EXIT_OK;
}

/* The name without its '#'. */
static const char *room_name(const char *arg)
{
	return arg[0] == '#' ? arg + 1 : arg;
}

static int check_room_args(const struct ctl *ctx, const char *name, const struct room_opts *o)
{
	const char *d = o->description;

	if (!names_room_valid(name))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "invalid room name '%s': use 1-50 letters, digits, '-', '_' or '.' "
		                "(with or without a leading '#')",
		                name);
	if (d && (strlen(d) > DESCRIPTION_MAX || !utf8_valid(d, strlen(d)) ||
	          str_has_crlfnul(d, strlen(d))))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "--description: at most %d bytes of UTF-8 text on one line",
		                DESCRIPTION_MAX);
	if (o->category && !names_room_valid(o->category))
		return ctl_fail(ctx, CTL_EXIT_INVALID, "--category: invalid category name '%s'",
		                o->category);
	return CTL_EXIT_OK;
}

static json_t *room_json(const struct store_room *r)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:I}", "id", (json_int_t)r->id, "name",
	                 r->name, "category", r->category, "description",
	                 r->description ? r->description : "", "created_ms",
	                 (json_int_t)r->created_ms, "created", ctl_time(r->created_ms), "last_seq",
	                 (json_int_t)r->last_seq);
}

/* Check that the category exists, for a message that says what to do. */
static int check_category(struct ctl *ctx, const char *name)
{
	struct store_category cat = {0};
	int rc = store_category_get(ctx->conn, name, &cat);

	store_category_free(&cat);
	if (rc == STORE_ENOTFOUND)
		return ctl_fail(ctx, CTL_EXIT_NOTFOUND,
		                "no category '%s' (leave out --category to use 'general')", name);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read category '%s': %s", name,
		                store_strerror(rc));
	return CTL_EXIT_OK;
}

static int room_add(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"description", required_argument, NULL, OPT_DESCRIPTION},
	    {"category", required_argument, NULL, OPT_CATEGORY},
	    {NULL, 0, NULL, 0}};
	struct room_opts o = {0};
	struct store_room r = {0};
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_room_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = check_room_args(ctx, room_name(pos[0]), &o);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc == CTL_EXIT_OK)
		rc = check_category(ctx, o.category ? o.category : "general");
	if (rc != CTL_EXIT_OK)
		return rc;
	str_copy(r.name, room_name(pos[0]), sizeof r.name);
	str_copy(r.category, o.category ? o.category : "general", sizeof r.category);
	r.description = (char *)(o.description ? o.description : "");
	rc = store_room_add(ctx->conn, &r);
	r.description = NULL; /* not ours to free */
	if (rc == STORE_EEXIST)
		return ctl_fail(ctx, CTL_EXIT_EXISTS,
		                "room '#%s' already exists (see 'pchatctl "
		                "room show %s')",
		                r.name, r.name);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot add room '#%s': %s", r.name,
		                store_strerror(rc));
	if (ctx->json) {
		json_t *j = room_json(&r);

		json_object_set_new(j, "description",
		                    json_string(o.description ? o.description : ""));
		return ctl_json_out(j);
	}
	printf("created room '#%s' in category '%s'\n", r.name, r.category);
	return CTL_EXIT_OK;
}

static int room_list(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct room_opts o = {0};
	struct store_room *v = NULL;
	json_t *arr = NULL;
	size_t n = 0;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_room_opt, &o, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_room_list(ctx->conn, &v, &n);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot list rooms: %s",
		                store_strerror(rc));
	if (ctx->json)
		arr = json_array();
	else
		printf("%-30s %-20s %8s %s\n", "ROOM", "CATEGORY", "LAST-SEQ", "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(arr, room_json(&v[i]));
		else
			printf("#%-29s %-20s %8lld %s\n", v[i].name, v[i].category,
			       (long long)v[i].last_seq, v[i].description ? v[i].description : "");
		store_room_free(&v[i]);
	}
	free(v);
	return arr ? ctl_json_out(arr) : CTL_EXIT_OK;
}

/* Get a room by the name given on the command line. */
static int get_room(struct ctl *ctx, const char *arg, struct store_room *r)
{
	int rc = ctl_store(ctx);

	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_room_get(ctx->conn, room_name(arg), r);
	if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
		return ctl_fail(ctx, rc == STORE_EINVAL ? CTL_EXIT_INVALID : CTL_EXIT_NOTFOUND,
		                "no room '#%s' (see 'pchatctl room list')", room_name(arg));
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read room '#%s': %s",
		                room_name(arg), store_strerror(rc));
	return CTL_EXIT_OK;
}

static int room_show(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct room_opts o = {0};
	struct store_room r = {0};
	int64_t count = 0;
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_room_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = get_room(ctx, pos[0], &r);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = store_msg_count(ctx->conn, r.id, &count);
	if (rc != STORE_OK) {
		rc = ctl_fail(ctx, ctl_exit_for_store(rc), "cannot count messages: %s",
		              store_strerror(rc));
		goto out;
	}
	if (ctx->json) {
		json_t *j = room_json(&r);

		json_object_set_new(j, "messages", json_integer((json_int_t)count));
		rc = ctl_json_out(j);
		goto out;
	}
	printf("name:        #%s\nid:          %lld\ncategory:    %s\ndescription: %s\n"
	       "created:     %s\nlast seq:    %lld\nmessages:    %lld\n",
	       r.name, (long long)r.id, r.category, r.description ? r.description : "",
	       ctl_time(r.created_ms), (long long)r.last_seq, (long long)count);
out:
	store_room_free(&r);
	return rc;
}

static int room_remove(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct room_opts o = {0};
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_room_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_room_remove(ctx->conn, room_name(pos[0]));
	if (rc == STORE_ENOTFOUND)
		return ctl_fail(ctx, CTL_EXIT_NOTFOUND, "no room '#%s' (see 'pchatctl room list')",
		                room_name(pos[0]));
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot remove room '#%s': %s",
		                room_name(pos[0]), store_strerror(rc));
	if (ctx->json)
		return ctl_json_out(
		    json_pack("{s:s, s:b}", "name", room_name(pos[0]), "removed", 1));
	printf("removed room '#%s' and its history\n", room_name(pos[0]));
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_room_cmds[] = {
    {"add", "create a room",
     " NAME [--description TEXT] [--category NAME]\n"
     "DESCRIPTION\n"
     "    Create the room NAME (\"#name\" or \"name\": 1-50 letters, digits, '-', '_'\n"
     "    or '.'). The room is the IRC channel #NAME; a running pchatd finds it on\n"
     "    the first JOIN.\n\n"
     "OPTIONS\n"
     "    --description TEXT  the topic (UTF-8, one line, at most 1000 bytes)\n"
     "    --category NAME     an existing category (default general)\n\n"
     "EXAMPLES\n"
     "    pchatctl room add '#ops' --description 'Operations'\n"
     "    pchatctl room add dev.build --category general\n",
     room_add, NULL},
    {"list", "list rooms",
     "\n"
     "DESCRIPTION\n"
     "    List every room with its category, newest sequence number and\n"
     "    description. With --json: an array of objects {id, name, category,\n"
     "    description, created_ms, created, last_seq}.\n\n"
     "EXAMPLES\n"
     "    pchatctl room list\n",
     room_list, NULL},
    {"show", "show one room",
     " NAME\n"
     "DESCRIPTION\n"
     "    Show the room NAME and the number of stored messages.\n\n"
     "EXAMPLES\n"
     "    pchatctl room show '#ops'\n",
     room_show, NULL},
    {"remove", "delete a room and its history",
     " NAME\n"
     "DESCRIPTION\n"
     "    Delete the room NAME with its stored messages.\n\n"
     "EXAMPLES\n"
     "    pchatctl room remove '#ops'\n",
     room_remove, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
