/* Latency pictures: a tiny SVG/XML writer, and per-class latency heatmaps
 * with a histogram chart beside each (`--svg FILE` of `latrack report` and
 * `latrack run`).  See docs/PICTURES.md for how to read them.
 *
 * Collection.  lat_pics__record() takes time-stamped samples (a class
 * name, the end time, the delay, a count).  Each class keeps a grid of
 * columns (time) x rows (latency): rows are 4 per power of two, every
 * row edge an edge of the shared histogram layout (hist_layout.h), so a
 * row holds exactly 8 of its sub-buckets; columns share one width for all
 * classes, which doubles (merging neighbours) whenever the time since the
 * origin outgrows the grid, so memory stays bounded (at most
 * LAT_PICS_MAX_COLS columns per class, allocated when a sample lands in
 * them) however long the run.  Each class also keeps an lt_hist (exact
 * count, min, max, percentiles within 1.6 %), the maximum per column and
 * its slowest samples.
 *
 * Every string written into the SVG (class names, titles, which may come
 * from the traced system) goes through svg_str(): XML escaping of & < > " '
 * and \xHH for control bytes and bytes that are not UTF-8.
 * Single-threaded. */
#ifndef LATRACK_SRC_SVG_H
#define LATRACK_SRC_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- XML writer ---- */

/* s as XML character data or attribute value (either quote style). */
void svg_str(FILE *f, const char *s);
/* The same, at most max_chars characters, "..." when cut (never inside a
 * UTF-8 sequence). */
void svg_strn(FILE *f, const char *s, size_t max_chars);
/* Number of characters svg_str would show (UTF-8 sequences count 1, an
 * escaped byte 4). */
size_t svg_str_width(const char *s);
/* The XML prolog and <svg> element with a white background and the font
 * (generic sans-serif: nothing external). */
void svg_begin(FILE *f, double w, double h, const char *title);
void svg_end(FILE *f);

/* Durations for axis labels: "500 ns", "1.5 µs", "20 ms", "2 s". */
char *svg_fmt_dur(char *buf, size_t len, double ns);

/* ---- latency heatmaps ---- */

#define LAT_PICS_MAX_COLS 160   /* columns kept per class: 80..160 shown */
#define LAT_PICS_SLOWEST  5     /* slowest samples kept per class, marked */
#define LAT_PICS_NAME_MAX 96

enum lat_pics_sort { LAT_SORT_TOTAL, LAT_SORT_COUNT, LAT_SORT_P99, LAT_SORT_MAX };

struct lat_pics;

struct lat_pics *lat_pics__new(void);  /* NULL on ENOMEM */
void lat_pics__destroy(struct lat_pics *p); /* accepts NULL */

/* Time of the left edge of the pictures (e.g. the trace's first event);
 * without it, the first sample's time.  Call before the first record. */
void lat_pics__set_origin(struct lat_pics *p, int64_t t_ns);

/* n samples of delay_ns in class cls, ended at t_ns.  0 or -ENOMEM (the
 * sample is then counted in lat_pics__lost). */
int lat_pics__record(struct lat_pics *p, const char *cls, int64_t t_ns, uint64_t delay_ns,
		     uint64_t n);
/* n samples that ended somewhere in [t0, t1) (e.g. a histogram's increase
 * between two reads): shared among the columns of that span in proportion
 * to their overlap, the shares adding up to n. */
int lat_pics__record_span(struct lat_pics *p, const char *cls, int64_t t0, int64_t t1,
			  uint64_t delay_ns, uint64_t n);
/* The column width now (it doubles as the span grows). */
uint64_t lat_pics__width(const struct lat_pics *p);
/* A sample that is already counted (e.g. by lat_pics__record from a
 * histogram) but deserves a mark of its own: offers it to the class's
 * slowest samples, with a label for its tooltip (escaped on output). */
void lat_pics__mark(struct lat_pics *p, const char *cls, int64_t t_ns, uint64_t delay_ns,
		    const char *label);
/* From now on the slowest samples marked are only those given to
 * lat_pics__mark (when records are histogram buckets, not samples). */
void lat_pics__marks_only(struct lat_pics *p);
/* Width of a column before any record (default 1 us); it doubles as the
 * span grows. */
void lat_pics__set_width(struct lat_pics *p, uint64_t ns);
/* The class's threshold: a dashed line, and the samples above it counted. */
void lat_pics__set_threshold(struct lat_pics *p, const char *cls, uint64_t ns);

uint64_t lat_pics__samples(const struct lat_pics *p);
size_t lat_pics__classes(const struct lat_pics *p);

/* Parse --svg-classes (N, or NAME[,NAME...]; a comma followed by a digit
 * stays in the name, as in "disk 8,16") and --svg-sort
 * (total|count|p99|max).  0 or -EINVAL. */
struct lat_pics_sel {
	unsigned top;          /* the N first classes by sort (0: all) */
	enum lat_pics_sort sort;
	char **names;          /* or these classes, in this order */
	int nnames;
};
int lat_pics_sel__parse_classes(struct lat_pics_sel *s, const char *arg);
int lat_pics_sel__parse_sort(struct lat_pics_sel *s, const char *arg);
void lat_pics_sel__free(struct lat_pics_sel *s);

struct lat_pics_page {
	const char *what;      /* "Syscall and scheduling latency" */
	const char *where;     /* trace path, or host name */
	int64_t t0_ns, t1_ns;  /* x axis (0, 0: the samples' span) */
	/* added to sample times to get ns since the epoch (clock labels);
	 * 0 for traces, whose times already are */
	int64_t wall_offset_ns;
	const char *note;      /* an extra line under the title, or NULL */
};

/* Write the SVG to path ("-": stdout).  0, or -errno with a message. */
int lat_pics__write(struct lat_pics *p, const char *path, const struct lat_pics_sel *sel,
		    const struct lat_pics_page *pg, char *err, size_t errlen);

#endif
