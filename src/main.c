/* latrack: find latency problems while production runs.
 *
 * One binary with subcommands (git style).  This file only dispatches;
 * each subcommand lives in its own src/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define LATRACK_VERSION "0.1.0"

static const struct lt_cmd cmds[] = {
	{ "demo", cmd_demo, "pair begin/end events in user space and report the slow ones" },
	{ "run", cmd_run, "measure kernel latencies live (eBPF) and report the outliers" },
	{ "report", cmd_report, "analyse LTTng traces (syscalls, sched, irq, io, pairs), offline or live" },
	{ "top", cmd_top, "a live screen of the worst latencies (kernel trackers or a trace)" },
	{ "daemon", cmd_daemon, "run the trackers as a service: Prometheus, Graphite, JSON outputs" },
	{ "ctl", cmd_ctl, "control a running daemon: status, thresholds, enable/disable, reset" },
	{ "config", cmd_config, "print the daemon's effective configuration and where it came from" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: latrack COMMAND [OPTIONS]\n"
		"\n"
		"latrack pairs begin and end events that share a key (a thread, a block\n"
		"request, an application request id), measures the delay, keeps latency\n"
		"distributions per class and reports the outliers.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f,
		"\n"
		"Run `latrack COMMAND --help` for the options of one command.\n"
		"Documentation: docs/ in the source tree.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("latrack %s\n", LATRACK_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "latrack: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
