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
#include <time.h>
#include <unistd.h>

#include "usyms.h"

#define MAX_FILES   256
#define MAX_ALIASES 1024
#define MAX_PIDS    32
#define BID_MAX     20
#define MAPS_TTL_NS 1000000000ull /* cached maps re-read after 1 s */

struct usym {
	uint64_t addr, size;
	char *name;
};

/* One ELF file: its function symbols and loadable segments, shared by
 * every (device, inode) with the same GNU build id. */
struct ufile {
	uint64_t dev, ino; /* the first file seen */
	unsigned char bid[BID_MAX];
	int bid_len;       /* 0: no build id (only dev/ino match) */
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

/* Another file (device, inode) with the symbols of files[file]. */
struct alias {
	uint64_t dev, ino;
	int file;
};

/* The executable mappings of one process, as last read. */
struct pidmaps {
	uint32_t pid;
	uint64_t used; /* LRU stamp */
	uint64_t read_ns; /* CLOCK_MONOTONIC_COARSE when read */
	struct umap *maps;
	size_t nr;
};

struct usyms {
	struct ufile files[MAX_FILES];
	int nr_files, next_evict;
	struct alias alias[MAX_ALIASES];
	int nr_alias, next_alias;
	struct pidmaps pids[MAX_PIDS];
	uint64_t clock;
	struct usyms_stats st;
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
	for (int i = 0; i < MAX_PIDS; i++)
		free(u->pids[i].maps);
	free(u);
}

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Read /proc/PID/maps into pm (kept as it was when the process is gone:
 * an exited process's stacks still resolve through what was read). */
static int read_maps(struct usyms *u, struct pidmaps *pm, uint32_t pid)
{
	char path[64], line[512];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	u->st.maps_reads++;
	if (pm->pid != pid) {
		free(pm->maps);
		pm->maps = NULL;
	} else {
		cap = pm->nr; /* the array has at least this room */
	}
	pm->pid = pid;
	pm->nr = 0;
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
		if (pm->nr == cap) {
			struct umap *nm = realloc(pm->maps, (cap ? cap * 2 : 32) * sizeof(*nm));

			if (!nm)
				break;
			pm->maps = nm;
			cap = cap ? cap * 2 : 32;
		}
		pm->maps[pm->nr++] = m;
	}
	fclose(f);
	pm->read_ns = coarse_ns();
	return 0;
}

/* The cached maps of pid, or the least recently used slot (pid 0 when
 * not read yet). */
static struct pidmaps *pid_slot(struct usyms *u, uint32_t pid)
{
	struct pidmaps *lru = &u->pids[0];

	for (int i = 0; i < MAX_PIDS; i++) {
		if (u->pids[i].pid == pid && u->pids[i].maps) {
			u->pids[i].used = ++u->clock;
			return &u->pids[i];
		}
		if (u->pids[i].used < lru->used)
			lru = &u->pids[i];
	}
	lru->used = ++u->clock;
	if (lru->pid != pid) {
		free(lru->maps);
		*lru = (struct pidmaps){ .used = u->clock };
	}
	return lru;
}

/* The GNU build id of an ELF file, or 0. */
static int build_id(int fd, unsigned char *out)
{
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	Elf_Scn *scn = NULL;
	int len = 0;

	while (e && !len && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(d = elf_getdata(scn, NULL)))
			continue;
		while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0)
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + noff, "GNU", 4) && nh.n_descsz <= BID_MAX) {
				memcpy(out, (char *)d->d_buf + doff, nh.n_descsz);
				len = (int)nh.n_descsz;
				break;
			}
	}
	if (e)
		elf_end(e);
	return len;
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
		if (uf->nr_syms) /* qsort(NULL, 0) is undefined */
			qsort(uf->syms, uf->nr_syms, sizeof(*uf->syms), cmp_usym);
	}
	elf_end(e);
}

static void add_alias(struct usyms *u, const struct umap *m, int file)
{
	struct alias *a;

	if (u->nr_alias < MAX_ALIASES)
		a = &u->alias[u->nr_alias++];
	else { /* bounded: replace in turn */
		a = &u->alias[u->next_alias];
		u->next_alias = (u->next_alias + 1) % MAX_ALIASES;
	}
	*a = (struct alias){ m->dev, m->ino, file };
}

/* The symbols of the file mapped at m: by (device, inode) first, else by
 * build id (the same library in another container layer or a copy), else
 * loaded now.  NULL when the file cannot be opened. */
static struct ufile *get_file(struct usyms *u, uint32_t pid, const struct umap *m)
{
	unsigned char bid[BID_MAX];
	char path[128];
	struct ufile *uf;
	int fd, bid_len, at;

	for (int i = 0; i < u->nr_files; i++)
		if (u->files[i].dev == m->dev && u->files[i].ino == m->ino)
			return &u->files[i];
	for (int i = 0; i < u->nr_alias; i++)
		if (u->alias[i].dev == m->dev && u->alias[i].ino == m->ino && u->alias[i].file < u->nr_files)
			return &u->files[u->alias[i].file];
	snprintf(path, sizeof(path), "/proc/%u/map_files/%" PRIx64 "-%" PRIx64, pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	bid_len = build_id(fd, bid);
	for (int i = 0; bid_len && i < u->nr_files; i++)
		if (u->files[i].bid_len == bid_len && !memcmp(u->files[i].bid, bid, (size_t)bid_len)) {
			add_alias(u, m, i);
			u->st.bid_hits++;
			close(fd);
			return &u->files[i];
		}
	if (u->nr_files < MAX_FILES) {
		at = u->nr_files++;
	} else { /* bounded cache: replace in turn (its aliases go stale) */
		at = u->next_evict;
		u->next_evict = (u->next_evict + 1) % MAX_FILES;
		ufile_clear(&u->files[at]);
		for (int i = 0; i < u->nr_alias; i++)
			if (u->alias[i].file == at)
				u->alias[i].file = MAX_FILES; /* never valid */
	}
	uf = &u->files[at];
	uf->dev = m->dev;
	uf->ino = m->ino;
	memcpy(uf->bid, bid, (size_t)bid_len);
	uf->bid_len = bid_len;
	load_elf(uf, fd);
	close(fd);
	u->st.files_loaded++;
	return uf;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

const char *usyms__format(struct usyms *u, uint32_t pid, uint64_t addr, char *buf, size_t len)
{
	struct pidmaps *pm = pid_slot(u, pid);
	const struct umap *m = NULL;
	struct ufile *uf;
	uint64_t foff, vaddr = 0;
	bool in_seg = false;

	for (int pass = 0; pass < 2 && !m; pass++) {
		/* maps change (dlopen, exec): re-read once when the address is not found */
		/* and when older than MAPS_TTL_NS (exec, pid reuse), if the
		 * process is still there to read */
		if ((pass == 0 && (!pm->maps || coarse_ns() - pm->read_ns > MAPS_TTL_NS)) || pass == 1)
			if (read_maps(u, pm, pid) && !pm->maps)
				break;
		for (size_t i = 0; i < pm->nr; i++)
			if (addr >= pm->maps[i].start && addr < pm->maps[i].end)
				m = &pm->maps[i];
	}
	if (!m) {
		snprintf(buf, len, "[unknown] 0x%" PRIx64, addr);
		return buf;
	}
	foff = addr - m->start + m->off;
	uf = get_file(u, pid, m);
	if (!uf) {
		snprintf(buf, len, "[unknown] (%s+0x%" PRIx64 ")", base(m->path), foff);
		return buf;
	}
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

void usyms__stats(const struct usyms *u, struct usyms_stats *out)
{
	*out = u->st;
}
