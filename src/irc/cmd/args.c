/*
 * args.c — pure parsers of CAP, the AUTHENTICATE framing, CHATHISTORY and
 * SEARCH arguments (see args.h). Strings in, plain structs out.
 *
 * Deliberately not here: replies, look-ups and any client state; the
 * handlers turn a result into a numeric or FAIL. These functions are what
 * tests/fuzz/fuzz_cap.c, fuzz_chathistory.c and fuzz_search.c exercise.
 */
#include "irc/cmd/args.h"

#include "common/b64.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "irc/irc_int.h"
#include "irc/message.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- CAP ---------------------------------------------------------------------- */

static const char *const cap_names[] = {
#define X(id, name) name,
    IRC_CAPS(X)
#undef X
};

int args_cap_ls_version(const char *arg)
{
	size_t n;

	if (!arg)
		return 301;
	n = strspn(arg, "0123456789");
	if (n == 0 || arg[n] != '\0')
		return 301;
	n = strspn(arg, "0"); /* leading zeros do not make a number bigger */
	arg += n;
	if (strlen(arg) > 3)
		return 302; /* 1000 and more: any newer version */
	return strtol(arg, NULL, 10) >= 302 ? 302 : 301;
}

static int cap_lookup(const char *name, size_t len)
{
	for (int i = 0; i < N_CAPS; i++)
		if (strlen(cap_names[i]) == len && strncmp(cap_names[i], name, len) == 0)
			return i;
	return -1;
}

int args_cap_req(const char *arg, int cap_version, uint32_t *add, uint32_t *del)
{
	const char *p = arg;

	*add = 0;
	*del = 0;
	for (p += strspn(p, " "); *p; p += strspn(p, " ")) {
		bool minus = *p == '-';
		size_t n;
		int c;

		p += minus;
		n = strcspn(p, " ");
		c = cap_lookup(p, n);
		if (c < 0 || (minus && c == CAP_CAP_NOTIFY && cap_version >= 302)) {
			*add = 0;
			*del = 0;
			return -1;
		}
		*(minus ? del : add) |= CAPBIT(c);
		p += n;
	}
	return 0;
}

/* --- AUTHENTICATE framing ------------------------------------------------------- */

int args_sasl_chunk(char **buf, size_t *len, const char *chunk, bool *done)
{
	size_t n = strlen(chunk);
	char *grown;

	*done = false;
	if (strcmp(chunk, "+") == 0) {
		*done = true;
		return 0;
	}
	if (n > ARGS_SASL_CHUNK || *len + n > ARGS_SASL_B64_MAX)
		return -1;
	/* A fresh buffer, so no copy of the credentials is left behind freed. */
	grown = xmalloc(*len + n + 1);
	if (*buf) {
		memcpy(grown, *buf, *len);
		sodium_memzero(*buf, *len);
		free(*buf);
	}
	memcpy(grown + *len, chunk, n);
	*len += n;
	grown[*len] = '\0';
	*buf = grown;
	*done = n < ARGS_SASL_CHUNK;
	return 0;
}

int args_sasl_decode(const char *b64, size_t len, char **out, size_t *out_len)
{
	size_t cap = len + 1;
	char *data = xmalloc(cap);

	*out_len = 0;
	if (len == 0)
		goto done;
	/* strict: RFC 4648 alphabet and padding, every byte read (common/b64.h) */
	if (b64_decode(b64, len, (unsigned char *)data, cap, out_len) != 0) {
		sodium_memzero(data, cap);
		free(data);
		*out = NULL;
		*out_len = 0;
		return -1;
	}
done:
	data[*out_len] = '\0';
	*out = data;
	return 0;
}

/* --- CHATHISTORY ---------------------------------------------------------------- */

static const char *const ch_sub_names[] = {"BEFORE", "AFTER",   "LATEST",
                                           "AROUND", "BETWEEN", "TARGETS"};

const char *args_ch_sub_name(enum args_ch_sub sub)
{
	return ch_sub_names[sub];
}

static int ch_ref(const char *s, struct args_ch_ref *r)
{
	memset(r, 0, sizeof(*r));
	if (strcmp(s, "*") == 0) {
		r->star = true;
		return 0;
	}
	if (strncmp(s, "msgid=", 6) == 0) {
		if (s[6] && str_copy(r->msgid, s + 6, sizeof(r->msgid)) < sizeof(r->msgid))
			return 0;
		r->msgid[0] = '\0';
		return -1;
	}
	if (strncmp(s, "timestamp=", 10) == 0 && time_parse_iso(s + 10, &r->ts) == 0 && r->ts > 0)
		return 0;
	return -1;
}

static int ch_limit(const char *s, int *limit)
{
	int64_t v;

	if (str_to_i64(s, 1, IRC_CHATHISTORY_MAX, &v) != 0)
		return -1;
	*limit = (int)v;
	return 0;
}

/* Fill the window from the subcommand and its references. */
static int ch_window(enum args_ch_sub sub, const struct args_ch_ref *r1,
                     const struct args_ch_ref *r2, struct chat_history_window *w)
{
	switch (sub) {
	case ARGS_CH_BEFORE:
		str_copy(w->before_msgid, r1->msgid, sizeof(w->before_msgid));
		w->before_ts = r1->ts;
		w->from_newest = true;
		return r1->star ? -1 : 0;
	case ARGS_CH_AFTER:
		str_copy(w->after_msgid, r1->msgid, sizeof(w->after_msgid));
		w->after_ts = r1->ts;
		return r1->star ? -1 : 0;
	case ARGS_CH_LATEST:
		/* Everything newer than the reference ("*": no bound), newest end. */
		str_copy(w->after_msgid, r1->msgid, sizeof(w->after_msgid));
		w->after_ts = r1->ts;
		w->from_newest = true;
		return 0;
	case ARGS_CH_AROUND:
		str_copy(w->around_msgid, r1->msgid, sizeof(w->around_msgid));
		w->around_ts = r1->ts;
		return r1->star ? -1 : 0;
	case ARGS_CH_BETWEEN: {
		/* Counted from the first reference towards the second. */
		bool down = (r1->ts && r2->ts && r1->ts > r2->ts);
		const struct args_ch_ref *lo = down ? r2 : r1, *hi = down ? r1 : r2;

		if (r1->star || r2->star)
			return -1;
		str_copy(w->after_msgid, lo->msgid, sizeof(w->after_msgid));
		w->after_ts = lo->ts;
		str_copy(w->before_msgid, hi->msgid, sizeof(w->before_msgid));
		w->before_ts = hi->ts;
		w->from_newest = down;
		return 0;
	}
	default:
		return -1;
	}
}

/* TARGETS timestamp=T1 timestamp=T2 limit, in either order of the times. */
static int ch_targets(int n, char *const *params, struct args_ch *a)
{
	if (n < 4 || ch_ref(params[1], &a->r1) || ch_ref(params[2], &a->r2) || !a->r1.ts ||
	    !a->r2.ts || ch_limit(params[3], &a->limit))
		return ARGS_CH_EPARAMS;
	a->from_ts = a->r1.ts < a->r2.ts ? a->r1.ts : a->r2.ts;
	a->to_ts = a->r1.ts < a->r2.ts ? a->r2.ts : a->r1.ts;
	return 0;
}

int args_ch(int n, char *const *params, struct args_ch *a)
{
	int nrefs;

	memset(a, 0, sizeof(*a));
	a->sub = ARGS_CH_TARGETS;
	for (int i = 0; i <= ARGS_CH_TARGETS; i++)
		if (str_ieq(params[0], ch_sub_names[i]))
			a->sub = (enum args_ch_sub)i;
	if (!str_ieq(params[0], ch_sub_names[a->sub]))
		return ARGS_CH_EUNKNOWN;
	if (a->sub == ARGS_CH_TARGETS)
		return ch_targets(n, params, a);
	nrefs = a->sub == ARGS_CH_BETWEEN ? 2 : 1;
	if (n < 3 + nrefs || ch_ref(params[2], &a->r1) ||
	    (nrefs == 2 && ch_ref(params[3], &a->r2)) || ch_limit(params[2 + nrefs], &a->limit) ||
	    ch_window(a->sub, &a->r1, &a->r2, &a->w))
		return ARGS_CH_EPARAMS;
	a->target = params[1];
	a->w.limit = a->limit;
	return 0;
}

/* --- SEARCH --------------------------------------------------------------------- */

/* A date bound: a time after the epoch (0 means "no bound" to the search). */
static int search_time(const char *v, int64_t *ts, const char **why)
{
	if (time_parse_iso(v, ts) != 0 || *ts <= 0) {
		*why = "after= and before= take YYYY-MM-DDThh:mm:ss.sssZ (after 1970)";
		return -1;
	}
	return 0;
}

/* A string attribute: whole, never cut (a cut name could name someone else). */
static int search_str(const char *v, char *out, size_t n, const char *why_long, const char **why)
{
	if (str_copy(out, v, n) >= n) {
		*why = why_long;
		return -1;
	}
	return 0;
}

static int search_choice(const struct irc_tag *t, struct chat_search_query *q, const char **why)
{
	if (strcmp(t->key, "match") == 0) {
		q->match = str_ieq(t->value, "any") ? 1 : str_ieq(t->value, "exact") ? 2 : 0;
		if (!str_ieq(t->value, "all") && q->match == 0) {
			*why = "match= is all, any or exact";
			return -1;
		}
		return 0;
	}
	/* case= */
	q->case_sensitive = str_ieq(t->value, "sensitive");
	return 0;
}

/* Fill a from one attribute; -1 with *why when it is bad. */
static int search_attr(const struct irc_tag *t, struct args_search *a, const char **why)
{
	struct chat_search_query *q = &a->q;
	int64_t v;

	if (strcmp(t->key, "in") == 0) {
		*why = "in= names no room you may search";
		if (t->value[0] != '#' || !t->value[1])
			return -1;
		return search_str(t->value + 1, a->room, sizeof(a->room), *why, why);
	}
	if (strcmp(t->key, "from") == 0)
		return search_str(t->value, q->from, sizeof(q->from), "from= names no user", why);
	if (strcmp(t->key, "text") == 0)
		return search_str(t->value, q->text, sizeof(q->text), "text= is too long", why);
	if (strcmp(t->key, "after") == 0)
		return search_time(t->value, &q->after_ts, why);
	if (strcmp(t->key, "before") == 0)
		return search_time(t->value, &q->before_ts, why);
	if (strcmp(t->key, "limit") == 0) {
		if (str_to_i64(t->value, 1, ARGS_SEARCH_MAX_LIMIT, &v) != 0) {
			*why = "limit= takes 1 to 1000";
			return -1;
		}
		q->limit = (int)v;
		return 0;
	}
	if (strcmp(t->key, "match") == 0 || strcmp(t->key, "case") == 0)
		return search_choice(t, q, why);
	*why = "unknown attribute (in from after before text limit match case)";
	return -1;
}

/* Parse "k=v;k2=v2" with the message-tags escaping, through the IRC parser itself. */
int args_search(const char *attrs, struct args_search *a, const char **why)
{
	char line[IRC_CLIENT_TAGS_MAX + 8];
	struct irc_msg m;
	int n = snprintf(line, sizeof(line), "@%s X", attrs);

	memset(a, 0, sizeof(*a));
	a->q.limit = ARGS_SEARCH_DEFAULT_LIMIT;
	*why = "attributes are key=value pairs separated by ';'";
	/* A space would end the tag section early: the rest would be dropped. */
	if (n < 0 || (size_t)n >= sizeof(line) || strchr(attrs, ' ') ||
	    irc_parse(line, (size_t)n, &m) != 0)
		return -1;
	for (int i = 0; i < m.n_tags; i++)
		if (search_attr(&m.tags[i], a, why) != 0)
			return -1;
	return 0;
}

bool args_search_empty(const struct chat_search_query *q)
{
	return !q->text[0] && !q->from[0] && !q->after_ts && !q->before_ts;
}
