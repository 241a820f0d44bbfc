/* STAND-IN for lt_tracker (explicit clock) and lt_hist: see trace_pair.h.
 * A plain open-addressing table with backward-shift deletion; one thread. */
#include "trace_pair.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 64

struct slot {
	bool used;
	uint8_t len;
	uint8_t key[KEY_MAX];
	uint64_t begin_ns;
	void *priv;
};

struct trace_pair {
	struct slot *s;
	size_t cap, n, key_size;
	trace_pair_fn cb;
	void *ctx;
	struct trace_pair_stats st;
};

static uint64_t hash(const void *k, size_t len)
{
	const uint8_t *p = k;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

struct trace_pair *trace_pair__new(size_t key_size, trace_pair_fn cb, void *ctx)
{
	struct trace_pair *p;

	if (!key_size || key_size > KEY_MAX) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cap = 1024;
	p->s = calloc(p->cap, sizeof(*p->s));
	if (!p->s) {
		free(p);
		return NULL;
	}
	p->key_size = key_size;
	p->cb = cb;
	p->ctx = ctx;
	return p;
}

void trace_pair__destroy(struct trace_pair *p)
{
	if (!p)
		return;
	free(p->s);
	free(p);
}

static struct slot *find(struct trace_pair *p, const void *key, size_t len)
{
	for (size_t j = hash(key, len) & (p->cap - 1);; j = (j + 1) & (p->cap - 1)) {
		struct slot *s = &p->s[j];

		if (!s->used || (s->len == len && !memcmp(s->key, key, len)))
			return s;
	}
}

static int grow(struct trace_pair *p)
{
	struct trace_pair q = *p;

	q.cap = p->cap * 2;
	q.s = calloc(q.cap, sizeof(*q.s));
	if (!q.s)
		return -ENOMEM;
	for (size_t i = 0; i < p->cap; i++)
		if (p->s[i].used)
			*find(&q, p->s[i].key, p->s[i].len) = p->s[i];
	free(p->s);
	p->s = q.s;
	p->cap = q.cap;
	return 0;
}

int trace_pair__begin(struct trace_pair *p, const void *key, size_t key_len, uint64_t ts_ns,
		      void *priv)
{
	struct slot *s;
	int r = 0;

	if (!key_len || key_len > p->key_size)
		return -EINVAL;
	if ((p->n + 1) * 2 > p->cap && grow(p))
		return -ENOMEM;
	s = find(p, key, key_len);
	if (s->used) {
		p->st.replaced++;
		r = 1;
	} else {
		s->used = true;
		s->len = (uint8_t)key_len;
		memcpy(s->key, key, key_len);
		p->n++;
	}
	s->begin_ns = ts_ns;
	s->priv = priv;
	p->st.tracked++;
	return r;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void erase(struct trace_pair *p, struct slot *s)
{
	size_t i = (size_t)(s - p->s), j = i;

	p->s[i].used = false;
	for (;;) {
		size_t k;

		j = (j + 1) & (p->cap - 1);
		if (!p->s[j].used)
			break;
		k = hash(p->s[j].key, p->s[j].len) & (p->cap - 1);
		/* move j back to i unless its home k lies cyclically in (i, j] */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			p->s[i] = p->s[j];
			p->s[j].used = false;
			i = j;
		}
	}
	p->n--;
}

int trace_pair__end(struct trace_pair *p, const void *key, size_t key_len, uint64_t ts_ns)
{
	struct slot *s;
	uint64_t begin;
	void *priv;

	if (!key_len || key_len > p->key_size)
		return -EINVAL;
	s = find(p, key, key_len);
	if (!s->used) {
		p->st.unmatched++;
		return -ENOENT;
	}
	begin = s->begin_ns;
	priv = s->priv;
	erase(p, s);
	p->st.completed++;
	if (p->cb)
		p->cb(key, key_len, begin, ts_ns, priv, p->ctx);
	return 0;
}

int trace_pair__foreach_open(struct trace_pair *p, trace_pair_open_fn fn, void *ctx)
{
	for (size_t i = 0; i < p->cap; i++) {
		int r;

		if (!p->s[i].used)
			continue;
		r = fn(p->s[i].key, p->s[i].len, p->s[i].begin_ns, p->s[i].priv, ctx);
		if (r)
			return r;
	}
	return 0;
}

void trace_pair__stats(const struct trace_pair *p, struct trace_pair_stats *out)
{
	*out = p->st;
	out->in_flight = p->n;
}

void trace_stat__record(struct trace_stat *s, uint64_t v)
{
	double d;

	if (!s->count || v < s->min)
		s->min = v;
	if (!s->count || v > s->max)
		s->max = v;
	s->count++;
	d = (double)v - s->mean;
	s->mean += d / (double)s->count;
	s->m2 += d * ((double)v - s->mean);
}

double trace_stat__stddev(const struct trace_stat *s)
{
	return s->count < 2 ? 0.0 : sqrt(s->m2 / (double)(s->count - 1));
}

void trace_stat__merge(struct trace_stat *into, const struct trace_stat *from)
{
	double n, d;

	if (!from->count)
		return;
	if (!into->count) {
		*into = *from;
		return;
	}
	n = (double)(into->count + from->count);
	d = from->mean - into->mean;
	into->m2 += from->m2 + d * d * (double)into->count * (double)from->count / n;
	into->mean += d * (double)from->count / n;
	into->count += from->count;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}
