/*
 * logship.c — the file work of log shipping (logship.h): archiving a WAL
 * file to the share, copying complete files to the copy destination,
 * restoring them for the standby, each verified by SHA-256 while the bytes
 * pass; the state files the jobs leave (.copy-state, .restore-state,
 * .paused, .copy.pid), each written atomically.
 *
 * Every file is written as a temp (".NAME.tmp.PID", O_EXCL, mode 0640),
 * fsynced, renamed, then its NAME.sha256 the same way, then the directory
 * is fsynced: a reader that sees NAME.sha256 sees a whole NAME.
 *
 * Deliberately not here: WAL names, gaps, the monitor and retention
 * (logship_seq.c); the topology and PostgreSQL (src/ctl/logship.c).
 */
#include "pool/logship_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LS_BUF      (64 * 1024) /* copy buffer */
#define LS_MODE     0640        /* files on the share and in the copy destination */
#define LS_PATH_MAX 4096        /* a path built here */

int ls_path(char *out, size_t len, const char *dir, const char *name, const char *suffix)
{
	int n = snprintf(out, len, "%s/%s%s", dir, name, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

bool ls_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static void to_hex(const unsigned char *md, char hex[LOGSHIP_HEX_LEN])
{
	sodium_bin2hex(hex, LOGSHIP_HEX_LEN, md, crypto_hash_sha256_BYTES);
}

/* Copy in to out (out < 0: only hash), hashing into hex. 0 or -1 (errno). */
static int copy_fd(int in, int out, char hex[LOGSHIP_HEX_LEN])
{
	unsigned char *buf = xmalloc(LS_BUF), md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state h;
	ssize_t n;
	int rc = -1;

	crypto_hash_sha256_init(&h);
	while ((n = read(in, buf, LS_BUF)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out_free;
		crypto_hash_sha256_update(&h, buf, (unsigned long long)n);
		for (ssize_t off = 0, w; out >= 0 && off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				goto out_free;
			w = w < 0 ? 0 : w;
		}
	}
	crypto_hash_sha256_final(&h, md);
	to_hex(md, hex);
	rc = 0;
out_free:
	free(buf);
	return rc;
}

/* The SHA-256 of the file at path. 0 or -1 (errno). */
static int sha256_file(const char *path, char hex[LOGSHIP_HEX_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = copy_fd(fd, -1, hex);
	close(fd);
	return rc;
}

/* Open a fresh temp ".NAME.tmp.PID" in dir (a stale one of a dead process is replaced). */
static int open_temp(const char *dir, const char *name, char *tmp, size_t tmplen)
{
	int fd;

	if (snprintf(tmp, tmplen, "%s/.%s.tmp.%ld", dir, name, (long)getpid()) >= (int)tmplen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, LS_MODE);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, LS_MODE);
	if (fd >= 0)
		fchmod(fd, LS_MODE); /* whatever the umask (PostgreSQL's is 077) */
	return fd;
}

/* fsync and close fd, then rename tmp to final. 0 or -1 (errno; tmp removed). */
static int commit_temp(int fd, const char *tmp, const char *final)
{
	int rc = fsync(fd);

	if (close(fd) != 0)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, final);
	if (rc != 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
	}
	return rc;
}

/* Write dir/name atomically with len bytes of data. 0 or -1 (errno). */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[LS_PATH_MAX], final[LS_PATH_MAX];
	int fd, rc = -1;

	if (ls_path(final, sizeof final, dir, name, "") != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open_temp(dir, name, tmp, sizeof tmp);
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno != EINTR) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += w < 0 ? 0 : (size_t)w;
	}
	rc = commit_temp(fd, tmp, final);
	if (rc == 0)
		rc = fsync_dir(dir);
	return rc;
}

/* Write DIR/NAME.sha256 ("HEX  NAME\n") atomically. */
static int write_sum(const char *dir, const char *name, const char *hex)
{
	char line[LOGSHIP_HEX_LEN + LOGSHIP_NAME_MAX + 4], sumname[LOGSHIP_NAME_MAX + 8];
	int n = snprintf(line, sizeof line, "%s  %s\n", hex, name);

	snprintf(sumname, sizeof sumname, "%s.sha256", name);
	return write_atomic(dir, sumname, line, (size_t)n);
}

/* The hex sum recorded in DIR/NAME.sha256. 0, or -1 (missing or malformed). */
static int read_sum(const char *dir, const char *name, char hex[LOGSHIP_HEX_LEN])
{
	char path[LS_PATH_MAX], line[256];
	FILE *fp;
	int rc = -1;

	if (ls_path(path, sizeof path, dir, name, ".sha256") != 0 || !(fp = fopen(path, "r")))
		return -1;
	if (fgets(line, sizeof line, fp) && strspn(line, "0123456789abcdef") == 64) {
		memcpy(hex, line, 64);
		hex[64] = '\0';
		rc = 0;
	}
	fclose(fp);
	return rc;
}

/*
 * Copy src to DIR/NAME through a temp, hashing into hex; with expect, a
 * different sum leaves nothing and returns LOGSHIP_ECORRUPT. mtime_ms > 0
 * sets the copy's time. LOGSHIP_OK or LOGSHIP_ESYS (errno).
 */
static int copy_in(const char *src, const char *dir, const char *name, const char *expect,
                   int64_t mtime_ms, char hex[LOGSHIP_HEX_LEN])
{
	char tmp[LS_PATH_MAX], final[LS_PATH_MAX];
	int in, out, rc = LOGSHIP_ESYS;

	if (ls_path(final, sizeof final, dir, name, "") != 0) {
		errno = ENAMETOOLONG;
		return LOGSHIP_ESYS;
	}
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? LOGSHIP_ENOENT : LOGSHIP_ESYS;
	out = open_temp(dir, name, tmp, sizeof tmp);
	if (out < 0)
		goto out_close_in;
	if (copy_fd(in, out, hex) != 0 || (expect && strcmp(hex, expect) != 0)) {
		rc = expect && hex[0] && strcmp(hex, expect) != 0 ? LOGSHIP_ECORRUPT : LOGSHIP_ESYS;
		close(out);
		unlink(tmp);
		goto out_close_in;
	}
	if (mtime_ms > 0) {
		struct timespec ts[2] = {{mtime_ms / 1000, (mtime_ms % 1000) * 1000000},
		                         {mtime_ms / 1000, (mtime_ms % 1000) * 1000000}};

		futimens(out, ts);
	}
	if (commit_temp(out, tmp, final) == 0)
		rc = LOGSHIP_OK;
out_close_in:
	close(in);
	return rc;
}

/* Same content already archived: make sure its .sha256 is there. */
static int archive_existing(const char *src, const char *share, const char *name, const char *path,
                            bool *already, char *err, size_t errlen)
{
	char have[LOGSHIP_HEX_LEN], want[LOGSHIP_HEX_LEN], sum[LOGSHIP_HEX_LEN];

	if (sha256_file(src, want) != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot read %s: %s", src,
		               strerror(errno));
	if (sha256_file(path, have) != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot read %s: %s", path,
		               strerror(errno));
	if (strcmp(have, want) != 0) {
		log_error("logship", "archive %s: %s already exists with SHA-256 %s, not %s", name,
		          path, have, want);
		return ls_fail(err, errlen, LOGSHIP_EDIFFERENT,
		               "%s already exists with other content (SHA-256 %s on the share, "
		               "%s to archive): refusing to overwrite it",
		               path, have, want);
	}
	*already = true;
	if (read_sum(share, name, sum) == 0 && strcmp(sum, have) == 0)
		return LOGSHIP_OK;
	if (write_sum(share, name, have) != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot write %s/%s.sha256: %s", share,
		               name, strerror(errno));
	return LOGSHIP_OK;
}

int logship_archive(const char *src, const char *share, const char *name, bool *already, char *err,
                    size_t errlen)
{
	char path[LS_PATH_MAX], hex[LOGSHIP_HEX_LEN] = "";
	int rc;

	*already = false;
	if (!logship_name_ok(name))
		return ls_fail(err, errlen, LOGSHIP_EINVAL, "'%s' is not a WAL file name", name);
	if (ls_path(path, sizeof path, share, name, "") != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "path too long: %s", share);
	if (ls_exists(path))
		return archive_existing(src, share, name, path, already, err, errlen);
	rc = copy_in(src, share, name, NULL, 0, hex);
	if (rc == LOGSHIP_ENOENT)
		return ls_fail(err, errlen, LOGSHIP_ENOENT, "%s does not exist", src);
	if (rc != LOGSHIP_OK)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot copy %s to %s: %s", src, path,
		               strerror(errno));
	if (write_sum(share, name, hex) != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot write %s.sha256: %s", path,
		               strerror(errno));
	return LOGSHIP_OK;
}

int logship_copy_file(const char *share, const char *dest, const char *name, char *err,
                      size_t errlen)
{
	char src[LS_PATH_MAX], expect[LOGSHIP_HEX_LEN], hex[LOGSHIP_HEX_LEN] = "";
	struct stat st;
	int rc;

	if (!logship_name_ok(name))
		return ls_fail(err, errlen, LOGSHIP_EINVAL, "'%s' is not a WAL file name", name);
	if (ls_path(src, sizeof src, share, name, "") != 0 || read_sum(share, name, expect) != 0 ||
	    stat(src, &st) != 0)
		return ls_fail(err, errlen, LOGSHIP_ENOENT, "%s/%s is not complete on the share",
		               share, name);
	rc = copy_in(src, dest, name, expect,
	             (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000, hex);
	if (rc == LOGSHIP_ECORRUPT) {
		log_warn("logship",
		         "ALERT corrupt file %s: SHA-256 %s, its .sha256 says %s: not copied", src,
		         hex, expect);
		return ls_fail(
		    err, errlen, rc,
		    "%s is corrupt: its SHA-256 is %s but %s.sha256 says %s (not copied)", src, hex,
		    name, expect);
	}
	if (rc != LOGSHIP_OK)
		return ls_fail(err, errlen, rc, "cannot copy %s to %s: %s", src, dest,
		               strerror(errno));
	if (write_sum(dest, name, expect) != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot write %s/%s.sha256: %s", dest,
		               name, strerror(errno));
	return LOGSHIP_OK;
}

/* --- state files ------------------------------------------------------------- */

/* Read "key=value" lines of DIR/file, calling set for each. 0 (missing = empty) or -1. */
static int state_read(const char *dir, const char *file,
                      void (*set)(void *, const char *, const char *), void *arg)
{
	char path[LS_PATH_MAX], line[512];
	FILE *fp;

	if (ls_path(path, sizeof path, dir, file, "") != 0)
		return -1;
	fp = fopen(path, "r");
	if (!fp)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof line, fp)) {
		char *eq = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (!eq)
			continue;
		*eq = '\0';
		set(arg, line, eq + 1);
	}
	fclose(fp);
	return 0;
}

static int64_t to_i64(const char *v)
{
	int64_t x = 0;

	return str_to_i64(v, 0, INT64_MAX, &x) == 0 ? x : 0;
}

static void restore_set(void *arg, const char *k, const char *v)
{
	struct logship_restore_state *st = arg;

	if (strcmp(k, "last_restored") == 0)
		str_copy(st->last, v, sizeof st->last);
	else if (strcmp(k, "last_restored_ms") == 0)
		st->last_ms = to_i64(v);
	else if (strcmp(k, "last_file_ms") == 0)
		st->last_file_ms = to_i64(v);
	else if (strcmp(k, "waiting_for") == 0)
		str_copy(st->waiting, v, sizeof st->waiting);
	else if (strcmp(k, "waiting_ms") == 0)
		st->waiting_ms = to_i64(v);
	else if (strcmp(k, "corrupt") == 0)
		str_copy(st->corrupt, v, sizeof st->corrupt);
	else if (strcmp(k, "corrupt_ms") == 0)
		st->corrupt_ms = to_i64(v);
}

int logship_restore_state_read(const char *dest, struct logship_restore_state *st)
{
	memset(st, 0, sizeof(*st));
	return state_read(dest, ".restore-state", restore_set, st) == 0 ? LOGSHIP_OK : LOGSHIP_ESYS;
}

static int restore_state_write(const char *dest, const struct logship_restore_state *st)
{
	char buf[1024];
	size_t len = 0;

	str_appendf(buf, sizeof buf, &len,
	            "last_restored=%s\nlast_restored_ms=%lld\nlast_file_ms=%lld\nwaiting_for=%s\n"
	            "waiting_ms=%lld\ncorrupt=%s\ncorrupt_ms=%lld\n",
	            st->last, (long long)st->last_ms, (long long)st->last_file_ms, st->waiting,
	            (long long)st->waiting_ms, st->corrupt, (long long)st->corrupt_ms);
	return write_atomic(dest, ".restore-state", buf, len);
}

static void copy_set(void *arg, const char *k, const char *v)
{
	struct logship_copy_state *st = arg;

	if (strcmp(k, "last_copied") == 0)
		str_copy(st->last, v, sizeof st->last);
	else if (strcmp(k, "last_copied_ms") == 0)
		st->last_ms = to_i64(v);
	else if (strcmp(k, "run_ms") == 0)
		st->run_ms = to_i64(v);
	else if (strcmp(k, "corrupt") == 0 && st->n_corrupt < LOGSHIP_MAX_CORRUPT)
		str_copy(st->corrupt[st->n_corrupt++], v, LOGSHIP_NAME_MAX);
}

int logship_copy_state_read(const char *dest, struct logship_copy_state *st)
{
	memset(st, 0, sizeof(*st));
	return state_read(dest, ".copy-state", copy_set, st) == 0 ? LOGSHIP_OK : LOGSHIP_ESYS;
}

static int copy_state_write(const char *dest, const struct logship_copy_state *st)
{
	char buf[4096];
	size_t len = 0;

	str_appendf(buf, sizeof buf, &len, "last_copied=%s\nlast_copied_ms=%lld\nrun_ms=%lld\n",
	            st->last, (long long)st->last_ms, (long long)st->run_ms);
	for (int i = 0; i < st->n_corrupt; i++)
		str_appendf(buf, sizeof buf, &len, "corrupt=%s\n", st->corrupt[i]);
	return write_atomic(dest, ".copy-state", buf, len);
}

/* --- listing and copying everything -------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ls_entry *)a)->name, ((const struct ls_entry *)b)->name);
}

/* Add dir/name to the list when it is a complete file. */
static void list_add(const char *dir, const char *name, struct ls_entry **v, size_t *n, size_t *cap)
{
	char path[LS_PATH_MAX], sum[LS_PATH_MAX];
	struct stat st;

	if (!logship_name_ok(name) || ls_path(path, sizeof path, dir, name, "") != 0 ||
	    ls_path(sum, sizeof sum, dir, name, ".sha256") != 0 || stat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode) || !ls_exists(sum))
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	str_copy((*v)[*n].name, name, LOGSHIP_NAME_MAX);
	(*v)[*n].mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	(*v)[(*n)++].size = (uint64_t)st.st_size;
}

int ls_list(const char *dir, struct ls_entry **out, size_t *n, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot list %s: %s", dir,
		               strerror(errno));
	while ((e = readdir(d)))
		list_add(dir, e->d_name, out, n, &cap);
	closedir(d);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), entry_cmp);
	return LOGSHIP_OK;
}

/* Copy one listed file unless dest has it; counts into res. */
static void copy_entry(const char *share, const char *dest, const char *name,
                       struct logship_copy_result *res, char *err, size_t errlen)
{
	char sum[LS_PATH_MAX], e[LOGSHIP_ERR_MAX];
	int rc;

	if (ls_path(sum, sizeof sum, dest, name, ".sha256") == 0 && ls_exists(sum)) {
		res->n_present++;
		return;
	}
	rc = logship_copy_file(share, dest, name, e, sizeof e);
	if (rc == LOGSHIP_OK) {
		res->n_copied++;
		str_copy(res->last, name, sizeof res->last);
	} else if (rc == LOGSHIP_ECORRUPT) {
		if (res->n_corrupt < LOGSHIP_MAX_CORRUPT)
			str_copy(res->corrupt[res->n_corrupt], name, LOGSHIP_NAME_MAX);
		res->n_corrupt++;
	} else if (rc != LOGSHIP_ENOENT) { /* ENOENT: removed meanwhile */
		if (res->n_failed++ == 0)
			str_copy(err, e, errlen);
		log_error("logship", "copy: %s", e);
	}
}

int logship_copy_all(const char *share, const char *dest, struct logship_copy_result *res,
                     char *err, size_t errlen)
{
	struct logship_copy_state st;
	struct ls_entry *v;
	size_t n;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = ls_list(share, &v, &n, err, errlen);
	if (rc != LOGSHIP_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		copy_entry(share, dest, v[i].name, res, err, errlen);
	free(v);
	logship_copy_state_read(dest, &st);
	st.run_ms = time_now_ms();
	if (res->last[0]) {
		str_copy(st.last, res->last, sizeof st.last);
		st.last_ms = st.run_ms;
	}
	st.n_corrupt = res->n_corrupt < LOGSHIP_MAX_CORRUPT ? res->n_corrupt : LOGSHIP_MAX_CORRUPT;
	for (int i = 0; i < st.n_corrupt; i++)
		str_copy(st.corrupt[i], res->corrupt[i], LOGSHIP_NAME_MAX);
	if (copy_state_write(dest, &st) != 0 && res->n_failed++ == 0)
		ls_fail(err, errlen, 0, "cannot write %s/.copy-state: %s", dest, strerror(errno));
	if (res->n_failed)
		return LOGSHIP_ESYS;
	if (res->n_corrupt)
		return ls_fail(
		    err, errlen, LOGSHIP_ECORRUPT,
		    "%d file(s) on the share fail their checksum (first: %s): not copied",
		    res->n_corrupt, res->corrupt[0]);
	return LOGSHIP_OK;
}

/* --- restore ----------------------------------------------------------------- */

/* Record a missing segment the standby asked for. */
static void note_waiting(const char *dest, const char *name)
{
	struct logship_restore_state st;
	struct logship_seg s;

	if (!logship_seg_parse(name, &s)) /* .history probes are expected to miss */
		return;
	logship_restore_state_read(dest, &st);
	str_copy(st.waiting, name, sizeof st.waiting);
	st.waiting_ms = time_now_ms();
	if (restore_state_write(dest, &st) != 0)
		log_error("logship", "cannot write %s/.restore-state: %s", dest, strerror(errno));
}

/* Copy src to target hashing it; ECORRUPT (target removed) when not want. */
static int restore_copy(const char *src, const char *target, const char *want,
                        char hex[LOGSHIP_HEX_LEN])
{
	int in, out, rc = LOGSHIP_ESYS;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? LOGSHIP_ENOENT : LOGSHIP_ESYS;
	out = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		goto out_close_in;
	if (copy_fd(in, out, hex) == 0 && strcmp(hex, want) == 0 && fsync(out) == 0)
		rc = LOGSHIP_OK;
	else if (hex[0] && strcmp(hex, want) != 0)
		rc = LOGSHIP_ECORRUPT;
	if (close(out) != 0 && rc == LOGSHIP_OK)
		rc = LOGSHIP_ESYS;
	if (rc != LOGSHIP_OK)
		unlink(target);
out_close_in:
	close(in);
	return rc;
}

/* Record a restored file (segments only) or a refused one. */
static void note_restored(const char *dest, const char *name, const char *src, bool corrupt)
{
	struct logship_restore_state st;
	struct logship_seg s;
	struct stat sb;

	if (!corrupt && !logship_seg_parse(name, &s))
		return;
	logship_restore_state_read(dest, &st);
	if (corrupt) {
		str_copy(st.corrupt, name, sizeof st.corrupt);
		st.corrupt_ms = time_now_ms();
	} else {
		str_copy(st.last, name, sizeof st.last);
		st.last_ms = time_now_ms();
		st.last_file_ms = stat(src, &sb) == 0 ? (int64_t)sb.st_mtim.tv_sec * 1000 +
		                                            sb.st_mtim.tv_nsec / 1000000
		                                      : st.last_ms;
	}
	if (restore_state_write(dest, &st) != 0)
		log_error("logship", "cannot write %s/.restore-state: %s", dest, strerror(errno));
}

int logship_restore_file(const char *dest, const char *name, const char *target, bool fetch,
                         char *err, size_t errlen)
{
	char src[LS_PATH_MAX], want[LOGSHIP_HEX_LEN], hex[LOGSHIP_HEX_LEN] = "";
	int rc;

	if (!logship_name_ok(name))
		return ls_fail(err, errlen, LOGSHIP_EINVAL, "'%s' is not a WAL file name", name);
	if (!fetch && logship_paused(dest))
		return ls_fail(
		    err, errlen, LOGSHIP_EPAUSED,
		    "restore is paused (%s/.paused: pchatctl logship restore --all resumes)", dest);
	if (ls_path(src, sizeof src, dest, name, "") != 0 || read_sum(dest, name, want) != 0 ||
	    !ls_exists(src)) {
		if (!fetch)
			note_waiting(dest, name);
		return ls_fail(err, errlen, LOGSHIP_ENOENT, "%s is not in %s", name, dest);
	}
	rc = restore_copy(src, target, want, hex);
	if (rc == LOGSHIP_ECORRUPT) {
		if (!fetch)
			note_restored(dest, name, src, true);
		log_error("logship",
		          "ALERT corrupt file %s: SHA-256 %s, its .sha256 says %s: not restored",
		          src, hex, want);
		return ls_fail(err, errlen, rc,
		               "%s is corrupt (SHA-256 %s, expected %s): not restored", src, hex,
		               want);
	}
	if (rc != LOGSHIP_OK)
		return ls_fail(err, errlen, rc, "cannot restore %s to %s: %s", src, target,
		               strerror(errno));
	if (!fetch)
		note_restored(dest, name, src, false);
	return LOGSHIP_OK;
}

/* --- pause and the daemon's pid file ------------------------------------- */

bool logship_paused(const char *dest)
{
	char path[LS_PATH_MAX];

	return ls_path(path, sizeof path, dest, ".paused", "") == 0 && ls_exists(path);
}

int logship_set_paused(const char *dest, bool on, char *err, size_t errlen)
{
	char path[LS_PATH_MAX], text[64];
	int n;

	if (ls_path(path, sizeof path, dest, ".paused", "") != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "path too long: %s", dest);
	if (!on) {
		if (unlink(path) != 0 && errno != ENOENT)
			return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot remove %s: %s", path,
			               strerror(errno));
		return LOGSHIP_OK;
	}
	if (ls_exists(path))
		return LOGSHIP_OK;
	n = snprintf(text, sizeof text, "paused_ms=%lld\n", (long long)time_now_ms());
	if (write_atomic(dest, ".paused", text, (size_t)n) != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot write %s: %s", path,
		               strerror(errno));
	return LOGSHIP_OK;
}

/* The pid recorded in DEST/.copy.pid, 0 = none. */
static int pid_in_file(const char *dest)
{
	char path[LS_PATH_MAX], line[32];
	int64_t pid = 0;
	FILE *fp;

	if (ls_path(path, sizeof path, dest, ".copy.pid", "") != 0 || !(fp = fopen(path, "r")))
		return 0;
	if (fgets(line, sizeof line, fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (str_to_i64(line, 1, INT32_MAX, &pid) != 0)
			pid = 0;
	}
	fclose(fp);
	return (int)pid;
}

int logship_daemon_pid(const char *dest)
{
	int pid = pid_in_file(dest);

	if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM))
		return pid;
	return 0;
}

int logship_daemon_claim(const char *dest, char *err, size_t errlen)
{
	char text[32];
	int pid = logship_daemon_pid(dest), n;

	if (pid > 0 && pid != (int)getpid())
		return ls_fail(err, errlen, LOGSHIP_ERUNNING,
		               "a copy daemon already runs (pid %d in %s/.copy.pid)", pid, dest);
	n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
	if (write_atomic(dest, ".copy.pid", text, (size_t)n) != 0)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot write %s/.copy.pid: %s", dest,
		               strerror(errno));
	return LOGSHIP_OK;
}

void logship_daemon_release(const char *dest)
{
	char path[LS_PATH_MAX];

	if (pid_in_file(dest) == (int)getpid() &&
	    ls_path(path, sizeof path, dest, ".copy.pid", "") == 0)
		unlink(path);
}
