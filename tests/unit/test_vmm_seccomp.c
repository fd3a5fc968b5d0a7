/* Tests for src/vmm/vmm_seccomp.c: each case runs in a child that sets up
 * what a VMM would (pipes, a file, sockets), installs the filter, then makes
 * system calls; the allowed ones must work, a forbidden one must kill the
 * child with SIGSYS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vmm_seccomp.h"

#define SURVIVED 99   /* a forbidden call returned */

/* What the VMM opened during setup. */
struct env {
	int pipe[2];
	int file;          /* a disk image */
	int pair[2];       /* a connected socket pair */
	int listener;      /* a listening socket with one connection waiting */
	int client;
	pthread_t early;   /* a thread started before the install, or 0 */
};

static int open_env(struct env *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;

	/* An abstract name: nothing to clean up. */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  (size_t)snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
					   "isobox-test-vmm-seccomp-%d", getpid()));
	e->file = memfd_create("disk", MFD_CLOEXEC);
	e->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	e->client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pipe2(e->pipe, O_CLOEXEC) < 0 || e->file < 0 || e->listener < 0 || e->client < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, e->pair) < 0 ||
	    bind(e->listener, (struct sockaddr *)&addr, len) < 0 || listen(e->listener, 1) < 0 ||
	    connect(e->client, (struct sockaddr *)&addr, len) < 0)
		return -1;
	return 0;
}

/* Fork; the child sets up, runs before (if any), installs, runs fn and exits
 * with what fn returns. Returns the child's wait status. */
static int run_child(int (*before)(struct env *), int (*fn)(struct env *))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct env e = { 0 };
		struct err err = { 0 };

		if (open_env(&e) < 0 || (before && before(&e) < 0))
			_exit(101);
		if (vmm_seccomp_install(&err) < 0) {
			fprintf(stderr, "vmm_seccomp_install: %s\n", err.msg);
			_exit(100);
		}
		_exit(fn(&e));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void expect_exit0(int (*before)(struct env *), int (*fn)(struct env *))
{
	int status = run_child(before, fn);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("want exit 0, got %s %d", WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void expect_sigsys(const char *what, int (*before)(struct env *),
			  int (*fn)(struct env *))
{
	int status = run_child(before, fn);

	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("%s: want SIGSYS, got %s %d", what, WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* The devices' I/O: pipes, a disk file, poll, the clock. */
static int io_allowed(struct env *e)
{
	char buf[8] = "", block[512] = "x";
	struct iovec iov = { .iov_base = buf, .iov_len = 2 };
	struct pollfd p = { .fd = e->pipe[0], .events = POLLIN };
	struct timespec ts, nap = { 0, 1000000 };
	struct tm tm;
	struct err err = { 0 };

	if (write(e->pipe[1], "ab", 2) != 2 || poll(&p, 1, 1000) != 1 ||
	    readv(e->pipe[0], &iov, 1) != 2 || memcmp(buf, "ab", 2))
		return 1;
	if (pwrite(e->file, block, sizeof(block), 4096) != sizeof(block) ||
	    pread(e->file, block, sizeof(block), 4096) != sizeof(block) || block[0] != 'x' ||
	    fsync(e->file) < 0 || fdatasync(e->file) < 0)
		return 2;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || nanosleep(&nap, NULL) < 0 ||
	    time(NULL) == (time_t)-1)
		return 3;
	/* the CMOS clock's first read: glibc must not open the time zone file now */
	if (!gmtime_r(&ts.tv_sec, &tm))
		return 4;
	if (getpid() <= 0 || gettid() <= 0 || syscall(SYS_tgkill, getpid(), gettid(), 0) < 0)
		return 5;
	/* a run-time error (KVM_RUN failed), then the VM backend's last word
	 * on it (dprintf: lseek, fstat, a buffer) */
	err_sys(&err, EIO, "KVM_RUN");
	if (!strstr(err.msg, "Input/output error"))
		return 6;
	if (dprintf(e->pipe[1], "isobox: %s\n", "hyperv") != 15 || read(e->pipe[0], buf, 8) != 8)
		return 7;
	return close(e->pipe[1]) < 0 ? 8 : 0;
}

/* The runtime ioctls and fcntls, on fds that may not support them: the
 * filter lets them through, the kernel answers. */
static int ioctl_fcntl_allowed(struct env *e)
{
	struct winsize ws;
	int one = 1, fl;

	if (ioctl(e->pipe[0], TIOCGWINSZ, &ws) != -1 || errno != ENOTTY)
		return 1;
	if (ioctl(e->pipe[0], KVM_RUN, 0) != -1 || ioctl(e->pipe[0], KVM_IRQ_LINE, NULL) != -1)
		return 2;
	if (ioctl(e->pipe[0], FIONBIO, &one) < 0)
		return 3;
	fl = fcntl(e->pipe[0], F_GETFL);
	if (fl < 0 || !(fl & O_NONBLOCK) || fcntl(e->pipe[0], F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    fcntl(e->pipe[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(e->pipe[0], F_DUPFD_CLOEXEC, 0) < 0)
		return 4;
	return 0;
}

/* malloc, big and small, and anonymous memory that is never executable. */
static int memory_allowed(struct env *e)
{
	char *big = malloc(8 << 20), *small = malloc(64);
	void *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)e;
	if (!big || !small || m == MAP_FAILED)
		return 1;
	memset(big, 1, 8 << 20);
	big = realloc(big, 16 << 20);
	if (!big || mprotect(m, 4096, PROT_READ) < 0 || madvise(m, 65536, MADV_DONTNEED) < 0 ||
	    munmap(m, 65536) < 0)
		return 2;
	free(big);
	free(small);
	return 0;
}

/* The container-exec connection: accept, pass an fd, shut down. */
static int socket_allowed(struct env *e)
{
	char c = 'x', ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int conn = accept4(e->listener, NULL, NULL, SOCK_CLOEXEC), got;

	if (conn < 0)
		return 1;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &e->pipe[1], sizeof(int));
	if (sendmsg(conn, &m, 0) != 1)
		return 2;
	memset(ctl, 0, sizeof(ctl));
	m.msg_controllen = sizeof(ctl);
	if (recvmsg(e->client, &m, MSG_CMSG_CLOEXEC) != 1 || !(cm = CMSG_FIRSTHDR(&m)) ||
	    cm->cmsg_type != SCM_RIGHTS)
		return 3;
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	if (write(got, "z", 1) != 1 || read(e->pipe[0], &c, 1) != 1 || c != 'z')
		return 4;
	if (send(e->pair[0], "q", 1, 0) != 1 || recv(e->pair[1], &c, 1, 0) != 1 ||
	    shutdown(conn, SHUT_RDWR) < 0 || close(conn) < 0)
		return 5;
	return 0;
}

static void *thread_write(void *arg)
{
	struct env *e = arg;
	char *p = malloc(100000);

	if (!p || write(e->pipe[1], "t", 1) != 1)
		return (void *)1;
	free(p);
	return NULL;
}

/* As the vCPU thread starts: after the install. */
static int thread_allowed(struct env *e)
{
	pthread_t t;
	void *ret = (void *)1;
	char c;

	if (pthread_create(&t, NULL, thread_write, e) || pthread_join(t, &ret) || ret)
		return 1;
	if (read(e->pipe[0], &c, 1) != 1 || c != 't')
		return 2;
	/* clone3's flags are out of the filter's sight: ENOSYS, glibc uses clone */
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 3;
	return 0;
}

static void test_allowed(void **state)
{
	(void)state;
	expect_exit0(NULL, io_allowed);
	expect_exit0(NULL, ioctl_fcntl_allowed);
	expect_exit0(NULL, memory_allowed);
	expect_exit0(NULL, socket_allowed);
	expect_exit0(NULL, thread_allowed);
}

static int do_openat(struct env *e)
{
	(void)e;
	return syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC) >= 0 ? SURVIVED
										    : SURVIVED + 1;
}

static int do_execve(struct env *e)
{
	char *argv[] = { "/bin/true", NULL };

	(void)e;
	execve(argv[0], argv, NULL);
	return SURVIVED;
}

static int do_socket(struct env *e)
{
	(void)e;
	socket(AF_INET, SOCK_STREAM, 0);
	return SURVIVED;
}

static int do_connect(struct env *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "/nonexistent" };

	connect(e->pair[0], (struct sockaddr *)&addr, sizeof(addr));
	return SURVIVED;
}

static int do_fork(struct env *e)
{
	pid_t pid = fork();

	(void)e;
	if (pid == 0)
		_exit(SURVIVED);
	return SURVIVED;
}

static int do_mmap_exec(struct env *e)
{
	(void)e;
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return SURVIVED;
}

static int do_mprotect_exec(struct env *e)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)e;
	if (m == MAP_FAILED)
		return SURVIVED + 1;
	mprotect(m, 4096, PROT_READ | PROT_EXEC);
	return SURVIVED;
}

static int do_ioctl_setup(struct env *e)
{
	/* a setup ioctl: no new VMs, memory slots or vCPUs at run time */
	ioctl(e->pipe[0], KVM_CREATE_VM, 0);
	return SURVIVED;
}

static int do_ioctl_tiocsti(struct env *e)
{
	char c = 'x';

	ioctl(e->pipe[0], TIOCSTI, &c);
	return SURVIVED;
}

/* an ioctl request with high bits set that the kernel would cut to KVM_RUN */
static int do_ioctl_high_bits(struct env *e)
{
	syscall(SYS_ioctl, e->pipe[0], (1UL << 32) | KVM_RUN, 0);
	return SURVIVED;
}

static int do_fcntl_setown(struct env *e)
{
	fcntl(e->pipe[0], F_SETOWN, getpid());
	return SURVIVED;
}

static int do_kill_parent(struct env *e)
{
	(void)e;
	kill(getppid(), 0);
	return SURVIVED;
}

static int do_tgkill_parent(struct env *e)
{
	(void)e;
	syscall(SYS_tgkill, getppid(), getppid(), 0);
	return SURVIVED;
}

static int do_ptrace(struct env *e)
{
	(void)e;
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return SURVIVED;
}

static int do_clone_namespace(struct env *e)
{
	(void)e;
	syscall(SYS_clone, CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_NEWNET, NULL, NULL,
		NULL, 0);
	return SURVIVED;
}

static void *thread_socket(void *arg)
{
	(void)arg;
	socket(AF_UNIX, SOCK_STREAM, 0);
	return NULL;
}

/* A forbidden call in any thread ends the whole process. */
static int do_thread_socket(struct env *e)
{
	pthread_t t;
	struct timespec nap = { 1, 0 };

	(void)e;
	if (pthread_create(&t, NULL, thread_socket, NULL))
		return SURVIVED + 1;
	pthread_join(t, NULL);
	nanosleep(&nap, NULL);
	return SURVIVED;
}

static void *thread_wait_socket(void *arg)
{
	struct env *e = arg;
	char c;

	if (read(e->pipe[0], &c, 1) == 1)
		socket(AF_UNIX, SOCK_STREAM, 0);
	return NULL;
}

static int start_early_thread(struct env *e)
{
	return pthread_create(&e->early, NULL, thread_wait_socket, e) ? -1 : 0;
}

/* A thread that existed before the install is filtered too (TSYNC). */
static int do_early_thread_socket(struct env *e)
{
	if (write(e->pipe[1], "go", 1) != 1)
		return SURVIVED + 1;
	pthread_join(e->early, NULL);
	return SURVIVED;
}

static void test_forbidden(void **state)
{
#define CASE(f) { #f, f }
	static const struct {
		const char *name;
		int (*fn)(struct env *);
	} calls[] = {
		CASE(do_openat), CASE(do_execve), CASE(do_socket), CASE(do_connect),
		CASE(do_fork), CASE(do_mmap_exec), CASE(do_mprotect_exec), CASE(do_ioctl_setup),
		CASE(do_ioctl_tiocsti), CASE(do_ioctl_high_bits), CASE(do_fcntl_setown),
		CASE(do_kill_parent), CASE(do_tgkill_parent), CASE(do_ptrace),
		CASE(do_clone_namespace), CASE(do_thread_socket),
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		expect_sigsys(calls[i].name, NULL, calls[i].fn);
	expect_sigsys("a thread from before the install", start_early_thread,
		      do_early_thread_socket);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_forbidden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
