/* latrack ctl: talk to a running daemon over its control socket
 * (src/ctl.h): status, thresholds and timeouts, enable/disable, reset. */
#include <errno.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "ctl.h"
#include "evfmt.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: latrack ctl [-s SOCKET] [-c FILE] COMMAND\n"
		"\n"
		"Control a running `latrack daemon` through its control socket (root only).\n"
		"Changes apply at once, without reloading the BPF programs, and last until\n"
		"the daemon stops or reloads its configuration (SIGHUP).\n"
		"\n"
		"Commands:\n"
		"  status                              trackers (on/off, threshold, timeout,\n"
		"                                      samples, outliers, stuck), loss counters,\n"
		"                                      classes, outputs and their health\n"
		"  set TRACKER threshold DURATION      report ends slower than DURATION\n"
		"                                      (bare number: ms)\n"
		"  set TRACKER timeout DURATION        report events in flight longer than\n"
		"                                      DURATION (syscall and block only; 0: never;\n"
		"                                      bare number: s)\n"
		"  enable TRACKER | disable TRACKER    start or stop measuring (a tracker not\n"
		"                                      loaded at start needs a reload)\n"
		"  reset                               forget every class, histogram, window and\n"
		"                                      counter\n"
		"TRACKER: syscall, wakeup, offcpu, block, irq, net.\n"
		"DURATION: 10ms, 500us, 1.5s, 2m.\n"
		"\n"
		"Options:\n"
		"  -s, --socket SOCKET   the daemon's control socket (default: [daemon] socket\n"
		"                        of the configuration, " CTL_DEFAULT_SOCKET ")\n"
		"  -c, --config FILE     read [daemon] socket from FILE\n"
		"  -h, --help            this help\n"
		"\n"
		"Exit status: 0 the daemon replied ok (the reply is on stdout); 1 it replied\n"
		"with an error (on stderr); 2 usage error; 3 no daemon could be reached.\n"
		"\n"
		"Protocol (for scripts): connect to the socket, send one line, read the reply\n"
		"until the daemon closes; its first line is \"ok\" or \"error: WHY\".\n"
		"\n"
		"Examples:\n"
		"  latrack ctl status\n"
		"  latrack ctl set syscall threshold 5ms\n"
		"  latrack ctl set block timeout 2s\n"
		"  latrack ctl disable offcpu\n"
		"  latrack ctl -s /tmp/test.sock reset\n"
		"  echo status | socat - UNIX-CONNECT:" CTL_DEFAULT_SOCKET "\n");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "latrack ctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see latrack ctl --help)\n");
	return 2;
}

/* Check the command before sending it: usage errors exit 2 here. */
static int check_command(int argc, char **argv)
{
	const char *c = argv[0];
	uint64_t ns;
	int t;

	if (!strcmp(c, "status") || !strcmp(c, "reset")) {
		if (argc != 1)
			return bad("'%s' takes no arguments", c);
		return 0;
	}
	if (!strcmp(c, "enable") || !strcmp(c, "disable")) {
		if (argc != 2)
			return bad("usage: %s TRACKER", c);
		if (ev_trk_by_name(argv[1], strlen(argv[1])) < 0)
			return bad("unknown tracker '%s' (syscall, wakeup, offcpu, block, irq, net)", argv[1]);
		return 0;
	}
	if (!strcmp(c, "set")) {
		if (argc != 4)
			return bad("usage: %s TRACKER threshold|timeout DURATION", c);
		t = ev_trk_by_name(argv[1], strlen(argv[1]));
		if (t < 0)
			return bad("unknown tracker '%s' (syscall, wakeup, offcpu, block, irq, net)", argv[1]);
		if (!strcmp(argv[2], "threshold")) {
			if (ev_parse_dur(argv[3], NS_PER_MS, &ns))
				return bad("bad duration '%s' (e.g. 10ms, 500us, 1s)", argv[3]);
		} else if (!strcmp(argv[2], "timeout")) {
			if (ev_parse_dur(argv[3], NS_PER_S, &ns))
				return bad("bad duration '%s' (e.g. 1s, 500ms, 0 for none)", argv[3]);
			if (ns && !ev_default_timeout_ns[t])
				return bad("the %s tracker has no timeout (only syscall and block)", argv[1]);
		} else {
			return bad("set what? '%s' (threshold or timeout)", argv[2]);
		}
		return 0;
	}
	return bad("unknown command '%s' (status, set, enable, disable, reset)", c);
}

int cmd_ctl(int argc, char **argv)
{
	const char *sock = NULL, *file = NULL;
	char err[512], req[CTL_MAX_REQUEST + 1], *reply = NULL;
	size_t rlen = 0, used = 0;
	struct lt_config c;
	int i, r;
	FILE *f;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-s") || !strcmp(a, "--socket") || !strcmp(a, "-c") ||
			   !strcmp(a, "--config")) {
			if (i + 1 >= argc)
				return bad("%s needs a value", a);
			if (a[1] == 's' || a[2] == 's')
				sock = argv[++i];
			else
				file = argv[++i];
		} else if (!strncmp(a, "--socket=", 9)) {
			sock = a + 9;
		} else if (!strncmp(a, "--config=", 9)) {
			file = a + 9;
		} else {
			return bad("unknown option '%s'", a);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	r = check_command(argc - i, argv + i);
	if (r)
		return r;
	for (int j = i; j < argc; j++) {
		int n = snprintf(req + used, sizeof(req) - used, "%s%s", j > i ? " " : "", argv[j]);

		if (n < 0 || (size_t)n >= sizeof(req) - used)
			return bad("request too long (%s)", "at most 1023 bytes");
		used += (size_t)n;
	}
	if (!sock) {
		struct cfg_cmdline cl = { .file = file };
		static char path[sizeof(c.daemon.socket)];

		sock = CTL_DEFAULT_SOCKET;
		if (!cfg_load(&c, &cl, err, sizeof(err))) {
			snprintf(path, sizeof(path), "%s", c.daemon.socket);
			sock = path;
			cfg_free(&c);
		} else if (file) {
			fprintf(stderr, "latrack ctl: %s\n", err);
			return 2;
		}
	}
	f = open_memstream(&reply, &rlen);
	if (!f)
		return 3;
	r = ctl_client__call(sock, req, f, err, sizeof(err));
	fclose(f);
	if (r < 0) {
		fprintf(stderr, "latrack ctl: %s\n", err);
		free(reply);
		return 3;
	}
	fwrite(reply, 1, rlen, r ? stderr : stdout);
	free(reply);
	return r ? 1 : 0;
}
