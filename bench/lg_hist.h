/*
 * lg_hist.h — a log-linear latency histogram for the load generator.
 *
 * Values (nanoseconds) are counted in buckets that are linear inside each
 * power of two (LG_HIST_SUB per octave), so the relative error of a
 * percentile is below 1/LG_HIST_SUB and recording is a few instructions
 * with no allocation. It deliberately keeps no raw samples and is not
 * thread-safe (the load generator has one thread).
 */
#ifndef PCHAT_BENCH_LG_HIST_H
#define PCHAT_BENCH_LG_HIST_H

#include <stdint.h>

#define LG_HIST_SUB_BITS 6 /* 64 linear buckets per octave */
#define LG_HIST_SUB      (1 << LG_HIST_SUB_BITS)
#define LG_HIST_OCTAVES  42 /* up to 2^47 ns, about 39 hours */
#define LG_HIST_BUCKETS  (LG_HIST_OCTAVES * LG_HIST_SUB)

struct lg_hist {
	uint64_t n;                       /* samples recorded */
	uint64_t sum;                     /* sum of samples, for the mean */
	uint64_t max;                     /* largest sample, exact */
	uint64_t min;                     /* smallest sample, exact (0 when n == 0) */
	uint64_t bucket[LG_HIST_BUCKETS]; /* counts per bucket */
};

/* Empty h (all counts zero). */
void lg_hist_reset(struct lg_hist *h);

/* Count one sample v (ns); values beyond the range land in the last bucket. */
void lg_hist_add(struct lg_hist *h, uint64_t v);

/*
 * The value at quantile q (0..1) in ns: the upper edge of the bucket that
 * holds it, clamped to the exact maximum. Returns 0 for an empty histogram.
 */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q);

/* Index of the bucket holding v (exposed for the tests). */
unsigned lg_hist_index(uint64_t v);

/* Largest value that falls in bucket idx. */
uint64_t lg_hist_upper(unsigned idx);

#endif
