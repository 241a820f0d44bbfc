/* Histogram accuracy and properties.
 *
 * Accuracy: percentiles against the exact nearest-rank percentiles of the
 * same values (a sorted array), for log-normal, uniform, bimodal and
 * Pareto data at ns, µs, ms and second scales and past the overflow edge.
 * Properties: merge = recording the union, subtract undoes merge,
 * serialisation round-trips and rejects damaged input, import_raw = record,
 * count_le exact at edges, record_atomic exact under concurrency. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "tap.h"
#include "rng.h"
#include <latrack/hist.h>

#define OVF (1ull << LT_HIST_MAX_EXP)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Exact nearest-rank percentile of a sorted array. */
static uint64_t exact_pct(const uint64_t *s, size_t n, double p)
{
	size_t rank;

	if (p <= 0.0)
		return s[0];
	/* Nearest rank ceil(p n / 100), computed in integers (p in
	 * ten-thousandths) so that no rounding moves a rank. */
	{
		uint64_t pp = (uint64_t)llround(p * 10000.0);

		rank = (size_t)((pp * n + 1000000 - 1) / 1000000);
	}
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1];
}

struct snap {
	uint64_t counts[LT_HIST_NR_SLOTS];
	uint64_t n;
};

static int snap_fn(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
	struct snap *s = ctx;

	(void)high;
	s->counts[lt_hist_bucket(low)] = count;
	s->n += count;
	return 0;
}

/* Same buckets, sum, min, max, through the public API only. */
static int hist_equal(const struct lt_hist *a, const struct lt_hist *b)
{
	static struct snap sa, sb;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	lt_hist__foreach_bucket(a, snap_fn, &sa);
	lt_hist__foreach_bucket(b, snap_fn, &sb);
	return !memcmp(&sa, &sb, sizeof(sa)) && lt_hist__sum(a) == lt_hist__sum(b) &&
	       lt_hist__min(a) == lt_hist__min(b) && lt_hist__max(a) == lt_hist__max(b) &&
	       lt_hist__count(a) == lt_hist__count(b);
}

enum { LOGN, UNIF, BIMOD, PARETO, NR_D };
static const char *dname[] = { "log-normal", "uniform", "bimodal", "Pareto" };

static uint64_t sample(struct rng *r, int d, double scale)
{
	switch (d) {
	case LOGN:
		return to_ns(rng_lognormal(r, scale, 1.0));
	case UNIF:
		return to_ns(scale * (0.5 + rng_unit(r)));
	case BIMOD:
		return to_ns(rng_unit(r) < 0.9 ? rng_lognormal(r, scale, 0.2)
					       : rng_lognormal(r, 30 * scale, 0.2));
	default:
		return to_ns(rng_pareto(r, scale, 1.2));
	}
}

static const double pcts[] = { 0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100 };
#define NR_PCTS (sizeof(pcts) / sizeof(pcts[0]))

static void test_accuracy(void)
{
	static const double scales[] = { 20, 300, 5e3, 2e6, 3e9, 1e12 };
	static const char *sname[] = { "20 ns", "300 ns", "5 µs", "2 ms", "3 s", "1000 s" };
	const size_t n = 100000;
	uint64_t *v = malloc(n * sizeof(*v));
	struct lt_hist *h = lt_hist__new();
	struct rng r;

	rng_seed(&r, 42);
	for (int d = 0; d < NR_D; d++) {
		for (unsigned int si = 0; si < sizeof(scales) / sizeof(scales[0]); si++) {
			unsigned int bad = 0, in_ovf = 0;
			double worst = 0, sum = 0, mean, var = 0, sd_true, rms;
			uint64_t ovf = 0;

			lt_hist__reset(h);
			for (size_t i = 0; i < n; i++) {
				v[i] = sample(&r, d, scales[si]);
				lt_hist__record(h, v[i]);
				sum += (double)v[i];
				ovf += v[i] >= OVF;
			}
			qsort(v, n, sizeof(*v), cmp_u64);
			for (unsigned int k = 0; k < NR_PCTS; k++) {
				uint64_t want = exact_pct(v, n, pcts[k]);
				uint64_t got = lt_hist__percentile(h, pcts[k]);
				double err;

				if (want >= OVF) {
					/* Overflow: reported as the maximum. */
					in_ovf++;
					if (got != v[n - 1])
						bad++;
					continue;
				}
				err = fabs((double)got - (double)want);
				/* Midpoint of a bucket 1/32 of its low edge wide. */
				if (err * 64 > (double)want) {
					bad++;
					tap_diag("  p%g: got %" PRIu64 " want %" PRIu64, pcts[k], got,
						 want);
				}
				if (want && err / (double)want > worst)
					worst = err / (double)want;
			}
			ok(bad == 0,
			   "%s around %s: %u percentiles within 1/64 of exact (worst %.3f %%%s)",
			   dname[d], sname[si], (unsigned int)NR_PCTS, 100 * worst,
			   in_ovf ? ", overflow ones = max" : "");
			/* Exact moments, computed from the raw values. */
			mean = sum / (double)n;
			for (size_t i = 0; i < n; i++)
				var += ((double)v[i] - mean) * ((double)v[i] - mean);
			sd_true = sqrt(var / (double)n);
			rms = sqrt(sd_true * sd_true + mean * mean);
			if (ovf == 0) {
				ok(fabs(lt_hist__mean(h) - mean) <= 1e-9 * mean + 1e-9 &&
					   lt_hist__min(h) == v[0] && lt_hist__max(h) == v[n - 1] &&
					   lt_hist__count(h) == n,
				   "%s around %s: count, min, max, mean exact", dname[d], sname[si]);
				ok(fabs(lt_hist__stddev(h) - sd_true) <= rms / 64,
				   "%s around %s: stddev %.4g vs %.4g (bound rms/64)", dname[d],
				   sname[si], lt_hist__stddev(h), sd_true);
			} else {
				ok(lt_hist__overflow(h) == ovf && lt_hist__count(h) == n &&
					   lt_hist__max(h) == v[n - 1],
				   "%s around %s: %" PRIu64 " values in overflow, counted, max exact",
				   dname[d], sname[si], ovf);
			}
		}
	}
	free(v);
	lt_hist__destroy(h);
}

static void test_basics(void)
{
	struct lt_hist *h = lt_hist__new(), *g = lt_hist__new();

	ok(lt_hist__count(h) == 0 && lt_hist__min(h) == 0 && lt_hist__max(h) == 0 &&
		   lt_hist__percentile(h, 50) == 0 && lt_hist__mean(h) == 0,
	   "empty histogram: zeros");
	ok(lt_hist__bytes() <= 16384, "one histogram is %zu bytes (<= 16 KiB)", lt_hist__bytes());
	lt_hist__record(h, 7);
	is_u64(lt_hist__percentile(h, 50), 7, "single value: p50 is it");
	{
		struct lt_hist *c = lt_hist__new();

		for (uint64_t v = 1; v <= 99; v++)
			lt_hist__record(c, v);
		lt_hist__record(c, 1000000);
		is_u64(lt_hist__percentile(c, 99), 99,
		       "p99 of {1..99, 1e6} is the 99th value, not the 100th");
		lt_hist__destroy(c);
	}
	is_u64(lt_hist__percentile(h, 101), 0, "p > 100: 0");
	lt_hist__record(h, 1000);
	lt_hist__record(h, 1000000);
	is_u64(lt_hist__percentile(h, 0), 7, "p0 = min");
	is_u64(lt_hist__percentile(h, 100), 1000000, "p100 = max");
	is_u64(lt_hist__percentile(h, 50), 1000, "p50 of {7, 1000, 1e6} in 1000's bucket, "
						 "clamped to the data");
	for (int i = 0; i < 5; i++)
		lt_hist__record(g, 12345);
	lt_hist__record_n(h, 12345, 5);
	lt_hist__record_n(h, 99, 0);
	lt_hist__record(g, 7);
	lt_hist__record(g, 1000);
	lt_hist__record(g, 1000000);
	ok(hist_equal(h, g), "record_n(v, 5) = five records; record_n(v, 0) no-op");
	lt_hist__reset(h);
	ok(lt_hist__count(h) == 0 && lt_hist__sum(h) == 0, "reset empties");
	lt_hist__destroy(NULL);
	lt_hist__destroy(h);
	lt_hist__destroy(g);
}

static void fill(struct lt_hist *h, struct rng *r, int n, uint64_t *vals)
{
	for (int i = 0; i < n; i++) {
		uint64_t v = sample(r, i % NR_D, 1e4 * (1 + i % 7));

		if (i % 997 == 0)
			v = OVF + (uint64_t)i; /* a few in overflow */
		lt_hist__record(h, v);
		if (vals)
			vals[i] = v;
	}
}

static void test_merge_subtract(void)
{
	enum { NA = 20000, NB = 7000 };
	struct lt_hist *a = lt_hist__new(), *b = lt_hist__new(), *u = lt_hist__new(),
		       *m = lt_hist__new();
	uint64_t *va = malloc(NA * sizeof(*va)), *vb = malloc(NB * sizeof(*vb));
	unsigned int bad_m = 0, bad_s = 0, bad_b = 0;
	static struct snap s1, s2;
	struct rng ra, rb;

	for (int t = 0; t < 10; t++) {
		rng_seed(&ra, 100 + (uint64_t)t);
		rng_seed(&rb, 200 + (uint64_t)t);
		lt_hist__reset(a);
		lt_hist__reset(b);
		lt_hist__reset(u);
		lt_hist__reset(m);
		fill(a, &ra, NA, va);
		fill(b, &rb, NB, vb);
		for (int i = 0; i < NA; i++)
			lt_hist__record(u, va[i]);
		for (int i = 0; i < NB; i++)
			lt_hist__record(u, vb[i]);
		lt_hist__merge(m, a);
		lt_hist__merge(m, b);
		bad_m += !hist_equal(m, u);
		if (lt_hist__subtract(m, b) != 0)
			bad_s++;
		/* Buckets and sum come back exactly; min and max are bounds
		 * inside a's first and last buckets. */
		memset(&s1, 0, sizeof(s1));
		memset(&s2, 0, sizeof(s2));
		lt_hist__foreach_bucket(m, snap_fn, &s1);
		lt_hist__foreach_bucket(a, snap_fn, &s2);
		if (memcmp(&s1, &s2, sizeof(s1)) || lt_hist__sum(m) != lt_hist__sum(a))
			bad_s++;
		if (lt_hist__min(m) > lt_hist__min(a) ||
		    lt_hist_bucket(lt_hist__min(m)) != lt_hist_bucket(lt_hist__min(a)) ||
		    lt_hist__max(m) < lt_hist__max(a) ||
		    lt_hist_bucket(lt_hist__max(m)) != lt_hist_bucket(lt_hist__max(a)))
			bad_b++;
	}
	ok(bad_m == 0, "merge(a, b) equals recording the union (10 random pairs)");
	ok(bad_s == 0, "subtract(merge(a, b), b) gives a's buckets and sum back");
	ok(bad_b == 0, "after subtract, min/max bound a's and lie in the same buckets");
	is_i64(lt_hist__subtract(b, m), -ERANGE, "subtracting more than there is: -ERANGE");
	lt_hist__reset(u);
	lt_hist__merge(u, b);
	lt_hist__subtract(u, b);
	ok(lt_hist__count(u) == 0 && lt_hist__min(u) == 0 && lt_hist__max(u) == 0 &&
		   lt_hist__sum(u) == 0,
	   "b - b is empty");
	free(va);
	free(vb);
	lt_hist__destroy(a);
	lt_hist__destroy(b);
	lt_hist__destroy(u);
	lt_hist__destroy(m);
}

static void test_serialize(void)
{
	struct lt_hist *h = lt_hist__new(), *g = lt_hist__new(), *e = lt_hist__new();
	unsigned char *buf = malloc(LT_HIST_SERIAL_MAX), *cp = malloc(LT_HIST_SERIAL_MAX);
	unsigned int bad_trunc = 0, bad_flip = 0, bad_junk = 0, unchanged = 1;
	struct rng r;
	int n, need;

	rng_seed(&r, 9);
	fill(h, &r, 50000, NULL);
	need = lt_hist__serialize(h, NULL, 0);
	n = lt_hist__serialize(h, buf, LT_HIST_SERIAL_MAX);
	ok(n > 0 && n == need, "serialize: %d bytes, as announced by the size query", n);
	ok(n < (int)lt_hist__bytes() / 2, "sparse: %d bytes for 50,000 values vs %zu in memory",
	   n, lt_hist__bytes());
	is_i64(lt_hist__deserialize(g, buf, (size_t)n), n, "deserialize consumes all of it");
	ok(hist_equal(h, g), "round trip: same buckets, sum, min, max");
	is_i64(lt_hist__serialize(h, buf, (size_t)n - 1), -ENOSPC, "one byte short: -ENOSPC");

	n = lt_hist__serialize(e, buf, LT_HIST_SERIAL_MAX);
	lt_hist__record(g, 5);
	ok(n > 0 && n <= 16 && lt_hist__deserialize(g, buf, (size_t)n) == n &&
		   lt_hist__count(g) == 0 && lt_hist__min(g) == 0,
	   "empty histogram: %d bytes, round-trips to empty", n);

	/* Two encodings back to back: the return value finds the second. */
	n = lt_hist__serialize(h, buf, LT_HIST_SERIAL_MAX);
	int n2 = lt_hist__serialize(e, buf + n, LT_HIST_SERIAL_MAX - (size_t)n);
	ok(lt_hist__deserialize(g, buf, (size_t)(n + n2)) == n &&
		   lt_hist__deserialize(g, buf + n, (size_t)n2) == n2 && lt_hist__count(g) == 0,
	   "concatenated encodings decode one after the other");

	n = lt_hist__serialize(h, buf, LT_HIST_SERIAL_MAX);
	lt_hist__reset(g);
	lt_hist__record(g, 777);
	for (int len = 0; len < n; len++)
		if (lt_hist__deserialize(g, buf, (size_t)len) >= 0)
			bad_trunc++;
	ok(bad_trunc == 0, "every truncation (0..%d bytes) is rejected", n - 1);
	for (int t = 0; t < 3000; t++) {
		memcpy(cp, buf, (size_t)n);
		cp[rng_u64(&r) % (uint64_t)n] ^= (unsigned char)(1u << (rng_u64(&r) % 8));
		if (t % 3 == 0) /* and sometimes a second byte */
			cp[rng_u64(&r) % (uint64_t)n] ^= (unsigned char)(rng_u64(&r) | 1);
		if (lt_hist__deserialize(g, cp, (size_t)n) >= 0)
			bad_flip++;
	}
	ok(bad_flip == 0, "3000 corrupted copies (bit flips) all rejected");
	for (int t = 0; t < 3000; t++) {
		size_t len = rng_u64(&r) % 200;

		for (size_t i = 0; i < len; i++)
			cp[i] = (unsigned char)rng_u64(&r);
		if (t % 2 == 0 && len >= 6)
			memcpy(cp, buf, 6); /* valid header, junk body */
		if (lt_hist__deserialize(g, cp, len) >= 0)
			bad_junk++;
	}
	ok(bad_junk == 0, "3000 random buffers (half with a valid header) rejected");
	unchanged = lt_hist__count(g) == 1 && lt_hist__max(g) == 777;
	ok(unchanged, "failed decodes leave the target histogram unchanged");
	memcpy(cp, buf, (size_t)n);
	cp[3] = 2;
	is_i64(lt_hist__deserialize(g, cp, (size_t)n), -EPROTO, "unknown version: -EPROTO");
	memcpy(cp, buf, (size_t)n);
	cp[4] = 6;
	is_i64(lt_hist__deserialize(g, cp, (size_t)n), -EPROTO, "other bucket layout: -EPROTO");
	is_i64(lt_hist__deserialize(g, "XYZ", 3), -EPROTO, "not ours: -EPROTO");
	is_i64(lt_hist__deserialize(g, buf, 4), -EBADMSG, "truncated header: -EBADMSG");
	free(buf);
	free(cp);
	lt_hist__destroy(h);
	lt_hist__destroy(g);
	lt_hist__destroy(e);
}

static void test_import_raw(void)
{
	struct lt_hist_raw *raw = calloc(4, sizeof(*raw));
	struct lt_hist *h = lt_hist__new(), *g = lt_hist__new();
	struct rng r;

	rng_seed(&r, 11);
	for (int i = 0; i < 40000; i++) {
		uint64_t v = sample(&r, i % NR_D, 3e5);

		if (i == 123)
			v = OVF * 3;
		/* As 3 CPUs would fill their copies; the 4th CPU stays idle
		 * (all zero, min_inv 0). */
		lt_hist_raw_record(&raw[i % 3], v);
		lt_hist__record(g, v);
	}
	for (int c = 0; c < 4; c++)
		lt_hist__import_raw(h, &raw[c]);
	ok(hist_equal(h, g), "import_raw of 4 per-CPU copies (one idle) = recording the values "
			     "(inverted min handled)");
	is_i64(lt_hist__import_raw(h, NULL), -EINVAL, "import_raw(NULL): -EINVAL");
	free(raw);
	lt_hist__destroy(h);
	lt_hist__destroy(g);
}

static void test_count_le(void)
{
	const size_t n = 200000;
	uint64_t *v = malloc(n * sizeof(*v));
	struct lt_hist *h = lt_hist__new();
	unsigned int bad = 0, bad_sub = 0, checked = 0;
	struct rng r;

	rng_seed(&r, 5);
	for (size_t i = 0; i < n; i++) {
		/* Log-uniform over 0 .. 2^44, so every power of two has
		 * values on both sides, some exactly on it. */
		v[i] = rng_u64(&r) >> (20 + rng_u64(&r) % 44);
		if (i % 50 == 0)
			v[i] = 1ull << (rng_u64(&r) % 44);
		lt_hist__record(h, v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	for (unsigned int k = 0; k <= LT_HIST_MAX_EXP; k++) {
		uint64_t b = 1ull << k, want = 0;
		int64_t got = lt_hist__count_le(h, b);

		/* Exact count from the sorted array: values < b. */
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (v[mid] < b)
				lo = mid + 1;
			else
				hi = mid;
		}
		want = lo;
		if (got != (int64_t)want) {
			bad++;
			tap_diag("  2^%u: got %" PRId64 " want %" PRIu64, k, got, want);
		}
	}
	ok(bad == 0, "count_le exact at every power of two 1 .. 2^42");
	/* 2^(1/2^k) boundaries: (32 + j) * 2^(e - 5). */
	for (unsigned int e = 5; e < LT_HIST_MAX_EXP; e += 3) {
		for (unsigned int j = 0; j < 32; j += 8) {
			uint64_t b = (uint64_t)(32 + j) << (e - 5);
			size_t want = 0;

			while (want < n && v[want] < b)
				want++;
			checked++;
			if (lt_hist__count_le(h, b) != (int64_t)want)
				bad_sub++;
		}
	}
	ok(bad_sub == 0, "count_le exact at %u sub-power edges", checked);
	is_i64(lt_hist__count_le(h, 1000001), -EINVAL, "1000001 ns is not an edge: -EINVAL");
	is_i64(lt_hist__count_le(h, (1ull << 42) + 1), -EINVAL, "past the overflow edge: -EINVAL");
	is_i64(lt_hist__count_le(h, 0), 0, "count_le(0) = 0");
	free(v);
	lt_hist__destroy(h);
}

struct thr {
	struct lt_hist *h;
	uint64_t seed;
	int n;
};

static void *recorder(void *arg)
{
	struct thr *t = arg;
	struct rng r;

	rng_seed(&r, t->seed);
	for (int i = 0; i < t->n; i++)
		lt_hist__record_atomic(t->h, rng_u64(&r) >> (rng_u64(&r) % 64));
	return NULL;
}

static void test_atomic(void)
{
	enum { NT = 4 };
#if defined(__SANITIZE_ADDRESS__)
	const int per = 100000;
#else
	const int per = 500000;
#endif
	struct lt_hist *h = lt_hist__new(), *want = lt_hist__new(), *snap = lt_hist__new();
	struct thr t[NT];
	pthread_t tid[NT];

	for (int i = 0; i < NT; i++) {
		t[i] = (struct thr){ .h = h, .seed = 77 + (uint64_t)i, .n = per };
		pthread_create(&tid[i], NULL, recorder, &t[i]);
	}
	/* A reader snapshotting meanwhile, the documented way. */
	for (int k = 0; k < 20; k++) {
		lt_hist__reset(snap);
		lt_hist__merge(snap, h);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(tid[i], NULL);
	/* The same values recorded by one thread, plainly. */
	for (int i = 0; i < NT; i++) {
		struct rng r;

		rng_seed(&r, t[i].seed);
		for (int j = 0; j < per; j++)
			lt_hist__record(want, rng_u64(&r) >> (rng_u64(&r) % 64));
	}
	is_u64(lt_hist__count(h), (uint64_t)NT * per, "record_atomic from %d threads: exact count",
	       NT);
	ok(hist_equal(h, want), "record_atomic: every bucket, sum, min, max exact");
	lt_hist__destroy(h);
	lt_hist__destroy(want);
	lt_hist__destroy(snap);
}

int main(void)
{
	test_basics();
	test_accuracy();
	test_merge_subtract();
	test_serialize();
	test_import_raw();
	test_count_le();
	test_atomic();
	return tap_done();
}
