/* One UTF-8 decoder for the outputs that pass valid multi-byte text
 * through and escape everything else (terminal and JSON reports, SVG,
 * Prometheus labels).  Each caller adds its own policy on the code point
 * (C1 controls, non-characters). */
#ifndef LATRACK_SRC_UTF8_H
#define LATRACK_SRC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (2..4) of the valid, shortest-form multi-byte sequence at s (n
 * bytes readable; a NUL ends it early), with its code point in *cp; 0 for
 * ASCII, a stray or truncated byte, an overlong form or a surrogate. */
static inline size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

#endif
