/* liblatrack: rolling windows of latency histograms, one per class.
 *
 * A window is a ring of per-interval histograms ("slots", 10 s by default;
 * 366 slots = 61 minutes by default, so that change detection can compare
 * the last minute with the hour before it).  Time is passed in by the
 * caller, in nanoseconds of any clock that does not go backwards by more
 * than the ring: wall or monotonic time for live data, trace time for a
 * replayed trace, which then gets the same windows as it had live.
 *
 * Slot s holds the values recorded with now_ns in [s * slot_ns, (s + 1) *
 * slot_ns).  A query for span_ns (a multiple of slot_ns) covers the
 * span_ns / slot_ns slots that end with the slot of now_ns; that last slot
 * is the one being filled, so "the last minute" holds between 50 and 60
 * seconds of data with 10 s slots.
 *
 * Queries merge on read: they add up the slots they cover into the
 * caller's histogram.  Running sums (one histogram per supported span,
 * kept up to date by adding the new slot and subtracting the expired one)
 * would answer in O(1), but cost one more histogram per span and class,
 * two more passes over 1217 counters per rotation, and fix the spans in
 * advance.  Merging costs about 0.17 ms for a full hour (360 slots x 1217
 * counters, see docs/HISTOGRAMS.md) and is paid only by whoever asks, at a
 * refresh rate, not per event; any span up to the ring works.
 *
 * Rotation is O(1) per slot interval: moving time forward by k slots visits
 * min(k, nr_slots) ring positions, releasing the slots that expire.
 *
 * Memory (all numbers for the defaults; lt_window__stats reports them):
 *   - the window itself: sizeof(struct lt_window) = 64 bytes, always;
 *   - while any slot holds data: a ring of nr_slots x 16 bytes = 5,856;
 *   - per slot that received data: one histogram, 9,760 bytes.
 *   A class recording continuously for an hour holds 366 slots: 3.58 MB
 *   (366 x 9,760 + 5,856 + 64 = 3,578,080 bytes), the bound.  Slot
 *   histograms are taken lazily, only for intervals that saw a value, and
 *   given back when they expire; once every slot of an idle class has
 *   expired (noticed when its time moves: at its next record or an
 *   lt_window__advance), the ring is freed too and the class costs its 64
 *   bytes.
 *   Slot histograms come from a struct lt_hist_pool shared by many windows
 *   when one is given: it caps the histograms in use across all of them
 *   (a bound for the whole process) and keeps a few freed ones for reuse.
 *
 * Concurrency contract.
 *   - A window has no lock: calls on one window (record, advance, query,
 *     stats, destroy) must be serialised by the caller.  Different windows
 *     may be used from different threads at once.
 *   - A pool is thread-safe (a mutex, taken only when a slot is opened or
 *     released, once per slot interval per class, never per value).  It
 *     must outlive the windows that use it.
 *
 * Errors: int functions return a negative errno; constructors return NULL
 * and set errno.  The library never prints. */
#ifndef LATRACK_WINDOW_H
#define LATRACK_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include <latrack/hist.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <latrack/api.h>

#define LT_WINDOW_DEFAULT_SLOT_NS  10000000000ull /* 10 s */
#define LT_WINDOW_DEFAULT_NR_SLOTS 366            /* 61 minutes */

struct lt_hist_pool;
struct lt_window;

struct lt_hist_pool_opts {
	size_t sz;           /* sizeof(struct lt_hist_pool_opts) */
	uint32_t max_hists;  /* histograms in use at once, all windows
				together (0: no cap) */
	uint32_t max_cached; /* freed histograms kept for reuse (default 64) */
};

struct lt_hist_pool_stats {
	uint64_t in_use;  /* histograms handed out to windows */
	uint64_t cached;  /* free histograms kept for reuse */
	uint64_t refused; /* requests refused because of max_hists */
	uint64_t bytes;   /* (in_use + cached) x lt_hist__bytes() */
};

/* NULL opts: defaults.  NULL with errno EINVAL or ENOMEM. */
LT_API struct lt_hist_pool *lt_hist_pool__new(const struct lt_hist_pool_opts *opts);
/* Accepts NULL.  Every window using the pool must be destroyed first. */
LT_API void lt_hist_pool__destroy(struct lt_hist_pool *p);
LT_API void lt_hist_pool__stats(struct lt_hist_pool *p, struct lt_hist_pool_stats *out);

struct lt_window_opts {
	size_t sz;                /* sizeof(struct lt_window_opts) */
	uint64_t slot_ns;         /* slot length (default 10 s) */
	uint32_t nr_slots;        /* ring length in slots (default 366) */
	struct lt_hist_pool *pool; /* where slot histograms come from; NULL:
				      malloc/free (still at most nr_slots) */
};

struct lt_window_stats {
	uint64_t live_slots; /* slots holding a histogram */
	uint64_t bytes;      /* memory held by this window, all included */
	uint64_t too_old;    /* records older than the ring, refused */
	uint64_t no_hist;    /* records refused: no histogram for a new slot */
};

/* NULL opts, or 0 in a field: its default.  NULL with errno EINVAL (opts
 * sz smaller than this struct) or ENOMEM. */
LT_API struct lt_window *lt_window__new(const struct lt_window_opts *opts);
/* Gives every slot back; accepts NULL. */
LT_API void lt_window__destroy(struct lt_window *w);

/* Record one value at time now_ns.  A now_ns later than any seen so far
 * moves the window forward (expiring old slots); an earlier one still
 * records into its own slot while that slot is in the ring (traces are not
 * perfectly ordered).  Returns 0, -ERANGE when now_ns is older than the
 * ring (counted in too_old), or the pool's -ENOSPC / -ENOMEM when a new
 * slot gets no histogram (counted in no_hist). */
LT_API int lt_window__record(struct lt_window *w, uint64_t v_ns, uint64_t now_ns);
/* Add a whole histogram (e.g. an interval read from BPF maps) to the slot
 * of now_ns.  Same returns, plus -EINVAL for NULL h. */
LT_API int lt_window__record_hist(struct lt_window *w, const struct lt_hist *h, uint64_t now_ns);

/* Move the window's time forward to now_ns without recording, releasing
 * the slots that expire (and the ring once all have).  Call it for idle
 * classes, e.g. once per slot interval over all classes.  Returns 0. */
LT_API int lt_window__advance(struct lt_window *w, uint64_t now_ns);

/* Reset out, then add into it the slots of the span_ns that ends with the
 * slot of now_ns.  span_ns must be a non-zero multiple of slot_ns and at
 * most nr_slots slots long (-EINVAL otherwise).  Does not change w. */
LT_API int lt_window__query(const struct lt_window *w, uint64_t now_ns, uint64_t span_ns,
			    struct lt_hist *out);
/* The same for the span that ends ago_ns before the slot of now_ns (ago_ns
 * a multiple of slot_ns, ago_ns + span_ns within the ring): "the hour
 * before the last minute" is (ago 60 s, span 3600 s). */
LT_API int lt_window__query_range(const struct lt_window *w, uint64_t now_ns, uint64_t ago_ns,
				  uint64_t span_ns, struct lt_hist *out);

LT_API uint64_t lt_window__slot_ns(const struct lt_window *w);
LT_API uint32_t lt_window__nr_slots(const struct lt_window *w);
LT_API void lt_window__stats(const struct lt_window *w, struct lt_window_stats *out);

#ifdef __cplusplus
}
#endif

#endif
