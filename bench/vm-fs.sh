#!/bin/sh
# A hyperv container's volume (virtio-fs, isobox's file server) against that
# same VM's own virtio-blk disk (the container's writable layer: ext4 on the
# VM's upper disk), with fio inside the test host (real nested KVM; under TCG
# only the ratios mean anything): sequential write and read of SIZE MiB, 4k
# random reads for 15 s, and a metadata test (untar 10,000 small files, then
# find and stat them all). Both sides sit in the test host's memory (its root
# is a tmpfs), so the device paths are what differs. Targets (issue 15): the
# volume at >= 0.5x the disk's throughput and >= 0.3x on metadata.
# Usage (after make and tests/hyperv/prepare.sh; installs fio):
#   bench/vm-fs.sh [SIZE_MiB [FILES]]
# SIZE defaults to 512 (the VM's writable disk is 1 GiB, VM_UPPER_SIZE),
# FILES to 10000.
# Runs through /tmp/th.sh when it exists (the machine's test-host slots).
set -eu
cd "$(dirname "$0")/.."
size=${1:-512} files=${2:-10000}
[ -e build/hyperv/agent.cpio ] || { echo "run tests/hyperv/prepare.sh first" >&2; exit 1; }
command -v fio >/dev/null || apt-get install -y -q fio >/dev/null
run=scripts/testhost/run.sh
[ -x /tmp/th.sh ] && run=/tmp/th.sh
exec "$run" --timeout 3000 --mem 6144 -- unshare -m --propagation private \
	sh bench/vm-fs-in-testhost.sh "$size" "$files"
