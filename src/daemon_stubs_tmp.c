/* TEMPORARY weak stand-ins until ctl.c and the outputs land (strong
 * definitions override them); delete this file once all four exist. */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "outputs.h"

struct ctl_server {
	int fd;
};

__attribute__((weak)) struct sink *out_prometheus__new(const struct cfg_prometheus *c, char *err, size_t errlen)
{
	(void)c;
	snprintf(err, errlen, "prometheus: not built yet");
	return NULL;
}

__attribute__((weak)) struct sink *out_graphite__new(const struct cfg_graphite *c, char *err, size_t errlen)
{
	(void)c;
	snprintf(err, errlen, "graphite: not built yet");
	return NULL;
}

__attribute__((weak)) struct sink *out_json__new(const struct cfg_json *c, char *err, size_t errlen)
{
	(void)c;
	snprintf(err, errlen, "json: not built yet");
	return NULL;
}

__attribute__((weak)) struct ctl_server *ctl_server__new(const char *path, char *err, size_t errlen)
{
	(void)path;
	(void)err;
	(void)errlen;
	return calloc(1, sizeof(struct ctl_server));
}

__attribute__((weak)) void ctl_server__destroy(struct ctl_server *s)
{
	free(s);
}

__attribute__((weak)) int ctl_server__fd(const struct ctl_server *s)
{
	(void)s;
	return -1;
}

__attribute__((weak)) void ctl_server__serve(struct ctl_server *s, ctl_handler_fn fn, void *ctx)
{
	(void)s;
	(void)fn;
	(void)ctx;
}
