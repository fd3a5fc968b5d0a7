#!/bin/sh
# Network throughput and latency of a hyperv container against QEMU's own
# virtio-net, inside the test host (real nested KVM): host -> guest TCP
# throughput (a Python client streams SIZE MiB to busybox nc in the guest,
# timed until the guest closes) and ping latency, each VM on a TAP joined by
# tc mirred to eth0 of a network namespace of its own, all of it inside a
# private network namespace. QEMU boots the same kernel, initramfs, agent and
# EROFS root (microvm, virtio-net-device on a TAP with vnet_hdr, no vhost).
# Usage (after make and tests/hyperv/prepare.sh): bench/vm-net.sh [SIZE_MiB] [RUNS]
# QEMU_NET_OPTS=indirect_desc=off,... turns QEMU's virtio-net features off, to
# compare like with like.
# Runs through /tmp/th.sh when it exists (the machine's test-host slots).
set -eu
cd "$(dirname "$0")/.."
size=${1:-200} runs=${2:-3}
[ -e build/hyperv/agent.cpio ] || { echo "run tests/hyperv/prepare.sh first" >&2; exit 1; }
run=scripts/testhost/run.sh
[ -x /tmp/th.sh ] && run=/tmp/th.sh
exec "$run" --timeout 3000 -- unshare -n -m --propagation private \
	env QEMU_NET_OPTS="${QEMU_NET_OPTS:-}" sh bench/vm-net-in-testhost.sh "$size" "$runs"
