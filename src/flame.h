/* Folded stacks and flame graphs (`latrack run --folded FILE --flame FILE`).
 *
 * flame__add() sums a value per distinct stack (frames root first).  The
 * folded output is the input format of flamegraph.pl and inferno, one
 * line per stack, sorted:
 *
 *     comm;user_frame_outermost;...;kernel_frame_innermost_[k] VALUE
 *
 * Frames are sanitised for that format (';' becomes ':', control bytes
 * '?'); kernel frames carry the "_[k]" suffix those tools colour as kernel
 * (the caller appends it).  The flame graph is our own renderer: one
 * self-contained SVG (no script, no external font), the root at the bottom,
 * each frame as wide as its share of the total, tooltips with the value
 * and the share, kernel frames orange and user frames red.  Every string
 * goes through svg_str() (XML escaping).  Single-threaded. */
#ifndef LATRACK_SRC_FLAME_H
#define LATRACK_SRC_FLAME_H

#include <stddef.h>
#include <stdint.h>

struct flame;

struct flame *flame__new(void);          /* NULL on ENOMEM */
void flame__destroy(struct flame *fl);   /* accepts NULL */

/* Add value to the stack frames[0] (root) .. frames[n - 1] (leaf).
 * 0 or -ENOMEM (then counted as lost). */
int flame__add(struct flame *fl, const char *const *frames, size_t n, uint64_t value);

uint64_t flame__total(const struct flame *fl);
size_t flame__stacks(const struct flame *fl);

/* The folded stacks, sorted; path "-" is stdout.  0, or -errno with a
 * message. */
int flame__write_folded(const struct flame *fl, const char *path, char *err, size_t errlen);

/* The flame graph.  unit "us": values are microseconds (shown as
 * durations); anything else is a count of that unit ("samples"). */
struct flame_page {
	const char *title;     /* "Off-CPU time" */
	const char *subtitle;  /* where and when */
	const char *unit;
};
int flame__write_svg(const struct flame *fl, const char *path, const struct flame_page *pg,
		     char *err, size_t errlen);

#endif
