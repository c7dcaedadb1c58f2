/*
 * principal.c — parsing, editing, matching and expanding principal lists
 * (principal.h).
 *
 * Lists are short (tens of items, at most PRINCIPAL_LIST_MAX bytes), so
 * matching walks the text and de-duplication compares pairwise; nothing is
 * cached here. Deliberately not here: the store, IRC, and any rule about
 * rooms (rules.c).
 */
#include "chat/principal.h"

#include "chat/names.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ITEM_MAX 128 /* bytes of one item we can hold ("group:" + name) */

bool principal_group_name_valid(const char *s)
{
	return names_room_valid(s);
}

/* Whether s starts with "group:" in any case. */
static bool is_group(const char *s)
{
	return strncasecmp(s, PRINCIPAL_GROUP_PREFIX, strlen(PRINCIPAL_GROUP_PREFIX)) == 0;
}

/*
 * Copy the next item of *p (trimmed, possibly empty) into buf and advance
 * *p past its comma. Returns false at the end of the list. An item longer
 * than buf is truncated (and so never valid: names are far shorter).
 */
static bool next_item(const char **p, char *buf, size_t buflen)
{
	const char *s = *p, *e;
	size_t n;

	if (!s || !*s)
		return false;
	e = strchr(s, ',');
	if (!e)
		e = s + strlen(s);
	*p = *e ? e + 1 : e;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - s);
	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

/* Normalize one item in place ("GROUP:x" -> "group:x"); 0 if valid, -1 if not. */
static int item_normalize(char *item)
{
	if (strcmp(item, "*") == 0)
		return 0;
	if (is_group(item)) {
		memcpy(item, PRINCIPAL_GROUP_PREFIX, strlen(PRINCIPAL_GROUP_PREFIX));
		return principal_group_name_valid(item + strlen(PRINCIPAL_GROUP_PREFIX)) ? 0 : -1;
	}
	return names_account_valid(item) ? 0 : -1;
}

static bool items_have(const struct ptrvec *v, const char *item)
{
	for (size_t i = 0; i < v->n; i++)
		if (str_ieq(v->v[i], item))
			return true;
	return false;
}

static void items_free(struct ptrvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	ptrvec_free(v);
}

/* Join the items with commas; NULL with a message when too long. */
static char *items_join(const struct ptrvec *v, char *err, size_t errlen)
{
	size_t total = 1;
	char *out;
	size_t len = 0;

	for (size_t i = 0; i < v->n; i++)
		total += strlen(v->v[i]) + 1;
	if (total > PRINCIPAL_LIST_MAX) {
		if (err)
			snprintf(err, errlen, "the list is longer than %d bytes",
			         PRINCIPAL_LIST_MAX - 1);
		return NULL;
	}
	out = xmalloc(total);
	out[0] = '\0';
	for (size_t i = 0; i < v->n; i++)
		str_appendf(out, total, &len, "%s%s", i ? "," : "", (const char *)v->v[i]);
	return out;
}

static void bad_item(const char *item, char *err, size_t errlen)
{
	snprintf(err, errlen,
	         "'%s' is not a principal: use an account name, group:NAME or * "
	         "(separated by commas)",
	         item);
}

/* Parse list into v (deduplicated). 0, or -1 with a message in err. */
static int parse_into(const char *list, struct ptrvec *v, char *err, size_t errlen)
{
	char item[ITEM_MAX];
	const char *p = list;

	while (next_item(&p, item, sizeof item)) {
		if (!item[0])
			continue;
		if (item_normalize(item) < 0) {
			bad_item(item, err, errlen);
			return -1;
		}
		if (!items_have(v, item))
			ptrvec_push(v, xstrdup(item));
	}
	return 0;
}

char *principal_list_normalize(const char *in, char *err, size_t errlen)
{
	struct ptrvec v = {0};
	char *out = NULL;

	if (strlen(in) >= PRINCIPAL_LIST_MAX) {
		snprintf(err, errlen, "the list is longer than %d bytes", PRINCIPAL_LIST_MAX - 1);
		goto out_free;
	}
	if (parse_into(in, &v, err, errlen) == 0)
		out = items_join(&v, err, errlen);
out_free:
	items_free(&v);
	return out;
}

/* Remove the item equal (case-insensitively) to item from v. */
static void items_remove(struct ptrvec *v, const char *item)
{
	for (size_t i = 0; i < v->n; i++) {
		if (str_ieq(v->v[i], item)) {
			free(v->v[i]);
			memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof v->v[0]);
			v->n--;
			return;
		}
	}
}

/* Apply one "+item"/"-item" to v. 0, or -1 with a message. */
static int edit_one(struct ptrvec *v, char *item, char *err, size_t errlen)
{
	char op = item[0];

	if (item_normalize(item + 1) < 0) {
		bad_item(item + 1, err, errlen);
		return -1;
	}
	if (op == '-')
		items_remove(v, item + 1);
	else if (!items_have(v, item + 1))
		ptrvec_push(v, xstrdup(item + 1));
	return 0;
}

/* Whether spec edits (every item +/-), replaces (none), or mixes (-1). */
static int spec_kind(const char *spec)
{
	char item[ITEM_MAX];
	const char *p = spec;
	int edits = 0, plain = 0;

	while (next_item(&p, item, sizeof item)) {
		if (!item[0])
			continue;
		if (item[0] == '+' || item[0] == '-')
			edits++;
		else
			plain++;
	}
	if (edits && plain)
		return -1;
	return edits ? 1 : 0;
}

char *principal_list_edit(const char *current, const char *spec, char *err, size_t errlen)
{
	struct ptrvec v = {0};
	char item[ITEM_MAX];
	const char *p = spec;
	char *out = NULL;
	int kind = spec_kind(spec);

	if (kind < 0) {
		snprintf(err, errlen,
		         "either replace the list (bob,carol) or edit it (+bob,-carol), not both "
		         "in '%s'",
		         spec);
		return NULL;
	}
	if (kind == 0)
		return principal_list_normalize(spec, err, errlen);
	if (parse_into(current, &v, err, errlen) < 0)
		goto out_free;
	while (next_item(&p, item, sizeof item)) {
		if (item[0] && edit_one(&v, item, err, errlen) < 0)
			goto out_free;
	}
	out = items_join(&v, err, errlen);
out_free:
	items_free(&v);
	return out;
}

/* The chain of groups being expanded, for cycle detection. */
struct group_path {
	const char *names[PRINCIPAL_DEPTH_MAX + 1]; /* group names, outermost first */
	int n;                                      /* entries in names */
};

static bool path_has(const struct group_path *gp, const char *name)
{
	for (int i = 0; i < gp->n; i++)
		if (str_ieq(gp->names[i], name))
			return true;
	return false;
}

static bool has_rec(const char *list, const char *account, bool guest,
                    const struct principal_resolver *res, struct group_path *gp);

/* Whether group g (not yet on the path) covers the account. */
static bool group_has(const char *g, const char *account, const struct principal_resolver *res,
                      struct group_path *gp)
{
	const char *members;
	bool found;

	if (!res || !res->group_members || gp->n >= PRINCIPAL_DEPTH_MAX || path_has(gp, g))
		return false;
	members = res->group_members(res->ctx, g);
	if (!members)
		return false;
	gp->names[gp->n++] = g;
	found = has_rec(members, account, false, res, gp);
	gp->n--;
	return found;
}

static bool has_rec(const char *list, const char *account, bool guest,
                    const struct principal_resolver *res, struct group_path *gp)
{
	char item[ITEM_MAX];
	const char *p = list;

	while (next_item(&p, item, sizeof item)) {
		if (strcmp(item, "*") == 0) {
			if (!guest || (res && res->guests_allowed))
				return true;
		} else if (is_group(item)) {
			if (!guest &&
			    group_has(item + strlen(PRINCIPAL_GROUP_PREFIX), account, res, gp))
				return true;
		} else if (!guest && str_ieq(item, account)) {
			return true;
		}
	}
	return false;
}

bool principal_list_has(const char *list, const char *account, bool is_guest,
                        const struct principal_resolver *res)
{
	struct group_path gp = {.n = 0};

	if (!list || !account)
		return false;
	return has_rec(list, account, is_guest, res, &gp);
}

/* Describe the path plus `last` into err. */
static void path_error(const struct group_path *gp, const char *last, const char *why, char *err,
                       size_t errlen)
{
	size_t len = 0;

	err[0] = '\0';
	str_appendf(err, errlen, &len, "%s: ", why);
	for (int i = 0; i < gp->n; i++)
		str_appendf(err, errlen, &len, "group:%s -> ", gp->names[i]);
	str_appendf(err, errlen, &len, "group:%s", last);
}

/*
 * Depth-first walk of group g; -1 with err on a cycle or too deep. The path
 * points at the callers' item buffers, alive while we recurse.
 */
static int check_rec(const char *g, const struct principal_resolver *res, struct group_path *gp,
                     char *err, size_t errlen)
{
	char item[ITEM_MAX];
	const char *members, *p;
	int rc = 0;

	if (path_has(gp, g)) {
		path_error(gp, g, "groups contain each other", err, errlen);
		return -1;
	}
	if (gp->n >= PRINCIPAL_DEPTH_MAX) {
		path_error(gp, g, "groups nested more than 8 levels deep", err, errlen);
		return -1;
	}
	members = res->group_members(res->ctx, g);
	if (!members)
		return 0;
	gp->names[gp->n++] = g;
	p = members;
	while (rc == 0 && next_item(&p, item, sizeof item))
		if (is_group(item))
			rc = check_rec(item + strlen(PRINCIPAL_GROUP_PREFIX), res, gp, err, errlen);
	gp->n--;
	return rc;
}

int principal_group_check(const char *group, const struct principal_resolver *res, char *err,
                          size_t errlen)
{
	struct group_path gp = {.n = 0};

	if (!res || !res->group_members)
		return 0;
	return check_rec(group, res, &gp, err, errlen);
}

void principal_list_items(const char *list, struct ptrvec *out)
{
	char item[ITEM_MAX];
	const char *p = list;

	while (next_item(&p, item, sizeof item))
		if (item[0] && item_normalize(item) == 0)
			ptrvec_push(out, xstrdup(item));
}

size_t principal_list_expand(const char *list, const char *const *accounts, size_t n,
                             const struct principal_resolver *res, struct ptrvec *out)
{
	size_t found = 0;

	for (size_t i = 0; i < n; i++) {
		if (principal_list_has(list, accounts[i], false, res)) {
			ptrvec_push(out, (void *)accounts[i]);
			found++;
		}
	}
	return found;
}

char *principal_list_filter(const char *list, principal_keep_cb keep, void *ctx, char **dropped)
{
	struct ptrvec all = {0}, kept = {0}, gone = {0};
	char *out;

	principal_list_items(list, &all);
	for (size_t i = 0; i < all.n; i++) {
		if (items_have(&kept, all.v[i]) || items_have(&gone, all.v[i]))
			continue;
		ptrvec_push(keep(ctx, all.v[i]) ? &kept : &gone, all.v[i]);
	}
	out = items_join(&kept, NULL, 0);
	*dropped = items_join(&gone, NULL, 0);
	if (!out)
		out = xstrdup("");
	if (!*dropped)
		*dropped = xstrdup("");
	items_free(&all);
	ptrvec_free(&kept);
	ptrvec_free(&gone);
	return out;
}
