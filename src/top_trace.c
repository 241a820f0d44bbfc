/* latrack top TRACE: the top screen fed from an LTTng trace instead of the
 * kernel trackers.
 *
 * The report machinery measures: trace_source reads the trace,
 * trace_state classifies the events and follows the threads, and the
 * analyses (syscalls, sched, irq, io) hand every latency sample to
 * on_sample() through report_opts.sample.  Here each sample goes into its
 * class (tracker, sub-class, process): a cumulative histogram, the
 * histogram of the current interval and a window fed in trace time.  A
 * sample above the tracker's threshold (-m) becomes an outlier record.
 *
 * Every -d of trace time the classes are handed to the sink as a
 * snapshot, exactly like the live engine's ticks (snapshot mono_ns and
 * wall_ns are the trace time of the interval's end).
 *
 * trace_source__run reads the whole trace in one call, so it runs in a
 * reader thread that hands the baton back at each interval's end: the
 * reader and the screen's thread never run at once (two semaphores), so
 * the sink and the classes need no lock.  top_trace__process releases the
 * reader when the next interval is due: after -d / speed of wall time, or
 * at once with speed 0 (--fast). */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h> /* before evfmt.h: lt_bpf.h needs __u32 */

#include "analysis.h"
#include "evfmt.h"
#include "report_fmt.h"
#include "top.h"
#include "top_trace.h"
#include "trace_source.h"
#include "trace_state.h"

#define NS_PER_S 1000000000ull

struct tclass {
	struct live_class c; /* first: the snapshot points at it */
	struct lt_hist *cum, *last;
	struct lt_window *win;
	char key[128];
	int32_t prov_tid; /* >= 0: filed under this tid, its process not yet
			     known (see adopt_provisional) */
	bool gone;        /* moved into its process's class: not shown */
};

/* string -> index, open addressing (grows at half full) */
struct smap {
	char **k;
	uint32_t *v;
	size_t cap, n;
};

struct top_trace {
	struct top_trace_opts o;
	struct top *t;
	struct sink *sink;
	struct trace_source *src;
	struct trace_state *st;
	struct report_opts ro;
	struct an_syscalls *sys;
	struct an_sched *sched;
	struct an_irq *irq;
	struct an_io *io;

	struct smap subs, cls_map;
	struct tclass **cls;
	size_t ncls, capcls;
	const struct live_class **snap_c;
	struct live_snapshot sn;
	bool have_sn;
	uint64_t outliers[LT_TRK_MAX];

	bool started;
	int64_t next_tick;
	int64_t last_ts;

	pthread_t th;
	bool th_started;
	sem_t go, parked;
	volatile bool cancel, done;
	int run_ret;
	int err;
	uint64_t due_ns; /* wall time the next interval is due (0: now) */
	char errmsg[512];
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int smap_grow(struct smap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	char **k = calloc(cap, sizeof(*k));
	uint32_t *v = calloc(cap, sizeof(*v));

	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->k[i]) {
			size_t h = fnv(m->k[i]) & (cap - 1);

			while (k[h])
				h = (h + 1) & (cap - 1);
			k[h] = m->k[i];
			v[h] = m->v[i];
		}
	free(m->k);
	free(m->v);
	m->k = k;
	m->v = v;
	m->cap = cap;
	return 0;
}

/* The index of key, or -1 (absent: *slot is where it goes). */
static long smap_find(struct smap *m, const char *key, size_t *slot)
{
	size_t h;

	if ((m->n + 1) * 2 > m->cap && smap_grow(m))
		return -2;
	h = fnv(key) & (m->cap - 1);
	while (m->k[h]) {
		if (!strcmp(m->k[h], key))
			return m->v[h];
		h = (h + 1) & (m->cap - 1);
	}
	*slot = h;
	return -1;
}

static int smap_put(struct smap *m, size_t slot, const char *key, uint32_t v)
{
	m->k[slot] = strdup(key);
	if (!m->k[slot])
		return -ENOMEM;
	m->v[slot] = v;
	m->n++;
	return 0;
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->k[i]);
	free(m->k);
	free(m->v);
}

static const int trk_of[] = {
	[AN_TRK_SYSCALL] = LT_TRK_SYSCALL,
	[AN_TRK_WAKEUP] = LT_TRK_WAKEUP,
	[AN_TRK_IRQ] = LT_TRK_IRQ,
	[AN_TRK_BLOCK] = LT_TRK_BLOCK,
};

static struct tclass *class_get(struct top_trace *tr, int trk, const char *sub, uint32_t pid,
				const char *comm)
{
	char key[160];
	size_t slot = 0;
	long id, sid;
	struct tclass *c;

	snprintf(key, sizeof(key), "%d|%s", trk, sub);
	sid = smap_find(&tr->subs, key, &slot);
	if (sid == -2)
		return NULL;
	if (sid < 0) {
		sid = (long)tr->subs.n;
		if (smap_put(&tr->subs, slot, key, (uint32_t)sid))
			return NULL;
	}
	snprintf(key, sizeof(key), "%d|%ld|%u|%s", trk, sid, pid, comm);
	id = smap_find(&tr->cls_map, key, &slot);
	if (id == -2)
		return NULL;
	if (id >= 0)
		return tr->cls[id];
	if (tr->ncls == tr->capcls) {
		size_t cap = tr->capcls ? tr->capcls * 2 : 64;
		struct tclass **v = realloc(tr->cls, cap * sizeof(*v));

		if (!v)
			return NULL;
		tr->cls = v;
		tr->capcls = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cum = lt_hist__new();
	c->last = lt_hist__new();
	c->win = lt_window__new(NULL);
	if (!c->cum || !c->last || smap_put(&tr->cls_map, slot, key, (uint32_t)tr->ncls)) {
		lt_hist__destroy(c->cum);
		lt_hist__destroy(c->last);
		lt_window__destroy(c->win);
		free(c);
		return NULL;
	}
	c->prov_tid = -1;
	c->c.k.trk = (uint32_t)trk;
	c->c.k.sub = (uint32_t)sid;
	c->c.k.tgid = pid;
	for (size_t i = 0; i + 1 < sizeof(c->c.k.comm) && comm[i]; i++)
		c->c.k.comm[i] = comm[i];
	c->c.tracker = ev_trk_names[trk];
	c->c.sub_label = trk == LT_TRK_SYSCALL ? "syscall" : trk == LT_TRK_IRQ ? "irq" :
			 trk == LT_TRK_BLOCK ? "disk" : "kind";
	snprintf(c->c.sub, sizeof(c->c.sub), "%s", sub);
	c->c.ent_label = comm[0] ? "comm" : "";
	snprintf(c->c.ent, sizeof(c->c.ent), "%s", comm);
	c->c.cum = c->cum;
	c->c.last = c->last;
	c->c.win = c->win;
	tr->cls[tr->ncls++] = c;
	return c;
}

/* A JSON string of s (escaped; bytes >= 0x80 as \u00XX so that
 * top_sink's reader gets them back). */
static size_t json_esc(char *out, size_t len, const char *s)
{
	size_t n = 0;

	if (!len)
		return 0;
	for (; *s && n + 8 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			n += (size_t)snprintf(out + n, len - n, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			n += (size_t)snprintf(out + n, len - n, "\\u%04x", ch);
		else
			out[n++] = (char)ch;
	}
	out[n] = 0;
	return n;
}

static void outlier(struct top_trace *tr, struct tclass *c, int trk, int32_t tid, uint64_t end_ns,
		    uint64_t d)
{
	char json[1024], text[600], cls[160], comm[160], tm[64], dd[32], tc[160], tcomm[160];
	struct live_record r = { 0 };

	json_esc(cls, sizeof(cls), c->c.sub);
	json_esc(comm, sizeof(comm), c->c.ent);
	fmt_clock(tm, sizeof(tm), (int64_t)end_ns);
	snprintf(json, sizeof(json),
		 "{\"type\":\"outlier\",\"tracker\":\"%s\",\"class\":\"%s\",\"comm\":\"%s\","
		 "\"pid\":%u,\"tid\":%d,\"delay_ns\":%llu,\"end_ns\":%llu,\"time\":\"%s\"}",
		 ev_trk_names[trk], cls, comm, c->c.k.tgid, tid < 0 ? 0 : tid, (unsigned long long)d,
		 (unsigned long long)end_ns, tm);
	fmt_text_buf(tc, sizeof(tc), c->c.sub);
	fmt_text_buf(tcomm, sizeof(tcomm), c->c.ent);
	snprintf(text, sizeof(text), "outlier %s %s: %s\n  comm %s  pid %u  tid %d\n  ended at %s\n",
		 ev_trk_names[trk], tc, ev_fmt_dur(d, dd, sizeof(dd)), tcomm, c->c.k.tgid,
		 tid < 0 ? 0 : tid, tm);
	r.type = LIVE_OUTLIER;
	r.trk = (enum lt_trk)trk;
	r.wall_ns = end_ns;
	r.json = json;
	r.text = text;
	r.delay_ns = d;
	r.cls = &c->c;
	c->c.outliers++;
	tr->outliers[trk]++;
	if (tr->sink->ops->record)
		tr->sink->ops->record(tr->sink, &r);
}

static void on_sample(void *ctx, enum an_trk at, const char *sub, int32_t tid, uint64_t end_ns,
		      uint64_t d)
{
	struct top_trace *tr = ctx;
	int trk = trk_of[at];
	uint32_t pid = 0;
	const char *comm = "";
	struct tclass *c;

	if (!tr->o.on[trk])
		return;
	bool prov = false;
	size_t before;

	if (tid >= 0) {
		const struct trace_thread *th = trace_state__thread(tr->st, tid);

		prov = !th || th->pid < 0;
		pid = prov ? (uint32_t)tid : (uint32_t)th->pid;
		if (th)
			comm = th->comm;
	}
	if ((tr->o.tgid && pid != tr->o.tgid) || (tr->o.comm && strcmp(comm, tr->o.comm)))
		return;
	before = tr->ncls;
	c = class_get(tr, trk, sub, pid, comm);
	if (!c) {
		tr->err = -ENOMEM;
		return;
	}
	if (tr->ncls > before || c->gone) { /* new, or moved on and back (a reused tid) */
		c->gone = false;
		c->prov_tid = prov ? tid : -1;
	}
	else if (!prov)
		c->prov_tid = -1; /* the tid is its process: the class is right */
	lt_hist__record(c->cum, d);
	lt_hist__record(c->last, d);
	if (c->win)
		lt_window__record(c->win, d, end_ns);
	if (d > tr->o.thresh_ns[trk])
		outlier(tr, c, trk, tid, end_ns, d);
}

static int cmp_cls(const void *a, const void *b)
{
	const struct live_class *x = *(const struct live_class *const *)a;
	const struct live_class *y = *(const struct live_class *const *)b;
	int r;

	if (x->k.trk != y->k.trk)
		return x->k.trk < y->k.trk ? -1 : 1;
	r = strcmp(x->sub, y->sub);
	if (r)
		return r;
	r = strcmp(x->ent, y->ent);
	if (r)
		return r;
	return x->k.tgid < y->k.tgid ? -1 : x->k.tgid > y->k.tgid;
}

/* Add src's window into dst's, slot by slot, at trace time now. */
static int window_merge(struct lt_window *dst, const struct lt_window *src, uint64_t now)
{
	uint64_t slot = lt_window__slot_ns(src);
	uint32_t n = lt_window__nr_slots(src);
	struct lt_hist *h = lt_hist__new();
	int err = h ? 0 : -ENOMEM;

	for (uint32_t i = 0; !err && i < n && (uint64_t)i * slot <= now; i++) {
		err = lt_window__query_range(src, now, (uint64_t)i * slot, slot, h);
		if (!err && lt_hist__count(h))
			err = lt_window__record_hist(dst, h, now - (uint64_t)i * slot);
		if (err == -ERANGE) /* older than dst's ring: nothing older either */
			err = 0;
	}
	lt_hist__destroy(h);
	return err;
}

/* A thread's samples go to its process's class, but a trace may name the
 * process (statedump, fork) only after the thread's first events: those
 * samples were filed under the tid (a provisional class).  Once the trace
 * has named the process, move them into its class (same tracker,
 * sub-class and thread name), as `latrack report` attributes them at the
 * end: the same numbers both ways. */
static void adopt_provisional(struct top_trace *tr, uint64_t now)
{
	for (size_t i = 0; i < tr->ncls; i++) {
		struct tclass *c = tr->cls[i], *to;
		const struct trace_thread *th;

		if (c->prov_tid < 0 || c->gone)
			continue;
		th = trace_state__thread(tr->st, c->prov_tid);
		if (!th || th->pid < 0)
			continue; /* not yet */
		if (th->pid == c->prov_tid) {
			c->prov_tid = -1; /* the tid is the process: right all along */
			continue;
		}
		if ((tr->o.tgid && (uint32_t)th->pid != tr->o.tgid))
			continue; /* a process filtered out: it stays as it was */
		to = class_get(tr, (int)c->c.k.trk, c->c.sub, (uint32_t)th->pid, c->c.ent);
		if (!to) {
			tr->err = -ENOMEM;
			return;
		}
		c = tr->cls[i]; /* class_get may have moved the array */
		if (lt_hist__merge(to->cum, c->cum) || lt_hist__merge(to->last, c->last) ||
		    (c->win && to->win && window_merge(to->win, c->win, now))) {
			tr->err = -ENOMEM;
			return;
		}
		lt_hist__reset(c->cum);
		lt_hist__reset(c->last);
		lt_window__destroy(c->win);
		c->win = lt_window__new(NULL);
		c->c.win = c->win;
		c->gone = true;
		c->prov_tid = -1;
	}
}

/* The interval ending at trace time now: a snapshot to the sink. */
static void tick(struct top_trace *tr, int64_t now)
{
	struct live_snapshot *sn = &tr->sn;
	const struct live_class **v;
	struct trace_source_stats ss;
	size_t n = 0;

	adopt_provisional(tr, (uint64_t)now); /* first: it may add classes */
	v = realloc(tr->snap_c, (tr->ncls + 1) * sizeof(*v));
	if (!v) {
		tr->err = -ENOMEM;
		return;
	}
	tr->snap_c = v;

	for (size_t i = 0; i < tr->ncls; i++) {
		if (tr->cls[i]->win)
			lt_window__advance(tr->cls[i]->win, (uint64_t)now);
		if (!tr->cls[i]->gone)
			v[n++] = &tr->cls[i]->c;
	}
	qsort(v, n, sizeof(*v), cmp_cls);
	sn->mono_ns = (uint64_t)now;
	sn->wall_ns = (uint64_t)now;
	sn->tick_ns = tr->o.tick_ns;
	sn->tick_seq++;
	sn->nr = n;
	sn->c = v;
	memcpy(sn->on, tr->o.on, sizeof(sn->on));
	memcpy(sn->loaded, tr->o.on, sizeof(sn->loaded));
	memcpy(sn->thresh_ns, tr->o.thresh_ns, sizeof(sn->thresh_ns));
	memcpy(sn->outliers, tr->outliers, sizeof(sn->outliers));
	tr->have_sn = true;
	trace_source__stats(tr->src, &ss);
	tr->t->trace_disc_events = ss.discarded_events;
	tr->t->trace_disc_packets = ss.discarded_packets;
	if (tr->sink->ops->snapshot)
		tr->sink->ops->snapshot(tr->sink, sn);
	for (size_t i = 0; i < tr->ncls; i++)
		lt_hist__reset(tr->cls[i]->last);
}

/* Hand the baton to the screen's thread until it releases the reader. */
static void park(struct top_trace *tr)
{
	sem_post(&tr->parked);
	while (sem_wait(&tr->go) && errno == EINTR)
		;
}

static int on_event(const struct trace_event *ev, void *ctx)
{
	struct top_trace *tr = ctx;
	struct kev_class *kc;

	if (tr->cancel)
		return 1;
	if (tr->err)
		return tr->err;
	if (!tr->started) {
		tr->started = true;
		tr->next_tick = ev->ts_ns + (int64_t)tr->o.tick_ns;
	}
	while (ev->ts_ns >= tr->next_tick) {
		tick(tr, tr->next_tick);
		tr->next_tick += (int64_t)tr->o.tick_ns;
		park(tr);
		if (tr->cancel)
			return 1;
	}
	tr->last_ts = ev->ts_ns;
	kc = trace_state__classify(tr->st, ev);
	if (!kc)
		return -ENOMEM;
	if (kc->kind == KEV_OTHER)
		return 0;
	if (tr->sys)
		an_syscalls__event(tr->sys, ev, kc);
	if (tr->sched)
		an_sched__event(tr->sched, ev, kc);
	if (tr->irq)
		an_irq__event(tr->irq, ev, kc);
	if (tr->io)
		an_io__event(tr->io, ev, kc);
	trace_state__update(tr->st, ev, kc);
	return 0;
}

static void *reader(void *arg)
{
	struct top_trace *tr = arg;

	while (sem_wait(&tr->go) && errno == EINTR)
		;
	if (!tr->cancel) {
		tr->run_ret = trace_source__run(tr->src);
		if (tr->run_ret < 0 && tr->run_ret != -ENOMEM)
			snprintf(tr->errmsg, sizeof(tr->errmsg), "%s", trace_source__error(tr->src));
		else if (tr->run_ret < 0 || tr->err)
			snprintf(tr->errmsg, sizeof(tr->errmsg), "%s", strerror(ENOMEM));
		/* the last (partial) interval */
		if (!tr->cancel && tr->started)
			tick(tr, tr->last_ts);
	}
	tr->done = true;
	sem_post(&tr->parked);
	return NULL;
}

int top_trace__new(struct top_trace **out, const struct top_trace_opts *o, struct top *t,
		   struct sink *s, char *err, size_t errlen)
{
	struct top_trace *tr = calloc(1, sizeof(*tr));
	struct trace_source_ops ops = { .sz = sizeof(ops) };
	char *msg = NULL;

	*out = NULL;
	if (!tr) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	tr->o = *o;
	tr->t = t;
	tr->sink = s;
	tr->ro.cpu = -1;
	tr->ro.limit = 1;
	tr->ro.sample = on_sample;
	tr->ro.sample_ctx = tr;
	sem_init(&tr->go, 0, 0);
	sem_init(&tr->parked, 0, 0);
	tr->st = trace_state__new();
	if (!tr->st)
		goto nomem;
	if (o->on[LT_TRK_SYSCALL] && !(tr->sys = an_syscalls__new(tr->st, &tr->ro)))
		goto nomem;
	if (o->on[LT_TRK_WAKEUP] && !(tr->sched = an_sched__new(tr->st, &tr->ro)))
		goto nomem;
	if (o->on[LT_TRK_IRQ] && !(tr->irq = an_irq__new(&tr->ro)))
		goto nomem;
	if (o->on[LT_TRK_BLOCK] && !(tr->io = an_io__new(&tr->ro)))
		goto nomem;
	ops.event = on_event;
	ops.ctx = tr;
	ops.live_wait = o->live_wait;
	tr->src = trace_source__open(o->input, &ops, &msg);
	if (!tr->src) {
		snprintf(err, errlen, "%s", msg ? msg : strerror(errno));
		free(msg);
		top_trace__destroy(tr);
		return -EINVAL;
	}
	free(msg);
	if (pthread_create(&tr->th, NULL, reader, tr)) {
		snprintf(err, errlen, "cannot start the reader thread");
		top_trace__destroy(tr);
		return -EAGAIN;
	}
	tr->th_started = true;
	*out = tr;
	return 0;
nomem:
	snprintf(err, errlen, "%s", strerror(ENOMEM));
	top_trace__destroy(tr);
	return -ENOMEM;
}

void top_trace__destroy(struct top_trace *tr)
{
	if (!tr)
		return;
	if (tr->th_started) {
		tr->cancel = true;
		if (!tr->done)
			sem_post(&tr->go);
		pthread_join(tr->th, NULL);
	}
	an_syscalls__destroy(tr->sys);
	an_sched__destroy(tr->sched);
	an_irq__destroy(tr->irq);
	an_io__destroy(tr->io);
	trace_source__destroy(tr->src);
	trace_state__destroy(tr->st);
	for (size_t i = 0; i < tr->ncls; i++) {
		lt_hist__destroy(tr->cls[i]->cum);
		lt_hist__destroy(tr->cls[i]->last);
		lt_window__destroy(tr->cls[i]->win);
		free(tr->cls[i]);
	}
	free(tr->cls);
	free(tr->snap_c);
	smap_free(&tr->subs);
	smap_free(&tr->cls_map);
	sem_destroy(&tr->go);
	sem_destroy(&tr->parked);
	free(tr);
}

int top_trace__process(struct top_trace *tr, uint64_t now_ns)
{
	uint64_t step;

	if (tr->done)
		return 1000;
	if (tr->due_ns && now_ns < tr->due_ns)
		return (int)((tr->due_ns - now_ns + 999999) / 1000000);
	sem_post(&tr->go);
	while (sem_wait(&tr->parked) && errno == EINTR)
		;
	if (tr->done) {
		tr->t->trace_end = true;
		if (tr->run_ret == TRACE_SOURCE_INTERRUPTED)
			*top_stop_flag() = 1;
		else if (tr->run_ret < 0 || tr->err)
			return tr->run_ret < 0 ? tr->run_ret : tr->err;
		return 0;
	}
	step = tr->o.speed > 0 ? (uint64_t)((double)tr->o.tick_ns / tr->o.speed) : 0;
	tr->due_ns = step ? now_ns + step : 0;
	return (int)((step + 999999) / 1000000);
}

const char *top_trace__error(const struct top_trace *tr)
{
	return tr->errmsg[0] ? tr->errmsg : "error reading the trace";
}

const struct live_snapshot *top_trace__last(const struct top_trace *tr)
{
	return tr->have_sn ? &tr->sn : NULL;
}
