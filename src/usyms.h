/* User-space symbols for stacks captured by the BPF trackers.
 *
 * An address of process PID is resolved through /proc/PID/maps to the
 * mapped file, opened through /proc/PID/map_files (so a file deleted since,
 * or in another mount namespace, still resolves), and looked up in that
 * ELF file's .symtab (else .dynsym).  Symbol tables are cached per file
 * and shared by every file with the same GNU build id (the same library in
 * several container layers is read once); the maps of the last 32
 * processes are kept, so the stacks of a process that exited after its
 * maps were read still resolve.  What cannot be resolved (process gone,
 * anonymous memory, stripped file) prints as "[unknown]" with what is known,
 * never as a wrong symbol.  Single-threaded. */
#ifndef LATRACK_SRC_USYMS_H
#define LATRACK_SRC_USYMS_H

#include <stddef.h>
#include <stdint.h>

struct usyms;

struct usyms_stats {
	uint64_t files_loaded; /* ELF symbol tables read */
	uint64_t bid_hits;     /* another file found with the symbols of a loaded one (same build id) */
	uint64_t maps_reads;   /* /proc/PID/maps read */
};

struct usyms *usyms__new(void); /* NULL + errno */
void usyms__free(struct usyms *u); /* accepts NULL */
void usyms__stats(const struct usyms *u, struct usyms_stats *out);

/* "symbol+0xoff (file)" or "[unknown] (file+0xoff)" or "[unknown] 0xaddr". */
const char *usyms__format(struct usyms *u, uint32_t pid, uint64_t addr, char *buf, size_t len);

#endif
