/* Trace source: reads LTTng CTF traces through libbabeltrace2 and hands each
 * event to the caller as a small, library-independent view.
 *
 * Input is a CTF directory (one trace, or a tree holding several traces: all
 * are merged in time order by babeltrace2's muxer), or an LTTng live URL
 * (net://HOST/host/HOSTNAME/SESSION, read while the session records).
 *
 * Nothing of babeltrace2 leaks through this header: an event is a name, a
 * timestamp in ns since the clock's origin, a CPU, and fields read by name
 * (or, on the hot path, by an index resolved once per event class).  Field
 * values are read in place; nothing is copied.
 *
 * Discarded events and packets (the tracer's ring buffer was full) reach the
 * caller through their own callback: a report must show them.
 *
 * Not thread-safe: one source, one thread.  Errors are negative errno; the
 * source also keeps a message a person can act on (trace_source__error). */
#ifndef LATRACK_SRC_TRACE_SOURCE_H
#define LATRACK_SRC_TRACE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct trace_source;

/* One event class (e.g. "syscall_entry_read" of one trace).  `user` is
 * the caller's slot: set it on the first event of the class (it starts at
 * NULL, and `user_set` false) to dispatch later events without comparing
 * names.  The source owns the class; it lives as long as the source. */
struct trace_class {
	const char *name;
	void *user;
	bool user_set;
};

struct trace_event {
	const struct trace_class *cls;
	const char *name;   /* == cls->name */
	int64_t ts_ns;      /* default clock, ns since its origin */
	int cpu;            /* packet context cpu_id; -1 when the trace has none */
	const void *impl;   /* the library's event: for trace_event__* only */
};

/* A field reference resolved once per class: trace_class__field() returns
 * one, the trace_event__*_at() accessors read it.  Negative: no such field. */
typedef int trace_field_ref;

/* Look a field up by name among the payload, then the event's specific and
 * common contexts, then the packet context.  -ENOENT when absent. */
trace_field_ref trace_class__field(const struct trace_class *cls, const char *name);

/* Read an integer (signed or unsigned, enumerations included) or a string.
 * 0 on success, -ENOENT (no field), -EINVAL (not of that type). */
int trace_event__int_at(const struct trace_event *ev, trace_field_ref ref, int64_t *out);
int trace_event__uint_at(const struct trace_event *ev, trace_field_ref ref, uint64_t *out);
/* The string lives as long as the event (the callback's duration). */
int trace_event__str_at(const struct trace_event *ev, trace_field_ref ref, const char **out);

/* The same by name (a lookup per call: for occasional reads). */
int trace_event__int(const struct trace_event *ev, const char *name, int64_t *out);
int trace_event__uint(const struct trace_event *ev, const char *name, uint64_t *out);
int trace_event__str(const struct trace_event *ev, const char *name, const char **out);

/* Events the tracer could not record (CTF discarded events or packets). */
struct trace_discarded {
	bool packets;       /* false: discarded events, true: discarded packets */
	bool count_known;
	uint64_t count;
	const char *stream; /* the stream's name (its file), or "" */
	bool range_known;
	int64_t begin_ns, end_ns;
};

struct trace_source_ops {
	size_t sz;          /* sizeof(struct trace_source_ops) */
	/* Return 0 to go on, non-zero to stop reading (trace_source__run then
	 * returns that value). */
	int (*event)(const struct trace_event *ev, void *ctx);
	void (*discarded)(const struct trace_discarded *d, void *ctx);
	/* Live only: called every tick_ns of wall time (0: never). */
	int (*tick)(void *ctx);
	uint64_t tick_ns;
	void *ctx;
	bool verbose;       /* let babeltrace2 log its warnings to stderr */
	bool live_wait;     /* live: wait for a session that does not exist
			       yet (else reading ends at once, and when the
			       session is destroyed) */
};

/* Open PATH (a directory) or a net:// URL.  NULL with errno, and when
 * `err` is not NULL a message in it (malloc'ed: the caller frees it). */
struct trace_source *trace_source__open(const char *input, const struct trace_source_ops *ops,
					char **err);
void trace_source__destroy(struct trace_source *s); /* accepts NULL */

/* Read until the end (or until a callback stops it, or SIGINT / SIGTERM
 * arrive: TRACE_SOURCE_INTERRUPTED).  0 at the end, the callback's
 * non-zero value, or a negative errno with a message in
 * trace_source__error(). */
#define TRACE_SOURCE_INTERRUPTED 0x10000
int trace_source__run(struct trace_source *s);

const char *trace_source__error(const struct trace_source *s);

/* What a person must know about the input though it did not stop the
 * reading (streams of a damaged trace left out or cut), one per line; NULL
 * when none. */
const char *trace_source__warnings(const struct trace_source *s);

/* What was read so far. */
struct trace_source_stats {
	uint64_t events;
	uint64_t discarded_events;   /* sum of known counts */
	uint64_t discarded_packets;
	uint64_t discarded_msgs;     /* discarded-events/packets messages */
	int64_t first_ns, last_ns;   /* of events; 0 when none */
	unsigned traces;             /* trace directories found (0 for live) */
};
void trace_source__stats(const struct trace_source *s, struct trace_source_stats *out);

#endif
