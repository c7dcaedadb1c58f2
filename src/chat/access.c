/*
 * access.c — the engine's side of the rules: builds the plain structs of
 * chat/rules.h from its rooms, categories and groups, and answers who may
 * find, join, post in and manage a room. The decisions themselves are all
 * in rules.c; nothing here decides on its own.
 */
#include "chat/chat_int.h"
#include "chat/rules.h"
#include "common/str.h"

static const char *group_members(void *ctx, const char *group)
{
	const struct chat *ch = ctx;
	char key[CHAT_NAME_MAX];

	str_lower(key, group, sizeof(key));
	return map_get(&ch->groups, key);
}

void chat_resolver(const struct chat *ch, struct principal_resolver *res)
{
	res->group_members = group_members;
	res->ctx = (void *)ch;
	res->guests_allowed = ch->p.guests_allowed;
}

static void user_of(const struct chat_user *u, struct rules_user *ru)
{
	ru->account = u->name;
	ru->guest = !u->account;
	ru->admin = u->admin;
}

/* The room's category (an empty scope when it is unknown: nobody is in it). */
static void category_of(const struct chat *ch, const struct chat_room *r, struct rules_category *rc)
{
	const struct chat_category *c = map_get(&ch->categories, r->category);

	rc->allowed = c ? c->allowed : NULL;
	rc->denied = c ? c->denied : NULL;
	rc->creators = c ? c->creators : NULL;
	rc->invitations = c ? c->invitations : false;
	rc->file_upload = c ? c->file_upload : false;
	rc->history = c ? c->history : true;
}

static void room_of(const struct chat_room *r, struct rules_room *rr)
{
	rr->privacy = r->privacy;
	rr->type = r->type;
	rr->members = r->member_list;
	rr->managers = r->manager_list;
	rr->presenters = r->presenter_list;
	rr->disabled = r->disabled;
	rr->invitations_off = r->invitations_off;
}

/* Everything a rules_* call needs, in one place. */
struct access {
	struct principal_resolver res; /* groups and guests */
	struct rules_user u;           /* who asks */
	struct rules_category c;       /* the room's category */
	struct rules_room r;           /* the room */
};

static void access_of(const struct chat *ch, const struct chat_user *u, const struct chat_room *r,
                      struct access *a)
{
	chat_resolver(ch, &a->res);
	user_of(u, &a->u);
	category_of(ch, r, &a->c);
	room_of(r, &a->r);
}

bool chat_can_find(const struct chat *ch, const struct chat_user *u, const struct chat_room *r)
{
	struct access a;

	access_of(ch, u, r, &a);
	return rules_can_find(&a.c, &a.r, &a.u, &a.res);
}

bool chat_can_join(const struct chat *ch, const struct chat_user *u, const struct chat_room *r)
{
	struct access a;

	access_of(ch, u, r, &a);
	return rules_can_join(&a.c, &a.r, &a.u, &a.res);
}

bool chat_may_read(const struct chat *ch, const struct chat_user *u, const struct chat_room *r)
{
	return chat_can_join(ch, u, r);
}

bool chat_can_post(const struct chat *ch, const struct chat_user *u, const struct chat_room *r)
{
	struct access a;

	access_of(ch, u, r, &a);
	return rules_can_post(&a.c, &a.r, &a.u, &a.res);
}

bool chat_can_manage(const struct chat *ch, const struct chat_user *u, const struct chat_room *r)
{
	struct access a;

	access_of(ch, u, r, &a);
	return rules_can_manage(&a.c, &a.r, &a.u, &a.res);
}

bool chat_is_manager(const struct chat *ch, const struct chat_user *u, const struct chat_room *r)
{
	struct principal_resolver res;

	chat_resolver(ch, &res);
	return principal_list_has(r->manager_list, u->name, !u->account, &res);
}

bool chat_is_presenter(const struct chat *ch, const struct chat_user *u, const struct chat_room *r)
{
	struct principal_resolver res;

	chat_resolver(ch, &res);
	return principal_list_has(r->presenter_list, u->name, !u->account, &res);
}

bool chat_can_create(const struct chat *ch, const struct chat_user *u, const char *category)
{
	struct principal_resolver res;
	struct rules_category rc = {0};
	struct rules_user ru;
	char key[CHAT_NAME_MAX];
	const struct chat_category *c;

	str_lower(key, category, sizeof(key));
	c = map_get(&ch->categories, key);
	if (!c || !u->account)
		return false;
	rc.allowed = c->allowed;
	rc.denied = c->denied;
	rc.creators = c->creators;
	chat_resolver(ch, &res);
	user_of(u, &ru);
	return rules_can_create(&rc, &ru, &res);
}

bool chat_invitations_on(const struct chat *ch, const struct chat_room *r)
{
	struct rules_category c;
	struct rules_room rr;

	category_of(ch, r, &c);
	room_of(r, &rr);
	return rules_invitations_on(&c, &rr);
}

bool chat_keeps_history(const struct chat *ch, const struct chat_room *r)
{
	struct rules_category c;

	category_of(ch, r, &c);
	return rules_keeps_history(&c);
}
