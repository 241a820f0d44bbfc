// SPDX-License-Identifier: GPL-2.0
/* syscall tracker: sys_enter -> sys_exit per thread.
 *
 * Begin: the measured thread enters a syscall (filters pass): its start
 * time and number go to sys_start[tid], which stays until the thread
 * exits (ts 0 between syscalls).  End: sys_exit of the same thread:
 * the delay goes to the class histogram {syscall nr, process} and, over
 * the threshold, an outlier with the return value, the user stack of the
 * call site and the kernel stack where the syscall blocked.
 *
 * "Where it blocked": at sched_switch, a thread switched back in whose
 * syscall has already run longer than the threshold was blocked in the
 * stack it is about to resume from: bpf_get_task_stack(next) captures it
 * (tp_btf only: it needs a BTF task pointer).  A thread switched out past
 * the threshold is captured too (current stack, works under raw_tp).  The
 * first capture per syscall wins; it waits in sys_stacks[tid] until the
 * exit.  Only slow syscalls pay for a stack. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lt_common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* The epoch of the class indices cached in sys_cpu (sys_hist_add): user
 * space changes it, through the mmapped .bss, after every class it takes
 * out of the class table (src/kclass.c).  A global, not a map: read with
 * one load on every syscall.  The loader starts it at 1. */
volatile __u32 sys_epoch;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct lt_sys_start);
} sys_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct lt_kstack);
} sys_stacks SEC(".maps");

/* The syscall in flight of the thread on this CPU (see struct lt_sys_cpu):
 * enter and exit of a syscall that does not switch out, nearly all of
 * them, touch only this, with no hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_sys_cpu);
} sys_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_kstack);
} sys_scratch SEC(".maps");

/* The current task and its tid.  With BTF one helper call and a load;
 * raw_tp needs two helper calls.  On every syscall, twice: it counts. */
static __always_inline struct task_struct *current_tid(bool btf, __u32 *tid)
{
	if (btf) {
		struct task_struct *c = bpf_get_current_task_btf();

		*tid = (__u32)c->pid;
		return c;
	}
	*tid = (__u32)bpf_get_current_pid_tgid();
	return (struct task_struct *)bpf_get_current_task();
}

static __always_inline int on_enter(long id, bool btf)
{
	__u32 tid, zero = 0;
	struct task_struct *t = current_tid(btf, &tid);
	struct lt_sys_cpu *c;

	if (!lt_task_match(t))
		return 0;
	/* The per-CPU slot: an array lookup is a few inlined instructions,
	 * where the hash (sys_start) costs a hash of the key and a bucket
	 * walk.  sched_switch moves it to sys_start if the thread switches
	 * out before its exit. */
	c = bpf_map_lookup_elem(&sys_cpu, &zero);
	if (!c)
		return 0;
	c->tid = tid;
	c->nr = (__u32)id;
	/* ts last: the stuck sweep that sees it non-zero should see this
	 * syscall's tid and nr.  BPF has no fence; a compiler barrier orders
	 * the stores on x86 (TSO), and user space reads a slot twice. */
	asm volatile("" ::: "memory");
	c->ts = bpf_ktime_get_ns();
	return 0;
}

/* At sched_switch: prev leaves the CPU.  If it is inside a syscall (the
 * CPU's slot is its), move the syscall to sys_start[tid], which keeps
 * one entry per thread from its first switch in a syscall to its exit,
 * rewritten in place (an update takes the bucket lock; a lookup does
 * not).  Returns prev's entry in sys_start (its ts 0 if prev is not in a
 * syscall), or NULL if it has none. */
static __always_inline struct lt_sys_start *spill(__u32 tid)
{
	struct lt_sys_start s = {}, *sp;
	struct lt_sys_cpu *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&sys_cpu, &zero);
	if (!c || !c->ts || c->tid != tid) {
		if (c)
			c->ts = 0; /* not prev's: a switch not seen (at attach) */
		/* Not entered on this CPU since prev last switched out: its
		 * syscall, if any, is in sys_start already. */
		return bpf_map_lookup_elem(&sys_start, &tid);
	}
	s.ts = c->ts;
	s.nr = c->nr;
	sp = bpf_map_lookup_elem(&sys_start, &tid);
	if (sp) {
		sp->nr = s.nr;
		sp->flags = 0;
		asm volatile("" ::: "memory");
		sp->ts = s.ts;
	} else if (bpf_map_update_elem(&sys_start, &tid, &s, BPF_ANY)) {
		lt_drop(LT_TRK_SYSCALL, LT_DROP_INFLIGHT);
	} else {
		sp = bpf_map_lookup_elem(&sys_start, &tid);
	}
	/* Cleared after the copy: the sweep sees it in one place or the
	 * other (or in both, the same begin: reported once). */
	c->ts = 0;
	return sp;
}

/* Bytes of w after its first NUL cleared (little endian: byte 0 is the low
 * byte), and *end set if w has a NUL.  The lowest 0x80 bit of z marks the
 * first zero byte exactly (the borrow only spoils bits above it). */
static __always_inline __u64 lt_comm_word(__u64 w, bool *end)
{
	__u64 z = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;

	if (!z)
		return w;
	*end = true;
	return w & (z ^ (z - 1));
}

/* The class of the current task: {tgid, comm of its group leader}.  With
 * BTF (tp_btf) the fields are plain loads; raw_tp needs a probe-read
 * helper call per field, which costs more than the rest of the exit path. */
static __always_inline void class_proc(struct lt_class_key *k, struct task_struct *t, bool btf)
{
	if (!btf) {
		lt_class_proc(k, t);
		return;
	}
	/* t is bpf_get_current_task_btf()'s (current_tid): a trusted BTF
	 * pointer, so plain loads. */
	struct task_struct *c = t;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* comm as two words (task_struct.comm is 8-byte aligned); as the _str
	 * read would, nothing after the NUL, so that a comm with stale bytes
	 * past it is still one class: a few ALU ops instead of a loop of 16
	 * byte tests. */
	const __u64 *w = (const __u64 *)c->group_leader->comm;
	bool end = false;
	__u64 w0 = lt_comm_word(w[0], &end), w1 = 0;

	if (!end)
		w1 = lt_comm_word(w[1], &end);
	w1 &= 0x00ffffffffffffffULL; /* comm[15] = 0 */
	k->tgid = class_by_comm ? 0 : c->tgid;
	__builtin_memcpy(&k->comm[0], &w0, 8);
	__builtin_memcpy(&k->comm[8], &w1, 8);
#else
	bool end = false;

	k->tgid = class_by_comm ? 0 : c->tgid;
	__builtin_memcpy(k->comm, c->group_leader->comm, sizeof(k->comm));
	for (int i = 0; i < LT_COMM_LEN; i++) {
		if (end)
			k->comm[i] = 0;
		else if (!k->comm[i])
			end = true;
	}
	k->comm[LT_COMM_LEN - 1] = 0;
#endif
}

/* Record a syscall's delay in its class histogram {nr, process}.  With
 * BTF, through the CPU's cache of class indices (c->cache, direct-mapped
 * by syscall number): a syscall class found there costs two loads and a
 * few compares and an inlined array lookup, where hashing the 32-byte
 * class key cost ~10 ns per syscall on this kind of machine
 * (docs/BENCHMARKS.md).  An entry matches on the syscall, the tgid and
 * the two raw words of the group leader's comm as they are in memory
 * (equal raw words give the same class: class_proc only clears what
 * follows the NUL).  It is valid under the epoch it was filled in
 * (sys_epoch changes with every eviction: its index may belong to
 * another class since); the loader starts the epoch at 1, so a zeroed
 * entry never matches. */
static __always_inline void sys_hist_add(struct lt_sys_cpu *c, struct task_struct *t, __u32 nr,
					 __u64 delay, bool btf)
{
	struct lt_sys_cache_ent *ce;
	__u32 epoch, tgid;
	__u64 raw0, raw1;
	long idx;

	if (!btf) {
		struct lt_class_key k = { .trk = LT_TRK_SYSCALL, .sub = nr };

		class_proc(&k, t, false);
		lt_hist_add(&k, delay);
		return;
	}
	/* The epoch before the class table: an eviction deletes the class,
	 * then changes the epoch; an entry filled from a lookup that still
	 * found the class carries the older epoch. */
	epoch = sys_epoch;
	asm volatile("" ::: "memory");
	tgid = class_by_comm ? 0 : t->tgid;
	{
		const __u64 *w = (const __u64 *)t->group_leader->comm;

		raw0 = w[0];
		raw1 = w[1];
	}
	ce = &c->cache[nr & ((1 << LT_SYS_CACHE_BITS) - 1)];
	if (ce->nr == nr && ce->tgid == tgid && ce->comm0 == raw0 && ce->comm1 == raw1 &&
	    ce->epoch == epoch) {
		lt_hist_add_at(ce->idx, delay);
		return;
	}
	{
		/* a miss: the key built only here, off the hit path */
		struct lt_class_key k = { .trk = LT_TRK_SYSCALL, .sub = nr };

		class_proc(&k, t, true);
		idx = lt_class_idx(&k);
	}
	if (idx < 0)
		return;
	ce->nr = nr;
	ce->tgid = tgid;
	ce->comm0 = raw0;
	ce->comm1 = raw1;
	ce->idx = (__u32)idx;
	ce->epoch = epoch;
	lt_hist_add_at((__u32)idx, delay);
}

static __always_inline int on_exit(void *ctx, long ret, bool btf)
{
	__u32 tid, zero = 0;
	struct task_struct *t = current_tid(btf, &tid);
	struct lt_sys_start *sp, s = {};
	struct lt_sys_cpu *c;
	struct lt_event *e;
	__u64 now, delay;

	c = bpf_map_lookup_elem(&sys_cpu, &zero);
	if (!c)
		return 0;
	if (c->ts && c->tid == tid) {
		/* never switched out: the slot (flags 0: no stack taken) */
		s.ts = c->ts;
		s.nr = c->nr;
		c->ts = 0;
	} else {
		/* switched out during the syscall: sys_start */
		sp = bpf_map_lookup_elem(&sys_start, &tid);
		if (!sp || !sp->ts)
			return 0;
		s = *sp;
		sp->ts = 0; /* idle; the entry goes at thread exit */
	}
	now = bpf_ktime_get_ns();
	delay = now - s.ts;

	sys_hist_add(c, t, s.nr, delay, btf);

	if (delay <= lt_threshold(LT_TRK_SYSCALL)) {
		if (s.flags & LT_SYS_HAS_STACK) /* threshold raised meanwhile */
			bpf_map_delete_elem(&sys_stacks, &tid);
		return 0;
	}
	e = lt_event_reserve(LT_TRK_SYSCALL);
	if (!e) {
		if (s.flags & LT_SYS_HAS_STACK)
			bpf_map_delete_elem(&sys_stacks, &tid);
		return 0;
	}
	e->begin_ns = s.ts;
	e->end_ns = now;
	e->delay_ns = delay;
	e->sub = s.nr;
	e->ret = ret;
	lt_event_task(e, t);
	if (s.flags & LT_SYS_HAS_STACK) {
		struct lt_kstack *st = bpf_map_lookup_elem(&sys_stacks, &tid);

		if (st && st->begin_ns == s.ts) {
			__u32 n = st->n;

			if (n > LT_KSTACK_MAX)
				n = LT_KSTACK_MAX;
			bpf_probe_read_kernel(e->kstack, sizeof(e->kstack), st->ips);
			e->kstack_n = n;
			e->flags |= LT_EV_KSTACK_BLOCKED;
		}
		bpf_map_delete_elem(&sys_stacks, &tid);
	}
	/* The user stack is the call site's: it does not change during the syscall. */
	long n = bpf_get_stack(ctx, e->ustack, sizeof(e->ustack), BPF_F_USER_STACK);
	if (n > 0)
		e->ustack_n = n / sizeof(__u64);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Capture the blocking stack of tid once its syscall is past the threshold.
 * sp: its sys_start entry; task: the task to unwind if not current
 * (tp_btf), or NULL for current. */
static __always_inline void capture(void *ctx, __u32 tid, struct lt_sys_start *sp,
				    struct task_struct *task)
{
	struct lt_kstack *st;
	__u32 zero = 0;
	long n;

	if (!sp || !sp->ts || (sp->flags & LT_SYS_HAS_STACK))
		return;
	if (bpf_ktime_get_ns() - sp->ts <= lt_threshold(LT_TRK_SYSCALL))
		return;
	st = bpf_map_lookup_elem(&sys_scratch, &zero);
	if (!st)
		return;
	if (task)
		n = bpf_get_task_stack(task, st->ips, sizeof(st->ips), 0);
	else
		n = bpf_get_stack(ctx, st->ips, sizeof(st->ips), 0);
	sp->flags |= LT_SYS_HAS_STACK;
	if (n <= 0) {
		lt_drop(LT_TRK_SYSCALL, LT_DROP_STACK);
		return;
	}
	st->n = n / sizeof(__u64);
	st->begin_ns = sp->ts;
	if (bpf_map_update_elem(&sys_stacks, &tid, st, BPF_ANY)) {
		sp->flags &= ~LT_SYS_HAS_STACK;
		lt_drop(LT_TRK_SYSCALL, LT_DROP_STACK);
	}
}

/* sched_switch: prev's syscall (if any) leaves the CPU's slot for
 * sys_start; a slow one has its stack taken (prev is current: works
 * under raw_tp too).  next, if btf: a syscall of next is in sys_start if
 * it is in one (it switched out in it). */
static __always_inline void on_switch(void *ctx, __u32 prev_tid, __u32 next_tid,
				      struct task_struct *next)
{
	capture(ctx, prev_tid, spill(prev_tid), NULL);
	if (next)
		capture(ctx, next_tid, bpf_map_lookup_elem(&sys_start, &next_tid), next);
}

static __always_inline void on_exit_task(__u32 tid)
{
	__u32 zero = 0;
	struct lt_sys_cpu *c = bpf_map_lookup_elem(&sys_cpu, &zero);

	/* exit() never returns from its syscall: nothing is left in flight
	 * for the switch that follows to move to sys_start. */
	if (c && c->tid == tid)
		c->ts = 0;
	bpf_map_delete_elem(&sys_start, &tid);
	bpf_map_delete_elem(&sys_stacks, &tid);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_enter(id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_exit(ctx, ret, true);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sys_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(ctx, prev->pid, next->pid, next);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sys_pexit_btf, struct task_struct *p)
{
	on_exit_task((__u32)bpf_get_current_pid_tgid());
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_enter(id, false);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_exit(ctx, ret, false);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sys_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(ctx, BPF_CORE_READ(prev, pid), 0, NULL);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(sys_pexit_raw, struct task_struct *p)
{
	on_exit_task((__u32)bpf_get_current_pid_tgid());
	return 0;
}
