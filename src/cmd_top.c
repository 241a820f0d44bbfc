/* latrack top: a live screen of the worst latencies, on the live engine
 * (src/live.h) with a class per process.
 *
 * The engine ticks every refresh interval (-d) and hands each tick's
 * classes to top's sink (src/top_sink.c), which copies what the screen
 * shows; outliers, stuck events and change records arrive through the
 * same sink as they happen.  The loop polls the engine's ring buffer fd
 * and stdin with the timeout live__process returns.  --batch prints the
 * same panes as plain text after every tick (like `top -b`).
 *
 * Trace input (latrack top TRACE, --live URL): src/top_trace.c measures
 * the trace with the report's analyses and feeds the same sink every -d
 * of trace time; the loops below call top_src_* instead of the engine. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cmd.h"
#include <linux/types.h> /* before evfmt.h: lt_bpf.h needs __u32 */

#include "evfmt.h"
#include "top.h"
#include "top_trace.h"
#include "units.h"

#define NS_PER_S 1000000000ull

static volatile sig_atomic_t top_stop;

static void on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: latrack top [OPTIONS] [TRACKER...]\n"
"       latrack top [OPTIONS] TRACE [TRACKER...]\n"
"       latrack top [OPTIONS] --live URL [TRACKER...]\n"
"\n"
"A live screen of the worst latencies measured by the kernel trackers, one\n"
"class per process: per tracker, the classes sorted by p99 (or max, count,\n"
"total time) over the last refresh interval or the last minute; the latest\n"
"outliers with their stacks; the selected class's histogram and its 1 m /\n"
"5 m / 1 h percentiles; change records; loss counters.  Needs root.\n"
"\n"
"Options:\n"
"  -d, --delay SECONDS      refresh interval (default 1; \"500ms\" works too)\n"
"  -n, --iterations N       exit after N refreshes\n"
"  -b, --batch              no screen: print the panes as plain text at every\n"
"                           refresh (for scripts and tests)\n"
"      --rows N             --batch: classes per tracker (default 20)\n"
"      --details N          --batch: the detail (1 m / 5 m / 1 h, ranges) of\n"
"                           the first N classes of each tracker (default 1)\n"
"  -T, --trackers LIST      syscall,wakeup,offcpu,block,irq,net (default: all)\n"
"  -m, --threshold [TRK=]D  outlier threshold (default unit ms; e.g. -m 20ms,\n"
"                           -m wakeup=2ms); repeatable\n"
"      --timeout [TRK=]D    report syscalls / block requests stuck this long\n"
"  -p, --pid PID            measure only this process\n"
"      --comm COMM          measure only processes with this name\n"
"  -s, --sort KEY           p99 (default), max, count, time\n"
"      --minute             numbers over the last minute (default: the last\n"
"                           refresh interval)\n"
"  -f, --filter TEXT        show only processes whose name contains TEXT (or\n"
"                           the process TEXT when it is a number)\n"
"      --tracker TRK        the tracker shown first\n"
"      --no-color           no colours (attributes only)\n"
"  -h, --help               this help\n"
"\n"
"Keys: 1-6 or s w o b i n switch tracker, S (or P M C T) sort, m span,\n"
"/ filter, space pause, up/down select, Tab outliers pane, Enter stacks,\n"
"? help, q quit.  docs/TOP.md describes the screen.\n"
"\n"
"Examples:\n"
"  latrack top                         every tracker, refreshed every second\n"
"  latrack top syscall -m 20ms         system calls; outliers above 20 ms\n"
"  latrack top -T wakeup,offcpu -d 2   scheduling, refreshed every 2 s\n"
"  latrack top --comm postgres -s max  only postgres, worst maximum first\n"
"  latrack top -b -n 3 -T syscall      three refreshes as text, then exit\n"
"\n"
"Trace input: TRACE (an LTTng CTF trace directory) or --live URL (an\n"
"lttng-relayd live session, net://HOST/host/HOSTNAME/SESSION) replaces the\n"
"kernel trackers (no root needed): the same screen, each refresh covering\n"
"-d of trace time.  Trackers: syscall, wakeup, irq, block (offcpu and net\n"
"are not measured from traces).  The title shows the trace and its time;\n"
"LOST shows the events the tracer discarded.  At the end of the trace the\n"
"last screen stays until q (--batch: exit after the last refresh).\n"
"      --speed N            replay at N x the trace's speed (default 1)\n"
"      --fast               as fast as possible (same as --speed 0)\n"
"      --live URL           read an LTTng live session\n"
"\n"
"  latrack top ~/lttng-traces/s1           replay a trace at its own speed\n"
"  latrack top --fast -d 10 TRACE syscall  10 s of the trace per refresh\n"
"  latrack top -b --fast -d 1h TRACE -T syscall\n"
"                                          the whole trace as one refresh\n"
"  latrack top --live net://localhost/host/myhost/mysession\n");
}

static bool all_tracker_names(const char *s)
{
	while (*s) {
		size_t len = strcspn(s, ",");

		if (ev_trk_by_name(s, len) < 0)
			return false;
		s += len;
		if (*s == ',')
			s++;
	}
	return true;
}

static void batch_print(struct top *t, struct tlines *o, const bool on[LT_TRK_MAX])
{
	const int W = 132;
	int first_trk = t->trk;

	t->rec_shown = t->nrec;
	tl_reset(o);
	top_pane_title(t, 0, o);
	top_pane_status(t, W, o);
	for (int k = 0; k < LT_TRK_MAX; k++) {
		size_t *idx = NULL, n;

		if (!on[k])
			continue;
		t->trk = k;
		tl_add(o, TA_NONE, "%s", "");
		top_pane_classes(t, k, W, 0, t->batch_rows, -1, o);
		n = top_view_rows(t, k, &idx);
		for (int i = 0; i < (int)n && i < t->batch_details; i++) {
			top_select(t, i);
			tl_add(o, TA_NONE, "%s", "");
			tl_add(o, TA_NONE, "%s class %d:", ev_trk_names[k], i + 1);
			top_pane_detail(t, &t->rows[idx[i]], W, 8, o);
		}
		free(idx);
	}
	t->trk = first_trk;
	tl_add(o, TA_NONE, "%s", "");
	top_pane_recs(t, -1, W, 0, 10, -1, o);
	for (int i = 0; i < o->n; i++)
		printf("%s\n", o->v[i].s);
	printf("\n");
	fflush(stdout);
}

static int batch_run(struct top *t, long iterations, const bool on[LT_TRK_MAX])
{
	struct tlines o = { 0 };
	long done = 0;
	int ret = 0;

	while (!top_stop) {
		struct pollfd p = { .fd = live__fd(t->l), .events = POLLIN };
		int ms = live__process(t->l, lt_mono_ns());

		if (ms < 0) {
			fprintf(stderr, "latrack top: %s\n", strerror(-ms));
			ret = 1;
			break;
		}
		if (t->fresh) {
			t->fresh = false;
			batch_print(t, &o, on);
			if (iterations && ++done >= iterations)
				break;
		}
		if (poll(&p, 1, ms) < 0 && errno != EINTR) {
			fprintf(stderr, "latrack top: poll: %s\n", strerror(errno));
			ret = 1;
			break;
		}
	}
	tl_free(&o);
	return ret;
}

/* latrack top TRACE / --live URL. */
static int trace_run(struct top *t, const char *input, const struct live_opts *lo, double speed,
		     long iterations)
{
	struct top_trace_opts to = { 0 };
	struct tlines o = { 0 };
	struct sigaction sa = { 0 };
	char errbuf[1024];
	struct sink *s;
	size_t len;
	long done = 0;
	int ret = 1;
	bool live = !strncmp(input, "net", 3) && strstr(input, "://");

	to.input = input;
	memcpy(to.on, lo->trk.on, sizeof(to.on));
	memcpy(to.thresh_ns, lo->trk.thresh_ns, sizeof(to.thresh_ns));
	to.tick_ns = t->refresh_ns;
	to.speed = live ? 0 : speed; /* live: as the relay sends */
	to.tgid = lo->trk.f.tgid;
	to.comm = lo->trk.f.comm_on ? lo->trk.f.comm : NULL;
	/* the title: the input, its last 32 bytes when longer */
	len = strlen(input);
	t->trace_name = len > 32 ? input + len - 32 : input;
	t->trace_speed = to.speed;
	t->scratch = lt_hist__new();
	s = top_sink__new(t);
	if (!t->scratch || !s) {
		fprintf(stderr, "latrack top: %s\n", strerror(ENOMEM));
		goto out;
	}
	if (top_trace__new(&t->tr, &to, t, s, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "latrack top: %s\n", errbuf);
		goto out;
	}
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!t->batch) {
		ret = top_curses_run(t, iterations);
		goto out;
	}
	ret = 0;
	while (!top_stop) {
		int ms = top_src_process(t, lt_mono_ns());

		if (ms < 0) {
			fprintf(stderr, "latrack top: %s\n", top_trace__error(t->tr));
			ret = 1;
			break;
		}
		if (t->fresh) {
			t->fresh = false;
			batch_print(t, &o, lo->trk.on);
			if (iterations && ++done >= iterations)
				break;
		}
		if (t->trace_end)
			break;
		if (ms > 0)
			poll(NULL, 0, ms);
	}
out:
	top_trace__destroy(t->tr);
	if (s)
		s->ops->destroy(s);
	top_recs_free(t);
	lt_hist__destroy(t->scratch);
	tl_free(&o);
	return ret;
}

int cmd_top(int argc, char **argv)
{
	enum { OPT_COMM = 256, OPT_TIMEOUT, OPT_ROWS, OPT_MINUTE, OPT_NOCOLOR, OPT_LIVE, OPT_TRACKER, OPT_DETAILS, OPT_SPEED, OPT_FAST };
	static const struct option lopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "batch", no_argument, NULL, 'b' },
		{ "rows", required_argument, NULL, OPT_ROWS },
		{ "details", required_argument, NULL, OPT_DETAILS },
		{ "trackers", required_argument, NULL, 'T' },
		{ "threshold", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "sort", required_argument, NULL, 's' },
		{ "minute", no_argument, NULL, OPT_MINUTE },
		{ "filter", required_argument, NULL, 'f' },
		{ "tracker", required_argument, NULL, OPT_TRACKER },
		{ "no-color", no_argument, NULL, OPT_NOCOLOR },
		{ "live", required_argument, NULL, OPT_LIVE },
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "fast", no_argument, NULL, OPT_FAST },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct live_opts lo = { 0 };
	struct top *t;
	bool th_set[LT_TRK_MAX] = { 0 }, any_trk = false;
	struct sigaction sa = { 0 };
	long iterations = 0;
	const char *first_trk = NULL;
	char errbuf[256];
	struct sink *s;
	int opt, err, ret = 1;
	const char *trace = NULL;
	double speed = 1;

	t = calloc(1, sizeof(*t));
	if (!t)
		return 1;
	t->refresh_ns = NS_PER_S;
	t->batch_rows = 20;
	t->batch_details = 1;
	t->color = true;
	memcpy(lo.trk.thresh_ns, ev_default_thresh_ns, sizeof(lo.trk.thresh_ns));
	memcpy(lo.timeout_ns, ev_default_timeout_ns, sizeof(lo.timeout_ns));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:n:bT:m:p:s:f:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (ev_parse_dur(optarg, NS_PER_S, &t->refresh_ns) || t->refresh_ns < 10000000ull) {
				fprintf(stderr, "latrack top: bad delay '%s' (at least 10ms)\n", optarg);
				goto usage_err;
			}
			break;
		case 'n': {
			char *end;

			iterations = strtol(optarg, &end, 10);
			if (*end || iterations <= 0) {
				fprintf(stderr, "latrack top: bad iteration count '%s'\n", optarg);
				goto usage_err;
			}
			break;
		}
		case 'b':
			t->batch = true;
			break;
		case OPT_DETAILS: {
			uint32_t n;

			if (!strcmp(optarg, "0"))
				n = 0;
			else if (ev_parse_u32(optarg, &n) || n > 100000) {
				fprintf(stderr, "latrack top: bad --details '%s'\n", optarg);
				goto usage_err;
			}
			t->batch_details = (int)n;
			break;
		}
		case OPT_ROWS: {
			uint32_t n;

			if (ev_parse_u32(optarg, &n) || n > 100000) {
				fprintf(stderr, "latrack top: bad --rows '%s'\n", optarg);
				goto usage_err;
			}
			t->batch_rows = (int)n;
			break;
		}
		case 'T':
			if (ev_parse_trackers(optarg, lo.trk.on))
				goto usage_err;
			any_trk = true;
			break;
		case 'm':
			if (ev_parse_threshold(optarg, lo.trk.thresh_ns, th_set))
				goto usage_err;
			break;
		case OPT_TIMEOUT:
			if (ev_parse_timeout(optarg, lo.timeout_ns))
				goto usage_err;
			break;
		case 'p':
			if (ev_parse_u32(optarg, &lo.trk.f.tgid)) {
				fprintf(stderr, "latrack top: bad PID '%s'\n", optarg);
				goto usage_err;
			}
			break;
		case OPT_COMM:
			if (strlen(optarg) >= LT_COMM_LEN) {
				fprintf(stderr, "latrack top: --comm '%s' is longer than a comm (15 bytes)\n", optarg);
				goto usage_err;
			}
			strncpy(lo.trk.f.comm, optarg, LT_COMM_LEN - 1);
			lo.trk.f.comm_on = true;
			break;
		case 's': {
			int k;

			for (k = 0; k < TOP_SORT_NR; k++)
				if (!strcmp(optarg, top_sort_names[k]))
					break;
			if (k == TOP_SORT_NR) {
				fprintf(stderr, "latrack top: unknown sort '%s' (p99, max, count, time)\n", optarg);
				goto usage_err;
			}
			t->sort = k;
			break;
		}
		case OPT_MINUTE:
			t->span = TOP_SPAN_MINUTE;
			break;
		case 'f':
			snprintf(t->filter, sizeof(t->filter), "%s", optarg);
			break;
		case OPT_TRACKER:
			first_trk = optarg;
			break;
		case OPT_NOCOLOR:
			t->color = false;
			break;
		case OPT_LIVE:
			trace = optarg;
			break;
		case OPT_SPEED: {
			char *end;

			speed = strtod(optarg, &end);
			if (*end || end == optarg || !(speed >= 0) || speed > 1e9) {
				fprintf(stderr, "latrack top: bad --speed '%s' (a factor >= 0)\n", optarg);
				goto usage_err;
			}
			break;
		}
		case OPT_FAST:
			speed = 0;
			break;
		case 'h':
			usage(stdout);
			free(t);
			return 0;
		default:
			goto usage_err;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!all_tracker_names(argv[i])) {
			struct stat st;

			if (!trace && !stat(argv[i], &st) && S_ISDIR(st.st_mode)) {
				trace = argv[i];
				continue;
			}
			if (trace)
				fprintf(stderr, "latrack top: '%s' is not a tracker (syscall, wakeup, irq, "
						"block) and the trace is '%s'\n", argv[i], trace);
			else
				fprintf(stderr, "latrack top: '%s' is neither a tracker (syscall, wakeup, offcpu, "
						"block, irq, net) nor a trace directory\n", argv[i]);
			free(t);
			return 2;
		}
		if (ev_parse_trackers(argv[i], lo.trk.on))
			goto usage_err;
		any_trk = true;
	}
	if (trace) {
		if (!any_trk)
			lo.trk.on[LT_TRK_SYSCALL] = lo.trk.on[LT_TRK_WAKEUP] = lo.trk.on[LT_TRK_IRQ] =
				lo.trk.on[LT_TRK_BLOCK] = true;
		if (lo.trk.on[LT_TRK_OFFCPU] || lo.trk.on[LT_TRK_NET]) {
			fprintf(stderr, "latrack top: offcpu and net are not measured from traces "
					"(syscall, wakeup, irq, block are)\n");
			goto usage_err;
		}
		any_trk = true;
	}
	if (!any_trk) {
		for (int k = 0; k < LT_TRK_MAX; k++)
			lo.trk.on[k] = true;
		if (libbpf_find_vmlinux_btf_id("sk_data_ready", BPF_TRACE_RAW_TP) <= 0 ||
		    libbpf_find_vmlinux_btf_id("sock_recv_length", BPF_TRACE_RAW_TP) <= 0)
			lo.trk.on[LT_TRK_NET] = false;
	}
	t->trk = -1;
	if (first_trk) {
		t->trk = ev_trk_by_name(first_trk, strlen(first_trk));
		if (t->trk < 0 || !lo.trk.on[t->trk]) {
			fprintf(stderr, "latrack top: --tracker '%s' is not one of the trackers on\n", first_trk);
			goto usage_err;
		}
	}
	for (int k = 0; k < LT_TRK_MAX && t->trk < 0; k++)
		if (lo.trk.on[k])
			t->trk = k;
	if (!t->batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "latrack top: needs a terminal (stdin and stdout); use --batch for text\n");
		goto usage_err;
	}
	if (trace) {
		ret = trace_run(t, trace, &lo, speed, iterations);
		free(t->rows);
		free(t);
		return ret;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "latrack top: needs root (CAP_BPF and CAP_PERFMON) to load BPF programs\n");
		free(t);
		return 1;
	}

	lo.tick_ns = t->refresh_ns;
	lo.by_pid = true;
	lo.change_detection = true;
	lo.text_records = true; /* the stacks view */
	t->scratch = lt_hist__new();
	if (!t->scratch) {
		fprintf(stderr, "latrack top: %s\n", strerror(errno));
		goto out;
	}
	err = live__new(&t->l, &lo, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "latrack top: %s\n", errbuf);
		goto out;
	}
	s = top_sink__new(t);
	if (!s || live__add_sink(t->l, s)) {
		fprintf(stderr, "latrack top: cannot add the screen's sink\n");
		if (s)
			s->ops->destroy(s);
		goto out;
	}
	if (lo.trk.on[LT_TRK_NET])
		ev_load_drop_reasons();
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (t->batch) {
		char trk_list[256];

		fprintf(stderr, "latrack top: tracing %s; batch output every %.3g s. Ctrl-C to end.\n",
			ev_fmt_trackers(trk_list, sizeof(trk_list), lo.trk.on, lo.trk.thresh_ns),
			(double)t->refresh_ns / 1e9);
		ret = batch_run(t, iterations, lo.trk.on);
	} else {
		ret = top_curses_run(t, iterations);
	}
out:
	live__destroy(t->l);
	top_recs_free(t);
	lt_hist__destroy(t->scratch);
	free(t->rows);
	free(t);
	ev_free_drop_reasons();
	return ret;
usage_err:
	free(t);
	return 2;
}

volatile sig_atomic_t *top_stop_flag(void)
{
	return &top_stop;
}
