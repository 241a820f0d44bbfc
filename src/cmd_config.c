/* latrack config: print the daemon's effective configuration, each value
 * with where it came from (src/config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "cmd.h"
#include "config.h"

static void usage(FILE *f)
{
	char ubuf[CFG_PATH_MAX];
	const char *user = cfg_user_path(ubuf, sizeof(ubuf));

	fprintf(f,
		"Usage: latrack config [-c FILE] [--set SECTION.KEY=VALUE]...\n"
		"\n"
		"Print the configuration `latrack daemon` would run with, as INI that the\n"
		"daemon reads back, each value followed by where it came from.\n"
		"\n"
		"Sources, later ones win:\n"
		"  1. built-in defaults                                    ; default\n"
		"  2. the system file  %s  ; FILE:LINE\n"
		"     (LATRACK_SYSCONF=PATH reads another)\n"
		"  3. the user file    %s\n"
		"     ($XDG_CONFIG_HOME/latrack/latrack.conf when XDG_CONFIG_HOME is set)\n"
		"  4. -c FILE          read FILE instead of both files (it must exist)\n"
		"  5. --set S.K=V      one value, in the order given   ; --set S.K=V\n"
		"A missing system or user file is not an error.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE        configuration file instead of the system and user files\n"
		"  -s, --set SECTION.KEY=VALUE  override one value (repeatable)\n"
		"  -h, --help               this help\n"
		"\n"
		"Format: INI.  [section], key = value, comments start with ';' or '#' (after a\n"
		"value: ' ;').  Durations: 10ms, 500us, 1.5s, 2m (a bare number is in ms for\n"
		"thresholds, in s for timeouts, tick and interval).  Sizes: 4096, 64K, 100M, 1G.\n"
		"Booleans: true/false, yes/no, on/off, 1/0.\n"
		"\n"
		"Sections and keys:\n"
		"  [daemon]      tick (1s)  socket (/run/latrack/latrack.sock)  max_classes (0: auto)\n"
		"                ringbuf (1M, power of 2)  classes (4096)  window_memory (128M)\n"
		"                change_detection (true)  class_idle (60s)\n"
		"  [syscall] [wakeup] [offcpu] [block] [irq] [net]\n"
		"                enabled  threshold  timeout (syscall 1s, block 5s; others 0 only)\n"
		"                pid  tid  comm  cgroup (filters; 0 or empty: any)\n"
		"                wakeup and offcpu share one BPF object: with both enabled, their\n"
		"                filters must be equal.\n"
		"  [prometheus]  enabled (true)  listen (127.0.0.1:9464; [::1]:9464)\n"
		"                buckets (pow2: 1.024us to 17.179869184s; or a list of internal\n"
		"                histogram edges, e.g. 1.024us,1.048576ms,1.073741824s)\n"
		"                max_series (200)\n"
		"  [graphite]    enabled (false)  host (127.0.0.1)  port (2003)\n"
		"                prefix (latrack.HOSTNAME)  interval (10s; whole seconds, a multiple\n"
		"                of tick)\n"
		"                queue (100000)\n"
		"  [json]        enabled (false)  path (-: stdout)  max_size (100M; 0: no\n"
		"                rotation)  keep (5)\n"
		"\n"
		"Errors name the file and line (or the --set) and exit with status 2.\n"
		"\n"
		"Examples:\n"
		"  latrack config                                   # what the daemon would use\n"
		"  latrack config --set syscall.threshold=5ms --set net.enabled=false\n"
		"  latrack config -c /etc/latrack/test.conf > effective.conf\n"
		"  latrack config -c effective.conf                 # reads back its own output\n"
		"  latrack config | grep -v '; default$'            # only what was changed\n"
		"\n"
		"See dist/latrack.conf for a commented example and docs/CONFIG.md.\n",
		cfg_system_path(), user ? user : "~/.config/latrack/latrack.conf");
}

int cmd_config(int argc, char **argv)
{
	struct cfg_cmdline cl = { 0 };
	const char **sets = calloc((size_t)argc + 1, sizeof(*sets));
	struct lt_config c;
	char err[1024];

	if (!sets)
		return 2;
	cl.sets = sets;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			free(sets);
			return 0;
		} else if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "-s") ||
			   !strcmp(a, "--set")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "latrack config: %s needs a value (see latrack config --help)\n", a);
				free(sets);
				return 2;
			}
			if (a[1] == 'c' || a[2] == 'c')
				cl.file = argv[++i];
			else
				sets[cl.nr_sets++] = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			cl.file = a + 9;
		} else if (!strncmp(a, "--set=", 6)) {
			sets[cl.nr_sets++] = a + 6;
		} else {
			fprintf(stderr, "latrack config: unknown argument '%s' (see latrack config --help)\n", a);
			free(sets);
			return 2;
		}
	}
	if (cfg_load(&c, &cl, err, sizeof(err))) {
		fprintf(stderr, "latrack config: %s\n", err);
		free(sets);
		return 2;
	}
	printf("; latrack effective configuration: `latrack config -c FILE` reads it back\n");
	if (cl.file) {
		printf("; read: %s (-c)\n", cl.file);
	} else {
		char ubuf[CFG_PATH_MAX];
		const char *sys = cfg_system_path(), *user = cfg_user_path(ubuf, sizeof(ubuf));

		printf("; system file: %s (%s)\n", sys, access(sys, F_OK) ? "absent" : "read");
		if (user)
			printf("; user file: %s (%s)\n", user, access(user, F_OK) ? "absent" : "read");
	}
	cfg_print(&c, stdout);
	cfg_free(&c);
	free(sets);
	return 0;
}
