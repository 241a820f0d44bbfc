/* Loader of the irq tracker (bpf/irq.bpf.c).  No filters: an interrupt
 * has no measured task. */
#include <errno.h>

#include <bpf/libbpf.h>

#include "trk.h"
#include "irq.skel.h"

static int load(void *skel) { return irq_bpf__load(skel); }
static int attach(void *skel) { return irq_bpf__attach(skel); }
static void destroy(void *skel) { irq_bpf__destroy(skel); }

int trk_irq__open(struct trk_unit *u, const struct trk_opts *o, bool btf)
{
	struct irq_bpf *skel = irq_bpf__open();

	(void)o;
	if (!skel)
		return -errno;
	u->name = "irq";
	u->skel = skel;
	u->obj = skel->obj;
	u->load = load;
	u->attach = attach;
	u->destroy = destroy;
	u->inflight_fd = -1;
	trk_unit_select_hooks(u, btf);
	return 0;
}
