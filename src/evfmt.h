/* Names, parsing and formatting of what the kernel trackers report.
 *
 * One place for the tracker and class names, the default thresholds and
 * timeouts, the duration syntax of the command line and configuration,
 * and the rendering of outliers and stuck events (text blocks with
 * symbolised stacks, or one JSON object per line).  `latrack run`, the
 * daemon's outputs and `latrack top` all print through it, so that the
 * same event reads the same everywhere.  Strings from the traced system
 * are escaped: JSON (\" \\ \u00XX, also bytes >= 0x7f) and terminal text
 * (\xXX for control bytes, quotes, backslash and bytes >= 0x7f). */
#ifndef LATRACK_SRC_EVFMT_H
#define LATRACK_SRC_EVFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h> /* lt_bpf.h uses __u32 */

#include "ksyms.h"
#include "lt_bpf.h"
#include "trk.h"
#include "usyms.h"

extern const char *const ev_trk_names[LT_TRK_MAX];   /* "syscall", ... */
extern const char *const ev_drop_names[LT_DROP_MAX]; /* "ringbuf", ... */
extern const uint64_t ev_default_thresh_ns[LT_TRK_MAX];
/* Trackers swept for events stuck in flight (syscall 1 s, block 5 s); 0: none. */
extern const uint64_t ev_default_timeout_ns[LT_TRK_MAX];

/* Names of the kernel's skb drop reasons (from its BTF), for net classes. */
#define MAX_DROP_REASONS 1024
extern char *ev_drop_reason_names[MAX_DROP_REASONS];
void ev_load_drop_reasons(void);
void ev_free_drop_reasons(void);

/* "10ms", "1.5s", "250us", "2m", or a bare number in default_unit ns.
 * 0 or -EINVAL (nothing printed). */
int ev_parse_dur(const char *s, uint64_t default_unit, uint64_t *out);
/* A positive decimal 32-bit number (pid, tid, count): 0 or -EINVAL. */
int ev_parse_u32(const char *s, uint32_t *out);
/* Tracker index of the name s[0..len), or -1. */
int ev_trk_by_name(const char *s, size_t len);
/* Command-line helpers: print a one-line error to stderr, return -EINVAL. */
int ev_parse_trackers(const char *s, bool on[LT_TRK_MAX]);                          /* "syscall,net" */
int ev_parse_threshold(const char *s, uint64_t th[LT_TRK_MAX], bool set[LT_TRK_MAX]); /* "[TRK=]D", ms */
int ev_parse_timeout(const char *s, uint64_t to[LT_TRK_MAX]);                       /* "[TRK=]D", s */

void ev_json_str(FILE *f, const char *s, size_t max); /* quoted, escaped, at most max bytes */
void ev_text_str(FILE *f, const char *s, size_t max); /* escaped, no quotes */
/* "812ns", "1.2us", "3.45ms", "1.500s" */
const char *ev_fmt_dur(uint64_t ns, char *buf, size_t len);
/* "syscall>10.00ms, wakeup>5.00ms" for the trackers on, or "no tracker". */
const char *ev_fmt_trackers(char *buf, size_t len, const bool on[LT_TRK_MAX], const uint64_t thresh_ns[LT_TRK_MAX]);
/* Class name within a tracker: "read", "cpu1", "S", "R queue", "irq19",
 * "NET_RX wait", "rx if3", "drop NO_SOCKET".  Returns buf or a constant. */
const char *ev_sub_name(uint32_t trk, uint32_t sub, char *buf, size_t len);

/* What formatting needs to know; the pointers may be NULL (no symbols). */
struct evfmt {
	struct ksyms *ks;
	struct usyms *us;
	int64_t wall_off; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
};

/* A CLOCK_MONOTONIC time as UTC wall time: "HH:MM:SS.uuuuuu", or ISO 8601
 * with a Z when iso. */
void ev_fmt_wall(const struct evfmt *r, uint64_t mono, char *buf, size_t len, bool iso);
/* Index of the first kernel frame that is not the tracing machinery
 * (our BPF program, the tracepoint trampolines) at the top of a stack
 * taken in a tracepoint. */
__u32 ev_first_real_frame(const struct evfmt *r, const __u64 *ips, __u32 n);
/* Frames in a user stack (trailing zeros dropped). */
uint32_t ev_ustack_len(const struct lt_event *e);

/* An outlier: one JSON object and a newline, or a readable block. */
void ev_print_json(const struct evfmt *r, FILE *f, const struct lt_event *e);
void ev_print_text(const struct evfmt *r, FILE *f, const struct lt_event *e);

/* A task stuck in a syscall since begin (CLOCK_MONOTONIC), seen at now:
 * its comm, pid and current kernel stack from /proc. */
void ev_print_stuck(const struct evfmt *r, FILE *out, bool json, enum lt_trk trk, uint32_t tid,
		    uint64_t begin, uint32_t sub, uint64_t now);
/* A block request still in flight. */
void ev_print_stuck_block(const struct evfmt *r, FILE *out, bool json, const struct trk_blk_stuck *b);

/* The id of a cgroup v2 directory (its inode), for filters.  PATH is
 * absolute or relative to the cgroup2 mount.  0, -ENOTDIR (not a cgroup
 * v2 directory) or -errno. */
int ev_cgroup_id(const char *path, uint64_t *id);

uint32_t ev_tgid_of(uint32_t tid);                          /* from /proc, 0 if gone */
void ev_disk_name(uint32_t dev, char *buf, size_t len);     /* "sda", "?" if gone */

#endif
