/* Change detection: order-statistic bounds on the baseline's quantiles, a
 * shifted null (1.1x), exact binomial exceedance tests on the recent
 * window, a minimum effect size.  The method and its measured rates are in
 * change.h; this file is the arithmetic. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <latrack/change.h>

#define NS_PER_S 1000000000ull

static const double default_q[] = { 50.0, 90.0, 99.0, 99.9 };

/* Continued fraction of the incomplete beta function (modified Lentz).
 * Converges in O(sqrt(max(a, b))) steps for x < (a + 1) / (a + b + 2). */
static double betacf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-14;
	double qab = a + b, qap = a + 1.0, qam = a - 1.0;
	double c = 1.0, d = 1.0 - qab * x / qap, h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	h = d;
	for (int m = 1; m <= 20000; m++) {
		double m2 = 2.0 * m, aa, del;

		aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < eps)
			break;
	}
	return h;
}

/* Regularised incomplete beta I_x(a, b). */
static double betai(double a, double b, double x)
{
	double lbt;

	if (x <= 0.0)
		return 0.0;
	if (x >= 1.0)
		return 1.0;
	lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1.0) / (a + b + 2.0))
		return exp(lbt) * betacf(a, b, x) / a;
	return 1.0 - exp(lbt) * betacf(b, a, 1.0 - x) / b;
}

/* P(Binomial(n, p) >= k). */
static double binom_sf(uint64_t n, double p, int64_t k)
{
	if (k <= 0)
		return 1.0;
	if ((uint64_t)k > n)
		return 0.0;
	return betai((double)k, (double)(n - (uint64_t)k) + 1.0, p);
}

/* Smallest rank u in [1, n + 1] with P(Bin(n, q) >= u) <= a: X_(u) is an
 * upper confidence bound of the q-quantile at level 1 - a (n + 1: none). */
static uint64_t upper_rank(uint64_t n, double q, double a)
{
	uint64_t lo = 1, hi = n + 1;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (binom_sf(n, q, (int64_t)mid) <= a)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Largest rank l in [0, n] with P(Bin(n, q) >= l) >= 1 - a: X_(l) is a
 * lower confidence bound at level 1 - a (0: none). */
static uint64_t lower_rank(uint64_t n, double q, double a)
{
	uint64_t lo = 0, hi = n;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;

		if (binom_sf(n, q, (int64_t)mid) >= 1.0 - a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Bucket holding the value of rank r (1-based) in h. */
static unsigned int rank_bucket(const uint64_t *counts, uint64_t r)
{
	uint64_t cum = 0;

	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++) {
		cum += counts[i];
		if (cum >= r)
			return i;
	}
	return LT_HIST_OVERFLOW;
}

struct bucketed {
	uint64_t counts[LT_HIST_NR_SLOTS];
	uint64_t n;
};

static int collect(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
	struct bucketed *b = ctx;

	(void)high;
	b->counts[lt_hist_bucket(low)] = count;
	b->n += count;
	return 0;
}

/* Values of b strictly below the bucket edge of index `edge`. */
static uint64_t count_below(const struct bucketed *b, unsigned int edge)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < edge && i < LT_HIST_NR_SLOTS; i++)
		n += b->counts[i];
	return n;
}

/* Index of the first bucket whose low edge is >= x (LT_HIST_NR_SLOTS when
 * x is beyond the last finite edge). */
static unsigned int edge_ceil(double x)
{
	uint64_t v;
	unsigned int i;

	if (x >= (double)(1ull << LT_HIST_MAX_EXP))
		return x == (double)(1ull << LT_HIST_MAX_EXP) ? LT_HIST_OVERFLOW : LT_HIST_NR_SLOTS;
	v = (uint64_t)ceil(x);
	i = lt_hist_bucket(v);
	return lt_hist_bucket_low(i) == v ? i : i + 1;
}

/* Index of the last bucket whose low edge is <= x. */
static unsigned int edge_floor(double x)
{
	if (x < 0.0)
		return 0;
	return lt_hist_bucket((uint64_t)floor(x));
}

static void fill_opts(const struct lt_change_opts *o, struct lt_change_opts *d)
{
	memset(d, 0, sizeof(*d));
	if (o)
		memcpy(d, o, o->sz < sizeof(*d) ? o->sz : sizeof(*d));
	d->sz = sizeof(*d);
	if (!d->recent_ns)
		d->recent_ns = 60 * NS_PER_S;
	if (!d->baseline_ns)
		d->baseline_ns = 3600 * NS_PER_S;
	if (!(d->alpha > 0.0 && d->alpha < 1.0))
		d->alpha = 0.01;
	if (!(d->min_ratio >= 1.0))
		d->min_ratio = 1.25;
	if (!(d->null_ratio >= 1.0))
		d->null_ratio = 1.1;
	if (!d->min_recent)
		d->min_recent = 50;
	if (!d->min_baseline)
		d->min_baseline = 200;
	if (!d->nr_quantiles || d->nr_quantiles > LT_CHANGE_MAX_Q) {
		d->nr_quantiles = LT_CHANGE_MAX_Q;
		memcpy(d->quantiles, default_q, sizeof(default_q));
	}
}

/* Test one quantile both ways; fills q and returns its direction. */
static int test_quantile(const struct bucketed *rb, const struct bucketed *bb,
			 const struct lt_hist *recent, const struct lt_hist *baseline,
			 const struct lt_change_opts *o, double a, double pct, struct lt_change_q *q)
{
	double qf = pct / 100.0, tests = 4.0 * o->nr_quantiles;
	double p_up = 1.0, p_down = 1.0;
	bool up_ok = false, down_ok = false;
	uint64_t u, l;

	q->pct = pct;
	q->from_ns = lt_hist__percentile(baseline, pct);
	q->to_ns = lt_hist__percentile(recent, pct);
	q->dir = LT_CHANGE_NONE;

	u = upper_rank(bb->n, qf, a);
	if (u <= bb->n) {
		unsigned int ub = rank_bucket(bb->counts, u);

		if (ub < LT_HIST_OVERFLOW) {
			double bound = (double)(lt_hist_bucket_low(ub) + lt_hist_bucket_width(ub));
			unsigned int t = edge_ceil(bound * o->null_ratio);

			if (t < LT_HIST_NR_SLOTS) {
				uint64_t k = rb->n - count_below(rb, t);

				p_up = binom_sf(rb->n, 1.0 - qf, (int64_t)k);
				up_ok = true;
			}
		}
	}
	l = lower_rank(bb->n, qf, a);
	if (l >= 1) {
		unsigned int lb = rank_bucket(bb->counts, l);
		double bound = (double)lt_hist_bucket_low(lb);
		unsigned int t = edge_floor(bound / o->null_ratio);

		if (lb < LT_HIST_OVERFLOW && t > 0) {
			uint64_t k = count_below(rb, t);

			p_down = binom_sf(rb->n, qf, (int64_t)k);
			down_ok = true;
		}
	}
	q->testable = up_ok || down_ok;
	if (p_up <= p_down) {
		q->p_value = fmin(1.0, p_up * tests);
		if (up_ok && p_up <= a && (double)q->to_ns >= o->min_ratio * (double)q->from_ns)
			q->dir = LT_CHANGE_ROSE;
	} else {
		q->p_value = fmin(1.0, p_down * tests);
		if (down_ok && p_down <= a && (double)q->to_ns * o->min_ratio <= (double)q->from_ns)
			q->dir = LT_CHANGE_FELL;
	}
	return q->dir;
}

static int detect(const struct lt_hist *recent, const struct lt_hist *baseline,
		  const struct lt_change_opts *opts, const char *class_name, struct lt_change *out,
		  struct bucketed *rb, struct bucketed *bb)
{
	struct lt_change_opts o;
	double a;

	fill_opts(opts, &o);
	memset(out, 0, sizeof(*out));
	if (class_name)
		snprintf(out->class_name, sizeof(out->class_name), "%s", class_name);
	out->recent_ns = o.recent_ns;
	out->baseline_ns = o.baseline_ns;
	out->p_value = 1.0;
	memset(rb, 0, sizeof(*rb));
	memset(bb, 0, sizeof(*bb));
	lt_hist__foreach_bucket(recent, collect, rb);
	lt_hist__foreach_bucket(baseline, collect, bb);
	out->n_recent = rb->n;
	out->n_baseline = bb->n;
	out->nr_quantiles = o.nr_quantiles;
	for (uint32_t i = 0; i < o.nr_quantiles; i++) {
		out->q[i].pct = o.quantiles[i];
		out->q[i].p_value = 1.0;
		if (!(o.quantiles[i] > 0.0 && o.quantiles[i] < 100.0))
			return -EINVAL;
	}
	if (rb->n < o.min_recent || bb->n < o.min_baseline) {
		for (uint32_t i = 0; i < o.nr_quantiles; i++) {
			out->q[i].from_ns = lt_hist__percentile(baseline, o.quantiles[i]);
			out->q[i].to_ns = lt_hist__percentile(recent, o.quantiles[i]);
		}
		return 0;
	}
	out->decided = 1;
	a = o.alpha / (4.0 * o.nr_quantiles);
	for (uint32_t i = 0; i < o.nr_quantiles; i++) {
		if (test_quantile(rb, bb, recent, baseline, &o, a, o.quantiles[i], &out->q[i])) {
			out->moved |= 1u << i;
			if (out->q[i].p_value < out->p_value)
				out->p_value = out->q[i].p_value;
		}
	}
	return out->moved != 0;
}

int lt_change__detect(const struct lt_hist *recent, const struct lt_hist *baseline,
		      const struct lt_change_opts *opts, const char *class_name,
		      struct lt_change *out)
{
	/* Two bucket arrays of 9.7 KiB: on the heap, not on the stack of
	 * callers that may run on small stacks, nor in thread-local storage
	 * that every thread of the program would pay for. */
	struct bucketed *b;
	int err;

	if (!recent || !baseline || !out)
		return -EINVAL;
	b = malloc(2 * sizeof(*b));
	if (!b)
		return -ENOMEM;
	err = detect(recent, baseline, opts, class_name, out, &b[0], &b[1]);
	free(b);
	return err;
}

int lt_change__check(const struct lt_window *w, uint64_t now_ns, const struct lt_change_opts *opts,
		     const char *class_name, struct lt_change *out)
{
	struct lt_change_opts o;
	struct lt_hist *r = NULL, *b = NULL;
	int err;

	if (!w || !out)
		return -EINVAL;
	fill_opts(opts, &o);
	r = lt_hist__new();
	b = lt_hist__new();
	if (!r || !b) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = lt_window__query(w, now_ns, o.recent_ns, r);
	if (!err)
		err = lt_window__query_range(w, now_ns, o.recent_ns, o.baseline_ns, b);
	if (!err)
		err = lt_change__detect(r, b, &o, class_name, out);
cleanup:
	lt_hist__destroy(r);
	lt_hist__destroy(b);
	return err;
}

/* Formatting. */

struct sbuf {
	char *p;
	size_t len, pos;
};

static void sb_printf(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->pos < s->len ? s->p + s->pos : NULL, s->pos < s->len ? s->len - s->pos : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		s->pos += (size_t)n;
}

/* An integer with thousands separators: 4,210. */
static void sb_count(struct sbuf *s, uint64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);

	for (int i = 0; i < n; i++) {
		sb_printf(s, "%c", digits[i]);
		if (i < n - 1 && (n - 1 - i) % 3 == 0)
			sb_printf(s, ",");
	}
}

static void sb_ns(struct sbuf *s, uint64_t ns)
{
	static const struct {
		double scale;
		const char *unit;
	} units[] = { { 1e3, "µs" }, { 1e6, "ms" }, { 1e9, "s" } };

	if (ns < 1000) {
		sb_printf(s, "%llu ns", (unsigned long long)ns);
		return;
	}
	for (unsigned int i = 0; i < 3; i++) {
		double x = (double)ns / units[i].scale;
		bool last = i == 2;

		/* Move up a unit when rounding would print 1000 or more. */
		if (x < 9.95) {
			sb_printf(s, "%.1f %s", x, units[i].unit);
			return;
		}
		if (x < 999.5) {
			sb_printf(s, "%.0f %s", x, units[i].unit);
			return;
		}
		if (last) {
			sb_count(s, (uint64_t)llround(x));
			sb_printf(s, " s");
			return;
		}
	}
}

int lt_change__format_ns(uint64_t ns, char *buf, size_t len)
{
	struct sbuf s = { buf, len, 0 };

	if (!buf && len)
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	sb_ns(&s, ns);
	return (int)s.pos;
}

static void sb_span(struct sbuf *s, uint64_t ns)
{
	const uint64_t min = 60 * NS_PER_S, hour = 60 * min;

	if (ns && ns % hour == 0)
		ns == hour ? sb_printf(s, "the last hour")
			   : sb_printf(s, "the last %llu hours", (unsigned long long)(ns / hour));
	else if (ns && ns % min == 0)
		ns == min ? sb_printf(s, "the last minute")
			  : sb_printf(s, "the last %llu minutes", (unsigned long long)(ns / min));
	else if (ns && ns % NS_PER_S == 0)
		sb_printf(s, "the last %llu seconds", (unsigned long long)(ns / NS_PER_S));
	else {
		sb_printf(s, "the last ");
		sb_ns(s, ns);
	}
}

static void sb_pct(struct sbuf *s, double pct)
{
	/* p50, p99, p99.9 */
	if (pct == floor(pct))
		sb_printf(s, "p%.0f", pct);
	else
		sb_printf(s, "p%g", pct);
}

int lt_change__format(const struct lt_change *c, char *buf, size_t len)
{
	struct sbuf s = { buf, len, 0 };
	const char *name = c && c->class_name[0] ? c->class_name : "this class";
	unsigned int shown = 0, total = 0;

	if (!c || (!buf && len))
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	for (uint32_t i = 0; i < c->nr_quantiles && i < LT_CHANGE_MAX_Q; i++)
		total += (c->moved >> i) & 1;
	if (!total) {
		sb_printf(&s, "no significant change of %s in ", name);
		sb_span(&s, c->recent_ns);
		sb_printf(&s, " (n=");
		sb_count(&s, c->n_recent);
		sb_printf(&s, ", baseline n=");
		sb_count(&s, c->n_baseline);
		sb_printf(&s, "%s)", c->decided ? "" : ", too few values to decide");
		return (int)s.pos;
	}
	for (uint32_t i = 0; i < c->nr_quantiles && i < LT_CHANGE_MAX_Q; i++) {
		const struct lt_change_q *q = &c->q[i];

		if (!((c->moved >> i) & 1))
			continue;
		if (shown)
			sb_printf(&s, shown + 1 == total ? " and " : ", ");
		sb_pct(&s, q->pct);
		if (!shown)
			sb_printf(&s, " of %s", name);
		sb_printf(&s, " %s from ", q->dir > 0 ? "rose" : "fell");
		sb_ns(&s, q->from_ns);
		sb_printf(&s, " to ");
		sb_ns(&s, q->to_ns);
		shown++;
	}
	sb_printf(&s, " in ");
	sb_span(&s, c->recent_ns);
	sb_printf(&s, " (n=");
	sb_count(&s, c->n_recent);
	if (c->p_value < 0.001)
		sb_printf(&s, ", p<0.001)");
	else
		sb_printf(&s, ", p=%.3f)", c->p_value);
	return (int)s.pos;
}
