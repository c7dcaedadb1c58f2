/*
 * logship.h — log shipping to the second data center (SPEC §6, issue 6):
 * PostgreSQL's WAL archive is Lync's log shipping. The primary's
 * archive_command puts every finished WAL file on the backup share with a
 * SHA-256 file beside it; the copy job brings complete files from the share
 * to the copy destination (verifying them); the backup database is a
 * standby whose restore_command takes files from the copy destination
 * (verifying them again). Everything here is file work, WAL file naming
 * and the small state files the jobs leave for the monitor.
 *
 * Files on the share and in the copy destination:
 *   NAME          a WAL segment, a .history or a .backup file (mode 0640)
 *   NAME.sha256   "HEX  NAME\n", written last: its presence marks NAME complete
 *   .copy-state   the copy job's last run (copy destination)
 *   .restore-state  the restore job's last file, the file it waits for
 *   .paused       restore paused by remove-secondary (copy destination)
 *   .copy.pid     the copy daemon's pid (copy destination)
 *
 * Deliberately not here: reading the topology, talking to PostgreSQL,
 * printing (pchatctl's src/ctl/logship.c does those). Corrupt files and
 * alerts are logged here, once, where they are found.
 */
#ifndef PCHAT_POOL_LOGSHIP_H
#define PCHAT_POOL_LOGSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGSHIP_NAME_MAX    64          /* a file name on the share, with NUL */
#define LOGSHIP_SEG_LEN     24          /* characters of a segment name */
#define LOGSHIP_HEX_LEN     65          /* a SHA-256 in hex, with NUL */
#define LOGSHIP_SEG_DEFAULT (16u << 20) /* segment size when no file says */
#define LOGSHIP_MAX_CORRUPT 16          /* corrupt files remembered */
#define LOGSHIP_ERR_MAX     1024        /* size of the err buffers callers pass */

/* Errors of every logship_* function returning int. */
enum logship_error {
	LOGSHIP_OK = 0,
	LOGSHIP_ESYS = -1,       /* a file or directory operation failed */
	LOGSHIP_EDIFFERENT = -2, /* archive: the name is taken by other content */
	LOGSHIP_ECORRUPT = -3,   /* a file does not match its .sha256 */
	LOGSHIP_ENOENT = -4,     /* the file is not (yet) there */
	LOGSHIP_EPAUSED = -5,    /* restore paused (remove-secondary) */
	LOGSHIP_EINVAL = -6,     /* not a WAL file name */
	LOGSHIP_ERUNNING = -7,   /* another copy daemon holds the pid file */
};

/* A WAL segment name: TLI, LOG, SEG as 8 hex digits each. */
struct logship_seg {
	uint32_t tli; /* timeline */
	uint32_t log; /* high 32 bits of the position */
	uint32_t seg; /* segment within the LOG, < 0x100000000 / segment size */
};

/* --- names ------------------------------------------------------------------ */

/* Whether name may be a WAL archive file (letters, digits, '.', '-', '_'; no
 * leading '.', no .sha256 suffix, shorter than LOGSHIP_NAME_MAX). */
bool logship_name_ok(const char *name);

/* Parse a segment name (24 upper-case hex digits). true and *s, or false. */
bool logship_seg_parse(const char *name, struct logship_seg *s);

/* Write the name of s into out (LOGSHIP_SEG_LEN + 1 bytes at least). */
void logship_seg_format(const struct logship_seg *s, char *out, size_t outlen);

/* The segment after s with segments of seg_size bytes (crossing into the next LOG). */
void logship_seg_next(struct logship_seg *s, uint64_t seg_size);

/* --- the three jobs ------------------------------------------------------ */

/*
 * The backup job (archive_command): copy src to SHARE/name (temp file,
 * SHA-256 while copying, fsync, rename), then SHARE/name.sha256 the same
 * way, then fsync the directory. When SHARE/name exists with the same
 * content: LOGSHIP_OK and *already true (its .sha256 rewritten if missing).
 * LOGSHIP_EDIFFERENT when it holds other content (err names both sums),
 * LOGSHIP_EINVAL for a bad name, LOGSHIP_ESYS; err says why.
 */
int logship_archive(const char *src, const char *share, const char *name, bool *already, char *err,
                    size_t errlen);

/*
 * Copy one complete file from share to dest, verifying the SHA-256 while
 * copying against SHARE/name.sha256; the copy keeps the file's time (its
 * archive time). LOGSHIP_OK; LOGSHIP_ECORRUPT (nothing left in dest, a
 * warning logged); LOGSHIP_ENOENT (not complete on the share); LOGSHIP_ESYS.
 */
int logship_copy_file(const char *share, const char *dest, const char *name, char *err,
                      size_t errlen);

/* What logship_copy_all did. */
struct logship_copy_result {
	int n_copied;                /* files copied now */
	int n_present;               /* complete files already in dest */
	int n_corrupt;               /* files refused: checksum mismatch */
	int n_failed;                /* other failures (err has the first) */
	char last[LOGSHIP_NAME_MAX]; /* last file copied now, "" = none */
	char corrupt[LOGSHIP_MAX_CORRUPT][LOGSHIP_NAME_MAX]; /* the first corrupt files */
};

/*
 * Copy every complete file of share that dest lacks, in name order, and
 * record the run in DEST/.copy-state (last file copied and when, the
 * corrupt files of this run). LOGSHIP_OK when every file was copied;
 * LOGSHIP_ECORRUPT when one was refused; LOGSHIP_ESYS (err says why).
 */
int logship_copy_all(const char *share, const char *dest, struct logship_copy_result *res,
                     char *err, size_t errlen);

/*
 * The restore job (restore_command): verify DEST/name against its .sha256
 * while copying it to target. Records the last segment restored (and its
 * archive time), or the segment asked for and missing, in
 * DEST/.restore-state. LOGSHIP_OK; LOGSHIP_ENOENT (missing, quietly);
 * LOGSHIP_EPAUSED (DEST/.paused exists: nothing copied); LOGSHIP_ECORRUPT
 * (target removed, logged); LOGSHIP_EINVAL; LOGSHIP_ESYS. With fetch (the
 * old WAL pg_rewind reads at a failback) neither the pause nor the state
 * file applies: the checksum is verified all the same.
 */
int logship_restore_file(const char *dest, const char *name, const char *target, bool fetch,
                         char *err, size_t errlen);

/* --- state ------------------------------------------------------------------ */

/* DEST/.restore-state. */
struct logship_restore_state {
	char last[LOGSHIP_NAME_MAX];    /* last segment restored, "" = none yet */
	int64_t last_ms;                /* when it was restored */
	int64_t last_file_ms;           /* its archive time (the recovery point) */
	char waiting[LOGSHIP_NAME_MAX]; /* last segment asked for and missing */
	int64_t waiting_ms;             /* when it was asked for */
	char corrupt[LOGSHIP_NAME_MAX]; /* last file refused for its checksum */
	int64_t corrupt_ms;             /* when */
};

/* DEST/.copy-state. */
struct logship_copy_state {
	char last[LOGSHIP_NAME_MAX];                         /* last file copied, "" = none yet */
	int64_t last_ms;                                     /* when it was copied */
	int64_t run_ms;                                      /* when the copy job last ran */
	int n_corrupt;                                       /* files refused in that run */
	char corrupt[LOGSHIP_MAX_CORRUPT][LOGSHIP_NAME_MAX]; /* their names */
};

/* Read the state files (missing file = zeroed state). LOGSHIP_OK or LOGSHIP_ESYS. */
int logship_restore_state_read(const char *dest, struct logship_restore_state *st);
int logship_copy_state_read(const char *dest, struct logship_copy_state *st);

/* Whether restore is paused; pause (on) or resume it, idempotent. LOGSHIP_OK or ESYS. */
bool logship_paused(const char *dest);
int logship_set_paused(const char *dest, bool on, char *err, size_t errlen);

/* --- the sequence and the monitor ------------------------------------------ */

/* The complete segments of a directory as a sequence. */
struct logship_seq {
	uint64_t seg_size;                      /* bytes of a segment (size of a file) */
	int n_segments;                         /* complete segments */
	char first[LOGSHIP_NAME_MAX];           /* lowest, "" = none */
	char last[LOGSHIP_NAME_MAX];            /* highest */
	char first_missing[LOGSHIP_NAME_MAX];   /* first gap, "" = contiguous */
	char last_contiguous[LOGSHIP_NAME_MAX]; /* last segment before the gap (or last) */
	char next[LOGSHIP_NAME_MAX];            /* the segment after last_contiguous */
	int n_after_gap;                        /* segments present beyond the gap */
};

/*
 * The sequence of sorted segment names (n of them, anything else ignored)
 * with segments of seg_size bytes: a gap is a missing name between the
 * first and last segment of a timeline; timelines are checked in order and
 * the first gap found counts.
 */
void logship_seq_compute(const char *const *names, size_t n, uint64_t seg_size,
                         struct logship_seq *out);

/* The sequence of the complete segments in dir (size from a file). LOGSHIP_OK or ESYS. */
int logship_seq_scan(const char *dir, struct logship_seq *out, char *err, size_t errlen);

/* The monitor's view (pchatctl logship status). */
struct logship_status {
	char last_backup[LOGSHIP_NAME_MAX];   /* newest complete file on the share */
	int64_t last_backup_ms;               /* its archive time, 0 = none */
	bool share_readable;                  /* the share could be listed */
	struct logship_copy_state copy;       /* the copy job's state */
	struct logship_restore_state restore; /* the restore job's state */
	int64_t backup_latency_ms;            /* now - last_backup_ms, -1 = nothing backed up */
	int64_t restore_latency_ms; /* age of the oldest backed-up segment not restored, 0 = none */
	bool backup_alert;          /* backup latency over backup_threshold (or none) */
	bool restore_alert;         /* restore latency over restore_threshold */
	char first_missing[LOGSHIP_NAME_MAX]; /* first gap in dest, else on the share */
	char gap_where[16];                   /* "copy" or "share" */
	bool paused;                          /* .paused exists */
	int copy_pid;                         /* live copy daemon, 0 = none */
	bool alert;                           /* any alert: latency, gap, corrupt */
};

/*
 * Read everything the monitor shows at time now_ms; thresholds in seconds.
 * Each alert is logged (log_warn). LOGSHIP_OK or LOGSHIP_ESYS (dest unreadable).
 */
int logship_status_read(const char *share, const char *dest, int backup_threshold,
                        int restore_threshold, int64_t now_ms, struct logship_status *st, char *err,
                        size_t errlen);

/* What logship_prune did. */
struct logship_prune_result {
	int n_deleted;    /* files deleted (with their .sha256) */
	int n_unrestored; /* old enough but not restored yet: kept */
	int n_uncopied;   /* old enough but not copied yet (share): kept */
};

/*
 * Retention: delete segments and .backup files (with their .sha256) whose
 * archive time is before now_ms - retention_ms from share ("" = skip) and
 * dest, never one after the last restored segment, never one on the share
 * that dest lacks. .history files are kept. LOGSHIP_OK or LOGSHIP_ESYS.
 */
int logship_prune(const char *share, const char *dest, int64_t now_ms, int64_t retention_ms,
                  struct logship_prune_result *res, char *err, size_t errlen);

/* --- the copy daemon's pid file ------------------------------------------- */

/* The live pid in DEST/.copy.pid, 0 = none (a stale file is ignored). */
int logship_daemon_pid(const char *dest);

/*
 * Write DEST/.copy.pid with this process's pid. LOGSHIP_ERUNNING when a live
 * daemon holds it; LOGSHIP_ESYS.
 */
int logship_daemon_claim(const char *dest, char *err, size_t errlen);

/* Remove DEST/.copy.pid if it holds this process's pid. */
void logship_daemon_release(const char *dest);

#endif
