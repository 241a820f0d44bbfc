/* latrack run: the kernel trackers, live.
 *
 * Loads the BPF trackers (src/trk.c), prints each outlier as it arrives
 * from the ring buffer (a readable block with symbolised kernel stacks, or
 * one JSON object per line), sweeps for syscalls and block requests stuck
 * longer than their timeout, and prints the per-class histograms (count, p50, p99, max) every
 * interval and at exit, with the loss counters.  Everything that comes from
 * the traced system (comm) is escaped before it is printed. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_hist.h"
#include "cmd.h"
#include "ksyms.h"
#include "run_classes.h"
#include "usyms.h"
#include "trk.h"

static const char *const syscall_names[] = {
#include "syscall_names.h"
};

static const char *const trk_names[LT_TRK_MAX] = { "syscall", "wakeup", "offcpu", "block", "irq", "net" };
static const char *const softirq_names[LT_NR_SOFTIRQS] = {
	"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
};
static const uint64_t default_thresh_ns[LT_TRK_MAX] = {
	10000000ull,   /* syscall: 10 ms */
	5000000ull,    /* wakeup: 5 ms of run-queue wait */
	1000000000ull, /* offcpu: 1 s */
	10000000ull,   /* block: 10 ms from insert (or issue) to completion */
	1000000ull,    /* irq: 1 ms in a handler or waiting for a softirq */
	10000000ull,   /* net: 10 ms from reception to the reader (or in a tx queue) */
};
/* Trackers swept for events stuck in flight; 0: no timeout. */
static const uint64_t default_timeout_ns[LT_TRK_MAX] = {
	[LT_TRK_SYSCALL] = 1000000000ull, /* 1 s */
	[LT_TRK_BLOCK] = 5000000000ull,   /* 5 s */
};
static const char *const drop_names[LT_DROP_MAX] = { "ringbuf", "inflight_full", "hist_full", "stack" };

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull
#define TOP_CLASSES 20
#define BAR_WIDTH 40
#define BAR_STARS "****************************************" /* BAR_WIDTH of them */

static volatile sig_atomic_t stop;

/* Names of the kernel's drop reasons (enum skb_drop_reason in its BTF,
 * without the SKB_DROP_REASON_ prefix), indexed by value; NULL when the
 * kernel has none of that value. */
#define MAX_DROP_REASONS 1024
static char *drop_reason_names[MAX_DROP_REASONS];

static void load_drop_reasons(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_enum *e;
	int id;

	if (!btf)
		return;
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	e = t ? btf_enum(t) : NULL;
	for (int i = 0; e && i < btf_vlen(t); i++, e++) {
		const char *name = btf__name_by_offset(btf, e->name_off);

		if (!name || e->val < 0 || e->val >= MAX_DROP_REASONS || drop_reason_names[e->val])
			continue;
		if (!strncmp(name, "SKB_DROP_REASON_", 16))
			name += 16;
		drop_reason_names[e->val] = strdup(name);
	}
	btf__free(btf);
}

static void free_drop_reasons(void)
{
	for (int i = 0; i < MAX_DROP_REASONS; i++) {
		free(drop_reason_names[i]);
		drop_reason_names[i] = NULL;
	}
}

struct run {
	struct trk_opts o;
	bool json;
	bool hist; /* --hist: a bar histogram under each class */
	uint64_t interval_ns, duration_ns;
	uint64_t timeout_ns[LT_TRK_MAX]; /* stuck after this long in flight (0: not swept) */
	long count; /* intervals to print, 0 = unlimited */
	struct trk_set *set;
	struct ksyms *ks;
	struct usyms *us;
	int64_t wall_off; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	uint64_t deadline_ns;
	unsigned long nr_events;
	struct run_classes *classes;
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* "10ms", "1.5s", "250us", "100" (in default_unit ns). */
static int parse_dur(const char *s, uint64_t default_unit, uint64_t *out)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", NS_PER_MS }, { "s", NS_PER_S },
		{ "m", 60 * NS_PER_S }, { "min", 60 * NS_PER_S },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || v > 1e12)
		return -EINVAL;
	if (!*end) {
		*out = (uint64_t)(v * (double)default_unit + 0.5);
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].u)) {
			*out = (uint64_t)(v * (double)units[i].ns + 0.5);
			return 0;
		}
	return -EINVAL;
}

static int trk_by_name(const char *s, size_t len)
{
	for (int t = 0; t < LT_TRK_MAX; t++)
		if (strlen(trk_names[t]) == len && !strncmp(trk_names[t], s, len))
			return t;
	return -1;
}

/* "syscall,wakeup" */
static int parse_trackers(const char *s, bool on[LT_TRK_MAX])
{
	while (*s) {
		size_t len = strcspn(s, ",");
		int t = trk_by_name(s, len);

		if (t < 0) {
			fprintf(stderr, "latrack run: unknown tracker '%.*s' (known: syscall, wakeup, offcpu, block, irq, net)\n",
				(int)len, s);
			return -EINVAL;
		}
		on[t] = true;
		s += len;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* "[TRACKER=]DURATION"; default unit ms.  set[] marks explicit values. */
static int parse_threshold(const char *s, uint64_t th[LT_TRK_MAX], bool set[LT_TRK_MAX])
{
	const char *eq = strchr(s, '=');
	uint64_t ns;
	int t = -1;

	if (eq) {
		t = trk_by_name(s, (size_t)(eq - s));
		if (t < 0) {
			fprintf(stderr, "latrack run: unknown tracker in threshold '%s'\n", s);
			return -EINVAL;
		}
		s = eq + 1;
	}
	if (parse_dur(s, NS_PER_MS, &ns)) {
		fprintf(stderr, "latrack run: bad threshold '%s' (e.g. 10ms, 500us, 1s)\n", s);
		return -EINVAL;
	}
	for (int i = 0; i < LT_TRK_MAX; i++)
		if (t < 0 || t == i) {
			th[i] = ns;
			set[i] = true;
		}
	return 0;
}

/* "[TRACKER=]DURATION"; default unit s.  Without TRACKER=, every tracker
 * that has a timeout (syscall, block). */
static int parse_timeout(const char *s, uint64_t to[LT_TRK_MAX])
{
	const char *eq = strchr(s, '=');
	uint64_t ns;
	int t = -1;

	if (eq) {
		t = trk_by_name(s, (size_t)(eq - s));
		if (t < 0 || !default_timeout_ns[t]) {
			fprintf(stderr, "latrack run: %s tracker in --timeout '%s' (timeouts: syscall, block)\n",
				t < 0 ? "unknown" : "no timeout for the", s);
			return -EINVAL;
		}
		s = eq + 1;
	}
	if (parse_dur(s, NS_PER_S, &ns) || !ns) {
		fprintf(stderr, "latrack run: bad --timeout '%s' (e.g. 1s, 500ms, block=2s)\n", s);
		return -EINVAL;
	}
	for (int i = 0; i < LT_TRK_MAX; i++)
		if ((t < 0 && default_timeout_ns[i]) || t == i)
			to[i] = ns;
	return 0;
}

/* ---- escaping of strings from the traced system ---- */

static void json_str(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f) /* also non-UTF-8 bytes: keep the JSON valid */
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void text_str(FILE *f, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static const char *fmt_dur(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < NS_PER_MS)
		snprintf(buf, len, "%.1fus", (double)ns / 1e3);
	else if (ns < NS_PER_S)
		snprintf(buf, len, "%.2fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.3fs", (double)ns / 1e9);
	return buf;
}

static const char *sub_name(uint32_t trk, uint32_t sub, char *buf, size_t len)
{
	switch (trk) {
	case LT_TRK_SYSCALL:
		if (sub < sizeof(syscall_names) / sizeof(syscall_names[0]) && syscall_names[sub])
			return syscall_names[sub];
		snprintf(buf, len, "syscall_%u", sub);
		return buf;
	case LT_TRK_WAKEUP:
		snprintf(buf, len, "cpu%u", sub);
		return buf;
	case LT_TRK_IRQ: {
		uint32_t kind = sub >> 16, n = sub & 0xffff;

		if (kind == LT_IRQ_HARD)
			snprintf(buf, len, "irq%u", n);
		else
			snprintf(buf, len, "%s %s", n < LT_NR_SOFTIRQS ? softirq_names[n] : "softirq?",
				 kind == LT_IRQ_SOFT_WAIT ? "wait" : "run");
		return buf;
	}
	case LT_TRK_BLOCK: {
		static const char *const ops[] = { "R", "W", "F", "D", NULL, "SE", NULL, NULL, NULL, "WZ" };
		uint32_t op = sub & 0xff, phase = sub >> 8;
		const char *sfx = phase == LT_BLK_QUEUE ? " queue" : phase == LT_BLK_SERVICE ? " service" : "";

		if (op < 10 && ops[op])
			snprintf(buf, len, "%s%s", ops[op], sfx);
		else
			snprintf(buf, len, "op%u%s", op, sfx);
		return buf;
	}
	case LT_TRK_NET: {
		uint32_t kind = sub >> 24, n = sub & 0xffffff;

		if (kind == LT_NET_RX_STACK)
			snprintf(buf, len, "rx stack if%u", n);
		else if (kind == LT_NET_RX_DELIVERED)
			snprintf(buf, len, "rx if%u", n);
		else if (kind == LT_NET_TX_QUEUE)
			snprintf(buf, len, "tx if%u", n);
		else if (kind == LT_NET_DROP && n < MAX_DROP_REASONS && drop_reason_names[n])
			snprintf(buf, len, "drop %s", drop_reason_names[n]);
		else if (kind == LT_NET_DROP)
			snprintf(buf, len, "drop reason %u", n);
		else
			snprintf(buf, len, "udp queue err %d", -(int)n);
		return buf;
	}
	case LT_TRK_OFFCPU:
		/* task state bits (include/linux/sched.h) */
		if ((sub & 0x402) == 0x402)
			return "I";
		if (sub & 0x2)
			return "D";
		if (sub & 0x1)
			return "S";
		if (sub & 0x4)
			return "T";
		if (sub & 0x8)
			return "t";
		snprintf(buf, len, "state_0x%x", sub);
		return buf;
	}
	return "?";
}

static void fmt_wall(const struct run *r, uint64_t mono, char *buf, size_t len, bool iso)
{
	int64_t w = (int64_t)mono + r->wall_off;
	time_t sec = (time_t)(w / (int64_t)NS_PER_S);
	struct tm tm;
	char t[24];

	gmtime_r(&sec, &tm);
	strftime(t, sizeof(t), iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(buf, len, iso ? "%s.%06ldZ" : "%s.%06ld", t, (long)((uint64_t)w % NS_PER_S / 1000));
}

/* ---- outliers ---- */

/* Frames of the tracing machinery itself (our BPF program, the
 * tracepoint trampoline) at the top of a stack taken in a tracepoint:
 * not part of what the user looks at. */
static __u32 first_real_frame(const struct run *r, const __u64 *ips, __u32 n)
{
	static const char *const tracing[] = { "bpf_prog_", "bpf_trace_run", "__bpf_trace_",
					       "__traceiter_", "perf_trace_", "[unknown]" };
	char sym[256];
	__u32 i;

	for (i = 0; i < n && i < LT_KSTACK_MAX; i++) {
		bool skip = false;

		ksyms__format(r->ks, ips[i], sym, sizeof(sym));
		for (size_t t = 0; t < sizeof(tracing) / sizeof(tracing[0]); t++)
			if (!strncmp(sym, tracing[t], strlen(tracing[t])))
				skip = true;
		if (!skip)
			break;
	}
	return i < n ? i : 0;
}

static void json_kstack(FILE *f, const struct run *r, const char *name, const __u64 *ips, __u32 n)
{
	__u32 first = first_real_frame(r, ips, n);
	char sym[256];

	fprintf(f, ",\"%s\":[", name);
	for (__u32 i = first; i < n && i < LT_KSTACK_MAX; i++) {
		if (i > first)
			fputc(',', f);
		json_str(f, ksyms__format(r->ks, ips[i], sym, sizeof(sym)), sizeof(sym));
	}
	fputc(']', f);
}

static void json_who(FILE *f, const char *name, __u32 pid, __u32 tid, const char *comm)
{
	fprintf(f, ",\"%s\":{\"pid\":%u,\"tid\":%u,\"comm\":", name, pid, tid);
	json_str(f, comm, LT_COMM_LEN);
	fputc('}', f);
}

/* Unused trailing frames of a user stack are zero (frame-pointer walk ended). */
static __u32 ustack_len(const struct lt_event *e)
{
	__u32 n = e->ustack_n < LT_USTACK_MAX ? e->ustack_n : LT_USTACK_MAX;

	while (n && !e->ustack[n - 1])
		n--;
	return n;
}

static void print_json_event(struct run *r, const struct lt_event *e)
{
	char wall[64], sb[32];
	FILE *f = stdout;

	fmt_wall(r, e->end_ns, wall, sizeof(wall), true);
	fprintf(f, "{\"type\":\"outlier\",\"tracker\":\"%s\",\"time\":\"%s\","
		"\"begin_ns\":%llu,\"end_ns\":%llu,\"delay_ns\":%llu,\"pid\":%u,\"tid\":%u,\"comm\":",
		trk_names[e->trk], wall, (unsigned long long)e->begin_ns,
		(unsigned long long)e->end_ns, (unsigned long long)e->delay_ns, e->pid, e->tid);
	json_str(f, e->comm, LT_COMM_LEN);
	fprintf(f, ",\"cgroup_id\":%llu,\"cpu\":%u,\"class\":\"%s\"",
		(unsigned long long)e->cgroup_id, e->cpu, sub_name(e->trk, e->sub, sb, sizeof(sb)));
	if (e->trk == LT_TRK_SYSCALL)
		fprintf(f, ",\"syscall\":\"%s\",\"nr\":%u,\"ret\":%lld",
			sub_name(e->trk, e->sub, sb, sizeof(sb)), e->sub, (long long)e->ret);
	if (e->trk == LT_TRK_IRQ && (e->sub >> 16) == LT_IRQ_HARD) {
		fprintf(f, ",\"irq\":%u,\"handler\":", e->sub & 0xffff);
		json_str(f, e->disk, sizeof(e->disk));
	}
	if (e->trk == LT_TRK_BLOCK) {
		fprintf(f, ",\"dev\":\"%u:%u\",\"disk\":", e->dev >> 20, e->dev & 0xfffff);
		json_str(f, e->disk, sizeof(e->disk));
		fprintf(f, ",\"sector\":%llu,\"bytes\":%u,\"queue_ns\":%llu,\"service_ns\":%llu,\"error\":%lld",
			(unsigned long long)e->sector, e->bytes, (unsigned long long)e->queue_ns,
			(unsigned long long)(e->delay_ns - e->queue_ns), (long long)e->ret);
	}
	if (e->trk == LT_TRK_NET) {
		bool rx = (e->sub >> 24) == LT_NET_RX_DELIVERED;

		fprintf(f, ",\"dir\":\"%s\",\"ifindex\":%u,\"dev\":", rx ? "rx" : "tx", e->dev);
		json_str(f, e->disk, sizeof(e->disk));
		fprintf(f, ",\"bytes\":%u", e->bytes);
		if (rx)
			fprintf(f, ",\"protocol\":%llu,\"stack_ns\":%llu,\"exit\":\"copied to user\"",
				(unsigned long long)e->sector, (unsigned long long)e->queue_ns);
		else
			fputs(",\"exit\":\"sent to the driver\"", f);
	}
	if (e->flags & LT_EV_WAKER)
		json_who(f, "waker", e->waker_pid, e->waker_tid, e->waker_comm);
	if (e->flags & LT_EV_PREEMPTED)
		fprintf(f, ",\"preempted\":true");
	if (e->flags & LT_EV_PREV)
		json_who(f, "prev", e->prev_pid, e->prev_tid, e->prev_comm);
	if (e->kstack_n) {
		fprintf(f, ",\"kstack_kind\":\"%s\"",
			e->flags & LT_EV_KSTACK_BLOCKED ? "blocked" : "sleeping");
		json_kstack(f, r, "kstack", e->kstack, e->kstack_n);
	}
	if (ustack_len(e)) {
		char sym[512];

		fprintf(f, ",\"ustack\":[");
		for (__u32 i = 0; i < ustack_len(e); i++) {
			if (i)
				fputc(',', f);
			json_str(f, usyms__format(r->us, e->pid, e->ustack[i], sym, sizeof(sym)), sizeof(sym));
		}
		fputc(']', f);
	}
	if (e->wstack_n)
		json_kstack(f, r, "waker_kstack", e->wstack, e->wstack_n);
	fputs("}\n", f);
}

static void text_kstack(FILE *f, const struct run *r, const char *title, const __u64 *ips, __u32 n)
{
	char sym[256];

	fprintf(f, "    %s:\n", title);
	for (__u32 i = first_real_frame(r, ips, n); i < n && i < LT_KSTACK_MAX; i++)
		fprintf(f, "      %s\n", ksyms__format(r->ks, ips[i], sym, sizeof(sym)));
}

static void print_text_event(struct run *r, const struct lt_event *e)
{
	char wall[64], d[32], sb[32];
	FILE *f = stdout;

	fmt_wall(r, e->end_ns, wall, sizeof(wall), false);
	fprintf(f, "%s %-7s %-16s %9s  pid %u tid %u \"", wall, trk_names[e->trk],
		sub_name(e->trk, e->sub, sb, sizeof(sb)), fmt_dur(e->delay_ns, d, sizeof(d)),
		e->pid, e->tid);
	text_str(f, e->comm, LT_COMM_LEN);
	fprintf(f, "\" cpu %u cgroup %llu", e->cpu, (unsigned long long)e->cgroup_id);
	if (e->trk == LT_TRK_SYSCALL)
		fprintf(f, " ret %lld", (long long)e->ret);
	fputc('\n', f);
	if (e->trk == LT_TRK_IRQ) {
		fputs("    (pid/tid/comm: the task it interrupted)", f);
		if ((e->sub >> 16) == LT_IRQ_HARD) {
			fputs(" handler \"", f);
			text_str(f, e->disk, sizeof(e->disk));
			fputc('"', f);
		}
		fputc('\n', f);
	}
	if (e->trk == LT_TRK_BLOCK) {
		char q[32], sv[32];

		fprintf(f, "    device ");
		text_str(f, e->disk, sizeof(e->disk));
		fprintf(f, " (%u:%u) sector %llu bytes %u: queued %s, service %s, error %lld\n",
			e->dev >> 20, e->dev & 0xfffff, (unsigned long long)e->sector, e->bytes,
			fmt_dur(e->queue_ns, q, sizeof(q)), fmt_dur(e->delay_ns - e->queue_ns, sv, sizeof(sv)),
			(long long)e->ret);
	}
	if (e->trk == LT_TRK_NET) {
		char st[32];

		fputs("    device \"", f);
		text_str(f, e->disk, sizeof(e->disk));
		if ((e->sub >> 24) == LT_NET_RX_DELIVERED)
			fprintf(f, "\" (ifindex %u) protocol %llu, %u bytes copied to user (the reader above);"
				" %s of it in the stack\n", e->dev, (unsigned long long)e->sector, e->bytes,
				fmt_dur(e->queue_ns, st, sizeof(st)));
		else
			fprintf(f, "\" (ifindex %u) %u bytes queued -> sent to the driver (sender above)\n",
				e->dev, e->bytes);
	}
	if (e->flags & LT_EV_WAKER) {
		fprintf(f, "    woken by pid %u tid %u \"", e->waker_pid, e->waker_tid);
		text_str(f, e->waker_comm, LT_COMM_LEN);
		fputs("\"\n", f);
	}
	if (e->flags & LT_EV_PREEMPTED)
		fputs("    preempted (back on the run queue, no waker)\n", f);
	if (e->flags & LT_EV_PREV) {
		fprintf(f, "    waited behind pid %u tid %u \"", e->prev_pid, e->prev_tid);
		text_str(f, e->prev_comm, LT_COMM_LEN);
		fputs("\"\n", f);
	}
	if (e->kstack_n)
		text_kstack(f, r, e->flags & LT_EV_KSTACK_BLOCKED ? "blocked in (kernel)"
								  : "sleeping in (kernel)",
			    e->kstack, e->kstack_n);
	if (ustack_len(e)) {
		char sym[512];

		fputs("    user stack:\n", f);
		for (__u32 i = 0; i < ustack_len(e); i++) {
			fputs("      ", f);
			/* file names come from the traced system too */
			text_str(f, usyms__format(r->us, e->pid, e->ustack[i], sym, sizeof(sym)), sizeof(sym));
			fputc('\n', f);
		}
	}
	if (e->wstack_n)
		text_kstack(f, r, "waker (kernel)", e->wstack, e->wstack_n);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct run *r = ctx;
	const struct lt_event *e = data;

	if (len < sizeof(*e) || e->trk >= LT_TRK_MAX)
		return 0;
	if (r->json)
		print_json_event(r, e);
	else
		print_text_event(r, e);
	/* A storm can keep ring_buffer__poll busy: check the clock now and then. */
	if (!(++r->nr_events & 1023) && r->deadline_ns && mono_ns() >= r->deadline_ns)
		stop = 1;
	return stop ? -EINTR : 0;
}

/* ---- stuck syscalls ---- */

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static uint32_t tgid_of(uint32_t tid)
{
	char path[64], line[128];
	uint32_t tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %u", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* Name of a block device from its dev_t (major << 20 | minor), as in /sys;
 * "?" when it is gone. */
static void disk_name(uint32_t dev, char *buf, size_t len)
{
	char path[64], link[256];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", dev >> 20, dev & 0xfffff);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	link[n] = 0;
	base = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	snprintf(buf, len, "%.*s", (int)(len - 1), base);
}

static void on_stuck(void *ctx, enum lt_trk trk, uint32_t tid, uint64_t begin, uint32_t sub)
{
	struct run *r = ctx;
	char path[64], comm[64], sb[32], wall[64], d[32], line[256];
	uint64_t age = mono_ns() - begin;
	uint32_t tgid = tgid_of(tid);
	bool first = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", tid);
	read_line(path, comm, sizeof(comm));
	fmt_wall(r, mono_ns(), wall, sizeof(wall), r->json);
	if (r->json) {
		fprintf(stdout, "{\"type\":\"stuck\",\"tracker\":\"%s\",\"time\":\"%s\",\"begin_ns\":%" PRIu64
			",\"age_ns\":%" PRIu64 ",\"pid\":%u,\"tid\":%u,\"comm\":",
			trk_names[trk], wall, begin, age, tgid, tid);
		json_str(stdout, comm, sizeof(comm));
		fprintf(stdout, ",\"class\":\"%s\",\"kstack\":[", sub_name(trk, sub, sb, sizeof(sb)));
	} else {
		fprintf(stdout, "%s %-7s %-16s STUCK for %s  pid %u tid %u \"", wall, trk_names[trk],
			sub_name(trk, sub, sb, sizeof(sb)), fmt_dur(age, d, sizeof(d)), tgid, tid);
		text_str(stdout, comm, sizeof(comm));
		fputs("\" (still in flight)\n    current kernel stack (/proc):\n", stdout);
	}
	/* The task has not run since it blocked: its stack now is where it blocked. */
	snprintf(path, sizeof(path), "/proc/%u/stack", tid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *s = strchr(line, ']');

		s = s ? s + 1 : line;
		while (*s == ' ')
			s++;
		s[strcspn(s, "\n")] = 0;
		if (r->json) {
			if (!first)
				fputc(',', stdout);
			json_str(stdout, s, sizeof(line));
		} else {
			fputs("      ", stdout);
			text_str(stdout, s, sizeof(line));
			fputc('\n', stdout);
		}
		first = false;
	}
	if (f)
		fclose(f);
	if (r->json)
		fputs("]}\n", stdout);
}

/* A block request in flight longer than the block timeout: what the
 * in-flight record knows (device, op, sector, bytes, submitter, times);
 * it is reported again as an outlier if it completes above the threshold. */
static void on_stuck_block(void *ctx, const struct trk_blk_stuck *b)
{
	struct run *r = ctx;
	const struct lt_blk_start *v = &b->v;
	char disk[64], sb[32], wall[64], d[32], q[32], sv[32];
	bool issued = v->issue_ns != 0;
	uint64_t queue_ns = issued ? (v->insert_ns && v->issue_ns >= v->insert_ns ? v->issue_ns - v->insert_ns : 0)
				   : b->age_ns;
	uint64_t service_ns = issued ? b->begin_ns + b->age_ns - v->issue_ns : 0;
	uint32_t sub = LT_BLK_SUB(LT_BLK_TOTAL, v->op);

	disk_name(v->dev, disk, sizeof(disk));
	fmt_wall(r, b->begin_ns + b->age_ns, wall, sizeof(wall), r->json);
	if (r->json) {
		fprintf(stdout, "{\"type\":\"stuck\",\"tracker\":\"block\",\"time\":\"%s\",\"begin_ns\":%" PRIu64
			",\"age_ns\":%" PRIu64 ",\"pid\":%u,\"tid\":%u,\"comm\":",
			wall, b->begin_ns, b->age_ns, v->pid, v->tid);
		json_str(stdout, v->comm, LT_COMM_LEN);
		fprintf(stdout, ",\"cgroup_id\":%llu,\"class\":\"%s\",\"dev\":\"%u:%u\",\"disk\":",
			(unsigned long long)v->cgroup_id, sub_name(LT_TRK_BLOCK, sub, sb, sizeof(sb)),
			v->dev >> 20, v->dev & 0xfffff);
		json_str(stdout, disk, sizeof(disk));
		fprintf(stdout, ",\"sector\":%llu,\"bytes\":%u,\"state\":\"%s\",\"queue_ns\":%" PRIu64
			",\"service_ns\":%" PRIu64 "}\n",
			(unsigned long long)v->sector, v->bytes, issued ? "issued" : "queued", queue_ns, service_ns);
		return;
	}
	fprintf(stdout, "%s %-7s %-16s STUCK for %s  pid %u tid %u \"", wall, "block",
		sub_name(LT_TRK_BLOCK, sub, sb, sizeof(sb)), fmt_dur(b->age_ns, d, sizeof(d)), v->pid, v->tid);
	text_str(stdout, v->comm, LT_COMM_LEN);
	fprintf(stdout, "\" cgroup %llu (still in flight, %s)\n    device ", (unsigned long long)v->cgroup_id,
		issued ? "issued" : "queued");
	text_str(stdout, disk, sizeof(disk));
	fprintf(stdout, " (%u:%u) sector %llu bytes %u: ", v->dev >> 20, v->dev & 0xfffff,
		(unsigned long long)v->sector, v->bytes);
	if (issued)
		fprintf(stdout, "queued %s, in service for %s\n", fmt_dur(queue_ns, q, sizeof(q)),
			fmt_dur(service_ns, sv, sizeof(sv)));
	else
		fprintf(stdout, "queued for %s, not issued yet\n", fmt_dur(queue_ns, q, sizeof(q)));
}

/* ---- per-class summary ---- */

static int cmp_count_desc(const void *a, const void *b)
{
	const struct rc_class *x = a, *y = b;

	if (x->k.trk != y->k.trk)
		return x->k.trk < y->k.trk ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

/* bcc-style bar histogram of one class, from its lowest to its highest
 * non-empty power-of-two range; a range is [LOW, HIGH).  The bar is scaled
 * to the class's fullest range. */
static void print_bars(const struct rc_class *c)
{
	int lo = -1, hi = -1;
	uint64_t top = 0;
	char a[32], b[32];

	for (int e = 0; e < RC_NR_POW2; e++)
		if (c->pow2[e]) {
			if (lo < 0)
				lo = e;
			hi = e;
			if (c->pow2[e] > top)
				top = c->pow2[e];
		}
	if (lo < 0)
		return;
	fprintf(stdout, "      %23s : %-10s %s\n", "RANGE", "COUNT", "DISTRIBUTION");
	for (int e = lo; e <= hi; e++) {
		int w = (int)((c->pow2[e] * BAR_WIDTH + top - 1) / top); /* non-empty: >= 1 star */

		if (e == RC_POW2_OVERFLOW)
			fprintf(stdout, "      %10s -> %-9s", fmt_dur(1ull << e, a, sizeof(a)), "");
		else
			fprintf(stdout, "      %10s -> %-9s", fmt_dur(e ? 1ull << e : 0, a, sizeof(a)),
				fmt_dur(1ull << (e + 1), b, sizeof(b)));
		fprintf(stdout, " : %-10" PRIu64 " |%.*s%*s|\n", c->pow2[e], w, BAR_STARS,
			BAR_WIDTH - w, "");
	}
}

/* The same ranges in a summary object: only the non-empty ones; the
 * overflow range has no hi_ns. */
static void json_bars(const struct rc_class *c)
{
	bool first = true;

	fputs(",\"hist\":[", stdout);
	for (int e = 0; e < RC_NR_POW2; e++) {
		if (!c->pow2[e])
			continue;
		fprintf(stdout, "%s{\"lo_ns\":%llu,", first ? "" : ",", e ? 1ull << e : 0ull);
		if (e != RC_POW2_OVERFLOW)
			fprintf(stdout, "\"hi_ns\":%llu,", 1ull << (e + 1));
		fprintf(stdout, "\"count\":%" PRIu64 "}", c->pow2[e]);
		first = false;
	}
	fputc(']', stdout);
}

static void print_losses(struct run *r, bool final)
{
	uint64_t d[LT_NR_DROPS], total = 0;

	if (trk_set__drops(r->set, d))
		return;
	for (int i = 0; i < LT_NR_DROPS; i++)
		total += d[i];
	if (r->json) {
		fprintf(stdout, "{\"type\":\"loss\",\"final\":%s", final ? "true" : "false");
		for (int t = 0; t < LT_TRK_MAX; t++) {
			if (!r->o.on[t])
				continue;
			fprintf(stdout, ",\"%s\":{", trk_names[t]);
			for (int k = 0; k < LT_DROP_MAX; k++)
				fprintf(stdout, "%s\"%s\":%" PRIu64, k ? "," : "", drop_names[k],
					d[t * LT_DROP_MAX + k]);
			fputc('}', stdout);
		}
		fputs("}\n", stdout);
		return;
	}
	if (!total) {
		if (final)
			fputs("lost: nothing (no ring buffer or map-full drops)\n", stdout);
		return;
	}
	fputs("LOST:", stdout);
	for (int t = 0; t < LT_TRK_MAX; t++)
		for (int k = 0; k < LT_DROP_MAX; k++)
			if (d[t * LT_DROP_MAX + k])
				fprintf(stdout, " %s.%s=%" PRIu64, trk_names[t], drop_names[k],
					d[t * LT_DROP_MAX + k]);
	fputc('\n', stdout);
}

static void print_summary(struct run *r, bool final)
{
	char sb[32], a[32], b[32], c3[32], wall[64];
	struct rc_class *c = NULL;
	size_t n = 0;

	run_classes__evict_exited(r->classes, false);
	if (run_classes__snapshot(r->classes, &c, &n)) {
		fprintf(stderr, "latrack run: cannot read the histograms\n");
		return;
	}
	qsort(c, n, sizeof(*c), cmp_count_desc);
	fmt_wall(r, mono_ns(), wall, sizeof(wall), r->json);
	if (r->json) {
		for (size_t i = 0; i < n; i++) {
			fprintf(stdout, "{\"type\":\"summary\",\"final\":%s,\"time\":\"%s\",\"tracker\":\"%s\","
				"\"class\":\"%s\",\"sub\":%u,",
				final ? "true" : "false", wall, trk_names[c[i].k.trk % LT_TRK_MAX],
				sub_name(c[i].k.trk, c[i].k.sub, sb, sizeof(sb)), c[i].k.sub);
			if (c[i].k.trk == LT_TRK_BLOCK) { /* the class is a device, not a process */
				fprintf(stdout, "\"dev\":\"%u:%u\",\"disk\":", c[i].k.tgid >> 20,
					c[i].k.tgid & 0xfffff);
			} else if (c[i].k.trk == LT_TRK_NET && c[i].k.sub >> 24 != LT_NET_RX_DELIVERED) {
				fprintf(stdout, "\"kind\":\"%s\",\"n\":%u,",
					(c[i].k.sub >> 24) == LT_NET_RX_STACK ? "rx_stack" :
					(c[i].k.sub >> 24) == LT_NET_TX_QUEUE ? "tx" :
					(c[i].k.sub >> 24) == LT_NET_DROP ? "drop" : "udp_fail",
					c[i].k.sub & 0xffffff);
				if ((c[i].k.sub >> 24) == LT_NET_DROP && (c[i].k.sub & 0xffffff) < MAX_DROP_REASONS &&
				    drop_reason_names[c[i].k.sub & 0xffffff])
				{
					fputs("\"reason\":", stdout);
					json_str(stdout, drop_reason_names[c[i].k.sub & 0xffffff], 64);
					fputs(",\"dev\":", stdout);
				}
				else
					fputs("\"dev\":", stdout);
			} else if (c[i].k.trk == LT_TRK_NET) {
				fprintf(stdout, "\"kind\":\"rx\",\"n\":%u,\"pid\":%u,%s\"comm\":",
					c[i].k.sub & 0xffffff, c[i].k.tgid, c[i].exited ? "\"exited\":true," : "");
			} else if (c[i].k.trk == LT_TRK_IRQ) {
				fprintf(stdout, "\"kind\":\"%s\",\"%s\":%u,\"handler\":",
					(c[i].k.sub >> 16) == LT_IRQ_HARD ? "hardirq" : "softirq",
					(c[i].k.sub >> 16) == LT_IRQ_HARD ? "irq" : "vector",
					c[i].k.sub & 0xffff);
			} else {
				fprintf(stdout, "\"pid\":%u,%s\"comm\":", c[i].k.tgid,
					c[i].exited ? "\"exited\":true," : "");
			}
			json_str(stdout, c[i].k.comm, LT_COMM_LEN);
			fprintf(stdout, ",\"count\":%" PRIu64 ",\"interval_count\":%" PRIu64
				",\"min_ns\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
				",\"max_ns\":%" PRIu64 ",\"mean_ns\":%.0f",
				c[i].count, c[i].intv, c[i].min, c[i].p50, c[i].p99, c[i].max, c[i].mean);
			if (r->hist)
				json_bars(&c[i]);
			fputs("}\n", stdout);
		}
	} else {
		for (int t = 0; t < LT_TRK_MAX; t++) {
			size_t shown = 0, more = 0;

			if (!r->o.on[t])
				continue;
			fprintf(stdout, "\n%s %s latency per class (since start; +INTV: since last table)%s\n",
				wall, trk_names[t], final ? ", final" : "");
			fprintf(stdout, "  %-18s %-24s %10s %8s %9s %9s %9s\n", "CLASS",
				t == LT_TRK_BLOCK ? "DEVICE" : t == LT_TRK_IRQ ? "HANDLER" :
				t == LT_TRK_NET ? "DEVICE/READER" : "PROCESS", "COUNT",
				"+INTV", "P50", "P99", "MAX");
			for (size_t i = 0; i < n; i++) {
				char proc[48];
				int len;

				if ((int)c[i].k.trk != t)
					continue;
				if (shown == TOP_CLASSES) {
					more++;
					continue;
				}
				shown++;
				fprintf(stdout, "  %-18s ", sub_name(t, c[i].k.sub, sb, sizeof(sb)));
				/* escaped comm, padded by hand: its width is not known before */
				len = 0;
				for (size_t j = 0; j < LT_COMM_LEN && c[i].k.comm[j]; j++) {
					unsigned char ch = (unsigned char)c[i].k.comm[j];

					len += (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '"') ? 4 : 1;
				}
				text_str(stdout, c[i].k.comm, LT_COMM_LEN);
				if (t == LT_TRK_BLOCK)
					len += snprintf(proc, sizeof(proc), " (%u:%u)", c[i].k.tgid >> 20,
							c[i].k.tgid & 0xfffff);
				else if (t == LT_TRK_IRQ || (t == LT_TRK_NET && !c[i].k.tgid))
					len += snprintf(proc, sizeof(proc), "%s", c[i].k.comm[0] ? "" : "-");
				else if (c[i].k.tgid)
					len += snprintf(proc, sizeof(proc), "[%u]%s", c[i].k.tgid,
							c[i].exited ? "+" : "");
				else
					len += snprintf(proc, sizeof(proc), "[exited]");
				fprintf(stdout, "%s%*s %10" PRIu64 " %8" PRIu64 " %9s %9s %9s\n", proc,
					len < 24 ? 24 - len : 0, "", c[i].count, c[i].intv,
					fmt_dur(c[i].p50, a, sizeof(a)), fmt_dur(c[i].p99, b, sizeof(b)),
					fmt_dur(c[i].max, c3, sizeof(c3)));
				if (r->hist)
					print_bars(&c[i]);
			}
			if (more)
				fprintf(stdout, "  ... %zu more classes (--json shows all)\n", more);
			if (!shown)
				fputs("  (no samples)\n", stdout);
		}
	}
	print_losses(r, final);
	fflush(stdout);
	free(c);
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: latrack run [TRACKER...] [OPTIONS] [INTERVAL [COUNT]]\n"
"\n"
"Measure kernel latencies live with eBPF and report the outliers: each one\n"
"as it happens, and the per-class histograms every INTERVAL and at exit.\n"
"\n"
"Trackers (default: all):\n"
"  syscall   sys_enter -> sys_exit per thread; class: syscall x process;\n"
"            outliers carry the return value and the kernel stack where\n"
"            the syscall blocked (default threshold 10ms)\n"
"  wakeup    sched_waking/preemption -> switched in (run-queue latency);\n"
"            class: CPU x process; outliers carry the waker and the task\n"
"            it waited behind (default threshold 5ms)\n"
"  offcpu    switched out asleep -> switched in; class: task state x\n"
"            process; outliers carry the sleeper's stack and the waker\n"
"            (default threshold 1s)\n"
"  block     block_rq_insert -> issue -> complete per request; classes:\n"
"            device x operation, queued and service time; outliers carry\n"
"            sector, bytes and the submitting task (default threshold 10ms)\n"
"  irq       hard IRQ handlers (entry -> exit) and softirqs (raise -> entry:\n"
"            wait; entry -> exit: run) per CPU; classes: IRQ number or\n"
"            vector; outliers carry the CPU and the interrupted task\n"
"            (default threshold 1ms; filters do not apply)\n"
"  net       UDP datagrams: netif_receive_skb -> queued to the socket\n"
"            (rx stack) -> recv() by the reader (rx, exact per datagram:\n"
"            per-socket FIFO of arrival times; TCP is not followed);\n"
"            net_dev_queue -> net_dev_start_xmit (tx); drops counted per\n"
"            kfree_skb reason and UDP queueing error; classes: device x\n"
"            rx/tx (rx: x reader); outliers carry the reader or sender,\n"
"            device, bytes (default threshold 10ms; filters apply to the\n"
"            reader and the sender; stack and drop counts only without)\n"
"\n"
"Options:\n"
"  -T, --trackers LIST      comma-separated trackers (same as naming them)\n"
"  -m, --threshold [TRK=]D  report delays above D (units ns/us/ms/s, default ms);\n"
"                           without TRK= it applies to every tracker; repeatable\n"
"      --timeout [TRK=]D    report a syscall or block request still in flight\n"
"                           after D once as stuck (defaults: syscall 1s,\n"
"                           block 5s; units as above, default s); without\n"
"                           TRK= it applies to both; repeatable\n"
"  -p, --pid PID            measure only this process\n"
"  -t, --tid TID            measure only this thread\n"
"  -c, --cgroup PATH        measure only tasks in this cgroup v2 (or below);\n"
"                           relative paths start at the cgroup2 mount\n"
"      --comm NAME          measure only threads with this comm\n"
"  -i, --interval D         print the histograms every D (default unit s)\n"
"  -d, --duration D         stop after D (default unit s)\n"
"      --json               one JSON object per line: outliers, stuck, summary, loss\n"
"      --hist               a bar histogram per class (power-of-two ranges) in\n"
"                           the tables; with --json, \"hist\" in each summary\n"
"      --max-classes N      histogram classes kept in the kernel; each costs\n"
"                           nr_cpus x 9.5 KiB, preallocated (default: 32 MiB\n"
"                           worth, 128..2048; 256 at most with a filter);\n"
"                           samples of classes beyond are counted as hist_full\n"
"      --ringbuf KIB        ring buffer for outliers (default 1024 KiB, power of 2);\n"
"                           outliers that find it full are counted as lost\n"
"      --raw-tp             use raw_tp hooks even where tp_btf works\n"
"  -v, --verbose            libbpf debug output (verifier log)\n"
"  -h, --help               this help\n"
"\n"
"Thresholds live in the BPF map lt_thresh (index 0 syscall, 1 wakeup,\n"
"2 offcpu, 3 block, 4 irq, 5 net; u64 ns) and may be changed while running, e.g.\n"
"  bpftool map update id ID key 0 0 0 0 value hex 80 96 98 00 00 00 00 00\n"
"(syscall threshold to 10 ms; ID is printed at start).\n"
"\n"
"Filters apply to the measured task: for wakeup, the task being woken;\n"
"for block, the task that submitted the request.\n"
"Needs root (CAP_BPF + CAP_PERFMON) and a kernel with BTF.\n"
"\n"
"EXAMPLES:\n"
"  latrack run                         all trackers, default thresholds, until Ctrl-C\n"
"  latrack run syscall -m 50ms -p 1234 syscalls of process 1234 slower than 50 ms\n"
"  latrack run -T wakeup -m 1ms 5      run-queue delays over 1 ms, tables every 5 s\n"
"  latrack run offcpu -m 100ms --comm nginx\n"
"                                      nginx threads asleep for more than 100 ms\n"
"  latrack run -c system.slice/ssh.service -d 30 --json > out.jsonl\n"
"                                      30 s of outliers of one service, as JSON\n"
"  latrack run syscall -m 0 -t 42      every syscall of thread 42\n"
"  latrack run block -m 50ms 10        block requests over 50 ms, tables every 10 s\n"
"  latrack run block --timeout block=2s -m 100ms\n"
"                                      block requests over 100 ms, and those still\n"
"                                      in flight after 2 s as they hang\n"
"  latrack run net -m 5ms --comm dnsmasq\n"
"                                      datagrams dnsmasq read more than 5 ms after arrival\n"
"  latrack run syscall --hist -p 1234 -d 10\n"
"                                      10 s of one process's syscalls, with bar histograms\n");
}

#define CGROUP2_MAGIC 0x63677270 /* CGROUP2_SUPER_MAGIC */

static bool is_cgroup2(const char *path)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == CGROUP2_MAGIC;
}

/* PATH: absolute, or relative to the cgroup v2 mount (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on hybrid systems). */
static int cgroup_id(const char *path, uint64_t *id)
{
	char buf[4096];
	struct stat st;

	if (path[0] != '/') {
		snprintf(buf, sizeof(buf), "%s/%s",
			 is_cgroup2("/sys/fs/cgroup") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified", path);
		path = buf;
	}
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || !is_cgroup2(path))
		return -ENOTDIR;
	*id = st.st_ino; /* a cgroup v2 id is its kernfs inode number */
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || !v || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int is_number(const char *s)
{
	return *s && strspn(s, "0123456789.") == strlen(s);
}

int cmd_run(int argc, char **argv)
{
	enum { OPT_COMM = 256, OPT_JSON, OPT_TIMEOUT, OPT_RAWTP, OPT_CLASSES, OPT_RINGBUF, OPT_HIST };
	static const struct option lopts[] = {
		{ "trackers", required_argument, NULL, 'T' },
		{ "threshold", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "hist", no_argument, NULL, OPT_HIST },
		{ "raw-tp", no_argument, NULL, OPT_RAWTP },
		{ "max-classes", required_argument, NULL, OPT_CLASSES },
		{ "ringbuf", required_argument, NULL, OPT_RINGBUF },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct run r = { 0 };
	bool th_set[LT_TRK_MAX] = { 0 }, any_trk = false;
	struct ring_buffer *rb = NULL;
	struct sigaction sa = { 0 };
	const char *cg_path = NULL;
	struct timespec rt, mt;
	int opt, err, ret = 1, npos = 0;
	uint64_t next_sweep, next_print = 0, next_evict, start;
	char errbuf[256];
	long printed = 0;
	bool by_count = false; /* the last interval table was the final one */

	memcpy(r.o.thresh_ns, default_thresh_ns, sizeof(r.o.thresh_ns));
	memcpy(r.timeout_ns, default_timeout_ns, sizeof(r.timeout_ns));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "T:m:p:t:c:i:d:vh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'T':
			if (parse_trackers(optarg, r.o.on))
				return 2;
			any_trk = true;
			break;
		case 'm':
			if (parse_threshold(optarg, r.o.thresh_ns, th_set))
				return 2;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, r.timeout_ns))
				return 2;
			break;
		case 'p':
			if (parse_u32(optarg, &r.o.f.tgid)) {
				fprintf(stderr, "latrack run: bad PID '%s'\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_u32(optarg, &r.o.f.tid)) {
				fprintf(stderr, "latrack run: bad TID '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			cg_path = optarg;
			break;
		case OPT_COMM:
			if (strlen(optarg) >= LT_COMM_LEN) {
				fprintf(stderr, "latrack run: --comm '%s' is longer than a comm (15 bytes)\n", optarg);
				return 2;
			}
			strncpy(r.o.f.comm, optarg, LT_COMM_LEN - 1);
			r.o.f.comm_on = true;
			break;
		case 'i':
			if (parse_dur(optarg, NS_PER_S, &r.interval_ns) || !r.interval_ns) {
				fprintf(stderr, "latrack run: bad interval '%s'\n", optarg);
				return 2;
			}
			break;
		case 'd':
			if (parse_dur(optarg, NS_PER_S, &r.duration_ns) || !r.duration_ns) {
				fprintf(stderr, "latrack run: bad duration '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_JSON:
			r.json = true;
			break;
		case OPT_HIST:
			r.hist = true;
			break;
		case OPT_CLASSES:
			if (parse_u32(optarg, &r.o.max_classes)) {
				fprintf(stderr, "latrack run: bad --max-classes '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_RINGBUF: {
			uint32_t kib;
			long page = sysconf(_SC_PAGESIZE);

			if (parse_u32(optarg, &kib) || kib > (1u << 20) || (kib & (kib - 1)) ||
			    (uint64_t)kib * 1024 < (uint64_t)page) {
				fprintf(stderr, "latrack run: --ringbuf takes KiB, a power of 2, at least a page\n");
				return 2;
			}
			r.o.ringbuf_bytes = kib * 1024;
			break;
		}
		case OPT_RAWTP:
			r.o.force_raw_tp = true;
			break;
		case 'v':
			r.o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (is_number(argv[i])) {
			if (npos == 0) {
				if (parse_dur(argv[i], NS_PER_S, &r.interval_ns) || !r.interval_ns) {
					fprintf(stderr, "latrack run: bad interval '%s'\n", argv[i]);
					return 2;
				}
			} else if (npos == 1) {
				r.count = strtol(argv[i], NULL, 10);
				if (r.count <= 0) {
					fprintf(stderr, "latrack run: bad count '%s'\n", argv[i]);
					return 2;
				}
			} else {
				fprintf(stderr, "latrack run: too many numbers (INTERVAL [COUNT])\n");
				return 2;
			}
			npos++;
			continue;
		}
		if (parse_trackers(argv[i], r.o.on))
			return 2;
		any_trk = true;
	}
	if (!any_trk) {
		for (int t = 0; t < LT_TRK_MAX; t++)
			r.o.on[t] = true;
		/* The net tracker's socket tracepoints are recent: a kernel
		 * without them still runs the others when none was named. */
		if (libbpf_find_vmlinux_btf_id("sk_data_ready", BPF_TRACE_RAW_TP) <= 0 ||
		    libbpf_find_vmlinux_btf_id("sock_recv_length", BPF_TRACE_RAW_TP) <= 0) {
			r.o.on[LT_TRK_NET] = false;
			fprintf(stderr, "latrack run: this kernel has no sk_data_ready/sock_recv_length "
					"tracepoints: net tracker left out\n");
		}
	}
	if (cg_path) {
		err = cgroup_id(cg_path, &r.o.f.cgid);
		if (err) {
			fprintf(stderr, "latrack run: cgroup '%s': %s\n", cg_path,
				err == -ENOTDIR ? "not a cgroup v2 directory" : strerror(-err));
			return 2;
		}
	}
	if (!r.o.max_classes)
		r.o.max_classes = trk_default_classes(r.o.f.tgid || r.o.f.tid || r.o.f.comm_on || r.o.f.cgid);
	if (geteuid() != 0) {
		fprintf(stderr, "latrack run: needs root (CAP_BPF and CAP_PERFMON) to load BPF programs\n");
		return 1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "latrack run: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
				"CONFIG_DEBUG_INFO_BTF=y is needed\n");
		return 1;
	}

	err = trk_set__start(&r.set, &r.o, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "latrack run: %s\n", errbuf);
		goto out;
	}
	/* After load: kallsyms then lists our own BPF programs too. */
	r.ks = ksyms__load();
	if (!r.ks)
		fprintf(stderr, "latrack run: cannot read /proc/kallsyms (%s): stacks unsymbolised\n",
			strerror(errno));
	r.us = usyms__new();
	if (!r.us) {
		fprintf(stderr, "latrack run: libelf: %s\n", strerror(errno));
		goto out;
	}
	r.classes = run_classes__new(trk_set__hists_fd(r.set));
	if (!r.classes) {
		fprintf(stderr, "latrack run: %s\n", strerror(errno));
		goto out;
	}
	rb = ring_buffer__new(trk_set__events_fd(r.set), on_event, &r, NULL);
	if (!rb) {
		fprintf(stderr, "latrack run: cannot open the ring buffer: %s\n", strerror(errno));
		goto out;
	}
	if (r.o.on[LT_TRK_NET])
		load_drop_reasons(); /* names in the tables; absent: numbers */
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	r.wall_off = ((int64_t)rt.tv_sec - (int64_t)mt.tv_sec) * (int64_t)NS_PER_S +
		     (rt.tv_nsec - mt.tv_nsec);
	start = mono_ns();
	if (r.duration_ns)
		r.deadline_ns = start + r.duration_ns;
	next_sweep = start + 250 * NS_PER_MS;
	next_evict = start + NS_PER_S;
	if (r.interval_ns)
		next_print = start + r.interval_ns;

	fprintf(stderr, "latrack run: tracing");
	for (int t = 0, first = 1; t < LT_TRK_MAX; t++)
		if (r.o.on[t]) {
			char d[32];

			fprintf(stderr, "%s%s>%s", first ? " " : ", ", trk_names[t],
				fmt_dur(r.o.thresh_ns[t], d, sizeof(d)));
			first = 0;
		}
	fprintf(stderr, " (%s hooks); thresholds: BPF map id %u... Ctrl-C to end.\n",
		trk_set__hook_kind(r.set), trk_set__thresh_map_id(r.set));

	while (!stop) {
		uint64_t now;

		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "latrack run: ring buffer: %s\n", strerror(-err));
			goto out;
		}
		now = mono_ns();
		if (now >= next_sweep) {
			if (r.o.on[LT_TRK_SYSCALL])
				trk_set__sweep(r.set, now, r.timeout_ns[LT_TRK_SYSCALL], on_stuck, &r);
			if (r.o.on[LT_TRK_BLOCK])
				trk_set__sweep_block(r.set, now, r.timeout_ns[LT_TRK_BLOCK], on_stuck_block, &r);
			next_sweep = now + 250 * NS_PER_MS;
		}
		if (now >= next_evict) {
			run_classes__evict_exited(r.classes, false);
			next_evict = now + NS_PER_S;
		}
		if (r.interval_ns && now >= next_print) {
			print_summary(&r, r.count && printed + 1 >= r.count);
			next_print += r.interval_ns;
			if (r.count && ++printed >= r.count) {
				by_count = true;
				break;
			}
		}
		if (r.deadline_ns && now >= r.deadline_ns)
			break;
		fflush(stdout);
	}
	/* What is already in the ring buffer is reported too. */
	stop = 0;
	r.deadline_ns = 0;
	ring_buffer__consume(rb);
	if (!by_count)
		print_summary(&r, true);
	ret = 0;
out:
	ring_buffer__free(rb);
	trk_set__destroy(r.set);
	ksyms__free(r.ks);
	run_classes__free(r.classes);
	usyms__free(r.us);
	free_drop_reasons();
	return ret;
}
