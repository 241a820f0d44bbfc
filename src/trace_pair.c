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
#include <stdlib.h>
#include <string.h>

#include <latrack/hist.h>
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
		/* One thread, explicit clock: few events wait for reclamation.
		 * The library's default reserve (64 K events) would make every
		 * pairing cost a 128 K-bucket table to build and walk. */
		.reserve = max_in_flight / 4 > 16 * LT_TRACKER_BATCH ? max_in_flight / 4
								      : 16 * LT_TRACKER_BATCH,
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

/* ---- statistics ---------------------------------------------------- */

static struct lt_hist **hists;
static size_t nhists, hists_cap;

void trace_stat__release_all(void)
{
	for (size_t i = 0; i < nhists; i++)
		lt_hist__destroy(hists[i]);
	free(hists);
	hists = NULL;
	nhists = hists_cap = 0;
}

static struct lt_hist *hist_new(void)
{
	struct lt_hist *h;

	if (nhists == hists_cap) {
		size_t nc = hists_cap ? hists_cap * 2 : 64;
		struct lt_hist **n = realloc(hists, nc * sizeof(*n));

		if (!n)
			return NULL;
		hists = n;
		hists_cap = nc;
	}
	h = lt_hist__new();
	if (h)
		hists[nhists++] = h;
	return h;
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
	if (!s->h)
		s->h = hist_new(); /* ENOMEM: no distribution, the rest stays exact */
	if (s->h)
		lt_hist__record(s->h, v);
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
	if (from->h) {
		if (!into->h)
			into->h = hist_new();
		if (into->h)
			lt_hist__merge(into->h, from->h);
	}
	if (!into->count) {
		struct lt_hist *keep = into->h;

		*into = *from;
		into->h = keep;
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

uint64_t trace_stat__percentile(const struct trace_stat *s, double p)
{
	return s->h ? lt_hist__percentile(s->h, p) : 0;
}

struct freq_ctx {
	const struct trace_stat *s;
	unsigned bins;
	uint64_t *counts;
	double width;
};

static int freq_bucket(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
	struct freq_ctx *f = ctx;
	/* the bucket's midpoint, clamped to [min, max] (overflow: its edge) */
	double m = high == UINT64_MAX ? (double)low : (double)low + (double)(high - low) / 2;
	long i;

	if (m < (double)f->s->min)
		m = (double)f->s->min;
	if (m > (double)f->s->max)
		m = (double)f->s->max;
	i = (long)((m - (double)f->s->min) / f->width);
	if (i >= (long)f->bins)
		i = (long)f->bins - 1;
	f->counts[i] += count;
	return 0;
}

int trace_stat__freq(const struct trace_stat *s, unsigned bins, uint64_t *counts,
		     uint64_t *lo, double *width)
{
	struct freq_ctx f = { s, bins, counts, 0 };

	if (!s->h || !bins)
		return -ENOENT;
	memset(counts, 0, bins * sizeof(*counts));
	*lo = s->min;
	f.width = (double)(s->max - s->min) / bins;
	if (f.width <= 0)
		f.width = 1;
	*width = f.width;
	return lt_hist__foreach_bucket(s->h, freq_bucket, &f);
}
