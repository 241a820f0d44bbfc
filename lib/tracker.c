/* The latency tracker: pairing of begin/end events in user space.
 *
 * Data structures, and why:
 *
 *  - In-flight events are nodes of a cds_lfht (liburcu's RCU lock-free
 *    resizable hash table).  Insert is cds_lfht_add_replace, so a second
 *    begin on a key atomically takes the old event out; end is lookup +
 *    cds_lfht_del, and only the thread whose del succeeds owns the end, so a
 *    pair reports once even when threads race on the same key.
 *
 *  - Events come from one preallocated pool.  A removed event may still be
 *    seen by a concurrent lookup, so it is recycled only after an RCU grace
 *    period.  To keep atomics off the hot path, a thread keeps two private
 *    chains per tracker: events to allocate, and retired events.  A full
 *    retired chain (LT_TRACKER_BATCH events) is pushed, as one batch, on a
 *    "pending" stack (one CAS per batch).  The tracker's maintenance thread
 *    takes the whole pending stack, waits one grace period
 *    (synchronize_rcu, membarrier-based) and splices it onto the global
 *    Treiber stack of free batches.  A thread whose allocation chain is
 *    empty pops one batch.  liburcu's call_rcu is not used: its worker
 *    sleeps ~10 ms between rounds, so at tens of millions of events per
 *    second the pool would drain into its queue; our thread reclaims back
 *    to back while there is work and sleeps only when there is none.  The stack's top word carries a 32-bit
 *    tag next to the batch index, so a pop that read a stale "next" fails its
 *    CAS instead of corrupting the stack (the ABA problem of the kernel
 *    module's free list).
 *
 *  - An event's state is one 32-bit word: a reference count (the table holds
 *    one, lt_event_get adds one) and two flags, DONE (ended or replaced) and
 *    TIMEDOUT (timeout reported).  Whoever sets a flag first reports; the
 *    last reference retires the event.
 *
 *  - Deadlines live in a separate dense array, so the timeout sweep reads
 *    8 bytes per event sequentially instead of walking the hash table; it
 *    only covers indices ever handed out (the high-water mark).  In-flight
 *    code does one store there; the sweep runs in the maintenance
 *    thread (monotonic clock) or from the caller's calls (explicit clock).
 *
 *  - Counters are per-thread, single-writer, in the thread's context; a
 *    reader sums them under the tracker's lock.  No shared atomic counter is
 *    touched per event. */
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <latrack/tracker.h>

#define NIL UINT32_MAX

#define ST_REF_MASK  0x3fffffffu
#define ST_TIMEDOUT  0x40000000u
#define ST_DONE      0x80000000u

#define BATCH_FRESH  0x80000000u /* in dead.count: never-used contiguous batch */

#define DEFAULT_TIMER_PERIOD_NS 10000000ull
#define DEFAULT_MAX_THREADS     256
#define DEFAULT_RESERVE         65536
#define RECLAIM_PERIOD_NS       1000000ull /* one grace period per ms, */
#define RECLAIM_MIN_NS          200000ull  /* or per 200 us when the pool is low */
#define TLS_CACHE               8

enum {
	CTR_TRACKED,
	CTR_COMPLETED,
	CTR_OVER,
	CTR_TIMEOUTS,
	CTR_REPLACED,
	CTR_UNMATCHED,
	CTR_DROPPED,
	CTR_NR,
};

/* What a lookup touches (node, state, key) comes first so that a short
 * key shares the node's cache line; the rest follows the key, at
 * t->live_off. */
struct lt_event {
	struct cds_lfht_node node;
	uint32_t state;
	uint16_t key_len;
	struct lt_tracker *owner;
	unsigned char key[] __attribute__((aligned(8))); /* callers may read it as an integer */
};

union lt_body {
	struct {
		uint64_t begin_ns;
		uint64_t threshold_ns;
		uint64_t timeout_ns;
		void *priv;
	} live;
	/* Only the head of a retired batch uses this, once its last reference
	 * is gone: nobody reads `live` any more. */
	struct {
		uint32_t count;
		uint32_t batch_next;
		uint32_t origin;    /* context that retired it */
		uint32_t next_free; /* link in a thread's chain or a batch */
	} dead;
};

/* Per (thread, tracker) context.  Written by its thread only, except under
 * the tracker's lock at claim and release. */
struct lt_tctx {
	uint32_t in_use;
	uint32_t alloc_head;
	uint32_t alloc_count;
	uint32_t retire_head;
	uint32_t retire_count;
	uint32_t local;  /* private stack of free batches */
	uint64_t ctr[CTR_NR];
	/* Batches this thread retired, back from their grace period: pushed
	 * by the maintenance thread, taken whole by the owner.  Reusing its
	 * own events keeps them in this CPU's cache (measured: without it two
	 * threads were no faster than one). */
	uint32_t returned __attribute__((aligned(64)));
	uint32_t returned_n;
} __attribute__((aligned(64)));

#define RETURNED_MAX 32 /* batches parked per context; more go global */

struct lt_tracker {
	uint64_t id;
	struct cds_lfht *ht;
	char *pool;
	size_t pool_bytes;
	size_t stride;
	size_t live_off;
	uint32_t capacity;
	uint32_t key_size;
	uint64_t *deadline;
	uint64_t *scratch; /* sweep: (deadline, index) pairs */
	struct lt_tracker_opts o;

	struct lt_tracker *next_live; /* global list, under lt_global_lock */

	pthread_mutex_t lock; /* contexts' claim/release, stats */
	struct lt_tctx *ctx;
	uint32_t nctx;
	uint64_t exited_ctr[CTR_NR];

	/* Maintenance thread: reclamation, and timeouts (monotonic clock). */
	pthread_t maint;
	int maint_started;
	int maint_stop;
	pthread_mutex_t maint_lock;
	pthread_cond_t maint_cond;
	uint64_t next_tick;

	/* Written rarely, read on every call. */
	uint32_t timeouts_used;
	uint32_t hwm; /* indices < hwm have been handed out */

	/* Explicit clock */
	uint64_t now __attribute__((aligned(64)));
	uint64_t next_sweep;
	uint32_t sweeping;

	uint64_t free_top __attribute__((aligned(64))); /* tag << 32 | batch head */
	uint32_t free_batches;                           /* on free_top */
	uint32_t pending __attribute__((aligned(64)));  /* retired batches */
	uint32_t maint_sleeping;
	uint32_t low_water; /* free batches below which reclaim at once */
	uint64_t grace_periods; /* maintenance thread only */
};

/* ------------------------------------------------------------------ */
/* Threads: liburcu registration and per-tracker contexts              */

struct lt_claim {
	uint64_t id;
	struct lt_tracker *t;
	struct lt_tctx *ctx;
};

struct lt_thread {
	struct lt_claim cache[TLS_CACHE];
	struct lt_claim *claims;
	size_t nclaims, cap;
	int registered_rcu;
};

/* initial-exec: the PIC build would otherwise call __tls_get_addr on every
 * event. */
static __thread struct lt_thread *lt_self __attribute__((tls_model("initial-exec")));
static pthread_key_t lt_key;
static pthread_once_t lt_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lt_global_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lt_tracker *lt_live;
static uint64_t lt_next_id = 1;

static inline struct lt_event *ev_at(const struct lt_tracker *t, uint32_t idx)
{
	return (struct lt_event *)(t->pool + (size_t)idx * t->stride);
}

static inline uint32_t ev_idx(const struct lt_tracker *t, const struct lt_event *e)
{
	return (uint32_t)(((const char *)e - t->pool) / t->stride);
}

static inline union lt_body *B(const struct lt_event *e)
{
	return (union lt_body *)((char *)e + e->owner->live_off);
}

static void lt_thread_exit(void *arg);

static void lt_once_init(void)
{
	(void)pthread_key_create(&lt_key, lt_thread_exit);
}

static int tracker_is_live(const struct lt_tracker *t, uint64_t id)
{
	for (struct lt_tracker *p = lt_live; p; p = p->next_live)
		if (p == t && p->id == id)
			return 1;
	return 0;
}

static void retire_flush(struct lt_tracker *t, struct lt_tctx *c);
static void push_batch(struct lt_tracker *t, uint32_t head, uint32_t count);
static uint64_t mono_now(void);
static void sweep(struct lt_tracker *t, struct lt_tctx *c, uint64_t now);

/* Give a context back to its tracker: its free events as one batch, its
 * retired events through a grace period, its counters to exited_ctr.
 * Caller holds t->lock. */
static void ctx_release(struct lt_tracker *t, struct lt_tctx *c)
{
	if (c->alloc_count)
		push_batch(t, c->alloc_head, c->alloc_count);
	for (uint32_t *st = &c->local; st != NULL; st = st == &c->local ? &c->returned : NULL) {
		uint32_t b = *st;

		while (b != NIL) {
			union lt_body *h = B(ev_at(t, b));
			uint32_t next = h->dead.batch_next;

			__atomic_fetch_sub(&t->free_batches, 1, __ATOMIC_RELAXED);
			push_batch(t, b, h->dead.count);
			b = next;
		}
	}
	if (c->retire_count)
		retire_flush(t, c);
	for (int i = 0; i < CTR_NR; i++)
		t->exited_ctr[i] += c->ctr[i];
	memset(c, 0, sizeof(*c));
	c->alloc_head = c->retire_head = c->local = c->returned = NIL;
}

static void lt_thread_exit(void *arg)
{
	struct lt_thread *th = arg;

	pthread_mutex_lock(&lt_global_lock);
	for (size_t i = 0; i < th->nclaims; i++) {
		struct lt_claim *cl = &th->claims[i];

		if (!tracker_is_live(cl->t, cl->id))
			continue;
		pthread_mutex_lock(&cl->t->lock);
		ctx_release(cl->t, cl->ctx);
		pthread_mutex_unlock(&cl->t->lock);
	}
	pthread_mutex_unlock(&lt_global_lock);
	if (th->registered_rcu)
		urcu_memb_unregister_thread();
	free(th->claims);
	free(th);
	lt_self = NULL;
}

/* The calling thread's state; registers it with liburcu if needed. */
static struct lt_thread *thread_self(void)
{
	struct lt_thread *th = lt_self;

	if (th)
		return th;
	pthread_once(&lt_once, lt_once_init);
	th = calloc(1, sizeof(*th));
	if (!th)
		return NULL;
	if (!URCU_TLS(urcu_memb_reader).registered) {
		urcu_memb_register_thread();
		th->registered_rcu = 1;
	}
	lt_self = th;
	(void)pthread_setspecific(lt_key, th);
	return th;
}

/* Slow path: find or claim this thread's context for t. */
static struct lt_tctx *ctx_slow(struct lt_tracker *t)
{
	struct lt_thread *th = thread_self();
	struct lt_tctx *c = NULL;
	struct lt_claim *cl;

	if (!th)
		return NULL;
	for (size_t i = 0; i < th->nclaims; i++)
		if (th->claims[i].id == t->id) {
			c = th->claims[i].ctx;
			goto cache;
		}
	if (th->nclaims == th->cap) {
		/* Drop claims on destroyed trackers before growing. */
		size_t k = 0;

		pthread_mutex_lock(&lt_global_lock);
		for (size_t i = 0; i < th->nclaims; i++)
			if (tracker_is_live(th->claims[i].t, th->claims[i].id))
				th->claims[k++] = th->claims[i];
		pthread_mutex_unlock(&lt_global_lock);
		th->nclaims = k;
		memset(th->cache, 0, sizeof(th->cache));
		if (k == th->cap) {
			size_t cap = th->cap ? th->cap * 2 : 8;
			struct lt_claim *n = realloc(th->claims, cap * sizeof(*n));

			if (!n)
				return NULL;
			th->claims = n;
			th->cap = cap;
		}
	}
	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < t->nctx; i++)
		if (!t->ctx[i].in_use) {
			c = &t->ctx[i];
			c->in_use = 1;
			break;
		}
	pthread_mutex_unlock(&t->lock);
	if (!c)
		return NULL;
	th->claims[th->nclaims++] = (struct lt_claim){ t->id, t, c };
cache:
	cl = &th->cache[t->id % TLS_CACHE];
	*cl = (struct lt_claim){ t->id, t, c };
	return c;
}

static inline struct lt_tctx *ctx_get(struct lt_tracker *t)
{
	struct lt_thread *th = lt_self;

	if (__builtin_expect(th != NULL, 1)) {
		struct lt_claim *cl = &th->cache[t->id % TLS_CACHE];

		if (__builtin_expect(cl->id == t->id, 1))
			return cl->ctx;
	}
	return ctx_slow(t);
}

/* ------------------------------------------------------------------ */
/* Pool: batches on a tagged Treiber stack                              */

static void push_batch(struct lt_tracker *t, uint32_t head, uint32_t count)
{
	struct lt_event *h = ev_at(t, head);
	uint64_t old = __atomic_load_n(&t->free_top, __ATOMIC_RELAXED), nw;

	B(h)->dead.count = count;
	do {
		__atomic_store_n(&B(h)->dead.batch_next, (uint32_t)old, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | head;
	} while (!__atomic_compare_exchange_n(&t->free_top, &old, nw, 1, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	__atomic_fetch_add(&t->free_batches, 1, __ATOMIC_RELAXED);
}

static void maint_kick(struct lt_tracker *t);

static uint32_t pop_batch(struct lt_tracker *t, uint32_t *count)
{
	uint64_t old = __atomic_load_n(&t->free_top, __ATOMIC_ACQUIRE), nw;
	uint32_t head, next;

	do {
		head = (uint32_t)old;
		if (head == NIL)
			return NIL;
		/* May read a stale value if another thread pops this batch
		 * meanwhile; the tag then makes the CAS fail. */
		next = __atomic_load_n(&B(ev_at(t, head))->dead.batch_next, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | next;
	} while (!__atomic_compare_exchange_n(&t->free_top, &old, nw, 1, __ATOMIC_ACQUIRE,
					      __ATOMIC_ACQUIRE));
	*count = B(ev_at(t, head))->dead.count;
	if (__atomic_sub_fetch(&t->free_batches, 1, __ATOMIC_SEQ_CST) < t->low_water &&
	    __atomic_load_n(&t->pending, __ATOMIC_RELAXED) != NIL &&
	    __atomic_load_n(&t->maint_sleeping, __ATOMIC_SEQ_CST))
		maint_kick(t);
	if (*count & BATCH_FRESH) {
		uint32_t end;

		*count &= ~BATCH_FRESH;
		end = head + *count;
		uint32_t cur = __atomic_load_n(&t->hwm, __ATOMIC_RELAXED);
		while (cur < end &&
		       !__atomic_compare_exchange_n(&t->hwm, &cur, end, 1, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED))
			;
	}
	return head;
}

static inline uint32_t ev_alloc(struct lt_tracker *t, struct lt_tctx *c)
{
	uint32_t idx;

	if (__builtin_expect(c->alloc_count == 0, 0)) {
		uint32_t n;

		if (c->local == NIL && __atomic_load_n(&c->returned, __ATOMIC_RELAXED) != NIL) {
			c->local = __atomic_exchange_n(&c->returned, NIL, __ATOMIC_ACQUIRE);
			__atomic_store_n(&c->returned_n, 0, __ATOMIC_RELAXED);
		}
		if (c->local != NIL) {
			union lt_body *h = B(ev_at(t, c->local));

			idx = c->local;
			n = h->dead.count;
			c->local = h->dead.batch_next;
			__atomic_fetch_sub(&t->free_batches, 1, __ATOMIC_RELAXED);
		} else {
			idx = pop_batch(t, &n);
			if (idx == NIL)
				return NIL;
		}
		c->alloc_head = idx;
		c->alloc_count = n;
	}
	idx = c->alloc_head;
	c->alloc_head = B(ev_at(t, idx))->dead.next_free;
	c->alloc_count--;
	return idx;
}

static void maint_kick(struct lt_tracker *t)
{
	pthread_mutex_lock(&t->maint_lock);
	pthread_cond_signal(&t->maint_cond);
	pthread_mutex_unlock(&t->maint_lock);
}

/* Hand a thread's retired chain to the maintenance thread.  Push-only with
 * take-all on the other side: no ABA. */
static void retire_flush(struct lt_tracker *t, struct lt_tctx *c)
{
	uint32_t head = c->retire_head, old = __atomic_load_n(&t->pending, __ATOMIC_RELAXED);
	union lt_body *b = B(ev_at(t, head));

	b->dead.count = c->retire_count;
	b->dead.origin = (uint32_t)(c - t->ctx);
	do {
		b->dead.batch_next = old;
	} while (!__atomic_compare_exchange_n(&t->pending, &old, head, 1, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	c->retire_head = NIL;
	c->retire_count = 0;
	/* Pairs with maint_main's store to maint_sleeping then load of
	 * pending: a low pool must not wait for the next period. */
	if (__atomic_load_n(&t->free_batches, __ATOMIC_SEQ_CST) < t->low_water &&
	    __atomic_load_n(&t->maint_sleeping, __ATOMIC_SEQ_CST))
		maint_kick(t);
}

/* After a grace period: give each batch back to the thread that retired
 * it, or to the global stack when that thread is gone or has enough. */
static void free_return(struct lt_tracker *t, uint32_t b)
{
	pthread_mutex_lock(&t->lock); /* against context release */
	while (b != NIL) {
		union lt_body *h = B(ev_at(t, b));
		uint32_t next = h->dead.batch_next;
		struct lt_tctx *c = &t->ctx[h->dead.origin];

		if (c->in_use && __atomic_load_n(&c->returned_n, __ATOMIC_RELAXED) < RETURNED_MAX) {
			uint32_t old = __atomic_load_n(&c->returned, __ATOMIC_RELAXED);

			do {
				h->dead.batch_next = old;
			} while (!__atomic_compare_exchange_n(&c->returned, &old, b, 1,
							      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
			__atomic_fetch_add(&c->returned_n, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&t->free_batches, 1, __ATOMIC_RELAXED);
		} else {
			push_batch(t, b, h->dead.count);
		}
		b = next;
	}
	pthread_mutex_unlock(&t->lock);
}

/* The last reference is gone: hand priv back, recycle after a grace period. */
static void ev_retire(struct lt_tracker *t, struct lt_tctx *c, struct lt_event *e)
{
	if (B(e)->live.priv && t->o.free_priv)
		t->o.free_priv(B(e)->live.priv, t->o.callback_ctx);
	B(e)->dead.next_free = c->retire_head;
	c->retire_head = ev_idx(t, e);
	if (++c->retire_count == LT_TRACKER_BATCH)
		retire_flush(t, c);
}

static inline void ev_unref(struct lt_tracker *t, struct lt_tctx *c, struct lt_event *e)
{
	uint32_t old = __atomic_fetch_sub(&e->state, 1, __ATOMIC_ACQ_REL);

	if ((old & ST_REF_MASK) == 1)
		ev_retire(t, c, e);
}

/* Take a reference unless the event is free or ended. */
static inline int ev_tryref(struct lt_event *e)
{
	uint32_t s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);

	do {
		if (!(s & ST_REF_MASK) || (s & ST_DONE))
			return 0;
	} while (!__atomic_compare_exchange_n(&e->state, &s, s + 1, 1, __ATOMIC_ACQUIRE,
					      __ATOMIC_ACQUIRE));
	return 1;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                 */

struct lt_keyref {
	const void *key;
	size_t len;
};

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/* 8 bytes at a time, splitmix64 finaliser: keys are short (tids, pointers,
 * request ids) and the table needs good low and high bits. */
static inline uint64_t key_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, v;

	while (len >= 8) {
		memcpy(&v, p, 8);
		h = mix64(h ^ v);
		p += 8;
		len -= 8;
	}
	if (len) {
		v = 0;
		memcpy(&v, p, len);
		h = mix64(h ^ v);
	}
	return h;
}

static int key_match(struct cds_lfht_node *node, const void *arg)
{
	const struct lt_event *e = caa_container_of(node, struct lt_event, node);
	const struct lt_keyref *k = arg;

	return e->key_len == k->len && memcmp(e->key, k->key, k->len) == 0;
}

/* ------------------------------------------------------------------ */
/* Reports and timeouts                                                 */

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(struct lt_tracker *t, const struct lt_event *e, enum lt_reason why,
		   uint64_t end, uint64_t now, bool timed_out)
{
	struct lt_report r = {
		.key = e->key,
		.key_len = e->key_len,
		.begin_ns = B(e)->live.begin_ns,
		.end_ns = end,
		.delay_ns = end > B(e)->live.begin_ns ? end - B(e)->live.begin_ns : 0,
		.threshold_ns = B(e)->live.threshold_ns,
		.timeout_ns = B(e)->live.timeout_ns,
		.now_ns = now,
		.priv = B(e)->live.priv,
		.reason = why,
		.timed_out = timed_out,
	};

	if (t->o.callback)
		t->o.callback(&r, t->o.callback_ctx);
}

/* Deadline order; ties broken by key, not by pool index: which index an
 * event gets depends on when the maintenance thread recycled it, and the
 * explicit clock promises the same order on every replay. */
static int cmp_due(const void *a, const void *b, void *arg)
{
	const uint64_t *x = a, *y = b;
	const struct lt_tracker *t = arg;
	const struct lt_event *ex, *ey;
	int c;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	ex = ev_at(t, (uint32_t)x[1]);
	ey = ev_at(t, (uint32_t)y[1]);
	if (ex->key_len != ey->key_len)
		return ex->key_len < ey->key_len ? -1 : 1;
	c = memcmp(ex->key, ey->key, ex->key_len);
	return c ? c : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

/* Report, once each, the events whose deadline is <= now, in deadline
 * order.  One sweeper at a time (t->sweeping, or the maintenance thread). */
static void sweep(struct lt_tracker *t, struct lt_tctx *c, uint64_t now)
{
	uint32_t hwm = __atomic_load_n(&t->hwm, __ATOMIC_ACQUIRE);
	size_t n = 0;

	for (uint32_t i = 0; i < hwm; i++) {
		uint64_t d = __atomic_load_n(&t->deadline[i], __ATOMIC_RELAXED);

		if (d && d <= now) {
			t->scratch[2 * n] = d;
			t->scratch[2 * n + 1] = i;
			n++;
		}
	}
	if (n > 1)
		qsort_r(t->scratch, n, 2 * sizeof(uint64_t), cmp_due, t);
	for (size_t k = 0; k < n; k++) {
		uint32_t idx = (uint32_t)t->scratch[2 * k + 1];
		struct lt_event *e = ev_at(t, idx);
		uint32_t s;
		int fire = 0;

		if (!ev_tryref(e))
			continue;
		/* With our reference held the fields are stable; check that
		 * this incarnation is the one that is due. */
		if (B(e)->live.timeout_ns && B(e)->live.begin_ns + B(e)->live.timeout_ns <= now) {
			s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
			while (!(s & (ST_DONE | ST_TIMEDOUT))) {
				if (__atomic_compare_exchange_n(&e->state, &s, s | ST_TIMEDOUT, 1,
								__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
					fire = 1;
					break;
				}
			}
			if (fire || (s & (ST_DONE | ST_TIMEDOUT)))
				__atomic_store_n(&t->deadline[idx], 0, __ATOMIC_RELAXED);
		}
		if (fire) {
			report(t, e, LT_REASON_TIMEOUT, B(e)->live.begin_ns + B(e)->live.timeout_ns,
			       now, false);
			c->ctr[CTR_TIMEOUTS]++;
		}
		ev_unref(t, c, e);
	}
}

/* Explicit clock: move time to ts and sweep when a period boundary passed. */
static void explicit_advance(struct lt_tracker *t, struct lt_tctx *c, uint64_t ts)
{
	uint64_t cur = __atomic_load_n(&t->now, __ATOMIC_RELAXED);

	while (ts > cur &&
	       !__atomic_compare_exchange_n(&t->now, &cur, ts, 1, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	if (!__atomic_load_n(&t->timeouts_used, __ATOMIC_RELAXED) ||
	    ts < __atomic_load_n(&t->next_sweep, __ATOMIC_RELAXED))
		return;
	if (__atomic_exchange_n(&t->sweeping, 1, __ATOMIC_ACQUIRE))
		return; /* another thread sweeps */
	if (ts >= t->next_sweep) {
		uint64_t p = t->o.timer_period_ns;

		__atomic_store_n(&t->next_sweep, (ts / p + 1) * p, __ATOMIC_RELAXED);
		sweep(t, c, ts);
	}
	__atomic_store_n(&t->sweeping, 0, __ATOMIC_RELEASE);
}

static void abs_deadline(struct timespec *dl, uint64_t ns_from_now)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	dl->tv_nsec += (long)(ns_from_now % 1000000000ull);
	dl->tv_sec += (time_t)(ns_from_now / 1000000000ull) + dl->tv_nsec / 1000000000;
	dl->tv_nsec %= 1000000000;
}

/* The maintenance thread: recycles retired batches after a grace period,
 * back to back while there are any, and (monotonic clock) sweeps for
 * timeouts every timer period.  Sleeps when there is nothing to do. */
static void *maint_main(void *arg)
{
	struct lt_tracker *t = arg;
	struct lt_tctx *c = ctx_get(t); /* registers this thread with liburcu */
	int mono = t->o.clock == LT_CLOCK_MONOTONIC;
	struct timespec dl;

	uint64_t last_gp = 0;

	pthread_mutex_lock(&t->maint_lock);
	while (!t->maint_stop) {
		uint64_t now = mono_now(), wait = mono ? t->o.timer_period_ns : 1000000000ull;
		int has_pending = __atomic_load_n(&t->pending, __ATOMIC_RELAXED) != NIL;

		/* Grace periods cost every running thread an IPI (membarrier):
		 * batch them, at most one per RECLAIM_PERIOD_NS unless the
		 * free pool runs low. */
		int low = __atomic_load_n(&t->free_batches, __ATOMIC_RELAXED) < t->low_water;
		uint64_t period = low ? RECLAIM_MIN_NS : RECLAIM_PERIOD_NS;

		if (has_pending && now - last_gp >= period) {
			uint32_t chain = __atomic_exchange_n(&t->pending, NIL, __ATOMIC_ACQUIRE);

			pthread_mutex_unlock(&t->maint_lock);
			urcu_memb_synchronize_rcu();
			free_return(t, chain);
			__atomic_store_n(&t->grace_periods, t->grace_periods + 1, __ATOMIC_RELAXED);
			last_gp = now = mono_now();
			pthread_mutex_lock(&t->maint_lock);
			has_pending = 0;
		}
		if (mono && c && __atomic_load_n(&t->timeouts_used, __ATOMIC_RELAXED) &&
		    now >= t->next_tick) {
			t->next_tick = now + t->o.timer_period_ns;
			pthread_mutex_unlock(&t->maint_lock);
			sweep(t, c, now);
			pthread_mutex_lock(&t->maint_lock);
			continue;
		}
		if (mono && t->next_tick > now && t->next_tick - now < wait)
			wait = t->next_tick - now;
		if (has_pending || __atomic_load_n(&t->pending, __ATOMIC_RELAXED) != NIL) {
			uint64_t due = last_gp + period;

			wait = due > now ? (due - now < wait ? due - now : wait) : 0;
			if (!wait)
				continue;
		}
		__atomic_store_n(&t->maint_sleeping, 1, __ATOMIC_SEQ_CST);
		if (!t->maint_stop) {
			abs_deadline(&dl, wait);
			pthread_cond_timedwait(&t->maint_cond, &t->maint_lock, &dl);
		}
		__atomic_store_n(&t->maint_sleeping, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&t->maint_lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Public API                                                           */

LT_API struct lt_tracker *lt_tracker__new(const struct lt_tracker_opts *opts)
{
	struct lt_tracker_opts o = { 0 };
	struct lt_tracker *t = NULL;
	unsigned long init_buckets = 1024, max_buckets = 1;
	uint64_t reserve, cap;
	long ncpu;
	int err = EINVAL;

	if (!opts || opts->sz < offsetof(struct lt_tracker_opts, clock) + sizeof(opts->clock))
		goto fail;
	memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	o.sz = sizeof(o);
	if (!o.max_events || !o.key_size || o.key_size > UINT16_MAX ||
	    (o.clock != LT_CLOCK_MONOTONIC && o.clock != LT_CLOCK_EXPLICIT))
		goto fail;
	if (o.threshold_ns == LT_DEFAULT || o.timeout_ns == LT_DEFAULT)
		goto fail;
	if (!o.timer_period_ns)
		o.timer_period_ns = DEFAULT_TIMER_PERIOD_NS;
	if (!o.max_threads)
		o.max_threads = DEFAULT_MAX_THREADS;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	reserve = o.reserve;
	if (!reserve) {
		uint64_t per_thread = 4ull * LT_TRACKER_BATCH * (uint64_t)ncpu;

		reserve = o.max_events / 4;
		if (reserve < DEFAULT_RESERVE)
			reserve = DEFAULT_RESERVE;
		if (reserve < per_thread)
			reserve = per_thread;
	}
	cap = (uint64_t)o.max_events + reserve;
	if (cap >= NIL)
		goto fail;

	err = ENOMEM;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto fail;
	t->o = o;
	t->capacity = (uint32_t)cap;
	t->key_size = o.key_size;
	t->live_off = (sizeof(struct lt_event) + o.key_size + 7) & ~(size_t)7;
	t->stride = t->live_off + sizeof(union lt_body);
	t->free_top = NIL;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->maint_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&t->maint_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	t->pending = NIL;
	t->low_water = (uint32_t)(reserve / LT_TRACKER_BATCH / 2);
	/* The pool is touched at random: back it with huge pages where the
	 * kernel allows (THP "madvise" mode), sparing TLB misses. */
	t->pool_bytes = (t->stride * cap + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
	t->pool = mmap(NULL, t->pool_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (t->pool == MAP_FAILED) {
		t->pool = NULL;
		goto fail;
	}
	(void)madvise(t->pool, t->pool_bytes, MADV_HUGEPAGE);
	t->deadline = calloc(cap, sizeof(uint64_t));
	t->scratch = malloc(cap * 2 * sizeof(uint64_t));
	t->nctx = o.max_threads;
	t->ctx = aligned_alloc(64, sizeof(struct lt_tctx) * t->nctx);
	if (!t->pool || !t->deadline || !t->scratch || !t->ctx)
		goto fail;
	for (uint32_t i = 0; i < t->nctx; i++) {
		memset(&t->ctx[i], 0, sizeof(t->ctx[i]));
		t->ctx[i].alloc_head = t->ctx[i].retire_head = NIL;
		t->ctx[i].local = t->ctx[i].returned = NIL;
	}
	/* Chain the pool into fresh batches, lowest indices on top so that
	 * the high-water mark (and the sweep) stays small when load is low. */
	for (uint32_t i = 0; i < cap; i++) {
		struct lt_event *e = ev_at(t, i);

		e->owner = t;
		B(e)->dead.next_free = (i + 1) % LT_TRACKER_BATCH && i + 1 < cap ? i + 1 : NIL;
	}
	for (uint64_t b = (cap - 1) / LT_TRACKER_BATCH + 1; b-- > 0;) {
		uint32_t head = (uint32_t)(b * LT_TRACKER_BATCH);
		uint32_t n = (uint32_t)(cap - head < LT_TRACKER_BATCH ? cap - head : LT_TRACKER_BATCH);

		push_batch(t, head, n | BATCH_FRESH);
	}

	while (max_buckets < cap)
		max_buckets <<= 1;
	/* Start at the declared in-flight maximum: liburcu resizes from its
	 * call_rcu worker, which lags a fast fill by seconds (measured with
	 * bench/tracker at 65,536 keys: 1.0 M pairs/s starting from 1,024
	 * buckets, 7.0 M pairs/s pre-sized).  The table still grows (chain
	 * length trigger) up to twice the pool. */
	while (init_buckets < o.max_events)
		init_buckets <<= 1;
	max_buckets <<= 1;
	if (init_buckets > max_buckets)
		init_buckets = max_buckets;
	/* No CDS_LFHT_ACCOUNTING: it costs a sched_getcpu and an atomic per
	 * operation, and only serves shrinking, which we do not want. */
	t->ht = cds_lfht_new_flavor(init_buckets, init_buckets,
				    max_buckets, CDS_LFHT_AUTO_RESIZE,
				    &urcu_memb_flavor, NULL);
	if (!t->ht)
		goto fail;

	pthread_mutex_lock(&lt_global_lock);
	t->id = lt_next_id++;
	t->next_live = lt_live;
	lt_live = t;
	pthread_mutex_unlock(&lt_global_lock);

	err = pthread_create(&t->maint, NULL, maint_main, t);
	if (err) {
		lt_tracker__destroy(t);
		errno = err;
		return NULL;
	}
	t->maint_started = 1;
	return t;

fail:
	if (t) {
		if (t->pool)
			munmap(t->pool, t->pool_bytes);
		free(t->deadline);
		free(t->scratch);
		free(t->ctx);
		free(t);
	}
	errno = err;
	return NULL;
}

LT_API void lt_tracker__destroy(struct lt_tracker *t)
{
	struct cds_lfht_iter it;
	struct lt_event *e;

	if (!t)
		return;
	if (t->maint_started) {
		pthread_mutex_lock(&t->maint_lock);
		t->maint_stop = 1;
		pthread_cond_signal(&t->maint_cond);
		pthread_mutex_unlock(&t->maint_lock);
		pthread_join(t->maint, NULL);
	}
	pthread_mutex_lock(&lt_global_lock);
	for (struct lt_tracker **p = &lt_live; *p; p = &(*p)->next_live)
		if (*p == t) {
			*p = t->next_live;
			break;
		}
	pthread_mutex_unlock(&lt_global_lock);

	/* liburcu wants the caller registered for table removal/destroy. */
	(void)thread_self();
	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->ht, &it, e, node) {
		if (cds_lfht_del(t->ht, &e->node) == 0 && B(e)->live.priv && t->o.free_priv)
			t->o.free_priv(B(e)->live.priv, t->o.callback_ctx);
	}
	urcu_memb_read_unlock();
	cds_lfht_destroy(t->ht, NULL);
	/* The table's own deferred work (resize) may still be queued. */
	urcu_memb_barrier();
	pthread_cond_destroy(&t->maint_cond);
	pthread_mutex_destroy(&t->maint_lock);
	pthread_mutex_destroy(&t->lock);
	munmap(t->pool, t->pool_bytes);
	free(t->deadline);
	free(t->scratch);
	free(t->ctx);
	free(t);
}

static inline int check_key(const struct lt_tracker *t, const void *key, size_t len)
{
	return t && key && len && len <= t->key_size;
}

LT_API int lt_event_in_at(struct lt_tracker *t, const void *key, size_t key_len,
			  uint64_t threshold_ns, uint64_t timeout_ns, void *priv, uint64_t ts)
{
	struct lt_keyref k = { key, key_len };
	struct cds_lfht_node *old;
	struct lt_tctx *c;
	struct lt_event *e;
	uint32_t idx;

	if (!check_key(t, key, key_len))
		return -EINVAL;
	c = ctx_get(t);
	if (!c)
		return -EUSERS;
	if (t->o.clock == LT_CLOCK_EXPLICIT)
		explicit_advance(t, c, ts);
	idx = ev_alloc(t, c);
	if (__builtin_expect(idx == NIL, 0)) {
		/* Our own retired events become free after a grace period. */
		if (c->retire_count)
			retire_flush(t, c);
		c->ctr[CTR_DROPPED]++;
		return -ENOSPC;
	}
	e = ev_at(t, idx);
	B(e)->live.begin_ns = ts;
	B(e)->live.threshold_ns = threshold_ns == LT_DEFAULT ? t->o.threshold_ns : threshold_ns;
	B(e)->live.timeout_ns = timeout_ns == LT_DEFAULT ? t->o.timeout_ns : timeout_ns;
	B(e)->live.priv = priv;
	e->key_len = (uint16_t)key_len;
	memcpy(e->key, key, key_len);
	__atomic_store_n(&e->state, 1, __ATOMIC_RELEASE);
	if (B(e)->live.timeout_ns) {
		__atomic_store_n(&t->deadline[idx], ts + B(e)->live.timeout_ns, __ATOMIC_RELAXED);
		if (!__atomic_load_n(&t->timeouts_used, __ATOMIC_RELAXED))
			__atomic_store_n(&t->timeouts_used, 1, __ATOMIC_RELAXED);
	}
	urcu_memb_read_lock();
	old = cds_lfht_add_replace(t->ht, key_hash(key, key_len), key_match, &k, &e->node);
	urcu_memb_read_unlock();
	c->ctr[CTR_TRACKED]++;
	if (!old)
		return 0;
	/* We took the old event out of the table: we own its end. */
	e = caa_container_of(old, struct lt_event, node);
	__atomic_store_n(&t->deadline[ev_idx(t, e)], 0, __ATOMIC_RELAXED);
	__atomic_fetch_or(&e->state, ST_DONE, __ATOMIC_ACQ_REL);
	c->ctr[CTR_REPLACED]++;
	ev_unref(t, c, e);
	return 1;
}

LT_API int lt_event_in(struct lt_tracker *t, const void *key, size_t key_len,
		       uint64_t threshold_ns, uint64_t timeout_ns, void *priv)
{
	if (!t || t->o.clock != LT_CLOCK_MONOTONIC)
		return -EINVAL;
	return lt_event_in_at(t, key, key_len, threshold_ns, timeout_ns, priv, mono_now());
}

LT_API int lt_event_out_at(struct lt_tracker *t, const void *key, size_t key_len, uint64_t ts)
{
	struct lt_keyref k = { key, key_len };
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;
	struct lt_tctx *c;
	struct lt_event *e;
	uint64_t delay, to;
	uint32_t s;
	int ret = 0;

	if (!check_key(t, key, key_len))
		return -EINVAL;
	c = ctx_get(t);
	if (!c)
		return -EUSERS;
	if (t->o.clock == LT_CLOCK_EXPLICIT)
		explicit_advance(t, c, ts);
	urcu_memb_read_lock();
	cds_lfht_lookup(t->ht, key_hash(key, key_len), key_match, &k, &it);
	node = cds_lfht_iter_get_node(&it);
	if (!node || cds_lfht_del(t->ht, node) != 0) {
		/* Absent, or another thread ended or replaced it first. */
		urcu_memb_read_unlock();
		c->ctr[CTR_UNMATCHED]++;
		return -ENOENT;
	}
	urcu_memb_read_unlock();
	/* The table's reference is ours now; the event stays valid. */
	e = caa_container_of(node, struct lt_event, node);
	to = B(e)->live.timeout_ns;
	if (to)
		__atomic_store_n(&t->deadline[ev_idx(t, e)], 0, __ATOMIC_RELAXED);
	delay = ts > B(e)->live.begin_ns ? ts - B(e)->live.begin_ns : 0;
	c->ctr[CTR_COMPLETED]++;
	if (__builtin_expect(delay <= B(e)->live.threshold_ns && (!to || delay <= to), 1)) {
		/* Nothing to report: mark done and drop the table's reference
		 * in one atomic operation. */
		s = __atomic_fetch_add(&e->state, ST_DONE - 1, __ATOMIC_ACQ_REL);
		if ((s & ST_REF_MASK) == 1)
			ev_retire(t, c, e);
		return 0;
	}
	s = __atomic_fetch_or(&e->state, ST_DONE, __ATOMIC_ACQ_REL);
	if (to && delay > to && !(s & ST_TIMEDOUT)) {
		/* The end came after the deadline but before the sweep. */
		report(t, e, LT_REASON_TIMEOUT, B(e)->live.begin_ns + to, ts, false);
		c->ctr[CTR_TIMEOUTS]++;
		s |= ST_TIMEDOUT;
	}
	if (delay > B(e)->live.threshold_ns) {
		report(t, e, LT_REASON_NORMAL, ts, ts, (s & ST_TIMEDOUT) != 0);
		c->ctr[CTR_OVER]++;
		ret = 1;
	}
	ev_unref(t, c, e);
	return ret;
}

LT_API int lt_event_out(struct lt_tracker *t, const void *key, size_t key_len)
{
	if (!t || t->o.clock != LT_CLOCK_MONOTONIC)
		return -EINVAL;
	return lt_event_out_at(t, key, key_len, mono_now());
}

LT_API struct lt_event *lt_event_get(struct lt_tracker *t, const void *key, size_t key_len)
{
	struct lt_keyref k = { key, key_len };
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;
	struct lt_event *e = NULL;

	if (!check_key(t, key, key_len)) {
		errno = EINVAL;
		return NULL;
	}
	if (!ctx_get(t)) { /* registers the thread with liburcu */
		errno = EUSERS;
		return NULL;
	}
	urcu_memb_read_lock();
	cds_lfht_lookup(t->ht, key_hash(key, key_len), key_match, &k, &it);
	node = cds_lfht_iter_get_node(&it);
	if (node) {
		e = caa_container_of(node, struct lt_event, node);
		if (!ev_tryref(e))
			e = NULL;
	}
	urcu_memb_read_unlock();
	if (!e)
		errno = ENOENT;
	return e;
}

LT_API void lt_event_put(struct lt_event *e)
{
	struct lt_tctx *c;

	if (!e)
		return;
	c = ctx_get(e->owner);
	if (!c) {
		/* No context to retire into (thread limit): the event stays
		 * out of the pool rather than being lost for a wrong reuse. */
		__atomic_fetch_sub(&e->state, 1, __ATOMIC_ACQ_REL);
		return;
	}
	ev_unref(e->owner, c, e);
}

LT_API uint64_t lt_event__begin_ns(const struct lt_event *e) { return B(e)->live.begin_ns; }
LT_API uint64_t lt_event__threshold_ns(const struct lt_event *e) { return B(e)->live.threshold_ns; }
LT_API uint64_t lt_event__timeout_ns(const struct lt_event *e) { return B(e)->live.timeout_ns; }
LT_API void *lt_event__priv(const struct lt_event *e) { return B(e)->live.priv; }

LT_API const void *lt_event__key(const struct lt_event *e, size_t *key_len)
{
	if (key_len)
		*key_len = e->key_len;
	return e->key;
}

LT_API bool lt_event__ended(const struct lt_event *e)
{
	return (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) & ST_DONE) != 0;
}

LT_API int lt_tracker__advance(struct lt_tracker *t, uint64_t now_ns)
{
	struct lt_tctx *c;

	if (!t || t->o.clock != LT_CLOCK_EXPLICIT)
		return -EINVAL;
	c = ctx_get(t);
	if (!c)
		return -EUSERS;
	explicit_advance(t, c, now_ns);
	return 0;
}

LT_API uint64_t lt_tracker__now(const struct lt_tracker *t)
{
	if (t->o.clock == LT_CLOCK_EXPLICIT)
		return __atomic_load_n(&t->now, __ATOMIC_RELAXED);
	return mono_now();
}

LT_API void lt_tracker__stats(const struct lt_tracker *t, struct lt_tracker_stats *out)
{
	uint64_t sum[CTR_NR];
	struct lt_tracker *tm = (struct lt_tracker *)t; /* lock only */

	pthread_mutex_lock(&tm->lock);
	memcpy(sum, t->exited_ctr, sizeof(sum));
	for (uint32_t i = 0; i < t->nctx; i++) {
		if (!t->ctx[i].in_use)
			continue;
		for (int k = 0; k < CTR_NR; k++)
			sum[k] += __atomic_load_n(&t->ctx[i].ctr[k], __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&tm->lock);
	memset(out, 0, sizeof(*out));
	out->tracked = sum[CTR_TRACKED];
	out->completed = sum[CTR_COMPLETED];
	out->over_threshold = sum[CTR_OVER];
	out->timeouts = sum[CTR_TIMEOUTS];
	out->replaced = sum[CTR_REPLACED];
	out->unmatched = sum[CTR_UNMATCHED];
	out->dropped = sum[CTR_DROPPED];
	out->in_flight = out->tracked - out->completed - out->replaced;
	out->capacity = t->capacity;
	out->event_bytes = t->stride + sizeof(uint64_t) * 3; /* + deadline, sweep scratch */
	out->grace_periods = __atomic_load_n(&t->grace_periods, __ATOMIC_RELAXED);
}

LT_API int lt_tracker__foreach(struct lt_tracker *t, lt_foreach_fn fn, void *ctx)
{
	struct cds_lfht_iter it;
	struct lt_event *e;
	int ret = 0;

	if (!t || !fn)
		return -EINVAL;
	if (!ctx_get(t))
		return -EUSERS;
	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->ht, &it, e, node) {
		if (!ev_tryref(e))
			continue;
		ret = fn(e, ctx);
		/* Never the last reference: the table still holds one unless
		 * the event ended meanwhile, in which case retire it later. */
		ev_unref(t, ctx_get(t), e);
		if (ret)
			break;
	}
	urcu_memb_read_unlock();
	return ret;
}
