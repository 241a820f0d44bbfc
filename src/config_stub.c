/* TEMPORARY: defaults only, until src/config.c (libinih) lands: delete
 * this file then (git rm src/config_stub.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "evfmt.h"

int cfg_load(struct lt_config *c, const struct cfg_cmdline *cl, char *err, size_t errlen)
{
	char host[64] = "localhost";

	memset(c, 0, sizeof(*c));
	c->daemon.tick_ns = 1000000000ull;
	snprintf(c->daemon.socket, sizeof(c->daemon.socket), "%s", CTL_DEFAULT_SOCKET);
	c->daemon.ringbuf_kib = 1024;
	c->daemon.classes = 4096;
	c->daemon.window_memory = 128ull << 20;
	c->daemon.change_detection = true;
	for (int t = 0; t < LT_TRK_MAX; t++) {
		c->trk[t].enabled = true;
		c->trk[t].threshold_ns = ev_default_thresh_ns[t];
		c->trk[t].timeout_ns = ev_default_timeout_ns[t];
	}
	c->prometheus.enabled = true;
	snprintf(c->prometheus.listen, sizeof(c->prometheus.listen), "127.0.0.1:9464");
	for (int e = 10; e <= 34; e++)
		c->prometheus.buckets_ns[c->prometheus.nr_buckets++] = 1ull << e;
	c->prometheus.max_series = 200;
	gethostname(host, sizeof(host) - 1);
	snprintf(c->graphite.host, sizeof(c->graphite.host), "127.0.0.1");
	c->graphite.port = 2003;
	snprintf(c->graphite.prefix, sizeof(c->graphite.prefix), "latrack.%s", host);
	c->graphite.interval_ns = 10000000000ull;
	c->graphite.queue = 100000;
	snprintf(c->json.path, sizeof(c->json.path), "-");
	c->json.max_bytes = 100ull << 20;
	c->json.keep = 5;
	for (size_t i = 0; cl && i < cl->nr_sets; i++) {
		const char *s = cl->sets[i];
		uint64_t ns;

		if (!strncmp(s, "daemon.socket=", 14))
			snprintf(c->daemon.socket, sizeof(c->daemon.socket), "%s", s + 14);
		else if (!strncmp(s, "prometheus.listen=", 18))
			snprintf(c->prometheus.listen, sizeof(c->prometheus.listen), "%s", s + 18);
		else if (!strncmp(s, "prometheus.enabled=false", 24))
			c->prometheus.enabled = false;
		else if (!strncmp(s, "syscall.threshold=", 18) && !ev_parse_dur(s + 18, 1000000, &ns))
			c->trk[0].threshold_ns = ns;
		else if (!strncmp(s, "json.enabled=true", 17))
			c->json.enabled = true;
		else {
			snprintf(err, errlen, "--set %s: not supported by the stub", s);
			return -EINVAL;
		}
	}
	return 0;
}

void cfg_free(struct lt_config *c)
{
	(void)c;
}

void cfg_print(const struct lt_config *c, FILE *out)
{
	fprintf(out, "[daemon]\nsocket = %s\n", c->daemon.socket);
}
