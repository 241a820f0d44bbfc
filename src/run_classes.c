/* Per-class histograms of a run: kernel per-CPU copies summed, exited
 * processes folded in user space.  See run_classes.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_hist.h"
#include "kclass.h"
#include "run_classes.h"

struct folded {
	struct lt_class_key k;
	uint64_t carried; /* folded samples the previous snapshot showed under their own class */
	struct lt_hist_raw h;
};

struct run_classes {
	struct kct *kt;
	int ncpu;
	uint32_t max_entries;
	size_t vsz;               /* per-CPU value stride */
	struct lt_hist_raw *per;  /* lookup buffer: ncpu copies */
	struct folded *dead;      /* sorted by key */
	size_t nr_dead, cap_dead;
	struct rc_class *prev;    /* previous snapshot, sorted by key */
	size_t nr_prev;
};

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct lt_class_key));
}

struct run_classes *run_classes__new(struct kct *kt)
{
	struct run_classes *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->kt = kt;
	rc->max_entries = kct__max(kt);
	rc->ncpu = kct__ncpu(kt);
	rc->vsz = kct__vsz(kt);
	rc->per = malloc(rc->vsz * (size_t)rc->ncpu);
	if (!rc->per) {
		free(rc);
		errno = ENOMEM;
		return NULL;
	}
	return rc;
}

void run_classes__free(struct run_classes *rc)
{
	if (!rc)
		return;
	free(rc->per);
	free(rc->dead);
	free(rc->prev);
	free(rc);
}

/* The CPU copies in rc->per, summed into *sum. */
static void sum_cpus(const struct run_classes *rc, struct lt_hist_raw *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < rc->ncpu; i++)
		bh_merge_raw(sum, (const struct lt_hist_raw *)((char *)rc->per + rc->vsz * (size_t)i));
}

/* Sum the CPU copies of one kernel class into *sum; -errno if gone. */
static int read_one(struct run_classes *rc, const struct lt_class_key *k, struct lt_hist_raw *sum)
{
	int err = kct__read(rc->kt, k, rc->per);

	if (!err)
		sum_cpus(rc, sum);
	return err;
}

static bool process_exited(uint32_t tgid)
{
	/* A zombie still answers: it is not reaped, its class may still grow. */
	return tgid && kill((pid_t)tgid, 0) && errno == ESRCH;
}

static struct folded *dead_slot(struct run_classes *rc, const struct lt_class_key *k)
{
	struct folded *f = bsearch(k, rc->dead, rc->nr_dead, sizeof(*rc->dead), cmp_key);
	size_t at;

	if (f)
		return f;
	if (rc->nr_dead == rc->cap_dead) {
		size_t cap = rc->cap_dead ? rc->cap_dead * 2 : 16;
		struct folded *d = realloc(rc->dead, cap * sizeof(*d));

		if (!d)
			return NULL;
		rc->dead = d;
		rc->cap_dead = cap;
	}
	for (at = 0; at < rc->nr_dead && cmp_key(&rc->dead[at].k, k) < 0; at++)
		;
	memmove(&rc->dead[at + 1], &rc->dead[at], (rc->nr_dead - at) * sizeof(*rc->dead));
	memset(&rc->dead[at], 0, sizeof(*rc->dead));
	rc->dead[at].k = *k;
	rc->nr_dead++;
	return &rc->dead[at];
}

int run_classes__evict_exited(struct run_classes *rc, bool force)
{
	struct lt_class_key key, next, *gone = NULL;
	struct lt_hist_raw *sum = malloc(sizeof(*sum));
	size_t nr_gone = 0, cap = 0, used = 0;
	void *prev = NULL;
	int freed = 0;

	if (!sum)
		return -ENOMEM;
	/* Collect first: deleting while walking restarts get_next_key. */
	while (!kct__next(rc->kt, prev, &next)) {
		key = next;
		prev = &key;
		used++;
		if (key.trk == LT_TRK_BLOCK || !process_exited(key.tgid)) /* block: tgid is a device */
			continue;
		if (nr_gone == cap) {
			struct lt_class_key *g = realloc(gone, (cap ? cap * 2 : 64) * sizeof(*g));

			if (!g)
				break;
			gone = g;
			cap = cap ? cap * 2 : 64;
		}
		gone[nr_gone++] = key;
	}
	used += kct__quarantined(rc->kt); /* not free yet */
	if (!force && used * 2 < rc->max_entries)
		nr_gone = 0; /* room enough: keep them, with their pids, in the kernel */
	for (size_t i = 0; i < nr_gone; i++) {
		struct lt_class_key dk = gone[i];
		struct folded *f;

		if (rc->nr_dead >= RC_MAX_EXITED)
			dk.tgid = 0;
		f = dead_slot(rc, &dk);
		if (!f)
			break; /* out of memory: keep it in the kernel */
		/* the final values and the deletion together (kclass.h) */
		if (kct__take(rc->kt, &gone[i], rc->per)) {
			if (!f->h.count) { /* made for it just now: take it back */
				size_t at = (size_t)(f - rc->dead);

				memmove(f, f + 1, (rc->nr_dead - at - 1) * sizeof(*f));
				rc->nr_dead--;
			}
			continue;
		}
		sum_cpus(rc, sum);
		bh_merge_raw(&f->h, sum);
		if (rc->prev) {
			struct rc_class *p = bsearch(&gone[i], rc->prev, rc->nr_prev, sizeof(*p), cmp_key);

			if (p) {
				f->carried += p->count;
				p->count = 0;
			}
		}
		freed++;
	}
	free(gone);
	free(sum);
	return freed;
}

static void fill(struct rc_class *c, const struct lt_class_key *k, const struct lt_hist_raw *h)
{
	*c = (struct rc_class){
		.k = *k, .count = h->count, .min = bh_min(h), .max = bh_max(h),
		.p50 = bh_percentile(h, 50), .p99 = bh_percentile(h, 99), .mean = bh_mean(h),
	};
	/* A bucket never straddles a power of two: its lower edge names its range. */
	for (unsigned int i = 0; i < LT_HIST_OVERFLOW; i++) {
		unsigned long long low = lt_hist_bucket_low(i);

		if (h->counts[i])
			c->pow2[low ? 63 - __builtin_clzll(low) : 0] += h->counts[i];
	}
	c->pow2[RC_POW2_OVERFLOW] = h->counts[LT_HIST_OVERFLOW];
}

int run_classes__snapshot(struct run_classes *rc, struct rc_class **out, size_t *nr)
{
	struct lt_hist_raw *sum = malloc(sizeof(*sum));
	bool *shown = calloc(rc->nr_dead + 1, sizeof(*shown));
	struct lt_class_key key, next;
	struct rc_class *c = NULL, *keep;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	if (!sum || !shown)
		goto nomem;
	for (;;) {
		struct folded *f = NULL;

		if (n == cap) {
			struct rc_class *nc = realloc(c, (cap ? cap * 2 : 64) * sizeof(*c));

			if (!nc)
				goto nomem;
			c = nc;
			cap = cap ? cap * 2 : 64;
		}
		if (kct__next(rc->kt, prev, &next))
			break;
		key = next;
		prev = &key;
		if (read_one(rc, &key, sum))
			continue;
		/* the same key in both: a reused pid with the same comm */
		f = rc->nr_dead ? bsearch(&key, rc->dead, rc->nr_dead, sizeof(*f), cmp_key) : NULL;
		if (f) {
			bh_merge_raw(sum, &f->h);
			shown[f - rc->dead] = true;
		}
		fill(&c[n++], &key, sum);
	}
	for (size_t d = 0; d < rc->nr_dead; d++) {
		if (shown[d])
			continue;
		if (n == cap) {
			struct rc_class *nc = realloc(c, (cap + rc->nr_dead) * sizeof(*c));

			if (!nc)
				goto nomem;
			c = nc;
			cap += rc->nr_dead;
		}
		fill(&c[n], &rc->dead[d].k, &rc->dead[d].h);
		c[n++].exited = true;
	}
	free(shown);
	free(sum);
	qsort(c, n, sizeof(*c), cmp_key);
	for (size_t i = 0; i < n; i++) {
		struct rc_class *p = rc->prev ? bsearch(&c[i], rc->prev, rc->nr_prev, sizeof(*c), cmp_key) : NULL;

		c[i].intv = c[i].count - (p && p->count <= c[i].count ? p->count : 0);
	}
	/* Samples moved into a folded class were already counted under
	 * their own class by the previous snapshot: not new. */
	for (size_t d = 0; d < rc->nr_dead; d++) {
		struct rc_class *x = bsearch(&rc->dead[d].k, c, n, sizeof(*c), cmp_key);

		if (x)
			x->intv -= rc->dead[d].carried < x->intv ? rc->dead[d].carried : x->intv;
		rc->dead[d].carried = 0;
	}
	keep = malloc(n ? n * sizeof(*c) : 1);
	if (keep) {
		memcpy(keep, c, n * sizeof(*c));
		free(rc->prev);
		rc->prev = keep;
		rc->nr_prev = n;
	}
	*out = c;
	*nr = n;
	return 0;
nomem:
	free(c);
	free(sum);
	free(shown);
	return -ENOMEM;
}
