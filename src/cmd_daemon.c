/* latrack daemon: the kernel trackers as a service.
 *
 * Runs the live engine (src/live.h) in the foreground, systemd style:
 * logs to stderr, exits cleanly on SIGTERM/SIGINT (a final tick first, so
 * the outputs get the last samples), re-reads its configuration on SIGHUP
 * without losing histograms, and answers `latrack ctl` on its control
 * socket.  The outputs (Prometheus, Graphite, JSON lines) are sinks of the
 * engine, built from the configuration. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cmd.h"
#include "config.h"
#include "ctl.h"
#include "evfmt.h"
#include "live.h"
#include "outputs.h"
#include "units.h"

#define NS_PER_S 1000000000ull
#define MAX_SETS 64

static volatile sig_atomic_t stop, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		stop = 1;
}

__attribute__((format(printf, 1, 2))) static void logf_(const char *fmt, ...)
{
	va_list ap;

	fputs("latrack daemon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct daemon {
	struct lt_config cfg;
	struct cfg_cmdline cl;
	struct live *l;
	struct ctl_server *ctl;
};

/* The engine's options from the configuration.  -EINVAL with err for a
 * cgroup that does not resolve. */
static int live_opts_from(const struct lt_config *c, struct live_opts *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->trk.per_trk = true;
	for (int t = 0; t < LT_TRK_MAX; t++) {
		const struct cfg_tracker *ct = &c->trk[t];
		struct trk_filter *f = &o->trk.tf[t];

		o->trk.on[t] = ct->enabled;
		o->trk.thresh_ns[t] = ct->threshold_ns;
		o->timeout_ns[t] = ct->timeout_ns;
		f->tgid = ct->pid;
		f->tid = ct->tid;
		if (ct->comm[0]) {
			f->comm_on = true;
			memcpy(f->comm, ct->comm, LT_COMM_LEN);
		}
		if (ct->cgroup[0]) {
			int ret = ev_cgroup_id(ct->cgroup, &f->cgid);

			if (ret) {
				snprintf(err, errlen, "[%s] cgroup '%s': %s", ev_trk_names[t], ct->cgroup,
					 ret == -ENOTDIR ? "not a cgroup v2 directory" : strerror(-ret));
				return -EINVAL;
			}
		}
	}
	o->trk.ringbuf_bytes = c->daemon.ringbuf_kib * 1024;
	o->trk.max_classes = c->daemon.max_classes;
	if (!o->trk.max_classes) {
		bool filtered = false;

		for (int t = 0; t < LT_TRK_MAX; t++)
			if (c->trk[t].enabled && (c->trk[t].pid || c->trk[t].tid || c->trk[t].comm[0] ||
						  c->trk[t].cgroup[0]))
				filtered = true;
		o->trk.max_classes = trk_default_classes(filtered);
	}
	o->tick_ns = c->daemon.tick_ns;
	o->max_classes = c->daemon.classes;
	o->window_memory = c->daemon.window_memory;
	o->no_windows = !c->daemon.window_memory;
	o->change_detection = c->daemon.change_detection && c->daemon.window_memory;
	o->class_idle_ns = c->daemon.class_idle_ns;
	return 0;
}

/* Build the outputs whose section is enabled and, when old is given,
 * differs from it (the others keep running).  Returns -1 if one failed. */
static int start_outputs(struct daemon *d, const struct lt_config *old)
{
	char err[256];
	int ret = 0;

#define OUTPUT(sec, name, ctor)                                                              \
	do {                                                                                 \
		if (old && !memcmp(&old->sec, &d->cfg.sec, sizeof(d->cfg.sec)))             \
			break;                                                               \
		if (old)                                                                     \
			live__remove_sink(d->l, name);                                      \
		if (!d->cfg.sec.enabled)                                                     \
			break;                                                               \
		struct sink *s = ctor(&d->cfg.sec, err, sizeof(err));                       \
		if (!s || live__add_sink(d->l, s)) {                                         \
			logf_("%s", s ? name ": too many outputs" : err);                    \
			if (s)                                                               \
				s->ops->destroy(s);                                          \
			ret = -1;                                                            \
		}                                                                            \
	} while (0)

	OUTPUT(prometheus, "prometheus", out_prometheus__new);
	OUTPUT(graphite, "graphite", out_graphite__new);
	OUTPUT(json, "json", out_json__new);
#undef OUTPUT
	return ret;
}

static void do_reload(struct daemon *d)
{
	struct lt_config nc, old;
	struct live_opts o;
	char err[512];

	if (cfg_load(&nc, &d->cl, err, sizeof(err))) {
		logf_("reload: %s; keeping the running configuration", err);
		return;
	}
	if (live_opts_from(&nc, &o, err, sizeof(err)) || live__reconfigure(d->l, &o, err, sizeof(err))) {
		logf_("reload: %s; keeping the running configuration", err);
		cfg_free(&nc);
		return;
	}
	if (strcmp(nc.daemon.socket, d->cfg.daemon.socket))
		logf_("reload: the control socket stays %s until restart", d->cfg.daemon.socket);
	snprintf(nc.daemon.socket, sizeof(nc.daemon.socket), "%s", d->cfg.daemon.socket);
	old = d->cfg;
	d->cfg = nc;
	start_outputs(d, &old);
	cfg_free(&old);
	logf_("configuration reloaded");
}

/* ---- control requests ---- */

static int trk_arg(const char *s, FILE *reply)
{
	int t = ev_trk_by_name(s, strlen(s));

	if (t < 0)
		fprintf(reply, "error: unknown tracker '%.32s' (known: syscall, wakeup, offcpu, block, irq, net)\n", s);
	return t;
}

static void handle(void *ctx, int argc, char **argv, FILE *reply)
{
	struct daemon *d = ctx;
	uint64_t ns;
	int t, ret;

	if (!strcmp(argv[0], "status") && argc == 1) {
		fputs("ok\n", reply);
		live__status(d->l, reply);
		return;
	}
	if (!strcmp(argv[0], "reset") && argc == 1) {
		live__reset(d->l);
		logf_("ctl: counters and histograms reset");
		fputs("ok\n", reply);
		return;
	}
	if ((!strcmp(argv[0], "enable") || !strcmp(argv[0], "disable")) && argc == 2) {
		bool on = argv[0][0] == 'e';

		if ((t = trk_arg(argv[1], reply)) < 0)
			return;
		ret = live__enable(d->l, t, on);
		if (ret == -ENOENT)
			fprintf(reply, "error: %s is not loaded: set enabled = true in its [%s] section and reload (SIGHUP)\n",
				ev_trk_names[t], ev_trk_names[t]);
		else if (ret)
			fprintf(reply, "error: %s: %s\n", ev_trk_names[t], strerror(-ret));
		else {
			fputs("ok\n", reply);
			logf_("ctl: %s %s", argv[0], ev_trk_names[t]);
		}
		return;
	}
	if (!strcmp(argv[0], "set") && argc == 4) {
		bool th = !strcmp(argv[2], "threshold");
		char b[32];

		if ((t = trk_arg(argv[1], reply)) < 0)
			return;
		if (!th && strcmp(argv[2], "timeout")) {
			fprintf(reply, "error: set %s: unknown setting '%.32s' (threshold, timeout)\n", ev_trk_names[t], argv[2]);
			return;
		}
		if (ev_parse_dur(argv[3], th ? 1000000ull : NS_PER_S, &ns)) {
			fprintf(reply, "error: bad duration '%.32s' (e.g. 10ms, 500us, 1s)\n", argv[3]);
			return;
		}
		ret = th ? live__set_threshold(d->l, t, ns) : live__set_timeout(d->l, t, ns);
		if (ret == -EINVAL && !th)
			fprintf(reply, "error: %s has no timeout (only syscall and block)\n", ev_trk_names[t]);
		else if (ret)
			fprintf(reply, "error: %s: %s\n", ev_trk_names[t], strerror(-ret));
		else {
			fputs("ok\n", reply);
			logf_("ctl: %s %s = %s", ev_trk_names[t], argv[2], ev_fmt_dur(ns, b, sizeof(b)));
		}
		return;
	}
	fprintf(reply, "error: unknown request '%.64s' (status; set TRACKER threshold|timeout DURATION; "
		"enable TRACKER; disable TRACKER; reset)\n", argv[0]);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: latrack daemon [-c FILE] [--set SECTION.KEY=VALUE]... [-v]\n"
"\n"
"Run the kernel trackers continuously, in the foreground (systemd style):\n"
"keep per-class latency histograms (since start, and 10 s slots over the\n"
"last hour), detect significant changes (last minute vs the hour before),\n"
"and feed the outputs: Prometheus /metrics, Graphite, JSON lines.\n"
"\n"
"Configuration, lowest precedence first: defaults, /etc/latrack/latrack.conf,\n"
"~/.config/latrack/latrack.conf, then --set.  -c FILE replaces both files.\n"
"`latrack config` prints the result and where each value came from.\n"
"\n"
"Options:\n"
"  -c, --config FILE         read FILE instead of the system and user files\n"
"  -s, --set SEC.KEY=VALUE   override one value (repeatable), e.g.\n"
"                            --set syscall.threshold=5ms --set prometheus.listen=127.0.0.1:9100\n"
"  -v, --verbose             libbpf debug output (verifier log)\n"
"  -h, --help                this help\n"
"\n"
"Signals: SIGTERM/SIGINT stop (after a final tick); SIGHUP re-reads the\n"
"configuration: thresholds, timeouts, on/off and outputs change in place;\n"
"new filters or trackers reload the BPF programs; histograms are kept.\n"
"\n"
"Control while running (root only): latrack ctl status | set TRACKER\n"
"threshold|timeout DURATION | enable TRACKER | disable TRACKER | reset\n"
"\n"
"Needs root (CAP_BPF, CAP_PERFMON) and a kernel with BTF.  A systemd unit\n"
"is in dist/latrack.service.\n"
"\n"
"EXAMPLES:\n"
"  latrack daemon                                 defaults: all trackers, /metrics on 127.0.0.1:9464\n"
"  latrack daemon --set graphite.enabled=true --set graphite.host=10.0.0.5\n"
"  latrack daemon -c /etc/latrack/db.conf --set json.enabled=true --set json.path=/var/log/latrack.jsonl\n"
"  curl -s 127.0.0.1:9464/metrics | grep latrack_syscall_latency_seconds_count\n");
}

int cmd_daemon(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sets[MAX_SETS];
	struct daemon d = { 0 };
	struct sigaction sa = { 0 };
	struct live_opts o;
	char err[512];
	int opt, ret = 1;
	bool verbose = false;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:s:vh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.cl.file = optarg;
			break;
		case 's':
			if (d.cl.nr_sets == MAX_SETS) {
				fprintf(stderr, "latrack daemon: at most %d --set\n", MAX_SETS);
				return 2;
			}
			sets[d.cl.nr_sets++] = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "latrack daemon: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	d.cl.sets = sets;
	if (cfg_load(&d.cfg, &d.cl, err, sizeof(err))) {
		fprintf(stderr, "latrack daemon: %s\n", err);
		return 2;
	}
	if (live_opts_from(&d.cfg, &o, err, sizeof(err))) {
		fprintf(stderr, "latrack daemon: %s\n", err);
		goto out;
	}
	o.trk.verbose = verbose;
	if (geteuid() != 0) {
		fprintf(stderr, "latrack daemon: needs root (CAP_BPF and CAP_PERFMON) to load BPF programs\n");
		goto out;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "latrack daemon: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
				"CONFIG_DEBUG_INFO_BTF=y is needed\n");
		goto out;
	}
	/* The control socket first: a second daemon stops here, before loading anything. */
	d.ctl = ctl_server__new(d.cfg.daemon.socket, err, sizeof(err));
	if (!d.ctl) {
		fprintf(stderr, "latrack daemon: %s\n", err);
		goto out;
	}
	if (live__new(&d.l, &o, err, sizeof(err))) {
		fprintf(stderr, "latrack daemon: %s\n", err);
		goto out;
	}
	if (start_outputs(&d, NULL))
		goto out;
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	{
		char line[512];

		logf_("running: %s; control socket %s", ev_fmt_trackers(line, sizeof(line), o.trk.on, o.trk.thresh_ns),
		      d.cfg.daemon.socket);
	}

	while (!stop) {
		struct pollfd pfd[2] = {
			{ .fd = live__fd(d.l), .events = POLLIN },
			{ .fd = ctl_server__fd(d.ctl), .events = POLLIN },
		};
		int wait_ms = live__process(d.l, lt_mono_ns());

		if (wait_ms < 0) {
			logf_("ring buffer: %s", strerror(-wait_ms));
			goto out;
		}
		if (reload) {
			reload = 0;
			do_reload(&d);
			continue;
		}
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR) {
			logf_("poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[1].revents & POLLIN)
			ctl_server__serve(d.ctl, handle, &d);
	}
	live__tick_now(d.l, lt_mono_ns()); /* the outputs get the last samples */
	logf_("stopped");
	ret = 0;
out:
	live__destroy(d.l);
	ctl_server__destroy(d.ctl);
	cfg_free(&d.cfg);
	return ret;
}
