/* What a hyperv container's VM needs from the engine: the image as one
 * read-only EROFS file, ROOT/erofs/<layer's diff-id hex>.erofs (built once per
 * layer, shared by every VM of every image of it; removed with the layer) and
 * the container's writable layer as its own ext4 disk (so its changes
 * survive stop and start, as in process mode). */
#ifndef ISOBOX_VM_IMAGE_H
#define ISOBOX_VM_IMAGE_H

#include <stdint.h>

#include "engine/image.h"
#include "util/err.h"

int vm_image_rootfs(const char *root, const struct image *img, char **path, struct err *err);
/* A directory (another engine's bundle rootfs) as EROFS, kept in
 * ROOT/erofs/dir-<sha256 of the disk>.erofs: the same content, one disk. */
int vm_image_from_dir(const char *root, const char *dir, char **path, struct err *err);

#endif
