#!/bin/sh
# The body of bench/hyperv-vs-qemu.sh, run inside the test host.
set -eu
runs=$1
root=/tmp/bench-root
rm -rf "$root" && mkdir -p "$root"
ln -s "$PWD/build/hyperv/root/kernels" "$root/kernels"
B="./build/isobox --root $root"
tar=/tmp/bench-rootfs.tar
sh scripts/make-busybox-rootfs.sh "$tar"
$B import "$tar" busybox >/dev/null
kernel=$(ls -d build/hyperv/root/kernels/*/ | head -n 1)
# The file isobox boots: the PVH vmlinux when the store has one.
image=$kernel/vmlinux
[ -e "$image" ] || image=$kernel/vmlinuz
# QEMU gets the same disks (by serial), consoles and exit port as isobox's VMM.
cfg=/tmp/bench-config
# The same command for both: sh -c "exit 3" (QEMU's isa-debug-exit then
# exits with (3 << 1) | 1 = 7, which no QEMU error can be mistaken for).
printf 'ISOBOXC1\001\002\000\000\000sh\001\002\000\000\000-c\001\006\000\000\000exit 3\000' >"$cfg"
truncate -s 512 "$cfg"
$B run --rm --isolation=hyperv busybox true >/dev/null   # builds the EROFS image
erofs=$(ls "$root"/erofs/*.erofs | head -n 1)
initrd=/tmp/bench-initrd.cpio
cp "$kernel/initrd.cpio" "$initrd"
cat >/tmp/bench-qemu.sh <<QEMU
exec qemu-system-x86_64 -M microvm,rtc=on -enable-kvm -cpu host -m 256 -nodefaults \\
	-no-user-config -display none -no-reboot -serial null \\
	-kernel $image -initrd $initrd \\
	-append "console=ttyS0 quiet reboot=k panic=-1 pci=off i8042.noaux" \\
	-device isa-debug-exit,iobase=0xf4,iosize=1 \\
	-chardev null,id=c0 -chardev null,id=c1 -chardev null,id=c2 \\
	-device virtio-serial-device,id=s0,max_ports=1 -device virtconsole,chardev=c0,bus=s0.0 \\
	-device virtio-serial-device,id=s1,max_ports=1 -device virtconsole,chardev=c1,bus=s1.0 \\
	-device virtio-serial-device,id=s2,max_ports=1 -device virtconsole,chardev=c2,bus=s2.0 \\
	-chardev null,id=c3 \\
	-device virtio-serial-device,id=s3,max_ports=1 -device virtconsole,chardev=c3,bus=s3.0 \\
	-drive id=r,file=$erofs,format=raw,if=none,readonly=on \\
	-device virtio-blk-device,drive=r,serial=isobox-root \\
	-drive id=c,file=$cfg,format=raw,if=none,readonly=on \\
	-device virtio-blk-device,drive=c,serial=isobox-config
QEMU
/usr/bin/python3 - "$runs" "$B" <<'PY'
import statistics, subprocess, sys, time
runs, b = int(sys.argv[1]), sys.argv[2].split()
def median(cmd, want, shell=False):
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, shell=shell, capture_output=True)
        t.append(time.perf_counter() - t0)
        if r.returncode != want:
            sys.exit(f"{cmd} exited {r.returncode}, not {want}: {r.stderr.decode()[-500:]}")
    return statistics.median(t) * 1000
iso = median(b + ["run", "--rm", "--isolation=hyperv", "busybox", "sh", "-c", "exit 3"], 3)
print(f"isobox run --rm --isolation=hyperv busybox sh -c 'exit 3'  median {iso:8.0f} ms")
open("/tmp/iso.ms", "w").write(str(iso))
PY
qemu_ms=$(/usr/bin/python3 -c '
import statistics, subprocess, sys, time
t = []
for _ in range(int(sys.argv[1])):
    t0 = time.perf_counter()
    r = subprocess.run(["sh", "/tmp/bench-qemu.sh"], capture_output=True)
    t.append(time.perf_counter() - t0)
    if r.returncode != 7:     # isa-debug-exit: (3 << 1) | 1
        sys.exit("qemu exited %d: %s" % (r.returncode, r.stderr.decode()[-500:]))
print("%.0f" % (statistics.median(t) * 1000))' "$runs")
echo "qemu microvm, same kernel, initramfs, disks, agent, command  median $qemu_ms ms"
/usr/bin/python3 -c 'import sys; print("ratio isobox/QEMU %.2fx (target <= 0.8x)" % (float(open("/tmp/iso.ms").read()) / float(sys.argv[1])))' "$qemu_ms"
# The guest's own time until the app runs, and an idle container's host memory.
echo "guest uptime when the app starts: $($B run --rm --isolation=hyperv busybox cut -d' ' -f1 /proc/uptime) s"
cid=$($B run -d --isolation=hyperv busybox sleep 120)
sleep 30
pid=$($B inspect -f '{{.State.Pid}}' "$cid")
echo "idle hyperv container: VMM RSS $(awk '/VmRSS/ {print $2 " " $3}' /proc/$pid/status)," \
	"guest memory touched $(awk '/Rss/ {s += $2} END {print s " kB"}' /proc/$pid/smaps_rollup)"
$B rm -f "$cid" >/dev/null
