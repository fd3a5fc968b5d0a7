#!/bin/sh
# The first hyperv run of a new image of 4 layers (busybox + 3 committed ones,
# 16 MiB of new files each), which builds one EROFS disk per new layer, against
# the second run of the same image, whose disks are all cached: medians over
# RUNS new images and their ratio; and the same for `create` alone (the
# engine's part, EROFS builds included, without the VM's boot). Runs inside
# the test host (TCG + nested KVM).
# Usage (after make and tests/hyperv/prepare.sh): bench/vm-new-image.sh [RUNS]
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" != --inside ]; then
	[ -e build/hyperv/agent.cpio ] || { echo "run tests/hyperv/prepare.sh first" >&2; exit 1; }
	exec scripts/testhost/run.sh --timeout 3000 -- sh bench/vm-new-image.sh --inside "${1:-6}"
fi
runs=${2:-6}
root=/tmp/bench-layers-root
rm -rf "$root" && mkdir -p "$root"
ln -s "$PWD/build/hyperv/root/kernels" "$root/kernels"
B="./build/isobox --root $root"
sh scripts/make-busybox-rootfs.sh /tmp/bench-layers.tar
$B import /tmp/bench-layers.tar busybox >/dev/null
$B run --rm --isolation=hyperv busybox true   # busybox's own disk: not part of the measure
now() { date +%s.%N; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
: >/tmp/bench-first; : >/tmp/bench-second; : >/tmp/bench-c1; : >/tmp/bench-c2
i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	img=busybox
	for l in 1 2 3; do
		c=b$i-$l
		$B run --name "$c" --isolation=process "$img" sh -c \
			"mkdir /l$l && dd if=/dev/urandom of=/l$l/data bs=1M count=16 2>/dev/null && cp -a /bin /l$l/"
		img=new$i:$l
		$B commit "$c" "$img" >/dev/null
		$B rm "$c" >/dev/null
	done
	# create alone first (the builds), on a copy of the image under another
	# name would share the layers: so a fresh image per measure instead.
	if [ $((i % 2)) -eq 1 ]; then
		t0=$(now); c=$($B create --isolation=hyperv "$img" true); t1=$(now)
		$B rm "$c" >/dev/null
		c=$($B create --isolation=hyperv "$img" true); t2=$(now)
		$B rm "$c" >/dev/null
		echo "$t1 - $t0" | bc >>/tmp/bench-c1
		echo "$t2 - $t1" | bc >>/tmp/bench-c2
	else
		t0=$(now); $B run --rm --isolation=hyperv "$img" true; t1=$(now)
		$B run --rm --isolation=hyperv "$img" true; t2=$(now)
		echo "$t1 - $t0" | bc >>/tmp/bench-first
		echo "$t2 - $t1" | bc >>/tmp/bench-second
	fi
done
first=$(median </tmp/bench-first)
second=$(median </tmp/bench-second)
c1=$(median </tmp/bench-c1)
c2=$(median </tmp/bench-c2)
echo "new 4-layer image, hyperv, medians (s) over $runs new images (half run, half create):"
echo "run --rm true: first $first (3 EROFS builds), second $second"
echo "ratio first/second (run): $(echo "scale=2; $first / $second" | bc)"
echo "create: first $c1 (3 EROFS builds), second $c2"
echo "ratio first/second (create): $(echo "scale=2; $c1 / $c2" | bc)"
