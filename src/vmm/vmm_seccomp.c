/* The VMM's seccomp filter (see vmm_seccomp.h). The lists are what the run
 * loops, the devices, glibc (malloc, pthread, stdio) and the I/O loop's
 * features (terminal size, container exec over a socket opened during setup)
 * call once the VM is set up. Everything else kills the process. */
#include "vmm/vmm_seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Allowed with any arguments: each works only on fds, memory, signals and
 * threads the process already has. */
static const int any_args[] = {
	/* consoles, disks, the serial log, eventfds, signalfd, pipes, sockets; dprintf */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	/* waiting */
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(futex),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(sched_yield),
	SCMP_SYS(restart_syscall),
	/* time; the boot timeout's timer exists already */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(timer_settime), SCMP_SYS(timer_gettime), SCMP_SYS(timer_getoverrun),
	SCMP_SYS(timer_delete),
	/* signals (glibc's first pthread_create sets a handler), threads, abort() */
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(signalfd4),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* malloc */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(mremap),
	SCMP_SYS(getrandom),
};

/* ioctl only with these requests, on whatever fd. */
static const unsigned long ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS,
	TIOCGWINSZ, TIOCSWINSZ, TCGETS, FIONBIO,
	TUNSETOFFLOAD,      /* virtio-net: the offloads the driver took */
};

static const int fcntls[] = { F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC };

/* A thread, never a process, and no new namespaces. */
#define CLONE_CHECKED (CLONE_THREAD | CLONE_VM | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
		       CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

static int allow(scmp_filter_ctx ctx, int nr, unsigned n, struct scmp_arg_cmp cmp,
		 struct err *err)
{
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, &cmp);

	if (r < 0)
		return err_sys(err, -r, "VMM seccomp filter: rule for system call %d", nr);
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, struct err *err)
{
	struct scmp_arg_cmp none = { 0 };
	size_t i;
	int r;

	for (i = 0; i < N_OF(any_args); i++)
		if (allow(ctx, any_args[i], 0, none, err) < 0)
			return -1;
	for (i = 0; i < N_OF(ioctls); i++)
		if (allow(ctx, SCMP_SYS(ioctl), 1, SCMP_A1_64(SCMP_CMP_EQ, ioctls[i], 0), err) < 0)
			return -1;
	for (i = 0; i < N_OF(fcntls); i++)
		if (allow(ctx, SCMP_SYS(fcntl), 1, SCMP_A1_32(SCMP_CMP_EQ, fcntls[i], 0), err) < 0)
			return -1;
	/* Memory, but never executable: no new code in a compromised VMM. */
	if (allow(ctx, SCMP_SYS(mmap), 1, SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0), err) < 0 ||
	    allow(ctx, SCMP_SYS(mprotect), 1, SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
		  err) < 0)
		return -1;
	/* The filter is installed before the vCPU thread exists, so that no guest
	 * instruction ever runs unfiltered (TSYNC after pthread_create would leave
	 * the vCPU thread a window), and the thread inherits it at clone. So
	 * clone is allowed for threads only; clone3 hides its flags in memory the
	 * filter cannot read, so it fails with ENOSYS and glibc falls back to clone. */
	if (allow(ctx, SCMP_SYS(clone), 1,
		  SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_CHECKED, CLONE_THREAD | CLONE_VM), err) < 0)
		return -1;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return err_sys(err, -r, "VMM seccomp filter: rule for clone3");
	/* abort() signals its own thread; no other process. */
	if (allow(ctx, SCMP_SYS(tgkill), 1, SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)getpid(), 0), err) < 0)
		return -1;
	/* KVM_RUN is the hot path: test ioctl first. */
	r = seccomp_syscall_priority(ctx, SCMP_SYS(ioctl), 255);
	if (r < 0)
		return err_sys(err, -r, "VMM seccomp filter: ioctl priority");
	return 0;
}

int vmm_seccomp_install(struct err *err)
{
	scmp_filter_ctx ctx;
	int r;

	/* glibc opens the time zone file on the first gmtime_r (the CMOS clock
	 * makes it at run time): now, while files may still be opened. */
	tzset();
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return err_set(err, "VMM seccomp filter: cannot create it (does this kernel "
			       "support SECCOMP_RET_KILL_PROCESS, Linux 4.14+?)");
	/* Any thread that exists already gets the filter too; 32-bit and x32
	 * system calls kill like unknown ones. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0) {
		seccomp_release(ctx);
		return err_sys(err, -r, "VMM seccomp filter: set its attributes");
	}
	if (add_rules(ctx, err) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return err_sys(err, -r, "load the VMM's seccomp filter");
	return 0;
}
