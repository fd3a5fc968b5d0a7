#!/bin/sh
# Throughput and latency to a process container over its veth and the
# bridge, against the host's own loopback (issue 14: at least 0.9x). In a
# network namespace of the benchmark's own (unshare -n): iperf3's server runs
# once on 127.0.0.1 and once in a container (-p 5201 published, reached at
# the container's address over the bridge), the same iperf3 client drives
# both; latency is ping's average round trip to each, same count.
# Medians of N runs (default 3) of SECS seconds (default 5) each.
# Usage: sh bench/net-throughput.sh [RUNS] [SECS]   (as root, after make)
set -eu
runs=${1:-3}
secs=${2:-5}
if [ "${ISOBOX_BENCH_IN_NETNS:-}" != 1 ]; then
	command -v iperf3 >/dev/null || { echo "net-throughput.sh: iperf3 missing: make deps" >&2; exit 1; }
	ISOBOX_BENCH_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
ip link set lo up
root=$(mktemp -d /tmp/isobox-bench-iperf-XXXXXX)
B="$PWD/build/isobox --root $root"
cleanup() {
	$B rm -f iperf >/dev/null 2>&1 || true
	[ -n "${lo_pid:-}" ] && kill "$lo_pid" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
unset ISOBOX_DEFAULT_NETWORK
# An image of busybox plus the host's iperf3 and the libraries it links.
rfs=$root/rootfs
mkdir -p "$rfs"
sh scripts/make-busybox-rootfs.sh "$root/bb.tar" >/dev/null 2>&1
tar -C "$rfs" -xf "$root/bb.tar"
for f in $(command -v iperf3) $(ldd "$(command -v iperf3)" | awk '/\//{ print ($3 ~ /^\//) ? $3 : $1 }'); do
	mkdir -p "$rfs$(dirname "$f")"
	cp -L "$f" "$rfs$f"
done
tar -C "$rfs" -cf "$root/iperf.tar" .
$B import "$root/iperf.tar" iperf >/dev/null

$B run -d --name iperf --isolation=process iperf iperf3 -s >/dev/null
ctr=$($B inspect -f '{{.NetworkSettings.IPAddress}}' iperf)
iperf3 -s -B 127.0.0.1 >/dev/null 2>&1 &
lo_pid=$!
i=0
until iperf3 -c "$ctr" -t 1 >/dev/null 2>&1 && iperf3 -c 127.0.0.1 -t 1 >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 50 ] || { echo "net-throughput.sh: iperf3 servers did not answer" >&2; exit 1; }
	sleep 0.2
done
gbps() { iperf3 -c "$1" -t "$secs" -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'; }
rtt() { ping -c 20 -i 0.05 -q "$1" | awk -F/ '/^rtt|^round-trip/ { print $5 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
: >"$root/lo"; : >"$root/ctr"
i=0
while [ $i -lt "$runs" ]; do
	gbps 127.0.0.1 >>"$root/lo"
	gbps "$ctr" >>"$root/ctr"
	i=$((i + 1))
done
l=$(median <"$root/lo"); c=$(median <"$root/ctr")
lr=$(rtt 127.0.0.1); cr=$(rtt "$ctr")
echo "runs: $runs of ${secs} s each (iperf3, one TCP stream)"
echo "host loopback:                   ${l} Gbit/s, ping ${lr} ms"
echo "process container (veth, bridge): ${c} Gbit/s, ping ${cr} ms"
awk -v c="$c" -v l="$l" 'BEGIN { printf "container / loopback throughput: %.2fx (target: at least 0.9x)\n", c / l }'
awk -v c="$cr" -v l="$lr" 'BEGIN { printf "container / loopback latency: %.2fx\n", c / l }'
