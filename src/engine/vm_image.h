/* What a hyperv container's VM needs from the engine: the image as one
 * read-only EROFS file (built once per image, shared by every VM of it) and
 * the container's writable layer as its own ext4 disk (so its changes
 * survive stop and start, as in process mode). */
#ifndef ISOBOX_VM_IMAGE_H
#define ISOBOX_VM_IMAGE_H

#include <stdint.h>

#include "engine/image.h"
#include "util/err.h"

#define VM_UPPER_SIZE (1ULL << 30)     /* sparse: only what the container writes */

int vm_image_rootfs(const char *root, const struct image *img, char **path, struct err *err);
int vm_image_upper(const char *path, uint64_t size, struct err *err);

#endif
