/* Output helpers for reports: see report_fmt.h. */
#include "report_fmt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void fmt_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; p && *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			/* control bytes and non-ASCII: a trace's strings are
			 * not guaranteed to be UTF-8, so keep JSON valid */
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void fmt_text_buf(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (!len)
		return;
	for (; p && *p && o + 1 < len; p++) {
		if (*p == '\\' && o + 2 < len) {
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else if ((*p < 0x20 || *p >= 0x7f) && o + 4 < len) {
			snprintf(buf + o, 5, "\\x%02x", *p);
			o += 4;
		} else if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			buf[o++] = (char)*p;
		} else {
			break;
		}
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
