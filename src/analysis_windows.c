/* `windows`: rolling windows and change records in trace time.
 *
 * Every latency the other analyses measure (each syscall, all threads, by
 * name; each --pair by its name) is also recorded in an lt_window per
 * class, at its end time: the same rings of histograms the live trackers
 * keep, driven by the trace's clock.  Each time trace time enters a new
 * slot, every class is checked with lt_change__check (recent span against
 * the baseline just before it); a class that starts to differ gives a
 * change record, stamped with the trace time, once per episode: again only
 * after a check that decided there was no change, or when more quantiles
 * move (or the same ones the other way).  So a long trace shows when
 * its latency profile changed.
 *
 * The spans default to the live ones (10 s slots, the last minute against
 * the hour before); short traces want --slot/--recent/--baseline. */
#include "analysis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <latrack/change.h>
#include <latrack/hist.h>
#include <latrack/window.h>

#include "report_fmt.h"

#define CHANGES_KEPT 1000

struct wclass {
	char name[LT_CHANGE_NAME_MAX];
	struct lt_window *w;
	bool changed;  /* the last decided check found a change */
	uint64_t sig;  /* which quantiles moved which way in this episode */
	uint64_t n;
};

struct change_rec {
	int64_t at_ns;
	struct lt_change c;
};

struct an_windows {
	const struct report_opts *o;
	struct lt_window_opts wo;
	struct lt_change_opts co;
	struct wclass *cls;
	size_t ncls, cap;
	uint64_t last_slot, last_ns;
	bool started;
	struct change_rec *ch;
	size_t nch;
	uint64_t dropped_changes, refused;
};

struct an_windows *an_windows__new(const struct report_opts *o)
{
	struct an_windows *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->o = o;
	a->wo.sz = sizeof(a->wo);
	a->wo.slot_ns = o->win_slot_ns ? o->win_slot_ns : LT_WINDOW_DEFAULT_SLOT_NS;
	a->co.sz = sizeof(a->co);
	a->co.recent_ns = o->win_recent_ns ? o->win_recent_ns : 6 * a->wo.slot_ns;
	a->co.baseline_ns = o->win_baseline_ns ? o->win_baseline_ns : 60 * a->co.recent_ns;
	/* the ring holds the baseline, the recent span and the slot being
	 * filled */
	a->wo.nr_slots = (uint32_t)((a->co.recent_ns + a->co.baseline_ns) / a->wo.slot_ns + 1);
	a->ch = calloc(CHANGES_KEPT, sizeof(*a->ch));
	if (!a->ch) {
		free(a);
		return NULL;
	}
	return a;
}

/* Spans must be whole slots: say so before reading a trace. */
int an_windows__check_opts(const struct report_opts *o, char *err, size_t len)
{
	uint64_t slot = o->win_slot_ns ? o->win_slot_ns : LT_WINDOW_DEFAULT_SLOT_NS;
	uint64_t rec = o->win_recent_ns ? o->win_recent_ns : 6 * slot;
	uint64_t base = o->win_baseline_ns ? o->win_baseline_ns : 60 * rec;

	if (rec % slot || base % slot || (rec + base) / slot + 1 > 100000) {
		snprintf(err, len, "--recent and --baseline must be whole multiples of --slot, "
				   "within 100,000 slots together");
		return -EINVAL;
	}
	return 0;
}

void an_windows__destroy(struct an_windows *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->ncls; i++)
		lt_window__destroy(a->cls[i].w);
	free(a->cls);
	free(a->ch);
	free(a);
}

static struct wclass *get_class(struct an_windows *a, const char *name)
{
	for (size_t i = 0; i < a->ncls; i++)
		if (!strncmp(a->cls[i].name, name, sizeof(a->cls[i].name) - 1))
			return &a->cls[i];
	if (a->ncls == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		struct wclass *n = realloc(a->cls, nc * sizeof(*n));

		if (!n)
			return NULL;
		a->cls = n;
		a->cap = nc;
	}
	memset(&a->cls[a->ncls], 0, sizeof(a->cls[0]));
	snprintf(a->cls[a->ncls].name, sizeof(a->cls[0].name), "%s", name);
	a->cls[a->ncls].w = lt_window__new(&a->wo);
	if (!a->cls[a->ncls].w)
		return NULL;
	return &a->cls[a->ncls++];
}

static void check_all(struct an_windows *a, uint64_t now_ns)
{
	for (size_t i = 0; i < a->ncls; i++) {
		struct wclass *c = &a->cls[i];
		struct lt_change ch;
		int r = lt_change__check(c->w, now_ns, &a->co, c->name, &ch);

		uint64_t sig = 0;

		if (r == 1)
			for (uint32_t q = 0; q < ch.nr_quantiles; q++)
				sig |= (uint64_t)(ch.q[q].dir == LT_CHANGE_ROSE ? 1 :
						  ch.q[q].dir == LT_CHANGE_FELL ? 2 : 0) << (2 * q);
		/* a new episode, or the same one moving more quantiles (p90
		 * first, then p50 as the shift fills the recent span) */
		if (r == 1 && (!c->changed || (sig & ~c->sig))) {
			c->sig = c->changed ? c->sig | sig : sig;
			if (a->nch < CHANGES_KEPT) {
				a->ch[a->nch].at_ns = (int64_t)now_ns;
				a->ch[a->nch++].c = ch;
			} else {
				a->dropped_changes++;
			}
		}
		/* re-arm only on a decided "no change": too few values in
		 * a slot says nothing */
		if (r == 1)
			c->changed = true;
		else if (r == 0 && ch.decided)
			c->changed = false;
	}
}

void an_windows__record(struct an_windows *a, const char *name, uint64_t delay_ns,
			uint64_t end_ns)
{
	struct wclass *c;
	uint64_t slot = end_ns / a->wo.slot_ns;

	/* a new slot: check the classes as of the end of the previous one */
	if (a->started && slot > a->last_slot)
		check_all(a, a->last_slot * a->wo.slot_ns + a->wo.slot_ns - 1);
	if (!a->started || slot > a->last_slot) {
		a->last_slot = slot;
		a->started = true;
	}
	if (end_ns > a->last_ns)
		a->last_ns = end_ns;
	c = get_class(a, name);
	if (!c || lt_window__record(c->w, delay_ns, end_ns))
		a->refused++;
	else
		c->n++;
}

void an_windows__finish(struct an_windows *a)
{
	if (a->started)
		check_all(a, a->last_ns);
}

static void span_text(char *buf, size_t len, uint64_t ns)
{
	lt_change__format_ns(ns, buf, len);
}

void an_windows__print(struct an_windows *a, FILE *f, bool json)
{
	struct lt_hist *r = lt_hist__new(), *b = lt_hist__new();
	char s1[32], s2[32], s3[32], t[32], sentence[512];
	uint64_t now = a->last_ns;
	span_text(s1, sizeof(s1), a->wo.slot_ns);
	span_text(s2, sizeof(s2), a->co.recent_ns);
	span_text(s3, sizeof(s3), a->co.baseline_ns);
	if (json)
		fprintf(f, "\"windows\": {\"slot_ns\": %llu, \"recent_ns\": %llu, \"baseline_ns\": %llu, "
			   "\"classes\": [",
			(unsigned long long)a->wo.slot_ns, (unsigned long long)a->co.recent_ns,
			(unsigned long long)a->co.baseline_ns);
	else
		fprintf(f, "Rolling windows in trace time: slots of %s; the last %s of the trace "
			   "against the %s before\n  %-28s %8s %12s %12s   %8s %12s %12s\n",
			s1, s2, s3, "", "Recent", "p50(us)", "p99(us)", "Baseline", "p50(us)", "p99(us)");
	for (size_t i = 0; r && b && i < a->ncls; i++) {
		const struct wclass *c = &a->cls[i];

		lt_window__query(c->w, now, a->co.recent_ns, r);
		lt_window__query_range(c->w, now, a->co.recent_ns, a->co.baseline_ns, b);
		if (json) {
			fprintf(f, "%s\n  {\"class\": ", i ? "," : "");
			fmt_json_str(f, c->name);
			fprintf(f, ", \"recent\": {\"count\": %llu, \"p50_ns\": %llu, \"p99_ns\": %llu}, "
				   "\"baseline\": {\"count\": %llu, \"p50_ns\": %llu, \"p99_ns\": %llu}}",
				(unsigned long long)lt_hist__count(r),
				(unsigned long long)lt_hist__percentile(r, 50),
				(unsigned long long)lt_hist__percentile(r, 99),
				(unsigned long long)lt_hist__count(b),
				(unsigned long long)lt_hist__percentile(b, 50),
				(unsigned long long)lt_hist__percentile(b, 99));
		} else {
			char name[64];

			fmt_text_buf(name, sizeof(name), c->name);
			fprintf(f, "  %-28s %8llu %12.3f %12.3f   %8llu %12.3f %12.3f\n", name,
				(unsigned long long)lt_hist__count(r),
				(double)lt_hist__percentile(r, 50) / 1e3,
				(double)lt_hist__percentile(r, 99) / 1e3,
				(unsigned long long)lt_hist__count(b),
				(double)lt_hist__percentile(b, 50) / 1e3,
				(double)lt_hist__percentile(b, 99) / 1e3);
		}
	}
	if (json)
		fputs("],\n \"changes\": [", f);
	else
		fprintf(f, "\nChange records (%zu)\n", a->nch);
	for (size_t i = 0; i < a->nch; i++) {
		const struct change_rec *c = &a->ch[i];

		lt_change__format(&c->c, sentence, sizeof(sentence));
		fmt_clock(t, sizeof(t), c->at_ns);
		if (json) {
			fprintf(f, "%s\n  {\"at_ns\": %lld, \"class\": ", i ? "," : "", (long long)c->at_ns);
			fmt_json_str(f, c->c.class_name);
			fprintf(f, ", \"n_recent\": %llu, \"n_baseline\": %llu, \"p_value\": %g, "
				   "\"quantiles\": [",
				(unsigned long long)c->c.n_recent, (unsigned long long)c->c.n_baseline,
				c->c.p_value);
			for (uint32_t q = 0; q < c->c.nr_quantiles; q++)
				fprintf(f, "%s{\"pct\": %g, \"from_ns\": %llu, \"to_ns\": %llu, \"moved\": %d}",
					q ? ", " : "", c->c.q[q].pct, (unsigned long long)c->c.q[q].from_ns,
					(unsigned long long)c->c.q[q].to_ns, c->c.q[q].dir);
			fputs("], \"text\": ", f);
			fmt_json_str(f, sentence);
			fputc('}', f);
		} else {
			fprintf(f, "  %s  ", t);
			fmt_text_str(f, sentence);
			fputc('\n', f);
		}
	}
	if (json)
		fprintf(f, "], \"changes_not_kept\": %llu, \"refused\": %llu}",
			(unsigned long long)a->dropped_changes, (unsigned long long)a->refused);
	else if (!a->nch)
		fputs("  (no significant change)\n", f);
	lt_hist__destroy(r);
	lt_hist__destroy(b);
}
