/* Records shared by the BPF trackers (bpf/NAME.bpf.c) and their loaders
 * (src/trk_NAME.c, src/cmd_run.c): fixed-width fields only, no pointers.
 *
 * BPF side includes vmlinux.h first, user space <linux/types.h>. */
#ifndef LATRACK_BPF_LT_BPF_H
#define LATRACK_BPF_LT_BPF_H

#define LT_COMM_LEN   16
#define LT_KSTACK_MAX 48 /* kernel frames kept per stack */
#define LT_USTACK_MAX 32 /* user frames */

/* Trackers: index of lt_thresh, first field of class keys and events. */
enum lt_trk {
	LT_TRK_SYSCALL = 0,
	LT_TRK_WAKEUP  = 1,
	LT_TRK_OFFCPU  = 2,
	LT_TRK_BLOCK   = 3,
	LT_TRK_IRQ     = 4,
	LT_TRK_NET     = 5,
	LT_TRK_MAX     = 6,
};

/* Loss counters, per CPU, in lt_drops[trk * LT_DROP_MAX + kind]. */
enum lt_drop {
	LT_DROP_RINGBUF  = 0, /* outlier lost: ring buffer full */
	LT_DROP_INFLIGHT = 1, /* begin lost: in-flight map full */
	LT_DROP_HIST     = 2, /* sample lost: class table full (too many classes), or
			       * recorded after its class was evicted (src/kclass.c) */
	LT_DROP_STACK    = 3, /* stack lost: stack map full or unwinder error */
	LT_DROP_MAX      = 4,
};
#define LT_NR_DROPS (LT_TRK_MAX * LT_DROP_MAX)

/* Histogram class: tracker, a tracker-specific sub-class (syscall number;
 * CPU for wakeup; task state for offcpu), and the process (tgid plus the
 * thread-group leader's comm, so the class stays readable after it exits).
 * block: sub = LT_BLK_SUB(phase, op), tgid = device (major << 20 | minor,
 * the kernel's dev_t), comm = disk name. */
struct lt_class_key {
	__u32 trk;
	__u32 sub;
	__u32 tgid;
	__u32 pad;
	char comm[LT_COMM_LEN];
};

/* The class table (lt_cls): a class key's histogram is lt_harr[idx]. */
struct lt_cls_val {
	__u32 idx;
	__u32 pad;
};

/* block classes: phase (queued: insert -> issue; service: issue ->
 * complete) and operation (REQ_OP_*: 0 read, 1 write, 2 flush, 3 discard...) */
#define LT_BLK_QUEUE   0
#define LT_BLK_SERVICE 1
#define LT_BLK_TOTAL   2 /* outliers: insert (or issue) -> complete */
#define LT_BLK_SUB(phase, op) (((phase) << 8) | ((op) & 0xff))

/* irq classes: kind and number (IRQ number or softirq vector); tgid 0,
 * comm = the handler's name (hard IRQ) */
#define LT_IRQ_HARD      0 /* irq_handler_entry -> exit */
#define LT_IRQ_SOFT_WAIT 1 /* softirq_raise -> entry */
#define LT_IRQ_SOFT_RUN  2 /* softirq_entry -> exit */
#define LT_IRQ_SUB(kind, n) (((kind) << 16) | ((n) & 0xffff))
#define LT_NR_SOFTIRQS   10

/* net classes: kind and a number (the device's ifindex, in its own network
 * namespace; for drops the kernel's skb_drop_reason; for UDP queueing
 * failures the negated error).  rx stack, tx and drops: tgid 0, comm = the
 * device's name; rx delivered: tgid/comm = the reading process. */
#define LT_NET_RX_STACK     0 /* netif_receive_skb -> sk_data_ready (queued to the socket) */
#define LT_NET_RX_DELIVERED 1 /* netif_receive_skb -> recv() of that datagram (TCP: of its oldest byte) */
#define LT_NET_TX_QUEUE     2 /* net_dev_queue -> net_dev_start_xmit */
#define LT_NET_DROP         3 /* kfree_skb, per drop reason (delay 0: a count) */
#define LT_NET_UDP_FAIL     4 /* udp_fail_queue_rcv_skb, per error (delay 0) */
#define LT_NET_SUB(kind, n) (((kind) << 24) | ((n) & 0xffffff))

/* syscall tracker: a syscall in flight (sys_start map, read by user space
 * for the stuck sweep).  One entry per thread from its first syscall to its
 * exit; ts 0 means no syscall in flight. */
#define LT_SYS_HAS_STACK 0x1 /* its blocking stack is in sys_stacks */
struct lt_sys_start {
	__u64 ts;    /* sys_enter, ns; 0: between syscalls */
	__u32 nr;    /* syscall number */
	__u32 flags; /* LT_SYS_* */
};

/* syscall tracker: the syscall in flight of the thread running on a CPU
 * (sys_cpu, a per-CPU array of one: the hot path, no hash).  At
 * sched_switch a thread switched out inside a syscall moves it to
 * sys_start[tid] and the slot is cleared, so a slot with ts != 0 always
 * belongs to the thread on that CPU.  User space reads it for the stuck
 * sweep (a syscall that has run for long without ever switching out). */
#define LT_SYS_CACHE_BITS 6
struct lt_sys_cache_ent {
	__u32 nr, tgid;
	__u64 comm0, comm1; /* the group leader's comm, raw */
	__u32 idx, epoch;
};

struct lt_sys_cpu {
	__u64 ts;    /* sys_enter, ns; 0: none in flight on this CPU */
	__u32 tid;
	__u32 nr;
	/* The histogram index of recent syscall classes on this CPU
	 * (bpf/syscall.bpf.c, sys_hist_add); in the same value as the slot
	 * above, which the exit has already looked up. */
	struct lt_sys_cache_ent cache[1 << LT_SYS_CACHE_BITS];
};

/* block tracker: a request in flight (blk_start map, keyed by the struct
 * request pointer; read by user space for the stuck sweep).  The request
 * is queued while issue_ns is 0, issued (in the driver) after. */
struct lt_blk_start {
	__u64 insert_ns; /* 0: not inserted (issued directly) */
	__u64 issue_ns;  /* 0: not issued yet */
	__u64 sector;
	__u32 bytes;
	__u32 op;
	__u32 pid, tid;  /* the task current at insert (or issue): the submitter */
	__u64 cgroup_id;
	__u32 dev;       /* major << 20 | minor, read at insert (or issue) */
	__u32 pad;
	char comm[LT_COMM_LEN];
};

/* lt_event.flags */
#define LT_EV_KSTACK_BLOCKED 0x1 /* kstack: where the task blocked (syscall) */
#define LT_EV_KSTACK_SLEEP   0x2 /* kstack: the sleeper's stack (offcpu) */
#define LT_EV_WAKER          0x4 /* waker_* are set */
#define LT_EV_PREEMPTED      0x8 /* wakeup: back on the run queue by preemption, no waker */
#define LT_EV_PREV           0x10 /* prev_* are set (wakeup: task it waited behind) */

/* One outlier, from kernel to user space through the lt_events ring buffer.
 * Times are CLOCK_MONOTONIC ns (bpf_ktime_get_ns); stack sizes in frames. */
struct lt_event {
	__u32 trk;
	__u32 flags;
	__u64 begin_ns;
	__u64 end_ns;
	__u64 delay_ns;
	__u64 cgroup_id;   /* cgroup v2 id of the measured task */
	__u32 pid;         /* measured task: tgid */
	__u32 tid;
	__u32 cpu;         /* CPU where the end was seen */
	__u32 sub;         /* class: syscall nr / CPU / task state */
	__s64 ret;         /* syscall return value */
	char comm[LT_COMM_LEN];
	__u32 waker_pid, waker_tid;
	char waker_comm[LT_COMM_LEN];
	__u32 prev_pid, prev_tid;
	char prev_comm[LT_COMM_LEN];
	__u32 kstack_n, ustack_n, wstack_n, pad;
	/* block: the request (pid/tid/comm above: the task that issued it).
	 * net: bytes, dev = ifindex, disk = device name; rx: sector = the
	 * socket's IP protocol, queue_ns = arrival -> queued to the socket,
	 * ret = recv()'s return (pid/tid/comm: the reader; tx: the sender) */
	__u64 sector;
	__u32 bytes;
	__u32 dev;         /* major << 20 | minor */
	__u64 queue_ns;    /* insert -> issue, 0 when not queued */
	char disk[32];
	__u64 kstack[LT_KSTACK_MAX]; /* measured task, kernel */
	__u64 ustack[LT_USTACK_MAX]; /* measured task, user (syscall: call site) */
	__u64 wstack[LT_KSTACK_MAX]; /* waker, kernel (offcpu) */
};

#endif
