/* bench/overhead: what `latrack run syscall` adds to every system call,
 * against the same per-syscall latency histogram in bpftrace, in the same
 * run.
 *
 * A round times a tight loop of getppid() (the cheapest syscall, so the
 * tracer's cost is most of what is added) four times: untraced, with
 * `latrack run syscall` attached, untraced again, with bpftrace attached.
 * Each tracer's added cost is its loop's ns per call minus the untraced
 * loop just before it, so a drift of the machine between rounds does not
 * enter a difference.  The figures are the medians over the rounds.
 *
 * latrack runs with a threshold no getppid() reaches (100 s): histograms
 * are filled, no outlier is sent, so both tracers do the same work: pair
 * enter/exit per thread, add the delay to a histogram.
 *
 * latrack is found as $LATRACK_BUILD/latrack, else ../latrack next to this
 * program (build/bench/overhead -> build/latrack); bpftrace in $PATH.  A
 * tracer that is missing or fails to attach is reported and shown as NA.
 *
 * -C times the loops with the thread's CPU time instead of the wall
 * clock: on a machine shared with other work, the time other processes
 * take the CPU from the loop then does not count.
 *
 * -f adds the floor of any tracer built this way, measured in the same
 * rounds: programs that return at once attached to the same two tracepoints
 * (raw_tp, loaded here with bpf(2); tp_btf dispatches the same way), and
 * the same programs calling bpf_ktime_get_ns() once each, as any latency
 * tracer must at both ends.  -B skips bpftrace (quicker, for trial builds).
 *
 * Rounds start when no other program is on sys_enter/sys_exit (raw_tp and
 * tp_btf links: another latrack, say), or after 10 s with those there; a
 * round during which that set changed is measured again, and a round
 * measured with others there says so.
 *
 * Usage: bench/overhead [-n CALLS_PER_LOOP] [-r ROUNDS] [-f] [-B] [-C]
 * Last line:
 *   overhead: latrack_ns_per_syscall=<X> bpftrace_ns_per_syscall=<Y> ratio=<X/Y> */
#include <errno.h>
#include <linux/bpf.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ATTACH_TIMEOUT_MS 60000 /* bpftrace compiles with LLVM first: seconds */
#define MAX_ROUNDS 101
#define SETTLE_MS 1000

static const char bpftrace_prog[] =
	"tracepoint:raw_syscalls:sys_enter { @s[tid] = nsecs; } "
	"tracepoint:raw_syscalls:sys_exit /@s[tid]/ { @h = hist(nsecs - @s[tid]); delete(@s[tid]); }";

struct tracer {
	const char *name;
	char *const *argv;
	const char *ready; /* what it prints once its probes are attached */
	bool ok;           /* still worth trying */
	int own_links;     /* its raw tracepoint links on sys_enter/sys_exit */
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

volatile pid_t overhead_sink;

/* The raw tracepoint links (raw_tp and tp_btf programs) on sys_enter and
 * sys_exit, by id: the tracer under test, and any other there (a test
 * suite running latrack in another session, say), which adds its cost to
 * every loop while it is attached. */
#define MAX_LINKS 256
struct linkset {
	int n;
	__u32 id[MAX_LINKS]; /* increasing */
};

static void sys_tp_links(struct linkset *s);

/* A traced loop and the untraced loop right after its tracer detached.
 * The difference counts (valid) if the other programs on the two
 * tracepoints were the same ones through both loops: their cost is then
 * in both. */
struct diff {
	double traced, untraced;
	bool valid;
	int others; /* other programs there meanwhile */
};

static bool set_eq(const struct linkset *a, const struct linkset *b)
{
	return a->n == b->n && !memcmp(a->id, b->id, sizeof(a->id[0]) * (size_t)a->n);
}

/* small is in big, and big has own more. */
static bool set_plus(const struct linkset *big, const struct linkset *small, int own)
{
	int j = 0;

	if (big->n - small->n != own)
		return false;
	for (int i = 0; i < small->n; i++) {
		while (j < big->n && big->id[j] < small->id[i])
			j++;
		if (j == big->n || big->id[j] != small->id[i])
			return false;
	}
	return true;
}

/* The clock of the loops: CLOCK_MONOTONIC (wall time), or with -C the
 * thread's CPU time, which leaves out the time other processes take the
 * CPU from the loop (the programs of the tracer under test run in the
 * loop's syscalls, so they count either way). */
static clockid_t loop_clock = CLOCK_MONOTONIC;

static double loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(loop_clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per getppid() over n calls.  getppid is never cached by glibc, and the
 * volatile sink keeps the calls from being merged. */
static double loop_ns(long n)
{
	double t0 = loop_now_ns();

	for (long i = 0; i < n; i++)
		overhead_sink = getppid();
	return (loop_now_ns() - t0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Start argv with stdout and stderr on a pipe; wait until a line of its
 * output contains ready.  Returns the pid (and *out, the pipe's read end)
 * or -1 with the reason printed. */
static pid_t start_tracer(const struct tracer *tr, int *out)
{
	char buf[4096];
	size_t used = 0;
	int p[2];
	pid_t pid;
	double deadline = now_ns() + ATTACH_TIMEOUT_MS * 1e6;

	if (pipe2(p, O_CLOEXEC)) {
		perror("overhead: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("overhead: fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!pid) {
		/* killed with us: a tracer left attached would slow everything
		 * (SIGKILL: a bpftrace still starting up let a SIGINT pass);
		 * the kernel detaches the programs of a dead process */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execvp(tr->argv[0], tr->argv);
		fprintf(stderr, "exec %s: %s\n", tr->argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		int left = (int)((deadline - now_ns()) / 1e6);
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, left) <= 0) {
			fprintf(stderr, "overhead: %s did not attach within %d s\n", tr->name,
				ATTACH_TIMEOUT_MS / 1000);
			break;
		}
		if (used == sizeof(buf) - 1) { /* keep the tail: the marker may straddle */
			memmove(buf, buf + sizeof(buf) / 2, used - sizeof(buf) / 2);
			used -= sizeof(buf) / 2;
		}
		r = read(p[0], buf + used, sizeof(buf) - 1 - used);
		if (r <= 0) {
			buf[used] = '\0';
			fprintf(stderr, "overhead: %s exited before attaching; its output:\n%s\n",
				tr->name, buf);
			break;
		}
		used += (size_t)r;
		buf[used] = '\0';
		if (strstr(buf, tr->ready)) {
			/* bpftrace prints "Attaching N probes" before it attaches
			 * them: give both the same settling time. */
			struct timespec settle = { 0, SETTLE_MS * 1000000L };

			nanosleep(&settle, NULL);
			*out = p[0];
			return pid;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	return -1;
}

/* SIGINT, then drain its final output (it would block on a full pipe) and
 * reap it.  Returns 0 if it ended normally. */
static int stop_tracer(const struct tracer *tr, pid_t pid, int out)
{
	char buf[4096];
	int st;

	kill(pid, SIGINT);
	while (read(out, buf, sizeof(buf)) > 0)
		;
	close(out);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "overhead: %s ended badly (status 0x%x)\n", tr->name, st);
		return -1;
	}
	return 0;
}

/* One difference with a tracer: false if the tracer failed. */
static bool traced_diff(struct tracer *tr, long n, struct diff *d)
{
	static struct linkset b, c, e, f;
	int out = -1;
	pid_t pid = start_tracer(tr, &out);

	if (pid < 0) {
		tr->ok = false;
		return false;
	}
	sys_tp_links(&b);
	d->traced = loop_ns(n);
	sys_tp_links(&c);
	if (stop_tracer(tr, pid, out)) {
		tr->ok = false;
		return false;
	}
	sys_tp_links(&e);
	d->untraced = loop_ns(n);
	sys_tp_links(&f);
	d->valid = set_eq(&b, &c) && set_eq(&e, &f) && set_plus(&b, &e, tr->own_links);
	d->others = e.n;
	return true;
}

static int sys_bpf(int cmd, union bpf_attr *a)
{
	return (int)syscall(__NR_bpf, cmd, a, sizeof(*a));
}

/* A raw_tp program that returns 0, after one bpf_ktime_get_ns() if clock. */
static int floor_prog(bool clock)
{
	struct bpf_insn insns[3] = { 0 };
	union bpf_attr a;
	int n = 0;

	if (clock) {
		insns[n].code = BPF_JMP | BPF_CALL;
		insns[n++].imm = BPF_FUNC_ktime_get_ns;
	}
	insns[n].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 0 */
	n++;
	insns[n++].code = BPF_JMP | BPF_EXIT;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	a.insns = (__u64)(unsigned long)insns;
	a.insn_cnt = (__u32)n;
	a.license = (__u64)(unsigned long)"GPL";
	return sys_bpf(BPF_PROG_LOAD, &a);
}

/* ns per call with floor programs on sys_enter and sys_exit, or -1; the
 * links there during the loop in *during (before and after: else
 * during->n = -1). */
static double floor_loop(bool clock, long n, struct linkset *during)
{
	static const char *const tps[] = { "sys_enter", "sys_exit" };
	static struct linkset after;
	int prog = floor_prog(clock), links[2] = { -1, -1 };
	double ns = -1;

	if (prog < 0) {
		fprintf(stderr, "overhead: cannot load a floor program: %s\n", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		union bpf_attr a;

		memset(&a, 0, sizeof(a));
		a.raw_tracepoint.name = (__u64)(unsigned long)tps[i];
		a.raw_tracepoint.prog_fd = (__u32)prog;
		links[i] = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
		if (links[i] < 0) {
			fprintf(stderr, "overhead: cannot attach to %s: %s\n", tps[i], strerror(errno));
			goto out;
		}
	}
	sys_tp_links(during);
	ns = loop_ns(n);
	sys_tp_links(&after);
	if (!set_eq(during, &after))
		during->n = -1;
out:
	for (int i = 0; i < 2; i++)
		if (links[i] >= 0)
			close(links[i]);
	close(prog);
	return ns;
}

/* The floors: empty programs, then programs with a clock read, then the
 * untraced loop; traced = empty, untraced, and *clock. */
static bool floor_diff(long n, struct diff *d, double *clock)
{
	static struct linkset b0, b1, e, f;

	d->traced = floor_loop(false, n, &b0);
	*clock = floor_loop(true, n, &b1);
	if (d->traced < 0 || *clock < 0)
		return false;
	sys_tp_links(&e);
	d->untraced = loop_ns(n);
	sys_tp_links(&f);
	d->valid = b0.n >= 0 && b1.n >= 0 && set_eq(&e, &f) && set_plus(&b0, &e, 2) &&
		   set_plus(&b1, &e, 2);
	d->others = e.n;
	return true;
}

static void sys_tp_links(struct linkset *s)
{
	union bpf_attr a;
	__u32 id = 0;

	s->n = 0;
	for (;;) {
		struct bpf_link_info info;
		char name[64] = { 0 };
		int fd;

		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(BPF_LINK_GET_NEXT_ID, &a))
			break;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.link_id = id;
		fd = sys_bpf(BPF_LINK_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue; /* gone meanwhile */
		memset(&info, 0, sizeof(info));
		info.raw_tracepoint.tp_name = (__u64)(unsigned long)name;
		info.raw_tracepoint.tp_name_len = sizeof(name) - 1;
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = (__u32)fd;
		a.info.info_len = sizeof(info);
		a.info.info = (__u64)(unsigned long)&info;
		if (!sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) && info.type == BPF_LINK_TYPE_RAW_TRACEPOINT &&
		    (!strcmp(name, "sys_enter") || !strcmp(name, "sys_exit")) && s->n < MAX_LINKS)
			s->id[s->n++] = id;
		close(fd);
	}
}

/* Wait up to 10 s for the other programs on sys_enter/sys_exit to go. */
static void wait_quiet(void)
{
	static struct linkset s;
	bool said = false;

	for (int i = 0; i < 20; i++) {
		struct timespec ts = { 0, 500000000L };

		sys_tp_links(&s);
		if (!s.n)
			return;
		if (!said) {
			printf("# waiting for %d other program(s) on sys_enter/sys_exit to go\n", s.n);
			fflush(stdout);
			said = true;
		}
		nanosleep(&ts, NULL);
	}
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, prog) < (int)sizeof(buf) &&
		    !access(buf, X_OK))
			return true;
		p += len + (p[len] == ':');
	}
	return false;
}

/* $LATRACK_BUILD/latrack, else the latrack beside this program's directory. */
static int find_latrack(char *buf, size_t len)
{
	const char *b = getenv("LATRACK_BUILD");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (b && *b)
		return snprintf(buf, len, "%s/latrack", b) < (int)len ? 0 : -1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0'; /* build/bench */
	return snprintf(buf, len, "%s/../latrack", self) < (int)len ? 0 : -1;
}

/* A difference: traced, untraced, added ("other" if it does not count). */
static void print_diff(const struct diff *d)
{
	printf(" %9.1f %9.1f ", d->traced, d->untraced);
	if (d->valid)
		printf("%9.1f", d->traced - d->untraced);
	else
		printf("%9s", "other");
}

static void fmt_fig(char *buf, size_t len, double v, bool ok)
{
	if (ok)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "NA");
}

int main(int argc, char **argv)
{
	long n = 10000000;
	int rounds = 5, opt, done = 0;
	bool floors = false, no_bpftrace = false;
	char latrack[PATH_MAX], x[32], y[32], ratio[32];
	double add_lt[MAX_ROUNDS], add_bt[MAX_ROUNDS], base[MAX_ROUNDS];
	double add_f0[MAX_ROUNDS], add_f1[MAX_ROUNDS];

	while ((opt = getopt(argc, argv, "n:r:fBCh")) != -1) {
		switch (opt) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'f':
			floors = true;
			break;
		case 'B':
			no_bpftrace = true;
			break;
		case 'C':
			loop_clock = CLOCK_THREAD_CPUTIME_ID;
			break;
		default:
			fprintf(opt == 'h' ? stdout : stderr,
				"Usage: %s [-n CALLS_PER_LOOP (10000000)] [-r ROUNDS (5, at most %d)] [-f] [-B] [-C]\n"
				"  -f  also measure the floor: empty programs on sys_enter/sys_exit,\n"
				"      then the same with one bpf_ktime_get_ns() each\n"
				"  -B  skip bpftrace\n"
				"  -C  time the loops with the thread's CPU time, not the wall clock\n",
				argv[0], MAX_ROUNDS);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (n <= 0 || rounds <= 0 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "overhead: bad -n or -r\n");
		return 2;
	}
	if (find_latrack(latrack, sizeof(latrack))) {
		fprintf(stderr, "overhead: cannot locate latrack (set LATRACK_BUILD)\n");
		return 1;
	}
	char *lt_argv[] = { latrack, "run", "syscall", "-m", "100s", "--timeout", "3600", NULL };
	char *bt_argv[] = { "bpftrace", "-e", (char *)bpftrace_prog, NULL };
	/* bpftrace's tracepoint probes are perf events, not raw tracepoints */
	struct tracer lt = { "latrack", lt_argv, "latrack run: tracing", true, 2 };
	struct tracer bt = { "bpftrace", bt_argv, "Attaching", true, 0 };

	if (geteuid()) {
		fprintf(stderr, "overhead: needs root to load BPF programs; no tracer measured\n");
		lt.ok = bt.ok = false;
		floors = false;
	}
	if (access(latrack, X_OK)) {
		fprintf(stderr, "overhead: %s: %s (run make first)\n", latrack, strerror(errno));
		lt.ok = false;
	}
	if (no_bpftrace) {
		bt.ok = false;
	} else if (!in_path("bpftrace")) {
		fprintf(stderr, "overhead: bpftrace is not installed (Debian package bpftrace): "
				"no baseline, shown as NA\n");
		bt.ok = false;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("# %d rounds of %ld getppid() per loop; ns per call (%s); +added vs the untraced loop right after\n",
	       rounds, n, loop_clock == CLOCK_MONOTONIC ? "wall clock" : "thread CPU time");
	printf("# %-5s %9s %9s %9s %9s %9s %9s", "round", "latrack", "untraced", "+added",
	       "bpftrace", "untraced", "+added");
	if (floors)
		printf(" %9s %9s %9s %9s %9s", "empty", "untraced", "+added", "clock", "+added");
	putchar('\n');
	int nl = 0, nt = 0, nf = 0, others = 0;

	for (int r = 0; r < 4 * rounds; r++) {
		bool want_l = lt.ok && nl < rounds, want_t = bt.ok && nt < rounds;
		bool want_f = floors && nf < rounds;
		struct diff d;
		double clock;

		if (!want_l && !want_t && !want_f)
			break;
		wait_quiet();
		printf("  %-5d", r + 1);
		if (want_l && traced_diff(&lt, n, &d)) {
			print_diff(&d);
			if (d.valid) {
				base[done++] = d.untraced;
				add_lt[nl++] = d.traced - d.untraced;
			}
			others = d.others > others ? d.others : others;
		} else {
			printf(" %9s %9s %9s", "-", "-", "-");
		}
		if (want_t && traced_diff(&bt, n, &d)) {
			print_diff(&d);
			if (d.valid)
				add_bt[nt++] = d.traced - d.untraced;
			others = d.others > others ? d.others : others;
		} else {
			printf(" %9s %9s %9s", "-", "-", "-");
		}
		if (floors) {
			if (want_f && floor_diff(n, &d, &clock)) {
				print_diff(&d);
				if (d.valid) {
					printf(" %9.1f %9.1f", clock, clock - d.untraced);
					add_f0[nf] = d.traced - d.untraced;
					add_f1[nf++] = clock - d.untraced;
				} else {
					printf(" %9.1f %9s", clock, "other");
				}
				others = d.others > others ? d.others : others;
			} else {
				if (want_f)
					floors = false;
				printf(" %9s %9s %9s %9s %9s", "-", "-", "-", "-", "-");
			}
		}
		putchar('\n');
		fflush(stdout);
	}
	if (others)
		printf("# up to %d other program(s) were on sys_enter/sys_exit (the same ones through both"
		       " loops of each difference kept: their cost is in both)\n", others);
	if (lt.ok && nl < rounds)
		lt.ok = nl > 0;
	if (bt.ok && nt < rounds)
		bt.ok = nt > 0;
	if (floors && nf == 0)
		floors = false;
	if (!done) /* nothing traced: the untraced figure still tells something */
		base[done++] = loop_ns(n);
	double mb = median(base, done);
	double ml = lt.ok ? median(add_lt, nl) : 0, mt = bt.ok ? median(add_bt, nt) : 0;

	printf("untraced: %.1f ns per getppid() (median)\n", mb);
	if (floors) {
		printf("floor, empty programs on sys_enter and sys_exit: +%.1f ns per syscall\n",
		       median(add_f0, nf));
		printf("floor, the same calling bpf_ktime_get_ns() once each: +%.1f ns per syscall\n",
		       median(add_f1, nf));
	}
	if (lt.ok)
		printf("latrack run syscall: +%.1f ns per syscall (x%.2f the untraced loop)\n", ml,
		       (mb + ml) / mb);
	if (bt.ok)
		printf("bpftrace hist: +%.1f ns per syscall (x%.2f the untraced loop)\n", mt,
		       (mb + mt) / mb);
	fmt_fig(x, sizeof(x), ml, lt.ok);
	fmt_fig(y, sizeof(y), mt, bt.ok);
	if (lt.ok && bt.ok && mt > 0)
		snprintf(ratio, sizeof(ratio), "%.2f", ml / mt);
	else
		snprintf(ratio, sizeof(ratio), "NA");
	printf("overhead: latrack_ns_per_syscall=%s bpftrace_ns_per_syscall=%s ratio=%s\n", x, y,
	       ratio);
	return 0;
}
