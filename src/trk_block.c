/* Loader of the block tracker (bpf/block.bpf.c). */
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "trk.h"
#include "block.skel.h"

static int load(void *skel) { return block_bpf__load(skel); }
static int attach(void *skel) { return block_bpf__attach(skel); }
static void destroy(void *skel) { block_bpf__destroy(skel); }

/* Index of the struct request * among a block tracepoint's arguments,
 * from its prototype in the kernel's BTF: (rq) since 5.11, (q, rq) before. */
static int rq_arg(const struct btf *btf, const char *tp)
{
	char name[64];
	const struct btf_type *t;
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) : -1;
	if (id < 0)
		return 0;
	t = btf__type_by_id(btf, id);          /* typedef */
	t = t ? btf__type_by_id(btf, t->type) : NULL; /* pointer */
	t = t ? btf__type_by_id(btf, t->type) : NULL; /* function prototype */
	if (!t || !btf_is_func_proto(t))
		return 0;
	/* first parameter: the tracepoint's void *data */
	return btf_vlen(t) >= 3 ? 1 : 0;
}

int trk_block__open(struct trk_unit *u, const struct trk_opts *o, bool btf_hooks)
{
	struct block_bpf *skel = block_bpf__open();
	struct btf *btf;

	if (!skel)
		return -errno;
	TRK_SET_RODATA(skel->rodata, o);
	btf = btf__load_vmlinux_btf();
	skel->rodata->insert_rq_arg = rq_arg(btf, "block_rq_insert");
	skel->rodata->issue_rq_arg = rq_arg(btf, "block_rq_issue");
	btf__free(btf);

	trk_unit_init(u, "block", skel, skel->obj, load, attach, destroy, btf_hooks);
	return 0;
}
