/* latrack config: placeholder until its implementation lands. */
#include <stdio.h>

#include "cmd.h"

int cmd_config(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "latrack config: not built yet\n");
	return 2;
}
