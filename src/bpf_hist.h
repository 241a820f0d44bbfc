/* Summaries of the per-CPU histograms the BPF trackers fill (struct
 * lt_hist_raw, include/latrack/hist_layout.h).  The accumulator stays a
 * struct lt_hist_raw (the CPU copies summed, as the kernel lays them out);
 * percentiles come from liblatrack's lt_hist. */
#ifndef LATRACK_SRC_BPF_HIST_H
#define LATRACK_SRC_BPF_HIST_H

#include <stdint.h>

#include "latrack/hist_layout.h"

/* dst += src (a per-CPU copy). */
void bh_merge_raw(struct lt_hist_raw *dst, const struct lt_hist_raw *src);
uint64_t bh_min(const struct lt_hist_raw *h);
uint64_t bh_max(const struct lt_hist_raw *h);
double bh_mean(const struct lt_hist_raw *h);
/* Value at percentile p (0..100): midpoint of the bucket holding that rank,
 * clamped to [min, max]; 0 when empty. */
uint64_t bh_percentile(const struct lt_hist_raw *h, double p);

#endif
