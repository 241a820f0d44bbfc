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
	trk_unit_init(u, "irq", skel, skel->obj, load, attach, destroy, btf);
	return 0;
}
