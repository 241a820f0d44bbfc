/* The kernel trackers as one set: probe the hooks, open the BPF objects,
 * configure their rodata, load (sharing the ring buffer, loss counters,
 * thresholds and histograms between objects), attach, and give the
 * program what it polls and reads.  Single-threaded use. */
#ifndef LATRACK_SRC_TRK_H
#define LATRACK_SRC_TRK_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_bpf.h"

/* Filters on the measured task; 0 / false = off. */
struct trk_filter {
	uint32_t tgid;
	uint32_t tid;
	bool comm_on;
	char comm[LT_COMM_LEN];
	uint64_t cgid; /* cgroup v2 id (inode of the cgroup directory) */
};

struct trk_opts {
	struct trk_filter f;
	/* per_trk: each tracker's own filter in tf[] (f is ignored).  wakeup
	 * and offcpu share one BPF object: with both on, tf[LT_TRK_OFFCPU]
	 * must equal tf[LT_TRK_WAKEUP] (trk_set__start refuses otherwise). */
	bool per_trk;
	struct trk_filter tf[LT_TRK_MAX];
	bool on[LT_TRK_MAX];
	uint64_t thresh_ns[LT_TRK_MAX];
	uint32_t ringbuf_bytes; /* ring buffer size, power of 2 >= page (0: 1 MiB) */
	uint32_t max_classes; /* histogram classes (0: default, see trk_default_classes) */
	bool force_raw_tp; /* skip the tp_btf probe (tests the fallback) */
	bool class_by_comm; /* kernel classes per process name, not per process
			       (the daemon's; tgid 0 in the keys, except block) */
	bool verbose;      /* libbpf debug messages to stderr */
};

struct trk_set;

/* Open, configure, load and attach the trackers switched on.  Returns 0,
 * or a negative errno with a one-line explanation in err. */
int trk_set__start(struct trk_set **out, const struct trk_opts *o, char *err, size_t errlen);
void trk_set__destroy(struct trk_set *s); /* accepts NULL */

int trk_set__events_fd(const struct trk_set *s); /* lt_events ring buffer */
struct kct;
/* The class table (kclass.h), owned by the set. */
struct kct *trk_set__kct(const struct trk_set *s);
/* "tp_btf" or "raw_tp": how the trackers attached. */
const char *trk_set__hook_kind(const struct trk_set *s);

/* Kernel id of the lt_thresh map (for bpftool map update id N ...), or 0. */
uint32_t trk_set__thresh_map_id(const struct trk_set *s);

/* Change a threshold while running (takes effect at the next end). */
int trk_set__set_threshold(struct trk_set *s, enum lt_trk trk, uint64_t ns);

/* Measure a loaded tracker or stop measuring it, without reloading: the
 * BPF object's programs are detached when no tracker that shares it is on
 * (wakeup and offcpu share one), and attached again.  -ENOENT when the
 * tracker's programs were not loaded at start. */
int trk_set__enable(struct trk_set *s, enum lt_trk trk, bool on);
bool trk_set__loaded(const struct trk_set *s, enum lt_trk trk);

/* Loss counters summed over CPUs, indexed trk * LT_DROP_MAX + kind. */
int trk_set__drops(const struct trk_set *s, uint64_t out[LT_NR_DROPS]);

/* Syscalls in flight longer than timeout_ns at now_ns (CLOCK_MONOTONIC),
 * each reported once per begin. */
typedef void (*trk_stuck_fn)(void *ctx, enum lt_trk trk, uint32_t tid, uint64_t begin_ns,
			     uint32_t sub);
int trk_set__sweep(struct trk_set *s, uint64_t now_ns, uint64_t timeout_ns,
		   trk_stuck_fn fn, void *ctx);

/* Block requests in flight longer than timeout_ns at now_ns, each reported
 * once per (request, begin); begin is insert (or issue when not inserted). */
struct trk_blk_stuck {
	uint64_t rq;       /* the struct request pointer: identity while in flight */
	uint64_t begin_ns; /* insert, or issue for a request not inserted */
	uint64_t age_ns;   /* now - begin */
	struct lt_blk_start v;
};
typedef void (*trk_blk_stuck_fn)(void *ctx, const struct trk_blk_stuck *b);
int trk_set__sweep_block(struct trk_set *s, uint64_t now_ns, uint64_t timeout_ns,
			 trk_blk_stuck_fn fn, void *ctx);

/* One BPF object of the set (internal to src/trk*.c). */
struct trk_unit {
	const char *name;
	void *skel;
	struct bpf_object *obj;
	int (*load)(void *skel);
	int (*attach)(void *skel);
	void (*destroy)(void *skel);
	int inflight_fd; /* map swept for stuck events, or -1 */
};

/* Default number of histogram classes: as many as fit in 32 MiB of
 * preallocated per-CPU histograms (each nr_cpus * ~9.7 KiB), within
 * [128, 2048]; 256 at most when a filter narrows what is measured. */
uint32_t trk_default_classes(bool filtered);
/* Bytes the histogram map preallocates for that many classes. */
uint64_t trk_classes_bytes(uint32_t classes);

bool trk_probe_tp_btf(const char *tp);
void trk_unit_select_hooks(struct trk_unit *u, bool btf);
/* Fill a unit from its opened skeleton and choose its hooks. */
void trk_unit_init(struct trk_unit *u, const char *name, void *skel, struct bpf_object *obj,
		   int (*load)(void *), int (*attach)(void *), void (*destroy)(void *), bool btf);

/* The filters on the measured task, into any tracker skeleton's rodata
 * (every .bpf.c shares these names through lt_common.bpf.h). */
#define TRK_SET_FILTERS(ro, f)                                            \
	do {                                                              \
		(ro)->targ_tgid = (f).tgid;                               \
		(ro)->targ_tid = (f).tid;                                 \
		(ro)->targ_comm_on = (f).comm_on;                         \
		memcpy((char *)(ro)->targ_comm, (f).comm, LT_COMM_LEN);  \
		(ro)->targ_cgid = (f).cgid;                               \
		(ro)->targ_any = (f).tgid || (f).tid || (f).comm_on ||    \
				 (f).cgid;                                \
	} while (0)
/* The filters and the class key's granularity, from the options. */
#define TRK_SET_RODATA(ro, o)                                             \
	do {                                                              \
		TRK_SET_FILTERS(ro, (o)->f);                              \
		(ro)->class_by_comm = (o)->class_by_comm;                 \
	} while (0)
int trk_syscall__open(struct trk_unit *u, const struct trk_opts *o, bool btf);
int trk_syscall__inflight_fd(const struct trk_unit *u);
int trk_syscall__cpu_fd(const struct trk_unit *u);
volatile uint32_t *trk_syscall__epoch(const struct trk_unit *u);
int trk_sched__open(struct trk_unit *u, const struct trk_opts *o, bool btf);
int trk_block__open(struct trk_unit *u, const struct trk_opts *o, bool btf);
int trk_irq__open(struct trk_unit *u, const struct trk_opts *o, bool btf);
int trk_net__open(struct trk_unit *u, const struct trk_opts *o, bool btf);

#endif
