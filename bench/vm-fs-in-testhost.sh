#!/bin/sh
# The body of bench/vm-fs.sh, run inside the test host.
set -eu
size=$1 files=$2
root=/tmp/bench-fs-root
rm -rf "$root" /tmp/bench-fs-image && mkdir -p "$root" /tmp/bench-fs-image
ln -s "$PWD/build/hyperv/root/kernels" "$root/kernels"
B="./build/isobox --root $root"
# The image: busybox, fio with its libraries, the tree to untar, the script.
img=/tmp/bench-fs-image
sh scripts/make-busybox-rootfs.sh /tmp/bench-fs-busybox.tar
tar -C "$img" -xf /tmp/bench-fs-busybox.tar
fio=$(command -v fio)
mkdir -p "$img/usr/bin" "$img/bench"
cp "$fio" "$img/usr/bin/fio"
for lib in $(ldd "$fio" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }'); do
	mkdir -p "$img$(dirname "$lib")"
	cp -L "$lib" "$img$lib"
done
/usr/bin/python3 - "$img/bench/tree.tar" "$files" <<'PY'
import io, sys, tarfile
files = int(sys.argv[2])
with tarfile.open(sys.argv[1], "w") as t:
    for d in range((files + 99) // 100):
        for f in range(min(100, files - 100 * d)):
            data = (b"x" * (64 + f))
            info = tarfile.TarInfo(f"tree/d{d:03}/f{f:03}")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
PY
cat >"$img/bench/run.sh" <<'SH'
set -e
size=$1
out=/vol/out
mkdir -p $out
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { cut -d' ' -f1 /proc/uptime; }
for t in disk vol blk; do
	echo "$(now) $t: fio" >&2
	d=/$t/fio
	mkdir -p $d
	drop
	fio --eta=never --name=seq --directory=$d --rw=write --bs=1M --size=${size}M --end_fsync=1 \
		--output-format=json --output=$out/$t-write.json
	drop
	fio --eta=never --name=seq --directory=$d --rw=read --bs=1M --size=${size}M \
		--output-format=json --output=$out/$t-read.json
	drop
	fio --eta=never --name=seq --directory=$d --rw=randread --bs=4k --size=${size}M --runtime=15 \
		--time_based --output-format=json --output=$out/$t-randread.json
	rm -rf $d
	echo "$(now) $t: metadata" >&2
	drop
	t0=$(now)
	mkdir -p /$t/tree && tar -C /$t -xf /bench/tree.tar && sync
	find /$t/tree | wc -l >/dev/null
	find /$t/tree -type f -exec stat -c %s {} + >/dev/null
	t1=$(now)
	echo "$t $t0 $t1" >> $out/meta.txt
	rm -rf /$t/tree
done
SH
(cd "$img" && tar -cf /tmp/bench-fs.tar .)
$B import /tmp/bench-fs.tar fio >/dev/null
$B volume create benchvol >/dev/null
# 3 GiB: room for fio's SIZE file and the tree beside the ext4's own
$B volume create -o type=block -o size=3g benchblk >/dev/null
$B run --rm --network none --isolation=hyperv --privileged -m 512m -v benchvol:/vol \
	-v benchblk:/blk fio sh /bench/run.sh "$size"
/usr/bin/python3 - "$root/volumes/benchvol/_data/out" "$size" "$files" <<'PY'
import json, os, sys
out, size, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def job(name):
    return json.load(open(os.path.join(out, name)))["jobs"][0]
res = {}
for t in ("disk", "vol", "blk"):
    w = job(f"{t}-write.json")["write"]["bw"] / 1024
    r = job(f"{t}-read.json")["read"]["bw"] / 1024
    iops = job(f"{t}-randread.json")["read"]["iops"]
    res[t] = (w, r, iops)
meta = {}
for line in open(os.path.join(out, "meta.txt")):
    t, t0, t1 = line.split()
    meta[t] = float(t1) - float(t0)
print(f"{'':22s}{'VM disk':>10s}{'volume':>10s}{'ratio':>8s}{'block vol':>11s}{'ratio':>8s}")
for i, (what, unit) in enumerate((("seq write", "MiB/s"), ("seq read", "MiB/s"),
                                  ("4k randread", "IOPS"))):
    d, v, k = res["disk"][i], res["vol"][i], res["blk"][i]
    print(f"{what + ' (' + unit + ')':22s}{d:10.1f}{v:10.1f}{v / d:7.2f}x{k:11.1f}{k / d:7.2f}x")
d, v, k = meta["disk"], meta["vol"], meta["blk"]
print(f"{f'{files} files (s)':22s}{d:10.2f}{v:10.2f}{d / v:7.2f}x{k:11.2f}{d / k:7.2f}x")
print(f"(size {size} MiB; ratio volume/disk, for time disk/volume; targets >= 0.5x "
      f"throughput, >= 0.3x metadata; volume: virtio-fs, block vol: -o type=block)")
PY
