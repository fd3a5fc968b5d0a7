#!/bin/sh
# isobox kernel install: put a guest kernel and its initramfs (isobox-init as
# /init, and the modules it loads) into isobox's kernel store.
#   kernel-install.sh STORE ISOBOX_INIT             Debian's cloud kernel
#   kernel-install.sh STORE ISOBOX_INIT --path FILE [--config CONFIG]
#                                                   a kernel you built (virtio-mmio,
#                                                   virtio_blk/console, erofs and
#                                                   overlay built in), and its .config
# Debian's package is downloaded and unpacked, never installed as the host's kernel.
set -eu
store=$1 init=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$store"

if [ "${1:-}" = --path ]; then
	[ -f "${2:-}" ] || { echo "kernel-install: no kernel file ${2:-}" >&2; exit 1; }
	# A bzImage ("HdrS" at 0x202) or a vmlinux (ELF): anything else cannot boot.
	case "$(od -An -c -j 514 -N 4 "$2" 2>/dev/null | tr -d ' \n')/$(od -An -tx1 -N 4 "$2" 2>/dev/null | tr -d ' \n')" in
	HdrS/* | */7f454c46) ;;
	*) echo "kernel-install: $2 is not a Linux kernel (neither a bzImage nor a vmlinux)" >&2; exit 1 ;;
	esac
	name=custom-$(sha256sum "$2" | cut -c1-12)
	mkdir -p "$tmp/$name/modules"
	cp "$2" "$tmp/$name/vmlinuz"
	if [ "${3:-}" = --config ]; then
		[ -f "${4:-}" ] || { echo "kernel-install: no config file ${4:-}" >&2; exit 1; }
		cp "$4" "$tmp/$name/config"
	fi
	sh "$here/make-agent-initramfs.sh" "$tmp/$name/modules" none "$init" "$tmp/$name/initrd.cpio"
else
	for tool in apt-get dpkg-deb depmod modprobe cpio lz4; do
		command -v $tool >/dev/null || { echo "kernel-install: $tool is missing" >&2; exit 1; }
	done
	cd "$tmp"
	apt-get download -q -o APT::Sandbox::User=root linux-image-cloud-amd64 >/dev/null
	pkg=$(dpkg-deb -f linux-image-cloud-amd64_*.deb Depends | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[0-9][^ ]*-cloud-amd64\).*/\1/p' | head -n 1)
	[ -n "$pkg" ] || { echo "kernel-install: cannot tell which kernel linux-image-cloud-amd64 is" >&2; exit 1; }
	apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null
	dpkg-deb -x "$pkg"_*.deb unpacked
	version=${pkg#linux-image-}
	depmod -b unpacked "$version"
	name=$version
	mkdir -p "$tmp/$name"
	cp "unpacked/boot/vmlinuz-$version" "$tmp/$name/vmlinuz"
	# Its build configuration: what images' os.features are checked against.
	cp "unpacked/boot/config-$version" "$tmp/$name/config"
	# The guest boots the uncompressed kernel (PVH) where it can be had.
	sh "$here/extract-vmlinux.sh" "$tmp/$name/vmlinuz" "$tmp/$name/vmlinux" || true
	sh "$here/make-agent-initramfs.sh" unpacked "$version" "$init" "$tmp/$name/initrd.cpio"
	cd - >/dev/null
fi
echo "$name" >"$tmp/$name/name"
rm -rf "$store/.new-$name"
mv "$tmp/$name" "$store/.new-$name"
rm -rf "$store/$name"
mv "$store/.new-$name" "$store/$name"
