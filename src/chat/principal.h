/*
 * principal.h — principal lists: who a list of members, managers, allowed
 * or denied people names.
 *
 * A principal list is text: comma-separated principals, each an account
 * name, "group:NAME" (a local group, which may itself contain groups) or
 * "*" (everyone; guests too when the server allows guests). Names compare
 * ASCII case-insensitively. These functions are pure: they know neither
 * the store nor IRC. Groups are expanded through a resolver the caller
 * supplies (pchatd from its cache, pchatctl from the store).
 *
 * Deliberately not here: whether an account or group exists (the caller
 * checks that against the store), and the room/category rules built on
 * membership (rules.h).
 */
#ifndef PCHAT_CHAT_PRINCIPAL_H
#define PCHAT_CHAT_PRINCIPAL_H

#include "common/vec.h"

#include <stdbool.h>
#include <stddef.h>

#define PRINCIPAL_LIST_MAX     65536 /* bytes of a normalized list, NUL included */
#define PRINCIPAL_DEPTH_MAX    8     /* levels of groups within groups */
#define PRINCIPAL_GROUP_PREFIX "group:"

/*
 * Member list of the group `group` (comma-separated accounts and
 * "group:NAME"), or NULL when there is no such group. The string stays
 * owned by the resolver and must stay valid until the principal_* call that
 * asked for it returns.
 */
typedef const char *(*principal_group_cb)(void *ctx, const char *group);

/* How to expand groups and who "*" covers. */
struct principal_resolver {
	principal_group_cb group_members; /* NULL: no group matches anyone */
	void *ctx;                        /* passed to group_members */
	bool guests_allowed;              /* "*" also matches guests */
};

/* Whether s is a valid group name (the syntax of room names: 1-50 of A-Z a-z 0-9 - _ .). */
bool principal_group_name_valid(const char *s);

/*
 * Parse and validate a principal list ("alice, group:eng, *"): items are
 * trimmed, empty items skipped, "group:" folded to lower case, duplicates
 * (case-insensitive) dropped keeping the first spelling. Returns the
 * normalized list ("alice,group:eng,*"; "" for an empty list), owned by
 * the caller (free), or NULL with a message naming the bad item in err.
 */
char *principal_list_normalize(const char *in, char *err, size_t errlen);

/*
 * Apply the pchatctl set syntax to the list `current` (already normalized):
 * a spec whose every item starts with '+' or '-' edits (add if missing,
 * remove if present; removing an absent one changes nothing), a spec with
 * no such item replaces the list. Mixing both, or a bad item, is an error.
 * Returns the new normalized list (caller frees) or NULL with a message in
 * err.
 */
char *principal_list_edit(const char *current, const char *spec, char *err, size_t errlen);

/*
 * Whether the list covers `account`. A guest (is_guest; account is then
 * the guest's nick) matches only "*", and only when res->guests_allowed.
 * Groups are expanded through res (depth at most PRINCIPAL_DEPTH_MAX; a
 * group met again inside itself is skipped, so cycles end). res may be
 * NULL: then no group matches and guests match nothing.
 */
bool principal_list_has(const char *list, const char *account, bool is_guest,
                        const struct principal_resolver *res);

/*
 * Check that the group `group` can be expanded: no cycle, at most
 * PRINCIPAL_DEPTH_MAX levels. Returns 0, or -1 with the offending path
 * ("group:a -> group:b -> group:a") in err. Unknown groups are not an
 * error here.
 */
int principal_group_check(const char *group, const struct principal_resolver *res, char *err,
                          size_t errlen);

/*
 * Append to out (as xstrdup'd strings, the caller frees each and the
 * vector) every item of list, normalized as principal_list_normalize would
 * write it. Items that are not valid principals are skipped.
 */
void principal_list_items(const char *list, struct ptrvec *out);

/*
 * The accounts among accounts[0..n) that the list covers (guests are not
 * accounts: "*" expands to every account). Appends pointers into the
 * accounts array (borrowed, not copied) to out in the array's order;
 * returns how many were appended.
 */
size_t principal_list_expand(const char *list, const char *const *accounts, size_t n,
                             const struct principal_resolver *res, struct ptrvec *out);

/* Whether to keep one (normalized) item of a list; see principal_list_filter(). */
typedef bool (*principal_keep_cb)(void *ctx, const char *item);

/*
 * Keep the items of list for which keep() says so. Returns the kept items
 * as a normalized list and, in *dropped, the others ("" when none); both
 * owned by the caller (free).
 */
char *principal_list_filter(const char *list, principal_keep_cb keep, void *ctx, char **dropped);

#endif
