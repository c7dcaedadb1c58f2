/*
 * manage.c — changes users make to rooms from their chat client (the pchat
 * service, MODE): create a room, change its settings and role lists,
 * follow and unfollow rooms. The rules decide on the loop thread; the
 * change is a write job that also records itself in the change feed, which
 * then applies it here like any change made with pchatctl (so every server
 * of a pool sees it the same way).
 */
#include "chat/chat_int.h"
#include "chat/principal.h"
#include "chat/rules.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/vec.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct manage_op {
	struct chat *ch;              /* engine */
	enum chat_room_field field;   /* what changes */
	char room[CHAT_NAME_MAX];     /* which room */
	char category[CHAT_NAME_MAX]; /* create: its category */
	char creator[CHAT_NAME_MAX];  /* create: becomes manager */
	struct chat_actor by;         /* who asks (compliance) */
	char *value;                  /* new value or +/- edit (owned) */
	char err[200];                /* message for the user */
	chat_manage_cb cb;            /* caller's completion */
	void *arg;                    /* its argument */
};

static struct manage_op *op_new(struct chat *ch, struct chat_user *u, const char *room,
                                const char *value, chat_manage_cb cb, void *arg)
{
	struct manage_op *op = xcalloc(1, sizeof(*op));

	op->ch = ch;
	chat_actor_of(&op->by, u, NULL);
	str_copy(op->room, room, sizeof(op->room));
	op->value = xstrdup(value ? value : "");
	op->cb = cb;
	op->arg = arg;
	return op;
}

static void manage_done(int rc, void *arg)
{
	struct manage_op *op = arg;

	if (rc && !op->err[0])
		snprintf(op->err, sizeof(op->err), "%s", store_strerror(rc));
	op->cb(rc ? CHAT_ESTORE : 0, rc ? op->err : NULL, op->arg);
	free(op->value);
	free(op);
}

/* Every account and group a list adds must exist. */
static int principals_exist(struct store_conn *c, const char *list, char *err, size_t n)
{
	struct ptrvec items = {0};
	int rc = 0;

	principal_list_items(list, &items);
	for (size_t i = 0; rc == 0 && i < items.n; i++) {
		const char *p = items.v[i];

		if (strcmp(p, "*") == 0)
			continue;
		if (strncmp(p, PRINCIPAL_GROUP_PREFIX, strlen(PRINCIPAL_GROUP_PREFIX)) == 0) {
			struct store_group g = {0};

			rc = store_group_get(c, p + strlen(PRINCIPAL_GROUP_PREFIX), &g);
			store_group_free(&g);
		} else {
			struct store_account a = {0};

			rc = store_account_get(c, p, &a);
			store_account_free(&a);
		}
		if (rc == STORE_ENOTFOUND)
			snprintf(err, n, "no account or group named %s", p);
	}
	for (size_t i = 0; i < items.n; i++)
		free(items.v[i]);
	ptrvec_free(&items);
	return rc;
}

/* Apply a +/- edit (or a replacement) to one role list. */
static int edit_list(struct store_conn *c, char **list, const char *spec, char *err, size_t n)
{
	char *next = principal_list_edit(*list, spec, err, n);
	int rc;

	if (!next)
		return STORE_EINVAL;
	rc = principals_exist(c, next, err, n);
	if (rc == 0) {
		free(*list);
		*list = next;
	} else {
		free(next);
	}
	return rc;
}

static int parse_setting(struct manage_op *op, struct store_room *r)
{
	const char *v = op->value;

	switch (op->field) {
	case CHAT_SET_DESCRIPTION:
		free(r->description);
		r->description = xstrdup(v);
		return 0;
	case CHAT_SET_PRIVACY:
		r->privacy = strcmp(v, "open") == 0     ? STORE_PRIVACY_OPEN
		             : strcmp(v, "closed") == 0 ? STORE_PRIVACY_CLOSED
		             : strcmp(v, "secret") == 0 ? STORE_PRIVACY_SECRET
		                                        : -1;
		break;
	case CHAT_SET_TYPE:
		r->type = strcmp(v, "normal") == 0       ? STORE_ROOM_NORMAL
		          : strcmp(v, "auditorium") == 0 ? STORE_ROOM_AUDITORIUM
		                                         : -1;
		break;
	case CHAT_SET_INVITATIONS:
		if (strcmp(v, "inherit") != 0 && strcmp(v, "off") != 0) {
			snprintf(op->err, sizeof(op->err), "invitations: inherit or off");
			return STORE_EINVAL;
		}
		r->invitations_off = strcmp(v, "off") == 0;
		return 0;
	default:
		return STORE_EINVAL;
	}
	if (r->privacy < 0 || r->type < 0) {
		snprintf(op->err, sizeof(op->err), "unknown value '%s'", v);
		return STORE_EINVAL;
	}
	return 0;
}

/* Names of enum chat_room_field, as compliance records them. */
static const char *const field_names[] = {"description", "privacy",  "type",      "invitations",
                                          "members",     "managers", "presenters"};

static int edit_job(struct store_conn *c, void *arg)
{
	struct manage_op *op = arg;
	struct store_room r = {0};
	int rc = store_room_get(c, op->room, &r);

	if (rc)
		goto out;
	if (op->field == CHAT_EDIT_MEMBERS)
		rc = edit_list(c, &r.members, op->value, op->err, sizeof(op->err));
	else if (op->field == CHAT_EDIT_MANAGERS)
		rc = edit_list(c, &r.managers, op->value, op->err, sizeof(op->err));
	else if (op->field == CHAT_EDIT_PRESENTERS)
		rc = edit_list(c, &r.presenters, op->value, op->err, sizeof(op->err));
	else
		rc = parse_setting(op, &r);
	if (rc == 0)
		rc = store_room_update(c, &r);
	if (rc == 0)
		rc = chat_admin_record(
		    c, &op->by, "room", r.name, "set",
		    json_pack("{s:s, s:s}", "field", field_names[op->field], "value", op->value));
out:
	store_room_free(&r);
	return rc;
}

void chat_room_manage(struct chat *ch, struct chat_user *u, struct chat_room *r,
                      enum chat_room_field field, const char *value, chat_manage_cb cb, void *arg)
{
	struct manage_op *op;

	if (!chat_can_manage(ch, u, r)) {
		cb(CHAT_EDENIED, "only the room's managers may change it", arg);
		return;
	}
	op = op_new(ch, u, r->name, value, cb, arg);
	op->field = field;
	store_submit_write(ch->p.store, edit_job, manage_done, op);
}

static int create_job(struct store_conn *c, void *arg)
{
	struct manage_op *op = arg;
	struct store_room r = {0};
	int rc;

	str_copy(r.name, op->room, sizeof(r.name));
	str_copy(r.category, op->category, sizeof(r.category));
	r.description = "";
	r.members = "";
	r.managers = op->creator;
	r.presenters = "";
	r.created_ms = time_now_ms();
	if (op->value[0])
		r.privacy = strcmp(op->value, "open") == 0     ? STORE_PRIVACY_OPEN
		            : strcmp(op->value, "secret") == 0 ? STORE_PRIVACY_SECRET
		                                               : STORE_PRIVACY_CLOSED;
	rc = store_room_add(c, &r);
	if (rc == STORE_EEXIST)
		snprintf(op->err, sizeof(op->err), "a room named %s exists already", op->room);
	if (rc == 0)
		rc = chat_admin_record(c, &op->by, "room", r.name, "add",
		                       json_pack("{s:s, s:s, s:s}", "category", r.category,
		                                 "privacy", op->value[0] ? op->value : "closed",
		                                 "managers", op->creator));
	return rc;
}

void chat_room_create(struct chat *ch, struct chat_user *u, const char *name, const char *category,
                      const char *privacy, chat_manage_cb cb, void *arg)
{
	struct chat_category *cat;
	char key[CHAT_NAME_MAX];
	struct manage_op *op;
	struct rules_category rc = {0};
	struct rules_user ru = {u->name, !u->account, u->admin};
	struct principal_resolver res = {0};

	str_lower(key, category, sizeof(key));
	cat = map_get(&ch->categories, key);
	if (!cat) {
		cb(CHAT_ENOROOM, "no such category", arg);
		return;
	}
	rc.allowed = cat->allowed;
	rc.denied = cat->denied;
	rc.creators = cat->creators;
	chat_resolver(ch, &res);
	if (!u->account || !rules_can_create(&rc, &ru, &res)) {
		cb(CHAT_EDENIED, "you may not create rooms in this category", arg);
		return;
	}
	op = op_new(ch, u, name, privacy, cb, arg);
	str_copy(op->category, cat->name, sizeof(op->category));
	str_copy(op->creator, u->name, sizeof(op->creator));
	store_submit_write(ch->p.store, create_job, manage_done, op);
}

/* --- following ------------------------------------------------------------------ */

struct follow_op {
	struct chat *ch;             /* engine */
	char account[CHAT_NAME_MAX]; /* who */
	char room[CHAT_NAME_MAX];    /* which room ("" for the list) */
	bool on;                     /* follow or unfollow */
	char **names;                /* the list, read on the thread */
	size_t n;                    /* how many */
	chat_list_cb list_cb;        /* list completion */
	chat_manage_cb cb;           /* change completion */
	void *arg;                   /* its argument */
};

static int follow_job(struct store_conn *c, void *arg)
{
	struct follow_op *op = arg;

	if (op->list_cb)
		return store_follow_list(c, op->account, &op->names, &op->n);
	return op->on ? store_follow_add(c, op->account, op->room)
	              : store_follow_remove(c, op->account, op->room);
}

static void follow_done(int rc, void *arg)
{
	struct follow_op *op = arg;

	if (op->list_cb)
		op->list_cb(rc ? CHAT_ESTORE : 0, (const char *const *)op->names, rc ? 0 : op->n,
		            op->arg);
	else
		op->cb(rc == STORE_ENOTFOUND ? CHAT_ENOROOM
		       : rc                  ? CHAT_ESTORE
		                             : 0,
		       rc == STORE_ENOTFOUND ? "you do not follow that room" : NULL, op->arg);
	for (size_t i = 0; i < op->n; i++)
		free(op->names[i]);
	free(op->names);
	free(op);
}

void chat_follow(struct chat *ch, struct chat_user *u, struct chat_room *r, bool on,
                 chat_manage_cb cb, void *arg)
{
	struct follow_op *op;

	if (!u->account || (on && !chat_can_join(ch, u, r))) {
		cb(CHAT_EDENIED, "you may not join that room", arg);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->ch = ch;
	str_copy(op->account, u->name, sizeof(op->account));
	str_copy(op->room, r->name, sizeof(op->room));
	op->on = on;
	op->cb = cb;
	op->arg = arg;
	store_submit_write(ch->p.store, follow_job, follow_done, op);
}

void chat_following(struct chat *ch, struct chat_user *u, chat_list_cb cb, void *arg)
{
	struct follow_op *op = xcalloc(1, sizeof(*op));

	op->ch = ch;
	str_copy(op->account, u->name, sizeof(op->account));
	op->list_cb = cb;
	op->arg = arg;
	store_submit_read(ch->p.store, follow_job, follow_done, op);
}

/* --- invitations kept while offline ------------------------------------------------ */

struct invites_op {
	char account[CHAT_NAME_MAX]; /* whose */
	struct store_invite *inv;    /* taken on the thread */
	size_t n;                    /* how many */
	chat_list_cb cb;             /* caller's completion */
	void *arg;                   /* its argument */
};

static int invites_job(struct store_conn *c, void *arg)
{
	struct invites_op *op = arg;

	return store_invite_take(c, op->account, &op->inv, &op->n);
}

static void invites_done(int rc, void *arg)
{
	struct invites_op *op = arg;
	const char **names = xcalloc(op->n + 1, sizeof(*names));

	for (size_t i = 0; rc == 0 && i < op->n; i++)
		names[i] = op->inv[i].room;
	op->cb(rc ? CHAT_ESTORE : 0, names, rc ? 0 : op->n, op->arg);
	free(names);
	free(op->inv);
	free(op);
}

void chat_invites_take(struct chat *ch, struct chat_user *u, chat_list_cb cb, void *arg)
{
	struct invites_op *op = xcalloc(1, sizeof(*op));

	str_copy(op->account, u->name, sizeof(op->account));
	op->cb = cb;
	op->arg = arg;
	store_submit_write(ch->p.store, invites_job, invites_done, op);
}

/* --- redaction by an administrator ---------------------------------------------------- */

struct redact_op {
	char msgid[32];       /* which message */
	struct chat_actor by; /* the administrator (compliance) */
	chat_manage_cb cb;    /* caller's completion */
	void *arg;            /* its argument */
};

static int redact_job(struct store_conn *c, void *arg)
{
	struct redact_op *op = arg;
	struct store_msg m = {0}, *out = NULL;
	struct store_msg_filter f;
	size_t n = 0;
	int rc = store_msg_by_msgid(c, op->msgid, &m);

	if (rc == 0 && (m.room_id == 0 || m.redacted == 1))
		rc = STORE_ENOTFOUND; /* private messages are not administered */
	if (rc == 0) {
		memset(&f, 0, sizeof(f));
		f.room_id = m.room_id;
		f.sender = m.sender;
		f.from_ts = f.to_ts = m.ts_ms;
		f.msgid = op->msgid;
		rc = store_msg_redact(c, &f, NULL, &out, &n);
	}
	if (rc == 0 && n == 0)
		rc = STORE_ENOTFOUND;
	if (rc == 0)
		rc =
		    chat_admin_record(c, &op->by, "message", op->msgid, "remove",
		                      json_pack("{s:I, s:s, s:I, s:s}", "room_id",
		                                (json_int_t)m.room_id, "sender", m.sender, "ts_ms",
		                                (json_int_t)m.ts_ms, "text", m.text ? m.text : ""));
	for (size_t i = 0; i < n; i++)
		store_msg_free(&out[i]);
	free(out);
	store_msg_free(&m);
	return rc;
}

static void redact_done(int rc, void *arg)
{
	struct redact_op *op = arg;

	op->cb(rc == STORE_ENOTFOUND ? CHAT_ENOROOM
	       : rc                  ? CHAT_ESTORE
	                             : 0,
	       rc == STORE_ENOTFOUND ? "no such message in a room" : NULL, op->arg);
	free(op);
}

void chat_redact(struct chat *ch, struct chat_user *u, const char *msgid, chat_manage_cb cb,
                 void *arg)
{
	struct redact_op *op;

	if (!u->admin) {
		cb(CHAT_EDENIED, "only administrators remove messages", arg);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	str_copy(op->msgid, msgid, sizeof(op->msgid));
	chat_actor_of(&op->by, u, NULL);
	op->cb = cb;
	op->arg = arg;
	store_submit_write(ch->p.store, redact_job, redact_done, op);
}

/* --- read markers ---------------------------------------------------------------------- */

struct marker_op {
	char account[CHAT_NAME_MAX];    /* whose */
	char target[CHAT_NAME_MAX + 1]; /* "#room" or account */
	int64_t ts;                     /* to set (0: only read), then the one in force */
	chat_marker_cb cb;              /* caller's completion */
	void *arg;                      /* its argument */
};

static int marker_job(struct store_conn *c, void *arg)
{
	struct marker_op *op = arg;
	int rc = 0;

	if (op->ts > 0)
		rc = store_marker_set(c, op->account, op->target, op->ts);
	if (rc == 0)
		rc = store_marker_get(c, op->account, op->target, &op->ts);
	if (rc == STORE_ENOTFOUND) {
		op->ts = 0;
		rc = 0;
	}
	return rc;
}

static void marker_done(int rc, void *arg)
{
	struct marker_op *op = arg;

	op->cb(rc ? CHAT_ESTORE : 0, rc ? 0 : op->ts, op->arg);
	free(op);
}

static void marker_submit(struct chat *ch, struct chat_user *u, const char *target, int64_t ts,
                          chat_marker_cb cb, void *arg)
{
	struct marker_op *op = xcalloc(1, sizeof(*op));

	str_copy(op->account, u->name, sizeof(op->account));
	str_lower(op->target, target, sizeof(op->target));
	op->ts = ts;
	op->cb = cb;
	op->arg = arg;
	if (ts > 0)
		store_submit_write(ch->p.store, marker_job, marker_done, op);
	else
		store_submit_read(ch->p.store, marker_job, marker_done, op);
}

void chat_marker_get(struct chat *ch, struct chat_user *u, const char *target, chat_marker_cb cb,
                     void *arg)
{
	marker_submit(ch, u, target, 0, cb, arg);
}

void chat_marker_set(struct chat *ch, struct chat_user *u, const char *target, int64_t ts_ms,
                     chat_marker_cb cb, void *arg)
{
	marker_submit(ch, u, target, ts_ms > 0 ? ts_ms : 1, cb, arg);
}
