// SPDX-License-Identifier: GPL-2.0
/* Scheduler trackers: wakeup (run-queue latency) and offcpu.
 *
 * wakeup: sched_waking / sched_wakeup_new of the measured task, or its
 * preemption (switched out still TASK_RUNNING), begins; sched_switch that
 * puts it on a CPU ends.  Key: tid.  Class: {CPU, process}.  Outlier
 * context: the waker (current at sched_waking) and the task it waited
 * behind (prev of the ending switch).  The filters test the *woken* task.
 *
 * offcpu: sched_switch out in a sleeping state begins, sched_switch in
 * ends.  Key: tid.  Class: {task state, process}.  Outlier context: the
 * sleeper's kernel stack, taken at switch-in from the saved context it is
 * about to resume (bpf_get_task_stack, tp_btf only), and the waker's
 * identity and kernel stack, taken at sched_waking when the sleeper has
 * already been off-CPU longer than the threshold.  Only outliers pay for
 * stacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lt_common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool wakeup_on = true;
const volatile bool offcpu_on = true;

struct who {
	__u32 pid, tid;
	char comm[LT_COMM_LEN];
};

struct wk_start {
	__u64 ts;
	__u32 flags; /* LT_EV_WAKER or LT_EV_PREEMPTED */
	__u32 pad;
	struct who waker;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct wk_start);
} wk_start SEC(".maps");

struct off_start {
	__u64 ts;
	__u32 state;
	__u32 flags; /* LT_EV_WAKER */
	struct who waker;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct off_start);
} off_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct lt_kstack);
} off_wstacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_kstack);
} sched_scratch SEC(".maps");

static __always_inline void who_current(struct who *w)
{
	__u64 pt = bpf_get_current_pid_tgid();

	w->pid = pt >> 32;
	w->tid = (__u32)pt;
	bpf_get_current_comm(&w->comm, sizeof(w->comm));
}

static __always_inline void on_waking(void *ctx, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();

	if (!tid || !lt_task_match(p))
		return;
	/* A task woken while still on its CPU gets no switch-in: not a begin. */
	if (wakeup_on && p != cur) {
		struct wk_start w = {};

		w.ts = bpf_ktime_get_ns();
		w.flags = LT_EV_WAKER;
		who_current(&w.waker);
		if (bpf_map_update_elem(&wk_start, &tid, &w, BPF_ANY))
			lt_drop(LT_TRK_WAKEUP, LT_DROP_INFLIGHT);
	}
	if (offcpu_on) {
		struct off_start *o = bpf_map_lookup_elem(&off_start, &tid);
		struct lt_kstack *st;
		__u32 zero = 0;
		long n;

		if (!o)
			return;
		who_current(&o->waker);
		o->flags |= LT_EV_WAKER;
		if (bpf_ktime_get_ns() - o->ts <= lt_threshold(LT_TRK_OFFCPU))
			return;
		st = bpf_map_lookup_elem(&sched_scratch, &zero);
		if (!st)
			return;
		n = bpf_get_stack(ctx, st->ips, sizeof(st->ips), 0);
		if (n <= 0) {
			lt_drop(LT_TRK_OFFCPU, LT_DROP_STACK);
			return;
		}
		st->n = n / sizeof(__u64);
		st->begin_ns = o->ts;
		if (bpf_map_update_elem(&off_wstacks, &tid, st, BPF_ANY))
			lt_drop(LT_TRK_OFFCPU, LT_DROP_STACK);
	}
}

static __always_inline void end_wakeup(struct task_struct *prev, struct task_struct *next,
				       __u32 tid, __u64 now)
{
	struct wk_start *wp = bpf_map_lookup_elem(&wk_start, &tid), w;
	struct lt_class_key k = {};
	struct lt_event *e;
	__u64 delay;

	if (!wp)
		return;
	w = *wp;
	bpf_map_delete_elem(&wk_start, &tid);
	delay = now - w.ts;
	k.trk = LT_TRK_WAKEUP;
	k.sub = bpf_get_smp_processor_id();
	lt_class_proc(&k, next);
	lt_hist_add(&k, delay);
	if (delay <= lt_threshold(LT_TRK_WAKEUP))
		return;
	e = lt_event_reserve(LT_TRK_WAKEUP);
	if (!e)
		return;
	e->begin_ns = w.ts;
	e->end_ns = now;
	e->delay_ns = delay;
	lt_event_task(e, next);
	e->sub = e->cpu;
	e->flags = w.flags | LT_EV_PREV;
	e->waker_pid = w.waker.pid;
	e->waker_tid = w.waker.tid;
	__builtin_memcpy(e->waker_comm, w.waker.comm, LT_COMM_LEN);
	e->prev_pid = BPF_CORE_READ(prev, tgid);
	e->prev_tid = BPF_CORE_READ(prev, pid);
	BPF_CORE_READ_STR_INTO(&e->prev_comm, prev, comm);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void end_offcpu(struct task_struct *next, __u32 tid, __u64 now,
				       bool task_stack)
{
	struct off_start *op = bpf_map_lookup_elem(&off_start, &tid), o;
	struct lt_class_key k = {};
	struct lt_event *e;
	__u64 delay;

	if (!op)
		return;
	o = *op;
	bpf_map_delete_elem(&off_start, &tid);
	delay = now - o.ts;
	k.trk = LT_TRK_OFFCPU;
	k.sub = o.state;
	lt_class_proc(&k, next);
	lt_hist_add(&k, delay);
	if (delay <= lt_threshold(LT_TRK_OFFCPU)) {
		bpf_map_delete_elem(&off_wstacks, &tid);
		return;
	}
	e = lt_event_reserve(LT_TRK_OFFCPU);
	if (!e) {
		bpf_map_delete_elem(&off_wstacks, &tid);
		return;
	}
	e->begin_ns = o.ts;
	e->end_ns = now;
	e->delay_ns = delay;
	lt_event_task(e, next);
	e->sub = o.state;
	e->flags = o.flags;
	e->waker_pid = o.waker.pid;
	e->waker_tid = o.waker.tid;
	__builtin_memcpy(e->waker_comm, o.waker.comm, LT_COMM_LEN);
	if (task_stack) {
		long n = bpf_get_task_stack(next, e->kstack, sizeof(e->kstack), 0);

		if (n > 0) {
			e->kstack_n = n / sizeof(__u64);
			e->flags |= LT_EV_KSTACK_SLEEP;
		} else {
			lt_drop(LT_TRK_OFFCPU, LT_DROP_STACK);
		}
	}
	struct lt_kstack *ws = bpf_map_lookup_elem(&off_wstacks, &tid);
	if (ws) {
		if (ws->begin_ns == o.ts) {
			bpf_probe_read_kernel(e->wstack, sizeof(e->wstack), ws->ips);
			e->wstack_n = ws->n > LT_KSTACK_MAX ? LT_KSTACK_MAX : ws->n;
		}
		bpf_map_delete_elem(&off_wstacks, &tid);
	}
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void on_switch(struct task_struct *prev, struct task_struct *next,
				      bool task_stack)
{
	__u32 prev_tid = BPF_CORE_READ(prev, pid);
	__u32 next_tid = BPF_CORE_READ(next, pid);
	__u64 now = bpf_ktime_get_ns();

	if (prev_tid) {
		long state = lt_task_state(prev);

		if (state == TASK_RUNNING) {
			if (wakeup_on && lt_task_match(prev)) {
				struct wk_start w = {};

				w.ts = now;
				w.flags = LT_EV_PREEMPTED;
				if (bpf_map_update_elem(&wk_start, &prev_tid, &w, BPF_ANY))
					lt_drop(LT_TRK_WAKEUP, LT_DROP_INFLIGHT);
			}
		} else {
			/* Going to sleep: a pending run-queue begin is stale. */
			if (wakeup_on)
				bpf_map_delete_elem(&wk_start, &prev_tid);
			/* Only a task that can run again: an exiting task's last
			 * switch (TASK_DEAD, after sched_process_exit) would leave
			 * an entry nobody deletes, and under process churn fill
			 * the map. */
			if (offcpu_on && (state & 0xf) && lt_task_match(prev)) {
				struct off_start o = {};

				o.ts = now;
				/* class by blocking state: S, D, I (idle D), T, t;
				 * modifier bits (freezable, killable...) dropped */
				o.state = (state & 0x402) == 0x402 ? 0x402 : (__u32)state & 0xf;
				if (bpf_map_update_elem(&off_start, &prev_tid, &o, BPF_ANY))
					lt_drop(LT_TRK_OFFCPU, LT_DROP_INFLIGHT);
			}
		}
	}
	if (!next_tid)
		return;
	if (wakeup_on)
		end_wakeup(prev, next, next_tid, now);
	if (offcpu_on)
		end_offcpu(next, next_tid, now, task_stack);
}

static __always_inline void on_pexit(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&wk_start, &tid);
	bpf_map_delete_elem(&off_start, &tid);
	bpf_map_delete_elem(&off_wstacks, &tid);
}

SEC("tp_btf/sched_waking")
int BPF_PROG(sched_waking_btf, struct task_struct *p)
{
	on_waking(ctx, p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	on_waking(ctx, p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(prev, next, true);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_pexit_btf, struct task_struct *p)
{
	on_pexit();
	return 0;
}

SEC("raw_tp/sched_waking")
int BPF_PROG(sched_waking_raw, struct task_struct *p)
{
	on_waking(ctx, p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	on_waking(ctx, p);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(prev, next, false);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_pexit_raw, struct task_struct *p)
{
	on_pexit();
	return 0;
}
