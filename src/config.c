/* Configuration of the latrack daemon: defaults, INI files (libinih),
 * --set overrides; validation with file:line messages; provenance.
 *
 * Every key is one row of a table (section, name, kind, offset in the
 * section's struct).  Parsing, printing and provenance all walk the same
 * table, so a key cannot be parsed but not printed, or the reverse.
 *
 * Line numbers: Debian's libinih is built without INI_HANDLER_LINENO, so
 * the handler gets no line number.  We parse through ini_parse_stream with
 * our own reader, which hands inih exactly one whole line per call and
 * counts them: while the handler runs, the count is the handler's line.
 * The reader also checks section headers, so that an unknown section is an
 * error even when it holds no key. */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <linux/types.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <latrack/hist.h>
#include <latrack/hist_layout.h>

#include "config.h"
#include "evfmt.h"

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull
#define LINE_MAX_LEN (CFG_PATH_MAX + 512)

enum kind {
	K_BOOL,
	K_DUR,      /* uint64_t ns; unit = default unit of a bare number */
	K_TIMEOUT,  /* K_DUR, non-zero only for trackers with a timeout */
	K_SIZE,     /* uint64_t bytes, K/M/G */
	K_RINGBUF,  /* uint32_t KiB from a size, power of 2, >= 4 KiB */
	K_U32,
	K_PORT,     /* uint16_t, 1..65535 */
	K_STR,
	K_COMM,     /* K_STR, at most LT_COMM_LEN - 1 bytes */
	K_LISTEN,   /* K_STR, HOST:PORT or [V6]:PORT */
	K_PREFIX,   /* K_STR, a Graphite path */
	K_BUCKETS,
};

struct key {
	const char *name;
	enum kind kind;
	size_t off;     /* in the section's struct */
	size_t size;    /* of the field (strings: buffer size) */
	uint64_t unit;  /* K_DUR, K_TIMEOUT: unit of a bare number */
	uint64_t min, max; /* K_U32, K_DUR: accepted range (max 0: none) */
};

#define F(st, fld) offsetof(struct st, fld), sizeof(((struct st *)0)->fld)

static const struct key daemon_keys[] = {
	{ "tick", K_DUR, F(cfg_daemon, tick_ns), NS_PER_S, NS_PER_MS, 3600 * NS_PER_S },
	{ "socket", K_STR, F(cfg_daemon, socket), 0, 0, 0 },
	{ "max_classes", K_U32, F(cfg_daemon, max_classes), 0, 0, 1u << 20 },
	{ "ringbuf", K_RINGBUF, F(cfg_daemon, ringbuf_kib), 0, 0, 0 },
	{ "classes", K_U32, F(cfg_daemon, classes), 0, 1, 1u << 24 },
	{ "window_memory", K_SIZE, F(cfg_daemon, window_memory), 0, 0, 0 },
	{ "change_detection", K_BOOL, F(cfg_daemon, change_detection), 0, 0, 0 },
	{ "class_idle", K_DUR, F(cfg_daemon, class_idle_ns), NS_PER_S, NS_PER_S, 24 * 3600 * NS_PER_S },
};

static const struct key tracker_keys[] = {
	{ "enabled", K_BOOL, F(cfg_tracker, enabled), 0, 0, 0 },
	{ "threshold", K_DUR, F(cfg_tracker, threshold_ns), NS_PER_MS, 0, 0 },
	{ "timeout", K_TIMEOUT, F(cfg_tracker, timeout_ns), NS_PER_S, 0, 0 },
	{ "pid", K_U32, F(cfg_tracker, pid), 0, 0, 0 },
	{ "tid", K_U32, F(cfg_tracker, tid), 0, 0, 0 },
	{ "comm", K_COMM, F(cfg_tracker, comm), 0, 0, 0 },
	{ "cgroup", K_STR, F(cfg_tracker, cgroup), 0, 0, 0 },
};

static const struct key prometheus_keys[] = {
	{ "enabled", K_BOOL, F(cfg_prometheus, enabled), 0, 0, 0 },
	{ "listen", K_LISTEN, F(cfg_prometheus, listen), 0, 0, 0 },
	{ "buckets", K_BUCKETS, offsetof(struct cfg_prometheus, nr_buckets), 0, 0, 0, 0 },
	{ "max_series", K_U32, F(cfg_prometheus, max_series), 0, 1, 0 },
};

static const struct key graphite_keys[] = {
	{ "enabled", K_BOOL, F(cfg_graphite, enabled), 0, 0, 0 },
	{ "host", K_STR, F(cfg_graphite, host), 0, 0, 0 },
	{ "port", K_PORT, F(cfg_graphite, port), 0, 0, 0 },
	{ "prefix", K_PREFIX, F(cfg_graphite, prefix), 0, 0, 0 },
	{ "interval", K_DUR, F(cfg_graphite, interval_ns), NS_PER_S, NS_PER_MS, 0 },
	{ "queue", K_U32, F(cfg_graphite, queue), 0, 0, 0 },
};

static const struct key json_keys[] = {
	{ "enabled", K_BOOL, F(cfg_json, enabled), 0, 0, 0 },
	{ "path", K_STR, F(cfg_json, path), 0, 0, 0 },
	{ "max_size", K_SIZE, F(cfg_json, max_bytes), 0, 0, 0 },
	{ "keep", K_U32, F(cfg_json, keep), 0, 0, 1000 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_KEYS 8

enum { SEC_DAEMON, SEC_TRK0, SEC_PROMETHEUS = SEC_TRK0 + LT_TRK_MAX, SEC_GRAPHITE, SEC_JSON, NR_SECS };

struct cfg_origins {
	char *o[NR_SECS][MAX_KEYS]; /* NULL: default */
};

static const char *sec_name(int s)
{
	switch (s) {
	case SEC_DAEMON: return "daemon";
	case SEC_PROMETHEUS: return "prometheus";
	case SEC_GRAPHITE: return "graphite";
	case SEC_JSON: return "json";
	default: return ev_trk_names[s - SEC_TRK0];
	}
}

static const struct key *sec_keys(int s, size_t *n)
{
	switch (s) {
	case SEC_DAEMON: *n = N(daemon_keys); return daemon_keys;
	case SEC_PROMETHEUS: *n = N(prometheus_keys); return prometheus_keys;
	case SEC_GRAPHITE: *n = N(graphite_keys); return graphite_keys;
	case SEC_JSON: *n = N(json_keys); return json_keys;
	default: *n = N(tracker_keys); return tracker_keys;
	}
}

static void *sec_base(struct lt_config *c, int s)
{
	switch (s) {
	case SEC_DAEMON: return &c->daemon;
	case SEC_PROMETHEUS: return &c->prometheus;
	case SEC_GRAPHITE: return &c->graphite;
	case SEC_JSON: return &c->json;
	default: return &c->trk[s - SEC_TRK0];
	}
}

static int sec_by_name(const char *name, size_t len)
{
	for (int s = 0; s < NR_SECS; s++)
		if (strlen(sec_name(s)) == len && !strncmp(sec_name(s), name, len))
			return s;
	return -1;
}

static int key_by_name(int s, const char *name, size_t len)
{
	size_t n;
	const struct key *k = sec_keys(s, &n);

	for (size_t i = 0; i < n; i++)
		if (strlen(k[i].name) == len && !strncmp(k[i].name, name, len))
			return (int)i;
	return -1;
}

static void known_keys(int s, char *buf, size_t len)
{
	size_t n, used = 0;
	const struct key *k = sec_keys(s, &n);

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", k[i].name);
}

#define SECTIONS_LIST "daemon, syscall, wakeup, offcpu, block, irq, net, prometheus, graphite, json"

/* ---- values ---------------------------------------------------------- */

static int parse_bool(const char *v, bool *out)
{
	static const char *const t[] = { "true", "yes", "on", "1" }, *const f[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < N(t); i++) {
		if (!strcasecmp(v, t[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, f[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!*v || *v == '-' || *v == '+' || *v == ' ')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = x;
	return 0;
}

/* "100M", "64K", "1G", "4096"; also KB/KiB spellings. */
static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long x;
	uint64_t mul = 1;

	if (!*v || *v == '-' || *v == '+' || *v == ' ')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || end == v)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	}
	if (mul > 1 && (!strcmp(end, "B") || !strcmp(end, "iB")))
		end += strlen(end);
	if (*end || x > UINT64_MAX / mul)
		return -EINVAL;
	*out = x * mul;
	return 0;
}

static void fmt_size(uint64_t b, char *buf, size_t len)
{
	static const char sfx[] = "GMK";

	for (int i = 0; i < 3; i++) {
		uint64_t m = 1ull << (10 * (3 - i));

		if (b && b % m == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(b / m), sfx[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)b);
}

/* Exact, and read back identically by ev_parse_dur: "10ms", "1.024us",
 * "17.179869184s", "0". */
static void fmt_dur(uint64_t ns, char *buf, size_t len)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{ "s", NS_PER_S }, { "ms", NS_PER_MS }, { "us", NS_PER_US }, { "ns", 1 },
	};
	size_t i = 0;

	if (!ns) {
		snprintf(buf, len, "0");
		return;
	}
	while (ns < units[i].ns)
		i++;
	if (ns % units[i].ns == 0 || units[i].ns == 1) {
		snprintf(buf, len, "%llu%s", (unsigned long long)(ns / units[i].ns), units[i].u);
	} else {
		uint64_t frac = ns % units[i].ns;
		int digits = 0;
		char fb[24];

		for (uint64_t u = units[i].ns; u > 1 && digits < 9; u /= 10)
			digits++;
		snprintf(fb, sizeof(fb), "%0*llu", digits & 15, (unsigned long long)(frac % NS_PER_S));
		for (int j = digits - 1; j > 0 && fb[j] == '0'; j--)
			fb[j] = '\0';
		snprintf(buf, len, "%llu.%s%s", (unsigned long long)(ns / units[i].ns), fb, units[i].u);
	}
}

/* HOST:PORT (IPv4 address) or [IPV6]:PORT. */
static int check_listen(const char *v)
{
	char host[128];
	const char *colon;
	uint64_t port;
	unsigned char a[16];
	int af = AF_INET;
	size_t hl;

	if (*v == '[') {
		const char *rb = strchr(v, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - v - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, v + 1, hl);
		colon = rb + 1;
		af = AF_INET6;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - v);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, v, hl);
	}
	host[hl] = '\0';
	if (inet_pton(af, host, a) != 1)
		return -EINVAL;
	if (parse_u64(colon + 1, &port) || port < 1 || port > 65535)
		return -EINVAL;
	return 0;
}

static const uint64_t *default_buckets(uint32_t *n)
{
	static uint64_t b[25];

	for (int i = 0; i < 25; i++)
		b[i] = 1ull << (10 + i);
	*n = 25;
	return b;
}

static bool buckets_default(const struct cfg_prometheus *p)
{
	uint32_t n;
	const uint64_t *b = default_buckets(&n);

	return p->nr_buckets == n && !memcmp(p->buckets_ns, b, n * sizeof(*b));
}

/* "pow2" or "1.024us, 2.048us, 1.048576ms" (bare numbers: ns). */
static int parse_buckets(const char *v, struct cfg_prometheus *p, char *why, size_t len)
{
	uint64_t b[CFG_MAX_BUCKETS];
	uint32_t n = 0;
	char item[64];

	if (!strcasecmp(v, "pow2")) {
		const uint64_t *d = default_buckets(&n);

		memcpy(p->buckets_ns, d, n * sizeof(*d));
		p->nr_buckets = n;
		return 0;
	}
	while (*v) {
		size_t l;
		char *s, *e;

		while (*v == ' ' || *v == '\t')
			v++;
		l = strcspn(v, ",");
		if (l >= sizeof(item)) {
			snprintf(why, len, "bucket '%.*s...' too long", 20, v);
			return -EINVAL;
		}
		memcpy(item, v, l);
		item[l] = '\0';
		for (e = item + l; e > item && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		s = item;
		if (!*s) {
			snprintf(why, len, "empty bucket in the list (e.g. buckets = pow2, or 1.024us,1.048576ms)");
			return -EINVAL;
		}
		if (n == CFG_MAX_BUCKETS) {
			snprintf(why, len, "more than %d buckets", CFG_MAX_BUCKETS);
			return -EINVAL;
		}
		if (ev_parse_dur(s, 1, &b[n]) || !b[n]) {
			snprintf(why, len, "bad bucket '%s' (a duration such as 1.024us; or buckets = pow2)", s);
			return -EINVAL;
		}
		if (!lt_hist__is_edge(b[n])) {
			unsigned int i = lt_hist_bucket(b[n]);
			char lo[32], hi[32];

			fmt_dur(lt_hist_bucket_low(i), lo, sizeof(lo));
			fmt_dur(lt_hist_bucket_low(i + 1), hi, sizeof(hi));
			snprintf(why, len,
				 "bucket '%s' is not an edge of the internal histogram; nearest edges: %s and %s",
				 s, lo, hi);
			return -EINVAL;
		}
		if (n && b[n] <= b[n - 1]) {
			snprintf(why, len, "buckets must be ascending ('%s' after a larger or equal one)", s);
			return -EINVAL;
		}
		n++;
		v += l;
		if (*v == ',')
			v++;
	}
	if (!n) {
		snprintf(why, len, "no buckets (e.g. buckets = pow2, or 1.024us,1.048576ms)");
		return -EINVAL;
	}
	memcpy(p->buckets_ns, b, n * sizeof(*b));
	p->nr_buckets = n;
	return 0;
}

static int check_prefix(const char *v)
{
	if (!*v || *v == '.' || v[strlen(v) - 1] == '.')
		return -EINVAL;
	for (; *v; v++)
		if (!(('a' <= *v && *v <= 'z') || ('A' <= *v && *v <= 'Z') || ('0' <= *v && *v <= '9') ||
		      *v == '_' || *v == '-' || *v == '.'))
			return -EINVAL;
	return 0;
}

/* Parse v into key k of section s.  -EINVAL with "[sec] key: why" in why. */
static int set_value(struct lt_config *c, int s, const struct key *k, const char *v, char *why, size_t len)
{
	char *field = (char *)sec_base(c, s) + k->off;
	char pre[64], msg[400];
	uint64_t x;
	bool b;

	snprintf(pre, sizeof(pre), "[%s] %s", sec_name(s), k->name);
	msg[0] = '\0';
	switch (k->kind) {
	case K_BOOL:
		if (parse_bool(v, &b)) {
			snprintf(msg, sizeof(msg), "bad boolean '%s' (true/false, yes/no, on/off, 1/0)", v);
			break;
		}
		*(bool *)field = b;
		break;
	case K_DUR:
	case K_TIMEOUT:
		if (ev_parse_dur(v, k->unit, &x)) {
			snprintf(msg, sizeof(msg), "bad duration '%s' (e.g. 10ms, 500us, 1s; a bare number is in %s)",
				 v, k->unit == NS_PER_S ? "s" : "ms");
			break;
		}
		if (k->kind == K_TIMEOUT && x && !ev_default_timeout_ns[s - SEC_TRK0]) {
			snprintf(msg, sizeof(msg), "must be 0: only syscall and block have timeouts");
			break;
		}
		if ((k->min && x < k->min) || (k->max && x > k->max)) {
			char lo[32], hi[32];

			fmt_dur(k->min, lo, sizeof(lo));
			fmt_dur(k->max, hi, sizeof(hi));
			if (k->max)
				snprintf(msg, sizeof(msg), "'%s' out of range (%s to %s)", v, lo, hi);
			else
				snprintf(msg, sizeof(msg), "'%s' too small (at least %s)", v, lo);
			break;
		}
		*(uint64_t *)field = x;
		break;
	case K_SIZE:
		if (parse_size(v, &x)) {
			snprintf(msg, sizeof(msg), "bad size '%s' (bytes, or with K, M, G: 64K, 100M, 1G)", v);
			break;
		}
		*(uint64_t *)field = x;
		break;
	case K_RINGBUF:
		if (parse_size(v, &x)) {
			snprintf(msg, sizeof(msg), "bad size '%s' (bytes, or with K, M, G: 256K, 1M)", v);
			break;
		}
		if (x < 4096 || x > (1ull << 30) || (x & (x - 1))) {
			snprintf(msg, sizeof(msg), "'%s' must be a power of 2 from 4K to 1G (e.g. 256K, 1M, 16M)", v);
			break;
		}
		*(uint32_t *)field = (uint32_t)(x >> 10);
		break;
	case K_U32:
		if (parse_u64(v, &x) || x > UINT32_MAX) {
			snprintf(msg, sizeof(msg), "bad number '%s' (a whole number, 0 to %u)", v, UINT32_MAX);
			break;
		}
		if (x < k->min || (k->max && x > k->max)) {
			snprintf(msg, sizeof(msg), "'%s' out of range (%llu to %llu)", v, (unsigned long long)k->min,
				 (unsigned long long)(k->max ? k->max : UINT32_MAX));
			break;
		}
		*(uint32_t *)field = (uint32_t)x;
		break;
	case K_PORT:
		if (parse_u64(v, &x) || x < 1 || x > 65535) {
			snprintf(msg, sizeof(msg), "bad port '%s' (1 to 65535)", v);
			break;
		}
		*(uint16_t *)field = (uint16_t)x;
		break;
	case K_COMM:
	case K_STR:
	case K_LISTEN:
	case K_PREFIX:
		if (strlen(v) >= k->size) {
			snprintf(msg, sizeof(msg), "'%.40s%s' too long (at most %zu bytes%s)", v,
				 strlen(v) > 40 ? "..." : "", k->size - 1,
				 k->kind == K_COMM ? ", as the kernel keeps a task's name" : "");
			break;
		}
		if (k->kind == K_LISTEN && check_listen(v)) {
			snprintf(msg, sizeof(msg),
				 "bad listen address '%s' (IPV4:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9464, [::1]:9464)", v);
			break;
		}
		if (k->kind == K_PREFIX && check_prefix(v)) {
			snprintf(msg, sizeof(msg),
				 "bad prefix '%s' (letters, digits, '_', '-' and '.' between them, e.g. latrack.web1)", v);
			break;
		}
		if (k->kind == K_STR && !*v && strcmp(k->name, "cgroup")) {
			snprintf(msg, sizeof(msg), "empty value");
			break;
		}
		strcpy(field, v);
		break;
	case K_BUCKETS:
		parse_buckets(v, &c->prometheus, msg, sizeof(msg));
		break;
	}
	if (msg[0]) {
		snprintf(why, len, "%s: %s", pre, msg);
		return -EINVAL;
	}
	return 0;
}

static void value_str(const struct lt_config *c, int s, const struct key *k, char *buf, size_t len)
{
	const char *field = (const char *)sec_base((struct lt_config *)c, s) + k->off;

	switch (k->kind) {
	case K_BOOL:
		snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false");
		break;
	case K_DUR:
	case K_TIMEOUT:
		fmt_dur(*(const uint64_t *)field, buf, len);
		break;
	case K_SIZE:
		fmt_size(*(const uint64_t *)field, buf, len);
		break;
	case K_RINGBUF:
		fmt_size((uint64_t) * (const uint32_t *)field << 10, buf, len);
		break;
	case K_U32:
		snprintf(buf, len, "%u", *(const uint32_t *)field);
		break;
	case K_PORT:
		snprintf(buf, len, "%u", *(const uint16_t *)field);
		break;
	case K_COMM:
	case K_STR:
	case K_LISTEN:
	case K_PREFIX:
		snprintf(buf, len, "%s", field);
		break;
	case K_BUCKETS: {
		size_t used = 0;

		if (buckets_default(&c->prometheus)) {
			snprintf(buf, len, "pow2");
			break;
		}
		buf[0] = '\0';
		for (uint32_t i = 0; i < c->prometheus.nr_buckets && used < len; i++) {
			char d[32];

			fmt_dur(c->prometheus.buckets_ns[i], d, sizeof(d));
			used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", d);
		}
		break;
	}
	}
}

/* ---- defaults --------------------------------------------------------- */

/* The net tracker's socket tracepoints are recent (as in latrack run):
 * their BTF typedefs btf_trace_sk_data_ready and btf_trace_sock_recv_length. */
static bool kernel_has_net_tracepoints(void)
{
	static int has = -1;

	if (has < 0) {
		libbpf_print_fn_t old = libbpf_set_print(NULL);
		struct btf *btf = btf__load_vmlinux_btf();

		has = btf && btf__find_by_name_kind(btf, "btf_trace_sk_data_ready", BTF_KIND_TYPEDEF) > 0 &&
		      btf__find_by_name_kind(btf, "btf_trace_sock_recv_length", BTF_KIND_TYPEDEF) > 0;
		btf__free(btf);
		libbpf_set_print(old);
	}
	return has;
}

static void set_defaults(struct lt_config *c)
{
	char host[256] = "localhost";
	uint32_t n;
	const uint64_t *b = default_buckets(&n);

	memset(c, 0, sizeof(*c));
	c->daemon.tick_ns = NS_PER_S;
	snprintf(c->daemon.socket, sizeof(c->daemon.socket), "/run/latrack/latrack.sock");
	c->daemon.max_classes = 0;
	c->daemon.ringbuf_kib = 1024;
	c->daemon.classes = 4096;
	c->daemon.window_memory = 128ull << 20;
	c->daemon.change_detection = true;
	c->daemon.class_idle_ns = 60 * NS_PER_S;
	for (int t = 0; t < LT_TRK_MAX; t++) {
		c->trk[t].enabled = t != LT_TRK_NET || kernel_has_net_tracepoints();
		c->trk[t].threshold_ns = ev_default_thresh_ns[t];
		c->trk[t].timeout_ns = ev_default_timeout_ns[t];
	}
	c->prometheus.enabled = true;
	snprintf(c->prometheus.listen, sizeof(c->prometheus.listen), "127.0.0.1:9464");
	memcpy(c->prometheus.buckets_ns, b, n * sizeof(*b));
	c->prometheus.nr_buckets = n;
	c->prometheus.max_series = 200;
	c->graphite.enabled = false;
	snprintf(c->graphite.host, sizeof(c->graphite.host), "127.0.0.1");
	c->graphite.port = 2003;
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
		      *p == '-'))
			*p = '_';
	snprintf(c->graphite.prefix, sizeof(c->graphite.prefix), "latrack.%.100s", host);
	c->graphite.interval_ns = 10 * NS_PER_S;
	c->graphite.queue = 100000;
	c->json.enabled = false;
	snprintf(c->json.path, sizeof(c->json.path), "-");
	c->json.max_bytes = 100ull << 20;
	c->json.keep = 5;
}

/* ---- sources ---------------------------------------------------------- */

const char *cfg_system_path(void)
{
	const char *p = getenv("LATRACK_SYSCONF");

	return p && *p ? p : "/etc/latrack/latrack.conf";
}

const char *cfg_user_path(char *buf, size_t len)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (x && *x == '/') {
		snprintf(buf, len, "%s/latrack/latrack.conf", x);
		return buf;
	}
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return NULL;
	snprintf(buf, len, "%s/.config/latrack/latrack.conf", home);
	return buf;
}

struct parse {
	struct lt_config *c;
	const char *file;
	FILE *f;
	int line;
	char *buf;
	size_t cap;
	char *err;
	size_t errlen;
	bool failed;
};

static void origin_set(struct lt_config *c, int s, int k, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void origin_set(struct lt_config *c, int s, int k, const char *fmt, ...)
{
	va_list ap;
	char *o = NULL;

	va_start(ap, fmt);
	if (vasprintf(&o, fmt, ap) < 0)
		o = NULL;
	va_end(ap);
	free(c->origins->o[s][k]);
	c->origins->o[s][k] = o;
}

static void fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = true;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* fgets-style reader: one whole line per call, counted; checks headers. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t n;
	const char *s;

	if (p->failed)
		return NULL;
	n = getline(&p->buf, &p->cap, p->f);
	if (n < 0)
		return NULL;
	p->line++;
	if (memchr(p->buf, '\0', (size_t)n)) {
		fail(p, "NUL byte in the line");
		return NULL;
	}
	if (n + 1 >= num) {
		fail(p, "line longer than %d bytes", num - 2);
		return NULL;
	}
	s = p->buf;
	if (p->line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
		s += 3;
	s += strspn(s, " \t");
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb) {
			fail(p, "section header without ']': %.*s", (int)strcspn(s, "\r\n"), s);
			return NULL;
		}
		if (sec_by_name(s + 1, (size_t)(rb - s - 1)) < 0) {
			fail(p, "unknown section [%.*s] (sections: " SECTIONS_LIST ")", (int)(rb - s - 1), s + 1);
			return NULL;
		}
	}
	memcpy(str, p->buf, (size_t)n + 1);
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	char why[512], keys[200];
	int s, k;
	size_t nk;

	if (!*section) {
		fail(p, "'%s' outside a section (put it under [daemon], [syscall], ...)", name);
		return 0;
	}
	s = sec_by_name(section, strlen(section)); /* known: the reader checked */
	if (s < 0) {
		fail(p, "unknown section [%s] (sections: " SECTIONS_LIST ")", section);
		return 0;
	}
	k = key_by_name(s, name, strlen(name));
	if (k < 0) {
		known_keys(s, keys, sizeof(keys));
		fail(p, "[%s] unknown key '%s' (keys: %s)", section, name, keys);
		return 0;
	}
	if (set_value(p->c, s, &sec_keys(s, &nk)[k], value, why, sizeof(why))) {
		fail(p, "%s", why);
		return 0;
	}
	origin_set(p->c, s, k, "%s:%d", p->file, p->line);
	return 1;
}

static bool ini_setup_done;

static void ini_setup(void)
{
	if (ini_setup_done)
		return;
	ini_setup_done = true;
	ini_allow_multiline = false; /* an indented line is a line, not a continuation */
	ini_use_stack = false;       /* lines up to LINE_MAX_LEN (cgroup paths) */
	ini_max_line = LINE_MAX_LEN;
	ini_initial_alloc = LINE_MAX_LEN;
	ini_allow_realloc = false;
	ini_stop_on_first_error = true;
	ini_allow_no_value = false;
}

/* 0, 1 when the file does not exist and may be missing, or -errno. */
static int load_file(struct lt_config *c, const char *path, bool must_exist, char *err, size_t errlen)
{
	struct parse p = { .c = c, .file = path, .err = err, .errlen = errlen };
	int r;

	p.f = fopen(path, "re");
	if (!p.f) {
		if (errno == ENOENT && !must_exist)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	ini_setup();
	r = ini_parse_stream(reader, &p, handler, &p);
	if (!p.failed && ferror(p.f)) {
		snprintf(err, errlen, "%s: read error", path);
		p.failed = true;
	}
	if (r > 0 && !p.failed) {
		p.line = r;
		fail(&p, "syntax error (expected [section], key = value, or a ';' or '#' comment)");
	} else if (r < 0 && !p.failed) {
		snprintf(err, errlen, "%s: cannot parse (out of memory)", path);
		p.failed = true;
	}
	free(p.buf);
	fclose(p.f);
	return p.failed ? -EINVAL : 0;
}

/* s[0..n) without leading and trailing blanks into buf; its length. */
static size_t trimmed(const char *s, size_t n, char *buf, size_t len)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return n;
}

static int apply_set(struct lt_config *c, const char *set, char *err, size_t errlen)
{
	const char *dot = strchr(set, '.'), *eq = strchr(set, '=');
	char why[512], keys[200];
	int s, k;
	size_t nk, vl;
	char *v;

	char sec[32], key[32];
	size_t sl, kl;

	if (!dot || !eq || dot > eq) {
		snprintf(err, errlen, "--set %s: expected SECTION.KEY=VALUE (e.g. --set syscall.threshold=5ms)", set);
		return -EINVAL;
	}
	/* Blanks around the section and key are dropped, as in a file. */
	sl = trimmed(set, (size_t)(dot - set), sec, sizeof(sec));
	kl = trimmed(dot + 1, (size_t)(eq - dot - 1), key, sizeof(key));
	s = sec_by_name(sec, sl);
	if (s < 0) {
		snprintf(err, errlen, "--set %s: unknown section [%s] (sections: " SECTIONS_LIST ")", set, sec);
		return -EINVAL;
	}
	k = key_by_name(s, key, kl);
	if (k < 0) {
		known_keys(s, keys, sizeof(keys));
		snprintf(err, errlen, "--set %s: [%s] unknown key '%s' (keys: %s)", set, sec_name(s), key, keys);
		return -EINVAL;
	}
	/* Blanks around the value are dropped, as in a file. */
	v = strdup(eq + 1 + strspn(eq + 1, " \t"));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (vl = strlen(v); vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t');)
		v[--vl] = '\0';
	if (set_value(c, s, &sec_keys(s, &nk)[k], v, why, sizeof(why))) {
		snprintf(err, errlen, "--set %s: %s", set, why);
		free(v);
		return -EINVAL;
	}
	free(v);
	origin_set(c, s, k, "--set %s", set);
	return 0;
}

static const char *origin_of(const struct lt_config *c, int s, const char *key)
{
	int k = key_by_name(s, key, strlen(key));
	const char *o = k >= 0 ? c->origins->o[s][k] : NULL;

	return o ? o : "default";
}

/* Whole-configuration rules, checked once every source is applied.  The
 * message names where the value that breaks the rule came from. */
static int cross_check(struct lt_config *c, char *err, size_t errlen)
{
	const struct cfg_tracker *w = &c->trk[LT_TRK_WAKEUP], *o = &c->trk[LT_TRK_OFFCPU];

	if (w->enabled && o->enabled) {
		static const char *const fk[] = { "pid", "tid", "comm", "cgroup" };
		bool same[4] = { w->pid == o->pid, w->tid == o->tid, !strcmp(w->comm, o->comm),
				 !strcmp(w->cgroup, o->cgroup) };

		for (int i = 0; i < 4; i++) {
			int sw = SEC_TRK0 + LT_TRK_WAKEUP, so = SEC_TRK0 + LT_TRK_OFFCPU;
			const char *ow, *oo, *where;
			size_t nk;
			const struct key *k;
			char vw[CFG_PATH_MAX], vo[CFG_PATH_MAX];

			if (same[i])
				continue;
			k = &sec_keys(sw, &nk)[key_by_name(sw, fk[i], strlen(fk[i]))];
			value_str(c, sw, k, vw, sizeof(vw));
			value_str(c, so, k, vo, sizeof(vo));
			ow = origin_of(c, sw, fk[i]);
			oo = origin_of(c, so, fk[i]);
			where = strcmp(oo, "default") ? oo : ow;
			snprintf(err, errlen,
				 "%s: [wakeup] %s '%.200s' (%s) and [offcpu] %s '%.200s' (%s) differ, but the two "
				 "trackers share one BPF object: give both the same filters, or disable one",
				 where, fk[i], vw, ow, fk[i], vo, oo);
			return -EINVAL;
		}
	}
	if (c->graphite.enabled && c->graphite.interval_ns % NS_PER_S) {
		char i[32];

		fmt_dur(c->graphite.interval_ns, i, sizeof(i));
		snprintf(err, errlen, "%s: [graphite] interval %s is not a whole number of seconds "
			 "(Graphite timestamps are in seconds)", origin_of(c, SEC_GRAPHITE, "interval"), i);
		return -EINVAL;
	}
	if (c->graphite.enabled && c->graphite.interval_ns % c->daemon.tick_ns) {
		const char *oi = origin_of(c, SEC_GRAPHITE, "interval"), *ot = origin_of(c, SEC_DAEMON, "tick");
		char i[32], t[32];

		fmt_dur(c->graphite.interval_ns, i, sizeof(i));
		fmt_dur(c->daemon.tick_ns, t, sizeof(t));
		snprintf(err, errlen, "%s: [graphite] interval %s is not a multiple of [daemon] tick %s (%s)",
			 strcmp(oi, "default") ? oi : ot, i, t, strcmp(oi, "default") ? ot : oi);
		return -EINVAL;
	}
	return 0;
}

int cfg_load(struct lt_config *c, const struct cfg_cmdline *cl, char *err, size_t errlen)
{
	char ubuf[CFG_PATH_MAX];
	const char *user;
	int r = 0;

	set_defaults(c);
	c->origins = calloc(1, sizeof(*c->origins));
	if (!c->origins) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (cl && cl->file) {
		r = load_file(c, cl->file, true, err, errlen);
	} else {
		r = load_file(c, cfg_system_path(), false, err, errlen);
		user = r >= 0 ? cfg_user_path(ubuf, sizeof(ubuf)) : NULL;
		if (user)
			r = load_file(c, user, false, err, errlen);
	}
	for (size_t i = 0; r >= 0 && cl && i < cl->nr_sets; i++)
		r = apply_set(c, cl->sets[i], err, errlen);
	if (r >= 0)
		r = cross_check(c, err, errlen);
	if (r < 0) {
		cfg_free(c);
		return -EINVAL;
	}
	return 0;
}

void cfg_free(struct lt_config *c)
{
	if (!c || !c->origins)
		return;
	for (int s = 0; s < NR_SECS; s++)
		for (int k = 0; k < MAX_KEYS; k++)
			free(c->origins->o[s][k]);
	free(c->origins);
	c->origins = NULL;
}

void cfg_print(const struct lt_config *c, FILE *out)
{
	for (int s = 0; s < NR_SECS; s++) {
		size_t n;
		const struct key *k = sec_keys(s, &n);

		fprintf(out, "%s[%s]\n", s ? "\n" : "", sec_name(s));
		for (size_t i = 0; i < n; i++) {
			char v[CFG_PATH_MAX + 64], line[CFG_PATH_MAX + 128];
			const char *o = c->origins ? c->origins->o[s][i] : NULL;

			value_str(c, s, &k[i], v, sizeof(v));
			snprintf(line, sizeof(line), "%s = %s", k[i].name, v);
			fprintf(out, "%-40s ; %s\n", line, o ? o : "default");
		}
	}
}
