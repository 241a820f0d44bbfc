/* bench/tracker: in/out pairs per second of liblatrack's tracker, against
 * a mutex-protected chained hash table with a fixed 4,096 buckets (the LVS
 * connection-table case), in the same run.
 *
 * Each thread owns a disjoint key range and keeps K/threads keys in flight:
 * step i ends key i and begins key i + K/threads, so every pair is one
 * lookup+remove and one insert at a constant population.  Timestamps come
 * from the caller (a counter) for both tables, so the figures compare the
 * tables; one extra line measures lt_event_in/out reading CLOCK_MONOTONIC.
 *
 * Usage: bench/tracker [-t SECONDS_PER_RUN] [-r REPEATS] [-k K1,K2,...]
 * Prints one line per configuration (median of the repeats), then the
 * summary line:
 *   tracker: pairs_per_s=<N> keys=1000000 threads=1 vs_fixed4096=<R>x */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <latrack/tracker.h>

enum impl { IMPL_TRACKER, IMPL_FIXED, IMPL_TRACKER_CLOCK };

static uint32_t reserve; /* -R: tracker reserve (0: library default) */
static int only_threads;  /* -j: run this thread count only */
static int no_baseline;   /* -B: skip the fixed table */
static int only_impl;     /* -I tracker|fixed: run one table, one config (callgrind) */
static double last_gp_per_s;
static uint64_t fixed_pairs; /* -N: this many pairs per thread, not a duration */

/* ---- baseline: one mutex, 4096 chained buckets, preallocated nodes ---- */
struct fnode {
	uint64_t key, ts;
	struct fnode *next;
};

struct fixed {
	pthread_mutex_t lock;
	struct fnode *bucket[4096];
	struct fnode *free;
	struct fnode *nodes;
};

static struct fixed *fixed_new(size_t n)
{
	struct fixed *f = calloc(1, sizeof(*f));

	f->nodes = calloc(n, sizeof(struct fnode));
	for (size_t i = 0; i < n; i++) {
		f->nodes[i].next = f->free;
		f->free = &f->nodes[i];
	}
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static inline uint64_t hash64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static int fixed_in(struct fixed *f, uint64_t key, uint64_t ts)
{
	struct fnode **b = &f->bucket[hash64(key) & 4095], *n;

	pthread_mutex_lock(&f->lock);
	n = f->free;
	if (!n) {
		pthread_mutex_unlock(&f->lock);
		return -ENOSPC;
	}
	f->free = n->next;
	n->key = key;
	n->ts = ts;
	n->next = *b;
	*b = n;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fixed_out(struct fixed *f, uint64_t key, uint64_t ts, uint64_t *delay)
{
	struct fnode **p = &f->bucket[hash64(key) & 4095], *n;

	pthread_mutex_lock(&f->lock);
	for (; (n = *p); p = &n->next)
		if (n->key == key)
			break;
	if (!n) {
		pthread_mutex_unlock(&f->lock);
		return -ENOENT;
	}
	*p = n->next;
	*delay = ts - n->ts;
	n->next = f->free;
	f->free = n;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* ---- the run ---- */
struct run {
	enum impl impl;
	struct lt_tracker *t;
	struct fixed *f;
	uint64_t base, per_thread;
	double seconds;
	uint64_t pairs;
	uint64_t errors;
	double start, end; /* the worker's own timed interval */
	pthread_barrier_t *bar;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile uint64_t sink;

static void *worker(void *arg)
{
	struct run *r = arg;
	uint64_t k = r->per_thread, ts = 1, pairs = 0, err = 0, d = 0;
	uint64_t key;

	for (uint64_t i = 0; i < k; i++) {
		key = r->base + i;
		if (r->impl == IMPL_FIXED)
			err += fixed_in(r->f, key, ts++) != 0;
		else
			err += lt_event_in_at(r->t, &key, 8, LT_DEFAULT, LT_DEFAULT, NULL, ts++) < 0;
	}
	pthread_barrier_wait(r->bar);
	r->start = now_s();
	double end = r->start + r->seconds;
	uint64_t i = 0;

	for (;;) {
		for (int j = 0; j < 1024; j++, i++) {
			uint64_t old = r->base + i % (2 * k), nw = r->base + (i + k) % (2 * k);

			int bad;

			switch (r->impl) {
			case IMPL_FIXED:
				bad = fixed_out(r->f, old, ts++, &d) != 0;
				sink += d;
				bad |= fixed_in(r->f, nw, ts++) != 0;
				break;
			case IMPL_TRACKER:
				bad = lt_event_out_at(r->t, &old, 8, ts++) < 0;
				bad |= lt_event_in_at(r->t, &nw, 8, LT_DEFAULT, LT_DEFAULT, NULL, ts++) < 0;
				break;
			default:
				bad = lt_event_out(r->t, &old, 8) < 0;
				bad |= lt_event_in(r->t, &nw, 8, LT_DEFAULT, LT_DEFAULT, NULL) < 0;
				break;
			}
			/* Only complete pairs count; a refused begin also makes
			 * its later end fail, both are reported as errors. */
			pairs += !bad;
			err += bad;
		}
		if (fixed_pairs ? i >= fixed_pairs : now_s() >= end)
			break;
	}
	r->end = now_s();
	r->pairs = pairs;
	r->errors = err;
	return NULL;
}

static double run_once(enum impl impl, uint64_t keys, int threads, double secs,
		       uint64_t *errors, double *bytes_per_event)
{
	pthread_t tid[16];
	struct run r[16];
	pthread_barrier_t bar;
	struct lt_tracker *t = NULL;
	struct fixed *f = NULL;
	double t0, t1;
	uint64_t total = 0, err = 0;

	if (impl == IMPL_FIXED) {
		f = fixed_new(keys + 1024);
	} else {
		t = lt_tracker__new(&(struct lt_tracker_opts){
			.sz = sizeof(struct lt_tracker_opts),
			.max_events = (uint32_t)keys,
			.key_size = 8,
			.threshold_ns = UINT64_MAX - 1, /* no report: measure pairing */
			.reserve = reserve,
			.clock = LT_CLOCK_MONOTONIC,
		});
		if (!t) {
			perror("lt_tracker__new");
			exit(1);
		}
	}
	pthread_barrier_init(&bar, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) {
		r[i] = (struct run){ impl, t, f, (uint64_t)i << 40, keys / threads, secs, 0, 0, 0, 0, &bar };
		pthread_create(&tid[i], NULL, worker, &r[i]);
	}
	pthread_barrier_wait(&bar);
	/* The interval is the workers' own, from the first start to the last
	 * end: this thread may get no CPU until a worker is done (with two
	 * workers on two CPUs, or under chrt -f), so its own clock is not. */
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		total += r[i].pairs;
		err += r[i].errors;
	}
	t0 = r[0].start;
	t1 = r[0].end;
	for (int i = 1; i < threads; i++) {
		if (r[i].start < t0)
			t0 = r[i].start;
		if (r[i].end > t1)
			t1 = r[i].end;
	}
	*errors = err;
	if (t) {
		struct lt_tracker_stats st;

		lt_tracker__stats(t, &st);
		*bytes_per_event = (double)st.event_bytes * st.capacity / keys;
		last_gp_per_s = st.epoch_advances / (t1 - t0);
		lt_tracker__destroy(t);
	} else {
		*bytes_per_event = sizeof(struct fnode) + 4096.0 * sizeof(void *) / keys;
		free(f->nodes);
		free(f);
	}
	pthread_barrier_destroy(&bar);
	return total / (t1 - t0);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_run(enum impl impl, uint64_t keys, int threads, double secs, int reps,
			 uint64_t *errors, double *bpe)
{
	double v[16];

	*errors = 0;
	for (int i = 0; i < reps; i++) {
		uint64_t e;

		v[i] = run_once(impl, keys, threads, secs, &e, bpe);
		*errors += e;
	}
	qsort(v, (size_t)reps, sizeof(double), cmp_d);
	return v[reps / 2];
}

int main(int argc, char **argv)
{
	uint64_t keysets[8] = { 1000, 65536, 1000000, 4000000 };
	int nkeys = 4, reps = 3, opt;
	double secs = 0.4, headline = 0, headline_ratio = 0, one_thread_1k = 0;

	while ((opt = getopt(argc, argv, "t:r:k:R:j:BN:I:h")) != -1) {
		switch (opt) {
		case 't': secs = atof(optarg); break;
		case 'r': reps = atoi(optarg); break;
		case 'j': only_threads = atoi(optarg); break;
		case 'B': no_baseline = 1; break;
		case 'N': fixed_pairs = strtoull(optarg, NULL, 0); break;
		case 'I': only_impl = !strcmp(optarg, "fixed") ? 2 : 1; break;
		case 'R': reserve = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'k': {
			char *s = optarg, *tok;

			nkeys = 0;
			while ((tok = strsep(&s, ",")) && nkeys < 8)
				keysets[nkeys++] = strtoull(tok, NULL, 0);
			break;
		}
		default:
			fprintf(stderr, "usage: %s [-t SECONDS_PER_RUN] [-r REPEATS 1-15] [-k KEYS,...] [-R RESERVE] [-j THREADS] [-B]\n"
				"       [-I tracker|fixed -N PAIRS (one run, for callgrind)]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (reps < 1 || reps > 15)
		reps = 3;
	if (only_impl) {
		/* For instruction counts: valgrind --tool=callgrind
		 * --toggle-collect=worker bench/tracker -I tracker -N 1000000 */
		uint64_t e;
		double bpe, v = run_once(only_impl == 2 ? IMPL_FIXED : IMPL_TRACKER, keysets[0],
					 only_threads ? only_threads : 1, secs, &e, &bpe);

		printf("%s: %.0f pairs/s, %" PRIu64 " failed\n", only_impl == 2 ? "fixed4096" : "tracker",
		       v, e);
		return 0;
	}
	printf("# median of %d runs of %.2f s; pairs/s (one pair = one in + one out)\n", reps, secs);
	printf("%-10s %-8s %14s %14s %8s %12s %10s %8s\n", "keys", "threads", "tracker", "fixed4096",
	       "ratio", "bytes/event", "failed", "gp/s");
	for (int ki = 0; ki < nkeys; ki++) {
		for (int th = 1; th <= 2; th++) {
			uint64_t e1, e2 = 0;
			double bpe, bpe_f, a, b = 1;

			if (only_threads && th != only_threads)
				continue;
			a = median_run(IMPL_TRACKER, keysets[ki], th, secs, reps, &e1, &bpe);
			if (!no_baseline)
				b = median_run(IMPL_FIXED, keysets[ki], th, secs, reps, &e2, &bpe_f);

			printf("%-10" PRIu64 " %-8d %14.0f %14.0f %7.2fx %12.1f %10" PRIu64 " %8.0f\n",
			       keysets[ki], th, a, b, a / b, bpe, e1 + e2, last_gp_per_s);
			if (keysets[ki] == 1000000 && th == 1) {
				headline = a;
				headline_ratio = a / b;
			}
			if (keysets[ki] == 1000 && th == 1)
				one_thread_1k = a;
			if (keysets[ki] == 1000 && th == 2 && one_thread_1k > 0)
				printf("# 2 threads / 1 thread at 1000 keys: %.2fx\n", a / one_thread_1k);
			fflush(stdout);
		}
	}
	{
		uint64_t e;
		double bpe;
		double c = median_run(IMPL_TRACKER_CLOCK, 1000, 1, secs, reps, &e, &bpe);

		printf("# with CLOCK_MONOTONIC read by lt_event_in/out, 1000 keys, 1 thread: %.0f pairs/s\n",
		       c);
	}
	printf("tracker: pairs_per_s=%.0f keys=1000000 threads=1 vs_fixed4096=%.2fx\n", headline,
	       headline_ratio);
	return 0;
}
