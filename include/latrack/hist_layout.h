/* latrack histogram layout: the bucket index of a latency value.
 *
 * This header is a contract shared by liblatrack (user space) and the BPF
 * programs under bpf/: both include it, so the kernel fills exactly the
 * buckets the library reads.  It therefore uses no libc and no kernel
 * headers, only integer operations (leading-bit position, shift, add).
 *
 * Layout (HdrHistogram family, log-linear):
 *   - values 0 .. 31 ns each have their own bucket (exact);
 *   - every power of two [2^e, 2^(e+1)), e = 5 .. 41, is split into
 *     LT_HIST_SUB_COUNT = 32 equal sub-buckets;
 *   - values >= 2^42 ns (~73.3 minutes) go to the overflow bucket, which is
 *     counted and shown, never dropped.
 *
 * Why S = 5 sub-bucket bits: a bucket is 1/32 of its lower edge wide, so a
 * percentile reported at the bucket midpoint is within 1/64 = 1.56 % of the
 * true value (the 2 % budget), and 1217 counters of 8 bytes are 9.5 KiB, under
 * the 16 KiB budget per histogram.  S = 6 would need 18.5 KiB for the same
 * range.
 *
 * Every power of two >= 32 ns is a bucket edge, as is every
 * (32 + j) * 2^(e - 5): coarser exporter boundaries chosen among those edges
 * get exact cumulative counts. */
#ifndef LATRACK_HIST_LAYOUT_H
#define LATRACK_HIST_LAYOUT_H

#define LT_HIST_SUB_BITS   5
#define LT_HIST_SUB_COUNT  (1u << LT_HIST_SUB_BITS)
#define LT_HIST_MAX_EXP    42 /* first value in overflow: 2^42 ns */
#define LT_HIST_NR_BUCKETS ((LT_HIST_MAX_EXP - LT_HIST_SUB_BITS + 1) * LT_HIST_SUB_COUNT)
#define LT_HIST_OVERFLOW   LT_HIST_NR_BUCKETS     /* index of the overflow bucket */
#define LT_HIST_NR_SLOTS   (LT_HIST_NR_BUCKETS + 1) /* buckets + overflow: 1217 */

#ifndef LT_HIST_INLINE
#if defined(__bpf__)
#define LT_HIST_INLINE static inline __attribute__((always_inline))
#else
#define LT_HIST_INLINE static inline
#endif
#endif

/* Position of the highest set bit of v (v > 0).  BPF has no clz
 * instruction, so the BPF build uses a table below 2^16 and a 6-step binary
 * search above (lt_hist_log2_tab); user space uses the compiler builtin.
 * tests/unit/test_hist_layout.c checks that all three agree. */
LT_HIST_INLINE unsigned int lt_hist_log2_search(unsigned long long v)
{
	unsigned int r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

/* floor(log2(i)) for i in 1 .. 255 (0 for 0). */
#define LT_L2_16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char lt_hist_log2_tbl[256] = {
	0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
	LT_L2_16(4), LT_L2_16(5), LT_L2_16(5),
	LT_L2_16(6), LT_L2_16(6), LT_L2_16(6), LT_L2_16(6),
	LT_L2_16(7), LT_L2_16(7), LT_L2_16(7), LT_L2_16(7),
	LT_L2_16(7), LT_L2_16(7), LT_L2_16(7), LT_L2_16(7),
};
#undef LT_L2_16

/* The same for v > 0 below 2^16 by table (one branch and a load, where
 * the search takes six dependent steps), by search above: latencies of
 * fast events (under 65.5 us) are most of what a tracer records. */
LT_HIST_INLINE unsigned int lt_hist_log2_tab(unsigned long long v)
{
	if (v >> 16)
		return lt_hist_log2_search(v);
	if (v >> 8)
		return 8 + lt_hist_log2_tbl[(v >> 8) & 0xff];
	return lt_hist_log2_tbl[v & 0xff];
}

LT_HIST_INLINE unsigned int lt_hist_log2(unsigned long long v)
{
#if defined(__bpf__)
	return lt_hist_log2_tab(v);
#else
	return 63u - (unsigned int)__builtin_clzll(v);
#endif
}

/* Bucket index of a value in nanoseconds: 0 .. LT_HIST_OVERFLOW. */
LT_HIST_INLINE unsigned int lt_hist_bucket(unsigned long long v)
{
	unsigned int e;

	if (v < LT_HIST_SUB_COUNT)
		return (unsigned int)v;
	e = lt_hist_log2(v);
	if (e >= LT_HIST_MAX_EXP)
		return LT_HIST_OVERFLOW;
	return (e - LT_HIST_SUB_BITS + 1) * LT_HIST_SUB_COUNT +
	       (unsigned int)((v >> (e - LT_HIST_SUB_BITS)) - LT_HIST_SUB_COUNT);
}

/* Smallest value that falls in bucket i (i <= LT_HIST_OVERFLOW; the
 * overflow bucket's lower edge is 2^42). */
LT_HIST_INLINE unsigned long long lt_hist_bucket_low(unsigned int i)
{
	unsigned int e, sub;

	if (i < LT_HIST_SUB_COUNT)
		return i;
	e = i / LT_HIST_SUB_COUNT + LT_HIST_SUB_BITS - 1;
	sub = i % LT_HIST_SUB_COUNT;
	return (unsigned long long)(LT_HIST_SUB_COUNT + sub) << (e - LT_HIST_SUB_BITS);
}

/* Width of bucket i in ns (the overflow bucket reports 0: unbounded). */
LT_HIST_INLINE unsigned long long lt_hist_bucket_width(unsigned int i)
{
	if (i < LT_HIST_SUB_COUNT)
		return 1;
	if (i >= LT_HIST_OVERFLOW)
		return 0;
	return 1ull << (i / LT_HIST_SUB_COUNT - 1);
}

/* The raw histogram a BPF program fills (one per class, in a per-CPU map
 * value) and liblatrack imports (lt_hist__import_raw).  Zero-initialised
 * memory is a valid empty histogram: min is stored inverted (~min) so that
 * 0 means "no minimum yet".  Not atomic: one writer per copy (per CPU). */
struct lt_hist_raw {
	unsigned long long count;   /* values recorded, overflow included */
	unsigned long long sum;     /* their sum in ns (wraps after ~584 years) */
	unsigned long long min_inv; /* ~min; 0 when empty */
	unsigned long long max;
	unsigned long long counts[LT_HIST_NR_SLOTS];
};

LT_HIST_INLINE void lt_hist_raw_record(struct lt_hist_raw *h, unsigned long long v)
{
	unsigned int b = lt_hist_bucket(v);

#if defined(__bpf__)
	/* clang proves the check below redundant and drops it; the verifier
	 * then rejects the unbounded index.  Hide b from the optimiser. */
	asm volatile("" : "+r"(b));
#endif
	if (b > LT_HIST_OVERFLOW) /* never true; bounds the index for the verifier */
		return;
	h->counts[b]++;
	h->count++;
	h->sum += v;
	if (~v > h->min_inv)
		h->min_inv = ~v;
	if (v > h->max)
		h->max = v;
}

#endif
