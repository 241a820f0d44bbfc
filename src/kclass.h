/* The kernel's class table, as user space reads it (bpf/lt_common.bpf.h):
 * lt_cls maps a class key (struct lt_class_key) to an index; lt_harr[idx]
 * holds the class's per-CPU histograms; lt_free lists the free indices.
 * A tracker that caches indices (the syscall tracker) gives an epoch
 * that changes on every eviction.
 *
 * Taking a class out (kct__take) is the lookup-and-delete of a per-CPU
 * hash done by hand: delete the key, change the epoch (the BPF programs'
 * cached indices go stale), read the final values.  The index is then
 * quarantined for KCT_QUARANTINE_NS before it is zeroed and freed, so
 * that a BPF program that found the class just before the delete
 * finishes with it first; what such a program recorded after the final
 * read is counted (kct__late), never given to the next class.
 *
 * Single-threaded: one reader (the process's engine) per table. */
#ifndef LATRACK_SRC_KCLASS_H
#define LATRACK_SRC_KCLASS_H

#include <stddef.h>
#include <stdint.h>

#include "lt_bpf.h"

/* A tracing BPF program runs for well under a microsecond, without
 * preemption (interrupts aside): 10 ms is ample, and short enough that a
 * full table gets its slots back at the reader's next pass. */
#define KCT_QUARANTINE_NS 10000000ull

struct kct;

/* The maps' fds (kept open by the caller while the table is used).
 * NULL + errno. */
struct kct *kct__new(int cls_fd, int harr_fd, int free_fd);
/* The epoch of the indices a tracker caches: a variable in its BPF
 * object's mmapped .bss, bumped after every class taken out. */
void kct__set_epoch(struct kct *t, volatile uint32_t *epoch);
/* Fill lt_free with every index and start the epoch at 1 (epoch 0 is
 * the BPF caches' "empty"): once, after load, before attach. */
int kct__setup(struct kct *t);
void kct__free(struct kct *t); /* accepts NULL */

uint32_t kct__max(const struct kct *t);   /* classes the table holds */
int kct__ncpu(const struct kct *t);
/* Bytes of one CPU's copy in the buffers below (lt_hist_raw, 8-aligned);
 * a buffer for kct__read / kct__take holds kct__ncpu copies. */
size_t kct__vsz(const struct kct *t);

/* Walk the keys (prev NULL: the first).  0, or -ENOENT at the end. */
int kct__next(struct kct *t, const struct lt_class_key *prev, struct lt_class_key *next);
/* The per-CPU histograms of a class into percpu; -ENOENT if it is gone. */
int kct__read(struct kct *t, const struct lt_class_key *k, void *percpu);
/* Delete a class and read its final per-CPU values into percpu.  A new
 * sample of the same key starts a new class.  0 or -errno. */
int kct__take(struct kct *t, const struct lt_class_key *k, void *percpu);
/* Zero and free the indices whose quarantine is over (now: CLOCK_MONOTONIC
 * ns).  The owner of the read loop calls it at each turn (latrack run: every
 * poll; the live engine: every tick). */
void kct__recycle(struct kct *t, uint64_t now_ns);
/* Samples recorded in a taken class after its final read, per tracker. */
uint64_t kct__late(const struct kct *t, enum lt_trk trk);
/* Indices in quarantine (not yet free). */
size_t kct__quarantined(const struct kct *t);

#endif
