/* TEMPORARY (branch bpf only): stands in for src/cmd_demo.c, which the lead
 * is writing; drop this file at merge. */
#include <stdio.h>

#include "cmd.h"

int cmd_demo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "latrack demo: not in this tree (stub)\n");
	return 1;
}
