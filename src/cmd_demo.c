/* `latrack demo`: the tracker library on a synthetic workload.
 *
 * Worker threads begin "requests" (keys), sleep a random service time and
 * end them; one request in N stalls.  The tracker reports every request
 * slower than the threshold as it ends, and every request stuck longer than
 * the timeout while it is still running.  It is the smallest complete use of
 * the lt_event_in / lt_event_out API. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <latrack/tracker.h>

#include "cmd.h"
#include "units.h"

struct demo {
	struct lt_tracker *t;
	int requests;
	int stall_every;
	uint64_t stall_ns;
	unsigned int seed;
	int id;
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_report(const struct lt_report *r, void *ctx)
{
	char d[32];
	uint64_t key;

	(void)ctx;
	memcpy(&key, r->key, sizeof(key));
	lt_fmt_ns(d, sizeof(d), r->delay_ns);
	pthread_mutex_lock(&out_lock);
	if (r->reason == LT_REASON_TIMEOUT)
		printf("STUCK  request %#" PRIx64 " still running after %s\n", key, d);
	else
		printf("SLOW   request %#" PRIx64 " took %s%s\n", key, d,
		       r->timed_out ? " (reported stuck before)" : "");
	pthread_mutex_unlock(&out_lock);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *worker(void *arg)
{
	struct demo *d = arg;

	for (int i = 0; i < d->requests; i++) {
		uint64_t key = (uint64_t)d->id << 32 | (uint64_t)i;
		uint64_t svc = 100000 + (uint64_t)(rand_r(&d->seed) % 900000); /* 0.1-1 ms */

		if (d->stall_every && rand_r(&d->seed) % d->stall_every == 0)
			svc = d->stall_ns;
		if (lt_event_in(d->t, &key, sizeof(key), LT_DEFAULT, LT_DEFAULT, NULL) < 0)
			continue;
		sleep_ns(svc);
		lt_event_out(d->t, &key, sizeof(key));
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: latrack demo [-j THREADS] [-n REQUESTS] [--threshold DUR] [--timeout DUR]\n"
		"\n"
		"Runs worker threads that serve synthetic requests (0.1-1 ms each; about one\n"
		"in 200 stalls for --stall) and tracks them with liblatrack: requests slower\n"
		"than the threshold are reported as they end, requests still running after\n"
		"the timeout are reported as STUCK while they run.\n"
		"\n"
		"Options:\n"
		"  -j, --threads N     worker threads (default 2)\n"
		"  -n, --requests N    requests per thread (default 1000)\n"
		"      --threshold DUR report requests slower than DUR (default 5ms)\n"
		"      --timeout DUR   report requests running longer than DUR (default 50ms)\n"
		"      --stall DUR     duration of a stalled request (default 80ms)\n"
		"  -h, --help          this help\n"
		"\n"
		"Durations take a unit: ns, us, ms, s (e.g. 250us, 2ms, 1.5s).\n"
		"\n"
		"Example:\n"
		"  latrack demo -j 4 -n 500 --threshold 2ms\n");
}

int cmd_demo(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "threads", required_argument, NULL, 'j' },
		{ "requests", required_argument, NULL, 'n' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 'O' },
		{ "stall", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t thr = 5000000, to = 50000000, stall = 80000000;
	int nthreads = 2, nreq = 1000, opt, ret = 1;
	struct lt_tracker_stats st;
	struct lt_tracker *t;
	pthread_t *tids;
	struct demo *ds;

	while ((opt = getopt_long(argc, argv, "j:n:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'j': nthreads = atoi(optarg); break;
		case 'n': nreq = atoi(optarg); break;
		case 'T':
		case 'O':
		case 'S': {
			uint64_t v;

			if (lt_parse_duration(optarg, &v) < 0) {
				fprintf(stderr, "latrack demo: bad duration '%s' (try 5ms, 250us, 1s)\n",
					optarg);
				return 2;
			}
			*(opt == 'T' ? &thr : opt == 'O' ? &to : &stall) = v;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64 || nreq < 1) {
		fprintf(stderr, "latrack demo: need 1-64 threads and at least 1 request\n");
		return 2;
	}
	t = lt_tracker__new(&(struct lt_tracker_opts){
		.sz = sizeof(struct lt_tracker_opts),
		.max_events = 1024,
		.key_size = sizeof(uint64_t),
		.threshold_ns = thr,
		.timeout_ns = to,
		.callback = on_report,
		.clock = LT_CLOCK_MONOTONIC,
	});
	if (!t) {
		fprintf(stderr, "latrack demo: cannot create tracker: %s\n", strerror(errno));
		return 1;
	}
	tids = calloc((size_t)nthreads, sizeof(*tids));
	ds = calloc((size_t)nthreads, sizeof(*ds));
	if (!tids || !ds)
		goto out;
	printf("latrack demo: %d threads x %d requests, threshold %.3f ms, timeout %.3f ms\n",
	       nthreads, nreq, thr / 1e6, to / 1e6);
	for (int i = 0; i < nthreads; i++) {
		ds[i] = (struct demo){ t, nreq, 200, stall, (unsigned int)(i * 7919 + 1), i + 1 };
		pthread_create(&tids[i], NULL, worker, &ds[i]);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	lt_tracker__stats(t, &st);
	printf("\nrequests %" PRIu64 ", slow %" PRIu64 ", stuck %" PRIu64 ", unmatched %" PRIu64
	       ", dropped %" PRIu64 "\n",
	       st.completed, st.over_threshold, st.timeouts, st.unmatched, st.dropped);
	ret = 0;
out:
	free(tids);
	free(ds);
	lt_tracker__destroy(t);
	return ret;
}
