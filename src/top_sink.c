/* latrack top: its sink on the live engine.
 *
 * record(): every outlier, stuck event and change record goes into a ring
 * of the last TOP_RECS, with its text and JSON rendering (the engine's
 * strings are only valid during the call: copied).
 * snapshot(): once per tick, the classes are copied into rows with what
 * the screen shows (count, p50, p99, max, total time over the last tick
 * and over the last minute of the class's window); the selected class's
 * detail (1 m / 5 m / 1 h, power-of-two ranges) is computed there too,
 * and again from live__last() when the selection moves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <latrack/change.h>

#include <linux/types.h> /* before evfmt.h: lt_bpf.h needs __u32 */

#include "evfmt.h"
#include "top.h"
#include "top_trace.h"
#include "units.h"

#define NS_PER_S 1000000000ull

struct top_sink {
	struct sink s;
	struct top *t;
};

/* The value of "key": in a JSON object (first match, top level or not). */
static const char *json_find(const char *json, const char *key)
{
	char pat[40];
	const char *p;

	if (!json)
		return NULL;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? p + strlen(pat) : NULL;
}

static uint32_t json_u32(const char *json, const char *key)
{
	const char *p = json_find(json, key);

	return p ? (uint32_t)strtoul(p, NULL, 10) : 0;
}

/* A JSON string value, unescaped (\uXXXX below 0x100 as that byte). */
static void json_str(const char *json, const char *key, char *out, size_t len)
{
	const char *p = json_find(json, key);
	size_t n = 0;

	out[0] = 0;
	if (!p || *p != '"')
		return;
	for (p++; *p && *p != '"' && n + 1 < len; p++) {
		char c = *p;

		if (c == '\\' && p[1]) {
			p++;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'u': {
				char hex[5] = { 0 };

				for (int i = 0; i < 4 && p[1 + i]; i++)
					hex[i] = p[1 + i];
				c = (char)strtoul(hex, NULL, 16);
				p += strlen(hex);
				break;
			}
			default: c = *p; break;
			}
		}
		out[n++] = c;
	}
	out[n] = 0;
}

/* The outliers of a (tracker, sub, pid) so far: open addressing, never
 * deleted; past 64 probes new classes are not counted (the engine's own
 * count is shown then). */
static struct top_ocount *ocount_slot(struct top *t, uint32_t trk, uint32_t sub, uint32_t pid, bool add)
{
	size_t mask = t->ocount_cap - 1, h;

	if (!t->ocount_cap)
		return NULL;
	h = ((size_t)pid * 2654435761u ^ (size_t)sub * 40503u ^ trk) & mask;
	for (size_t i = 0; i <= mask && i < 64; i++, h = (h + 1) & mask) { /* bounded probes */
		struct top_ocount *o = &t->ocount[h];

		if (o->n && o->trk == trk && o->sub == sub && o->pid == pid)
			return o;
		if (!o->n) {
			if (!add)
				return NULL;
			o->trk = trk;
			o->sub = sub;
			o->pid = pid;
			return o;
		}
	}
	return NULL;
}

static bool per_process(uint32_t trk)
{
	return trk == LT_TRK_SYSCALL || trk == LT_TRK_WAKEUP || trk == LT_TRK_OFFCPU;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void on_record(struct sink *s, const struct live_record *r)
{
	struct top *t = ((struct top_sink *)s)->t;
	struct top_rec *x = &t->recs[t->nrec % TOP_RECS];
	char buf[64];

	free(x->text);
	free(x->json);
	memset(x, 0, sizeof(*x));
	x->seq = ++t->nrec;
	x->type = r->type;
	x->trk = r->trk;
	x->wall_ns = r->wall_ns;
	x->delay_ns = r->delay_ns;
	x->text = dup_or_null(r->text);
	x->json = dup_or_null(r->json);
	if (r->cls) {
		x->has_k = true;
		x->k = r->cls->k;
		snprintf(x->cls, sizeof(x->cls), "%s", r->cls->sub);
	}
	if (r->type == LIVE_OUTLIER && r->ev) {
		struct top_ocount *o = per_process(r->ev->trk) ?
			ocount_slot(t, r->ev->trk, r->ev->sub, r->ev->pid, true) : NULL;

		if (o)
			o->n++;
		x->pid = r->ev->pid;
		x->tid = r->ev->tid;
		memcpy(x->comm, r->ev->comm, LT_COMM_LEN);
		x->comm[LT_COMM_LEN] = 0;
		if (!r->cls) { /* matched with its class by (tracker, sub, pid) */
			x->k.trk = r->ev->trk;
			x->k.sub = r->ev->sub;
			x->k.tgid = r->ev->pid;
			snprintf(x->cls, sizeof(x->cls), "%s", ev_sub_name(r->ev->trk, r->ev->sub, buf, sizeof(buf)));
		}
	} else if (r->type == LIVE_CHANGE && r->chg) {
		lt_change__format(r->chg, x->cls, sizeof(x->cls));
		if (r->cls) {
			x->pid = r->cls->k.tgid;
			snprintf(x->comm, sizeof(x->comm), "%s", r->cls->ent);
		}
		t->last_change_seq = x->seq;
		t->last_change_mono = lt_mono_ns();
	} else {
		x->pid = json_u32(r->json, "pid");
		x->tid = json_u32(r->json, "tid");
		json_str(r->json, "comm", x->comm, sizeof(x->comm));
		if (!x->cls[0])
			json_str(r->json, "class", x->cls, sizeof(x->cls));
		if (!x->comm[0] && r->cls)
			snprintf(x->comm, sizeof(x->comm), "%s", r->cls->ent);
	}
}

void top_recs_free(struct top *t)
{
	free(t->ocount);
	t->ocount = NULL;
	t->ocount_cap = 0;
	for (int i = 0; i < TOP_RECS; i++) {
		free(t->recs[i].text);
		free(t->recs[i].json);
		t->recs[i].text = t->recs[i].json = NULL;
	}
}

static void stat_of(const struct lt_hist *h, struct top_stat *st)
{
	memset(st, 0, sizeof(*st));
	if (!h)
		return;
	st->n = lt_hist__count(h);
	if (!st->n)
		return;
	st->p50 = lt_hist__percentile(h, 50);
	st->p99 = lt_hist__percentile(h, 99);
	st->max = lt_hist__max(h);
	st->sum = lt_hist__sum(h);
}

/* A window span rounded up to the window's slot; 0 when it cannot hold it. */
static uint64_t win_span(const struct lt_window *w, uint64_t span)
{
	uint64_t slot = lt_window__slot_ns(w);

	if (!slot)
		return 0;
	span = (span + slot - 1) / slot * slot;
	return span / slot <= lt_window__nr_slots(w) ? span : 0;
}

static int win_stat(const struct lt_window *w, uint64_t now, uint64_t span, struct lt_hist *h,
		    struct top_stat *st)
{
	uint64_t sp = w ? win_span(w, span) : 0;

	memset(st, 0, sizeof(*st));
	if (!sp || lt_window__query(w, now, sp, h))
		return -1;
	stat_of(h, st);
	return 0;
}

static int pow2_cb(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
	uint64_t *p = ctx;
	int e = low ? 63 - __builtin_clzll(low) : 0;

	(void)high;
	if (e >= TOP_NR_POW2)
		e = TOP_NR_POW2 - 1;
	p[e] += count;
	return 0;
}

static const struct live_class *find_class(const struct live_snapshot *sn, const struct lt_class_key *k,
					   bool other)
{
	for (size_t i = 0; sn && i < sn->nr; i++)
		if (sn->c[i]->other == other && !memcmp(&sn->c[i]->k, k, sizeof(*k)))
			return sn->c[i];
	return NULL;
}

static void detail_from(struct top *t, const struct live_snapshot *sn)
{
	static const uint64_t spans[3] = { 60 * NS_PER_S, 300 * NS_PER_S, 3600 * NS_PER_S };
	const struct live_class *c;
	struct top_detail *d = &t->det;

	memset(d, 0, sizeof(*d));
	if (!t->sel_valid || !sn || !t->scratch)
		return;
	c = find_class(sn, &t->sel_k, t->sel_other);
	if (!c)
		return;
	d->valid = true;
	d->has_win = c->win != NULL;
	for (int i = 0; i < 3; i++)
		if (win_stat(c->win, sn->mono_ns, spans[i], t->scratch, &d->w[i]))
			d->has_win = false;
	if (d->has_win && !win_stat(c->win, sn->mono_ns, spans[0], t->scratch, &d->w[0])) {
		lt_hist__foreach_bucket(t->scratch, pow2_cb, d->pow2);
		d->bars_of = "last 1 m";
	} else if (c->cum) {
		lt_hist__foreach_bucket(c->cum, pow2_cb, d->pow2);
		d->bars_of = "since start";
	}
}

void top_detail_update(struct top *t)
{
	detail_from(t, top_src_last(t));
}

int top_src_fd(const struct top *t)
{
	return t->tr ? -1 : live__fd(t->l);
}

int top_src_process(struct top *t, uint64_t now_ns)
{
	return t->tr ? top_trace__process(t->tr, now_ns) : live__process(t->l, now_ns);
}

const struct live_snapshot *top_src_last(const struct top *t)
{
	return t->tr ? top_trace__last(t->tr) : live__last(t->l);
}

/* Keep the selection on the same class when the rows change. */
static void sel_sync(struct top *t)
{
	size_t *idx = NULL, n = top_view_rows(t, t->trk, &idx);

	if (t->sel_valid)
		for (size_t i = 0; i < n; i++) {
			const struct top_row *w = &t->rows[idx[i]];

			if (w->other == t->sel_other && !memcmp(&w->k, &t->sel_k, sizeof(w->k))) {
				t->sel = (int)i;
				free(idx);
				return;
			}
		}
	if (t->sel >= (int)n)
		t->sel = n ? (int)n - 1 : 0;
	if (t->sel < 0)
		t->sel = 0;
	t->sel_valid = n > 0;
	if (n) {
		t->sel_k = t->rows[idx[t->sel]].k;
		t->sel_other = t->rows[idx[t->sel]].other;
	}
	free(idx);
}

void top_select(struct top *t, int sel)
{
	t->sel = sel;
	t->sel_valid = false;
	sel_sync(t);
	top_detail_update(t);
}

void top_reselect(struct top *t)
{
	sel_sync(t);
	top_detail_update(t);
}

static void on_snapshot(struct sink *s, const struct live_snapshot *sn)
{
	struct top *t = ((struct top_sink *)s)->t;

	if (t->paused)
		return;
	if (sn->nr > t->cap) {
		size_t cap = sn->nr + sn->nr / 2 + 16;
		struct top_row *r = realloc(t->rows, cap * sizeof(*r));

		if (!r)
			return;
		t->rows = r;
		t->cap = cap;
	}
	t->info = *sn;
	t->info.c = NULL;
	t->nr = sn->nr;
	for (size_t i = 0; i < sn->nr; i++) {
		const struct live_class *c = sn->c[i];
		struct top_row *w = &t->rows[i];

		memset(w, 0, sizeof(*w));
		w->k = c->k;
		w->trk = (int)c->k.trk;
		w->other = c->other;
		snprintf(w->sub, sizeof(w->sub), "%s", c->sub);
		snprintf(w->ent, sizeof(w->ent), "%s", c->ent);
		stat_of(c->last, &w->st[TOP_SPAN_TICK]);
		w->has_win = c->win && t->scratch &&
			     !win_stat(c->win, sn->mono_ns, 60 * NS_PER_S, t->scratch, &w->st[TOP_SPAN_MINUTE]);
		w->all = c->cum ? lt_hist__count(c->cum) : 0;
		w->outliers = c->outliers;
		if (per_process(c->k.trk) && !c->other) {
			/* the engine misses a thread named unlike its process */
			struct top_ocount *o = ocount_slot(t, c->k.trk, c->k.sub, c->k.tgid, false);

			if (o && o->n > w->outliers)
				w->outliers = o->n;
		}
		w->stuck = c->stuck;
	}
	t->have_snap = true;
	t->snaps++;
	t->fresh = true;
	sel_sync(t);
	detail_from(t, sn);
}

static void on_status(struct sink *s, FILE *out)
{
	struct top *t = ((struct top_sink *)s)->t;

	fprintf(out, "top: ok records=%llu snapshots=%llu\n", (unsigned long long)t->nrec,
		(unsigned long long)t->snaps);
}

static void on_destroy(struct sink *s)
{
	free(s);
}

static const struct sink_ops top_sink_ops = {
	.name = "top",
	.record = on_record,
	.snapshot = on_snapshot,
	.status = on_status,
	.destroy = on_destroy,
};

struct sink *top_sink__new(struct top *t)
{
	struct top_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	t->ocount_cap = 16384;
	t->ocount = calloc(t->ocount_cap, sizeof(*t->ocount));
	if (!t->ocount)
		t->ocount_cap = 0;
	s->s.ops = &top_sink_ops;
	s->t = t;
	return &s->s;
}
