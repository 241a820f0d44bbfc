/* Graphite output: per class, every interval, the count, p50, p90, p99,
 * p99.9 and max of the interval to carbon's plaintext port; loss counters
 * and change records as series too.  docs/GRAPHITE.md is the user's manual
 * (metric names, units, sanitisation, timestamps, queueing).
 *
 * Structure.
 *   - Interval histograms: a chained hash table keyed by the sanitised path
 *     "tracker.sub.ent".  Each tick, the `last` histogram of every class
 *     that had samples is merged into its entry (classes whose names
 *     sanitise to the same path share one entry: one Graphite series, so
 *     their samples add up).  An entry without samples for IDLE_PUSHES
 *     pushes is freed with its histogram, so memory follows the classes
 *     active in the last IDLE_PUSHES intervals.
 *   - Intervals are aligned on the wall clock: a push happens at the first
 *     tick whose CLOCK_REALTIME lies in a later multiple of the interval
 *     than the previous push, with that multiple as timestamp.  Timestamps
 *     are thus distinct and aligned on carbon's retention step whatever the
 *     tick's phase; a tick's samples go to the push that follows it.
 *   - Queue: a ring of malloc'd lines, at most cfg->queue (>= 1).  When it
 *     is full, the sink first writes what the socket takes (if connected),
 *     then drops the oldest line (counted): the newest data is what
 *     dashboards show.  A line partly written to the socket is never
 *     dropped (it would corrupt the stream); when the connection drops, it
 *     is sent again whole on the next one.
 *   - Connection: non-blocking socket and connect(); poll() (every tick)
 *     completes the connect, writes what the socket accepts, and notices a
 *     close by the server (EOF/HUP).  A failed or dropped connection is
 *     retried after 1 s, doubling up to 60 s; an established connection
 *     resets the back-off.  The host name is resolved once, when the sink
 *     is built (getaddrinfo blocks), so a name that does not resolve is an
 *     error then.
 * The time for back-off comes from the callers (sn->mono_ns, poll's
 * mono_ns), never from the clock directly: the tests drive it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h> /* before lt_bpf.h (through outputs.h) */

#include "out_stats.h"
#include "outputs.h"

#define NS_PER_S        ((uint64_t)1000000000)
#define BACKOFF_MIN_NS  (1 * NS_PER_S)
#define BACKOFF_MAX_NS  (60 * NS_PER_S)
#define CONNECT_TIMEOUT (10 * NS_PER_S)
#define IDLE_PUSHES     10   /* pushes without samples before an entry is freed */
#define MAX_ADDRS       8
#define LINE_MAX_LEN    512
#define IOV_BATCH       256
#define NBUCKETS        4096 /* hash chains (the engine keeps <= 4096 classes + folds) */

/* Tracker and loss counter names, as src/evfmt.c's ev_trk_names and
 * ev_drop_names (kept here so the sink links without the BPF loaders). */
static const char *const trk_names[LT_TRK_MAX] = { "syscall", "wakeup", "offcpu",
						   "block",   "irq",    "net" };
static const char *const drop_names[LT_DROP_MAX] = { "ringbuf", "inflight_full", "hist_full",
						     "stack" };

struct gent {
	struct gent *next;
	struct lt_hist *h; /* samples of the current interval */
	bool has;          /* h got samples this interval */
	uint32_t idle;     /* pushes in a row without samples */
	char path[];       /* "tracker.sub.ent", sanitised */
};

enum gstate { G_DOWN, G_CONNECTING, G_UP };

struct graphite {
	struct sink s;
	struct cfg_graphite cfg;
	char prefix[sizeof(((struct cfg_graphite *)0)->prefix)];
	char server[300]; /* "host:port" */
	struct sockaddr_storage addr[MAX_ADDRS];
	socklen_t addrlen[MAX_ADDRS];
	int naddr, addr_i;

	int fd;
	enum gstate st;
	uint64_t now;           /* last time a caller gave */
	uint64_t next_try;      /* mono ns of the next connect attempt */
	uint64_t backoff;
	uint64_t connect_start;
	char last_err[200];

	char **q;               /* ring of lines */
	uint32_t qcap, qhead, qlen;
	size_t head_off;        /* bytes of q[qhead] already written */

	uint64_t sent, dropped, connects, failures, pushes;

	uint64_t interval_ns;
	uint64_t last_k;        /* interval index (wall / interval) of the last push */
	bool started;
	struct gent *tab[NBUCKETS];
	size_t nent;
};

static const struct sink_ops graphite_ops;

/* Every byte outside [A-Za-z0-9_-] becomes '_'; empty becomes "_". */
static void sanitize(char *dst, size_t dlen, const char *src, size_t smax)
{
	size_t i = 0;

	for (; i + 1 < dlen && i < smax && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_' || c == '-';
		dst[i] = okc ? (char)c : '_';
	}
	if (i == 0 && dlen > 1)
		dst[i++] = '_';
	dst[i] = '\0';
}

static void set_err(struct graphite *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->last_err, sizeof(g->last_err), fmt, ap);
	va_end(ap);
}

/* ---- queue ---- */

static void g_flush(struct graphite *g);

static void q_push(struct graphite *g, const char *line, size_t len)
{
	char *l = malloc(len + 1);

	if (g->qlen == g->qcap)
		g_flush(g); /* connected: a push larger than the queue is no loss */

	if (!l) {
		g->dropped++;
		return;
	}
	memcpy(l, line, len + 1);
	if (g->qlen == g->qcap) {
		/* Full: drop the oldest line not partly written. */
		if (g->head_off == 0) {
			free(g->q[g->qhead]);
			g->qhead = (g->qhead + 1) % g->qcap;
			g->qlen--;
		} else if (g->qcap > 1) {
			uint32_t second = (g->qhead + 1) % g->qcap;

			free(g->q[second]);
			g->q[second] = g->q[g->qhead];
			g->qhead = second;
			g->qlen--;
		} else {
			free(l);
			g->dropped++;
			return;
		}
		g->dropped++;
	}
	g->q[(g->qhead + g->qlen) % g->qcap] = l;
	g->qlen++;
}

static void q_pop(struct graphite *g)
{
	free(g->q[g->qhead]);
	g->q[g->qhead] = NULL;
	g->qhead = (g->qhead + 1) % g->qcap;
	g->qlen--;
	g->head_off = 0;
}

static void emit(struct graphite *g, const char *path_tail, const char *metric, const char *value,
		 uint64_t ts)
{
	char line[LINE_MAX_LEN];
	int n = snprintf(line, sizeof(line), "%s.%s.%s %s %" PRIu64 "\n", g->prefix, path_tail,
			 metric, value, ts);

	if (n < 0 || (size_t)n >= sizeof(line)) {
		g->dropped++; /* cannot happen with the configured sizes */
		return;
	}
	q_push(g, line, (size_t)n);
}

static void emit_u64(struct graphite *g, const char *path_tail, const char *metric, uint64_t v,
		     uint64_t ts)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	emit(g, path_tail, metric, b, ts);
}

/* ns as microseconds with 3 decimals, exact. */
static void emit_us(struct graphite *g, const char *path_tail, const char *metric, uint64_t ns,
		    uint64_t ts)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
	emit(g, path_tail, metric, b, ts);
}

/* ---- connection ---- */

static void g_close(struct graphite *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	g->head_off = 0; /* the partial line goes again whole */
}

/* The attempt failed or the connection dropped: retry after the back-off. */
static void g_fail(struct graphite *g)
{
	g_close(g);
	g->st = G_DOWN;
	g->failures++;
	g->next_try = g->now + g->backoff;
	g->backoff = g->backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : g->backoff * 2;
	if (g->naddr > 1)
		g->addr_i = (g->addr_i + 1) % g->naddr;
}

static void g_connected(struct graphite *g)
{
	g->st = G_UP;
	g->connects++;
	g->backoff = BACKOFF_MIN_NS;
}

static void g_connect(struct graphite *g)
{
	const struct sockaddr_storage *a = &g->addr[g->addr_i];
	int fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		set_err(g, "socket: %s", strerror(errno));
		g_fail(g);
		return;
	}
	g->fd = fd;
	g->connect_start = g->now;
	if (connect(fd, (const struct sockaddr *)a, g->addrlen[g->addr_i]) == 0) {
		g_connected(g);
	} else if (errno == EINPROGRESS || errno == EINTR) {
		g->st = G_CONNECTING;
	} else {
		set_err(g, "connect to %s: %s", g->server, strerror(errno));
		g_fail(g);
	}
}

/* Write what the socket takes. */
static void g_flush(struct graphite *g)
{
	while (g->st == G_UP && g->qlen) {
		struct iovec iov[IOV_BATCH];
		int n = 0;

		for (uint32_t i = 0; i < g->qlen && n < IOV_BATCH; i++) {
			char *l = g->q[(g->qhead + i) % g->qcap];
			size_t off = i == 0 ? g->head_off : 0;

			iov[n].iov_base = l + off;
			iov[n].iov_len = strlen(l) - off;
			n++;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(g->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			set_err(g, "send to %s: %s", g->server, strerror(errno));
			g_fail(g);
			return;
		}
		size_t left = (size_t)w;

		for (int i = 0; i < n && left; i++) {
			if (left >= iov[i].iov_len) {
				left -= iov[i].iov_len;
				q_pop(g);
				g->sent++;
			} else {
				g->head_off += left;
				left = 0;
			}
		}
	}
}

static void g_poll(struct sink *s, uint64_t mono_ns)
{
	struct graphite *g = (struct graphite *)s;

	if (mono_ns > g->now)
		g->now = mono_ns;
	if (g->st == G_DOWN && g->now >= g->next_try)
		g_connect(g);
	if (g->st == G_CONNECTING) {
		struct pollfd p = { .fd = g->fd, .events = POLLOUT };

		if (poll(&p, 1, 0) > 0) {
			int err = 0;
			socklen_t el = sizeof(err);

			if (getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
				err = errno;
			if (err) {
				set_err(g, "connect to %s: %s", g->server, strerror(err));
				g_fail(g);
			} else {
				g_connected(g);
			}
		} else if (g->now - g->connect_start >= CONNECT_TIMEOUT) {
			set_err(g, "connect to %s: timed out", g->server);
			g_fail(g);
		}
	}
	if (g->st == G_UP) {
		/* Carbon never writes: readable means closed (EOF) or an error. */
		struct pollfd p = { .fd = g->fd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0) {
			char b[256];
			ssize_t r = recv(g->fd, b, sizeof(b), MSG_DONTWAIT);

			if (r == 0) {
				set_err(g, "connection closed by %s", g->server);
				g_fail(g);
			} else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				set_err(g, "connection to %s: %s", g->server, strerror(errno));
				g_fail(g);
			}
		}
	}
	g_flush(g);
}

/* ---- interval histograms ---- */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct gent *g_entry(struct graphite *g, const char *path)
{
	uint32_t b = hash_str(path) % NBUCKETS;
	struct gent *e;

	for (e = g->tab[b]; e; e = e->next)
		if (!strcmp(e->path, path))
			return e;
	size_t len = strlen(path);

	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->path, path, len + 1);
	e->next = g->tab[b];
	g->tab[b] = e;
	g->nent++;
	return e;
}

/* "tracker.sub.ent", each part sanitised. */
static void class_path(char *buf, size_t len, const char *tracker, const char *sub, size_t submax,
		       const char *ent, size_t entmax)
{
	char t[32], su[sizeof(((struct live_class *)0)->sub)], en[sizeof(((struct live_class *)0)->ent)];

	sanitize(t, sizeof(t), tracker ? tracker : "", SIZE_MAX);
	sanitize(su, sizeof(su), sub ? sub : "", submax);
	sanitize(en, sizeof(en), ent ? ent : "", entmax);
	snprintf(buf, len, "%s.%s.%s", t, su, en);
}

static bool hist_empty(const struct lt_hist *h)
{
	if (!h)
		return true;
	if (lt_hist__sum(h) || lt_hist__max(h))
		return false;
	return lt_hist__count(h) == 0;
}

/* The class series of one push; idle entries get count 0, or are freed. */
static void g_push_classes(struct graphite *g, uint64_t ts)
{
	static const struct {
		double p;
		const char *name;
	} qs[] = { { 50, "p50_us" }, { 90, "p90_us" }, { 99, "p99_us" }, { 99.9, "p999_us" } };

	g->pushes++;
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct gent **pp = &g->tab[b];

		while (*pp) {
			struct gent *e = *pp;

			if (e->has) {
				emit_u64(g, e->path, "count", lt_hist__count(e->h), ts);
				for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
					emit_us(g, e->path, qs[i].name,
						lt_hist__percentile(e->h, qs[i].p), ts);
				emit_us(g, e->path, "max_us", lt_hist__max(e->h), ts);
				lt_hist__reset(e->h);
				e->has = false;
				e->idle = 0;
			} else if (++e->idle >= IDLE_PUSHES) {
				*pp = e->next;
				lt_hist__destroy(e->h);
				free(e);
				g->nent--;
				continue;
			} else {
				emit_u64(g, e->path, "count", 0, ts);
			}
			pp = &e->next;
		}
	}

}

static void g_push(struct graphite *g, const struct live_snapshot *sn, uint64_t ts)
{
	g_push_classes(g, ts);
	/* Counters since the daemon started (use nonNegativeDerivative). */
	for (int t = 0; t < LT_TRK_MAX; t++) {
		char p[64];

		if (!sn->loaded[t])
			continue;
		snprintf(p, sizeof(p), "%s._counters", trk_names[t]);
		emit_u64(g, p, "outliers", sn->outliers[t], ts);
		emit_u64(g, p, "stuck", sn->stuck[t], ts);
		emit_u64(g, p, "changes", sn->changes[t], ts);
		for (int d = 0; d < LT_DROP_MAX; d++) {
			char m[40];

			snprintf(m, sizeof(m), "drop_%s", drop_names[d]);
			emit_u64(g, p, m, sn->drops[t * LT_DROP_MAX + d], ts);
		}
	}
	emit_u64(g, "_daemon", "classes", sn->nr, ts);
	emit_u64(g, "_daemon", "classes_folded", sn->classes_folded, ts);
	emit_u64(g, "_daemon", "window_refused", sn->window_refused, ts);
	emit_u64(g, "_daemon", "bpf_reloads", sn->bpf_reloads, ts);
	/* Our own losses, as of this push (lines dropped before it). */
	emit_u64(g, "_daemon", "graphite_dropped", g->dropped, ts);
	emit_u64(g, "_daemon", "graphite_reconnects", g->connects ? g->connects - 1 : 0, ts);
}

static void g_snapshot(struct sink *s, const struct live_snapshot *sn)
{
	struct graphite *g = (struct graphite *)s;

	if (sn->mono_ns > g->now)
		g->now = sn->mono_ns;
	for (size_t i = 0; i < sn->nr; i++) {
		const struct live_class *c = sn->c[i];
		char path[200];
		struct gent *e;

		if (hist_empty(c->last))
			continue;
		class_path(path, sizeof(path), c->tracker, c->sub, sizeof(c->sub), c->ent,
			   sizeof(c->ent));
		e = g_entry(g, path);
		if (e && !e->h)
			e->h = lt_hist__new();
		if (!e || !e->h) {
			set_err(g, "out of memory for the interval histogram of %s", path);
			continue;
		}
		lt_hist__merge(e->h, c->last);
		e->has = true;
		e->idle = 0;
	}

	uint64_t k = sn->wall_ns / g->interval_ns;

	if (!g->started) {
		g->started = true;
		g->last_k = k;
	} else if (k != g->last_k) {
		g->last_k = k;
		g_push(g, sn, k * (g->interval_ns / NS_PER_S));
	}
	g_poll(s, sn->mono_ns);
}

/* Change records: PATH.change_pNN, +1 (rose) or -1 (fell), at the record's
 * time. */
static void g_record(struct sink *s, const struct live_record *r)
{
	struct graphite *g = (struct graphite *)s;
	char path[200];

	if (r->type != LIVE_CHANGE || !r->chg)
		return;
	if (r->cls)
		class_path(path, sizeof(path), r->cls->tracker, r->cls->sub, sizeof(r->cls->sub),
			   r->cls->ent, sizeof(r->cls->ent));
	else
		class_path(path, sizeof(path), r->trk < LT_TRK_MAX ? trk_names[r->trk] : "unknown",
			   r->chg->class_name, sizeof(r->chg->class_name), "", 0);
	for (uint32_t i = 0; i < r->chg->nr_quantiles && i < LT_CHANGE_MAX_Q; i++) {
		const struct lt_change_q *q = &r->chg->q[i];
		char m[32], pct[16], *d = pct;

		if (!(r->chg->moved & (1u << i)) || q->dir == LT_CHANGE_NONE)
			continue;
		/* 99.9 -> "999", 50 -> "50" */
		snprintf(pct, sizeof(pct), "%g", q->pct);
		for (char *c = pct; *c; c++)
			if (*c >= '0' && *c <= '9')
				*d++ = *c;
		*d = '\0';
		snprintf(m, sizeof(m), "change_p%s", pct);
		emit(g, path, m, q->dir > 0 ? "1" : "-1", r->wall_ns / NS_PER_S);
	}
}

static void g_status(struct sink *s, FILE *out)
{
	struct graphite *g = (struct graphite *)s;
	static const char *const names[] = { "down", "connecting", "connected" };

	fprintf(out,
		"graphite: state=%s server=%s sent=%" PRIu64 " queued=%" PRIu32 " dropped=%" PRIu64
		" reconnects=%" PRIu64 " connect_failures=%" PRIu64 " series=%zu interval=%" PRIu64
		"s",
		names[g->st], g->server, g->sent, g->qlen, g->dropped,
		g->connects ? g->connects - 1 : 0, g->failures, g->nent, g->interval_ns / NS_PER_S);
	if (g->st == G_DOWN && g->next_try > g->now)
		fprintf(out, " retry_in=%.1fs", (double)(g->next_try - g->now) / 1e9);
	if (g->last_err[0]) {
		fputs(" last_error=\"", out);
		for (const char *c = g->last_err; *c; c++)
			fputc(*c == '"' ? '\'' : *c, out);
		fputc('"', out);
	}
	fputc('\n', out);
}

/* Leaving (daemon stop, or a reload that changes [graphite]): push the
 * samples of the interval in progress, at its end (up to one interval in
 * the future), and give the connection up to 1 s to take what is queued. */
static void g_final_flush(struct graphite *g)
{
	bool any = false;
	struct timespec t0, t;

	if (!g->started || g->st != G_UP)
		return;
	for (size_t b = 0; b < NBUCKETS && !any; b++)
		for (struct gent *e = g->tab[b]; e && !any; e = e->next)
			any = e->has;
	if (any)
		g_push_classes(g, (g->last_k + 1) * (g->interval_ns / NS_PER_S));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = g->fd, .events = POLLOUT };
		int64_t left_ms;

		g_flush(g);
		if (g->st != G_UP || !g->qlen)
			return;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left_ms = 1000 - ((int64_t)(t.tv_sec - t0.tv_sec) * 1000 +
				  (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left_ms <= 0 || poll(&p, 1, (int)left_ms) <= 0)
			return;
	}
}

static void g_destroy(struct sink *s)
{
	struct graphite *g = (struct graphite *)s;

	if (!g)
		return;
	g_final_flush(g);
	g_close(g);
	while (g->qlen)
		q_pop(g);
	free(g->q);
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct gent *e = g->tab[b];

		while (e) {
			struct gent *n = e->next;

			lt_hist__destroy(e->h);
			free(e);
			e = n;
		}
	}
	free(g);
}

static void g_health(struct sink *s, struct sink_health *h)
{
	const struct graphite *g = (const struct graphite *)s;

	h->up = g->st == G_UP;
	h->dropped = g->dropped;
	h->errors = g->failures;
}

static const struct sink_ops graphite_ops = {
	.name = "graphite",
	.record = g_record,
	.snapshot = g_snapshot,
	.status = g_status,
	.poll = g_poll,
	.destroy = g_destroy,
	.health = g_health,
};

int out_graphite__stats(const struct sink *s, struct out_graphite_stats *st)
{
	const struct graphite *g = (const struct graphite *)s;

	if (!s || !st || s->ops != &graphite_ops)
		return -EINVAL;
	*st = (struct out_graphite_stats){
		.connected = g->st == G_UP,
		.connecting = g->st == G_CONNECTING,
		.sent = g->sent,
		.queued = g->qlen,
		.dropped = g->dropped,
		.connects = g->connects,
		.reconnects = g->connects ? g->connects - 1 : 0,
		.connect_failures = g->failures,
		.pushes = g->pushes,
		.series = g->nent,
	};
	return 0;
}

struct sink *out_graphite__new(const struct cfg_graphite *c, char *err, size_t errlen)
{
	struct graphite *g;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char port[8];
	int rc;

	if (!c || !c->host[0] || !c->port) {
		snprintf(err, errlen, "graphite: no host or port");
		return NULL;
	}
	if (c->interval_ns < NS_PER_S || c->interval_ns % NS_PER_S) {
		snprintf(err, errlen, "graphite: interval must be a whole number of seconds");
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "graphite: out of memory");
		return NULL;
	}
	g->s.ops = &graphite_ops;
	g->cfg = *c;
	g->fd = -1;
	g->st = G_DOWN;
	g->backoff = BACKOFF_MIN_NS;
	g->interval_ns = c->interval_ns;
	g->qcap = c->queue ? c->queue : 1;
	g->q = calloc(g->qcap, sizeof(*g->q));
	if (!g->q) {
		snprintf(err, errlen, "graphite: out of memory for a queue of %" PRIu32 " lines",
			 g->qcap);
		g_destroy(&g->s);
		return NULL;
	}
	/* The prefix: dots kept (they are its levels), other bytes as in
	 * every component, no empty level. */
	{
		size_t o = 0;

		for (const char *p = c->prefix; *p && o + 1 < sizeof(g->prefix); p++) {
			char ch[2] = ".";

			if (*p == '.') {
				if (o == 0 || g->prefix[o - 1] == '.')
					continue;
			} else {
				sanitize(ch, sizeof(ch), p, 1);
			}
			g->prefix[o++] = ch[0];
		}
		while (o && g->prefix[o - 1] == '.')
			o--;
		g->prefix[o] = '\0';
		if (!o)
			snprintf(g->prefix, sizeof(g->prefix), "latrack");
	}
	snprintf(g->server, sizeof(g->server), strchr(c->host, ':') ? "[%s]:%u" : "%s:%u", c->host,
		 (unsigned)c->port);
	snprintf(port, sizeof(port), "%u", (unsigned)c->port);
	rc = getaddrinfo(c->host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "graphite: cannot resolve %s: %s", c->host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		g_destroy(&g->s);
		return NULL;
	}
	for (struct addrinfo *a = res; a && g->naddr < MAX_ADDRS; a = a->ai_next) {
		if (a->ai_addrlen > sizeof(g->addr[0]))
			continue;
		memcpy(&g->addr[g->naddr], a->ai_addr, a->ai_addrlen);
		g->addrlen[g->naddr++] = a->ai_addrlen;
	}
	freeaddrinfo(res);
	if (!g->naddr) {
		snprintf(err, errlen, "graphite: no usable address for %s", c->host);
		g_destroy(&g->s);
		return NULL;
	}
	return &g->s;
}
