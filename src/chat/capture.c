/*
 * capture.c — compliance capture (SPEC §5): the events the chat layer owes
 * the compliance queue, built from the engine's users, sessions and rooms.
 *
 * Messages add their CHAT event inside their own write job (post.c), so a
 * committed message never lacks it; presence (JOIN, PART), history reads
 * (BACKCHAT) and searches (SEARCH) are written by a job of their own here,
 * without waiting for it; administrative changes made from a client go
 * through chat_admin_record() inside the job that makes them.
 *
 * Deliberately not here: what happens to events afterwards (the adapter,
 * src/compliance/), and whether capture is on (chat_params.compliance,
 * which pchatd takes from [compliance] enabled).
 */
#include "chat/chat_int.h"
#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void chat_actor_of(struct chat_actor *a, const struct chat_user *u, const struct chat_session *s)
{
	memset(a, 0, sizeof(*a));
	if (!u)
		return;
	str_copy(a->name, u->name, sizeof(a->name));
	a->id = u->account_id;
	if (!s && u->sessions.n > 0)
		s = u->sessions.v[0];
	if (s)
		str_copy(a->addr, s->addr, sizeof(a->addr));
}

struct store_cevent *chat_capture_new(struct chat *ch, const char *type, const struct chat_user *u,
                                      const struct chat_session *s, const struct chat_room *r)
{
	struct chat_actor a;

	if (!ch->p.compliance)
		return NULL;
	chat_actor_of(&a, u, s);
	return chat_capture_new_as(ch, type, &a, r);
}

struct store_cevent *chat_capture_new_as(struct chat *ch, const char *type,
                                         const struct chat_actor *a, const struct chat_room *r)
{
	struct store_cevent *e;

	if (!ch->p.compliance)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	str_copy(e->type, type, sizeof(e->type));
	str_copy(e->actor, a->name, sizeof(e->actor));
	e->actor_id = a->id;
	str_copy(e->address, a->addr, sizeof(e->address));
	if (r) {
		e->room_id = r->id;
		str_copy(e->room, r->name, sizeof(e->room));
		str_copy(e->category, r->category, sizeof(e->category));
		e->logged = chat_keeps_history(ch, r);
	}
	return e;
}

void chat_capture_set(struct store_cevent *e, const char *content, json_t *detail)
{
	free(e->content);
	e->content = xstrdup(content ? content : "");
	free(e->detail);
	e->detail = NULL;
	if (detail) {
		e->detail = json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(detail);
	}
}

void chat_capture_free(struct store_cevent *e)
{
	if (!e)
		return;
	store_cevent_free(e);
	free(e);
}

static int capture_job(struct store_conn *c, void *arg)
{
	return store_cevent_add(c, arg);
}

static void capture_done(int rc, void *arg)
{
	struct store_cevent *e = arg;

	if (rc)
		log_error("compliance", "a %s event of %s was not captured: %s", e->type, e->actor,
		          store_strerror(rc));
	chat_capture_free(e);
}

void chat_capture_submit(struct chat *ch, struct store_cevent *e)
{
	if (e)
		store_submit_write_atomic(ch->p.store, capture_job, capture_done, e);
}

int chat_admin_record(struct store_conn *c, const struct chat_actor *a, const char *kind,
                      const char *name, const char *action, json_t *detail)
{
	struct store_admin_change ch = {
	    .kind = kind,
	    .name = name,
	    .action = action,
	    .actor = a->name,
	    .actor_id = a->id,
	    .address = a->addr,
	};
	char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc;

	ch.detail = text;
	rc = store_admin_change(c, &ch);
	free(text);
	json_decref(detail);
	return rc;
}

/* --- history reads and searches ------------------------------------------------ */

/* Detail fields given only when set ("" or 0 = not asked). */
static void opt_str(json_t *d, const char *key, const char *v)
{
	if (v[0])
		json_object_set_new(d, key, json_string(v));
}

static void opt_ms(json_t *d, const char *key, int64_t v)
{
	if (v)
		json_object_set_new(d, key, json_integer(v));
}

void chat_capture_backchat(struct chat *ch, const struct chat_actor *a, const struct chat_room *r,
                           const char *peer, const struct chat_history_window *w,
                           const struct chat_msg *msgs, size_t n)
{
	struct store_cevent *e = chat_capture_new_as(ch, "BACKCHAT", a, r);
	json_t *d;

	if (!e)
		return;
	if (!r && peer)
		str_copy(e->peer, peer, sizeof(e->peer));
	d = json_pack("{s:i, s:b}", "limit", w->limit, "from_newest", w->from_newest);
	opt_str(d, "after_msgid", w->after_msgid);
	opt_str(d, "before_msgid", w->before_msgid);
	opt_str(d, "around_msgid", w->around_msgid);
	opt_ms(d, "after_ms", w->after_ts);
	opt_ms(d, "before_ms", w->before_ts);
	opt_ms(d, "around_ms", w->around_ts);
	json_object_set_new(d, "returned", json_integer((json_int_t)n));
	if (n > 0) {
		json_object_set_new(d, "first_msgid", json_string(msgs[0].msgid));
		json_object_set_new(d, "last_msgid", json_string(msgs[n - 1].msgid));
		json_object_set_new(d, "first_ms", json_integer(msgs[0].ts_ms));
		json_object_set_new(d, "last_ms", json_integer(msgs[n - 1].ts_ms));
	}
	chat_capture_set(e, "", d);
	chat_capture_submit(ch, e);
}

void chat_capture_search(struct chat *ch, const struct chat_actor *a,
                         const struct chat_search_query *q, const struct chat_room *room, size_t n,
                         bool more)
{
	static const char *const matches[] = {"all", "any", "exact"};
	struct store_cevent *e = chat_capture_new_as(ch, "SEARCH", a, room);
	json_t *d;

	if (!e)
		return;
	d = json_pack("{s:s, s:b, s:i, s:i, s:b}", "match",
	              matches[q->match >= 0 && q->match <= 2 ? q->match : 0], "case_sensitive",
	              q->case_sensitive, "limit", q->limit, "returned", (int)n, "more", more);
	opt_str(d, "from", q->from);
	opt_ms(d, "after_ms", q->after_ts);
	opt_ms(d, "before_ms", q->before_ts);
	chat_capture_set(e, q->text, d);
	chat_capture_submit(ch, e);
}
