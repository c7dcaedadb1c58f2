/*
 * store_bus.c — the generic half of the pool bus (store.h "pool bus"):
 * validates a notification's payload and hands notify and listen to the
 * backend of the store.
 *
 * It deliberately knows nothing of how a backend delivers notifications
 * (PostgreSQL NOTIFY/LISTEN lives in pg/listen.c) nor what payloads mean.
 * A backend without notifications (SQLite: one server, nobody to tell)
 * leaves the pointers NULL: notify then does nothing and listen fails with
 * a message saying why.
 */
#include "store/store_int.h"

#include "common/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_notify(struct store_conn *c, const char *payload)
{
	size_t n;

	if (!c || !payload)
		return STORE_EINVAL;
	n = strnlen(payload, STORE_NOTIFY_LARGE_MAX + 1);
	if (n > STORE_NOTIFY_LARGE_MAX || !utf8_valid(payload, n))
		return STORE_EINVAL;
	if (!c->be->notify)
		return 0;
	return c->be->notify(c, payload, n > STORE_NOTIFY_MAX);
}

bool store_notify_is_ref(const char *payload)
{
	return payload && payload[0] == '@';
}

int store_notify_fetch(struct store_conn *c, const char *ref, char **payload)
{
	char *end;
	long long id;

	*payload = NULL;
	if (!c || !store_notify_is_ref(ref))
		return STORE_EINVAL;
	errno = 0;
	id = strtoll(ref + 1, &end, 10);
	if (errno || *end || end == ref + 1 || id <= 0)
		return STORE_EINVAL;
	if (!c->be->notify_fetch)
		return STORE_ENOTFOUND;
	return c->be->notify_fetch(c, id, payload);
}

struct store_listener *store_listen(struct store *st, struct event_base *base, store_listen_cb cb,
                                    void *arg, char *err, size_t errlen)
{
	struct store_conn *c = st ? store_direct(st) : NULL;

	if (!c || !base || !cb) {
		snprintf(err, errlen, "notifications: no store, loop or callback given");
		return NULL;
	}
	if (!c->be->listen_open) {
		snprintf(err, errlen,
		         "notifications need PostgreSQL (a pool); SQLite serves one server");
		return NULL;
	}
	/* c only names the database: the listener opens a session of its own. */
	return c->be->listen_open(c, base, cb, arg, err, errlen);
}

void store_listener_free(struct store_listener *l)
{
	if (l)
		l->be->listen_free(l);
}
