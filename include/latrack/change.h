/* liblatrack: change detection on latency distributions.
 *
 * Compares a recent window (default: the last minute) of a class with a
 * baseline (default: the hour before it) and says which quantiles moved,
 * from what to what, with what confidence, as a *change record* that
 * lt_change__format turns into a sentence a person can act on:
 *
 *   p99 of read in mysqld rose from 120 µs to 2.3 ms in the last minute
 *   (n=4,210, p<0.001)
 *
 * Method: distribution-free exceedance tests on quantiles, computed exactly
 * on the bucketed data, with a minimum effect size.
 *   For each tested quantile q (default p50, p90, p99, p99.9) and each
 *   direction:
 *   1. Baseline bound.  An order-statistic (binomial) confidence bound on
 *      the baseline's q-quantile: the baseline value of rank u, where u is
 *      the smallest rank with P(Binomial(n_b, q) >= u) <= a, is above the
 *      true quantile with probability >= 1 - a.  Taken at its bucket's
 *      high edge, which only makes it more conservative.
 *   2. Shifted null.  The threshold is that bound times null_ratio (1.1),
 *      rounded outwards to a bucket edge, so counts against it are exact.
 *      The null hypothesis is "the recent q-quantile is at most 1.1 x the
 *      baseline's", not "equal": a shift of 1.1x or less is, by
 *      construction, reported no more often than a.
 *   3. Exact binomial test.  Under the null, each recent value exceeds the
 *      threshold with probability <= 1 - q, so the number K of recent
 *      values above it is stochastically below Binomial(n_r, 1 - q); the
 *      p-value is P(Binomial(n_r, 1 - q) >= K) (regularised incomplete
 *      beta).  "Fell" mirrors this with the lower bound divided by 1.1.
 *   4. Level.  a = alpha / (4 x number of quantiles): Bonferroni over the
 *      quantiles, both directions, and the baseline bounds (each may fail
 *      with probability a).  So the probability that one check raises a
 *      false change is at most alpha (default 0.01) whatever the
 *      distribution, sample counts included: few samples simply give large
 *      p-values.  The reported p-value is the raw one times 4 x quantiles.
 *   5. Effect size.  A quantile is reported as moved only if, besides,
 *      the point estimates (bucket midpoints) differ by at least min_ratio
 *      (1.25) in that direction.
 *   A quantile that cannot be tested (too few samples for a bound: e.g.
 *   p99.9 needs thousands of baseline values; a bound in the overflow
 *   bucket) is marked untestable and never moves.
 *
 * Measured (tests/unit/test_change.c, fixed seeds; recent minute 500
 * values, baseline hour 30,000; log-normal, bimodal and Pareto latencies;
 * `LT_TRIALS=10000 build/tests/test_change`, table in docs/HISTOGRAMS.md):
 *   - stationary input: 0 changes raised in 10,000 checks per distribution
 *     (the bound is alpha = 1 %; the shifted null makes the test
 *     conservative in practice);
 *   - every latency 1.1x: reported in 0 of 10,000 trials;
 *   - every latency 2x (p50 and p99 doubled): detected in 100 %, p50
 *     flagged in 100 %, p99 itself in 100 % / 92 % / 31 % (log-normal /
 *     bimodal / Pareto: with 500 values only ~5 lie past p99);
 *   - tail only, p99 doubled, median unchanged: detected in 99.4 %
 *     (log-normal), 97.2 % (bimodal, slow 5 % mode doubled), 13.7 %
 *     (Pareto tail exponent 2 -> 1.47, ~8 more values past p99: below
 *     what 500 values can show); with 5,000 recent values all three 100 %.
 *
 * Cost: a check is two window queries (merge-on-read) plus a few hundred
 * incomplete-beta evaluations: 0.25 ms for a busy class with a full hour
 * (bench/window).
 *
 * Concurrency: the functions keep no state; lt_change__check needs the
 * caller's exclusion on the window like any window query.  Errors: negative
 * errno.  The library never prints. */
#ifndef LATRACK_CHANGE_H
#define LATRACK_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include <latrack/hist.h>
#include <latrack/window.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <latrack/api.h>

#define LT_CHANGE_MAX_Q    4
#define LT_CHANGE_NAME_MAX 96

struct lt_change_opts {
	size_t sz;             /* sizeof(struct lt_change_opts) */
	uint64_t recent_ns;    /* recent window (default 60 s) */
	uint64_t baseline_ns;  /* baseline just before it (default 3600 s) */
	double alpha;          /* false-change probability per check
				  (default 0.01) */
	double min_ratio;      /* minimum effect, point estimates (1.25) */
	double null_ratio;     /* shifts up to this are the null (1.1) */
	uint64_t min_recent;   /* fewer recent values: no decision (50) */
	uint64_t min_baseline; /* fewer baseline values: no decision (200) */
	uint32_t nr_quantiles; /* 0: the default set p50 p90 p99 p99.9 */
	double quantiles[LT_CHANGE_MAX_Q]; /* percent, in (0, 100) */
};

enum lt_change_dir {
	LT_CHANGE_FELL = -1,
	LT_CHANGE_NONE = 0,
	LT_CHANGE_ROSE = 1,
};

struct lt_change_q {
	double pct;         /* the quantile, in percent (99 for p99) */
	uint64_t from_ns;   /* baseline estimate (bucket midpoint) */
	uint64_t to_ns;     /* recent estimate */
	double p_value;     /* adjusted, of the direction the data lean to;
			       1 when untestable */
	int dir;            /* enum lt_change_dir: moved, and which way */
	int testable;       /* 0 when there were too few values for a bound */
};

/* A change record.  Plain data: copy it, keep it, print it later. */
struct lt_change {
	char class_name[LT_CHANGE_NAME_MAX]; /* as given, truncated */
	uint64_t recent_ns, baseline_ns;     /* the spans compared */
	uint64_t n_recent, n_baseline;       /* values in each */
	uint32_t nr_quantiles;
	struct lt_change_q q[LT_CHANGE_MAX_Q];
	uint32_t moved;   /* bit i set: q[i] moved */
	double p_value;   /* smallest adjusted p-value among moved (1: none) */
	int decided;      /* 0 when below min_recent / min_baseline */
};

/* Compare two histograms (recent, baseline; e.g. lt_window__query
 * results).  opts may be NULL (defaults; its spans only label the record).
 * class_name may be NULL.  Fills *out; returns 1 when some quantile moved,
 * 0 when none did (or too few values), -EINVAL on bad arguments (NULL, a
 * quantile outside (0, 100)), -ENOMEM (it allocates 19.5 KiB of scratch
 * for the duration of the call). */
LT_API int lt_change__detect(const struct lt_hist *recent, const struct lt_hist *baseline,
			     const struct lt_change_opts *opts, const char *class_name,
			     struct lt_change *out);

/* Query the window (recent span ending with the slot of now_ns, baseline
 * span just before it; both multiples of the window's slot, together
 * within its ring) and run lt_change__detect.  Allocates two temporary
 * histograms: -ENOMEM, and -EINVAL for spans the window cannot answer. */
LT_API int lt_change__check(const struct lt_window *w, uint64_t now_ns,
			    const struct lt_change_opts *opts, const char *class_name,
			    struct lt_change *out);

/* Write the record as one sentence (UTF-8, no newline), e.g. "p99 of read
 * in mysqld rose from 120 µs to 2.3 ms in the last minute (n=4,210,
 * p<0.001)", or "no significant change ..." when nothing moved.  Returns
 * the length it needs (excluding the NUL) like snprintf; buf is always
 * NUL-terminated when len > 0.  -EINVAL for NULL c. */
LT_API int lt_change__format(const struct lt_change *c, char *buf, size_t len);

/* A duration in human units with 2-3 significant digits: "850 ns",
 * "1.2 µs", "120 µs", "2.3 ms", "4.5 s", "1,234 s".  Returns like
 * snprintf. */
LT_API int lt_change__format_ns(uint64_t ns, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
