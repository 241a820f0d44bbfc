/* Output helpers for reports: see report_fmt.h. */
#include "utf8.h"
#include "report_fmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A printable multi-byte character at p (no C1 control): its length, or 0. */
static size_t utf8_len(const unsigned char *p)
{
	uint32_t c;
	size_t n = utf8_seq(p, 4, &c);

	return n && c >= 0xa0 ? n : 0;
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
