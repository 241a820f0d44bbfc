/* Small helpers for the trace analyses: latency statistics per integer key
 * (a TID, an IRQ, a device), and the N largest latencies of a run. */
#ifndef LATRACK_SRC_STAT_TABLE_H
#define LATRACK_SRC_STAT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_pair.h"

struct stat_row {
	int64_t key;
	struct trace_stat stat;
	int64_t extra;    /* the analysis's own (a priority, a name id) */
};

struct stat_table;
struct stat_table *stat_table__new(void);
void stat_table__destroy(struct stat_table *t); /* accepts NULL */
/* The row of KEY, created empty on first use; NULL on ENOMEM. */
struct stat_row *stat_table__get(struct stat_table *t, int64_t key);
/* A copy of the rows sorted by key (malloc'ed; NULL when none or ENOMEM). */
struct stat_row *stat_table__sorted(const struct stat_table *t, size_t *n);

/* The N largest latencies, ties to the earliest begin. */
struct top_item {
	uint64_t delay;
	int64_t begin, end;
	int64_t a, b, c;    /* the analysis's own (tids, cpu, ...) */
	char text[96];      /* the analysis's own (comms, names) */
};

struct topn;
struct topn *topn__new(size_t n);
void topn__destroy(struct topn *t);
/* Would an item with this delay and begin enter?  (Format its text only
 * then.) */
bool topn__wants(const struct topn *t, uint64_t delay, int64_t begin);
void topn__add(struct topn *t, const struct top_item *it);
/* A copy, slowest first (malloc'ed, may be NULL when empty). */
struct top_item *topn__sorted(const struct topn *t, size_t *n);


/* JSON: `, "p50_ns": N, "p90_ns": N, "p99_ns": N` from the histogram. */
void stat_json_percentiles(FILE *f, const struct trace_stat *s);

/* --freq: the distribution of S in BINS equal bins, as a bar chart (text)
 * or `{"name": NAME, "bins": [{"lo_ns", "hi_ns", "count"}...]}` (JSON).
 * Nothing when S has no histogram. */
void stat_freq_print(FILE *f, const char *name, const struct trace_stat *s, unsigned bins,
		     bool json);

#endif
