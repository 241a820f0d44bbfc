/* Interrupts (`irq`): hard IRQ handler durations per IRQ
 * (irq_handler_entry -> irq_handler_exit on one CPU), softirq durations
 * per vector (irq_softirq_entry -> exit) and softirq raise latency
 * (irq_softirq_raise -> irq_softirq_entry of that vector on that CPU).
 *
 * A vector raised again while already pending keeps its first raise: the
 * latency is how long the work waited since it was first asked for (the
 * LTTng analyses measured the same).  Pairings go through trace_pair
 * (lt_tracker) keyed by (CPU, IRQ or vector). */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"
#include "stat_table.h"
#include "trace_pair.h"

#define IRQ_IN_FLIGHT 1024
#define NVEC 10
#define MAX_CPUS 4096

static const char *const vec_names[NVEC] = {
	"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED",
	"HRTIMER", "RCU",
};

enum { P_HARD, P_SOFT, P_RAISE, P_N };

struct an_irq {
	const struct report_opts *o;
	struct trace_pair *pair[P_N];
	struct stat_table *tab[P_N];
	char (*irq_name)[32]; /* by IRQ number, names from irq_handler_entry */
	int nirq_name;
	uint16_t *pending;    /* per CPU: vectors raised, not yet entered */
	int cur;              /* which pairing the callback completes */
	uint64_t filtered;
};

struct key {
	int32_t cpu;
	int32_t n;
};

static void on_pair(const void *key, size_t key_len, uint64_t begin_ns, uint64_t end_ns,
		    void *priv, void *ctx)
{
	struct an_irq *a = ctx;
	struct key k;
	uint64_t d = end_ns - begin_ns;
	struct stat_row *r;

	(void)key_len;
	(void)priv;
	memcpy(&k, key, sizeof(k));
	if (!report_opts__delay_ok(a->o, d) ||
	    (a->o->cpu >= 0 && k.cpu != a->o->cpu)) {
		a->filtered++;
		return;
	}
	r = stat_table__get(a->tab[a->cur], k.n);
	if (r)
		trace_stat__record(&r->stat, d);
	if (a->o->windows || a->o->pics || a->o->sample) {
		char name[64];

		if (a->cur == P_HARD)
			snprintf(name, sizeof(name), "irq %d", k.n);
		else
			snprintf(name, sizeof(name), "%s %s", a->cur == P_SOFT ? "softirq" : "raise",
				 k.n >= 0 && k.n < NVEC ? vec_names[k.n] : "?");
		if (a->o->windows)
			an_windows__record(a->o->windows, name, d, end_ns);
		report_opts__picture(a->o, name, end_ns, d);
		report_opts__sample(a->o, AN_TRK_IRQ, name, -1, end_ns, d);
	}
}

struct an_irq *an_irq__new(const struct report_opts *o)
{
	struct an_irq *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->o = o;
	a->pending = calloc(MAX_CPUS, sizeof(*a->pending));
	if (!a->pending)
		goto fail;
	for (int i = 0; i < P_N; i++) {
		a->pair[i] = trace_pair__new(sizeof(struct key), IRQ_IN_FLIGHT, on_pair, a);
		a->tab[i] = stat_table__new();
		if (!a->pair[i] || !a->tab[i])
			goto fail;
	}
	return a;
fail:
	an_irq__destroy(a);
	return NULL;
}

void an_irq__destroy(struct an_irq *a)
{
	if (!a)
		return;
	for (int i = 0; i < P_N; i++) {
		trace_pair__destroy(a->pair[i]);
		stat_table__destroy(a->tab[i]);
	}
	free(a->irq_name);
	free(a->pending);
	free(a);
}

static void name_irq(struct an_irq *a, int irq, const char *name)
{
	if (irq < 0 || irq > 65535)
		return;
	if (irq >= a->nirq_name) {
		int n = irq + 64;
		char (*x)[32] = realloc(a->irq_name, (size_t)n * sizeof(*x));

		if (!x)
			return;
		memset(x + a->nirq_name, 0, (size_t)(n - a->nirq_name) * sizeof(*x));
		a->irq_name = x;
		a->nirq_name = n;
	}
	snprintf(a->irq_name[irq], sizeof(a->irq_name[irq]), "%s", name);
}

void an_irq__event(struct an_irq *a, const struct trace_event *ev, const struct kev_class *kc)
{
	struct key k = { .cpu = ev->cpu };
	int64_t v;
	const char *s;
	uint64_t ts = (uint64_t)ev->ts_ns;

	switch (kc->kind) {
	case KEV_IRQ_ENTRY:
	case KEV_IRQ_EXIT:
		if (trace_event__int_at(ev, kc->f[KF_IRQ], &v))
			return;
		k.n = (int32_t)v;
		a->cur = P_HARD;
		if (kc->kind == KEV_IRQ_EXIT) {
			trace_pair__end(a->pair[P_HARD], &k, sizeof(k), ts);
			return;
		}
		if (!trace_event__str_at(ev, kc->f[KF_NAME], &s))
			name_irq(a, k.n, s);
		trace_pair__begin(a->pair[P_HARD], &k, sizeof(k), ts, NULL);
		return;
	case KEV_SOFTIRQ_RAISE:
	case KEV_SOFTIRQ_ENTRY:
	case KEV_SOFTIRQ_EXIT:
		if (trace_event__int_at(ev, kc->f[KF_VEC], &v) || v < 0 || v >= NVEC)
			return;
		k.n = (int32_t)v;
		break;
	default:
		return;
	}
	if (kc->kind == KEV_SOFTIRQ_RAISE) {
		if (ev->cpu >= 0 && ev->cpu < MAX_CPUS) {
			if (a->pending[ev->cpu] & (1u << v))
				return; /* already pending: the first raise counts */
			a->pending[ev->cpu] |= (uint16_t)(1u << v);
		}
		trace_pair__begin(a->pair[P_RAISE], &k, sizeof(k), ts, NULL);
	} else if (kc->kind == KEV_SOFTIRQ_ENTRY) {
		if (ev->cpu >= 0 && ev->cpu < MAX_CPUS)
			a->pending[ev->cpu] &= (uint16_t)~(1u << v);
		a->cur = P_RAISE;
		trace_pair__end(a->pair[P_RAISE], &k, sizeof(k), ts);
		trace_pair__begin(a->pair[P_SOFT], &k, sizeof(k), ts, NULL);
	} else {
		a->cur = P_SOFT;
		trace_pair__end(a->pair[P_SOFT], &k, sizeof(k), ts);
	}
}

static const char *row_name(const struct an_irq *a, int p, int64_t n, char *buf, size_t len)
{
	char esc[64];

	if (p == P_HARD) {
		fmt_text_buf(esc, sizeof(esc),
			     n >= 0 && n < a->nirq_name && a->irq_name[n][0] ? a->irq_name[n] : "?");
		snprintf(buf, len, "%lld %s", (long long)n, esc);
	} else {
		snprintf(buf, len, "%lld %s", (long long)n, n >= 0 && n < NVEC ? vec_names[n] : "?");
	}
	return buf;
}

void an_irq__print(struct an_irq *a, FILE *f, bool json)
{
	static const char *const title[P_N] = {
		"Hard IRQ handler duration per IRQ (usec)",
		"Softirq duration per vector (usec)",
		"Softirq raise latency per vector (usec): raise -> entry",
	};
	static const char *const jname[P_N] = { "hard", "soft", "raise" };
	char name[96];

	if (json)
		fputs("\"irq\": {", f);
	for (int p = 0; p < P_N; p++) {
		size_t n = 0;
		struct stat_row *r = stat_table__sorted(a->tab[p], &n);

		if (json) {
			fprintf(f, "%s\"%s\": [", p ? ",\n " : "", jname[p]);
			for (size_t i = 0; i < n; i++) {
				const struct trace_stat *s = &r[i].stat;

				fprintf(f, "%s{\"%s\": %lld, ", i ? ", " : "", p ? "vec" : "irq",
					(long long)r[i].key);
				if (p == P_HARD) {
					fputs("\"name\": ", f);
					fmt_json_str(f, r[i].key >= 0 && r[i].key < a->nirq_name
								? a->irq_name[r[i].key] : "");
				} else {
					fprintf(f, "\"name\": \"%s\"",
						r[i].key < NVEC ? vec_names[r[i].key] : "?");
				}
				fprintf(f, ", \"count\": %llu, \"min_ns\": %llu, \"avg_ns\": %.1f, "
					   "\"max_ns\": %llu, \"stddev_ns\": %.1f",
					(unsigned long long)s->count, (unsigned long long)s->min,
					s->mean, (unsigned long long)s->max, trace_stat__stddev(s));
				stat_json_percentiles(f, s);
				fputc('}', f);
			}
			fputc(']', f);
			if (a->o->freq) {
				fprintf(f, ", \"%s_freq\": [", jname[p]);
				for (size_t i = 0; i < n; i++) {
					fputs(i ? ", " : "", f);
					stat_freq_print(f, row_name(a, p, r[i].key, name, sizeof(name)),
							&r[i].stat, a->o->freq, true);
				}
				fputc(']', f);
			}
		} else {
			fprintf(f, "%s%s\n  %-30s %8s %12s %12s %12s %12s\n", p ? "\n" : "", title[p], "",
				"Count", "Min", "Avg", "Max", "Stdev");
			for (size_t i = 0; i < n; i++) {
				const struct trace_stat *s = &r[i].stat;

				fprintf(f, "  %-30s %8llu %12.3f %12.3f %12.3f %12.3f\n",
					row_name(a, p, r[i].key, name, sizeof(name)),
					(unsigned long long)s->count, (double)s->min / 1e3,
					s->mean / 1e3, (double)s->max / 1e3,
					trace_stat__stddev(s) / 1e3);
			}
			if (!n)
				fputs("  (none)\n", f);
			for (size_t i = 0; a->o->freq && i < n; i++)
				stat_freq_print(f, row_name(a, p, r[i].key, name, sizeof(name)), &r[i].stat,
						a->o->freq, false);
		}
		free(r);
	}
	if (json)
		fprintf(f, ", \"filtered_out\": %llu}", (unsigned long long)a->filtered);
	else if (a->filtered)
		fprintf(f, "%llu left out by filters\n", (unsigned long long)a->filtered);
}
