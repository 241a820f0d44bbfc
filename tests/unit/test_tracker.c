/* Tracker semantics: threshold, timeout then late end, get/put lifetime,
 * replace, unmatched, full, events in every chunk of the pool, explicit-time
 * determinism checked against a reference model, monotonic timeouts from the
 * timeout thread, and a multi-threaded stress test with conservation and
 * exactly-once checks. */
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <latrack/tracker.h>

#define MAXLOG 200000

struct rec {
	enum lt_reason reason;
	uint64_t key, begin, end, delay;
	uintptr_t priv;
	bool timed_out;
};

struct log {
	pthread_mutex_t lock;
	struct rec r[MAXLOG];
	size_t n;
	size_t freed;
	uintptr_t last_freed;
};

static void on_report(const struct lt_report *r, void *ctx)
{
	struct log *l = ctx;
	struct rec x = { r->reason, 0, r->begin_ns, r->end_ns, r->delay_ns, (uintptr_t)r->priv,
			 r->timed_out };

	memcpy(&x.key, r->key, r->key_len < 8 ? r->key_len : 8);
	pthread_mutex_lock(&l->lock);
	if (l->n < MAXLOG)
		l->r[l->n++] = x;
	pthread_mutex_unlock(&l->lock);
}

static void on_free(void *priv, void *ctx)
{
	struct log *l = ctx;

	pthread_mutex_lock(&l->lock);
	l->freed++;
	l->last_freed = (uintptr_t)priv;
	pthread_mutex_unlock(&l->lock);
}

static struct log *log_new(void)
{
	struct log *l = calloc(1, sizeof(*l));

	pthread_mutex_init(&l->lock, NULL);
	return l;
}

static struct lt_tracker *mk(struct log *l, enum lt_clock clk, uint32_t max, uint64_t thr,
			     uint64_t to, uint64_t period, uint32_t reserve)
{
	return lt_tracker__new(&(struct lt_tracker_opts){
		.sz = sizeof(struct lt_tracker_opts),
		.max_events = max,
		.key_size = 8,
		.threshold_ns = thr,
		.timeout_ns = to,
		.callback = on_report,
		.callback_ctx = l,
		.free_priv = on_free,
		.clock = clk,
		.timer_period_ns = period,
		.reserve = reserve,
	});
}

static int in_at(struct lt_tracker *t, uint64_t k, uintptr_t priv, uint64_t ts)
{
	return lt_event_in_at(t, &k, 8, LT_DEFAULT, LT_DEFAULT, (void *)priv, ts);
}

static int out_at(struct lt_tracker *t, uint64_t k, uint64_t ts)
{
	return lt_event_out_at(t, &k, 8, ts);
}

static void test_threshold(void)
{
	struct log *l = log_new();
	struct lt_tracker *t = mk(l, LT_CLOCK_EXPLICIT, 64, 1000, 0, 0, 0);
	struct lt_tracker_stats st;

	ok(t != NULL, "explicit tracker created");
	is_i64(in_at(t, 1, 11, 100), 0, "in key 1 at 100");
	is_i64(out_at(t, 1, 1100), 0, "out after exactly the threshold: not reported");
	is_u64(l->n, 0, "no report at delay == threshold");
	is_i64(in_at(t, 2, 22, 2000), 0, "in key 2 at 2000");
	is_i64(out_at(t, 2, 3001), 1, "out at delay threshold+1 returns 1");
	is_u64(l->n, 1, "one report");
	if (l->n == 1) {
		struct rec *r = &l->r[0];

		ok(r->reason == LT_REASON_NORMAL && r->key == 2 && r->priv == 22,
		   "report: normal, key 2, priv 22");
		is_u64(r->begin, 2000, "begin timestamp");
		is_u64(r->end, 3001, "end timestamp");
		is_u64(r->delay, 1001, "delay = end - begin");
		ok(!r->timed_out, "not timed out");
	}
	/* Per-event threshold overrides the default. */
	{
		uint64_t k = 3;

		lt_event_in_at(t, &k, 8, 10, LT_DEFAULT, NULL, 5000);
		is_i64(out_at(t, 3, 5011), 1, "per-event threshold 10 ns: delay 11 reported");
	}
	lt_tracker__stats(t, &st);
	is_u64(st.tracked, 3, "tracked 3");
	is_u64(st.completed, 3, "completed 3");
	is_u64(st.over_threshold, 2, "over threshold 2");
	is_u64(st.in_flight, 0, "nothing in flight");
	lt_tracker__destroy(t);
	is_u64(l->freed, 2, "free_priv called for the two non-NULL privs");
	free(l);
}

static void test_timeout_then_late_out(void)
{
	struct log *l = log_new();
	/* threshold 500, timeout 1000, sweep every 100 ns of trace time */
	struct lt_tracker *t = mk(l, LT_CLOCK_EXPLICIT, 64, 500, 1000, 100, 0);
	struct lt_tracker_stats st;

	in_at(t, 7, 70, 0);
	lt_tracker__advance(t, 999);
	is_u64(l->n, 0, "no timeout before the deadline");
	lt_tracker__advance(t, 1100);
	is_u64(l->n, 1, "timeout fired once time passed the deadline");
	lt_tracker__advance(t, 5000);
	is_u64(l->n, 1, "and only once");
	if (l->n >= 1) {
		ok(l->r[0].reason == LT_REASON_TIMEOUT, "reason is timeout");
		is_u64(l->r[0].end, 1000, "timeout end = begin + timeout");
		is_u64(l->r[0].delay, 1000, "timeout delay = timeout");
		is_u64(l->r[0].priv, 70, "timeout carries priv");
	}
	{
		struct lt_event *e = lt_event_get(t, &(uint64_t){ 7 }, 8);

		ok(e != NULL, "timed-out event is still in flight (get)");
		if (e) {
			is_u64(lt_event__begin_ns(e), 0, "get: begin");
			ok(!lt_event__ended(e), "get: not ended");
		}
		lt_event_put(e);
	}
	is_i64(out_at(t, 7, 6000), 1, "late end is reported normally");
	is_u64(l->n, 2, "two reports in all");
	if (l->n >= 2) {
		ok(l->r[1].reason == LT_REASON_NORMAL && l->r[1].timed_out,
		   "late end: normal with timed_out set");
		is_u64(l->r[1].delay, 6000, "late end delay");
	}
	/* End after the deadline but before any sweep: timeout then normal. */
	lt_tracker__destroy(t);
	l->n = 0;
	t = mk(l, LT_CLOCK_EXPLICIT, 64, 50, 100, 1000000000ull, 0);
	in_at(t, 8, 0, 10);
	out_at(t, 8, 250);
	is_u64(l->n, 2, "end past deadline before the sweep: two reports");
	if (l->n == 2) {
		ok(l->r[0].reason == LT_REASON_TIMEOUT && l->r[0].end == 110,
		   "first the timeout, ending at begin + timeout");
		ok(l->r[1].reason == LT_REASON_NORMAL && l->r[1].timed_out && l->r[1].delay == 240,
		   "then the normal report, delay 240, timed_out");
	}
	lt_tracker__stats(t, &st);
	is_u64(st.timeouts, 1, "timeouts counter");
	/* Several deadlines in one sweep fire in deadline order. */
	lt_tracker__destroy(t);
	l->n = 0;
	t = mk(l, LT_CLOCK_EXPLICIT, 64, 1u << 30, 0, 1000000, 0);
	{
		uint64_t k, tos[5] = { 500, 100, 400, 200, 300 };

		for (k = 0; k < 5; k++)
			lt_event_in_at(t, &k, 8, LT_DEFAULT, tos[k], NULL, 1000);
		lt_tracker__advance(t, 2000000);
		is_u64(l->n, 5, "five timeouts in one sweep");
		int sorted = l->n == 5;
		for (size_t i = 1; i < l->n; i++)
			if (l->r[i].end < l->r[i - 1].end)
				sorted = 0;
		ok(sorted, "fired in deadline order");
	}
	lt_tracker__destroy(t);
	free(l);
}

static void test_get_put_replace_unmatched(void)
{
	struct log *l = log_new();
	struct lt_tracker *t = mk(l, LT_CLOCK_EXPLICIT, 64, 0, 0, 0, 0);
	struct lt_tracker_stats st;
	struct lt_event *e;
	size_t klen;

	in_at(t, 5, 50, 100);
	e = lt_event_get(t, &(uint64_t){ 5 }, 8);
	ok(e != NULL, "get finds the in-flight event");
	is_u64(out_at(t, 5, 130), 1, "out with threshold 0 reports");
	is_u64(l->freed, 0, "priv not freed while a handle is held");
	ok(lt_event__ended(e), "handle sees the end");
	is_u64(lt_event__begin_ns(e), 100, "handle fields unchanged after the end");
	is_u64((uintptr_t)lt_event__priv(e), 50, "handle priv unchanged");
	ok(*(const uint64_t *)lt_event__key(e, &klen) == 5 && klen == 8, "handle key");
	lt_event_put(e);
	is_u64(l->freed, 1, "priv freed at the last put");
	is_u64(l->last_freed, 50, "the right priv");
	errno = 0;
	ok(lt_event_get(t, &(uint64_t){ 5 }, 8) == NULL && errno == ENOENT, "get after end: ENOENT");

	is_i64(in_at(t, 9, 90, 1000), 0, "first begin");
	is_i64(in_at(t, 9, 91, 1010), 1, "second begin on the same key replaces (returns 1)");
	is_u64(l->last_freed, 90, "replaced event's priv freed");
	l->n = 0;
	out_at(t, 9, 1030);
	ok(l->n == 1 && l->r[0].delay == 20 && l->r[0].priv == 91, "end pairs with the newest begin");
	is_i64(out_at(t, 9, 1040), -ENOENT, "second end: -ENOENT");
	is_i64(out_at(t, 12345, 1050), -ENOENT, "end of unknown key: -ENOENT");
	lt_tracker__stats(t, &st);
	is_u64(st.replaced, 1, "replaced counter");
	is_u64(st.unmatched, 2, "unmatched counter");
	is_u64(st.tracked, st.completed + st.replaced + st.in_flight, "conservation");

	is_i64(lt_event_in_at(t, "x", 0, 0, 0, NULL, 1), -EINVAL, "key_len 0: -EINVAL");
	is_i64(lt_event_in_at(t, "123456789", 9, 0, 0, NULL, 1), -EINVAL, "key longer than key_size: -EINVAL");
	is_i64(lt_event_in(t, &(uint64_t){ 1 }, 8, 0, 0, NULL), -EINVAL, "lt_event_in on explicit clock: -EINVAL");
	is_i64(lt_tracker__advance(NULL, 1), -EINVAL, "advance(NULL): -EINVAL");
	errno = 0;
	ok(lt_tracker__new(&(struct lt_tracker_opts){ .sz = sizeof(struct lt_tracker_opts) }) == NULL &&
		   errno == EINVAL,
	   "new without max_events/key_size: EINVAL");
	ok(lt_tracker__new(NULL) == NULL, "new(NULL) fails");
	lt_tracker__destroy(NULL);
	ok(1, "destroy(NULL) is a no-op");
	lt_tracker__destroy(t);
	free(l);
}

static int count_cb(const struct lt_event *e, void *ctx)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static void test_full(void)
{
	struct log *l = log_new();
	struct lt_tracker *t = mk(l, LT_CLOCK_EXPLICIT, 100, 0, 0, 0, 1);
	struct lt_tracker_stats st;
	int fails = 0, n = 0;

	lt_tracker__stats(t, &st);
	is_u64(st.capacity, 101, "capacity = max_events + reserve");
	for (uint64_t k = 0; k < st.capacity; k++)
		fails += in_at(t, k, 0, k) != 0;
	is_i64(fails, 0, "capacity events accepted");
	is_i64(in_at(t, 999, 0, 1000), -ENOSPC, "one more: -ENOSPC, at once");
	lt_tracker__stats(t, &st);
	is_u64(st.dropped, 1, "dropped counter");
	is_u64(st.in_flight, 101, "in flight");
	lt_tracker__foreach(t, count_cb, &n);
	is_i64(n, 101, "foreach visits every in-flight event");
	lt_tracker__destroy(t);
	free(l);
}

/* The pool is cut in 2 MiB chunks that each begin with their tracker, and
 * the indices that would overlap those bytes are not events: with strides
 * of 64, 72 and 96 bytes (keys of 8, 13 and 40 bytes) and a pool of a few
 * chunks, every one of `capacity` events is usable and its accessors
 * (which find the tracker from the chunk) are right. */
static void test_pool_chunks(void)
{
	static const uint32_t key_sizes[] = { 8, 13, 40 };

	for (size_t ks = 0; ks < sizeof(key_sizes) / sizeof(key_sizes[0]); ks++) {
		struct log *l = log_new();
		struct lt_tracker *t = lt_tracker__new(&(struct lt_tracker_opts){
			.sz = sizeof(struct lt_tracker_opts),
			.max_events = 70000,
			.key_size = key_sizes[ks],
			.threshold_ns = 1000000,
			.callback = on_report,
			.callback_ctx = l,
			.free_priv = on_free,
			.clock = LT_CLOCK_EXPLICIT,
			.reserve = 1,
		});
		struct lt_tracker_stats st;
		unsigned char key[40] = { 0 };
		uint64_t fails = 0, bad = 0, ends = 0;

		lt_tracker__stats(t, &st);
		for (uint64_t k = 0; k < st.capacity; k++) {
			memcpy(key, &k, 8);
			fails += lt_event_in_at(t, key, key_sizes[ks], LT_DEFAULT, LT_DEFAULT,
						(void *)(uintptr_t)(k + 1), k) != 0;
		}
		memset(key, 0xff, 8);
		is_i64(fails, 0, "key size %u: all %llu events accepted", key_sizes[ks],
		       (unsigned long long)st.capacity);
		is_i64(lt_event_in_at(t, key, key_sizes[ks], LT_DEFAULT, LT_DEFAULT, NULL, 1), -ENOSPC,
		       "key size %u: then -ENOSPC", key_sizes[ks]);
		for (uint64_t k = 0; k < st.capacity; k += 97) {
			struct lt_event *e;
			const unsigned char *ek;
			size_t len;

			memset(key, 0, sizeof(key));
			memcpy(key, &k, 8);
			e = lt_event_get(t, key, key_sizes[ks]);
			if (!e) {
				bad++;
				continue;
			}
			ek = lt_event__key(e, &len);
			bad += lt_event__begin_ns(e) != k || lt_event__priv(e) != (void *)(uintptr_t)(k + 1) ||
			       lt_event__threshold_ns(e) != 1000000 || len != key_sizes[ks] ||
			       memcmp(ek, key, len) != 0;
			lt_event_put(e);
		}
		is_i64(bad, 0, "key size %u: get/put and accessors on events of every chunk",
		       key_sizes[ks]);
		for (uint64_t k = 0; k < st.capacity; k++) {
			memset(key, 0, sizeof(key));
			memcpy(key, &k, 8);
			ends += lt_event_out_at(t, key, key_sizes[ks], k + 10) == 0;
		}
		is_u64(ends, st.capacity, "key size %u: every event ends once", key_sizes[ks]);
		is_u64(l->freed, st.capacity, "key size %u: every priv freed once", key_sizes[ks]);
		lt_tracker__destroy(t);
		free(l);
	}
}

/* Determinism and correctness against a reference model: a random
 * sequence of begins, ends and time steps over 32 keys. */
struct model {
	int live[32];
	uint64_t begin[32];
	int timed_out_reported[32];
};

static size_t replay(struct log *l, uint64_t seed, size_t *expected_normal,
		     size_t *expected_timeouts, int *model_ok)
{
	struct lt_tracker *t = mk(l, LT_CLOCK_EXPLICIT, 64, 300, 2000, 1, 0);
	struct model m = { 0 };
	uint64_t now = 0, x = seed;
	size_t en = 0, et = 0;

	*model_ok = 1;
	l->n = 0;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t k = x % 32;

		now += (x >> 8) % 200;
		/* The model: timeouts due before now (sweeps every 1 ns). */
		for (int j = 0; j < 32; j++)
			if (m.live[j] && !m.timed_out_reported[j] && m.begin[j] + 2000 <= now) {
				m.timed_out_reported[j] = 1;
				et++;
			}
		if ((x >> 20) & 1) {
			int r = in_at(t, k, 0, now);

			if (r != (m.live[k] ? 1 : 0))
				*model_ok = 0;
			m.live[k] = 1;
			m.begin[k] = now;
			m.timed_out_reported[k] = 0;
		} else {
			int r = out_at(t, k, now);

			if (!m.live[k]) {
				if (r != -ENOENT)
					*model_ok = 0;
				continue;
			}
			uint64_t d = now - m.begin[k];

			if (d > 2000 && !m.timed_out_reported[k])
				et++;
			if (d > 300)
				en++;
			if (r != (d > 300))
				*model_ok = 0;
			m.live[k] = 0;
		}
	}
	lt_tracker__destroy(t);
	*expected_normal = en;
	*expected_timeouts = et;
	return l->n;
}

static void test_determinism(void)
{
	struct log *a = log_new(), *b = log_new();
	size_t en, et, en2, et2, nn = 0, nt = 0;
	int ok1, ok2;
	size_t na = replay(a, 42, &en, &et, &ok1);
	size_t nb = replay(b, 42, &en2, &et2, &ok2);

	ok(ok1 && ok2, "return values match the reference model on 20000 random calls");
	for (size_t i = 0; i < na; i++)
		a->r[i].reason == LT_REASON_NORMAL ? nn++ : nt++;
	is_u64(nn, en, "normal reports = model's count (%zu)", en);
	is_u64(nt, et, "timeout reports = model's count (%zu)", et);
	int same = na == nb;
	for (size_t i = 0; same && i < na; i++)
		same = a->r[i].reason == b->r[i].reason && a->r[i].key == b->r[i].key &&
		       a->r[i].begin == b->r[i].begin && a->r[i].end == b->r[i].end &&
		       a->r[i].timed_out == b->r[i].timed_out;
	ok(same,
	   "two replays give identical callbacks in identical order (%zu)", na);
	free(a);
	free(b);
}

static void test_monotonic_timeout(void)
{
	struct log *l = log_new();
	struct lt_tracker *t = mk(l, LT_CLOCK_MONOTONIC, 64, 5000000, 10000000, 1000000, 0);
	struct timespec ts = { 0, 60000000 };
	uint64_t k = 77;

	is_i64(lt_event_in(t, &k, 8, LT_DEFAULT, LT_DEFAULT, (void *)1), 0, "monotonic in");
	nanosleep(&ts, NULL);
	is_u64(l->n, 1, "timeout reported by the timeout thread while the event runs");
	if (l->n)
		ok(l->r[0].reason == LT_REASON_TIMEOUT && l->r[0].delay == 10000000,
		   "timeout report: delay = 10 ms timeout");
	is_i64(lt_event_out(t, &k, 8), 1, "late end reported");
	if (l->n == 2)
		ok(l->r[1].timed_out && l->r[1].delay >= 60000000, "late end: timed_out, delay >= 60 ms");
	lt_tracker__destroy(t);
	free(l);
}

/* A thread that ends events and exits leaves retired events in its limbo:
 * they must come back, so the full capacity stays usable afterwards. */
static void *churn(void *p)
{
	struct lt_tracker *t = p;

	for (uint64_t i = 0; i < 20000; i++) {
		uint64_t k = i % 100;

		lt_event_in_at(t, &k, 8, LT_DEFAULT, LT_DEFAULT, NULL, 2 * i);
		lt_event_out_at(t, &k, 8, 2 * i + 1);
	}
	return NULL;
}

static void test_thread_exit_returns_events(void)
{
	struct log *l = log_new();
	struct lt_tracker *t = mk(l, LT_CLOCK_EXPLICIT, 512, 1u << 30, 0, 0, 128);
	struct lt_tracker_stats st;
	pthread_t th;
	int fails = 0;

	pthread_create(&th, NULL, churn, t);
	pthread_join(th, NULL);
	lt_tracker__stats(t, &st);
	is_u64(st.completed, 20000, "exited thread's counters are kept");
	for (uint64_t k = 0; k < st.capacity; k++)
		fails += in_at(t, 1000 + k, 0, 100000 + k) != 0;
	is_i64(fails, 0, "after the thread exited, all %" PRIu64 " events can be used", st.capacity);
	ok(in_at(t, 99999, 0, 999999) == -ENOSPC, "and not one more");
	lt_tracker__destroy(t);
	free(l);
}

/* ---- stress ---- */
#define NTHREADS 4
#define NKEYS 64

static uint64_t stress_ops = 200000;
static uint64_t clockv; /* strictly increasing shared timestamps */
static uint32_t *hits;  /* reports per priv id */
static uint32_t *frees; /* free_priv per priv id */

static void stress_report(const struct lt_report *r, void *ctx)
{
	(void)ctx;
	if (r->reason == LT_REASON_NORMAL)
		__atomic_fetch_add(&hits[(uintptr_t)r->priv - 1], 1, __ATOMIC_RELAXED);
}

static void stress_free(void *priv, void *ctx)
{
	(void)ctx;
	__atomic_fetch_add(&frees[(uintptr_t)priv - 1], 1, __ATOMIC_RELAXED);
}

struct sarg {
	struct lt_tracker *t;
	int id;
	uint64_t ins, outs_ok, enospc, reported;
};

static void *stress_worker(void *p)
{
	struct sarg *a = p;
	uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1);

	for (uint64_t i = 0; i < stress_ops; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t k = x % NKEYS;
		uint64_t ts = __atomic_add_fetch(&clockv, 1, __ATOMIC_RELAXED);

		if (x & (1ull << 40)) {
			uintptr_t id = (uintptr_t)a->id * stress_ops + i + 1;
			int r = lt_event_in_at(a->t, &k, 8, LT_DEFAULT, LT_DEFAULT, (void *)id, ts);

			if (r >= 0)
				a->ins++;
			else if (r == -ENOSPC) {
				a->enospc++;
				frees[id - 1]++; /* never entered: count as settled */
			}
		} else {
			int r = lt_event_out_at(a->t, &k, 8, ts);

			a->outs_ok += r >= 0;
			a->reported += r == 1;
		}
		if ((i & 1023) == 0) {
			struct lt_event *e = lt_event_get(a->t, &k, 8);

			if (e && lt_event__begin_ns(e) > ts + 1000000)
				a->outs_ok += 1000000000; /* impossible begin: poison */
			lt_event_put(e);
		}
	}
	return NULL;
}

static void test_stress(void)
{
	size_t nid = NTHREADS * stress_ops;
	struct lt_tracker *t;
	struct lt_tracker_stats st;
	pthread_t th[NTHREADS];
	struct sarg a[NTHREADS];
	uint64_t ins = 0, outs = 0, enospc = 0, multi_hit = 0, bad_free = 0, hit1 = 0, reported = 0;
	int inflight = 0;

	hits = calloc(nid, sizeof(*hits));
	frees = calloc(nid, sizeof(*frees));
	t = lt_tracker__new(&(struct lt_tracker_opts){
		.sz = sizeof(struct lt_tracker_opts),
		.max_events = NKEYS,
		.key_size = 8,
		.threshold_ns = 0, /* every end reports (delays are >= 1) */
		.callback = stress_report,
		.free_priv = stress_free,
		.clock = LT_CLOCK_MONOTONIC,
	});
	for (int i = 0; i < NTHREADS; i++) {
		a[i] = (struct sarg){ t, i, 0, 0, 0, 0 };
		pthread_create(&th[i], NULL, stress_worker, &a[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		ins += a[i].ins;
		outs += a[i].outs_ok;
		enospc += a[i].enospc;
		reported += a[i].reported;
	}
	lt_tracker__stats(t, &st);
	lt_tracker__foreach(t, count_cb, &inflight);
	tap_diag("stress: %d threads x %" PRIu64 " ops on %d keys: %" PRIu64 " begins, %" PRIu64
		 " ends, %" PRIu64 " replaced, %" PRIu64 " unmatched",
		 NTHREADS, stress_ops, NKEYS, ins, outs, st.replaced, st.unmatched);
	is_u64(st.tracked, ins, "tracked = begins the threads saw accepted");
	is_u64(st.completed, outs, "completed = ends the threads saw succeed");
	is_u64(st.dropped, enospc, "dropped = -ENOSPC the threads saw");
	is_u64(st.tracked, st.completed + st.replaced + (uint64_t)inflight,
	       "conservation: every begin ended, was replaced, or is in flight");
	ok(st.replaced > 0 && st.unmatched > 0, "the test exercised replacement and racing ends");
	lt_tracker__destroy(t);
	for (size_t i = 0; i < nid; i++) {
		multi_hit += hits[i] > 1;
		hit1 += hits[i] == 1;
		bad_free += frees[i] > 1;
	}
	is_u64(multi_hit, 0, "no pair reported twice");
	/* Threads stamp before calling, so a racing end can carry a stamp
	 * older than its begin: delay 0, not over the 0 threshold.  The
	 * callbacks must match the ends that said "reported". */
	is_u64(hit1, reported, "one callback per end that returned 1");
	is_u64(st.over_threshold, reported, "over_threshold counter matches");
	ok(reported > outs * 9 / 10, "most ends reported with threshold 0");
	is_u64(bad_free, 0, "no priv freed twice");
	{
		uint64_t settled = 0;
		for (size_t i = 0; i < nid; i++)
			settled += frees[i];
		/* Every accepted begin's priv is freed exactly once (ended,
		 * replaced, or dropped at destroy), refused ones counted above. */
		is_u64(settled, ins + enospc, "every priv settled exactly once");
	}
	free(hits);
	free(frees);
}

int main(void)
{
	const char *ops = getenv("LT_STRESS_OPS");

	if (ops)
		stress_ops = strtoull(ops, NULL, 0);
	test_threshold();
	test_timeout_then_late_out();
	test_get_put_replace_unmatched();
	test_full();
	test_pool_chunks();
	test_determinism();
	test_monotonic_timeout();
	test_thread_exit_returns_events();
	test_stress();
	return tap_done();
}
