/* Workloads with known latencies for the kernel tracker tests (tests/bpf_*.t).
 *
 *   lt_workload sleep N MS      thread "lt-sleeper": N x nanosleep(MS ms)
 *   lt_workload wake N MS       thread "lt-sleeper" blocks on a pipe read,
 *                               thread "lt-waker" writes MS ms after the reader
 *                               said it is about to read; N rounds
 *   lt_workload loop N          thread "lt-loop": N x getppid()
 *   lt_workload hogwake N MS    two CPU hogs "lt-hog" and "lt-sleeper" pinned to
 *                               CPU 0; the sleeper sleeps MS ms, N rounds
 *
 * It prints "pid P tid T waker W" (T: the measured thread), then waits for
 * SIGUSR1 before it starts, so that the tracer can attach first.  At the end
 * it prints "round I BEGIN END" per round of the measured thread: the
 * CLOCK_MONOTONIC ns (the clock of bpf_ktime_get_ns) around its sleep, read,
 * or sleep among hogs, as the ground truth the tests compare the tracker's
 * figures with.  Built with frame pointers. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int n_rounds, ms;
static int pfd[2], ready_pfd[2];
static pthread_barrier_t ready;
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go, tid_measured, tid_waker;
static volatile int hogs_stop;

#define MAX_ROUNDS 10000
static long round_begin[MAX_ROUNDS], round_end[MAX_ROUNDS];

static void wait_go(void)
{
	pthread_mutex_lock(&go_lock);
	while (!go)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
}

static void sleep_ms(int m)
{
	struct timespec ts = { m / 1000, (long)(m % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static void *sleeper(void *arg)
{
	const char *name = getenv("LT_WORKLOAD_NAME"); /* tests escaping */

	(void)arg;
	prctl(PR_SET_NAME, name ? name : "lt-sleeper");
	tid_measured = (int)syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	wait_go();
	for (int i = 0; i < n_rounds; i++) {
		round_begin[i] = now_ns();
		sleep_ms(ms);
		round_end[i] = now_ns();
	}
	return NULL;
}

/* Named so that a user stack can show it. */
__attribute__((noinline)) static void lt_wait_on_pipe(void)
{
	char c;

	if (read(pfd[0], &c, 1) != 1)
		exit(3);
}

static void *pipe_sleeper(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "lt-sleeper");
	tid_measured = (int)syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	wait_go();
	for (int i = 0; i < n_rounds; i++) {
		round_begin[i] = now_ns();
		/* tell the writer to start its MS ms: this read will block */
		if (write(ready_pfd[1], "r", 1) != 1)
			exit(3);
		lt_wait_on_pipe();
		round_end[i] = now_ns();
	}
	return NULL;
}

static void *pipe_waker(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "lt-waker");
	tid_waker = (int)syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	wait_go();
	for (int i = 0; i < n_rounds; i++) {
		char c;

		if (read(ready_pfd[0], &c, 1) != 1)
			exit(3);
		sleep_ms(ms);
		if (write(pfd[1], "x", 1) != 1)
			exit(3);
	}
	return NULL;
}

static void *looper(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "lt-loop");
	tid_measured = (int)syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	wait_go();
	for (int i = 0; i < n_rounds; i++)
		syscall(SYS_getppid);
	return NULL;
}

static void *hog(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "lt-hog");
	pin(0);
	pthread_barrier_wait(&ready);
	wait_go();
	while (!hogs_stop)
		;
	return NULL;
}

/* Periodic task among hogs: the delay from its timer expiring to running
 * again is mostly run-queue wait. */
static void *periodic(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "lt-sleeper");
	pin(0);
	tid_measured = (int)syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	wait_go();
	for (int i = 0; i < n_rounds; i++) {
		round_begin[i] = now_ns();
		sleep_ms(ms);
		round_end[i] = now_ns();
	}
	hogs_stop = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[4];
	int nth = 0;
	sigset_t set;
	int sig;

	if (argc < 3) {
		fprintf(stderr, "usage: lt_workload sleep|wake|loop|hogwake N [MS]\n");
		return 2;
	}
	n_rounds = atoi(argv[2]);
	if (n_rounds < 0 || (strcmp(argv[1], "loop") && n_rounds > MAX_ROUNDS)) {
		fprintf(stderr, "lt_workload: at most %d rounds\n", MAX_ROUNDS);
		return 2;
	}
	ms = argc > 3 ? atoi(argv[3]) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(pfd) || pipe(ready_pfd))
		return 3;

	if (!strcmp(argv[1], "sleep")) {
		pthread_barrier_init(&ready, NULL, 2);
		pthread_create(&th[nth++], NULL, sleeper, NULL);
	} else if (!strcmp(argv[1], "wake")) {
		pthread_barrier_init(&ready, NULL, 3);
		pthread_create(&th[nth++], NULL, pipe_sleeper, NULL);
		pthread_create(&th[nth++], NULL, pipe_waker, NULL);
	} else if (!strcmp(argv[1], "loop")) {
		pthread_barrier_init(&ready, NULL, 2);
		pthread_create(&th[nth++], NULL, looper, NULL);
	} else if (!strcmp(argv[1], "hogwake")) {
		pthread_barrier_init(&ready, NULL, 4);
		pthread_create(&th[nth++], NULL, periodic, NULL);
		pthread_create(&th[nth++], NULL, hog, NULL);
		pthread_create(&th[nth++], NULL, hog, NULL);
	} else {
		fprintf(stderr, "lt_workload: unknown mode %s\n", argv[1]);
		return 2;
	}
	pthread_barrier_wait(&ready);
	printf("pid %d tid %d waker %d\n", (int)getpid(), tid_measured, tid_waker);
	sigwait(&set, &sig);

	pthread_mutex_lock(&go_lock);
	go = 1;
	pthread_cond_broadcast(&go_cond);
	pthread_mutex_unlock(&go_lock);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (strcmp(argv[1], "loop"))
		for (int i = 0; i < n_rounds; i++)
			printf("round %d %ld %ld\n", i, round_begin[i], round_end[i]);
	printf("done\n");
	return 0;
}
