#!/bin/sh
# Smoke test for the test host (run it through scripts/testhost/run.sh):
# /dev/kvm must be there and be nested SVM KVM, which is what the hyperv
# backend's tests need. Prints the facts it checks; exits non-zero on failure.
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
echo "kernel: $(uname -r), cpus: $(nproc), uptime: $(cut -d' ' -f1 /proc/uptime) s"
grep -qw svm /proc/cpuinfo && ok "cpu has svm" || bad "cpu has no svm flag"
[ -c /dev/kvm ] && ok "/dev/kvm: $(ls -l /dev/kvm)" || bad "/dev/kvm missing"
[ -d /sys/module/kvm_amd ] && ok "kvm_amd loaded" || bad "kvm_amd not loaded"
n=$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null)
case $n in 1|Y) ok "kvm_amd nested=$n" ;; *) bad "kvm_amd nested='$n'" ;; esac
dmesg | grep -iE 'kvm|svm' | sed 's/^/     dmesg: /'
dmesg | grep -q 'Nested Virtualization enabled' && ok "dmesg: nested virtualization enabled" ||
	bad "dmesg does not say nested virtualization is enabled"
# KVM_GET_API_VERSION (_IO(0xAE, 0)) proves the device opens and answers.
if command -v python3 >/dev/null; then
	v=$(python3 -c 'import fcntl,os; f=os.open("/dev/kvm",os.O_RDWR); print(fcntl.ioctl(f,0xAE00))' 2>&1)
	[ "$v" = 12 ] && ok "KVM_GET_API_VERSION=$v" || bad "KVM_GET_API_VERSION: $v"
fi
exit $fail
