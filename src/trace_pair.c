/* Pairing for the trace analyses on liblatrack's tracker in explicit-time
 * mode (trace timestamps): see trace_pair.h.
 *
 * Every end must reach the analyses, including a delay of 0 (entry and exit
 * stamped the same nanosecond), while the tracker reports only delays above
 * the threshold (0 at least): ends are passed to the tracker 1 ns late and
 * the callback takes that nanosecond back.  No timeout is set, so the shift
 * changes nothing else. */
#include "trace_pair.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <latrack/hist_layout.h>
#include <latrack/tracker.h>

struct trace_pair {
	struct lt_tracker *t;  /* created at the first begin */
	struct lt_tracker_opts o;
	trace_pair_fn cb;
	void *ctx;
	int err;               /* lt_tracker__new's failure, reported by begin */
	uint64_t early_unmatched, failed; /* before / without a tracker */
};

static void on_report(const struct lt_report *r, void *ctx)
{
	struct trace_pair *p = ctx;

	if (r->reason == LT_REASON_NORMAL && p->cb)
		p->cb(r->key, r->key_len, r->begin_ns, r->end_ns - 1, r->priv, p->ctx);
}

struct trace_pair *trace_pair__new(size_t key_size, uint32_t max_in_flight, trace_pair_fn cb,
				   void *ctx)
{
	struct trace_pair *p;
	struct lt_tracker_opts o = {
		.sz = sizeof(o),
		.max_events = max_in_flight,
		.key_size = (uint32_t)key_size,
		.threshold_ns = 0,
		.timeout_ns = 0,
		.callback = on_report,
		.clock = LT_CLOCK_EXPLICIT,
		.max_threads = 4,
	};

	if (!key_size || key_size > 64 || !max_in_flight) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	o.callback_ctx = p;
	/* The tracker preallocates its events: an analysis whose events the
	 * trace does not hold (no block_rq_* in a trace) never pays for it. */
	p->o = o;
	p->cb = cb;
	p->ctx = ctx;
	return p;
}

void trace_pair__destroy(struct trace_pair *p)
{
	if (!p)
		return;
	lt_tracker__destroy(p->t);
	free(p);
}

int trace_pair__begin(struct trace_pair *p, const void *key, size_t key_len, uint64_t ts_ns,
		      void *priv)
{
	if (!p->t) {
		if (!p->err && !(p->t = lt_tracker__new(&p->o)))
			p->err = -errno;
		if (p->err) {
			p->failed++; /* reported as dropped */
			return p->err;
		}
	}
	return lt_event_in_at(p->t, key, key_len, LT_DEFAULT, LT_DEFAULT, priv, ts_ns);
}

int trace_pair__end(struct trace_pair *p, const void *key, size_t key_len, uint64_t ts_ns)
{
	int r;

	if (!p->t) {
		p->early_unmatched++;
		return -ENOENT;
	}
	r = lt_event_out_at(p->t, key, key_len, ts_ns + 1);

	return r < 0 ? r : 0;
}

struct foreach_ctx {
	trace_pair_open_fn fn;
	void *ctx;
};

static int foreach_one(const struct lt_event *e, void *ctx)
{
	struct foreach_ctx *f = ctx;
	size_t len;
	const void *key = lt_event__key(e, &len);

	return f->fn(key, len, lt_event__begin_ns(e), lt_event__priv(e), f->ctx);
}

int trace_pair__foreach_open(struct trace_pair *p, trace_pair_open_fn fn, void *ctx)
{
	struct foreach_ctx f = { fn, ctx };

	if (!p->t)
		return 0;
	return lt_tracker__foreach(p->t, foreach_one, &f);
}

void trace_pair__stats(const struct trace_pair *p, struct trace_pair_stats *out)
{
	struct lt_tracker_stats s = { 0 };

	if (p->t)
		lt_tracker__stats(p->t, &s);
	out->tracked = s.tracked;
	out->completed = s.completed;
	out->replaced = s.replaced;
	out->unmatched = s.unmatched + p->early_unmatched;
	out->in_flight = s.in_flight;
	out->dropped = s.dropped + p->failed;
}

/* ---- statistics (stand-in for lt_hist) ------------------------------ */

static bool hist_on;
static uint64_t **hists;
static size_t nhists, hists_cap;

void trace_stat__enable_hist(void)
{
	hist_on = true;
}

void trace_stat__release_all(void)
{
	for (size_t i = 0; i < nhists; i++)
		free(hists[i]);
	free(hists);
	hists = NULL;
	nhists = hists_cap = 0;
}

static uint64_t *hist_new(void)
{
	uint64_t *h;

	if (nhists == hists_cap) {
		size_t nc = hists_cap ? hists_cap * 2 : 64;
		uint64_t **n = realloc(hists, nc * sizeof(*n));

		if (!n)
			return NULL;
		hists = n;
		hists_cap = nc;
	}
	h = calloc(LT_HIST_NR_SLOTS, sizeof(*h));
	if (h)
		hists[nhists++] = h;
	return h;
}

/* The middle of bucket b (the overflow bucket: its lower edge). */
static double bucket_mid(unsigned b)
{
	unsigned e, sub;

	if (b < LT_HIST_SUB_COUNT)
		return b;
	if (b >= LT_HIST_OVERFLOW)
		return (double)(1ull << LT_HIST_MAX_EXP);
	e = b / LT_HIST_SUB_COUNT + LT_HIST_SUB_BITS - 1;
	sub = b % LT_HIST_SUB_COUNT;
	return ((double)(LT_HIST_SUB_COUNT + sub) + 0.5) * (double)(1ull << (e - LT_HIST_SUB_BITS));
}

int trace_stat__freq(const struct trace_stat *s, unsigned bins, uint64_t *counts,
		     uint64_t *lo, double *width)
{
	if (!s->buckets || !bins)
		return -ENOENT;
	memset(counts, 0, bins * sizeof(*counts));
	*lo = s->min;
	*width = (double)(s->max - s->min) / bins;
	if (*width <= 0)
		*width = 1;
	for (unsigned b = 0; b < LT_HIST_NR_SLOTS; b++) {
		double m = bucket_mid(b);
		long i;

		if (!s->buckets[b])
			continue;
		/* a bucket's midpoint may fall outside [min, max]: clamp */
		i = (long)((m - (double)s->min) / *width);
		if (i < 0)
			i = 0;
		if (i >= (long)bins)
			i = (long)bins - 1;
		counts[i] += s->buckets[b];
	}
	return 0;
}

void trace_stat__record(struct trace_stat *s, uint64_t v)
{
	double d;

	if (!s->count || v < s->min)
		s->min = v;
	if (!s->count || v > s->max)
		s->max = v;
	s->count++;
	d = (double)v - s->mean;
	s->mean += d / (double)s->count;
	s->m2 += d * ((double)v - s->mean);
	if (hist_on && !s->buckets)
		s->buckets = hist_new();
	if (s->buckets)
		s->buckets[lt_hist_bucket(v)]++;
}

double trace_stat__stddev(const struct trace_stat *s)
{
	return s->count < 2 ? 0.0 : sqrt(s->m2 / (double)(s->count - 1));
}

void trace_stat__merge(struct trace_stat *into, const struct trace_stat *from)
{
	double n, d;

	if (!from->count)
		return;
	if (from->buckets) {
		if (!into->buckets)
			into->buckets = hist_new();
		for (unsigned b = 0; into->buckets && b < LT_HIST_NR_SLOTS; b++)
			into->buckets[b] += from->buckets[b];
	}
	if (!into->count) {
		uint64_t *keep = into->buckets;

		*into = *from;
		into->buckets = keep;
		return;
	}
	n = (double)(into->count + from->count);
	d = from->mean - into->mean;
	into->m2 += from->m2 + d * d * (double)into->count * (double)from->count / n;
	into->mean += d * (double)from->count / n;
	into->count += from->count;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}
