/* Trace analyses (`latrack report`): each consumes kernel events already
 * classified by trace_state and prints its part of the report, as text or
 * as one member of the JSON document.  The report (cmd_report.c) owns the
 * source, the state and the options; an analysis only sees events. */
#ifndef LATRACK_SRC_ANALYSIS_H
#define LATRACK_SRC_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "svg.h"
#include "trace_source.h"
#include "trace_state.h"

#define REPORT_MAX_TIDS 64

struct an_windows;

/* The tracker of `latrack top` a sample belongs to: syscalls, wake-up
 * latency, interrupts (hard IRQ, softirq, raise), block requests.
 * Pairs (--pair) are not sent. */
enum an_trk { AN_TRK_SYSCALL, AN_TRK_WAKEUP, AN_TRK_IRQ, AN_TRK_BLOCK };

struct report_opts {
	bool json;
	unsigned limit;        /* rows of latency-top (default 10) */
	int32_t tids[REPORT_MAX_TIDS];
	int ntids;             /* 0: every thread */
	const char *comm;      /* NULL: every comm */
	int cpu;               /* -1: every CPU */
	uint64_t min_ns;       /* latencies below are left out */
	uint64_t max_ns;       /* latencies above are left out (0: no bound) */
	unsigned freq;         /* --freq: bins of the distributions (0: none) */
	/* `windows`: where the analyses also send each latency (NULL: off),
	 * and its spans (0: defaults) */
	struct an_windows *windows;
	uint64_t win_slot_ns, win_recent_ns, win_baseline_ns;
	/* --svg: where the analyses also send each latency (NULL: off) */
	struct lat_pics *pics;
	/* `latrack top TRACE`: where the analyses also send each latency
	 * (NULL: off), with the thread it belongs to (tid -1: none) */
	void (*sample)(void *ctx, enum an_trk trk, const char *sub, int32_t tid, uint64_t end_ns,
		       uint64_t delay_ns);
	void *sample_ctx;
};

/* --svg: one time-stamped sample of class cls (see svg.h). */
static inline void report_opts__picture(const struct report_opts *o, const char *cls,
					uint64_t end_ns, uint64_t d)
{
	if (o->pics)
		lat_pics__record(o->pics, cls, (int64_t)end_ns, d, 1);
}

/* `latrack top TRACE`: one sample of class sub, of thread tid (-1: none). */
static inline void report_opts__sample(const struct report_opts *o, enum an_trk trk, const char *sub,
				       int32_t tid, uint64_t end_ns, uint64_t d)
{
	if (o->sample)
		o->sample(o->sample_ctx, trk, sub, tid, end_ns, d);
}

/* Does this latency pass --min / --max? */
static inline bool report_opts__delay_ok(const struct report_opts *o, uint64_t d)
{
	return d >= o->min_ns && (!o->max_ns || d <= o->max_ns);
}

/* Does this thread pass --tid / --comm? */
bool report_opts__thread_ok(const struct report_opts *o, const struct trace_state *st,
			    int32_t tid);

/* Syscall latency: per TID and syscall statistics with return values
 * (`syscalls`), and the N slowest syscalls (`latency-top`). */
struct an_syscalls;
struct an_syscalls *an_syscalls__new(struct trace_state *st, const struct report_opts *o);
void an_syscalls__destroy(struct an_syscalls *a);
void an_syscalls__event(struct an_syscalls *a, const struct trace_event *ev,
			const struct kev_class *kc);
/* JSON: each prints `"key": value` (no separators around it). */
void an_syscalls__print_stats(struct an_syscalls *a, FILE *f, bool json);
void an_syscalls__print_top(struct an_syscalls *a, FILE *f, bool json);


/* User-defined pairs: --pair NAME=BEGIN..END:FIELD[,FIELD...] pairs any two
 * events whose key fields (integers or strings, looked up in the payload,
 * then the contexts) hold equal values; nested begins of one key (function
 * entry/exit) pair innermost first. */
#define PAIR_MAX_FIELDS 6

struct pair_spec {
	char *name, *begin, *end;
	char *fields[PAIR_MAX_FIELDS];
	int nfields;
	uint64_t threshold_ns;   /* --threshold NAME=DURATION; 0: none */
};

/* Parse one --pair argument.  0, or -EINVAL with a message in err. */
int pair_spec__parse(struct pair_spec *p, const char *arg, char *err, size_t errlen);
void pair_spec__free(struct pair_spec *p);

struct an_pairs;
struct an_pairs *an_pairs__new(struct pair_spec *specs, int n, const struct report_opts *o);
void an_pairs__destroy(struct an_pairs *a);
void an_pairs__event(struct an_pairs *a, const struct trace_event *ev, struct kev_class *kc);
/* JSON: prints `"pairs": [...]`. */
void an_pairs__print(struct an_pairs *a, FILE *f, bool json);

/* Scheduling: wake-up latency (sched_waking, or sched_wakeup when the
 * trace has no sched_waking, and sched_wakeup_new -> the sched_switch that
 * runs the thread) per thread and per priority, with the waker. */
struct an_sched;
struct an_sched *an_sched__new(struct trace_state *st, const struct report_opts *o);
void an_sched__destroy(struct an_sched *a);
void an_sched__event(struct an_sched *a, const struct trace_event *ev,
		     const struct kev_class *kc);
/* JSON: prints `"sched": {...}`. */
void an_sched__print(struct an_sched *a, FILE *f, bool json);

/* Interrupts: hard IRQ handler durations per IRQ, softirq durations and
 * raise -> entry latency per vector. */
struct an_irq;
struct an_irq *an_irq__new(const struct report_opts *o);
void an_irq__destroy(struct an_irq *a);
void an_irq__event(struct an_irq *a, const struct trace_event *ev, const struct kev_class *kc);
/* JSON: prints `"irq": {...}`. */
void an_irq__print(struct an_irq *a, FILE *f, bool json);

/* Block I/O: request latency (block_rq_issue -> block_rq_complete) per
 * disk.  (I/O syscall latency: the I/O rows of `syscalls`.) */
struct an_io;
struct an_io *an_io__new(const struct report_opts *o);
void an_io__destroy(struct an_io *a);
void an_io__event(struct an_io *a, const struct trace_event *ev, const struct kev_class *kc);
/* JSON: prints `"io": {...}`. */
void an_io__print(struct an_io *a, FILE *f, bool json);

/* Rolling windows and change records in trace time (see
 * analysis_windows.c): syscalls (by name) and pairs record into them. */
struct an_windows *an_windows__new(const struct report_opts *o);
void an_windows__destroy(struct an_windows *a);
/* -EINVAL with a message when the spans do not fit the slots. */
int an_windows__check_opts(const struct report_opts *o, char *err, size_t len);
void an_windows__record(struct an_windows *a, const char *name, uint64_t delay_ns,
			uint64_t end_ns);
/* The last check, at the end of the trace (once). */
void an_windows__finish(struct an_windows *a);
/* JSON: prints `"windows": {...}`. */
void an_windows__print(struct an_windows *a, FILE *f, bool json);

#endif
