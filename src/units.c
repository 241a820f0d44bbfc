/* Duration parsing and formatting shared by every subcommand. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int lt_parse_duration(const char *s, uint64_t *ns)
{
	static const struct { const char *u; double mul; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 },
		{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 }, { "", 1 },
	};
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || isinf(v))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].u) == 0) {
			double r = v * units[i].mul;

			if (r >= 1.8e19)
				return -EINVAL;
			*ns = (uint64_t)llround(r);
			return 0;
		}
	}
	return -EINVAL;
}

char *lt_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	static const struct { double div; const char *u; } sc[] = {
		{ 3600e9, "h" }, { 60e9, "min" }, { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" },
	};
	double v = (double)ns;

	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		if (v >= sc[i].div) {
			double x = v / sc[i].div;

			snprintf(buf, len, x >= 100 ? "%.0f %s" : x >= 10 ? "%.1f %s" : "%.2f %s", x,
				 sc[i].u);
			return buf;
		}
	}
	snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	return buf;
}
