#!/bin/sh
# Prepare the "test host": a QEMU/TCG VM (AMD CPU model with SVM) running
# Debian's generic kernel, so /dev/kvm inside it is real nested KVM (this
# machine's own /dev/kvm is PVM and cannot boot Debian kernels; see
# FIELD-NOTES.md). Also unpacks Debian's cloud kernel, the future guest kernel.
#
# usage: scripts/testhost/prepare.sh [DIR]      (default: build/testhost)
# Outputs (all cached, rebuilt only when an input is newer):
#   DIR/debs/*.deb                    the two kernel packages
#   DIR/generic/                      unpacked generic kernel (+ modules.dep)
#   DIR/cloud/                        unpacked cloud kernel (+ modules.dep)
#   DIR/{generic,cloud}/vmlinux       uncompressed kernels (ELF, PVH entry)
#   DIR/testhost-initramfs.gz         busybox + modules + /init for the test host
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
DIR=${1:-$repo/build/testhost}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
log() { echo "prepare: $*" >&2; }

# 1. Host tools. dpkg-query first, so a prepared machine makes no network call.
need="qemu-system-x86 busybox-static kmod cpio lz4 xz-utils zstd"
missing=
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# 2. Kernel packages. The versioned name comes from the metapackage's Depends
# (local apt cache, no network). Downloaded once; never installed on the host.
# The test host boots the oldest generic kernel the archive offers (the point
# release's), the guest the newest cloud kernel (the security update's): the
# guest's kernel is then newer than its host's, as the tests of images that need
# a newer kernel than the host's require (tests/e2e/test_image_needs.py).
deps=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p')
generic=$(apt-cache show linux-image-amd64 | sed -n 's/^Depends: \(linux-image-[0-9][^ ,]*\).*/\1/p' | sort -V | head -n1)
kpkg() { case $1 in *cloud*) echo "$deps" | grep -- -cloud- ;; *) echo "$generic" ;; esac | head -n1; }
mkdir -p "$DIR/debs"
fetch_unpack() { # $1 = metapackage, $2 = output dir name
	pkg=$(kpkg "$1")
	[ -n "$pkg" ] || { log "cannot resolve $1"; exit 1; }
	deb=$(ls "$DIR"/debs/"${pkg}"_*.deb 2>/dev/null | tail -n1 || true)
	if [ -z "$deb" ]; then
		log "downloading $pkg"
		(cd "$DIR/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null)
		deb=$(ls "$DIR"/debs/"${pkg}"_*.deb | tail -n1)
	fi
	out=$DIR/$2
	if [ ! -e "$out/.stamp" ] || [ "$deb" -nt "$out/.stamp" ]; then
		log "unpacking $(basename "$deb") into $out"
		rm -rf "$out"; mkdir -p "$out"
		dpkg-deb -x "$deb" "$out"
		kver=$(ls "$out/lib/modules")
		# The package ships no modules.dep (postinst makes it): make it here.
		depmod -b "$out" "$kver"
		basename "$deb" > "$out/.stamp"
	fi
}
fetch_unpack linux-image-amd64 generic
fetch_unpack linux-image-cloud-amd64 cloud
gver=$(ls "$DIR/generic/lib/modules")
cver=$(ls "$DIR/cloud/lib/modules")

# 3. Uncompressed vmlinux of both kernels, booted through their PVH entry:
# under TCG this skips the bzImage's self-decompression (test host to command
# ~6 s instead of ~12 s); for the guest it saves ~0.6 s per boot (FIELD-NOTES).
extract() { # $1 = unpacked kernel dir
	vmlinuz=$(ls "$1"/boot/vmlinuz-* | head -n1) out=$1/vmlinux
	[ -s "$out" ] && [ "$out" -nt "$vmlinuz" ] && return 0
	sh "$here/../extract-vmlinux.sh" "$vmlinuz" "$out" || log "WARNING: no vmlinux in $vmlinuz"
}
extract "$DIR/generic"
extract "$DIR/cloud"

# 4. The test host initramfs: busybox, the modules (dependency order from
# modprobe --show-depends against the unpacked tree) and /init.
mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay irqbypass kvm ccp kvm-amd"
ird=$DIR/testhost-initramfs.gz
if [ ! -s "$ird" ] || [ "$DIR/generic/.stamp" -nt "$ird" ] || [ "$here/init.sh" -nt "$ird" ] ||
	[ "$0" -nt "$ird" ] || [ /bin/busybox -nt "$ird" ]; then
	log "building $ird"
	root=$DIR/initramfs.root
	rm -rf "$root"; mkdir -p "$root/bin" "$root/lib/modules" "$root/dev" "$root/proc" "$root/sys" "$root/newroot"
	cp /bin/busybox "$root/bin/busybox"
	for a in sh mount umount mkdir insmod chroot poweroff cat sleep ip echo base64 stty; do
		ln -sf busybox "$root/bin/$a"
	done
	: > "$root/lib/modules/order"
	for m in $mods; do
		modprobe -d "$DIR/generic" -S "$gver" --show-depends "$m" | while read -r kw path _; do
			[ "$kw" = insmod ] || continue
			b=$(basename "$path")
			grep -qx "$b" "$root/lib/modules/order" && continue
			cp "$path" "$root/lib/modules/$b"
			echo "$b" >> "$root/lib/modules/order"
		done
	done
	cp "$here/init.sh" "$root/init"; chmod 755 "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$ird.tmp"
	mv "$ird.tmp" "$ird"
	rm -rf "$root"
fi
log "ready: generic $gver, cloud $cver in $DIR"
