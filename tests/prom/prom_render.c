/* The Prometheus output (src/out_prometheus.c) on synthetic snapshots,
 * scraped over HTTP on a loopback port the kernel picks.
 *
 *   prom_render          TAP: listen addresses, HTTP replies, exact bucket
 *                        counts (expected values computed here from the
 *                        recorded values, not from lt_hist), escaping of
 *                        hostile comm bytes, the series cap and its fold,
 *                        change counters, status(), and `promtool check
 *                        metrics` on the body.
 *   prom_render serve    a server for tests/prom_load.t: prints "port N",
 *                        ticks a changing snapshot every 100 ms (300
 *                        classes, max_series 60) until SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "outputs.h"

#include <latrack/change.h>
#include <latrack/hist.h>

/* ---- a class with the values recorded into it ---- */

#define MAXV 4096

struct tclass {
	struct live_class lc;
	struct lt_hist *h;
	uint64_t v[MAXV];
	size_t n;
};

static void tc_init(struct tclass *t, enum lt_trk trk, const char *tracker, const char *sub_label,
		    const char *sub, const char *ent_label, const char *ent)
{
	memset(t, 0, sizeof(*t));
	t->lc.k.trk = trk;
	t->lc.tracker = tracker;
	t->lc.sub_label = sub_label;
	snprintf(t->lc.sub, sizeof(t->lc.sub), "%s", sub);
	t->lc.ent_label = ent_label;
	snprintf(t->lc.ent, sizeof(t->lc.ent), "%s", ent);
	t->h = lt_hist__new();
	t->lc.cum = t->h;
	t->lc.last = t->h;
}

static void tc_add(struct tclass *t, uint64_t v)
{
	if (t->n < MAXV)
		t->v[t->n++] = v;
	lt_hist__record(t->h, v);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Log-uniform between 1 ns and about 2^40 ns. */
static uint64_t rnd_latency(void)
{
	unsigned e = (unsigned)(rnd() % 40);

	return (1ull << e) + rnd() % (1ull << e);
}

/* ---- HTTP client ---- */

struct reply {
	int status;
	char *head; /* status line and headers */
	char *body;
	size_t body_len;
};

static void reply_free(struct reply *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int http(int port, const char *method, const char *path, struct reply *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[256], *buf = NULL, *sep;
	size_t len = 0, cap = 0;
	int fd, n;

	memset(r, 0, sizeof(*r));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
		     path, strcmp(method, "POST") ? "" : "Content-Length: 3\r\n\r\nabc");
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t got;

		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			buf = realloc(buf, cap);
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	buf[len] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
		free(buf);
		return -1;
	}
	r->head = strndup(buf, (size_t)(sep - buf + 2));
	r->body_len = len - (size_t)(sep + 4 - buf);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, sep + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
	return 0;
}

static char *scrape(int port)
{
	struct reply r;

	if (http(port, "GET", "/metrics", &r) || r.status != 200) {
		reply_free(&r);
		return strdup("");
	}
	free(r.head);
	return r.body;
}

/* ---- the sink ---- */

static struct sink *new_sink(const char *listen, uint32_t max_series, char *err, size_t errlen)
{
	struct cfg_prometheus c = { .enabled = true, .max_series = max_series };

	snprintf(c.listen, sizeof(c.listen), "%s", listen);
	return out_prometheus__new(&c, err, errlen);
}

static char *status_of(struct sink *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	s->ops->status(s, f);
	fclose(f);
	return buf;
}

/* The port from "listening on 127.0.0.1:PORT," / "[::1]:PORT,". */
static int port_of(struct sink *s)
{
	char *st = status_of(s), *p = strstr(st, "listening on ");
	int port = -1;

	if (p && (p = strchr(p + 13, ',')))
		while (p > st && p[-1] >= '0' && p[-1] <= '9')
			p--;
	if (p)
		port = atoi(p);
	free(st);
	return port;
}

static void snap(struct sink *s, struct tclass **tc, size_t n, struct live_snapshot *sn)
{
	static const struct live_class *cls[512];

	for (size_t i = 0; i < n; i++)
		cls[i] = &tc[i]->lc;
	sn->nr = n;
	sn->c = cls;
	sn->tick_seq++;
	s->ops->snapshot(s, sn);
}

/* ---- reading the body ---- */

/* The value of the sample line whose name and labels are exactly sel
 * ("name{a=\"b\"}" or "name"); -1 when absent, -2 when present twice. */
static double sample(const char *body, const char *sel)
{
	size_t l = strlen(sel);
	double v = -1;
	int seen = 0;

	for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, sel, l) && p[l] == ' ') {
			v = strtod(p + l + 1, NULL);
			seen++;
		}
	}
	return seen > 1 ? -2 : v;
}

/* "0.000001023" -> 1023 (exactly, no floating point). */
static uint64_t s_to_ns(const char *s)
{
	uint64_t sec = 0, frac = 0;
	int digits = 0;

	while (*s >= '0' && *s <= '9')
		sec = sec * 10 + (uint64_t)(*s++ - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && digits < 9; s++, digits++)
			frac = frac * 10 + (uint64_t)(*s - '0');
	while (digits++ < 9)
		frac *= 10;
	return sec * 1000000000ull + frac;
}

/* Every bucket line of the series `labels` (without le) against the
 * recorded values: count of v <= le (in integer ns).  Returns the number
 * of le lines checked, or -1 on the first mismatch. */
static int check_buckets(const char *body, const char *trk, const char *labels,
			 const uint64_t *v, size_t n, const char *what)
{
	char pre[512];
	int checked = 0;
	size_t pl;

	snprintf(pre, sizeof(pre), "latrack_%s_latency_seconds_bucket{%s,le=\"", trk, labels);
	pl = strlen(pre);
	for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *q;
		uint64_t want = 0, got, le_ns;

		if (strncmp(p, pre, pl))
			continue;
		q = p + pl;
		if (!strncmp(q, "+Inf\"", 5)) {
			want = n;
		} else {
			le_ns = s_to_ns(q);
			for (size_t i = 0; i < n; i++)
				want += v[i] <= le_ns;
		}
		q = strchr(q, '}');
		got = strtoull(q + 2, NULL, 10);
		if (got != want) {
			tap_diag("%s: %.*s: got %" PRIu64 ", want %" PRIu64, what,
				 (int)(strchr(p, ' ') - p), p, got, want);
			return -1;
		}
		checked++;
	}
	return checked;
}

static void expect_line(const char *body, const char *sel, double want, const char *what)
{
	double got = sample(body, sel);

	if (!ok(got == want, "%s", what))
		tap_diag("  %s: got %.17g, want %.17g", sel, got, want);
}

/* The exact decimal seconds of a ns sum, as the exporter must print it. */
static const char *sum_s(const uint64_t *v, size_t n, char *buf, size_t len)
{
	uint64_t s = 0;
	char *e;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, s / 1000000000u, s % 1000000000u);
	e = buf + strlen(buf) - 1;
	while (*e == '0')
		*e-- = '\0';
	if (*e == '.')
		*e = '\0';
	return buf;
}

static int promtool_check(const char *body, char *out, size_t outlen)
{
	char path[] = "/tmp/prom_render.XXXXXX", cmd[256];
	int fd = mkstemp(path), rc;
	size_t len = strlen(body);
	FILE *f;

	if (fd < 0 || write(fd, body, len) != (ssize_t)len)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	f = popen(cmd, "r");
	out[0] = '\0';
	if (f) {
		size_t n = fread(out, 1, outlen - 1, f);

		out[n] = '\0';
		rc = pclose(f);
	} else {
		rc = -1;
	}
	unlink(path);
	return rc;
}

/* The listening sockets of /proc/net/tcp{,6} on port: their local
 * address in hex; 0 when found. */
static int proc_listen_addr(const char *file, int port, char *addr, size_t len)
{
	FILE *f = fopen(file, "r");
	char line[512];
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char a[64];
		unsigned p, st;

		if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %x", a, &p, &st) == 3 && (int)p == port &&
		    st == 0x0a) {
			snprintf(addr, len, "%s", a);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* ---- the tests ---- */

static void test_listen(void)
{
	static const char *const bad[] = { "nohostport", "127.0.0.1", ":9464", "127.0.0.1:70000",
					   "127.0.0.1:-1", "127.0.0.1:", "[::1]9464", "::1:9464",
					   "[::1:9464", "no.such.host.invalid:9464" };
	char err[256], addr[64];
	struct sink *s, *s2;
	int port;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = new_sink(bad[i], 0, err, sizeof(err));
		ok(!s && !strncmp(err, "prometheus: ", 12), "listen '%s' refused: %s", bad[i], err);
		if (s)
			s->ops->destroy(s);
	}
	s = new_sink("127.0.0.1:0", 0, err, sizeof(err));
	ok(s, "listen 127.0.0.1:0 %s", s ? "" : err);
	if (!s)
		return;
	port = port_of(s);
	ok(port > 0, "status names the port the kernel picked (%d)", port);
	ok(!proc_listen_addr("/proc/net/tcp", port, addr, sizeof(addr)) && !strcmp(addr, "0100007F"),
	   "bound to 127.0.0.1 only (/proc/net/tcp: %s)", addr);
	{
		char spec[64];

		snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
		s2 = new_sink(spec, 0, err, sizeof(err));
		ok(!s2 && strstr(err, "cannot listen on") && strstr(err, "Address already in use"),
		   "a port in use: %s", err);
		if (s2)
			s2->ops->destroy(s2);
	}
	s->ops->destroy(s);

	s = new_sink("[::1]:0", 0, err, sizeof(err));
	ok(s, "listen [::1]:0 %s", s ? "" : err);
	if (s) {
		char *st = status_of(s);

		port = port_of(s);
		ok(strstr(st, "listening on [::1]:"), "status: %.*s", (int)strcspn(st, "\n"), st);
		ok(!proc_listen_addr("/proc/net/tcp6", port, addr, sizeof(addr)) &&
			   !strcmp(addr, "00000000000000000000000001000000"),
		   "bound to ::1 only (/proc/net/tcp6: %s)", addr);
		free(st);
		s->ops->destroy(s);
	}
}

static void test_http(struct sink *s, int port)
{
	struct reply r;
	int rc;

	ok(!http(port, "GET", "/metrics", &r) && r.status == 200 &&
		   !strcmp(r.body, "# latrack: no snapshot yet\n"),
	   "before the first tick: 200 and a comment");
	ok(r.head && strstr(r.head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
	   "Content-Type: text/plain; version=0.0.4; charset=utf-8");
	reply_free(&r);
	rc = http(port, "GET", "/", &r);
	ok(!rc && r.status == 404, "GET / is 404 (%d)", r.status);
	reply_free(&r);
	ok(!http(port, "GET", "/metricsx", &r) && r.status == 404, "GET /metricsx is 404");
	reply_free(&r);
	rc = http(port, "POST", "/metrics", &r);
	ok(!rc && r.status == 405 && strstr(r.head, "\r\nAllow: GET, HEAD"),
	   "POST /metrics is 405 with Allow (%d)", r.status);
	reply_free(&r);
	ok(!http(port, "DELETE", "/metrics", &r) && r.status == 405, "DELETE /metrics is 405");
	reply_free(&r);
	ok(!http(port, "HEAD", "/metrics", &r) && r.status == 200 && r.body_len == 0,
	   "HEAD /metrics is 200 without a body");
	reply_free(&r);
	ok(!http(port, "GET", "/metrics?x=1", &r) && r.status == 200, "a query string is ignored");
	reply_free(&r);
	(void)s;
}

/* The boundary values around the default le edges, plus random ones. */
static void fill(struct tclass *t, int nrand)
{
	static const uint64_t edge[] = { 0, 1, 1022, 1023, 1024, 1025, 2047, 2048, (1ull << 20) - 1,
					 1ull << 20, (1ull << 20) + 1, (1ull << 34) - 1, 1ull << 34,
					 1ull << 40, 1ull << 42, (1ull << 43) + 7, 5000000000ull };

	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		tc_add(t, edge[i]);
	for (int i = 0; i < nrand; i++)
		tc_add(t, rnd_latency());
}

static void test_render(void)
{
	static struct tclass read_c, nasty_c, utf8_c, blk_c, irq_c;
	struct tclass *all[] = { &read_c, &nasty_c, &utf8_c, &blk_c, &irq_c };
	struct live_snapshot sn = { 0 };
	char err[256], buf[64], sel[512], out[8192];
	struct sink *s = new_sink("127.0.0.1:0", 0, err, sizeof(err));
	int port, n, rc;
	char *body, *st;

	if (!ok(s, "sink on 127.0.0.1:0 %s", s ? "" : err))
		return;
	port = port_of(s);
	test_http(s, port);

	tc_init(&read_c, LT_TRK_SYSCALL, "syscall", "syscall", "read", "comm", "mysqld");
	/* a comm with a quote, a backslash, a newline and an invalid byte */
	tc_init(&nasty_c, LT_TRK_SYSCALL, "syscall", "syscall", "read", "comm", "a\"b\\c\nd\xff");
	tc_init(&utf8_c, LT_TRK_SYSCALL, "syscall", "syscall", "write", "comm", "caf\xc3\xa9\xe2\x82");
	tc_init(&blk_c, LT_TRK_BLOCK, "block", "op", "R queue", "disk", "sda");
	tc_init(&irq_c, LT_TRK_IRQ, "irq", "irq", "irq19", "", "ignored");
	fill(&read_c, 2000);
	fill(&nasty_c, 50);
	tc_add(&utf8_c, 1500);
	fill(&blk_c, 300);
	fill(&irq_c, 10);
	read_c.lc.outliers = 7;
	nasty_c.lc.stuck = 2;
	sn.on[LT_TRK_SYSCALL] = sn.loaded[LT_TRK_SYSCALL] = true;
	sn.loaded[LT_TRK_NET] = true;
	sn.thresh_ns[LT_TRK_SYSCALL] = 10000000;
	sn.thresh_ns[LT_TRK_WAKEUP] = 1500;
	sn.timeout_ns[LT_TRK_SYSCALL] = 1000000000;
	sn.outliers[LT_TRK_SYSCALL] = 9;
	sn.stuck[LT_TRK_SYSCALL] = 3;
	sn.changes[LT_TRK_SYSCALL] = 1;
	for (int i = 0; i < LT_NR_DROPS; i++)
		sn.drops[i] = 100 + (uint64_t)i;
	sn.classes_folded = 42;
	sn.window_refused = 5;

	/* a change record: p99 of read in mysqld rose, p50 fell */
	{
		struct lt_change chg = { .nr_quantiles = 2, .moved = 3, .decided = 1 };
		struct live_record r = { .type = LIVE_CHANGE, .trk = LT_TRK_SYSCALL, .chg = &chg,
					 .cls = &read_c.lc };

		chg.q[0] = (struct lt_change_q){ .pct = 99, .dir = LT_CHANGE_ROSE, .testable = 1 };
		chg.q[1] = (struct lt_change_q){ .pct = 50, .dir = LT_CHANGE_FELL, .testable = 1 };
		s->ops->record(s, &r);
		s->ops->record(s, &r);
		chg.moved = 1;
		s->ops->record(s, &r);
	}

	snap(s, all, 5, &sn);
	body = scrape(port);

	n = check_buckets(body, "syscall", "syscall=\"read\",comm=\"mysqld\"", read_c.v, read_c.n,
			  "read/mysqld");
	ok(n == 26, "read/mysqld: 25 le buckets and +Inf, each = count of recorded values <= le (%d)", n);
	ok(strstr(body, "latrack_syscall_latency_seconds_bucket{syscall=\"read\",comm=\"mysqld\",le=\"0.000001023\"} ") &&
		   strstr(body, "le=\"0.001048575\"} ") && strstr(body, "le=\"17.179869183\"} "),
	   "le printed as exact seconds of 2^k - 1 ns (0.000001023 .. 17.179869183)");
	snprintf(sel, sizeof(sel), "latrack_syscall_latency_seconds_count{syscall=\"read\",comm=\"mysqld\"}");
	expect_line(body, sel, (double)read_c.n, "read/mysqld: _count");
	snprintf(sel, sizeof(sel), "latrack_syscall_latency_seconds_sum{syscall=\"read\",comm=\"mysqld\"} %s\n",
		 sum_s(read_c.v, read_c.n, buf, sizeof(buf)));
	ok(strstr(body, sel), "read/mysqld: _sum exact in seconds (%s)", buf);

	/* escaping: " -> \", \ -> \x5c -> \\x5c, \n -> \x0a -> \\x0a, 0xff -> \\xff */
	{
		const char *lab = "syscall=\"read\",comm=\"a\\\"b\\\\x5cc\\\\x0ad\\\\xff\"";

		n = check_buckets(body, "syscall", lab, nasty_c.v, nasty_c.n, "nasty comm");
		ok(n == 26, "comm a\"b\\\\c\\nd\\xff: escaped as %s, buckets exact (%d)", lab, n);
		snprintf(sel, sizeof(sel), "latrack_syscall_stuck_total{%s}", lab);
		expect_line(body, sel, 2, "nasty comm: stuck_total");
	}
	ok(strstr(body, "{syscall=\"write\",comm=\"caf\xc3\xa9\\\\xe2\\\\x82\",le=\"0.000002047\"} 1\n"),
	   "valid UTF-8 kept, a truncated sequence escaped byte by byte");
	n = check_buckets(body, "block", "op=\"R queue\",disk=\"sda\"", blk_c.v, blk_c.n, "block");
	ok(n == 26, "block R queue/sda: buckets exact (%d)", n);
	n = check_buckets(body, "irq", "irq=\"irq19\"", irq_c.v, irq_c.n, "irq");
	ok(n == 26, "irq19 (no ent label): buckets exact (%d)", n);
	ok(!strstr(body, "ignored"), "no ent label: ent not shown");

	expect_line(body, "latrack_syscall_outliers_total{syscall=\"read\",comm=\"mysqld\"}", 7,
		    "per-class outliers_total");
	expect_line(body, "latrack_syscall_changes_total{syscall=\"read\",comm=\"mysqld\",percentile=\"99\",direction=\"rose\"}",
		    3, "change counter: p99 rose 3 times");
	expect_line(body, "latrack_syscall_changes_total{syscall=\"read\",comm=\"mysqld\",percentile=\"50\",direction=\"fell\"}",
		    2, "change counter: p50 fell 2 times");
	expect_line(body, "latrack_outliers_total{tracker=\"syscall\"}", 9, "outliers_total per tracker");
	expect_line(body, "latrack_stuck_total{tracker=\"syscall\"}", 3, "stuck_total per tracker");
	expect_line(body, "latrack_changes_total{tracker=\"syscall\"}", 1, "changes_total per tracker");
	expect_line(body, "latrack_tracker_enabled{tracker=\"syscall\"}", 1, "tracker_enabled syscall 1");
	expect_line(body, "latrack_tracker_enabled{tracker=\"net\"}", 0, "tracker_enabled net 0");
	expect_line(body, "latrack_tracker_loaded{tracker=\"net\"}", 1, "tracker_loaded net 1");
	ok(strstr(body, "latrack_tracker_threshold_seconds{tracker=\"syscall\"} 0.01\n") &&
		   strstr(body, "latrack_tracker_threshold_seconds{tracker=\"wakeup\"} 0.0000015\n"),
	   "threshold_seconds exact (0.01, 0.0000015)");
	expect_line(body, "latrack_tracker_timeout_seconds{tracker=\"syscall\"}", 1, "timeout_seconds");
	{
		static const char *const trk[] = { "syscall", "wakeup", "offcpu", "block", "irq", "net" };
		static const char *const why[] = { "ringbuf", "inflight_full", "hist_full", "stack" };
		int good = 0;

		for (int t = 0; t < LT_TRK_MAX; t++)
			for (int k = 0; k < LT_DROP_MAX; k++) {
				snprintf(sel, sizeof(sel),
					 "latrack_lost_events_total{tracker=\"%s\",reason=\"%s\"}", trk[t],
					 why[k]);
				good += sample(body, sel) == 100 + t * LT_DROP_MAX + k;
			}
		ok(good == LT_NR_DROPS, "every kernel loss counter (%d of %d)", good, LT_NR_DROPS);
	}
	expect_line(body, "latrack_classes_folded_total", 42, "classes_folded_total");
	expect_line(body, "latrack_window_refused_total", 5, "window_refused_total");
	expect_line(body, "latrack_series_folded_total{tracker=\"syscall\"}", 0, "series_folded_total 0");
	ok(strstr(body, "# TYPE latrack_syscall_latency_seconds histogram\n") &&
		   strstr(body, "# HELP latrack_syscall_latency_seconds ") &&
		   strstr(body, "# TYPE latrack_lost_events_total counter\n") &&
		   strstr(body, "# TYPE latrack_tracker_threshold_seconds gauge\n"),
	   "HELP and TYPE lines");
	ok(!strstr(body, "latrack_wakeup_latency_seconds"), "no family for a tracker without classes");

	rc = promtool_check(body, out, sizeof(out));
	if (!ok(rc == 0, "promtool check metrics accepts the body"))
		tap_diag("%s", out);
	free(body);

	/* second tick: more values; the body follows */
	for (int i = 0; i < 100; i++)
		tc_add(&read_c, rnd_latency());
	snap(s, all, 5, &sn);
	body = scrape(port);
	n = check_buckets(body, "syscall", "syscall=\"read\",comm=\"mysqld\"", read_c.v, read_c.n,
			  "read/mysqld tick 2");
	ok(n == 26, "tick 2: buckets follow the histogram (%d)", n);
	free(body);

	st = status_of(s);
	{
		char want[128];

		snprintf(want, sizeof(want), "prometheus: listening on 127.0.0.1:%d, ", port);
		ok(!strncmp(st, want, strlen(want)) && strstr(st, " scrapes, 5 series, 0 folded, errors 0"),
		   "status: %.*s", (int)strcspn(st, "\n"), st);
	}
	free(st);
	s->ops->destroy(s);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		lt_hist__destroy(all[i]->h);
}

static void test_fold(void)
{
	static struct tclass c[7];
	struct tclass *all[7];
	struct live_snapshot sn = { 0 };
	char err[256], sel[256], out[8192];
	struct sink *s = new_sink("127.0.0.1:0", 3, err, sizeof(err));
	uint64_t *other = calloc(3 * MAXV, sizeof(*other));
	size_t no = 0;
	int port, n, rc;
	char *body, *st;

	if (!ok(s, "sink with max_series 3 %s", s ? "" : err))
		return;
	port = port_of(s);
	for (int i = 0; i < 7; i++) {
		char sub[8];

		snprintf(sub, sizeof(sub), "%c", 'b' + i);
		tc_init(&c[i], LT_TRK_SYSCALL, "syscall", "syscall", sub, "comm", "x");
		for (int j = 0; j <= 40 * i + 5; j++)
			tc_add(&c[i], rnd_latency());
		all[i] = &c[i];
	}
	/* tick 1: five classes b..f; b, c, d admitted, e and f folded */
	snap(s, all, 5, &sn);
	body = scrape(port);
	for (int i = 0; i < 3; i++) {
		snprintf(sel, sizeof(sel), "syscall=\"%s\",comm=\"x\"", c[i].lc.sub);
		n = check_buckets(body, "syscall", sel, c[i].v, c[i].n, sel);
		ok(n == 26, "class %s admitted, buckets exact", c[i].lc.sub);
	}
	for (int i = 3; i < 5; i++) {
		snprintf(sel, sizeof(sel), "latrack_syscall_latency_seconds_count{syscall=\"%s\",comm=\"x\"}",
			 c[i].lc.sub);
		ok(sample(body, sel) == -1, "class %s not a series of its own", c[i].lc.sub);
		memcpy(other + no, c[i].v, c[i].n * sizeof(*other));
		no += c[i].n;
	}
	n = check_buckets(body, "syscall", "syscall=\"other\",comm=\"other\"", other, no, "other");
	ok(n == 26, "other = e + f, buckets exact (%d)", n);
	expect_line(body, "latrack_series_folded_total{tracker=\"syscall\"}", 2, "2 folds counted");
	{
		int series = 0;

		for (const char *p = body; (p = strstr(p, "latrack_syscall_latency_seconds_count{")); p++)
			series++;
		ok(series == 4, "3 series + other (%d)", series);
	}
	rc = promtool_check(body, out, sizeof(out));
	if (!ok(rc == 0, "promtool check metrics accepts the folded body"))
		tap_diag("%s", out);
	free(body);

	/* tick 2: a class "a" that sorts first arrives, and g; b..d stay
	 * admitted (sticky), a and g fold; e has more values */
	{
		static struct tclass a;
		struct tclass *order[7];

		tc_init(&a, LT_TRK_SYSCALL, "syscall", "syscall", "a", "comm", "x");
		for (int j = 0; j < 33; j++)
			tc_add(&a, rnd_latency());
		for (int j = 0; j < 17; j++)
			tc_add(&c[3], rnd_latency());
		order[0] = &a;
		for (int i = 0; i < 6; i++)
			order[i + 1] = &c[i];
		snap(s, order, 7, &sn);
		body = scrape(port);
		no = 0;
		memcpy(other + no, a.v, a.n * sizeof(*other));
		no += a.n;
		for (int i = 3; i < 6; i++) {
			memcpy(other + no, c[i].v, c[i].n * sizeof(*other));
			no += c[i].n;
		}
		for (int i = 0; i < 3; i++) {
			snprintf(sel, sizeof(sel), "syscall=\"%s\",comm=\"x\"", c[i].lc.sub);
			n = check_buckets(body, "syscall", sel, c[i].v, c[i].n, sel);
			ok(n == 26, "tick 2: class %s still admitted", c[i].lc.sub);
		}
		n = check_buckets(body, "syscall", "syscall=\"other\",comm=\"other\"", other, no, "other 2");
		ok(n == 26, "tick 2: other = a + e + f + g, buckets exact (%d)", n);
		expect_line(body, "latrack_series_folded_total{tracker=\"syscall\"}", 4,
			    "4 folds counted (each label set once)");
		free(body);
		lt_hist__destroy(a.h);
	}
	st = status_of(s);
	ok(strstr(st, ", 4 series, 4 folded, errors 0"), "status: %.*s", (int)strcspn(st, "\n"), st);
	free(st);
	s->ops->destroy(s);
	for (int i = 0; i < 7; i++)
		lt_hist__destroy(c[i].h);
	free(other);
}

/* ---- serve mode (tests/prom_load.t) ---- */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int serve(void)
{
	enum { NC = 300 };
	static struct tclass c[NC];
	struct tclass *all[NC];
	struct live_snapshot sn = { 0 };
	char err[256];
	struct sink *s = new_sink("127.0.0.1:0", 60, err, sizeof(err));
	struct timespec ts = { 0, 100000000 };
	static const char *const trk[] = { "syscall", "wakeup", "offcpu" };
	static const char *const sl[] = { "syscall", "cpu", "state" };

	if (!s) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	for (int i = 0; i < NC; i++) {
		char sub[16], ent[16];

		snprintf(sub, sizeof(sub), "s%03d", i % 150);
		snprintf(ent, sizeof(ent), "comm\"%d\xff", i);
		tc_init(&c[i], (enum lt_trk)(i / 100), trk[i / 100], sl[i / 100], sub, "comm", ent);
		all[i] = &c[i];
	}
	for (int i = 0; i < NC; i++)
		lt_hist__record(c[i].h, rnd_latency());
	snap(s, all, NC, &sn); /* the first body before the port is known */
	printf("port %d\n", port_of(s));
	fflush(stdout);
	while (!stop) {
		for (int i = 0; i < NC; i++)
			for (int j = 0; j < 20; j++)
				lt_hist__record(c[i].h, rnd_latency());
		snap(s, all, NC, &sn);
		nanosleep(&ts, NULL);
	}
	{
		char *st = status_of(s);

		fputs(st, stdout);
		free(st);
	}
	s->ops->destroy(s);
	for (int i = 0; i < NC; i++)
		lt_hist__destroy(c[i].h);
	return 0;
}

int main(int argc, char **argv)
{
	char out[4096];

	if (argc > 1 && !strcmp(argv[1], "serve"))
		return serve();
	signal(SIGPIPE, SIG_IGN);
	if (system("command -v promtool >/dev/null 2>&1")) {
		ok(0, "promtool not found (Debian package prometheus)");
		return tap_done();
	}
	ok(promtool_check("# HELP x_total y\n# TYPE x_total counter\nx_total 1\n", out, sizeof(out)) == 0,
	   "promtool check metrics runs");
	test_listen();
	test_render();
	test_fold();
	return tap_done();
}
