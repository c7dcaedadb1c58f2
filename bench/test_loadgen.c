/*
 * test_loadgen.c — unit tests for the load generator's pure parts: the
 * log-linear histogram, the IRC line parser, the benchmark body format,
 * the /proc parsers, the sender index read from a nick and the two-server
 * split (--port2), the SCRAM-SHA-256 client (RFC 7677 §3 test vector) and
 * its key cache. The networked parts are exercised by bench/run.sh and
 * bench/run_pool.sh against real servers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/str.h"
#include "lg.h"
#include "lg_hist.h"
#include "lg_irc.h"
#include "lg_keys.h"
#include "lg_proc.h"
#include "lg_scram.h"

static struct lg_hist hist; /* large: keep it off the stack */

static void test_hist_index_edges(void **state)
{
	unsigned i;
	uint64_t v;

	(void)state;
	assert_int_equal(lg_hist_index(0), 0);
	assert_int_equal(lg_hist_index(63), 63);
	assert_int_equal(lg_hist_index(64), 64);
	assert_int_equal(lg_hist_index(127), 127);
	assert_int_equal(lg_hist_index(128), 128);
	assert_int_equal(lg_hist_index(129), 128); /* step 2 in the second octave */
	/* every bucket's upper edge maps to itself, and the next value to the next bucket */
	for (i = 0; i + 1 < LG_HIST_BUCKETS; i++) {
		v = lg_hist_upper(i);
		assert_int_equal(lg_hist_index(v), i);
		assert_int_equal(lg_hist_index(v + 1), i + 1);
	}
	assert_int_equal(lg_hist_index(UINT64_MAX), LG_HIST_BUCKETS - 1);
}

static void test_hist_quantiles(void **state)
{
	uint64_t v, p50, p99;

	(void)state;
	lg_hist_reset(&hist);
	assert_int_equal(lg_hist_quantile(&hist, 0.5), 0);
	/* 1..100000 us in ns: p50 ~ 50 ms, p99 ~ 99 ms, within 1/64 */
	for (v = 1; v <= 100000; v++)
		lg_hist_add(&hist, v * 1000);
	assert_int_equal(hist.n, 100000);
	assert_int_equal(hist.max, 100000000);
	assert_int_equal(hist.min, 1000);
	p50 = lg_hist_quantile(&hist, 0.5);
	p99 = lg_hist_quantile(&hist, 0.99);
	assert_true(p50 >= 50000000 && p50 <= 50000000 + 50000000 / 64);
	assert_true(p99 >= 99000000 && p99 <= 99000000 + 99000000 / 64);
	assert_int_equal(lg_hist_quantile(&hist, 1.0), 100000000);
	assert_int_equal(lg_hist_quantile(&hist, 0.0), 1000);
}

static void test_hist_single_outlier(void **state)
{
	int i;

	(void)state;
	lg_hist_reset(&hist);
	for (i = 0; i < 999; i++)
		lg_hist_add(&hist, 1000000); /* 1 ms */
	lg_hist_add(&hist, 5000000000ULL);   /* 5 s */
	assert_true(lg_hist_quantile(&hist, 0.99) < 1100000);
	assert_int_equal(lg_hist_quantile(&hist, 0.9995), 5000000000ULL);
}

struct parse_case {
	const char *line;
	const char *source;
	const char *nick;
	const char *command;
	int n_params;
	const char *last;
};

static const struct parse_case parse_cases[] = {
    {"PING :abc def", NULL, NULL, "PING", 1, "abc def"},
    {":srv 001 bench0 :Welcome", "srv", "srv", "001", 2, "Welcome"},
    {"@time=2026-01-01T00:00:00.000Z;msgid=x :a!u@h PRIVMSG #bench0 :t=1 s=2 xx", "a!u@h", "a",
     "PRIVMSG", 2, "t=1 s=2 xx"},
    {":srv CAP * LS * :sasl=PLAIN echo-message", "srv", "srv", "CAP", 4, "sasl=PLAIN echo-message"},
    {":srv   366  me   #bench3 :End of NAMES", "srv", "srv", "366", 3, "End of NAMES"},
    {":n@host JOIN #c", "n@host", "n", "JOIN", 1, "#c"},
    {":a@b!c NOTICE x :y", "a@b!c", "a", "NOTICE", 2, "y"},
    {":Bench7!u@h PRIVMSG #bench0 :hi", "Bench7!u@h", "Bench7", "PRIVMSG", 2, "hi"},
    {"CMD a b c d e f g h i j k l m n o p q", NULL, NULL, "CMD", 15, "o p q"},
};

static void test_parse_table(void **state)
{
	char buf[512];
	struct lg_irc_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *pc = &parse_cases[i];

		str_copy(buf, pc->line, sizeof(buf));
		assert_int_equal(lg_irc_parse(buf, strlen(buf), &m), 0);
		assert_string_equal(m.command, pc->command);
		assert_int_equal(m.n_params, pc->n_params);
		assert_string_equal(m.param[m.n_params - 1], pc->last);
		if (!pc->source) {
			assert_null(m.source);
			continue;
		}
		assert_string_equal(m.source, pc->source);
		assert_int_equal(m.source_nick_len, strlen(pc->nick));
		assert_true(lg_irc_from(&m, pc->nick, strlen(pc->nick)));
		assert_false(lg_irc_from(&m, "zz", 2));
	}
}

/* Nicks compare case-insensitively (ASCII), and only whole. */
static void test_from_case(void **state)
{
	char line[] = ":BeNcH7!u@h PRIVMSG #bench0 :t=1 s=2";
	struct lg_irc_msg m;

	(void)state;
	assert_int_equal(lg_irc_parse(line, strlen(line), &m), 0);
	assert_true(lg_irc_from(&m, "bench7", 6));
	assert_true(lg_irc_from(&m, "BENCH7", 6));
	assert_false(lg_irc_from(&m, "bench8", 6));
	assert_false(lg_irc_from(&m, "bench", 5));
	assert_false(lg_irc_from(&m, "bench77", 7));
}

static void test_parse_empty(void **state)
{
	char a[] = "", b[] = ":onlysource", c[] = "@tags=1";
	struct lg_irc_msg m;

	(void)state;
	assert_int_equal(lg_irc_parse(a, 0, &m), -1);
	assert_int_equal(lg_irc_parse(b, strlen(b), &m), -1);
	assert_int_equal(lg_irc_parse(c, strlen(c), &m), -1);
}

static void test_body_round_trip(void **state)
{
	char buf[1024], line[1024];
	struct lg_irc_msg m;
	int64_t t;
	uint64_t seq;
	size_t len;

	(void)state;
	len = lg_irc_format_msg(buf, sizeof(buf), "#bench7", 123456789012345LL, 42, 200);
	assert_true(len > 0);
	assert_memory_equal(buf + len - 2, "\r\n", 2);
	memcpy(line, buf, len - 2);
	assert_int_equal(lg_irc_parse(line, len - 2, &m), 0);
	assert_string_equal(m.param[0], "#bench7");
	assert_int_equal(strlen(m.param[1]), 200); /* body padded to --size */
	assert_int_equal(lg_irc_parse_body(m.param[1], &t, &seq), 0);
	assert_int_equal(t, 123456789012345LL);
	assert_int_equal(seq, 42);
	/* a body smaller than the header is just the header */
	len = lg_irc_format_msg(buf, sizeof(buf), "#b", 5, 6, 1);
	assert_string_equal(buf, "PRIVMSG #b :t=5 s=6 \r\n");
	/* does not fit */
	assert_int_equal(lg_irc_format_msg(buf, 40, "#b", 5, 6, 100), 0);
}

static void test_body_rejects(void **state)
{
	int64_t t;
	uint64_t seq;

	(void)state;
	assert_int_equal(lg_irc_parse_body("hello", &t, &seq), -1);
	assert_int_equal(lg_irc_parse_body("t=", &t, &seq), -1);
	assert_int_equal(lg_irc_parse_body("t=12 x=3", &t, &seq), -1);
	assert_int_equal(lg_irc_parse_body("t=12 s=", &t, &seq), -1);
	assert_int_equal(lg_irc_parse_body("t=12 s=9", &t, &seq), 0);
	assert_int_equal(seq, 9);
}

static void test_proc_parsers(void **state)
{
	const char *status = "Name:\tpchatd\nVmPeak:\t  9999 kB\nVmRSS:\t   4321 kB\nThreads: 4\n";
	const char *stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 "
	                   "250 17 0 0 20 0 4 0 100 1000 200\n";
	int64_t kib;
	uint64_t ticks;

	(void)state;
	assert_int_equal(lg_proc_parse_status(status, &kib), 0);
	assert_int_equal(kib, 4321);
	assert_int_equal(lg_proc_parse_status("Name: x\n", &kib), -1);
	assert_int_equal(lg_proc_parse_stat(stat, &ticks), 0);
	assert_int_equal(ticks, 267);
	assert_int_equal(lg_proc_parse_stat("garbage", &ticks), -1);
	/* the real thing: our own process */
	assert_int_equal(lg_proc_rss_kib(getpid(), &kib), 0);
	assert_true(kib > 0);
}

static void test_nick_index(void **state)
{
	static const struct {
		const char *nick;
		const char *prefix;
		const char *suffix;
		int want;
	} cases[] = {
	    {"bench0", "bench", "", 0},
	    {"bench17", "bench", "", 17},
	    {"BENCH499", "bench", "", 499}, /* servers may case-fold */
	    {"bench999999999", "bench", "", 999999999},
	    {"bench1000000000", "bench", "", -1}, /* too long: no overflow */
	    {"bench", "bench", "", -1},           /* no digits */
	    {"bench07", "bench", "", -1},         /* %d never pads */
	    {"bench7_", "bench", "", -1},         /* renamed after 433 */
	    {"bench1x", "bench", "", -1},
	    {"other3", "bench", "", -1},
	    {"u12x", "u", "x", 12}, /* a --sasl pattern u%dx */
	    {"u12", "u", "x", -1},
	    {"ux", "u", "x", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(lg_irc_nick_index(cases[i].nick, strlen(cases[i].nick),
		                                   cases[i].prefix, cases[i].suffix),
		                 cases[i].want);
	/* the length given counts, not the NUL: a source "bench42!u@h" */
	assert_int_equal(lg_irc_nick_index("bench42!u@h", 7, "bench", ""), 42);
}

/* Parse a real source through lg_irc_parse: the nick length ends at '!'. */
static void test_nick_index_from_source(void **state)
{
	char line[] = ":bench31!bench31@127.0.0.1 PRIVMSG #bench0 :t=1 s=2";
	struct lg_irc_msg m;

	(void)state;
	assert_int_equal(lg_irc_parse(line, strlen(line), &m), 0);
	assert_int_equal(lg_irc_nick_index(m.source, m.source_nick_len, "bench", ""), 31);
}

/* Count each room's members on each server (room = (i*K + j) mod R). */
static void split_counts(int n, int rooms, int k, int *on0, int *on1)
{
	int i, j, r;

	memset(on0, 0, sizeof(int) * (size_t)rooms);
	memset(on1, 0, sizeof(int) * (size_t)rooms);
	for (i = 0; i < n; i++) {
		for (j = 0; j < k; j++) {
			r = (i * k + j) % rooms;
			if (lg_server_of(i, rooms, k))
				on1[r]++;
			else
				on0[r]++;
		}
	}
}

static void test_server_split(void **state)
{
	int on0[50], on1[50], i;

	(void)state;
	/* one room or none: the odd clients go to the second server */
	for (i = 0; i < 10; i++) {
		assert_int_equal(lg_server_of(i, 1, 1), i & 1);
		assert_int_equal(lg_server_of(i, 0, 0), i & 1);
	}
	/* issue 2's latency scenario: 500 clients, 50 rooms: 5 + 5 in every room */
	split_counts(500, 50, 1, on0, on1);
	for (i = 0; i < 50; i++) {
		assert_int_equal(on0[i], 5);
		assert_int_equal(on1[i], 5);
	}
	/* throughput scenario: 50 clients, 1 room: 25 + 25 */
	split_counts(50, 1, 1, on0, on1);
	assert_int_equal(on0[0], 25);
	assert_int_equal(on1[0], 25);
	/* an odd number of rooms still puts both servers in every room */
	split_counts(70, 7, 1, on0, on1);
	for (i = 0; i < 7; i++)
		assert_true(on0[i] > 0 && on1[i] > 0);
}

/* ---- SCRAM-SHA-256 (RFC 7677 §3) ---------------------------------------- */

#define V_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define V_SFIRST                                                                                   \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define V_CFINAL                                                                                   \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"           \
	"Ute9ytag9zj"                                                                              \
	"fMHgsqmmiz7AndVQ="
#define V_SFINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* Run the RFC 7677 exchange up to client-final with password pw. */
static void vector_exchange(struct lg_scram *s, struct lg_scram_key *key, const char *pw,
                            char *final, size_t cap)
{
	char first[LG_SCRAM_MSG_MAX];

	memset(key, 0, sizeof(*key));
	assert_int_equal(lg_scram_first(s, "user", V_CNONCE, first, sizeof(first)), 0);
	assert_string_equal(first, "n,,n=user,r=" V_CNONCE);
	assert_int_equal(lg_scram_parse_server_first(s, V_SFIRST, strlen(V_SFIRST), key), 0);
	assert_true(key->known);
	assert_false(key->derived);
	assert_int_equal(key->iterations, 4096);
	assert_int_equal(key->salt_len, 16);
	assert_int_equal(lg_scram_derive(key, pw), 0);
	assert_int_equal(lg_scram_final(s, key, V_SFIRST, strlen(V_SFIRST), final, cap), 0);
}

static void test_scram_rfc7677_vector(void **state)
{
	struct lg_scram s;
	struct lg_scram_key key;
	char final[LG_SCRAM_MSG_MAX];

	(void)state;
	vector_exchange(&s, &key, "pencil", final, sizeof(final));
	assert_string_equal(final, V_CFINAL);
	assert_int_equal(lg_scram_check_server_final(&s, V_SFINAL, strlen(V_SFINAL)), 0);
}

static void test_scram_wrong_server_signature(void **state)
{
	struct lg_scram s;
	struct lg_scram_key key;
	char final[LG_SCRAM_MSG_MAX], bad[] = V_SFINAL;

	(void)state;
	vector_exchange(&s, &key, "pencil", final, sizeof(final));
	bad[5] = bad[5] == 'A' ? 'B' : 'A';
	assert_int_equal(lg_scram_check_server_final(&s, bad, strlen(bad)), -1);
	assert_int_equal(lg_scram_check_server_final(&s, "e=invalid-proof", 15), -1);
	assert_int_equal(lg_scram_check_server_final(&s, "v=", 2), -1);
	assert_int_equal(lg_scram_check_server_final(&s, "v=6rriTRBi23Wp", 14), -1);
	/* the same exchange with another password: another proof, another v= */
	vector_exchange(&s, &key, "pencil2", final, sizeof(final));
	assert_string_not_equal(final, V_CFINAL);
	assert_int_equal(lg_scram_check_server_final(&s, V_SFINAL, strlen(V_SFINAL)), -1);
}

static void test_scram_server_first_rejects(void **state)
{
	static const char *const bad[] = {
	    "r=someoneelse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",     /* not our nonce */
	    "r=" V_CNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",       /* no server part */
	    "r=" V_CNONCE "xyz,i=4096",                               /* no salt */
	    "r=" V_CNONCE "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==",           /* no iterations */
	    "r=" V_CNONCE "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",       /* zero iterations */
	    "r=" V_CNONCE "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=12x",     /* not a number */
	    "r=" V_CNONCE "xyz,s=!!notbase64!!,i=4096",               /* bad salt */
	    "m=ext,r=" V_CNONCE "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1", /* mandatory extension */
	    "e=other-error",
	};
	struct lg_scram s;
	struct lg_scram_key key;
	char first[LG_SCRAM_MSG_MAX];
	size_t i;

	(void)state;
	assert_int_equal(lg_scram_first(&s, "user", V_CNONCE, first, sizeof(first)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&key, 0, sizeof(key));
		assert_int_equal(lg_scram_parse_server_first(&s, bad[i], strlen(bad[i]), &key), -1);
	}
	/* names that would need escaping, and an empty nonce, are refused */
	assert_int_equal(lg_scram_first(&s, "a,b", V_CNONCE, first, sizeof(first)), -1);
	assert_int_equal(lg_scram_first(&s, "a=b", V_CNONCE, first, sizeof(first)), -1);
	assert_int_equal(lg_scram_first(&s, "user", "", first, sizeof(first)), -1);
	/* final without derived keys */
	memset(&key, 0, sizeof(key));
	assert_int_equal(lg_scram_final(&s, &key, V_SFIRST, strlen(V_SFIRST), first, sizeof(first)),
	                 -1);
}

static void test_scram_cache_keeps_matching_key(void **state)
{
	struct lg_scram s;
	struct lg_scram_key key;
	char final[LG_SCRAM_MSG_MAX];
	const char *other = "r=" V_CNONCE "xyz,s=QUJDREVGR0hJSktMTU5PUA==,i=4096";
	const char *more = "r=" V_CNONCE "xyz,s=QUJDREVGR0hJSktMTU5PUA==,i=8192";

	(void)state;
	vector_exchange(&s, &key, "pencil", final, sizeof(final));
	/* same salt and iterations again: the key stays, no derivation needed */
	assert_int_equal(lg_scram_first(&s, "user", V_CNONCE, final, sizeof(final)), 0);
	assert_int_equal(lg_scram_parse_server_first(&s, V_SFIRST, strlen(V_SFIRST), &key), 0);
	assert_true(key.derived);
	assert_int_equal(lg_scram_final(&s, &key, V_SFIRST, strlen(V_SFIRST), final, sizeof(final)),
	                 0);
	assert_string_equal(final, V_CFINAL);
	/* a new salt, then new iterations: the cached key is dropped */
	assert_int_equal(lg_scram_parse_server_first(&s, other, strlen(other), &key), 0);
	assert_false(key.derived);
	assert_int_equal(key.salt_len, 16);
	assert_memory_equal(key.salt, "ABCDEFGHIJKLMNOP", 16);
	key.derived = true;
	assert_int_equal(lg_scram_parse_server_first(&s, more, strlen(more), &key), 0);
	assert_false(key.derived);
	assert_int_equal(key.iterations, 8192);
}

/* Three accounts with known salts, derived in parallel and one by one. */
static void test_keys_derive_and_file(void **state)
{
	struct lg_scram_key keys[4], ref, back[4];
	char path[] = "/tmp/test_loadgen_keysXXXXXX";
	int i, failed = -1, fd;
	FILE *f;

	(void)state;
	memset(keys, 0, sizeof(keys));
	for (i = 0; i < 3; i++) {
		keys[i].known = true;
		keys[i].iterations = 4096;
		keys[i].salt_len = 16;
		memset(keys[i].salt, 'a' + i, 16);
	}
	assert_int_equal(lg_keys_derive(keys, 4, "pw", 2, &failed), 3);
	assert_int_equal(failed, 0);
	assert_false(keys[3].derived); /* never seen: left alone */
	for (i = 0; i < 3; i++) {
		ref = keys[i];
		ref.derived = false;
		assert_int_equal(lg_scram_derive(&ref, "pw"), 0);
		assert_memory_equal(ref.client_key, keys[i].client_key, LG_SCRAM_KEY_LEN);
		assert_memory_equal(ref.server_key, keys[i].server_key, LG_SCRAM_KEY_LEN);
	}
	assert_memory_not_equal(keys[0].client_key, keys[1].client_key, LG_SCRAM_KEY_LEN);
	assert_int_equal(lg_keys_derive(keys, 4, "pw", 2, &failed), 0); /* nothing left */

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lg_keys_save(path, "acct%d", keys, 4), 0);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("1 someoneelse 4096 YWFh YWFh YWFh\n9 acct9 4096 YWFh YWFh YWFh\ngarbage\n", f);
	fclose(f);
	memset(back, 0, sizeof(back));
	assert_int_equal(lg_keys_load(path, "acct%d", back, 4), 3);
	for (i = 0; i < 3; i++) {
		assert_true(back[i].derived);
		assert_int_equal(back[i].iterations, 4096);
		assert_memory_equal(back[i].salt, keys[i].salt, 16);
		assert_memory_equal(back[i].client_key, keys[i].client_key, LG_SCRAM_KEY_LEN);
		assert_memory_equal(back[i].server_key, keys[i].server_key, LG_SCRAM_KEY_LEN);
	}
	assert_false(back[3].known);
	/* another pattern: nothing matches */
	memset(back, 0, sizeof(back));
	assert_int_equal(lg_keys_load(path, "other%d", back, 4), 0);
	unlink(path);
	assert_int_equal(lg_keys_load(path, "acct%d", back, 4), 0); /* missing file */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hist_index_edges),
	    cmocka_unit_test(test_hist_quantiles),
	    cmocka_unit_test(test_hist_single_outlier),
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_from_case),
	    cmocka_unit_test(test_parse_empty),
	    cmocka_unit_test(test_body_round_trip),
	    cmocka_unit_test(test_body_rejects),
	    cmocka_unit_test(test_proc_parsers),
	    cmocka_unit_test(test_nick_index),
	    cmocka_unit_test(test_nick_index_from_source),
	    cmocka_unit_test(test_server_split),
	    cmocka_unit_test(test_scram_rfc7677_vector),
	    cmocka_unit_test(test_scram_wrong_server_signature),
	    cmocka_unit_test(test_scram_server_first_rejects),
	    cmocka_unit_test(test_scram_cache_keeps_matching_key),
	    cmocka_unit_test(test_keys_derive_and_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
