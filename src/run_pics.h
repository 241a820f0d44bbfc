/* Pictures of a `latrack run` (--svg, --folded, --flame), written at exit.
 *
 * Heatmaps: the kernel keeps one histogram per class and no time-stamped
 * samples, so the class histograms (the class table, kclass.h) are read once per heatmap
 * column (width 250 ms, doubling as the run grows past LAT_PICS_MAX_COLS
 * columns), or less often when a read is costly (at most 5 % of a CPU:
 * nr_cpus x 9.5 KiB per class per read), and each bucket's increase since
 * the previous read is shared among the columns of that interval, at the
 * bucket's midpoint (within 1.6 %).  The outliers from the ring buffer mark
 * the slowest samples exactly.  Nothing is read without --svg.
 *
 * Folded stacks / flame graph: each outlier of the offcpu tracker (the
 * sleeper's kernel stack) and of the syscall tracker with a "blocked in"
 * stack (user frames of the call site, then the kernel frames where it
 * blocked) adds its delay in microseconds to the line
 * "comm;user frames;kernel frames_[k]".  Only outliers (delays above the
 * tracker's threshold) have stacks: lower the threshold to see more. */
#ifndef LATRACK_SRC_RUN_PICS_H
#define LATRACK_SRC_RUN_PICS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "evfmt.h"
#include "svg.h"

struct run_pics_opts {
	const char *svg, *folded, *flame;
	struct lat_pics_sel sel;
};

/* The run's options, for its option table: which = 0 --svg, 1
 * --svg-classes, 2 --svg-sort, 3 --folded, 4 --flame.  0, or -EINVAL after
 * a message on stderr. */
int run_pics_opts__parse(struct run_pics_opts *o, int which, const char *arg);
/* Any picture asked for? */
bool run_pics_opts__any(const struct run_pics_opts *o);

struct run_pics;

/* After the trackers are loaded.  NULL with a message on stderr. */
struct kct;
struct run_pics *run_pics__new(struct run_pics_opts *o, const struct evfmt *fmt, struct kct *kt,
			       const bool on[LT_TRK_MAX], const uint64_t thresh_ns[LT_TRK_MAX],
			       uint64_t start_mono);
/* Each outlier (symbolised now, while its process lives). */
void run_pics__event(struct run_pics *rp, const struct lt_event *e);
/* Often (each loop turn): reads the class histograms when a read is due;
 * call it before classes of exited processes leave the kernel map. */
void run_pics__tick(struct run_pics *rp, uint64_t now_mono);
/* At exit: the last read, then the files.  0, or -1 after a message. */
int run_pics__finish(struct run_pics *rp, uint64_t now_mono);
void run_pics__free(struct run_pics *rp); /* accepts NULL; frees the opts' names too */

#endif
