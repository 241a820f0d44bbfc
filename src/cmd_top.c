/* latrack top: placeholder until its implementation lands. */
#include <stdio.h>

#include "cmd.h"

int cmd_top(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "latrack top: not built yet\n");
	return 2;
}
