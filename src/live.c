/* The live engine: kernel trackers -> user-space classes -> sinks.
 * See live.h. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <latrack/change.h>
#include <latrack/hist.h>
#include <latrack/window.h>

#include "evfmt.h"
#include "kclass.h"
#include "live.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull
#define SWEEP_NS      (250 * NS_PER_MS)
#define CHANGE_NS     (10 * NS_PER_S) /* one window slot */
#define MAX_SINKS     8
#define DEFAULT_CLASSES 4096
#define LEADER_CACHE  4096 /* direct-mapped by tgid */
#define PENDING_MAX   1024
#define IDLE_EVICT_NS (60 * NS_PER_S) /* default class_idle_ns */
#define DEFAULT_WINDOW_MEMORY (128ull << 20)

/* A kernel class as last read: the cumulative histogram, to take the
 * next tick's difference against. */
struct kclass {
	struct lt_class_key k;
	struct lt_hist *prev;
	int32_t cls; /* user class it feeds, or -1 */
	uint64_t raw_count; /* sum of the per-CPU count fields at the last read */
	uint64_t changed_ns; /* when it last had new samples */
	bool used, gone;
};

/* A user-space class. */
struct uclass {
	struct live_class pub;
	struct lt_hist *cum, *last;
	struct lt_window *win;
	bool last_dirty;
	int32_t change_dirs[LT_CHANGE_MAX_Q]; /* the last change record's directions */
};

/* Open addressing over 32-byte keys: slots hold index + 1 (0: empty). */
struct keymap {
	uint32_t *slot;
	uint32_t mask; /* size - 1 */
	uint32_t used;
};

struct live {
	struct live_opts o;
	struct trk_set *set;
	struct ring_buffer *rb;
	struct evfmt fmt;
	bool on[LT_TRK_MAX];
	int ncpu;
	size_t vsz;
	struct lt_hist_raw *percpu;
	struct lt_hist *tmp, *delta;
	struct lt_hist *empty; /* the last tick of every idle class */

	struct kclass *kc;
	uint32_t nr_kc, cap_kc;
	struct keymap kmap;
	struct uclass *uc;
	uint32_t nr_uc, cap_uc;
	struct keymap umap;
	struct lt_hist_pool *pool;

	/* Leader comm per process, learned from kernel class keys: an
	 * event carries its thread's comm, a class its process's. */
	struct { uint32_t tgid; char comm[LT_COMM_LEN]; } leader[LEADER_CACHE];

	/* Outliers whose class did not exist yet (a process seen first
	 * through its outlier): counted to their class after the next read. */
	struct { uint32_t trk, sub, pid; } pending[PENDING_MAX];
	uint32_t nr_pending;

	struct sink *sinks[MAX_SINKS];
	int nr_sinks;

	uint64_t next_tick, next_sweep, next_change, tick_seq;
	uint64_t outliers[LT_TRK_MAX], stuck[LT_TRK_MAX], changes[LT_TRK_MAX], samples[LT_TRK_MAX];
	uint64_t drops_base[LT_NR_DROPS], drops_last[LT_NR_DROPS];
	uint64_t folded, reloads, started_ns;

	struct live_snapshot snap;
	struct sink_health health[MAX_SINKS];
	const struct live_class **snap_c;
	uint32_t cap_snap;
	char *buf_json, *buf_text;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- key maps ---- */

static uint32_t key_hash(const struct lt_class_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

typedef const struct lt_class_key *(*key_of_fn)(const struct live *l, uint32_t idx);

static const struct lt_class_key *kc_key(const struct live *l, uint32_t i) { return &l->kc[i].k; }
static const struct lt_class_key *uc_key(const struct live *l, uint32_t i) { return &l->uc[i].pub.k; }

static int64_t km_find(const struct live *l, const struct keymap *m, key_of_fn kof,
		       const struct lt_class_key *k)
{
	if (!m->slot)
		return -1;
	for (uint32_t h = key_hash(k) & m->mask;; h = (h + 1) & m->mask) {
		uint32_t s = m->slot[h];

		if (!s)
			return -1;
		if (!memcmp(kof(l, s - 1), k, sizeof(*k)))
			return s - 1;
	}
}

static int km_insert(const struct live *l, struct keymap *m, key_of_fn kof, uint32_t idx);

static int km_grow(const struct live *l, struct keymap *m, key_of_fn kof)
{
	struct keymap n = { .mask = m->slot ? m->mask * 2 + 1 : 255 };

	n.slot = calloc((size_t)n.mask + 1, sizeof(*n.slot));
	if (!n.slot)
		return -ENOMEM;
	for (uint32_t i = 0; m->slot && i <= m->mask; i++)
		if (m->slot[i])
			km_insert(l, &n, kof, m->slot[i] - 1);
	free(m->slot);
	*m = n;
	return 0;
}

static int km_insert(const struct live *l, struct keymap *m, key_of_fn kof, uint32_t idx)
{
	uint32_t h;

	if (!m->slot || (m->used + 1) * 2 > m->mask + 1) {
		int err = km_grow(l, m, kof);

		if (err)
			return err;
	}
	for (h = key_hash(kof(l, idx)) & m->mask; m->slot[h]; h = (h + 1) & m->mask)
		;
	m->slot[h] = idx + 1;
	m->used++;
	return 0;
}

/* Rebuild a map from scratch (after entries were removed). */
static int km_rebuild(const struct live *l, struct keymap *m, key_of_fn kof, uint32_t n,
		      bool (*live_fn)(const struct live *, uint32_t))
{
	free(m->slot);
	*m = (struct keymap){ 0 };
	for (uint32_t i = 0; i < n; i++)
		if (!live_fn || live_fn(l, i)) {
			int err = km_insert(l, m, kof, i);

			if (err)
				return err;
		}
	return 0;
}

/* ---- user classes ---- */

static const char *const sub_labels[LT_TRK_MAX] = { "syscall", "cpu", "state", "op", "irq", "kind" };
static const char *const ent_labels[LT_TRK_MAX] = { "comm", "comm", "comm", "disk", "handler", "who" };

static void uclass_free(struct uclass *u)
{
	lt_hist__destroy(u->cum);
	lt_hist__destroy(u->last);
	lt_window__destroy(u->win);
}

/* The user class a kernel class feeds: its key with the pid dropped
 * (unless by_pid), created on first use; past max_classes, the "other"
 * class of its (tracker, sub-class).  -1 when out of memory. */
static int32_t uclass_for(struct live *l, const struct lt_class_key *kk, bool *folded)
{
	struct lt_class_key k = *kk;
	struct uclass *u;
	int64_t at;

	*folded = false;
	if (!l->o.by_pid && k.trk != LT_TRK_BLOCK) /* block: tgid is the device */
		k.tgid = 0;
	at = km_find(l, &l->umap, uc_key, &k);
	if (at >= 0)
		return (int32_t)at;
	if (l->nr_uc >= l->o.max_classes) {
		memset(&k, 0, sizeof(k));
		k.trk = kk->trk;
		k.sub = kk->sub;
		k.pad = 1; /* never a kernel key */
		*folded = true;
		at = km_find(l, &l->umap, uc_key, &k);
		if (at >= 0)
			return (int32_t)at;
	}
	if (l->nr_uc == l->cap_uc) {
		uint32_t cap = l->cap_uc ? l->cap_uc * 2 : 64;
		struct uclass *n = realloc(l->uc, cap * sizeof(*n));

		if (!n)
			return -1;
		l->uc = n;
		l->cap_uc = cap;
	}
	u = &l->uc[l->nr_uc];
	memset(u, 0, sizeof(*u));
	u->pub.k = k;
	u->cum = lt_hist__new();
	u->last = NULL; /* allocated while the class is active; else the shared empty one */
	if (!l->o.no_windows) {
		struct lt_window_opts wo = { .sz = sizeof(wo), .pool = l->pool };

		u->win = lt_window__new(&wo);
	}
	if (!u->cum || (!l->o.no_windows && !u->win)) {
		uclass_free(u);
		return -1;
	}
	u->pub.tracker = ev_trk_names[k.trk % LT_TRK_MAX];
	u->pub.sub_label = sub_labels[k.trk % LT_TRK_MAX];
	u->pub.ent_label = ent_labels[k.trk % LT_TRK_MAX];
	{
		char b[sizeof(u->pub.sub)];

		snprintf(u->pub.sub, sizeof(u->pub.sub), "%s", ev_sub_name(k.trk, k.sub, b, sizeof(b)));
	}
	if (*folded) {
		u->pub.other = true;
		snprintf(u->pub.ent, sizeof(u->pub.ent), "other");
	} else if (k.trk == LT_TRK_BLOCK) {
		ev_disk_name(k.tgid, u->pub.ent, sizeof(u->pub.ent));
		if (!strcmp(u->pub.ent, "?"))
			snprintf(u->pub.ent, sizeof(u->pub.ent), "%u:%u", k.tgid >> 20, k.tgid & 0xfffff);
	} else {
		memcpy(u->pub.ent, k.comm, LT_COMM_LEN);
		u->pub.ent[LT_COMM_LEN] = 0;
	}
	u->pub.cum = u->cum;
	u->pub.last = l->empty;
	u->pub.win = u->win;
	if (km_insert(l, &l->umap, uc_key, l->nr_uc)) {
		uclass_free(u);
		return -1;
	}
	/* pointers into l->uc move on realloc: re-point them all */
	for (uint32_t i = 0; i <= l->nr_uc; i++) {
		l->uc[i].pub.cum = l->uc[i].cum;
		l->uc[i].pub.last = l->uc[i].last ? l->uc[i].last : l->empty;
		l->uc[i].pub.win = l->uc[i].win;
	}
	return (int32_t)l->nr_uc++;
}

/* ---- sinks ---- */

static void emit(struct live *l, const struct live_record *r)
{
	for (int i = 0; i < l->nr_sinks; i++)
		if (l->sinks[i]->ops->record)
			l->sinks[i]->ops->record(l->sinks[i], r);
}

int live__add_sink(struct live *l, struct sink *s)
{
	if (l->nr_sinks == MAX_SINKS)
		return -ENOSPC;
	l->sinks[l->nr_sinks++] = s;
	return 0;
}

int live__remove_sink(struct live *l, const char *name)
{
	int n = 0;

	for (int i = 0; i < l->nr_sinks;) {
		if (!strcmp(l->sinks[i]->ops->name, name)) {
			l->sinks[i]->ops->destroy(l->sinks[i]);
			memmove(&l->sinks[i], &l->sinks[i + 1], (size_t)(l->nr_sinks - i - 1) * sizeof(l->sinks[0]));
			l->nr_sinks--;
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/* Render with a FILE-based printer into a reused buffer. */
#define RENDER(buf, call)                                         \
	({                                                        \
		size_t _len = 0;                                  \
		FILE *f = open_memstream(&(buf), &_len);          \
		if (f) {                                          \
			call;                                     \
			fclose(f);                                \
		}                                                 \
		f ? 0 : -ENOMEM;                                  \
	})

static struct uclass *class_of_event(struct live *l, const struct lt_event *e)
{
	struct lt_class_key k = { .trk = e->trk, .sub = e->sub, .tgid = e->pid };
	int64_t at;

	memcpy(k.comm, e->comm, LT_COMM_LEN);
	if (e->pid && l->leader[e->pid % LEADER_CACHE].tgid != e->pid) {
		/* not learned from a kernel key (classes per comm have no pid):
		 * the process's comm is its leader's, in /proc/PID/comm */
		char path[32], comm[LT_COMM_LEN + 2] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/comm", e->pid);
		f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			l->leader[e->pid % LEADER_CACHE].tgid = e->pid;
			memset(l->leader[e->pid % LEADER_CACHE].comm, 0, LT_COMM_LEN);
			memcpy(l->leader[e->pid % LEADER_CACHE].comm, comm, strnlen(comm, LT_COMM_LEN - 1));
		}
		if (f)
			fclose(f);
	}
	if (e->pid && l->leader[e->pid % LEADER_CACHE].tgid == e->pid)
		memcpy(k.comm, l->leader[e->pid % LEADER_CACHE].comm, LT_COMM_LEN);
	if (!l->o.by_pid && k.trk != LT_TRK_BLOCK)
		k.tgid = 0;
	at = km_find(l, &l->umap, uc_key, &k);
	return at >= 0 ? &l->uc[at] : NULL;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct live *l = ctx;
	const struct lt_event *e = data;
	struct live_record r = { .type = LIVE_OUTLIER };
	struct uclass *u;

	if (len < sizeof(*e) || e->trk >= LT_TRK_MAX || !l->on[e->trk])
		return 0;
	l->outliers[e->trk]++;
	u = class_of_event(l, e);
	if (u)
		u->pub.outliers++;
	else if (l->nr_pending < PENDING_MAX && e->trk != LT_TRK_BLOCK)
		l->pending[l->nr_pending++] = (__typeof__(l->pending[0])){ e->trk, e->sub, e->pid };
	free(l->buf_json);
	free(l->buf_text);
	l->buf_json = l->buf_text = NULL;
	if (RENDER(l->buf_json, ev_print_json(&l->fmt, f, e)) ||
	    (l->o.text_records && RENDER(l->buf_text, ev_print_text(&l->fmt, f, e))))
		return 0;
	l->buf_json[strcspn(l->buf_json, "\n")] = 0;
	r.trk = e->trk;
	r.wall_ns = e->end_ns + (uint64_t)l->fmt.wall_off;
	r.json = l->buf_json;
	r.text = l->buf_text;
	r.ev = e;
	r.delay_ns = e->delay_ns;
	r.cls = u ? &u->pub : NULL;
	emit(l, &r);
	return 0;
}

struct stuck_ctx {
	struct live *l;
	uint64_t now;
};

static void emit_stuck(struct live *l, enum lt_trk trk, uint64_t age, uint64_t now)
{
	struct live_record r = { .type = LIVE_STUCK, .trk = trk, .delay_ns = age };

	l->buf_json[strcspn(l->buf_json, "\n")] = 0;
	r.wall_ns = now + (uint64_t)l->fmt.wall_off;
	r.json = l->buf_json;
	r.text = l->buf_text;
	l->stuck[trk]++;
	emit(l, &r);
}

static void on_stuck(void *ctx, enum lt_trk trk, uint32_t tid, uint64_t begin, uint32_t sub)
{
	struct stuck_ctx *c = ctx;
	struct live *l = c->l;

	if (!l->on[trk])
		return;
	free(l->buf_json);
	free(l->buf_text);
	l->buf_json = l->buf_text = NULL;
	if (RENDER(l->buf_json, ev_print_stuck(&l->fmt, f, true, trk, tid, begin, sub, c->now)) ||
	    (l->o.text_records && RENDER(l->buf_text, ev_print_stuck(&l->fmt, f, false, trk, tid, begin, sub, c->now))))
		return;
	emit_stuck(l, trk, c->now > begin ? c->now - begin : 0, c->now);
}

static void on_stuck_block(void *ctx, const struct trk_blk_stuck *b)
{
	struct stuck_ctx *c = ctx;
	struct live *l = c->l;

	if (!l->on[LT_TRK_BLOCK])
		return;
	free(l->buf_json);
	free(l->buf_text);
	l->buf_json = l->buf_text = NULL;
	if (RENDER(l->buf_json, ev_print_stuck_block(&l->fmt, f, true, b)) ||
	    (l->o.text_records && RENDER(l->buf_text, ev_print_stuck_block(&l->fmt, f, false, b))))
		return;
	emit_stuck(l, LT_TRK_BLOCK, b->age_ns, c->now);
}

/* ---- lifecycle ---- */

static void drop_kernel_classes(struct live *l)
{
	for (uint32_t i = 0; i < l->nr_kc; i++)
		lt_hist__destroy(l->kc[i].prev);
	l->nr_kc = 0;
	free(l->kmap.slot);
	l->kmap = (struct keymap){ 0 };
}

static void stop_kernel(struct live *l)
{
	ring_buffer__free(l->rb);
	l->rb = NULL;
	trk_set__destroy(l->set);
	l->set = NULL;
	drop_kernel_classes(l);
}

static int start_kernel(struct live *l, char *err, size_t errlen)
{
	int ret;

	ret = trk_set__start(&l->set, &l->o.trk, err, errlen);
	if (ret)
		return ret;
	l->rb = ring_buffer__new(trk_set__events_fd(l->set), on_event, l, NULL);
	if (!l->rb) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the ring buffer: %s", strerror(errno));
		trk_set__destroy(l->set);
		l->set = NULL;
		return ret;
	}
	/* New kernel counters start from zero: keep what was lost before
	 * (the arithmetic is modulo 2^64, so the base may wrap). */
	for (int i = 0; i < LT_NR_DROPS; i++)
		l->drops_base[i] -= l->drops_last[i];
	memset(l->drops_last, 0, sizeof(l->drops_last));
	for (int t = 0; t < LT_TRK_MAX; t++)
		l->on[t] = l->o.trk.on[t];
	return 0;
}

static void fill_defaults(struct live_opts *o)
{
	o->trk.class_by_comm = !o->by_pid;
	if (!o->tick_ns)
		o->tick_ns = NS_PER_S;
	if (!o->max_classes)
		o->max_classes = DEFAULT_CLASSES;
	if (!o->class_idle_ns)
		o->class_idle_ns = IDLE_EVICT_NS;
	if (!o->window_memory)
		o->window_memory = DEFAULT_WINDOW_MEMORY;
}

int live__new(struct live **out, const struct live_opts *o, char *err, size_t errlen)
{
	struct lt_hist_pool_opts po = { .sz = sizeof(po) };
	struct timespec rt, mt;
	struct live *l;
	int ret;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->o = *o;
	fill_defaults(&l->o);
	l->ncpu = libbpf_num_possible_cpus();
	l->vsz = (sizeof(struct lt_hist_raw) + 7) / 8 * 8;
	po.max_hists = (uint32_t)(l->o.window_memory / lt_hist__bytes());
	if (!po.max_hists)
		po.max_hists = 1;
	l->pool = lt_hist_pool__new(&po);
	l->percpu = l->ncpu > 0 ? malloc(l->vsz * (size_t)l->ncpu) : NULL;
	l->tmp = lt_hist__new();
	l->delta = lt_hist__new();
	l->empty = lt_hist__new();
	if (!l->pool || !l->percpu || !l->tmp || !l->delta || !l->empty) {
		snprintf(err, errlen, "out of memory");
		live__destroy(l);
		return -ENOMEM;
	}
	ret = start_kernel(l, err, errlen);
	if (ret) {
		live__destroy(l);
		return ret;
	}
	/* After load: kallsyms then lists our own BPF programs too. */
	l->fmt.ks = ksyms__load();
	l->fmt.us = usyms__new();
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	l->fmt.wall_off = ((int64_t)rt.tv_sec - (int64_t)mt.tv_sec) * (int64_t)NS_PER_S +
			  (rt.tv_nsec - mt.tv_nsec);
	if (l->o.trk.on[LT_TRK_NET])
		ev_load_drop_reasons();
	l->started_ns = clock_ns(CLOCK_MONOTONIC);
	l->next_tick = l->started_ns + l->o.tick_ns;
	l->next_sweep = l->started_ns + SWEEP_NS;
	l->next_change = l->started_ns + CHANGE_NS;
	*out = l;
	return 0;
}

static void free_classes(struct live *l)
{
	for (uint32_t i = 0; i < l->nr_uc; i++)
		uclass_free(&l->uc[i]);
	l->nr_uc = 0;
	free(l->umap.slot);
	l->umap = (struct keymap){ 0 };
}

void live__destroy(struct live *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->nr_sinks; i++)
		l->sinks[i]->ops->destroy(l->sinks[i]);
	stop_kernel(l);
	free_classes(l);
	free(l->uc);
	free(l->kc);
	lt_hist_pool__destroy(l->pool);
	lt_hist__destroy(l->tmp);
	lt_hist__destroy(l->delta);
	lt_hist__destroy(l->empty);
	free(l->percpu);
	free(l->snap_c);
	free(l->buf_json);
	free(l->buf_text);
	ksyms__free(l->fmt.ks);
	usyms__free(l->fmt.us);
	ev_free_drop_reasons();
	free(l);
}

int live__fd(const struct live *l)
{
	return l->rb ? ring_buffer__epoll_fd(l->rb) : -1;
}

const struct evfmt *live__fmt(const struct live *l)
{
	return &l->fmt;
}

/* ---- tick: read the kernel classes ---- */

static bool process_exited(uint32_t tgid)
{
	/* A zombie still answers: it is not reaped, its class may still grow. */
	return tgid && kill((pid_t)tgid, 0) && errno == ESRCH;
}

static struct kclass *kclass_get(struct live *l, const struct lt_class_key *k)
{
	int64_t at = km_find(l, &l->kmap, kc_key, k);
	struct kclass *c;

	if (at >= 0)
		return &l->kc[at];
	if (l->nr_kc == l->cap_kc) {
		uint32_t cap = l->cap_kc ? l->cap_kc * 2 : 64;
		struct kclass *n = realloc(l->kc, cap * sizeof(*n));

		if (!n)
			return NULL;
		l->kc = n;
		l->cap_kc = cap;
	}
	if (k->trk != LT_TRK_BLOCK && k->tgid) {
		l->leader[k->tgid % LEADER_CACHE].tgid = k->tgid;
		memcpy(l->leader[k->tgid % LEADER_CACHE].comm, k->comm, LT_COMM_LEN);
	}
	c = &l->kc[l->nr_kc];
	memset(c, 0, sizeof(*c));
	c->k = *k;
	c->cls = -1;
	c->prev = lt_hist__new();
	if (!c->prev || km_insert(l, &l->kmap, kc_key, l->nr_kc)) {
		lt_hist__destroy(c->prev);
		return NULL;
	}
	return &l->kc[l->nr_kc++];
}

static bool kc_used(const struct live *l, uint32_t i)
{
	return l->kc[i].used;
}

/* The per-CPU copies in l->percpu, summed, minus what was read before:
 * feed the difference to the kernel class's user class. */
static void take(struct live *l, struct kclass *kc, uint64_t now)
{
	struct lt_hist *t;
	bool folded;
	uint64_t n;

	lt_hist__reset(l->tmp);
	for (int c = 0; c < l->ncpu; c++)
		lt_hist__import_raw(l->tmp, (const struct lt_hist_raw *)((char *)l->percpu + l->vsz * (size_t)c));
	lt_hist__reset(l->delta);
	lt_hist__merge(l->delta, l->tmp);
	if (lt_hist__subtract(l->delta, kc->prev)) { /* the kernel entry was recreated */
		lt_hist__reset(l->delta);
		lt_hist__merge(l->delta, l->tmp);
	}
	t = kc->prev;
	kc->prev = l->tmp;
	l->tmp = t;
	n = lt_hist__count(l->delta);
	if (n)
		kc->changed_ns = now;
	if (!n || kc->k.trk >= LT_TRK_MAX || !l->on[kc->k.trk])
		return;
	if (kc->cls < 0)
		kc->cls = uclass_for(l, &kc->k, &folded);
	if (kc->cls < 0)
		return;
	struct uclass *u = &l->uc[kc->cls];

	lt_hist__merge(u->cum, l->delta);
	if (u->win)
		lt_window__record_hist(u->win, l->delta, now);
	l->samples[kc->k.trk] += n;
	if (u->pub.other)
		l->folded += n;
	if (!u->last && !(u->last = lt_hist__new()))
		return;
	u->pub.last = u->last;
	lt_hist__merge(u->last, l->delta);
	u->last_dirty = true;
}

/* A kernel class to take out of the kernel map: its process exited, or
 * (classes per comm) it has been idle for class_idle_ns.  Its samples stay
 * in the user class; a new kernel entry for the same key starts afresh. */
static bool to_evict(const struct kclass *kc, uint64_t now, uint64_t idle_ns)
{
	if (kc->k.trk == LT_TRK_BLOCK || kc->k.trk == LT_TRK_IRQ) /* tgid: a device; no process */
		return false;
	if (!kc->k.tgid)
		return now - kc->changed_ns > idle_ns;
	return process_exited(kc->k.tgid);
}

static void read_kernel(struct live *l, uint64_t now)
{
	struct lt_class_key key, next;
	bool removed = false;
	void *prev = NULL;
	struct kct *kt = trk_set__kct(l->set);
	uint32_t nr_gone = 0;

	for (uint32_t i = 0; i < l->nr_kc; i++)
		l->kc[i].used = false;
	kct__recycle(kt, now);
	while (!kct__next(kt, prev, &next)) {
		struct kclass *kc;
		uint64_t raw_count = 0;

		key = next;
		prev = &key;
		if (kct__read(kt, &key, l->percpu))
			continue;
		kc = kclass_get(l, &key);
		if (!kc)
			continue;
		if (!kc->changed_ns)
			kc->changed_ns = now;
		kc->used = true;
		for (int c = 0; c < l->ncpu; c++)
			raw_count += ((const struct lt_hist_raw *)((char *)l->percpu + l->vsz * (size_t)c))->count;
		/* Idle since the last read: skip the buckets.  The kernel counts
		 * the bucket before the total, so a total seen unchanged never
		 * hides a bucket counted before the last read (x86 keeps store
		 * order; elsewhere a sample may show one tick late). */
		if (raw_count != kc->raw_count || !raw_count) {
			kc->raw_count = raw_count;
			take(l, kc, now);
		}
		/* Deleted after the walk: deleting while walking restarts get_next_key. */
		kc->gone = to_evict(kc, now, l->o.class_idle_ns);
		nr_gone += kc->gone;
	}
	/* The final values and the deletion together, so that nothing
	 * recorded in between is lost (kclass.h). */
	for (uint32_t i = 0; nr_gone && i < l->nr_kc; i++) {
		struct kclass *kc = &l->kc[i];

		if (!kc->used || !kc->gone)
			continue;
		if (!kct__take(kt, &kc->k, l->percpu)) {
			take(l, kc, now);
			kc->used = false; /* forgotten below */
		}
	}
	/* Kernel classes deleted, or gone from the map. */
	for (uint32_t i = 0; i < l->nr_kc; i++)
		if (!l->kc[i].used)
			removed = true;
	if (removed) {
		uint32_t n = 0;

		for (uint32_t i = 0; i < l->nr_kc; i++) {
			if (l->kc[i].used)
				l->kc[n++] = l->kc[i];
			else
				lt_hist__destroy(l->kc[i].prev);
		}
		l->nr_kc = n;
		km_rebuild(l, &l->kmap, kc_key, n, kc_used);
	}
}

/* Count the outliers that came before their class (now read, with the
 * process's comm learned from its kernel key). */
static void resolve_pending(struct live *l)
{
	for (uint32_t i = 0; i < l->nr_pending; i++) {
		struct lt_event e = { .trk = l->pending[i].trk, .sub = l->pending[i].sub, .pid = l->pending[i].pid };
		struct uclass *u = class_of_event(l, &e);

		if (u)
			u->pub.outliers++;
	}
	l->nr_pending = 0;
}

/* ---- change detection ---- */

static void change_json(FILE *f, struct live *l, const struct uclass *u, const struct lt_change *c,
			const char *sentence, uint64_t now)
{
	char wall[64];

	ev_fmt_wall(&l->fmt, now, wall, sizeof(wall), true);
	fprintf(f, "{\"type\":\"change\",\"tracker\":\"%s\",\"time\":\"%s\",\"class\":", u->pub.tracker, wall);
	ev_json_str(f, u->pub.sub, sizeof(u->pub.sub));
	fprintf(f, ",\"%s\":", u->pub.ent_label);
	ev_json_str(f, u->pub.ent, sizeof(u->pub.ent));
	if (l->o.by_pid && u->pub.k.trk != LT_TRK_BLOCK)
		fprintf(f, ",\"pid\":%u", u->pub.k.tgid);
	fputs(",\"what\":", f);
	ev_json_str(f, sentence, strlen(sentence));
	fprintf(f, ",\"recent_ns\":%" PRIu64 ",\"baseline_ns\":%" PRIu64 ",\"n_recent\":%" PRIu64
		",\"n_baseline\":%" PRIu64 ",\"p_value\":%.3g,\"quantiles\":[",
		c->recent_ns, c->baseline_ns, c->n_recent, c->n_baseline, c->p_value);
	for (uint32_t i = 0; i < c->nr_quantiles; i++)
		fprintf(f, "%s{\"q\":%g,\"from_ns\":%" PRIu64 ",\"to_ns\":%" PRIu64 ",\"p_value\":%.3g,"
			"\"moved\":\"%s\"}", i ? "," : "", c->q[i].pct, c->q[i].from_ns, c->q[i].to_ns,
			c->q[i].p_value, c->q[i].dir > 0 ? "rose" : c->q[i].dir < 0 ? "fell" : "no");
	fputs("]}", f);
}

static void detect_changes(struct live *l, uint64_t now)
{
	for (uint32_t i = 0; i < l->nr_uc; i++) {
		struct uclass *u = &l->uc[i];
		struct live_record r = { .type = LIVE_CHANGE };
		char name[LT_CHANGE_NAME_MAX], sentence[512];
		struct lt_change c;
		bool same = true;
		int ret;

		if (!u->win || lt_hist__count(u->cum) < 250)
			continue;
		snprintf(name, sizeof(name), "%s %s in %s", u->pub.tracker, u->pub.sub, u->pub.ent);
		ret = lt_change__check(u->win, now, NULL, name, &c);
		if (ret < 0)
			continue;
		/* Report a change once, not every 10 s while it stays in the last minute. */
		for (uint32_t q = 0; q < LT_CHANGE_MAX_Q; q++) {
			int32_t d = ret == 1 && q < c.nr_quantiles ? c.q[q].dir : 0;

			if (d != u->change_dirs[q])
				same = false;
			u->change_dirs[q] = d;
		}
		if (ret != 1 || same)
			continue;
		lt_change__format(&c, sentence, sizeof(sentence));
		free(l->buf_json);
		free(l->buf_text);
		l->buf_json = l->buf_text = NULL;
		if (RENDER(l->buf_json, change_json(f, l, u, &c, sentence, now)) ||
		    RENDER(l->buf_text, fprintf(f, "CHANGE %s\n", sentence)))
			continue;
		l->changes[u->pub.k.trk % LT_TRK_MAX]++;
		r.trk = (enum lt_trk)(u->pub.k.trk % LT_TRK_MAX);
		r.wall_ns = now + (uint64_t)l->fmt.wall_off;
		r.json = l->buf_json;
		r.text = l->buf_text;
		r.chg = &c;
		r.cls = &u->pub;
		emit(l, &r);
	}
}

/* ---- snapshot ---- */

static int cmp_class(const void *a, const void *b)
{
	const struct live_class *x = *(const struct live_class *const *)a;
	const struct live_class *y = *(const struct live_class *const *)b;
	int c;

	if (x->k.trk != y->k.trk)
		return x->k.trk < y->k.trk ? -1 : 1;
	c = strcmp(x->sub, y->sub);
	if (c)
		return c;
	c = strcmp(x->ent, y->ent);
	if (c)
		return c;
	return x->k.tgid < y->k.tgid ? -1 : x->k.tgid > y->k.tgid;
}

static void build_snapshot(struct live *l, uint64_t now)
{
	struct live_snapshot *s = &l->snap;
	struct lt_hist_pool_stats ps;
	uint64_t d[LT_NR_DROPS];

	if (l->cap_snap < l->nr_uc) {
		const struct live_class **n = realloc(l->snap_c, l->nr_uc * sizeof(*n));

		if (n) {
			l->snap_c = n;
			l->cap_snap = l->nr_uc;
		}
	}
	s->nr = l->cap_snap < l->nr_uc ? l->cap_snap : l->nr_uc;
	for (size_t i = 0; i < s->nr; i++)
		l->snap_c[i] = &l->uc[i].pub;
	qsort(l->snap_c, s->nr, sizeof(*l->snap_c), cmp_class);
	s->c = l->snap_c;
	s->mono_ns = now;
	s->wall_ns = now + (uint64_t)l->fmt.wall_off;
	s->tick_ns = l->o.tick_ns;
	s->tick_seq = l->tick_seq;
	for (int t = 0; t < LT_TRK_MAX; t++) {
		s->on[t] = l->on[t];
		s->loaded[t] = l->set && trk_set__loaded(l->set, t);
		s->thresh_ns[t] = l->o.trk.thresh_ns[t];
		s->timeout_ns[t] = l->o.timeout_ns[t];
	}
	memcpy(s->outliers, l->outliers, sizeof(s->outliers));
	memcpy(s->stuck, l->stuck, sizeof(s->stuck));
	memcpy(s->changes, l->changes, sizeof(s->changes));
	if (l->set && !trk_set__drops(l->set, d))
		memcpy(l->drops_last, d, sizeof(d));
	for (int i = 0; i < LT_NR_DROPS; i++)
		s->drops[i] = l->drops_last[i] - l->drops_base[i];
	s->classes_folded = l->folded;
	lt_hist_pool__stats(l->pool, &ps);
	s->window_refused = ps.refused;
	s->bpf_reloads = l->reloads;
	s->nr_outputs = 0;
	for (int i = 0; i < l->nr_sinks; i++) {
		struct sink_health *h = &l->health[s->nr_outputs];

		if (!l->sinks[i]->ops->health)
			continue;
		*h = (struct sink_health){ .name = l->sinks[i]->ops->name };
		l->sinks[i]->ops->health(l->sinks[i], h);
		s->nr_outputs++;
	}
	s->outputs = l->health;
}

int live__tick_now(struct live *l, uint64_t now)
{
	for (uint32_t i = 0; i < l->nr_uc; i++)
		if (l->uc[i].last_dirty) {
			lt_hist__reset(l->uc[i].last);
			l->uc[i].last_dirty = false;
		} else if (l->uc[i].last) { /* idle for a whole tick: give it back */
			lt_hist__destroy(l->uc[i].last);
			l->uc[i].last = NULL;
			l->uc[i].pub.last = l->empty;
		}
	if (l->rb)
		ring_buffer__consume(l->rb);
	if (l->set)
		read_kernel(l, now);
	resolve_pending(l);
	l->tick_seq++;
	if (l->o.change_detection && now >= l->next_change) {
		detect_changes(l, now);
		for (uint32_t i = 0; i < l->nr_uc; i++)
			if (l->uc[i].win)
				lt_window__advance(l->uc[i].win, now);
		l->next_change = now + CHANGE_NS;
	}
	build_snapshot(l, now);
	for (int i = 0; i < l->nr_sinks; i++)
		if (l->sinks[i]->ops->snapshot)
			l->sinks[i]->ops->snapshot(l->sinks[i], &l->snap);
	return 0;
}

int live__process(struct live *l, uint64_t now)
{
	uint64_t next;
	int err;

	if (l->rb) {
		err = ring_buffer__consume(l->rb);
		if (err < 0 && err != -EINTR)
			return err;
	}
	if (l->set && now >= l->next_sweep) {
		struct stuck_ctx c = { l, now };

		if (l->on[LT_TRK_SYSCALL] && l->o.timeout_ns[LT_TRK_SYSCALL])
			trk_set__sweep(l->set, now, l->o.timeout_ns[LT_TRK_SYSCALL], on_stuck, &c);
		if (l->on[LT_TRK_BLOCK] && l->o.timeout_ns[LT_TRK_BLOCK])
			trk_set__sweep_block(l->set, now, l->o.timeout_ns[LT_TRK_BLOCK], on_stuck_block, &c);
		l->next_sweep = now + SWEEP_NS;
	}
	if (now >= l->next_tick) {
		live__tick_now(l, now);
		l->next_tick += l->o.tick_ns;
		if (l->next_tick <= now) /* fell behind (suspended): no burst of ticks */
			l->next_tick = now + l->o.tick_ns;
		for (int i = 0; i < l->nr_sinks; i++)
			if (l->sinks[i]->ops->poll)
				l->sinks[i]->ops->poll(l->sinks[i], now);
	}
	next = l->next_tick < l->next_sweep ? l->next_tick : l->next_sweep;
	return next > now ? (int)((next - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
}

/* ---- control ---- */

int live__set_threshold(struct live *l, enum lt_trk trk, uint64_t ns)
{
	int ret;

	if ((unsigned)trk >= LT_TRK_MAX)
		return -EINVAL;
	ret = trk_set__set_threshold(l->set, trk, ns);
	if (!ret)
		l->o.trk.thresh_ns[trk] = ns;
	return ret;
}

int live__set_timeout(struct live *l, enum lt_trk trk, uint64_t ns)
{
	if ((unsigned)trk >= LT_TRK_MAX || (!ev_default_timeout_ns[trk] && ns))
		return -EINVAL; /* 0 (never) is every tracker's timeout; others: syscall, block */
	l->o.timeout_ns[trk] = ns;
	return 0;
}

int live__enable(struct live *l, enum lt_trk trk, bool on)
{
	int ret;

	if ((unsigned)trk >= LT_TRK_MAX)
		return -EINVAL;
	ret = trk_set__enable(l->set, trk, on);
	if (!ret)
		l->on[trk] = on;
	return ret;
}

void live__reset(struct live *l)
{
	free_classes(l);
	for (uint32_t i = 0; i < l->nr_kc; i++)
		l->kc[i].cls = -1;
	memset(l->outliers, 0, sizeof(l->outliers));
	memset(l->stuck, 0, sizeof(l->stuck));
	memset(l->changes, 0, sizeof(l->changes));
	memset(l->samples, 0, sizeof(l->samples));
	l->folded = 0;
	if (l->set)
		trk_set__drops(l->set, l->drops_last);
	memcpy(l->drops_base, l->drops_last, sizeof(l->drops_base));
}

static bool same_filters(const struct trk_opts *a, const struct trk_opts *b)
{
	return a->per_trk == b->per_trk && !memcmp(&a->f, &b->f, sizeof(a->f)) &&
	       !memcmp(a->tf, b->tf, sizeof(a->tf));
}

int live__reconfigure(struct live *l, const struct live_opts *no, char *err, size_t errlen)
{
	struct live_opts o = *no;
	bool reload = !same_filters(&o.trk, &l->o.trk) || o.trk.max_classes != l->o.trk.max_classes ||
		      o.trk.ringbuf_bytes != l->o.trk.ringbuf_bytes ||
		      o.trk.force_raw_tp != l->o.trk.force_raw_tp;
	int ret;

	fill_defaults(&o);
	for (int t = 0; t < LT_TRK_MAX; t++)
		if (o.trk.on[t] && !trk_set__loaded(l->set, t))
			reload = true;
	if (o.by_pid != l->o.by_pid || o.max_classes != l->o.max_classes ||
	    o.window_memory != l->o.window_memory || o.no_windows != l->o.no_windows) {
		snprintf(err, errlen, "classes, window_memory: a restart is needed to change them");
		return -EINVAL;
	}
	if (reload) {
		struct live_opts old = l->o;

		stop_kernel(l);
		l->o = o;
		ret = start_kernel(l, err, errlen);
		if (ret) {
			char e2[256];

			l->o = old;
			if (start_kernel(l, e2, sizeof(e2)))
				snprintf(err + strlen(err), errlen - strlen(err), "; and the old one: %s", e2);
			return ret;
		}
		l->reloads++;
		for (uint32_t i = 0; i < l->nr_kc; i++)
			l->kc[i].cls = -1;
		return 0;
	}
	for (int t = 0; t < LT_TRK_MAX; t++) {
		if (trk_set__loaded(l->set, t)) {
			ret = live__enable(l, t, o.trk.on[t]);
			if (ret) {
				snprintf(err, errlen, "%s: cannot %s: %s", ev_trk_names[t],
					 o.trk.on[t] ? "attach" : "detach", strerror(-ret));
				return ret;
			}
		}
		ret = trk_set__set_threshold(l->set, t, o.trk.thresh_ns[t]);
		if (ret) {
			snprintf(err, errlen, "%s: cannot set the threshold: %s", ev_trk_names[t], strerror(-ret));
			return ret;
		}
	}
	memcpy(l->o.trk.thresh_ns, o.trk.thresh_ns, sizeof(o.trk.thresh_ns));
	memcpy(l->o.timeout_ns, o.timeout_ns, sizeof(o.timeout_ns));
	memcpy(l->o.trk.on, o.trk.on, sizeof(o.trk.on));
	l->o.tick_ns = o.tick_ns;
	l->o.change_detection = o.change_detection;
	l->o.class_idle_ns = o.class_idle_ns;
	return 0;
}

const struct live_snapshot *live__last(const struct live *l)
{
	return &l->snap;
}

void live__status(struct live *l, FILE *out)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), up = (now - l->started_ns) / NS_PER_S;
	struct lt_hist_pool_stats ps;
	uint64_t d[LT_NR_DROPS] = { 0 }, lost = 0;
	char a[32], b[32];

	if (l->set && !trk_set__drops(l->set, d))
		memcpy(l->drops_last, d, sizeof(d));
	fprintf(out, "up %" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s, tick %s, hooks %s, BPF reloads %" PRIu64 "\n",
		up / 3600, up / 60 % 60, up % 60, ev_fmt_dur(l->o.tick_ns, a, sizeof(a)),
		l->set ? trk_set__hook_kind(l->set) : "none", l->reloads);
	fprintf(out, "%-8s %-10s %10s %9s %12s %9s %7s %7s %7s\n", "TRACKER", "STATE", "THRESHOLD", "TIMEOUT",
		"SAMPLES", "OUTLIERS", "STUCK", "CHANGES", "LOST");
	for (int t = 0; t < LT_TRK_MAX; t++) {
		bool loaded = l->set && trk_set__loaded(l->set, t);
		uint64_t tl = 0;

		for (int k = 0; k < LT_DROP_MAX; k++)
			tl += l->drops_last[t * LT_DROP_MAX + k] - l->drops_base[t * LT_DROP_MAX + k];
		fprintf(out, "%-8s %-10s %10s %9s %12" PRIu64 " %9" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 "\n",
			ev_trk_names[t], !loaded ? "not-loaded" : l->on[t] ? "on" : "off",
			ev_fmt_dur(l->o.trk.thresh_ns[t], a, sizeof(a)),
			l->o.timeout_ns[t] ? ev_fmt_dur(l->o.timeout_ns[t], b, sizeof(b)) : "-",
			l->samples[t], l->outliers[t], l->stuck[t], l->changes[t], tl);
	}
	fputs("lost:", out);
	for (int i = 0; i < LT_NR_DROPS; i++) {
		uint64_t v = l->drops_last[i] - l->drops_base[i];

		if (v)
			fprintf(out, " %s.%s=%" PRIu64, ev_trk_names[i / LT_DROP_MAX], ev_drop_names[i % LT_DROP_MAX], v);
		lost += v;
	}
	fputs(lost ? "\n" : " none\n", out);
	lt_hist_pool__stats(l->pool, &ps);
	fprintf(out, "classes: %u of %u (samples folded into \"other\": %" PRIu64 "); kernel classes %u; "
		"windows: %.1f MiB of %.1f MiB, refused %" PRIu64 "\n",
		l->nr_uc, l->o.max_classes, l->folded, l->nr_kc, (double)ps.bytes / 1048576.0,
		(double)l->o.window_memory / 1048576.0, ps.refused);
	for (int i = 0; i < l->nr_sinks; i++)
		if (l->sinks[i]->ops->status)
			l->sinks[i]->ops->status(l->sinks[i], out);
}
