/* Change detection quality on synthetic streams with fixed seeds.
 *
 * Each trial draws a baseline hour (30,000 values: 500 a minute) and a
 * recent minute (500 values) and asks lt_change__detect whether the
 * distribution changed.  Scenarios, for log-normal, bimodal and Pareto
 * latencies:
 *   - stationary: recent drawn like the baseline; a change may be raised
 *     in at most 1 % of trials;
 *   - x2: every latency doubled (p50 and p99 double): detected in >= 99 %;
 *   - x1.1: every latency 1.1x: reported in at most 1 %;
 *   - tail x2: only the tail grows, p99 doubles, the median stays (rates
 *     printed; asserted where the data allow, see docs/HISTOGRAMS.md);
 *   - x1.5: every latency 1.5x (printed only: where power starts).
 * The rates are printed as TAP comments; LT_TRIALS overrides the number of
 * trials (default 1000, 200 under ASan, whose run only hunts memory
 * errors). */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "rng.h"
#include <latrack/change.h>

enum dist { LOGNORMAL, BIMODAL, PARETO, NR_DIST };
enum scen { STATIONARY, X2, X1_1, TAIL2, X1_5, NR_SCEN };

static const char *dist_name[] = { "log-normal", "bimodal", "Pareto" };
static const char *scen_name[] = { "stationary", "x2", "x1.1", "tail x2", "x1.5" };

/* Log-normal: median 200 µs, sigma 0.5.  Its tail-x2 variant stretches
 * the upper half (sigma' = sigma + ln 2 / z_0.99) so that p99 doubles
 * exactly and the median stays. */
#define LN_MED   200e3
#define LN_SIGMA 0.5
#define Z99      2.3263478740408408

/* Bimodal: 95 % around 100 µs, 5 % slow requests around 5 ms (both
 * log-normal, sigma 0.3).  p99 lies in the slow mode, so doubling the slow
 * mode doubles p99 and leaves the median. */
#define BI_FAST 100e3
#define BI_SLOW 5e6
#define BI_FRAC 0.05

/* Pareto: x_m 50 µs, alpha 2 (infinite variance is alpha <= 2: heavy).
 * Tail x2 raises the values above the median to the power that doubles
 * p99 (the tail exponent falls from 2 to 1.47). */
#define PA_XM    50e3
#define PA_ALPHA 2.0

static double draw(struct rng *r, enum dist d, enum scen s)
{
	double scale = s == X2 ? 2.0 : s == X1_1 ? 1.1 : s == X1_5 ? 1.5 : 1.0;

	switch (d) {
	case LOGNORMAL: {
		double z = rng_normal(r);
		double sigma = s == TAIL2 && z > 0 ? LN_SIGMA + log(2.0) / Z99 : LN_SIGMA;

		return scale * LN_MED * exp(sigma * z);
	}
	case BIMODAL:
		if (rng_unit(r) < BI_FRAC)
			return scale * (s == TAIL2 ? 2.0 : 1.0) * rng_lognormal(r, BI_SLOW, 0.3);
		return scale * rng_lognormal(r, BI_FAST, 0.3);
	case PARETO: {
		double v = rng_pareto(r, PA_XM, PA_ALPHA), med = PA_XM * sqrt(2.0);

		if (s == TAIL2 && v > med) {
			/* p99 / median = sqrt(50); want 2 sqrt(50). */
			double g = log(2.0 * sqrt(50.0)) / log(sqrt(50.0));

			v = med * pow(v / med, g);
		}
		return scale * v;
	}
	default:
		return 0;
	}
}

struct rates {
	unsigned int raised, p50, p99;
};

/* All scenarios of one distribution.  A baseline hour is drawn afresh
 * every BASE_EVERY trials and shared by the scenarios (drawing 30,000
 * values per trial and cell would take most of the test's time budget);
 * every trial draws its own recent minute. */
#define BASE_EVERY 10

/* Values in the recent minute; the baseline hour has 60 times as many.
 * LT_RECENT overrides it (the docs quote a run with 5000). */
static int n_recent = 500;

static void run(enum dist d, unsigned int trials, uint64_t seed, const struct lt_change_opts *o,
		struct rates out[NR_SCEN], struct lt_hist *recent, struct lt_hist *base)
{
	struct rng r;
	struct lt_change c;

	memset(out, 0, sizeof(*out) * NR_SCEN);
	rng_seed(&r, seed);
	for (unsigned int t = 0; t < trials; t++) {
		if (t % BASE_EVERY == 0) {
			lt_hist__reset(base);
			for (int i = 0; i < 60 * n_recent; i++)
				lt_hist__record(base, to_ns(draw(&r, d, STATIONARY)));
		}
		for (int s = 0; s < NR_SCEN; s++) {
			lt_hist__reset(recent);
			for (int i = 0; i < n_recent; i++)
				lt_hist__record(recent, to_ns(draw(&r, d, s)));
			if (lt_change__detect(recent, base, o, "test", &c) == 1)
				out[s].raised++;
			for (uint32_t i = 0; i < c.nr_quantiles; i++) {
				if (!((c.moved >> i) & 1))
					continue;
				if (c.q[i].pct == 50.0)
					out[s].p50++;
				if (c.q[i].pct == 99.0)
					out[s].p99++;
			}
		}
	}
}

static unsigned int trials_default(void)
{
	const char *e = getenv("LT_TRIALS");

	if (e && atoi(e) > 0)
		return (unsigned int)atoi(e);
#if defined(__SANITIZE_ADDRESS__)
	return 200;
#else
	return 1000;
#endif
}

static void test_format(void)
{
	struct lt_change c;
	char buf[256];
	int n;

	memset(&c, 0, sizeof(c));
	snprintf(c.class_name, sizeof(c.class_name), "read in mysqld");
	c.recent_ns = 60000000000ull;
	c.n_recent = 4210;
	c.n_baseline = 250000;
	c.nr_quantiles = 1;
	c.q[0] = (struct lt_change_q){ .pct = 99, .from_ns = 120000, .to_ns = 2300000,
				       .p_value = 2e-5, .dir = 1, .testable = 1 };
	c.moved = 1;
	c.p_value = 2e-5;
	c.decided = 1;
	n = lt_change__format(&c, buf, sizeof(buf));
	ok(!strcmp(buf, "p99 of read in mysqld rose from 120 µs to 2.3 ms in the last minute "
			"(n=4,210, p<0.001)"),
	   "format: the sentence of the issue: \"%s\"", buf);
	is_i64(n, (int64_t)strlen(buf), "format returns the length");
	n = lt_change__format(&c, buf, 10);
	ok(n > 10 && strlen(buf) == 9, "format truncates like snprintf");

	c.nr_quantiles = 2;
	c.q[1] = c.q[0];
	c.q[0] = (struct lt_change_q){ .pct = 50, .from_ns = 1000000, .to_ns = 640000,
				       .p_value = 0.004, .dir = -1, .testable = 1 };
	c.moved = 3;
	c.p_value = 0.004;
	c.recent_ns = 300000000000ull;
	lt_change__format(&c, buf, sizeof(buf));
	ok(!strcmp(buf, "p50 of read in mysqld fell from 1.0 ms to 640 µs and p99 rose from "
			"120 µs to 2.3 ms in the last 5 minutes (n=4,210, p=0.004)"),
	   "format: two quantiles: \"%s\"", buf);

	static const struct {
		uint64_t ns;
		const char *s;
	} u[] = { { 0, "0 ns" },          { 999, "999 ns" },      { 1000, "1.0 µs" },
		  { 1234, "1.2 µs" },     { 120000, "120 µs" },   { 999700, "1.0 ms" },
		  { 2300000, "2.3 ms" },  { 45600000, "46 ms" },  { 1500000000, "1.5 s" },
		  { 4398046511104ull, "4,398 s" } };
	unsigned int bad = 0;
	for (unsigned int i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		lt_change__format_ns(u[i].ns, buf, sizeof(buf));
		if (strcmp(buf, u[i].s)) {
			tap_diag("format_ns(%" PRIu64 ") = \"%s\", want \"%s\"", u[i].ns, buf, u[i].s);
			bad++;
		}
	}
	ok(bad == 0, "human units ns/µs/ms/s with thousands separators");
}

static void test_edges(struct lt_hist *recent, struct lt_hist *base)
{
	struct lt_change c;
	char buf[256];

	lt_hist__reset(recent);
	lt_hist__reset(base);
	for (int i = 0; i < 10; i++)
		lt_hist__record(recent, 1000000);
	for (int i = 0; i < 1000; i++)
		lt_hist__record(base, 1000);
	is_i64(lt_change__detect(recent, base, NULL, "x", &c), 0,
	       "10 recent values: no decision, however large the shift");
	ok(!c.decided, "record says undecided");
	lt_change__format(&c, buf, sizeof(buf));
	ok(strstr(buf, "too few values") != NULL, "and the sentence says why: \"%s\"", buf);
	is_i64(lt_change__detect(NULL, base, NULL, "x", &c), -EINVAL, "NULL recent: -EINVAL");

	/* 1000x slower, plenty of values: certainly a change, every quantile. */
	for (int i = 0; i < 990; i++)
		lt_hist__record(recent, 1000000);
	is_i64(lt_change__detect(recent, base, NULL, "x", &c), 1, "1000x shift detected");
	ok(c.p_value < 1e-6, "with a tiny p-value (%g)", c.p_value);
	ok(c.q[0].pct == 50 && c.q[0].dir == LT_CHANGE_ROSE && c.q[0].from_ns == 1000 &&
		   c.q[0].to_ns == 1000000,
	   "p50 rose from 1 µs to 1 ms");
	/* And the other way. */
	is_i64(lt_change__detect(base, recent, NULL, "x", &c), 1, "1000x drop detected");
	ok(c.q[0].dir == LT_CHANGE_FELL, "p50 fell");
}

static void test_window_check(void)
{
	struct lt_window *w = lt_window__new(NULL);
	struct lt_change c;
	struct rng r;
	uint64_t t = 0, step = 120000000; /* 500 values a minute */
	int rc;

	rng_seed(&r, 7);
	for (; t < 3660ull * 1000000000ull; t += step)
		lt_window__record(w, to_ns(draw(&r, LOGNORMAL, STATIONARY)), t);
	rc = lt_change__check(w, t - step, NULL, "read in mysqld", &c);
	ok(rc == 0 && c.n_recent >= 400 && c.n_baseline >= 29000,
	   "window check, stationary: no change (rc %d, n %" PRIu64 " vs %" PRIu64 ")", rc,
	   c.n_recent, c.n_baseline);
	for (uint64_t end = t + 60000000000ull; t < end; t += step)
		lt_window__record(w, to_ns(draw(&r, LOGNORMAL, X2)), t);
	rc = lt_change__check(w, t - step, NULL, "read in mysqld", &c);
	ok(rc == 1 && (c.moved & 1), "window check after a 2x slowdown: p50 moved (rc %d)", rc);
	lt_window__destroy(w);
}

int main(void)
{
	unsigned int trials = trials_default();
	struct lt_hist *recent = lt_hist__new(), *base = lt_hist__new();
	struct rates rt[NR_DIST][NR_SCEN];

	test_format();
	test_edges(recent, base);
	test_window_check();

	struct lt_change_opts o = { .sz = sizeof(o) };
	if (getenv("LT_ALPHA"))
		o.alpha = atof(getenv("LT_ALPHA"));
	if (getenv("LT_RECENT") && atoi(getenv("LT_RECENT")) >= 50)
		n_recent = atoi(getenv("LT_RECENT"));
	for (int d = 0; d < NR_DIST; d++)
		run(d, trials, 1000 + d, &o, rt[d], recent, base);

	tap_diag("%u trials per cell; recent %d values, baseline %d", trials, n_recent,
		 60 * n_recent);
	tap_diag("%-11s %-10s %8s %8s %8s %8s", "dist", "scenario", "raised", "", "p50 moved",
		 "p99 moved");
	for (int d = 0; d < NR_DIST; d++)
		for (int s = 0; s < NR_SCEN; s++)
			tap_diag("%-11s %-10s %7.1f%% %8u %8.1f%% %8.1f%%", dist_name[d],
				 scen_name[s], 100.0 * rt[d][s].raised / trials, rt[d][s].raised,
				 100.0 * rt[d][s].p50 / trials, 100.0 * rt[d][s].p99 / trials);

	for (int d = 0; d < NR_DIST; d++) {
		ok(rt[d][STATIONARY].raised * 100 <= trials,
		   "%s stationary: change raised in %u of %u checks (<= 1 %%)", dist_name[d],
		   rt[d][STATIONARY].raised, trials);
		ok(rt[d][X2].raised * 100 >= trials * 99,
		   "%s x2: detected in %u of %u trials (>= 99 %%)", dist_name[d], rt[d][X2].raised,
		   trials);
		ok(rt[d][X1_1].raised * 100 <= trials,
		   "%s x1.1: reported in %u of %u trials (<= 1 %%)", dist_name[d],
		   rt[d][X1_1].raised, trials);
	}
	/* Tail-only doubling: ~5 of 500 values lie past p99, so power depends
	 * on how many values the tail change moves.  Regression guards at the
	 * measured level (10,000 trials: 99.4 %, 97.2 %) minus three standard
	 * errors of a 200-trial run; the Pareto exponent change is out of
	 * reach at n = 500, see the docs. */
	if (n_recent == 500) {
		ok(rt[LOGNORMAL][TAIL2].raised * 100 >= trials * 97,
		   "log-normal tail x2: detected in %u of %u (>= 97 %%)", rt[LOGNORMAL][TAIL2].raised,
		   trials);
		ok(rt[BIMODAL][TAIL2].raised * 100 >= trials * 93,
		   "bimodal tail x2 (slow mode doubled): detected in %u of %u (>= 93 %%)",
		   rt[BIMODAL][TAIL2].raised, trials);
	}
	lt_hist__destroy(recent);
	lt_hist__destroy(base);
	return tap_done();
}
