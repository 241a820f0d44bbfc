/* Rolling windows: a ring of per-slot histograms taken lazily from a pool
 * and given back when they expire, merged on read.  See window.h for the
 * contract and the memory figures. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <latrack/window.h>

struct lt_hist_pool {
	pthread_mutex_t lock;
	uint32_t max_hists, max_cached;
	uint64_t in_use, refused;
	uint32_t nr_cached;
	struct lt_hist **cached;
};

struct slot {
	uint64_t epoch; /* now_ns / slot_ns of the values it holds */
	struct lt_hist *h;
};

struct lt_window {
	uint64_t slot_ns;
	uint64_t cur; /* newest epoch seen */
	struct slot *ring; /* NULL while no slot is live */
	struct lt_hist_pool *pool;
	uint64_t too_old, no_hist;
	uint32_t nr_slots, live;
	bool have_cur;
};

struct lt_hist_pool *lt_hist_pool__new(const struct lt_hist_pool_opts *opts)
{
	struct lt_hist_pool *p;

	if (opts && opts->sz < sizeof(size_t) + 2 * sizeof(uint32_t)) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	p->max_hists = opts ? opts->max_hists : 0;
	p->max_cached = opts && opts->max_cached ? opts->max_cached : 64;
	p->cached = calloc(p->max_cached, sizeof(*p->cached));
	if (!p->cached)
		goto nomem;
	pthread_mutex_init(&p->lock, NULL);
	return p;
nomem:
	if (p)
		free(p->cached);
	free(p);
	errno = ENOMEM;
	return NULL;
}

void lt_hist_pool__destroy(struct lt_hist_pool *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->nr_cached; i++)
		lt_hist__destroy(p->cached[i]);
	free(p->cached);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void lt_hist_pool__stats(struct lt_hist_pool *p, struct lt_hist_pool_stats *out)
{
	pthread_mutex_lock(&p->lock);
	out->in_use = p->in_use;
	out->cached = p->nr_cached;
	out->refused = p->refused;
	out->bytes = (p->in_use + p->nr_cached) * lt_hist__bytes();
	pthread_mutex_unlock(&p->lock);
}

/* An empty histogram for a new slot, or NULL with *err set. */
static struct lt_hist *hist_get(struct lt_hist_pool *p, int *err)
{
	struct lt_hist *h = NULL;

	if (!p) {
		h = lt_hist__new();
		if (!h)
			*err = -ENOMEM;
		return h;
	}
	pthread_mutex_lock(&p->lock);
	if (p->max_hists && p->in_use >= p->max_hists) {
		p->refused++;
		*err = -ENOSPC;
		goto out;
	}
	if (p->nr_cached) {
		h = p->cached[--p->nr_cached];
	} else {
		h = lt_hist__new();
		if (!h) {
			*err = -ENOMEM;
			goto out;
		}
	}
	p->in_use++;
out:
	pthread_mutex_unlock(&p->lock);
	/* Reset outside the lock: 9.7 KiB of memset need no exclusion. */
	if (h)
		lt_hist__reset(h);
	return h;
}

static void hist_put(struct lt_hist_pool *p, struct lt_hist *h)
{
	if (!p) {
		lt_hist__destroy(h);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->in_use--;
	if (p->nr_cached < p->max_cached) {
		p->cached[p->nr_cached++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	lt_hist__destroy(h);
}

struct lt_window *lt_window__new(const struct lt_window_opts *opts)
{
	struct lt_window *w;

	/* Version 1 of the opts is the whole struct; later fields would be
	 * read only when sz covers them. */
	if (opts && opts->sz < sizeof(*opts)) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->slot_ns = opts && opts->slot_ns ? opts->slot_ns : LT_WINDOW_DEFAULT_SLOT_NS;
	w->nr_slots = opts && opts->nr_slots ? opts->nr_slots : LT_WINDOW_DEFAULT_NR_SLOTS;
	w->pool = opts ? opts->pool : NULL;
	return w;
}

static void release_slot(struct lt_window *w, struct slot *s)
{
	hist_put(w->pool, s->h);
	s->h = NULL;
	w->live--;
}

static void release_ring_if_idle(struct lt_window *w)
{
	if (w->ring && !w->live) {
		free(w->ring);
		w->ring = NULL;
	}
}

void lt_window__destroy(struct lt_window *w)
{
	if (!w)
		return;
	if (w->ring)
		for (uint32_t i = 0; i < w->nr_slots; i++)
			if (w->ring[i].h)
				release_slot(w, &w->ring[i]);
	free(w->ring);
	free(w);
}

static void advance_to(struct lt_window *w, uint64_t epoch)
{
	if (!w->have_cur) {
		w->cur = epoch;
		w->have_cur = true;
		return;
	}
	if (epoch <= w->cur)
		return;
	if (w->ring && w->live) {
		/* Position e % nr holds an epoch congruent to e and <= cur, so
		 * for e in (cur, epoch] it is <= epoch - nr: expired.  Past nr
		 * steps every position has been visited. */
		uint64_t steps = epoch - w->cur;

		if (steps > w->nr_slots)
			steps = w->nr_slots;
		for (uint64_t k = 1; k <= steps && w->live; k++) {
			struct slot *s = &w->ring[(w->cur + k) % w->nr_slots];

			if (s->h)
				release_slot(w, s);
		}
	}
	w->cur = epoch;
	release_ring_if_idle(w);
}

int lt_window__advance(struct lt_window *w, uint64_t now_ns)
{
	advance_to(w, now_ns / w->slot_ns);
	return 0;
}

/* The slot histogram for time now_ns, opened if needed. */
static struct lt_hist *slot_for(struct lt_window *w, uint64_t now_ns, int *err)
{
	uint64_t epoch = now_ns / w->slot_ns;
	struct slot *s;

	advance_to(w, epoch);
	if (epoch + w->nr_slots <= w->cur) {
		w->too_old++;
		*err = -ERANGE;
		return NULL;
	}
	if (!w->ring) {
		w->ring = calloc(w->nr_slots, sizeof(*w->ring));
		if (!w->ring) {
			w->no_hist++;
			*err = -ENOMEM;
			return NULL;
		}
	}
	s = &w->ring[epoch % w->nr_slots];
	if (!s->h) {
		s->h = hist_get(w->pool, err);
		if (!s->h) {
			w->no_hist++;
			release_ring_if_idle(w);
			return NULL;
		}
		s->epoch = epoch;
		w->live++;
	}
	/* The ring holds epochs (cur - nr, cur] and epoch is one of them, so
	 * an occupied position holds exactly this epoch. */
	return s->h;
}

int lt_window__record(struct lt_window *w, uint64_t v_ns, uint64_t now_ns)
{
	int err = 0;
	struct lt_hist *h = slot_for(w, now_ns, &err);

	if (!h)
		return err;
	lt_hist__record(h, v_ns);
	return 0;
}

int lt_window__record_hist(struct lt_window *w, const struct lt_hist *src, uint64_t now_ns)
{
	int err = 0;
	struct lt_hist *h;

	if (!w || !src)
		return -EINVAL;
	h = slot_for(w, now_ns, &err);
	if (!h)
		return err;
	return lt_hist__merge(h, src);
}

int lt_window__query_range(const struct lt_window *w, uint64_t now_ns, uint64_t ago_ns,
			   uint64_t span_ns, struct lt_hist *out)
{
	uint64_t end, k;

	if (!w || !out || !span_ns || span_ns % w->slot_ns || ago_ns % w->slot_ns)
		return -EINVAL;
	k = span_ns / w->slot_ns;
	if (k > w->nr_slots || ago_ns / w->slot_ns > w->nr_slots - k)
		return -EINVAL;
	lt_hist__reset(out);
	end = now_ns / w->slot_ns;
	if (!w->ring || ago_ns / w->slot_ns > end)
		return 0;
	end -= ago_ns / w->slot_ns;
	for (uint64_t j = 0; j < k && j <= end; j++) {
		const struct slot *s = &w->ring[(end - j) % w->nr_slots];

		if (s->h && s->epoch == end - j)
			lt_hist__merge(out, s->h);
	}
	return 0;
}

int lt_window__query(const struct lt_window *w, uint64_t now_ns, uint64_t span_ns,
		     struct lt_hist *out)
{
	return lt_window__query_range(w, now_ns, 0, span_ns, out);
}

uint64_t lt_window__slot_ns(const struct lt_window *w)
{
	return w->slot_ns;
}

uint32_t lt_window__nr_slots(const struct lt_window *w)
{
	return w->nr_slots;
}

void lt_window__stats(const struct lt_window *w, struct lt_window_stats *out)
{
	out->live_slots = w->live;
	out->bytes = sizeof(*w) + (w->ring ? w->nr_slots * sizeof(*w->ring) : 0) +
		     (uint64_t)w->live * lt_hist__bytes();
	out->too_old = w->too_old;
	out->no_hist = w->no_hist;
}
