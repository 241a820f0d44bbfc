/* liblatrack: the latency tracker.
 *
 * A tracker pairs a *begin* event (lt_event_in) with an *end* event
 * (lt_event_out) that share a key, and calls back when the delay between
 * them exceeds a threshold, or once when the end has not come within a
 * timeout.  It is the API of the latency_tracker kernel module, in user
 * space, lock-free and scalable:
 *
 *   - in-flight events live in liburcu's lock-free hash table (cds_lfht):
 *     lookups and inserts take no lock; the table is created with as many
 *     buckets as the pool has events (rounded up to a power of two), so its
 *     chains stay O(1) at any load the tracker accepts (why it is not
 *     resized: lib/tracker.c); a monotonic-clock tracker gets at least
 *     524,288 buckets (8 MiB), so that threads working on different keys
 *     rarely share a cache line of it;
 *   - events are preallocated at creation and recycled through per-thread
 *     caches over a lock-free (ABA-safe) stack of batches: no malloc and no
 *     lock on the in/out path;
 *   - a removed event is recycled only once no thread can still be looking
 *     at it: epoch-based reclamation driven by the calling threads
 *     themselves (membarrier as the asymmetric fence, as in urcu-memb), in
 *     batches of LT_TRACKER_BATCH, never blocking and with no reclaimer
 *     thread.  A thread preempted in the middle of a table operation
 *     delays recycling (as it would delay an RCU grace period): the
 *     reserve (opts.reserve) absorbs that.
 *
 * Clocks.  LT_CLOCK_MONOTONIC: timestamps are CLOCK_MONOTONIC nanoseconds,
 * read by the tracker (or passed by the caller with the _at variants), and
 * a timeout thread (one per tracker) reports timeouts every timer period.
 * LT_CLOCK_EXPLICIT: for trace replay; the caller passes every timestamp
 * with the _at variants, the tracker starts no thread, and timeouts fire from
 * within the caller's calls as its time crosses each timer period: the same
 * sequence of calls gives the same callbacks in the same order, every time.
 *
 * Policies (all counted, see struct lt_tracker_stats):
 *   - lt_event_in on a key already in flight *replaces* the old event (the
 *     newest begin wins; the old one ends with no callback, counted in
 *     `replaced`);
 *   - lt_event_out with no event in flight for the key returns -ENOENT
 *     (counted in `unmatched`);
 *   - lt_event_in when no preallocated event is free returns -ENOSPC at
 *     once (counted in `dropped`): it never blocks and never allocates.
 *
 * Reports.  The callback runs
 *   - once with LT_REASON_TIMEOUT when an event has been in flight longer
 *     than its timeout (end_ns = begin_ns + timeout_ns);
 *   - once with LT_REASON_NORMAL at lt_event_out when
 *     end - begin > threshold, whether or not it timed out before
 *     (report->timed_out says so).
 * For one begin/end pair each report fires at most once, even when threads
 * race to end the same key or when the timer races the end.  A timeout is
 * due when the end has not come within the timeout: an lt_event_out whose
 * delay exceeds the timeout reports the timeout first (if the timer has not
 * yet), then the normal report, so the outcome does not depend on the timer's
 * period.  The timeout thread may, when an end races the deadline within
 * its own scheduling delay, report a timeout for an end stamped just before it.
 *
 * Concurrency contract.
 *   - lt_tracker__new / lt_tracker__destroy: not concurrent with any other
 *     call on the same tracker.  Destroy waits for pending reclamation and
 *     stops the timeout thread; events still in flight are dropped without a
 *     callback (their priv goes to free_priv).
 *   - lt_event_in/out/get/put, lt_event__* accessors, lt_tracker__stats,
 *     lt_tracker__foreach, lt_tracker__advance: any thread, concurrently.
 *   - Threads: liblatrack registers each calling thread with liburcu's
 *     "memb" flavour on its first call if it is not registered yet, and
 *     unregisters it at thread exit.  A thread that registered itself keeps
 *     its registration.  Calls may be made inside the caller's own RCU
 *     read-side critical sections (memb flavour).
 *   - The callback runs in the thread that called lt_event_out (normal
 *     reports), in the timeout thread (timeouts, monotonic clock) or in the
 *     thread whose call advanced time (timeouts, explicit clock).  It runs
 *     outside any RCU read-side section and may call the tracker, except
 *     lt_tracker__destroy.  Its report argument is valid only during the
 *     call.
 *   - Each thread that uses a tracker keeps a small per-thread context (up
 *     to opts.max_threads live threads per tracker; a further thread gets
 *     -EUSERS).  It is set up on the thread's first call — the only call
 *     that may allocate — and released at thread exit.
 *
 * Errors: int functions return a negative errno; constructors return NULL
 * and set errno.  The library never prints. */
#ifndef LATRACK_TRACKER_H
#define LATRACK_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <latrack/api.h>

/* Pass as threshold_ns or timeout_ns to lt_event_in to use the tracker's
 * default.  A timeout of 0 means "no timeout". */
#define LT_DEFAULT UINT64_MAX

/* Events move between threads and the reclaimer in batches of this many. */
#define LT_TRACKER_BATCH 64

struct lt_tracker;
struct lt_event;

enum lt_clock {
	LT_CLOCK_MONOTONIC = 0, /* CLOCK_MONOTONIC; timeouts by a thread */
	LT_CLOCK_EXPLICIT = 1,  /* caller passes time; no thread */
};

enum lt_reason {
	LT_REASON_NORMAL = 0,  /* the end came and delay > threshold */
	LT_REASON_TIMEOUT = 1, /* no end within the timeout (yet) */
};

/* What a callback receives. */
struct lt_report {
	const void *key;
	size_t key_len;
	uint64_t begin_ns;     /* timestamp of lt_event_in */
	uint64_t end_ns;       /* of lt_event_out; begin + timeout for timeouts */
	uint64_t delay_ns;     /* end_ns - begin_ns */
	uint64_t threshold_ns; /* the event's threshold */
	uint64_t timeout_ns;   /* the event's timeout (0: none) */
	uint64_t now_ns;       /* when the report was made (timer or caller time) */
	void *priv;            /* lt_event_in's priv */
	enum lt_reason reason;
	bool timed_out;        /* NORMAL only: a timeout was reported before */
};

typedef void (*lt_report_fn)(const struct lt_report *report, void *ctx);
typedef void (*lt_free_fn)(void *priv, void *ctx);

struct lt_tracker_opts {
	size_t sz;                /* sizeof(struct lt_tracker_opts) */
	uint32_t max_events;      /* in-flight events to preallocate (required) */
	uint32_t key_size;        /* largest key in bytes (required, <= 65535) */
	uint64_t threshold_ns;    /* default threshold (0: report every end) */
	uint64_t timeout_ns;      /* default timeout (0: none) */
	lt_report_fn callback;    /* may be NULL: only counters and stats */
	void *callback_ctx;
	lt_free_fn free_priv;     /* called once per non-NULL priv when the
				     tracker is done with it; may be NULL */
	enum lt_clock clock;
	uint64_t timer_period_ns; /* how often timeouts are checked (default
				     10 ms, in the tracker's clock) */
	uint32_t max_threads;     /* live threads per tracker (default 256) */
	uint32_t reserve;         /* extra events beyond max_events covering
				     events awaiting their grace period and
				     per-thread caches.  Default: max(max_events
				     / 4, 65536, 4 batches per CPU).  Size it
				     for the end rate times the longest time a
				     caller may be preempted inside a call
				     (65536 covers 20 M ends/s for 3 ms). */
};

/* Counters since creation; readable at any time from any thread.  Each is
 * exact once the threads that update it are quiescent, and never torn. */
struct lt_tracker_stats {
	uint64_t tracked;        /* lt_event_in accepted */
	uint64_t completed;      /* lt_event_out that found its event */
	uint64_t over_threshold; /* NORMAL reports */
	uint64_t timeouts;       /* TIMEOUT reports */
	uint64_t replaced;       /* in-flight events replaced by a new begin */
	uint64_t unmatched;      /* lt_event_out with no event in flight */
	uint64_t dropped;        /* lt_event_in refused: -ENOSPC */
	uint64_t in_flight;      /* tracked - completed - replaced */
	uint64_t capacity;       /* preallocated events (max_events + reserve) */
	uint64_t event_bytes;    /* memory per preallocated event, all included */
	uint64_t epoch_advances; /* reclamation epochs (each a grace period) */
};

/* Create a tracker.  NULL with errno EINVAL (bad opts), ENOMEM, or the
 * error of pthread_create for the timeout thread. */
LT_API struct lt_tracker *lt_tracker__new(const struct lt_tracker_opts *opts);

/* Destroy; accepts NULL.  See the concurrency contract above. */
LT_API void lt_tracker__destroy(struct lt_tracker *t);

/* Begin an event.  key_len 1..key_size.  threshold_ns / timeout_ns may be
 * LT_DEFAULT.  Returns 0, or 1 when it replaced an in-flight event with the
 * same key, or -EINVAL, -ENOSPC, -EUSERS.  lt_event_in (without _at) is
 * -EINVAL on an explicit-clock tracker. */
LT_API int lt_event_in(struct lt_tracker *t, const void *key, size_t key_len,
		       uint64_t threshold_ns, uint64_t timeout_ns, void *priv);
LT_API int lt_event_in_at(struct lt_tracker *t, const void *key, size_t key_len,
			  uint64_t threshold_ns, uint64_t timeout_ns, void *priv,
			  uint64_t ts_ns);

/* End the event with this key.  Returns 0 when it ended under the
 * threshold, 1 when it was reported (delay > threshold), -ENOENT when no
 * event with this key is in flight, -EINVAL, -EUSERS. */
LT_API int lt_event_out(struct lt_tracker *t, const void *key, size_t key_len);
LT_API int lt_event_out_at(struct lt_tracker *t, const void *key, size_t key_len,
			   uint64_t ts_ns);

/* A counted reference to the in-flight event with this key, without
 * removing it: "how long has this been running?".  NULL with errno ENOENT
 * when there is none.  The handle stays valid (its fields unchanged) until
 * lt_event_put, even if the event ends or is replaced meanwhile. */
LT_API struct lt_event *lt_event_get(struct lt_tracker *t, const void *key, size_t key_len);
LT_API void lt_event_put(struct lt_event *e); /* accepts NULL */

LT_API uint64_t lt_event__begin_ns(const struct lt_event *e);
LT_API uint64_t lt_event__threshold_ns(const struct lt_event *e);
LT_API uint64_t lt_event__timeout_ns(const struct lt_event *e);
LT_API const void *lt_event__key(const struct lt_event *e, size_t *key_len);
LT_API void *lt_event__priv(const struct lt_event *e);
/* True once the event has ended (out) or been replaced. */
LT_API bool lt_event__ended(const struct lt_event *e);

/* Explicit clock: move time forward to now_ns, firing due timeouts in
 * deadline order.  Time never goes back (an older now_ns is ignored).
 * Monotonic clock: -EINVAL. */
LT_API int lt_tracker__advance(struct lt_tracker *t, uint64_t now_ns);

/* The tracker's current time: CLOCK_MONOTONIC now, or the latest time the
 * caller passed (explicit clock). */
LT_API uint64_t lt_tracker__now(const struct lt_tracker *t);

LT_API void lt_tracker__stats(const struct lt_tracker *t, struct lt_tracker_stats *out);

/* Call fn for every event in flight at the time of the call (an event that
 * begins or ends meanwhile may or may not be seen).  fn runs inside an RCU
 * read-side critical section: it must not block for long nor call
 * lt_tracker__destroy.  The handle is valid during the call only; take
 * lt_event_get to keep it.  Stops early and
 * returns fn's value if it is non-zero; else returns 0. */
typedef int (*lt_foreach_fn)(const struct lt_event *e, void *ctx);
LT_API int lt_tracker__foreach(struct lt_tracker *t, lt_foreach_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
