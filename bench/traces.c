/* bench/traces: events per second of `latrack report` (every analysis) on
 * a real LTTng kernel trace, against, in the same run:
 *   - babeltrace2 reading the same trace into a dummy sink (`-o dummy`):
 *     the speed of the library latrack reads through;
 *   - lttng-syscallstats (Debian's python3-lttnganalyses), the analysis
 *     latrack replaces.
 * Wall time of whole processes, best of -r runs (lttng-analyses: best of
 * min(r, 2): it takes seconds).
 *
 * Usage: bench/traces [-r RUNS] [TRACE]
 *   (default TRACE: $LATRACK_TRACES/cat-kern-ust/cat-kernel, else
 *    ../shared/traces/..., else /work/shared/traces/...)
 * Last line:
 *   traces: events_per_s=<N> vs_babeltrace2_read=<R> vs_lttng_analyses=<S>x
 * where R = babeltrace2's time / latrack's (>= 1: latrack is as fast as the
 * bare read) and S = lttng-syscallstats' time / latrack's; "NA" when a
 * baseline is not installed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv with stdout and stderr to /dev/null; seconds, or -1. */
static double run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	double t0, t1;
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = now();
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	if (waitpid(pid, &st, 0) < 0)
		st = -1;
	t1 = now();
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t1 - t0 : -1;
}

static double best(char *const argv[], int runs)
{
	double b = -1;

	for (int i = 0; i < runs; i++) {
		double t = run(argv);

		if (t < 0)
			return -1;
		if (b < 0 || t < b)
			b = t;
	}
	return b;
}

static int exists(const char *p)
{
	struct stat sb;

	return !stat(p, &sb);
}

int main(int argc, char **argv)
{
	char latrack[PATH_MAX + 16], trace[PATH_MAX], cmd[PATH_MAX * 2 + 64], line[512];
	const char *build = getenv("LATRACK_BUILD"), *traces = getenv("LATRACK_TRACES");
	unsigned long long events = 0;
	double tl, tb, ts;
	int runs = 5, c;
	FILE *p;

	while ((c = getopt(argc, argv, "r:h")) != -1) {
		if (c == 'r' && atoi(optarg) > 0) {
			runs = atoi(optarg);
		} else {
			fprintf(stderr, "usage: %s [-r RUNS] [TRACE]\n", argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (build) {
		snprintf(latrack, sizeof(latrack), "%s/latrack", build);
	} else {
		/* build/bench/traces -> build/latrack */
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		char *slash;

		self[n > 0 ? n : 0] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		snprintf(latrack, sizeof(latrack), "%s/../latrack", self);
	}
	if (optind < argc)
		snprintf(trace, sizeof(trace), "%s", argv[optind]);
	else if (traces)
		snprintf(trace, sizeof(trace), "%s/cat-kern-ust/cat-kernel", traces);
	else if (exists("../shared/traces/cat-kern-ust/cat-kernel"))
		snprintf(trace, sizeof(trace), "../shared/traces/cat-kern-ust/cat-kernel");
	else
		snprintf(trace, sizeof(trace), "/work/shared/traces/cat-kern-ust/cat-kernel");
	if (!exists(trace) || !exists(latrack)) {
		fprintf(stderr, "bench/traces: no trace at %s or no %s\n", trace, latrack);
		return 1;
	}

	snprintf(cmd, sizeof(cmd), "'%s' report --json '%s' syscalls 2>/dev/null", latrack, trace);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (sscanf(line, "{\"trace\": {\"input\": %*[^,], \"traces\": %*u, \"events\": %llu",
			   &events) == 1)
			break;
	if (p) {
		while (fgets(line, sizeof(line), p))
			;
		pclose(p);
	}
	if (!events) {
		fprintf(stderr, "bench/traces: latrack report failed on %s\n", trace);
		return 1;
	}

	{
		char *a[] = { latrack, "report", trace, "syscalls", "latency-top", "sched", "irq",
			      "io", NULL };
		char *b[] = { "babeltrace2", trace, "-o", "dummy", NULL };
		char *s[] = { "lttng-syscallstats", "--no-progress", trace, NULL };

		tl = best(a, runs);
		tb = best(b, runs);
		ts = best(s, runs < 2 ? runs : 2);
	}
	if (tl <= 0) {
		fprintf(stderr, "bench/traces: latrack report failed\n");
		return 1;
	}
	printf("trace %s: %llu events\n", trace, events);
	printf("latrack report (all analyses): %.3f s, %.0f events/s\n", tl, (double)events / tl);
	if (tb > 0)
		printf("babeltrace2 -o dummy:          %.3f s, %.0f events/s\n", tb, (double)events / tb);
	else
		printf("babeltrace2 -o dummy:          not run (babeltrace2 not installed?)\n");
	if (ts > 0)
		printf("lttng-syscallstats:            %.3f s, %.0f events/s\n", ts, (double)events / ts);
	else
		printf("lttng-syscallstats:            not run (python3-lttnganalyses not installed?)\n");
	printf("traces: events_per_s=%.0f vs_babeltrace2_read=", (double)events / tl);
	if (tb > 0)
		printf("%.2f", tb / tl);
	else
		printf("NA");
	printf(" vs_lttng_analyses=");
	if (ts > 0)
		printf("%.1fx\n", ts / tl);
	else
		printf("NAx\n");
	return 0;
}
