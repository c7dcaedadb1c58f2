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

#include <stdio.h>
#include <string.h>

int store_notify(struct store_conn *c, const char *payload)
{
	size_t n;

	if (!c || !payload)
		return STORE_EINVAL;
	n = strnlen(payload, STORE_NOTIFY_MAX + 1);
	if (n > STORE_NOTIFY_MAX || !utf8_valid(payload, n))
		return STORE_EINVAL;
	if (!c->be->notify)
		return 0;
	return c->be->notify(c, payload);
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
