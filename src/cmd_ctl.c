/* latrack ctl: placeholder until its implementation lands. */
#include <stdio.h>

#include "cmd.h"

int cmd_ctl(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "latrack ctl: not built yet\n");
	return 2;
}
