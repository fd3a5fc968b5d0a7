# What an app sees of its container, one "key: value" a line, normalized so
# that docker and isobox can be compared line by line (no ids, dates, sizes,
# inode or device numbers of the host). busybox sh; passed as `sh -c "$(cat
# probe.sh)"`. tests/e2e/test_docker_probe.py compares the outputs.
p() { printf '%s: %s\n' "$1" "$2"; }
st() { sed -n "s/^$1:[[:space:]]*//p" /proc/self/status | tr -s '\t ' '  ' | sed 's/ $//'; }
join() { tr '\n' '|' | sed 's/|$//; s/|/ | /g'; }
shape() {  # the length of a name and whether it is lower-case hex, not the name
	case $1 in *[!0-9a-f]*|'') h=no ;; *) h=yes ;; esac
	echo "len=${#1} hex=$h"
}

# The process
p pid "$$"
p pid1.cmdline "$(tr '\0' '\n' </proc/1/cmdline | head -n 2 | join)"
p uid "$(st Uid)"
p gid "$(st Gid)"
p groups "$(st Groups)"
p id "$(id)"
p nonewprivs "$(st NoNewPrivs)"
p seccomp "$(st Seccomp)"
p seccomp.filters "$(st Seccomp_filters)"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do p "$c" "$(st $c)"; done
p oom_score_adj "$(cat /proc/self/oom_score_adj)"
p cwd "$(pwd)"
p umask "$(umask)"
while IFS= read -r l; do
	case $l in Limit*) continue ;; esac
	name=$(echo "$l" | cut -c1-26 | sed 's/ *$//')
	p "rlimit $name" "$(echo "$l" | cut -c27- | tr -s ' ' | sed 's/^ //; s/ $//')"
done </proc/self/limits

# The environment
p env.HOME "${HOME-<unset>}"
p env.PATH "${PATH-<unset>}"
p env.TERM "${TERM-<unset>}"
p env.HOSTNAME "$(shape "${HOSTNAME-}")"
p env.keys "$(env | cut -d= -f1 | sort | tr '\n' ' ' | sed 's/ $//')"

# Names
p hostname "$(shape "$(hostname)")"
p etc.hostname "$(shape "$(cat /etc/hostname 2>/dev/null)") same=$([ "$(cat /etc/hostname 2>/dev/null)" = "$(hostname)" ] && echo yes || echo no)"
h=$(hostname)
p etc.hosts "$(sed "s/$h/HOSTNAME/g" /etc/hosts 2>/dev/null | tr -s ' \t' '  ' | grep -v '^#' | grep -v '^ *$' | join)"
p etc.resolv.conf "$(grep -v '^#' /etc/resolv.conf 2>/dev/null | grep -v '^ *$' | join)"
p net.ifaces "$(ls /sys/class/net | tr '\n' ' ' | sed 's/ $//')"

# /dev: names, types, modes, owners, device numbers (links: their targets)
for f in /dev/* /dev/.* /dev/pts/* /dev/shm /dev/mqueue; do
	case $f in */.|*/..|*'*') continue ;; esac
	[ -e "$f" ] || [ -L "$f" ] || continue
	if [ -L "$f" ]; then
		p "dev $f" "-> $(readlink "$f")"
	else
		p "dev $f" "$(stat -c '%A %t:%T %U:%G' "$f")"
	fi
done

# Mounts: point, type, per-mount ro/rw and nosuid/nodev/noexec; a second
# mount on the same point is "#2"
awk '{
	for (i = 7; i <= NF && $i != "-"; i++) ;
	n = split($6, o, ","); keep = "";
	for (j = 1; j <= n; j++)
		if (o[j] ~ /^(ro|rw|nosuid|nodev|noexec)$/) keep = keep (keep == "" ? "" : ",") o[j];
	key = "mount " $5; if (key in seen) key = key "#" (++seen[key] + 1); else seen[key] = 0;
	# /etc/hosts and kin: files of the engine store, whose disk type varies
	type = $5 ~ /^\/etc\// ? "file" : $(i + 1)
	print key ": " type " " keep
}' /proc/self/mountinfo

# Masked paths: readable or not, and how much
for f in /proc/asound /proc/acpi /proc/kcore /proc/keys /proc/latency_stats \
	/proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware \
	/sys/devices/virtual/powercap; do
	if [ -d "$f" ]; then
		p "masked $f" "dir entries=$(ls -A "$f" 2>/dev/null | wc -l)"
	elif [ -e "$f" ]; then
		p "masked $f" "file bytes=$(head -c 64 "$f" 2>/dev/null | wc -c)"
	else
		p "masked $f" "absent"
	fi
done

# cgroups
p cgroup.self "$(join </proc/self/cgroup)"
p cgroup.ls "$(ls /sys/fs/cgroup | tr '\n' ' ' | sed 's/ $//')"
if [ -d /sys/fs/cgroup/memory ]; then
	p cgroup.memory "$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
	p cgroup.cpu "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
	p cgroup.pids "$(cat /sys/fs/cgroup/pids/pids.max)"
else
	p cgroup.memory "$(cat /sys/fs/cgroup/memory.max 2>/dev/null)"
	p cgroup.cpu "$(cat /sys/fs/cgroup/cpu.max 2>/dev/null)"
	p cgroup.pids "$(cat /sys/fs/cgroup/pids.max 2>/dev/null)"
fi

# Kernel
for s in net.ipv4.ip_unprivileged_port_start net.ipv4.ping_group_range kernel.domainname; do
	p "sysctl $s" "$(cat /proc/sys/$(echo $s | tr . /) 2>/dev/null | tr -s '\t ' '  ')"
done
p kernel.release "$(uname -r)"
p nproc "$(nproc)"
