#!/bin/sh
# Build the busybox:latest rootfs tarball from Debian's busybox-static:
# /bin with the applet links, /etc/passwd, /etc/group. Usage: SCRIPT OUT.tar
set -eu
out=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root" "$dir/home" "$dir/var"
chmod 1777 "$dir/tmp"
cp /bin/busybox "$dir/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
done
cat >"$dir/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat >"$dir/etc/group" <<GROUP
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GROUP
tar -C "$dir" --numeric-owner -cf "$out" .
