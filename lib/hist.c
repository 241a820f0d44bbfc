/* Latency histograms: the log-linear buckets of hist_layout.h plus sum,
 * min and max.
 *
 * No total count is stored: it would be one more write per record (one more
 * locked add for record_atomic) and one more field that merge, subtract and
 * import_raw must keep in step with the buckets.  Queries add up the
 * buckets instead, which costs well under a microsecond and is exact by
 * construction. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <latrack/hist.h>

struct lt_hist {
	uint64_t sum;
	uint64_t min; /* UINT64_MAX when empty */
	uint64_t max;
	uint64_t counts[LT_HIST_NR_SLOTS];
};

#define OVF_LOW (1ull << LT_HIST_MAX_EXP)

struct lt_hist *lt_hist__new(void)
{
	struct lt_hist *h = malloc(sizeof(*h));

	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	lt_hist__reset(h);
	return h;
}

void lt_hist__destroy(struct lt_hist *h)
{
	free(h);
}

void lt_hist__reset(struct lt_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

size_t lt_hist__bytes(void)
{
	return sizeof(struct lt_hist);
}

void lt_hist__record(struct lt_hist *h, uint64_t v)
{
	h->counts[lt_hist_bucket(v)]++;
	h->sum += v;
	/* Written as selects so the compiler emits cmov, not branches. */
	h->min = v < h->min ? v : h->min;
	h->max = v > h->max ? v : h->max;
}

void lt_hist__record_n(struct lt_hist *h, uint64_t v, uint64_t n)
{
	if (!n)
		return;
	h->counts[lt_hist_bucket(v)] += n;
	h->sum += v * n;
	h->min = v < h->min ? v : h->min;
	h->max = v > h->max ? v : h->max;
}

void lt_hist__record_atomic(struct lt_hist *h, uint64_t v)
{
	uint64_t m;

	__atomic_fetch_add(&h->counts[lt_hist_bucket(v)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum, v, __ATOMIC_RELAXED);
	/* min/max change rarely once warm: a plain load settles most calls
	 * without a locked instruction. */
	m = __atomic_load_n(&h->min, __ATOMIC_RELAXED);
	while (v < m && !__atomic_compare_exchange_n(&h->min, &m, v, true, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
	m = __atomic_load_n(&h->max, __ATOMIC_RELAXED);
	while (v > m && !__atomic_compare_exchange_n(&h->max, &m, v, true, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

uint64_t lt_hist__count(const struct lt_hist *h)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++)
		n += __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
	return n;
}

uint64_t lt_hist__overflow(const struct lt_hist *h)
{
	return h->counts[LT_HIST_OVERFLOW];
}

uint64_t lt_hist__sum(const struct lt_hist *h)
{
	return h->sum;
}

uint64_t lt_hist__min(const struct lt_hist *h)
{
	return h->min == UINT64_MAX && h->max == 0 ? 0 : h->min;
}

uint64_t lt_hist__max(const struct lt_hist *h)
{
	return h->max;
}

double lt_hist__mean(const struct lt_hist *h)
{
	uint64_t n = lt_hist__count(h);

	return n ? (double)h->sum / (double)n : 0.0;
}

/* Highest value bucket i can hold. */
static uint64_t bucket_high(unsigned int i)
{
	return i >= LT_HIST_OVERFLOW ? UINT64_MAX : lt_hist_bucket_low(i) + lt_hist_bucket_width(i) - 1;
}

/* The value a bucket stands for: its midpoint (exact for width-1 buckets),
 * clamped to the recorded range so that a lone bucket at the edge of the
 * data reports min or max rather than a value nobody recorded. */
static uint64_t bucket_value(const struct lt_hist *h, unsigned int i)
{
	uint64_t v;

	if (i >= LT_HIST_OVERFLOW)
		return h->max;
	v = lt_hist_bucket_low(i) + lt_hist_bucket_width(i) / 2;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

double lt_hist__stddev(const struct lt_hist *h)
{
	uint64_t n = lt_hist__count(h);
	double mean, acc = 0.0;

	if (n < 2)
		return 0.0;
	mean = (double)h->sum / (double)n;
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++) {
		double d;

		if (!h->counts[i])
			continue;
		d = (double)bucket_value(h, i) - mean;
		acc += (double)h->counts[i] * d * d;
	}
	return sqrt(acc / (double)n);
}

uint64_t lt_hist__percentile(const struct lt_hist *h, double p)
{
	uint64_t n = lt_hist__count(h), rank, cum = 0;

	if (!n || !(p >= 0.0 && p <= 100.0))
		return 0;
	if (p == 0.0)
		return h->min;
	if (p == 100.0)
		return h->max;
	/* n * p first: exact for integer p, so p99 of 100 values is rank 99,
	 * not 100 (0.99 * 100 rounds up); the tiny slack covers p like 99.9. */
	rank = (uint64_t)ceil((double)n * p / 100.0 * (1.0 - 1e-12));
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++) {
		cum += h->counts[i];
		if (cum >= rank)
			return bucket_value(h, i);
	}
	return h->max; /* not reached: cum ends at n */
}

int lt_hist__merge(struct lt_hist *dst, const struct lt_hist *src)
{
	uint64_t m;

	if (!dst || !src)
		return -EINVAL;
	/* Relaxed loads: src may be a shared histogram that record_atomic
	 * recorders are filling (the documented way to snapshot it). */
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++)
		dst->counts[i] += __atomic_load_n(&src->counts[i], __ATOMIC_RELAXED);
	dst->sum += __atomic_load_n(&src->sum, __ATOMIC_RELAXED);
	m = __atomic_load_n(&src->min, __ATOMIC_RELAXED);
	if (m < dst->min)
		dst->min = m;
	m = __atomic_load_n(&src->max, __ATOMIC_RELAXED);
	if (m > dst->max)
		dst->max = m;
	return 0;
}

/* Pull min and max inside the first and last non-empty buckets, or back to
 * the empty state.  Used where they are not known exactly. */
static void clamp_bounds(struct lt_hist *h)
{
	int first = -1, last = -1;

	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++) {
		if (h->counts[i]) {
			if (first < 0)
				first = (int)i;
			last = (int)i;
		}
	}
	if (first < 0) {
		h->min = UINT64_MAX;
		h->max = 0;
		h->sum = 0;
		return;
	}
	if (h->min < lt_hist_bucket_low((unsigned int)first))
		h->min = lt_hist_bucket_low((unsigned int)first);
	if (h->min > bucket_high((unsigned int)first))
		h->min = bucket_high((unsigned int)first);
	if (h->max > bucket_high((unsigned int)last))
		h->max = bucket_high((unsigned int)last);
	if (h->max < lt_hist_bucket_low((unsigned int)last))
		h->max = lt_hist_bucket_low((unsigned int)last);
}

int lt_hist__subtract(struct lt_hist *dst, const struct lt_hist *src)
{
	if (!dst || !src)
		return -EINVAL;
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++)
		if (src->counts[i] > dst->counts[i])
			return -ERANGE;
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++)
		dst->counts[i] -= src->counts[i];
	dst->sum -= src->sum;
	clamp_bounds(dst);
	return 0;
}

int lt_hist__foreach_bucket(const struct lt_hist *h, lt_hist_bucket_fn fn, void *ctx)
{
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++) {
		uint64_t hi;
		int r;

		if (!h->counts[i])
			continue;
		hi = i >= LT_HIST_OVERFLOW ? UINT64_MAX : lt_hist_bucket_low(i) + lt_hist_bucket_width(i);
		r = fn(lt_hist_bucket_low(i), hi, h->counts[i], ctx);
		if (r)
			return r;
	}
	return 0;
}

int lt_hist__is_edge(uint64_t v)
{
	if (v <= LT_HIST_SUB_COUNT || v == OVF_LOW)
		return 1;
	if (v > OVF_LOW)
		return 0;
	return lt_hist_bucket_low(lt_hist_bucket(v)) == v;
}

int64_t lt_hist__count_le(const struct lt_hist *h, uint64_t boundary)
{
	unsigned int end;
	uint64_t n = 0;

	if (!h || !lt_hist__is_edge(boundary))
		return -EINVAL;
	/* boundary is the low edge of bucket `end`: every bucket before it
	 * holds only values below the boundary, every later one none. */
	end = boundary == 0 ? 0 : lt_hist_bucket(boundary);
	for (unsigned int i = 0; i < end; i++)
		n += h->counts[i];
	return (int64_t)n;
}

int lt_hist__import_raw(struct lt_hist *h, const struct lt_hist_raw *raw)
{
	bool any = false;

	if (!h || !raw)
		return -EINVAL;
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++) {
		h->counts[i] += raw->counts[i];
		any |= raw->counts[i] != 0;
	}
	if (!any)
		return 0;
	h->sum += raw->sum;
	/* min_inv == 0 means the copy had no minimum yet (torn read). */
	if (raw->min_inv && ~raw->min_inv < h->min)
		h->min = ~raw->min_inv;
	if (raw->max > h->max)
		h->max = raw->max;
	/* A copy read while its CPU records may have bumped a bucket before
	 * min/max: keep them consistent with the buckets. */
	clamp_bounds(h);
	return 0;
}

/* Serialisation. */

static const unsigned char MAGIC[3] = { 'L', 'T', 'H' };
#define SER_VERSION 1
#define SER_HDR 6

static uint32_t crc32_ieee(const unsigned char *p, size_t n)
{
	/* Nibble table: small, and serialisation is not a hot path. */
	static const uint32_t t[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
		0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		c = (c >> 4) ^ t[c & 15];
		c = (c >> 4) ^ t[c & 15];
	}
	return ~c;
}

struct wbuf {
	unsigned char *p;
	size_t len, pos;
};

static void put_byte(struct wbuf *w, unsigned char b)
{
	if (w->p && w->pos < w->len)
		w->p[w->pos] = b;
	w->pos++;
}

static void put_varint(struct wbuf *w, uint64_t v)
{
	while (v >= 0x80) {
		put_byte(w, (unsigned char)(v | 0x80));
		v >>= 7;
	}
	put_byte(w, (unsigned char)v);
}

int lt_hist__serialize(const struct lt_hist *h, void *buf, size_t len)
{
	struct wbuf w = { .p = buf, .len = len, .pos = 0 };
	unsigned int nr = 0;
	int prev = -1;
	uint32_t crc;

	if (!h || (!buf && len))
		return -EINVAL;
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++)
		nr += h->counts[i] != 0;
	for (int i = 0; i < 3; i++)
		put_byte(&w, MAGIC[i]);
	put_byte(&w, SER_VERSION);
	put_byte(&w, LT_HIST_SUB_BITS);
	put_byte(&w, LT_HIST_MAX_EXP);
	put_varint(&w, nr);
	put_varint(&w, nr ? h->sum : 0);
	put_varint(&w, nr ? h->min : 0);
	put_varint(&w, nr ? h->max : 0);
	for (unsigned int i = 0; i < LT_HIST_NR_SLOTS; i++) {
		if (!h->counts[i])
			continue;
		put_varint(&w, (uint64_t)((int)i - prev - 1));
		put_varint(&w, h->counts[i]);
		prev = (int)i;
	}
	if (!buf)
		return (int)(w.pos + 4);
	if (w.pos + 4 > len)
		return -ENOSPC;
	crc = crc32_ieee(buf, w.pos);
	for (int i = 0; i < 4; i++)
		put_byte(&w, (unsigned char)(crc >> (8 * i)));
	return (int)w.pos;
}

struct rbuf {
	const unsigned char *p;
	size_t len, pos;
};

static int get_varint(struct rbuf *r, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned int shift = 0; shift < 64; shift += 7) {
		unsigned char b;

		if (r->pos >= r->len)
			return -EBADMSG;
		b = r->p[r->pos++];
		/* The 10th byte may only carry the top bit of a uint64. */
		if (shift == 63 && b > 1)
			return -EBADMSG;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -EBADMSG;
}

/* Parse and check the whole encoding; fill h only when it is non-NULL, so
 * a first pass with h NULL validates without touching the caller's
 * histogram. */
static int decode(struct lt_hist *h, const unsigned char *p, size_t len)
{
	struct rbuf r = { .p = p, .len = len, .pos = SER_HDR };
	uint64_t nr, sum, min, max, total = 0, idx = 0, prev = 0;
	uint32_t crc;
	bool have_prev = false;
	unsigned int first = 0;

	if (get_varint(&r, &nr) || get_varint(&r, &sum) || get_varint(&r, &min) ||
	    get_varint(&r, &max))
		return -EBADMSG;
	if (nr > LT_HIST_NR_SLOTS)
		return -EBADMSG;
	if (h) {
		lt_hist__reset(h);
		if (nr) {
			h->sum = sum;
			h->min = min;
			h->max = max;
		}
	}
	for (uint64_t k = 0; k < nr; k++) {
		uint64_t gap, c;

		if (get_varint(&r, &gap) || get_varint(&r, &c))
			return -EBADMSG;
		if (gap >= LT_HIST_NR_SLOTS || c == 0)
			return -EBADMSG;
		idx = have_prev ? prev + 1 + gap : gap;
		if (idx >= LT_HIST_NR_SLOTS)
			return -EBADMSG;
		if (total + c < total)
			return -EBADMSG;
		total += c;
		if (!have_prev)
			first = (unsigned int)idx;
		if (h)
			h->counts[idx] = c;
		prev = idx;
		have_prev = true;
	}
	if (r.pos + 4 > len)
		return -EBADMSG;
	crc = (uint32_t)p[r.pos] | (uint32_t)p[r.pos + 1] << 8 | (uint32_t)p[r.pos + 2] << 16 |
	      (uint32_t)p[r.pos + 3] << 24;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/* Fuzz builds skip it so that mutations reach the checks below. */
	if (crc != crc32_ieee(p, r.pos))
		return -EBADMSG;
#endif
	if (nr == 0) {
		if (sum || min || max)
			return -EBADMSG;
	} else if (min > max || lt_hist_bucket(min) != first || lt_hist_bucket(max) != idx) {
		return -EBADMSG;
	}
	return (int)(r.pos + 4);
}

int lt_hist__deserialize(struct lt_hist *h, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int r;

	if (!h || !buf)
		return -EINVAL;
	/* A short buffer that could still be the start of our magic is a
	 * truncated encoding; anything else is not ours. */
	for (size_t i = 0; i < 3 && i < len; i++)
		if (p[i] != MAGIC[i])
			return -EPROTO;
	if (len < SER_HDR)
		return -EBADMSG;
	if (p[3] != SER_VERSION || p[4] != LT_HIST_SUB_BITS || p[5] != LT_HIST_MAX_EXP)
		return -EPROTO;
	r = decode(NULL, p, len);
	if (r < 0)
		return r;
	return decode(h, p, len);
}
