#!/bin/sh
# What the bridge adds to a start: `run --rm --network bridge busybox true`
# against `--network none`, process isolation, medians of N runs each
# (alternated), in a network namespace of the benchmark's own (unshare -n):
# the host's interfaces and firewall are never touched. Target (issue 14):
# the bridge adds at most 20 ms.
# Usage: sh bench/net-startup.sh [RUNS]   (from the repository, after make)
set -eu
runs=${1:-21}
if [ "${ISOBOX_BENCH_IN_NETNS:-}" != 1 ]; then
	ISOBOX_BENCH_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
ip link set lo up
root=$(mktemp -d /tmp/isobox-bench-net-XXXXXX)
trap 'rm -rf "$root"' EXIT
B="$PWD/build/isobox --root $root"
tar=$root/rootfs.tar
sh scripts/make-busybox-rootfs.sh "$tar" >/dev/null 2>&1
$B import "$tar" busybox >/dev/null
unset ISOBOX_DEFAULT_NETWORK
ms() {
	s=$(date +%s%N)
	$B run --rm --isolation=process --network "$1" busybox true
	e=$(date +%s%N)
	echo $(( (e - s) / 1000000 ))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# warm-up: the bridge and the nft table are made once, as on a host that
# has run a container before.
ms bridge >/dev/null
ms none >/dev/null
: >"$root/none" && : >"$root/bridge"
i=0
while [ $i -lt "$runs" ]; do
	ms none >>"$root/none"
	ms bridge >>"$root/bridge"
	i=$((i + 1))
done
n=$(median <"$root/none")
b=$(median <"$root/bridge")
echo "runs: $runs each"
echo "run --rm --network none:   median ${n} ms"
echo "run --rm --network bridge: median ${b} ms"
echo "bridge - none: $((b - n)) ms (target: at most 20 ms)"
awk -v b="$b" -v n="$n" 'BEGIN { printf "bridge / none: %.2fx\n", b / n }'
