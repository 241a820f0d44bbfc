/* Folded stacks and flame graphs: see flame.h. */
#include "flame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

struct stack {
	char *s;        /* folded frames, ';' between */
	uint64_t v;
};

struct flame {
	struct stack *tab;  /* open addressing on the folded string */
	size_t cap, n;
	uint64_t total, lost;
};

struct flame *flame__new(void)
{
	struct flame *fl = calloc(1, sizeof(*fl));

	if (!fl)
		return NULL;
	fl->cap = 256;
	fl->tab = calloc(fl->cap, sizeof(*fl->tab));
	if (!fl->tab) {
		free(fl);
		return NULL;
	}
	return fl;
}

void flame__destroy(struct flame *fl)
{
	if (!fl)
		return;
	for (size_t i = 0; i < fl->cap; i++)
		free(fl->tab[i].s);
	free(fl->tab);
	free(fl);
}

static uint64_t flame_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int grow(struct flame *fl)
{
	size_t ncap = fl->cap * 2;
	struct stack *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < fl->cap; i++) {
		size_t j;

		if (!fl->tab[i].s)
			continue;
		for (j = flame_hash(fl->tab[i].s) & (ncap - 1); nt[j].s; j = (j + 1) & (ncap - 1))
			;
		nt[j] = fl->tab[i];
	}
	free(fl->tab);
	fl->tab = nt;
	fl->cap = ncap;
	return 0;
}

int flame__add(struct flame *fl, const char *const *frames, size_t n, uint64_t value)
{
	size_t len = 0, i, k;
	char *s, *q;

	for (i = 0; i < n; i++)
		len += strlen(frames[i] ? frames[i] : "") + 1;
	s = malloc(len + 1);
	if (!s) {
		fl->lost += value;
		return -ENOMEM;
	}
	q = s;
	for (i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)(frames[i] ? frames[i] : "");

		if (i)
			*q++ = ';';
		if (!*p)
			*q++ = '?';
		for (; *p; p++)  /* the folded format: ';' separates, '\n' ends */
			*q++ = *p == ';' ? ':' : *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
	}
	*q = 0;
	if ((fl->n + 1) * 2 > fl->cap && grow(fl)) {
		free(s);
		fl->lost += value;
		return -ENOMEM;
	}
	for (k = flame_hash(s) & (fl->cap - 1); fl->tab[k].s; k = (k + 1) & (fl->cap - 1)) {
		if (!strcmp(fl->tab[k].s, s)) {
			fl->tab[k].v += value;
			fl->total += value;
			free(s);
			return 0;
		}
	}
	fl->tab[k].s = s;
	fl->tab[k].v = value;
	fl->n++;
	fl->total += value;
	return 0;
}

uint64_t flame__total(const struct flame *fl)
{
	return fl->total;
}

size_t flame__stacks(const struct flame *fl)
{
	return fl->n;
}

/* Byte order with ';' below every other byte, so that the stacks under a
 * frame are contiguous whatever follows its name ("a;b" before "a!"). */
static int cmp_stack(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)((const struct stack *)a)->s;
	const unsigned char *y = (const unsigned char *)((const struct stack *)b)->s;

	for (;; x++, y++) {
		int cx = *x == ';' ? 1 : *x, cy = *y == ';' ? 1 : *y;

		if (cx != cy || !cx)
			return cx - cy;
	}
}

/* The stacks, sorted (pointers into the table; the caller frees the array). */
static struct stack *sorted(const struct flame *fl)
{
	struct stack *v = malloc((fl->n + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < fl->cap; i++)
		if (fl->tab[i].s)
			v[n++] = fl->tab[i];
	qsort(v, n, sizeof(*v), cmp_stack);
	return v;
}

static FILE *open_out(const char *path, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;

	if (!f)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path, char *err, size_t errlen)
{
	if (f != stdout ? fclose(f) : fflush(f)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

int flame__write_folded(const struct flame *fl, const char *path, char *err, size_t errlen)
{
	struct stack *v = sorted(fl);
	FILE *f;

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f = open_out(path, err, errlen);
	if (!f) {
		free(v);
		return -EIO;
	}
	for (size_t i = 0; i < fl->n; i++)
		fprintf(f, "%s %llu\n", v[i].s, (unsigned long long)v[i].v);
	free(v);
	return close_out(f, path, err, errlen);
}

/* ---- the flame graph ---- */

struct node {
	const char *name;    /* into a stack string (not terminated: len) */
	size_t len;
	uint64_t v;
	struct node *child, *last, *next;
};

static void node_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;

		node_free(n->child);
		free(n);
		n = next;
	}
}

static int depth_of(const struct node *n)
{
	int d = 0;

	for (const struct node *c = n->child; c; c = c->next) {
		int x = depth_of(c);

		if (x > d)
			d = x;
	}
	return d + 1;
}

#define FW      1200.0
#define FH      17.0
#define FTOP    64.0
#define FMARGIN 10.0

static bool is_kernel(const struct node *n)
{
	return n->len > 4 && !memcmp(n->name + n->len - 4, "_[k]", 4);
}

static void fmt_value(char *buf, size_t len, uint64_t v, const char *unit)
{
	if (!strcmp(unit, "us"))
		svg_fmt_dur(buf, len, (double)v * 1000);
	else
		snprintf(buf, len, "%llu %s", (unsigned long long)v, unit);
}

static void draw(FILE *f, const struct node *n, int depth, int maxd, double x, double scale,
		 uint64_t total, const char *unit)
{
	double w = (double)n->v * scale, y = FTOP + (maxd - depth - 1) * FH;
	size_t shown = n->len - (is_kernel(n) ? 4 : 0);
	char name[512], vb[48];
	unsigned h = 0;
	int r, g, b;

	if (w < 0.2)
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(shown < sizeof(name) ? shown : sizeof(name) - 1),
		 n->name);
	for (size_t i = 0; i < n->len; i++)
		h = h * 31 + (unsigned char)n->name[i];
	if (depth == 0) {
		r = 200; g = 200; b = 200;
	} else if (depth == 1) { /* the process */
		r = 150 + (int)(h % 40); g = 170 + (int)(h / 40 % 40); b = 215;
	} else if (is_kernel(n)) {
		r = 235 + (int)(h % 20); g = 155 + (int)(h / 20 % 55); b = 20 + (int)(h / 1100 % 40);
	} else {
		r = 205 + (int)(h % 50); g = 60 + (int)(h / 50 % 55); b = 50 + (int)(h / 2750 % 40);
	}
	fmt_value(vb, sizeof(vb), n->v, unit);
	fprintf(f, "<g class=\"frame\" data-depth=\"%d\" data-value=\"%llu\"><title>", depth,
		(unsigned long long)n->v);
	svg_str(f, name);
	fprintf(f, "%s: %s (%.2f %%)</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
		   "height=\"%.1f\" rx=\"2\" fill=\"rgb(%d,%d,%d)\"/>",
		is_kernel(n) ? " (kernel)" : "", vb, 100.0 * (double)n->v / (double)total, x, y, w,
		FH - 1, r, g, b);
	if (w > 21) {
		fprintf(f, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + FH - 5);
		svg_strn(f, name, (size_t)((w - 6) / 6.6));
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
	for (const struct node *c = n->child; c; c = c->next) {
		draw(f, c, depth + 1, maxd, x, scale, total, unit);
		x += (double)c->v * scale;
	}
}

int flame__write_svg(const struct flame *fl, const char *path, const struct flame_page *pg,
		     char *err, size_t errlen)
{
	struct stack *v = sorted(fl);
	struct node *root = calloc(1, sizeof(*root));
	const char *unit = pg->unit ? pg->unit : "samples";
	char vb[48];
	int maxd, ret = -ENOMEM;
	double h;
	FILE *f;

	if (!v || !root) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	root->name = "all";
	root->len = 3;
	root->v = fl->total;
	/* sorted stacks: a frame's children arrive in order, so a child is
	 * either the last one created or a new one */
	for (size_t i = 0; i < fl->n; i++) {
		struct node *parent = root;
		const char *p = v[i].s;

		while (*p) {
			size_t len = strcspn(p, ";");
			struct node *c = parent->last;

			if (!c || c->len != len || memcmp(c->name, p, len)) {
				c = calloc(1, sizeof(*c));
				if (!c) {
					snprintf(err, errlen, "out of memory");
					goto out;
				}
				c->name = p;
				c->len = len;
				if (parent->last)
					parent->last->next = c;
				else
					parent->child = c;
				parent->last = c;
			}
			c->v += v[i].v;
			parent = c;
			p += len + (p[len] == ';');
		}
	}
	maxd = depth_of(root);
	h = FTOP + maxd * FH + 40;
	f = open_out(path, err, errlen);
	if (!f) {
		ret = -EIO;
		goto out;
	}
	svg_begin(f, FW, h, pg->title ? pg->title : "Flame graph");
	fputs("<text x=\"600\" y=\"24\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\">",
	      f);
	svg_str(f, pg->title ? pg->title : "Flame graph");
	fputs("</text>\n<text x=\"600\" y=\"42\" text-anchor=\"middle\" fill=\"#333333\">", f);
	svg_str(f, pg->subtitle ? pg->subtitle : "");
	fmt_value(vb, sizeof(vb), fl->total, unit);
	fprintf(f, "</text>\n<text x=\"600\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"11\" "
		   "fill=\"#444444\">width: share of %s in %zu distinct stacks; bottom to top: process, "
		   "user frames (red), kernel frames (orange); hover for values</text>\n",
		h - 14, vb, fl->n);
	if (!fl->n)
		fprintf(f, "<text x=\"600\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"14\">No "
			   "stacks recorded.</text>\n", FTOP + 20);
	else
		fprintf(f, "<g class=\"flame\" data-total=\"%llu\" font-size=\"11\">\n",
			(unsigned long long)fl->total);
	if (fl->n) {
		draw(f, root, 0, maxd, FMARGIN, (FW - 2 * FMARGIN) / (double)fl->total, fl->total, unit);
		fputs("</g>\n", f);
	}
	svg_end(f);
	ret = close_out(f, path, err, errlen);
out:
	if (root)
		node_free(root->child);
	free(root);
	free(v);
	return ret;
}
