/* Loader of the net tracker (bpf/net.bpf.c). */
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "trk.h"
#include "net.skel.h"

static int load(void *skel) { return net_bpf__load(skel); }
static int attach(void *skel) { return net_bpf__attach(skel); }
static void destroy(void *skel) { net_bpf__destroy(skel); }

/* Does kfree_skb pass a drop reason?  Its prototype in the kernel's BTF
 * has (data, skb, location, reason[, rx_sk]) since 5.17, (data, skb,
 * location) before. */
static bool kfree_has_reason(const struct btf *btf)
{
	const struct btf_type *t;
	int id;

	id = btf ? btf__find_by_name_kind(btf, "btf_trace_kfree_skb", BTF_KIND_TYPEDEF) : -1;
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	return t && btf_is_func_proto(t) && btf_vlen(t) >= 4;
}

int trk_net__open(struct trk_unit *u, const struct trk_opts *o, bool btf_hooks)
{
	struct net_bpf *skel = net_bpf__open();
	struct btf *btf;

	if (!skel)
		return -errno;
	TRK_SET_RODATA(skel->rodata, o);
	btf = btf__load_vmlinux_btf();
	skel->rodata->kfree_has_reason = kfree_has_reason(btf);
	btf__free(btf);

	trk_unit_init(u, "net", skel, skel->obj, load, attach, destroy, btf_hooks);
	return 0;
}
