/* Output helpers for reports: strings that come from a trace (comms,
 * file names, event names) are escaped before they reach a terminal or a
 * JSON document, and times print the same way everywhere. */
#ifndef LATRACK_SRC_REPORT_FMT_H
#define LATRACK_SRC_REPORT_FMT_H

#include <stdint.h>
#include <stdio.h>

/* A JSON string literal, quotes included. */
void fmt_json_str(FILE *f, const char *s);
/* Printable text: control and non-ASCII bytes as \xHH, backslash doubled. */
void fmt_text_str(FILE *f, const char *s);
/* The same into buf (always terminated, truncated to len). */
void fmt_text_buf(char *buf, size_t len, const char *s);
/* ns since the Unix epoch as "HH:MM:SS.nnnnnnnnn" (UTC). */
void fmt_clock(char *buf, size_t len, int64_t ns);

#endif
