/* User-space symbolisation (src/usyms.c), checked against facts the test
 * knows independently: the address of its own function, a copy of its
 * own binary (another inode, the same build id) running as a child, and
 * that child after it exited.  TAP. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "usyms.h"

__attribute__((noinline)) void lt_marker_fn(void);
__attribute__((noinline)) void lt_marker_fn(void)
{
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	char buf[512], self[4096], copy[] = "/tmp/lt_usyms_XXXXXX", cmd[9000];
	struct usyms_stats st0, st1, st2;
	int to_child[2], from_child[2];
	unsigned long long caddr = 0;
	struct usyms *u;
	ssize_t n;
	pid_t pid;
	FILE *f;

	if (argc > 1 && !strcmp(argv[1], "child")) {
		printf("%llx\n", (unsigned long long)(uintptr_t)lt_marker_fn);
		fflush(stdout);
		(void)!read(0, buf, 1); /* until the parent closes */
		return 0;
	}
	u = usyms__new();
	ok(u != NULL, "usyms__new");
	usyms__format(u, (uint32_t)getpid(), (uint64_t)(uintptr_t)lt_marker_fn, buf, sizeof(buf));
	ok(!strncmp(buf, "lt_marker_fn+0x0 (", 18), "own function resolves: %s", buf);
	usyms__stats(u, &st0);

	/* A copy of this binary: another inode, the same build id. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	close(mkstemp(copy));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod +x '%s'", self, copy, copy);
	if (system(cmd))
		return printf("Bail out! cannot copy %s\n", self), 1;
	if (pipe(to_child) || pipe(from_child))
		return printf("Bail out! pipe\n"), 1;
	pid = fork();
	if (!pid) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(copy, copy, "child", (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	f = fdopen(from_child[0], "r");
	if (!f || fscanf(f, "%llx", &caddr) != 1)
		return printf("Bail out! no address from the child\n"), 1;
	usyms__format(u, (uint32_t)pid, caddr, buf, sizeof(buf));
	usyms__stats(u, &st1);
	ok(!strncmp(buf, "lt_marker_fn+0x0 (", 18), "the copy's function resolves: %s", buf);
	ok(st1.bid_hits == st0.bid_hits + 1 && st1.files_loaded == st0.files_loaded,
	   "the copy shares the symbols read for the original (build id): hits %" PRIu64 "->%" PRIu64
	   ", files %" PRIu64 "->%" PRIu64, st0.bid_hits, st1.bid_hits, st0.files_loaded, st1.files_loaded);

	close(to_child[1]); /* the child exits */
	waitpid(pid, NULL, 0);
	fclose(f);
	unlink(copy);
	usyms__format(u, (uint32_t)pid, caddr, buf, sizeof(buf));
	usyms__stats(u, &st2);
	ok(!strncmp(buf, "lt_marker_fn+0x0 (", 18), "after the child exited, its maps read earlier still resolve: %s", buf);
	ok(st2.maps_reads == st1.maps_reads, "without reading its maps again (%" PRIu64 " reads)", st2.maps_reads);

	usyms__format(u, (uint32_t)getpid(), 0x10, buf, sizeof(buf));
	ok(!strncmp(buf, "[unknown]", 9), "an unmapped address is [unknown], not a wrong symbol: %s", buf);
	usyms__free(u);
	return tap_done();
}
