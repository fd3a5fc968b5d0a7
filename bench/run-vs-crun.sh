#!/bin/sh
# Compare `isobox run --rm busybox true` with Debian's crun running the same
# busybox rootfs as an OCI bundle: median wall time over BENCH_RUNS runs
# (default 30, after 3 warm-up runs each) and peak RSS of one run (GNU time %M).
# Both loops use the same python3 timing loop (perf_counter around
# subprocess.run). Usage (as root, after `make`): bench/run-vs-crun.sh
set -eu

die() { echo "run-vs-crun: $*" >&2; exit 1; }

cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-30}
WARMUP=3
PY=/usr/bin/python3
ISOBOX=$PWD/build/isobox

[ "$(id -u)" = 0 ] || die "must run as root"
for f in isobox isobox-init; do [ -x "build/$f" ] || die "build/$f missing: run make first"; done
for tool in $PY /usr/bin/time crun unshare mount; do
	command -v "$tool" >/dev/null 2>&1 || die "required tool not found: $tool"
done
case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac

TMP=$(mktemp -d /tmp/isobox-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# The timing loop, shared with the other benchmarks.
cp bench/loop.py "$TMP/loop.py"

# Peak RSS in KiB of one run of "$@" (GNU time; stderr of the command kept apart).
rss() {
	/usr/bin/time -f %M -o "$TMP/rss" "$@" >/dev/null 2>"$TMP/rss.err" ||
		die "run failed: $* ($(cat "$TMP/rss.err"))"
	tail -n 1 "$TMP/rss"
}

# --- rootfs, isobox image, OCI bundle ---------------------------------------
scripts/make-busybox-rootfs.sh "$TMP/busybox.tar" || die "make-busybox-rootfs.sh failed"
mkdir "$TMP/root" "$TMP/bundle" "$TMP/bundle/rootfs"
"$ISOBOX" --root "$TMP/root" import "$TMP/busybox.tar" busybox >/dev/null ||
	die "isobox import failed"
tar -C "$TMP/bundle/rootfs" -xf "$TMP/busybox.tar"
(cd "$TMP/bundle" && crun spec) || die "crun spec failed"
$PY -c 'import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["args"] = ["/bin/true"]; c["process"]["terminal"] = False
json.dump(c, open(p, "w"), indent=2)' "$TMP/bundle/config.json"
: >"$TMP/empty"
# A second bundle with isobox's own config.json (docker's seccomp profile,
# capabilities, masked paths, device rules), so crun does the same work.
cid=$("$ISOBOX" --root "$TMP/root" create busybox /bin/true) || die "isobox create failed"
mkdir "$TMP/same"
ln -s "$TMP/bundle/rootfs" "$TMP/same/rootfs"
$PY -c 'import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
c = json.load(open(os.path.join(src, "config.json")))
c["root"]["path"] = os.path.join(dst, "rootfs")
c.pop("annotations", None)
for m in c["mounts"]:
    if m["source"].startswith(src):
        m["source"] = m["source"].replace(src, dst)
        open(m["source"], "w").write(open(os.path.join(src, os.path.basename(m["source"]))).read())
json.dump(c, open(os.path.join(dst, "config.json"), "w"), indent=2)' \
	"$TMP/root/containers/$cid" "$TMP/same" || die "could not derive the crun bundle"
"$ISOBOX" --root "$TMP/root" rm "$cid" >/dev/null

# --- isobox ------------------------------------------------------------------
iso_ms=$($PY "$TMP/loop.py" "$RUNS" "$WARMUP" \
	"$ISOBOX" --root "$TMP/root" run --rm busybox true) || die "isobox timing failed"
iso_kb=$(rss "$ISOBOX" --root "$TMP/root" run --rm busybox true)

# --- crun (private mount ns hides the hybrid cgroup v2 controllers file) -----
export TMP PY RUNS WARMUP
crun_out=$(unshare -m sh -c '
	set -e
	mount --bind "$TMP/empty" /sys/fs/cgroup/unified/cgroup.controllers
	$PY "$TMP/loop.py" "$RUNS" "$WARMUP" crun run -b "$TMP/bundle" "isobox-bench-$$-{i}"
	/usr/bin/time -f %M -o "$TMP/rss" crun run -b "$TMP/bundle" "isobox-bench-$$-rss" >/dev/null
	tail -n 1 "$TMP/rss"
	$PY "$TMP/loop.py" "$RUNS" "$WARMUP" crun run -b "$TMP/same" "isobox-bench-same-$$-{i}"') ||
	die "crun measurement failed"
crun_ms=$(echo "$crun_out" | sed -n 1p)
crun_kb=$(echo "$crun_out" | sed -n 2p)
same_ms=$(echo "$crun_out" | sed -n 3p)

# --- report ------------------------------------------------------------------
$PY - "$iso_ms" "$iso_kb" "$crun_ms" "$crun_kb" "$same_ms" "$RUNS" <<'EOF'
import sys
ims, ikb, cms, ckb, sms = (float(a) for a in sys.argv[1:6])
print("median of %s runs (after 3 warm-ups), peak RSS of one run (GNU time)" % sys.argv[6])
print("%-40s median %6.1f ms   peak RSS %4.1f MiB" % ("isobox run --rm busybox true", ims, ikb / 1024))
print("%-40s median %6.1f ms   peak RSS %4.1f MiB" % ("crun run (crun spec's config)", cms, ckb / 1024))
print("%-40s median %6.1f ms" % ("crun run (isobox's config.json)", sms))
print("%-40s time %5.2fx        RSS %4.2fx   (targets: time <= 1.5x, RSS <= 1.0x)"
      % ("ratio isobox/crun (crun spec's config)", ims / cms, ikb / ckb))
print("%-40s time %5.2fx" % ("ratio isobox/crun (isobox's config.json)", ims / sms))
EOF
