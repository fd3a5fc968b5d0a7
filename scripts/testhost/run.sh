#!/bin/bash
# Run COMMAND inside the test host: a QEMU/TCG VM (EPYC + SVM) with Debian's
# generic kernel, so that /dev/kvm in there is real nested KVM (this machine's
# own /dev/kvm is PVM; see FIELD-NOTES.md). The machine's root is shared
# read-only over 9p under a tmpfs overlay, so COMMAND runs in the current
# directory and sees the repo and its build/ as they are here.
#
# usage: scripts/testhost/run.sh [--timeout SECONDS] [--mem MB] [--smp N] -- COMMAND...
# Exits with COMMAND's exit code; 125 if the test host failed or timed out.
# Needs scripts/testhost/prepare.sh first (ISOBOX_TESTHOST_DIR overrides its DIR).
set -u
here=$(cd "$(dirname "$0")" && pwd)
DIR=${ISOBOX_TESTHOST_DIR:-$here/../../build/testhost}
timeout=600 mem=2048 smp=1   # -smp 2 measured no faster under TCG
# EPYC with SVM, minus what TCG cannot emulate (QEMU would warn about each).
cpu=EPYC,+svm,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,-3dnowprefetch,-osvw,-topoext,-nrip-save,-xsavec
usage() { echo "usage: $0 [--timeout SECONDS] [--mem MB] [--smp N] -- COMMAND..." >&2; exit 125; }
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage
DIR=$(cd "$DIR" 2>/dev/null && pwd) && [ -s "$DIR/testhost-initramfs.gz" ] ||
	{ echo "run.sh: test host not prepared: run scripts/testhost/prepare.sh" >&2; exit 125; }
# The uncompressed vmlinux boots through PVH and skips the bzImage's
# decompression, which costs ~5 s under TCG.
kernel=$DIR/generic/vmlinux
[ -s "$kernel" ] || kernel=$(ls "$DIR"/generic/boot/vmlinuz-* | head -n1)

# Quote the words POSIX-style ('...') so the test host's sh -c gets them back
# verbatim; base64 so any byte survives the kernel command line.
cmd=
for a in "$@"; do cmd="$cmd '${a//\'/\'\\\'\'}'"; done
b64() { printf '%s' "$1" | base64 -w0; }
# A per-run nonce in the marker: the command's own output cannot fake it.
nonce=$$$RANDOM$RANDOM
append="console=ttyS0 quiet panic=-1 isobox.nonce=$nonce isobox.cwd=$(b64 "$(pwd -P)")"
append="$append isobox.mods=$(b64 "$DIR/generic/lib/modules") isobox.cmd=$(b64 "$cmd")"
# x86 COMMAND_LINE_SIZE is 2048.
[ ${#append} -lt 2040 ] || { echo "run.sh: command too long for the kernel command line" >&2; exit 125; }

# mawk reads its input in blocks unless told it is interactive: then the
# command's output would arrive only at the end.
awk=awk
if awk -W version 2>&1 | grep -q mawk; then awk="awk -W interactive"; fi
rcfile=$(mktemp)
trap 'rm -f "$rcfile"' EXIT
# --foreground: QEMU may put a terminal on stdin in raw mode, which a
# background process group cannot do. The awk filter streams everything,
# takes the marker out (keeping any unterminated output before it) and drops
# the power-off noise after it.
timeout --foreground -k 10 "$timeout" \
qemu-system-x86_64 -accel tcg -cpu "$cpu" -m "$mem" -smp "$smp" \
	-nodefaults -no-user-config -display none -no-reboot -serial stdio \
	-kernel "$kernel" -initrd "$DIR/testhost-initramfs.gz" -append "$append" \
	-fsdev local,id=r,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=r,mount_tag=hostroot |
$awk -v m="ISOBOX-TESTHOST-EXIT-$nonce=" -v f="$rcfile" '
	done { next }
	{ i = index($0, m) }
	i && substr($0, i + length(m)) ~ /^[0-9]+$/ {
		printf "%s", substr($0, 1, i - 1); print substr($0, i + length(m)) > f
		done = 1; fflush(); next }
	{ print; fflush() }'
st=${PIPESTATUS[0]}
if [ -s "$rcfile" ]; then
	exit "$(cat "$rcfile")"
elif [ "$st" = 124 ] || [ "$st" = 137 ]; then
	echo "run.sh: test host timed out after ${timeout}s" >&2
else
	echo "run.sh: test host ended without reporting an exit code (qemu status $st)" >&2
fi
exit 125
