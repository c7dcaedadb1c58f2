/*
 * bench_store.c — durable message inserts per second through
 * store_submit_write() with group commit.
 *
 * Usage: bench_store [N_JOBS [DATABASE_URL]]
 * N jobs (default 200000), each inserting one room message (spread over 10
 * rooms), are submitted from the loop thread as fast as it can; the figure
 * is N divided by the time from the first submission to the last
 * completion (each completion runs after its commit is durable:
 * synchronous=FULL). Without a URL a temporary SQLite file is used and
 * removed. It does not measure reads or the network.
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

#define N_ROOMS 10

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

static int setup_rooms(struct store *st, int64_t *rooms)
{
	for (int i = 0; i < N_ROOMS; i++) {
		struct store_room r = {0};

		snprintf(r.name, sizeof(r.name), "bench%d", i);
		if (store_room_add(store_direct(st), &r) != 0)
			return -1;
		rooms[i] = r.id;
	}
	return 0;
}

static void submit_all(struct store *st, struct bench *b, struct bjob *jobs, const int64_t *rooms)
{
	for (long i = 0; i < b->n_jobs; i++) {
		struct bjob *j = &jobs[i];

		j->b = b;
		j->m.room_id = rooms[i % N_ROOMS];
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

int main(int argc, char **argv)
{
	char dir[] = "/tmp/pchat-bench-XXXXXX", url[256], err[256];
	struct bench b = {0};
	struct store_options opt = {.create = true};
	int64_t rooms[N_ROOMS], t0;
	struct bjob *jobs;
	struct mailbox *mb;
	struct store *st;
	double secs, cpu;
	struct rusage ru0, ru1;

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
	if (!st || setup_rooms(st, rooms) != 0) {
		fprintf(stderr, "bench_store: %s\n", st ? "cannot create rooms" : err);
		return 1;
	}
	jobs = calloc((size_t)b.n_jobs, sizeof(*jobs));
	memset(jobs, 0, (size_t)b.n_jobs * sizeof(*jobs)); /* fault the pages in now */
	getrusage(RUSAGE_SELF, &ru0);
	t0 = time_mono_ns();
	submit_all(st, &b, jobs, rooms);
	event_base_loop(b.base, EVLOOP_NO_EXIT_ON_EMPTY);
	secs = (double)(time_mono_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &ru1);
	cpu = tv_secs(&ru1.ru_utime) + tv_secs(&ru1.ru_stime) - tv_secs(&ru0.ru_utime) -
	      tv_secs(&ru0.ru_stime);
	printf("%ld durable inserts in %.3f s: %.0f inserts/s (group commit, synchronous=FULL)\n",
	       b.n_done, secs, (double)b.n_done / secs);
	printf("latency submit->completion: mean %.1f ms, max %.1f ms; failed %ld\n",
	       (double)b.lat_ns_sum / (double)(b.n_done ? b.n_done : 1) / 1e6,
	       (double)b.lat_ns_max / 1e6, b.n_failed);
	printf("process CPU %.3f s (all threads): %.0f inserts per CPU-second\n", cpu,
	       (double)b.n_done / cpu);
	store_close(st);
	mailbox_free(mb);
	event_base_free(b.base);
	free(jobs);
	if (argc <= 2)
		remove_temp(dir);
	return b.n_failed ? 1 : 0;
}
