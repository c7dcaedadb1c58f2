/*
 * lg_proc.h — what the load generator reads about the server process from
 * /proc (Linux): resident memory and CPU time. It deliberately does not
 * sample continuously; callers read before and after a run.
 */
#ifndef PCHAT_BENCH_LG_PROC_H
#define PCHAT_BENCH_LG_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* VmRSS of pid in KiB into *kib. 0, or -1 when unreadable. */
int lg_proc_rss_kib(pid_t pid, int64_t *kib);

/* utime + stime of pid in seconds into *sec. 0, or -1 when unreadable. */
int lg_proc_cpu_s(pid_t pid, double *sec);

/*
 * Parse the text of /proc/PID/status for VmRSS (KiB). 0, or -1 when absent
 * (exposed for the tests).
 */
int lg_proc_parse_status(const char *text, int64_t *kib);

/*
 * Parse the text of /proc/PID/stat into utime + stime in clock ticks. The
 * command name may hold spaces and parentheses. 0, or -1 when malformed.
 */
int lg_proc_parse_stat(const char *text, uint64_t *ticks);

#endif
