/* Temporary histogram adapter for the BPF trackers; see bpf_hist.h. */
#include <math.h>

#include "bpf_hist.h"

void bh_merge_raw(struct lt_hist_raw *dst, const struct lt_hist_raw *src)
{
	if (!src->count)
		return;
	if (!dst->count || ~src->min_inv < ~dst->min_inv)
		dst->min_inv = src->min_inv;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++)
		dst->counts[i] += src->counts[i];
}

uint64_t bh_min(const struct lt_hist_raw *h)
{
	return h->count ? ~h->min_inv : 0;
}

uint64_t bh_max(const struct lt_hist_raw *h)
{
	return h->max;
}

double bh_mean(const struct lt_hist_raw *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

uint64_t bh_percentile(const struct lt_hist_raw *h, double p)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (p <= 0)
		return bh_min(h);
	if (p >= 100)
		return h->max;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++) {
		seen += h->counts[i];
		if (seen < rank)
			continue;
		if (i == LT_HIST_OVERFLOW)
			return h->max;
		v = lt_hist_bucket_low(i) + lt_hist_bucket_width(i) / 2;
		if (v < bh_min(h))
			v = bh_min(h);
		if (v > h->max)
			v = h->max;
		return v;
	}
	return h->max;
}
