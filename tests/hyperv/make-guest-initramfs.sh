#!/bin/sh
# The smallest test guest's initramfs: /init (guest_exit.c, static) and
# /dev/console. Usage: make-guest-initramfs.sh OUT.cpio.gz
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/dev"
cc -O2 -static -o "$dir/init" "$here/guest_exit.c"
mknod "$dir/dev/console" c 5 1
(cd "$dir" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out"
