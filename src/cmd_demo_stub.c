/* TEMPORARY (branch trace only): cmd_demo is written on main by the lead;
 * this stub lets the trace branch build.  Drop it at merge. */
#include <stdio.h>

#include "cmd.h"

int cmd_demo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "latrack demo: not in this build\n");
	return 1;
}
