// SPDX-License-Identifier: GPL-2.0
/* net tracker: time of a received UDP datagram or TCP data in the host, up
 * to the socket (rx stack) and up to the reader's recv() (rx delivered); time of
 * a sent packet in the queueing discipline (tx); drops counted per reason.
 *
 * Why not keyed by the sk_buff: between netif_receive_skb and the reader
 * a packet can become another sk_buff with another data buffer (a clone
 * for a tap, copied when written), and UDP copies to user space with no
 * tracepoint.  What does survive is the order of a socket's queue:
 *
 *   netif_receive_skb    per CPU: arrival time and device of the packet
 *                        being processed (__netif_receive_skb_core, on
 *                        the CPU that runs the protocol code);
 *   sk_data_ready(sk)    same CPU, same softirq, right after the datagram
 *                        was queued to sk: push that arrival time onto
 *                        sk's FIFO;
 *   sock_recv_length     a recv() that took a datagram (ret >= 0, not
 *                        MSG_PEEK or MSG_ERRQUEUE): pop the oldest.
 *
 * A UDP socket's receive queue is FIFO and one recv() takes one datagram,
 * so the pairing is exact for UDP.  A TCP recv() takes any number of
 * segments, or part of one: TCP sockets have a FIFO of byte ranges by
 * sequence number instead (net_tcp, see "TCP" below), and a recv() counts
 * from the arrival of the oldest byte it took.
 *
 * The FIFO keeps NET_RING arrival times per socket.  Datagrams past that
 * (a reader far behind) are counted as lost (inflight_full) and become
 * "unknown" places in the queue, so later recv()s still pop the right
 * times.  A recv() that finds the FIFO empty (a reader on another CPU took
 * the datagram between its queueing and sk_data_ready) is remembered as a
 * debt, paid by the next push.  A FIFO created while datagrams already
 * wait in the socket (queued before latrack started) starts with them as
 * unknown places.  A FIFO that empties is deleted, so sockets
 * whose readers keep up cost no map entry; TCP sockets are deleted when
 * they close (inet_sock_set_state).  A UDP socket closed with unread
 * datagrams (no tracepoint there) leaves its entry behind: the entry
 * records the socket's inode number, and a different inode at the same
 * address means the old socket is gone, so the entry is reset. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "lt_common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define NET_RING        32
#define NET_AF_INET     2
#define NET_AF_INET6    10
#define NET_IPPROTO_UDP 17
#define NET_IPPROTO_TCP 6
#define NET_TCP_CLOSE   7
#define NET_TCP_LISTEN  10
#define NET_RCV_SHUTDOWN 1
#define NET_TCP_RING    32
/* A FIFO whose ranges span more than this is not this connection's (a
 * missed close): start again. */
#define NET_TCP_SANE    (1u << 30)
#define NET_MSG_PEEK     0x2
#define NET_MSG_ERRQUEUE 0x2000
/* A per-CPU arrival older than this at sk_data_ready was not this
 * packet's: one softirq does not run that long. */
#define NET_STALE_NS    1000000000ull

/* Set by the loader from the kernel's BTF: does kfree_skb pass a drop
 * reason (its third argument, since 5.17)? */
const volatile bool kfree_has_reason = true;

struct net_cpu {
	__u64 ts;
	__u32 ifindex;
	__u32 probe_seq;   /* tcp_probe: first sequence number of the segment */
	char dev[LT_COMM_LEN];
	__u64 probe_sk;    /* tcp_probe: its socket */
	__u64 probe_ts;    /* tcp_probe: ts (the arrival) when it fired */
	__u64 probe_arr;   /* tcp_probe from the backlog: the segment's arrival (0: unknown) */
	__u32 probe_ifindex;
	__u32 pad2;
	char probe_dev[LT_COMM_LEN];
};

/* TCP segments with data, by data buffer (skb->head: a tap's clone shares
 * it): arrival time and device, for the segments a task's release_sock()
 * processes from the socket's backlog later, maybe on another CPU. */
struct net_arrival {
	__u64 ts;
	__u32 ifindex;
	__u32 pad;
	char dev[LT_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* skb->head */
	__type(value, struct net_arrival);
} net_arrival SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_cpu);
} net_cpu SEC(".maps");

struct net_fifo {
	__u64 ts[NET_RING];
	__u64 stack_ns[NET_RING]; /* arrival -> queued to the socket */
	__u32 ifindex[NET_RING];
	__u32 head, tail;  /* pop at head, push at tail (free-running) */
	__u32 unknown;     /* datagrams queued after the ring filled: no time */
	__u32 debt;        /* recv()s seen before their push */
	__u32 before;      /* datagrams queued before the FIFO existed: no time */
	__u32 pad;
	__u64 ino;         /* socket inode: detects a freed and reused sk */
	char dev[LT_COMM_LEN]; /* device of the last datagram pushed */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* struct sock * */
	__type(value, struct net_fifo);
} net_fifo SEC(".maps");

/* Source of an empty FIFO (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_fifo);
} net_fifo_zero SEC(".maps");

/* TCP: ranges of the byte stream, in sequence numbers, each with the
 * arrival of the segment that made it readable (in order). */
struct net_tcp {
	__u64 ts[NET_TCP_RING];       /* arrival; 0: unknown (queued from the backlog) */
	__u32 end[NET_TCP_RING];      /* sequence number after the range's last byte */
	__u32 stack_ns[NET_TCP_RING]; /* arrival -> queued to the socket */
	__u32 ifindex[NET_TCP_RING];
	__u32 head, tail;  /* pop at head, push at tail (free-running) */
	__u32 base;        /* first byte of the head range: bytes before it were
			    * read, or queued with no known arrival */
	__u32 end_seq;     /* after the last byte accounted for */
	__u32 unk;         /* the ring was full: [end of the ring, end_seq) have no time */
	__u32 pad;
	char dev[LT_COMM_LEN]; /* device of the last range pushed */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* struct sock * */
	__type(value, struct net_tcp);
} net_tcp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_tcp);
} net_tcp_zero SEC(".maps");

struct net_tx {
	__u64 ts;
	__u32 ifindex;
	__u32 pid, tid;
	__u32 bytes;
	__u64 cgroup_id;
	char comm[LT_COMM_LEN];
	char dev[LT_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct sk_buff *: the same one on this path */
	__type(value, struct net_tx);
} net_tx SEC(".maps");

static __always_inline bool filtered(void)
{
	return targ_tgid || targ_tid || targ_comm_on || targ_cgid;
}

static __always_inline __u64 sock_ino(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
}

/* UDP datagrams waiting in sk besides the one just queued: the receive
 * queue and UDP's reader queue (recvmsg moves the receive queue there in
 * batches). */
static __always_inline __u32 queued_before(const struct sock *sk)
{
	const struct udp_sock *up = (const void *)sk;
	__u32 n = BPF_CORE_READ(sk, sk_receive_queue.qlen);

	if (bpf_core_field_exists(up->reader_queue))
		n += BPF_CORE_READ(up, reader_queue.qlen);
	return n ? n - 1 : 0;
}

static __always_inline bool is_udp(const struct sock *sk)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

	return (fam == NET_AF_INET || fam == NET_AF_INET6) &&
	       BPF_CORE_READ(sk, sk_protocol) == NET_IPPROTO_UDP;
}

static __always_inline bool is_tcp(const struct sock *sk)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

	return (fam == NET_AF_INET || fam == NET_AF_INET6) &&
	       BPF_CORE_READ(sk, sk_protocol) == NET_IPPROTO_TCP;
}

/* Device classes (rx stack, tx, drops): no measured task. */
static __always_inline void dev_sample(__u32 kind, __u32 n, const char *dev, __u64 delay)
{
	struct lt_class_key k = {};

	k.trk = LT_TRK_NET;
	k.sub = LT_NET_SUB(kind, n);
	__builtin_memcpy(k.comm, dev, LT_COMM_LEN);
	lt_hist_add(&k, delay);
}

/* A TCP segment with data (IPv4, or IPv6 without extension headers):
 * remember its arrival by data buffer, in case it waits in a socket's
 * backlog.  skb->data is at the network header here. */
static __always_inline void note_tcp_arrival(struct sk_buff *skb, const struct net_cpu *c)
{
	__u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol)), len = 0;
	unsigned char *data = BPF_CORE_READ(skb, data);
	__u8 b[2] = {}, l4 = 0, doff = 0;
	__u32 l3 = 0;
	struct net_arrival a = {};
	__u64 head;

	if (proto == 0x0800) { /* IPv4 */
		if (bpf_probe_read_kernel(b, 1, data) || bpf_probe_read_kernel(&l4, 1, data + 9) ||
		    bpf_probe_read_kernel(&len, 2, data + 2))
			return;
		l3 = (b[0] & 0xf) * 4;
		len = bpf_ntohs(len);
		if (len < l3)
			return;
		len -= l3;
	} else if (proto == 0x86DD) { /* IPv6 */
		if (bpf_probe_read_kernel(&l4, 1, data + 6) || bpf_probe_read_kernel(&len, 2, data + 4))
			return;
		l3 = 40;
		len = bpf_ntohs(len);
	} else {
		return;
	}
	if (l4 != NET_IPPROTO_TCP || l3 > 60 || bpf_probe_read_kernel(&doff, 1, data + l3 + 12))
		return;
	if (len <= (doff >> 4) * 4)
		return; /* no data: an ACK */
	head = (__u64)BPF_CORE_READ(skb, head);
	a.ts = c->ts;
	a.ifindex = c->ifindex;
	__builtin_memcpy(a.dev, c->dev, LT_COMM_LEN);
	bpf_map_update_elem(&net_arrival, &head, &a, BPF_ANY);
}

static __always_inline void on_receive(struct sk_buff *skb)
{
	__u32 zero = 0;
	struct net_cpu *c = bpf_map_lookup_elem(&net_cpu, &zero);
	struct net_device *dev = BPF_CORE_READ(skb, dev);

	if (!c)
		return;
	c->ts = bpf_ktime_get_ns();
	c->ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&c->dev, dev, name);
	note_tcp_arrival(skb, c);
}

static __always_inline void on_tcp_ready(const struct sock *sk, struct net_cpu *c, __u64 now);

static __always_inline void on_data_ready(const struct sock *sk)
{
	__u64 key = (__u64)sk, now, ino;
	__u32 zero = 0, i;
	struct net_cpu *c;
	struct net_fifo *f;

	c = bpf_map_lookup_elem(&net_cpu, &zero);
	now = bpf_ktime_get_ns();
	if (is_tcp(sk)) {
		on_tcp_ready(sk, c, now);
		return;
	}
	if (!is_udp(sk))
		return;
	if (!c || !c->ts || c->ts > now || now - c->ts > NET_STALE_NS)
		return;
	if (!filtered())
		dev_sample(LT_NET_RX_STACK, c->ifindex, c->dev, now - c->ts);

	ino = sock_ino(sk);
	f = bpf_map_lookup_elem(&net_fifo, &key);
	if (!f) {
		struct net_fifo *z = bpf_map_lookup_elem(&net_fifo_zero, &zero);

		if (!z)
			return;
		if (bpf_map_update_elem(&net_fifo, &key, z, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&net_fifo, &key)) {
			lt_drop(LT_TRK_NET, LT_DROP_INFLIGHT);
			return;
		}
		f = bpf_map_lookup_elem(&net_fifo, &key);
		if (!f)
			return;
		f->ino = ino;
		/* Datagrams already queued (before latrack started, or while
		 * the ring was gone) have no arrival time: unknown places. */
		f->before = queued_before(sk);
	}
	if (f->ino != ino) { /* the old socket at this address is gone */
		f->head = f->tail = f->unknown = f->debt = f->before = 0;
		f->ino = ino;
	}
	if (f->debt) { /* its recv() already happened */
		f->debt--;
		return;
	}
	if (f->unknown || f->tail - f->head >= NET_RING) {
		f->unknown++;
		lt_drop(LT_TRK_NET, LT_DROP_INFLIGHT);
		return;
	}
	i = f->tail % NET_RING;
	f->ts[i] = c->ts;
	f->stack_ns[i] = now - c->ts;
	f->ifindex[i] = c->ifindex;
	__builtin_memcpy(f->dev, c->dev, LT_COMM_LEN);
	f->tail++;
}

/* One rx delivery sample: the reader (current) took data that arrived at
 * ts on ifindex (dev: its name, for the outlier). */
static __always_inline void rx_sample(struct sock *sk, struct task_struct *t, __u64 ts,
				      __u64 stack_ns, __u32 ifindex, const char *dev, int ret)
{
	struct lt_class_key ck = {};
	struct lt_event *e;
	__u64 now, delay;

	if (!lt_task_match(t))
		return;
	now = bpf_ktime_get_ns();
	if (ts > now)
		return;
	delay = now - ts;
	ck.trk = LT_TRK_NET;
	ck.sub = LT_NET_SUB(LT_NET_RX_DELIVERED, ifindex);
	lt_class_proc(&ck, t);
	lt_hist_add(&ck, delay);
	if (delay <= lt_threshold(LT_TRK_NET))
		return;
	e = lt_event_reserve(LT_TRK_NET);
	if (!e)
		return;
	e->begin_ns = ts;
	e->end_ns = now;
	e->delay_ns = delay;
	lt_event_task(e, t); /* the reader */
	e->sub = LT_NET_SUB(LT_NET_RX_DELIVERED, ifindex);
	e->ret = ret;
	e->bytes = ret;
	e->dev = ifindex;
	e->queue_ns = stack_ns;
	e->sector = BPF_CORE_READ(sk, sk_protocol);
	__builtin_memcpy(e->disk, dev, LT_COMM_LEN);
	e->disk[LT_COMM_LEN] = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void on_udp_recv(struct sock *sk, int ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 key = (__u64)sk, ts, stack_ns;
	struct lt_class_key k = {};
	struct net_fifo *f;
	__u32 i, ifindex;

	f = bpf_map_lookup_elem(&net_fifo, &key);
	if (!f) {
		/* Nothing pushed: not followed, or a datagram that arrived
		 * before latrack started.  A debt here would need an entry per
		 * socket ever read: only a FIFO that exists keeps one. */
		return;
	}
	if (f->ino != sock_ino(sk))
		return;
	/* Queue order: the datagrams that were there before the FIFO, the
	 * ring, then those past the ring. */
	if (f->before || f->head == f->tail) {
		if (f->before)
			f->before--;
		else if (f->unknown)
			f->unknown--;
		else
			f->debt++;
		if (f->head == f->tail && !f->before && !f->unknown && !f->debt)
			bpf_map_delete_elem(&net_fifo, &key);
		return;
	}
	i = f->head % NET_RING;
	ts = f->ts[i];
	stack_ns = f->stack_ns[i];
	ifindex = f->ifindex[i];
	__builtin_memcpy(k.comm, f->dev, LT_COMM_LEN); /* device, for the outlier */
	f->head++;
	if (f->head == f->tail && !f->unknown && !f->debt)
		bpf_map_delete_elem(&net_fifo, &key);

	rx_sample(sk, t, ts, stack_ns, ifindex, k.comm, ret);
}

/* ---- TCP: byte accounting by sequence number ----
 *
 *   tcp_probe            per CPU: the first sequence number of the segment
 *                        tcp_rcv_established is about to process (to start
 *                        a new FIFO at the right byte);
 *   sk_data_ready(sk)    the bytes readable in order end at rcv_nxt: those
 *                        since the last push form one range, timed with
 *                        this CPU's arrival; when the segment came from
 *                        the socket's backlog (sk_lock.owned), with the
 *                        arrival tcp_probe found by its data buffer in
 *                        net_arrival (filled at netif_receive_skb);
 *   sock_recv_length     copied_seq is past the bytes taken: the sample is
 *                        now - arrival of the range of the oldest byte
 *                        taken; ranges taken whole are popped.
 *
 * rcv_nxt moves only for bytes in order: out-of-order segments count from
 * the arrival of the one that filled the gap, duplicates not at all.  Bytes
 * with no time (queued before the FIFO, from the backlog when net_arrival
 * lost it, past a full ring: inflight_full) give no sample to a recv() whose oldest byte they
 * hold.  A FIFO all read is deleted, and at TCP_CLOSE. */

static __always_inline bool seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

/* End of the data readable in order: rcv_nxt, less the FIN's sequence
 * number once a FIN was received (it takes one, carries no byte). */
static __always_inline __u32 tcp_data_end(const struct sock *sk)
{
	const struct tcp_sock *tp = (const void *)sk;
	__u32 rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
	__u64 done = 1ull << bpf_core_enum_value(enum sock_flags, SOCK_DONE);

	if ((BPF_CORE_READ(sk, sk_shutdown) & NET_RCV_SHUTDOWN) &&
	    (BPF_CORE_READ(sk, __sk_common.skc_flags) & done))
		return rcv_nxt - 1;
	return rcv_nxt;
}

/* A new FIFO: where the bytes of the segment just queued start.  Unread
 * bytes before them (queued before latrack started, or from the backlog
 * while no FIFO existed) have no arrival time.  tcp_probe named the
 * segment's first sequence number just before (tcp_rcv_established, same
 * CPU, same packet).  Without it (data received outside the ESTABLISHED
 * fast and slow paths), the tail of the receive queue: when the kernel
 * merged the segment into the previous unread skb (tcp_try_coalesce),
 * that skb's older bytes count as arriving now. */
static __always_inline __u32 tcp_split(const struct sock *sk, const struct net_cpu *c, __u32 end)
{
	const struct tcp_sock *tp = (const void *)sk;
	__u32 copied = BPF_CORE_READ(tp, copied_seq), seq;
	struct sk_buff *tail;

	if (c->probe_sk == (__u64)sk && c->probe_ts == c->ts) {
		seq = c->probe_seq;
	} else {
		if (!BPF_CORE_READ(sk, sk_receive_queue.qlen))
			return end;
		tail = BPF_CORE_READ(sk, sk_receive_queue.prev);
		if (!tail || bpf_core_read(&seq, sizeof(seq), &tail->cb)) /* TCP_SKB_CB(tail)->seq */
			return end;
	}
	if (seq_before(seq, copied))
		return copied;
	if (seq_before(end, seq))
		return end;
	return seq;
}

/* tcp_probe, at the top of tcp_rcv_established: the segment about to be
 * processed (its sequence numbers are in TCP_SKB_CB). */
static __always_inline void on_tcp_probe(const struct sock *sk, const struct sk_buff *skb)
{
	__u32 zero = 0, seq;
	struct net_cpu *c = bpf_map_lookup_elem(&net_cpu, &zero);

	if (!c || bpf_core_read(&seq, sizeof(seq), &skb->cb))
		return;
	c->probe_sk = (__u64)sk;
	c->probe_seq = seq;
	c->probe_ts = c->ts;
	c->probe_arr = 0;
	if (BPF_CORE_READ(sk, sk_lock.owned)) { /* from the backlog */
		__u64 head = (__u64)BPF_CORE_READ(skb, head);
		struct net_arrival *a = bpf_map_lookup_elem(&net_arrival, &head);

		if (a) {
			c->probe_arr = a->ts;
			c->probe_ifindex = a->ifindex;
			__builtin_memcpy(c->probe_dev, a->dev, LT_COMM_LEN);
			bpf_map_delete_elem(&net_arrival, &head);
		}
	}
}

/* sk_data_ready on a TCP socket: the bytes that became readable in order
 * since the last push arrived with the packet this CPU is processing. */
static __always_inline void on_tcp_ready(const struct sock *sk, struct net_cpu *c, __u64 now)
{
	__u64 key = (__u64)sk, ts = 0;
	__u32 zero = 0, end, i, ifindex = 0;
	bool backlog = false;
	struct net_tcp *f;

	if (!c || BPF_CORE_READ(sk, __sk_common.skc_state) == NET_TCP_LISTEN)
		return; /* a connection to accept, not data */
	/* kTLS, MPTCP subflows...: the reader's recv() does not count the
	 * bytes of this stream */
	if (BPF_CORE_READ((const struct inet_connection_sock *)sk, icsk_ulp_ops))
		return;
	/* In softirq, the socket is not owned by a task.  When it is, this
	 * is release_sock() processing segments queued to the backlog while
	 * a task held the socket: the CPU's arrival is another packet's; the
	 * segment's own is the one tcp_probe found by its data buffer. */
	if (!BPF_CORE_READ(sk, sk_lock.owned)) {
		if (c->ts && c->ts <= now && now - c->ts <= NET_STALE_NS) {
			ts = c->ts;
			ifindex = c->ifindex;
		}
	} else if (c->probe_sk == key && c->probe_ts == c->ts && c->probe_arr &&
		   c->probe_arr <= now && now - c->probe_arr <= NET_STALE_NS) {
		ts = c->probe_arr;
		ifindex = c->probe_ifindex;
		backlog = true;
	}
	end = tcp_data_end(sk);

	f = bpf_map_lookup_elem(&net_tcp, &key);
	if (!f) {
		struct net_tcp *z;

		if (!ts)
			return; /* nothing to time */
		z = bpf_map_lookup_elem(&net_tcp_zero, &zero);
		if (!z)
			return;
		if (bpf_map_update_elem(&net_tcp, &key, z, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&net_tcp, &key)) {
			lt_drop(LT_TRK_NET, LT_DROP_INFLIGHT);
			return;
		}
		f = bpf_map_lookup_elem(&net_tcp, &key);
		if (!f)
			return;
		f->base = f->end_seq = tcp_split(sk, c, end);
	} else if (seq_before(end, f->end_seq) || end - f->base > NET_TCP_SANE) {
		f->head = f->tail = f->unk = 0;
		f->base = f->end_seq = tcp_split(sk, c, end);
	}
	if (!seq_before(f->end_seq, end))
		return; /* no new byte in order (an ACK, a FIN, out of order) */
	if (ts && !backlog && !filtered())
		dev_sample(LT_NET_RX_STACK, c->ifindex, c->dev, now - ts);

	if (f->tail - f->head >= NET_TCP_RING) {
		/* Full.  Ranges already read without sock_recv_length
		 * (splice, zero-copy receive) go first; only here, as a recv()
		 * in progress (copied, its tracepoint not yet fired) would lose
		 * its oldest range. */
		__u32 copied = BPF_CORE_READ((const struct tcp_sock *)sk, copied_seq), n;

		for (n = 0; n < NET_TCP_RING && f->head != f->tail; n++) {
			i = f->head % NET_TCP_RING;
			if (seq_before(copied, f->end[i]))
				break;
			f->base = f->end[i];
			f->head++;
		}
		if (f->head == f->tail && f->unk) {
			f->base = f->end_seq;
			f->unk = 0;
		}
	}
	if (f->unk || f->tail - f->head >= NET_TCP_RING) {
		f->unk = 1;
		f->end_seq = end;
		lt_drop(LT_TRK_NET, LT_DROP_INFLIGHT);
		return;
	}
	if (!ts) {
		if (f->tail == f->head) { /* unknown bytes first: like "before" */
			f->base = f->end_seq = end;
			return;
		}
		i = (f->tail - 1) % NET_TCP_RING;
		if (!f->ts[i]) { /* extend the unknown range before it */
			f->end[i] = end;
			f->end_seq = end;
			return;
		}
	}
	i = f->tail % NET_TCP_RING;
	f->ts[i] = ts;
	f->end[i] = end;
	f->stack_ns[i] = ts ? now - ts : 0;
	f->ifindex[i] = ifindex;
	if (ts)
		__builtin_memcpy(f->dev, backlog ? c->probe_dev : c->dev, LT_COMM_LEN);
	f->tail++;
	f->end_seq = end;
}

/* A recv() that took ret bytes of a TCP socket, not MSG_PEEK: copied_seq
 * is past them.  Its delay: now - arrival of the oldest byte it took. */
static __always_inline void on_tcp_recv(struct sock *sk, int ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	const struct tcp_sock *tp = (const void *)sk;
	__u64 key = (__u64)sk, ts = 0, stack_ns = 0;
	__u32 copied, start, i, n, ifindex = 0;
	char dev[LT_COMM_LEN];
	struct net_tcp *f;

	f = bpf_map_lookup_elem(&net_tcp, &key);
	if (!f)
		return;
	copied = BPF_CORE_READ(tp, copied_seq);
	start = copied - ret;
	/* a recv() that reached the FIN moved copied_seq one past it */
	if (tcp_data_end(sk) != BPF_CORE_READ(tp, rcv_nxt) && copied == BPF_CORE_READ(tp, rcv_nxt))
		start--;
	/* ranges read before this recv() by a path without a tracepoint
	 * (splice, zero-copy receive) */
	for (n = 0; n < NET_TCP_RING && f->head != f->tail; n++) {
		i = f->head % NET_TCP_RING;
		if (seq_before(start, f->end[i]))
			break;
		f->base = f->end[i];
		f->head++;
	}
	if (ret > 0 && f->head != f->tail && !seq_before(start, f->base)) {
		i = f->head % NET_TCP_RING;
		ts = f->ts[i];
		stack_ns = f->stack_ns[i];
		ifindex = f->ifindex[i];
	}
	__builtin_memcpy(dev, f->dev, LT_COMM_LEN);
	/* the ranges this recv() finished */
	for (n = 0; n < NET_TCP_RING && f->head != f->tail; n++) {
		i = f->head % NET_TCP_RING;
		if (seq_before(copied, f->end[i]))
			break;
		f->base = f->end[i];
		f->head++;
	}
	if (f->head == f->tail) {
		if (f->unk) { /* what was past the ring is now first: unknown */
			f->base = f->end_seq;
			f->unk = 0;
		}
		if (!seq_before(copied, f->end_seq))
			bpf_map_delete_elem(&net_tcp, &key); /* all read */
	}
	if (ts)
		rx_sample(sk, t, ts, stack_ns, ifindex, dev, ret);
}

static __always_inline void on_recv(struct sock *sk, int ret, int flags)
{
	if (ret < 0 || (flags & (NET_MSG_PEEK | NET_MSG_ERRQUEUE)))
		return;
	if (BPF_CORE_READ(sk, sk_protocol) == NET_IPPROTO_TCP)
		on_tcp_recv(sk, ret);
	else
		on_udp_recv(sk, ret);
}

static __always_inline void on_set_state(const struct sock *sk, int newstate)
{
	__u64 key = (__u64)sk;

	if (newstate == NET_TCP_CLOSE) {
		bpf_map_delete_elem(&net_fifo, &key);
		bpf_map_delete_elem(&net_tcp, &key);
	}
}

static __always_inline void on_kfree(struct sk_buff *skb, __u32 reason)
{
	char dev[LT_COMM_LEN] = {};
	struct net_device *d;

	if (filtered())
		return;
	d = BPF_CORE_READ(skb, dev);
	if (d)
		BPF_CORE_READ_STR_INTO(&dev, d, name);
	dev_sample(LT_NET_DROP, reason, dev, 0);
}

static __always_inline void on_udp_fail(int rc)
{
	char dev[LT_COMM_LEN] = {};

	if (filtered())
		return;
	dev_sample(LT_NET_UDP_FAIL, (__u32)-rc, dev, 0);
}

static __always_inline void on_queue(struct sk_buff *skb)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	__u64 key = (__u64)skb;
	struct net_tx s = {};

	if (!lt_task_match(t))
		return;
	s.ts = bpf_ktime_get_ns();
	s.ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&s.dev, dev, name);
	s.pid = BPF_CORE_READ(t, tgid);
	s.tid = BPF_CORE_READ(t, pid);
	s.bytes = BPF_CORE_READ(skb, len);
	s.cgroup_id = lt_task_cgid(t);
	bpf_get_current_comm(&s.comm, sizeof(s.comm));
	if (bpf_map_update_elem(&net_tx, &key, &s, BPF_ANY))
		lt_drop(LT_TRK_NET, LT_DROP_INFLIGHT);
}

static __always_inline void on_xmit(const struct sk_buff *skb)
{
	__u64 key = (__u64)skb, now, delay;
	struct net_tx *sp = bpf_map_lookup_elem(&net_tx, &key), s;
	struct lt_event *e;

	if (!sp)
		return;
	s = *sp;
	bpf_map_delete_elem(&net_tx, &key);
	now = bpf_ktime_get_ns();
	if (s.ts > now)
		return;
	delay = now - s.ts;
	dev_sample(LT_NET_TX_QUEUE, s.ifindex, s.dev, delay);
	if (delay <= lt_threshold(LT_TRK_NET))
		return;
	e = lt_event_reserve(LT_TRK_NET);
	if (!e)
		return;
	e->begin_ns = s.ts;
	e->end_ns = now;
	e->delay_ns = delay;
	e->pid = s.pid; /* the sender (current at net_dev_queue) */
	e->tid = s.tid;
	__builtin_memcpy(e->comm, s.comm, LT_COMM_LEN);
	e->cgroup_id = s.cgroup_id;
	e->cpu = bpf_get_smp_processor_id();
	e->sub = LT_NET_SUB(LT_NET_TX_QUEUE, s.ifindex);
	e->bytes = s.bytes;
	e->dev = s.ifindex;
	e->queue_ns = 0;
	e->sector = 0;
	__builtin_memcpy(e->disk, s.dev, LT_COMM_LEN);
	e->disk[LT_COMM_LEN] = 0;
	bpf_ringbuf_submit(e, 0);
}

/* A tx skb freed before it reached the driver (qdisc drop) leaves its
 * begin behind: kfree_skb removes it. */
static __always_inline void forget_tx(const struct sk_buff *skb)
{
	__u64 key = (__u64)skb;

	bpf_map_delete_elem(&net_tx, &key);
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(net_rx_btf, struct sk_buff *skb) { on_receive(skb); return 0; }
SEC("tp_btf/sk_data_ready")
int BPF_PROG(net_ready_btf, const struct sock *sk) { on_data_ready(sk); return 0; }
SEC("tp_btf/sock_recv_length")
int BPF_PROG(net_recv_btf, struct sock *sk, int ret, int flags) { on_recv(sk, ret, flags); return 0; }
SEC("tp_btf/tcp_probe")
int BPF_PROG(net_tcpprobe_btf, struct sock *sk, struct sk_buff *skb) { on_tcp_probe(sk, skb); return 0; }
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(net_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	on_set_state(sk, newstate);
	return 0;
}
SEC("tp_btf/kfree_skb")
int BPF_PROG(net_kfree_btf, struct sk_buff *skb)
{
	forget_tx(skb);
	on_kfree(skb, kfree_has_reason ? (__u32)ctx[2] : 0);
	return 0;
}
SEC("tp_btf/udp_fail_queue_rcv_skb")
int BPF_PROG(net_udpfail_btf, int rc) { on_udp_fail(rc); return 0; }
SEC("tp_btf/net_dev_queue")
int BPF_PROG(net_queue_btf, struct sk_buff *skb) { on_queue(skb); return 0; }
SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(net_xmit_btf, const struct sk_buff *skb) { on_xmit(skb); return 0; }

SEC("raw_tp/netif_receive_skb")
int BPF_PROG(net_rx_raw, struct sk_buff *skb) { on_receive(skb); return 0; }
SEC("raw_tp/sk_data_ready")
int BPF_PROG(net_ready_raw, const struct sock *sk) { on_data_ready(sk); return 0; }
SEC("raw_tp/sock_recv_length")
int BPF_PROG(net_recv_raw, struct sock *sk, int ret, int flags) { on_recv(sk, ret, flags); return 0; }
SEC("raw_tp/tcp_probe")
int BPF_PROG(net_tcpprobe_raw, struct sock *sk, struct sk_buff *skb) { on_tcp_probe(sk, skb); return 0; }
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(net_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	on_set_state(sk, newstate);
	return 0;
}
SEC("raw_tp/kfree_skb")
int BPF_PROG(net_kfree_raw, struct sk_buff *skb)
{
	forget_tx(skb);
	on_kfree(skb, kfree_has_reason ? (__u32)ctx[2] : 0);
	return 0;
}
SEC("raw_tp/udp_fail_queue_rcv_skb")
int BPF_PROG(net_udpfail_raw, int rc) { on_udp_fail(rc); return 0; }
SEC("raw_tp/net_dev_queue")
int BPF_PROG(net_queue_raw, struct sk_buff *skb) { on_queue(skb); return 0; }
SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(net_xmit_raw, const struct sk_buff *skb) { on_xmit(skb); return 0; }
