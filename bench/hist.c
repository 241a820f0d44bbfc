/* bench/hist: cost of the histogram against baselines measured in the
 * same run.
 *
 *   record          lt_hist__record            vs  counts[log2(v)]++ (a
 *                                                  power-of-two histogram,
 *                                                  the cheapest one there is)
 *                                              and  appending to an array
 *   atomic record   lt_hist__record_atomic, one thread (uncontended)
 *   p99 query       lt_hist__percentile(99)    vs  sorting the window's raw
 *                                                  values to read p99
 *   merge           lt_hist__merge of a full histogram
 *
 * Usage: bench/hist [-n VALUES] [-r REPEATS]   (defaults 65536, 200)
 * Values are log-normal latencies around 50 µs, generated beforehand so the
 * loops time the histogram only.  Each figure is the best of 5 runs.  The
 * last line is machine-readable:
 *   hist: record_ns=<X> atomic_record_ns=<Y> p99_query_ns=<Z> bytes=<B> */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <latrack/hist.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static double unit(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Keeps the compiler from dropping the baseline loops. */
static volatile uint64_t sink;

int main(int argc, char **argv)
{
	size_t n = 65536;
	int reps = 200, opt;
	uint64_t *vals, *arr, log2c[64];
	struct lt_hist *h, *h2;
	double best_rec = 1e30, best_atom = 1e30, best_log2 = 1e30, best_app = 1e30;
	double best_q = 1e30, best_sort = 1e30, best_merge = 1e30;

	while ((opt = getopt(argc, argv, "n:r:h")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-n VALUES] [-r REPEATS]\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (n < 100 || reps < 1) {
		fprintf(stderr, "hist: -n must be >= 100 and -r >= 1\n");
		return 2;
	}
	vals = malloc(n * sizeof(*vals));
	arr = malloc(n * sizeof(*arr));
	h = lt_hist__new();
	h2 = lt_hist__new();
	if (!vals || !arr || !h || !h2) {
		fprintf(stderr, "hist: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		vals[i] = (uint64_t)(50e3 * exp(1.0 * sqrt(-2 * log(unit())) * cos(6.2831853 * unit())));

	for (int run = 0; run < 5; run++) {
		double t0, t1;

		lt_hist__reset(h);
		t0 = now_ns();
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < n; i++)
				lt_hist__record(h, vals[i]);
		t1 = now_ns();
		best_rec = fmin(best_rec, (t1 - t0) / ((double)n * reps));

		lt_hist__reset(h2);
		t0 = now_ns();
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < n; i++)
				lt_hist__record_atomic(h2, vals[i]);
		t1 = now_ns();
		best_atom = fmin(best_atom, (t1 - t0) / ((double)n * reps));

		memset(log2c, 0, sizeof(log2c));
		t0 = now_ns();
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < n; i++)
				log2c[63 - __builtin_clzll(vals[i] | 1)]++;
		t1 = now_ns();
		sink = log2c[16];
		best_log2 = fmin(best_log2, (t1 - t0) / ((double)n * reps));

		t0 = now_ns();
		for (int r = 0; r < reps; r++) {
			for (size_t i = 0; i < n; i++)
				arr[i] = vals[i];
			sink = arr[(size_t)r % n];
		}
		t1 = now_ns();
		best_app = fmin(best_app, (t1 - t0) / ((double)n * reps));

		uint64_t acc = 0;
		t0 = now_ns();
		for (int q = 0; q < 1000; q++)
			acc += lt_hist__percentile(h, 99.0);
		t1 = now_ns();
		sink = acc;
		best_q = fmin(best_q, (t1 - t0) / 1000);

		memcpy(arr, vals, n * sizeof(*arr));
		t0 = now_ns();
		qsort(arr, n, sizeof(*arr), cmp_u64);
		sink = arr[(size_t)ceil(0.99 * (double)n) - 1];
		t1 = now_ns();
		best_sort = fmin(best_sort, t1 - t0);

		t0 = now_ns();
		for (int m = 0; m < 1000; m++)
			lt_hist__merge(h2, h);
		t1 = now_ns();
		best_merge = fmin(best_merge, (t1 - t0) / 1000);
	}

	printf("values: %zu log-normal around 50 us, %d passes, best of 5 runs\n", n, reps);
	printf("record:        %6.2f ns/op  (log2 histogram %.2f ns: %.2fx; array append %.2f ns: "
	       "%.2fx)\n",
	       best_rec, best_log2, best_rec / best_log2, best_app, best_rec / best_app);
	printf("atomic record: %6.2f ns/op  (%.2fx plain)\n", best_atom, best_atom / best_rec);
	printf("p99 query:     %6.0f ns     (sort %zu values: %.0f ns: %.0fx faster)\n", best_q, n,
	       best_sort, best_sort / best_q);
	printf("merge:         %6.0f ns per histogram (%zu bytes)\n", best_merge, lt_hist__bytes());
	printf("hist: record_ns=%.2f atomic_record_ns=%.2f p99_query_ns=%.0f bytes=%zu\n", best_rec,
	       best_atom, best_q, lt_hist__bytes());
	lt_hist__destroy(h);
	lt_hist__destroy(h2);
	free(vals);
	free(arr);
	return 0;
}
