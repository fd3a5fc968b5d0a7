/* A newc cpio archive with one file, appended to the kernel store's
 * initramfs at boot: Linux unpacks concatenated archives in order, so the
 * /init inside is always the isobox-init of this isobox, whatever was
 * current when the kernel was installed. */
#ifndef ISOBOX_INITRAMFS_H
#define ISOBOX_INITRAMFS_H

#include <stddef.h>

#include "util/err.h"

/* Append to *buf (len bytes, malloc'ed, grown as needed) the archive holding
 * name with data and mode (e.g. 0100755), then the trailer. */
int initramfs_append(char **buf, size_t *len, const char *name, const void *data, size_t size,
		     unsigned mode, struct err *err);

#endif
