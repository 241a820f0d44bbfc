/* latrack top: the panes as lines of text with attributes, shared by the
 * curses screen and --batch; sorting, filtering and escaping. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/types.h> /* before evfmt.h: lt_bpf.h needs __u32 */

#include "evfmt.h"
#include "top.h"
#include "units.h"

const char *const top_sort_names[TOP_SORT_NR] = { "p99", "max", "count", "time" };

void tl_reset(struct tlines *o)
{
	o->n = 0;
}

void tl_free(struct tlines *o)
{
	free(o->v);
	o->v = NULL;
	o->n = o->cap = 0;
}

void tl_add(struct tlines *o, int attr, const char *fmt, ...)
{
	va_list ap;

	if (o->n == o->cap) {
		int cap = o->cap ? o->cap * 2 : 64;
		struct tline *v = realloc(o->v, (size_t)cap * sizeof(*v));

		if (!v)
			return;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n].attr = attr;
	va_start(ap, fmt);
	vsnprintf(o->v[o->n].s, sizeof(o->v[o->n].s), fmt, ap);
	va_end(ap);
	o->n++;
}

char *top_esc(char *dst, size_t dstlen, const char *src, size_t max)
{
	size_t n = 0;

	if (!dstlen)
		return dst;
	for (size_t i = 0; i < max && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		char tmp[5];
		size_t k;

		if (c == 0xc2 && i + 1 < max && (unsigned char)src[i + 1] == 0xb5) { /* µ */
			tmp[0] = 'u';
			k = 1;
			i++;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			k = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			k = 4;
		}
		if (n + k + 1 > dstlen)
			break;
		memcpy(dst + n, tmp, k);
		n += k;
	}
	dst[n] = 0;
	return dst;
}

bool top_filter_match(const char *filter, const char *name, uint32_t pid, uint32_t tid)
{
	char *end;
	unsigned long v;

	if (!filter[0])
		return true;
	if (strspn(filter, "0123456789") == strlen(filter)) {
		v = strtoul(filter, &end, 10);
		return (pid && v == pid) || (tid && v == tid);
	}
	return name && strstr(name, filter);
}

static bool row_visible(const struct top *t, const struct top_row *w, int trk)
{
	uint32_t pid = w->trk == LT_TRK_BLOCK ? 0 : w->k.tgid;

	return w->trk == trk && top_filter_match(t->filter, w->ent, pid, 0);
}

static const struct top *sort_t;

static uint64_t sort_val(const struct top_row *w)
{
	const struct top_stat *s = &w->st[sort_t->span];

	switch (sort_t->sort) {
	case TOP_SORT_MAX: return s->max;
	case TOP_SORT_COUNT: return s->n;
	case TOP_SORT_TIME: return s->sum;
	default: return s->p99;
	}
}

static int cmp_rows(const void *a, const void *b)
{
	const struct top_row *x = &sort_t->rows[*(const size_t *)a], *y = &sort_t->rows[*(const size_t *)b];
	uint64_t vx = sort_val(x), vy = sort_val(y);
	int c;

	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (x->st[sort_t->span].n != y->st[sort_t->span].n)
		return x->st[sort_t->span].n > y->st[sort_t->span].n ? -1 : 1;
	if (x->all != y->all)
		return x->all > y->all ? -1 : 1;
	c = strcmp(x->ent, y->ent);
	if (c)
		return c;
	c = strcmp(x->sub, y->sub);
	if (c)
		return c;
	return x->k.tgid < y->k.tgid ? -1 : x->k.tgid > y->k.tgid;
}

size_t top_view_rows(const struct top *t, int trk, size_t **out)
{
	size_t *v = malloc((t->nr ? t->nr : 1) * sizeof(*v)), n = 0;

	*out = v;
	if (!v)
		return 0;
	for (size_t i = 0; i < t->nr; i++)
		if (row_visible(t, &t->rows[i], trk))
			v[n++] = i;
	sort_t = t;
	qsort(v, n, sizeof(*v), cmp_rows);
	return n;
}

/* The filter names the process (class rows) of a thread's record. */
static bool proc_name_match(const struct top *t, uint32_t pid)
{
	if (!pid || strspn(t->filter, "0123456789") == strlen(t->filter))
		return false;
	for (size_t i = 0; i < t->nr; i++)
		if (t->rows[i].k.tgid == pid && t->rows[i].trk != LT_TRK_BLOCK &&
		    strstr(t->rows[i].ent, t->filter))
			return true;
	return false;
}

int top_view_recs(const struct top *t, int trk, const struct top_rec **out, int max)
{
	int n = 0;
	uint64_t first = t->nrec > TOP_RECS ? t->nrec - TOP_RECS + 1 : 1;

	for (uint64_t s = t->rec_shown; s >= first && s > 0 && n < max; s--) {
		const struct top_rec *r = &t->recs[(s - 1) % TOP_RECS];

		if (trk >= 0 && r->trk != trk)
			continue;
		if (r->type != LIVE_CHANGE && !top_filter_match(t->filter, r->comm, r->pid, r->tid) &&
		    !proc_name_match(t, r->pid))
			continue;
		out[n++] = r;
	}
	return n;
}

bool top_rec_matches_row(const struct top_rec *r, const struct top_row *w)
{
	if (r->type == LIVE_CHANGE || r->trk != w->trk)
		return false;
	if (r->has_k)
		return !memcmp(&r->k, &w->k, sizeof(w->k));
	return r->k.sub == w->k.sub && r->pid == w->k.tgid;
}

const char *top_span_name(const struct top *t, char *buf, size_t len)
{
	char d[32];

	if (t->span == TOP_SPAN_MINUTE)
		snprintf(buf, len, "last 1 m");
	else
		snprintf(buf, len, "last %s", ev_fmt_dur(t->refresh_ns, d, sizeof(d)));
	return buf;
}

static const char *dur(uint64_t ns, bool have, char *buf, size_t len)
{
	return have ? ev_fmt_dur(ns, buf, len) : "-";
}

static void wall_hms(uint64_t wall_ns, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

void top_pane_title(const struct top *t, int width, struct tlines *o)
{
	char tm[16] = "--:--:--", d[32], left[200], right[64];
	int pad;

	if (t->have_snap)
		wall_hms(t->info.wall_ns, tm, sizeof(tm));
	if (t->trace_name) { /* trace input: its name and the trace's time */
		char name[64], sp[32] = "fast";

		if (t->trace_speed > 0)
			snprintf(sp, sizeof(sp), "x%g", t->trace_speed);
		snprintf(left, sizeof(left), "latrack top  trace %s  %s UTC%s  every %s %s%s",
			 top_esc(name, sizeof(name), t->trace_name, 200), tm,
			 t->trace_end ? "  END" : "", ev_fmt_dur(t->refresh_ns, d, sizeof(d)), sp,
			 t->paused ? "  PAUSED" : "");
	} else {
		snprintf(left, sizeof(left), "latrack top  %s UTC  refresh %s%s", tm,
			 ev_fmt_dur(t->refresh_ns, d, sizeof(d)), t->paused ? "  PAUSED" : "");
	}
	snprintf(right, sizeof(right), "? help  q quit");
	pad = width - (int)strlen(left) - (int)strlen(right);
	if (pad < 1)
		tl_add(o, TA_REV, "%s", left);
	else
		tl_add(o, TA_REV, "%s%*s%s", left, pad, "", right);
}

void top_pane_status(const struct top *t, int width, struct tlines *o)
{
	char s[TOP_LINE_MAX], d[32];
	size_t n = 0;
	uint64_t lost = 0;

	(void)width;
	for (int k = 0; k < LT_TRK_MAX; k++) {
		bool on = !t->have_snap || t->info.on[k];

		n += (size_t)snprintf(s + n, sizeof(s) - n, k == t->trk ? "[%d %s%s]" : " %d %s%s", k + 1,
				      ev_trk_names[k], on ? "" : "-");
	}
	if (t->have_snap) {
		int k = t->trk;

		n += (size_t)snprintf(s + n, sizeof(s) - n, "  >%s out %" PRIu64 " stuck %" PRIu64
				      " chg %" PRIu64, ev_fmt_dur(t->info.thresh_ns[k], d, sizeof(d)),
				      t->info.outliers[k], t->info.stuck[k], t->info.changes[k]);
	}
	tl_add(o, TA_NONE, "%s", s);

	/* loss counters: always shown when non-zero */
	n = 0;
	s[0] = 0;
	for (int i = 0; t->have_snap && i < LT_NR_DROPS; i++)
		if (t->info.drops[i]) {
			lost += t->info.drops[i];
			n += (size_t)snprintf(s + n, sizeof(s) - n, " %s.%s=%" PRIu64, ev_trk_names[i / LT_DROP_MAX],
					      ev_drop_names[i % LT_DROP_MAX], t->info.drops[i]);
			if (n >= sizeof(s))
				n = sizeof(s) - 1;
		}
	if (t->trace_disc_events + t->trace_disc_packets && n < sizeof(s))
		n += (size_t)snprintf(s + n, sizeof(s) - n, " trace.discarded_events=%" PRIu64
				      " trace.discarded_packets=%" PRIu64, t->trace_disc_events,
				      t->trace_disc_packets);
	if (t->have_snap && t->info.classes_folded && n < sizeof(s))
		n += (size_t)snprintf(s + n, sizeof(s) - n, " folded_into_other=%" PRIu64, t->info.classes_folded);
	if (t->have_snap && t->info.window_refused && n < sizeof(s))
		n += (size_t)snprintf(s + n, sizeof(s) - n, " window_refused=%" PRIu64, t->info.window_refused);
	if (n)
		tl_add(o, TA_BOLD | TA_LOSS, "LOST%s", s);
	(void)lost;

	if (t->last_change_seq && t->nrec - t->last_change_seq < TOP_RECS) {
		const struct top_rec *r = &t->recs[(t->last_change_seq - 1) % TOP_RECS];
		char tm[16], e[TOP_LINE_MAX];
		bool recent = lt_mono_ns() - t->last_change_mono < 60 * 1000000000ull;

		wall_hms(r->wall_ns, tm, sizeof(tm));
		tl_add(o, recent ? (TA_HI | TA_BOLD) : TA_BOLD, "CHANGE %s %s: %s", tm, ev_trk_names[r->trk],
		       top_esc(e, sizeof(e), r->cls, sizeof(r->cls)));
	}
}

static const char *ent_head(int trk)
{
	switch (trk) {
	case LT_TRK_BLOCK: return "DISK";
	case LT_TRK_IRQ: return "HANDLER";
	case LT_TRK_NET: return "DEV/READER";
	default: return "COMM";
	}
}

static const char *sub_head(int trk)
{
	switch (trk) {
	case LT_TRK_SYSCALL: return "SYSCALL";
	case LT_TRK_WAKEUP: return "CPU";
	case LT_TRK_OFFCPU: return "STATE";
	case LT_TRK_BLOCK: return "OP";
	case LT_TRK_IRQ: return "IRQ";
	default: return "KIND";
	}
}

struct cols {
	int ent, sub;
	int dw;   /* width of a duration column: 8, or 6 (3 digits) when narrow */
	bool all;
};

/* A duration in at most 6 characters, 3 significant digits: "812ns",
 * "12.3us", "999us", "1.23ms", "49.8ms", "1.23s", "123s", "27.8h". */
static const char *dur_short(uint64_t ns, bool have, char *buf, size_t len)
{
	static const struct { double div; const char *unit; } u[] = {
		{ 1, "ns" }, { 1e3, "us" }, { 1e6, "ms" }, { 1e9, "s" }, { 3600e9, "h" },
	};
	size_t i = 0;
	double v;

	if (!have)
		return "-";
	while (i + 1 < sizeof(u) / sizeof(u[0]) && (double)ns >= u[i + 1].div && (i < 3 || ns >= 100000 * 1e9))
		i++;
	v = (double)ns / u[i].div;
	if (i == 0 || v >= 99.95)
		snprintf(buf, len, "%.0f%s", v, u[i].unit);
	else if (v >= 9.995)
		snprintf(buf, len, "%.1f%s", v, u[i].unit);
	else
		snprintf(buf, len, "%.2f%s", v, u[i].unit);
	return buf;
}

/* ">" PID ENT SUB COUNT P50 P99 MAX TIME [ALL]: 53 columns besides ENT and
 * SUB with 8-wide durations.  Below 90 columns (80x24) the durations take
 * 3 digits in 6, so that 15-character names and syscalls fit whole. */
#define COLS_FIXED 53
static struct cols class_cols(int width)
{
	struct cols c = { .dw = 8 };
	int avail, fixed = COLS_FIXED;

	if (width < 90) {
		c.dw = 6;
		fixed -= 4 * 2;
	}
	c.all = width >= fixed + 9 + 28;
	avail = width - fixed - (c.all ? 9 : 0);
	if (avail < 12)
		avail = 12;
	c.sub = avail * 15 / 28;
	c.ent = avail - c.sub;
	if (c.sub > 24)
		c.sub = 24;
	if (c.ent > 24)
		c.ent = 24;
	return c;
}

static void head_col(char *buf, size_t len, const struct top *t, int sort, const char *name)
{
	snprintf(buf, len, "%s%s", t->sort == sort ? "*" : "", name);
}

void top_pane_classes(const struct top *t, int trk, int width, int first, int max, int sel,
		      struct tlines *o)
{
	size_t *idx = NULL, n = top_view_rows(t, trk, &idx);
	struct cols c = class_cols(width);
	char span[32], filt[160] = "", e[64], hc[4][12];
	uint64_t all = 0;

	for (size_t i = 0; i < t->nr; i++)
		all += t->rows[i].trk == trk;
	if (t->filter[0]) {
		char f[80];

		snprintf(filt, sizeof(filt), ", filter '%s'", top_esc(f, sizeof(f), t->filter, sizeof(t->filter)));
	}
	tl_add(o, TA_BOLD, "%s latency per process: %zu of %" PRIu64 " classes%s, sorted by %s over the %s",
	       ev_trk_names[trk], n, all, filt, top_sort_names[t->sort], top_span_name(t, span, sizeof(span)));
	head_col(hc[0], sizeof(hc[0]), t, TOP_SORT_COUNT, "COUNT");
	head_col(hc[1], sizeof(hc[1]), t, TOP_SORT_P99, "P99");
	head_col(hc[2], sizeof(hc[2]), t, TOP_SORT_MAX, "MAX");
	head_col(hc[3], sizeof(hc[3]), t, TOP_SORT_TIME, "TIME");
	tl_add(o, TA_REV, " %7s %-*s %-*s %6s %*s %*s %*s %*s%s", "PID", c.ent, ent_head(trk), c.sub, sub_head(trk),
	       hc[0], c.dw, "P50", c.dw, hc[1], c.dw, hc[2], c.dw, hc[3], c.all ? "      ALL" : "");
	for (int v = first; v >= 0 && v < (int)n && v < first + max; v++) {
		const struct top_row *w = &t->rows[idx[v]];
		const struct top_stat *s = &w->st[t->span];
		char pid[16], ent[64], d[4][32], a[16] = "";

		if (w->trk == LT_TRK_BLOCK || !w->k.tgid)
			snprintf(pid, sizeof(pid), "-");
		else
			snprintf(pid, sizeof(pid), "%u", w->k.tgid);
		top_esc(ent, sizeof(ent), w->ent, sizeof(w->ent));
		top_esc(e, sizeof(e), w->sub, sizeof(w->sub));
		if (c.all)
			snprintf(a, sizeof(a), " %8" PRIu64, w->all);
		const char *(*f)(uint64_t, bool, char *, size_t) = c.dw < 8 ? dur_short : dur;

		tl_add(o, v == sel ? TA_SEL : TA_NONE, "%c%7s %-*.*s %-*.*s %6" PRIu64 " %*s %*s %*s %*s%s",
		       v == sel ? '>' : ' ', pid, c.ent, c.ent, ent, c.sub, c.sub, e, s->n,
		       c.dw, f(s->p50, s->n, d[0], sizeof(d[0])), c.dw, f(s->p99, s->n, d[1], sizeof(d[1])),
		       c.dw, f(s->max, s->n, d[2], sizeof(d[2])), c.dw, f(s->sum, s->n, d[3], sizeof(d[3])), a);
	}
	if (!n)
		tl_add(o, TA_DIM, "  (no class%s yet)", t->filter[0] ? " matching the filter" : "");
	free(idx);
}

static void bar_lines(const struct top_detail *d, int width, int height, struct tlines *o)
{
	int lo = -1, hi = -1, rows;
	uint64_t top = 0;
	char a[32], b[32], lab[40];
	int bw;

	for (int e = 0; e < TOP_NR_POW2; e++)
		if (d->pow2[e]) {
			if (lo < 0)
				lo = e;
			hi = e;
		}
	if (lo < 0) {
		tl_add(o, TA_DIM, "(no samples)");
		return;
	}
	rows = hi - lo + 1;
	if (rows > height) { /* the fullest run of ranges, the slower one on ties */
		int best = lo;
		uint64_t bsum = 0;

		for (int s = lo; s + height - 1 <= hi; s++) {
			uint64_t sum = 0;

			for (int e = s; e < s + height; e++)
				sum += d->pow2[e];
			if (sum >= bsum) {
				bsum = sum;
				best = s;
			}
		}
		lo = best;
		hi = best + height - 1;
	}
	for (int e = lo; e <= hi; e++)
		if (d->pow2[e] > top)
			top = d->pow2[e];
	bw = width - 17 - 4 - 8;
	if (bw > 40)
		bw = 40;
	if (bw < 4)
		bw = 4;
	for (int e = hi; e >= lo; e--) {
		int w = top ? (int)((d->pow2[e] * (uint64_t)bw + top - 1) / top) : 0;
		char bar[TOP_LINE_MAX];

		if (e == TOP_NR_POW2 - 1)
			snprintf(lab, sizeof(lab), ">=%s", ev_fmt_dur(1ull << e, a, sizeof(a)));
		else
			snprintf(lab, sizeof(lab), "%s-%s", e ? ev_fmt_dur(1ull << e, a, sizeof(a)) : "0",
				 ev_fmt_dur(1ull << (e + 1), b, sizeof(b)));
		memset(bar, '#', (size_t)w);
		memset(bar + w, ' ', (size_t)(bw - w));
		bar[bw] = 0;
		tl_add(o, TA_NONE, "%17s |%s| %" PRIu64, lab, bar, d->pow2[e]);
	}
}

void top_pane_detail(const struct top *t, const struct top_row *w, int width, int height,
		     struct tlines *o)
{
	const struct top_detail *d = &t->det;
	struct tlines left = { 0 }, right = { 0 };
	char ent[64], sub[64], pid[16] = "", v[3][32];
	static const char *const names[] = { "p50", "p99", "max" };
	int lw = 35, rh = height - 1;

	if (!w) {
		tl_add(o, TA_BOLD, "selected class: none");
		return;
	}
	top_esc(ent, sizeof(ent), w->ent, sizeof(w->ent));
	top_esc(sub, sizeof(sub), w->sub, sizeof(w->sub));
	if (w->trk != LT_TRK_BLOCK && w->k.tgid)
		snprintf(pid, sizeof(pid), "[%u]", w->k.tgid);
	tl_add(o, TA_BOLD, "%s %s%s: %" PRIu64 " in all, %" PRIu64 " outliers, %" PRIu64 " stuck%s%s",
	       sub, ent, pid, w->all, w->outliers, w->stuck, d->bars_of ? "; ranges: " : "",
	       d->bars_of ? d->bars_of : "");
	if (!d->valid) {
		tl_add(o, TA_DIM, "  (at the next refresh)");
		return;
	}
	tl_add(&left, TA_NONE, "%5s %9s %9s %9s", "", "1 m", "5 m", "1 h");
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 3; j++) {
			const struct top_stat *s = &d->w[j];
			uint64_t x = i == 0 ? s->p50 : i == 1 ? s->p99 : s->max;

			dur(x, d->has_win && s->n, v[j], sizeof(v[j]));
		}
		tl_add(&left, TA_NONE, "%5s %9s %9s %9s", names[i], v[0], v[1], v[2]);
	}
	if (d->has_win)
		tl_add(&left, TA_NONE, "%5s %9" PRIu64 " %9" PRIu64 " %9" PRIu64, "n", d->w[0].n, d->w[1].n, d->w[2].n);
	else
		tl_add(&left, TA_NONE, "%5s %s", "", "(no window)");
	if (width >= lw + 30)
		bar_lines(d, width - lw - 1, rh > 0 ? rh : 1, &right);
	for (int i = 0; i < rh && (i < left.n || i < right.n); i++)
		tl_add(o, TA_NONE, "%-*s %s", lw, i < left.n ? left.v[i].s : "", i < right.n ? right.v[i].s : "");
	tl_free(&left);
	tl_free(&right);
}

void top_pane_recs(const struct top *t, int trk, int width, int first, int max, int sel,
		   struct tlines *o)
{
	const struct top_rec *v[TOP_RECS];
	int n = top_view_recs(t, trk, v, TOP_RECS), cw = width - 8 - 1 - 5 - 1 - 7 - 1 - 16 - 1 - 9 - 2;

	if (cw < 8)
		cw = 8;
	if (cw > 40)
		cw = 40;
	tl_add(o, TA_BOLD, "latest %s%soutliers, stuck events and changes: %d shown, %" PRIu64 " received",
	       trk >= 0 ? ev_trk_names[trk] : "", trk >= 0 ? " " : "", n, t->nrec);
	tl_add(o, TA_REV, " %-8s %-5s %7s %-16s %-*s %9s", "TIME", "TYPE", "PID", "COMM", cw, "CLASS", "DELAY");
	for (int i = first; i >= 0 && i < n && i < first + max; i++) {
		const struct top_rec *r = v[i];
		char tm[16], comm[64], cls[TOP_LINE_MAX], d[32], pid[16] = "-";

		wall_hms(r->wall_ns, tm, sizeof(tm));
		top_esc(comm, sizeof(comm), r->comm, sizeof(r->comm));
		top_esc(cls, sizeof(cls), r->cls, sizeof(r->cls));
		if (r->pid)
			snprintf(pid, sizeof(pid), "%u", r->pid);
		if (r->type == LIVE_CHANGE)
			tl_add(o, (i == sel ? TA_SEL : 0) | TA_BOLD, "%c%-8s %-5s %s", i == sel ? '>' : ' ', tm, "CHG",
			       cls);
		else
			tl_add(o, i == sel ? TA_SEL : TA_NONE, "%c%-8s %-5s %7s %-16.16s %-*.*s %9s", i == sel ? '>' : ' ',
			       tm, r->type == LIVE_STUCK ? "STUCK" : "slow", pid, comm, cw, cw, cls,
			       ev_fmt_dur(r->delay_ns, d, sizeof(d)));
	}
	if (!n)
		tl_add(o, TA_DIM, "  (none yet%s)", t->filter[0] ? " matching the filter" : "");
}

void top_help_lines(struct tlines *o)
{
	static const char *const h[] = {
		"latrack top: keys",
		"",
		"  1-6, s w o b i n   tracker: syscall wakeup offcpu block irq net",
		"  S                  cycle the sort: p99, max, count, time",
		"  P  M  C  T         sort by p99, max, count, total time",
		"  m                  span of the numbers: last refresh interval / last 1 m",
		"  /                  filter by process name (substring) or pid; empty: none",
		"  space              pause (the engine keeps measuring)",
		"  up down PgUp PgDn  select a class (or an outlier)",
		"  Tab                switch between the class and the outlier pane",
		"  Enter              open the latest outlier of the selected class, or the",
		"                     selected outlier, with its stacks (j: as JSON)",
		"  ?                  this help        q  quit (Esc or q closes a view)",
		"",
		"Panes: the classes of the tracker (COUNT, P50, P99, MAX, TIME = total",
		"latency, over the span in the title; ALL = since start); the selected",
		"class's p50/p99/max over 1 m / 5 m / 1 h and its power-of-two ranges;",
		"the latest outliers.  LOST: kernel loss counters; CHANGE: a significant",
		"change of a class's latency (last minute vs the hour before).",
		"",
		"Press any key to close.",
	};

	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		tl_add(o, i ? TA_NONE : TA_BOLD, "%s", h[i]);
}
