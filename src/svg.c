/* Latency pictures: see svg.h. */
#include "utf8.h"
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <latrack/hist.h>

/* ---- XML writer ---- */

/* A printable multi-byte character at p (no C1 control, no U+FFFE/FFFF,
 * which XML refuses): its length, or 0. */
static size_t utf8_len(const unsigned char *p)
{
	uint32_t c;
	size_t n = utf8_seq(p, 4, &c);

	return n && c >= 0xa0 && c != 0xfffe && c != 0xffff ? n : 0;
}

/* One character of s at *p: written (when f), *p advanced; returns the
 * width it shows. */
static size_t put_char(FILE *f, const unsigned char **pp)
{
	const unsigned char *p = *pp;
	size_t n;

	switch (*p) {
	case '&': if (f) fputs("&amp;", f); break;
	case '<': if (f) fputs("&lt;", f); break;
	case '>': if (f) fputs("&gt;", f); break;
	case '"': if (f) fputs("&quot;", f); break;
	case '\'': if (f) fputs("&apos;", f); break;
	default:
		if (*p >= 0x80 && (n = utf8_len(p))) {
			if (f)
				fwrite(p, 1, n, f);
			*pp = p + n;
			return 1;
		}
		if (*p < 0x20 || *p >= 0x7f) {
			/* control bytes (not XML characters, even as
			 * references) and bytes that are not UTF-8 */
			if (f)
				fprintf(f, "\\x%02x", *p);
			*pp = p + 1;
			return 4;
		}
		if (f)
			fputc(*p, f);
	}
	*pp = p + 1;
	return 1;
}

void svg_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (p && *p)
		put_char(f, &p);
}

size_t svg_str_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (p && *p)
		w += put_char(NULL, &p);
	return w;
}

void svg_strn(FILE *f, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	if (svg_str_width(s) <= max_chars) {
		svg_str(f, s);
		return;
	}
	if (max_chars < 3)
		return;
	while (p && *p) {
		const unsigned char *q = p;
		size_t cw = put_char(NULL, &q);

		if (w + cw > max_chars - 2)
			break;
		w += put_char(f, &p);
	}
	fputs("..", f);
}

void svg_begin(FILE *f, double w, double h, const char *title)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
		   "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Verdana, "
		   "Arial, sans-serif\" font-size=\"12\">\n<title>",
		w, h, w, h);
	svg_str(f, title);
	fprintf(f, "</title>\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n",
		w, h);
}

void svg_end(FILE *f)
{
	fputs("</svg>\n", f);
}

char *svg_fmt_dur(char *buf, size_t len, double ns)
{
	static const struct { double div; const char *u; } sc[] = {
		{ 1e9, "s" }, { 1e6, "ms" }, { 1e3, "\xc2\xb5s" }, { 1, "ns" },
	};
	size_t i;

	for (i = 0; i < 3 && ns < sc[i].div; i++)
		;
	double x = ns / sc[i].div;

	if (x >= 100 || x == floor(x))
		snprintf(buf, len, "%.0f %s", x, sc[i].u);
	else if (x >= 10)
		snprintf(buf, len, "%.1f %s", x, sc[i].u);
	else
		snprintf(buf, len, "%.2f %s", x, sc[i].u);
	/* "1.50 ms" -> "1.5 ms" */
	char *dot = strchr(buf, '.');

	if (dot) {
		char *sp = strchr(dot, ' '), *z = sp;

		while (z > dot + 1 && z[-1] == '0')
			z--;
		if (z == dot + 1)
			z = dot;
		memmove(z, sp, strlen(sp) + 1);
	}
	return buf;
}

/* ---- rows: 4 per power of two, edges of the shared layout ---- */

#define NROWS   165   /* 0..3 ns, 4 per power of two 2^2 .. 2^41, overflow */
#define ROW_OVF 164

static unsigned row_of(uint64_t v)
{
	unsigned e;

	if (v < 4)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	if (e >= LT_HIST_MAX_EXP)
		return ROW_OVF;
	return 4 + (e - 2) * 4 + (unsigned)((v >> (e - 2)) & 3);
}

static double row_low(unsigned r)
{
	unsigned e;

	if (r < 4)
		return r;
	if (r >= ROW_OVF)
		return ldexp(1, LT_HIST_MAX_EXP + (int)(r - ROW_OVF));
	e = (r - 4) / 4 + 2;
	return ldexp(4 + (r - 4) % 4, (int)e - 2);
}

/* Continuous row coordinate of a value: its row plus where it sits in it. */
static double row_pos(double v)
{
	int e;

	if (v < 4)
		return v < 0 ? 0 : v;
	e = ilogb(v);
	if (e >= LT_HIST_MAX_EXP)
		return ROW_OVF + fmin(1, (v - ldexp(1, LT_HIST_MAX_EXP)) / ldexp(1, LT_HIST_MAX_EXP));
	return 4 + (e - 2) * 4 + (v - ldexp(1, e)) / ldexp(1, e - 2);
}

/* ---- collection ---- */

struct slow {
	int64_t t;
	uint64_t d;
	char label[80];
};

struct pclass {
	char name[LAT_PICS_NAME_MAX];
	struct lt_hist *h;
	uint64_t *col[LAT_PICS_MAX_COLS]; /* NROWS counts each, or NULL */
	uint64_t colmax[LAT_PICS_MAX_COLS];
	uint64_t count, thresh, over;
	struct slow slow[LAT_PICS_SLOWEST];
	int nslow;
	/* for writing */
	double sortkey;
};

struct lat_pics {
	struct pclass **tab; /* open addressing by name */
	size_t cap, n;
	struct pclass **all; /* in creation order */
	size_t nall, allcap;
	int64_t origin, tmin, tmax;
	bool origin_set, any;
	bool marks_only; /* the slowest samples come from lat_pics__mark only */
	uint64_t width; /* of a column, ns */
	uint64_t samples, lost;
};

struct lat_pics *lat_pics__new(void)
{
	struct lat_pics *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cap = 64;
	p->tab = calloc(p->cap, sizeof(*p->tab));
	if (!p->tab) {
		free(p);
		return NULL;
	}
	p->width = 1000; /* 1 us; doubles as the span grows */
	return p;
}

static void class_free(struct pclass *c)
{
	for (int i = 0; i < LAT_PICS_MAX_COLS; i++)
		free(c->col[i]);
	lt_hist__destroy(c->h);
	free(c);
}

void lat_pics__destroy(struct lat_pics *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nall; i++)
		class_free(p->all[i]);
	free(p->all);
	free(p->tab);
	free(p);
}

void lat_pics__set_origin(struct lat_pics *p, int64_t t_ns)
{
	if (!p->origin_set) {
		p->origin = t_ns;
		p->origin_set = true;
	}
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static struct pclass *class_get(struct lat_pics *p, const char *name)
{
	size_t i;

	for (i = hash_str(name) & (p->cap - 1); p->tab[i]; i = (i + 1) & (p->cap - 1))
		if (!strncmp(p->tab[i]->name, name, sizeof(p->tab[i]->name) - 1))
			return p->tab[i];
	if ((p->n + 1) * 2 > p->cap) {
		size_t ncap = p->cap * 2;
		struct pclass **nt = calloc(ncap, sizeof(*nt));

		if (!nt)
			return NULL;
		for (size_t k = 0; k < p->cap; k++) {
			size_t j;

			if (!p->tab[k])
				continue;
			for (j = hash_str(p->tab[k]->name) & (ncap - 1); nt[j]; j = (j + 1) & (ncap - 1))
				;
			nt[j] = p->tab[k];
		}
		free(p->tab);
		p->tab = nt;
		p->cap = ncap;
		for (i = hash_str(name) & (p->cap - 1); p->tab[i]; i = (i + 1) & (p->cap - 1))
			;
	}
	if (p->nall == p->allcap) {
		size_t nc = p->allcap ? p->allcap * 2 : 64;
		struct pclass **na = realloc(p->all, nc * sizeof(*na));

		if (!na)
			return NULL;
		p->all = na;
		p->allcap = nc;
	}
	struct pclass *c = calloc(1, sizeof(*c));

	if (!c || !(c->h = lt_hist__new())) {
		free(c);
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* the stored name may be cut: hash what is stored */
	for (i = hash_str(c->name) & (p->cap - 1); p->tab[i]; i = (i + 1) & (p->cap - 1))
		;
	p->tab[i] = c;
	p->n++;
	p->all[p->nall++] = c;
	return c;
}

/* Double the column width: columns 2i and 2i+1 become column i. */
static void compact(struct lat_pics *p)
{
	for (size_t k = 0; k < p->nall; k++) {
		struct pclass *c = p->all[k];

		for (int i = 0; i < LAT_PICS_MAX_COLS / 2; i++) {
			uint64_t *a = c->col[2 * i], *b = c->col[2 * i + 1];
			uint64_t m = c->colmax[2 * i] > c->colmax[2 * i + 1] ? c->colmax[2 * i]
									     : c->colmax[2 * i + 1];

			if (a && b) {
				for (int r = 0; r < NROWS; r++)
					a[r] += b[r];
				free(b);
			} else if (!a) {
				a = b;
			}
			c->col[2 * i] = c->col[2 * i + 1] = NULL;
			c->col[i] = a;
			c->colmax[i] = m;
		}
		for (int i = LAT_PICS_MAX_COLS / 2; i < LAT_PICS_MAX_COLS; i++) {
			c->col[i] = NULL;
			c->colmax[i] = 0;
		}
	}
	p->width *= 2;
}

static void slow_offer(struct pclass *c, int64_t t, uint64_t d, const char *label)
{
	int i;

	if (c->nslow == LAT_PICS_SLOWEST) {
		if (d <= c->slow[LAT_PICS_SLOWEST - 1].d)
			return; /* not slower than the slowest kept */
		i = LAT_PICS_SLOWEST - 1;
	} else {
		i = c->nslow++;
	}
	c->slow[i].t = t;
	c->slow[i].d = d;
	snprintf(c->slow[i].label, sizeof(c->slow[i].label), "%s", label ? label : "");
	for (; i > 0 && c->slow[i].d > c->slow[i - 1].d; i--) {
		struct slow s = c->slow[i];

		c->slow[i] = c->slow[i - 1];
		c->slow[i - 1] = s;
	}
}

/* The column of time t, after compacting until it fits. */
static uint64_t col_of(struct lat_pics *p, int64_t t)
{
	uint64_t idx = t > p->origin ? (uint64_t)(t - p->origin) / p->width : 0;

	while (idx >= LAT_PICS_MAX_COLS) {
		compact(p);
		idx = (uint64_t)(t - p->origin) / p->width;
	}
	return idx;
}

int lat_pics__record(struct lat_pics *p, const char *cls, int64_t t_ns, uint64_t delay_ns,
		     uint64_t n)
{
	struct pclass *c;
	uint64_t idx;
	unsigned r;

	if (!n)
		return 0;
	if (!p->origin_set)
		lat_pics__set_origin(p, t_ns);
	c = class_get(p, cls);
	if (!c) {
		p->lost += n;
		return -ENOMEM;
	}
	idx = col_of(p, t_ns);
	if (!c->col[idx]) {
		c->col[idx] = calloc(NROWS, sizeof(uint64_t));
		if (!c->col[idx]) {
			p->lost += n;
			return -ENOMEM;
		}
	}
	r = row_of(delay_ns);
	c->col[idx][r] += n;
	if (delay_ns > c->colmax[idx])
		c->colmax[idx] = delay_ns;
	lt_hist__record_n(c->h, delay_ns, n);
	c->count += n;
	if (c->thresh && delay_ns > c->thresh && !p->marks_only)
		c->over += n;
	if (!p->marks_only)
		slow_offer(c, t_ns, delay_ns, NULL);
	if (!p->any || t_ns < p->tmin)
		p->tmin = t_ns;
	if (!p->any || t_ns > p->tmax)
		p->tmax = t_ns;
	p->any = true;
	p->samples += n;
	return 0;
}

int lat_pics__record_span(struct lat_pics *p, const char *cls, int64_t t0, int64_t t1,
			  uint64_t delay_ns, uint64_t n)
{
	uint64_t done = 0;
	int ret = 0;

	if (!p->origin_set)
		lat_pics__set_origin(p, t0);
	if (t0 < p->origin)
		t0 = p->origin;
	if (t1 <= t0 + 1 || !n)
		return lat_pics__record(p, cls, t1 > t0 ? t1 - 1 : t0, delay_ns, n);
	col_of(p, t1 - 1); /* compact first: no column moves below */
	for (int64_t t = t0; t < t1 && done < n;) {
		int64_t e = p->origin + (int64_t)((col_of(p, t) + 1) * p->width);
		uint64_t cum;

		if (e > t1)
			e = t1;
		/* n * (e - t0) / (t1 - t0), rounded: the shares add up to n */
		cum = (uint64_t)(((unsigned __int128)n * (uint64_t)(e - t0) + (uint64_t)(t1 - t0) / 2) /
				 (uint64_t)(t1 - t0));
		if (e == t1)
			cum = n;
		if (cum > done && lat_pics__record(p, cls, t + (e - t) / 2, delay_ns, cum - done))
			ret = -ENOMEM;
		done = cum > done ? cum : done;
		t = e;
	}
	return ret;
}

uint64_t lat_pics__width(const struct lat_pics *p)
{
	return p->width;
}

void lat_pics__mark(struct lat_pics *p, const char *cls, int64_t t_ns, uint64_t delay_ns,
		    const char *label)
{
	struct pclass *c = class_get(p, cls);

	if (!c)
		return;
	slow_offer(c, t_ns, delay_ns, label);
	if (p->marks_only && c->thresh && delay_ns > c->thresh)
		c->over++; /* the outliers are the samples above the threshold */
}

void lat_pics__marks_only(struct lat_pics *p)
{
	p->marks_only = true;
}

void lat_pics__set_width(struct lat_pics *p, uint64_t ns)
{
	if (!p->nall && ns)
		p->width = ns;
}

void lat_pics__set_threshold(struct lat_pics *p, const char *cls, uint64_t ns)
{
	struct pclass *c = class_get(p, cls);

	if (c)
		c->thresh = ns;
}

uint64_t lat_pics__samples(const struct lat_pics *p)
{
	return p->samples;
}

size_t lat_pics__classes(const struct lat_pics *p)
{
	return p->nall;
}

/* ---- selection ---- */

int lat_pics_sel__parse_classes(struct lat_pics_sel *s, const char *arg)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	lat_pics_sel__free(s);
	if (*arg && !*end) {
		if (n > 1000)
			return -EINVAL;
		s->top = (unsigned)n;
		return 0;
	}
	for (const char *q = arg; *q;) {
		size_t len = strcspn(q, ",");
		char **nn;

		/* a comma followed by a digit is part of the name ("disk 8,16") */
		while (q[len] == ',' && q[len + 1] >= '0' && q[len + 1] <= '9')
			len += 1 + strcspn(q + len + 1, ",");

		if (len && (nn = realloc(s->names, (size_t)(s->nnames + 1) * sizeof(*nn)))) {
			s->names = nn;
			s->names[s->nnames] = strndup(q, len);
			if (s->names[s->nnames])
				s->nnames++;
		}
		q += len + (q[len] == ',');
	}
	return s->nnames ? 0 : -EINVAL;
}

int lat_pics_sel__parse_sort(struct lat_pics_sel *s, const char *arg)
{
	static const char *const names[] = { "total", "count", "p99", "max" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(arg, names[i])) {
			s->sort = (enum lat_pics_sort)i;
			return 0;
		}
	return -EINVAL;
}

void lat_pics_sel__free(struct lat_pics_sel *s)
{
	for (int i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	s->names = NULL;
	s->nnames = 0;
}

static int cmp_sortkey(const void *a, const void *b)
{
	const struct pclass *x = *(struct pclass *const *)a, *y = *(struct pclass *const *)b;

	if (x->sortkey != y->sortkey)
		return x->sortkey > y->sortkey ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* ---- drawing ---- */

/* Page geometry (px). */
#define ML   90.0          /* left margin: latency labels */
#define PW   600.0         /* heatmap width */
#define HX   (ML + PW + 30) /* histogram */
#define HW   200.0
#define LBX  (HX + HW + 6)  /* percentile labels */
#define CBX  (HX + HW + 92) /* colour bar */
#define PAGE_W (CBX + 14 + 64)
#define PH   200.0         /* plot height */
#define PANEL_H 300.0
#define HEAD_H 112.0

static void colour(double t, char *buf, size_t len)
{
	static const double st[5][3] = {
		{ 252, 196, 64 }, { 248, 128, 40 }, { 225, 52, 30 }, { 165, 0, 38 }, { 70, 0, 40 },
	};
	double x = fmin(fmax(t, 0), 1) * 4;
	int i = (int)x < 4 ? (int)x : 3;
	double f = x - i;

	snprintf(buf, len, "#%02x%02x%02x", (int)lround(st[i][0] + (st[i + 1][0] - st[i][0]) * f),
		 (int)lround(st[i][1] + (st[i + 1][1] - st[i][1]) * f),
		 (int)lround(st[i][2] + (st[i + 1][2] - st[i][2]) * f));
}

static double nice_step(double span, int want)
{
	double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;

	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void fmt_utc(char *buf, size_t len, int64_t ns, bool date)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns < 0 || !gmtime_r(&s, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	if (date)
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	else
		strftime(buf, len, "%H:%M:%S", &tm);
	size_t l = strlen(buf);

	snprintf(buf + l, len - l, ".%03lld", (long long)(ns % 1000000000) / 1000000);
}

/* 1, 10, 100, 1k, 10k, 100k, 1M... (powers of ten) */
static char *fmt_count(char *buf, size_t len, double d)
{
	static const char *const sfx[] = { "", "k", "M", "G", "T", "P" };
	int k = 0;

	while (d >= 1000 && k < 5) {
		d /= 1000;
		k++;
	}
	snprintf(buf, len, "%.0f%s", d, sfx[k]);
	return buf;
}

struct geo {
	double y0;            /* top of the plot */
	unsigned rlo, rhi;    /* rows shown: [rlo, rhi) */
	double rh;            /* px per row */
	int64_t t0, t1;       /* x axis */
};

static double ypos(const struct geo *g, double v)
{
	double r = fmin(fmax(row_pos(v), g->rlo), g->rhi);

	return g->y0 + PH - (r - g->rlo) * g->rh;
}

static double xpos(const struct geo *g, int64_t t)
{
	double x = ML + (double)(t - g->t0) / (double)(g->t1 - g->t0) * PW;

	return fmin(fmax(x, ML), ML + PW);
}

static void draw_y_axis(FILE *f, const struct geo *g)
{
	double vlo = row_low(g->rlo), vhi = row_low(g->rhi);
	double dec0 = vlo < 1 ? 1 : pow(10, ceil(log10(vlo) - 1e-9));
	int ndec = 0;
	char b[32];

	for (double d = dec0; d <= vhi; d *= 10)
		ndec++;
	for (double d = dec0 / 10; d <= vhi; d *= 10) {
		static const double mul[] = { 1, 2, 5 };

		for (int m = 0; m < 3; m++) {
			double v = d * mul[m];
			double y;

			if ((m && ndec >= 3) || v < vlo || v > vhi || v < 1)
				continue;
			y = ypos(g, v);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\" "
				   "stroke-width=\"0.6\"/>\n", ML, y, HX + HW, y);
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
				   "dominant-baseline=\"middle\">%s</text>\n", ML - 6, y,
				svg_fmt_dur(b, sizeof(b), v));
		}
	}
	fprintf(f, "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\" "
		   "fill=\"#444444\">latency (log scale)</text>\n",
		g->y0 + PH / 2, g->y0 + PH / 2);
}

static void draw_x_axis(FILE *f, const struct geo *g, int64_t wall_off)
{
	static const struct { double s; const char *name; } units[] = {
		{ 86400, "d" }, { 3600, "h" }, { 60, "min" }, { 1, "s" },
	};
	double span = (double)(g->t1 - g->t0);
	/* the unit: the largest that still gives two ticks */
	size_t u = 0;

	while (u < 3 && span / 1e9 < 2 * units[u].s)
		u++;
	double unit = units[u].s * 1e9;
	double step = nice_step(span / unit, 6) * unit;
	int dec = step >= unit ? 0 : (int)ceil(-log10(step / unit) - 1e-9);
	double yb = g->y0 + PH;
	char b[48];

	for (double t = 0; t <= span * (1 + 1e-9); t += step) {
		double x = ML + t / span * PW;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\"/>\n",
			x, yb, x, yb + 4);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">+%.*f</text>\n", x,
			yb + 16, dec, t / unit);
	}
	fmt_utc(b, sizeof(b), g->t0 + wall_off, span >= 86400e9);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444444\">time (%s) "
		   "after %s UTC</text>\n", ML + PW / 2, yb + 31, units[u].name, b);
}

static void draw_class(FILE *f, const struct lat_pics *p, const struct pclass *c, int idx,
		       double y0, const struct lat_pics_page *pg, int64_t t0, int64_t t1)
{
	struct geo g = { .y0 = y0 + 40, .t0 = t0, .t1 = t1 };
	uint64_t rows[NROWS] = { 0 }, cmax = 0, rmax = 0, vmin, vmax;
	double lcmax, lrmax;
	char b1[32], b2[32], b3[32], b4[32], col[16];
	int ncols = LAT_PICS_MAX_COLS;

	for (int i = 0; i < ncols; i++) {
		if (!c->col[i])
			continue;
		for (int r = 0; r < NROWS; r++) {
			rows[r] += c->col[i][r];
			if (c->col[i][r] > cmax)
				cmax = c->col[i][r];
		}
	}
	for (int r = 0; r < NROWS; r++)
		if (rows[r] > rmax)
			rmax = rows[r];
	vmin = lt_hist__min(c->h);
	vmax = lt_hist__max(c->h);
	g.rlo = row_of(vmin);
	g.rlo = g.rlo < 4 ? 0 : 4 + (g.rlo - 4) / 4 * 4;
	g.rhi = row_of(vmax) + 1;
	g.rhi = g.rhi <= 4 ? 4 : 4 + (g.rhi - 4 + 3) / 4 * 4;
	if (c->thresh && row_of(c->thresh) + 1 > g.rhi && row_of(c->thresh) < ROW_OVF)
		g.rhi = 4 + (row_of(c->thresh) + 1 - 4 + 3) / 4 * 4;
	if (g.rhi > ROW_OVF + 1)
		g.rhi = ROW_OVF + 1;
	while (g.rhi - g.rlo < 8) {
		if (g.rhi + 4 <= ROW_OVF)
			g.rhi += 4;
		else
			g.rlo -= 4;
	}
	g.rh = PH / (g.rhi - g.rlo);
	lcmax = log((double)cmax);
	lrmax = log10(1 + (double)rmax);

	fprintf(f, "<g id=\"class-%d\" class=\"latclass\" data-class=\"", idx);
	svg_str(f, c->name);
	fprintf(f, "\" data-count=\"%llu\">\n", (unsigned long long)c->count);
	/* heading */
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">", ML, y0 + 16);
	svg_strn(f, c->name, 80);
	fputs("</text>\n", f);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333333\">%llu samples, min %s, p50 %s, p99 %s, "
		   "max %s",
		ML, y0 + 32, (unsigned long long)c->count, svg_fmt_dur(b1, sizeof(b1), (double)vmin),
		svg_fmt_dur(b2, sizeof(b2), (double)lt_hist__percentile(c->h, 50)),
		svg_fmt_dur(b3, sizeof(b3), (double)lt_hist__percentile(c->h, 99)),
		svg_fmt_dur(b4, sizeof(b4), (double)vmax));
	if (c->thresh)
		fprintf(f, "; %llu above the threshold of %s", (unsigned long long)c->over,
			svg_fmt_dur(b1, sizeof(b1), (double)c->thresh));
	fputs("</text>\n", f);
	/* frames */
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
		   "stroke=\"#888888\" stroke-width=\"0.8\"/>\n", ML, g.y0, PW, PH);
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
		   "stroke=\"#888888\" stroke-width=\"0.8\"/>\n", HX, g.y0, HW, PH);
	draw_y_axis(f, &g);
	draw_x_axis(f, &g, pg->wall_offset_ns);

	/* heatmap cells */
	fputs("<g class=\"heatmap\">\n", f);
	for (int i = 0; i < ncols; i++) {
		int64_t ct0 = p->origin + (int64_t)p->width * i, ct1 = ct0 + (int64_t)p->width;
		double x0 = xpos(&g, ct0), x1 = xpos(&g, ct1);

		if (!c->col[i])
			continue;
		if (x1 - x0 < 0.5) { /* outside the axis, or thinner than half a pixel */
			double m = (x0 + x1) / 2;

			x0 = fmax(ML, m - 0.25);
			x1 = fmin(ML + PW, x0 + 0.5);
		}
		for (unsigned r = g.rlo; r < g.rhi; r++) {
			uint64_t n = c->col[i][r];
			double yt = g.y0 + PH - (r + 1 - g.rlo) * g.rh;

			if (!n)
				continue;
			colour(cmax > 1 ? log((double)n) / lcmax : 0.5, col, sizeof(col));
			svg_fmt_dur(b1, sizeof(b1), row_low(r));
			svg_fmt_dur(b2, sizeof(b2), row_low(r + 1));
			fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" "
				   "data-count=\"%llu\"><title>+%.6f..+%.6f s, %s..%s: %llu</title></rect>\n",
				x0, yt, x1 - x0, g.rh, col, (unsigned long long)n,
				(double)(ct0 - t0) / 1e9, (double)(ct1 - t0) / 1e9, b1, b2,
				(unsigned long long)n);
		}
	}
	fputs("</g>\n", f);
	/* the maximum of each column: a thin dash, so that the cell under it
	 * stays visible */
	fputs("<g class=\"colmax\" fill=\"#111111\">\n", f);
	for (int i = 0; i < ncols; i++) {
		int64_t ct0 = p->origin + (int64_t)p->width * i;
		double x0 = xpos(&g, ct0), x1 = xpos(&g, ct0 + (int64_t)p->width);

		if (!c->col[i])
			continue;
		if (x1 - x0 < 3) { /* at least 3 px wide */
			x0 = (x0 + x1) / 2 - 1.5;
			x1 = x0 + 3;
		}
		fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"1.2\"><title>max %s at "
			   "+%.6f s</title></rect>\n", x0, ypos(&g, (double)c->colmax[i]) - 0.6, x1 - x0,
			svg_fmt_dur(b1, sizeof(b1), (double)c->colmax[i]), (double)(ct0 - t0) / 1e9);
	}
	fputs("</g>\n", f);
	/* the slowest samples */
	fputs("<g class=\"slowest\" fill=\"none\" stroke=\"#0050d0\" stroke-width=\"1.6\">\n", f);
	for (int i = 0; i < c->nslow; i++) {
		fmt_utc(b2, sizeof(b2), c->slow[i].t + pg->wall_offset_ns, false);
		fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"5\"><title>slowest #%d: %s, ended at %s "
			   "UTC (+%.6f s)",
			xpos(&g, c->slow[i].t), ypos(&g, (double)c->slow[i].d), i + 1,
			svg_fmt_dur(b1, sizeof(b1), (double)c->slow[i].d), b2,
			(double)(c->slow[i].t - t0) / 1e9);
		if (c->slow[i].label[0]) {
			fputs(": ", f);
			svg_str(f, c->slow[i].label);
		}
		fputs("</title></circle>\n", f);
	}
	fputs("</g>\n", f);

	/* histogram: one bar per row, log count scale */
	fputs("<g class=\"histogram\" fill=\"#4c72b0\">\n", f);
	for (unsigned r = g.rlo; r < g.rhi; r++) {
		double yt = g.y0 + PH - (r + 1 - g.rlo) * g.rh;
		double w = rmax ? log10(1 + (double)rows[r]) / lrmax * HW : 0;

		if (!rows[r])
			continue;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" data-count=\"%llu\">"
			   "<title>%s..%s: %llu (%.2f %%)</title></rect>\n",
			HX, yt + (g.rh > 3 ? 0.5 : 0), fmax(w, 1), g.rh > 3 ? g.rh - 1 : g.rh,
			(unsigned long long)rows[r], svg_fmt_dur(b1, sizeof(b1), row_low(r)),
			svg_fmt_dur(b2, sizeof(b2), row_low(r + 1)), (unsigned long long)rows[r],
			100.0 * (double)rows[r] / (double)c->count);
	}
	fputs("</g>\n", f);
	for (double d = 1, lastx = -1e9; d <= (double)rmax; d *= 10) {
		double x = HX + log10(1 + d) / lrmax * HW;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\"/>\n",
			x, g.y0 + PH, x, g.y0 + PH + 4);
		if (x - lastx < 24)
			continue; /* no room for its label */
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%s</text>\n",
			x, g.y0 + PH + 15, fmt_count(b1, sizeof(b1), d));
		lastx = x;
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444444\">samples "
		   "(log scale)</text>\n", HX + HW / 2, g.y0 + PH + 31);
	/* p50, p99, max beside the histogram */
	{
		const char *lab[3] = { "p50", "p99", "max" };
		double v[3] = { (double)lt_hist__percentile(c->h, 50),
				(double)lt_hist__percentile(c->h, 99), (double)vmax };
		double ly[3], last = 1e9;

		for (int k = 2; k >= 0; k--) { /* top (max) down, 11 px apart */
			ly[k] = ypos(&g, v[k]);
			if (k < 2 && ly[k] < last + 11)
				ly[k] = last + 11;
			last = ly[k];
		}
		last = -1e9;
		for (int k = 2; k >= 0; k--) {
			if (k == 2 && ly[k] < g.y0 + 4)
				ly[k] = g.y0 + 4;
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"#2a9d2a\" "
				   "stroke-width=\"1\"/>\n", HX, ypos(&g, v[k]), HX + HW + 3, ypos(&g, v[k]));
			fprintf(f, "<text x=\"%.1f\" y=\"%.2f\" dominant-baseline=\"middle\" "
				   "font-size=\"10\" fill=\"#1d6b1d\">%s %s</text>\n", LBX, ly[k], lab[k],
				svg_fmt_dur(b1, sizeof(b1), v[k]));
		}
	}
	/* threshold */
	if (c->thresh) {
		double y = ypos(&g, (double)c->thresh);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"#0050d0\" "
			   "stroke-dasharray=\"6 4\" stroke-width=\"1.2\"><title>threshold %s</title></line>\n",
			ML, y, HX + HW, y, svg_fmt_dur(b1, sizeof(b1), (double)c->thresh));
	}
	/* colour bar: counts per cell, log scale */
	fputs("<g class=\"colourbar\">\n", f);
	for (int k = 0; k < 20; k++) {
		colour(cmax > 1 ? (k + 0.5) / 20 : 0.5, col, sizeof(col));
		fprintf(f, "<rect x=\"%.1f\" y=\"%.2f\" width=\"14\" height=\"%.2f\" fill=\"%s\"/>\n", CBX,
			g.y0 + PH - (k + 1) * PH / 20, PH / 20 + 0.3, col);
	}
	for (double d = 1; cmax > 1 && d < (double)cmax; d *= 10) {
		double y = g.y0 + PH - log(d) / lcmax * PH;

		if (y < g.y0 + 14)
			continue; /* too close to the max's label */
		fprintf(f, "<text x=\"%.1f\" y=\"%.2f\" dominant-baseline=\"middle\" font-size=\"10\">%s"
			   "</text>\n", CBX + 18, y, fmt_count(b1, sizeof(b1), d));
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%.2f\" dominant-baseline=\"middle\" font-size=\"10\">%llu"
		   "</text>\n", CBX + 18, g.y0 + 4, (unsigned long long)cmax);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\" "
		   "fill=\"#444444\">per cell</text>\n", CBX + 7, g.y0 + PH + 15);
	fputs("</g>\n</g>\n", f);
}

int lat_pics__write(struct lat_pics *p, const char *path, const struct lat_pics_sel *sel,
		    const struct lat_pics_page *pg, char *err, size_t errlen)
{
	struct pclass **v = NULL;
	size_t nv = 0, nshow;
	FILE *f;
	int64_t t0, t1;
	double h;
	char b1[48], b2[48], b3[32];
	int ret = 0;

	v = calloc(p->nall + 1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (sel && sel->nnames) {
		for (int i = 0; i < sel->nnames; i++)
			for (size_t k = 0; k < p->nall; k++)
				if (p->all[k]->count && !strcmp(p->all[k]->name, sel->names[i])) {
					v[nv++] = p->all[k];
					break;
				}
		nshow = nv;
	} else {
		for (size_t k = 0; k < p->nall; k++) {
			struct pclass *c = p->all[k];

			if (!c->count)
				continue;
			switch (sel ? sel->sort : LAT_SORT_TOTAL) {
			case LAT_SORT_TOTAL: c->sortkey = (double)lt_hist__sum(c->h); break;
			case LAT_SORT_COUNT: c->sortkey = (double)c->count; break;
			case LAT_SORT_P99: c->sortkey = (double)lt_hist__percentile(c->h, 99); break;
			case LAT_SORT_MAX: c->sortkey = (double)lt_hist__max(c->h); break;
			}
			v[nv++] = c;
		}
		qsort(v, nv, sizeof(*v), cmp_sortkey);
		nshow = sel && sel->top && sel->top < nv ? sel->top : nv;
	}
	t0 = pg->t0_ns || pg->t1_ns ? pg->t0_ns : p->origin_set ? p->origin : 0;
	t1 = pg->t0_ns || pg->t1_ns ? pg->t1_ns : p->tmax;
	if (p->any && p->tmax > t1)
		t1 = p->tmax;
	if (t1 <= t0)
		t1 = t0 + 1000;

	f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		free(v);
		return ret;
	}
	h = HEAD_H + (double)(nshow ? nshow : 1) * PANEL_H + 10;
	snprintf(b1, sizeof(b1), "%s", pg->what ? pg->what : "Latency");
	svg_begin(f, PAGE_W, h, b1);
	fputs("<text x=\"16\" y=\"26\" font-size=\"18\" font-weight=\"bold\">", f);
	svg_str(f, pg->what ? pg->what : "Latency");
	fputs(": latency heatmaps</text>\n<text x=\"16\" y=\"46\" font-size=\"13\">", f);
	svg_str(f, pg->where ? pg->where : "?");
	fmt_utc(b1, sizeof(b1), t0 + pg->wall_offset_ns, true);
	fmt_utc(b2, sizeof(b2), t1 + pg->wall_offset_ns, false);
	fprintf(f, ", %s to %s UTC (%.6f s)</text>\n", b1, b2, (double)(t1 - t0) / 1e9);
	fprintf(f, "<text x=\"16\" y=\"64\" fill=\"#333333\">%zu of %zu classes shown (",
		nshow, nv);
	if (sel && sel->nnames)
		fputs("as named", f);
	else
		fprintf(f, "%s %s", sel && sel->top && sel->top < nv ? "the top by" : "all, by",
			(const char *[]){ "total time", "count", "p99", "max" }[sel ? sel->sort : 0]);
	fprintf(f, "), %llu samples; columns of %s", (unsigned long long)p->samples,
		svg_fmt_dur(b3, sizeof(b3), (double)p->width));
	if (p->lost)
		fprintf(f, "; %llu samples lost (out of memory)", (unsigned long long)p->lost);
	fputs("</text>\n", f);
	if (pg->note) {
		fputs("<text x=\"16\" y=\"80\" fill=\"#333333\">", f);
		svg_str(f, pg->note);
		fputs("</text>\n", f);
	}
	/* legend */
	{
		double y = 98;
		char c0[16], c1[16];

		colour(0, c0, sizeof(c0));
		colour(1, c1, sizeof(c1));
		fprintf(f, "<g class=\"legend\" font-size=\"11\">"
			   "<rect x=\"16\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
			   "<rect x=\"26\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
			   "<text x=\"40\" y=\"%.0f\">samples per cell (log colour scale); rows: 4 per "
			   "power of two of latency</text>"
			   "<rect x=\"474\" y=\"%.1f\" width=\"9\" height=\"1.2\" fill=\"#111111\"/>"
			   "<text x=\"486\" y=\"%.0f\">max of a column</text>"
			   "<circle cx=\"600\" cy=\"%.0f\" r=\"5\" fill=\"none\" stroke=\"#0050d0\" "
			   "stroke-width=\"1.6\"/><text x=\"609\" y=\"%.0f\">slowest samples</text>"
			   "<line x1=\"715\" y1=\"%.0f\" x2=\"741\" y2=\"%.0f\" stroke=\"#0050d0\" "
			   "stroke-dasharray=\"6 4\" stroke-width=\"1.2\"/><text x=\"745\" y=\"%.0f\">"
			   "threshold</text>"
			   "<line x1=\"815\" y1=\"%.0f\" x2=\"841\" y2=\"%.0f\" stroke=\"#2a9d2a\"/>"
			   "<text x=\"845\" y=\"%.0f\">p50, p99, max</text></g>\n",
			y - 9, c0, y - 9, c1, y, y - 4.6, y, y - 4, y, y - 4, y - 4, y, y - 4, y - 4, y);
	}
	if (!nshow) {
		fprintf(f, "<text x=\"16\" y=\"%.0f\" font-size=\"14\">No latency samples%s.</text>\n",
			HEAD_H + 30, sel && sel->nnames ? " in the classes named" : "");
	}
	for (size_t i = 0; i < nshow; i++)
		draw_class(f, p, v[i], (int)i, HEAD_H + (double)i * PANEL_H, pg, t0, t1);
	svg_end(f);
	if (f != stdout ? fclose(f) : fflush(f)) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	}
	free(v);
	return ret;
}
