/* The Graphite and JSON outputs (src/out_graphite.c, src/out_json.c) fed
 * with synthetic snapshots and records, no BPF needed.
 *
 * Graphite: a TCP listener on loopback in this program plays carbon.  The
 * lines must be exactly "PREFIX.tracker.sub.ent.metric value timestamp":
 * counts and max exact, percentiles within 1/64 (1.56 %, the bucket error
 * of include/latrack/hist.h) of the nearest-rank percentile computed here
 * from the samples recorded.  Also: sanitised names, the interval
 * accumulating several ticks, change records, idle series expiring, the
 * queue while the listener is down with drops counted (oldest first),
 * the back-off (1 s doubling to 60 s, driven by the synthetic clock the
 * sink is given), and the reconnection when the listener comes back.
 *
 * JSON: rotation by size (every line valid JSON per python3's json module,
 * none lost or split, files PATH, PATH.1 .. PATH.keep and nothing beyond),
 * write errors counted (/dev/full), a deleted file recreated. */
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "out_stats.h"
#include "outputs.h"
#include "tap.h"

#define NS    1000000000ULL
#define WALL0 (1700000000ULL * NS) /* a multiple of 10 s */

static uint64_t mono = 1000 * NS; /* synthetic CLOCK_MONOTONIC given to the sink */

/* ---- a loopback "carbon" ---- */

static int lfd = -1, cfd = -1;
static uint16_t port;
static char rbuf[1 << 20];
static size_t rlen;

static void listen_on(uint16_t p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(p) };
	socklen_t al = sizeof(a);
	int one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 8)) {
		perror("bind/listen");
		exit(2);
	}
	getsockname(lfd, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
}

static void msleep(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* Poll the sink until the listener has a connection (up to 3 s). */
static bool accept_conn(struct sink *s)
{
	for (int i = 0; i < 300; i++) {
		s->ops->poll(s, mono);
		cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (cfd >= 0) {
			s->ops->poll(s, mono);
			return true;
		}
		msleep(10);
	}
	return false;
}

/* Lines received, NUL-separated in rbuf; polls the sink meanwhile. */
static int nlines;
static char *lines[4096];

static void take_lines(void)
{
	char *p = rbuf, *nl;

	while ((nl = memchr(p, '\n', rbuf + rlen - p))) {
		*nl = '\0';
		if (nlines < 4096)
			lines[nlines++] = strdup(p);
		p = nl + 1;
	}
	rlen -= (size_t)(p - rbuf);
	memmove(rbuf, p, rlen);
}

static void clear_lines(void)
{
	for (int i = 0; i < nlines; i++)
		free(lines[i]);
	nlines = 0;
}

/* Read until want lines came and 100 ms pass without more (or 3 s). */
static int recv_lines(struct sink *s, int want)
{
	int quiet = 0;

	for (int i = 0; i < 300 && quiet < 10; i++) {
		ssize_t r;

		if (s)
			s->ops->poll(s, mono);
		r = cfd >= 0 ? recv(cfd, rbuf + rlen, sizeof(rbuf) - rlen - 1, MSG_DONTWAIT) : -1;
		if (r > 0) {
			rlen += (size_t)r;
			take_lines();
			quiet = 0;
			continue;
		}
		if (nlines >= want)
			quiet++;
		msleep(10);
	}
	return nlines;
}

/* The value of the line for path, with its timestamp; NULL if absent. */
static const char *find(const char *path, unsigned long long *ts)
{
	size_t pl = strlen(path);

	for (int i = 0; i < nlines; i++)
		if (!strncmp(lines[i], path, pl) && lines[i][pl] == ' ') {
			const char *v = lines[i] + pl + 1;
			const char *sp = strchr(v, ' ');

			if (ts)
				*ts = sp ? strtoull(sp + 1, NULL, 10) : 0;
			return v;
		}
	return NULL;
}

static int count_prefix(const char *prefix)
{
	int n = 0;

	for (int i = 0; i < nlines; i++)
		n += !strncmp(lines[i], prefix, strlen(prefix));
	return n;
}

/* ---- synthetic classes ---- */

struct tclass {
	struct live_class c;
	struct lt_hist *cum, *last;
};

static struct tclass *mkclass(const char *tracker, const char *sub, const char *ent)
{
	struct tclass *t = calloc(1, sizeof(*t));

	t->cum = lt_hist__new();
	t->last = lt_hist__new();
	t->c.tracker = tracker;
	t->c.sub_label = "syscall";
	snprintf(t->c.sub, sizeof(t->c.sub), "%s", sub);
	t->c.ent_label = "comm";
	snprintf(t->c.ent, sizeof(t->c.ent), "%s", ent);
	t->c.cum = t->cum;
	t->c.last = t->last;
	return t;
}

static void freeclass(struct tclass *t)
{
	lt_hist__destroy(t->cum);
	lt_hist__destroy(t->last);
	free(t);
}

static struct live_snapshot sn;
static const struct live_class *cls[8];

/* One tick at wall time w with the given classes. */
static void tick(struct sink *s, uint64_t w, struct tclass **tc, int n)
{
	sn.mono_ns = mono;
	sn.wall_ns = w;
	sn.tick_ns = NS;
	sn.tick_seq++;
	sn.nr = (size_t)n;
	for (int i = 0; i < n; i++)
		cls[i] = &tc[i]->c;
	sn.c = cls;
	s->ops->snapshot(s, &sn);
	s->ops->poll(s, mono);
	for (int i = 0; i < n; i++)
		lt_hist__reset(tc[i]->last);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank, as hist.h defines the percentile. */
static uint64_t rank_pct(const uint64_t *sorted, size_t n, double p)
{
	size_t r = (size_t)ceil(p / 100.0 * (double)n);

	if (r < 1)
		r = 1;
	return sorted[r - 1];
}

static bool near_us(const char *v, uint64_t want_ns)
{
	double got_ns = v ? atof(v) * 1000.0 : -1;

	return v && fabs(got_ns - (double)want_ns) <= (double)want_ns / 64.0 + 0.5;
}

/* Poll at synthetic time t; while a connect is under way, poll again at
 * the same t (up to 2 s of real time), so that the outcome does not depend
 * on how fast the kernel answers. */
static void poll_settle(struct sink *s, uint64_t t)
{
	struct out_graphite_stats st;

	for (int i = 0; i < 200; i++) {
		s->ops->poll(s, t);
		out_graphite__stats(s, &st);
		if (!st.connecting)
			return;
		msleep(10);
	}
}

static void status_of(struct sink *s, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");

	s->ops->status(s, f);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static struct sink *new_graphite(uint16_t p, uint64_t interval_s, uint32_t queue)
{
	struct cfg_graphite c = { .enabled = true, .host = "127.0.0.1", .port = p,
				  .prefix = "test..host.", .interval_ns = interval_s * NS,
				  .queue = queue };
	char err[256] = "";
	struct sink *s = out_graphite__new(&c, err, sizeof(err));

	if (!s)
		tap_diag("out_graphite__new: %s", err);
	return s;
}

static void test_graphite(void)
{
	struct out_graphite_stats st;
	char status[1024];
	unsigned long long ts;
	const char *v;

	listen_on(0);
	/* "test..host." -> "test.host": empty levels and the trailing dot go */
	struct sink *s = new_graphite(port, 1, 40);

	ok(s, "graphite sink built");
	if (!s)
		return;
	ok(accept_conn(s), "connects to the listener");
	out_graphite__stats(s, &st);
	ok(st.connected && st.connects == 1, "connected, once");

	/* Tick 1 (W0 + 0.5 s): class A 1000 samples 1..1000 us and 3 of 5 s;
	 * class B with a nasty comm; class C no samples. */
	struct tclass *A = mkclass("syscall", "read", "mysqld");
	struct tclass *B = mkclass("wakeup", "R queue", "a.b c\nd\"\xc3\xa9/");
	struct tclass *C = mkclass("syscall", "write", "idle");
	struct tclass *tc[] = { A, B, C };
	uint64_t samples[1003];
	size_t ns = 0;

	for (uint64_t i = 1; i <= 1000; i++) {
		/* spread inside buckets: not only round numbers */
		uint64_t x = i * 1000 + (i * 7919) % 997;

		lt_hist__record(A->last, x);
		samples[ns++] = x;
	}
	for (int i = 0; i < 3; i++) {
		lt_hist__record(A->last, 5 * NS);
		samples[ns++] = 5 * NS;
	}
	qsort(samples, ns, sizeof(samples[0]), cmp_u64);
	lt_hist__record_n(B->last, 250000, 4);
	sn.loaded[LT_TRK_SYSCALL] = true;
	sn.outliers[LT_TRK_SYSCALL] = 3;
	sn.drops[LT_TRK_SYSCALL * LT_DROP_MAX + LT_DROP_RINGBUF] = 7;

	tick(s, WALL0 + NS / 2, tc, 3);
	recv_lines(s, 0);
	is_u64(nlines, 0, "nothing pushed before the first interval ends");
	/* Tick 2 (W0 + 1.5 s): no samples; the interval [W0, W0+1) closes. */
	mono += NS;
	tick(s, WALL0 + 3 * NS / 2, tc, 3);
	recv_lines(s, 12 + 7 + 3 + 6);
	for (int i = 0; i < nlines; i++)
		tap_diag("  %s", lines[i]);
	unsigned long long t1 = WALL0 / NS + 1;

	v = find("test.host.syscall.read.mysqld.count", &ts);
	ok(v && !strcmp(v, "1003 1700000001"), "count line exact (%s)", v ? v : "missing");
	is_u64(ts, t1, "timestamp: the interval's end, on the interval grid");
	static const struct {
		const char *m;
		double p;
	} q[] = { { "p50_us", 50 }, { "p90_us", 90 }, { "p99_us", 99 }, { "p999_us", 99.9 } };
	for (size_t i = 0; i < 4; i++) {
		char path[128];
		uint64_t want = rank_pct(samples, ns, q[i].p);

		snprintf(path, sizeof(path), "test.host.syscall.read.mysqld.%s", q[i].m);
		v = find(path, &ts);
		ok(near_us(v, want) && ts == t1, "%s = %s, nearest rank %.3f us within 1/64", q[i].m,
		   v ? v : "missing", (double)want / 1000);
	}
	v = find("test.host.syscall.read.mysqld.max_us", NULL);
	ok(v && !strncmp(v, "5000000.000 ", 12), "max_us exact: 5 s = 5000000.000 (%s)",
	   v ? v : "missing");
	v = find("test.host.wakeup.R_queue.a_b_c_d____.count", NULL);
	ok(v && !strncmp(v, "4 ", 2), "nasty comm sanitised: a.b c\\nd\"\\xc3\\xa9/ -> a_b_c_d____");
	v = find("test.host.wakeup.R_queue.a_b_c_d____.p99_us", NULL);
	ok(v && !strncmp(v, "250.000 ", 8), "B p99 250 us exact (one bucket, clamped to min/max)");
	is_u64(count_prefix("test.host.syscall.write."), 0, "a class without samples: no lines");
	v = find("test.host.syscall._counters.drop_ringbuf", &ts);
	ok(v && !strncmp(v, "7 ", 2) && ts == t1, "loss counter pushed");
	v = find("test.host.syscall._counters.outliers", NULL);
	ok(v && !strncmp(v, "3 ", 2), "outliers counter pushed");
	is_u64(count_prefix("test.host.wakeup._counters."), 0, "no counters for unloaded trackers");
	int bad = 0;
	for (int i = 0; i < nlines; i++) {
		char p[256], val[64];
		unsigned long long t;
		char extra;

		if (sscanf(lines[i], "%255s %63s %llu%c", p, val, &t, &extra) != 3 || t != t1)
			bad++;
		for (char *c = p; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
				bad++;
	}
	is_u64(bad, 0, "every line is 'path value ts', path in [A-Za-z0-9_.-]");
	int per_push = nlines;
	is_u64(per_push, 12 + 7 + 6, "lines per push: 6 per class with samples, 7 counters, 6 daemon");

	/* An idle interval: the series get a count of 0. */
	clear_lines();
	mono += NS;
	tick(s, WALL0 + 5 * NS / 2, tc, 3);
	recv_lines(s, 2 + 7 + 6);
	v = find("test.host.syscall.read.mysqld.count", &ts);
	ok(v && !strcmp(v, "0 1700000002"), "idle interval: count 0 (%s)", v ? v : "missing");
	is_u64(count_prefix("test.host.syscall.read.mysqld.p"), 0, "idle interval: no percentiles");

	/* Change record: p50 fell, p99 and p99.9 rose. */
	{
		struct lt_change chg = { .nr_quantiles = 4, .moved = 0xd, .decided = 1 };
		double pc[] = { 50, 90, 99, 99.9 };
		int dir[] = { -1, 0, 1, 1 };
		struct live_record r = { .type = LIVE_CHANGE, .trk = LT_TRK_SYSCALL,
					 .wall_ns = WALL0 + 2 * NS + 300000000, .json = "{}",
					 .chg = &chg, .cls = &A->c };

		for (int i = 0; i < 4; i++) {
			chg.q[i].pct = pc[i];
			chg.q[i].dir = dir[i];
		}
		clear_lines();
		s->ops->record(s, &r);
		recv_lines(s, 3);
		ok(find("test.host.syscall.read.mysqld.change_p50", &ts) &&
			   !strcmp(find("test.host.syscall.read.mysqld.change_p50", NULL), "-1 1700000002"),
		   "change_p50 -1 at the record's time");
		v = find("test.host.syscall.read.mysqld.change_p99", NULL);
		ok(v && !strcmp(v, "1 1700000002"), "change_p99 1");
		v = find("test.host.syscall.read.mysqld.change_p999", NULL);
		ok(v && !strcmp(v, "1 1700000002"), "change_p999 1");
		is_u64(nlines, 3, "only the moved quantiles");
	}

	/* Carbon goes away. */
	close(cfd);
	cfd = -1;
	close(lfd);
	lfd = -1;
	for (int i = 0; i < 300; i++) {
		s->ops->poll(s, mono);
		out_graphite__stats(s, &st);
		if (!st.connected)
			break;
		msleep(10);
	}
	ok(!st.connected, "the sink sees the connection close");
	uint64_t fail0 = st.connect_failures, sent0 = st.sent;
	/* Back-off: 1 s after the drop, then 2 s. */
	s->ops->poll(s, mono + NS / 2);
	out_graphite__stats(s, &st);
	is_u64(st.connect_failures, fail0, "no attempt before 1 s");
	poll_settle(s, mono + NS);
	out_graphite__stats(s, &st);
	is_u64(st.connect_failures, fail0 + 1, "attempt at 1 s, refused");
	s->ops->poll(s, mono + 2 * NS + NS / 2);
	out_graphite__stats(s, &st);
	is_u64(st.connect_failures, fail0 + 1, "none at 2.5 s (back-off now 2 s)");
	poll_settle(s, mono + 3 * NS);
	out_graphite__stats(s, &st);
	is_u64(st.connect_failures, fail0 + 2, "attempt at 3 s");

	/* Three pushes while down, with A and B busy: 3 x 25 lines into a
	 * queue of 40: the 35 oldest dropped. */
	uint64_t drop0 = st.dropped;
	for (int k = 3; k <= 5; k++) {
		lt_hist__record(A->last, 1000);
		lt_hist__record(B->last, 1000);
		tick(s, WALL0 + (uint64_t)k * NS + NS / 2, tc, 3);
		lt_hist__record(A->last, 1000); /* keep both busy for the next push */
		lt_hist__record(B->last, 1000);
	}
	tick(s, WALL0 + 6 * NS + NS / 2, tc, 3);
	out_graphite__stats(s, &st);
	/* pushes at W0+3 (A, B: samples of the idle tick? no: the W0+2.5 tick
	 * was empty) ... each push carries A and B: 25 lines. */
	is_u64(st.queued, 40, "queue full at its bound (40 lines)");
	is_u64(st.dropped - drop0, 4 * per_push - 40, "drops counted: %d lines pushed, 40 kept",
	       4 * per_push);
	status_of(s, status, sizeof(status));
	tap_diag("%s", status);
	ok(strstr(status, "state=down") && strstr(status, "queued=40") && strstr(status, "dropped="),
	   "status: down, queued and dropped");
	ok(strstr(status, "last_error=\"connect to 127.0.0.1:") && strstr(status, "refused"),
	   "status: last error");

	/* Carbon is back on the same port: reconnect at the next attempt
	 * (7 s after the drop) and get the 40 newest lines. */
	listen_on(port);
	s->ops->poll(s, mono + 6 * NS);
	out_graphite__stats(s, &st);
	ok(!st.connected, "not before the back-off (next attempt at 7 s)");
	mono += 7 * NS;
	clear_lines();
	ok(accept_conn(s), "reconnects when the listener is back");
	recv_lines(s, 40);
	is_u64(nlines, 40, "the queued lines arrive");
	/* oldest dropped: the last push whole, the 15 newest lines of the one before */
	unsigned long long last_ts = WALL0 / NS + 6;
	int of_last = 0, of_prev = 0, older = 0;
	for (int i = 0; i < nlines; i++) {
		unsigned long long t = strtoull(strrchr(lines[i], ' ') + 1, NULL, 10);

		of_last += t == last_ts;
		of_prev += t == last_ts - 1;
		older += t < last_ts - 1;
	}
	ok(of_last == per_push && of_prev == 40 - per_push && older == 0,
	   "oldest dropped first: %d of the last push, %d of the one before, %d older", of_last,
	   of_prev, older);
	ok(nlines && !strncmp(lines[nlines - 1], "test.host._daemon.graphite_reconnects 0 ", 40),
	   "order kept (the last line is the last one pushed)");
	out_graphite__stats(s, &st);
	is_u64(st.reconnects, 1, "reconnects counted");
	is_u64(st.sent - sent0, 40, "sent counted");
	is_u64(st.queued, 0, "queue empty");
	status_of(s, status, sizeof(status));
	tap_diag("%s", status);
	ok(strstr(status, "state=connected") && strstr(status, "reconnects=1") &&
		   strstr(status, "queued=0"),
	   "status: connected again");

	/* Idle series expire: after 10 pushes without samples, no lines. */
	for (int k = 7; k < 7 + 12; k++)
		tick(s, WALL0 + (uint64_t)k * NS + NS / 2, tc, 3);
	out_graphite__stats(s, &st);
	is_u64(st.series, 0, "idle series freed after 10 empty intervals");
	clear_lines();
	recv_lines(s, 1);
	tick(s, WALL0 + 20 * NS + NS / 2, tc, 3);
	clear_lines();
	recv_lines(s, 13);
	is_u64(count_prefix("test.host.syscall.read."), 0, "expired series: no more count 0");
	s->ops->destroy(s);
	close(cfd);
	cfd = -1;

	/* Interval of 10 s over ticks of 1 s: one push, counts added up, on
	 * the 10 s grid. */
	s = new_graphite(port, 10, 1000);
	ok(accept_conn(s), "second sink connects");
	clear_lines();
	rlen = 0;
	for (int k = 1; k <= 10; k++) {
		lt_hist__record_n(A->last, 2000000, (uint64_t)k);
		tick(s, WALL0 + 100 * NS + (uint64_t)k * NS - NS / 2, tc, 3); /* 100.5 .. 109.5 */
	}
	recv_lines(s, 0);
	is_u64(count_prefix("test.host.syscall.read.mysqld.count"), 0, "10 s interval: no push yet");
	lt_hist__record(A->last, 4000000);
	tick(s, WALL0 + 110 * NS + NS / 2, tc, 3);
	recv_lines(s, 6 + 13);
	v = find("test.host.syscall.read.mysqld.count", &ts);
	ok(v && !strncmp(v, "56 ", 3), "10 s interval: count = 1+2+...+10 + 1 = 56 (%s)",
	   v ? v : "missing");
	is_u64(ts, WALL0 / NS + 110, "10 s interval: timestamp on the 10 s grid");
	v = find("test.host.syscall.read.mysqld.max_us", NULL);
	ok(v && !strncmp(v, "4000.000 ", 9), "10 s interval: max of the interval");
	s->ops->destroy(s);
	close(cfd);
	cfd = -1;

	/* Connected, a push larger than the queue (5 lines): written as it
	 * goes, nothing dropped. */
	s = new_graphite(port, 1, 5);
	ok(accept_conn(s), "third sink (queue of 5 lines) connects");
	clear_lines();
	tick(s, WALL0 + 200 * NS + NS / 2, tc, 3);
	lt_hist__record(A->last, 1000);
	lt_hist__record(B->last, 1000);
	tick(s, WALL0 + 201 * NS + NS / 2, tc, 3);
	recv_lines(s, per_push);
	out_graphite__stats(s, &st);
	ok(nlines == per_push && st.dropped == 0,
	   "connected: a push of %d lines through a queue of 5, none dropped (got %d, dropped %llu)",
	   per_push, nlines, (unsigned long long)st.dropped);
	/* Leaving in the middle of an interval: its samples are pushed, at
	 * the interval's end. */
	tick(s, WALL0 + 202 * NS + NS / 4, tc, 3); /* push at 202 */
	recv_lines(s, per_push + 1);
	clear_lines();
	lt_hist__record_n(A->last, 3000, 7);
	tick(s, WALL0 + 202 * NS + 3 * NS / 4, tc, 3); /* same interval: no push */
	s->ops->destroy(s);
	recv_lines(NULL, 7);
	v = find("test.host.syscall.read.mysqld.count", &ts);
	ok(v && !strncmp(v, "7 ", 2) && ts == WALL0 / NS + 203,
	   "destroy pushes the interval in progress, at its end (%s)", v ? v : "missing");
	is_u64(nlines, 7, "only the class series: A's 6 lines, B's count 0");
	close(cfd);
	cfd = -1;
	close(lfd);
	lfd = -1;
	clear_lines();

	/* Back-off doubling up to 60 s, against a port nobody listens on. */
	s = new_graphite(port, 1, 10);
	{
		uint64_t t0 = mono, prev = 0, at[12];
		int n = 0;

		for (uint64_t t = t0; t < t0 + 400 * NS && n < 12; t += NS / 4) {
			poll_settle(s, t);
			out_graphite__stats(s, &st);
			if (st.connect_failures > prev) {
				at[n++] = (t - t0) / (NS / 4);
				prev = st.connect_failures;
			}
		}
		int okb = n == 12;
		uint64_t want[] = { 0, 1, 3, 7, 15, 31, 63, 123, 183, 243, 303, 363 };
		for (int i = 0; i < n; i++) {
			okb &= at[i] == want[i] * 4;
		}
		ok(okb, "attempts at 0, 1, 3, 7, 15, 31, 63 s then every 60 s");
		if (!okb)
			for (int i = 0; i < n; i++)
				tap_diag("  attempt %d at %.2f s", i, (double)at[i] / 4);
	}
	s->ops->destroy(s);

	{
		struct cfg_graphite c = { .host = "no-such-host.invalid", .port = 2003,
					  .interval_ns = NS, .queue = 10 };
		char err[256] = "";

		s = out_graphite__new(&c, err, sizeof(err));
		ok(!s && strstr(err, "graphite: cannot resolve no-such-host.invalid"),
		   "unresolvable host: error at start (%s)", err);
		c.interval_ns = NS / 2;
		snprintf(c.host, sizeof(c.host), "127.0.0.1");
		s = out_graphite__new(&c, err, sizeof(err));
		ok(!s && strstr(err, "interval"), "sub-second interval refused (%s)", err);
	}
	freeclass(A);
	freeclass(B);
	freeclass(C);
}

/* ---- JSON ---- */

static char dir[] = "/tmp/lt-json-XXXXXX";

static int file_lines(const char *path, long *first, long *last, int *nl, size_t *size, bool *ends_nl)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int bad = 0;

	*nl = 0;
	*size = 0;
	*ends_nl = true;
	if (!f)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		long seq;
		char *p = strstr(line, "{\"seq\":");

		*size += (size_t)n;
		*ends_nl = line[n - 1] == '\n';
		if (!p || sscanf(p, "{\"seq\":%ld", &seq) != 1) {
			bad++;
			continue;
		}
		if (*nl == 0)
			*first = seq;
		else if (seq != *last + 1)
			bad++;
		*last = seq;
		(*nl)++;
	}
	free(line);
	fclose(f);
	return bad;
}

static void test_json(void)
{
	struct cfg_json c = { .enabled = true, .max_bytes = 1000, .keep = 3 };
	char err[256] = "", path[256], p2[300], json[2048], status[1024];
	struct out_json_stats st;
	struct live_record r = { .type = LIVE_OUTLIER, .json = json };
	uint64_t size = 0, rot = 0, len[300];
	const int N = 300;

	static char xs[1300];

	memset(xs, 'x', sizeof(xs) - 1);
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/out.json", dir);
	snprintf(c.path, sizeof(c.path), "%s", path);
	struct sink *s = out_json__new(&c, err, sizeof(err));

	ok(s, "json sink built (%s)", err);
	if (!s)
		return;
	for (int i = 0; i < N; i++) {
		int pad = (i * 37) % 150;

		/* a nasty comm, escaped as the engine does; seq N-12 longer than max_bytes */
		snprintf(json, sizeof(json),
			 "{\"seq\":%d,\"type\":\"outlier\",\"comm\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\","
			 "\"pad\":\"%.*s\"}",
			 i, i == N - 12 ? 1200 : pad,
			 xs);
		len[i] = strlen(json) + 1;
		/* the documented rule, independently: rotate when the line
		 * would take a non-empty file past max_bytes */
		if (size > 0 && size + len[i] > c.max_bytes) {
			rot++;
			size = 0;
		}
		size += len[i];
		s->ops->record(s, &r);
		if (i == 10) {
			/* tail -f: the line is in the file as soon as record returns */
			FILE *f = fopen(path, "r");
			char buf[4096] = "";
			size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

			if (f)
				fclose(f);
			buf[n] = '\0';
			ok(n && strstr(buf, "{\"seq\":10,") && buf[n - 1] == '\n',
			   "a record is in the file when record() returns");
		}
	}
	out_json__stats(s, &st);
	is_u64(st.lines, N, "every record written");
	is_u64(st.rotations, rot, "rotations: %llu, as the rule gives", (unsigned long long)rot);
	is_u64(st.errors + st.dropped, 0, "no errors");

	/* PATH.3 .. PATH.1, PATH: consecutive seqs ending at N-1 */
	long expect_first = -1, prev_last = -1;
	int bad = 0, total = 0;
	bool all_nl = true, sizes_ok = true;
	for (int k = 3; k >= 0; k--) {
		long first = -1, last = -1;
		int nl;
		size_t sz;
		bool enl;

		if (k)
			snprintf(p2, sizeof(p2), "%s.%d", path, k);
		else
			snprintf(p2, sizeof(p2), "%s", path);
		int b = file_lines(p2, &first, &last, &nl, &sz, &enl);
		if (b < 0) {
			ok(0, "%s exists", p2);
			continue;
		}
		bad += b;
		total += nl;
		all_nl &= enl;
		if (sz > c.max_bytes && nl != 1)
			sizes_ok = false;
		if (prev_last >= 0 && first != prev_last + 1)
			bad++;
		if (expect_first < 0)
			expect_first = first;
		prev_last = last;
		tap_diag("  %s: %d lines, seq %ld..%ld, %zu bytes", p2, nl, first, last, sz);
	}
	is_u64(bad, 0, "lines consecutive within and across PATH.3, .2, .1, PATH (none lost or split)");
	is_u64(prev_last, N - 1, "the newest record is last in PATH");
	ok(all_nl && sizes_ok, "each file ends with a newline, none beyond max_bytes but a single long line");
	snprintf(p2, sizeof(p2), "%s.4", path);
	ok(access(p2, F_OK) != 0, "nothing beyond keep (no PATH.4)");
	{
		char cmd[4096];

		snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import json,sys\n"
			 "n=0\n"
			 "for f in sys.argv[1:]:\n"
			 "  for l in open(f,encoding=\"utf-8\"):\n"
			 "    o=json.loads(l); assert o[\"comm\"]==\"a\\\"b\\\\c\\n\\x01\\u00e9\"; n+=1\n"
			 "print(\"# python3 json.loads: %%d lines\" %% n)\n"
			 "sys.exit(0 if n==%d else 1)' %s.3 %s.2 %s.1 %s",
			 total, path, path, path, path);
		ok(system(cmd) == 0, "every line of every file valid JSON (python3 json.loads), comm intact");
	}

	/* Deleted by someone else: poll recreates it; the next record goes there. */
	unlink(path);
	s->ops->poll(s, 5 * NS);
	snprintf(json, sizeof(json), "{\"seq\":%d}", N);
	s->ops->record(s, &r);
	{
		long first = -1, last = -1;
		int nl;
		size_t sz;
		bool enl;

		ok(file_lines(path, &first, &last, &nl, &sz, &enl) == 0 && nl == 1 && first == N,
		   "a deleted file is recreated at the next poll");
	}
	s->ops->destroy(s);

	/* Write errors: /dev/full. */
	snprintf(c.path, sizeof(c.path), "/dev/full");
	c.max_bytes = 0;
	s = out_json__new(&c, err, sizeof(err));
	ok(s, "json sink on /dev/full");
	if (s) {
		s->ops->record(s, &r);
		s->ops->record(s, &r);
		out_json__stats(s, &st);
		ok(st.errors == 2 && st.dropped == 2 && st.lines == 0, "write errors counted, records dropped");
		status_of(s, status, sizeof(status));
		ok(strstr(status, "state=error"), "status: state=error while writes fail");
		status_of(s, status, sizeof(status));
		tap_diag("%s", status);
		ok(strstr(status, "errors=2") && strstr(status, "dropped=2") &&
			   strstr(status, "No space left on device"),
		   "status shows the errors");
		s->ops->destroy(s);
	}
	snprintf(c.path, sizeof(c.path), "%s/no/such/dir/x.json", dir);
	s = out_json__new(&c, err, sizeof(err));
	ok(!s && strstr(err, "json: open ") && strstr(err, "No such file"), "unwritable path: error at start (%s)", err);

	/* clean up */
	for (int k = 0; k <= 3; k++) {
		if (k)
			snprintf(p2, sizeof(p2), "%s.%d", path, k);
		else
			snprintf(p2, sizeof(p2), "%s", path);
		unlink(p2);
	}
	rmdir(dir);
}

/* Reads a pipe to its end: the bytes, the lines, whether the lines are
 * {"seq":N,...} with N increasing from 0 (a gap is a run of records that
 * found the queue full: the writer may free room meanwhile, so later
 * records can get in). */
struct pipe_reader {
	int fd;
	size_t bytes, lines;
	long next_seq;
	bool in_order;
	char line[256];
	size_t at;
	char first_bad[256]; /* the first line out of order, for the diagnostic */
	long bad_at;
};

static void *read_pipe(void *arg)
{
	struct pipe_reader *pr = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(pr->fd, buf, sizeof(buf))) > 0) {
		pr->bytes += (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (pr->at < sizeof(pr->line) - 1)
					pr->line[pr->at++] = buf[i];
				continue;
			}
			pr->line[pr->at] = 0;
			pr->at = 0;
			long seq = strtol(pr->line + 7, NULL, 10);

			if (strncmp(pr->line, "{\"seq\":", 7) || seq < pr->next_seq || (!pr->lines && seq)) {
				if (pr->in_order) {
					snprintf(pr->first_bad, sizeof(pr->first_bad), "%s", pr->line);
					pr->bad_at = pr->next_seq;
				}
				pr->in_order = false;
			}
			pr->next_seq = seq + 1;
			pr->lines++;
		}
	}
	return NULL;
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* stdout ("-") through a pipe nobody reads yet: records never block the
 * caller (the engine); past the queue they are dropped and counted; once
 * read, every queued line comes out whole and in order; and a stdout that
 * is never read does not keep the sink from being destroyed. */
static void test_json_stdout(void)
{
	struct cfg_json c = { .enabled = true, .path = "-" };
	char err[256] = "", json[160], pad[121];
	struct live_record r = { .type = LIVE_OUTLIER, .json = json };
	struct out_json_stats st = { 0 };
	struct pipe_reader pr = { .in_order = true };
	struct timespec t0;
	struct sink *s;
	pthread_t th;
	int p[2], saved, n = 100000; /* 100,000 lines of 146 bytes: 14.6 MB, over the 8 MiB queue */
	double took, took_destroy;

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved < 0 || pipe(p) < 0) {
		ok(0, "pipe for stdout: %s", strerror(errno));
		return;
	}
	dup2(p[1], STDOUT_FILENO);
	close(p[1]);
	s = out_json__new(&c, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; s && i < n; i++) {
		snprintf(json, sizeof(json), "{\"seq\":%08d,\"pad\":\"%s\"}", i, pad);
		s->ops->record(s, &r);
	}
	took = secs_since(&t0);
	if (s)
		out_json__stats(s, &st);
	/* now read it: what was queued comes out */
	pr.fd = p[0];
	pthread_create(&th, NULL, read_pipe, &pr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (s)
		s->ops->destroy(s);
	took_destroy = secs_since(&t0);
	dup2(saved, STDOUT_FILENO); /* closes the pipe's last write end: the reader ends */
	close(saved);
	pthread_join(th, NULL);
	close(p[0]);

	ok(s, "json sink on stdout (%s)", err);
	ok(took < 2.0, "100,000 records to a stdout nobody reads: the caller never blocks (%.3f s)", took);
	ok(st.dropped > 0 && st.dropped < (uint64_t)n, "past the queue, records dropped and counted (%" PRIu64 ")",
	   st.dropped);
	is_u64(pr.lines, (uint64_t)n - st.dropped, "once read: every record not dropped comes out");
	if (!ok(pr.in_order && pr.at == 0, "whole lines, in order (the first first), none twice"))
		tap_diag("  after %ld: '%.80s'; %zu bytes of a last line without its newline", pr.bad_at,
			 pr.first_bad, pr.at);
	ok(pr.bytes >= (6u << 20), "at least 6 MiB were queued (%zu bytes)", pr.bytes);
	ok(took_destroy < 5.0, "destroy wrote the queue out (%.2f s)", took_destroy);

	/* Never read: destroy gives up after its deadline, does not hang. */
	if (pipe(p) < 0)
		return;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(p[1], STDOUT_FILENO);
	close(p[1]);
	s = out_json__new(&c, err, sizeof(err));
	for (int i = 0; s && i < 10000; i++) {
		snprintf(json, sizeof(json), "{\"seq\":%08d,\"pad\":\"%s\"}", i, pad);
		s->ops->record(s, &r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (s)
		s->ops->destroy(s);
	took_destroy = secs_since(&t0);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[0]);
	ok(s && took_destroy >= 1.5 && took_destroy < 5.0,
	   "a stdout never read: destroy gives up after its 2 s deadline (%.2f s)", took_destroy);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	test_graphite();
	test_json();
	test_json_stdout();
	return tap_done();
}
