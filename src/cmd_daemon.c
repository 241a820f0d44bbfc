/* latrack daemon: placeholder until its implementation lands. */
#include <stdio.h>

#include "cmd.h"

int cmd_daemon(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "latrack daemon: not built yet\n");
	return 2;
}
