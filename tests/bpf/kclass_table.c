/* src/kclass.c against real kernel maps of the class table's types (a
 * hash, a per-CPU array, a queue; made here, as root), with this program
 * playing the BPF side: pop a free index, insert the class, write its
 * per-CPU histograms.  Checks what the readers rely on:
 *   - setup frees every index once and starts the epoch at 1;
 *   - read gives the per-CPU copies as written;
 *   - take gives the final values, deletes the key, changes the epoch,
 *     and keeps the index out of the free list during the quarantine;
 *   - a sample written after the take is counted late at recycle, and the
 *     recycled slot is zero when it is free again;
 *   - a missing class is -ENOENT for read and take, and the epoch stays. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kclass.h"
#include "latrack/hist_layout.h"
#include "tap.h"

#define MAX 4

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct lt_hist_raw *cpu_copy(void *buf, size_t vsz, int c)
{
	return (struct lt_hist_raw *)((char *)buf + vsz * (size_t)c);
}

/* Pop every index from the queue (in order) and push them back. */
static int queue_contents(int fd, uint32_t *out, int max)
{
	int n = 0;
	uint32_t v;

	while (n < max && !bpf_map_lookup_and_delete_elem(fd, NULL, &v))
		out[n++] = v;
	for (int i = 0; i < n; i++)
		bpf_map_update_elem(fd, NULL, &out[i], BPF_ANY);
	return n;
}

int main(void)
{
	int cls = bpf_map_create(BPF_MAP_TYPE_HASH, "t_cls", sizeof(struct lt_class_key),
				 sizeof(struct lt_cls_val), MAX, NULL);
	int harr = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_harr", 4, sizeof(struct lt_hist_raw),
				  MAX, NULL);
	int q = bpf_map_create(BPF_MAP_TYPE_QUEUE, "t_free", 0, 4, MAX, NULL);
	struct lt_class_key k = { .trk = LT_TRK_SYSCALL, .sub = 230, .tgid = 42 }, k2 = k, nk;
	volatile uint32_t epoch = 0;
	uint32_t idx, got[MAX + 1];
	struct lt_cls_val v = { 0 };
	struct kct *t;
	void *buf, *rd;
	size_t vsz;
	int ncpu, n, err;
	uint64_t want = 0, sum;

	if (cls < 0 || harr < 0 || q < 0)
		return tap_skip_all(errno == EPERM ? "creating BPF maps needs root (CAP_BPF)"
						   : "cannot create BPF maps");
	strcpy(k.comm, "mysqld");
	k2.sub = 0;

	t = kct__new(cls, harr, q);
	if (!ok(t, "kct__new"))
		return tap_done();
	ncpu = kct__ncpu(t);
	vsz = kct__vsz(t);
	is_u64(kct__max(t), MAX, "max: the per-CPU array's entries");
	kct__set_epoch(t, &epoch);
	is_i64(kct__setup(t), 0, "setup");
	is_u64(epoch, 1, "the epoch starts at 1 (0 is the BPF caches' empty)");
	n = queue_contents(q, got, MAX + 1);
	is_i64(n, MAX, "setup frees every index");
	{
		int seen[MAX] = { 0 }, dup = 0;

		for (int i = 0; i < n; i++)
			dup |= got[i] >= MAX || seen[got[i]]++;
		ok(!dup, "each index once");
	}

	/* the BPF side: a new class takes a free index and records */
	buf = calloc((size_t)ncpu, vsz);
	rd = calloc((size_t)ncpu, vsz);
	if (!buf || !rd)
		return 1;
	ok(!bpf_map_lookup_and_delete_elem(q, NULL, &idx), "pop a free index (%u)", idx);
	v.idx = idx;
	ok(!bpf_map_update_elem(cls, &k, &v, BPF_NOEXIST), "insert the class");
	for (int c = 0; c < ncpu; c++) {
		struct lt_hist_raw *h = cpu_copy(buf, vsz, c);

		h->count = (uint64_t)c + 1;
		h->sum = 1000 * ((uint64_t)c + 1);
		h->counts[lt_hist_bucket(1000)] = (uint64_t)c + 1;
		want += (uint64_t)c + 1;
	}
	ok(!bpf_map_update_elem(harr, &idx, buf, BPF_ANY), "write its per-CPU histograms");

	is_i64(kct__next(t, NULL, &nk), 0, "next: the first key");
	ok(!memcmp(&nk, &k, sizeof(k)), "it is the class");
	is_i64(kct__next(t, &nk, &nk), -ENOENT, "next: then the end");

	is_i64(kct__read(t, &k, rd), 0, "read");
	sum = 0;
	for (int c = 0; c < ncpu; c++)
		sum += cpu_copy(rd, vsz, c)->count;
	is_u64(sum, want, "read: the CPU copies' counts");
	is_u64(cpu_copy(rd, vsz, ncpu - 1)->counts[lt_hist_bucket(1000)], (uint64_t)ncpu,
	       "read: the last CPU's bucket");
	is_i64(kct__read(t, &k2, rd), -ENOENT, "read of a class that is not there: -ENOENT");

	/* take */
	uint64_t t0 = mono_ns();

	memset(rd, 0, (size_t)ncpu * vsz);
	is_i64(kct__take(t, &k, rd), 0, "take");
	sum = 0;
	for (int c = 0; c < ncpu; c++)
		sum += cpu_copy(rd, vsz, c)->count;
	is_u64(sum, want, "take: the final values");
	ok(bpf_map_lookup_elem(cls, &k, &v) && errno == ENOENT, "take: the key is gone");
	is_u64(epoch, 2, "take: the epoch changed");
	is_u64(kct__quarantined(t), 1, "take: the index is in quarantine");
	is_i64(queue_contents(q, got, MAX + 1), MAX - 1, "take: ... not on the free list");
	is_i64(kct__take(t, &k, rd), -ENOENT, "take again: -ENOENT");
	is_u64(epoch, 2, "... and the epoch stays");

	/* a BPF program that found the class before the delete records late */
	cpu_copy(buf, vsz, 0)->count++;
	ok(!bpf_map_update_elem(harr, &idx, buf, BPF_ANY), "a late sample after the take");
	kct__recycle(t, t0 + KCT_QUARANTINE_NS / 2);
	is_u64(kct__quarantined(t), 1, "recycle during the quarantine: still held");
	kct__recycle(t, mono_ns() + KCT_QUARANTINE_NS);
	is_u64(kct__quarantined(t), 0, "recycle after it: released");
	is_u64(kct__late(t, LT_TRK_SYSCALL), 1, "the late sample is counted");
	is_u64(kct__late(t, LT_TRK_WAKEUP), 0, "... under its own tracker only");
	n = queue_contents(q, got, MAX + 1);
	is_i64(n, MAX, "the index is free again");
	ok(n > 0 && got[n - 1] == idx, "at the tail of the free list");
	ok(!bpf_map_lookup_elem(harr, &idx, rd), "read the freed slot");
	sum = 0;
	for (int c = 0; c < ncpu; c++) {
		const struct lt_hist_raw *h = cpu_copy(rd, vsz, c);

		sum += h->count + h->sum + h->counts[lt_hist_bucket(1000)];
	}
	is_u64(sum, 0, "the freed slot is zero on every CPU");

	kct__free(t);
	free(buf);
	free(rd);
	err = tap_done();
	return err;
}
