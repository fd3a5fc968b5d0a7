#!/bin/sh
# A hyperv container against QEMU, inside the test host (real nested KVM):
# `isobox run --rm --isolation=hyperv busybox sh -c "exit 3"` and QEMU
# microvm booting the same kernel, initramfs and EROFS root with the same agent
# and command to the same exit, in the same run; prints medians and the ratio, the guest's own time
# to /init, and the host memory of an idle hyperv container.
# Usage (after make and tests/hyperv/prepare.sh): bench/hyperv-vs-qemu.sh [RUNS]
set -eu
cd "$(dirname "$0")/.."
runs=${1:-5}
[ -e build/hyperv/agent.cpio ] || { echo "run tests/hyperv/prepare.sh first" >&2; exit 1; }
exec scripts/testhost/run.sh --timeout 3000 -- sh bench/hyperv-in-testhost.sh "$runs"
