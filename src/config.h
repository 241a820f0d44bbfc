/* Configuration of the latrack daemon (and `latrack config`).
 *
 * Sources, lowest precedence first (the LTTng 2.5 model):
 *   1. built-in defaults;
 *   2. the system file  /etc/latrack/latrack.conf  (LATRACK_SYSCONF overrides the path);
 *   3. the user file    $XDG_CONFIG_HOME/latrack/latrack.conf, else
 *                       ~/.config/latrack/latrack.conf;
 *   4. -c FILE on the command line (instead of 2 and 3 when given);
 *   5. --set SECTION.KEY=VALUE on the command line, in order.
 * A missing file is not an error (a file named by -c is).  The format is
 * INI, parsed by libinih: [section], key = value, ';' or '#' comments.
 *
 *   [daemon]      tick, socket, max_classes, ringbuf, classes, window_memory,
 *                 change_detection
 *   [syscall] [wakeup] [offcpu] [block] [irq] [net]
 *                 enabled, threshold, timeout, pid, tid, comm, cgroup
 *   [prometheus]  enabled, listen, buckets, max_series
 *   [graphite]    enabled, host, port, prefix, interval, queue
 *   [json]        enabled, path, max_size, keep
 *
 * Unknown sections and keys and bad values are errors naming the file and
 * line ("/etc/latrack/latrack.conf:12: [syscall] threshold: bad duration
 * '10 parsecs' (e.g. 10ms, 500us, 1s)"), or "--set syscall.threshold=..."
 * for command-line values. */
#ifndef LATRACK_SRC_CONFIG_H
#define LATRACK_SRC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>

#include "lt_bpf.h"

#define CFG_MAX_BUCKETS 64
#define CFG_PATH_MAX    4096

struct cfg_tracker {
	bool enabled;          /* default: all but net when the kernel lacks its tracepoints */
	uint64_t threshold_ns; /* default: ev_default_thresh_ns */
	uint64_t timeout_ns;   /* stuck after this long in flight; 0: never (defaults:
				  syscall 1 s, block 5 s, others 0; only syscall and block
				  accept a non-zero value) */
	uint32_t pid, tid;     /* 0: any */
	char comm[LT_COMM_LEN];  /* "": any */
	char cgroup[CFG_PATH_MAX]; /* "": any; cgroup v2 path, absolute or below the mount */
};

struct cfg_daemon {
	uint64_t tick_ns;          /* classes read, windows fed, outputs refreshed (default 1 s) */
	char socket[108];          /* control socket (default /run/latrack/latrack.sock) */
	uint32_t max_classes;      /* kernel histogram classes (0: trk_default_classes) */
	uint32_t ringbuf_kib;      /* outlier ring buffer, power of 2 (default 1024) */
	uint32_t classes;          /* classes kept in user space (default 4096); beyond,
				      new classes fold into comm "other" of their tracker */
	uint64_t window_memory;    /* bytes for the 1 h windows of all classes (default 128 MiB) */
	bool change_detection;     /* compare each class's last minute with the hour
				      before, every 10 s (default true) */
	uint64_t class_idle_ns;    /* a kernel class idle this long leaves the kernel
				      table; its samples stay (default 1 min) */
};

struct cfg_prometheus {
	bool enabled;              /* default true */
	char listen[128];          /* "127.0.0.1:9464" (default); "[::1]:9464" */
	uint32_t nr_buckets;       /* le boundaries, ascending, each a bucket edge of the */
	uint64_t buckets_ns[CFG_MAX_BUCKETS]; /* internal histogram (lt_hist__is_edge);
				      default powers of 2 from 1.024 us (2^10 ns) to 17.2 s
				      (2^34 ns): "buckets = pow2" or a list of edges,
				      e.g. "1.024us,32.768us,1.048576ms" */
	uint32_t max_series;       /* label sets per tracker (default 200); beyond: "other" */
};

struct cfg_graphite {
	bool enabled;              /* default false */
	char host[256];            /* default 127.0.0.1 */
	uint16_t port;             /* default 2003 (plaintext protocol) */
	char prefix[128];          /* default "latrack.HOSTNAME" (dots in the host name -> _) */
	uint64_t interval_ns;      /* push period (default 10 s), a multiple of the tick */
	uint32_t queue;            /* lines kept while carbon is down (default 100000) */
};

struct cfg_json {
	bool enabled;              /* default false */
	char path[CFG_PATH_MAX];   /* "-" = stdout (default) */
	uint64_t max_bytes;        /* rotate at this size (default 100 MiB; 0: never) */
	uint32_t keep;             /* rotated files kept: PATH.1 .. PATH.N (default 5) */
};

struct lt_config {
	struct cfg_daemon daemon;
	struct cfg_tracker trk[LT_TRK_MAX]; /* indexed by enum lt_trk */
	struct cfg_prometheus prometheus;
	struct cfg_graphite graphite;
	struct cfg_json json;
	struct cfg_origins *origins;        /* where each value came from (private) */
};

/* Command-line part of the configuration. */
struct cfg_cmdline {
	const char *file;          /* -c FILE, or NULL */
	const char *const *sets;   /* "section.key=value" */
	size_t nr_sets;
};

/* Fill *c from defaults, files and command line.  Returns 0, or -EINVAL
 * with a one-line message (file:line: ...) in err. */
int cfg_load(struct lt_config *c, const struct cfg_cmdline *cl, char *err, size_t errlen);
void cfg_free(struct lt_config *c); /* the origins; c itself is the caller's */

/* The effective configuration as INI that cfg_load accepts back, each
 * value followed by a comment saying where it came from:
 *   threshold = 10ms        ; default
 *   threshold = 5ms         ; /etc/latrack/latrack.conf:4
 *   threshold = 2ms         ; --set syscall.threshold=2ms           */
void cfg_print(const struct lt_config *c, FILE *out);

/* The files cfg_load reads (for messages): system then user path. */
const char *cfg_system_path(void);
const char *cfg_user_path(char *buf, size_t len);

#endif
