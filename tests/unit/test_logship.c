/*
 * test_logship.c — log shipping's file work and naming (src/pool/logship.h):
 * archive idempotency and refusal, copy verification, a corrupt file never
 * copied nor restored, gaps with 1 MB and 16 MB segments, the successor
 * across a LOG boundary, retention never deleting unrestored or uncopied
 * files, the monitor's alerts, pause and the daemon's pid file.
 *
 * Each test works in its own temporary directory (share, copy destination,
 * a pg_wal stand-in); segment files are sparse, so 16 MB costs nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "pool/logship.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_A "000000010000000000000001"
#define SEG_B "000000010000000000000002"
#define SEG_C "000000010000000000000003"
#define SEG_D "000000010000000000000004"

/* The directories of one test. */
struct dirs {
	char root[256];  /* mkdtemp */
	char share[300]; /* ROOT/share */
	char dest[300];  /* ROOT/copy */
	char wal[300];   /* ROOT/wal: sources and restore targets */
};

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof(*d));

	snprintf(d->root, sizeof d->root, "/tmp/test_logship.XXXXXX");
	assert_non_null(mkdtemp(d->root));
	snprintf(d->share, sizeof d->share, "%s/share", d->root);
	snprintf(d->dest, sizeof d->dest, "%s/copy", d->root);
	snprintf(d->wal, sizeof d->wal, "%s/wal", d->root);
	assert_int_equal(mkdir(d->share, 0700), 0);
	assert_int_equal(mkdir(d->dest, 0700), 0);
	assert_int_equal(mkdir(d->wal, 0700), 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;
	char cmd[400];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", d->root);
	free(d);
	return 0;
}

/* Write text to dir/name (size bytes when size > strlen: sparse tail). */
static void put(const char *dir, const char *name, const char *text, off_t size)
{
	char path[400];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	if (size > (off_t)strlen(text))
		assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* The whole content of dir/name, "" when missing (static buffer). */
static const char *get(const char *dir, const char *name)
{
	static char buf[4096];
	char path[400];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	buf[0] = '\0';
	fp = fopen(path, "r");
	if (!fp)
		return buf;
	n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static bool exists(const char *dir, const char *name)
{
	char path[400];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Set the time of dir/name (and its .sha256) to ms. */
static void age(const char *dir, const char *name, int64_t ms)
{
	struct timespec ts[2] = {{ms / 1000, 0}, {ms / 1000, 0}};
	char path[400];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* Archive wal/name with content text onto the share. */
static void ship(const struct dirs *d, const char *name, const char *text)
{
	char src[400], err[LOGSHIP_ERR_MAX];
	bool already;

	put(d->wal, name, text, 0);
	snprintf(src, sizeof src, "%s/%s", d->wal, name);
	assert_int_equal(logship_archive(src, d->share, name, &already, err, sizeof err),
	                 LOGSHIP_OK);
}

/* Overwrite the first byte of dir/name. */
static void flip(const char *dir, const char *name)
{
	char path[400];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "#", 1, 0), 1);
	close(fd);
}

static void test_names(void **state)
{
	struct logship_seg s;
	char out[32];

	(void)state;
	assert_true(logship_name_ok(SEG_A));
	assert_true(logship_name_ok("00000002.history"));
	assert_true(logship_name_ok("000000010000000000000002.00000028.backup"));
	assert_false(logship_name_ok("../etc/passwd"));
	assert_false(logship_name_ok(".hidden"));
	assert_false(logship_name_ok(SEG_A ".sha256"));
	assert_false(logship_name_ok(""));
	assert_true(logship_seg_parse("0000000A000000BC000000FF", &s));
	assert_int_equal(s.tli, 10);
	assert_int_equal(s.log, 0xBC);
	assert_int_equal(s.seg, 0xFF);
	assert_false(logship_seg_parse("00000002.history", &s));
	assert_false(logship_seg_parse("0000000a000000bc000000ff", &s)); /* PostgreSQL: upper */
	logship_seg_format(&s, out, sizeof out);
	assert_string_equal(out, "0000000A000000BC000000FF");
}

static void test_successor(void **state)
{
	struct logship_seg s;
	char out[32];

	(void)state;
	/* 16 MB: 256 segments a LOG, FF is the last */
	logship_seg_parse("0000000100000000000000FF", &s);
	logship_seg_next(&s, 16u << 20);
	logship_seg_format(&s, out, sizeof out);
	assert_string_equal(out, "000000010000000100000000");
	/* 1 MB: 4096 segments a LOG, FF is not the last, FFF is */
	logship_seg_parse("0000000100000000000000FF", &s);
	logship_seg_next(&s, 1u << 20);
	logship_seg_format(&s, out, sizeof out);
	assert_string_equal(out, "000000010000000000000100");
	logship_seg_parse("000000010000000000000FFF", &s);
	logship_seg_next(&s, 1u << 20);
	logship_seg_format(&s, out, sizeof out);
	assert_string_equal(out, "000000010000000100000000");
}

static void test_archive(void **state)
{
	struct dirs *d = *state;
	char src[400], err[LOGSHIP_ERR_MAX], path[400];
	struct stat st;
	bool already = true;

	put(d->wal, SEG_A, "segment one", 0);
	snprintf(src, sizeof src, "%s/%s", d->wal, SEG_A);
	assert_int_equal(logship_archive(src, d->share, SEG_A, &already, err, sizeof err),
	                 LOGSHIP_OK);
	assert_false(already);
	assert_string_equal(get(d->share, SEG_A), "segment one");
	assert_int_equal(strlen(get(d->share, SEG_A ".sha256")), 64 + 2 + 24 + 1);
	assert_memory_equal(get(d->share, SEG_A ".sha256") + 64, "  " SEG_A "\n", 27);
	snprintf(path, sizeof path, "%s/%s", d->share, SEG_A);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	/* the same file again: success, nothing changed */
	assert_int_equal(logship_archive(src, d->share, SEG_A, &already, err, sizeof err),
	                 LOGSHIP_OK);
	assert_true(already);

	/* the same name with other content: refused, both sums named, share untouched */
	put(d->wal, SEG_A, "segment ONE", 0);
	assert_int_equal(logship_archive(src, d->share, SEG_A, &already, err, sizeof err),
	                 LOGSHIP_EDIFFERENT);
	assert_non_null(strstr(err, "refusing"));
	assert_int_equal(strlen(err) > 2 * 64, 1);
	assert_string_equal(get(d->share, SEG_A), "segment one");

	/* a .history file, a bad name, a missing source */
	ship(d, "00000002.history", "1\t0/3000000\tno recovery target specified\n");
	assert_true(exists(d->share, "00000002.history.sha256"));
	assert_int_equal(logship_archive(src, d->share, "../x", &already, err, sizeof err),
	                 LOGSHIP_EINVAL);
	snprintf(src, sizeof src, "%s/nothing", d->wal);
	assert_int_equal(logship_archive(src, d->share, SEG_B, &already, err, sizeof err),
	                 LOGSHIP_ENOENT);
	assert_false(exists(d->share, SEG_B));
}

static void test_archive_sum_known(void **state)
{
	struct dirs *d = *state;

	/* SHA-256 of "abc" (FIPS 180-2 example) */
	ship(d, SEG_A, "abc");
	assert_string_equal(
	    get(d->share, SEG_A ".sha256"),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  " SEG_A "\n");
}

static void test_copy_and_corrupt(void **state)
{
	struct dirs *d = *state;
	struct logship_copy_result res;
	struct logship_copy_state cs;
	char err[LOGSHIP_ERR_MAX];

	ship(d, SEG_A, "one");
	ship(d, SEG_B, "two");
	ship(d, SEG_C, "three");
	put(d->share, SEG_D, "four, no .sha256 yet", 0); /* being archived: not complete */
	flip(d->share, SEG_B);                           /* damaged on the share */

	assert_int_equal(logship_copy_all(d->share, d->dest, &res, err, sizeof err),
	                 LOGSHIP_ECORRUPT);
	assert_int_equal(res.n_copied, 2);
	assert_int_equal(res.n_corrupt, 1);
	assert_string_equal(res.corrupt[0], SEG_B);
	assert_non_null(strstr(err, SEG_B));
	assert_string_equal(get(d->dest, SEG_A), "one");
	assert_string_equal(get(d->dest, SEG_C), "three");
	assert_false(exists(d->dest, SEG_B));
	assert_false(exists(d->dest, SEG_B ".sha256"));
	assert_false(exists(d->dest, SEG_D));
	assert_string_equal(get(d->dest, SEG_A ".sha256"), get(d->share, SEG_A ".sha256"));
	assert_int_equal(logship_copy_state_read(d->dest, &cs), LOGSHIP_OK);
	assert_string_equal(cs.last, SEG_C);
	assert_int_equal(cs.n_corrupt, 1);
	assert_string_equal(cs.corrupt[0], SEG_B);

	/* a second run copies nothing new and still refuses the corrupt one */
	assert_int_equal(logship_copy_all(d->share, d->dest, &res, err, sizeof err),
	                 LOGSHIP_ECORRUPT);
	assert_int_equal(res.n_copied, 0);
	assert_int_equal(res.n_present, 2);
	assert_false(exists(d->dest, SEG_B));
}

static void test_restore(void **state)
{
	struct dirs *d = *state;
	struct logship_restore_state rs;
	struct logship_copy_result res;
	char err[LOGSHIP_ERR_MAX], target[400];

	ship(d, SEG_A, "one");
	ship(d, SEG_B, "two");
	assert_int_equal(logship_copy_all(d->share, d->dest, &res, err, sizeof err), LOGSHIP_OK);
	snprintf(target, sizeof target, "%s/RECOVERYXLOG", d->wal);

	assert_int_equal(logship_restore_file(d->dest, SEG_A, target, false, err, sizeof err),
	                 LOGSHIP_OK);
	assert_string_equal(get(d->wal, "RECOVERYXLOG"), "one");
	logship_restore_state_read(d->dest, &rs);
	assert_string_equal(rs.last, SEG_A);
	assert_true(rs.last_ms > 0 && rs.last_file_ms > 0);

	/* missing: ENOENT, recorded as waited for; a .history probe is not */
	assert_int_equal(logship_restore_file(d->dest, SEG_C, target, false, err, sizeof err),
	                 LOGSHIP_ENOENT);
	assert_int_equal(
	    logship_restore_file(d->dest, "00000002.history", target, false, err, sizeof err),
	    LOGSHIP_ENOENT);
	logship_restore_state_read(d->dest, &rs);
	assert_string_equal(rs.waiting, SEG_C);
	assert_string_equal(rs.last, SEG_A);

	/* corrupt in the copy destination: never handed over */
	flip(d->dest, SEG_B);
	unlink(target);
	assert_int_equal(logship_restore_file(d->dest, SEG_B, target, false, err, sizeof err),
	                 LOGSHIP_ECORRUPT);
	assert_false(exists(d->wal, "RECOVERYXLOG"));
	logship_restore_state_read(d->dest, &rs);
	assert_string_equal(rs.corrupt, SEG_B);
	assert_string_equal(rs.last, SEG_A);

	/* paused: nothing copied even for a good file */
	assert_int_equal(logship_set_paused(d->dest, true, err, sizeof err), LOGSHIP_OK);
	assert_int_equal(logship_set_paused(d->dest, true, err, sizeof err), LOGSHIP_OK);
	assert_true(logship_paused(d->dest));
	assert_int_equal(logship_restore_file(d->dest, SEG_A, target, false, err, sizeof err),
	                 LOGSHIP_EPAUSED);
	assert_false(exists(d->wal, "RECOVERYXLOG"));
	/* pg_rewind's fetch: handed over while paused, verified, not recorded */
	assert_int_equal(logship_restore_file(d->dest, SEG_A, target, true, err, sizeof err),
	                 LOGSHIP_OK);
	assert_true(exists(d->wal, "RECOVERYXLOG"));
	assert_int_equal(logship_restore_file(d->dest, SEG_B, target, true, err, sizeof err),
	                 LOGSHIP_ECORRUPT);
	assert_int_equal(logship_restore_file(d->dest, "000000010000000000000009", target, true,
	                                      err, sizeof err),
	                 LOGSHIP_ENOENT);
	logship_restore_state_read(d->dest, &rs);
	assert_string_equal(rs.last, SEG_A);
	assert_string_equal(rs.waiting, SEG_C);
	assert_int_equal(logship_set_paused(d->dest, false, err, sizeof err), LOGSHIP_OK);
	assert_false(logship_paused(d->dest));
	assert_int_equal(logship_restore_file(d->dest, SEG_A, target, false, err, sizeof err),
	                 LOGSHIP_OK);
}

static void test_seq_compute(void **state)
{
	static const char *const contiguous[] = {"0000000100000000000000FE",
	                                         "0000000100000000000000FF",
	                                         "000000010000000100000000", "00000001.history"};
	static const char *const gap16[] = {"0000000100000000000000FE", "0000000100000000000000FF",
	                                    "000000010000000100000001", "000000010000000100000002"};
	static const char *const mb1[] = {"0000000100000000000000FF", "000000010000000000000100",
	                                  "000000010000000000000FFF", "000000010000000100000000"};
	struct logship_seq q;

	(void)state;
	logship_seq_compute(contiguous, 4, 16u << 20, &q);
	assert_int_equal(q.n_segments, 3);
	assert_string_equal(q.first_missing, "");
	assert_string_equal(q.last_contiguous, "000000010000000100000000");
	assert_string_equal(q.next, "000000010000000100000001");

	logship_seq_compute(gap16, 4, 16u << 20, &q);
	assert_string_equal(q.first_missing, "000000010000000100000000");
	assert_string_equal(q.last_contiguous, "0000000100000000000000FF");
	assert_string_equal(q.next, "000000010000000100000000");
	assert_int_equal(q.n_after_gap, 2);

	/* the same boundary with 1 MB segments is not contiguous: 100..FFE are missing */
	logship_seq_compute(mb1, 4, 1u << 20, &q);
	assert_string_equal(q.first_missing, "000000010000000000000101");
	assert_string_equal(q.last_contiguous, "000000010000000000000100");
	assert_int_equal(q.n_after_gap, 2);

	/* FF then 1/00 is contiguous with 16 MB segments only */
	logship_seq_compute(contiguous + 1, 2, 1u << 20, &q);
	assert_string_equal(q.first_missing, "000000010000000000000100");
}

static void test_seq_timelines(void **state)
{
	static const char *const v[] = {"000000010000000000000003", "000000010000000000000004",
	                                "000000020000000000000004", "000000020000000000000005",
	                                "000000020000000000000007"};
	struct logship_seq q;

	(void)state;
	/* the switch to timeline 2 is no gap; the hole inside timeline 2 is */
	logship_seq_compute(v, 5, 16u << 20, &q);
	assert_string_equal(q.first_missing, "000000020000000000000006");
	assert_string_equal(q.last_contiguous, "000000020000000000000005");
	assert_int_equal(q.n_after_gap, 1);
	logship_seq_compute(v, 4, 16u << 20, &q);
	assert_string_equal(q.first_missing, "");
	assert_string_equal(q.next, "000000020000000000000006");
}

/* Segments of size bytes (sparse) with their .sha256 in dir. */
static void sparse_segments(const char *dir, const char *const *names, size_t n, off_t size)
{
	char sum[128];

	for (size_t i = 0; i < n; i++) {
		put(dir, names[i], "x", size);
		snprintf(sum, sizeof sum, "%s.sha256", names[i]);
		put(dir, sum,
		    "0000000000000000000000000000000000000000000000000000000000000000  x\n", 0);
	}
}

static void test_seq_scan_sizes(void **state)
{
	struct dirs *d = *state;
	static const char *const v[] = {"0000000100000000000000FF", "000000010000000100000000",
	                                "000000010000000100000002"};
	struct logship_seq q;
	char err[LOGSHIP_ERR_MAX];

	/* 16 MB files in the share: FF -> 1/00 contiguous, 1/01 missing */
	sparse_segments(d->share, v, 3, 16 << 20);
	assert_int_equal(logship_seq_scan(d->share, &q, err, sizeof err), LOGSHIP_OK);
	assert_int_equal(q.seg_size, 16u << 20);
	assert_string_equal(q.first_missing, "000000010000000100000001");
	/* 1 MB files in the copy destination: FF -> 100 would follow, not 1/00 */
	sparse_segments(d->dest, v, 3, 1 << 20);
	assert_int_equal(logship_seq_scan(d->dest, &q, err, sizeof err), LOGSHIP_OK);
	assert_int_equal(q.seg_size, 1u << 20);
	assert_string_equal(q.first_missing, "000000010000000000000100");
}

static void test_retention(void **state)
{
	struct dirs *d = *state;
	struct logship_prune_result pr;
	struct logship_copy_result res;
	char err[LOGSHIP_ERR_MAX], target[400];
	int64_t now = time_now_ms(), old = now - 10LL * 86400 * 1000;

	ship(d, SEG_A, "one");
	ship(d, SEG_B, "two");
	ship(d, SEG_C, "three");
	ship(d, "00000001.history", "h");
	assert_int_equal(logship_copy_all(d->share, d->dest, &res, err, sizeof err), LOGSHIP_OK);
	ship(d, SEG_D, "four"); /* not copied */
	snprintf(target, sizeof target, "%s/RECOVERYXLOG", d->wal);
	assert_int_equal(logship_restore_file(d->dest, SEG_B, target, false, err, sizeof err),
	                 LOGSHIP_OK);
	for (const char *dir = d->share; dir; dir = dir == d->share ? d->dest : NULL) {
		age(dir, SEG_A, old);
		age(dir, SEG_B, old);
		age(dir, SEG_C, old);
		age(dir, "00000001.history", old);
	}
	age(d->share, SEG_D, old);

	assert_int_equal(
	    logship_prune(d->share, d->dest, now, 7LL * 86400 * 1000, &pr, err, sizeof err),
	    LOGSHIP_OK);
	/* A and B (restored) go from both; C (not restored) and D (not copied) stay */
	assert_int_equal(pr.n_deleted, 4);
	assert_false(exists(d->share, SEG_A));
	assert_false(exists(d->share, SEG_B ".sha256"));
	assert_false(exists(d->dest, SEG_A));
	assert_false(exists(d->dest, SEG_B));
	assert_true(exists(d->share, SEG_C));
	assert_true(exists(d->dest, SEG_C));
	assert_true(exists(d->share, SEG_D));
	assert_true(exists(d->share, "00000001.history"));
	assert_true(exists(d->dest, "00000001.history"));
	assert_int_equal(pr.n_unrestored, 3); /* C twice, D once */
}

static void test_retention_nothing_restored(void **state)
{
	struct dirs *d = *state;
	struct logship_prune_result pr;
	struct logship_copy_result res;
	char err[LOGSHIP_ERR_MAX];
	int64_t now = time_now_ms();

	ship(d, SEG_A, "one");
	assert_int_equal(logship_copy_all(d->share, d->dest, &res, err, sizeof err), LOGSHIP_OK);
	age(d->share, SEG_A, now - 30LL * 86400 * 1000);
	age(d->dest, SEG_A, now - 30LL * 86400 * 1000);
	assert_int_equal(logship_prune(d->share, d->dest, now, 3600 * 1000, &pr, err, sizeof err),
	                 LOGSHIP_OK);
	assert_int_equal(pr.n_deleted, 0);
	assert_true(exists(d->share, SEG_A));
	assert_true(exists(d->dest, SEG_A));
}

static void test_status(void **state)
{
	struct dirs *d = *state;
	struct logship_status st;
	struct logship_copy_result res;
	char err[LOGSHIP_ERR_MAX], target[400];
	int64_t now = time_now_ms();

	/* nothing shipped yet: a backup alert */
	assert_int_equal(
	    logship_status_read(d->share, d->dest, 300, 900, now, &st, err, sizeof err),
	    LOGSHIP_OK);
	assert_true(st.backup_alert);
	assert_true(st.alert);
	assert_int_equal(st.backup_latency_ms, -1);

	ship(d, SEG_A, "one");
	ship(d, SEG_B, "two");
	logship_copy_all(d->share, d->dest, &res, err, sizeof err);
	snprintf(target, sizeof target, "%s/RECOVERYXLOG", d->wal);
	logship_restore_file(d->dest, SEG_A, target, false, err, sizeof err);
	now = time_now_ms();
	assert_int_equal(
	    logship_status_read(d->share, d->dest, 300, 900, now, &st, err, sizeof err),
	    LOGSHIP_OK);
	assert_false(st.backup_alert);
	assert_false(st.restore_alert);
	assert_false(st.alert);
	assert_string_equal(st.last_backup, SEG_B);
	assert_string_equal(st.copy.last, SEG_B);
	assert_string_equal(st.restore.last, SEG_A);
	assert_true(st.restore_latency_ms >= 0 && st.restore_latency_ms < 60000);

	/* ten minutes later: backup (300 s) alerts; B waits 600 s < 900 s: no restore alert */
	assert_int_equal(
	    logship_status_read(d->share, d->dest, 300, 900, now + 600000, &st, err, sizeof err),
	    LOGSHIP_OK);
	assert_true(st.backup_alert);
	assert_false(st.restore_alert);
	/* twenty minutes: restore alerts too */
	logship_status_read(d->share, d->dest, 300, 900, now + 1200000, &st, err, sizeof err);
	assert_true(st.restore_alert);

	/* a gap in the copy destination and a corrupt file on the share */
	ship(d, SEG_D, "four");
	logship_copy_all(d->share, d->dest, &res, err, sizeof err);
	ship(d, "000000010000000000000005", "five");
	flip(d->share, "000000010000000000000005");
	logship_copy_all(d->share, d->dest, &res, err, sizeof err);
	logship_status_read(d->share, d->dest, 300, 900, time_now_ms(), &st, err, sizeof err);
	assert_string_equal(st.first_missing, SEG_C);
	assert_string_equal(st.gap_where, "copy");
	assert_int_equal(st.copy.n_corrupt, 1);
	assert_string_equal(st.copy.corrupt[0], "000000010000000000000005");
	assert_true(st.alert);
}

static void test_daemon_pid(void **state)
{
	struct dirs *d = *state;
	char err[LOGSHIP_ERR_MAX];

	assert_int_equal(logship_daemon_pid(d->dest), 0);
	assert_int_equal(logship_daemon_claim(d->dest, err, sizeof err), LOGSHIP_OK);
	assert_int_equal(logship_daemon_pid(d->dest), (int)getpid());
	/* a live other process holds it: refused */
	put(d->dest, ".copy.pid", "1\n", 0);
	assert_int_equal(logship_daemon_claim(d->dest, err, sizeof err), LOGSHIP_ERUNNING);
	logship_daemon_release(d->dest); /* not ours: kept */
	assert_true(exists(d->dest, ".copy.pid"));
	/* a stale pid is ignored */
	put(d->dest, ".copy.pid", "2147483000\n", 0);
	assert_int_equal(logship_daemon_pid(d->dest), 0);
	assert_int_equal(logship_daemon_claim(d->dest, err, sizeof err), LOGSHIP_OK);
	logship_daemon_release(d->dest);
	assert_false(exists(d->dest, ".copy.pid"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_successor),
	    cmocka_unit_test_setup_teardown(test_archive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_archive_sum_known, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_and_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
	    cmocka_unit_test(test_seq_compute),
	    cmocka_unit_test(test_seq_timelines),
	    cmocka_unit_test_setup_teardown(test_seq_scan_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention_nothing_restored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_pid, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
