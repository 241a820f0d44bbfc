/* Kernel trace state: what each CPU runs and who each thread is.
 *
 * LTTng kernel events carry no thread id of their own (unless the session
 * added a context): a syscall event belongs to the thread current on its
 * CPU.  As the LTTng analyses did, the current thread of each CPU comes from
 * sched_switch (next_tid), and thread identities (comm, pid) from the
 * statedump (lttng_statedump_process_state), sched_switch / sched_waking
 * comms, sched_process_fork and sched_process_exec.
 *
 * trace_state__classify() recognises kernel events as lttng-modules names
 * them and resolves their fields once per event class: analyses dispatch on
 * the returned kind and read fields through its refs.  The state must see
 * every event (trace_state__update) after the analyses saw it, so that an
 * analysis of sched_switch still sees the previous current thread.
 *
 * Not thread-safe.  Strings from the trace are copied (bounded). */
#ifndef LATRACK_SRC_TRACE_STATE_H
#define LATRACK_SRC_TRACE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "trace_source.h"

enum kev_kind {
	KEV_OTHER = 0,
	KEV_SYS_ENTRY,     /* syscall_entry_<name>, compat_syscall_entry_<name> */
	KEV_SYS_EXIT,      /* syscall_exit_<name> (ret) */
	KEV_SCHED_SWITCH,
	KEV_SCHED_WAKING,
	KEV_SCHED_WAKEUP,
	KEV_SCHED_WAKEUP_NEW,
	KEV_PROCESS_FORK,
	KEV_PROCESS_EXEC,
	KEV_STATEDUMP_PROCESS,
	KEV_IRQ_ENTRY,
	KEV_IRQ_EXIT,
	KEV_SOFTIRQ_RAISE,
	KEV_SOFTIRQ_ENTRY,
	KEV_SOFTIRQ_EXIT,
	KEV_BLOCK_RQ_INSERT,
	KEV_BLOCK_RQ_ISSUE,
	KEV_BLOCK_RQ_COMPLETE,
	KEV_N
};

/* Fields analyses read; a ref is negative when the class lacks it. */
enum kev_field {
	KF_TID, KF_PID, KF_COMM, KF_NAME, KF_PRIO, KF_RET,
	KF_PREV_TID, KF_PREV_COMM, KF_PREV_PRIO, KF_PREV_STATE,
	KF_NEXT_TID, KF_NEXT_COMM, KF_NEXT_PRIO, KF_TARGET_CPU,
	KF_PARENT_TID, KF_CHILD_TID, KF_CHILD_PID, KF_CHILD_COMM, KF_FILENAME,
	KF_IRQ, KF_VEC, KF_DEV, KF_SECTOR, KF_NR_SECTOR, KF_ERROR,
	KF_N
};

struct kev_class {
	enum kev_kind kind;
	int sys;                 /* syscall id (trace_state__syscall_name) or -1 */
	trace_field_ref f[KF_N];
	/* The user-defined pairs' slot (analysis_pairs.c): what the class
	 * is to them, decided on its first event. */
	void *pairs;
	bool pairs_set;
};

#define TRACE_COMM_MAX 32

struct trace_thread {
	int32_t tid;
	int32_t pid;             /* -1 when unknown */
	int prio;                /* -1 when unknown */
	char comm[TRACE_COMM_MAX];
};

struct trace_state;

struct trace_state *trace_state__new(void);
void trace_state__destroy(struct trace_state *st); /* accepts NULL */

/* The event's class, decoded on the first event of each class (kept in
 * the class's user slot: the state owns that slot).  NULL on ENOMEM. */
struct kev_class *trace_state__classify(struct trace_state *st,
					const struct trace_event *ev);

/* Apply the event to the state (current threads, identities). */
void trace_state__update(struct trace_state *st, const struct trace_event *ev,
			 const struct kev_class *kc);

/* The thread current on CPU, or -1 when no sched_switch was seen there. */
int32_t trace_state__current_tid(const struct trace_state *st, int cpu);

/* The thread's record; NULL when the trace never named it. */
const struct trace_thread *trace_state__thread(const struct trace_state *st, int32_t tid);

/* Syscall names interned by classify(). */
const char *trace_state__syscall_name(const struct trace_state *st, int sys);
int trace_state__syscall_count(const struct trace_state *st);

#endif
