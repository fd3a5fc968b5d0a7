#!/bin/sh
# The VMM floor: start a VM whose guest is a few bytes of real-mode firmware
# that writes to port 0xf4 and stops, and measure the time to exit and the
# peak RSS, for isobox-vmm and for Debian's QEMU (-M microvm, isa-debug-exit)
# in the same run. Usage (as root, after `make`): bench/vmm-floor.sh
set -eu

die() { echo "vmm-floor: $*" >&2; exit 1; }

cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-30}
PY=/usr/bin/python3
VMM=$PWD/build/isobox-vmm
QEMU=${QEMU:-qemu-system-x86_64}

[ -x "$VMM" ] || die "build/isobox-vmm missing: run make first"
# Without KVM there is no figure to give: say why in one line, and succeed.
[ -e /dev/kvm ] || { echo "vmm-floor: no figure: this host has no /dev/kvm, and the VMM floor is a VM on this host's KVM"; exit 0; }
command -v "$QEMU" >/dev/null || die "$QEMU not found: apt-get install qemu-system-x86"
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"

TMP=$(mktemp -d /tmp/isobox-vmm-floor.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# 64 KiB of hlt with, at the reset vector: mov al, 42; out 0xf4, al; hlt.
$PY -c 'import sys
img = bytearray(b"\xf4" * 65536)
img[0xfff0:0xfff5] = bytes([0xb0, 0x2a, 0xe6, 0xf4, 0xf4])
open(sys.argv[1], "wb").write(img)' "$TMP/fw.bin"

# QEMU on this machine's /dev/kvm needs -arch-capabilities (FIELD-NOTES).
QEMU_CMD="$QEMU -M microvm -accel kvm -cpu host,-arch-capabilities -m 16 -nodefaults \
-no-user-config -display none -bios $TMP/fw.bin -device isa-debug-exit,iobase=0xf4,iosize=1"

# Median wall time (ms) of RUNS runs after 3 warm-ups; the expected exit code
# proves each run reached the port write.
$PY - "$RUNS" "$TMP/fw.bin" "$VMM" "$QEMU_CMD" <<'PYEOF' >"$TMP/times"
import statistics, subprocess, sys, time
runs, fw, vmm, qemu = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].split()
def median(cmd, want):
    samples = []
    for i in range(runs + 3):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = time.perf_counter()
        if p.returncode != want:
            sys.exit("%s exited %d, not %d: %s" % (cmd[0], p.returncode, want, p.stderr.decode()))
        if i >= 3:
            samples.append((t1 - t0) * 1000)
    return statistics.median(samples)
print("%.2f %.2f" % (median([vmm, "firmware", fw], 42), median(qemu, (42 << 1) | 1)))
PYEOF

rss() { /usr/bin/time -f %M -o "$TMP/rss" "$@" >/dev/null 2>&1 || true; tail -n 1 "$TMP/rss"; }
vmm_kb=$(rss "$VMM" firmware "$TMP/fw.bin")
# shellcheck disable=SC2086
qemu_kb=$(rss $QEMU_CMD)

$PY - $(cat "$TMP/times") "$vmm_kb" "$qemu_kb" "$RUNS" "$(test -d /sys/module/kvm_pvm && echo PVM || echo KVM)" <<'PYEOF'
import sys
vms, qms, vkb, qkb = (float(a) for a in sys.argv[1:5])
print("VMM floor, median of %s runs on /dev/kvm (%s)" % (sys.argv[5], sys.argv[6]))
print("%-28s median %6.2f ms   peak RSS %5.1f MiB" % ("isobox-vmm firmware", vms, vkb / 1024))
print("%-28s median %6.2f ms   peak RSS %5.1f MiB" % ("qemu-system-x86_64 microvm", qms, qkb / 1024))
print("%-28s time %5.2fx        RSS %5.2f MiB   (targets: time <= 0.3x, RSS <= 3 MiB)"
      % ("ratio isobox/QEMU", vms / qms, vkb / 1024))
PYEOF
