/* Syscall latency from LTTng kernel traces (`syscalls`, `latency-top`).
 *
 * An lttng-modules syscall event has no tid: entry and exit belong to the
 * thread current on their CPU (trace_state).  Entries are paired with exits
 * per TID through trace_pair (the seam to lt_tracker); a syscall that began
 * before the trace (exit without entry) is counted as unmatched, one that
 * had not returned when the trace ended as never-ended, and one on a CPU
 * whose current thread is still unknown (no sched_switch seen there yet) as
 * unknown-thread: none of them silently.
 *
 * Statistics are kept per (TID, syscall) in a small table and summed per
 * syscall at print time; the N slowest syscalls stay in a min-heap. */
#include "analysis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"
#include "stat_table.h"
#include "trace_pair.h"

#define ERRS_MAX 8
/* Syscalls waiting for their exit: one per thread at most. */
#define SYSCALLS_IN_FLIGHT 16384

struct sysrec {
	int32_t tid;
	int sys;
	struct trace_stat stat;
	uint64_t ok;
	struct {
		int err;
		uint64_t n;
	} errs[ERRS_MAX];
	int nerr;
	uint64_t err_other;  /* errnos beyond ERRS_MAX distinct ones */
};

struct top {
	uint64_t delay;
	int64_t begin, end;
	int32_t tid;
	int sys;
	int cpu;
	int64_t ret;
	char comm[TRACE_COMM_MAX];
};

struct an_syscalls {
	struct trace_state *st;
	const struct report_opts *o;
	struct trace_pair *pair;

	struct sysrec *rec;
	size_t nrec, rec_cap;
	uint32_t *idx;      /* hash (tid, sys) -> rec index + 1 */
	size_t idx_cap;

	struct top *heap;   /* min-heap on delay, o->limit entries */
	size_t nheap;

	/* the exit being processed, for the pairing callback */
	int64_t cur_ret;
	int cur_cpu;
	int cur_sys;

	uint64_t unknown_thread, unmatched, mismatched, filtered, recorded;
	int nomem;
};

static void on_pair(const void *key, size_t key_len, uint64_t begin_ns, uint64_t end_ns,
		    void *priv, void *ctx);

struct an_syscalls *an_syscalls__new(struct trace_state *st, const struct report_opts *o)
{
	struct an_syscalls *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->st = st;
	a->o = o;
	a->pair = trace_pair__new(sizeof(int32_t), SYSCALLS_IN_FLIGHT, on_pair, a);
	a->heap = calloc(o->limit ? o->limit : 1, sizeof(*a->heap));
	if (!a->pair || !a->heap) {
		an_syscalls__destroy(a);
		return NULL;
	}
	return a;
}

void an_syscalls__destroy(struct an_syscalls *a)
{
	if (!a)
		return;
	trace_pair__destroy(a->pair);
	free(a->rec);
	free(a->idx);
	free(a->heap);
	free(a);
}

static size_t rec_hash(int32_t tid, int sys, size_t cap)
{
	uint64_t x = ((uint64_t)(uint32_t)tid << 32 | (uint32_t)sys) * 0x9e3779b97f4a7c15ull;

	return (size_t)(x >> 32) & (cap - 1);
}

static struct sysrec *rec_get(struct an_syscalls *a, int32_t tid, int sys)
{
	size_t j;

	if (a->idx_cap) {
		for (j = rec_hash(tid, sys, a->idx_cap); a->idx[j]; j = (j + 1) & (a->idx_cap - 1)) {
			struct sysrec *r = &a->rec[a->idx[j] - 1];

			if (r->tid == tid && r->sys == sys)
				return r;
		}
	}
	if ((a->nrec + 1) * 2 > a->idx_cap) {
		size_t nc = a->idx_cap ? a->idx_cap * 2 : 1024;
		uint32_t *n = calloc(nc, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t i = 0; i < a->nrec; i++) {
			for (j = rec_hash(a->rec[i].tid, a->rec[i].sys, nc); n[j]; j = (j + 1) & (nc - 1))
				;
			n[j] = (uint32_t)i + 1;
		}
		free(a->idx);
		a->idx = n;
		a->idx_cap = nc;
	}
	if (a->nrec == a->rec_cap) {
		size_t nc = a->rec_cap ? a->rec_cap * 2 : 256;
		struct sysrec *n = realloc(a->rec, nc * sizeof(*n));

		if (!n)
			return NULL;
		a->rec = n;
		a->rec_cap = nc;
	}
	memset(&a->rec[a->nrec], 0, sizeof(a->rec[0]));
	a->rec[a->nrec].tid = tid;
	a->rec[a->nrec].sys = sys;
	for (j = rec_hash(tid, sys, a->idx_cap); a->idx[j]; j = (j + 1) & (a->idx_cap - 1))
		;
	a->idx[j] = (uint32_t)++a->nrec;
	return &a->rec[a->nrec - 1];
}

/* Kernel errors are -1..-4095; anything else (sizes, addresses) succeeded. */
static bool is_error(int64_t ret)
{
	return ret < 0 && ret >= -4095;
}

static void count_ret(struct sysrec *r, int64_t ret)
{
	int e;

	if (!is_error(ret)) {
		r->ok++;
		return;
	}
	e = (int)-ret;
	for (int i = 0; i < r->nerr; i++)
		if (r->errs[i].err == e) {
			r->errs[i].n++;
			return;
		}
	if (r->nerr == ERRS_MAX) {
		r->err_other++;
		return;
	}
	r->errs[r->nerr].err = e;
	r->errs[r->nerr++].n = 1;
}

/* Heap order: the root is the fastest kept; ties keep the earliest. */
static bool top_less(const struct top *x, const struct top *y)
{
	if (x->delay != y->delay)
		return x->delay < y->delay;
	return x->begin > y->begin;
}

static void top_swap(struct top *x, struct top *y)
{
	struct top t = *x;

	*x = *y;
	*y = t;
}

static void top_sift_down(struct top *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && top_less(&h[l], &h[m]))
			m = l;
		if (r < n && top_less(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		top_swap(&h[i], &h[m]);
		i = m;
	}
}

static void top_add(struct an_syscalls *a, const struct top *t)
{
	size_t i;

	if (!a->o->limit)
		return;
	if (a->nheap < a->o->limit) {
		i = a->nheap++;
		a->heap[i] = *t;
		while (i && top_less(&a->heap[i], &a->heap[(i - 1) / 2])) {
			top_swap(&a->heap[i], &a->heap[(i - 1) / 2]);
			i = (i - 1) / 2;
		}
	} else if (top_less(&a->heap[0], t)) {
		a->heap[0] = *t;
		top_sift_down(a->heap, a->nheap, 0);
	}
}

static void on_pair(const void *key, size_t key_len, uint64_t begin_ns, uint64_t end_ns,
		    void *priv, void *ctx)
{
	struct an_syscalls *a = ctx;
	int32_t tid;
	int sys = (int)(intptr_t)priv - 1;
	uint64_t delay = end_ns - begin_ns;
	struct sysrec *r;
	const struct trace_thread *th;
	struct top t;

	(void)key_len;
	memcpy(&tid, key, sizeof(tid));
	/* The exit of another syscall than the pending entry means events
	 * were lost in between; the entry's name is kept, as lttng-analyses
	 * did, and the case counted. */
	if (sys != a->cur_sys)
		a->mismatched++;
	if (!report_opts__delay_ok(a->o, delay) ||
	    (a->o->cpu >= 0 && a->cur_cpu != a->o->cpu) ||
	    !report_opts__thread_ok(a->o, a->st, tid)) {
		a->filtered++;
		return;
	}
	r = rec_get(a, tid, sys);
	if (!r) {
		a->nomem = 1;
		return;
	}
	a->recorded++;
	trace_stat__record(&r->stat, delay);
	if (a->o->windows)
		an_windows__record(a->o->windows, trace_state__syscall_name(a->st, sys), delay,
				   end_ns);
	if (a->o->pics) {
		char name[80];

		snprintf(name, sizeof(name), "syscall %s", trace_state__syscall_name(a->st, sys));
		report_opts__picture(a->o, name, end_ns, delay);
	}
	report_opts__sample(a->o, AN_TRK_SYSCALL, trace_state__syscall_name(a->st, sys), tid, end_ns,
			    delay);
	count_ret(r, a->cur_ret);
	memset(&t, 0, sizeof(t));
	t.delay = delay;
	t.begin = (int64_t)begin_ns;
	t.end = (int64_t)end_ns;
	t.tid = tid;
	t.sys = sys;
	t.cpu = a->cur_cpu;
	t.ret = a->cur_ret;
	th = trace_state__thread(a->st, tid);
	snprintf(t.comm, sizeof(t.comm), "%s", th ? th->comm : "");
	top_add(a, &t);
}

void an_syscalls__event(struct an_syscalls *a, const struct trace_event *ev,
			const struct kev_class *kc)
{
	int32_t tid;

	if (kc->kind != KEV_SYS_ENTRY && kc->kind != KEV_SYS_EXIT)
		return;
	tid = trace_state__current_tid(a->st, ev->cpu);
	if (tid < 0) {
		a->unknown_thread++;
		return;
	}
	if (kc->kind == KEV_SYS_ENTRY) {
		/* -ENOSPC is counted by the tracker (dropped) and reported */
		trace_pair__begin(a->pair, &tid, sizeof(tid), (uint64_t)ev->ts_ns,
				  (void *)(intptr_t)(kc->sys + 1));
		return;
	}
	a->cur_ret = 0;
	trace_event__int_at(ev, kc->f[KF_RET], &a->cur_ret);
	a->cur_cpu = ev->cpu;
	a->cur_sys = kc->sys;
	if (trace_pair__end(a->pair, &tid, sizeof(tid), (uint64_t)ev->ts_ns) == -ENOENT)
		a->unmatched++;
}

/* ---- output ------------------------------------------------------------ */

/* glibc names the errnos user space sees; syscall exits in a kernel trace
 * also show the kernel's internal ones (include/linux/errno.h). */
static const char *const kernel_errnos[] = {
	[512 - 512] = "ERESTARTSYS", [513 - 512] = "ERESTARTNOINTR",
	[514 - 512] = "ERESTARTNOHAND", [515 - 512] = "ENOIOCTLCMD",
	[516 - 512] = "ERESTART_RESTARTBLOCK", [517 - 512] = "EPROBE_DEFER",
	[518 - 512] = "EOPENSTALE", [519 - 512] = "ENOPARAM",
};

static const char *err_name(int e, char *buf, size_t len)
{
	const char *n = strerrorname_np(e);

	if (n)
		return n;
	if (e >= 512 && e < 512 + (int)(sizeof(kernel_errnos) / sizeof(kernel_errnos[0])))
		return kernel_errnos[e - 512];
	snprintf(buf, len, "E%d", e);
	return buf;
}

static void print_rets_text(FILE *f, const struct sysrec *r)
{
	char b[16];

	fprintf(f, "success=%llu", (unsigned long long)r->ok);
	for (int i = 0; i < r->nerr; i++)
		fprintf(f, " %s=%llu", err_name(r->errs[i].err, b, sizeof(b)),
			(unsigned long long)r->errs[i].n);
	if (r->err_other)
		fprintf(f, " other-errors=%llu", (unsigned long long)r->err_other);
}

static void print_rets_json(FILE *f, const struct sysrec *r)
{
	char b[16];

	fprintf(f, "{\"success\": %llu", (unsigned long long)r->ok);
	for (int i = 0; i < r->nerr; i++)
		fprintf(f, ", \"%s\": %llu", err_name(r->errs[i].err, b, sizeof(b)),
			(unsigned long long)r->errs[i].n);
	if (r->err_other)
		fprintf(f, ", \"other-errors\": %llu", (unsigned long long)r->err_other);
	fputc('}', f);
}

static const struct trace_state *sort_st;

static int cmp_rec(const void *x, const void *y)
{
	const struct sysrec *a = x, *b = y;

	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return strcmp(trace_state__syscall_name(sort_st, a->sys),
		      trace_state__syscall_name(sort_st, b->sys));
}

static void add_err(struct sysrec *r, int err, uint64_t n)
{
	for (int i = 0; i < r->nerr; i++)
		if (r->errs[i].err == err) {
			r->errs[i].n += n;
			return;
		}
	if (r->nerr == ERRS_MAX) {
		r->err_other += n;
		return;
	}
	r->errs[r->nerr].err = err;
	r->errs[r->nerr++].n = n;
}

static void merge_rec(struct sysrec *into, const struct sysrec *from)
{
	trace_stat__merge(&into->stat, &from->stat);
	into->ok += from->ok;
	into->err_other += from->err_other;
	for (int e = 0; e < from->nerr; e++)
		add_err(into, from->errs[e].err, from->errs[e].n);
}

static int32_t pid_of(const struct an_syscalls *a, int32_t tid)
{
	const struct trace_thread *th = trace_state__thread(a->st, tid);

	return th && th->pid >= 0 ? th->pid : tid; /* unknown: its own process */
}

/* Per process: rows keyed (pid, syscall), `tid` holding the pid. */
static struct sysrec *per_process(const struct an_syscalls *a, const struct sysrec *rec,
				  size_t nrec, size_t *n)
{
	struct sysrec *p = calloc(nrec ? nrec : 1, sizeof(*p));
	size_t k = 0;

	*n = 0;
	if (!p)
		return NULL;
	for (size_t i = 0; i < nrec; i++) {
		p[i].tid = pid_of(a, rec[i].tid);
		p[i].sys = rec[i].sys;
		merge_rec(&p[i], &rec[i]);
	}
	qsort(p, nrec, sizeof(*p), cmp_rec);
	for (size_t i = 0; i < nrec; i++) {
		if (k && p[k - 1].tid == p[i].tid && p[k - 1].sys == p[i].sys)
			merge_rec(&p[k - 1], &p[i]);
		else
			p[k++] = p[i];
	}
	*n = k;
	return p;
}

/* The comm of a process: its main thread's, else one of its threads'. */
static const char *process_comm(const struct an_syscalls *a, int32_t pid,
				const struct sysrec *rec, size_t nrec)
{
	const struct trace_thread *th = trace_state__thread(a->st, pid);

	if (th && th->comm[0])
		return th->comm;
	for (size_t i = 0; i < nrec; i++)
		if (pid_of(a, rec[i].tid) == pid &&
		    (th = trace_state__thread(a->st, rec[i].tid)) && th->comm[0])
			return th->comm;
	return "";
}

/* Per-syscall totals over every thread: one sysrec per syscall, tid -1. */
static struct sysrec *totals(const struct an_syscalls *a, size_t *n)
{
	int nsys = trace_state__syscall_count(a->st);
	struct sysrec *t = calloc(nsys ? (size_t)nsys : 1, sizeof(*t));
	size_t k = 0;

	if (!t)
		return NULL;
	for (size_t i = 0; i < a->nrec; i++) {
		const struct sysrec *r = &a->rec[i];
		struct sysrec *s = &t[r->sys];

		s->tid = -1;
		s->sys = r->sys;
		merge_rec(s, r);
	}
	for (int i = 0; i < nsys; i++)
		if (t[i].stat.count)
			t[k++] = t[i];
	*n = k;
	return t;
}

static void row_text(FILE *f, const struct an_syscalls *a, const struct sysrec *r)
{
	const struct trace_stat *s = &r->stat;

	fprintf(f, "  %-24s %8llu %12.3f %12.3f %12.3f %12.3f  ",
		trace_state__syscall_name(a->st, r->sys), (unsigned long long)s->count,
		(double)s->min / 1e3, s->mean / 1e3, (double)s->max / 1e3,
		trace_stat__stddev(s) / 1e3);
	print_rets_text(f, r);
	fputc('\n', f);
}

static void row_json(FILE *f, const struct an_syscalls *a, const struct sysrec *r)
{
	const struct trace_stat *s = &r->stat;

	fputs("{\"name\": ", f);
	fmt_json_str(f, trace_state__syscall_name(a->st, r->sys));
	fprintf(f, ", \"count\": %llu, \"min_ns\": %llu, \"avg_ns\": %.1f, \"max_ns\": %llu, "
		   "\"stddev_ns\": %.1f, \"returns\": ",
		(unsigned long long)s->count, (unsigned long long)s->min, s->mean,
		(unsigned long long)s->max, trace_stat__stddev(s));
	print_rets_json(f, r);
	stat_json_percentiles(f, s);
	fputc('}', f);
}

void an_syscalls__print_stats(struct an_syscalls *a, FILE *f, bool json)
{
	struct trace_pair_stats ps;
	struct sysrec *tot, *rec, *proc;
	size_t ntot = 0, nrec = a->nrec, nproc = 0;

	/* sort a copy: live reports print again and again while recording */
	rec = malloc((nrec ? nrec : 1) * sizeof(*rec));
	if (!rec) {
		fputs(json ? "\"syscalls\": null" : "syscalls: out of memory\n", f);
		return;
	}
	if (nrec)
		memcpy(rec, a->rec, nrec * sizeof(*rec));
	sort_st = a->st;
	qsort(rec, nrec, sizeof(*rec), cmp_rec);
	tot = totals(a, &ntot);
	if (tot)
		qsort(tot, ntot, sizeof(*tot), cmp_rec);
	proc = per_process(a, rec, nrec, &nproc);
	trace_pair__stats(a->pair, &ps);

	if (json) {
		fputs("\"syscalls\": {\"threads\": [", f);
		for (size_t i = 0; i < nrec; i++) {
			const struct sysrec *r = &rec[i];
			const struct trace_thread *th = trace_state__thread(a->st, r->tid);

			if (i == 0 || rec[i - 1].tid != r->tid) {
				fprintf(f, "%s\n  {\"tid\": %d, \"pid\": %d, \"comm\": ", i ? "]}," : "",
					r->tid, th ? th->pid : -1);
				fmt_json_str(f, th ? th->comm : "");
				fputs(", \"syscalls\": [", f);
			} else {
				fputs(",", f);
			}
			fputs("\n    ", f);
			row_json(f, a, r);
		}
		fputs(nrec ? "]}\n ]" : "]", f);
		fputs(", \"processes\": [", f);
		for (size_t i = 0; proc && i < nproc; i++) {
			if (i == 0 || proc[i - 1].tid != proc[i].tid) {
				fprintf(f, "%s\n  {\"pid\": %d, \"comm\": ", i ? "]}," : "", proc[i].tid);
				fmt_json_str(f, process_comm(a, proc[i].tid, rec, nrec));
				fputs(", \"syscalls\": [", f);
			} else {
				fputs(",", f);
			}
			fputs("\n    ", f);
			row_json(f, a, &proc[i]);
		}
		fputs(proc && nproc ? "]}\n ]" : "]", f);
		fputs(", \"total\": [", f);
		for (size_t i = 0; i < ntot; i++) {
			fputs(i ? ",\n  " : "\n  ", f);
			row_json(f, a, &tot[i]);
		}
		fputs("]", f);
		if (a->o->freq) {
			fputs(", \"freq\": [", f);
			for (size_t i = 0; i < ntot; i++) {
				fputs(i ? ",\n  " : "\n  ", f);
				stat_freq_print(f, trace_state__syscall_name(a->st, tot[i].sys),
						&tot[i].stat, a->o->freq, true);
			}
			fputs("]", f);
		}
		fprintf(f, ", \"recorded\": %llu, \"filtered_out\": %llu, \"unmatched_exits\": %llu, "
			   "\"never_ended\": %llu, \"unknown_thread\": %llu, "
			   "\"mismatched\": %llu, \"replaced_entries\": %llu, \"dropped\": %llu}",
			(unsigned long long)a->recorded, (unsigned long long)a->filtered,
			(unsigned long long)a->unmatched, (unsigned long long)ps.in_flight,
			(unsigned long long)a->unknown_thread, (unsigned long long)a->mismatched,
			(unsigned long long)ps.replaced, (unsigned long long)ps.dropped);
		free(tot);
		free(rec);
		free(proc);
		return;
	}

	fprintf(f, "Syscall latency per thread (usec)\n"
		   "  %-24s %8s %12s %12s %12s %12s  %s\n",
		"", "Count", "Min", "Avg", "Max", "Stdev", "Return values");
	for (size_t i = 0; i < nrec; i++) {
		const struct sysrec *r = &rec[i];

		if (i == 0 || rec[i - 1].tid != r->tid) {
			const struct trace_thread *th = trace_state__thread(a->st, r->tid);

			fputs(i ? "\n" : "", f);
			fmt_text_str(f, th && th->comm[0] ? th->comm : "?");
			fprintf(f, " (tid %d", r->tid);
			if (th && th->pid >= 0)
				fprintf(f, ", pid %d", th->pid);
			fputs(")\n", f);
		}
		row_text(f, a, r);
	}
	if (!nrec)
		fputs("  (no syscall completed)\n", f);
	fprintf(f, "\nSyscall latency per process (usec)\n");
	for (size_t i = 0; proc && i < nproc; i++) {
		if (i == 0 || proc[i - 1].tid != proc[i].tid) {
			fputs(i ? "\n" : "", f);
			fmt_text_str(f, process_comm(a, proc[i].tid, rec, nrec)[0]
						? process_comm(a, proc[i].tid, rec, nrec) : "?");
			fprintf(f, " (pid %d)\n", proc[i].tid);
		}
		row_text(f, a, &proc[i]);
	}
	fprintf(f, "\nSyscall latency, all threads (usec)\n"
		   "  %-24s %8s %12s %12s %12s %12s  %s\n",
		"", "Count", "Min", "Avg", "Max", "Stdev", "Return values");
	for (size_t i = 0; i < ntot; i++)
		row_text(f, a, &tot[i]);
	if (a->o->freq) {
		fputs("\nSyscall latency distributions, all threads\n", f);
		for (size_t i = 0; i < ntot; i++)
			stat_freq_print(f, trace_state__syscall_name(a->st, tot[i].sys), &tot[i].stat,
					a->o->freq, false);
	}
	fprintf(f, "\n%llu syscalls measured", (unsigned long long)a->recorded);
	if (a->filtered)
		fprintf(f, ", %llu left out by filters", (unsigned long long)a->filtered);
	fprintf(f, "; not measured: %llu exits without entry (begun before the trace), "
		   "%llu entries without exit (still running at its end)",
		(unsigned long long)a->unmatched, (unsigned long long)ps.in_flight);
	if (a->unknown_thread)
		fprintf(f, ", %llu events on a CPU whose thread was not known yet",
			(unsigned long long)a->unknown_thread);
	fputs(".\n", f);
	if (ps.dropped)
		fprintf(f, "warning: %llu syscall entries dropped: more than %d threads in "
			   "a syscall at once\n", (unsigned long long)ps.dropped, SYSCALLS_IN_FLIGHT);
	if (a->mismatched)
		fprintf(f, "warning: %llu exits did not match their entry's syscall "
			   "(events lost?)\n", (unsigned long long)a->mismatched);
	if (a->nomem)
		fputs("warning: out of memory: some syscalls were not counted\n", f);
	free(tot);
	free(rec);
	free(proc);
}

static int cmp_top(const void *x, const void *y)
{
	const struct top *a = x, *b = y;

	if (a->delay != b->delay)
		return a->delay > b->delay ? -1 : 1;
	return a->begin < b->begin ? -1 : a->begin > b->begin;
}

void an_syscalls__print_top(struct an_syscalls *a, FILE *f, bool json)
{
	char b[16], t1[32], t2[32];
	size_t n = a->nheap;
	struct top *top = malloc((n ? n : 1) * sizeof(*top));

	if (!top) {
		fputs(json ? "\"latency_top\": null" : "latency-top: out of memory\n", f);
		return;
	}
	/* sort a copy: the heap goes on serving live refreshes */
	if (n)
		memcpy(top, a->heap, n * sizeof(*top));
	qsort(top, n, sizeof(*top), cmp_top);
	if (json) {
		fputs("\"latency_top\": [", f);
		for (size_t i = 0; i < n; i++) {
			const struct top *t = &top[i];

			fprintf(f, "%s\n  {\"begin_ns\": %lld, \"end_ns\": %lld, \"latency_ns\": %llu, "
				   "\"syscall\": ",
				i ? "," : "", (long long)t->begin, (long long)t->end,
				(unsigned long long)t->delay);
			fmt_json_str(f, trace_state__syscall_name(a->st, t->sys));
			fprintf(f, ", \"tid\": %d, \"comm\": ", t->tid);
			fmt_json_str(f, t->comm);
			fprintf(f, ", \"cpu\": %d, \"ret\": %lld}", t->cpu, (long long)t->ret);
		}
		fputs(n ? "\n]" : "]", f);
		free(top);
		return;
	}
	fprintf(f, "Top %zu slowest syscalls\n"
		   "%-18s %-18s %12s  %-20s %-16s %7s %4s  %s\n",
		n, "Begin", "End", "Latency(us)", "Syscall", "Comm", "TID", "CPU", "Return");
	for (size_t i = 0; i < n; i++) {
		const struct top *t = &top[i];
		char comm[64];

		fmt_clock(t1, sizeof(t1), t->begin);
		fmt_clock(t2, sizeof(t2), t->end);
		fmt_text_buf(comm, sizeof(comm), t->comm[0] ? t->comm : "?");
		fprintf(f, "%-18s %-18s %12.3f  %-20s %-16s %7d %4d  ", t1, t2, (double)t->delay / 1e3,
			trace_state__syscall_name(a->st, t->sys), comm, t->tid, t->cpu);
		if (is_error(t->ret))
			fprintf(f, "%s\n", err_name((int)-t->ret, b, sizeof(b)));
		else
			fprintf(f, "%lld\n", (long long)t->ret);
	}
	if (!n)
		fputs("  (no syscall completed)\n", f);
	free(top);
}
