// SPDX-License-Identifier: GPL-2.0
/* block tracker: block_rq_insert -> block_rq_issue -> block_rq_complete,
 * keyed by the request.
 *
 * Two histograms per {device, operation}: queued (insert -> issue, the I/O
 * scheduler's share) and service (issue -> complete, the device's).  An
 * outlier is a request whose total (insert or issue -> complete) exceeds
 * the threshold; it carries the device, operation, sector, bytes, both
 * times and the task that submitted it.  The filters apply to the task
 * current at insert (or at issue for a request that was not inserted):
 * for synchronous and direct I/O, the submitter.
 *
 * Requests in flight (blk_start, struct lt_blk_start) are swept by user
 * space for those older than the block timeout (stuck): the record keeps
 * what is known before completion, the device included. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lt_common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Position of the request among the tracepoints' arguments: 0 since 5.11,
 * 1 before (they also passed the queue).  Set by the loader from the
 * kernel's BTF (the btf_trace_* prototypes), not from a version number. */
const volatile int insert_rq_arg = 0;
const volatile int issue_rq_arg = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct request * */
	__type(value, struct lt_blk_start);
} blk_start SEC(".maps");

/* rq->rq_disk was replaced by rq->q->disk in 5.16 */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *rq_disk(struct request *rq)
{
	if (bpf_core_field_exists(((struct request___old *)rq)->rq_disk))
		return BPF_CORE_READ((struct request___old *)rq, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
}

static __always_inline void on_begin(struct request *rq, bool insert)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	struct lt_blk_start *sp = bpf_map_lookup_elem(&blk_start, &key), s = {};
	struct gendisk *disk;

	if (sp) { /* inserted earlier: now issued (or requeued and re-inserted) */
		if (insert)
			sp->insert_ns = now;
		else
			sp->issue_ns = now;
		return;
	}
	if (!lt_task_match(t))
		return;
	if (insert)
		s.insert_ns = now;
	else
		s.issue_ns = now;
	s.sector = BPF_CORE_READ(rq, __sector);
	s.bytes = BPF_CORE_READ(rq, __data_len);
	s.op = BPF_CORE_READ(rq, cmd_flags) & 0xff; /* REQ_OP_MASK */
	s.pid = BPF_CORE_READ(t, tgid);
	s.tid = BPF_CORE_READ(t, pid);
	s.cgroup_id = lt_task_cgid(t);
	disk = rq_disk(rq);
	s.dev = (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
	bpf_get_current_comm(&s.comm, sizeof(s.comm));
	if (bpf_map_update_elem(&blk_start, &key, &s, BPF_ANY))
		lt_drop(LT_TRK_BLOCK, LT_DROP_INFLIGHT);
}

static __always_inline void on_complete(struct request *rq, long error)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns(), begin, total;
	struct lt_blk_start *sp = bpf_map_lookup_elem(&blk_start, &key), s;
	struct gendisk *disk = rq_disk(rq);
	struct lt_class_key k = {};
	struct lt_event *e;
	__u32 dev;

	if (!sp)
		return;
	s = *sp;
	bpf_map_delete_elem(&blk_start, &key);
	if (!s.issue_ns) /* completed without an issue we saw */
		return;
	dev = (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
	k.trk = LT_TRK_BLOCK;
	k.tgid = dev;
	BPF_CORE_READ_STR_INTO(&k.comm, disk, disk_name);
	if (s.insert_ns && s.issue_ns >= s.insert_ns) {
		k.sub = LT_BLK_SUB(LT_BLK_QUEUE, s.op);
		lt_hist_add(&k, s.issue_ns - s.insert_ns);
	}
	k.sub = LT_BLK_SUB(LT_BLK_SERVICE, s.op);
	lt_hist_add(&k, now - s.issue_ns);

	begin = s.insert_ns ? s.insert_ns : s.issue_ns;
	total = now - begin;
	if (total <= lt_threshold(LT_TRK_BLOCK))
		return;
	e = lt_event_reserve(LT_TRK_BLOCK);
	if (!e)
		return;
	e->begin_ns = begin;
	e->end_ns = now;
	e->delay_ns = total;
	e->queue_ns = s.insert_ns ? s.issue_ns - s.insert_ns : 0;
	e->pid = s.pid;
	e->tid = s.tid;
	__builtin_memcpy(e->comm, s.comm, LT_COMM_LEN);
	e->cgroup_id = s.cgroup_id;
	e->cpu = bpf_get_smp_processor_id();
	e->sub = LT_BLK_SUB(LT_BLK_TOTAL, s.op);
	e->ret = error;
	e->sector = s.sector;
	e->bytes = s.bytes;
	e->dev = dev;
	BPF_CORE_READ_STR_INTO(&e->disk, disk, disk_name);
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(blk_insert_btf)
{
	on_begin((struct request *)(insert_rq_arg ? ctx[1] : ctx[0]), true);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(blk_issue_btf)
{
	on_begin((struct request *)(issue_rq_arg ? ctx[1] : ctx[0]), false);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(blk_complete_btf, struct request *rq, int error)
{
	on_complete(rq, error);
	return 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(blk_insert_raw)
{
	on_begin((struct request *)(insert_rq_arg ? ctx[1] : ctx[0]), true);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(blk_issue_raw)
{
	on_begin((struct request *)(issue_rq_arg ? ctx[1] : ctx[0]), false);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(blk_complete_raw, struct request *rq, int error)
{
	on_complete(rq, error);
	return 0;
}
