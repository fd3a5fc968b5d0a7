/* The guest kernel store: ROOT/kernels/<name>/{vmlinuz, vmlinux (when it could
 * be extracted), initrd.cpio, config (Debian's), name}, filled by `isobox
 * kernel install` (Debian's cloud kernel, or --path). */
#ifndef ISOBOX_KERNEL_H
#define ISOBOX_KERNEL_H

#include <jansson.h>

#include "engine/kernel_info.h"
#include "util/err.h"

struct kernel_entry {
	char *name;
	char *vmlinuz;          /* what the VM boots: vmlinux (PVH) if there, else the bzImage */
	char *initrd;
	struct kernel_info info;        /* version, config */
};

/* The kernel whose name is want, else the newest whose version is want
 * ("6.1.192") or of its series ("6.1"); the newest installed when want is NULL. */
int kernel_find(const char *root, const char *want, struct kernel_entry *k, struct err *err);
void kernel_entry_free(struct kernel_entry *k);
/* Every installed kernel, newest version first; *n may be 0. */
int kernel_entries(const char *root, struct kernel_entry **out, size_t *n, struct err *err);
void kernel_entries_free(struct kernel_entry *v, size_t n);
/* [{"Name","Version","Path","Size","Config"}], newest first */
int kernel_list(const char *root, json_t **out, struct err *err);
/* path: a kernel image of your own, and config its .config (either may be NULL). */
int kernel_install(const char *root, const char *path, const char *config, char **name_out,
		   struct err *err);
int kernel_remove(const char *root, const char *name, struct err *err);

#endif
