/*
 * lg_hist.c — log-linear histogram (see lg_hist.h).
 *
 * Bucket layout: values below LG_HIST_SUB have one bucket each (octave 0);
 * above, octave k (k >= 1) covers [2^(k+SUB_BITS-1), 2^(k+SUB_BITS)) in
 * LG_HIST_SUB equal steps. It does not interpolate inside a bucket.
 */
#include "lg_hist.h"

#include <string.h>

void lg_hist_reset(struct lg_hist *h)
{
	memset(h, 0, sizeof(*h));
}

unsigned lg_hist_index(uint64_t v)
{
	unsigned msb, octave, sub;

	if (v < LG_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	octave = msb - LG_HIST_SUB_BITS + 1;
	if (octave >= LG_HIST_OCTAVES)
		return LG_HIST_BUCKETS - 1;
	sub = (unsigned)(v >> (msb - LG_HIST_SUB_BITS)) - LG_HIST_SUB;
	return octave * LG_HIST_SUB + sub;
}

uint64_t lg_hist_upper(unsigned idx)
{
	unsigned octave = idx / LG_HIST_SUB, sub = idx % LG_HIST_SUB;
	unsigned shift;

	if (octave == 0)
		return idx;
	shift = octave - 1;
	return (((uint64_t)(LG_HIST_SUB + sub + 1)) << shift) - 1;
}

void lg_hist_add(struct lg_hist *h, uint64_t v)
{
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += v;
	h->bucket[lg_hist_index(v)]++;
}

uint64_t lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t rank, seen = 0, up;
	unsigned i;

	if (h->n == 0)
		return 0;
	if (q <= 0)
		return h->min;
	rank = (uint64_t)(q * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->n)
		rank = h->n;
	for (i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			break;
	}
	up = i < LG_HIST_BUCKETS ? lg_hist_upper(i) : h->max;
	return up > h->max ? h->max : up;
}
