/* latrack run: the kernel trackers, live.
 *
 * Loads the BPF trackers (src/trk.c), prints each outlier as it arrives
 * from the ring buffer (a readable block with symbolised kernel stacks, or
 * one JSON object per line), sweeps for syscalls and block requests stuck
 * longer than their timeout, and prints the per-class histograms (count, p50, p99, max) every
 * interval and at exit, with the loss counters.  Everything that comes from
 * the traced system (comm) is escaped before it is printed. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_hist.h"
#include "cmd.h"
#include "evfmt.h"
#include "kclass.h"
#include "ksyms.h"
#include "run_classes.h"
#include "run_pics.h"
#include "usyms.h"
#include "trk.h"
#include "units.h"

static volatile sig_atomic_t stop;

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull
#define TOP_CLASSES 20
#define BAR_WIDTH 40
#define BAR_STARS "****************************************" /* BAR_WIDTH of them */

struct run {
	struct trk_opts o;
	bool json;
	bool hist; /* --hist: a bar histogram under each class */
	uint64_t interval_ns, duration_ns;
	uint64_t timeout_ns[LT_TRK_MAX]; /* stuck after this long in flight (0: not swept) */
	long count; /* intervals to print, 0 = unlimited */
	struct trk_set *set;
	struct evfmt fmt; /* symbols and wall clock for printing */
	uint64_t deadline_ns;
	unsigned long nr_events;
	struct run_classes *classes;
	struct run_pics *pics; /* --svg, --folded, --flame (run_pics.c) */
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}


static int on_event(void *ctx, void *data, size_t len)
{
	struct run *r = ctx;
	const struct lt_event *e = data;

	if (len < sizeof(*e) || e->trk >= LT_TRK_MAX)
		return 0;
	if (r->json)
		ev_print_json(&r->fmt, stdout, e);
	else
		ev_print_text(&r->fmt, stdout, e);
	run_pics__event(r->pics, e);
	/* A storm can keep ring_buffer__poll busy: check the clock now and then. */
	if (!(++r->nr_events & 1023) && r->deadline_ns && lt_mono_ns() >= r->deadline_ns)
		stop = 1;
	return stop ? -EINTR : 0;
}

static void on_stuck(void *ctx, enum lt_trk trk, uint32_t tid, uint64_t begin, uint32_t sub)
{
	struct run *r = ctx;

	ev_print_stuck(&r->fmt, stdout, r->json, trk, tid, begin, sub, lt_mono_ns());
}

static void on_stuck_block(void *ctx, const struct trk_blk_stuck *b)
{
	struct run *r = ctx;

	ev_print_stuck_block(&r->fmt, stdout, r->json, b);
}


/* ---- per-class summary ---- */

static int cmp_count_desc(const void *a, const void *b)
{
	const struct rc_class *x = a, *y = b;

	if (x->k.trk != y->k.trk)
		return x->k.trk < y->k.trk ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

/* bcc-style bar histogram of one class, from its lowest to its highest
 * non-empty power-of-two range; a range is [LOW, HIGH).  The bar is scaled
 * to the class's fullest range. */
static void print_bars(const struct rc_class *c)
{
	int lo = -1, hi = -1;
	uint64_t top = 0;
	char a[32], b[32];

	for (int e = 0; e < RC_NR_POW2; e++)
		if (c->pow2[e]) {
			if (lo < 0)
				lo = e;
			hi = e;
			if (c->pow2[e] > top)
				top = c->pow2[e];
		}
	if (lo < 0)
		return;
	fprintf(stdout, "      %23s : %-10s %s\n", "RANGE", "COUNT", "DISTRIBUTION");
	for (int e = lo; e <= hi; e++) {
		int w = (int)((c->pow2[e] * BAR_WIDTH + top - 1) / top); /* non-empty: >= 1 star */

		if (e == RC_POW2_OVERFLOW)
			fprintf(stdout, "      %10s -> %-9s", ev_fmt_dur(1ull << e, a, sizeof(a)), "");
		else
			fprintf(stdout, "      %10s -> %-9s", ev_fmt_dur(e ? 1ull << e : 0, a, sizeof(a)),
				ev_fmt_dur(1ull << (e + 1), b, sizeof(b)));
		fprintf(stdout, " : %-10" PRIu64 " |%.*s%*s|\n", c->pow2[e], w, BAR_STARS,
			BAR_WIDTH - w, "");
	}
}

/* The same ranges in a summary object: only the non-empty ones; the
 * overflow range has no hi_ns. */
static void json_bars(const struct rc_class *c)
{
	bool first = true;

	fputs(",\"hist\":[", stdout);
	for (int e = 0; e < RC_NR_POW2; e++) {
		if (!c->pow2[e])
			continue;
		fprintf(stdout, "%s{\"lo_ns\":%llu,", first ? "" : ",", e ? 1ull << e : 0ull);
		if (e != RC_POW2_OVERFLOW)
			fprintf(stdout, "\"hi_ns\":%llu,", 1ull << (e + 1));
		fprintf(stdout, "\"count\":%" PRIu64 "}", c->pow2[e]);
		first = false;
	}
	fputc(']', stdout);
}

static void print_losses(struct run *r, bool final)
{
	uint64_t d[LT_NR_DROPS], total = 0;

	if (trk_set__drops(r->set, d))
		return;
	for (int i = 0; i < LT_NR_DROPS; i++)
		total += d[i];
	if (r->json) {
		fprintf(stdout, "{\"type\":\"loss\",\"final\":%s", final ? "true" : "false");
		for (int t = 0; t < LT_TRK_MAX; t++) {
			if (!r->o.on[t])
				continue;
			fprintf(stdout, ",\"%s\":{", ev_trk_names[t]);
			for (int k = 0; k < LT_DROP_MAX; k++)
				fprintf(stdout, "%s\"%s\":%" PRIu64, k ? "," : "", ev_drop_names[k],
					d[t * LT_DROP_MAX + k]);
			fputc('}', stdout);
		}
		fputs("}\n", stdout);
		return;
	}
	if (!total) {
		if (final)
			fputs("lost: nothing (no ring buffer or map-full drops)\n", stdout);
		return;
	}
	fputs("LOST:", stdout);
	for (int t = 0; t < LT_TRK_MAX; t++)
		for (int k = 0; k < LT_DROP_MAX; k++)
			if (d[t * LT_DROP_MAX + k])
				fprintf(stdout, " %s.%s=%" PRIu64, ev_trk_names[t], ev_drop_names[k],
					d[t * LT_DROP_MAX + k]);
	fputc('\n', stdout);
}

static void print_summary(struct run *r, bool final)
{
	char sb[32], a[32], b[32], c3[32], wall[64];
	struct rc_class *c = NULL;
	size_t n = 0;

	run_classes__evict_exited(r->classes, false);
	if (run_classes__snapshot(r->classes, &c, &n)) {
		fprintf(stderr, "latrack run: cannot read the histograms\n");
		return;
	}
	qsort(c, n, sizeof(*c), cmp_count_desc);
	ev_fmt_wall(&r->fmt, lt_mono_ns(), wall, sizeof(wall), r->json);
	if (r->json) {
		for (size_t i = 0; i < n; i++) {
			fprintf(stdout, "{\"type\":\"summary\",\"final\":%s,\"time\":\"%s\",\"tracker\":\"%s\","
				"\"class\":\"%s\",\"sub\":%u,",
				final ? "true" : "false", wall, ev_trk_names[c[i].k.trk % LT_TRK_MAX],
				ev_sub_name(c[i].k.trk, c[i].k.sub, sb, sizeof(sb)), c[i].k.sub);
			if (c[i].k.trk == LT_TRK_BLOCK) { /* the class is a device, not a process */
				fprintf(stdout, "\"dev\":\"%u:%u\",\"disk\":", c[i].k.tgid >> 20,
					c[i].k.tgid & 0xfffff);
			} else if (c[i].k.trk == LT_TRK_NET && c[i].k.sub >> 24 != LT_NET_RX_DELIVERED) {
				fprintf(stdout, "\"kind\":\"%s\",\"n\":%u,",
					(c[i].k.sub >> 24) == LT_NET_RX_STACK ? "rx_stack" :
					(c[i].k.sub >> 24) == LT_NET_TX_QUEUE ? "tx" :
					(c[i].k.sub >> 24) == LT_NET_DROP ? "drop" : "udp_fail",
					c[i].k.sub & 0xffffff);
				if ((c[i].k.sub >> 24) == LT_NET_DROP && (c[i].k.sub & 0xffffff) < MAX_DROP_REASONS &&
				    ev_drop_reason_names[c[i].k.sub & 0xffffff])
				{
					fputs("\"reason\":", stdout);
					ev_json_str(stdout, ev_drop_reason_names[c[i].k.sub & 0xffffff], 64);
					fputs(",\"dev\":", stdout);
				}
				else
					fputs("\"dev\":", stdout);
			} else if (c[i].k.trk == LT_TRK_NET) {
				fprintf(stdout, "\"kind\":\"rx\",\"n\":%u,\"pid\":%u,%s\"comm\":",
					c[i].k.sub & 0xffffff, c[i].k.tgid, c[i].exited ? "\"exited\":true," : "");
			} else if (c[i].k.trk == LT_TRK_IRQ) {
				fprintf(stdout, "\"kind\":\"%s\",\"%s\":%u,\"handler\":",
					(c[i].k.sub >> 16) == LT_IRQ_HARD ? "hardirq" : "softirq",
					(c[i].k.sub >> 16) == LT_IRQ_HARD ? "irq" : "vector",
					c[i].k.sub & 0xffff);
			} else {
				fprintf(stdout, "\"pid\":%u,%s\"comm\":", c[i].k.tgid,
					c[i].exited ? "\"exited\":true," : "");
			}
			ev_json_str(stdout, c[i].k.comm, LT_COMM_LEN);
			fprintf(stdout, ",\"count\":%" PRIu64 ",\"interval_count\":%" PRIu64
				",\"min_ns\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
				",\"max_ns\":%" PRIu64 ",\"mean_ns\":%.0f",
				c[i].count, c[i].intv, c[i].min, c[i].p50, c[i].p99, c[i].max, c[i].mean);
			if (r->hist)
				json_bars(&c[i]);
			fputs("}\n", stdout);
		}
	} else {
		for (int t = 0; t < LT_TRK_MAX; t++) {
			size_t shown = 0, more = 0;

			if (!r->o.on[t])
				continue;
			fprintf(stdout, "\n%s %s latency per class (since start; +INTV: since last table)%s\n",
				wall, ev_trk_names[t], final ? ", final" : "");
			fprintf(stdout, "  %-18s %-24s %10s %8s %9s %9s %9s\n", "CLASS",
				t == LT_TRK_BLOCK ? "DEVICE" : t == LT_TRK_IRQ ? "HANDLER" :
				t == LT_TRK_NET ? "DEVICE/READER" : "PROCESS", "COUNT",
				"+INTV", "P50", "P99", "MAX");
			for (size_t i = 0; i < n; i++) {
				char proc[48];
				int len;

				if ((int)c[i].k.trk != t)
					continue;
				if (shown == TOP_CLASSES) {
					more++;
					continue;
				}
				shown++;
				fprintf(stdout, "  %-18s ", ev_sub_name(t, c[i].k.sub, sb, sizeof(sb)));
				/* escaped comm, padded by hand: its width is not known before */
				len = 0;
				for (size_t j = 0; j < LT_COMM_LEN && c[i].k.comm[j]; j++) {
					unsigned char ch = (unsigned char)c[i].k.comm[j];

					len += (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '"') ? 4 : 1;
				}
				ev_text_str(stdout, c[i].k.comm, LT_COMM_LEN);
				if (t == LT_TRK_BLOCK)
					len += snprintf(proc, sizeof(proc), " (%u:%u)", c[i].k.tgid >> 20,
							c[i].k.tgid & 0xfffff);
				else if (t == LT_TRK_IRQ || (t == LT_TRK_NET && !c[i].k.tgid))
					len += snprintf(proc, sizeof(proc), "%s", c[i].k.comm[0] ? "" : "-");
				else if (c[i].k.tgid)
					len += snprintf(proc, sizeof(proc), "[%u]%s", c[i].k.tgid,
							c[i].exited ? "+" : "");
				else
					len += snprintf(proc, sizeof(proc), "[exited]");
				fprintf(stdout, "%s%*s %10" PRIu64 " %8" PRIu64 " %9s %9s %9s\n", proc,
					len < 24 ? 24 - len : 0, "", c[i].count, c[i].intv,
					ev_fmt_dur(c[i].p50, a, sizeof(a)), ev_fmt_dur(c[i].p99, b, sizeof(b)),
					ev_fmt_dur(c[i].max, c3, sizeof(c3)));
				if (r->hist)
					print_bars(&c[i]);
			}
			if (more)
				fprintf(stdout, "  ... %zu more classes (--json shows all)\n", more);
			if (!shown)
				fputs("  (no samples)\n", stdout);
		}
	}
	print_losses(r, final);
	fflush(stdout);
	free(c);
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: latrack run [TRACKER...] [OPTIONS] [INTERVAL [COUNT]]\n"
"\n"
"Measure kernel latencies live with eBPF and report the outliers: each one\n"
"as it happens, and the per-class histograms every INTERVAL and at exit.\n"
"\n"
"Trackers (default: all):\n"
"  syscall   sys_enter -> sys_exit per thread; class: syscall x process;\n"
"            outliers carry the return value and the kernel stack where\n"
"            the syscall blocked (default threshold 10ms)\n"
"  wakeup    sched_waking/preemption -> switched in (run-queue latency);\n"
"            class: CPU x process; outliers carry the waker and the task\n"
"            it waited behind (default threshold 5ms)\n"
"  offcpu    switched out asleep -> switched in; class: task state x\n"
"            process; outliers carry the sleeper's stack and the waker\n"
"            (default threshold 1s)\n"
"  block     block_rq_insert -> issue -> complete per request; classes:\n"
"            device x operation, queued and service time; outliers carry\n"
"            sector, bytes and the submitting task (default threshold 10ms)\n"
"  irq       hard IRQ handlers (entry -> exit) and softirqs (raise -> entry:\n"
"            wait; entry -> exit: run) per CPU; classes: IRQ number or\n"
"            vector; outliers carry the CPU and the interrupted task\n"
"            (default threshold 1ms; filters do not apply)\n"
"  net       UDP datagrams: netif_receive_skb -> queued to the socket\n"
"            (rx stack) -> recv() by the reader (rx, exact per datagram:\n"
"            per-socket FIFO of arrival times; TCP is not followed);\n"
"            net_dev_queue -> net_dev_start_xmit (tx); drops counted per\n"
"            kfree_skb reason and UDP queueing error; classes: device x\n"
"            rx/tx (rx: x reader); outliers carry the reader or sender,\n"
"            device, bytes (default threshold 10ms; filters apply to the\n"
"            reader and the sender; stack and drop counts only without)\n"
"\n"
"Options:\n"
"  -T, --trackers LIST      comma-separated trackers (same as naming them)\n"
"  -m, --threshold [TRK=]D  report delays above D (units ns/us/ms/s, default ms);\n"
"                           without TRK= it applies to every tracker; repeatable\n"
"      --timeout [TRK=]D    report a syscall or block request still in flight\n"
"                           after D once as stuck (defaults: syscall 1s,\n"
"                           block 5s; units as above, default s); without\n"
"                           TRK= it applies to both; repeatable\n"
"  -p, --pid PID            measure only this process\n"
"  -t, --tid TID            measure only this thread\n"
"  -c, --cgroup PATH        measure only tasks in this cgroup v2 (or below);\n"
"                           relative paths start at the cgroup2 mount\n"
"      --comm NAME          measure only threads with this comm\n"
"  -i, --interval D         print the histograms every D (default unit s)\n"
"  -d, --duration D         stop after D (default unit s)\n"
"      --json               one JSON object per line: outliers, stuck, summary, loss\n"
"      --hist               a bar histogram per class (power-of-two ranges) in\n"
"                           the tables; with --json, \"hist\" in each summary\n"
"      --max-classes N      histogram classes kept in the kernel; each costs\n"
"                           nr_cpus x 9.5 KiB, preallocated (default: 32 MiB\n"
"                           worth, 128..2048; 256 at most with a filter);\n"
"                           samples of classes beyond are counted as hist_full\n"
"      --ringbuf KIB        ring buffer for outliers (default 1024 KiB, power of 2);\n"
"                           outliers that find it full are counted as lost\n"
"      --raw-tp             use raw_tp hooks even where tp_btf works\n"
"      --svg FILE           at exit: latency heatmaps over the run (time x latency,\n"
"                           colour = count) and a histogram per class, one SVG\n"
"      --svg-classes N|NAMES\n"
"                           the N first classes (default 8; 0: all), or these\n"
"                           (comma-separated, as titled in the SVG, e.g.\n"
"                           'syscall read mysqld[812]')\n"
"      --svg-sort KEY       total (summed latency, default), count, p99 or max\n"
"      --folded FILE        at exit: the stacks of the offcpu outliers (sleeper)\n"
"                           and syscall outliers (where it blocked), folded for\n"
"                           flamegraph.pl/inferno: 'comm;user;kernel_[k] VALUE',\n"
"                           VALUE = summed delay in microseconds\n"
"      --flame FILE         at exit: a flame graph SVG of the same stacks\n"
"                           (docs/PICTURES.md)\n"
"  -v, --verbose            libbpf debug output (verifier log)\n"
"  -h, --help               this help\n"
"\n"
"Thresholds live in the BPF map lt_thresh (index 0 syscall, 1 wakeup,\n"
"2 offcpu, 3 block, 4 irq, 5 net; u64 ns) and may be changed while running, e.g.\n"
"  bpftool map update id ID key 0 0 0 0 value hex 80 96 98 00 00 00 00 00\n"
"(syscall threshold to 10 ms; ID is printed at start).\n"
"\n"
"Filters apply to the measured task: for wakeup, the task being woken;\n"
"for block, the task that submitted the request.\n"
"Needs root (CAP_BPF + CAP_PERFMON) and a kernel with BTF.\n"
"\n"
"EXAMPLES:\n"
"  latrack run                         all trackers, default thresholds, until Ctrl-C\n"
"  latrack run syscall -m 50ms -p 1234 syscalls of process 1234 slower than 50 ms\n"
"  latrack run -T wakeup -m 1ms 5      run-queue delays over 1 ms, tables every 5 s\n"
"  latrack run offcpu -m 100ms --comm nginx\n"
"                                      nginx threads asleep for more than 100 ms\n"
"  latrack run -c system.slice/ssh.service -d 30 --json > out.jsonl\n"
"                                      30 s of outliers of one service, as JSON\n"
"  latrack run syscall -m 0 -t 42      every syscall of thread 42\n"
"  latrack run block -m 50ms 10        block requests over 50 ms, tables every 10 s\n"
"  latrack run block --timeout block=2s -m 100ms\n"
"                                      block requests over 100 ms, and those still\n"
"                                      in flight after 2 s as they hang\n"
"  latrack run net -m 5ms --comm dnsmasq\n"
"                                      datagrams dnsmasq read more than 5 ms after arrival\n"
"  latrack run syscall --hist -p 1234 -d 10\n"
"                                      10 s of one process's syscalls, with bar histograms\n"
"  latrack run syscall,offcpu -m 5ms -d 30 --svg lat.svg --flame off.svg --folded off.folded\n"
"                                      30 s: heatmaps, and where the slow ones waited\n");
}

static int is_number(const char *s)
{
	return *s && strspn(s, "0123456789.") == strlen(s);
}

int cmd_run(int argc, char **argv)
{
	enum { OPT_COMM = 256, OPT_JSON, OPT_TIMEOUT, OPT_RAWTP, OPT_CLASSES, OPT_RINGBUF, OPT_HIST,
	       OPT_PICS /* .. OPT_PICS + 4: run_pics_opts__parse */ = 300 };
	static const struct option lopts[] = {
		{ "trackers", required_argument, NULL, 'T' },
		{ "threshold", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "hist", no_argument, NULL, OPT_HIST },
		{ "raw-tp", no_argument, NULL, OPT_RAWTP },
		{ "max-classes", required_argument, NULL, OPT_CLASSES },
		{ "ringbuf", required_argument, NULL, OPT_RINGBUF },
		{ "svg", required_argument, NULL, OPT_PICS },
		{ "svg-classes", required_argument, NULL, OPT_PICS + 1 },
		{ "svg-sort", required_argument, NULL, OPT_PICS + 2 },
		{ "folded", required_argument, NULL, OPT_PICS + 3 },
		{ "flame", required_argument, NULL, OPT_PICS + 4 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct run r = { 0 };
	struct run_pics_opts po = { .sel = { .top = 8 } };
	bool th_set[LT_TRK_MAX] = { 0 }, any_trk = false;
	struct ring_buffer *rb = NULL;
	struct sigaction sa = { 0 };
	const char *cg_path = NULL;
	struct timespec rt, mt;
	int opt, err, ret = 1, npos = 0;
	uint64_t next_sweep, next_print = 0, next_evict, start;
	char errbuf[256];
	long printed = 0;
	bool by_count = false; /* the last interval table was the final one */

	memcpy(r.o.thresh_ns, ev_default_thresh_ns, sizeof(r.o.thresh_ns));
	memcpy(r.timeout_ns, ev_default_timeout_ns, sizeof(r.timeout_ns));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "T:m:p:t:c:i:d:vh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'T':
			if (ev_parse_trackers(optarg, r.o.on))
				return 2;
			any_trk = true;
			break;
		case 'm':
			if (ev_parse_threshold(optarg, r.o.thresh_ns, th_set))
				return 2;
			break;
		case OPT_TIMEOUT:
			if (ev_parse_timeout(optarg, r.timeout_ns))
				return 2;
			break;
		case 'p':
			if (ev_parse_u32(optarg, &r.o.f.tgid)) {
				fprintf(stderr, "latrack run: bad PID '%s'\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (ev_parse_u32(optarg, &r.o.f.tid)) {
				fprintf(stderr, "latrack run: bad TID '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			cg_path = optarg;
			break;
		case OPT_COMM:
			if (strlen(optarg) >= LT_COMM_LEN) {
				fprintf(stderr, "latrack run: --comm '%s' is longer than a comm (15 bytes)\n", optarg);
				return 2;
			}
			strncpy(r.o.f.comm, optarg, LT_COMM_LEN - 1);
			r.o.f.comm_on = true;
			break;
		case 'i':
			if (ev_parse_dur(optarg, NS_PER_S, &r.interval_ns) || !r.interval_ns) {
				fprintf(stderr, "latrack run: bad interval '%s'\n", optarg);
				return 2;
			}
			break;
		case 'd':
			if (ev_parse_dur(optarg, NS_PER_S, &r.duration_ns) || !r.duration_ns) {
				fprintf(stderr, "latrack run: bad duration '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_JSON:
			r.json = true;
			break;
		case OPT_HIST:
			r.hist = true;
			break;
		case OPT_CLASSES:
			if (ev_parse_u32(optarg, &r.o.max_classes)) {
				fprintf(stderr, "latrack run: bad --max-classes '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_RINGBUF: {
			uint32_t kib;
			long page = sysconf(_SC_PAGESIZE);

			if (ev_parse_u32(optarg, &kib) || kib > (1u << 20) || (kib & (kib - 1)) ||
			    (uint64_t)kib * 1024 < (uint64_t)page) {
				fprintf(stderr, "latrack run: --ringbuf takes KiB, a power of 2, at least a page\n");
				return 2;
			}
			r.o.ringbuf_bytes = kib * 1024;
			break;
		}
		case OPT_RAWTP:
			r.o.force_raw_tp = true;
			break;
		case OPT_PICS:
		case OPT_PICS + 1:
		case OPT_PICS + 2:
		case OPT_PICS + 3:
		case OPT_PICS + 4:
			if (run_pics_opts__parse(&po, opt - OPT_PICS, optarg))
				return 2;
			break;
		case 'v':
			r.o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (is_number(argv[i])) {
			if (npos == 0) {
				if (ev_parse_dur(argv[i], NS_PER_S, &r.interval_ns) || !r.interval_ns) {
					fprintf(stderr, "latrack run: bad interval '%s'\n", argv[i]);
					return 2;
				}
			} else if (npos == 1) {
				r.count = strtol(argv[i], NULL, 10);
				if (r.count <= 0) {
					fprintf(stderr, "latrack run: bad count '%s'\n", argv[i]);
					return 2;
				}
			} else {
				fprintf(stderr, "latrack run: too many numbers (INTERVAL [COUNT])\n");
				return 2;
			}
			npos++;
			continue;
		}
		if (ev_parse_trackers(argv[i], r.o.on))
			return 2;
		any_trk = true;
	}
	if (!any_trk) {
		for (int t = 0; t < LT_TRK_MAX; t++)
			r.o.on[t] = true;
		/* The net tracker's socket tracepoints are recent: a kernel
		 * without them still runs the others when none was named. */
		if (libbpf_find_vmlinux_btf_id("sk_data_ready", BPF_TRACE_RAW_TP) <= 0 ||
		    libbpf_find_vmlinux_btf_id("sock_recv_length", BPF_TRACE_RAW_TP) <= 0) {
			r.o.on[LT_TRK_NET] = false;
			fprintf(stderr, "latrack run: this kernel has no sk_data_ready/sock_recv_length "
					"tracepoints: net tracker left out\n");
		}
	}
	if (cg_path) {
		err = ev_cgroup_id(cg_path, &r.o.f.cgid);
		if (err) {
			fprintf(stderr, "latrack run: cgroup '%s': %s\n", cg_path,
				err == -ENOTDIR ? "not a cgroup v2 directory" : strerror(-err));
			return 2;
		}
	}
	if (!r.o.max_classes)
		r.o.max_classes = trk_default_classes(r.o.f.tgid || r.o.f.tid || r.o.f.comm_on || r.o.f.cgid);
	if (geteuid() != 0) {
		fprintf(stderr, "latrack run: needs root (CAP_BPF and CAP_PERFMON) to load BPF programs\n");
		return 1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "latrack run: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
				"CONFIG_DEBUG_INFO_BTF=y is needed\n");
		return 1;
	}

	err = trk_set__start(&r.set, &r.o, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "latrack run: %s\n", errbuf);
		goto out;
	}
	/* After load: kallsyms then lists our own BPF programs too. */
	r.fmt.ks = ksyms__load();
	if (!r.fmt.ks)
		fprintf(stderr, "latrack run: cannot read /proc/kallsyms (%s): stacks unsymbolised\n",
			strerror(errno));
	r.fmt.us = usyms__new();
	if (!r.fmt.us) {
		fprintf(stderr, "latrack run: libelf: %s\n", strerror(errno));
		goto out;
	}
	r.classes = run_classes__new(trk_set__kct(r.set));
	if (!r.classes) {
		fprintf(stderr, "latrack run: %s\n", strerror(errno));
		goto out;
	}
	rb = ring_buffer__new(trk_set__events_fd(r.set), on_event, &r, NULL);
	if (!rb) {
		fprintf(stderr, "latrack run: cannot open the ring buffer: %s\n", strerror(errno));
		goto out;
	}
	if (r.o.on[LT_TRK_NET])
		ev_load_drop_reasons(); /* names in the tables; absent: numbers */
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	r.fmt.wall_off = ((int64_t)rt.tv_sec - (int64_t)mt.tv_sec) * (int64_t)NS_PER_S +
		     (rt.tv_nsec - mt.tv_nsec);
	start = lt_mono_ns();
	if (run_pics_opts__any(&po) &&
	    !(r.pics = run_pics__new(&po, &r.fmt, trk_set__kct(r.set), r.o.on, r.o.thresh_ns, start)))
		goto out;
	if (r.duration_ns)
		r.deadline_ns = start + r.duration_ns;
	next_sweep = start + 250 * NS_PER_MS;
	next_evict = start + NS_PER_S;
	if (r.interval_ns)
		next_print = start + r.interval_ns;

	{
		char trk_list[256];

		fprintf(stderr, "latrack run: tracing %s (%s hooks); thresholds: BPF map id %u... Ctrl-C to end.\n",
			ev_fmt_trackers(trk_list, sizeof(trk_list), r.o.on, r.o.thresh_ns), trk_set__hook_kind(r.set),
			trk_set__thresh_map_id(r.set));
	}

	while (!stop) {
		uint64_t now;

		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "latrack run: ring buffer: %s\n", strerror(-err));
			goto out;
		}
		now = lt_mono_ns();
		kct__recycle(trk_set__kct(r.set), now); /* classes taken out: their slots free again */
		run_pics__tick(r.pics, now);
		if (now >= next_sweep) {
			if (r.o.on[LT_TRK_SYSCALL])
				trk_set__sweep(r.set, now, r.timeout_ns[LT_TRK_SYSCALL], on_stuck, &r);
			if (r.o.on[LT_TRK_BLOCK])
				trk_set__sweep_block(r.set, now, r.timeout_ns[LT_TRK_BLOCK], on_stuck_block, &r);
			next_sweep = now + 250 * NS_PER_MS;
		}
		if (now >= next_evict) {
			run_classes__evict_exited(r.classes, false);
			next_evict = now + NS_PER_S;
		}
		if (r.interval_ns && now >= next_print) {
			print_summary(&r, r.count && printed + 1 >= r.count);
			next_print += r.interval_ns;
			if (r.count && ++printed >= r.count) {
				by_count = true;
				break;
			}
		}
		if (r.deadline_ns && now >= r.deadline_ns)
			break;
		fflush(stdout);
	}
	/* What is already in the ring buffer is reported too.  Detach first:
	 * with -m 0 and no filter, our own syscalls while consuming would
	 * feed it for ever.  The maps stay for the summary. */
	for (int t = 0; t < LT_TRK_MAX; t++)
		if (trk_set__loaded(r.set, t))
			trk_set__enable(r.set, t, false);
	stop = 0;
	r.deadline_ns = 0;
	ring_buffer__consume(rb);
	if (!by_count)
		print_summary(&r, true);
	ret = run_pics__finish(r.pics, lt_mono_ns()) ? 1 : 0;
out:
	ring_buffer__free(rb);
	trk_set__destroy(r.set);
	ksyms__free(r.fmt.ks);
	run_classes__free(r.classes);
	usyms__free(r.fmt.us);
	ev_free_drop_reasons();
	if (r.pics)
		run_pics__free(r.pics);
	else
		lat_pics_sel__free(&po.sel);
	return ret;
}
