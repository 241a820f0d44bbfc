/* Minimal TAP producer for latrack's test programs (run by `prove`).
 *
 * Each test binary prints a plan, one "ok N - name" / "not ok N - name" line
 * per check, and exits non-zero when any check failed.  Skips are loud:
 * tap_skip_all() prints "1..0 # SKIP reason", and when LATRACK_REQUIRE_BPF=1
 * (CI) a skip is turned into a failure, since CI's machine is supposed to
 * support every test. */
#ifndef LATRACK_TESTS_TAP_H
#define LATRACK_TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

/* Compare two integers; on failure print both values. */
#define is_u64(got, want, ...)                                                  \
	do {                                                                    \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);           \
		if (!tap_ok(g_ == w_, __VA_ARGS__))                             \
			tap_diag("  got %" PRIu64 ", want %" PRIu64 " (%s:%d)", \
				 g_, w_, __FILE__, __LINE__);                   \
	} while (0)

#define is_i64(got, want, ...)                                                  \
	do {                                                                    \
		int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);              \
		if (!tap_ok(g_ == w_, __VA_ARGS__))                             \
			tap_diag("  got %" PRId64 ", want %" PRId64 " (%s:%d)", \
				 g_, w_, __FILE__, __LINE__);                   \
	} while (0)

/* Print the plan at the end ("done testing") and return the exit code. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* Skip the whole program.  Under LATRACK_REQUIRE_BPF=1 a skip fails. */
static inline int tap_skip_all(const char *reason)
{
	const char *req = getenv("LATRACK_REQUIRE_BPF");

	if (req && strcmp(req, "1") == 0) {
		printf("not ok 1 - required capability missing: %s\n", reason);
		printf("1..1\n");
		return 1;
	}
	printf("1..0 # SKIP %s\n", reason);
	return 0;
}

#endif
