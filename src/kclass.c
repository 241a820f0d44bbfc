/* The kernel's class table from user space: see kclass.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kclass.h"
#include "latrack/hist_layout.h"
#include "units.h"

struct quarantined {
	uint32_t idx;
	uint32_t trk;
	uint64_t count;   /* samples at the final read */
	uint64_t since;   /* CLOCK_MONOTONIC ns of the take */
};

struct kct {
	int cls_fd, harr_fd, free_fd;
	volatile uint32_t *epoch_p; /* NULL: no tracker caches indices */
	uint32_t max;
	int ncpu;
	size_t vsz;
	void *zero;      /* ncpu zeroed copies: resets a slot */
	void *scratch;   /* ncpu copies: the recycle's last read */
	struct quarantined *q;
	size_t nr_q, cap_q;
	uint32_t epoch;
	uint64_t late[LT_TRK_MAX];
};

struct kct *kct__new(int cls_fd, int harr_fd, int free_fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	struct kct *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cls_fd = cls_fd;
	t->harr_fd = harr_fd;
	t->free_fd = free_fd;
	if (bpf_obj_get_info_by_fd(harr_fd, &info, &len)) {
		int e = errno;

		free(t);
		errno = e;
		return NULL;
	}
	t->max = info.max_entries;
	t->ncpu = libbpf_num_possible_cpus();
	t->vsz = (sizeof(struct lt_hist_raw) + 7) / 8 * 8;
	if (t->ncpu <= 0) {
		free(t);
		errno = EINVAL;
		return NULL;
	}
	t->zero = calloc((size_t)t->ncpu, t->vsz);
	t->scratch = malloc((size_t)t->ncpu * t->vsz);
	if (!t->zero || !t->scratch) {
		kct__free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void kct__set_epoch(struct kct *t, volatile uint32_t *epoch)
{
	t->epoch_p = epoch;
}

int kct__setup(struct kct *t)
{
	t->epoch = 1;
	if (t->epoch_p)
		*t->epoch_p = t->epoch;
	for (uint32_t i = 0; i < t->max; i++)
		if (bpf_map_update_elem(t->free_fd, NULL, &i, BPF_ANY))
			return -errno;
	return 0;
}

void kct__free(struct kct *t)
{
	if (!t)
		return;
	free(t->zero);
	free(t->scratch);
	free(t->q);
	free(t);
}

uint32_t kct__max(const struct kct *t) { return t->max; }
int kct__ncpu(const struct kct *t) { return t->ncpu; }
size_t kct__vsz(const struct kct *t) { return t->vsz; }
size_t kct__quarantined(const struct kct *t) { return t->nr_q; }

uint64_t kct__late(const struct kct *t, enum lt_trk trk)
{
	return (unsigned)trk < LT_TRK_MAX ? t->late[trk] : 0;
}

int kct__next(struct kct *t, const struct lt_class_key *prev, struct lt_class_key *next)
{
	return bpf_map_get_next_key(t->cls_fd, prev, next) ? -errno : 0;
}

static uint64_t count_of(const struct kct *t, const void *percpu)
{
	uint64_t n = 0;

	for (int c = 0; c < t->ncpu; c++)
		n += ((const struct lt_hist_raw *)((const char *)percpu + t->vsz * (size_t)c))->count;
	return n;
}

int kct__read(struct kct *t, const struct lt_class_key *k, void *percpu)
{
	struct lt_cls_val v;

	if (bpf_map_lookup_elem(t->cls_fd, k, &v))
		return -errno;
	if (v.idx >= t->max)
		return -ERANGE;
	if (bpf_map_lookup_elem(t->harr_fd, &v.idx, percpu))
		return -errno;
	return 0;
}

int kct__take(struct kct *t, const struct lt_class_key *k, void *percpu)
{
	struct lt_cls_val v;

	if (t->nr_q == t->cap_q) {
		size_t cap = t->cap_q ? t->cap_q * 2 : 16;
		struct quarantined *q = realloc(t->q, cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		t->q = q;
		t->cap_q = cap;
	}
	if (bpf_map_lookup_elem(t->cls_fd, k, &v))
		return -errno;
	if (v.idx >= t->max)
		return -ERANGE;
	if (bpf_map_delete_elem(t->cls_fd, k))
		return -errno;
	/* After the delete (a system call: a full barrier): a BPF program
	 * that reads this epoch finds the class gone and makes a new one. */
	t->epoch++;
	if (!t->epoch)
		t->epoch = 1;
	if (t->epoch_p)
		__atomic_store_n(t->epoch_p, t->epoch, __ATOMIC_SEQ_CST);
	if (bpf_map_lookup_elem(t->harr_fd, &v.idx, percpu))
		return -errno; /* leaked: never reused, never misattributed */
	t->q[t->nr_q++] = (struct quarantined){
		.idx = v.idx, .trk = k->trk, .count = count_of(t, percpu), .since = lt_mono_ns(),
	};
	return 0;
}

void kct__recycle(struct kct *t, uint64_t now_ns)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nr_q; i++) {
		struct quarantined *q = &t->q[i];

		if (now_ns < q->since + KCT_QUARANTINE_NS ||
		    bpf_map_lookup_elem(t->harr_fd, &q->idx, t->scratch)) {
			t->q[n++] = *q;
			continue;
		}
		uint64_t c = count_of(t, t->scratch);

		if (c > q->count && q->trk < LT_TRK_MAX)
			t->late[q->trk] += c - q->count;
		if (bpf_map_update_elem(t->harr_fd, &q->idx, t->zero, BPF_ANY) ||
		    bpf_map_update_elem(t->free_fd, NULL, &q->idx, BPF_ANY)) {
			t->q[n++] = *q; /* tried again next time */
			continue;
		}
	}
	t->nr_q = n;
}
