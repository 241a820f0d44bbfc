/* The daemon's outputs, each a struct sink (src/sink.h) built from its
 * configuration section (src/config.h).  Constructors return NULL with a
 * one-line reason in err (e.g. "prometheus: cannot listen on
 * 127.0.0.1:9464: Address already in use"). */
#ifndef LATRACK_SRC_OUTPUTS_H
#define LATRACK_SRC_OUTPUTS_H

#include <stddef.h>

#include "config.h"
#include "sink.h"

/* GET /metrics (text exposition format 0.0.4) served by libmicrohttpd on
 * c->listen; the body is rendered once per tick and served from memory. */
struct sink *out_prometheus__new(const struct cfg_prometheus *c, char *err, size_t errlen);
/* Every c->interval: count, p50, p90, p99, p99.9 and max per class to
 * carbon's plaintext port; reconnects with back-off, queues while down. */
struct sink *out_graphite__new(const struct cfg_graphite *c, char *err, size_t errlen);
/* Every outlier, stuck event and change record as one JSON line, to a
 * file rotated by size, or stdout. */
struct sink *out_json__new(const struct cfg_json *c, char *err, size_t errlen);

#endif
