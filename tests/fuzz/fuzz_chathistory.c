/*
 * fuzz_chathistory.c — libFuzzer target for the CHATHISTORY argument
 * parser (args_ch, src/irc/cmd/args.c; IRCv3 chathistory).
 *
 * The input, cut at its first NUL, split at '\n', is the command's
 * parameters (at most 15, RFC 2812 §2.3). The result is compared with a
 * reference reading written from docs/protocol.md "History" and the
 * chathistory specification, with its own ISO 8601 reader:
 *  - an unknown subcommand (case-insensitive) is EUNKNOWN, anything else
 *    that does not fit the grammar is EPARAMS, and only then;
 *  - msgid= references round-trip exactly (1..31 bytes, never cut),
 *    timestamp= references are the time the text names (> epoch) and a
 *    canonical one formats back to the same text;
 *  - the limit is the number written, 1..1000; "*" only for LATEST;
 *  - the history window has the bounds the subcommand means (BETWEEN in
 *    either order, counted from the first reference), TARGETS times come
 *    out ordered, and nothing else in the window is set.
 *
 * Deliberately not here: resolving the target and the store's reading of
 * the window (tests/contract, tests/integration).
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "fuzz_util.h"
#include "irc/cmd/args.h"
#include "irc/irc_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const subs[] = {"BEFORE", "AFTER", "LATEST", "AROUND", "BETWEEN", "TARGETS"};

static int num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int mdays(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* "YYYY-MM-DD[(T| )hh:mm:ss[.d+][Z]]" to ms; -1 when not. */
static int iso_reference(const char *s, int64_t *ms)
{
	int y = num(s, 4), mo, d, h = 0, mi = 0, sec = 0, frac = 0;
	size_t n = strlen(s);

	if (n < 10 || y < 0 || s[4] != '-' || s[7] != '-' || (mo = num(s + 5, 2)) < 1 || mo > 12 ||
	    (d = num(s + 8, 2)) < 1 || d > mdays(y, mo))
		return -1;
	if (n > 10) {
		const char *p = s + 11, *f;

		if ((s[10] != 'T' && s[10] != ' ') || n < 19 || (h = num(p, 2)) < 0 || h > 23 ||
		    p[2] != ':' || (mi = num(p + 3, 2)) < 0 || mi > 59 || p[5] != ':' ||
		    (sec = num(p + 6, 2)) < 0 || sec > 60)
			return -1;
		f = p + 8;
		if (*f == '.') {
			size_t k = strspn(f + 1, "0123456789");

			if (k == 0)
				return -1;
			for (size_t i = 0; i < 3; i++)
				frac = frac * 10 + (i < k ? f[1 + i] - '0' : 0);
			f += 1 + k;
		}
		if (strcmp(f, "Z") != 0 && *f)
			return -1;
	}
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + frac;
	return 0;
}

/* A reference written the chathistory way: 0 ok (filled), -1 not. */
static int ref_reference(const char *s, bool star_ok, struct args_ch_ref *r)
{
	memset(r, 0, sizeof(*r));
	if (strcmp(s, "*") == 0) {
		r->star = true;
		return star_ok ? 0 : -1;
	}
	if (strncmp(s, "msgid=", 6) == 0) {
		size_t n = strlen(s + 6);

		if (n == 0 || n >= sizeof(r->msgid))
			return -1;
		memcpy(r->msgid, s + 6, n + 1);
		return 0;
	}
	if (strncmp(s, "timestamp=", 10) == 0 && iso_reference(s + 10, &r->ts) == 0 && r->ts > 0)
		return 0;
	return -1;
}

static int limit_reference(const char *s)
{
	size_t n = strlen(s), z;
	int v = 0;

	if (*s == '+')
		s++, n--; /* strtoll's sign */
	z = strspn(s, "0");
	if (n == 0 || strspn(s, "0123456789") != n || n - z > 4)
		return -1;
	v = n > z ? atoi(s + z) : 0;
	return v >= 1 && v <= IRC_CHATHISTORY_MAX ? v : -1;
}

static void same_ref(const struct args_ch_ref *a, const struct args_ch_ref *b, const char *text)
{
	char iso[TIME_ISO_LEN];

	FUZZ_CHECK(a->star == b->star && a->ts == b->ts && strcmp(a->msgid, b->msgid) == 0);
	if (a->ts) {
		/* canonical text formats back to itself (a leap second rolls over) */
		time_fmt_iso(a->ts, iso, sizeof(iso));
		if (strlen(text) == 10 + 24 && text[10 + 10] == 'T' && text[10 + 19] == '.' &&
		    text[10 + 23] == 'Z' && strncmp(text + 10 + 17, "60", 2) != 0)
			FUZZ_CHECK(strcmp(iso, text + 10) == 0);
	}
}

/* The window a correct parser builds for sub (room, peer and options unset). */
static void window_reference(int sub, const struct args_ch_ref *r1, const struct args_ch_ref *r2,
                             int limit, struct chat_history_window *w)
{
	const struct args_ch_ref *lo = r1, *hi = r2;

	memset(w, 0, sizeof(*w));
	w->limit = limit;
	switch (sub) {
	case ARGS_CH_BEFORE:
	case ARGS_CH_LATEST:
		w->from_newest = true;
		if (sub == ARGS_CH_BEFORE) {
			str_copy(w->before_msgid, r1->msgid, sizeof(w->before_msgid));
			w->before_ts = r1->ts;
			break;
		}
		/* fall through: LATEST reads after its reference */
	case ARGS_CH_AFTER:
		str_copy(w->after_msgid, r1->msgid, sizeof(w->after_msgid));
		w->after_ts = r1->ts;
		break;
	case ARGS_CH_AROUND:
		str_copy(w->around_msgid, r1->msgid, sizeof(w->around_msgid));
		w->around_ts = r1->ts;
		break;
	default: /* BETWEEN: from the first reference towards the second */
		if (r1->ts && r2->ts && r1->ts > r2->ts) {
			lo = r2;
			hi = r1;
			w->from_newest = true;
		}
		str_copy(w->after_msgid, lo->msgid, sizeof(w->after_msgid));
		w->after_ts = lo->ts;
		str_copy(w->before_msgid, hi->msgid, sizeof(w->before_msgid));
		w->before_ts = hi->ts;
	}
}

static void same_window(const struct chat_history_window *a, const struct chat_history_window *b)
{
	FUZZ_CHECK(a->room == NULL && a->peer[0] == '\0' && !a->messages_only);
	FUZZ_CHECK(strcmp(a->after_msgid, b->after_msgid) == 0 && a->after_ts == b->after_ts);
	FUZZ_CHECK(strcmp(a->before_msgid, b->before_msgid) == 0 && a->before_ts == b->before_ts);
	FUZZ_CHECK(strcmp(a->around_msgid, b->around_msgid) == 0 && a->around_ts == b->around_ts);
	FUZZ_CHECK(a->limit == b->limit && a->from_newest == b->from_newest);
	FUZZ_CHECK(a->limit >= 1 && a->limit <= IRC_CHATHISTORY_MAX);
}

/* Expected result of args_ch for these parameters; fills *want on 0. */
static int reference(int n, char *const *p, struct args_ch *want)
{
	int sub = -1, nrefs, at;

	memset(want, 0, sizeof(*want));
	for (int i = 0; i < 6; i++)
		if (strcasecmp(p[0], subs[i]) == 0)
			sub = i;
	if (sub < 0)
		return ARGS_CH_EUNKNOWN;
	want->sub = (enum args_ch_sub)sub;
	nrefs = sub == ARGS_CH_BETWEEN || sub == ARGS_CH_TARGETS ? 2 : 1;
	at = sub == ARGS_CH_TARGETS ? 1 : 2; /* TARGETS has no target */
	if (n < at + nrefs + 1 || ref_reference(p[at], sub == ARGS_CH_LATEST, &want->r1) ||
	    (nrefs == 2 && ref_reference(p[at + 1], false, &want->r2)) ||
	    (want->limit = limit_reference(p[at + nrefs])) < 0)
		return ARGS_CH_EPARAMS;
	if (sub == ARGS_CH_TARGETS) {
		if (!want->r1.ts || !want->r2.ts)
			return ARGS_CH_EPARAMS;
		want->from_ts = want->r1.ts < want->r2.ts ? want->r1.ts : want->r2.ts;
		want->to_ts = want->r1.ts < want->r2.ts ? want->r2.ts : want->r1.ts;
		return 0;
	}
	want->target = p[1];
	window_reference(sub, &want->r1, &want->r2, want->limit, &want->w);
	return 0;
}

static void check(int n, char *const *p)
{
	struct args_ch a, want;
	int rc = args_ch(n, p, &a);

	FUZZ_CHECK(rc == reference(n, p, &want));
	if (rc == ARGS_CH_EUNKNOWN)
		return;
	FUZZ_CHECK(a.sub == want.sub && strcasecmp(args_ch_sub_name(a.sub), p[0]) == 0);
	if (rc != 0)
		return;
	FUZZ_CHECK(a.limit == want.limit);
	same_ref(&a.r1, &want.r1, p[a.sub == ARGS_CH_TARGETS ? 1 : 2]);
	if (a.sub == ARGS_CH_BETWEEN || a.sub == ARGS_CH_TARGETS)
		same_ref(&a.r2, &want.r2, p[a.sub == ARGS_CH_TARGETS ? 2 : 3]);
	if (a.sub == ARGS_CH_TARGETS) {
		FUZZ_CHECK(a.from_ts == want.from_ts && a.to_ts == want.to_ts);
		FUZZ_CHECK(a.from_ts > 0 && a.from_ts <= a.to_ts && a.target == NULL);
		return;
	}
	FUZZ_CHECK(a.target == p[1]);
	same_window(&a.w, &want.w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *rest, *p[IRC_MAX_PARAMS];
	int n = 0;

	if (size > 2 * IRC_BODY_MAX)
		return 0;
	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	rest = s;
	for (char *t = strsep(&rest, "\n"); t && n < IRC_MAX_PARAMS; t = strsep(&rest, "\n"))
		p[n++] = t;
	check(n, p);
	free(s);
	return 0;
}
