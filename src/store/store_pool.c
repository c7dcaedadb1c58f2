/*
 * store_pool.c — the generic half of the pool section of store.h: argument
 * checks before the backend, the clock of heartbeats, and freeing.
 *
 * It knows no SQL and nothing of topologies: which servers exist, which
 * database a state designates and who may be active are src/pool/'s
 * business. The compare-and-set on the generation is the backend's (one
 * statement, so that two writers racing on the same generation cannot
 * both win).
 */
#include "store/store_int.h"

#include "common/str.h"
#include "common/timeutil.h"

#include <stdlib.h>
#include <string.h>

/* A fixed array holds a NUL-terminated string. */
#define TERMINATED(arr) (strnlen((arr), sizeof(arr)) < sizeof(arr))

/* "normal" or "failed-over" (SPEC §6 pool state). */
static bool state_ok(const char *state)
{
	return strcmp(state, "normal") == 0 || strcmp(state, "failed-over") == 0;
}

/* A comma-separated list of names (or ""), at most STORE_POOL_ACTIVE_MAX bytes. */
static bool active_ok(const char *active)
{
	size_t n = strnlen(active, STORE_POOL_ACTIVE_MAX + 1);

	if (n > STORE_POOL_ACTIVE_MAX || str_has_crlfnul(active, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)active[i] <= ' ')
			return false;
	return true;
}

int store_pool_get(struct store_conn *c, struct store_pool_state *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = c->be->pool_get(c, out);
	if (rc == 0 && !out->active)
		rc = STORE_EIO; /* a backend bug: never hand out a NULL list */
	if (rc != 0) {
		store_pool_state_free(out);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

int store_pool_set(struct store_conn *c, const struct store_pool_state *st)
{
	if (st->generation < 1 || !TERMINATED(st->state) || !state_ok(st->state))
		return STORE_EINVAL;
	if (!st->active || !active_ok(st->active) || !TERMINATED(st->changed_by))
		return STORE_EINVAL;
	if (st->fenced_generation < 0 || (st->fenced && st->fenced_generation < 1))
		return STORE_EINVAL;
	if (str_has_crlfnul(st->changed_by, strlen(st->changed_by)))
		return STORE_EINVAL;
	return c->be->pool_set(c, st);
}

int store_pool_fence(struct store_conn *c, int64_t generation, const char *by)
{
	if (!c || generation < 1 || !by || strlen(by) >= STORE_NAME_MAX ||
	    str_has_crlfnul(by, strlen(by)))
		return STORE_EINVAL;
	return c->be->pool_fence(c, generation, by);
}

void store_pool_state_free(struct store_pool_state *st)
{
	if (!st)
		return;
	free(st->active);
	st->active = NULL;
}

int store_server_beat(struct store_conn *c, const struct store_server *s)
{
	struct store_server row;

	if (!TERMINATED(s->name) || !store_name_ok(s->name) || !TERMINATED(s->database))
		return STORE_EINVAL;
	if (s->clients < 0 || s->generation < 0 || s->started_ms < 0 || s->seen_ms < 0)
		return STORE_EINVAL;
	row = *s;
	if (row.seen_ms == 0)
		row.seen_ms = time_now_ms();
	return c->be->server_beat(c, &row);
}

int store_server_list(struct store_conn *c, struct store_server **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return c->be->server_list(c, out, n);
}

int store_server_forget(struct store_conn *c, const char *name)
{
	if (!store_name_ok(name))
		return STORE_EINVAL;
	return c->be->server_forget(c, name);
}
