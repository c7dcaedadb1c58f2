/*
 * rules.h — the product rules of SPEC §3 (who may find, join, post in,
 * manage, delete and create rooms) as pure functions over plain structs.
 *
 * Every caller that decides on access (pchatd's JOIN, LIST, WHOIS, search,
 * chathistory, the pchat service; pchatctl's `room eligible`) asks here,
 * so the rules live in one place. The structs hold borrowed strings: fill
 * them from whatever the caller has (store rows, a cache).
 *
 * The ethical wall: a category's denied list overrides its allowed list
 * and every role in its rooms. Someone denied can neither find, join, post
 * in nor manage a room of the category, whatever the room's lists say;
 * only administrators are above it for finding, managing and deleting.
 *
 * Deliberately not here: storage, IRC, and the principal list syntax
 * (principal.h).
 */
#ifndef PCHAT_CHAT_RULES_H
#define PCHAT_CHAT_RULES_H

#include "chat/principal.h"

#include <stdbool.h>

enum rules_privacy {
	RULES_PRIVACY_CLOSED = 0, /* found by the scope, joined by members (default) */
	RULES_PRIVACY_OPEN = 1,   /* found and joined by the scope */
	RULES_PRIVACY_SECRET = 2, /* found and joined by members only */
};

enum rules_room_type {
	RULES_ROOM_NORMAL = 0,     /* whoever may join posts */
	RULES_ROOM_AUDITORIUM = 1, /* only presenters and managers post */
};

/* A category as the rules see it. Strings are principal lists, borrowed. */
struct rules_category {
	const char *allowed;  /* the scope ("*" = everyone); NULL = nobody */
	const char *denied;   /* the ethical wall, overrides allowed; NULL = nobody */
	const char *creators; /* may create rooms here; NULL = nobody */
	bool invitations;     /* rooms send invitations (unless the room says off) */
	bool file_upload;     /* file upload allowed */
	bool history;         /* messages are kept as history */
};

/* A room as the rules see it. Strings are principal lists, borrowed. */
struct rules_room {
	int privacy;            /* enum rules_privacy */
	int type;               /* enum rules_room_type */
	const char *members;    /* members; NULL = none */
	const char *managers;   /* managers (count as members); NULL = none */
	const char *presenters; /* presenters (count as members); NULL = none */
	bool disabled;          /* hidden and empty, content kept */
	bool invitations_off;   /* off; false = inherit the category's flag */
};

/* Who asks. */
struct rules_user {
	const char *account; /* account name, or a guest's nick */
	bool guest;          /* a guest (matches only "*", when guests are allowed) */
	bool admin;          /* an administrator */
};

/*
 * Whether the user is in the category's scope: covered by allowed and not
 * by denied (denied wins). Administrators are not exempt: the wall is
 * about who sees content, and it applies to them when they chat.
 */
bool rules_in_scope(const struct rules_category *cat, const struct rules_user *u,
                    const struct principal_resolver *res);

/* Whether the user is listed as member, manager or presenter (no scope check). */
bool rules_is_listed(const struct rules_room *room, const struct rules_user *u,
                     const struct principal_resolver *res);

/*
 * Whether the user may know the room exists (LIST, WHOIS, search, TARGETS):
 * administrators always; nobody else for a disabled room; open and closed
 * rooms: anyone in scope; secret rooms: members, managers and presenters
 * in scope. Everyone else must be answered as if the room did not exist.
 */
bool rules_can_find(const struct rules_category *cat, const struct rules_room *room,
                    const struct rules_user *u, const struct principal_resolver *res);

/*
 * Whether the user may join (and read the history of) the room: nobody
 * for a disabled room (administrators included); open: anyone in scope;
 * closed and secret: members, managers and presenters in scope.
 */
bool rules_can_join(const struct rules_category *cat, const struct rules_room *room,
                    const struct rules_user *u, const struct principal_resolver *res);

/*
 * Whether the user may post: a normal room, whoever may join; an
 * auditorium, presenters and managers who may join.
 */
bool rules_can_post(const struct rules_category *cat, const struct rules_room *room,
                    const struct rules_user *u, const struct principal_resolver *res);

/*
 * Whether the user may manage the room (description, members, managers,
 * presenters, disable; not its category, not deletion): administrators;
 * managers in scope, unless the room is disabled.
 */
bool rules_can_manage(const struct rules_category *cat, const struct rules_room *room,
                      const struct rules_user *u, const struct principal_resolver *res);

/* Whether the user may delete rooms or their content: administrators only. */
bool rules_can_delete(const struct rules_user *u);

/*
 * Whether the user may create a room in the category (and so become its
 * manager): administrators; creators in scope.
 */
bool rules_can_create(const struct rules_category *cat, const struct rules_user *u,
                      const struct principal_resolver *res);

/* Whether adding a member sends an invitation: room inherit and category on. */
bool rules_invitations_on(const struct rules_category *cat, const struct rules_room *room);

/* Whether the room's messages are kept as history (the category's flag). */
bool rules_keeps_history(const struct rules_category *cat);

#endif
