/*
 * store_comp.c — the generic half of the compliance queue (store.h
 * "compliance"): argument checks before the backend, the clock, and
 * store_admin_change (the change-feed row plus an ADMIN event).
 *
 * It knows no SQL and no file: where the queue lives (an outbox and a second
 * SQLite file, or the chat database itself) is the backend's business. It
 * does not decide what is captured either: callers (chat layer, pchatctl)
 * choose their events and ask store_comp_enabled() first.
 */
#include "store/store_int.h"

#include "common/str.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define COMP_TEXT_MAX   (1024 * 1024) /* content and detail, bytes */
#define COMP_STATUS_MAX 512           /* last_file, last_error as stored (status arrays) */
#define COMP_ACTION_MAX 32            /* store_admin_change.action, bytes + NUL */

/* The event types of SPEC §5. */
static bool type_ok(const char *type)
{
	static const char *const types[] = {"CHAT",   "JOIN",       "PART",         "BACKCHAT",
	                                    "SEARCH", "FILEUPLOAD", "FILEDOWNLOAD", "ADMIN"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

/* A fixed array holds a NUL-terminated string. */
#define TERMINATED(arr) (strnlen((arr), sizeof(arr)) < sizeof(arr))

/* NULL or at most COMP_TEXT_MAX bytes. */
static bool text_ok(const char *s)
{
	return !s || strnlen(s, COMP_TEXT_MAX + 1) <= COMP_TEXT_MAX;
}

static bool cevent_ok(const struct store_cevent *e)
{
	if (!TERMINATED(e->type) || !type_ok(e->type))
		return false;
	if (!TERMINATED(e->actor) || !TERMINATED(e->address) || !TERMINATED(e->room) ||
	    !TERMINATED(e->category) || !TERMINATED(e->peer) || !TERMINATED(e->msgid))
		return false;
	if (e->actor_id < 0 || e->room_id < 0 || e->ts_ms < 0)
		return false;
	return text_ok(e->content) && text_ok(e->detail);
}

int store_cevent_add(struct store_conn *c, struct store_cevent *e)
{
	if (!cevent_ok(e))
		return STORE_EINVAL;
	if (e->ts_ms == 0)
		e->ts_ms = time_now_ms();
	return c->be->cevent_add(c, e);
}

void store_cevent_free(struct store_cevent *e)
{
	if (!e)
		return;
	free(e->content);
	free(e->detail);
	e->content = e->detail = NULL;
}

int store_comp_enabled(struct store_conn *c, bool *on)
{
	*on = false;
	return c->be->comp_enabled(c, on);
}

int store_comp_set_enabled(struct store_conn *c, bool on)
{
	return c->be->comp_set_enabled(c, on);
}

int store_comp_move(struct store_conn *c, int limit, int64_t *n)
{
	*n = 0;
	if (c->in_job || limit < 1)
		return STORE_EINVAL;
	return c->be->comp_move(c, limit, n);
}

/* An adapter's name: 1 to 63 bytes without controls. */
static bool owner_ok(const char *owner)
{
	size_t len;

	if (!owner)
		return false;
	len = strnlen(owner, sizeof(((struct store_comp_claim *)0)->owner));
	if (len == 0 || len >= sizeof(((struct store_comp_claim *)0)->owner))
		return false;
	return !str_has_crlfnul(owner, len);
}

int store_comp_claim(struct store_conn *c, const char *owner, const char *params, int max_events,
                     int64_t lease_ms, struct store_comp_claim *out)
{
	memset(out, 0, sizeof(*out));
	if (!params)
		params = "";
	if (!owner_ok(owner) || strnlen(params, STORE_CLAIM_PARAMS_MAX) >= STORE_CLAIM_PARAMS_MAX)
		return STORE_EINVAL;
	if (max_events < 1 || lease_ms < 1)
		return STORE_EINVAL;
	return c->be->comp_claim(c, owner, params, max_events, lease_ms, time_now_ms(), out);
}

int store_comp_fetch(struct store_conn *c, int64_t lo, int64_t hi, struct store_cevent **out,
                     size_t *n)
{
	*out = NULL;
	*n = 0;
	if (lo < 1 || hi < lo)
		return STORE_EINVAL;
	return c->be->comp_fetch(c, lo, hi, out, n);
}

static bool claim_ok(const struct store_comp_claim *cl)
{
	return cl->lo >= 1 && cl->hi >= cl->lo && cl->n >= 0 && TERMINATED(cl->owner);
}

int store_comp_renew(struct store_conn *c, const struct store_comp_claim *cl, int64_t lease_ms)
{
	if (!claim_ok(cl) || lease_ms < 1)
		return STORE_EINVAL;
	return c->be->comp_renew(c, cl, time_now_ms() + lease_ms);
}

/* s cut to what status can show (at most COMP_STATUS_MAX - 1 bytes, whole characters). */
static char *clip(const char *s)
{
	size_t len = strnlen(s ? s : "", COMP_STATUS_MAX);

	if (len >= COMP_STATUS_MAX)
		len = utf8_trunc(s, COMP_STATUS_MAX - 1);
	return xstrndup(s ? s : "", len);
}

int store_comp_done(struct store_conn *c, const struct store_comp_claim *cl, const char *file)
{
	char *f;
	int rc;

	if (!claim_ok(cl))
		return STORE_EINVAL;
	f = clip(file);
	rc = c->be->comp_done(c, cl, f, time_now_ms());
	free(f);
	return rc;
}

int store_comp_failed(struct store_conn *c, const struct store_comp_claim *cl, bool release,
                      const char *error)
{
	char *e;
	int rc;

	if (cl && !claim_ok(cl))
		return STORE_EINVAL;
	e = clip(error && *error ? error : "unknown error");
	rc = c->be->comp_failed(c, cl, release, e, time_now_ms());
	free(e);
	return rc;
}

int store_comp_shipped(struct store_conn *c, bool end_segment, struct store_comp_ship *st)
{
	if (c->in_job || !TERMINATED(st->segment))
		return STORE_EINVAL;
	if (!c->be->comp_shipped) { /* no log shipping: nothing to wait for */
		st->archiving = false;
		st->shipped = true;
		return 0;
	}
	return c->be->comp_shipped(c, end_segment, st);
}

int store_comp_status(struct store_conn *c, struct store_comp_status *out)
{
	memset(out, 0, sizeof(*out));
	return c->be->comp_status(c, out);
}

/* --- administrative changes ------------------------------------------------ */

static bool admin_change_ok(const struct store_admin_change *ch)
{
	size_t alen;

	if (!ch->kind || !ch->name || !ch->action || !ch->kind[0] || !ch->name[0])
		return false;
	alen = strnlen(ch->action, COMP_ACTION_MAX);
	if (alen == 0 || alen >= COMP_ACTION_MAX || str_has_crlfnul(ch->action, alen))
		return false;
	if (ch->actor && strnlen(ch->actor, STORE_NAME_MAX) >= STORE_NAME_MAX)
		return false;
	if (ch->address && strnlen(ch->address, 64) >= 64)
		return false;
	return ch->actor_id >= 0 && text_ok(ch->detail);
}

/* The room fields of an ADMIN event about a room (nothing when it is gone). */
static void admin_room(struct store_conn *c, const char *name, struct store_cevent *e)
{
	struct store_room r = {0};
	struct store_category cat = {0};

	str_copy(e->room, name, sizeof(e->room));
	if (c->be->room_get(c, name, &r) != 0)
		return; /* removed (or never existed): the name alone */
	e->room_id = r.id;
	str_copy(e->room, r.name, sizeof(e->room));
	str_copy(e->category, r.category, sizeof(e->category));
	if (c->be->category_get(c, r.category, &cat) == 0)
		e->logged = cat.history;
	store_category_free(&cat);
	store_room_free(&r);
}

int store_admin_change(struct store_conn *c, const struct store_admin_change *ch)
{
	struct store_cevent e = {0};
	size_t len = 0, cap;
	bool on = false;
	int rc;

	if (!admin_change_ok(ch))
		return STORE_EINVAL;
	if ((rc = store_change_add(c, ch->kind, ch->name)) != 0)
		return rc;
	if ((rc = store_comp_enabled(c, &on)) != 0 || !on)
		return rc;
	str_copy(e.type, "ADMIN", sizeof(e.type));
	str_copy(e.actor, ch->actor ? ch->actor : "", sizeof(e.actor));
	e.actor_id = ch->actor_id;
	str_copy(e.address, ch->address ? ch->address : "", sizeof(e.address));
	if (strcmp(ch->kind, "room") == 0)
		admin_room(c, ch->name, &e);
	cap = strlen(ch->action) + strlen(ch->kind) + strlen(ch->name) + 3;
	e.content = xmalloc(cap);
	e.content[0] = '\0';
	str_appendf(e.content, cap, &len, "%s %s %s", ch->action, ch->kind, ch->name);
	e.detail = ch->detail ? xstrdup(ch->detail) : NULL;
	rc = store_cevent_add(c, &e);
	store_cevent_free(&e);
	return rc;
}
