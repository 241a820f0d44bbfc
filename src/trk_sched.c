/* Loader of the scheduler trackers, wakeup and offcpu (bpf/sched.bpf.c). */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "trk.h"
#include "sched.skel.h"

static int load(void *skel) { return sched_bpf__load(skel); }
static int attach(void *skel) { return sched_bpf__attach(skel); }
static void destroy(void *skel) { sched_bpf__destroy(skel); }

int trk_sched__open(struct trk_unit *u, const struct trk_opts *o, bool btf)
{
	struct sched_bpf *skel = sched_bpf__open();

	if (!skel)
		return -errno;
	TRK_SET_RODATA(skel->rodata, o);
	skel->rodata->wakeup_on = o->on[LT_TRK_WAKEUP];
	skel->rodata->offcpu_on = o->on[LT_TRK_OFFCPU];

	trk_unit_init(u, "sched", skel, skel->obj, load, attach, destroy, btf);
	return 0;
}
