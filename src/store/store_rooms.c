/*
 * store_rooms.c — the generic half of the rooms issue's storage operations:
 * argument validation before the backend (groups, add-ins, follows,
 * invitations, markers, change feed, history, search, redaction), the
 * free functions, and the text matching every backend shares (word
 * splitting, the byte-for-byte check of case-sensitive queries).
 *
 * It knows no SQL (the backend does the work through struct store_backend)
 * and no chat rules: who may read a room is the caller's decision, made
 * before room_ids reach a search.
 */
#include "store/store_int.h"

#include "common/str.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STORE_URL_MAX      2048  /* add-in URL, bytes */
#define STORE_HISTORY_MAX  10000 /* store_history_query.limit */
#define STORE_SEARCH_MAX   1000  /* store_search_query.limit */
#define STORE_QUERY_MAX    4096  /* search or filter text, bytes */
#define STORE_TARGETS_MAX  10000 /* store_msg_targets limit */
#define STORE_CHANGES_MAX  10000 /* store_change_since limit */
#define STORE_MAX_ROOM_IDS 100000

bool store_list_ok(const char *list)
{
	return !list || strnlen(list, STORE_LIST_MAX + 1) <= STORE_LIST_MAX;
}

/* --- text matching -------------------------------------------------------- */

/* A byte of a token: ASCII letter or digit, or part of a non-ASCII character. */
static bool tok_byte(unsigned char ch)
{
	return ch >= 0x80 || (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Whether word has a byte a tokenizer would index. */
static bool has_token(const char *w)
{
	for (; *w; w++)
		if (tok_byte((unsigned char)*w))
			return true;
	return false;
}

size_t store_words(const char *text, char *buf, size_t buflen, char **words, size_t max)
{
	size_t n = 0;
	char *p = buf;

	str_copy(buf, text ? text : "", buflen);
	while (*p && n < max) {
		char *w;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && !is_space(*p))
			p++;
		if (*p)
			*p++ = '\0';
		if (has_token(w))
			words[n++] = w;
	}
	return n;
}

/* Whether needle (len bytes) occurs in text as a whole word. */
static bool occurs(const char *text, const char *needle, size_t len)
{
	const char *p = text;

	if (len == 0)
		return false;
	while ((p = strstr(p, needle)) != NULL) {
		bool left = p == text || !tok_byte((unsigned char)p[-1]) ||
		            !tok_byte((unsigned char)needle[0]);
		bool right =
		    !tok_byte((unsigned char)p[len]) || !tok_byte((unsigned char)needle[len - 1]);

		if (left && right)
			return true;
		p++;
	}
	return false;
}

/* The EXACT check: the query trimmed of outer whitespace. */
const char *store_text_trim(const char *text, size_t *len)
{
	size_t n;

	while (is_space(*text))
		text++;
	n = strlen(text);
	while (n > 0 && is_space(text[n - 1]))
		n--;
	*len = n;
	return text;
}

static bool phrase_occurs(const char *text, const char *query)
{
	size_t len;
	char *q;
	bool ok;

	query = store_text_trim(query, &len);
	q = xstrndup(query, len);
	ok = occurs(text, q, len);
	free(q);
	return ok;
}

bool store_text_blank(const char *text)
{
	size_t len;

	store_text_trim(text, &len);
	return len == 0;
}

bool store_text_matches(const char *text, const char *query, int match)
{
	char *words[64];
	size_t n, len = strlen(query) + 1, hits = 0;
	char *buf;

	if (match == STORE_MATCH_EXACT)
		return phrase_occurs(text, query);
	buf = xmalloc(len);
	n = store_words(query, buf, len, words, sizeof(words) / sizeof(words[0]));
	for (size_t i = 0; i < n; i++)
		hits += occurs(text, words[i], strlen(words[i]));
	free(buf);
	if (n == 0)
		return false;
	return match == STORE_MATCH_ANY ? hits > 0 : hits == n;
}

/* --- groups and add-ins --------------------------------------------------- */

int store_group_add(struct store_conn *c, struct store_group *g)
{
	if (!store_name_ok(g->name) || !store_list_ok(g->members))
		return STORE_EINVAL;
	if (g->created_ms == 0)
		g->created_ms = time_now_ms();
	return c->be->group_add(c, g);
}

int store_group_get(struct store_conn *c, const char *name, struct store_group *out)
{
	memset(out, 0, sizeof(*out));
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->group_get(c, name, out);
}

int store_group_update(struct store_conn *c, const struct store_group *g)
{
	if (!store_name_ok(g->name) || !store_list_ok(g->members))
		return STORE_EINVAL;
	return c->be->group_update(c, g);
}

int store_group_remove(struct store_conn *c, const char *name)
{
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->group_remove(c, name);
}

int store_group_list(struct store_conn *c, struct store_group **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return c->be->group_list(c, out, n);
}

void store_group_free(struct store_group *g)
{
	if (!g)
		return;
	free(g->members);
	g->members = NULL;
}

/* http:// or https:// followed by something, printable ASCII without spaces. */
static bool url_ok(const char *url)
{
	size_t n;

	if (!url)
		return false;
	n = strnlen(url, STORE_URL_MAX + 1);
	if (n > STORE_URL_MAX)
		return false;
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return false;
	if (n <= (size_t)(url[4] == ':' ? 7 : 8))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= ' ' || (unsigned char)url[i] >= 0x7f)
			return false;
	return true;
}

int store_addin_add(struct store_conn *c, const struct store_addin *a)
{
	if (!store_name_ok(a->name) || !url_ok(a->url))
		return STORE_EINVAL;
	return c->be->addin_add(c, a);
}

int store_addin_get(struct store_conn *c, const char *name, struct store_addin *out)
{
	memset(out, 0, sizeof(*out));
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->addin_get(c, name, out);
}

int store_addin_remove(struct store_conn *c, const char *name)
{
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->addin_remove(c, name);
}

int store_addin_list(struct store_conn *c, struct store_addin **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return c->be->addin_list(c, out, n);
}

void store_addin_free(struct store_addin *a)
{
	if (!a)
		return;
	free(a->url);
	a->url = NULL;
}

/* --- follows, invitations, markers, changes ------------------------------- */

int store_follow_add(struct store_conn *c, const char *account, const char *room)
{
	if (!store_name_ok(account) || !store_name_ok(room))
		return STORE_EINVAL;
	return c->be->follow_add(c, account, room);
}

int store_follow_remove(struct store_conn *c, const char *account, const char *room)
{
	if (!store_name_ok(account) || !store_name_ok(room))
		return STORE_EINVAL;
	return c->be->follow_remove(c, account, room);
}

int store_follow_list(struct store_conn *c, const char *account, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!store_name_ok(account))
		return STORE_EINVAL;
	return c->be->follow_list(c, account, out, n);
}

int store_invite_add(struct store_conn *c, const struct store_invite *inv)
{
	struct store_invite v = *inv;

	if (!store_name_ok(inv->account) || !store_name_ok(inv->room))
		return STORE_EINVAL;
	if (inv->inviter[0] && !store_name_ok(inv->inviter))
		return STORE_EINVAL;
	if (v.ts_ms <= 0)
		v.ts_ms = time_now_ms();
	return c->be->invite_add(c, &v);
}

int store_invite_take(struct store_conn *c, const char *account, struct store_invite **out,
                      size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!store_name_ok(account))
		return STORE_EINVAL;
	return c->be->invite_take(c, account, out, n);
}

/* A marker target: a room ("#name") or an account name. */
static bool target_ok(const char *target)
{
	return target && store_name_ok(target[0] == '#' ? target + 1 : target);
}

int store_marker_set(struct store_conn *c, const char *account, const char *target, int64_t ts_ms)
{
	if (!store_name_ok(account) || !target_ok(target) || ts_ms < 0)
		return STORE_EINVAL;
	return c->be->marker_set(c, account, target, ts_ms);
}

int store_marker_get(struct store_conn *c, const char *account, const char *target, int64_t *ts_ms)
{
	*ts_ms = 0;
	if (!store_name_ok(account) || !target_ok(target))
		return STORE_EINVAL;
	return c->be->marker_get(c, account, target, ts_ms);
}

int store_change_add(struct store_conn *c, const char *kind, const char *name)
{
	if (!kind || !kind[0] || strlen(kind) >= sizeof(((struct store_change *)0)->kind))
		return STORE_EINVAL;
	if (!store_name_ok(kind) || !store_name_ok(name))
		return STORE_EINVAL;
	return c->be->change_add(c, kind, name, time_now_ms());
}

int store_change_since(struct store_conn *c, int64_t after, int limit, struct store_change **out,
                       size_t *n)
{
	*out = NULL;
	*n = 0;
	if (after < 0 || limit < 1 || limit > STORE_CHANGES_MAX)
		return STORE_EINVAL;
	return c->be->change_since(c, after, limit, out, n);
}

int store_change_last(struct store_conn *c, int64_t *id)
{
	*id = 0;
	return c->be->change_last(c, id);
}

/* --- history, search, administration -------------------------------------- */

/* Lower-case and order the two accounts of a conversation into la < lb. */
static bool pair_of(const char *a, const char *b, char *la, char *lb)
{
	char t[STORE_NAME_MAX];

	if (!store_name_ok(a) || !store_name_ok(b))
		return false;
	str_lower(la, a, STORE_NAME_MAX);
	str_lower(lb, b, STORE_NAME_MAX);
	if (strcmp(la, lb) > 0) {
		str_copy(t, la, sizeof(t));
		str_copy(la, lb, STORE_NAME_MAX);
		str_copy(lb, t, STORE_NAME_MAX);
	}
	return true;
}

int store_msg_history(struct store_conn *c, const struct store_history_query *q,
                      struct store_msg **out, size_t *n)
{
	char la[STORE_NAME_MAX], lb[STORE_NAME_MAX];
	struct store_history_query lq = *q;

	*out = NULL;
	*n = 0;
	if (q->room_id < 0 || q->limit < 1 || q->limit > STORE_HISTORY_MAX)
		return STORE_EINVAL;
	if (q->after_id < 0 || q->before_id < 0 || q->after_ts < 0 || q->before_ts < 0)
		return STORE_EINVAL;
	if (q->room_id == 0) {
		if (!pair_of(q->a, q->b, la, lb))
			return STORE_EINVAL;
		lq.a = la;
		lq.b = lb;
	}
	return c->be->msg_history(c, &lq, out, n);
}

int store_msg_by_msgid(struct store_conn *c, const char *msgid, struct store_msg *out)
{
	size_t len = msgid ? strnlen(msgid, sizeof(out->msgid)) : 0;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(out->msgid))
		return STORE_EINVAL;
	return c->be->msg_by_msgid(c, msgid, out);
}

/* Oldest activity first, then by name. */
static int target_cmp(const void *a, const void *b)
{
	const struct store_target *x = a, *y = b;

	if (x->last_ts != y->last_ts)
		return x->last_ts < y->last_ts ? -1 : 1;
	return strcmp(x->name, y->name);
}

int store_msg_targets(struct store_conn *c, const int64_t *room_ids, size_t n_rooms,
                      const char *account, int64_t after_ts, int64_t before_ts, int limit,
                      struct store_target **out, size_t *n)
{
	char la[STORE_NAME_MAX];
	int rc;

	*out = NULL;
	*n = 0;
	if (limit < 1 || limit > STORE_TARGETS_MAX || after_ts < 0 || before_ts < 0)
		return STORE_EINVAL;
	if ((n_rooms > 0 && !room_ids) || n_rooms > STORE_MAX_ROOM_IDS)
		return STORE_EINVAL;
	if (account && !store_name_ok(account))
		return STORE_EINVAL;
	if (account)
		str_lower(la, account, sizeof(la));
	rc = c->be->msg_targets(c, room_ids, n_rooms, account ? la : NULL, after_ts, before_ts,
	                        limit, out, n);
	/* Backends return every conversation of the window; the order and the cut are here. */
	if (rc == 0 && *n > 1)
		qsort(*out, *n, sizeof(**out), target_cmp);
	if (rc == 0 && *n > (size_t)limit)
		*n = (size_t)limit;
	return rc;
}

int store_msg_search(struct store_conn *c, const struct store_search_query *q,
                     struct store_msg **out, size_t *n, bool *more)
{
	struct store_search_query lq = *q;
	char la[STORE_NAME_MAX];

	*out = NULL;
	*n = 0;
	*more = false;
	if (q->limit < 1 || q->limit > STORE_SEARCH_MAX || q->after_ts < 0 || q->before_ts < 0)
		return STORE_EINVAL;
	if (q->match < STORE_MATCH_ALL || q->match > STORE_MATCH_EXACT)
		return STORE_EINVAL;
	if ((q->n_rooms > 0 && !q->room_ids) || q->n_rooms > STORE_MAX_ROOM_IDS)
		return STORE_EINVAL;
	if ((q->account && !store_name_ok(q->account)) || (q->sender && !store_name_ok(q->sender)))
		return STORE_EINVAL;
	if (q->text && (strlen(q->text) > STORE_QUERY_MAX || !utf8_valid(q->text, strlen(q->text))))
		return STORE_EINVAL;
	if (q->account) {
		str_lower(la, q->account, sizeof(la));
		lq.account = la;
	}
	if (!lq.text)
		lq.text = "";
	if (q->n_rooms == 0 && !q->account)
		return 0; /* nothing readable */
	return c->be->msg_search(c, &lq, out, n, more);
}

int store_msg_redact(struct store_conn *c, const struct store_msg_filter *f,
                     const char *replacement, struct store_msg **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (f->room_id < 0 || f->from_ts < 0 || f->to_ts < 0)
		return STORE_EINVAL;
	if (f->match < STORE_MATCH_ALL || f->match > STORE_MATCH_EXACT)
		return STORE_EINVAL;
	if (f->sender && !store_name_ok(f->sender))
		return STORE_EINVAL;
	if (f->text && (strlen(f->text) > STORE_QUERY_MAX || !utf8_valid(f->text, strlen(f->text))))
		return STORE_EINVAL;
	if (replacement && !utf8_valid(replacement, strlen(replacement)))
		return STORE_EINVAL;
	return c->be->msg_redact(c, f, replacement, out, n);
}

int store_room_clear(struct store_conn *c, int64_t room_id, int64_t before_ts, int64_t *n)
{
	*n = 0;
	if (room_id <= 0 || before_ts <= 0)
		return STORE_EINVAL;
	return c->be->room_clear(c, room_id, before_ts, n);
}
