/* Maps, filters and helpers shared by every tracker object.
 *
 * lt_events, lt_drops, lt_thresh and the class table (lt_cls, lt_harr,
 * lt_free) exist once per latrack run:
 * the first object loaded creates them and the loader hands their fds to
 * the others (bpf_map__reuse_fd), so one ring buffer, one set of loss
 * counters and one histogram map serve all trackers. */
#ifndef LATRACK_BPF_LT_COMMON_BPF_H
#define LATRACK_BPF_LT_COMMON_BPF_H

#include "lt_bpf.h"
#include "latrack/hist_layout.h"

#define TASK_RUNNING 0

/* Outliers (struct lt_event); size set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} lt_events SEC(".maps");

/* Loss counters (enum lt_drop), one copy per CPU: no atomics needed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LT_NR_DROPS);
	__type(key, __u32);
	__type(value, __u64);
} lt_drops SEC(".maps");

/* Threshold in ns per tracker (enum lt_trk): read on every end, so user
 * space (or `bpftool map update name lt_thresh`) changes it while running. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LT_TRK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lt_thresh SEC(".maps");

/* The class table: a hash from class key to the index of its histogram in
 * lt_harr, the per-CPU histograms (layout of include/latrack/hist_layout.h).
 * A new class takes a free index from lt_free, which user space fills at
 * load and refills when it evicts a class (src/kclass.c: the slot zeroed,
 * after a quarantine).  Histograms in an array rather than as the values
 * of a per-CPU hash: a tracker can keep a class's index (the syscall
 * tracker caches it per CPU) and reach its histogram with an inlined
 * array lookup instead of hashing the 32-byte key on every sample (an
 * index so cached is valid under an epoch that user space changes with
 * every eviction: bpf/syscall.bpf.c, sys_epoch).  Sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct lt_class_key);
	__type(value, struct lt_cls_val);
} lt_cls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct lt_hist_raw);
} lt_harr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 1024);
	__type(value, __u32);
} lt_free SEC(".maps");


/* A kernel stack taken before the outlier it explains (at switch-out, or
 * when a slow syscall blocks), kept per tid until the end comes. */
struct lt_kstack {
	__u64 begin_ns; /* begin of the event it belongs to */
	__u32 n;
	__u32 pad;
	__u64 ips[LT_KSTACK_MAX];
};

/* Filters on the measured task, set in rodata before load (0 = off). */
const volatile __u32 targ_tgid = 0;
const volatile __u32 targ_tid = 0;
const volatile bool targ_comm_on = false;
const volatile char targ_comm[LT_COMM_LEN] = {};
const volatile __u64 targ_cgid = 0;   /* the cgroup or any descendant */
/* Any of the above set.  Without a filter, lt_task_match is this one load
 * (the verifier knows it false and drops the rest; the loads of the other
 * filters, which it cannot drop, cost ~1 ns per syscall). */
const volatile bool targ_any = false;
/* Classes per process name only (tgid 0 in the class key): the daemon's
 * classes, so that short-lived processes of one name share one kernel
 * entry instead of filling the map. */
const volatile bool class_by_comm = false;

static __always_inline void lt_drop(__u32 trk, __u32 kind)
{
	__u32 idx = trk * LT_DROP_MAX + kind;
	__u64 *c = bpf_map_lookup_elem(&lt_drops, &idx);

	if (c)
		(*c)++;
}

static __always_inline __u64 lt_threshold(__u32 trk)
{
	__u64 *t = bpf_map_lookup_elem(&lt_thresh, &trk);

	return t ? *t : (__u64)-1;
}

/* task_struct.state was renamed __state in 5.14. */
struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

static __always_inline long lt_task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)t, state);
}

static __always_inline __u64 lt_task_cgid(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/* Is the task in targ_cgid or below it?  Walks up at most 16 levels. */
static __always_inline bool lt_cgroup_match(struct task_struct *t)
{
	struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp);

	for (int i = 0; i < 16 && cg; i++) {
		if (BPF_CORE_READ(cg, kn, id) == targ_cgid)
			return true;
		/* self is the first member: the parent css is the parent cgroup */
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	return false;
}

/* The filters, applied to the task being measured (which is not always
 * current: wakeup and offcpu measure the woken / switched-in task). */
static __always_inline bool lt_task_match(struct task_struct *t)
{
	if (!targ_any)
		return true;
	if (targ_tgid && BPF_CORE_READ(t, tgid) != targ_tgid)
		return false;
	if (targ_tid && BPF_CORE_READ(t, pid) != targ_tid)
		return false;
	if (targ_comm_on) {
		char comm[LT_COMM_LEN];

		BPF_CORE_READ_STR_INTO(&comm, t, comm);
		for (int i = 0; i < LT_COMM_LEN; i++) {
			if (comm[i] != targ_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	if (targ_cgid && !lt_cgroup_match(t))
		return false;
	return true;
}

/* The index of a class's histogram in lt_harr, the class created on
 * first use; -1 (counted) when no index is free or the table is full. */
static __always_inline long lt_class_idx(struct lt_class_key *k)
{
	struct lt_cls_val *v = bpf_map_lookup_elem(&lt_cls, k), nv = {};
	__u32 idx;
	long err;

	if (v)
		return v->idx;
	if (bpf_map_pop_elem(&lt_free, &idx)) {
		lt_drop(k->trk, LT_DROP_HIST);
		return -1;
	}
	nv.idx = idx;
	err = bpf_map_update_elem(&lt_cls, k, &nv, BPF_NOEXIST);
	if (!err)
		return idx;
	/* Not used: back to the free list (it was popped: there is room). */
	bpf_map_push_elem(&lt_free, &idx, 0);
	if (err == -17 /* EEXIST: another CPU created it */ && (v = bpf_map_lookup_elem(&lt_cls, k)))
		return v->idx;
	lt_drop(k->trk, LT_DROP_HIST);
	return -1;
}

/* Record one sample in the histogram at idx (from lt_class_idx). */
static __always_inline void lt_hist_add_at(__u32 idx, __u64 delay)
{
	struct lt_hist_raw *h = bpf_map_lookup_elem(&lt_harr, &idx);

	if (h)
		lt_hist_raw_record(h, delay);
}

/* Record one sample in its class histogram, creating the class on first use. */
static __always_inline void lt_hist_add(struct lt_class_key *k, __u64 delay)
{
	long idx = lt_class_idx(k);

	if (idx >= 0)
		lt_hist_add_at((__u32)idx, delay);
}

/* Fill the class key's process part from a task (comm of the group leader). */
static __always_inline void lt_class_proc(struct lt_class_key *k, struct task_struct *t)
{
	k->tgid = class_by_comm ? 0 : BPF_CORE_READ(t, tgid);
	BPF_CORE_READ_STR_INTO(&k->comm, t, group_leader, comm);
}

static __always_inline void lt_event_task(struct lt_event *e, struct task_struct *t)
{
	e->pid = BPF_CORE_READ(t, tgid);
	e->tid = BPF_CORE_READ(t, pid);
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	e->cgroup_id = lt_task_cgid(t);
	e->cpu = bpf_get_smp_processor_id();
}

static __always_inline struct lt_event *lt_event_reserve(__u32 trk)
{
	struct lt_event *e = bpf_ringbuf_reserve(&lt_events, sizeof(*e), 0);

	if (!e) {
		lt_drop(trk, LT_DROP_RINGBUF);
		return NULL;
	}
	e->trk = trk;
	e->flags = 0;
	e->kstack_n = e->ustack_n = e->wstack_n = 0;
	e->waker_pid = e->waker_tid = e->prev_pid = e->prev_tid = 0;
	e->waker_comm[0] = e->prev_comm[0] = 0;
	e->ret = 0;
	e->pad = 0;
	return e;
}

#endif
