#!/bin/sh
# Compare `isobox-runtime run` with Debian's crun on the same OCI bundle (the
# busybox rootfs, `crun spec`'s config running /bin/true), in the same run:
# median wall time over BENCH_RUNS runs (default 30, after 3 warm-ups each),
# and the ratio. Both run in one private mount namespace, where the hybrid
# host's cgroup v2 controllers file is hidden (crun refuses hybrid hosts).
# Usage (as root, after `make`): bench/runtime-vs-crun.sh
set -eu

die() { echo "runtime-vs-crun: $*" >&2; exit 1; }

cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-30}
WARMUP=3
PY=/usr/bin/python3
RUNTIME=$PWD/build/isobox-runtime

[ "$(id -u)" = 0 ] || die "must run as root"
[ -x "$RUNTIME" ] || die "build/isobox-runtime missing: run make first"
for tool in $PY crun unshare mount; do
	command -v "$tool" >/dev/null 2>&1 || die "required tool not found: $tool"
done
case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac

TMP=$(mktemp -d /tmp/isobox-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
cp bench/loop.py "$TMP/loop.py"

scripts/make-busybox-rootfs.sh "$TMP/busybox.tar" || die "make-busybox-rootfs.sh failed"
mkdir -p "$TMP/bundle/rootfs"
tar -C "$TMP/bundle/rootfs" -xf "$TMP/busybox.tar"
(cd "$TMP/bundle" && crun spec) || die "crun spec failed"
$PY -c 'import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["args"] = ["/bin/true"]; c["process"]["terminal"] = False
json.dump(c, open(p, "w"), indent=2)' "$TMP/bundle/config.json"
: >"$TMP/empty"

export TMP PY RUNS WARMUP RUNTIME
out=$(unshare -m sh -c '
	set -e
	mount --bind "$TMP/empty" /sys/fs/cgroup/unified/cgroup.controllers
	$PY "$TMP/loop.py" "$RUNS" "$WARMUP" "$RUNTIME" --root "$TMP/state" run -b "$TMP/bundle" "bench-$$-{i}"
	$PY "$TMP/loop.py" "$RUNS" "$WARMUP" crun run -b "$TMP/bundle" "isobox-bench-$$-{i}"') ||
	die "measurement failed"
iso_ms=$(echo "$out" | sed -n 1p)
crun_ms=$(echo "$out" | sed -n 2p)

$PY - "$iso_ms" "$crun_ms" "$RUNS" <<'PYEOF'
import sys
ims, cms = float(sys.argv[1]), float(sys.argv[2])
print("median of %s runs (after 3 warm-ups), same bundle, crun spec's config" % sys.argv[3])
print("%-36s median %6.1f ms" % ("isobox-runtime run", ims))
print("%-36s median %6.1f ms" % ("crun run", cms))
print("%-36s %5.2fx   (target: <= 1.0x)" % ("ratio isobox-runtime/crun", ims / cms))
PYEOF
