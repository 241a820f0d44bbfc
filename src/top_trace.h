/* latrack top TRACE / --live URL: the top screen fed from an LTTng trace
 * (src/top_trace.c).  Single-threaded for its caller: every call from the
 * thread that created it (a reader thread of its own runs only while the
 * caller waits in top_trace__process). */
#ifndef LATRACK_SRC_TOP_TRACE_H
#define LATRACK_SRC_TOP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "lt_bpf.h"
#include "sink.h"

struct top;

struct top_trace_opts {
	const char *input;              /* CTF directory or net:// URL */
	bool on[LT_TRK_MAX];            /* syscall, wakeup, irq, block */
	uint64_t thresh_ns[LT_TRK_MAX]; /* outliers above */
	uint64_t tick_ns;               /* trace time per snapshot */
	double speed;                   /* x trace speed; 0: as fast as possible */
	uint32_t tgid;                  /* -p (0: every process) */
	const char *comm;               /* --comm (NULL: every comm) */
	bool live_wait;
};

struct top_trace;

/* Open the input; the sink s (not owned) gets the records and snapshots.
 * 0, or a negative errno with a message in err. */
int top_trace__new(struct top_trace **out, const struct top_trace_opts *o, struct top *t,
		   struct sink *s, char *err, size_t errlen);
void top_trace__destroy(struct top_trace *tr); /* accepts NULL */
/* Read the next interval when it is due (one snapshot to the sink).
 * Returns the milliseconds until the next one is due (1000 once the trace
 * is read: t->trace_end), or a negative errno (top_trace__error says why). */
int top_trace__process(struct top_trace *tr, uint64_t now_ns);
const char *top_trace__error(const struct top_trace *tr);
/* The last snapshot (NULL before the first). */
const struct live_snapshot *top_trace__last(const struct top_trace *tr);

#endif
