/* Statistics per integer key and top-N latencies: see stat_table.h.  Both
 * are plain single-thread structures: an open-addressing table that only
 * grows, and a binary min-heap whose root is the smallest kept. */
#include "stat_table.h"

#include "report_fmt.h"

#include <stdlib.h>
#include <string.h>

struct stat_table {
	struct stat_row *rows;
	bool *used;
	size_t cap, n;
};

struct stat_table *stat_table__new(void)
{
	return calloc(1, sizeof(struct stat_table));
}

void stat_table__destroy(struct stat_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->used);
	free(t);
}

static size_t slot(int64_t key, size_t cap)
{
	return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

struct stat_row *stat_table__get(struct stat_table *t, int64_t key)
{
	size_t j;

	if ((t->n + 1) * 2 > t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		struct stat_row *r = calloc(nc, sizeof(*r));
		bool *u = calloc(nc, sizeof(*u));

		if (!r || !u) {
			free(r);
			free(u);
			return NULL;
		}
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->used[i])
				continue;
			for (j = slot(t->rows[i].key, nc); u[j]; j = (j + 1) & (nc - 1))
				;
			u[j] = true;
			r[j] = t->rows[i];
		}
		free(t->rows);
		free(t->used);
		t->rows = r;
		t->used = u;
		t->cap = nc;
	}
	for (j = slot(key, t->cap); t->used[j]; j = (j + 1) & (t->cap - 1))
		if (t->rows[j].key == key)
			return &t->rows[j];
	t->used[j] = true;
	memset(&t->rows[j], 0, sizeof(t->rows[j]));
	t->rows[j].key = key;
	t->n++;
	return &t->rows[j];
}

static int cmp_row(const void *x, const void *y)
{
	const struct stat_row *a = x, *b = y;

	return a->key < b->key ? -1 : a->key > b->key;
}

struct stat_row *stat_table__sorted(const struct stat_table *t, size_t *n)
{
	struct stat_row *out;
	size_t k = 0;

	*n = 0;
	if (!t->n || !(out = malloc(t->n * sizeof(*out))))
		return NULL;
	for (size_t i = 0; i < t->cap; i++)
		if (t->used[i])
			out[k++] = t->rows[i];
	qsort(out, k, sizeof(*out), cmp_row);
	*n = k;
	return out;
}

struct topn {
	size_t cap, n;
	struct top_item v[];
};

struct topn *topn__new(size_t n)
{
	struct topn *t = calloc(1, sizeof(*t) + n * sizeof(t->v[0]));

	if (t)
		t->cap = n;
	return t;
}

void topn__destroy(struct topn *t)
{
	free(t);
}

static bool less(uint64_t d1, int64_t b1, uint64_t d2, int64_t b2)
{
	return d1 != d2 ? d1 < d2 : b1 > b2;
}

bool topn__wants(const struct topn *t, uint64_t delay, int64_t begin)
{
	return t->cap && (t->n < t->cap || less(t->v[0].delay, t->v[0].begin, delay, begin));
}

void topn__add(struct topn *t, const struct top_item *it)
{
	size_t i;

	if (!topn__wants(t, it->delay, it->begin))
		return;
	if (t->n < t->cap) {
		i = t->n++;
		t->v[i] = *it;
		while (i && less(t->v[i].delay, t->v[i].begin, t->v[(i - 1) / 2].delay,
				 t->v[(i - 1) / 2].begin)) {
			struct top_item x = t->v[i];

			t->v[i] = t->v[(i - 1) / 2];
			t->v[(i - 1) / 2] = x;
			i = (i - 1) / 2;
		}
		return;
	}
	t->v[0] = *it;
	for (i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct top_item x;

		if (l < t->n && less(t->v[l].delay, t->v[l].begin, t->v[m].delay, t->v[m].begin))
			m = l;
		if (r < t->n && less(t->v[r].delay, t->v[r].begin, t->v[m].delay, t->v[m].begin))
			m = r;
		if (m == i)
			break;
		x = t->v[i];
		t->v[i] = t->v[m];
		t->v[m] = x;
		i = m;
	}
}

static int cmp_item(const void *x, const void *y)
{
	const struct top_item *a = x, *b = y;

	if (a->delay != b->delay)
		return a->delay > b->delay ? -1 : 1;
	return a->begin < b->begin ? -1 : a->begin > b->begin;
}

struct top_item *topn__sorted(const struct topn *t, size_t *n)
{
	struct top_item *out;

	*n = 0;
	if (!t->n || !(out = malloc(t->n * sizeof(*out))))
		return NULL;
	memcpy(out, t->v, t->n * sizeof(*out));
	qsort(out, t->n, sizeof(*out), cmp_item);
	*n = t->n;
	return out;
}

void stat_freq_print(FILE *f, const char *name, const struct trace_stat *s, unsigned bins,
		     bool json)
{
	uint64_t *c = calloc(bins ? bins : 1, sizeof(*c)), lo, top = 0;
	double w;

	if (!c || trace_stat__freq(s, bins, c, &lo, &w)) {
		free(c);
		return;
	}
	for (unsigned i = 0; i < bins; i++)
		if (c[i] > top)
			top = c[i];
	if (json) {
		fputs("{\"name\": ", f);
		fmt_json_str(f, name);
		fputs(", \"bins\": [", f);
		for (unsigned i = 0; i < bins; i++)
			fprintf(f, "%s{\"lo_ns\": %.0f, \"hi_ns\": %.0f, \"count\": %llu}", i ? ", " : "",
				(double)lo + i * w, (double)lo + (i + 1) * w, (unsigned long long)c[i]);
		fputs("]}", f);
	} else {
		fputs("  ", f);
		fmt_text_str(f, name);
		fprintf(f, ": %llu, frequency (usec)\n", (unsigned long long)s->count);
		for (unsigned i = 0; i < bins; i++) {
			int bar = top ? (int)((c[i] * 40 + top - 1) / top) : 0;

			fprintf(f, "    %12.3f - %12.3f |%-40.*s| %llu\n", ((double)lo + i * w) / 1e3,
				((double)lo + (i + 1) * w) / 1e3, bar,
				"########################################", (unsigned long long)c[i]);
		}
	}
	free(c);
}

void stat_json_percentiles(FILE *f, const struct trace_stat *s)
{
	fprintf(f, ", \"p50_ns\": %llu, \"p90_ns\": %llu, \"p99_ns\": %llu",
		(unsigned long long)trace_stat__percentile(s, 50),
		(unsigned long long)trace_stat__percentile(s, 90),
		(unsigned long long)trace_stat__percentile(s, 99));
}
