/* The per-class histograms of a latrack run, as user space sees them.
 *
 * Reads the kernel's per-CPU histograms (the class table, kclass.h) and sums the CPU
 * copies.  When the kernel map is half full, the classes of processes that
 * have exited move to user space and out of the kernel map, so that
 * short-lived processes do not fill it during a long run; past
 * RC_MAX_EXITED of them, exited classes are folded into one per
 * {tracker, sub-class, comm} (tgid 0).  Single-threaded. */
#ifndef LATRACK_SRC_RUN_CLASSES_H
#define LATRACK_SRC_RUN_CLASSES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <latrack/hist_layout.h>

#include "lt_bpf.h"

#define RC_MAX_EXITED 1024

/* Power-of-two ranges of a class (bcc-style bar histograms): pow2[e] counts
 * the values in [2^e, 2^(e+1)) ns, pow2[0] also 0; pow2[RC_POW2_OVERFLOW]
 * the values >= 2^LT_HIST_MAX_EXP.  Exact: every power of two is a bucket
 * edge of the layout (hist_layout.h). */
#define RC_POW2_OVERFLOW LT_HIST_MAX_EXP
#define RC_NR_POW2       (LT_HIST_MAX_EXP + 1)

struct rc_class {
	struct lt_class_key k; /* k.tgid == 0: several processes that exited */
	bool exited;
	uint64_t count;
	uint64_t intv; /* samples since the previous snapshot */
	uint64_t min, p50, p99, max;
	double mean;
	uint64_t pow2[RC_NR_POW2];
};

struct run_classes;

struct kct;
struct run_classes *run_classes__new(struct kct *kt); /* NULL + errno */
void run_classes__free(struct run_classes *rc);   /* accepts NULL */

/* Move the classes of exited processes to user space if the kernel map is
 * at least half full (always if force); returns how many kernel entries
 * were freed, or a negative errno. */
int run_classes__evict_exited(struct run_classes *rc, bool force);

/* All classes (kernel and exited), sorted by key; *out is the caller's to
 * free.  Also the baseline of the next snapshot's intv. */
int run_classes__snapshot(struct run_classes *rc, struct rc_class **out, size_t *nr);

#endif
