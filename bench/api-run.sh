#!/bin/sh
# `docker run --rm busybox true` with the same docker CLI through three
# engines, in one run: isobox serve, Debian's dockerd 20.10 (started here on
# a private socket and data root, --bridge=none --iptables=false
# --ip6tables=false, inside a network namespace of its own) and podman's
# system service (when podman is installed); medians of RUNS, the ratio
# against dockerd (issue 16's target: isobox at most 0.25x); then the idle
# RSS of isobox serve against dockerd plus its containerd (target 0.1x),
# and both again with MANY containers running (docker run -d ... sleep),
# with what each engine keeps per container beside it (isobox's monitors,
# dockerd's containerd-shims).
# Usage (after make; root): bench/api-run.sh [RUNS] [MANY]
set -eu
cd "$(dirname "$0")/.."
runs=${1:-20}
many=${2:-50}
docker=/usr/local/bin/docker
[ -x "$docker" ] || docker=$(command -v docker)
work=$(mktemp -d /tmp/bench-api.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 1
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	umount -R "$work/dockerd" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
sh scripts/make-busybox-rootfs.sh "$work/busybox.tar"

wait_sock() { for _ in $(seq 300); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }

# isobox
./build/isobox --root "$work/isobox" import "$work/busybox.tar" busybox >/dev/null
ISOBOX_DEFAULT_NETWORK=none ./build/isobox --root "$work/isobox" serve \
	--host "unix://$work/isobox.sock" 2>/dev/null &
isobox_pid=$!
pids="$pids $isobox_pid"
wait_sock "$work/isobox.sock"

# dockerd 20.10, as FIELD-NOTES.md starts it
dockerd_pid=
if command -v dockerd >/dev/null; then
	mkdir -p "$work/dockerd"
	unshare -n sh -c "ip link set lo up; exec dockerd --data-root $work/dockerd/data \
		--exec-root $work/dockerd/exec -H unix://$work/dockerd.sock \
		--pidfile $work/dockerd/pid --bridge=none --iptables=false --ip6tables=false" \
		>"$work/dockerd.log" 2>&1 &
	dockerd_pid=$!
	pids="$pids $dockerd_pid"
	wait_sock "$work/dockerd.sock"
	DOCKER_HOST=unix://$work/dockerd.sock $docker import "$work/busybox.tar" busybox >/dev/null
fi

# podman's service
if command -v podman >/dev/null; then
	podman --root "$work/podman" --runroot "$work/podman-run" system service --time=0 \
		"unix://$work/podman.sock" >/dev/null 2>&1 &
	pids="$pids $!"
	wait_sock "$work/podman.sock"
	podman --root "$work/podman" --runroot "$work/podman-run" import "$work/busybox.tar" \
		busybox >/dev/null 2>&1
fi

median_ms() {   # SOCK: the median of RUNS `docker run --rm busybox true`
	DOCKER_HOST=unix://$1 $docker run --rm --network none busybox true >/dev/null
	for _ in $(seq "$runs"); do
		a=$(date +%s%N)
		DOCKER_HOST=unix://$1 $docker run --rm --network none busybox true >/dev/null
		b=$(date +%s%N)
		echo $(((b - a) / 1000000))
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

iso=$(median_ms "$work/isobox.sock")
echo "docker run --rm busybox true, median of $runs (ms):"
echo "  isobox serve        $iso"
if [ -n "$dockerd_pid" ]; then
	dk=$(median_ms "$work/dockerd.sock")
	echo "  dockerd 20.10       $dk"
fi
if [ -S "$work/podman.sock" ]; then
	if pm=$(median_ms "$work/podman.sock" 2>"$work/podman.err"); then
		echo "  podman service      $pm"
	else
		pm=
		echo "  podman service      failed: $(tail -n 1 "$work/podman.err")"
	fi
fi
if [ -n "$dockerd_pid" ]; then
	awk -v a="$iso" -v b="$dk" 'BEGIN { printf "isobox / dockerd: %.2fx (target <= 0.25x)\n", a / b }'
fi
if [ -n "${pm:-}" ]; then
	awk -v a="$iso" -v b="$pm" 'BEGIN { printf "isobox / podman: %.2fx\n", a / b }'
fi

sleep 2
irss=$(rss_kib "$isobox_pid")
echo "idle RSS (KiB): isobox serve $irss"
if [ -n "$dockerd_pid" ]; then
	d=$(cat "$work/dockerd/pid")
	drss=$(rss_kib "$d")
	c=$(pgrep -P "$d" containerd | head -n 1 || true)
	crss=$([ -n "$c" ] && rss_kib "$c" || echo 0)
	echo "  dockerd $drss + containerd $crss"
	awk -v a="$irss" -v b="$drss" -v c="$crss" \
		'BEGIN { printf "isobox / (dockerd + containerd): %.3fx (target <= 0.1x)\n", a / (b + c) }'
fi

# MANY containers running in each engine
start_many() {   # SOCK
	for _ in $(seq "$many"); do
		DOCKER_HOST=unix://$1 $docker run -d --network none busybox sleep 3600 >/dev/null
	done
}
sum_rss() {      # PIDS...: their RSS in KiB, summed
	t=0
	for p in "$@"; do t=$((t + $(rss_kib "$p" 2>/dev/null || echo 0))); done
	echo "$t"
}
start_many "$work/isobox.sock"
sleep 2
irss_many=$(rss_kib "$isobox_pid")
monitors=$(sed -n 's/.*"monitor_pid":\([0-9]*\).*/\1/p' "$work"/isobox/containers/*/state.json)
mrss=$(sum_rss $monitors)
echo "with $many containers running (KiB): isobox serve $irss_many" \
	"(and $(echo "$monitors" | wc -w) monitors, $mrss in all)"
if [ -n "$dockerd_pid" ]; then
	start_many "$work/dockerd.sock"
	sleep 2
	drss_many=$(rss_kib "$d")
	crss_many=$([ -n "$c" ] && rss_kib "$c" || echo 0)
	shims=$(pgrep -f "containerd-shim.*$work" || true)
	srss=$(sum_rss $shims)
	echo "  dockerd $drss_many + containerd $crss_many" \
		"(and $(echo "$shims" | wc -w) shims, $srss in all)"
	awk -v a="$irss_many" -v b="$drss_many" -v c="$crss_many" \
		'BEGIN { printf "isobox / (dockerd + containerd): %.3fx (target <= 0.1x)\n", a / (b + c) }'
	awk -v a="$irss_many" -v m="$mrss" -v b="$drss_many" -v c="$crss_many" -v s="$srss" \
		'BEGIN { printf "with the per-container processes: %.3fx\n", (a + m) / (b + c + s) }'
	DOCKER_HOST=unix://$work/dockerd.sock $docker rm -f \
		$(DOCKER_HOST=unix://$work/dockerd.sock $docker ps -q) >/dev/null
fi
DOCKER_HOST=unix://$work/isobox.sock $docker rm -f \
	$(DOCKER_HOST=unix://$work/isobox.sock $docker ps -q) >/dev/null
