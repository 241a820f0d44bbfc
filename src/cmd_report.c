/* `latrack report`: analyses of LTTng traces, offline (a CTF directory) or
 * live (an lttng-relayd URL, refreshed every -r seconds).
 *
 * Flow: trace_source hands each event over; trace_state classifies it (once
 * per event class) and keeps who runs where; each enabled analysis sees the
 * event before the state applies it; at the end (or at each live refresh)
 * the report prints the trace summary, the discarded events, and each
 * analysis, as text or as one JSON document. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "cmd.h"
#include "report_fmt.h"
#include "trace_pair.h"
#include "trace_source.h"
#include "trace_state.h"
#include "units.h"

#define DISCARDED_KEPT 32
#define PAIRS_MAX 16

struct report {
	struct report_opts o;
	const char *input;
	struct trace_source *src;
	struct trace_state *st;
	struct an_syscalls *sys;
	struct an_pairs *pairs;
	struct an_sched *sched;
	struct an_irq *irq;
	struct an_io *io;
	struct pair_spec spec[PAIRS_MAX];
	int nspec;
	bool want_stats, want_top, want_sched, want_irq, want_io, want_windows;
	bool want_windows_sys;  /* syscalls measured for the windows only */
	bool live;
	int err;
	struct trace_discarded disc[DISCARDED_KEPT];
	char disc_stream[DISCARDED_KEPT][128];
	size_t ndisc;
	unsigned refreshes;
	/* --begin / --end, resolved against the first event's time */
	const char *begin_arg, *end_arg;
	int64_t begin_ns, end_ns;
	bool window_set;
	const char *svg_path;           /* --svg FILE */
	struct lat_pics_sel svg_sel;    /* --svg-classes, --svg-sort */
};

/* A time of the trace: "+DURATION" after its first event, "HH:MM:SS[.f]"
 * (UTC) on the first event's day, or ns since the Unix epoch. */
static int parse_time(const char *s, int64_t first_ns, int64_t *out)
{
	uint64_t d;
	unsigned h, m;
	double sec;
	char *end;
	int n = 0;

	if (s[0] == '+') {
		if (lt_parse_duration(s + 1, &d))
			return -EINVAL;
		*out = first_ns + (int64_t)d;
		return 0;
	}
	if (sscanf(s, "%u:%u:%lf%n", &h, &m, &sec, &n) == 3 && !s[n] && h < 24 && m < 60 &&
	    sec >= 0 && sec < 61) {
		int64_t day = first_ns - first_ns % (86400LL * 1000000000LL);

		*out = day + ((int64_t)h * 3600 + m * 60) * 1000000000LL + (int64_t)(sec * 1e9 + 0.5);
		return 0;
	}
	*out = (int64_t)strtoll(s, &end, 10);
	return *end || end == s ? -EINVAL : 0;
}

bool report_opts__thread_ok(const struct report_opts *o, const struct trace_state *st,
			    int32_t tid)
{
	if (o->ntids) {
		int i;

		for (i = 0; i < o->ntids && o->tids[i] != tid; i++)
			;
		if (i == o->ntids)
			return false;
	}
	if (o->comm) {
		const struct trace_thread *th = trace_state__thread(st, tid);

		if (!th || strcmp(th->comm, o->comm))
			return false;
	}
	return true;
}

static int on_event(const struct trace_event *ev, void *ctx)
{
	struct report *r = ctx;
	struct kev_class *kc = trace_state__classify(r->st, ev);

	if (!kc) {
		r->err = -ENOMEM;
		return -ENOMEM;
	}
	if (!r->window_set) {
		r->window_set = true;
		if (r->begin_arg)
			parse_time(r->begin_arg, ev->ts_ns, &r->begin_ns);
		if (r->end_arg)
			parse_time(r->end_arg, ev->ts_ns, &r->end_ns);
		if (r->o.pics)
			lat_pics__set_origin(r->o.pics, r->begin_arg ? r->begin_ns : ev->ts_ns);
	}
	if ((r->begin_arg && ev->ts_ns < r->begin_ns) || (r->end_arg && ev->ts_ns > r->end_ns)) {
		/* outside the window: the state still follows the trace */
		if (r->end_arg && ev->ts_ns > r->end_ns && !r->live)
			return 1; /* nothing more to measure: stop reading */
		if (kc->kind != KEV_OTHER)
			trace_state__update(r->st, ev, kc);
		return 0;
	}
	if (r->pairs)
		an_pairs__event(r->pairs, ev, kc);
	if (kc->kind == KEV_OTHER)
		return 0;
	if (r->sys)
		an_syscalls__event(r->sys, ev, kc);
	if (r->sched)
		an_sched__event(r->sched, ev, kc);
	if (r->irq)
		an_irq__event(r->irq, ev, kc);
	if (r->io)
		an_io__event(r->io, ev, kc);
	trace_state__update(r->st, ev, kc);
	return 0;
}

static void on_discarded(const struct trace_discarded *d, void *ctx)
{
	struct report *r = ctx;

	if (r->ndisc < DISCARDED_KEPT) {
		r->disc[r->ndisc] = *d;
		snprintf(r->disc_stream[r->ndisc], sizeof(r->disc_stream[0]), "%s", d->stream);
		r->disc[r->ndisc].stream = r->disc_stream[r->ndisc];
		r->ndisc++;
	}
}

/* One JSON string per line of the source's warnings. */
static void print_warnings_json(struct report *r, FILE *f)
{
	const char *w = trace_source__warnings(r->src);
	char line[4096];
	bool first = true;

	while (w && *w) {
		size_t n = strcspn(w, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)n, w);
		w += n + (w[n] == '\n');
		if (!line[strspn(line, " ")])
			continue;
		fputs(first ? "" : ", ", f);
		fmt_json_str(f, line + strspn(line, " "));
		first = false;
	}
}

static void print_warnings_text(struct report *r, FILE *f, const char *prefix)
{
	const char *w = trace_source__warnings(r->src);
	char line[4096];

	while (w && *w) {
		size_t n = strcspn(w, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)n, w);
		w += n + (w[n] == '\n');
		fputs(line[0] == ' ' ? "" : prefix, f);
		fmt_text_str(f, line);
		fputc('\n', f);
	}
}

static void print_report(struct report *r, FILE *f)
{
	struct trace_source_stats ss;
	char t1[32], t2[32];

	trace_source__stats(r->src, &ss);
	if (r->o.json) {
		fputs("{\"trace\": {\"input\": ", f);
		fmt_json_str(f, r->input);
		fprintf(f, ", \"traces\": %u, \"events\": %llu, \"first_ns\": %lld, \"last_ns\": %lld},\n",
			ss.traces, (unsigned long long)ss.events, (long long)ss.first_ns,
			(long long)ss.last_ns);
		fprintf(f, "\"discarded\": {\"events\": %llu, \"packets\": %llu, \"reports\": %llu, "
			   "\"ranges\": [",
			(unsigned long long)ss.discarded_events, (unsigned long long)ss.discarded_packets,
			(unsigned long long)ss.discarded_msgs);
		for (size_t i = 0; i < r->ndisc; i++) {
			const struct trace_discarded *d = &r->disc[i];

			fprintf(f, "%s{\"what\": \"%s\", \"count\": ", i ? ", " : "",
				d->packets ? "packets" : "events");
			if (d->count_known)
				fprintf(f, "%llu", (unsigned long long)d->count);
			else
				fputs("null", f);
			fputs(", \"stream\": ", f);
			fmt_json_str(f, d->stream);
			if (d->range_known)
				fprintf(f, ", \"begin_ns\": %lld, \"end_ns\": %lld", (long long)d->begin_ns,
					(long long)d->end_ns);
			fputc('}', f);
		}
		fputs("]},\n\"warnings\": [", f);
		print_warnings_json(r, f);
		fputc(']', f);
		if (r->want_stats) {
			fputs(",\n", f);
			an_syscalls__print_stats(r->sys, f, true);
		}
		if (r->want_top) {
			fputs(",\n", f);
			an_syscalls__print_top(r->sys, f, true);
		}
		if (r->sched) {
			fputs(",\n", f);
			an_sched__print(r->sched, f, true);
		}
		if (r->irq) {
			fputs(",\n", f);
			an_irq__print(r->irq, f, true);
		}
		if (r->io) {
			fputs(",\n", f);
			an_io__print(r->io, f, true);
		}
		if (r->pairs) {
			fputs(",\n", f);
			an_pairs__print(r->pairs, f, true);
		}
		if (r->o.windows) {
			fputs(",\n", f);
			an_windows__print(r->o.windows, f, true);
		}
		fputs("}\n", f);
		fflush(f);
		return;
	}
	fmt_clock(t1, sizeof(t1), ss.first_ns);
	fmt_clock(t2, sizeof(t2), ss.last_ns);
	fputs("Trace: ", f);
	fmt_text_str(f, r->input);
	if (ss.traces > 1)
		fprintf(f, " (%u traces merged)", ss.traces);
	fprintf(f, "\n%llu events, %s to %s UTC (%.6f s)\n", (unsigned long long)ss.events, t1, t2,
		(double)(ss.last_ns - ss.first_ns) / 1e9);
	if (r->begin_arg || r->end_arg) {
		fmt_clock(t1, sizeof(t1), r->begin_arg ? r->begin_ns : ss.first_ns);
		fmt_clock(t2, sizeof(t2), r->end_arg ? r->end_ns : ss.last_ns);
		fprintf(f, "Measured from %s to %s UTC (--begin/--end)\n", t1, t2);
	}
	if (ss.discarded_msgs) {
		fprintf(f, "WARNING: the tracer discarded %llu events and %llu packets "
			   "(%llu reports): its buffers were full; latencies spanning these "
			   "ranges are missing or wrong:\n",
			(unsigned long long)ss.discarded_events,
			(unsigned long long)ss.discarded_packets, (unsigned long long)ss.discarded_msgs);
		for (size_t i = 0; i < r->ndisc; i++) {
			const struct trace_discarded *d = &r->disc[i];

			fputs("  ", f);
			if (d->count_known)
				fprintf(f, "%llu", (unsigned long long)d->count);
			else
				fputs("some", f);
			fprintf(f, " %s", d->packets ? "packets" : "events");
			if (d->range_known) {
				fmt_clock(t1, sizeof(t1), d->begin_ns);
				fmt_clock(t2, sizeof(t2), d->end_ns);
				fprintf(f, " between %s and %s", t1, t2);
			}
			fputs(" in ", f);
			fmt_text_str(f, d->stream[0] ? d->stream : "(unnamed stream)");
			fputc('\n', f);
		}
		if (ss.discarded_msgs > r->ndisc)
			fprintf(f, "  ... and %llu more\n",
				(unsigned long long)(ss.discarded_msgs - r->ndisc));
	} else {
		fputs("No events discarded.\n", f);
	}
	print_warnings_text(r, f, "WARNING: ");
	if (r->want_stats) {
		fputc('\n', f);
		an_syscalls__print_stats(r->sys, f, false);
	}
	if (r->want_top) {
		fputc('\n', f);
		an_syscalls__print_top(r->sys, f, false);
	}
	if (r->sched) {
		fputc('\n', f);
		an_sched__print(r->sched, f, false);
	}
	if (r->irq) {
		fputc('\n', f);
		an_irq__print(r->irq, f, false);
	}
	if (r->io) {
		fputc('\n', f);
		an_io__print(r->io, f, false);
	}
	if (r->pairs) {
		fputc('\n', f);
		an_pairs__print(r->pairs, f, false);
	}
	if (r->o.windows) {
		fputc('\n', f);
		an_windows__print(r->o.windows, f, false);
	}
	fflush(f);
}

static int on_tick(void *ctx)
{
	struct report *r = ctx;

	r->refreshes++;
	if (!r->o.json)
		printf("\n===== refresh %u =====\n", r->refreshes);
	print_report(r, stdout);
	return 0;
}

/* --svg: the heatmaps of what the analyses measured, over the trace's span
 * (or the --begin/--end window). */
static int write_svg(struct report *r)
{
	struct trace_source_stats ss;
	struct lat_pics_page pg = { .what = "LTTng trace" };
	char where[512], err[256];

	trace_source__stats(r->src, &ss);
	snprintf(where, sizeof(where), "trace %s%s", r->input, ss.traces > 1 ? " (merged)" : "");
	pg.where = where;
	pg.t0_ns = r->begin_arg ? r->begin_ns : ss.first_ns;
	pg.t1_ns = r->end_arg && r->end_ns < ss.last_ns ? r->end_ns : ss.last_ns;
	if (lat_pics__write(r->o.pics, r->svg_path, &r->svg_sel, &pg, err, sizeof(err))) {
		fprintf(stderr, "latrack report: --svg: %s\n", err);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: latrack report [OPTIONS] TRACE [ANALYSIS...]\n"
		"       latrack report [OPTIONS] --live URL [ANALYSIS...]\n"
		"\n"
		"Analyse an LTTng kernel trace (CTF): TRACE is the directory LTTng wrote (a\n"
		"trace, or a tree of traces merged in time order); URL is an LTTng live\n"
		"session, net://HOST/host/HOSTNAME/SESSION, reported every -r seconds.\n"
		"\n"
		"Analyses (default: all):\n"
		"  syscalls        per thread and syscall: count, min, avg, max, stddev,\n"
		"                  return values (success, each errno)\n"
		"  latency-top     the slowest syscalls, with thread and times\n"
		"  sched           wake-up latency (waking -> switch-in) per thread and\n"
		"                  priority, with the waker\n"
		"  irq             hard IRQ durations per IRQ; softirq durations and\n"
		"                  raise -> entry latency per vector\n"
		"  io              block request latency (issue -> complete) per disk\n"
		"  windows         rolling windows and change records in trace time, of the\n"
		"                  syscalls (by name) and the pairs (not in the default set)\n"
		"  (with --pair and no analysis named: only the pairs)\n"
		"\n"
		"Options:\n"
		"  --json              one JSON document (ns) instead of text (us)\n"
		"  --limit N           rows of latency-top (default 10)\n"
		"  --tid TID[,TID...]  only these threads\n"
		"  --comm COMM         only threads with this command name\n"
		"  --cpu CPU           only syscalls that ended on this CPU\n"
		"  --min DURATION      leave out latencies below (e.g. 10us, 1.5ms)\n"
		"  --begin TIME, --end TIME\n"
		"                      only events in this window: +DURATION after the\n"
		"                      first event, HH:MM:SS[.f] (UTC), or ns since epoch\n"
		"  --max DURATION      leave out latencies above\n"
		"  --pair NAME=BEGIN..END:FIELD[,FIELD...]\n"
		"                      pair any two events on equal key fields (payload or\n"
		"                      context, integers or strings); nested pairs of one\n"
		"                      key pair innermost first (up to %d --pair)\n"
		"  --freq              latency distributions (frequency histograms)\n"
		"  --freq-resolution N bins of the distributions (default 20; implies --freq)\n"
		"  --slot D, --recent D, --baseline D\n"
		"                      windows: slot length (default 10s), the recent span\n"
		"                      (6 slots) and the baseline before it (60 x recent)\n"
		"  --threshold NAME=DURATION\n"
		"                      count the pairs NAME slower than DURATION\n"
		"  --live URL          read an LTTng live session\n"
		"  --live-wait         wait for the session if it does not exist yet (the\n"
		"                      report then never ends by itself: stop it with ^C)\n"
		"  -r SECONDS          live refresh period (default 1)\n"
		"  --svg FILE          latency heatmaps (time x latency, colour = count) and a\n"
		"                      histogram per class, as one self-contained SVG file\n"
		"                      (docs/PICTURES.md); classes: 'syscall NAME',\n"
		"                      'wake-up', 'irq N', 'softirq VEC', 'raise VEC',\n"
		"                      'disk MAJ,MIN', 'pair NAME'\n"
		"  --svg-classes N|NAME[,NAME...]\n"
		"                      the N first classes (default 8; 0: all), or these\n"
		"  --svg-sort total|count|p99|max\n"
		"                      order of the classes (default total: summed latency)\n"
		"  (--folded/--flame are `latrack run` options: latrack reads no stacks\n"
		"  from LTTng traces, so a trace gives no flame graph)\n"
		"  -v                  show babeltrace2's warnings\n"
		"  -h, --help          this help\n"
		"\n"
		"Examples:\n"
		"  latrack report ~/lttng-traces/mysession-20240101-120000/kernel\n"
		"  latrack report --json --comm wget TRACE syscalls\n"
		"  latrack report --limit 20 --min 1ms TRACE latency-top\n"
		"  latrack report --live net://localhost/host/myhost/mysession -r 5\n"
		"  latrack report TRACE --pair 'plug=app:vif_detected..app:vif_plugged:port'\n"
		"                 --threshold plug=5s\n"
		"  latrack report TRACE syscalls sched --svg lat.svg --svg-classes 4\n"
		"  latrack report TRACE --svg io.svg --svg-classes 'disk 8,16,syscall fsync'\n",
		PAIRS_MAX);
}

static int parse_tids(struct report_opts *o, const char *s)
{
	char *end;

	while (*s) {
		long v = strtol(s, &end, 10);

		if (end == s || v < 0 || v > INT32_MAX || o->ntids == REPORT_MAX_TIDS)
			return -EINVAL;
		o->tids[o->ntids++] = (int32_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -EINVAL;
	}
	return o->ntids ? 0 : -EINVAL;
}

int cmd_report(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'n' },
		{ "tid", required_argument, NULL, 't' },
		{ "comm", required_argument, NULL, 'c' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "min", required_argument, NULL, 'm' },
		{ "max", required_argument, NULL, 'M' },
		{ "live", required_argument, NULL, 'L' },
		{ "live-wait", no_argument, NULL, 'W' },
		{ "pair", required_argument, NULL, 'P' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "begin", required_argument, NULL, 'b' },
		{ "freq", no_argument, NULL, 'F' },
		{ "slot", required_argument, NULL, 'S' },
		{ "recent", required_argument, NULL, 'E' },
		{ "baseline", required_argument, NULL, 'B' },
		{ "freq-resolution", required_argument, NULL, 'R' },
		{ "end", required_argument, NULL, 'e' },
		{ "svg", required_argument, NULL, 'G' },
		{ "svg-classes", required_argument, NULL, 'K' },
		{ "svg-sort", required_argument, NULL, 'O' },
		{ "folded", required_argument, NULL, 'Z' },
		{ "flame", required_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct report r = { .o = { .limit = 10, .cpu = -1 }, .svg_sel = { .top = 8 } };
	struct trace_source_ops ops = { .sz = sizeof(ops) };
	double refresh = 1;
	const char *thresholds[PAIRS_MAX];
	int nthr = 0;
	char *err = NULL, *end;
	int c, ret = 1;
	bool verbose = false;

	while ((c = getopt_long(argc, argv, "r:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			r.o.json = true;
			break;
		case 'n':
			r.o.limit = (unsigned)strtoul(optarg, &end, 10);
			if (*end || r.o.limit > 1000000) {
				fprintf(stderr, "latrack report: --limit takes a count, got '%s'\n", optarg);
				goto usage_err;
			}
			break;
		case 't':
			if (parse_tids(&r.o, optarg)) {
				fprintf(stderr, "latrack report: --tid takes TID[,TID...] (up to %d), "
						"got '%s'\n", REPORT_MAX_TIDS, optarg);
				goto usage_err;
			}
			break;
		case 'c':
			r.o.comm = optarg;
			break;
		case 'C':
			r.o.cpu = (int)strtol(optarg, &end, 10);
			if (*end || r.o.cpu < 0) {
				fprintf(stderr, "latrack report: --cpu takes a CPU number, got '%s'\n",
					optarg);
				goto usage_err;
			}
			break;
		case 'm':
		case 'M':
			if (lt_parse_duration(optarg, c == 'm' ? &r.o.min_ns : &r.o.max_ns)) {
				fprintf(stderr, "latrack report: --%s takes a duration like 250ns, "
						"10us, 1.5ms or 2s, got '%s'\n",
					c == 'm' ? "min" : "max", optarg);
				goto usage_err;
			}
			break;
		case 'L':
			r.input = optarg;
			break;
		case 'W':
			ops.live_wait = true;
			break;
		case 'P': {
			char msg[512];

			if (r.nspec == PAIRS_MAX) {
				fprintf(stderr, "latrack report: at most %d --pair\n", PAIRS_MAX);
				goto usage_err;
			}
			if (pair_spec__parse(&r.spec[r.nspec], optarg, msg, sizeof(msg))) {
				fprintf(stderr, "latrack report: %s\n", msg);
				goto usage_err;
			}
			r.nspec++;
			break;
		}
		case 'T':
			thresholds[nthr++ % PAIRS_MAX] = optarg;
			break;
		case 'S':
		case 'E':
		case 'B':
			if (lt_parse_duration(optarg, c == 'S' ? &r.o.win_slot_ns
						   : c == 'E' ? &r.o.win_recent_ns
							      : &r.o.win_baseline_ns) ||
			    !(c == 'S' ? r.o.win_slot_ns : c == 'E' ? r.o.win_recent_ns
								    : r.o.win_baseline_ns)) {
				fprintf(stderr, "latrack report: --%s takes a duration (> 0), e.g. "
						"10ms; got '%s'\n",
					c == 'S' ? "slot" : c == 'E' ? "recent" : "baseline", optarg);
				goto usage_err;
			}
			break;
		case 'F':
			if (!r.o.freq)
				r.o.freq = 20;
			break;
		case 'R':
			r.o.freq = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !r.o.freq || r.o.freq > 1000) {
				fprintf(stderr, "latrack report: --freq-resolution takes a number of "
						"bins, 1 to 1000; got '%s'\n", optarg);
				goto usage_err;
			}
			break;
		case 'b':
		case 'e': {
			int64_t t;

			if (parse_time(optarg, 0, &t)) {
				fprintf(stderr, "latrack report: --%s takes +DURATION (after the "
						"first event, e.g. +1.5s), HH:MM:SS[.fraction] (UTC) "
						"or ns since the epoch; got '%s'\n",
					c == 'b' ? "begin" : "end", optarg);
				goto usage_err;
			}
			*(c == 'b' ? &r.begin_arg : &r.end_arg) = optarg;
			break;
		}
		case 'r':
			refresh = strtod(optarg, &end);
			if (*end || refresh <= 0) {
				fprintf(stderr, "latrack report: -r takes seconds (> 0), got '%s'\n",
					optarg);
				goto usage_err;
			}
			break;
		case 'G':
			r.svg_path = optarg;
			break;
		case 'K':
			if (lat_pics_sel__parse_classes(&r.svg_sel, optarg)) {
				fprintf(stderr, "latrack report: --svg-classes takes a number (0 to "
						"1000) or class names, e.g. 'syscall read,wake-up'; "
						"got '%s'\n", optarg);
				goto usage_err;
			}
			break;
		case 'O':
			if (lat_pics_sel__parse_sort(&r.svg_sel, optarg)) {
				fprintf(stderr, "latrack report: --svg-sort takes total, count, p99 or "
						"max; got '%s'\n", optarg);
				goto usage_err;
			}
			break;
		case 'Z':
			fprintf(stderr, "latrack report: --folded and --flame need stacks, and "
					"latrack reads none from LTTng traces; they are options of "
					"`latrack run` (see docs/PICTURES.md)\n");
			goto usage_err;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			goto usage_err;
		}
	}
	if (!r.input) {
		if (optind >= argc) {
			fprintf(stderr, "latrack report: which trace? Give a CTF trace directory "
					"or --live URL\n\n");
			usage(stderr);
			goto usage_err;
		}
		r.input = argv[optind++];
	}
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "syscalls")) {
			r.want_stats = true;
		} else if (!strcmp(argv[i], "latency-top")) {
			r.want_top = true;
		} else if (!strcmp(argv[i], "sched")) {
			r.want_sched = true;
		} else if (!strcmp(argv[i], "irq")) {
			r.want_irq = true;
		} else if (!strcmp(argv[i], "io")) {
			r.want_io = true;
		} else if (!strcmp(argv[i], "windows")) {
			r.want_windows = true;
		} else {
			fprintf(stderr, "latrack report: unknown analysis '%s' (known: syscalls, "
					"latency-top, sched, irq, io, windows)\n", argv[i]);
			goto usage_err;
		}
	}
	for (int i = 0; i < nthr && i < PAIRS_MAX; i++) {
		const char *eq = strchr(thresholds[i], '=');
		int k;

		for (k = 0; eq && k < r.nspec; k++)
			if (strlen(r.spec[k].name) == (size_t)(eq - thresholds[i]) &&
			    !strncmp(r.spec[k].name, thresholds[i], (size_t)(eq - thresholds[i])))
				break;
		if (!eq || k == r.nspec || lt_parse_duration(eq + 1, &r.spec[k].threshold_ns)) {
			fprintf(stderr, "latrack report: --threshold takes NAME=DURATION with NAME "
					"one of the --pair names, e.g. plug=5s; got '%s'\n",
				thresholds[i]);
			goto usage_err;
		}
	}
	if (!r.want_stats && !r.want_top && !r.want_sched && !r.want_irq && !r.want_io &&
	    !r.want_windows && !r.nspec)
		r.want_stats = r.want_top = r.want_sched = r.want_irq = r.want_io = true;
	if (r.want_windows) {
		char msg[256];

		if (an_windows__check_opts(&r.o, msg, sizeof(msg))) {
			fprintf(stderr, "latrack report: %s\n", msg);
			goto usage_err;
		}
		r.o.windows = an_windows__new(&r.o);
		if (!r.o.windows) {
			fprintf(stderr, "latrack report: out of memory\n");
			goto out;
		}
		/* the windows see what the syscalls analysis measures */
		r.want_windows_sys = !r.want_stats && !r.want_top && !r.want_sched &&
				     !r.want_irq && !r.want_io && !r.nspec;
	}
	if (r.nspec) {
		r.pairs = an_pairs__new(r.spec, r.nspec, &r.o);
		if (!r.pairs) {
			fprintf(stderr, "latrack report: out of memory\n");
			goto out;
		}
	}

	if (r.svg_path && !(r.o.pics = lat_pics__new())) {
		fprintf(stderr, "latrack report: out of memory\n");
		goto out;
	}
	for (int i = 0; r.o.pics && i < r.nspec; i++) {
		char name[LAT_PICS_NAME_MAX];

		snprintf(name, sizeof(name), "pair %s", r.spec[i].name);
		if (r.spec[i].threshold_ns) /* a dashed line, and the count above it */
			lat_pics__set_threshold(r.o.pics, name, r.spec[i].threshold_ns);
	}
	r.st = trace_state__new();
	if (r.st && (r.want_stats || r.want_top || r.want_windows_sys))
		r.sys = an_syscalls__new(r.st, &r.o);
	if (r.st && r.want_sched)
		r.sched = an_sched__new(r.st, &r.o);
	if (r.want_irq)
		r.irq = an_irq__new(&r.o);
	if (r.want_io)
		r.io = an_io__new(&r.o);
	if (!r.st || ((r.want_stats || r.want_top || r.want_windows_sys) && !r.sys) || (r.want_sched && !r.sched) ||
	    (r.want_irq && !r.irq) || (r.want_io && !r.io)) {
		fprintf(stderr, "latrack report: out of memory\n");
		goto out;
	}
	ops.event = on_event;
	ops.discarded = on_discarded;
	ops.ctx = &r;
	ops.verbose = verbose;
	r.live = !strncmp(r.input, "net", 3) && strstr(r.input, "://");
	if (r.live) {
		ops.tick = on_tick;
		ops.tick_ns = (uint64_t)(refresh * 1e9);
	}
	r.src = trace_source__open(r.input, &ops, &err);
	if (!r.src) {
		fprintf(stderr, "latrack report: %s\n", err ? err : strerror(errno));
		free(err);
		goto out;
	}
	if (r.o.json)
		print_warnings_text(&r, stderr, "latrack report: warning: ");
	c = trace_source__run(r.src);
	if (c < 0) {
		struct trace_source_stats ss;

		fprintf(stderr, "latrack report: %s\n",
			r.err ? strerror(-r.err) : trace_source__error(r.src));
		trace_source__stats(r.src, &ss);
		if (!ss.events && !r.o.json) /* no report to carry them */
			print_warnings_text(&r, stderr, "latrack report: warning: ");
		if (ss.events) {
			fprintf(stderr, "latrack report: warning: the report below covers only "
					"the %llu events read before the error\n",
				(unsigned long long)ss.events);
			print_report(&r, stdout);
			if (r.o.pics)
				write_svg(&r);
		}
		goto out;
	}
	if (c == TRACE_SOURCE_INTERRUPTED && !r.live)
		fprintf(stderr, "latrack report: interrupted: the report covers the events read "
				"so far\n");
	if (r.o.windows)
		an_windows__finish(r.o.windows);
	print_report(&r, stdout);
	ret = r.o.pics && write_svg(&r) ? 1 : 0;
	goto out;
usage_err:
	ret = 2;
out:
	lat_pics__destroy(r.o.pics);
	lat_pics_sel__free(&r.svg_sel);
	an_pairs__destroy(r.pairs);
	an_windows__destroy(r.o.windows);
	for (int i = 0; i < r.nspec; i++)
		pair_spec__free(&r.spec[i]);
	an_syscalls__destroy(r.sys);
	an_sched__destroy(r.sched);
	an_irq__destroy(r.irq);
	an_io__destroy(r.io);
	trace_stat__release_all();
	trace_state__destroy(r.st);
	trace_source__destroy(r.src);
	return ret;
}
