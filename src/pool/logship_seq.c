/*
 * logship_seq.c — WAL file names and what follows from them (logship.h):
 * parsing and formatting segment names, the successor of a segment across
 * a LOG boundary, the sequence of a directory and its first gap, the
 * monitor's view with its alerts, and retention.
 *
 * A segment name is TLI LOG SEG, 8 hex digits each; a LOG holds
 * 0x100000000 / segment-size segments (256 of 16 MB, 4096 of 1 MB), so the
 * segment size (the size of a segment file) is needed to know what
 * follows FF or FFF.
 *
 * Deliberately not here: copying and the state files' format (logship.c).
 */
#include "pool/logship_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool logship_name_ok(const char *name)
{
	size_t n = strnlen(name, LOGSHIP_NAME_MAX);

	if (n == 0 || n >= LOGSHIP_NAME_MAX || name[0] == '.')
		return false;
	if (n > 7 && strcmp(name + n - 7, ".sha256") == 0)
		return false;
	return str_plain_name(name, n);
}

static bool hex8(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (uint32_t)(c - 'A' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

bool logship_seg_parse(const char *name, struct logship_seg *s)
{
	return strlen(name) == LOGSHIP_SEG_LEN && hex8(name, &s->tli) && hex8(name + 8, &s->log) &&
	       hex8(name + 16, &s->seg);
}

void logship_seg_format(const struct logship_seg *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "%08X%08X%08X", s->tli, s->log, s->seg);
}

/* Segments per LOG for a segment size (PostgreSQL's XLogSegmentsPerXLogId). */
static uint64_t per_log(uint64_t seg_size)
{
	return seg_size ? 0x100000000ull / seg_size : 0x100000000ull / LOGSHIP_SEG_DEFAULT;
}

void logship_seg_next(struct logship_seg *s, uint64_t seg_size)
{
	if ((uint64_t)s->seg + 1 >= per_log(seg_size)) {
		s->log++;
		s->seg = 0;
	} else {
		s->seg++;
	}
}

/* The position of s as a segment number within its timeline. */
static uint64_t seg_no(const struct logship_seg *s, uint64_t seg_size)
{
	return (uint64_t)s->log * per_log(seg_size) + s->seg;
}

/* Walk one timeline's names [i, j): record the first gap into out. */
static void seq_timeline(const char *const *names, size_t i, size_t j, uint64_t seg_size,
                         struct logship_seq *out)
{
	struct logship_seg prev, cur;

	logship_seg_parse(names[i], &prev);
	for (size_t k = i + 1; k < j; k++) {
		logship_seg_parse(names[k], &cur);
		if (!out->first_missing[0] &&
		    seg_no(&cur, seg_size) != seg_no(&prev, seg_size) + 1) {
			struct logship_seg miss = prev;

			logship_seg_next(&miss, seg_size);
			logship_seg_format(&miss, out->first_missing, sizeof out->first_missing);
			logship_seg_format(&prev, out->last_contiguous,
			                   sizeof out->last_contiguous);
		}
		prev = cur;
	}
}

void logship_seq_compute(const char *const *names, size_t n, uint64_t seg_size,
                         struct logship_seq *out)
{
	const char **segs = xcalloc(n ? n : 1, sizeof(*segs));
	struct logship_seg s, t;
	size_t m = 0;

	memset(out, 0, sizeof(*out));
	out->seg_size = seg_size ? seg_size : LOGSHIP_SEG_DEFAULT;
	for (size_t i = 0; i < n; i++)
		if (logship_seg_parse(names[i], &s))
			segs[m++] = names[i];
	out->n_segments = (int)m;
	if (m == 0)
		goto out_free;
	str_copy(out->first, segs[0], sizeof out->first);
	str_copy(out->last, segs[m - 1], sizeof out->last);
	for (size_t i = 0, j; i < m; i = j) {
		logship_seg_parse(segs[i], &s);
		for (j = i + 1; j < m && logship_seg_parse(segs[j], &t) && t.tli == s.tli; j++)
			;
		seq_timeline(segs, i, j, out->seg_size, out);
	}
	for (size_t i = 0; i < m && out->first_missing[0]; i++)
		if (strcmp(segs[i], out->first_missing) > 0)
			out->n_after_gap++;
	if (!out->first_missing[0]) /* contiguous: the successor of the last */
		str_copy(out->last_contiguous, out->last, sizeof out->last_contiguous);
	logship_seg_parse(out->last_contiguous, &s);
	logship_seg_next(&s, out->seg_size);
	logship_seg_format(&s, out->next, sizeof out->next);
	if (out->first_missing[0]) /* the standby stops at the gap */
		str_copy(out->next, out->first_missing, sizeof out->next);
out_free:
	free(segs);
}

int logship_seq_scan(const char *dir, struct logship_seq *out, char *err, size_t errlen)
{
	struct ls_entry *v;
	const char **names;
	uint64_t size = 0;
	struct logship_seg s;
	size_t n;
	int rc;

	rc = ls_list(dir, &v, &n, err, errlen);
	if (rc != LOGSHIP_OK) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	names = xcalloc(n ? n : 1, sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		names[i] = v[i].name;
		if (!size && logship_seg_parse(v[i].name, &s) && v[i].size >= (1u << 20) &&
		    (v[i].size & (v[i].size - 1)) == 0)
			size = v[i].size;
	}
	logship_seq_compute(names, n, size, out);
	free(names);
	free(v);
	return LOGSHIP_OK;
}

/* --- the monitor ------------------------------------------------------------- */

/* Whether name (a segment or NAME.*.backup) is after the last restored segment. */
static bool after_restored(const char *name, const char *last)
{
	return !last[0] || strncmp(name, last, LOGSHIP_SEG_LEN) > 0;
}

/* Newest file of the share; the oldest unrestored segment's time into *oldest. */
static void status_share(const char *share, struct logship_status *st, int64_t *oldest)
{
	struct ls_entry *v;
	struct logship_seg s;
	size_t n;
	char e[LOGSHIP_ERR_MAX];

	if (ls_list(share, &v, &n, e, sizeof e) != LOGSHIP_OK) {
		log_warn("logship", "ALERT the share cannot be read: %s", e);
		return;
	}
	st->share_readable = true;
	for (size_t i = 0; i < n; i++) {
		if (v[i].mtime_ms >= st->last_backup_ms) {
			st->last_backup_ms = v[i].mtime_ms;
			str_copy(st->last_backup, v[i].name, sizeof st->last_backup);
		}
		if (logship_seg_parse(v[i].name, &s) &&
		    after_restored(v[i].name, st->restore.last) &&
		    (!*oldest || v[i].mtime_ms < *oldest))
			*oldest = v[i].mtime_ms;
	}
	free(v);
}

/* The first gap: in the copy destination, else on the share. */
static void status_gap(const char *share, const char *dest, struct logship_status *st)
{
	struct logship_seq q;
	char e[LOGSHIP_ERR_MAX];

	if (logship_seq_scan(dest, &q, e, sizeof e) == LOGSHIP_OK && q.first_missing[0]) {
		str_copy(st->first_missing, q.first_missing, sizeof st->first_missing);
		str_copy(st->gap_where, "copy", sizeof st->gap_where);
		return;
	}
	if (st->share_readable && logship_seq_scan(share, &q, e, sizeof e) == LOGSHIP_OK &&
	    q.first_missing[0]) {
		str_copy(st->first_missing, q.first_missing, sizeof st->first_missing);
		str_copy(st->gap_where, "share", sizeof st->gap_where);
	}
}

/* Compute latencies and alerts; log each alert once here. */
static void status_alerts(struct logship_status *st, int backup_threshold, int restore_threshold,
                          int64_t now_ms)
{
	st->backup_latency_ms = st->last_backup_ms ? now_ms - st->last_backup_ms : -1;
	st->backup_alert =
	    st->backup_latency_ms < 0 || st->backup_latency_ms > (int64_t)backup_threshold * 1000;
	st->restore_alert = st->restore_latency_ms > (int64_t)restore_threshold * 1000;
	if (st->backup_alert)
		log_warn("logship", "ALERT backup: %s (threshold %d s)",
		         st->last_backup_ms ? "no file backed up within the threshold"
		                            : "nothing backed up yet",
		         backup_threshold);
	if (st->restore_alert)
		log_warn("logship",
		         "ALERT restore: a backed-up file has waited %lld s to be restored "
		         "(threshold %d s)",
		         (long long)(st->restore_latency_ms / 1000), restore_threshold);
	if (st->first_missing[0])
		log_warn("logship", "ALERT gap: %s is missing (%s)", st->first_missing,
		         st->gap_where);
	for (int i = 0; i < st->copy.n_corrupt; i++)
		log_warn("logship", "ALERT corrupt file on the share: %s", st->copy.corrupt[i]);
	st->alert =
	    st->backup_alert || st->restore_alert || st->first_missing[0] || st->copy.n_corrupt > 0;
}

int logship_status_read(const char *share, const char *dest, int backup_threshold,
                        int restore_threshold, int64_t now_ms, struct logship_status *st, char *err,
                        size_t errlen)
{
	struct ls_entry *v;
	struct logship_seg s;
	int64_t oldest = 0;
	size_t n;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = ls_list(dest, &v, &n, err, errlen);
	if (rc != LOGSHIP_OK)
		return rc;
	logship_copy_state_read(dest, &st->copy);
	logship_restore_state_read(dest, &st->restore);
	for (size_t i = 0; i < n; i++)
		if (logship_seg_parse(v[i].name, &s) &&
		    after_restored(v[i].name, st->restore.last) &&
		    (!oldest || v[i].mtime_ms < oldest))
			oldest = v[i].mtime_ms;
	free(v);
	if (share && share[0])
		status_share(share, st, &oldest);
	st->restore_latency_ms = oldest ? now_ms - oldest : 0;
	status_gap(share, dest, st);
	st->paused = logship_paused(dest);
	st->copy_pid = logship_daemon_pid(dest);
	status_alerts(st, backup_threshold, restore_threshold, now_ms);
	return LOGSHIP_OK;
}

/* --- retention --------------------------------------------------------------- */

/* Delete dir/name and dir/name.sha256 (the sum first: the file stops being complete). */
static int remove_pair(const char *dir, const char *name)
{
	char path[4096];

	if (ls_path(path, sizeof path, dir, name, ".sha256") != 0 ||
	    (unlink(path) != 0 && errno != ENOENT))
		return -1;
	if (ls_path(path, sizeof path, dir, name, "") != 0 ||
	    (unlink(path) != 0 && errno != ENOENT))
		return -1;
	return 0;
}

/* Whether a file may go by age and kind (segments and .backup; never .history). */
static bool prunable(const struct ls_entry *e, int64_t cutoff)
{
	struct logship_seg s;
	char seg[LOGSHIP_SEG_LEN + 1];
	size_t n = strlen(e->name);

	if (e->mtime_ms >= cutoff || n < LOGSHIP_SEG_LEN)
		return false;
	str_copy(seg, e->name, sizeof seg);
	return logship_seg_parse(seg, &s) &&
	       (n == LOGSHIP_SEG_LEN || (n > 7 && strcmp(e->name + n - 7, ".backup") == 0));
}

/* Prune one directory; with copied_to, only files that directory has too. */
static int prune_dir(const char *dir, const char *copied_to, const char *last, int64_t cutoff,
                     struct logship_prune_result *res, char *err, size_t errlen)
{
	struct ls_entry *v;
	char sum[4096];
	size_t n;
	int rc = ls_list(dir, &v, &n, err, errlen);

	if (rc != LOGSHIP_OK)
		return rc;
	for (size_t i = 0; i < n && rc == LOGSHIP_OK; i++) {
		if (!prunable(&v[i], cutoff))
			continue;
		if (after_restored(v[i].name, last)) {
			res->n_unrestored++;
			continue;
		}
		if (copied_to && (ls_path(sum, sizeof sum, copied_to, v[i].name, ".sha256") != 0 ||
		                  !ls_exists(sum))) {
			res->n_uncopied++;
			continue;
		}
		if (remove_pair(dir, v[i].name) != 0)
			rc = ls_fail(err, errlen, LOGSHIP_ESYS, "cannot delete %s/%s: %s", dir,
			             v[i].name, strerror(errno));
		else
			res->n_deleted++;
	}
	free(v);
	return rc;
}

int logship_prune(const char *share, const char *dest, int64_t now_ms, int64_t retention_ms,
                  struct logship_prune_result *res, char *err, size_t errlen)
{
	struct logship_restore_state st;
	int rc = LOGSHIP_OK;

	memset(res, 0, sizeof(*res));
	if (logship_restore_state_read(dest, &st) != LOGSHIP_OK)
		return ls_fail(err, errlen, LOGSHIP_ESYS, "cannot read %s/.restore-state", dest);
	if (!st.last[0])
		return LOGSHIP_OK; /* nothing restored yet: nothing may go */
	if (share && share[0])
		rc = prune_dir(share, dest, st.last, now_ms - retention_ms, res, err, errlen);
	if (rc == LOGSHIP_OK)
		rc = prune_dir(dest, NULL, st.last, now_ms - retention_ms, res, err, errlen);
	return rc;
}
