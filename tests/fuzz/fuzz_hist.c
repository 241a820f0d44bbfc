/* libFuzzer target for lt_hist__deserialize, the one parser of outside
 * input in the histogram code (encodings travel between processes and
 * machines).  Run with `make fuzz-hist` (mk/hist.mk; needs clang).  The
 * fuzz build defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which skips
 * the CRC check so that mutations reach the decoder behind it.
 *
 * Checks: no crash or sanitizer report on any input; an accepted input
 * decodes to a histogram whose own encoding decodes back to the same
 * thing, and whose queries stay within [min, max]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <latrack/hist.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char buf[LT_HIST_SERIAL_MAX], buf2[LT_HIST_SERIAL_MAX];
	struct lt_hist *h = lt_hist__new(), *g = lt_hist__new();
	int n, m;

	if (!h || !g)
		abort();
	if (lt_hist__deserialize(h, data, size) > 0) {
		uint64_t p50 = lt_hist__percentile(h, 50);

		if (lt_hist__count(h) && (p50 < lt_hist__min(h) || p50 > lt_hist__max(h)))
			abort();
		n = lt_hist__serialize(h, buf, sizeof(buf));
		if (n <= 0 || lt_hist__deserialize(g, buf, (size_t)n) != n)
			abort();
		m = lt_hist__serialize(g, buf2, sizeof(buf2));
		if (m != n || memcmp(buf, buf2, (size_t)n))
			abort();
	}
	lt_hist__destroy(h);
	lt_hist__destroy(g);
	return 0;
}
