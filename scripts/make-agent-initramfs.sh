#!/bin/sh
# The guest initramfs for hyperv containers: isobox-init as /init, the
# modules it loads (virtio-mmio, block, console, net, EROFS, overlay, virtio-fs) with their
# dependencies, in load order, and Debian's static busybox as /bin/busybox
# (the tar of `isobox cp`; $ISOBOX_GUEST_BUSYBOX, /bin/busybox by default).
# Uncompressed: the kernel need not unpack it.
# Usage: make-agent-initramfs.sh MODULES_ROOT KERNEL_VERSION ISOBOX_INIT OUT.cpio
# (KERNEL_VERSION "none": no modules, for a kernel with the drivers built in.)
set -eu
root=$1 version=$2 init=$3 out=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/lib/isobox-modules" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/lower" \
	"$dir/rw" "$dir/root"
cp "$init" "$dir/init"
busybox=${ISOBOX_GUEST_BUSYBOX:-/bin/busybox}
# Only a static one runs in the guest (busybox-static's; busybox's is dynamic).
if [ -x "$busybox" ] && ! LC_ALL=C ldd "$busybox" >/dev/null 2>&1; then
	mkdir -p "$dir/bin"
	cp "$busybox" "$dir/bin/busybox"
else
	echo "make-agent-initramfs: no static busybox at $busybox (Debian's busybox-static):" \
		"isobox cp cannot reach running hyperv containers" >&2
fi
mknod "$dir/dev/console" c 5 1
[ "$version" = none ] || for m in virtio_mmio virtio_blk virtio_console virtio_net erofs overlay virtiofs; do
	modprobe -d "$root" -S "$version" --show-depends "$m"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
	name=$(basename "$ko")
	cp "$ko" "$dir/lib/isobox-modules/$name"
	echo "$name" >>"$dir/lib/isobox-modules/order"
done
touch "$dir/lib/isobox-modules/order"
(cd "$dir" && find . | cpio -o -H newc --quiet) >"$out"
