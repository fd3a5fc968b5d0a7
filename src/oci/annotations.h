/* The bundle annotations isobox reads and writes: the engine writes them
 * when it builds a hyperv container's bundle, the runtime and the VMM read
 * them. They are part of the bundle's format, so they live with the OCI code. */
#ifndef ISOBOX_OCI_ANNOTATIONS_H
#define ISOBOX_OCI_ANNOTATIONS_H

/* "hyperv" makes the container a micro-VM; the rest name the VM's parts. */
#define VM_ANNOTATION_ISOLATION "io.isobox.isolation"
#define VM_ANNOTATION_KERNEL "io.isobox.vm.kernel"
#define VM_ANNOTATION_INITRD "io.isobox.vm.initrd"
/* The image's EROFS disks, bottom first, one path a line (older bundles: one
 * path); at most VM_ROOTFS_MAX_DISKS, the guest stacks them with overlay. */
#define VM_ANNOTATION_ROOTFS "io.isobox.vm.rootfs"
#define VM_ROOTFS_MAX_DISKS 16
#define VM_ANNOTATION_UPPER "io.isobox.vm.upper"
#define VM_ANNOTATION_MEMORY "io.isobox.vm.memory"

/* "true": isobox-init is the container's PID 1 and forks the app (docker's
 * --init); otherwise the app is PID 1 itself. Both backends read it. */
#define ANNOTATION_INIT "io.isobox.init"
/* --group-add's gids, decimal, comma-separated: every exec's process gets
 * them too, as docker's, whatever its -u. */
#define ANNOTATION_GROUP_ADD "io.isobox.group-add"

#endif
