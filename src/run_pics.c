/* Pictures of a `latrack run`: see run_pics.h. */
#include "run_pics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <latrack/hist_layout.h>

#include "kclass.h"

#include "flame.h"

#define FIRST_WIDTH_NS 250000000ull /* heatmap column at start: 250 ms */
#define MAX_MARKS      16384        /* outliers kept to mark (a min-heap: the slowest stay) */

/* One kernel class: its bucket counts at the previous read. */
struct kclass {
	struct lt_class_key k;
	bool used;
	char name[LAT_PICS_NAME_MAX];
	uint64_t *prev; /* LT_HIST_NR_SLOTS, summed over the CPUs */
};

struct mark {
	uint32_t trk, sub, pid;
	uint64_t end, delay;
	char label[48];
};

struct run_pics {
	struct run_pics_opts *o;
	const struct evfmt *fmt;
	struct kct *kt;
	int ncpu;
	size_t vsz;
	struct lt_hist_raw *per; /* lookup buffer: ncpu copies */
	uint64_t *sum;
	struct kclass *tab;
	size_t cap, n;
	struct lat_pics *pics;
	struct flame *fl;
	struct mark *marks;
	size_t nmarks;
	uint64_t marks_dropped;
	bool on[LT_TRK_MAX];
	uint64_t thresh[LT_TRK_MAX];
	uint64_t start, last_read, next_read;
	bool stacks_seen[LT_TRK_MAX];
};

int run_pics_opts__parse(struct run_pics_opts *o, int which, const char *arg)
{
	switch (which) {
	case 0: o->svg = arg; return 0;
	case 1:
		if (lat_pics_sel__parse_classes(&o->sel, arg)) {
			fprintf(stderr, "latrack run: --svg-classes takes a number (0 to 1000) or "
					"class names, e.g. 'syscall read lt-sleeper[42]'; got '%s'\n", arg);
			return -EINVAL;
		}
		return 0;
	case 2:
		if (lat_pics_sel__parse_sort(&o->sel, arg)) {
			fprintf(stderr, "latrack run: --svg-sort takes total, count, p99 or max; "
					"got '%s'\n", arg);
			return -EINVAL;
		}
		return 0;
	case 3: o->folded = arg; return 0;
	case 4: o->flame = arg; return 0;
	}
	return -EINVAL;
}

bool run_pics_opts__any(const struct run_pics_opts *o)
{
	return o->svg || o->folded || o->flame;
}

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t key_hash(const struct lt_class_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* The class's name in the pictures: "syscall nanosleep lt-sleeper[42]",
 * "block W service sda (8:0)", "irq irq19 ahci". */
static void class_name(const struct lt_class_key *k, char *buf, size_t len)
{
	char sb[32];
	int n = snprintf(buf, len, "%s %s %.*s", ev_trk_names[k->trk % LT_TRK_MAX],
			 ev_sub_name(k->trk, k->sub, sb, sizeof(sb)), LT_COMM_LEN, k->comm);

	if (n < 0 || (size_t)n >= len)
		return;
	if (k->trk == LT_TRK_BLOCK)
		snprintf(buf + n, len - (size_t)n, " (%u:%u)", k->tgid >> 20, k->tgid & 0xfffff);
	else if (k->trk == LT_TRK_IRQ || (k->trk == LT_TRK_NET && !k->tgid))
		;
	else if (k->tgid)
		snprintf(buf + n, len - (size_t)n, "[%u]", k->tgid);
	else
		snprintf(buf + n, len - (size_t)n, "[exited]");
}

static struct kclass *kclass_get(struct run_pics *rp, const struct lt_class_key *k)
{
	size_t i;

	for (i = key_hash(k) & (rp->cap - 1); rp->tab[i].used; i = (i + 1) & (rp->cap - 1))
		if (!memcmp(&rp->tab[i].k, k, sizeof(*k)))
			return &rp->tab[i];
	if ((rp->n + 1) * 2 > rp->cap) {
		size_t ncap = rp->cap * 2;
		struct kclass *nt = calloc(ncap, sizeof(*nt));

		if (!nt)
			return NULL;
		for (size_t j = 0; j < rp->cap; j++) {
			size_t x;

			if (!rp->tab[j].used)
				continue;
			for (x = key_hash(&rp->tab[j].k) & (ncap - 1); nt[x].used; x = (x + 1) & (ncap - 1))
				;
			nt[x] = rp->tab[j];
		}
		free(rp->tab);
		rp->tab = nt;
		rp->cap = ncap;
		for (i = key_hash(k) & (rp->cap - 1); rp->tab[i].used; i = (i + 1) & (rp->cap - 1))
			;
	}
	rp->tab[i].prev = calloc(LT_HIST_NR_SLOTS, sizeof(uint64_t));
	if (!rp->tab[i].prev)
		return NULL;
	rp->tab[i].used = true;
	rp->tab[i].k = *k;
	class_name(k, rp->tab[i].name, sizeof(rp->tab[i].name));
	if (k->trk < LT_TRK_MAX)
		lat_pics__set_threshold(rp->pics, rp->tab[i].name, rp->thresh[k->trk]);
	rp->n++;
	return &rp->tab[i];
}

/* Read every class histogram; what each bucket gained since the previous
 * read is shared among the columns of the interval, in proportion to time. */
static void read_hists(struct run_pics *rp, uint64_t now)
{
	struct lt_class_key key, next;
	void *prev = NULL;

	while (!kct__next(rp->kt, prev, &next)) {
		struct kclass *c;

		key = next;
		prev = &key;
		if (kct__read(rp->kt, &key, rp->per))
			continue; /* deleted meanwhile */
		c = kclass_get(rp, &key);
		if (!c)
			continue;
		memset(rp->sum, 0, LT_HIST_NR_SLOTS * sizeof(uint64_t));
		for (int cpu = 0; cpu < rp->ncpu; cpu++) {
			const struct lt_hist_raw *h =
				(const struct lt_hist_raw *)((const char *)rp->per + rp->vsz * (size_t)cpu);

			for (unsigned b = 0; b < LT_HIST_NR_SLOTS; b++)
				rp->sum[b] += h->counts[b];
		}
		for (unsigned b = 0; b < LT_HIST_NR_SLOTS; b++) {
			uint64_t d, mid;

			if (rp->sum[b] <= c->prev[b])
				continue;
			d = rp->sum[b] - c->prev[b];
			c->prev[b] = rp->sum[b];
			mid = b == LT_HIST_OVERFLOW ? lt_hist_bucket_low(b)
						    : lt_hist_bucket_low(b) + lt_hist_bucket_width(b) / 2;
			lat_pics__record_span(rp->pics, c->name, (int64_t)rp->last_read, (int64_t)now,
					      mid, d);
		}
	}
	rp->last_read = now;
}

struct run_pics *run_pics__new(struct run_pics_opts *o, const struct evfmt *fmt, struct kct *kt,
			       const bool on[LT_TRK_MAX], const uint64_t thresh_ns[LT_TRK_MAX],
			       uint64_t start_mono)
{
	struct run_pics *rp = calloc(1, sizeof(*rp));

	if (!rp)
		goto nomem;
	rp->o = o;
	rp->fmt = fmt;
	rp->kt = kt;
	memcpy(rp->on, on, sizeof(rp->on));
	memcpy(rp->thresh, thresh_ns, sizeof(rp->thresh));
	rp->start = rp->last_read = start_mono;
	if (o->svg) {
		rp->ncpu = kct__ncpu(kt);
		rp->vsz = kct__vsz(kt);
		rp->per = malloc(rp->vsz * (size_t)rp->ncpu);
		rp->sum = malloc(LT_HIST_NR_SLOTS * sizeof(uint64_t));
		rp->cap = 256;
		rp->tab = calloc(rp->cap, sizeof(*rp->tab));
		rp->pics = lat_pics__new();
		rp->marks = malloc(MAX_MARKS * sizeof(*rp->marks));
		if (!rp->per || !rp->sum || !rp->tab || !rp->pics || !rp->marks)
			goto nomem;
		lat_pics__set_origin(rp->pics, (int64_t)start_mono);
		lat_pics__set_width(rp->pics, FIRST_WIDTH_NS);
		lat_pics__marks_only(rp->pics);
		rp->next_read = start_mono + FIRST_WIDTH_NS;
	}
	if ((o->folded || o->flame) && !(rp->fl = flame__new()))
		goto nomem;
	return rp;
nomem:
	fprintf(stderr, "latrack run: pictures: out of memory\n");
	run_pics__free(rp);
	return NULL;
}

/* "func+0x1f" -> "func"; user "sym+0x1f (file)" -> "sym", "[unknown] (/usr/lib/x.so+0x10)"
 * -> "[x.so]", "[unknown] 0x7f..." -> "[unknown]". */
static void frame_name(const char *sym, char *out, size_t len)
{
	if (!strncmp(sym, "[unknown] (", 11)) {
		const char *file = sym + 11, *end = file + strcspn(file, "+)");
		const char *base = file;

		for (const char *q = file; q < end; q++)
			if (*q == '/')
				base = q + 1;
		snprintf(out, len, "[%.*s]", (int)(end - base), base);
		return;
	}
	snprintf(out, len, "%.*s", (int)strcspn(sym, "+ "), sym);
}

#define MAX_FRAMES (1 + LT_USTACK_MAX + LT_KSTACK_MAX)

static void add_stack(struct run_pics *rp, const struct lt_event *e)
{
	static char names[MAX_FRAMES][160];
	const char *frames[MAX_FRAMES];
	char sym[256], comm[LT_COMM_LEN + 1];
	size_t n = 0;
	uint32_t nu = ev_ustack_len(e), nk = e->kstack_n < LT_KSTACK_MAX ? e->kstack_n : LT_KSTACK_MAX;
	uint32_t first = ev_first_real_frame(rp->fmt, e->kstack, nk);

	snprintf(comm, sizeof(comm), "%.*s", LT_COMM_LEN, e->comm);
	frames[n++] = comm;
	for (uint32_t i = nu; i-- > 0;) { /* outermost caller first */
		frame_name(usyms__format(rp->fmt->us, e->pid, e->ustack[i], sym, sizeof(sym)),
			   names[n], sizeof(names[n]));
		frames[n] = names[n];
		n++;
	}
	for (uint32_t i = nk; i-- > first;) {
		char fn[150];

		frame_name(ksyms__format(rp->fmt->ks, e->kstack[i], sym, sizeof(sym)), fn, sizeof(fn));
		snprintf(names[n], sizeof(names[n]), "%s_[k]", fn);
		frames[n] = names[n];
		n++;
	}
	flame__add(rp->fl, frames, n, (e->delay_ns + 500) / 1000);
	rp->stacks_seen[e->trk] = true;
}

void run_pics__event(struct run_pics *rp, const struct lt_event *e)
{
	if (!rp)
		return;
	if (rp->fl && (e->trk == LT_TRK_OFFCPU ||
		       (e->trk == LT_TRK_SYSCALL && (e->flags & LT_EV_KSTACK_BLOCKED))))
		add_stack(rp, e);
	if (rp->pics) {
		struct mark m = { .trk = e->trk, .sub = e->sub, .pid = e->pid, .end = e->end_ns,
				  .delay = e->delay_ns };
		size_t i;

		snprintf(m.label, sizeof(m.label), "pid %u tid %u %.*s", e->pid, e->tid, LT_COMM_LEN,
			 e->comm);
		/* a min-heap on the delay: when full, a slower outlier replaces
		 * the fastest kept */
		if (rp->nmarks < MAX_MARKS) {
			for (i = rp->nmarks++; i && rp->marks[(i - 1) / 2].delay > m.delay; i = (i - 1) / 2)
				rp->marks[i] = rp->marks[(i - 1) / 2];
			rp->marks[i] = m;
			return;
		}
		rp->marks_dropped++;
		if (rp->marks[0].delay >= m.delay)
			return;
		for (i = 0;;) {
			size_t c = 2 * i + 1;

			if (c >= rp->nmarks)
				break;
			if (c + 1 < rp->nmarks && rp->marks[c + 1].delay < rp->marks[c].delay)
				c++;
			if (rp->marks[c].delay >= m.delay)
				break;
			rp->marks[i] = rp->marks[c];
			i = c;
		}
		rp->marks[i] = m;
	}
}

void run_pics__tick(struct run_pics *rp, uint64_t now)
{
	uint64_t took, next;

	if (!rp || !rp->pics || now < rp->next_read)
		return;
	read_hists(rp, now);
	/* once per column; less often when reading is costly (many classes):
	 * at most 5 % of a CPU */
	took = mono_now() - now;
	next = lat_pics__width(rp->pics);
	if (20 * took > next)
		next = 20 * took;
	rp->next_read = now + next;
}

/* The class an outlier belongs to: same tracker, sub-class and process
 * (the class's comm is the process leader's, the outlier's the thread's);
 * irq classes are not per process. */
static int cmp_class(const void *a, const void *b)
{
	const struct lt_class_key *x = &(*(struct kclass *const *)a)->k;
	const struct lt_class_key *y = &(*(struct kclass *const *)b)->k;
	uint32_t tx = x->trk == LT_TRK_IRQ ? 0 : x->tgid, ty = y->trk == LT_TRK_IRQ ? 0 : y->tgid;

	if (x->trk != y->trk)
		return x->trk < y->trk ? -1 : 1;
	if (x->sub != y->sub)
		return x->sub < y->sub ? -1 : 1;
	return tx < ty ? -1 : tx > ty;
}

static const char *mark_class(struct kclass **sorted, size_t n, const struct mark *m)
{
	struct kclass probe = { .k = { .trk = m->trk, .sub = m->sub, .tgid = m->pid } }, *pp = &probe;
	struct kclass **c = n ? bsearch(&pp, sorted, n, sizeof(*sorted), cmp_class) : NULL;

	return c ? (*c)->name : NULL;
}

static void where(char *buf, size_t len)
{
	char host[256] = "?";

	gethostname(host, sizeof(host) - 1);
	snprintf(buf, len, "host %s, live (latrack run)", host);
}

int run_pics__finish(struct run_pics *rp, uint64_t now)
{
	char err[256], wh[320], what[128], sub[640], t0[64], t1[64];
	int ret = 0;
	size_t n = 0;

	if (!rp)
		return 0;
	where(wh, sizeof(wh));
	n = (size_t)snprintf(what, sizeof(what), "Kernel latency:");
	for (int t = 0; t < LT_TRK_MAX && n < sizeof(what); t++)
		if (rp->on[t])
			n += (size_t)snprintf(what + n, sizeof(what) - n, " %s", ev_trk_names[t]);
	if (rp->pics) {
		struct lat_pics_page pg = {
			.what = what, .where = wh, .t0_ns = (int64_t)rp->start, .t1_ns = (int64_t)now,
			.wall_offset_ns = rp->fmt->wall_off,
			.note = "counts: the kernel histograms' increase between reads (once per "
				"column or less often), at bucket midpoints; the slowest samples: "
				"outliers from the ring buffer",
		};

		struct kclass **sorted = malloc((rp->n + 1) * sizeof(*sorted));
		size_t ns = 0;

		read_hists(rp, now);
		for (size_t i = 0; sorted && i < rp->cap; i++)
			if (rp->tab[i].used)
				sorted[ns++] = &rp->tab[i];
		if (sorted)
			qsort(sorted, ns, sizeof(*sorted), cmp_class);
		/* marks_dropped: only the slowest few per class are drawn anyway */
		for (size_t i = 0; sorted && i < rp->nmarks; i++) {
			const char *cls = mark_class(sorted, ns, &rp->marks[i]);

			if (cls)
				lat_pics__mark(rp->pics, cls, (int64_t)rp->marks[i].end,
					       rp->marks[i].delay, rp->marks[i].label);
		}
		free(sorted);
		if (lat_pics__write(rp->pics, rp->o->svg, &rp->o->sel, &pg, err, sizeof(err))) {
			fprintf(stderr, "latrack run: --svg: %s\n", err);
			ret = -1;
		}
	}
	if (rp->fl && rp->o->folded && flame__write_folded(rp->fl, rp->o->folded, err, sizeof(err))) {
		fprintf(stderr, "latrack run: --folded: %s\n", err);
		ret = -1;
	}
	if (rp->fl && rp->o->flame) {
		struct flame_page fp = { .unit = "us" };

		ev_fmt_wall(rp->fmt, rp->start, t0, sizeof(t0), false);
		ev_fmt_wall(rp->fmt, now, t1, sizeof(t1), false);
		snprintf(sub, sizeof(sub), "%s, %s to %s UTC; outliers of%s%s%s; width: their delay",
			 wh, t0, t1, rp->on[LT_TRK_OFFCPU] ? " offcpu (sleeper stacks)" : "",
			 rp->on[LT_TRK_OFFCPU] && rp->on[LT_TRK_SYSCALL] ? " and" : "",
			 rp->on[LT_TRK_SYSCALL] ? " syscall (where it blocked)" : "");
		fp.title = rp->on[LT_TRK_OFFCPU] && !rp->on[LT_TRK_SYSCALL] ? "Off-CPU time"
			   : rp->on[LT_TRK_SYSCALL] && !rp->on[LT_TRK_OFFCPU] ? "Blocked syscall time"
			   : "Off-CPU and blocked syscall time";
		fp.subtitle = sub;
		if (flame__write_svg(rp->fl, rp->o->flame, &fp, err, sizeof(err))) {
			fprintf(stderr, "latrack run: --flame: %s\n", err);
			ret = -1;
		}
	}
	if (rp->fl && !rp->on[LT_TRK_OFFCPU] && !rp->on[LT_TRK_SYSCALL])
		fprintf(stderr, "latrack run: --folded/--flame: stacks come from the offcpu and "
				"syscall trackers, and neither ran: the files are empty\n");
	return ret;
}

void run_pics__free(struct run_pics *rp)
{
	if (!rp)
		return;
	for (size_t i = 0; i < rp->cap; i++)
		free(rp->tab ? rp->tab[i].prev : NULL);
	free(rp->tab);
	free(rp->per);
	free(rp->sum);
	free(rp->marks);
	lat_pics__destroy(rp->pics);
	flame__destroy(rp->fl);
	lat_pics_sel__free(&rp->o->sel);
	free(rp);
}
