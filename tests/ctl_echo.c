/* A control-socket server for tests/ctl.t: src/ctl.c with a handler that
 * echoes its words.
 *   ctl_echo SOCKET   prints "ready" once listening, serves until SIGTERM.
 * Requests: "fail ..." and any request whose second word is "irq" get
 * "error: asked to fail" (latrack ctl's exit status 1); "silent" gets no reply
 * from the handler (the server must answer for it); anything else gets
 *   ok
 *   argc N
 *   argv[I] WORD          (one line per word) */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void echo(void *ctx, int argc, char **argv, FILE *reply)
{
	unsigned long *served = ctx;

	++*served;
	if (!strcmp(argv[0], "silent"))
		return;
	if (!strcmp(argv[0], "fail") || (argc > 1 && !strcmp(argv[1], "irq"))) {
		fprintf(reply, "error: asked to fail\n");
		return;
	}
	fprintf(reply, "ok\nargc %d\n", argc);
	for (int i = 0; i < argc; i++)
		fprintf(reply, "argv[%d] %s\n", i, argv[i]);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long served = 0;
	struct ctl_server *s;
	char err[256];

	if (argc != 2) {
		fprintf(stderr, "usage: ctl_echo SOCKET\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	s = ctl_server__new(argv[1], err, sizeof(err));
	if (!s) {
		fprintf(stderr, "ctl_echo: %s\n", err);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd p = { .fd = ctl_server__fd(s), .events = POLLIN };

		if (poll(&p, 1, 1000) > 0)
			ctl_server__serve(s, echo, &served);
	}
	ctl_server__destroy(s);
	printf("served %lu\n", served);
	return 0;
}
