/* User-space symbols for stacks captured by the BPF trackers.
 *
 * An address of process PID is resolved through /proc/PID/maps to the
 * mapped file, opened through /proc/PID/map_files (so a file deleted since,
 * or in another mount namespace, still resolves), and looked up in that
 * ELF file's .symtab (else .dynsym).  Symbol tables are cached per file
 * (device and inode) for the run.  What cannot be resolved (process gone,
 * anonymous memory, stripped file) prints as "[unknown]" with what is known,
 * never as a wrong symbol.  Single-threaded. */
#ifndef LATRACK_SRC_USYMS_H
#define LATRACK_SRC_USYMS_H

#include <stddef.h>
#include <stdint.h>

struct usyms;

struct usyms *usyms__new(void); /* NULL + errno */
void usyms__free(struct usyms *u); /* accepts NULL */

/* "symbol+0xoff (file)" or "[unknown] (file+0xoff)" or "[unknown] 0xaddr". */
const char *usyms__format(struct usyms *u, uint32_t pid, uint64_t addr, char *buf, size_t len);

#endif
