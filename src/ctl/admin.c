/*
 * admin.c — helpers shared by the administration commands (group,
 * category, room, addin, message): the groups as a principal resolver,
 * list options (replace or +/- edit), existence checks of principals,
 * dates, on/off values, and the transaction that records every change in
 * the store's change feed.
 *
 * Deliberately not here: any command's own logic, and the rules about who
 * may do what (chat/rules.h).
 */
#include "ctl/ctl.h"

#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY_MS 86400000LL

static const char *groups_members(void *arg, const char *name)
{
	const struct ctl_groups *g = arg;
	char key[STORE_NAME_MAX];
	const struct store_group *sg;

	str_lower(key, name, sizeof key);
	sg = map_get(&g->by_name, key);
	return sg ? sg->members : NULL;
}

static void groups_index(struct ctl_groups *g)
{
	char key[STORE_NAME_MAX];

	for (size_t i = 0; i < g->n; i++) {
		str_lower(key, g->v[i].name, sizeof key);
		map_put(&g->by_name, key, &g->v[i]);
	}
}

int ctl_groups_load(struct ctl *ctx, struct ctl_groups *g)
{
	int rc;

	memset(g, 0, sizeof *g);
	map_init(&g->by_name);
	g->res.group_members = groups_members;
	g->res.ctx = g;
	g->res.guests_allowed = ctx->cfg.allow_guests;
	rc = store_group_list(ctx->conn, &g->v, &g->n);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read the groups: %s",
		                store_strerror(rc));
	groups_index(g);
	return CTL_EXIT_OK;
}

void ctl_groups_set(struct ctl_groups *g, const char *name, const char *members)
{
	char key[STORE_NAME_MAX];
	struct store_group *sg;

	str_lower(key, name, sizeof key);
	sg = map_get(&g->by_name, key);
	if (!sg) {
		/* a new group: grow the array and rebuild the index (it points into it) */
		g->v = xrealloc(g->v, (g->n + 1) * sizeof g->v[0]);
		sg = &g->v[g->n++];
		memset(sg, 0, sizeof *sg);
		str_copy(sg->name, name, sizeof sg->name);
		map_clear(&g->by_name);
		map_init(&g->by_name);
		groups_index(g);
	}
	free(sg->members);
	sg->members = xstrdup(members);
}

void ctl_groups_free(struct ctl_groups *g)
{
	for (size_t i = 0; i < g->n; i++)
		store_group_free(&g->v[i]);
	free(g->v);
	map_clear(&g->by_name);
	memset(g, 0, sizeof *g);
}

int ctl_list_value(const struct ctl *ctx, const char *opt, const char *current, const char *spec,
                   char **out)
{
	char err[512];

	*out = principal_list_edit(current ? current : "", spec, err, sizeof err);
	if (!*out)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "%s: %s", opt, err);
	return CTL_EXIT_OK;
}

/* Whether one item names something that exists; false for a refused "*". */
static bool item_exists(struct ctl *ctx, const char *item, const struct ctl_groups *g,
                        bool allow_star)
{
	struct store_account a = {0};
	bool found;

	if (strcmp(item, "*") == 0)
		return allow_star;
	if (strncmp(item, PRINCIPAL_GROUP_PREFIX, strlen(PRINCIPAL_GROUP_PREFIX)) == 0)
		return groups_members((void *)g, item + strlen(PRINCIPAL_GROUP_PREFIX)) != NULL;
	found = store_account_get(ctx->conn, item, &a) == STORE_OK;
	store_account_free(&a);
	return found;
}

int ctl_check_principals(struct ctl *ctx, const char *opt, const char *list,
                         const struct ctl_groups *g, bool allow_star)
{
	struct ptrvec items = {0};
	char bad[1024];
	size_t len = 0;
	int n_bad = 0, rc = CTL_EXIT_OK;

	bad[0] = '\0';
	principal_list_items(list, &items);
	for (size_t i = 0; i < items.n; i++) {
		const char *it = items.v[i];

		if (item_exists(ctx, it, g, allow_star))
			continue;
		if (strcmp(it, "*") == 0)
			rc = ctl_fail(ctx, CTL_EXIT_INVALID,
			              "%s: '*' is not allowed here (list accounts or groups)", opt);
		else
			str_appendf(bad, sizeof bad, &len, "%s'%s'", n_bad++ ? ", " : "", it);
	}
	if (rc == CTL_EXIT_OK && n_bad)
		rc = ctl_fail(ctx, CTL_EXIT_NOTFOUND,
		              "%s: no such %s %s (create accounts with 'pchatctl user add', "
		              "groups with 'pchatctl group add'); nothing was changed",
		              opt, n_bad > 1 ? "principals" : "principal", bad);
	for (size_t i = 0; i < items.n; i++)
		free(items.v[i]);
	ptrvec_free(&items);
	return rc;
}

int ctl_date(const struct ctl *ctx, const char *opt, const char *s, bool end_of_day, int64_t *ms)
{
	if (time_parse_iso(s, ms) < 0 || *ms <= 0)
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "%s: '%s' is not an ISO 8601 date (2024-05-01) or date-time "
		                "(2024-05-01T13:30:00Z), UTC",
		                opt, s);
	if (end_of_day && strlen(s) == 10)
		*ms += DAY_MS - 1;
	return CTL_EXIT_OK;
}

int ctl_onoff(const struct ctl *ctx, const char *opt, const char *s, bool *out)
{
	if (str_to_bool(s, out) < 0)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "%s: expected on or off, not '%s'", opt, s);
	return CTL_EXIT_OK;
}

int ctl_begin(struct ctl *ctx)
{
	int rc = store_begin(ctx->conn);

	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot start a transaction: %s",
		                store_strerror(rc));
	return CTL_EXIT_OK;
}

int ctl_change(struct ctl *ctx, const char *kind, const char *name, const char *action,
               json_t *detail)
{
	struct passwd *pw = getpwuid(geteuid());
	struct store_admin_change ch = {
	    .kind = kind,
	    .name = name,
	    .action = action,
	    .actor = pw ? pw->pw_name : "unknown",
	    .address = "pchatctl",
	};
	char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc;

	ch.detail = text;
	rc = store_admin_change(ctx->conn, &ch);
	free(text);
	json_decref(detail);

	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc),
		                "cannot record the change of %s '%s': %s", kind, name,
		                store_strerror(rc));
	return CTL_EXIT_OK;
}

int ctl_end(struct ctl *ctx, int rc)
{
	int src;

	if (rc != CTL_EXIT_OK) {
		store_rollback(ctx->conn);
		return rc;
	}
	src = store_commit(ctx->conn);
	if (src != STORE_OK) {
		store_rollback(ctx->conn);
		return ctl_fail(ctx, ctl_exit_for_store(src),
		                "cannot commit: %s (nothing was changed)", store_strerror(src));
	}
	return CTL_EXIT_OK;
}

json_t *ctl_list_json(const char *list)
{
	struct ptrvec items = {0};
	json_t *arr = json_array();

	principal_list_items(list ? list : "", &items);
	for (size_t i = 0; i < items.n; i++) {
		json_array_append_new(arr, json_string(items.v[i]));
		free(items.v[i]);
	}
	ptrvec_free(&items);
	return arr;
}
