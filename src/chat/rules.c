/*
 * rules.c — SPEC §3 access rules (rules.h).
 *
 * Each rule is a few lines of boolean logic over principal_list_has();
 * the order of the checks is the order of precedence: disabled, then the
 * ethical wall (scope), then privacy and roles. Deliberately not here:
 * where the structs come from (store, cache) and what a refusal looks like
 * on the wire.
 */
#include "chat/rules.h"

static bool has(const char *list, const struct rules_user *u, const struct principal_resolver *res)
{
	return list && principal_list_has(list, u->account, u->guest, res);
}

bool rules_in_scope(const struct rules_category *cat, const struct rules_user *u,
                    const struct principal_resolver *res)
{
	return has(cat->allowed, u, res) && !has(cat->denied, u, res);
}

bool rules_is_listed(const struct rules_room *room, const struct rules_user *u,
                     const struct principal_resolver *res)
{
	return has(room->members, u, res) || has(room->managers, u, res) ||
	       has(room->presenters, u, res);
}

bool rules_can_find(const struct rules_category *cat, const struct rules_room *room,
                    const struct rules_user *u, const struct principal_resolver *res)
{
	if (u->admin && !u->guest)
		return true;
	if (room->disabled || !rules_in_scope(cat, u, res))
		return false;
	if (room->privacy == RULES_PRIVACY_SECRET)
		return rules_is_listed(room, u, res);
	return true;
}

bool rules_can_join(const struct rules_category *cat, const struct rules_room *room,
                    const struct rules_user *u, const struct principal_resolver *res)
{
	if (room->disabled || !rules_in_scope(cat, u, res))
		return false;
	if (room->privacy == RULES_PRIVACY_OPEN)
		return true;
	return rules_is_listed(room, u, res);
}

bool rules_can_post(const struct rules_category *cat, const struct rules_room *room,
                    const struct rules_user *u, const struct principal_resolver *res)
{
	if (!rules_can_join(cat, room, u, res))
		return false;
	if (room->type == RULES_ROOM_AUDITORIUM)
		return has(room->presenters, u, res) || has(room->managers, u, res);
	return true;
}

bool rules_can_manage(const struct rules_category *cat, const struct rules_room *room,
                      const struct rules_user *u, const struct principal_resolver *res)
{
	if (u->admin && !u->guest)
		return true;
	if (room->disabled || !rules_in_scope(cat, u, res))
		return false;
	return has(room->managers, u, res);
}

bool rules_can_delete(const struct rules_user *u)
{
	return u->admin && !u->guest;
}

bool rules_can_create(const struct rules_category *cat, const struct rules_user *u,
                      const struct principal_resolver *res)
{
	if (u->admin && !u->guest)
		return true;
	return rules_in_scope(cat, u, res) && has(cat->creators, u, res);
}

bool rules_invitations_on(const struct rules_category *cat, const struct rules_room *room)
{
	return !room->invitations_off && cat->invitations;
}

bool rules_keeps_history(const struct rules_category *cat)
{
	return cat->history;
}
