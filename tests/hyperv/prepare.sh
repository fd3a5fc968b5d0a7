#!/bin/sh
# What the hyperv tests need, built on this machine before the test host
# starts (the test host sees build/ read-only): the test host itself, the
# guest kernel (Debian's cloud kernel), the agent initramfs, a bare guest that
# reports 7, and the busybox image as EROFS.
set -eu
cd "$(dirname "$0")/../.."
sh scripts/testhost/prepare.sh >/dev/null
out=build/hyperv
mkdir -p "$out"
version=$(ls build/testhost/cloud/lib/modules | head -n 1)
cp "build/testhost/cloud/boot/vmlinuz-$version" "$out/vmlinuz"
sh scripts/extract-vmlinux.sh "$out/vmlinuz" "$out/vmlinux"
sh scripts/make-agent-initramfs.sh build/testhost/cloud "$version" build/isobox-init \
	"$out/agent.cpio"
sh tests/hyperv/make-guest-initramfs.sh "$out/exit7.cpio"
# The kernel store the end-to-end tests use in hyperv mode.
# (again when its initramfs predates a module the agent now loads)
for file in /virtiofs.ko /bin/busybox; do
	for initrd in build/hyperv/root/kernels/*/initrd.cpio; do
		[ ! -f "$initrd" ] || cpio -it --quiet <"$initrd" | grep -q "$file\$" ||
			rm -rf "$(dirname "$initrd")"
	done
done
[ -n "$(ls build/hyperv/root/kernels/*/config 2>/dev/null)" ] ||
	./build/isobox --root build/hyperv/root kernel install >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh scripts/make-busybox-rootfs.sh "$tmp/rootfs.tar"
mkdir "$tmp/root"
tar -C "$tmp/root" -xf "$tmp/rootfs.tar"
rm -f "$out/busybox.erofs"
mkfs.erofs --quiet "$out/busybox.erofs" "$tmp/root"
# The Debian test image (tests/e2e/oci_images.py), cached in build/debian-minbase.
python3 tests/e2e/oci_images.py debian >/dev/null
