/* bench/window: what a rolling window costs a reader, against the cost of
 * one plain histogram merge measured in the same run.
 *
 *   query 1 min / 1 h   lt_window__query over 6 / 360 slots (merge on read)
 *   change check        lt_change__check: both queries plus the tests
 *
 * Usage: bench/window [-r RATE_PER_S]   (default 500: every 10 s slot of a
 * busy class holds data).  The last line is machine-readable:
 *   window: query_1m_us=<A> query_1h_us=<B> change_check_us=<C> bytes=<D> */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <latrack/change.h>

#define SEC 1000000000ull

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	uint64_t rate = 500, t, step, x = 88172645463325252ull;
	struct lt_window *w = lt_window__new(NULL);
	struct lt_hist *h = lt_hist__new(), *h2 = lt_hist__new();
	struct lt_window_stats st;
	struct lt_change c;
	double q1m = 1e30, q1h = 1e30, chk = 1e30, mrg = 1e30;
	int opt;

	while ((opt = getopt(argc, argv, "r:h")) != -1) {
		if (opt == 'r') {
			rate = strtoull(optarg, NULL, 0);
		} else {
			fprintf(stderr, "usage: %s [-r RATE_PER_S]\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!w || !h || !h2 || rate == 0 || rate > 1000000) {
		fprintf(stderr, "window: bad rate (1..1000000) or out of memory\n");
		return 2;
	}
	step = SEC / rate;
	for (t = 0; t < 3660 * SEC; t += step) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		lt_window__record(w, 20000 + (x >> 40) % 200000, t);
	}
	t -= step;
	for (int run = 0; run < 5; run++) {
		double t0 = now_ns();

		for (int i = 0; i < 100; i++)
			lt_window__query(w, t, 60 * SEC, h);
		q1m = fmin(q1m, (now_ns() - t0) / 100);
		t0 = now_ns();
		for (int i = 0; i < 10; i++)
			lt_window__query(w, t, 3600 * SEC, h);
		q1h = fmin(q1h, (now_ns() - t0) / 10);
		t0 = now_ns();
		for (int i = 0; i < 10; i++)
			lt_change__check(w, t, NULL, "bench", &c);
		chk = fmin(chk, (now_ns() - t0) / 10);
		t0 = now_ns();
		for (int i = 0; i < 100; i++)
			lt_hist__merge(h2, h);
		mrg = fmin(mrg, (now_ns() - t0) / 100);
	}
	lt_window__stats(w, &st);
	printf("window of a class at %llu values/s, 10 s slots, %llu live slots\n",
	       (unsigned long long)rate, (unsigned long long)st.live_slots);
	printf("query last 1 min: %8.1f us\n", q1m / 1e3);
	printf("query last 1 h:   %8.1f us  (%.0f histogram merges of %.0f ns)\n", q1h / 1e3,
	       q1h / mrg, mrg);
	printf("change check:     %8.1f us  (1 min vs the hour before)\n", chk / 1e3);
	printf("window: query_1m_us=%.1f query_1h_us=%.1f change_check_us=%.1f bytes=%llu\n",
	       q1m / 1e3, q1h / 1e3, chk / 1e3, (unsigned long long)st.bytes);
	lt_window__destroy(w);
	lt_hist__destroy(h);
	lt_hist__destroy(h2);
	return 0;
}
