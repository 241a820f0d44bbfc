/* Wake-up latency (`sched`): from the moment a thread is woken to the
 * sched_switch that runs it, per thread and per priority, with the waker.
 *
 * The wake-up is sched_waking when the kernel emits it (since 4.3: the
 * moment try_to_wake_up starts), else sched_wakeup; sched_wakeup_new starts
 * new threads.  A trace with both uses sched_waking from its first
 * occurrence on (before it, sched_wakeup stands in).  The waker is the
 * thread current on the CPU of the wake-up event (for a wake-up from an
 * interrupt, the interrupted thread), as the LTTng analyses reported it.
 * Pairing per wakee TID goes through trace_pair (lt_tracker). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"
#include "stat_table.h"
#include "trace_pair.h"

#define SCHED_IN_FLIGHT 16384

struct an_sched {
	struct trace_state *st;
	const struct report_opts *o;
	struct trace_pair *pair;
	struct stat_table *per_tid, *per_prio;
	struct topn *top;
	bool have_waking;
	int cur_cpu;
	uint64_t filtered, nomem;
};

static void on_pair(const void *key, size_t key_len, uint64_t begin_ns, uint64_t end_ns,
		    void *priv, void *ctx);

struct an_sched *an_sched__new(struct trace_state *st, const struct report_opts *o)
{
	struct an_sched *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->st = st;
	a->o = o;
	a->pair = trace_pair__new(sizeof(int32_t), SCHED_IN_FLIGHT, on_pair, a);
	a->per_tid = stat_table__new();
	a->per_prio = stat_table__new();
	a->top = topn__new(o->limit);
	if (!a->pair || !a->per_tid || !a->per_prio || !a->top) {
		an_sched__destroy(a);
		return NULL;
	}
	return a;
}

void an_sched__destroy(struct an_sched *a)
{
	if (!a)
		return;
	trace_pair__destroy(a->pair);
	stat_table__destroy(a->per_tid);
	stat_table__destroy(a->per_prio);
	topn__destroy(a->top);
	free(a);
}

/* priv packs the waker's TID (+1, 0: unknown) and the wakee's priority. */
static void *pack(int32_t waker, int prio)
{
	return (void *)(uintptr_t)((uint64_t)(uint32_t)(waker + 1) |
				   (uint64_t)(uint32_t)prio << 32);
}

static void on_pair(const void *key, size_t key_len, uint64_t begin_ns, uint64_t end_ns,
		    void *priv, void *ctx)
{
	struct an_sched *a = ctx;
	uint64_t v = (uint64_t)(uintptr_t)priv, d = end_ns - begin_ns;
	int32_t tid, waker = (int32_t)(uint32_t)v - 1;
	int prio = (int)(int32_t)(uint32_t)(v >> 32);
	struct stat_row *r;

	(void)key_len;
	memcpy(&tid, key, sizeof(tid));
	if (!report_opts__delay_ok(a->o, d) ||
	    (a->o->cpu >= 0 && a->cur_cpu != a->o->cpu) ||
	    !report_opts__thread_ok(a->o, a->st, tid)) {
		a->filtered++;
		return;
	}
	r = stat_table__get(a->per_tid, tid);
	if (r) {
		trace_stat__record(&r->stat, d);
		r->extra = prio;
	}
	r = stat_table__get(a->per_prio, prio);
	if (r)
		trace_stat__record(&r->stat, d);
	else
		a->nomem++;
	if (a->o->windows)
		an_windows__record(a->o->windows, "wake-up", d, end_ns);
	report_opts__picture(a->o, "wake-up", end_ns, d);
	report_opts__sample(a->o, AN_TRK_WAKEUP, "wake-up", tid, end_ns, d);
	if (topn__wants(a->top, d, (int64_t)begin_ns)) {
		const struct trace_thread *w = trace_state__thread(a->st, waker);
		const struct trace_thread *t = trace_state__thread(a->st, tid);
		struct top_item it = { .delay = d, .begin = (int64_t)begin_ns,
				       .end = (int64_t)end_ns, .a = tid, .b = waker,
				       .c = a->cur_cpu };

		snprintf(it.text, 48, "%s", t ? t->comm : "");
		snprintf(it.text + 48, 48, "%s", w ? w->comm : "");
		it.a = (int64_t)((uint64_t)(uint32_t)tid | (uint64_t)(uint32_t)prio << 32);
		topn__add(a->top, &it);
	}
}

void an_sched__event(struct an_sched *a, const struct trace_event *ev,
		     const struct kev_class *kc)
{
	int64_t tid, prio = -1;

	switch (kc->kind) {
	case KEV_SCHED_WAKING:
		a->have_waking = true;
		break;
	case KEV_SCHED_WAKEUP:
		if (a->have_waking)
			return;
		break;
	case KEV_SCHED_WAKEUP_NEW:
		break;
	case KEV_SCHED_SWITCH:
		if (trace_event__int_at(ev, kc->f[KF_NEXT_TID], &tid) || tid == 0)
			return;
		a->cur_cpu = ev->cpu;
		trace_pair__end(a->pair, &(int32_t){ (int32_t)tid }, sizeof(int32_t),
				(uint64_t)ev->ts_ns);
		return;
	default:
		return;
	}
	if (trace_event__int_at(ev, kc->f[KF_TID], &tid))
		return;
	trace_event__int_at(ev, kc->f[KF_PRIO], &prio);
	trace_pair__begin(a->pair, &(int32_t){ (int32_t)tid }, sizeof(int32_t),
			  (uint64_t)ev->ts_ns,
			  pack(trace_state__current_tid(a->st, ev->cpu), (int)prio));
}

static void row_text(FILE *f, const struct trace_stat *s)
{
	fprintf(f, " %8llu %12.3f %12.3f %12.3f %12.3f\n", (unsigned long long)s->count,
		(double)s->min / 1e3, s->mean / 1e3, (double)s->max / 1e3,
		trace_stat__stddev(s) / 1e3);
}

static void row_json(FILE *f, const struct trace_stat *s)
{
	fprintf(f, "\"count\": %llu, \"min_ns\": %llu, \"avg_ns\": %.1f, \"max_ns\": %llu, "
		   "\"stddev_ns\": %.1f",
		(unsigned long long)s->count, (unsigned long long)s->min, s->mean,
		(unsigned long long)s->max, trace_stat__stddev(s));
	stat_json_percentiles(f, s);
	fputc('}', f);
}

void an_sched__print(struct an_sched *a, FILE *f, bool json)
{
	size_t nt = 0, np = 0, ntop = 0;
	struct stat_row *tr = stat_table__sorted(a->per_tid, &nt);
	struct stat_row *pr = stat_table__sorted(a->per_prio, &np);
	struct top_item *top = topn__sorted(a->top, &ntop);
	struct trace_pair_stats ps;
	const char *src = a->have_waking ? "sched_waking" : "sched_wakeup";
	char t1[32], t2[32], c1[64], c2[64];

	trace_pair__stats(a->pair, &ps);
	if (json) {
		fprintf(f, "\"sched\": {\"wakeup_event\": \"%s\", \"threads\": [", src);
		for (size_t i = 0; i < nt; i++) {
			const struct trace_thread *t = trace_state__thread(a->st, (int32_t)tr[i].key);

			fprintf(f, "%s\n  {\"tid\": %lld, \"comm\": ", i ? "," : "",
				(long long)tr[i].key);
			fmt_json_str(f, t ? t->comm : "");
			fprintf(f, ", \"prio\": %lld, ", (long long)tr[i].extra);
			row_json(f, &tr[i].stat);
		}
		fputs("],\n \"priorities\": [", f);
		for (size_t i = 0; i < np; i++) {
			fprintf(f, "%s{\"prio\": %lld, ", i ? ", " : "", (long long)pr[i].key);
			row_json(f, &pr[i].stat);
		}
		if (a->o->freq) {
			fputs("],\n \"freq\": [", f);
			for (size_t i = 0; i < np; i++) {
				char name[32];

				snprintf(name, sizeof(name), "prio %lld", (long long)pr[i].key);
				fputs(i ? ", " : "", f);
				stat_freq_print(f, name, &pr[i].stat, a->o->freq, true);
			}
		}
		fputs("],\n \"top\": [", f);
		for (size_t i = 0; i < ntop; i++) {
			fprintf(f, "%s\n  {\"wakeup_ns\": %lld, \"switch_in_ns\": %lld, "
				   "\"latency_ns\": %llu, \"tid\": %lld, \"comm\": ",
				i ? "," : "", (long long)top[i].begin, (long long)top[i].end,
				(unsigned long long)top[i].delay, (long long)(int32_t)top[i].a);
			fmt_json_str(f, top[i].text);
			fprintf(f, ", \"prio\": %d, \"cpu\": %lld, \"waker_tid\": %lld, "
				   "\"waker_comm\": ", (int)(top[i].a >> 32), (long long)top[i].c,
				(long long)top[i].b);
			fmt_json_str(f, top[i].text + 48);
			fputc('}', f);
		}
		fprintf(f, "],\n \"never_switched_in\": %llu, \"rewoken\": %llu, "
			   "\"filtered_out\": %llu, \"dropped\": %llu}",
			(unsigned long long)ps.in_flight, (unsigned long long)ps.replaced,
			(unsigned long long)a->filtered, (unsigned long long)ps.dropped);
		goto out;
	}
	fprintf(f, "Wake-up latency per thread (usec): %s -> sched_switch in\n"
		   "  %-34s %8s %12s %12s %12s %12s\n", src, "", "Count", "Min", "Avg", "Max",
		"Stdev");
	for (size_t i = 0; i < nt; i++) {
		const struct trace_thread *t = trace_state__thread(a->st, (int32_t)tr[i].key);
		char name[80];

		fmt_text_buf(c1, sizeof(c1), t && t->comm[0] ? t->comm : "?");
		snprintf(name, sizeof(name), "%s (tid %lld, prio %lld)", c1, (long long)tr[i].key,
			 (long long)tr[i].extra);
		fprintf(f, "  %-34s", name);
		row_text(f, &tr[i].stat);
	}
	if (!nt)
		fputs("  (no wake-up completed)\n", f);
	fprintf(f, "\nWake-up latency per priority (usec)\n");
	for (size_t i = 0; i < np; i++) {
		char name[32];

		snprintf(name, sizeof(name), "prio %lld", (long long)pr[i].key);
		fprintf(f, "  %-34s", name);
		row_text(f, &pr[i].stat);
	}
	if (a->o->freq) {
		fputs("\nWake-up latency distributions per priority\n", f);
		for (size_t i = 0; i < np; i++) {
			char name[32];

			snprintf(name, sizeof(name), "prio %lld", (long long)pr[i].key);
			stat_freq_print(f, name, &pr[i].stat, a->o->freq, false);
		}
	}
	fprintf(f, "\nTop %zu wake-up latencies\n%-18s %-18s %12s  %-16s %7s %4s %3s  %s\n", ntop,
		"Wake-up", "Switch-in", "Latency(us)", "Comm", "TID", "Prio", "CPU", "Waker");
	for (size_t i = 0; i < ntop; i++) {
		fmt_clock(t1, sizeof(t1), top[i].begin);
		fmt_clock(t2, sizeof(t2), top[i].end);
		fmt_text_buf(c1, sizeof(c1), top[i].text[0] ? top[i].text : "?");
		fmt_text_buf(c2, sizeof(c2), top[i].text[48] ? top[i].text + 48 : "?");
		fprintf(f, "%-18s %-18s %12.3f  %-16s %7lld %4d %3lld  %s (tid %lld)\n", t1, t2,
			(double)top[i].delay / 1e3, c1, (long long)(int32_t)top[i].a,
			(int)(top[i].a >> 32), (long long)top[i].c, c2, (long long)top[i].b);
	}
	fprintf(f, "\n%llu woken threads not run again before the end of the trace, "
		   "%llu woken again before running",
		(unsigned long long)ps.in_flight, (unsigned long long)ps.replaced);
	if (a->filtered)
		fprintf(f, ", %llu left out by filters", (unsigned long long)a->filtered);
	if (ps.dropped)
		fprintf(f, ", %llu wake-ups dropped (more than %d waiting)",
			(unsigned long long)ps.dropped, SCHED_IN_FLIGHT);
	fputs(".\n", f);
out:
	free(tr);
	free(pr);
	free(top);
}
