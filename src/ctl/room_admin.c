/*
 * room_admin.c — pchatctl room clear (delete a room's messages older than
 * a date) and room eligible (who may join, groups and * expanded through
 * the same rules pchatd applies).
 *
 * Deliberately not here: the rules themselves (chat/rules.h) and the room
 * settings (room.c).
 */
#include "ctl/room_int.h"

#include "chat/rules.h"
#include "common/str.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_BEFORE = 256 };

static int on_clear_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	const char **before = arg;

	if (val != OPT_BEFORE)
		return ctl_usage(ctx, "unknown option");
	*before = optarg;
	return CTL_EXIT_OK;
}

int room_clear(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"before", required_argument, NULL, OPT_BEFORE},
	                                     {NULL, 0, NULL, 0}};
	struct store_room r = {0};
	const char *before = NULL;
	int64_t ts = 0, n = 0;
	char *pos[1];
	int rc, src;

	rc = ctl_parse(ctx, argc, argv, opts, on_clear_opt, &before, pos, 1, 1);
	if (rc == CTL_EXIT_OK && !before)
		rc = ctl_usage(ctx, "--before DATE is required (ISO 8601, e.g. 2024-05-01)");
	if (rc == CTL_EXIT_OK)
		rc = ctl_date(ctx, "--before", before, false, &ts);
	if (rc == CTL_EXIT_OK)
		rc = room_get(ctx, pos[0], &r);
	if (rc == CTL_EXIT_OK)
		rc = ctl_begin(ctx);
	if (rc != CTL_EXIT_OK)
		goto out;
	src = store_room_clear(ctx->conn, r.id, ts, &n);
	if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot clear room '#%s': %s", r.name,
		              store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(
		    ctx, "room", r.name, "clear",
		    json_pack("{s:I, s:I}", "before_ms", (json_int_t)ts, "removed", (json_int_t)n));
	rc = ctl_end(ctx, rc);
	if (rc == CTL_EXIT_OK && ctx->json)
		rc = ctl_json_out(json_pack("{s:s, s:s, s:I}", "room", r.name, "before",
		                            ctl_time(ts), "removed", (json_int_t)n));
	else if (rc == CTL_EXIT_OK)
		printf("removed %lld message%s of '#%s' sent before %s\n", (long long)n,
		       n == 1 ? "" : "s", r.name, ctl_time(ts));
out:
	store_room_free(&r);
	return rc;
}

static void rules_of(const struct store_category *c, const struct store_room *r,
                     struct rules_category *rc, struct rules_room *rr)
{
	memset(rc, 0, sizeof *rc);
	memset(rr, 0, sizeof *rr);
	rc->allowed = c->allowed;
	rc->denied = c->denied;
	rc->creators = c->creators;
	rc->invitations = c->invitations;
	rc->file_upload = c->file_upload;
	rc->history = c->history;
	rr->privacy = r->privacy == STORE_PRIVACY_OPEN     ? RULES_PRIVACY_OPEN
	              : r->privacy == STORE_PRIVACY_SECRET ? RULES_PRIVACY_SECRET
	                                                   : RULES_PRIVACY_CLOSED;
	rr->type = r->type == STORE_ROOM_AUDITORIUM ? RULES_ROOM_AUDITORIUM : RULES_ROOM_NORMAL;
	rr->members = r->members;
	rr->managers = r->managers;
	rr->presenters = r->presenters;
	rr->disabled = r->disabled;
	rr->invitations_off = r->invitations_off;
}

/* Print (or put into arr) every chat-enabled account that may join. */
static int list_eligible(struct ctl *ctx, const struct store_category *c,
                         const struct store_room *r, json_t *arr)
{
	struct ctl_groups gs = {0};
	struct store_account *acc = NULL;
	struct rules_category rcat;
	struct rules_room rroom;
	size_t n = 0;
	int rc = ctl_groups_load(ctx, &gs), src = STORE_OK;

	if (rc == CTL_EXIT_OK)
		src = store_account_list(ctx->conn, &acc, &n);
	if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot list accounts: %s",
		              store_strerror(src));
	rules_of(c, r, &rcat, &rroom);
	for (size_t i = 0; i < n; i++) {
		struct rules_user u = {acc[i].name, false, acc[i].admin};

		if (acc[i].chat_enabled && rules_can_join(&rcat, &rroom, &u, &gs.res)) {
			if (arr)
				json_array_append_new(arr, json_string(acc[i].name));
			else
				printf("%s\n", acc[i].name);
		}
		store_account_free(&acc[i]);
	}
	free(acc);
	ctl_groups_free(&gs);
	return rc;
}

static int room_eligible_run(struct ctl *ctx, const char *name)
{
	struct store_room r = {0};
	struct store_category c = {0};
	json_t *arr = NULL;
	int rc = room_get(ctx, name, &r);

	if (rc == CTL_EXIT_OK)
		rc = room_get_category(ctx, r.category, &c);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (r.disabled)
		fprintf(stderr,
		        "pchatctl: note: room '#%s' is disabled: nobody may join it "
		        "(enable it with 'pchatctl room set %s --disabled no')\n",
		        r.name, r.name);
	if (ctx->json)
		arr = json_array();
	rc = list_eligible(ctx, &c, &r, arr);
	if (arr && rc == CTL_EXIT_OK) {
		rc = ctl_json_out(arr);
		arr = NULL;
	}
out:
	json_decref(arr);
	store_category_free(&c);
	store_room_free(&r);
	return rc;
}

int room_eligible(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	char *pos[1];
	int rc = ctl_parse(ctx, argc, argv, opts, on_clear_opt, NULL, pos, 1, 1);

	return rc == CTL_EXIT_OK ? room_eligible_run(ctx, pos[0]) : rc;
}
