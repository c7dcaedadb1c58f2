/*
 * feed.c — changes made outside this server (pchatctl, another server of
 * the pool) reach it through the store's change feed: polled every half
 * second on a reader thread, each changed object read again in the same
 * snapshot, then applied here on the loop: rooms updated, added or
 * removed, members who may no longer be in a room removed, roles shown
 * anew, accounts disabled or removed disconnected.
 */
#include "chat/chat_int.h"
#include "chat/principal.h"
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define FEED_INTERVAL_MS 500 /* how often the feed is polled */
#define FEED_BATCH       500 /* changes read per poll */

/* One changed object, read again on the store thread. */
struct feed_item {
	char kind[16];             /* "room", "category", "group", "account", ... */
	char name[STORE_NAME_MAX]; /* which */
	bool found;                /* it still exists */
	struct store_room room;    /* kind "room" */
	struct store_category cat; /* kind "category" */
	struct store_group group;  /* kind "group" */
	struct store_account acct; /* kind "account" */
	struct store_msg msg;      /* kind "message" (name = msgid): redacted */
};

struct feed_op {
	struct chat *ch;         /* engine */
	int64_t after;           /* changes after this id */
	int64_t last;            /* newest id read */
	struct feed_item *items; /* distinct changed objects, oldest first */
	size_t n;                /* how many */
};

static bool seen(const struct feed_op *op, const struct store_change *c)
{
	for (size_t i = 0; i < op->n; i++)
		if (strcmp(op->items[i].kind, c->kind) == 0 && str_ieq(op->items[i].name, c->name))
			return true;
	return false;
}

static int fetch(struct store_conn *c, struct feed_item *it)
{
	int rc = STORE_ENOTFOUND;

	if (strcmp(it->kind, "room") == 0)
		rc = store_room_get(c, it->name, &it->room);
	else if (strcmp(it->kind, "category") == 0)
		rc = store_category_get(c, it->name, &it->cat);
	else if (strcmp(it->kind, "group") == 0)
		rc = store_group_get(c, it->name, &it->group);
	else if (strcmp(it->kind, "account") == 0)
		rc = store_account_get(c, it->name, &it->acct);
	else if (strcmp(it->kind, "message") == 0)
		rc = store_msg_by_msgid(c, it->name, &it->msg);
	it->found = rc == 0;
	return rc == STORE_ENOTFOUND ? 0 : rc;
}

static int feed_job(struct store_conn *c, void *arg)
{
	struct feed_op *op = arg;
	struct store_change *ch = NULL;
	size_t n = 0;
	int rc = store_change_since(c, op->after, FEED_BATCH, &ch, &n);

	op->last = op->after;
	if (rc == 0 && n > 0)
		op->items = xcalloc(n, sizeof(*op->items));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		op->last = ch[i].id;
		if (seen(op, &ch[i]))
			continue;
		str_copy(op->items[op->n].kind, ch[i].kind, sizeof(op->items[op->n].kind));
		str_copy(op->items[op->n].name, ch[i].name, sizeof(op->items[op->n].name));
		rc = fetch(c, &op->items[op->n++]);
	}
	free(ch);
	return rc;
}

/* --- applying ------------------------------------------------------------------ */

static void remove_member(struct chat *ch, struct chat_room *r, struct chat_user *u,
                          const char *reason)
{
	struct store_cevent *e = chat_capture_new(ch, "PART", u, NULL, r);

	if (ch->sink.kick)
		ch->sink.kick(ch->sink_ctx, r, u, reason);
	if (e) {
		chat_capture_set(e, reason, json_pack("{s:s}", "by", "room change"));
		chat_capture_submit(ch, e);
	}
	ptrvec_remove(&r->members, u);
	ptrvec_remove(&u->rooms, r);
	chat_room_count(ch, r);
}

/* Roles of the present members, before a change. */
struct roles_before {
	struct chat_user *u; /* member */
	bool manager;        /* was a manager */
	bool presenter;      /* was a presenter */
};

static struct roles_before *roles_snapshot(struct chat *ch, struct chat_room *r)
{
	struct roles_before *rb = xcalloc(r->members.n + 1, sizeof(*rb));

	for (size_t i = 0; i < r->members.n; i++) {
		rb[i].u = r->members.v[i];
		rb[i].manager = chat_is_manager(ch, rb[i].u, r);
		rb[i].presenter = chat_is_presenter(ch, rb[i].u, r);
	}
	return rb;
}

/* After a change: who may no longer be here leaves; changed roles are shown. */
static void recheck(struct chat *ch, struct chat_room *r, const struct roles_before *rb, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct chat_user *u = rb[i].u;

		if (!chat_in_room(u, r))
			continue;
		if (!chat_can_join(ch, u, r)) {
			remove_member(ch, r, u,
			              r->disabled ? "The room was disabled"
			                          : "You are no longer a member of this room");
			continue;
		}
		if (ch->sink.roles && (rb[i].manager != chat_is_manager(ch, u, r) ||
		                       rb[i].presenter != chat_is_presenter(ch, u, r)))
			ch->sink.roles(ch->sink_ctx, r, u, rb[i].manager, rb[i].presenter);
	}
}

static void recheck_rooms(struct chat *ch, const char *category_key)
{
	struct map_entry *e;
	size_t it;

	for (e = map_first(&ch->rooms, &it); e; e = map_next(&ch->rooms, e, &it)) {
		struct chat_room *r = e->value;
		struct roles_before *rb;
		size_t n = r->members.n;

		if (category_key && strcmp(r->category, category_key) != 0)
			continue;
		/* Roles cannot be told apart before and after here: only access. */
		rb = roles_snapshot(ch, r);
		recheck(ch, r, rb, n);
		free(rb);
	}
}

/* An invitation for someone offline: kept until their next login. */
struct keep_op {
	struct store_invite inv; /* what to keep */
};

static int keep_job(struct store_conn *c, void *arg)
{
	return store_invite_add(c, &((struct keep_op *)arg)->inv);
}

static void keep_done(int rc, void *arg)
{
	if (rc)
		log_warn("chat", "an invitation could not be kept: %s", store_strerror(rc));
	free(arg);
}

/*
 * Accounts added to the member list are invited when the room's
 * invitations are on: at once when online, else at their next login.
 * Groups and "*" invite nobody by themselves.
 */
static void invite_added(struct chat *ch, struct chat_room *r, const char *old_members)
{
	struct ptrvec was = {0}, now = {0};

	if (!chat_invitations_on(ch, r))
		return;
	principal_list_items(old_members, &was);
	principal_list_items(r->member_list, &now);
	for (size_t i = 0; i < now.n; i++) {
		const char *p = now.v[i];
		bool old = false;
		struct chat_user *u;

		for (size_t k = 0; k < was.n && !old; k++)
			old = str_ieq(p, was.v[k]);
		if (old || strcmp(p, "*") == 0 || strchr(p, ':'))
			continue;
		u = chat_user_find(ch, p);
		if (u && u->account && ch->sink.invite) {
			ch->sink.invite(ch->sink_ctx, r, u, "");
		} else if (!u) {
			struct keep_op *op = xcalloc(1, sizeof(*op));

			str_copy(op->inv.account, p, sizeof(op->inv.account));
			str_copy(op->inv.room, r->name, sizeof(op->inv.room));
			op->inv.ts_ms = time_now_ms();
			store_submit_write(ch->p.store, keep_job, keep_done, op);
		}
	}
	for (size_t i = 0; i < was.n; i++)
		free(was.v[i]);
	for (size_t i = 0; i < now.n; i++)
		free(now.v[i]);
	ptrvec_free(&was);
	ptrvec_free(&now);
}

static void apply_room(struct chat *ch, struct feed_item *it)
{
	struct chat_room *r = chat_room_find(ch, it->name);
	struct roles_before *rb;
	char old_topic[CHAT_TOPIC_MAX];
	int old_privacy, old_type;
	char *old_members;
	size_t n;

	if (!it->found) {
		if (!r)
			return;
		while (r->members.n > 0)
			remove_member(ch, r, r->members.v[r->members.n - 1],
			              "The room was removed");
		chat_room_drop(ch, r);
		return;
	}
	if (!r) {
		chat_room_adopt(ch, chat_room_from_store(&it->room));
		return;
	}
	n = r->members.n;
	rb = roles_snapshot(ch, r);
	str_copy(old_topic, r->topic, sizeof(old_topic));
	old_privacy = r->privacy;
	old_type = r->type;
	old_members = xstrdup(r->member_list);
	chat_room_apply(r, &it->room);
	invite_added(ch, r, old_members);
	free(old_members);
	if ((old_privacy != r->privacy || old_type != r->type) && ch->sink.settings)
		ch->sink.settings(ch->sink_ctx, r, old_privacy, old_type);
	recheck(ch, r, rb, n);
	free(rb);
	if (strcmp(old_topic, r->topic) != 0 && ch->sink.topic)
		ch->sink.topic(ch->sink_ctx, r);
}

static void apply_account(struct chat *ch, struct feed_item *it)
{
	struct chat_user *u = chat_user_find(ch, it->name);

	if (!u || !u->account)
		return;
	if (!it->found || !it->acct.chat_enabled) {
		if (ch->sink.kill)
			ch->sink.kill(ch->sink_ctx, u,
			              it->found ? "Your account was disabled for chat"
			                        : "Your account was removed");
		return;
	}
	u->admin = it->acct.admin;
}

static void apply(struct chat *ch, struct feed_item *it)
{
	char key[CHAT_NAME_MAX];

	if (strcmp(it->kind, "room") == 0) {
		apply_room(ch, it);
	} else if (strcmp(it->kind, "category") == 0) {
		str_lower(key, it->name, sizeof(key));
		if (it->found)
			chat_category_put(ch, chat_category_from_store(&it->cat));
		else
			chat_category_free(map_del(&ch->categories, key));
		recheck_rooms(ch, key);
	} else if (strcmp(it->kind, "group") == 0) {
		chat_group_put(ch, it->name, it->found ? it->group.members : NULL);
		recheck_rooms(ch, NULL);
	} else if (strcmp(it->kind, "account") == 0) {
		apply_account(ch, it);
	} else if (strcmp(it->kind, "message") == 0 && it->found && it->msg.room_id) {
		struct chat_room *r = chat_room_by_id(ch, it->msg.room_id);

		if (r && ch->sink.redact)
			ch->sink.redact(ch->sink_ctx, r, it->name);
	}
}

static void feed_op_free(struct feed_op *op)
{
	for (size_t i = 0; i < op->n; i++) {
		store_room_free(&op->items[i].room);
		store_category_free(&op->items[i].cat);
		store_group_free(&op->items[i].group);
		store_account_free(&op->items[i].acct);
		store_msg_free(&op->items[i].msg);
	}
	free(op->items);
	free(op);
}

static void feed_done(int rc, void *arg)
{
	struct feed_op *op = arg;
	struct chat *ch = op->ch;

	ch->feed_busy = false;
	if (rc == 0) {
		for (size_t i = 0; i < op->n; i++)
			apply(ch, &op->items[i]);
		if (op->n)
			log_info("chat", "applied %zu changes made elsewhere", op->n);
		ch->feed_id = op->last;
	}
	feed_op_free(op);
}

static void feed_tick(evutil_socket_t fd, short what, void *arg)
{
	struct chat *ch = arg;
	struct feed_op *op;

	(void)fd;
	(void)what;
	if (ch->feed_busy)
		return;
	ch->feed_busy = true;
	op = xcalloc(1, sizeof(*op));
	op->ch = ch;
	op->after = ch->feed_id;
	store_submit_read(ch->p.store, feed_job, feed_done, op);
}

void chat_feed_start(struct chat *ch)
{
	struct timeval tv = {0, FEED_INTERVAL_MS * 1000};

	if (!ch->p.base || ch->feed_timer)
		return;
	ch->feed_timer = event_new(ch->p.base, -1, EV_PERSIST, feed_tick, ch);
	event_add(ch->feed_timer, &tv);
}

void chat_feed_stop(struct chat *ch)
{
	if (ch->feed_timer)
		event_free(ch->feed_timer);
	ch->feed_timer = NULL;
}
