/* Loader of the syscall tracker (bpf/syscall.bpf.c). */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "trk.h"
#include "syscall.skel.h"

static int load(void *skel) { return syscall_bpf__load(skel); }
static int attach(void *skel) { return syscall_bpf__attach(skel); }
static void destroy(void *skel) { syscall_bpf__destroy(skel); }

int trk_syscall__open(struct trk_unit *u, const struct trk_opts *o, bool btf)
{
	struct syscall_bpf *skel = syscall_bpf__open();

	if (!skel)
		return -errno;
	TRK_SET_RODATA(skel->rodata, o);

	trk_unit_init(u, "syscall", skel, skel->obj, load, attach, destroy, btf);
	return 0;
}

/* After load: the in-flight maps, for the stuck sweep: sys_start (threads
 * switched out inside a syscall) and sys_cpu (per CPU, the syscall of the
 * thread running there). */
int trk_syscall__inflight_fd(const struct trk_unit *u)
{
	const struct syscall_bpf *skel = u->skel;

	return bpf_map__fd(skel->maps.sys_start);
}

/* The epoch of the class indices the programs cache (kclass.h). */
volatile uint32_t *trk_syscall__epoch(const struct trk_unit *u)
{
	const struct syscall_bpf *skel = u->skel;

	return &skel->bss->sys_epoch;
}

int trk_syscall__cpu_fd(const struct trk_unit *u)
{
	const struct syscall_bpf *skel = u->skel;

	return bpf_map__fd(skel->maps.sys_cpu);
}
