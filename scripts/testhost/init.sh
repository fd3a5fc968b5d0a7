#!/bin/sh
# /init of the test host initramfs (busybox sh, PID 1). Builds a throw-away
# writable view of the machine's root (9p read-only + overlay with tmpfs upper),
# runs the command from the kernel command line in it, prints the exit-code
# marker on the serial console and powers off. Parameters (set by run.sh):
#   isobox.cmd=<base64 shell command line>  isobox.cwd=<base64 directory>
#   isobox.nonce=<word, makes the marker unique>  isobox.mods=<base64 path of
#   the unpacked generic kernel's /lib/modules on the shared root> (optional)
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
# Without onlcr the command's bytes reach run.sh unchanged (no \r added).
stty -onlcr 2>/dev/null

die() { echo "testhost init: $*"; echo "ISOBOX-TESTHOST-EXIT-$nonce=125"; poweroff -f; sleep 5; }
nonce=x; cmd=; cwd=/; mods=
for a in $(cat /proc/cmdline); do
	case $a in
	isobox.cmd=*) cmd=$(echo "${a#*=}" | base64 -d) ;;
	isobox.cwd=*) cwd=$(echo "${a#*=}" | base64 -d) ;;
	isobox.mods=*) mods=$(echo "${a#*=}" | base64 -d) ;;
	isobox.nonce=*) nonce=${a#*=} ;;
	esac
done

# Modules, in the dependency order prepare.sh recorded.
for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m" || die "insmod $m failed"
done

mkdir -p /lower /rw
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower ||
	die "cannot mount the 9p host root"
mount -t tmpfs -o mode=755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work root /newroot ||
	die "cannot mount the overlay"
r=/newroot
mount -t proc proc $r/proc
mount -t sysfs sys $r/sys
mount -t cgroup2 cgroup2 $r/sys/fs/cgroup 2>/dev/null || {
	# The host's /sys/fs/cgroup is a directory of the 9p view, not of sysfs:
	# sysfs provides it empty, so this only fails on odd kernels.
	echo "testhost init: cgroup2 mount failed"; }
# A cwd under /tmp or /run (a clone in /tmp, say) would vanish under the
# tmpfs mounted there below: keep it aside and put it back afterwards.
case $cwd in /tmp/*|/run/*) mkdir -p /rw/cwd && mount --bind "$r$cwd" /rw/cwd ;; esac
mount -t devtmpfs dev $r/dev
# The static node systemd's tmpfiles makes on a real host (kmod static-nodes):
# opening it loads tun on demand.
mkdir -p $r/dev/net && { [ -e $r/dev/net/tun ] || mknod $r/dev/net/tun c 10 200; }
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs -o mode=1777 shm $r/dev/shm
mount -t tmpfs -o mode=1777 tmp $r/tmp
# The machine's /run (pid files, sockets) means nothing in here.
mount -t tmpfs -o mode=755 run $r/run
# So modprobe inside finds the test host kernel's modules (tun, bridge, ...).
if [ -n "$mods" ] && [ -d "$r$mods" ]; then
	mkdir -p $r/lib/modules && mount --bind "$r$mods" $r/lib/modules
	# The kernel loads a module on demand (a bridge, nf_tables, a tc action)
	# by running kernel.modprobe from PID 1's root, this initramfs, which has
	# no modprobe: hand the request to the machine root's.
	printf '#!/bin/sh\nexec /bin/chroot %s /sbin/modprobe "$@"\n' "$r" >/bin/modprobe-newroot
	chmod 755 /bin/modprobe-newroot
	echo /bin/modprobe-newroot >/proc/sys/kernel/modprobe
fi
if [ -d /rw/cwd ]; then
	mkdir -p "$r$cwd" && mount --bind /rw/cwd "$r$cwd" && umount /rw/cwd
fi
ip link set lo up 2>/dev/null

# From here on only panics reach the console: kernel messages (e.g. KVM's
# "Unhandled WRMSR" when a nested guest boots) would mix into the command's
# output. They stay readable with dmesg.
echo 1 > /proc/sys/kernel/printk
# Run the command as a child (not exec) so this script sees its exit code.
ISOBOX_CWD=$cwd ISOBOX_CMD=$cmd HOME=/root TERM=${TERM:-linux} \
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	chroot $r /bin/sh -c 'cd "$ISOBOX_CWD" || exit 125
c=$ISOBOX_CMD; unset ISOBOX_CWD ISOBOX_CMD; eval "$c"'
rc=$?
echo "ISOBOX-TESTHOST-EXIT-$nonce=$rc"
poweroff -f
sleep 5
