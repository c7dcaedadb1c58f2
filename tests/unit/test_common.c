/*
 * test_common.c — src/common helpers: UTF-8 validation and truncation,
 * bounded strings, ISO 8601 time, message ids, the hash map and the pointer
 * vector. Threads (mailbox, workq) are not covered here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/b64.h"
#include "common/id.h"
#include "common/proc.h"
#include "common/map.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "common/vec.h"

/* ---- UTF-8 --------------------------------------------------------------- */

static void test_utf8_valid(void **state)
{
	static const struct {
		const char *s; /* bytes */
		size_t n;      /* 0 = strlen */
		bool ok;       /* expected utf8_valid() */
	} cases[] = {
	    {"", 0, true},
	    {"plain ascii", 0, true},
	    {"\xC3\xA9t\xC3\xA9", 0, true},      /* été */
	    {"\xE2\x82\xAC", 0, true},           /* € */
	    {"\xF0\x9F\x98\x80", 0, true},       /* U+1F600 */
	    {"\xED\x9F\xBF", 0, true},           /* U+D7FF, just below surrogates */
	    {"\xEE\x80\x80", 0, true},           /* U+E000, just above */
	    {"\xF4\x8F\xBF\xBF", 0, true},       /* U+10FFFF */
	    {"\xC2\x80", 0, true},               /* U+0080, smallest 2-byte */
	    {"a\0b", 3, true},                   /* NUL is ASCII */
	    {"\xC3", 0, false},                  /* truncated */
	    {"\xE2\x82", 0, false},              /* truncated */
	    {"\xF0\x9F\x98", 0, false},          /* truncated */
	    {"\x80", 0, false},                  /* lone continuation */
	    {"a\xBF", 0, false},                 /* lone continuation */
	    {"\xC0\xAF", 0, false},              /* overlong '/' */
	    {"\xC1\xBF", 0, false},              /* overlong */
	    {"\xE0\x80\xAF", 0, false},          /* overlong */
	    {"\xE0\x9F\xBF", 0, false},          /* overlong */
	    {"\xF0\x8F\xBF\xBF", 0, false},      /* overlong */
	    {"\xED\xA0\x80", 0, false},          /* U+D800 surrogate */
	    {"\xED\xBF\xBF", 0, false},          /* U+DFFF surrogate */
	    {"\xF4\x90\x80\x80", 0, false},      /* above U+10FFFF */
	    {"\xF5\x80\x80\x80", 0, false},      /* invalid lead */
	    {"\xFF", 0, false},                  /* invalid byte */
	    {"\xFE", 0, false},                  /* invalid byte */
	    {"\xC3\x28", 0, false},              /* bad continuation */
	    {"\xE2\x28\xA1", 0, false},          /* bad 2nd byte */
	    {"\xE2\x82\x28", 0, false},          /* bad 3rd byte */
	    {"\xF0\x9F\x98\x28", 0, false},      /* bad 4th byte */
	    {"ok \xC3\xA9 then \xC3", 0, false}, /* truncated at the end */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].s);

		if (utf8_valid(cases[i].s, n) != cases[i].ok)
			fail_msg("case %zu: utf8_valid != %d", i, cases[i].ok);
	}
	/* only the first n bytes are looked at */
	assert_true(utf8_valid("ab\xC3\xA9", 2));
	assert_false(utf8_valid("ab\xC3\xA9", 3));
}

static void test_utf8_trunc(void **state)
{
	static const struct {
		const char *s; /* valid UTF-8 */
		size_t n;      /* cut requested */
		size_t want;   /* expected utf8_trunc() */
	} cases[] = {
	    {"abc", 0, 0},
	    {"abc", 2, 2},
	    {"abc", 3, 3},
	    {"a\xC3\xA9", 1, 1},
	    {"a\xC3\xA9", 2, 1}, /* inside é */
	    {"a\xC3\xA9", 3, 3},
	    {"\xE2\x82\xAC", 1, 0},
	    {"\xE2\x82\xAC", 2, 0},
	    {"\xE2\x82\xAC", 3, 3},
	    {"\xF0\x9F\x98\x80", 1, 0},
	    {"\xF0\x9F\x98\x80", 2, 0},
	    {"\xF0\x9F\x98\x80", 3, 0},
	    {"\xF0\x9F\x98\x80", 4, 4},
	    {"x\xF0\x9F\x98\x80y", 4, 1},
	    {"x\xF0\x9F\x98\x80y", 5, 5},
	    {"\xC3\xA9\xC3\xA9", 3, 2},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = utf8_trunc(cases[i].s, cases[i].n);

		if (got != cases[i].want)
			fail_msg("case %zu: utf8_trunc = %zu, want %zu", i, got, cases[i].want);
		assert_true(utf8_valid(cases[i].s, got));
	}
}

/* Every cut of a mixed string is valid and as long as possible. */
static void test_utf8_trunc_every_cut(void **state)
{
	const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\xC2\x80";
	size_t len = strlen(s);

	(void)state;
	for (size_t n = 0; n <= len; n++) {
		size_t t = utf8_trunc(s, n);

		assert_true(t <= n);
		assert_true(utf8_valid(s, t));
		/* no longer prefix within n is valid */
		for (size_t k = t + 1; k <= n; k++)
			assert_false(utf8_valid(s, k));
	}
}

/* ---- strings ------------------------------------------------------------- */

static void test_str_copy(void **state)
{
	char buf[6];

	(void)state;
	assert_int_equal(str_copy(buf, "hello", sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(str_copy(buf, "hello world", sizeof(buf)), 11);
	assert_string_equal(buf, "hello");
	assert_int_equal(str_copy(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");
	buf[0] = 'Q';
	assert_int_equal(str_copy(buf, "abc", 0), 3);
	assert_int_equal(buf[0], 'Q');
	assert_int_equal(str_copy(buf, "abc", 1), 3);
	assert_string_equal(buf, "");
}

static void test_str_case(void **state)
{
	char out[8];

	(void)state;
	assert_true(str_ieq("Alice", "aLICE"));
	assert_false(str_ieq("alice", "alic"));
	assert_false(str_ieq("[a]", "{a}")); /* CASEMAPPING=ascii */
	assert_false(str_ieq("\xC3\x89", "\xC3\xA9"));
	assert_true(str_icmp("a", "B") < 0);
	assert_true(str_icmp("b", "A") > 0);
	assert_int_equal(str_icmp("ABC", "abc"), 0);
	assert_true(str_icmp("ab", "abc") < 0);
	str_lower(out, "HeLLo[]", sizeof(out));
	assert_string_equal(out, "hello[]");
	str_lower(out, "ABCDEFGHIJ", sizeof(out));
	assert_string_equal(out, "abcdefg");
	out[0] = 'Q';
	str_lower(out, "X", 0);
	assert_int_equal(out[0], 'Q');
}

static void test_str_has_crlfnul(void **state)
{
	(void)state;
	assert_false(str_has_crlfnul("hello world", 11));
	assert_true(str_has_crlfnul("a\rb", 3));
	assert_true(str_has_crlfnul("a\nb", 3));
	assert_true(str_has_crlfnul("a\0b", 3));
	assert_false(str_has_crlfnul("ab\n", 2)); /* only n bytes */
	assert_false(str_has_crlfnul("", 0));
}

static void test_str_to_i64(void **state)
{
	static const struct {
		const char *s;    /* input */
		int64_t min, max; /* range */
		int rc;           /* expected result */
		int64_t v;        /* expected value when rc == 0 */
	} cases[] = {
	    {"42", 0, 100, 0, 42},
	    {"-5", -10, 10, 0, -5},
	    {"0", 0, 0, 0, 0},
	    {"100", 0, 100, 0, 100},
	    {"101", 0, 100, -1, 0},
	    {"-1", 0, 100, -1, 0},
	    {"9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX},
	    {"-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN},
	    {"9223372036854775808", INT64_MIN, INT64_MAX, -1, 0},
	    {"", 0, 100, -1, 0},
	    {"12x", 0, 100, -1, 0},
	    {"x12", 0, 100, -1, 0},
	    {"1 ", 0, 100, -1, 0},
	    {" 1", 0, 100, -1, 0},
	    {"\n1", 0, 100, -1, 0},
	    {"1.5", 0, 100, -1, 0},
	};
	int64_t v;

	(void)state;
	assert_int_equal(str_to_i64(NULL, 0, 1, &v), -1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		v = 12345;
		rc = str_to_i64(cases[i].s, cases[i].min, cases[i].max, &v);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": rc %d, want %d", cases[i].s, rc, cases[i].rc);
		if (rc == 0)
			assert_int_equal(v, cases[i].v);
		else
			assert_int_equal(v, 12345); /* untouched on error */
	}
}

static void test_str_to_bool(void **state)
{
	static const char *const yes[] = {"yes", "TRUE", "On", "1"};
	static const char *const no[] = {"no", "False", "OFF", "0"};
	static const char *const bad[] = {"", "2", "yess", "y", "nope", " yes"};
	bool b;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		b = false;
		assert_int_equal(str_to_bool(yes[i], &b), 0);
		assert_true(b);
		b = true;
		assert_int_equal(str_to_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(str_to_bool(bad[i], &b), -1);
}

static void test_str_appendf(void **state)
{
	char buf[10];
	size_t len = 0;

	(void)state;
	assert_int_equal(str_appendf(buf, sizeof(buf), &len, "%s", "abc"), 0);
	assert_int_equal(len, 3);
	assert_int_equal(str_appendf(buf, sizeof(buf), &len, "-%d", 42), 0);
	assert_string_equal(buf, "abc-42");
	assert_int_equal(len, 6);
	assert_int_equal(str_appendf(buf, sizeof(buf), &len, "%s", "xyzw"), -1);
	assert_int_equal(len, 9);
	assert_string_equal(buf, "abc-42xyz");
	assert_int_equal(str_appendf(buf, sizeof(buf), &len, "%s", "q"), -1);
	assert_int_equal(len, 9);
	assert_string_equal(buf, "abc-42xyz");
	/* exactly filling is not truncation */
	len = 0;
	assert_int_equal(str_appendf(buf, sizeof(buf), &len, "%s", "123456789"), 0);
	assert_int_equal(len, 9);
}

/* ---- time ---------------------------------------------------------------- */

static void test_time_fmt_iso(void **state)
{
	static const struct {
		int64_t ms;      /* input */
		const char *out; /* expected */
	} cases[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {1, "1970-01-01T00:00:00.001Z"},
	    {-1, "1969-12-31T23:59:59.999Z"},
	    {951782400000, "2000-02-29T00:00:00.000Z"},
	    {1795694400123, "2026-11-26T12:00:00.123Z"},
	    {1795694400999, "2026-11-26T12:00:00.999Z"}, /* the same second again */
	    {1795694400007, "2026-11-26T12:00:00.007Z"},
	    {1795694399999, "2026-11-26T11:59:59.999Z"}, /* the second before */
	    {4102444799999, "2099-12-31T23:59:59.999Z"},
	};
	char out[TIME_ISO_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_fmt_iso(cases[i].ms, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
		assert_int_equal(strlen(out), TIME_ISO_LEN - 1);
	}
	/* a short buffer gets the beginning, terminated */
	time_fmt_iso(1795694400123, out, 11);
	assert_string_equal(out, "2026-11-26");
	time_fmt_iso(1795694400123, out, TIME_ISO_LEN - 1);
	assert_string_equal(out, "2026-11-26T12:00:00.123");
}

static void test_time_parse_iso(void **state)
{
	static const struct {
		const char *s; /* input */
		int rc;        /* expected result */
		int64_t ms;    /* expected value */
	} cases[] = {
	    {"2026-11-26T12:00:00.123Z", 0, 1795694400123},
	    {"2026-11-26T12:00:00Z", 0, 1795694400000},
	    {"2026-11-26T12:00:00.5Z", 0, 1795694400500},
	    {"2026-11-26T12:00:00.12345Z", 0, 1795694400123},
	    {"2026-11-26", 0, 1795651200000},
	    {"1970-01-01T00:00:00.000Z", 0, 0},
	    {"2000-02-29", 0, 951782400000},
	    {"", -1, 0},
	    {"2026", -1, 0},
	    {"2026-1-01", -1, 0},
	    {"2026-13-01", -1, 0},
	    {"2026-00-10", -1, 0},
	    {"2026-01-32", -1, 0},
	    {"2026-02-30", -1, 0},
	    {"2025-02-29", -1, 0},
	    {"2026-04-31", -1, 0},
	    {"2026-01-01T24:00:00Z", -1, 0},
	    {"2026-01-01T00:60:00Z", -1, 0},
	    {"2026-01-01T00:00:00.Z", -1, 0},
	    {"2026-01-01T00:00:00+01:00", -1, 0},
	    {"2026-01-01T00:00:00Zjunk", -1, 0},
	    {"2026-01-01X00:00:00Z", -1, 0},
	    {"2026-01-01T0:00:00Z", -1, 0},
	    {"abcd-ef-ghThh:mm:ssZ", -1, 0},
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		ms = -42;
		rc = time_parse_iso(cases[i].s, &ms);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": rc %d, want %d", cases[i].s, rc, cases[i].rc);
		if (rc == 0 && ms != cases[i].ms)
			fail_msg("\"%s\": %lld, want %lld", cases[i].s, (long long)ms,
			         (long long)cases[i].ms);
	}
}

static void test_time_round_trip(void **state)
{
	char out[TIME_ISO_LEN];
	int64_t back;

	(void)state;
	for (int64_t ms = 0; ms < 4102444800000; ms += (int64_t)86399999 * 97 + 13) {
		time_fmt_iso(ms, out, sizeof(out));
		assert_int_equal(time_parse_iso(out, &back), 0);
		assert_int_equal(back, ms);
	}
}

static void test_time_clocks(void **state)
{
	int64_t a = time_mono_ns(), b = time_mono_ns();
	int64_t now = time_now_ms();

	(void)state;
	assert_true(b >= a);
	assert_true(time_mono_ms() >= a / 1000000);
	assert_true(now > 1700000000000); /* after 2023 */
}

/* ---- ids ----------------------------------------------------------------- */

static void test_id_charset(void **state)
{
	static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
	char id[ID_LEN + 1];

	(void)state;
	for (int i = 0; i < 200; i++) {
		id_new(time_now_ms(), id);
		assert_int_equal(strlen(id), ID_LEN);
		for (int k = 0; k < ID_LEN; k++)
			if (!strchr(alphabet, id[k]))
				fail_msg("bad id char '%c' in %s", id[k], id);
		/* 130 bits carry 128: the first digit is at most 7 */
		assert_true(id[0] >= '0' && id[0] <= '7');
	}
}

static void test_id_order(void **state)
{
	static const int64_t times[] = {0,
	                                1,
	                                999,
	                                1000,
	                                1700000000000,
	                                1700000000001,
	                                1795694400123,
	                                4102444800000,
	                                ((int64_t)1 << 48) - 1};
	char prev[ID_LEN + 1], cur[ID_LEN + 1], again[ID_LEN + 1];

	(void)state;
	id_new(times[0], prev);
	for (size_t i = 1; i < sizeof(times) / sizeof(times[0]); i++) {
		id_new(times[i], cur);
		if (strcmp(prev, cur) >= 0)
			fail_msg("id(%lld)=%s not after %s", (long long)times[i], cur, prev);
		/* the first 10 digits (50 bits) hold only the time */
		id_new(times[i], again);
		assert_memory_equal(cur, again, 10);
		assert_string_not_equal(cur, again);
		memcpy(prev, cur, sizeof(prev));
	}
	id_new(0, cur);
	assert_memory_equal(cur, "0000000000", 10);
	/* the time's digits exactly: Crockford base32 of the 48-bit milliseconds */
	id_new(1, cur);
	assert_memory_equal(cur, "0000000001", 10);
	id_new(1795694400123, cur); /* 0x1a217ba127b */
	assert_memory_equal(cur, "01m8bvm4kv", 10);
	id_new(((int64_t)1 << 48) - 1, cur);
	assert_memory_equal(cur, "7zzzzzzzzz", 10);
}

static void test_id_unique(void **state)
{
	enum { N = 20000 };
	char(*ids)[ID_LEN + 1] = malloc(N * sizeof(*ids));
	struct map m;
	int64_t t = 1795694400123;

	(void)state;
	map_init(&m);
	for (int i = 0; i < N; i++) {
		id_new(t, ids[i]); /* same millisecond: only randomness differs */
		assert_null(map_put(&m, ids[i], ids[i]));
	}
	assert_int_equal(m.n_entries, N);
	map_clear(&m);
	free(ids);
}

static void test_id_random(void **state)
{
	unsigned char a[32], b[32], zero[32];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	id_random(a, sizeof(a));
	id_random(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
}

/* ---- map ----------------------------------------------------------------- */

static void test_map_basic(void **state)
{
	struct map m;
	char key[16];
	int a = 1, b = 2;

	(void)state;
	map_init(&m);
	assert_null(map_get(&m, "x"));
	str_copy(key, "alice", sizeof(key));
	assert_null(map_put(&m, key, &a));
	key[0] = 'X'; /* the map copied the key */
	assert_ptr_equal(map_get(&m, "alice"), &a);
	assert_null(map_get(&m, "Xlice"));
	assert_null(map_get(&m, "ALICE")); /* exact match */
	assert_ptr_equal(map_put(&m, "alice", &b), &a);
	assert_ptr_equal(map_get(&m, "alice"), &b);
	assert_int_equal(m.n_entries, 1);
	assert_null(map_put(&m, "", &a)); /* empty key is a key */
	assert_ptr_equal(map_get(&m, ""), &a);
	assert_ptr_equal(map_del(&m, "alice"), &b);
	assert_null(map_del(&m, "alice"));
	assert_null(map_get(&m, "alice"));
	assert_int_equal(m.n_entries, 1);
	map_clear(&m);
	assert_int_equal(m.n_entries, 0);
}

static void test_map_grow_iterate(void **state)
{
	enum { N = 5000 };
	static int vals[N];
	struct map m;
	char key[16];
	struct map_entry *e;
	size_t it, seen = 0;
	char *mark = calloc(N, 1);

	(void)state;
	map_init(&m);
	for (int i = 0; i < N; i++) {
		vals[i] = i;
		snprintf(key, sizeof(key), "k%d", i);
		assert_null(map_put(&m, key, &vals[i]));
	}
	assert_int_equal(m.n_entries, N);
	assert_true(m.n_buckets >= N);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_ptr_equal(map_get(&m, key), &vals[i]);
	}
	for (e = map_first(&m, &it); e; e = map_next(&m, e, &it)) {
		int v = *(int *)e->value;
		char want[16];

		snprintf(want, sizeof(want), "k%d", v);
		assert_string_equal(e->key, want);
		assert_int_equal(mark[v], 0); /* each entry once */
		mark[v] = 1;
		seen++;
	}
	assert_int_equal(seen, N);
	for (int i = 0; i < N; i += 2) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_ptr_equal(map_del(&m, key), &vals[i]);
	}
	assert_int_equal(m.n_entries, N / 2);
	seen = 0;
	for (e = map_first(&m, &it); e; e = map_next(&m, e, &it)) {
		assert_int_equal(*(int *)e->value % 2, 1);
		seen++;
	}
	assert_int_equal(seen, N / 2);
	map_clear(&m);
	free(mark);
}

static void test_map_empty_iterate(void **state)
{
	struct map m;
	size_t it;

	(void)state;
	map_init(&m);
	assert_null(map_first(&m, &it));
	map_clear(&m);
}

/* ---- ptrvec -------------------------------------------------------------- */

static void test_ptrvec(void **state)
{
	struct ptrvec pv = {0};
	int x[100] = {0};

	(void)state;
	assert_false(ptrvec_contains(&pv, &x[0]));
	assert_false(ptrvec_remove(&pv, &x[0]));
	for (int i = 0; i < 100; i++)
		ptrvec_push(&pv, &x[i]);
	assert_int_equal(pv.n, 100);
	assert_true(pv.cap >= 100);
	for (int i = 0; i < 100; i++)
		assert_ptr_equal(pv.v[i], &x[i]);
	assert_true(ptrvec_contains(&pv, &x[50]));
	assert_true(ptrvec_remove(&pv, &x[50]));
	assert_false(ptrvec_contains(&pv, &x[50]));
	assert_false(ptrvec_remove(&pv, &x[50]));
	assert_int_equal(pv.n, 99);
	for (int i = 0; i < 100; i++)
		if (i != 50)
			assert_true(ptrvec_contains(&pv, &x[i]));
	/* NULL is an element like any other */
	ptrvec_push(&pv, NULL);
	assert_true(ptrvec_contains(&pv, NULL));
	assert_true(ptrvec_remove(&pv, NULL));
	assert_false(ptrvec_contains(&pv, NULL));
	ptrvec_free(&pv);
	assert_null(pv.v);
	assert_int_equal(pv.n, 0);
	assert_int_equal(pv.cap, 0);
	ptrvec_push(&pv, &x[1]); /* usable again after free */
	assert_int_equal(pv.n, 1);
	ptrvec_free(&pv);
}

static void test_b64_strict(void **state)
{
	unsigned char out[64];
	size_t n;

	(void)state;
	assert_int_equal(b64_decode("aGVsbG8=", 8, out, sizeof out, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(b64_decode("", 0, out, sizeof out, &n), 0);
	assert_int_equal(n, 0);
	/* libsodium 1.0.18 alone takes 0xd5 as a digit (found by fuzz_cap) */
	assert_int_equal(b64_decode("\xd5JQD", 4, out, sizeof out, &n), -1);
	assert_int_equal(b64_decode("aGVsbG8", 7, out, sizeof out, &n), -1);   /* no padding */
	assert_int_equal(b64_decode("aGVs bG8=", 9, out, sizeof out, &n), -1); /* a space */
	assert_int_equal(b64_decode("aGVsbG8=\0x", 10, out, sizeof out, &n), -1);
	assert_int_equal(b64_decode("aGVsbG8=", 8, out, 3, &n), -1); /* does not fit */
}

static void test_proc_capture(void **state)
{
	const char *const ok[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	const char *const path[] = {"true", NULL};
	const char *const missing[] = {"/nonexistent/program", NULL};
	char out[8];
	char big[64];

	(void)state;
	assert_int_equal(proc_capture(ok, PROC_STDERR, big, sizeof big), 3);
	assert_string_equal(big, "out\nerr\n");
	assert_int_equal(proc_capture(ok, 0, big, sizeof big), 3);
	assert_string_equal(big, "out\n");
	assert_int_equal(proc_capture(path, PROC_PATH | PROC_CHDIR_ROOT, big, sizeof big), 0);
	assert_int_equal(proc_capture(missing, 0, big, sizeof big), 127);
	/* more than fits: the tail is kept, terminated */
	{
		const char *const loud[] = {"/bin/sh", "-c", "printf 0123456789abcdef", NULL};

		assert_int_equal(proc_capture(loud, 0, out, sizeof out), 0);
		assert_true(strlen(out) < sizeof out);
		assert_int_equal(out[strlen(out) - 1], 'f');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_valid),
	    cmocka_unit_test(test_utf8_trunc),
	    cmocka_unit_test(test_utf8_trunc_every_cut),
	    cmocka_unit_test(test_str_copy),
	    cmocka_unit_test(test_str_case),
	    cmocka_unit_test(test_str_has_crlfnul),
	    cmocka_unit_test(test_str_to_i64),
	    cmocka_unit_test(test_str_to_bool),
	    cmocka_unit_test(test_str_appendf),
	    cmocka_unit_test(test_time_fmt_iso),
	    cmocka_unit_test(test_time_parse_iso),
	    cmocka_unit_test(test_time_round_trip),
	    cmocka_unit_test(test_time_clocks),
	    cmocka_unit_test(test_id_charset),
	    cmocka_unit_test(test_id_order),
	    cmocka_unit_test(test_id_unique),
	    cmocka_unit_test(test_id_random),
	    cmocka_unit_test(test_map_basic),
	    cmocka_unit_test(test_map_grow_iterate),
	    cmocka_unit_test(test_map_empty_iterate),
	    cmocka_unit_test(test_ptrvec),
	    cmocka_unit_test(test_b64_strict),
	    cmocka_unit_test(test_proc_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
