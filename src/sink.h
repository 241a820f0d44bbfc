/* Outputs of the live engine (src/live.h): one interface, each output a
 * small table of callbacks.
 *
 * The engine calls every sink from its own thread, in this order per tick:
 * record() for each outlier, stuck event and change record as it happens,
 * then snapshot() once per tick with every class.  A sink that serves
 * requests from other threads (Prometheus) renders what it needs inside
 * snapshot() and hands that over under its own lock: the snapshot and the
 * histograms it points to are only valid during the call.  status() is
 * called from the engine's thread too (for `latrack ctl status`).
 * Callbacks must not block for long (no network waits: queue, and send
 * when the socket is writable). */
#ifndef LATRACK_SRC_SINK_H
#define LATRACK_SRC_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <latrack/change.h>
#include <latrack/hist.h>
#include <latrack/window.h>

#include <linux/types.h>

#include "lt_bpf.h"

/* One latency class as the engine keeps it (user space). */
struct live_class {
	struct lt_class_key k; /* k.tgid: the process with by_pid, else 0;
				  block: the device (major << 20 | minor) */
	const char *tracker;   /* "syscall", "wakeup", "offcpu", "block", "irq", "net" */
	const char *sub_label; /* label name of sub: "syscall", "cpu", "state", "op",
				  "irq", "kind" */
	char sub[48];          /* class within the tracker: "read", "cpu1", "S",
				  "R queue", "irq19", "NET_RX wait", "rx if3" */
	const char *ent_label; /* label name of ent: "comm", or "disk" (block),
				  "handler" (hard irq), "" when none */
	char ent[LT_COMM_LEN + 16]; /* who: comm, disk name, handler ("other": folded) */
	bool other;            /* the fold of classes beyond the engine's limit */
	const struct lt_hist *cum;  /* every sample since the daemon started */
	const struct lt_hist *last; /* the samples of the last tick */
	const struct lt_window *win; /* 10 s slots over 61 min; NULL: no window */
	uint64_t outliers, stuck;   /* reported for this class since start */
};

struct live_snapshot {
	uint64_t mono_ns;        /* CLOCK_MONOTONIC of this tick */
	uint64_t wall_ns;        /* CLOCK_REALTIME of this tick */
	uint64_t tick_ns;
	uint64_t tick_seq;       /* 1, 2, ... */
	size_t nr;
	const struct live_class *const *c; /* sorted by tracker, sub, ent */
	bool on[LT_TRK_MAX];     /* trackers measuring now */
	bool loaded[LT_TRK_MAX]; /* trackers whose BPF programs are loaded */
	uint64_t thresh_ns[LT_TRK_MAX];
	uint64_t timeout_ns[LT_TRK_MAX];
	uint64_t outliers[LT_TRK_MAX], stuck[LT_TRK_MAX], changes[LT_TRK_MAX];
	uint64_t drops[LT_NR_DROPS];   /* kernel loss counters, trk * LT_DROP_MAX + kind */
	uint64_t classes_folded;       /* samples of classes beyond the limit, in "other" */
	uint64_t window_refused;       /* slot histograms refused (window_memory) */
	uint64_t bpf_reloads;          /* BPF programs reloaded (SIGHUP with new filters) */
	size_t nr_outputs;             /* every sink's health (sink_ops.health), */
	const struct sink_health *outputs; /* as of this tick */
};

/* An output's health, for the other outputs to export (a Graphite
 * output's drops in /metrics). */
struct sink_health {
	const char *name;  /* the sink's ops name */
	bool up;           /* connected / writing / listening */
	uint64_t dropped;  /* records or lines lost by this output */
	uint64_t errors;   /* failed writes, connects, requests */
};

enum live_rec_type { LIVE_OUTLIER, LIVE_STUCK, LIVE_CHANGE };

struct live_record {
	enum live_rec_type type;
	enum lt_trk trk;
	uint64_t wall_ns;
	const char *json;             /* the record as one JSON object, no newline;
					 strings escaped, stacks symbolised */
	const char *text;             /* the same as a readable block (lines end in \n);
					 NULL unless the engine has text_records */
	const struct lt_event *ev;    /* LIVE_OUTLIER: the raw event */
	uint64_t delay_ns;            /* outlier: delay; stuck: age so far */
	const struct lt_change *chg;  /* LIVE_CHANGE */
	const struct live_class *cls; /* the class (change; outlier when known), or NULL */
};

struct sink;

struct sink_ops {
	const char *name; /* "prometheus", "graphite", "json" */
	void (*record)(struct sink *s, const struct live_record *r);    /* may be NULL */
	void (*snapshot)(struct sink *s, const struct live_snapshot *sn); /* may be NULL */
	/* One or more lines "NAME: key=value ..." for `latrack ctl status`:
	 * state (ok / error: why), and every drop this output counted. */
	void (*status)(struct sink *s, FILE *out);
	/* Called with the engine's poll loop every tick (and when the
	 * engine wakes up): non-blocking I/O such as reconnecting. */
	void (*poll)(struct sink *s, uint64_t mono_ns);                 /* may be NULL */
	void (*destroy)(struct sink *s);
	/* Fill up, dropped and errors (name is set by the engine).  May be NULL. */
	void (*health)(struct sink *s, struct sink_health *h);
};

struct sink {
	const struct sink_ops *ops;
};

#endif
