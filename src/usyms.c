/* User-space symbolisation through /proc/PID/maps and ELF symbol tables
 * (libelf).  See usyms.h. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usyms.h"

#define MAX_FILES 256

struct usym {
	uint64_t addr, size;
	char *name;
};

/* One ELF file: its function symbols and loadable segments. */
struct ufile {
	uint64_t dev, ino;
	bool loaded;
	struct usym *syms;
	size_t nr_syms;
	struct { uint64_t off, filesz, vaddr; } seg[16];
	int nr_seg;
};

struct umap {
	uint64_t start, end, off, dev, ino;
	char path[256];
};

struct usyms {
	struct ufile files[MAX_FILES];
	int nr_files, next_evict;
	uint32_t maps_pid; /* maps cached for this pid */
	struct umap *maps;
	size_t nr_maps;
};

struct usyms *usyms__new(void)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	return calloc(1, sizeof(struct usyms));
}

static void ufile_clear(struct ufile *f)
{
	for (size_t i = 0; i < f->nr_syms; i++)
		free(f->syms[i].name);
	free(f->syms);
	memset(f, 0, sizeof(*f));
}

void usyms__free(struct usyms *u)
{
	if (!u)
		return;
	for (int i = 0; i < u->nr_files; i++)
		ufile_clear(&u->files[i]);
	free(u->maps);
	free(u);
}

static int read_maps(struct usyms *u, uint32_t pid)
{
	char path[64], line[512];
	size_t cap = 0;
	FILE *f;

	u->nr_maps = 0;
	u->maps_pid = 0;
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct umap m = { 0 };
		unsigned int maj, min;
		char perms[8];
		int pos = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &m.start, &m.end, perms, &m.off, &maj, &min, &m.ino, &pos) < 7)
			continue;
		if (perms[2] != 'x' || !m.ino)
			continue;
		m.dev = ((uint64_t)maj << 32) | min;
		snprintf(m.path, sizeof(m.path), "%s", line + pos);
		m.path[strcspn(m.path, "\n")] = 0;
		if (u->nr_maps == cap) {
			struct umap *nm = realloc(u->maps, (cap ? cap * 2 : 32) * sizeof(*nm));

			if (!nm)
				break;
			u->maps = nm;
			cap = cap ? cap * 2 : 32;
		}
		u->maps[u->nr_maps++] = m;
	}
	fclose(f);
	u->maps_pid = pid;
	return 0;
}

static int cmp_usym(const void *a, const void *b)
{
	const struct usym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void load_elf(struct ufile *uf, int fd)
{
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	Elf_Scn *scn = NULL, *dynsym = NULL, *symtab = NULL;
	size_t nphdr = 0, cap = 0;
	GElf_Shdr sh;

	uf->loaded = true;
	if (!e)
		return;
	if (!elf_getphdrnum(e, &nphdr))
		for (size_t i = 0; i < nphdr && uf->nr_seg < 16; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
				uf->seg[uf->nr_seg].off = ph.p_offset;
				uf->seg[uf->nr_seg].filesz = ph.p_filesz;
				uf->seg[uf->nr_seg].vaddr = ph.p_vaddr;
				uf->nr_seg++;
			}
		}
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			symtab = scn;
		else if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
	}
	scn = symtab ? symtab : dynsym;
	if (scn && gelf_getshdr(scn, &sh) && sh.sh_entsize) {
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_size / sh.sh_entsize;

		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    !s.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			if (uf->nr_syms == cap) {
				struct usym *ns = realloc(uf->syms, (cap ? cap * 2 : 256) * sizeof(*ns));

				if (!ns)
					break;
				uf->syms = ns;
				cap = cap ? cap * 2 : 256;
			}
			uf->syms[uf->nr_syms].addr = s.st_value;
			uf->syms[uf->nr_syms].size = s.st_size;
			uf->syms[uf->nr_syms].name = strdup(name);
			if (uf->syms[uf->nr_syms].name)
				uf->nr_syms++;
		}
		qsort(uf->syms, uf->nr_syms, sizeof(*uf->syms), cmp_usym);
	}
	elf_end(e);
}

static struct ufile *get_file(struct usyms *u, uint32_t pid, const struct umap *m)
{
	char path[128];
	struct ufile *uf;
	int fd;

	for (int i = 0; i < u->nr_files; i++)
		if (u->files[i].dev == m->dev && u->files[i].ino == m->ino)
			return &u->files[i];
	if (u->nr_files < MAX_FILES) {
		uf = &u->files[u->nr_files++];
	} else { /* bounded cache: replace in turn */
		uf = &u->files[u->next_evict];
		u->next_evict = (u->next_evict + 1) % MAX_FILES;
		ufile_clear(uf);
	}
	uf->dev = m->dev;
	uf->ino = m->ino;
	snprintf(path, sizeof(path), "/proc/%u/map_files/%" PRIx64 "-%" PRIx64, pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		load_elf(uf, fd);
		close(fd);
	}
	uf->loaded = true;
	return uf;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

const char *usyms__format(struct usyms *u, uint32_t pid, uint64_t addr, char *buf, size_t len)
{
	const struct umap *m = NULL;
	struct ufile *uf;
	uint64_t foff, vaddr = 0;
	bool in_seg = false;

	for (int pass = 0; pass < 2 && !m; pass++) {
		/* maps change (dlopen): re-read once when the address is not found */
		if ((pass == 0 && u->maps_pid != pid) || pass == 1)
			if (read_maps(u, pid))
				break;
		for (size_t i = 0; i < u->nr_maps; i++)
			if (addr >= u->maps[i].start && addr < u->maps[i].end)
				m = &u->maps[i];
	}
	if (!m) {
		snprintf(buf, len, "[unknown] 0x%" PRIx64, addr);
		return buf;
	}
	foff = addr - m->start + m->off;
	uf = get_file(u, pid, m);
	for (int i = 0; i < uf->nr_seg; i++)
		if (foff >= uf->seg[i].off && foff < uf->seg[i].off + uf->seg[i].filesz) {
			vaddr = foff - uf->seg[i].off + uf->seg[i].vaddr;
			in_seg = true;
		}
	if (in_seg && uf->nr_syms) {
		size_t lo = 0, hi = uf->nr_syms;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (uf->syms[mid].addr <= vaddr)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* a sized symbol must contain the address */
		if (lo && (!uf->syms[lo - 1].size ||
			   vaddr < uf->syms[lo - 1].addr + uf->syms[lo - 1].size)) {
			snprintf(buf, len, "%s+0x%" PRIx64 " (%s)", uf->syms[lo - 1].name,
				 vaddr - uf->syms[lo - 1].addr, base(m->path));
			return buf;
		}
	}
	snprintf(buf, len, "[unknown] (%s+0x%" PRIx64 ")", base(m->path), foff);
	return buf;
}
