/* Salvage of a damaged CTF trace directory: babeltrace2 refuses a whole
 * trace when one stream file is truncated (a trace copied while LTTng was
 * still writing it, a full disk).  The salvage builds a temporary trace
 * holding the metadata and every stream that reads, with a truncated
 * stream cut to its last complete packet when LTTng's index says where the
 * packets end, so the report covers the readable part, with a warning. */
#ifndef LATRACK_SRC_TRACE_SALVAGE_H
#define LATRACK_SRC_TRACE_SALVAGE_H

/* probe(dir, ctx) returns 0 when a trace directory reads. */
typedef int (*trace_probe_fn)(const char *dir, void *ctx);

/* A temporary directory (malloc'ed path) with the readable part of DIR, or
 * NULL (errno) when nothing reads.  *note (malloc'ed) says, for a person,
 * what was cut or left out. */
char *trace_salvage(const char *dir, trace_probe_fn probe, void *ctx, char **note);

/* LTTng writes the metadata in packets: one cut short (a copy made while
 * LTTng was writing) makes libbabeltrace2 2.0 loop forever.  NULL with
 * errno 0 when DIR's metadata is whole (or plain text); else a temporary
 * directory (malloc'ed path) with the metadata's complete packets and the
 * stream files, and *note says what was cut; NULL with errno EINVAL (and
 * *note) when no packet is complete. */
char *trace_salvage_metadata(const char *dir, char **note);

/* Remove a directory trace_salvage made; accepts NULL. */
void trace_salvage__remove(char *tmpdir);

#endif
