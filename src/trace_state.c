/* Kernel trace state: per-CPU current thread and thread identities, built
 * the way the LTTng analyses built them (see trace_state.h).
 *
 * Threads live in an open-addressing table keyed by tid (never removed: a
 * trace names a few thousand threads at most, and a report still wants the
 * comm of a thread that exited).  Event classes are decoded once, into a
 * struct kev_class hung on the class's user slot. */
#include "trace_state.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kf_names[KF_N] = {
	[KF_TID] = "tid", [KF_PID] = "pid", [KF_COMM] = "comm", [KF_NAME] = "name",
	[KF_PRIO] = "prio", [KF_RET] = "ret",
	[KF_PREV_TID] = "prev_tid", [KF_PREV_COMM] = "prev_comm",
	[KF_PREV_PRIO] = "prev_prio", [KF_PREV_STATE] = "prev_state",
	[KF_NEXT_TID] = "next_tid", [KF_NEXT_COMM] = "next_comm",
	[KF_NEXT_PRIO] = "next_prio", [KF_TARGET_CPU] = "target_cpu",
	[KF_PARENT_TID] = "parent_tid", [KF_CHILD_TID] = "child_tid",
	[KF_CHILD_PID] = "child_pid", [KF_CHILD_COMM] = "child_comm",
	[KF_FILENAME] = "filename", [KF_IRQ] = "irq", [KF_VEC] = "vec", [KF_DEV] = "dev",
	[KF_SECTOR] = "sector", [KF_NR_SECTOR] = "nr_sector", [KF_ERROR] = "error",
};

static const struct {
	const char *name;
	enum kev_kind kind;
} kev_names[] = {
	{ "sched_switch", KEV_SCHED_SWITCH },
	{ "sched_waking", KEV_SCHED_WAKING },
	{ "sched_wakeup", KEV_SCHED_WAKEUP },
	{ "sched_wakeup_new", KEV_SCHED_WAKEUP_NEW },
	{ "sched_process_fork", KEV_PROCESS_FORK },
	{ "sched_process_exec", KEV_PROCESS_EXEC },
	{ "lttng_statedump_process_state", KEV_STATEDUMP_PROCESS },
	{ "irq_handler_entry", KEV_IRQ_ENTRY },
	{ "irq_handler_exit", KEV_IRQ_EXIT },
	{ "irq_softirq_raise", KEV_SOFTIRQ_RAISE },
	{ "irq_softirq_entry", KEV_SOFTIRQ_ENTRY },
	{ "irq_softirq_exit", KEV_SOFTIRQ_EXIT },
	{ "block_rq_insert", KEV_BLOCK_RQ_INSERT },
	{ "block_rq_issue", KEV_BLOCK_RQ_ISSUE },
	{ "block_rq_complete", KEV_BLOCK_RQ_COMPLETE },
};

struct trace_state {
	struct trace_thread *thr; /* tid -1: empty slot */
	size_t thr_cap, thr_n;
	int32_t *cur;             /* per CPU, -1 unknown */
	int ncpu;
	char **sys;               /* interned syscall names */
	int nsys, sys_cap;
	struct kev_class **classes; /* owned, freed at destroy */
	size_t ncls, cls_cap;
};

struct trace_state *trace_state__new(void)
{
	return calloc(1, sizeof(struct trace_state));
}

void trace_state__destroy(struct trace_state *st)
{
	if (!st)
		return;
	free(st->thr);
	free(st->cur);
	for (int i = 0; i < st->nsys; i++)
		free(st->sys[i]);
	free(st->sys);
	for (size_t i = 0; i < st->ncls; i++)
		free(st->classes[i]);
	free(st->classes);
	free(st);
}

static int intern_sys(struct trace_state *st, const char *name)
{
	for (int i = 0; i < st->nsys; i++)
		if (!strcmp(st->sys[i], name))
			return i;
	if (st->nsys == st->sys_cap) {
		int nc = st->sys_cap ? st->sys_cap * 2 : 64;
		char **n = realloc(st->sys, (size_t)nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		st->sys = n;
		st->sys_cap = nc;
	}
	st->sys[st->nsys] = strdup(name);
	if (!st->sys[st->nsys])
		return -ENOMEM;
	return st->nsys++;
}

const char *trace_state__syscall_name(const struct trace_state *st, int sys)
{
	return sys >= 0 && sys < st->nsys ? st->sys[sys] : "?";
}

int trace_state__syscall_count(const struct trace_state *st)
{
	return st->nsys;
}

static bool strip(const char *name, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n))
		return false;
	*rest = name + n;
	return true;
}

struct kev_class *trace_state__classify(struct trace_state *st,
					const struct trace_event *ev)
{
	struct trace_class *cls = (struct trace_class *)ev->cls;
	struct kev_class *kc;
	const char *n = ev->name, *rest = NULL;

	if (cls->user_set)
		return cls->user;
	if (st->ncls == st->cls_cap) {
		size_t nc = st->cls_cap ? st->cls_cap * 2 : 128;
		struct kev_class **a = realloc(st->classes, nc * sizeof(*a));

		if (!a)
			return NULL;
		st->classes = a;
		st->cls_cap = nc;
	}
	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return NULL;
	kc->kind = KEV_OTHER;
	kc->sys = -1;
	if (strip(n, "syscall_entry_", &rest) || strip(n, "compat_syscall_entry_", &rest))
		kc->kind = KEV_SYS_ENTRY;
	else if (strip(n, "syscall_exit_", &rest) || strip(n, "compat_syscall_exit_", &rest))
		kc->kind = KEV_SYS_EXIT;
	if (kc->kind != KEV_OTHER) {
		kc->sys = intern_sys(st, rest);
		if (kc->sys < 0) {
			free(kc);
			return NULL;
		}
	} else {
		for (size_t i = 0; i < sizeof(kev_names) / sizeof(kev_names[0]); i++)
			if (!strcmp(n, kev_names[i].name))
				kc->kind = kev_names[i].kind;
	}
	for (int f = 0; f < KF_N; f++)
		kc->f[f] = kc->kind == KEV_OTHER ? -ENOENT : trace_class__field(ev->cls, kf_names[f]);
	st->classes[st->ncls++] = kc;
	cls->user = kc;
	cls->user_set = true;
	return kc;
}

/* ---- threads --------------------------------------------------------- */

static size_t tid_hash(int32_t tid, size_t cap)
{
	return ((uint32_t)tid * 2654435761u) & (cap - 1);
}

static struct trace_thread *thr_find(const struct trace_state *st, int32_t tid)
{
	/* -1 marks the empty slots: an unknown tid (a wake-up with no waker
	 * in the trace) would find one, uninitialised */
	if (!st->thr_cap || tid < 0)
		return NULL;
	for (size_t j = tid_hash(tid, st->thr_cap);; j = (j + 1) & (st->thr_cap - 1)) {
		if (st->thr[j].tid == tid)
			return &st->thr[j];
		if (st->thr[j].tid == -1)
			return NULL;
	}
}

static struct trace_thread *thr_get(struct trace_state *st, int32_t tid)
{
	struct trace_thread *t = thr_find(st, tid);
	size_t j;

	if (t || tid < 0)
		return t;
	if ((st->thr_n + 1) * 2 > st->thr_cap) {
		size_t nc = st->thr_cap ? st->thr_cap * 2 : 1024;
		struct trace_thread *n = malloc(nc * sizeof(*n));

		if (!n)
			return NULL;
		for (size_t i = 0; i < nc; i++)
			n[i].tid = -1;
		for (size_t i = 0; i < st->thr_cap; i++) {
			if (st->thr[i].tid == -1)
				continue;
			for (j = tid_hash(st->thr[i].tid, nc); n[j].tid != -1; j = (j + 1) & (nc - 1))
				;
			n[j] = st->thr[i];
		}
		free(st->thr);
		st->thr = n;
		st->thr_cap = nc;
	}
	for (j = tid_hash(tid, st->thr_cap); st->thr[j].tid != -1; j = (j + 1) & (st->thr_cap - 1))
		;
	t = &st->thr[j];
	t->tid = tid;
	t->pid = -1;
	t->prio = -1;
	t->comm[0] = '\0';
	st->thr_n++;
	return t;
}

const struct trace_thread *trace_state__thread(const struct trace_state *st, int32_t tid)
{
	return thr_find(st, tid);
}

int32_t trace_state__current_tid(const struct trace_state *st, int cpu)
{
	return cpu >= 0 && cpu < st->ncpu ? st->cur[cpu] : -1;
}

static void set_comm(struct trace_thread *t, const char *comm)
{
	if (t && comm) {
		strncpy(t->comm, comm, sizeof(t->comm) - 1);
		t->comm[sizeof(t->comm) - 1] = '\0';
	}
}

static void set_current(struct trace_state *st, int cpu, int32_t tid)
{
	if (cpu < 0 || cpu > 65535)
		return;
	if (cpu >= st->ncpu) {
		int nc = cpu + 1 > 2 * st->ncpu ? cpu + 1 : 2 * st->ncpu;
		int32_t *n = realloc(st->cur, (size_t)nc * sizeof(*n));

		if (!n)
			return;
		for (int i = st->ncpu; i < nc; i++)
			n[i] = -1;
		st->cur = n;
		st->ncpu = nc;
	}
	st->cur[cpu] = tid;
}

void trace_state__update(struct trace_state *st, const struct trace_event *ev,
			 const struct kev_class *kc)
{
	int64_t tid, pid, prio;
	const char *s;
	struct trace_thread *t;

	switch (kc->kind) {
	case KEV_SCHED_SWITCH:
		if (!trace_event__int_at(ev, kc->f[KF_PREV_TID], &tid) &&
		    (t = thr_get(st, (int32_t)tid))) {
			if (!trace_event__str_at(ev, kc->f[KF_PREV_COMM], &s))
				set_comm(t, s);
			if (!trace_event__int_at(ev, kc->f[KF_PREV_PRIO], &prio))
				t->prio = (int)prio;
		}
		if (!trace_event__int_at(ev, kc->f[KF_NEXT_TID], &tid)) {
			set_current(st, ev->cpu, (int32_t)tid);
			if ((t = thr_get(st, (int32_t)tid))) {
				if (!trace_event__str_at(ev, kc->f[KF_NEXT_COMM], &s))
					set_comm(t, s);
				if (!trace_event__int_at(ev, kc->f[KF_NEXT_PRIO], &prio))
					t->prio = (int)prio;
			}
		}
		break;
	case KEV_SCHED_WAKING:
	case KEV_SCHED_WAKEUP:
	case KEV_SCHED_WAKEUP_NEW:
		if (!trace_event__int_at(ev, kc->f[KF_TID], &tid) &&
		    (t = thr_get(st, (int32_t)tid))) {
			if (!trace_event__str_at(ev, kc->f[KF_COMM], &s))
				set_comm(t, s);
			if (!trace_event__int_at(ev, kc->f[KF_PRIO], &prio))
				t->prio = (int)prio;
		}
		break;
	case KEV_STATEDUMP_PROCESS:
		if (!trace_event__int_at(ev, kc->f[KF_TID], &tid) &&
		    (t = thr_get(st, (int32_t)tid))) {
			if (!trace_event__int_at(ev, kc->f[KF_PID], &pid))
				t->pid = (int32_t)pid;
			if (!trace_event__str_at(ev, kc->f[KF_NAME], &s))
				set_comm(t, s);
		}
		break;
	case KEV_PROCESS_FORK:
		if (!trace_event__int_at(ev, kc->f[KF_CHILD_TID], &tid) &&
		    (t = thr_get(st, (int32_t)tid))) {
			if (!trace_event__int_at(ev, kc->f[KF_CHILD_PID], &pid))
				t->pid = (int32_t)pid;
			if (!trace_event__str_at(ev, kc->f[KF_CHILD_COMM], &s))
				set_comm(t, s);
		}
		break;
	case KEV_PROCESS_EXEC:
		/* the comm becomes the file's base name (the kernel truncates
		 * it to 15 characters; so do we) */
		if (!trace_event__int_at(ev, kc->f[KF_TID], &tid) &&
		    !trace_event__str_at(ev, kc->f[KF_FILENAME], &s) &&
		    (t = thr_get(st, (int32_t)tid))) {
			const char *b = strrchr(s, '/');

			b = b ? b + 1 : s;
			snprintf(t->comm, sizeof(t->comm), "%.15s", b);
		}
		break;
	default:
		break;
	}
}
