/* latrack top: shared state of the screen, its sink on the live engine,
 * and the panes rendered as lines (the same lines go to the curses screen
 * and, with --batch, to stdout).
 *
 *   src/cmd_top.c     options, the engine, the poll loop, --batch
 *   src/top_sink.c    the sink: outliers, stuck events and changes into a
 *                     ring; each tick's classes copied into rows
 *   src/top_view.c    sorting, filtering, escaping, the panes as lines
 *   src/top_curses.c  the screen, keys, overlays (help, filter, stacks)
 *
 * Everything that comes from the traced system (comm, class names, the
 * outlier's text) is escaped by top_esc before it is drawn. */
#ifndef LATRACK_SRC_TOP_H
#define LATRACK_SRC_TOP_H

#include <linux/types.h> /* sink.h -> lt_bpf.h needs __u32 */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "live.h"
#include "sink.h"

#define TOP_RECS     256 /* outliers, stuck events and changes kept */
#define TOP_NR_POW2  (LT_HIST_MAX_EXP + 1) /* power-of-two ranges, the last: overflow */
#define TOP_LINE_MAX 512

enum top_sort { TOP_SORT_P99, TOP_SORT_MAX, TOP_SORT_COUNT, TOP_SORT_TIME, TOP_SORT_NR };
enum top_span { TOP_SPAN_TICK, TOP_SPAN_MINUTE, TOP_SPAN_NR };

extern const char *const top_sort_names[TOP_SORT_NR]; /* "p99", "max", "count", "time" */

struct top_stat {
	uint64_t n, p50, p99, max, sum;
};

/* One class as the screen shows it (copied in the engine's snapshot()). */
struct top_row {
	struct lt_class_key k;
	int trk;
	bool other;
	char sub[48];
	char ent[LT_COMM_LEN + 16];
	struct top_stat st[TOP_SPAN_NR]; /* last tick, last minute (window) */
	uint64_t all;                    /* samples since start */
	uint64_t outliers, stuck;
	bool has_win;
};

/* One outlier, stuck event or change record. */
struct top_rec {
	uint64_t seq; /* 1, 2, ... */
	enum live_rec_type type;
	int trk;
	uint64_t wall_ns, delay_ns;
	uint32_t pid, tid;
	char comm[LT_COMM_LEN + 16]; /* raw: escape before drawing */
	char cls[200];               /* class; a change: its sentence */
	bool has_k;
	struct lt_class_key k;
	char *text, *json;
};

/* The selected class in detail. */
struct top_detail {
	bool valid;
	struct top_stat w[3]; /* 1 m, 5 m, 1 h (window) */
	bool has_win;
	uint64_t pow2[TOP_NR_POW2];
	const char *bars_of; /* "last 1 m" or "since start" */
};

struct top_trace;

struct top {
	struct live *l;
	/* trace input (src/top_trace.c): instead of l when not NULL */
	struct top_trace *tr;
	const char *trace_name;     /* for the title */
	double trace_speed;         /* 0: as fast as possible */
	bool trace_end;             /* the trace was read to its end */
	uint64_t trace_disc_events, trace_disc_packets; /* discarded by the tracer */
	uint64_t refresh_ns;
	bool batch;
	int batch_rows;
	int batch_details;
	bool color;

	/* view state */
	int trk;
	int sort;
	int span;
	bool paused;
	char filter[64];
	int focus;      /* 0: classes, 1: outliers */
	int sel, osel;  /* selected row of each pane, in its view order */
	bool sel_valid; /* sel_k is the selected class */
	struct lt_class_key sel_k;
	bool sel_other;

	/* data of the last snapshot taken (frozen while paused) */
	struct live_snapshot info; /* its scalar fields; c is NULL */
	bool have_snap;
	uint64_t snaps;           /* snapshots taken */
	bool fresh;               /* a snapshot arrived since the last draw */
	struct top_row *rows;
	size_t nr, cap;
	struct top_detail det;
	struct lt_hist *scratch;

	/* outliers counted per (tracker, sub, pid) for the per-process
	 * trackers (syscall, wakeup, offcpu), as they arrive */
	struct top_ocount {
		uint32_t trk, sub, pid;
		uint64_t n;
	} *ocount;
	size_t ocount_cap; /* a power of two; 0: not counting */

	/* records */
	struct top_rec recs[TOP_RECS];
	uint64_t nrec;      /* records received */
	uint64_t rec_shown; /* records up to this seq are shown (frozen while paused) */
	uint64_t last_change_seq;
	uint64_t last_change_mono; /* when it arrived, CLOCK_MONOTONIC */
};

/* top_sink.c */
struct sink *top_sink__new(struct top *t);
void top_recs_free(struct top *t);
/* Recompute t->det for the selected class from the engine's last
 * snapshot (valid between live__ calls). */
void top_detail_update(struct top *t);
/* Select view row sel of the class pane (clamped), or keep the selected
 * class where it now is; both update the detail. */
void top_select(struct top *t, int sel);
void top_reselect(struct top *t);
/* The engine or the trace: its fd (-1: none), its work, its last snapshot. */
int top_src_fd(const struct top *t);
int top_src_process(struct top *t, uint64_t now_ns);
const struct live_snapshot *top_src_last(const struct top *t);

/* top_view.c: lines with attributes */
enum { TA_NONE = 0, TA_BOLD = 1, TA_REV = 2, TA_HI = 4, TA_SEL = 8, TA_LOSS = 16, TA_DIM = 32 };
struct tline {
	int attr;
	char s[TOP_LINE_MAX];
};
struct tlines {
	struct tline *v;
	int n, cap;
};
void tl_reset(struct tlines *o);
void tl_free(struct tlines *o);
__attribute__((format(printf, 3, 4))) void tl_add(struct tlines *o, int attr, const char *fmt, ...);

/* Escape src (at most max bytes, stops at NUL) for a terminal: bytes
 * outside printable ASCII as \xNN ("µ" as "u"); into dst, truncated to
 * fit dstlen.  Returns dst. */
char *top_esc(char *dst, size_t dstlen, const char *src, size_t max);

/* Indices into t->rows of the current tracker's classes passing the
 * filter, sorted; returns how many (*out is the caller's to free). */
size_t top_view_rows(const struct top *t, int trk, size_t **out);
/* Records of tracker trk (all when -1) passing the filter, newest first,
 * up to max; returns how many. */
int top_view_recs(const struct top *t, int trk, const struct top_rec **out, int max);
bool top_rec_matches_row(const struct top_rec *r, const struct top_row *w);
bool top_filter_match(const char *filter, const char *name, uint32_t pid, uint32_t tid);

void top_pane_title(const struct top *t, int width, struct tlines *o);
void top_pane_status(const struct top *t, int width, struct tlines *o); /* trackers, loss, change */
/* The class pane: title, column header, then rows [first, first + max);
 * sel (view index) marked when >= 0. */
void top_pane_classes(const struct top *t, int trk, int width, int first, int max, int sel,
		      struct tlines *o);
void top_pane_detail(const struct top *t, const struct top_row *w, int width, int height,
		     struct tlines *o);
void top_pane_recs(const struct top *t, int trk, int width, int first, int max, int sel,
		   struct tlines *o);
void top_help_lines(struct tlines *o);
const char *top_span_name(const struct top *t, char *buf, size_t len);

/* cmd_top.c: set by SIGINT / SIGTERM. */
volatile sig_atomic_t *top_stop_flag(void);

/* top_curses.c: the interactive screen; returns the exit code. */
int top_curses_run(struct top *t, long iterations);

#endif
