/* The guest kernel store: ROOT/kernels/<name>/{vmlinuz, vmlinux (when it could
 * be extracted), initrd.cpio, name}, filled by `isobox kernel install`
 * (Debian's cloud kernel, or --path). */
#ifndef ISOBOX_KERNEL_H
#define ISOBOX_KERNEL_H

#include <jansson.h>

#include "util/err.h"

struct kernel_entry {
	char *name;
	char *vmlinuz;          /* what the VM boots: vmlinux (PVH) if there, else the bzImage */
	char *initrd;
};

/* The kernel named want, or the newest installed when want is NULL. */
int kernel_find(const char *root, const char *want, struct kernel_entry *k, struct err *err);
void kernel_entry_free(struct kernel_entry *k);
/* [{"Name","Path","Size"}] */
int kernel_list(const char *root, json_t **out, struct err *err);
int kernel_install(const char *root, const char *path, char **name_out, struct err *err);
int kernel_remove(const char *root, const char *name, struct err *err);

#endif
