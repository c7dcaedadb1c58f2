/*
 * jsonl.c — the JSON Lines writer: one compact JSON object per event and
 * line, keys in a fixed order (id, type, time, since1970, actor, actor_id,
 * address, room_id, room, category, logged, peer, msgid, content, detail),
 * text as UTF-8 (jansson, JSON_COMPACT | JSON_PRESERVE_ORDER).
 *
 * Deterministic: events in id order, no clock, no hash order. Invalid UTF-8
 * becomes U+FFFD (JSON cannot carry it); the detail is embedded as parsed
 * JSON, or as a string when it does not parse.
 *
 * Not here: which events go in a file, names, fsync and rename (adapter.c).
 */
#include "compliance/comp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"

#define JSONL_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/* The state of one file being written. */
struct jw {
	struct comp_out out;   /* buffered output */
	struct comp_buf clean; /* cleaned text, reused */
	char *line;            /* serialized object, reused; owned */
	size_t line_cap;       /* line size */
};

static void jw_str(struct jw *j, json_t *obj, const char *key, const char *s)
{
	const char *v = comp_clean_text(s, false, &j->clean);

	json_object_set_new_nocheck(obj, key, json_stringn_nocheck(v, strlen(v)));
}

static json_t *jw_detail(struct jw *j, const char *detail)
{
	json_t *d;

	if (!detail)
		return json_null();
	d = json_loads(detail, JSON_DECODE_ANY, NULL);
	if (d)
		return d;
	detail = comp_clean_text(detail, false, &j->clean);
	return json_stringn_nocheck(detail, strlen(detail));
}

static json_t *jw_object(struct jw *j, const struct store_cevent *e)
{
	json_t *obj = json_object();
	char iso[TIME_ISO_LEN];

	time_fmt_iso(e->ts_ms, iso, sizeof(iso));
	json_object_set_new_nocheck(obj, "id", json_integer(e->id));
	jw_str(j, obj, "type", e->type);
	jw_str(j, obj, "time", iso);
	json_object_set_new_nocheck(obj, "since1970", json_integer(e->ts_ms));
	jw_str(j, obj, "actor", e->actor);
	json_object_set_new_nocheck(obj, "actor_id", json_integer(e->actor_id));
	jw_str(j, obj, "address", e->address);
	json_object_set_new_nocheck(obj, "room_id", json_integer(e->room_id));
	jw_str(j, obj, "room", e->room);
	jw_str(j, obj, "category", e->category);
	json_object_set_new_nocheck(obj, "logged", json_boolean(e->logged));
	jw_str(j, obj, "peer", e->peer);
	jw_str(j, obj, "msgid", e->msgid);
	jw_str(j, obj, "content", e->content);
	json_object_set_new_nocheck(obj, "detail", jw_detail(j, e->detail));
	return obj;
}

/* Serialize one event into j->line and append it with its newline. */
static int jw_event(struct jw *j, const struct store_cevent *e)
{
	json_t *obj = jw_object(j, e);
	size_t len = json_dumpb(obj, j->line, j->line_cap, JSONL_FLAGS);
	int rc = -1;

	if (len == 0) {
		errno = EINVAL;
		goto out_decref;
	}
	if (len >= j->line_cap) {
		j->line_cap = len * 2;
		j->line = xrealloc(j->line, j->line_cap);
		len = json_dumpb(obj, j->line, j->line_cap, JSONL_FLAGS);
	}
	j->line[len++] = '\n';
	rc = comp_out_write(&j->out, j->line, len);
out_decref:
	json_decref(obj);
	return rc;
}

int comp_jsonl_write(int fd, const struct store_cevent *ev, size_t n, const struct comp_options *o)
{
	size_t *order = comp_id_order(ev, n);
	struct jw j = {.line_cap = 4096};
	int rc = 0;

	comp_out_init(&j.out, fd);
	j.line = xmalloc(j.line_cap);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = jw_event(&j, &ev[order[i]]);
	if (rc == 0)
		rc = comp_out_flush(&j.out);
	if (rc < 0 && j.out.err)
		errno = j.out.err;
	free(order);
	comp_buf_free(&j.clean);
	comp_out_free(&j.out);
	free(j.line);
	return rc;
}
