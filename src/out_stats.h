/* Counters of the Graphite and JSON outputs (src/out_graphite.c,
 * src/out_json.c) for other parts of the daemon (e.g. /metrics) and the
 * tests.  The same figures are in each sink's status() line; see
 * docs/GRAPHITE.md.  Call from the engine's thread, like every sink call. */
#ifndef LATRACK_SRC_OUT_STATS_H
#define LATRACK_SRC_OUT_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h> /* lt_bpf.h, through sink.h, needs it */

#include "sink.h"

struct out_graphite_stats {
	bool connected;            /* a TCP connection to carbon is up */
	bool connecting;           /* a non-blocking connect() is under way */
	uint64_t sent;             /* lines written to the socket (handed to the kernel) */
	uint64_t queued;           /* lines waiting now */
	uint64_t dropped;          /* lines dropped: queue full (the oldest go first) */
	uint64_t connects;         /* connections established */
	uint64_t reconnects;       /* of which after a failure or a drop (connects - 1) */
	uint64_t connect_failures; /* attempts that failed, connections that dropped */
	uint64_t pushes;           /* intervals pushed */
	uint64_t series;           /* class paths tracked now (each with an interval histogram) */
};

/* -EINVAL when s is not a Graphite sink. */
int out_graphite__stats(const struct sink *s, struct out_graphite_stats *st);

struct out_json_stats {
	uint64_t lines;     /* records written */
	uint64_t bytes;     /* bytes written (all files) */
	uint64_t rotations; /* files rotated */
	uint64_t errors;    /* write, open and rename errors */
	uint64_t dropped;   /* records not written because of an error */
};

/* -EINVAL when s is not a JSON sink. */
int out_json__stats(const struct sink *s, struct out_json_stats *st);

#endif
