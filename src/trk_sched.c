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
	skel->rodata->targ_tgid = o->f.tgid;
	skel->rodata->targ_tid = o->f.tid;
	skel->rodata->targ_comm_on = o->f.comm_on;
	memcpy((char *)skel->rodata->targ_comm, o->f.comm, LT_COMM_LEN);
	skel->rodata->targ_cgid = o->f.cgid;
	skel->rodata->wakeup_on = o->on[LT_TRK_WAKEUP];
	skel->rodata->offcpu_on = o->on[LT_TRK_OFFCPU];

	u->name = "sched";
	u->skel = skel;
	u->obj = skel->obj;
	u->load = load;
	u->attach = attach;
	u->destroy = destroy;
	u->inflight_fd = -1;
	trk_unit_select_hooks(u, btf);
	return 0;
}
