/* Block I/O (`io`): request latency per disk, from block_rq_issue (the
 * driver got it) to block_rq_complete, paired on (device, sector) through
 * trace_pair (lt_tracker).  lttng-modules records dev as the kernel's
 * dev_t (major << 20 | minor); it prints as MAJOR,MINOR like /proc does.
 * The latency of I/O syscalls is in the `syscalls` analysis (read, write,
 * fsync, ... rows). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"
#include "stat_table.h"
#include "trace_pair.h"

#define IO_IN_FLIGHT 16384

struct an_io {
	const struct report_opts *o;
	struct trace_pair *pair;
	struct stat_table *per_dev;
	struct topn *top;
	uint64_t filtered;
};

struct key {
	uint64_t sector;
	uint32_t dev;
	uint32_t pad;
};

static void on_pair(const void *key, size_t key_len, uint64_t begin_ns, uint64_t end_ns,
		    void *priv, void *ctx)
{
	struct an_io *a = ctx;
	struct key k;
	uint64_t d = end_ns - begin_ns;
	struct stat_row *r;

	(void)key_len;
	(void)priv;
	memcpy(&k, key, sizeof(k));
	if (!report_opts__delay_ok(a->o, d)) {
		a->filtered++;
		return;
	}
	r = stat_table__get(a->per_dev, k.dev);
	if (r)
		trace_stat__record(&r->stat, d);
	if (a->o->windows || a->o->pics || a->o->sample) {
		char name[32];

		snprintf(name, sizeof(name), "disk %u,%u", k.dev >> 20, k.dev & 0xfffff);
		if (a->o->windows)
			an_windows__record(a->o->windows, name, d, end_ns);
		report_opts__picture(a->o, name, end_ns, d);
		report_opts__sample(a->o, AN_TRK_BLOCK, name, -1, end_ns, d);
	}
	if (topn__wants(a->top, d, (int64_t)begin_ns)) {
		struct top_item it = { .delay = d, .begin = (int64_t)begin_ns,
				       .end = (int64_t)end_ns, .a = k.dev, .b = (int64_t)k.sector };

		topn__add(a->top, &it);
	}
}

struct an_io *an_io__new(const struct report_opts *o)
{
	struct an_io *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->o = o;
	a->pair = trace_pair__new(sizeof(struct key), IO_IN_FLIGHT, on_pair, a);
	a->per_dev = stat_table__new();
	a->top = topn__new(o->limit);
	if (!a->pair || !a->per_dev || !a->top) {
		an_io__destroy(a);
		return NULL;
	}
	return a;
}

void an_io__destroy(struct an_io *a)
{
	if (!a)
		return;
	trace_pair__destroy(a->pair);
	stat_table__destroy(a->per_dev);
	topn__destroy(a->top);
	free(a);
}

void an_io__event(struct an_io *a, const struct trace_event *ev, const struct kev_class *kc)
{
	struct key k = { 0 };
	int64_t dev, sector;

	if (kc->kind != KEV_BLOCK_RQ_ISSUE && kc->kind != KEV_BLOCK_RQ_COMPLETE)
		return;
	if (trace_event__int_at(ev, kc->f[KF_DEV], &dev) ||
	    trace_event__int_at(ev, kc->f[KF_SECTOR], &sector))
		return;
	k.dev = (uint32_t)dev;
	k.sector = (uint64_t)sector;
	if (kc->kind == KEV_BLOCK_RQ_ISSUE)
		trace_pair__begin(a->pair, &k, sizeof(k), (uint64_t)ev->ts_ns, NULL);
	else
		trace_pair__end(a->pair, &k, sizeof(k), (uint64_t)ev->ts_ns);
}

void an_io__print(struct an_io *a, FILE *f, bool json)
{
	size_t n = 0, ntop = 0;
	struct stat_row *r = stat_table__sorted(a->per_dev, &n);
	struct top_item *top = topn__sorted(a->top, &ntop);
	struct trace_pair_stats ps;
	char t1[32], t2[32];

	trace_pair__stats(a->pair, &ps);
	if (json) {
		fputs("\"io\": {\"disks\": [", f);
		for (size_t i = 0; i < n; i++) {
			const struct trace_stat *s = &r[i].stat;

			fprintf(f, "%s{\"dev\": \"%lld,%lld\", \"count\": %llu, \"min_ns\": %llu, "
				   "\"avg_ns\": %.1f, \"max_ns\": %llu, \"stddev_ns\": %.1f",
				i ? ", " : "", (long long)(r[i].key >> 20), (long long)(r[i].key & 0xfffff),
				(unsigned long long)s->count, (unsigned long long)s->min, s->mean,
				(unsigned long long)s->max, trace_stat__stddev(s));
			stat_json_percentiles(f, s);
			fputc('}', f);
		}
		if (a->o->freq) {
			fputs("],\n \"freq\": [", f);
			for (size_t i = 0; i < n; i++) {
				char name[32];

				snprintf(name, sizeof(name), "%lld,%lld", (long long)(r[i].key >> 20),
					 (long long)(r[i].key & 0xfffff));
				fputs(i ? ", " : "", f);
				stat_freq_print(f, name, &r[i].stat, a->o->freq, true);
			}
		}
		fputs("],\n \"top\": [", f);
		for (size_t i = 0; i < ntop; i++)
			fprintf(f, "%s{\"issue_ns\": %lld, \"complete_ns\": %lld, \"latency_ns\": %llu, "
				   "\"dev\": \"%lld,%lld\", \"sector\": %lld}",
				i ? ", " : "", (long long)top[i].begin, (long long)top[i].end,
				(unsigned long long)top[i].delay, (long long)(top[i].a >> 20),
				(long long)(top[i].a & 0xfffff), (long long)top[i].b);
		fprintf(f, "], \"never_completed\": %llu, \"unmatched_completions\": %llu, "
			   "\"filtered_out\": %llu, \"dropped\": %llu}",
			(unsigned long long)ps.in_flight, (unsigned long long)ps.unmatched,
			(unsigned long long)a->filtered, (unsigned long long)ps.dropped);
		goto out;
	}
	fprintf(f, "Block request latency per disk (usec): block_rq_issue -> block_rq_complete\n"
		   "  %-30s %8s %12s %12s %12s %12s\n", "", "Count", "Min", "Avg", "Max", "Stdev");
	for (size_t i = 0; i < n; i++) {
		const struct trace_stat *s = &r[i].stat;
		char name[32];

		snprintf(name, sizeof(name), "dev %lld,%lld", (long long)(r[i].key >> 20),
			 (long long)(r[i].key & 0xfffff));
		fprintf(f, "  %-30s %8llu %12.3f %12.3f %12.3f %12.3f\n", name,
			(unsigned long long)s->count, (double)s->min / 1e3, s->mean / 1e3,
			(double)s->max / 1e3, trace_stat__stddev(s) / 1e3);
	}
	if (!n)
		fputs("  (no block request completed)\n", f);
	if (a->o->freq) {
		fputs("\nBlock request latency distributions\n", f);
		for (size_t i = 0; i < n; i++) {
			char name[32];

			snprintf(name, sizeof(name), "dev %lld,%lld", (long long)(r[i].key >> 20),
				 (long long)(r[i].key & 0xfffff));
			stat_freq_print(f, name, &r[i].stat, a->o->freq, false);
		}
	}
	if (ntop) {
		fprintf(f, "\nTop %zu block requests\n%-18s %-18s %12s  %-10s %s\n", ntop, "Issue",
			"Complete", "Latency(us)", "Dev", "Sector");
		for (size_t i = 0; i < ntop; i++) {
			char dev[32];

			fmt_clock(t1, sizeof(t1), top[i].begin);
			fmt_clock(t2, sizeof(t2), top[i].end);
			snprintf(dev, sizeof(dev), "%lld,%lld", (long long)(top[i].a >> 20),
				 (long long)(top[i].a & 0xfffff));
			fprintf(f, "%-18s %-18s %12.3f  %-10s %lld\n", t1, t2,
				(double)top[i].delay / 1e3, dev, (long long)top[i].b);
		}
	}
	fprintf(f, "\n%llu requests issued and not completed by the end of the trace, %llu "
		   "completions of requests issued before it\n",
		(unsigned long long)ps.in_flight, (unsigned long long)ps.unmatched);
out:
	free(r);
	free(top);
}
