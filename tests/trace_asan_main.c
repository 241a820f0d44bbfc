/* build/asan/latrack for tests/trace_asan.t: `latrack report` alone, built
 * with ASan and UBSan.  The rest of the program (eBPF loaders, skeletons)
 * does not take part in reading traces and is left out of this build. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "report")) {
		fprintf(stderr, "usage: %s report ...  (the ASan build of `latrack report`)\n",
			argv[0]);
		return 2;
	}
	return cmd_report(argc - 1, argv + 1);
}
