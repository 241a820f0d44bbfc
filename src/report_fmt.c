/* Output helpers for reports: see report_fmt.h. */
#include "report_fmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Length of the valid UTF-8 sequence at p (2 to 4 bytes), 0 if none.
 * Overlong forms, surrogates and C1 controls (U+0080..U+009F, terminal
 * commands) count as invalid. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	uint32_t c;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07u;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff) || c < 0xa0)
		return 0;
	return n;
}

void fmt_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (p && *p) {
		size_t n;

		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p >= 0x80 && (n = utf8_len(p))) {
				fwrite(p, 1, n, f); /* valid UTF-8 as it is */
				p += n;
				continue;
			}
			/* control bytes, and bytes that are not UTF-8 (a
			 * trace's strings may be Latin-1: the byte's code point
			 * is the best guess), keep the JSON valid */
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
		p++;
	}
	fputc('"', f);
}

void fmt_text_buf(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, n;

	if (!len)
		return;
	while (p && *p && o + 1 < len) {
		if (*p >= 0x80 && (n = utf8_len(p))) {
			if (o + n >= len)
				break;
			memcpy(buf + o, p, n); /* printable UTF-8 as it is */
			o += n;
			p += n;
			continue;
		}
		if (*p == '\\') {
			if (o + 2 >= len)
				break;
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else if (*p < 0x20 || *p >= 0x7f) {
			/* control bytes (escape sequences) and stray bytes */
			if (o + 4 >= len)
				break;
			snprintf(buf + o, 5, "\\x%02x", *p);
			o += 4;
		} else {
			buf[o++] = (char)*p;
		}
		p++;
	}
	buf[o] = '\0';
}

void fmt_text_str(FILE *f, const char *s)
{
	char buf[4096];

	fmt_text_buf(buf, sizeof(buf), s);
	fputs(buf, f);
}

void fmt_clock(char *buf, size_t len, int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%09lld", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long long)(ns % 1000000000));
}
