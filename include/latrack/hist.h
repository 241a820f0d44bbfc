/* liblatrack: latency histograms.
 *
 * A struct lt_hist counts latencies (in nanoseconds) in the log-linear
 * buckets of <latrack/hist_layout.h>: values 0..31 ns exactly, then every
 * power of two [2^e, 2^(e+1)) split into 32 equal sub-buckets up to 2^42 ns
 * (~73.3 minutes); larger values go to an overflow bucket that is counted,
 * never dropped.  The BPF programs fill the same buckets (struct
 * lt_hist_raw), so lt_hist__import_raw is a plain addition.
 *
 * Accuracy.  A percentile is reported as the midpoint of the bucket that
 * holds it, clamped to [min, max]: within 1/64 (1.56 %) of the exact value
 * of the recorded data below 2^42 ns, and exact below 64 ns.  A percentile
 * that falls in the overflow bucket is reported as the maximum.
 *
 * Memory.  One histogram is 1217 counters of 8 bytes plus 24 bytes of
 * sum/min/max: 9,760 bytes (lt_hist__bytes()), allocated by lt_hist__new in
 * one block.  Record never allocates.
 *
 * Cost.  lt_hist__record is O(1): bucket index (clz, shift, add), one
 * increment, sum, min and max; no total count is kept on the record path,
 * so lt_hist__count (and everything that needs it) adds up the 1217
 * counters (a fraction of a microsecond).  Measured figures:
 * docs/HISTOGRAMS.md, bench/hist.c.
 *
 * Concurrency contract.
 *   - lt_hist__record_atomic may run concurrently with itself on the same
 *     histogram from any number of threads: each bucket count and the sum
 *     are exact once the recorders are done (relaxed atomic adds; min/max by
 *     compare-and-swap).  While such recorders run, read the histogram
 *     only through lt_hist__merge(private_copy, shared) or lt_hist__count
 *     (relaxed atomic loads: each counter untorn, the set of counters
 *     possibly mid-update), then query the private copy.
 *   - Every other function that changes a histogram (record, record_n,
 *     reset, merge into it, subtract from it, import_raw, deserialize) needs
 *     the caller's exclusion on that histogram; functions that only read it
 *     may run concurrently with each other.
 *
 * Errors: int functions return a negative errno; lt_hist__new returns NULL
 * and sets errno.  The library never prints. */
#ifndef LATRACK_HIST_H
#define LATRACK_HIST_H

#include <stddef.h>
#include <stdint.h>

#include <latrack/hist_layout.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <latrack/api.h>

struct lt_hist;

/* A new, empty histogram; NULL with errno ENOMEM. */
LT_API struct lt_hist *lt_hist__new(void);
/* Accepts NULL. */
LT_API void lt_hist__destroy(struct lt_hist *h);
/* Back to empty. */
LT_API void lt_hist__reset(struct lt_hist *h);
/* Bytes one histogram occupies (for memory accounting). */
LT_API size_t lt_hist__bytes(void);

/* Record one value (ns).  Never fails: values >= 2^42 go to the overflow
 * bucket.  Not safe against concurrent writers (see record_atomic). */
LT_API void lt_hist__record(struct lt_hist *h, uint64_t v_ns);
/* Record the value n times (n = 0 is a no-op). */
LT_API void lt_hist__record_n(struct lt_hist *h, uint64_t v_ns, uint64_t n);
/* Record with atomic operations: safe with concurrent recorders. */
LT_API void lt_hist__record_atomic(struct lt_hist *h, uint64_t v_ns);

/* Number of values recorded (overflow included). */
LT_API uint64_t lt_hist__count(const struct lt_hist *h);
/* Values in the overflow bucket (>= 2^42 ns). */
LT_API uint64_t lt_hist__overflow(const struct lt_hist *h);
/* Sum of the values in ns, modulo 2^64 (exact for any realistic load:
 * 584 years of latency). */
LT_API uint64_t lt_hist__sum(const struct lt_hist *h);
/* Smallest and largest value recorded, exact; 0 when empty.  After
 * lt_hist__subtract they are bounds: see there. */
LT_API uint64_t lt_hist__min(const struct lt_hist *h);
LT_API uint64_t lt_hist__max(const struct lt_hist *h);
/* Exact mean (sum / count); 0 when empty. */
LT_API double lt_hist__mean(const struct lt_hist *h);
/* Population standard deviation around the exact mean, with each value
 * taken at its bucket midpoint (no sum of squares is kept, so merge,
 * subtract and import_raw stay exact additions): within 1.6 % of the true
 * value.  0 when fewer than two values. */
LT_API double lt_hist__stddev(const struct lt_hist *h);

/* The p-th percentile, p in [0, 100], by nearest rank (the value of rank
 * ceil(p/100 * count), at least rank 1), reported as the midpoint of its
 * bucket clamped to [min, max]; p = 0 gives min, p = 100 gives max.
 * 0 when empty or p is out of range or NaN. */
LT_API uint64_t lt_hist__percentile(const struct lt_hist *h, double p);

/* dst += src.  Returns 0, or -EINVAL for NULL arguments. */
LT_API int lt_hist__merge(struct lt_hist *dst, const struct lt_hist *src);

/* dst -= src, for windows that keep running sums: src must have been
 * merged into dst before.  Returns -ERANGE, leaving dst unchanged, when a
 * bucket of src holds more than the same bucket of dst.  The sum is exact;
 * min and max cannot be undone exactly and become the tightest bounds the
 * buckets allow: min = max(old min, low edge of the first non-empty bucket),
 * max = min(old max, high edge - 1 of the last non-empty bucket). */
LT_API int lt_hist__subtract(struct lt_hist *dst, const struct lt_hist *src);

/* Call fn(low, high, count, ctx) for each non-empty bucket in increasing
 * order, values in [low, high); the overflow bucket reports
 * [2^42, UINT64_MAX].  Stops and returns fn's value when it is non-zero;
 * else returns 0. */
typedef int (*lt_hist_bucket_fn)(uint64_t low, uint64_t high, uint64_t count, void *ctx);
LT_API int lt_hist__foreach_bucket(const struct lt_hist *h, lt_hist_bucket_fn fn, void *ctx);

/* Number of values strictly below boundary_ns, exact, for exporters with
 * coarser boundaries.  boundary_ns must be a bucket edge: any value
 * 0..32, every power of two up to 2^42 and every (32 + j) * 2^(e - 5); so a
 * Prometheus-style bucket `le` = 2^k ns - 1 is exact.  Returns the count
 * (>= 0) or -EINVAL when boundary_ns is not an edge. */
LT_API int64_t lt_hist__count_le(const struct lt_hist *h, uint64_t boundary_ns);
/* True when v is a bucket edge (see count_le). */
LT_API int lt_hist__is_edge(uint64_t v_ns);

/* Add one BPF per-CPU copy (struct lt_hist_raw, min stored inverted) to h.
 * The bucket counts are authoritative: raw->count is not trusted, since a
 * per-CPU copy read while its CPU records may be a little inconsistent.
 * Returns 0 or -EINVAL. */
LT_API int lt_hist__import_raw(struct lt_hist *h, const struct lt_hist_raw *raw);

/* Serialisation: a compact, versioned, sparse encoding.
 *   magic "LTH" + version byte (1), sub-bucket bits (5), max exponent
 *   (42), then LEB128 varints: number of non-empty buckets, sum, min, max,
 *   then per non-empty bucket (gap from the previous index + 1, count),
 *   then a CRC-32 (IEEE) of everything before it, little-endian.
 * A histogram with k non-empty buckets takes about 10 + 2k..11k bytes; at
 * most LT_HIST_SERIAL_MAX.
 *
 * lt_hist__serialize writes into buf and returns the bytes written, or
 * -ENOSPC when len is too small (nothing useful is written); with buf NULL
 * and len 0 it returns the size it needs.  -EINVAL for NULL h. */
#define LT_HIST_SERIAL_MAX (8 + 4 * 10 + LT_HIST_NR_SLOTS * (2 + 10) + 4)
LT_API int lt_hist__serialize(const struct lt_hist *h, void *buf, size_t len);

/* Replace h's contents with the histogram encoded at buf.  Returns the bytes
 * consumed (so encodings can be concatenated), or, leaving h unchanged:
 * -EPROTO when the magic, the version or the layout differs, -EBADMSG when
 * the data is truncated or corrupt (bad CRC, out-of-range index, zero
 * count, overlong varint, min/max outside their buckets), -EINVAL for NULL
 * arguments.  Safe on any input. */
LT_API int lt_hist__deserialize(struct lt_hist *h, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
