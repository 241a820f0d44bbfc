/* Names, parsing and formatting of what the kernel trackers report:
 * outliers (text blocks with symbolised stacks, or one JSON object),
 * stuck events, class names, durations.  Shared by `latrack run`, the
 * daemon's outputs and `latrack top`.  Everything that comes from the
 * traced system (comm, file names, device names) is escaped here. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "evfmt.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

static const char *const syscall_names[] = {
#include "syscall_names.h"
};

const char *const ev_trk_names[LT_TRK_MAX] = { "syscall", "wakeup", "offcpu", "block", "irq", "net" };
static const char *const softirq_names[LT_NR_SOFTIRQS] = {
	"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
};
const uint64_t ev_default_thresh_ns[LT_TRK_MAX] = {
	10000000ull,   /* syscall: 10 ms */
	5000000ull,    /* wakeup: 5 ms of run-queue wait */
	1000000000ull, /* offcpu: 1 s */
	10000000ull,   /* block: 10 ms from insert (or issue) to completion */
	1000000ull,    /* irq: 1 ms in a handler or waiting for a softirq */
	10000000ull,   /* net: 10 ms from reception to the reader (or in a tx queue) */
};
/* Trackers swept for events stuck in flight; 0: no timeout. */
const uint64_t ev_default_timeout_ns[LT_TRK_MAX] = {
	[LT_TRK_SYSCALL] = 1000000000ull, /* 1 s */
	[LT_TRK_BLOCK] = 5000000000ull,   /* 5 s */
};
const char *const ev_drop_names[LT_DROP_MAX] = { "ringbuf", "inflight_full", "hist_full", "stack" };

/* Names of the kernel's drop reasons (enum skb_drop_reason in its BTF,
 * without the SKB_DROP_REASON_ prefix), indexed by value; NULL when the
 * kernel has none of that value. */
#define MAX_DROP_REASONS 1024
char *ev_drop_reason_names[MAX_DROP_REASONS];

void ev_load_drop_reasons(void)
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

		if (!name || e->val < 0 || e->val >= MAX_DROP_REASONS || ev_drop_reason_names[e->val])
			continue;
		if (!strncmp(name, "SKB_DROP_REASON_", 16))
			name += 16;
		ev_drop_reason_names[e->val] = strdup(name);
	}
	btf__free(btf);
}

void ev_free_drop_reasons(void)
{
	for (int i = 0; i < MAX_DROP_REASONS; i++) {
		free(ev_drop_reason_names[i]);
		ev_drop_reason_names[i] = NULL;
	}
}

/* "10ms", "1.5s", "250us", "100" (in default_unit ns). */
int ev_parse_dur(const char *s, uint64_t default_unit, uint64_t *out)
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

int ev_trk_by_name(const char *s, size_t len)
{
	for (int t = 0; t < LT_TRK_MAX; t++)
		if (strlen(ev_trk_names[t]) == len && !strncmp(ev_trk_names[t], s, len))
			return t;
	return -1;
}

/* "syscall,wakeup" */
int ev_parse_trackers(const char *s, bool on[LT_TRK_MAX])
{
	while (*s) {
		size_t len = strcspn(s, ",");
		int t = ev_trk_by_name(s, len);

		if (t < 0) {
			fprintf(stderr, "latrack: unknown tracker '%.*s' (known: syscall, wakeup, offcpu, block, irq, net)\n",
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
int ev_parse_threshold(const char *s, uint64_t th[LT_TRK_MAX], bool set[LT_TRK_MAX])
{
	const char *eq = strchr(s, '=');
	uint64_t ns;
	int t = -1;

	if (eq) {
		t = ev_trk_by_name(s, (size_t)(eq - s));
		if (t < 0) {
			fprintf(stderr, "latrack: unknown tracker in threshold '%s'\n", s);
			return -EINVAL;
		}
		s = eq + 1;
	}
	if (ev_parse_dur(s, NS_PER_MS, &ns)) {
		fprintf(stderr, "latrack: bad threshold '%s' (e.g. 10ms, 500us, 1s)\n", s);
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
int ev_parse_timeout(const char *s, uint64_t to[LT_TRK_MAX])
{
	const char *eq = strchr(s, '=');
	uint64_t ns;
	int t = -1;

	if (eq) {
		t = ev_trk_by_name(s, (size_t)(eq - s));
		if (t < 0 || !ev_default_timeout_ns[t]) {
			fprintf(stderr, "latrack: %s tracker in --timeout '%s' (timeouts: syscall, block)\n",
				t < 0 ? "unknown" : "no timeout for the", s);
			return -EINVAL;
		}
		s = eq + 1;
	}
	if (ev_parse_dur(s, NS_PER_S, &ns) || !ns) {
		fprintf(stderr, "latrack: bad --timeout '%s' (e.g. 1s, 500ms, block=2s)\n", s);
		return -EINVAL;
	}
	for (int i = 0; i < LT_TRK_MAX; i++)
		if ((t < 0 && ev_default_timeout_ns[i]) || t == i)
			to[i] = ns;
	return 0;
}

/* ---- escaping of strings from the traced system ---- */

void ev_json_str(FILE *f, const char *s, size_t max)
{
	size_t i = 0;

	fputc('"', f);
	while (i < max && s[i]) {
		size_t run = i;
		unsigned char c;

		/* runs of plain bytes in one write: this is the hot part of rendering */
		while (run < max && s[run] && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x7f &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i)
			fwrite(s + i, 1, run - i, f);
		i = run;
		if (i >= max || !s[i])
			break;
		c = (unsigned char)s[i++];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else /* control bytes, and non-UTF-8 bytes: keep the JSON valid */
			fprintf(f, "\\u%04x", c);
	}
	fputc('"', f);
}

void ev_text_str(FILE *f, const char *s, size_t max)
{
	size_t i = 0;

	while (i < max && s[i]) {
		size_t run = i;

		while (run < max && s[run] && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x7f &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i)
			fwrite(s + i, 1, run - i, f);
		i = run;
		if (i < max && s[i])
			fprintf(f, "\\x%02x", (unsigned char)s[i++]);
	}
}

const char *ev_fmt_dur(uint64_t ns, char *buf, size_t len)
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

const char *ev_sub_name(uint32_t trk, uint32_t sub, char *buf, size_t len)
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
		else if (kind == LT_NET_DROP && n < MAX_DROP_REASONS && ev_drop_reason_names[n])
			snprintf(buf, len, "drop %s", ev_drop_reason_names[n]);
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

void ev_fmt_wall(const struct evfmt *r, uint64_t mono, char *buf, size_t len, bool iso)
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
__u32 ev_first_real_frame(const struct evfmt *r, const __u64 *ips, __u32 n)
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

static void json_kstack(FILE *f, const struct evfmt *r, const char *name, const __u64 *ips, __u32 n)
{
	__u32 first = ev_first_real_frame(r, ips, n);
	char sym[256];

	fprintf(f, ",\"%s\":[", name);
	for (__u32 i = first; i < n && i < LT_KSTACK_MAX; i++) {
		if (i > first)
			fputc(',', f);
		ev_json_str(f, ksyms__format(r->ks, ips[i], sym, sizeof(sym)), sizeof(sym));
	}
	fputc(']', f);
}

static void json_who(FILE *f, const char *name, __u32 pid, __u32 tid, const char *comm)
{
	fprintf(f, ",\"%s\":{\"pid\":%u,\"tid\":%u,\"comm\":", name, pid, tid);
	ev_json_str(f, comm, LT_COMM_LEN);
	fputc('}', f);
}

/* Unused trailing frames of a user stack are zero (frame-pointer walk ended). */
__u32 ev_ustack_len(const struct lt_event *e)
{
	__u32 n = e->ustack_n < LT_USTACK_MAX ? e->ustack_n : LT_USTACK_MAX;

	while (n && !e->ustack[n - 1])
		n--;
	return n;
}

void ev_print_json(const struct evfmt *r, FILE *f, const struct lt_event *e)
{
	char wall[64], sb[32];

	ev_fmt_wall(r, e->end_ns, wall, sizeof(wall), true);
	fprintf(f, "{\"type\":\"outlier\",\"tracker\":\"%s\",\"time\":\"%s\","
		"\"begin_ns\":%llu,\"end_ns\":%llu,\"delay_ns\":%llu,\"pid\":%u,\"tid\":%u,\"comm\":",
		ev_trk_names[e->trk], wall, (unsigned long long)e->begin_ns,
		(unsigned long long)e->end_ns, (unsigned long long)e->delay_ns, e->pid, e->tid);
	ev_json_str(f, e->comm, LT_COMM_LEN);
	fprintf(f, ",\"cgroup_id\":%llu,\"cpu\":%u,\"class\":\"%s\"",
		(unsigned long long)e->cgroup_id, e->cpu, ev_sub_name(e->trk, e->sub, sb, sizeof(sb)));
	if (e->trk == LT_TRK_SYSCALL)
		fprintf(f, ",\"syscall\":\"%s\",\"nr\":%u,\"ret\":%lld",
			ev_sub_name(e->trk, e->sub, sb, sizeof(sb)), e->sub, (long long)e->ret);
	if (e->trk == LT_TRK_IRQ && (e->sub >> 16) == LT_IRQ_HARD) {
		fprintf(f, ",\"irq\":%u,\"handler\":", e->sub & 0xffff);
		ev_json_str(f, e->disk, sizeof(e->disk));
	}
	if (e->trk == LT_TRK_BLOCK) {
		fprintf(f, ",\"dev\":\"%u:%u\",\"disk\":", e->dev >> 20, e->dev & 0xfffff);
		ev_json_str(f, e->disk, sizeof(e->disk));
		fprintf(f, ",\"sector\":%llu,\"bytes\":%u,\"queue_ns\":%llu,\"service_ns\":%llu,\"error\":%lld",
			(unsigned long long)e->sector, e->bytes, (unsigned long long)e->queue_ns,
			(unsigned long long)(e->delay_ns - e->queue_ns), (long long)e->ret);
	}
	if (e->trk == LT_TRK_NET) {
		bool rx = (e->sub >> 24) == LT_NET_RX_DELIVERED;

		fprintf(f, ",\"dir\":\"%s\",\"ifindex\":%u,\"dev\":", rx ? "rx" : "tx", e->dev);
		ev_json_str(f, e->disk, sizeof(e->disk));
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
	if (ev_ustack_len(e)) {
		char sym[512];

		fprintf(f, ",\"ustack\":[");
		for (__u32 i = 0; i < ev_ustack_len(e); i++) {
			if (i)
				fputc(',', f);
			ev_json_str(f, usyms__format(r->us, e->pid, e->ustack[i], sym, sizeof(sym)), sizeof(sym));
		}
		fputc(']', f);
	}
	if (e->wstack_n)
		json_kstack(f, r, "waker_kstack", e->wstack, e->wstack_n);
	fputs("}\n", f);
}

static void text_kstack(FILE *f, const struct evfmt *r, const char *title, const __u64 *ips, __u32 n)
{
	char sym[256];

	fprintf(f, "    %s:\n", title);
	for (__u32 i = ev_first_real_frame(r, ips, n); i < n && i < LT_KSTACK_MAX; i++)
		fprintf(f, "      %s\n", ksyms__format(r->ks, ips[i], sym, sizeof(sym)));
}

void ev_print_text(const struct evfmt *r, FILE *f, const struct lt_event *e)
{
	char wall[64], d[32], sb[32];

	ev_fmt_wall(r, e->end_ns, wall, sizeof(wall), false);
	fprintf(f, "%s %-7s %-16s %9s  pid %u tid %u \"", wall, ev_trk_names[e->trk],
		ev_sub_name(e->trk, e->sub, sb, sizeof(sb)), ev_fmt_dur(e->delay_ns, d, sizeof(d)),
		e->pid, e->tid);
	ev_text_str(f, e->comm, LT_COMM_LEN);
	fprintf(f, "\" cpu %u cgroup %llu", e->cpu, (unsigned long long)e->cgroup_id);
	if (e->trk == LT_TRK_SYSCALL)
		fprintf(f, " ret %lld", (long long)e->ret);
	fputc('\n', f);
	if (e->trk == LT_TRK_IRQ) {
		fputs("    (pid/tid/comm: the task it interrupted)", f);
		if ((e->sub >> 16) == LT_IRQ_HARD) {
			fputs(" handler \"", f);
			ev_text_str(f, e->disk, sizeof(e->disk));
			fputc('"', f);
		}
		fputc('\n', f);
	}
	if (e->trk == LT_TRK_BLOCK) {
		char q[32], sv[32];

		fprintf(f, "    device ");
		ev_text_str(f, e->disk, sizeof(e->disk));
		fprintf(f, " (%u:%u) sector %llu bytes %u: queued %s, service %s, error %lld\n",
			e->dev >> 20, e->dev & 0xfffff, (unsigned long long)e->sector, e->bytes,
			ev_fmt_dur(e->queue_ns, q, sizeof(q)), ev_fmt_dur(e->delay_ns - e->queue_ns, sv, sizeof(sv)),
			(long long)e->ret);
	}
	if (e->trk == LT_TRK_NET) {
		char st[32];

		fputs("    device \"", f);
		ev_text_str(f, e->disk, sizeof(e->disk));
		if ((e->sub >> 24) == LT_NET_RX_DELIVERED)
			fprintf(f, "\" (ifindex %u) protocol %llu, %u bytes copied to user (the reader above);"
				" %s of it in the stack\n", e->dev, (unsigned long long)e->sector, e->bytes,
				ev_fmt_dur(e->queue_ns, st, sizeof(st)));
		else
			fprintf(f, "\" (ifindex %u) %u bytes queued -> sent to the driver (sender above)\n",
				e->dev, e->bytes);
	}
	if (e->flags & LT_EV_WAKER) {
		fprintf(f, "    woken by pid %u tid %u \"", e->waker_pid, e->waker_tid);
		ev_text_str(f, e->waker_comm, LT_COMM_LEN);
		fputs("\"\n", f);
	}
	if (e->flags & LT_EV_PREEMPTED)
		fputs("    preempted (back on the run queue, no waker)\n", f);
	if (e->flags & LT_EV_PREV) {
		fprintf(f, "    waited behind pid %u tid %u \"", e->prev_pid, e->prev_tid);
		ev_text_str(f, e->prev_comm, LT_COMM_LEN);
		fputs("\"\n", f);
	}
	if (e->kstack_n)
		text_kstack(f, r, e->flags & LT_EV_KSTACK_BLOCKED ? "blocked in (kernel)"
								  : "sleeping in (kernel)",
			    e->kstack, e->kstack_n);
	if (ev_ustack_len(e)) {
		char sym[512];

		fputs("    user stack:\n", f);
		for (__u32 i = 0; i < ev_ustack_len(e); i++) {
			fputs("      ", f);
			/* file names come from the traced system too */
			ev_text_str(f, usyms__format(r->us, e->pid, e->ustack[i], sym, sizeof(sym)), sizeof(sym));
			fputc('\n', f);
		}
	}
	if (e->wstack_n)
		text_kstack(f, r, "waker (kernel)", e->wstack, e->wstack_n);
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

uint32_t ev_tgid_of(uint32_t tid)
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
void ev_disk_name(uint32_t dev, char *buf, size_t len)
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

void ev_print_stuck(const struct evfmt *r, FILE *out, bool json, enum lt_trk trk, uint32_t tid,
		    uint64_t begin, uint32_t sub, uint64_t now)
{
	char path[64], comm[64], sb[32], wall[64], d[32], line[256];
	uint64_t age = now > begin ? now - begin : 0;
	uint32_t tgid = ev_tgid_of(tid);
	bool first = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", tid);
	read_line(path, comm, sizeof(comm));
	ev_fmt_wall(r, now, wall, sizeof(wall), json);
	if (json) {
		fprintf(out, "{\"type\":\"stuck\",\"tracker\":\"%s\",\"time\":\"%s\",\"begin_ns\":%" PRIu64
			",\"age_ns\":%" PRIu64 ",\"pid\":%u,\"tid\":%u,\"comm\":",
			ev_trk_names[trk], wall, begin, age, tgid, tid);
		ev_json_str(out, comm, sizeof(comm));
		fprintf(out, ",\"class\":\"%s\",\"kstack\":[", ev_sub_name(trk, sub, sb, sizeof(sb)));
	} else {
		fprintf(out, "%s %-7s %-16s STUCK for %s  pid %u tid %u \"", wall, ev_trk_names[trk],
			ev_sub_name(trk, sub, sb, sizeof(sb)), ev_fmt_dur(age, d, sizeof(d)), tgid, tid);
		ev_text_str(out, comm, sizeof(comm));
		fputs("\" (still in flight)\n    current kernel stack (/proc):\n", out);
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
		if (json) {
			if (!first)
				fputc(',', out);
			ev_json_str(out, s, sizeof(line));
		} else {
			fputs("      ", out);
			ev_text_str(out, s, sizeof(line));
			fputc('\n', out);
		}
		first = false;
	}
	if (f)
		fclose(f);
	if (json)
		fputs("]}\n", out);
}

/* A block request in flight longer than the block timeout: what the
 * in-flight record knows (device, op, sector, bytes, submitter, times);
 * it is reported again as an outlier if it completes above the threshold. */
void ev_print_stuck_block(const struct evfmt *r, FILE *out, bool json, const struct trk_blk_stuck *b)
{
	const struct lt_blk_start *v = &b->v;
	char disk[64], sb[32], wall[64], d[32], q[32], sv[32];
	bool issued = v->issue_ns != 0;
	uint64_t queue_ns = issued ? (v->insert_ns && v->issue_ns >= v->insert_ns ? v->issue_ns - v->insert_ns : 0)
				   : b->age_ns;
	uint64_t service_ns = issued ? b->begin_ns + b->age_ns - v->issue_ns : 0;
	uint32_t sub = LT_BLK_SUB(LT_BLK_TOTAL, v->op);

	ev_disk_name(v->dev, disk, sizeof(disk));
	ev_fmt_wall(r, b->begin_ns + b->age_ns, wall, sizeof(wall), json);
	if (json) {
		fprintf(out, "{\"type\":\"stuck\",\"tracker\":\"block\",\"time\":\"%s\",\"begin_ns\":%" PRIu64
			",\"age_ns\":%" PRIu64 ",\"pid\":%u,\"tid\":%u,\"comm\":",
			wall, b->begin_ns, b->age_ns, v->pid, v->tid);
		ev_json_str(out, v->comm, LT_COMM_LEN);
		fprintf(out, ",\"cgroup_id\":%llu,\"class\":\"%s\",\"dev\":\"%u:%u\",\"disk\":",
			(unsigned long long)v->cgroup_id, ev_sub_name(LT_TRK_BLOCK, sub, sb, sizeof(sb)),
			v->dev >> 20, v->dev & 0xfffff);
		ev_json_str(out, disk, sizeof(disk));
		fprintf(out, ",\"sector\":%llu,\"bytes\":%u,\"state\":\"%s\",\"queue_ns\":%" PRIu64
			",\"service_ns\":%" PRIu64 "}\n",
			(unsigned long long)v->sector, v->bytes, issued ? "issued" : "queued", queue_ns, service_ns);
		return;
	}
	fprintf(out, "%s %-7s %-16s STUCK for %s  pid %u tid %u \"", wall, "block",
		ev_sub_name(LT_TRK_BLOCK, sub, sb, sizeof(sb)), ev_fmt_dur(b->age_ns, d, sizeof(d)), v->pid, v->tid);
	ev_text_str(out, v->comm, LT_COMM_LEN);
	fprintf(out, "\" cgroup %llu (still in flight, %s)\n    device ", (unsigned long long)v->cgroup_id,
		issued ? "issued" : "queued");
	ev_text_str(out, disk, sizeof(disk));
	fprintf(out, " (%u:%u) sector %llu bytes %u: ", v->dev >> 20, v->dev & 0xfffff,
		(unsigned long long)v->sector, v->bytes);
	if (issued)
		fprintf(out, "queued %s, in service for %s\n", ev_fmt_dur(queue_ns, q, sizeof(q)),
			ev_fmt_dur(service_ns, sv, sizeof(sv)));
	else
		fprintf(out, "queued for %s, not issued yet\n", ev_fmt_dur(queue_ns, q, sizeof(q)));
}
/* ---- cgroups ---- */

#define CGROUP2_MAGIC 0x63677270 /* CGROUP2_SUPER_MAGIC */

static bool is_cgroup2(const char *path)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == CGROUP2_MAGIC;
}

/* PATH: absolute, or relative to the cgroup v2 mount (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on hybrid systems). */
int ev_cgroup_id(const char *path, uint64_t *id)
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


const char *ev_fmt_trackers(char *buf, size_t len, const bool on[LT_TRK_MAX], const uint64_t thresh_ns[LT_TRK_MAX])
{
	size_t n = 0;

	buf[0] = 0;
	for (int t = 0; t < LT_TRK_MAX && n < len; t++)
		if (on[t]) {
			char d[32];

			n += (size_t)snprintf(buf + n, len - n, "%s%s>%s", n ? ", " : "", ev_trk_names[t],
					      ev_fmt_dur(thresh_ns[t], d, sizeof(d)));
		}
	return n ? buf : "no tracker";
}

int ev_parse_u32(const char *s, uint32_t *out)
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
