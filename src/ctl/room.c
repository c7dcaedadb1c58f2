/*
 * room.c — pchatctl room add|set|show|list|remove: rooms and all their
 * settings (category, description, privacy, type, members, managers,
 * presenters, invitations, add-in, disabled). `room clear` and `room
 * eligible` live in room_admin.c.
 *
 * Room names are accepted with or without the leading '#' and stored
 * without it. Every write records a "room" change in the same transaction,
 * so a running pchatd applies it within a second. Moving a room to another
 * category drops the members, managers and presenters the new category's
 * scope does not cover, and says which.
 *
 * Deliberately not here: the access rules themselves (chat/rules.h).
 */
#include "ctl/ctl.h"
#include "ctl/room_int.h"

#include "chat/names.h"
#include "chat/rules.h"
#include "common/str.h"
#include "common/utf8.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX 1000 /* bytes of a room description */

enum {
	OPT_DESCRIPTION = 256,
	OPT_CATEGORY,
	OPT_PRIVACY,
	OPT_TYPE,
	OPT_MEMBERS,
	OPT_MANAGERS,
	OPT_PRESENTERS,
	OPT_INVITATIONS,
	OPT_ADDIN,
	OPT_DISABLED,
};

/* Options of room add and set (-1: not given). */
struct room_opts {
	const char *description; /* --description */
	const char *category;    /* --category */
	const char *members;     /* --members */
	const char *managers;    /* --managers */
	const char *presenters;  /* --presenters */
	const char *addin;       /* --addin ("" clears) */
	int privacy;             /* --privacy, enum store_privacy */
	int type;                /* --type, enum store_room_type */
	int invitations_off;     /* --invitations: 1 off, 0 inherit */
	int disabled;            /* --disabled */
	bool any;                /* some option was given */
};

static const struct option room_options[] = {
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"category", required_argument, NULL, OPT_CATEGORY},
    {"privacy", required_argument, NULL, OPT_PRIVACY},
    {"type", required_argument, NULL, OPT_TYPE},
    {"members", required_argument, NULL, OPT_MEMBERS},
    {"managers", required_argument, NULL, OPT_MANAGERS},
    {"presenters", required_argument, NULL, OPT_PRESENTERS},
    {"invitations", required_argument, NULL, OPT_INVITATIONS},
    {"addin", required_argument, NULL, OPT_ADDIN},
    {"disabled", required_argument, NULL, OPT_DISABLED},
    {NULL, 0, NULL, 0}};

static const struct option list_options[] = {{"category", required_argument, NULL, OPT_CATEGORY},
                                             {NULL, 0, NULL, 0}};

static const char *const privacy_names[] = {"closed", "open", "secret"};
static const char *const type_names[] = {"normal", "auditorium"};

const char *room_privacy_name(int privacy)
{
	return privacy >= 0 && privacy <= 2 ? privacy_names[privacy] : "?";
}

const char *room_type_name(int type)
{
	return type >= 0 && type <= 1 ? type_names[type] : "?";
}

/* Index of s among names[0..n), or -1. */
static int word_index(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (str_ieq(s, names[i]))
			return i;
	return -1;
}

/* Parse the value of an enumerated option into *out. */
static int enum_opt(struct ctl *ctx, const char *opt, const char *v, const char *const *names,
                    int n, const char *expect, int *out)
{
	*out = word_index(v, names, n);
	if (*out < 0)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "%s: expected %s, not '%s'", opt, expect, v);
	return CTL_EXIT_OK;
}

static int on_value_opt(struct ctl *ctx, struct room_opts *o, int val, const char *v)
{
	static const char *const inv[] = {"inherit", "off"};
	bool b;

	switch (val) {
	case OPT_PRIVACY:
		return enum_opt(ctx, "--privacy", v, privacy_names, 3, "open, closed or secret",
		                &o->privacy);
	case OPT_TYPE:
		return enum_opt(ctx, "--type", v, type_names, 2, "normal or auditorium", &o->type);
	case OPT_INVITATIONS:
		return enum_opt(ctx, "--invitations", v, inv, 2, "inherit or off",
		                &o->invitations_off);
	case OPT_DISABLED:
		if (str_to_bool(v, &b) < 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--disabled: expected yes or no, not '%s'", v);
		o->disabled = b;
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

static int on_room_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct room_opts *o = arg;

	o->any = true;
	switch (val) {
	case OPT_DESCRIPTION:
		o->description = optarg;
		return CTL_EXIT_OK;
	case OPT_CATEGORY:
		o->category = optarg;
		return CTL_EXIT_OK;
	case OPT_MEMBERS:
		o->members = optarg;
		return CTL_EXIT_OK;
	case OPT_MANAGERS:
		o->managers = optarg;
		return CTL_EXIT_OK;
	case OPT_PRESENTERS:
		o->presenters = optarg;
		return CTL_EXIT_OK;
	case OPT_ADDIN:
		o->addin = optarg;
		return CTL_EXIT_OK;
	default:
		return on_value_opt(ctx, o, val, optarg);
	}
}

const char *room_name(const char *arg)
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
	if (o->addin && o->addin[0] && !names_room_valid(o->addin))
		return ctl_fail(ctx, CTL_EXIT_INVALID, "--addin: invalid add-in name '%s'",
		                o->addin);
	return CTL_EXIT_OK;
}

json_t *room_json(const struct store_room *r)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:b, s:I, s:s, "
	                 "s:I}",
	                 "id", (json_int_t)r->id, "name", r->name, "category", r->category,
	                 "description", r->description ? r->description : "", "privacy",
	                 room_privacy_name(r->privacy), "type", room_type_name(r->type), "members",
	                 ctl_list_json(r->members), "managers", ctl_list_json(r->managers),
	                 "presenters", ctl_list_json(r->presenters), "invitations",
	                 r->invitations_off ? "off" : "inherit", "addin", r->addin, "disabled",
	                 r->disabled, "created_ms", (json_int_t)r->created_ms, "created",
	                 ctl_time(r->created_ms), "last_seq", (json_int_t)r->last_seq);
}

int room_get_category(struct ctl *ctx, const char *name, struct store_category *cat)
{
	int rc = store_category_get(ctx->conn, name, cat);

	if (rc == STORE_ENOTFOUND)
		return ctl_fail(ctx, CTL_EXIT_NOTFOUND,
		                "no category '%s' (see 'pchatctl category list', or create it with "
		                "'pchatctl category add %s')",
		                name, name);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read category '%s': %s", name,
		                store_strerror(rc));
	return CTL_EXIT_OK;
}

int room_get(struct ctl *ctx, const char *arg, struct store_room *r)
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

/* What the edit of one room needs besides the room. */
struct room_edit {
	struct store_category cat; /* the room's (new) category */
	struct ctl_groups gs;      /* groups, for checks and scope */
	struct store_account *acc; /* every account, for scope of groups and "*" */
	size_t n_acc;              /* entries in acc */
	bool moved;                /* the category changes */
};

static void room_edit_free(struct room_edit *e)
{
	store_category_free(&e->cat);
	ctl_groups_free(&e->gs);
	for (size_t i = 0; i < e->n_acc; i++)
		store_account_free(&e->acc[i]);
	free(e->acc);
}

/* Whether item covers at least one account in the category's scope. */
static bool item_in_scope(void *arg, const char *item)
{
	const struct room_edit *e = arg;
	struct rules_category rc = {.allowed = e->cat.allowed, .denied = e->cat.denied};

	for (size_t i = 0; i < e->n_acc; i++) {
		struct rules_user u = {e->acc[i].name, false, false};

		if (principal_list_has(item, u.account, false, &e->gs.res) &&
		    rules_in_scope(&rc, &u, &e->gs.res))
			return true;
	}
	return false;
}

/* Apply one list option (replace or +/- edit), checking the principals exist. */
static int apply_list(struct ctl *ctx, struct room_edit *e, const char *opt, const char *spec,
                      char **field)
{
	char *v = NULL;
	int rc;

	if (!spec)
		return CTL_EXIT_OK;
	rc = ctl_list_value(ctx, opt, *field, spec, &v);
	if (rc == CTL_EXIT_OK)
		rc = ctl_check_principals(ctx, opt, v, &e->gs, true);
	if (rc != CTL_EXIT_OK) {
		free(v);
		return rc;
	}
	free(*field);
	*field = v;
	return CTL_EXIT_OK;
}

/*
 * After a move: keep only the principals the new scope covers; print (or
 * add to j) what was dropped. Otherwise: warn about principals outside it.
 */
static void scope_lists(const struct ctl *ctx, struct room_edit *e, struct store_room *r,
                        json_t *dropped)
{
	char **lists[] = {&r->members, &r->managers, &r->presenters};
	const char *names[] = {"members", "managers", "presenters"};

	for (int i = 0; i < 3; i++) {
		char *gone = NULL,
		     *kept = principal_list_filter(*lists[i], item_in_scope, e, &gone);

		if (gone[0] && e->moved) {
			free(*lists[i]);
			*lists[i] = kept;
			kept = NULL;
			json_object_set_new(dropped, names[i], ctl_list_json(gone));
			if (!ctx->json)
				printf("dropped from %s (outside the scope of category '%s'): %s\n",
				       names[i], e->cat.name, gone);
		} else if (gone[0]) {
			fprintf(stderr,
			        "pchatctl: note: %s outside the scope of category '%s': %s (they "
			        "cannot join until the category allows them)\n",
			        names[i], e->cat.name, gone);
		}
		free(kept);
		free(gone);
	}
}

/* Check the add-in exists (an empty name clears it). */
static int check_addin(struct ctl *ctx, const char *name)
{
	struct store_addin a = {0};
	int rc;

	if (!name || !name[0])
		return CTL_EXIT_OK;
	rc = store_addin_get(ctx->conn, name, &a);
	store_addin_free(&a);
	if (rc == STORE_ENOTFOUND)
		return ctl_fail(ctx, CTL_EXIT_NOTFOUND,
		                "--addin: no add-in '%s' (see 'pchatctl addin list')", name);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read add-in '%s': %s", name,
		                store_strerror(rc));
	return CTL_EXIT_OK;
}

/* Load what an edit needs: the (new) category, groups, accounts. */
static int edit_load(struct ctl *ctx, const struct room_opts *o, const struct store_room *r,
                     struct room_edit *e)
{
	const char *cat = o->category ? o->category : r->category;
	int rc = room_get_category(ctx, cat, &e->cat), src;

	if (rc == CTL_EXIT_OK)
		rc = ctl_groups_load(ctx, &e->gs);
	if (rc != CTL_EXIT_OK)
		return rc;
	src = store_account_list(ctx->conn, &e->acc, &e->n_acc);
	if (src != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(src), "cannot list accounts: %s",
		                store_strerror(src));
	e->moved = r->category[0] && !str_ieq(e->cat.name, r->category);
	return check_addin(ctx, o->addin);
}

/* Apply the options to r; dropped receives what a move removed. */
static int apply_opts(struct ctl *ctx, const struct room_opts *o, struct store_room *r,
                      struct room_edit *e, json_t *dropped)
{
	int rc = edit_load(ctx, o, r, e);

	if (rc == CTL_EXIT_OK)
		rc = apply_list(ctx, e, "--members", o->members, &r->members);
	if (rc == CTL_EXIT_OK)
		rc = apply_list(ctx, e, "--managers", o->managers, &r->managers);
	if (rc == CTL_EXIT_OK)
		rc = apply_list(ctx, e, "--presenters", o->presenters, &r->presenters);
	if (rc != CTL_EXIT_OK)
		return rc;
	str_copy(r->category, e->cat.name, sizeof r->category);
	if (o->description) {
		free(r->description);
		r->description = strdup(o->description);
	}
	if (o->addin)
		str_copy(r->addin, o->addin, sizeof r->addin);
	if (o->privacy >= 0)
		r->privacy = o->privacy;
	if (o->type >= 0)
		r->type = o->type;
	if (o->invitations_off >= 0)
		r->invitations_off = o->invitations_off;
	if (o->disabled >= 0)
		r->disabled = o->disabled;
	scope_lists(ctx, e, r, dropped);
	return CTL_EXIT_OK;
}

/* Write r (add or update) and its change record in one transaction. */
static int write_room(struct ctl *ctx, struct store_room *r, bool add)
{
	int rc = ctl_begin(ctx), src;

	if (rc != CTL_EXIT_OK)
		return rc;
	src = add ? store_room_add(ctx->conn, r) : store_room_update(ctx->conn, r);
	if (src == STORE_EEXIST)
		rc = ctl_fail(ctx, CTL_EXIT_EXISTS,
		              "room '#%s' already exists (see 'pchatctl room show %s')", r->name,
		              r->name);
	else if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot write room '#%s': %s", r->name,
		              store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "room", r->name, add ? "add" : "set", room_json(r));
	return ctl_end(ctx, rc);
}

/* Print the outcome of add/set. */
static int print_room(struct ctl *ctx, const struct store_room *r, json_t *dropped,
                      const char *verb)
{
	if (ctx->json) {
		json_t *j = room_json(r);

		json_object_set(j, "dropped", dropped);
		return ctl_json_out(j);
	}
	printf("%s room '#%s' in category '%s' (%s, %s%s)\n", verb, r->name, r->category,
	       room_privacy_name(r->privacy), room_type_name(r->type),
	       r->disabled ? ", disabled" : "");
	return CTL_EXIT_OK;
}

static void room_init(struct store_room *r)
{
	memset(r, 0, sizeof *r);
	r->description = strdup("");
	r->members = strdup("");
	r->managers = strdup("");
	r->presenters = strdup("");
	r->privacy = STORE_PRIVACY_CLOSED;
	r->type = STORE_ROOM_NORMAL;
}

#define ROOM_OPTS_INIT                                                                             \
	{                                                                                          \
		.privacy = -1, .type = -1, .invitations_off = -1, .disabled = -1                   \
	}

static int room_add(struct ctl *ctx, int argc, char **argv)
{
	struct room_opts o = ROOM_OPTS_INIT;
	struct room_edit e = {0};
	struct store_room r;
	json_t *dropped = json_object();
	char *pos[1];
	int rc;

	room_init(&r);
	rc = ctl_parse(ctx, argc, argv, room_options, on_room_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = check_room_args(ctx, room_name(pos[0]), &o);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		goto out;
	str_copy(r.name, room_name(pos[0]), sizeof r.name);
	if (!o.category)
		o.category = "general";
	rc = apply_opts(ctx, &o, &r, &e, dropped);
	if (rc == CTL_EXIT_OK)
		rc = write_room(ctx, &r, true);
	if (rc == CTL_EXIT_OK)
		rc = print_room(ctx, &r, dropped, "created");
out:
	json_decref(dropped);
	room_edit_free(&e);
	store_room_free(&r);
	return rc;
}

static int room_set(struct ctl *ctx, int argc, char **argv)
{
	struct room_opts o = ROOM_OPTS_INIT;
	struct room_edit e = {0};
	struct store_room r = {0};
	json_t *dropped = json_object();
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, room_options, on_room_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK && !o.any)
		rc = ctl_usage(ctx, "nothing to change: give at least one option");
	if (rc == CTL_EXIT_OK)
		rc = check_room_args(ctx, room_name(pos[0]), &o);
	if (rc == CTL_EXIT_OK)
		rc = room_get(ctx, pos[0], &r);
	if (rc == CTL_EXIT_OK)
		rc = apply_opts(ctx, &o, &r, &e, dropped);
	if (rc == CTL_EXIT_OK)
		rc = write_room(ctx, &r, false);
	if (rc == CTL_EXIT_OK)
		rc = print_room(ctx, &r, dropped, "changed");
	json_decref(dropped);
	room_edit_free(&e);
	store_room_free(&r);
	return rc;
}

static int room_list(struct ctl *ctx, int argc, char **argv)
{
	struct room_opts o = ROOM_OPTS_INIT;
	struct store_room *v = NULL;
	json_t *arr = NULL;
	size_t n = 0;
	int rc;

	rc = ctl_parse(ctx, argc, argv, list_options, on_room_opt, &o, NULL, 0, 0);
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
		printf("%-30s %-16s %-7s %-10s %-8s %s\n", "ROOM", "CATEGORY", "PRIVACY", "TYPE",
		       "STATE", "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		bool shown = !o.category || str_ieq(o.category, v[i].category);

		if (shown && arr)
			json_array_append_new(arr, room_json(&v[i]));
		else if (shown)
			printf("#%-29s %-16s %-7s %-10s %-8s %s\n", v[i].name, v[i].category,
			       room_privacy_name(v[i].privacy), room_type_name(v[i].type),
			       v[i].disabled ? "disabled" : "enabled", v[i].description);
		store_room_free(&v[i]);
	}
	free(v);
	return arr ? ctl_json_out(arr) : CTL_EXIT_OK;
}

static void print_show(const struct store_room *r, int64_t count, bool inv)
{
	printf("name:         #%s\nid:           %lld\ncategory:     %s\ndescription:  %s\n"
	       "privacy:      %s\ntype:         %s\nmembers:      %s\nmanagers:     %s\n"
	       "presenters:   %s\ninvitations:  %s (%s)\naddin:        %s\ndisabled:     %s\n"
	       "created:      %s\nlast seq:     %lld\nmessages:     %lld\n",
	       r->name, (long long)r->id, r->category, r->description,
	       room_privacy_name(r->privacy), room_type_name(r->type), r->members, r->managers,
	       r->presenters, r->invitations_off ? "off" : "inherit", inv ? "on" : "off", r->addin,
	       r->disabled ? "yes" : "no", ctl_time(r->created_ms), (long long)r->last_seq,
	       (long long)count);
}

static int room_show(struct ctl *ctx, int argc, char **argv)
{
	struct room_opts o = ROOM_OPTS_INIT;
	struct store_room r = {0};
	struct store_category c = {0};
	int64_t count = 0;
	char *pos[1];
	int rc, src;
	bool inv;

	rc = ctl_parse(ctx, argc, argv, room_options + 10, on_room_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = room_get(ctx, pos[0], &r);
	if (rc == CTL_EXIT_OK)
		rc = room_get_category(ctx, r.category, &c);
	if (rc != CTL_EXIT_OK)
		goto out;
	src = store_msg_count(ctx->conn, r.id, &count);
	if (src != STORE_OK) {
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot count messages: %s",
		              store_strerror(src));
		goto out;
	}
	inv = !r.invitations_off && c.invitations;
	if (ctx->json) {
		json_t *j = room_json(&r);

		json_object_set_new(j, "messages", json_integer((json_int_t)count));
		json_object_set_new(j, "invitations_on", json_boolean(inv));
		json_object_set_new(j, "history", json_boolean(c.history));
		rc = ctl_json_out(j);
		goto out;
	}
	print_show(&r, count, inv);
out:
	store_category_free(&c);
	store_room_free(&r);
	return rc;
}

static int room_remove(struct ctl *ctx, int argc, char **argv)
{
	struct room_opts o = ROOM_OPTS_INIT;
	struct store_room r = {0};
	char *pos[1];
	int rc, src;

	rc = ctl_parse(ctx, argc, argv, room_options + 10, on_room_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = room_get(ctx, pos[0], &r);
	if (rc == CTL_EXIT_OK)
		rc = ctl_begin(ctx);
	if (rc != CTL_EXIT_OK)
		goto out;
	src = store_room_remove(ctx->conn, r.name);
	if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot remove room '#%s': %s", r.name,
		              store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "room", r.name, "remove", NULL);
	rc = ctl_end(ctx, rc);
	if (rc == CTL_EXIT_OK && ctx->json)
		rc = ctl_json_out(json_pack("{s:s, s:b}", "name", r.name, "removed", 1));
	else if (rc == CTL_EXIT_OK)
		printf("removed room '#%s' and its history\n", r.name);
out:
	store_room_free(&r);
	return rc;
}

#define ROOM_OPTIONS_HELP                                                                          \
	"OPTIONS\n"                                                                                \
	"    --category NAME        an existing category (add: default general). Moving a\n"       \
	"                           room drops the members, managers and presenters the\n"         \
	"                           new category's scope does not cover, and says which\n"         \
	"    --description TEXT     the topic (UTF-8, one line, at most 1000 bytes)\n"             \
	"    --privacy open|closed|secret\n"                                                       \
	"                           open: found and joined by the category's scope;\n"             \
	"                           closed (default): found by the scope, joined by\n"             \
	"                           members; secret: found and joined by members only\n"           \
	"    --type normal|auditorium  auditorium: only presenters and managers post\n"            \
	"    --members LIST         who may join a closed or secret room\n"                        \
	"    --managers LIST        who manage the room (IRC @); they count as members\n"          \
	"    --presenters LIST      who post in an auditorium (IRC +); count as members\n"         \
	"    --invitations inherit|off  inherit: the category's setting (default)\n"               \
	"    --addin NAME           attach an add-in ('' detaches it)\n"                           \
	"    --disabled yes|no      a disabled room is emptied and hidden; its content is\n"       \
	"                           kept; 'no' restores it\n\n"                                    \
	"    LIST is comma-separated principals: account names, group:NAME and *. A LIST\n"        \
	"    whose every item starts with + or - edits the current list (+bob,-carol);\n"          \
	"    otherwise it replaces it ('' empties it). Every account and group must exist;\n"      \
	"    on any error nothing is changed. Principals outside the category's scope\n"           \
	"    are kept but reported: the scope and its denied list always win.\n\n"

const struct ctl_cmd ctl_room_cmds[] = {
    {"add", "create a room",
     " NAME [OPTIONS]\n"
     "DESCRIPTION\n"
     "    Create the room NAME (\"#name\" or \"name\": 1-50 letters, digits, '-', '_'\n"
     "    or '.'). The room is the IRC channel #NAME; a running pchatd finds it\n"
     "    within a second. With --json: the object of 'room show' plus "
     "'dropped'.\n\n" ROOM_OPTIONS_HELP "EXAMPLES\n"
     "    pchatctl room add '#ops' --description 'Operations'\n"
     "    pchatctl room add eng.standup --category eng --privacy secret \\\n"
     "        --members group:eng --managers alice\n"
     "    pchatctl room add townhall --type auditorium --privacy open --presenters ceo\n",
     room_add, NULL},
    {"set", "change a room",
     " NAME OPTION...\n"
     "DESCRIPTION\n"
     "    Change the settings of room NAME; options not given keep their value. A\n"
     "    running pchatd applies the change within a second (a removed member is\n"
     "    parted, a disabled room is emptied).\n\n" ROOM_OPTIONS_HELP "EXAMPLES\n"
     "    pchatctl room set ops --members +bob,-carol\n"
     "    pchatctl room set ops --category legal    # drops who legal does not allow\n"
     "    pchatctl room set ops --disabled yes\n",
     room_set, NULL},
    {"list", "list rooms",
     " [--category NAME]\n"
     "DESCRIPTION\n"
     "    List every room (or those of one category) with category, privacy, type,\n"
     "    state and description. With --json: an array of the objects of 'room\n"
     "    show' without the message count.\n\n"
     "EXAMPLES\n"
     "    pchatctl room list --category eng\n",
     room_list, NULL},
    {"show", "show one room",
     " NAME\n"
     "DESCRIPTION\n"
     "    Show every setting of the room NAME, whether invitations are in effect,\n"
     "    and the number of stored messages. With --json: {id, name, category,\n"
     "    description, privacy, type, members, managers, presenters, invitations,\n"
     "    addin, disabled, created_ms, created, last_seq, messages, invitations_on,\n"
     "    history}, lists as arrays.\n\n"
     "EXAMPLES\n"
     "    pchatctl room show '#ops'\n",
     room_show, NULL},
    {"remove", "delete a room and its history",
     " NAME\n"
     "DESCRIPTION\n"
     "    Delete the room NAME with its stored messages (only administrators, that\n"
     "    is pchatctl, delete rooms; to hide one and keep its content, use\n"
     "    'room set NAME --disabled yes').\n\n"
     "EXAMPLES\n"
     "    pchatctl room remove '#ops'\n",
     room_remove, NULL},
    {"clear", "delete a room's messages older than a date",
     " NAME --before DATE\n"
     "DESCRIPTION\n"
     "    Delete every message of room NAME sent before DATE, an ISO 8601 date\n"
     "    (2024-05-01, midnight UTC) or date-time (2024-05-01T13:30:00Z, UTC).\n"
     "    Prints how many were removed; with --json {room, before, removed}.\n\n"
     "EXAMPLES\n"
     "    pchatctl room clear ops --before 2024-01-01\n",
     room_clear, NULL},
    {"eligible", "list the accounts that may join a room",
     " NAME\n"
     "DESCRIPTION\n"
     "    Expand groups and * and apply the rules (scope, denied list, privacy,\n"
     "    roles, disabled) to every chat-enabled account: print those that may join\n"
     "    the room, one per line; with --json an array of names. Guests are not\n"
     "    accounts and are not listed.\n\n"
     "EXAMPLES\n"
     "    pchatctl room eligible eng.standup\n",
     room_eligible, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
