/* Pairing and statistics for the trace analyses: the seam to liblatrack.
 *
 * The analyses call only these few functions.  Pairing runs on lt_tracker
 * in explicit-time mode (trace timestamps): a begin on a key in flight
 * replaces it (newest wins), an end with no begin is -ENOENT, every end
 * calls back (delay 0 included), and a begin that finds no free
 * preallocated event is dropped and counted (-ENOSPC).
 *
 * Statistics: struct trace_stat keeps the exact count, min, max, mean and
 * sample standard deviation (Welford), as the LTTng analyses reported them,
 * and an lt_hist (liblatrack's shared histogram) for percentiles and the
 * --freq distributions.
 */
#ifndef LATRACK_SRC_TRACE_PAIR_H
#define LATRACK_SRC_TRACE_PAIR_H

#include <stddef.h>
#include <stdint.h>

struct trace_pair;

/* Called at every end that found its begin. */
typedef void (*trace_pair_fn)(const void *key, size_t key_len, uint64_t begin_ns,
			      uint64_t end_ns, void *priv, void *ctx);

/* key_size: the largest key (<= 64 bytes); max_in_flight: begins waiting
 * for their end that fit (preallocated).  NULL with errno on failure. */
struct trace_pair *trace_pair__new(size_t key_size, uint32_t max_in_flight, trace_pair_fn cb,
				   void *ctx);
void trace_pair__destroy(struct trace_pair *p); /* accepts NULL */

/* 0, or 1 when it replaced a begin in flight; -EINVAL, -ENOSPC (dropped). */
int trace_pair__begin(struct trace_pair *p, const void *key, size_t key_len, uint64_t ts_ns,
		      void *priv);
/* 0 (callback made), -ENOENT (no begin in flight). */
int trace_pair__end(struct trace_pair *p, const void *key, size_t key_len, uint64_t ts_ns);

/* Begins still in flight (never ended). */
typedef int (*trace_pair_open_fn)(const void *key, size_t key_len, uint64_t begin_ns,
				  void *priv, void *ctx);
int trace_pair__foreach_open(struct trace_pair *p, trace_pair_open_fn fn, void *ctx);

struct trace_pair_stats {
	uint64_t tracked, completed, replaced, unmatched, in_flight, dropped;
};
void trace_pair__stats(const struct trace_pair *p, struct trace_pair_stats *out);

/* Latency statistics of one class. */
struct lt_hist;
struct trace_stat {
	uint64_t count, min, max;
	double mean, m2;      /* Welford: exact enough for ns delays */
	struct lt_hist *h;    /* the distribution, from the first record */
};

/* The histograms live until trace_stat__release_all(); copies of a
 * trace_stat share its histogram. */
void trace_stat__release_all(void);

void trace_stat__record(struct trace_stat *s, uint64_t v);
double trace_stat__stddev(const struct trace_stat *s); /* sample; 0 if n < 2 */
void trace_stat__merge(struct trace_stat *into, const struct trace_stat *from);
/* p in [0, 100], from the histogram (within 1.6 %); 0 when empty. */
uint64_t trace_stat__percentile(const struct trace_stat *s, double p);
/* The distribution in `bins` equal bins from min to max: counts[i] of
 * [lo + i * w, lo + (i + 1) * w), each histogram bucket counted at its
 * midpoint (within 1.6 %).  0, or -ENOENT without a histogram. */
int trace_stat__freq(const struct trace_stat *s, unsigned bins, uint64_t *counts,
		     uint64_t *lo, double *width);

#endif
