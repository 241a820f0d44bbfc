/* The Prometheus output: GET /metrics in the text exposition format 0.0.4,
 * served by libmicrohttpd.  docs/PROMETHEUS.md describes the metrics.
 *
 * Threads.  snapshot() and record() run on the engine's thread: snapshot()
 * renders the whole body once per tick into a buffer (struct body) and
 * publishes it under p->mu.  libmicrohttpd's single internal polling thread
 * serves requests: it takes a reference on the current body under the
 * mutex and hands its bytes to libmicrohttpd without copying; the reference
 * is dropped when libmicrohttpd is done with the response.  The HTTP thread
 * never touches engine data, nor the series table.
 *
 * Memory.  At most: the current body, one spare (the last released one,
 * rendered into at the next tick, so a steady state reallocates nothing),
 * and the bodies still referenced by responses in flight (each freed when
 * its last response ends).  The series table holds the admitted label sets
 * (at most max_series per tracker, sticky) and the folded ones present in
 * the last snapshot (bounded by the engine's classes).
 *
 * Series.  A label set (tracker, sub, ent) is admitted the first time it is
 * seen while its tracker has fewer than max_series admitted; it stays
 * admitted.  Any later label set folds into the series sub="other",
 * ent="other" of its tracker, whose histogram is the sum of the cumulative
 * histograms of the folded classes (monotonic: a folded class never
 * becomes admitted).  The first time a label set folds, the tracker's
 * series_folded counter goes up by one. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/types.h> /* before lt_bpf.h (via sink.h, evfmt.h) */
#include <microhttpd.h>

#include "utf8.h"
#include "evfmt.h"
#include "outputs.h"

#define CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"
#define DEFAULT_LISTEN "127.0.0.1:9464"
#define DEFAULT_SERIES 200
#define MAX_CONNS      256 /* connections at once; beyond, refused */
#define CONN_TIMEOUT_S 30
#define SUB_LEN        sizeof(((struct live_class *)0)->sub)
#define ENT_LEN        sizeof(((struct live_class *)0)->ent)
#define FOLD_NAME      "other"

/* One rendered /metrics body; refs counts the current pointer and every
 * response in flight (under prom.mu). */
struct body {
	char *buf;
	size_t len, cap;
	unsigned refs;
};

enum series_state { S_ADMITTED, S_FOLDED, S_FOLD_TARGET };

/* A label set of one tracker, keyed by (trk, sub, ent) as raw bytes. */
struct series {
	struct series *next;      /* hash chain */
	uint32_t hash;
	uint8_t trk;
	uint8_t state;
	char sub[SUB_LEN];
	char ent[ENT_LEN];
	char *labels;      /* admitted / fold target: `syscall="read",comm="x"` */
	uint64_t tick;     /* last tick touched (p->tick) */
	/* this tick's sums (admitted: its class(es); fold target: the folded) */
	uint64_t *le;      /* nr_b counts */
	uint64_t count, sum, outliers, stuck;
	/* change records (kept across ticks): per tested quantile, rose / fell */
	double chg_pct[LT_CHANGE_MAX_Q];
	uint64_t chg[LT_CHANGE_MAX_Q][2];
	uint32_t nr_chg;
};

struct prom {
	struct sink s;
	struct MHD_Daemon *mhd;
	char where[160];            /* "127.0.0.1:9464", the bound port */
	uint32_t nr_b;
	uint64_t b_ns[CFG_MAX_BUCKETS];
	char le_str[CFG_MAX_BUCKETS][32];
	uint32_t max_series;

	pthread_mutex_t mu;         /* cur, spare, refs, last_err */
	struct body *cur, *spare;
	char last_err[160];
	_Atomic uint64_t scrapes, not_found, bad_method, errors;

	/* engine thread only */
	struct series **tab;
	size_t tab_sz, tab_n;
	uint64_t tick;
	struct series **ord;        /* admitted series touched this tick, in order */
	size_t ord_n, ord_cap;
	struct series *fold[LT_TRK_MAX];
	uint32_t admitted[LT_TRK_MAX];
	uint64_t series_folded[LT_TRK_MAX];
	size_t nr_series;           /* histogram series in the last body */
	bool oom;                   /* the last render ran out of memory */
};

/* ---- rendering into a growable buffer ---- */

static bool body_reserve(struct body *b, size_t more)
{
	size_t need = b->len + more + 1, cap;
	char *n;

	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 65536;
	while (cap < need)
		cap *= 2;
	n = realloc(b->buf, cap);
	if (!n)
		return false;
	b->buf = n;
	b->cap = cap;
	return true;
}

static bool put(struct body *b, const char *s, size_t n)
{
	if (!body_reserve(b, n))
		return false;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return true;
}

static bool puts_(struct body *b, const char *s)
{
	return put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static bool putf(struct body *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!body_reserve(b, 256))
		return false;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if ((size_t)n >= b->cap - b->len) {
		if (!body_reserve(b, (size_t)n))
			return false;
		va_start(ap, fmt);
		vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return true;
}

/* Nanoseconds as exact decimal seconds: "0.000001023", "17.179869183",
 * "0", "1". */
static const char *ns_to_s(uint64_t ns, char *buf, size_t len)
{
	char *e;

	snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
	e = buf + strlen(buf) - 1;
	while (*e == '0')
		*e-- = '\0';
	if (*e == '.')
		*e = '\0';
	return buf;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;

	return s[0] < 0x80 ? 1 : utf8_seq(s, n, &cp);
}

/* A label value from the traced system (at most max bytes, NUL ends it),
 * quoted for the exposition format.  The value is made injective and
 * printable first: printable ASCII and valid UTF-8 stay as they are; a
 * control byte (newline included), DEL, a backslash, and every byte that
 * is not part of a valid UTF-8 sequence become the four characters \xHH.
 * Then the exposition format's escapes apply (\\, \", \n), so the byte
 * 0xff reads `\\xff` in the body and `\xff` in Prometheus, and a
 * backslash reads `\\x5c` / `\x5c`.  Two different raw names never give
 * the same label value, so two classes never give the same series. */
static bool put_label_value(struct body *b, const char *raw, size_t max)
{
	const unsigned char *s = (const unsigned char *)raw;
	size_t n = strnlen(raw, max);

	if (!put(b, "\"", 1))
		return false;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(s + i, n - i);

		if (l > 1 || (l == 1 && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')) {
			if (l == 1 && s[i] == '"') {
				if (!put(b, "\\\"", 2))
					return false;
			} else if (!put(b, (const char *)s + i, l)) {
				return false;
			}
			i += l;
		} else {
			/* \xHH, its backslash escaped for the format */
			if (!putf(b, "\\\\x%02x", s[i]))
				return false;
			i++;
		}
	}
	return put(b, "\"", 1);
}

/* A label name: [a-zA-Z_][a-zA-Z0-9_]*, anything else becomes '_'. */
static bool put_label_name(struct body *b, const char *name)
{
	if (!*name)
		return puts_(b, "class");
	for (const char *c = name; *c; c++) {
		char ch = *c;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
			  (c != name && ch >= '0' && ch <= '9');
		if (!put(b, ok ? c : "_", 1))
			return false;
	}
	return true;
}

/* ---- the series table (engine thread) ---- */

static uint32_t key_hash(uint8_t trk, const char *sub, const char *ent)
{
	uint32_t h = 2166136261u ^ trk;

	for (size_t i = 0; i < SUB_LEN && sub[i]; i++)
		h = (h ^ (unsigned char)sub[i]) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (size_t i = 0; i < ENT_LEN && ent[i]; i++)
		h = (h ^ (unsigned char)ent[i]) * 16777619u;
	return h;
}

static bool key_eq(const struct series *s, uint8_t trk, const char *sub, const char *ent)
{
	return s->trk == trk && !strncmp(s->sub, sub, SUB_LEN) && !strncmp(s->ent, ent, ENT_LEN);
}

static struct series *tab_find(struct prom *p, uint32_t h, uint8_t trk, const char *sub,
			       const char *ent)
{
	for (struct series *s = p->tab[h & (p->tab_sz - 1)]; s; s = s->next)
		if (s->hash == h && key_eq(s, trk, sub, ent))
			return s;
	return NULL;
}

static void series_free(struct series *s)
{
	if (s) {
		free(s->labels);
		free(s->le);
		free(s);
	}
}

static int tab_grow(struct prom *p)
{
	size_t nsz = p->tab_sz * 2;
	struct series **n = calloc(nsz, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < p->tab_sz; i++) {
		for (struct series *s = p->tab[i], *next; s; s = next) {
			next = s->next;
			s->next = n[s->hash & (nsz - 1)];
			n[s->hash & (nsz - 1)] = s;
		}
	}
	free(p->tab);
	p->tab = n;
	p->tab_sz = nsz;
	return 0;
}

/* `sublabel="sub",entlabel="ent"` into a new string. */
static char *make_labels(const char *sub_label, const char *sub, const char *ent_label,
			 const char *ent)
{
	struct body b = { 0 };
	bool ok = put_label_name(&b, sub_label ? sub_label : "class") && put(&b, "=", 1) &&
		  put_label_value(&b, sub, SUB_LEN);

	if (ok && ent_label && *ent_label)
		ok = put(&b, ",", 1) && put_label_name(&b, ent_label) && put(&b, "=", 1) &&
		     put_label_value(&b, ent, ENT_LEN);
	if (!ok) {
		free(b.buf);
		return NULL;
	}
	return b.buf;
}

static struct series *series_new(struct prom *p, uint32_t h, uint8_t trk, const char *sub,
				 const char *ent, enum series_state st, const char *sub_label,
				 const char *ent_label)
{
	struct series *s;

	if (p->tab_n + 1 > p->tab_sz && tab_grow(p))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->hash = h;
	s->trk = trk;
	s->state = (uint8_t)st;
	snprintf(s->sub, sizeof(s->sub), "%.*s", (int)SUB_LEN - 1, sub);
	snprintf(s->ent, sizeof(s->ent), "%.*s", (int)ENT_LEN - 1, ent);
	if (st != S_FOLDED) {
		s->labels = make_labels(sub_label, sub, ent_label, ent);
		s->le = calloc(p->nr_b ? p->nr_b : 1, sizeof(*s->le));
		if (!s->labels || !s->le) {
			series_free(s);
			return NULL;
		}
	}
	s->next = p->tab[h & (p->tab_sz - 1)];
	p->tab[h & (p->tab_sz - 1)] = s;
	p->tab_n++;
	return s;
}

/* Start this tick's sums of s, and list it for rendering. */
static int touch(struct prom *p, struct series *s)
{
	if (s->tick == p->tick)
		return 0;
	if (s->state == S_ADMITTED && p->ord_n == p->ord_cap) {
		size_t cap = p->ord_cap ? p->ord_cap * 2 : 256;
		struct series **n = realloc(p->ord, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->ord = n;
		p->ord_cap = cap;
	}
	s->tick = p->tick;
	memset(s->le, 0, p->nr_b * sizeof(*s->le));
	s->count = s->sum = s->outliers = s->stuck = 0;
	if (s->state == S_ADMITTED) /* the fold target is rendered last */
		p->ord[p->ord_n++] = s;
	return 0;
}

/* The series a class adds to: its own (admitted), or its tracker's fold
 * target.  NULL on allocation failure. */
static struct series *series_of(struct prom *p, const struct live_class *c)
{
	uint8_t trk = (uint8_t)c->k.trk;
	const char *sl = c->sub_label ? c->sub_label : "class";
	const char *el = c->ent_label ? c->ent_label : "";
	const char *ent = *el ? c->ent : ""; /* no ent label: ent is not part of the key */
	uint32_t h = key_hash(trk, c->sub, ent);
	struct series *s = tab_find(p, h, trk, c->sub, ent);

	if (!s) {
		/* a class whose labels read other / other is the fold itself */
		bool is_fold = !strncmp(c->sub, FOLD_NAME, SUB_LEN) &&
			       (!*el || !strncmp(ent, FOLD_NAME, ENT_LEN));

		if (!is_fold && p->admitted[trk] < p->max_series) {
			s = series_new(p, h, trk, c->sub, ent, S_ADMITTED, sl, el);
			if (s)
				p->admitted[trk]++;
			return s;
		}
		if (!is_fold) {
			s = series_new(p, h, trk, c->sub, ent, S_FOLDED, sl, el);
			if (!s)
				return NULL;
			p->series_folded[trk]++;
		}
	}
	if (s && s->state == S_ADMITTED)
		return s;
	if (s && s->state == S_FOLDED)
		s->tick = p->tick; /* present: kept in the table */
	if (!p->fold[trk]) {
		char fold_sub[SUB_LEN] = FOLD_NAME, fold_ent[ENT_LEN] = FOLD_NAME;

		p->fold[trk] = series_new(p, key_hash(trk, fold_sub, fold_ent), trk, fold_sub,
					  fold_ent, S_FOLD_TARGET, sl, el);
	}
	return p->fold[trk];
}

/* Forget the folded label sets absent from this snapshot (bounded memory;
 * one that comes back is folded, and counted, again). */
static void prune_folded(struct prom *p)
{
	for (size_t i = 0; i < p->tab_sz; i++) {
		struct series **pp = &p->tab[i];

		while (*pp) {
			struct series *s = *pp;

			if (s->state == S_FOLDED && s->tick != p->tick) {
				*pp = s->next;
				series_free(s);
				p->tab_n--;
			} else {
				pp = &s->next;
			}
		}
	}
}

/* ---- bodies and the HTTP side ---- */

static void body_free(struct body *b)
{
	if (b) {
		free(b->buf);
		free(b);
	}
}

/* Drop a reference (p->mu held); an unused body becomes the spare. */
static void body_put_locked(struct prom *p, struct body *b)
{
	if (--b->refs)
		return;
	if (!p->spare) {
		p->spare = b;
	} else {
		body_free(b);
	}
}

struct release {
	struct prom *p;
	struct body *b;
};

static void response_done(void *cls)
{
	struct release *r = cls;

	pthread_mutex_lock(&r->p->mu);
	body_put_locked(r->p, r->b);
	pthread_mutex_unlock(&r->p->mu);
	free(r);
}

static void note_error(struct prom *p, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&p->errors, 1);
	pthread_mutex_lock(&p->mu);
	va_start(ap, fmt);
	vsnprintf(p->last_err, sizeof(p->last_err), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&p->mu);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct prom *p = cls;
	char *nl;

	atomic_fetch_add(&p->errors, 1);
	pthread_mutex_lock(&p->mu);
	vsnprintf(p->last_err, sizeof(p->last_err), fmt, ap);
	if ((nl = strchr(p->last_err, '\n')))
		*nl = '\0';
	pthread_mutex_unlock(&p->mu);
}

static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned code, const char *text,
				    bool allow)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct prom *p = cls;
	struct MHD_Response *r;
	struct release *rel;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		atomic_fetch_add(&p->bad_method, 1);
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", true);
	}
	if (strcmp(url, "/metrics")) {
		atomic_fetch_add(&p->not_found, 1);
		return reply_static(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", false);
	}
	rel = malloc(sizeof(*rel));
	if (!rel) {
		note_error(p, "out of memory for a response");
		return MHD_NO;
	}
	rel->p = p;
	pthread_mutex_lock(&p->mu);
	rel->b = p->cur;
	rel->b->refs++;
	pthread_mutex_unlock(&p->mu);
	r = MHD_create_response_from_buffer_with_free_callback_cls(rel->b->len, rel->b->buf,
								    response_done, rel);
	if (!r) {
		response_done(rel);
		note_error(p, "cannot create a response");
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r); /* response_done runs when MHD is done with it */
	if (ret == MHD_YES)
		atomic_fetch_add(&p->scrapes, 1);
	else
		note_error(p, "cannot queue a response");
	return ret;
}

/* ---- the metrics ---- */

static bool family(struct body *b, const char *name, const char *type, const char *help)
{
	return putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static bool per_tracker_u64(struct body *b, const char *name, const char *type, const char *help,
			    const uint64_t *v)
{
	bool ok = family(b, name, type, help);

	for (int t = 0; ok && t < LT_TRK_MAX; t++)
		ok = putf(b, "%s{tracker=\"%s\"} %" PRIu64 "\n", name, ev_trk_names[t], v[t]);
	return ok;
}

static bool per_tracker_s(struct body *b, const char *name, const char *help, const uint64_t *ns)
{
	bool ok = family(b, name, "gauge", help);
	char s[40];

	for (int t = 0; ok && t < LT_TRK_MAX; t++)
		ok = putf(b, "%s{tracker=\"%s\"} %s\n", name, ev_trk_names[t],
			  ns_to_s(ns[t], s, sizeof(s)));
	return ok;
}

static bool put_u64(struct body *b, uint64_t v)
{
	char buf[24], *e = buf + sizeof(buf), *c = e;

	do
		*--c = (char)('0' + v % 10);
	while (v /= 10);
	return put(b, c, (size_t)(e - c));
}

/* The hot loop of a render (one line per series and edge): no printf. */
static bool render_hist(struct prom *p, struct body *b, const char *trk, const struct series *s)
{
	size_t tl = strlen(trk), ll = strlen(s->labels);
	char sum[40];
	bool ok = true;

	for (uint32_t i = 0; ok && i <= p->nr_b; i++) {
		const char *le = i < p->nr_b ? p->le_str[i] : "+Inf";

		ok = put(b, "latrack_", 8) && put(b, trk, tl) &&
		     put(b, "_latency_seconds_bucket{", 24) && put(b, s->labels, ll) &&
		     put(b, ",le=\"", 5) && puts_(b, le) && put(b, "\"} ", 3) &&
		     put_u64(b, i < p->nr_b ? s->le[i] : s->count) && put(b, "\n", 1);
	}
	return ok &&
	       putf(b, "latrack_%s_latency_seconds_sum{%s} %s\n", trk, s->labels,
		    ns_to_s(s->sum, sum, sizeof(sum))) &&
	       putf(b, "latrack_%s_latency_seconds_count{%s} %" PRIu64 "\n", trk, s->labels,
		    s->count);
}

/* The series of tracker t touched this tick in snapshot order, then its
 * fold target: for (size_t i = 0; (s = series_at(p, t, &i));) */
static struct series *series_at(const struct prom *p, int t, size_t *i)
{
	while (*i < p->ord_n) {
		struct series *s = p->ord[(*i)++];

		if (s->trk == t)
			return s;
	}
	if ((*i)++ == p->ord_n && p->fold[t] && p->fold[t]->tick == p->tick)
		return p->fold[t];
	return NULL;
}

static bool render_tracker(struct prom *p, struct body *b, int t, size_t *nr_series)
{
	const char *trk = ev_trk_names[t];
	char name[96], help[200], ch[32];
	bool ok = true, any = false, any_chg = false;
	struct series *s;

	for (size_t i = 0; (s = series_at(p, t, &i));) {
		any = true;
		any_chg |= s->nr_chg > 0;
	}
	if (!any)
		return true;
	snprintf(name, sizeof(name), "latrack_%s_latency_seconds", trk);
	snprintf(help, sizeof(help),
		 "Latency of %s classes since the daemon started, in seconds "
		 "(le is an exact bound: integer nanoseconds <= le)", trk);
	ok = family(b, name, "histogram", help);
	for (size_t i = 0; ok && (s = series_at(p, t, &i));) {
		ok = render_hist(p, b, trk, s);
		(*nr_series)++;
	}
	static const char *const what[2] = { "outliers", "stuck" };
	static const char *const whats[2] = { "Outliers (over the threshold) reported per class",
					      "Events reported stuck (in flight past the timeout) per class" };
	for (int k = 0; ok && k < 2; k++) {
		snprintf(name, sizeof(name), "latrack_%s_%s_total", trk, what[k]);
		ok = family(b, name, "counter", whats[k]);
		for (size_t i = 0; ok && (s = series_at(p, t, &i));)
			ok = putf(b, "%s{%s} %" PRIu64 "\n", name, s->labels,
				  k ? s->stuck : s->outliers);
	}
	if (ok && any_chg) {
		snprintf(name, sizeof(name), "latrack_%s_changes_total", trk);
		ok = family(b, name, "counter",
			    "Change records per class and quantile: the last minute rose above "
			    "or fell below the hour before");
		for (size_t i = 0; ok && (s = series_at(p, t, &i));) {
			for (uint32_t q = 0; ok && q < s->nr_chg; q++) {
				snprintf(ch, sizeof(ch), "%g", s->chg_pct[q]);
				for (int d = 0; ok && d < 2; d++)
					ok = putf(b, "%s{%s,percentile=\"%s\",direction=\"%s\"} %" PRIu64 "\n",
						  name, s->labels, ch, d ? "fell" : "rose", s->chg[q][d]);
			}
		}
	}
	return ok;
}

static bool render(struct prom *p, struct body *b, const struct live_snapshot *sn)
{
	uint64_t on[LT_TRK_MAX], loaded[LT_TRK_MAX];
	size_t nr_series = 0;
	bool ok = true;

	for (int t = 0; ok && t < LT_TRK_MAX; t++)
		ok = render_tracker(p, b, t, &nr_series);
	for (int t = 0; t < LT_TRK_MAX; t++) {
		on[t] = sn->on[t];
		loaded[t] = sn->loaded[t];
	}
	ok = ok &&
	     per_tracker_u64(b, "latrack_tracker_enabled", "gauge",
			     "1 when the tracker is measuring", on) &&
	     per_tracker_u64(b, "latrack_tracker_loaded", "gauge",
			     "1 when the tracker's BPF programs are loaded", loaded) &&
	     per_tracker_s(b, "latrack_tracker_threshold_seconds",
			   "Latency above which an event is reported as an outlier", sn->thresh_ns) &&
	     per_tracker_s(b, "latrack_tracker_timeout_seconds",
			   "Time in flight after which an event is reported stuck (0: never)",
			   sn->timeout_ns) &&
	     per_tracker_u64(b, "latrack_outliers_total", "counter",
			     "Outliers reported (latency over the threshold)", sn->outliers) &&
	     per_tracker_u64(b, "latrack_stuck_total", "counter",
			     "Events reported stuck in flight (past the timeout)", sn->stuck) &&
	     per_tracker_u64(b, "latrack_changes_total", "counter",
			     "Change records (a class's last minute against the hour before)",
			     sn->changes) &&
	     per_tracker_u64(b, "latrack_series_folded_total", "counter",
			     "Label sets folded into the series of label value \"other\" "
			     "(per-tracker cap on series reached)", p->series_folded);
	if (ok)
		ok = family(b, "latrack_lost_events_total", "counter",
			    "Kernel-side losses per tracker and reason (ringbuf: outlier lost, "
			    "inflight_full: begin lost, hist_full: sample lost, stack: stack lost)");
	for (int t = 0; ok && t < LT_TRK_MAX; t++)
		for (int k = 0; ok && k < LT_DROP_MAX; k++)
			ok = putf(b, "latrack_lost_events_total{tracker=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
				  ev_trk_names[t], ev_drop_names[k], sn->drops[t * LT_DROP_MAX + k]);
	ok = ok &&
	     family(b, "latrack_classes_folded_total", "counter",
		    "Samples of classes beyond the daemon's class limit, kept in class \"other\"") &&
	     putf(b, "latrack_classes_folded_total %" PRIu64 "\n", sn->classes_folded) &&
	     family(b, "latrack_window_refused_total", "counter",
		    "Window slot histograms refused (window_memory reached)") &&
	     putf(b, "latrack_window_refused_total %" PRIu64 "\n", sn->window_refused) &&
	     family(b, "latrack_bpf_reloads_total", "counter",
		    "BPF programs reloaded (new filters on SIGHUP)") &&
	     putf(b, "latrack_bpf_reloads_total %" PRIu64 "\n", sn->bpf_reloads);
	/* The other outputs (Graphite, JSON): whether they work, what they lost. */
	if (ok && sn->nr_outputs) {
		static const char *const what[3][3] = {
			{ "latrack_output_up", "gauge", "1 when the output is connected / writing" },
			{ "latrack_output_dropped_total", "counter", "Lines or records the output lost (queue full, write failed)" },
			{ "latrack_output_errors_total", "counter", "Failed connects and writes of the output" },
		};

		for (int m = 0; ok && m < 3; m++) {
			ok = family(b, what[m][0], what[m][1], what[m][2]);
			for (size_t i = 0; ok && i < sn->nr_outputs; i++) {
				const struct sink_health *h = &sn->outputs[i];

				ok = putf(b, "%s{output=\"%s\"} %" PRIu64 "\n", what[m][0], h->name,
					  m == 0 ? (uint64_t)h->up : m == 1 ? h->dropped : h->errors);
			}
		}
	}
	if (ok)
		p->nr_series = nr_series;
	return ok;
}

/* One pass over the histogram's buckets.  Each le edge B is a bucket edge,
 * so a bucket [low, high) lies wholly below B (high <= B) or wholly at or
 * above it: the values below B are exactly the buckets with high <= B,
 * which is lt_hist__count_le(h, B) (tests/prom/prom_render.c checks the
 * result against the recorded values).  25 calls of count_le would scan
 * the buckets 25 times. */
struct le_acc {
	const uint64_t *edge;
	uint32_t nr, j;
	uint64_t diff[CFG_MAX_BUCKETS + 1]; /* diff[j]: values in [edge j-1, edge j) */
};

static int le_bucket(uint64_t low, uint64_t high, uint64_t count, void *ctx)
{
	struct le_acc *a = ctx;

	(void)low;
	while (a->j < a->nr && a->edge[a->j] < high)
		a->j++;
	a->diff[a->j] += count; /* j == nr: above every edge, +Inf only */
	return 0;
}

static void add_hist(struct prom *p, struct series *s, const struct lt_hist *h)
{
	struct le_acc a = { .edge = p->b_ns, .nr = p->nr_b };
	uint64_t cum = 0;

	lt_hist__foreach_bucket(h, le_bucket, &a);
	for (uint32_t j = 0; j < p->nr_b; j++) {
		cum += a.diff[j];
		s->le[j] += cum;
	}
	s->count += cum + a.diff[p->nr_b];
	s->sum += lt_hist__sum(h);
}

static void prom_snapshot(struct sink *sk, const struct live_snapshot *sn)
{
	struct prom *p = (struct prom *)sk;
	struct body *b, *old;
	bool ok = true;

	p->tick++;
	p->ord_n = 0;
	for (size_t i = 0; i < sn->nr; i++) {
		const struct live_class *c = sn->c[i];
		struct series *s;

		if (c->k.trk >= LT_TRK_MAX)
			continue;
		s = series_of(p, c);
		if (!s || touch(p, s)) {
			ok = false;
			continue;
		}
		if (c->cum)
			add_hist(p, s, c->cum);
		s->outliers += c->outliers;
		s->stuck += c->stuck;
	}
	prune_folded(p);

	pthread_mutex_lock(&p->mu);
	b = p->spare;
	p->spare = NULL;
	pthread_mutex_unlock(&p->mu);
	if (!b && !(b = calloc(1, sizeof(*b)))) {
		p->oom = true;
		return;
	}
	b->len = 0;
	if (!ok || !render(p, b, sn)) {
		/* keep serving the previous body */
		p->oom = true;
		pthread_mutex_lock(&p->mu);
		if (!p->spare)
			p->spare = b;
		else
			body_free(b);
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->oom = false;
	b->refs = 1;
	pthread_mutex_lock(&p->mu);
	old = p->cur;
	p->cur = b;
	body_put_locked(p, old);
	pthread_mutex_unlock(&p->mu);
}

static void prom_record(struct sink *sk, const struct live_record *r)
{
	struct prom *p = (struct prom *)sk;
	struct series *s;

	if (r->type != LIVE_CHANGE || !r->chg || !r->cls || r->cls->k.trk >= LT_TRK_MAX)
		return;
	s = series_of(p, r->cls);
	if (!s)
		return;
	for (uint32_t i = 0; i < r->chg->nr_quantiles && i < LT_CHANGE_MAX_Q; i++) {
		const struct lt_change_q *q = &r->chg->q[i];
		uint32_t j;

		if (!(r->chg->moved & (1u << i)) || q->dir == LT_CHANGE_NONE)
			continue;
		for (j = 0; j < s->nr_chg && s->chg_pct[j] != q->pct; j++)
			;
		if (j == s->nr_chg) {
			if (j == LT_CHANGE_MAX_Q)
				continue;
			s->chg_pct[j] = q->pct;
			s->nr_chg++;
		}
		s->chg[j][q->dir == LT_CHANGE_FELL]++;
	}
}

static void prom_status(struct sink *sk, FILE *out)
{
	struct prom *p = (struct prom *)sk;
	uint64_t folded = 0, errs = atomic_load(&p->errors);
	char last[sizeof(p->last_err)];

	for (int t = 0; t < LT_TRK_MAX; t++)
		folded += p->series_folded[t];
	pthread_mutex_lock(&p->mu);
	memcpy(last, p->last_err, sizeof(last));
	pthread_mutex_unlock(&p->mu);
	fprintf(out,
		"prometheus: listening on %s, %" PRIu64 " scrapes, %zu series, %" PRIu64
		" folded, errors %" PRIu64,
		p->where, atomic_load(&p->scrapes), p->nr_series, folded, errs);
	if (errs && *last)
		fprintf(out, " (last: %s)", last);
	fprintf(out, ", %" PRIu64 " not found, %" PRIu64 " bad method%s\n",
		atomic_load(&p->not_found), atomic_load(&p->bad_method),
		p->oom ? ", render failed: out of memory (serving the previous body)" : "");
}

static void prom_destroy(struct sink *sk)
{
	struct prom *p = (struct prom *)sk;

	if (!p)
		return;
	if (p->mhd)
		MHD_stop_daemon(p->mhd); /* ends every response: bodies released */
	body_free(p->cur);
	body_free(p->spare);
	for (size_t i = 0; i < p->tab_sz; i++)
		for (struct series *s = p->tab[i], *next; s; s = next) {
			next = s->next;
			series_free(s);
		}
	free(p->tab);
	free(p->ord);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static const struct sink_ops prom_ops = {
	.name = "prometheus",
	.record = prom_record,
	.snapshot = prom_snapshot,
	.status = prom_status,
	.destroy = prom_destroy,
};

/* ---- construction ---- */

/* "HOST:PORT" or "[V6]:PORT" into a bound, listening socket. */
static int listen_on(const char *spec, char *where, size_t wlen, bool *v6, char *err,
		     size_t errlen)
{
	char host[128];
	const char *port_s, *close_b;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char *end;
	unsigned long port;
	int fd, one = 1, rc;

	if (spec[0] == '[') {
		close_b = strchr(spec, ']');
		if (!close_b || close_b[1] != ':' || (size_t)(close_b - spec - 1) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(close_b - spec - 1), spec + 1);
		port_s = close_b + 2;
	} else {
		port_s = strrchr(spec, ':');
		if (!port_s || memchr(spec, ':', (size_t)(port_s - spec)) ||
		    (size_t)(port_s - spec) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(port_s - spec), spec);
		port_s++;
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!*host || !*port_s || *end || errno || port > 65535 || *port_s == '-' || *port_s == '+')
		goto bad;
	rc = getaddrinfo(host, port_s, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "prometheus: cannot listen on %s: %s", spec, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto sys_err;
	*v6 = ai->ai_family == AF_INET6;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (*v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		rc = errno;
		close(fd);
		errno = rc;
		goto sys_err;
	}
	freeaddrinfo(ai);
	{
		char a[INET6_ADDRSTRLEN] = "?";

		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			snprintf(where, wlen, "[%s]:%u", a, ntohs(s6->sin6_port));
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
			snprintf(where, wlen, "%s:%u", a, ntohs(s4->sin_port));
		}
	}
	return fd;
sys_err:
	rc = -errno;
	snprintf(err, errlen, "prometheus: cannot listen on %s: %s", spec, strerror(errno));
	if (ai)
		freeaddrinfo(ai);
	return rc;
bad:
	snprintf(err, errlen,
		 "prometheus: bad listen address '%s' (HOST:PORT, [IPV6]:PORT; e.g. 127.0.0.1:9464)",
		 spec);
	return -EINVAL;
}

struct sink *out_prometheus__new(const struct cfg_prometheus *c, char *err, size_t errlen)
{
	struct prom *p = calloc(1, sizeof(*p));
	const char *spec = c && *c->listen ? c->listen : DEFAULT_LISTEN;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	bool v6 = false;
	int fd;

	if (!p) {
		snprintf(err, errlen, "prometheus: out of memory");
		return NULL;
	}
	p->s.ops = &prom_ops;
	pthread_mutex_init(&p->mu, NULL);
	p->max_series = c && c->max_series ? c->max_series : DEFAULT_SERIES;
	if (c && c->nr_buckets) {
		if (c->nr_buckets > CFG_MAX_BUCKETS)
			goto bad_buckets;
		for (uint32_t i = 0; i < c->nr_buckets; i++) {
			uint64_t v = c->buckets_ns[i];

			if (!v || !lt_hist__is_edge(v) || (i && v <= c->buckets_ns[i - 1]))
				goto bad_buckets;
			p->b_ns[p->nr_b++] = v;
		}
	} else {
		for (int k = 10; k <= 34; k++)
			p->b_ns[p->nr_b++] = 1ull << k;
	}
	/* le = B - 1 ns: for integer nanoseconds, v <= B - 1 exactly when
	 * v < B, which is what lt_hist__count_le counts. */
	for (uint32_t i = 0; i < p->nr_b; i++)
		ns_to_s(p->b_ns[i] - 1, p->le_str[i], sizeof(p->le_str[i]));
	p->tab_sz = 256;
	p->tab = calloc(p->tab_sz, sizeof(*p->tab));
	p->cur = calloc(1, sizeof(*p->cur));
	if (!p->tab || !p->cur) {
		snprintf(err, errlen, "prometheus: out of memory");
		goto fail;
	}
	p->cur->refs = 1;
	p->cur->buf = strdup("# latrack: no snapshot yet\n");
	if (!p->cur->buf) {
		snprintf(err, errlen, "prometheus: out of memory");
		goto fail;
	}
	p->cur->len = strlen(p->cur->buf);
	p->cur->cap = p->cur->len + 1;
	fd = listen_on(spec, p->where, sizeof(p->where), &v6, err, errlen);
	if (fd < 0)
		goto fail;
	if (v6)
		flags |= MHD_USE_IPv6;
	p->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, p,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, p, /* first: see the manual */
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!p->mhd) {
		close(fd);
		snprintf(err, errlen, "prometheus: cannot start the HTTP server on %s%s%s", p->where,
			 *p->last_err ? ": " : "", p->last_err);
		goto fail;
	}
	return &p->s;
bad_buckets:
	snprintf(err, errlen,
		 "prometheus: buckets must be ascending, non-zero bucket edges of the histogram "
		 "(at most %d)", CFG_MAX_BUCKETS);
fail:
	prom_destroy(&p->s);
	return NULL;
}
