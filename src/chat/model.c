/*
 * model.c — the engine's copy of the rooms model: rooms, categories and
 * groups built from store rows, updated in place when they change, loaded
 * whole at start. Who is present in a room is chat.c's; the rules are
 * access.c's.
 */
#include "chat/chat_int.h"
#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static char *dup_list(const char *s)
{
	return xstrdup(s ? s : "");
}

void chat_room_free(struct chat_room *r)
{
	if (!r)
		return;
	ptrvec_free(&r->members);
	free(r->member_list);
	free(r->manager_list);
	free(r->presenter_list);
	free(r);
}

void chat_room_apply(struct chat_room *r, const struct store_room *sr)
{
	str_copy(r->name, sr->name, sizeof(r->name));
	str_lower(r->key, sr->name, sizeof(r->key));
	if (strcmp(r->topic, sr->description ? sr->description : "") != 0) {
		str_copy(r->topic, sr->description ? sr->description : "", sizeof(r->topic));
		r->topic_ms = sr->created_ms > r->topic_ms ? sr->created_ms : r->topic_ms;
	}
	str_lower(r->category, sr->category, sizeof(r->category));
	r->created_ms = sr->created_ms;
	r->privacy = sr->privacy;
	r->type = sr->type;
	r->disabled = sr->disabled;
	r->invitations_off = sr->invitations_off;
	str_copy(r->addin, sr->addin, sizeof(r->addin));
	free(r->member_list);
	free(r->manager_list);
	free(r->presenter_list);
	r->member_list = dup_list(sr->members);
	r->manager_list = dup_list(sr->managers);
	r->presenter_list = dup_list(sr->presenters);
}

struct chat_room *chat_room_from_store(const struct store_room *sr)
{
	struct chat_room *r = xcalloc(1, sizeof(*r));

	r->id = sr->id;
	r->topic_ms = sr->created_ms;
	chat_room_apply(r, sr);
	return r;
}

void chat_category_free(struct chat_category *c)
{
	if (!c)
		return;
	free(c->allowed);
	free(c->denied);
	free(c->creators);
	free(c);
}

struct chat_category *chat_category_from_store(const struct store_category *sc)
{
	struct chat_category *c = xcalloc(1, sizeof(*c));

	str_copy(c->name, sc->name, sizeof(c->name));
	str_lower(c->key, sc->name, sizeof(c->key));
	c->allowed = dup_list(sc->allowed);
	c->denied = dup_list(sc->denied);
	c->creators = dup_list(sc->creators);
	c->invitations = sc->invitations;
	c->file_upload = sc->file_upload;
	c->history = sc->history;
	return c;
}

void chat_category_put(struct chat *ch, struct chat_category *c)
{
	chat_category_free(map_put(&ch->categories, c->key, c));
}

void chat_group_put(struct chat *ch, const char *name, const char *members)
{
	char key[CHAT_NAME_MAX];

	str_lower(key, name, sizeof(key));
	if (members)
		free(map_put(&ch->groups, key, xstrdup(members)));
	else
		free(map_del(&ch->groups, key));
}

void chat_model_free(struct chat *ch)
{
	struct map_entry *e;
	size_t it;

	for (e = map_first(&ch->rooms, &it); e; e = map_next(&ch->rooms, e, &it))
		chat_room_free(e->value);
	for (e = map_first(&ch->categories, &it); e; e = map_next(&ch->categories, e, &it))
		chat_category_free(e->value);
	for (e = map_first(&ch->groups, &it); e; e = map_next(&ch->groups, e, &it))
		free(e->value);
	map_clear(&ch->rooms);
	map_clear(&ch->rooms_by_id);
	map_clear(&ch->categories);
	map_clear(&ch->groups);
}

static int load_categories(struct chat *ch, struct store_conn *c)
{
	struct store_category *cats = NULL;
	size_t n = 0;
	int rc = store_category_list(c, &cats, &n);

	for (size_t i = 0; rc == 0 && i < n; i++)
		chat_category_put(ch, chat_category_from_store(&cats[i]));
	for (size_t i = 0; i < n; i++)
		store_category_free(&cats[i]);
	free(cats);
	return rc;
}

static int load_groups(struct chat *ch, struct store_conn *c)
{
	struct store_group *groups = NULL;
	size_t n = 0;
	int rc = store_group_list(c, &groups, &n);

	for (size_t i = 0; rc == 0 && i < n; i++)
		chat_group_put(ch, groups[i].name, groups[i].members);
	for (size_t i = 0; i < n; i++)
		store_group_free(&groups[i]);
	free(groups);
	return rc;
}

static int load_rooms(struct chat *ch, struct store_conn *c, size_t *count)
{
	struct store_room *rooms = NULL;
	size_t n = 0;
	int rc = store_room_list(c, &rooms, &n);

	for (size_t i = 0; rc == 0 && i < n; i++)
		chat_room_adopt(ch, chat_room_from_store(&rooms[i]));
	for (size_t i = 0; i < n; i++)
		store_room_free(&rooms[i]);
	free(rooms);
	*count = n;
	return rc;
}

int chat_load(struct chat *ch)
{
	struct store_conn *c = store_direct(ch->p.store);
	size_t n_rooms = 0;
	int rc;

	if ((rc = load_categories(ch, c)) != 0 || (rc = load_groups(ch, c)) != 0 ||
	    (rc = load_rooms(ch, c, &n_rooms)) != 0 ||
	    (rc = store_change_last(c, &ch->feed_id)) != 0) {
		log_error("chat", "cannot load the rooms model: %s", store_strerror(rc));
		return CHAT_ESTORE;
	}
	log_info("chat", "%zu rooms, %zu categories, %zu groups loaded", n_rooms,
	         ch->categories.n_entries, ch->groups.n_entries);
	return 0;
}
