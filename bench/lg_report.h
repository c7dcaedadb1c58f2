/*
 * lg_report.h — turn a finished run's counters into the load generator's
 * report: readable text, or one JSON object (--json) on stdout. It also
 * sets the run's exit code. It deliberately measures nothing itself.
 */
#ifndef PCHAT_BENCH_LG_REPORT_H
#define PCHAT_BENCH_LG_REPORT_H

struct lg;

/* Print lg's report on stdout (warnings on stderr); sets lg->exit_code. */
void lg_report(struct lg *lg);

#endif
