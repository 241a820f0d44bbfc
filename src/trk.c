/* The set of kernel trackers: hook probing, shared maps, lifecycle
 * (open -> configure rodata -> load -> attach), loss counters, thresholds
 * and the stuck sweep.  See trk.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kclass.h"
#include "trk.h"

/* Maps every object declares (lt_common.bpf.h) and only the first creates. */
enum { SM_EVENTS, SM_DROPS, SM_THRESH, SM_CLS, SM_HARR, SM_FREE, NR_SHARED };
static const char *const shared_maps[NR_SHARED] = {
	[SM_EVENTS] = "lt_events", [SM_DROPS] = "lt_drops", [SM_THRESH] = "lt_thresh",
	[SM_CLS] = "lt_cls", [SM_HARR] = "lt_harr", [SM_FREE] = "lt_free",
};

#define MAX_UNITS 5
#define MAX_STUCK 4096

struct stuck_seen {
	uint32_t tid;
	uint64_t begin_ns;
};

struct blk_seen {
	uint64_t rq, begin_ns;
};

struct trk_set {
	struct trk_unit units[MAX_UNITS];
	int nr_units;
	bool btf;
	int shared_fds[NR_SHARED]; /* indexed SM_* */
	struct kct *kct; /* the class table (lt_cls, lt_harr, lt_free) */
	int sys_inflight_fd, sys_cpu_fd;
	int ncpu;
	struct lt_sys_cpu *sys_cpu, *sys_cpu2; /* sweep buffers: ncpu slots each */
	struct stuck_seen *seen;
	size_t nr_seen;
	int blk_inflight_fd;
	bool loaded[LT_TRK_MAX], on[LT_TRK_MAX];
	bool attached[MAX_UNITS];
	struct blk_seen *blk_seen; /* sorted */
	size_t nr_blk_seen;
};

static bool verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Can a tp_btf program attach to this tracepoint?  Load (not attach) the
 * smallest BPF_PROG_TYPE_TRACING program for it, as bcc does. */
bool trk_probe_tp_btf(const char *tp)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id, fd;

	id = libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP);
	if (id <= 0)
		return false;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

void trk_unit_init(struct trk_unit *u, const char *name, void *skel, struct bpf_object *obj,
		   int (*load)(void *), int (*attach)(void *), void (*destroy)(void *), bool btf)
{
	u->name = name;
	u->skel = skel;
	u->obj = obj;
	u->load = load;
	u->attach = attach;
	u->destroy = destroy;
	u->inflight_fd = -1;
	trk_unit_select_hooks(u, btf);
}

void trk_unit_select_hooks(struct trk_unit *u, bool btf)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, u->obj) {
		const char *sec = bpf_program__section_name(p);
		bool is_btf = !strncmp(sec, "tp_btf/", 7);

		bpf_program__set_autoload(p, is_btf == btf);
	}
}

static int share_maps(struct trk_unit *dst, const struct trk_set *s)
{
	for (size_t i = 0; i < NR_SHARED; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(dst->obj, shared_maps[i]);
		int err;

		if (!m)
			return -ENOENT;
		err = bpf_map__reuse_fd(m, s->shared_fds[i]);
		if (err)
			return err;
	}
	return 0;
}

#include "latrack/hist_layout.h"

static uint64_t class_bytes_per_cpu(void)
{
	return (sizeof(struct lt_hist_raw) + 7) / 8 * 8;
}

uint64_t trk_classes_bytes(uint32_t classes)
{
	int ncpu = libbpf_num_possible_cpus();

	return (uint64_t)classes * class_bytes_per_cpu() * (uint64_t)(ncpu > 0 ? ncpu : 1);
}

uint32_t trk_default_classes(bool filtered)
{
	uint64_t n = (32ull << 20) / trk_classes_bytes(1);

	if (n > 2048)
		n = 2048;
	if (filtered && n > 256)
		n = 256;
	if (n < 128)
		n = 128;
	return (uint32_t)n;
}

static int map_fd(struct trk_unit *u, const char *name)
{
	return bpf_map__fd(bpf_object__find_map_by_name(u->obj, name));
}

/* The options a unit is opened with: its tracker's own filter when per_trk. */
static const struct trk_opts *opts_for(struct trk_opts *copy, const struct trk_opts *o, enum lt_trk t)
{
	if (!o->per_trk)
		return o;
	*copy = *o;
	copy->f = o->tf[t];
	return copy;
}

int trk_set__start(struct trk_set **out, const struct trk_opts *o, char *err, size_t errlen)
{
	struct trk_opts oc;
	struct trk_set *s;
	int ret = 0;

	if (o->per_trk && o->on[LT_TRK_WAKEUP] && o->on[LT_TRK_OFFCPU] &&
	    memcmp(&o->tf[LT_TRK_WAKEUP], &o->tf[LT_TRK_OFFCPU], sizeof(o->tf[0]))) {
		snprintf(err, errlen, "wakeup and offcpu share one BPF object: give them the same filters");
		return -EINVAL;
	}
	verbose = o->verbose;
	libbpf_set_print(print_fn);
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->sys_inflight_fd = -1;
	s->sys_cpu_fd = -1;
	s->blk_inflight_fd = -1;

	s->btf = !o->force_raw_tp && trk_probe_tp_btf("sched_switch") &&
		 trk_probe_tp_btf("sys_enter") && trk_probe_tp_btf("sys_exit") &&
		 trk_probe_tp_btf("sched_waking") && trk_probe_tp_btf("sched_process_exit") &&
		 (!o->on[LT_TRK_BLOCK] || (trk_probe_tp_btf("block_rq_issue") &&
					   trk_probe_tp_btf("block_rq_complete"))) &&
		 (!o->on[LT_TRK_IRQ] || (trk_probe_tp_btf("irq_handler_entry") &&
					 trk_probe_tp_btf("softirq_entry"))) &&
		 (!o->on[LT_TRK_NET] || (trk_probe_tp_btf("sk_data_ready") &&
					 trk_probe_tp_btf("sock_recv_length") &&
					 trk_probe_tp_btf("net_dev_start_xmit")));

	if (o->on[LT_TRK_SYSCALL]) {
		ret = trk_syscall__open(&s->units[s->nr_units], opts_for(&oc, o, LT_TRK_SYSCALL), s->btf);
		if (ret) {
			snprintf(err, errlen, "cannot open the syscall BPF object: %s", strerror(-ret));
			goto fail;
		}
		s->nr_units++;
	}
	if (o->on[LT_TRK_WAKEUP] || o->on[LT_TRK_OFFCPU]) {
		ret = trk_sched__open(&s->units[s->nr_units],
				      opts_for(&oc, o, o->on[LT_TRK_WAKEUP] ? LT_TRK_WAKEUP : LT_TRK_OFFCPU), s->btf);
		if (ret) {
			snprintf(err, errlen, "cannot open the sched BPF object: %s", strerror(-ret));
			goto fail;
		}
		s->nr_units++;
	}
	if (o->on[LT_TRK_BLOCK]) {
		ret = trk_block__open(&s->units[s->nr_units], opts_for(&oc, o, LT_TRK_BLOCK), s->btf);
		if (ret) {
			snprintf(err, errlen, "cannot open the block BPF object: %s", strerror(-ret));
			goto fail;
		}
		s->nr_units++;
	}
	if (o->on[LT_TRK_IRQ]) {
		ret = trk_irq__open(&s->units[s->nr_units], opts_for(&oc, o, LT_TRK_IRQ), s->btf);
		if (ret) {
			snprintf(err, errlen, "cannot open the irq BPF object: %s", strerror(-ret));
			goto fail;
		}
		s->nr_units++;
	}
	if (o->on[LT_TRK_NET]) {
		ret = trk_net__open(&s->units[s->nr_units], opts_for(&oc, o, LT_TRK_NET), s->btf);
		if (ret) {
			snprintf(err, errlen, "cannot open the net BPF object: %s", strerror(-ret));
			goto fail;
		}
		s->nr_units++;
	}
	if (!s->nr_units) {
		snprintf(err, errlen, "no tracker selected");
		ret = -EINVAL;
		goto fail;
	}

	for (int m = SM_CLS; m <= SM_FREE; m++) { /* the class table */
		ret = bpf_map__set_max_entries(bpf_object__find_map_by_name(s->units[0].obj, shared_maps[m]),
					       o->max_classes ? o->max_classes : trk_default_classes(false));
		if (ret) {
			snprintf(err, errlen, "cannot size the class table (%s): %s", shared_maps[m],
				 strerror(-ret));
			goto fail;
		}
	}
	if (o->ringbuf_bytes) {
		ret = bpf_map__set_max_entries(bpf_object__find_map_by_name(s->units[0].obj, "lt_events"),
					       o->ringbuf_bytes);
		if (ret) {
			snprintf(err, errlen, "cannot size the ring buffer: %s", strerror(-ret));
			goto fail;
		}
	}
	for (int i = 0; i < s->nr_units; i++) {
		struct trk_unit *u = &s->units[i];

		if (i > 0) {
			ret = share_maps(u, s);
			if (ret) {
				snprintf(err, errlen, "cannot share maps with %s: %s", u->name,
					 strerror(-ret));
				goto fail;
			}
		}
		ret = u->load(u->skel);
		if (ret) {
			ret = ret < 0 ? ret : -errno;
			snprintf(err, errlen,
				 "cannot load the %s BPF programs: %s%s", u->name, strerror(-ret),
				 ret == -EPERM ? " (latrack run needs root: CAP_BPF and CAP_PERFMON)"
					       : " (run with -v for the verifier log)");
			goto fail;
		}
		if (i == 0) {
			for (size_t m = 0; m < NR_SHARED; m++)
				s->shared_fds[m] = map_fd(u, shared_maps[m]);
			s->kct = kct__new(s->shared_fds[SM_CLS], s->shared_fds[SM_HARR], s->shared_fds[SM_FREE]);
			if (!s->kct) {
				ret = -errno;
				snprintf(err, errlen, "cannot read the class table: %s", strerror(-ret));
				goto fail;
			}
		}
		if (!strcmp(u->name, "syscall")) {
			kct__set_epoch(s->kct, trk_syscall__epoch(u));
			s->sys_inflight_fd = trk_syscall__inflight_fd(u);
			s->sys_cpu_fd = trk_syscall__cpu_fd(u);
			s->ncpu = libbpf_num_possible_cpus();
			if (s->ncpu <= 0) {
				ret = s->ncpu ? s->ncpu : -EINVAL;
				snprintf(err, errlen, "cannot count the CPUs: %s", strerror(-ret));
				goto fail;
			}
			s->sys_cpu = calloc((size_t)s->ncpu, sizeof(*s->sys_cpu));
			s->sys_cpu2 = calloc((size_t)s->ncpu, sizeof(*s->sys_cpu2));
			if (!s->sys_cpu || !s->sys_cpu2) {
				ret = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
		}
		if (!strcmp(u->name, "block"))
			s->blk_inflight_fd = map_fd(u, "blk_start");
	}
	ret = kct__setup(s->kct);
	if (ret) {
		snprintf(err, errlen, "cannot set up the class table: %s", strerror(-ret));
		goto fail;
	}
	for (int t = 0; t < LT_TRK_MAX; t++) {
		ret = trk_set__set_threshold(s, t, o->thresh_ns[t]);
		if (ret) {
			snprintf(err, errlen, "cannot set thresholds: %s", strerror(-ret));
			goto fail;
		}
	}
	for (int i = 0; i < s->nr_units; i++) {
		struct trk_unit *u = &s->units[i];

		ret = u->attach(u->skel);
		if (ret) {
			ret = ret < 0 ? ret : -errno;
			snprintf(err, errlen, "cannot attach the %s programs (%s): %s", u->name,
				 s->btf ? "tp_btf" : "raw_tp", strerror(-ret));
			goto fail;
		}
		s->attached[i] = true;
	}
	for (int t = 0; t < LT_TRK_MAX; t++)
		s->loaded[t] = s->on[t] = o->on[t];
	*out = s;
	return 0;
fail:
	trk_set__destroy(s);
	return ret ? ret : -EINVAL;
}

void trk_set__destroy(struct trk_set *s)
{
	if (!s)
		return;
	for (int i = s->nr_units - 1; i >= 0; i--)
		s->units[i].destroy(s->units[i].skel);
	free(s->seen);
	free(s->blk_seen);
	free(s->sys_cpu);
	free(s->sys_cpu2);
	kct__free(s->kct);
	free(s);
}

int trk_set__events_fd(const struct trk_set *s) { return s->shared_fds[SM_EVENTS]; }
struct kct *trk_set__kct(const struct trk_set *s) { return s->kct; }
const char *trk_set__hook_kind(const struct trk_set *s) { return s->btf ? "tp_btf" : "raw_tp"; }

uint32_t trk_set__thresh_map_id(const struct trk_set *s)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(s->shared_fds[SM_THRESH], &info, &len))
		return 0;
	return info.id;
}

int trk_set__set_threshold(struct trk_set *s, enum lt_trk trk, uint64_t ns)
{
	__u32 k = trk;

	if (bpf_map_update_elem(s->shared_fds[SM_THRESH], &k, &ns, BPF_ANY))
		return -errno;
	return 0;
}

int trk_set__drops(const struct trk_set *s, uint64_t out[LT_NR_DROPS])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (__u32 i = 0; i < LT_NR_DROPS; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(s->shared_fds[SM_DROPS], &i, v)) {
			int e = -errno;

			free(v);
			return e;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += v[c];
	}
	/* samples that came after their class was taken out (kclass.h) */
	for (int t = 0; t < LT_TRK_MAX; t++)
		out[t * LT_DROP_MAX + LT_DROP_HIST] += kct__late(s->kct, t);
	free(v);
	return 0;
}

static bool seen_before(struct trk_set *s, uint32_t tid, uint64_t begin)
{
	for (size_t i = 0; i < s->nr_seen; i++)
		if (s->seen[i].tid == tid && s->seen[i].begin_ns == begin)
			return true;
	return false;
}

/* One syscall found in flight: reported if past the timeout and not
 * reported before; remembered (in keep) while it stays in flight. */
static void sweep_one(struct trk_set *s, struct stuck_seen *keep, size_t *nr_keep,
		      uint64_t now_ns, uint64_t timeout_ns, uint32_t tid, uint64_t ts,
		      uint32_t nr, trk_stuck_fn fn, void *ctx)
{
	if (!ts || ts > now_ns || now_ns - ts <= timeout_ns)
		return; /* ts 0: the thread is between syscalls */
	for (size_t i = 0; i < *nr_keep; i++)
		if (keep[i].tid == tid && keep[i].begin_ns == ts)
			return; /* seen in both maps during this sweep */
	if (!seen_before(s, tid, ts))
		fn(ctx, LT_TRK_SYSCALL, tid, ts, nr);
	/* Remember it while it stays in flight: reported once. */
	if (*nr_keep < MAX_STUCK)
		keep[(*nr_keep)++] = (struct stuck_seen){ tid, ts };
}

/* Syscalls in flight are in two places: sys_start (threads switched out
 * inside a syscall: every syscall that blocks) and sys_cpu (per CPU, the
 * syscall of the thread running there, until it switches out or
 * returns).  A syscall that moves from one to the other during the sweep
 * keeps its begin, so it is reported once. */
int trk_set__sweep(struct trk_set *s, uint64_t now_ns, uint64_t timeout_ns,
		   trk_stuck_fn fn, void *ctx)
{
	struct stuck_seen *keep;
	size_t nr_keep = 0;
	__u32 key, next, zero = 0;
	void *prev = NULL;

	if (s->sys_inflight_fd < 0)
		return 0;
	keep = calloc(MAX_STUCK, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	while (!bpf_map_get_next_key(s->sys_inflight_fd, prev, &next)) {
		struct lt_sys_start v;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(s->sys_inflight_fd, &key, &v))
			continue; /* the thread exited meanwhile */
		sweep_one(s, keep, &nr_keep, now_ns, timeout_ns, key, v.ts, v.nr, fn, ctx);
	}
	/* The CPU slots are rewritten at every syscall and read here without
	 * a lock: a slot counts only if two reads in a row agree. */
	if (s->sys_cpu_fd >= 0 && !bpf_map_lookup_elem(s->sys_cpu_fd, &zero, s->sys_cpu) &&
	    !bpf_map_lookup_elem(s->sys_cpu_fd, &zero, s->sys_cpu2)) {
		for (int c = 0; c < s->ncpu; c++) {
			const struct lt_sys_cpu *a = &s->sys_cpu[c], *b = &s->sys_cpu2[c];

			if (a->ts != b->ts || a->tid != b->tid || a->nr != b->nr)
				continue;
			sweep_one(s, keep, &nr_keep, now_ns, timeout_ns, a->tid, a->ts, a->nr, fn,
				  ctx);
		}
	}
	free(s->seen);
	s->seen = keep;
	s->nr_seen = nr_keep;
	return 0;
}

static int cmp_blk_seen(const void *a, const void *b)
{
	const struct blk_seen *x = a, *y = b;

	if (x->rq != y->rq)
		return x->rq < y->rq ? -1 : 1;
	return x->begin_ns < y->begin_ns ? -1 : x->begin_ns > y->begin_ns;
}

/* Same as the syscall sweep, for the block tracker's requests in flight.
 * The requests already reported are kept sorted (a hung device can hold
 * thousands), and forgotten once they leave the map. */
int trk_set__sweep_block(struct trk_set *s, uint64_t now_ns, uint64_t timeout_ns,
			 trk_blk_stuck_fn fn, void *ctx)
{
	struct blk_seen *keep = NULL;
	size_t nr_keep = 0, cap = 0;
	__u64 key, next;
	void *prev = NULL;

	if (s->blk_inflight_fd < 0)
		return 0;
	while (!bpf_map_get_next_key(s->blk_inflight_fd, prev, &next)) {
		struct trk_blk_stuck b = { 0 };
		struct blk_seen id;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(s->blk_inflight_fd, &key, &b.v))
			continue; /* completed meanwhile */
		b.begin_ns = b.v.insert_ns ? b.v.insert_ns : b.v.issue_ns;
		if (!b.begin_ns || b.begin_ns > now_ns || now_ns - b.begin_ns <= timeout_ns)
			continue;
		b.rq = key;
		b.age_ns = now_ns - b.begin_ns;
		id = (struct blk_seen){ key, b.begin_ns };
		if (!s->blk_seen || !bsearch(&id, s->blk_seen, s->nr_blk_seen, sizeof(id), cmp_blk_seen))
			fn(ctx, &b);
		/* Remember it while it stays in flight: reported once. */
		if (nr_keep == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct blk_seen *k = realloc(keep, ncap * sizeof(*k));

			if (!k) {
				free(keep);
				return -ENOMEM;
			}
			keep = k;
			cap = ncap;
		}
		keep[nr_keep++] = id;
	}
	if (nr_keep)
		qsort(keep, nr_keep, sizeof(*keep), cmp_blk_seen);
	free(s->blk_seen);
	s->blk_seen = keep;
	s->nr_blk_seen = nr_keep;
	return 0;
}

/* The unit that holds a tracker's programs. */
static int unit_of(const struct trk_set *s, enum lt_trk trk)
{
	static const char *const unit_name[LT_TRK_MAX] = {
		[LT_TRK_SYSCALL] = "syscall", [LT_TRK_WAKEUP] = "sched", [LT_TRK_OFFCPU] = "sched",
		[LT_TRK_BLOCK] = "block", [LT_TRK_IRQ] = "irq", [LT_TRK_NET] = "net",
	};

	for (int i = 0; i < s->nr_units; i++)
		if (!strcmp(s->units[i].name, unit_name[trk]))
			return i;
	return -1;
}

bool trk_set__loaded(const struct trk_set *s, enum lt_trk trk)
{
	return (unsigned)trk < LT_TRK_MAX && s->loaded[trk];
}

int trk_set__enable(struct trk_set *s, enum lt_trk trk, bool on)
{
	int u = (unsigned)trk < LT_TRK_MAX && s->loaded[trk] ? unit_of(s, trk) : -1;
	bool want = false;

	if (u < 0)
		return -ENOENT;
	s->on[trk] = on;
	for (int t = 0; t < LT_TRK_MAX; t++)
		if (s->on[t] && unit_of(s, t) == u)
			want = true;
	if (want == s->attached[u])
		return 0;
	if (want) {
		int ret = s->units[u].attach(s->units[u].skel);

		if (ret)
			return ret < 0 ? ret : -EIO;
	} else {
		/* Every bpftool skeleton begins with its struct bpf_object_skeleton *. */
		bpf_object__detach_skeleton(*(struct bpf_object_skeleton **)s->units[u].skel);
	}
	s->attached[u] = want;
	return 0;
}
