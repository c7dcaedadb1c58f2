/*
 * bench_store.c — durable message inserts per second through
 * store_submit_write() with group commit.
 *
 * Usage: bench_store [--rooms N_ROOMS] [N_JOBS [DATABASE_URL]]
 *        bench_store history [N_MESSAGES [DATABASE_URL]]
 * N jobs (default 200000), each inserting one room message (spread over
 * N_ROOMS rooms, default 10; 400 is the many-small-rooms scenario of
 * compare.sh, where a group commit touches every room), are submitted from the loop thread as fast
 * as it can; the figure is N divided by the time from the first submission to the last completion
 * (each completion runs after its commit is durable: synchronous=FULL). Without a URL a temporary
 * SQLite file is used and removed. It does not measure the network.
 *
 * The history mode fills one room with N_MESSAGES (default 1,000,000)
 * messages of 6 to 15 words drawn from a skewed 4,000-word vocabulary, in
 * direct transactions of 50,000 (the bulk path, not group commit), then
 * times 1,000 store_msg_history LATEST 100 calls, 1,000 BEFORE-a-random-
 * message 100 calls and 200 store_msg_search calls of one or two words
 * (limit 50), plus 20 case-sensitive searches of a frequent word that no
 * message has in that case (the worst case), and prints p50/p99/max in ms.
 */
#include "common/id.h"
#include "common/mailbox.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "store/store.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ROOMS_DEFAULT 10
#define N_ROOMS_MAX     10000

struct bench {
	struct event_base *base; /* the loop */
	long n_jobs;             /* jobs submitted */
	long n_done;             /* completions seen */
	long n_failed;           /* completions with an error */
	int64_t lat_ns_sum;      /* sum of submit-to-completion latencies */
	int64_t lat_ns_max;      /* worst latency */
};

struct bjob {
	struct bench *b;     /* the run */
	struct store_msg m;  /* message to insert */
	int64_t t_submit_ns; /* when submitted */
};

static int insert_job(struct store_conn *c, void *arg)
{
	struct bjob *j = arg;

	return store_msg_insert(c, &j->m);
}

static void insert_done(int rc, void *arg)
{
	struct bjob *j = arg;
	struct bench *b = j->b;
	int64_t lat = time_mono_ns() - j->t_submit_ns;

	b->n_done++;
	b->n_failed += rc != 0;
	b->lat_ns_sum += lat;
	if (lat > b->lat_ns_max)
		b->lat_ns_max = lat;
	if (b->n_done == b->n_jobs)
		event_base_loopbreak(b->base);
}

static int setup_rooms(struct store *st, int64_t *rooms, int n_rooms)
{
	for (int i = 0; i < n_rooms; i++) {
		struct store_room r = {0};

		snprintf(r.name, sizeof(r.name), "bench%d", i);
		if (store_room_add(store_direct(st), &r) != 0)
			return -1;
		rooms[i] = r.id;
	}
	return 0;
}

static void submit_all(struct store *st, struct bench *b, struct bjob *jobs, const int64_t *rooms,
                       int n_rooms)
{
	for (long i = 0; i < b->n_jobs; i++) {
		struct bjob *j = &jobs[i];

		j->b = b;
		j->m.room_id = rooms[i % n_rooms];
		j->m.ts_ms = time_now_ms();
		id_new(j->m.ts_ms, j->m.msgid);
		str_copy(j->m.sender, "bench", sizeof(j->m.sender));
		str_copy(j->m.kind, "PRIVMSG", sizeof(j->m.kind));
		j->m.text = "The quick brown fox jumps over the lazy dog, durably.";
		j->t_submit_ns = time_mono_ns();
		store_submit_write(st, insert_job, insert_done, j);
	}
}

static double tv_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void remove_temp(const char *dir)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char p[300];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s/bench.db%s", dir, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* --- history and search mode ------------------------------------------------ */

#define H_VOCAB    4000  /* distinct words */
#define H_BATCH    50000 /* inserts per transaction */
#define H_N_LATEST 1000  /* LATEST 100 calls */
#define H_N_BEFORE 1000  /* BEFORE calls */
#define H_N_SEARCH 200   /* search calls */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A word index, skewed towards small indexes (frequent words). */
static int skewed_word(void)
{
	double u = (double)(rng() % 1000000) / 1e6;

	return (int)(u * u * u * H_VOCAB);
}

/* Word i of the vocabulary: syllables from the digits of i. */
static void vocab_word(int i, char *out, size_t len)
{
	static const char *const syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi",
	                                  "ba", "de", "fo", "gu", "ho", "ji", "pe", "zu"};
	size_t used = 0;

	out[0] = '\0';
	do {
		str_appendf(out, len, &used, "%s", syl[i % 16]);
		i /= 16;
	} while (i > 0);
	str_appendf(out, len, &used, "%s", "n");
}

static void random_text(char *buf, size_t len)
{
	int n = 6 + (int)(rng() % 10);
	size_t used = 0;
	char w[32];

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		vocab_word(skewed_word(), w, sizeof(w));
		str_appendf(buf, len, &used, "%s%s", i ? " " : "", w);
	}
}

static int fill_room(struct store_conn *c, int64_t room, long n)
{
	char text[256];
	int64_t t0 = time_mono_ns();

	for (long i = 0; i < n; i += H_BATCH) {
		if (store_begin(c) != 0)
			return -1;
		for (long j = i; j < n && j < i + H_BATCH; j++) {
			struct store_msg m = {0};

			m.room_id = room;
			m.ts_ms = 1700000000000LL + j * 10;
			snprintf(m.msgid, sizeof(m.msgid), "b%ld", j);
			str_copy(m.sender, j % 7 ? "bench" : "other", sizeof(m.sender));
			str_copy(m.kind, "PRIVMSG", sizeof(m.kind));
			random_text(text, sizeof(text));
			m.text = text;
			if (store_msg_insert(c, &m) != 0)
				return -1;
		}
		if (store_commit(c) != 0)
			return -1;
	}
	printf("filled %ld messages in %.1f s\n", n, (double)(time_mono_ns() - t0) / 1e9);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, int64_t *ns, int n)
{
	qsort(ns, (size_t)n, sizeof(*ns), cmp_i64);
	printf("%-34s n=%d p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", what, n,
	       (double)ns[n / 2] / 1e6, (double)ns[(n * 99) / 100] / 1e6, (double)ns[n - 1] / 1e6);
}

/* Time n history calls; before > 0: BEFORE a random message id up to before. */
static int time_history(struct store_conn *c, int64_t room, int64_t before, int64_t *ns, int n)
{
	for (int i = 0; i < n; i++) {
		struct store_history_query q = {.room_id = room, .limit = 100, .from_newest = true};
		struct store_msg *v;
		size_t got;
		int64_t t0 = time_mono_ns();

		if (before > 0)
			q.before_id = 1 + (int64_t)(rng() % (uint64_t)before);
		if (store_msg_history(c, &q, &v, &got) != 0)
			return -1;
		ns[i] = time_mono_ns() - t0;
		for (size_t j = 0; j < got; j++)
			store_msg_free(&v[j]);
		free(v);
	}
	return 0;
}

/*
 * Time n searches; case_word: a case-sensitive search for one frequent word
 * written in capitals, which no message has (the worst case: every FTS
 * match is read and checked in C).
 */
static int time_search(struct store_conn *c, int64_t room, int64_t *ns, int n, long *hits,
                       bool case_word)
{
	for (int i = 0; i < n; i++) {
		struct store_search_query q = {.room_ids = &room, .n_rooms = 1, .limit = 50};
		char text[80], w[32];
		size_t used = 0, got;
		struct store_msg *v;
		bool more;
		int64_t t0;

		text[0] = '\0';
		for (int k = 0; k < 1 + i % 2; k++) {
			vocab_word((int)(rng() % 400), w, sizeof(w)); /* a word people use */
			str_appendf(text, sizeof(text), &used, "%s%s", k ? " " : "", w);
		}
		if (case_word) {
			vocab_word(i % 20, text, sizeof(text));
			for (char *p = text; *p; p++)
				*p = (char)(*p - 'a' + 'A');
			q.case_sensitive = true;
		}
		q.text = text;
		q.match = i % 4 == 3 ? STORE_MATCH_ANY : STORE_MATCH_ALL;
		t0 = time_mono_ns();
		if (store_msg_search(c, &q, &v, &got, &more) != 0)
			return -1;
		ns[i] = time_mono_ns() - t0;
		*hits += (long)got;
		for (size_t j = 0; j < got; j++)
			store_msg_free(&v[j]);
		free(v);
	}
	return 0;
}

static int bench_history(int argc, char **argv)
{
	char dir[] = "/tmp/pchat-bench-XXXXXX", url[256], err[256];
	struct store_options opt = {.create = true};
	long n = argc > 1 ? atol(argv[1]) : 1000000, hits = 0;
	int64_t *ns = calloc(H_N_LATEST + H_N_BEFORE + H_N_SEARCH, sizeof(*ns));
	struct store_room r = {0};
	struct store *st;
	int rc = 1;

	if (n <= 0)
		return 2;
	if (argc > 2) {
		str_copy(url, argv[2], sizeof(url));
	} else {
		if (!mkdtemp(dir))
			return 1;
		snprintf(url, sizeof(url), "sqlite:%s/bench.db", dir);
	}
	opt.url = url;
	st = store_open(&opt, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "bench_store: %s\n", err);
		return 1;
	}
	str_copy(r.name, "benchhistory", sizeof(r.name));
	if (store_room_add(store_direct(st), &r) != 0 || fill_room(store_direct(st), r.id, n) != 0)
		goto out_close;
	if (time_history(store_direct(st), r.id, 0, ns, H_N_LATEST) != 0)
		goto out_close;
	report("history LATEST 100", ns, H_N_LATEST);
	if (time_history(store_direct(st), r.id, n, ns, H_N_BEFORE) != 0)
		goto out_close;
	report("history BEFORE random msg, 100", ns, H_N_BEFORE);
	if (time_search(store_direct(st), r.id, ns, H_N_SEARCH, &hits, false) != 0)
		goto out_close;
	report("search 1-2 words, limit 50", ns, H_N_SEARCH);
	if (time_search(store_direct(st), r.id, ns, 20, &hits, true) != 0)
		goto out_close;
	report("search case-sensitive, no hit", ns, 20);
	printf("(%ld messages in the room; %.1f hits per search on average)\n", n,
	       (double)hits / H_N_SEARCH);
	rc = 0;
out_close:
	if (rc)
		fprintf(stderr, "bench_store: history mode failed\n");
	store_close(st);
	free(ns);
	if (argc <= 2)
		remove_temp(dir);
	return rc;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/pchat-bench-XXXXXX", url[256], err[256];
	struct bench b = {0};
	struct store_options opt = {.create = true};
	int64_t *rooms, t0;
	int n_rooms = N_ROOMS_DEFAULT;
	struct bjob *jobs;
	struct mailbox *mb;
	struct store *st;
	double secs, cpu;
	struct rusage ru0, ru1;

	if (argc > 1 && strcmp(argv[1], "history") == 0)
		return bench_history(argc - 1, argv + 1);
	if (argc > 2 && strcmp(argv[1], "--rooms") == 0) {
		n_rooms = atoi(argv[2]);
		if (n_rooms < 1 || n_rooms > N_ROOMS_MAX) {
			fprintf(stderr, "bench_store: --rooms takes 1 to %d\n", N_ROOMS_MAX);
			return 2;
		}
		argc -= 2;
		argv += 2;
	}
	b.n_jobs = argc > 1 ? atol(argv[1]) : 200000;
	if (b.n_jobs <= 0)
		return 2;
	if (argc > 2) {
		str_copy(url, argv[2], sizeof(url));
	} else {
		if (!mkdtemp(dir))
			return 1;
		snprintf(url, sizeof(url), "sqlite:%s/bench.db", dir);
	}
	evthread_use_pthreads();
	b.base = event_base_new();
	mb = mailbox_new(b.base);
	opt.url = url;
	opt.mb = mb;
	st = store_open(&opt, err, sizeof(err));
	rooms = calloc((size_t)n_rooms, sizeof(*rooms));
	if (!st || setup_rooms(st, rooms, n_rooms) != 0) {
		fprintf(stderr, "bench_store: %s\n", st ? "cannot create rooms" : err);
		return 1;
	}
	jobs = calloc((size_t)b.n_jobs, sizeof(*jobs));
	memset(jobs, 0, (size_t)b.n_jobs * sizeof(*jobs)); /* fault the pages in now */
	getrusage(RUSAGE_SELF, &ru0);
	t0 = time_mono_ns();
	submit_all(st, &b, jobs, rooms, n_rooms);
	event_base_loop(b.base, EVLOOP_NO_EXIT_ON_EMPTY);
	secs = (double)(time_mono_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &ru1);
	cpu = tv_secs(&ru1.ru_utime) + tv_secs(&ru1.ru_stime) - tv_secs(&ru0.ru_utime) -
	      tv_secs(&ru0.ru_stime);
	printf("%ld durable inserts over %d rooms in %.3f s: %.0f inserts/s (group commit, "
	       "synchronous=FULL)\n",
	       b.n_done, n_rooms, secs, (double)b.n_done / secs);
	printf("latency submit->completion: mean %.1f ms, max %.1f ms; failed %ld\n",
	       (double)b.lat_ns_sum / (double)(b.n_done ? b.n_done : 1) / 1e6,
	       (double)b.lat_ns_max / 1e6, b.n_failed);
	printf("process CPU %.3f s (all threads): %.0f inserts per CPU-second\n", cpu,
	       (double)b.n_done / cpu);
	store_close(st);
	mailbox_free(mb);
	event_base_free(b.base);
	free(jobs);
	free(rooms);
	if (argc <= 2)
		remove_temp(dir);
	return b.n_failed ? 1 : 0;
}
