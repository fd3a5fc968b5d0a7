#!/bin/sh
# make demo: import busybox:latest into the installed isobox and run a container.
set -eu
ISOBOX=${ISOBOX:-isobox}
tar=$(mktemp /tmp/busybox-rootfs.XXXXXX.tar)
trap 'rm -f "$tar"' EXIT
sh "$(dirname "$0")/make-busybox-rootfs.sh" "$tar"
if ! $ISOBOX image inspect busybox:latest >/dev/null 2>&1; then
	$ISOBOX import "$tar" busybox:latest
fi
echo '$ isobox run --rm --isolation=process busybox echo hello from a process-isolated container'
$ISOBOX run --rm --isolation=process busybox echo hello from a process-isolated container
echo '$ isobox run --rm busybox sh -c "hostname; id; cat /proc/1/cmdline | tr \"\\0\" \" \"; echo"'
$ISOBOX run --rm busybox sh -c 'hostname; id; cat /proc/1/cmdline | tr "\0" " "; echo'
echo
# Hyper-V isolation where the host has hardware virtualization (not PVM).
if [ -c /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	$ISOBOX kernel ls | grep -q cloud || $ISOBOX kernel install
	echo '$ isobox run --rm --isolation=hyperv busybox uname -r'
	$ISOBOX run --rm --isolation=hyperv busybox uname -r
else
	echo "This host cannot run Hyper-V isolation; isobox says why:"
	echo '$ isobox run --rm --isolation=hyperv busybox true'
	$ISOBOX run --rm --isolation=hyperv busybox true || true
	echo "(make check runs the hyperv tests inside a test host with nested KVM)"
fi
echo
echo "Try: isobox run -it --isolation=process busybox sh"
