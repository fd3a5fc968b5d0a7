/* The container's file system view, built inside its new mount namespace:
 * the rootfs, the spec's mounts, /dev, pivot_root, masked and read-only paths. */
#ifndef ISOBOX_ROOTFS_H
#define ISOBOX_ROOTFS_H

#include "oci/spec.h"
#include "util/err.h"

/* Everything up to and including pivot_root; afterwards "/" is the container's. */
int rootfs_prepare(const char *bundle, const struct oci_spec *spec, struct err *err);
/* After pivot_root: masked paths, read-only paths, read-only root. */
int rootfs_finish(const struct oci_spec *spec, struct err *err);

/* Open (creating what is missing as directories, or the last component as a
 * file when as_file) PATH beneath the directory rootfd, never leaving it even
 * through symlinks. Returns an O_PATH fd. */
int rootfs_open_beneath(int rootfd, const char *path, int as_file, struct err *err);
/* mount(2) onto the file or directory fd holds (from rootfs_open_beneath);
 * dest names it in the error. */
int rootfs_mount_at(const char *source, int fd, const char *type, unsigned long flags,
		    const char *data, const char *dest, struct err *err);

#endif
