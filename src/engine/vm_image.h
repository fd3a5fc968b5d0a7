/* What a hyperv container's VM needs from the engine: the image as read-only
 * EROFS disks, one per layer, ROOT/erofs/<layer's diff-id hex>.erofs (built
 * once per layer, shared by every VM of every image of it; removed with the
 * layer), the guest stacking them with overlay; an image of more layers than
 * VM_ROOTFS_MAX_DISKS has its bottom ones merged into one cached disk,
 * ROOT/erofs/chain-<sha256 of their ids>.erofs; and
 * the container's writable layer as its own ext4 disk (so its changes
 * survive stop and start, as in process mode). */
#ifndef ISOBOX_VM_IMAGE_H
#define ISOBOX_VM_IMAGE_H

#include <stdint.h>

#include "engine/image.h"
#include "util/err.h"

/* *path: the disks, bottom first, one a line (VM_ANNOTATION_ROOTFS's value). */
int vm_image_rootfs(const char *root, const struct image *img, char **path, struct err *err);
/* The layer ROOT/layers/<hex> is gone: remove its disk and every chain disk
 * that holds it. */
void vm_image_layer_dropped(const char *root, const char *hex);
/* A directory (another engine's bundle rootfs) as EROFS, kept in
 * ROOT/erofs/dir-<sha256 of the disk>.erofs: the same content, one disk. */
int vm_image_from_dir(const char *root, const char *dir, char **path, struct err *err);

#endif
