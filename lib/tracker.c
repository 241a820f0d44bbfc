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
 *    seen by a concurrent lookup, so it is reused only when no thread can
 *    still be inside a table operation that began before its removal.
 *    That is decided by epoch-based reclamation driven by the calling
 *    threads themselves, with no reclaimer thread and no blocking:
 *      * around its table operations a thread publishes the global epoch
 *        it saw (a plain store: no fence on the hot path);
 *      * now and then (at most every ADVANCE_NS, or when a thread runs
 *        short of events) one thread calls membarrier() — the asymmetric
 *        fence urcu-memb also uses — then moves the epoch forward if every
 *        thread inside an operation has seen the current one; it never
 *        waits for them;
 *      * retired events go, LT_TRACKER_BATCH at a time, to the retiring
 *        thread's private limbo list, tagged with the epoch, and become
 *        reusable two epochs later, by the same thread (its cache is warm)
 *        or, beyond a small private stack, through the global stack.
 *    We measured the alternatives here: liburcu's call_rcu worker sleeps
 *    ~10 ms per round, so the pool drained into its queue; a dedicated
 *    thread calling synchronize_rcu managed only ~150 grace periods per
 *    second once the callers kept both CPUs busy (each grace period had to
 *    preempt a caller inside its read-side section), so two threads were
 *    slower than one.
 *    The global stack of free batches is a Treiber stack whose top word
 *    carries a 32-bit tag next to the batch index, so a pop that read a
 *    stale "next" fails its CAS instead of corrupting the stack (the ABA
 *    problem of the kernel module's free list).
 *
 *  - The table is created at its full size (the declared maximum) and never
 *    resized: liburcu's resize walks our nodes under its own read-side lock,
 *    which our epochs do not see, so it could follow a node we recycled.
 *    Sized for the maximum, chains stay O(1) at any allowed load (the
 *    failure of the kernel module's fixed 2,048 buckets was being sized
 *    far below its load).
 *
 *  - Spread.  A bucket is 16 bytes, so one cache line holds 4, and every
 *    insert and delete writes its bucket (and reads the next bucket in
 *    split order, elsewhere in the array).  When two threads' keys land in
 *    the same line, the line moves between their CPUs on each operation.
 *    The chance grows with the keys in use over the number of lines, not
 *    with the load factor: at 1,000 keys, 131,072 buckets (the default
 *    reserve's size) gave 2 threads 1.40x one, raw cds_lfht alone 1.5x;
 *    524,288 buckets gave 1.73x.  So a monotonic-clock tracker, the kind
 *    threads share, gets at least SPREAD_BUCKETS (8 MiB); explicit-clock
 *    trackers (trace replay, one thread) keep the compact table, which is
 *    quicker to build.  The bucket array is put on huge pages
 *    (table_hugepages): 1 M keys, 1 thread, went from 1.78 to 2.05 M
 *    pairs/s.
 *
 *  - The pool is aligned to 2 MiB chunks, and the first 8 bytes of each
 *    chunk name the tracker; the indices that would overlap them are not
 *    events.  An event finds its tracker from its address (pool_owner), so
 *    it needs no pointer of its own, and with a key of up to 8 bytes it is
 *    64 bytes: one cache line, never shared with another event.
 *
 *  - An event's state is one 32-bit word: a reference count (the table holds
 *    one, lt_event_get adds one) and two flags, DONE (ended or replaced) and
 *    TIMEDOUT (timeout reported).  Whoever sets a flag first reports; the
 *    last reference retires the event.
 *
 *  - Deadlines live in a separate dense array, so the timeout sweep reads
 *    8 bytes per event sequentially instead of walking the hash table; it
 *    only covers indices ever handed out (the high-water mark).  In-flight
 *    code does one store there; the sweep runs in the timeout
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
#include <sched.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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
#define ADVANCE_NS              500000ull /* epoch advances at most every 0.5 ms, */
#define URGENT_ADVANCE_NS       20000ull  /* or 20 us when a thread is short */
#define TLS_CACHE               8
#define SPREAD_BUCKETS          (1ul << 19) /* 8 MiB of buckets */

#ifdef MADV_COLLAPSE
#define LT_MADV_COLLAPSE MADV_COLLAPSE
#else
#define LT_MADV_COLLAPSE 25 /* Linux 6.1; older kernels: EINVAL, ignored */
#endif

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

/* What a lookup touches (node, state, key) comes first; the rest follows
 * the key, at t->live_off.  With a key of up to 8 bytes an event is 64
 * bytes, one cache line of the 2 MiB-aligned pool.  The event does not
 * name its tracker: the first 8 bytes of every 2 MiB chunk of the pool do
 * (pool_owner), and no event overlaps them. */
struct lt_event {
	struct cds_lfht_node node;
	uint32_t state;
	uint16_t key_len;
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
		uint32_t next_free; /* link in a thread's chain or a batch */
		uint32_t pad;
		uint64_t epoch;     /* when retired (batch heads in limbo) */
	} dead;
};

/* Per (thread, tracker) context.  Written by its thread only, except under
 * the tracker's lock at claim and release. */
struct lt_tctx {
	/* The first line is written by its thread on every call. */
	uint64_t active; /* epoch seen on entering a table operation; 0 outside */
	uint32_t rd_nest;
	uint32_t in_use;
	uint32_t alloc_head;
	uint32_t alloc_count;
	uint32_t retire_head;
	uint32_t retire_count;
	uint32_t local; /* private stack of reusable batches */
	uint32_t local_n;
	uint32_t limbo_head, limbo_tail; /* retired batches, oldest first */
	uint64_t ctr[CTR_NR];
} __attribute__((aligned(64)));

struct lt_tracker {
	uint64_t id;
	struct cds_lfht *ht;
	char *pool;
	size_t pool_bytes;
	size_t stride;
	size_t live_off;
	uint64_t stride_inv;  /* ev_idx: inverse of stride's odd part, mod 2^64 */
	uint32_t stride_tz;   /* and the power of two */
	uint32_t slots;       /* pool indices, events and chunk headers */
	uint64_t buckets;     /* of the table */
	uint32_t capacity;
	uint32_t key_size;
	uint64_t *deadline;
	uint64_t *scratch; /* sweep: (deadline, index) pairs */
	struct lt_tracker_opts o;

	struct lt_tracker *next_live; /* global list, under lt_global_lock */

	pthread_mutex_t lock; /* contexts' claim/release, stats */
	struct lt_tctx *ctx;
	uint32_t nctx;
	uint32_t nctx_used; /* contexts [0, nctx_used) have ever been claimed */
	uint64_t exited_ctr[CTR_NR];

	/* Timeout thread (monotonic clock only). */
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
	uint64_t epoch __attribute__((aligned(64)));
	uint64_t last_advance;
	uint64_t blocked_at; /* last advance attempt that a thread held back */
	uint32_t advancing;
	int fence_readers; /* no membarrier: readers fence themselves */
	uint32_t local_max; /* reusable batches a thread may keep */
	uint64_t advances;
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

/* An exact division: a multiply, not a divide. */
static inline uint32_t ev_idx(const struct lt_tracker *t, const struct lt_event *e)
{
	uint64_t off = (uint64_t)((const char *)e - t->pool);

	return (uint32_t)((off >> t->stride_tz) * t->stride_inv);
}

#define POOL_CHUNK (2ul << 20) /* huge page; each starts with its tracker */

static inline struct lt_tracker *pool_owner(const struct lt_event *e)
{
	return *(struct lt_tracker *const *)((uintptr_t)e & ~(uintptr_t)(POOL_CHUNK - 1));
}

/* Index i is a chunk header, not an event, when the event there would
 * cover the first 8 bytes of a chunk. */
static inline int slot_is_header(size_t stride, uint64_t i)
{
	uint64_t o = (i * stride) % POOL_CHUNK;

	return o == 0 || o + stride > POOL_CHUNK;
}

static inline union lt_body *B(const struct lt_event *e)
{
	return (union lt_body *)((char *)e + pool_owner(e)->live_off);
}

/* The same, when the tracker is at hand: no load through pool_owner. */
static inline union lt_body *BT(const struct lt_tracker *t, const struct lt_event *e)
{
	return (union lt_body *)((char *)e + t->live_off);
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
	uint32_t limbo_head, limbo_tail;

	/* First the partial retired chain (what it drains from limbo lands on
	 * the private stack, which is emptied next). */
	if (c->retire_count)
		retire_flush(t, c);
	if (c->alloc_count)
		push_batch(t, c->alloc_head, c->alloc_count);
	while (c->local != NIL) {
		union lt_body *h = BT(t, ev_at(t, c->local));
		uint32_t next = h->dead.batch_next;

		push_batch(t, c->local, h->dead.count);
		c->local = next;
	}
	limbo_head = c->limbo_head;
	limbo_tail = c->limbo_tail;
	for (int i = 0; i < CTR_NR; i++)
		t->exited_ctr[i] += c->ctr[i];
	memset(c, 0, sizeof(*c));
	c->alloc_head = c->retire_head = c->local = NIL;
	/* Batches still in limbo stay with the context; limbo_scavenge()
	 * recycles them, and a thread that claims this context inherits them. */
	c->limbo_head = limbo_head;
	c->limbo_tail = limbo_tail;
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
			__atomic_store_n(&c->in_use, 1, __ATOMIC_RELEASE);
			if (i >= t->nctx_used)
				__atomic_store_n(&t->nctx_used, i + 1, __ATOMIC_RELEASE);
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

	BT(t, h)->dead.count = count;
	do {
		__atomic_store_n(&BT(t, h)->dead.batch_next, (uint32_t)old, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | head;
	} while (!__atomic_compare_exchange_n(&t->free_top, &old, nw, 1, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

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
		next = __atomic_load_n(&BT(t, ev_at(t, head))->dead.batch_next, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | next;
	} while (!__atomic_compare_exchange_n(&t->free_top, &old, nw, 1, __ATOMIC_ACQUIRE,
					      __ATOMIC_ACQUIRE));
	*count = BT(t, ev_at(t, head))->dead.count;
	if (*count & BATCH_FRESH) {
		uint32_t end;

		*count &= ~BATCH_FRESH;
		/* A fresh batch is the events of one aligned run of
		 * LT_TRACKER_BATCH indices (its head may follow a header). */
		end = (head / LT_TRACKER_BATCH + 1) * LT_TRACKER_BATCH;
		if (end > t->slots)
			end = t->slots;
		uint32_t cur = __atomic_load_n(&t->hwm, __ATOMIC_RELAXED);
		while (cur < end &&
		       !__atomic_compare_exchange_n(&t->hwm, &cur, end, 1, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED))
			;
	}
	return head;
}

/* Epochs.  rd_enter/rd_exit bracket every table operation of a thread.
 * They take no liburcu read-side lock: liburcu's grace periods protect
 * what it frees itself, which for a table that is never resized is
 * nothing (bucket arrays are freed only by a resize or destroy); our nodes
 * are protected by these epochs.  (The lock was 62 of 896 instructions
 * per pair, callgrind.) */
static inline void rd_enter(struct lt_tracker *t, struct lt_tctx *c)
{
	if (c->rd_nest++ == 0) {
		__atomic_store_n(&c->active, __atomic_load_n(&t->epoch, __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
		if (__builtin_expect(t->fence_readers, 0))
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		else
			__atomic_signal_fence(__ATOMIC_SEQ_CST); /* membarrier orders it */
	}
}

static inline void rd_exit(struct lt_tctx *c)
{
	if (--c->rd_nest == 0)
		__atomic_store_n(&c->active, 0, __ATOMIC_RELEASE);
}

static long sys_membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

/* Move the epoch forward if every thread inside a table operation has seen
 * the current one.  Never waits; one advancer at a time; rate-limited
 * unless `urgent`. */
static void try_advance(struct lt_tracker *t, int urgent)
{
	uint64_t e, now = mono_now();
	int ok = 1;

	/* An urgent advance goes at once, unless the last attempt was blocked:
	 * then a thread preempted inside a table operation holds the epoch
	 * back, and retrying sooner only sends IPIs that preempt the others
	 * (measured: with unlimited retries two threads fell to 0.7x of one). */
	if (urgent ? now - __atomic_load_n(&t->blocked_at, __ATOMIC_RELAXED) < URGENT_ADVANCE_NS
		   : now - __atomic_load_n(&t->last_advance, __ATOMIC_RELAXED) < ADVANCE_NS)
		return;
	if (__atomic_exchange_n(&t->advancing, 1, __ATOMIC_ACQUIRE))
		return;
	e = __atomic_load_n(&t->epoch, __ATOMIC_RELAXED);
	if (!t->fence_readers)
		(void)sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
	else
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* A context claimed after the membarrier above enters with the
	 * current epoch or later: it cannot hold this advance back. */
	uint32_t n = __atomic_load_n(&t->nctx_used, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < n && ok; i++) {
		uint64_t a = __atomic_load_n(&t->ctx[i].active, __ATOMIC_ACQUIRE);

		if (a && a != e)
			ok = 0;
	}
	if (ok) {
		__atomic_store_n(&t->epoch, e + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&t->advances, t->advances + 1, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&t->blocked_at, now, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&t->last_advance, now, __ATOMIC_RELAXED);
	__atomic_store_n(&t->advancing, 0, __ATOMIC_RELEASE);
}

/* Move this context's batches whose epoch is old enough out of limbo: into
 * its private stack (up to local_max, when keep_local), else to the global
 * stack. */
static void limbo_drain(struct lt_tracker *t, struct lt_tctx *c, bool keep_local)
{
	uint64_t e = __atomic_load_n(&t->epoch, __ATOMIC_ACQUIRE);

	while (c->limbo_head != NIL) {
		union lt_body *h = BT(t, ev_at(t, c->limbo_head));
		uint32_t b = c->limbo_head;

		if (h->dead.epoch + 2 > e)
			break;
		c->limbo_head = h->dead.batch_next;
		if (c->limbo_head == NIL)
			c->limbo_tail = NIL;
		if (keep_local && c->local_n < t->local_max) {
			h->dead.batch_next = c->local;
			c->local = b;
			c->local_n++;
		} else {
			push_batch(t, b, h->dead.count);
		}
	}
}

/* Slow path: recycle what released contexts left in limbo. */
static void limbo_scavenge(struct lt_tracker *t)
{
	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < t->nctx; i++) {
		struct lt_tctx *c = &t->ctx[i];

		if (c->in_use || c->limbo_head == NIL)
			continue;
		limbo_drain(t, c, false);
	}
	pthread_mutex_unlock(&t->lock);
}

static int refill(struct lt_tracker *t, struct lt_tctx *c)
{
	uint32_t idx, n;

	for (int attempt = 0; attempt < 3; attempt++) {
		if (c->local == NIL)
			limbo_drain(t, c, true);
		if (c->local != NIL) {
			union lt_body *h = BT(t, ev_at(t, c->local));

			idx = c->local;
			n = h->dead.count;
			c->local = h->dead.batch_next;
			c->local_n--;
			goto got;
		}
		idx = pop_batch(t, &n);
		if (idx != NIL)
			goto got;
		/* Short of events: push the epoch (twice makes our own limbo
		 * reusable if no thread is stuck in an operation), and take
		 * what exited threads left behind. */
		try_advance(t, 1);
		if (attempt == 1)
			limbo_scavenge(t);
	}
	return 0;
got:
	c->alloc_head = idx;
	c->alloc_count = n;
	return 1;
}

static inline uint32_t ev_alloc(struct lt_tracker *t, struct lt_tctx *c)
{
	uint32_t idx;

	if (__builtin_expect(c->alloc_count == 0, 0) && !refill(t, c))
		return NIL;
	idx = c->alloc_head;
	c->alloc_head = BT(t, ev_at(t, idx))->dead.next_free;
	c->alloc_count--;
	return idx;
}

/* A full retired chain enters this thread's limbo, tagged with the epoch. */
static void retire_flush(struct lt_tracker *t, struct lt_tctx *c)
{
	uint32_t head = c->retire_head;
	union lt_body *b = BT(t, ev_at(t, head));

	b->dead.count = c->retire_count;
	b->dead.epoch = __atomic_load_n(&t->epoch, __ATOMIC_ACQUIRE);
	b->dead.batch_next = NIL;
	if (c->limbo_tail != NIL)
		BT(t, ev_at(t, c->limbo_tail))->dead.batch_next = head;
	else
		c->limbo_head = head;
	c->limbo_tail = head;
	c->retire_head = NIL;
	c->retire_count = 0;
	try_advance(t, 0);
	limbo_drain(t, c, true);
}

/* The last reference is gone: hand priv back, recycle after a grace period. */
static void ev_retire(struct lt_tracker *t, struct lt_tctx *c, struct lt_event *e)
{
	if (BT(t, e)->live.priv && t->o.free_priv)
		t->o.free_priv(BT(t, e)->live.priv, t->o.callback_ctx);
	BT(t, e)->dead.next_free = c->retire_head;
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

	if (e->key_len != k->len)
		return 0;
	if (k->len == 8) { /* tids, pointers, request ids: one compare */
		uint64_t a, b;

		memcpy(&a, e->key, 8);
		memcpy(&b, k->key, 8);
		return a == b;
	}
	return memcmp(e->key, k->key, k->len) == 0;
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
		.begin_ns = BT(t, e)->live.begin_ns,
		.end_ns = end,
		.delay_ns = end > BT(t, e)->live.begin_ns ? end - BT(t, e)->live.begin_ns : 0,
		.threshold_ns = BT(t, e)->live.threshold_ns,
		.timeout_ns = BT(t, e)->live.timeout_ns,
		.now_ns = now,
		.priv = BT(t, e)->live.priv,
		.reason = why,
		.timed_out = timed_out,
	};

	if (t->o.callback)
		t->o.callback(&r, t->o.callback_ctx);
}

/* Deadline order; ties broken by key, not by pool index: which index an
 * event gets depends on when other threads recycled it, and the
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
 * order.  One sweeper at a time (t->sweeping, or the timeout thread). */
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
		if (BT(t, e)->live.timeout_ns && BT(t, e)->live.begin_ns + BT(t, e)->live.timeout_ns <= now) {
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
			report(t, e, LT_REASON_TIMEOUT, BT(t, e)->live.begin_ns + BT(t, e)->live.timeout_ns,
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

/* Back the bucket array with huge pages: keys hash to buckets at random,
 * so with 4 KiB pages every lookup of a large table risks a TLB miss (on a
 * VM, a two-level page walk).  liburcu has already written the array, so
 * MADV_COLLAPSE (Linux 6.1) converts it now rather than whenever
 * khugepaged gets there; only the 2 MiB-aligned interior can be.  Best
 * effort: any failure leaves 4 KiB pages. */
static void table_hugepages(struct cds_lfht *ht, unsigned long buckets)
{
	const uintptr_t huge = 2u << 20;
	uintptr_t b0 = (uintptr_t)cds_lfht_mm_mmap.bucket_at(ht, 0);
	uintptr_t lo = (b0 + huge - 1) & ~(huge - 1);
	uintptr_t hi = (b0 + buckets * sizeof(struct cds_lfht_node)) & ~(huge - 1);

	if (hi <= lo)
		return;
	if (madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0)
		(void)madvise((void *)lo, hi - lo, LT_MADV_COLLAPSE);
}

static void abs_deadline(struct timespec *dl, uint64_t ns_from_now)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	dl->tv_nsec += (long)(ns_from_now % 1000000000ull);
	dl->tv_sec += (time_t)(ns_from_now / 1000000000ull) + dl->tv_nsec / 1000000000;
	dl->tv_nsec %= 1000000000;
}

/* The timeout thread (monotonic clock): sweeps every timer period once
 * any event has used a timeout. */
static void *maint_main(void *arg)
{
	struct lt_tracker *t = arg;
	struct lt_tctx *c = ctx_get(t); /* registers this thread with liburcu */
	struct timespec dl;

	pthread_mutex_lock(&t->maint_lock);
	while (!t->maint_stop) {
		abs_deadline(&dl, t->o.timer_period_ns);
		pthread_cond_timedwait(&t->maint_cond, &t->maint_lock, &dl);
		if (t->maint_stop || !c || !__atomic_load_n(&t->timeouts_used, __ATOMIC_RELAXED))
			continue;
		pthread_mutex_unlock(&t->maint_lock);
		sweep(t, c, mono_now());
		/* Events this thread retired must not wait for it to allocate. */
		if (c->retire_count)
			retire_flush(t, c);
		limbo_drain(t, c, false); /* this thread never allocates */
		pthread_mutex_lock(&t->maint_lock);
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
	{
		uint64_t odd = t->stride, inv;

		while (!(odd & 1)) {
			odd >>= 1;
			t->stride_tz++;
		}
		inv = odd; /* Newton: each step doubles the correct low bits */
		for (int i = 0; i < 5; i++)
			inv *= 2 - odd * inv;
		t->stride_inv = inv;
	}
	{
		uint64_t n = 0, i = 0;

		for (; n < cap; i++)
			n += !slot_is_header(t->stride, i);
		if (i >= NIL) {
			err = EINVAL;
			goto fail;
		}
		t->slots = (uint32_t)i;
	}
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
	t->epoch = 1; /* 0 means "outside" in a context's `active` */
	/* A thread keeps its own reusable batches (warm in its cache; measured
	 * 1.15x -> 1.47x for two threads at 1,000 keys going from 16 to 256),
	 * but not so many that a few threads hoard the reserve. */
	t->local_max = (uint32_t)(reserve / (LT_TRACKER_BATCH * 4 * (uint64_t)ncpu));
	if (t->local_max < 4)
		t->local_max = 4;
	if (t->local_max > 256)
		t->local_max = 256;
	if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0)
		t->fence_readers = 1;
	/* The pool is touched at random: back it with huge pages where the
	 * kernel allows (THP "madvise" mode), sparing TLB misses.  It is
	 * aligned to POOL_CHUNK, so 64-byte events sit in one cache line and
	 * pool_owner finds the chunk's header. */
	t->pool_bytes = (t->stride * t->slots + POOL_CHUNK - 1) & ~(size_t)(POOL_CHUNK - 1);
	{
		char *m = mmap(NULL, t->pool_bytes + POOL_CHUNK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t head;

		if (m == MAP_FAILED)
			goto fail;
		head = (size_t)(-(uintptr_t)m & (POOL_CHUNK - 1));
		if (head)
			munmap(m, head);
		if (POOL_CHUNK - head)
			munmap(m + head + t->pool_bytes, POOL_CHUNK - head);
		t->pool = m + head;
	}
	(void)madvise(t->pool, t->pool_bytes, MADV_HUGEPAGE);
	for (size_t off = 0; off < t->pool_bytes; off += POOL_CHUNK)
		*(struct lt_tracker **)(t->pool + off) = t;
	t->deadline = calloc(t->slots, sizeof(uint64_t));
	t->scratch = malloc((size_t)t->slots * 2 * sizeof(uint64_t));
	t->nctx = o.max_threads;
	t->ctx = aligned_alloc(64, sizeof(struct lt_tctx) * t->nctx);
	if (!t->pool || !t->deadline || !t->scratch || !t->ctx)
		goto fail;
	for (uint32_t i = 0; i < t->nctx; i++) {
		memset(&t->ctx[i], 0, sizeof(t->ctx[i]));
		t->ctx[i].alloc_head = t->ctx[i].retire_head = NIL;
		t->ctx[i].local = t->ctx[i].limbo_head = t->ctx[i].limbo_tail = NIL;
	}
	/* Chain the pool into fresh batches, one per aligned run of
	 * LT_TRACKER_BATCH indices less the chunk headers, lowest indices on
	 * top so that the high-water mark (and the sweep) stays small when
	 * load is low. */
	for (uint64_t b = (t->slots - 1) / LT_TRACKER_BATCH + 1; b-- > 0;) {
		uint32_t lo = (uint32_t)(b * LT_TRACKER_BATCH), hi = lo + LT_TRACKER_BATCH;
		uint32_t head = NIL, n = 0;

		if (hi > t->slots)
			hi = t->slots;
		for (uint32_t i = hi; i-- > lo;) {
			if (slot_is_header(t->stride, i))
				continue;
			BT(t, ev_at(t, i))->dead.next_free = head;
			head = i;
			n++;
		}
		if (n)
			push_batch(t, head, n | BATCH_FRESH);
	}

	while (max_buckets < cap)
		max_buckets <<= 1;
	/* A live tracker is shared by threads: spread its keys over at least
	 * SPREAD_BUCKETS (see "Spread" at the top). */
	if (o.clock == LT_CLOCK_MONOTONIC && max_buckets < SPREAD_BUCKETS)
		max_buckets = SPREAD_BUCKETS;
	init_buckets = max_buckets; /* see "never resized" at the top */
	t->buckets = max_buckets;
	/* The mmap allocator (liburcu's own choice on 64-bit) named here so
	 * that its bucket_at gives us the bucket array for table_hugepages. */
	t->ht = _cds_lfht_new(init_buckets, init_buckets, max_buckets, 0, &cds_lfht_mm_mmap,
			      &urcu_memb_flavor, NULL);
	if (!t->ht)
		goto fail;
	table_hugepages(t->ht, max_buckets);

	pthread_mutex_lock(&lt_global_lock);
	t->id = lt_next_id++;
	t->next_live = lt_live;
	lt_live = t;
	pthread_mutex_unlock(&lt_global_lock);

	if (o.clock == LT_CLOCK_MONOTONIC) {
		err = pthread_create(&t->maint, NULL, maint_main, t);
		if (err) {
			lt_tracker__destroy(t);
			errno = err;
			return NULL;
		}
		t->maint_started = 1;
	}
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
		if (cds_lfht_del(t->ht, &e->node) == 0 && BT(t, e)->live.priv && t->o.free_priv)
			t->o.free_priv(BT(t, e)->live.priv, t->o.callback_ctx);
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

/* Start of lt_event_in/out: check the key, find the thread's context, and
 * move the explicit clock (which may fire timeouts). */
static inline struct lt_tctx *call_begin(struct lt_tracker *t, const void *key, size_t len,
					 uint64_t ts, int *err)
{
	struct lt_tctx *c;

	if (!check_key(t, key, len)) {
		*err = -EINVAL;
		return NULL;
	}
	c = ctx_get(t);
	if (!c) {
		*err = -EUSERS;
		return NULL;
	}
	if (t->o.clock == LT_CLOCK_EXPLICIT)
		explicit_advance(t, c, ts);
	return c;
}

LT_API int lt_event_in_at(struct lt_tracker *t, const void *key, size_t key_len,
			  uint64_t threshold_ns, uint64_t timeout_ns, void *priv, uint64_t ts)
{
	struct lt_keyref k = { key, key_len };
	struct cds_lfht_node *old;
	struct lt_tctx *c;
	struct lt_event *e;
	union lt_body *b;
	uint32_t idx;
	int err;

	c = call_begin(t, key, key_len, ts, &err);
	if (!c)
		return err;
	idx = ev_alloc(t, c);
	if (__builtin_expect(idx == NIL, 0)) {
		/* Our own retired events become free after a grace period. */
		if (c->retire_count)
			retire_flush(t, c);
		c->ctr[CTR_DROPPED]++;
		return -ENOSPC;
	}
	e = ev_at(t, idx);
	b = BT(t, e);
	b->live.begin_ns = ts;
	b->live.threshold_ns = threshold_ns == LT_DEFAULT ? t->o.threshold_ns : threshold_ns;
	b->live.timeout_ns = timeout_ns == LT_DEFAULT ? t->o.timeout_ns : timeout_ns;
	b->live.priv = priv;
	e->key_len = (uint16_t)key_len;
	if (key_len == 8)
		memcpy(e->key, key, 8); /* constant size: one store */
	else
		memcpy(e->key, key, key_len);
	__atomic_store_n(&e->state, 1, __ATOMIC_RELEASE);
	if (b->live.timeout_ns) {
		__atomic_store_n(&t->deadline[idx], ts + b->live.timeout_ns, __ATOMIC_RELAXED);
		if (!__atomic_load_n(&t->timeouts_used, __ATOMIC_RELAXED))
			__atomic_store_n(&t->timeouts_used, 1, __ATOMIC_RELAXED);
	}
	rd_enter(t, c);
	old = cds_lfht_add_replace(t->ht, key_hash(key, key_len), key_match, &k, &e->node);
	rd_exit(c);
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
	union lt_body *b;
	uint64_t delay, to;
	uint32_t s;
	int ret = 0, err;

	c = call_begin(t, key, key_len, ts, &err);
	if (!c)
		return err;
	rd_enter(t, c);
	cds_lfht_lookup(t->ht, key_hash(key, key_len), key_match, &k, &it);
	node = cds_lfht_iter_get_node(&it);
	if (!node || cds_lfht_del(t->ht, node) != 0) {
		/* Absent, or another thread ended or replaced it first. */
		rd_exit(c);
		c->ctr[CTR_UNMATCHED]++;
		return -ENOENT;
	}
	rd_exit(c);
	/* The table's reference is ours now; the event stays valid. */
	e = caa_container_of(node, struct lt_event, node);
	b = BT(t, e);
	to = b->live.timeout_ns;
	if (to)
		__atomic_store_n(&t->deadline[ev_idx(t, e)], 0, __ATOMIC_RELAXED);
	delay = ts > b->live.begin_ns ? ts - b->live.begin_ns : 0;
	c->ctr[CTR_COMPLETED]++;
	if (__builtin_expect(delay <= b->live.threshold_ns && (!to || delay <= to), 1)) {
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
		report(t, e, LT_REASON_TIMEOUT, b->live.begin_ns + to, ts, false);
		c->ctr[CTR_TIMEOUTS]++;
		s |= ST_TIMEDOUT;
	}
	if (delay > b->live.threshold_ns) {
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
	struct lt_tctx *c;

	if (!check_key(t, key, key_len)) {
		errno = EINVAL;
		return NULL;
	}
	c = ctx_get(t);
	if (!c) {
		errno = EUSERS;
		return NULL;
	}
	rd_enter(t, c);
	cds_lfht_lookup(t->ht, key_hash(key, key_len), key_match, &k, &it);
	node = cds_lfht_iter_get_node(&it);
	if (node) {
		e = caa_container_of(node, struct lt_event, node);
		if (!ev_tryref(e))
			e = NULL;
	}
	rd_exit(c);
	if (!e)
		errno = ENOENT;
	return e;
}

LT_API void lt_event_put(struct lt_event *e)
{
	struct lt_tracker *t;
	struct lt_tctx *c;

	if (!e)
		return;
	t = pool_owner(e);
	c = ctx_get(t);
	if (!c) {
		/* No context to retire into (thread limit): the event stays
		 * out of the pool rather than being lost for a wrong reuse. */
		__atomic_fetch_sub(&e->state, 1, __ATOMIC_ACQ_REL);
		return;
	}
	ev_unref(t, c, e);
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
	/* Pool, deadline and sweep scratch per index, and the table's buckets,
	 * over the events. */
	out->event_bytes = ((t->stride + sizeof(uint64_t) * 3) * t->slots +
			    t->buckets * sizeof(struct cds_lfht_node) + t->capacity - 1) /
			   t->capacity;
	out->epoch_advances = __atomic_load_n(&t->advances, __ATOMIC_RELAXED);
}

LT_API int lt_tracker__foreach(struct lt_tracker *t, lt_foreach_fn fn, void *ctx)
{
	struct cds_lfht_iter it;
	struct lt_event *e;
	struct lt_tctx *c;
	int ret = 0;

	if (!t || !fn)
		return -EINVAL;
	c = ctx_get(t);
	if (!c)
		return -EUSERS;
	rd_enter(t, c);
	urcu_memb_read_lock(); /* the header promises fn runs inside one */
	cds_lfht_for_each_entry(t->ht, &it, e, node) {
		if (!ev_tryref(e))
			continue;
		ret = fn(e, ctx);
		ev_unref(t, c, e);
		if (ret)
			break;
	}
	urcu_memb_read_unlock();
	rd_exit(c);
	return ret;
}
