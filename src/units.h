/* Durations in the user interface: parse "250us", format "1.25 ms"; the
 * monotonic clock. */
#ifndef LATRACK_SRC_UNITS_H
#define LATRACK_SRC_UNITS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Parse DUR = NUMBER[ns|us|µs|ms|s|m|h] into ns (no unit: ns).  0 or -EINVAL. */
int lt_parse_duration(const char *s, uint64_t *ns);

/* Human-readable duration with 3 significant digits: "812 ns", "1.25 ms". */
char *lt_fmt_ns(char *buf, size_t len, uint64_t ns);

/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns(). */
static inline uint64_t lt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
