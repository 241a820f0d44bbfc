/* Kernel symbols from /proc/kallsyms, for printing kernel stacks.
 * Not thread-safe; load once, look up many times. */
#ifndef LATRACK_SRC_KSYMS_H
#define LATRACK_SRC_KSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ksyms;

/* NULL with errno set on failure.  Addresses hidden by kptr_restrict
 * (all zero) give an empty table: every lookup then fails. */
struct ksyms *ksyms__load(void);
void ksyms__free(struct ksyms *ks); /* accepts NULL */

/* "name+0xoff" (or "[unknown]") into buf; returns buf. */
const char *ksyms__format(const struct ksyms *ks, uint64_t addr, char *buf, size_t len);

#endif
