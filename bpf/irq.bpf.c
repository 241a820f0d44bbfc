// SPDX-License-Identifier: GPL-2.0
/* irq tracker: hard IRQ handlers (irq_handler_entry -> exit, per CPU and
 * IRQ) and softirqs (softirq_raise -> entry: waiting to run; entry ->
 * exit: running; per CPU and vector).
 *
 * Hard IRQ handlers do not nest and a softirq vector runs at most once at
 * a time per CPU, so the begin state is one per-CPU slot per IRQ kind and
 * vector.  Classes: {kind, IRQ or vector} with the handler's name; the
 * filters do not apply (an interrupt has no measured task).  An outlier
 * names the CPU and the task it interrupted. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lt_common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct irq_cpu {
	__u64 hard_ns;
	__u32 hard_irq;
	__u32 pad;
	__u64 raise_ns[LT_NR_SOFTIRQS];
	__u64 entry_ns[LT_NR_SOFTIRQS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_cpu);
} irq_cpu SEC(".maps");

static __always_inline struct irq_cpu *cpu_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&irq_cpu, &zero);
}

static __always_inline void sample(__u32 kind, __u32 n, __u64 begin, __u64 now,
				   const char *name, bool name_is_kernel_ptr)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct lt_class_key k = {};
	__u64 delay = now - begin;
	struct lt_event *e;

	k.trk = LT_TRK_IRQ;
	k.sub = LT_IRQ_SUB(kind, n);
	if (name_is_kernel_ptr)
		bpf_probe_read_kernel_str(k.comm, sizeof(k.comm), name);
	lt_hist_add(&k, delay);
	if (delay <= lt_threshold(LT_TRK_IRQ))
		return;
	e = lt_event_reserve(LT_TRK_IRQ);
	if (!e)
		return;
	e->begin_ns = begin;
	e->end_ns = now;
	e->delay_ns = delay;
	lt_event_task(e, t); /* the interrupted task */
	e->sub = k.sub;
	__builtin_memcpy(e->disk, k.comm, LT_COMM_LEN); /* the handler's name */
	e->disk[LT_COMM_LEN] = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void hard_entry(int irq)
{
	struct irq_cpu *c = cpu_state();

	if (!c)
		return;
	c->hard_ns = bpf_ktime_get_ns();
	c->hard_irq = irq;
}

static __always_inline void hard_exit(int irq, struct irqaction *action)
{
	struct irq_cpu *c = cpu_state();
	__u64 begin;

	if (!c || !c->hard_ns || c->hard_irq != (__u32)irq)
		return;
	begin = c->hard_ns;
	c->hard_ns = 0;
	sample(LT_IRQ_HARD, irq, begin, bpf_ktime_get_ns(), BPF_CORE_READ(action, name), true);
}

static __always_inline void soft_raise(unsigned int vec)
{
	struct irq_cpu *c = cpu_state();

	if (!c || vec >= LT_NR_SOFTIRQS)
		return;
	if (!c->raise_ns[vec]) /* raised again before it ran: the first raise counts */
		c->raise_ns[vec] = bpf_ktime_get_ns();
}

static __always_inline void soft_entry(unsigned int vec)
{
	struct irq_cpu *c = cpu_state();
	__u64 now = bpf_ktime_get_ns(), raised;

	if (!c || vec >= LT_NR_SOFTIRQS)
		return;
	c->entry_ns[vec] = now;
	raised = c->raise_ns[vec];
	c->raise_ns[vec] = 0;
	if (raised && raised <= now)
		sample(LT_IRQ_SOFT_WAIT, vec, raised, now, NULL, false);
}

static __always_inline void soft_exit(unsigned int vec)
{
	struct irq_cpu *c = cpu_state();
	__u64 begin;

	if (!c || vec >= LT_NR_SOFTIRQS || !c->entry_ns[vec])
		return;
	begin = c->entry_ns[vec];
	c->entry_ns[vec] = 0;
	sample(LT_IRQ_SOFT_RUN, vec, begin, bpf_ktime_get_ns(), NULL, false);
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(irq_entry_btf, int irq) { hard_entry(irq); return 0; }
SEC("tp_btf/irq_handler_exit")
int BPF_PROG(irq_exit_btf, int irq, struct irqaction *action) { hard_exit(irq, action); return 0; }
SEC("tp_btf/softirq_raise")
int BPF_PROG(softirq_raise_btf, unsigned int vec) { soft_raise(vec); return 0; }
SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry_btf, unsigned int vec) { soft_entry(vec); return 0; }
SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit_btf, unsigned int vec) { soft_exit(vec); return 0; }

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(irq_entry_raw, int irq) { hard_entry(irq); return 0; }
SEC("raw_tp/irq_handler_exit")
int BPF_PROG(irq_exit_raw, int irq, struct irqaction *action) { hard_exit(irq, action); return 0; }
SEC("raw_tp/softirq_raise")
int BPF_PROG(softirq_raise_raw, unsigned int vec) { soft_raise(vec); return 0; }
SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_entry_raw, unsigned int vec) { soft_entry(vec); return 0; }
SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_exit_raw, unsigned int vec) { soft_exit(vec); return 0; }
