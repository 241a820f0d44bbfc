/* The live engine: the kernel trackers as a long-running service.
 *
 * Owns the BPF trackers (src/trk.h) and turns what they measure into
 * classes kept in user space, each with its cumulative histogram, the
 * histogram of the last tick and a 1 h window (10 s slots) for the 1 m /
 * 5 m / 1 h views and change detection.  It hands every outlier, stuck
 * event and change record, and once per tick a snapshot of all classes, to
 * its sinks (src/sink.h).  `latrack daemon` and `latrack top` run on it.
 *
 * Per tick the engine reads each kernel class (per-CPU copies summed) and
 * takes the difference with what it read the tick before: that
 * difference feeds the class's histograms and window.  A kernel class
 * whose process has exited is read one last time and deleted from the
 * kernel map, so short-lived processes do not fill it.  Because the
 * histograms live in user space, reloading the BPF programs (new filters)
 * keeps them.
 *
 * Classes: (tracker, sub-class, comm) by default; with by_pid, one per
 * process too.  Beyond max_classes, a new class folds into the "other"
 * class of its (tracker, sub-class); the samples so folded are counted.
 *
 * Single-threaded: every call from the thread that created the engine. */
#ifndef LATRACK_SRC_LIVE_H
#define LATRACK_SRC_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sink.h"
#include "trk.h"

struct live_opts {
	struct trk_opts trk;             /* trackers (on), thresholds, filters, kernel sizes */
	uint64_t timeout_ns[LT_TRK_MAX]; /* stuck after this long (syscall, block); 0: never */
	uint64_t tick_ns;                /* default 1 s */
	bool by_pid;                     /* a class per process (top), not per comm */
	uint32_t max_classes;            /* user-space classes (default 4096) */
	uint64_t window_memory;          /* bytes of window slots, all classes (default
					    128 MiB); 0 with no_windows: none */
	bool no_windows;
	bool change_detection;           /* last minute vs the hour before, every 10 s */
	uint64_t class_idle_ns;          /* classes per comm idle this long leave the
					    kernel table (default 1 min) */
	bool text_records;               /* render records as text too (live_record.text);
					    off: text is NULL (JSON is always there) */
};

struct live;

/* Load and attach the trackers.  0, or a negative errno with a one-line
 * explanation in err (not root, no BTF, a verifier refusal...). */
int live__new(struct live **out, const struct live_opts *o, char *err, size_t errlen);
/* Destroys the sinks too.  Accepts NULL. */
void live__destroy(struct live *l);

/* The engine owns s from now on (destroyed by live__destroy or
 * live__remove_sink). */
int live__add_sink(struct live *l, struct sink *s);
/* Remove and destroy the sinks whose ops name is name; returns how many. */
int live__remove_sink(struct live *l, const char *name);

/* Readable when outliers wait in the ring buffer (for poll/epoll). */
int live__fd(const struct live *l);
/* Do what is due at CLOCK_MONOTONIC now_ns: consume the ring buffer,
 * sweep for stuck events (every 250 ms), tick (read classes, feed
 * windows, detect changes, snapshot to the sinks), poll the sinks.
 * Returns the milliseconds until the next due work (>= 0), or a negative
 * errno. */
int live__process(struct live *l, uint64_t now_ns);
/* Tick now, whatever the time (final snapshot before exit). */
int live__tick_now(struct live *l, uint64_t now_ns);

/* Run-time control. */
int live__set_threshold(struct live *l, enum lt_trk trk, uint64_t ns);
int live__set_timeout(struct live *l, enum lt_trk trk, uint64_t ns); /* -EINVAL: not syscall/block */
/* -ENOENT when the tracker's programs are not loaded (not in the
 * configuration at start: change it and reload). */
int live__enable(struct live *l, enum lt_trk trk, bool on);
/* Forget every class, histogram, window and counter (kernel loss
 * counters are reported relative to the reset). */
void live__reset(struct live *l);
/* Apply new options: thresholds, timeouts and on/off in place; when the
 * set of loaded trackers, the filters or the kernel sizes change, reload
 * the BPF programs (histograms are kept).  On failure the engine keeps
 * running with what it had; err says why. */
int live__reconfigure(struct live *l, const struct live_opts *o, char *err, size_t errlen);

/* The snapshot of the last tick (valid until the next live__ call). */
const struct live_snapshot *live__last(const struct live *l);
/* Human-readable status: trackers (on, threshold, timeout, samples,
 * outliers, stuck), loss counters, classes, memory, hooks, then each
 * sink's status lines. */
void live__status(struct live *l, FILE *out);
/* Formatting context (symbols, wall clock) for callers printing events. */
const struct evfmt *live__fmt(const struct live *l);

#endif
