/* Summaries of the BPF trackers' raw histograms; see bpf_hist.h. */
#include <latrack/hist.h>

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
	/* The percentile rule lives in liblatrack (lt_hist__percentile): one
	 * scratch histogram per thread, refilled from the raw sum. */
	static __thread struct lt_hist *scratch;

	if (!h->count)
		return 0;
	if (!scratch && !(scratch = lt_hist__new()))
		return 0;
	lt_hist__reset(scratch);
	if (lt_hist__import_raw(scratch, h) < 0)
		return 0;
	return lt_hist__percentile(scratch, p);
}
