/*
 * bench_compliance.c — how fast the compliance adapter exports: fills a
 * fresh SQLite store (temporary directory) with N CHAT events (100-byte
 * bodies, 50 rooms, 200 actors; transactions of 10,000), carries them into
 * the compliance queue (store_comp_move), then times comp_run for XML, fills
 * again, and times it for JSON Lines. Prints the rates and output sizes.
 *
 * Usage: bench_compliance [N]   (default 200000)
 * Prints only; asserts nothing. The temporary directory is removed.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"
#include "common/timeutil.h"
#include "compliance/compliance.h"
#include "store/store.h"

#define BENCH_TX     10000
#define BENCH_ROOMS  50
#define BENCH_ACTORS 200

static int fill(struct store_conn *c, int64_t n, int64_t base_ms)
{
	static const char body[] = "The quarterly numbers look fine, but the deploy plan for "
	                           "Thursday needs a second reviewer, ok?";
	struct store_cevent e;

	for (int64_t i = 0; i < n; i++) {
		if (i % BENCH_TX == 0 && store_begin(c) < 0)
			return -1;
		memset(&e, 0, sizeof(e));
		e.ts_ms = base_ms + i;
		str_copy(e.type, "CHAT", sizeof(e.type));
		snprintf(e.actor, sizeof(e.actor), "user%03d", (int)(i % BENCH_ACTORS));
		e.actor_id = i % BENCH_ACTORS + 1;
		str_copy(e.address, "198.51.100.23", sizeof(e.address));
		e.room_id = i % BENCH_ROOMS + 1;
		snprintf(e.room, sizeof(e.room), "room-%02d", (int)(i % BENCH_ROOMS));
		str_copy(e.category, "General", sizeof(e.category));
		e.logged = true;
		snprintf(e.msgid, sizeof(e.msgid), "m%020" PRId64, i);
		e.content = (char *)body;
		if (store_cevent_add(c, &e) < 0)
			return -1;
		if ((i % BENCH_TX == BENCH_TX - 1 || i == n - 1) && store_commit(c) < 0)
			return -1;
	}
	for (int64_t moved = 1; moved > 0;)
		if (store_comp_move(c, BENCH_TX, &moved) < 0)
			return -1;
	return 0;
}

static int64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int64_t sum = 0;

	while (d && (de = readdir(d)) != NULL) {
		struct stat st;

		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
			sum += st.st_size;
	}
	if (d)
		closedir(d);
	return sum;
}

static int run_one(struct store_conn *c, const char *base, int format, int64_t n)
{
	struct comp_options o = {
	    .format = format, .uri_host = "bench.example.com", .owner = "bench"};
	struct comp_result r;
	char dir[512];
	int64_t t0, t1;
	double s;

	snprintf(dir, sizeof(dir), "%s/out-%s", base, comp_format_name(format));
	mkdir(dir, 0700);
	o.output_dir = dir;
	if (fill(c, n, 1714570200000LL) < 0) {
		fprintf(stderr, "bench_compliance: filling the store failed\n");
		return -1;
	}
	t0 = time_mono_ns();
	if (comp_run(c, &o, &r) < 0) {
		fprintf(stderr, "bench_compliance: %s\n", r.error);
		return -1;
	}
	t1 = time_mono_ns();
	s = (double)(t1 - t0) / 1e9;
	printf("compliance export %s: %" PRId64
	       " events in %.3f s = %.0f events/s (%d files, %" PRId64 " bytes)\n",
	       comp_format_name(format), r.events, s, (double)r.events / s, r.files,
	       dir_bytes(dir));
	return 0;
}

int main(int argc, char **argv)
{
	int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 200000;
	char base[] = "/tmp/pchat-bench-comp-XXXXXX", url[600], err[256], cmd[600];
	struct store_options so = {.create = true};
	struct store *st;
	int rc = 1;

	if (n <= 0 || !mkdtemp(base)) {
		fprintf(stderr, "usage: bench_compliance [N]\n");
		return 2;
	}
	snprintf(url, sizeof(url), "sqlite:%s/pchat.db", base);
	so.url = url;
	st = store_open(&so, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "bench_compliance: %s\n", err);
		goto out_rm;
	}
	if (run_one(store_direct(st), base, COMP_FORMAT_XML, n) == 0 &&
	    run_one(store_direct(st), base, COMP_FORMAT_JSONL, n) == 0)
		rc = 0;
	store_close(st);
out_rm:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
