/* The file server's confinement (see fsd.h). Its order matters: the mount
 * namespace and rlimit need CAP_SYS_ADMIN and CAP_SYS_RESOURCE, which the
 * capability drop then removes; the seccomp filter comes last, so the calls
 * before it need not be on its list. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsd/server.h"
#include "util/cleanup.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const cap_value_t kept_caps[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID };

/* What the ops, the request loop (eventfds, the queue's memory) and glibc's
 * malloc call; anything else kills the process. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx), SCMP_SYS(fstatfs), SCMP_SYS(getdents64), SCMP_SYS(readlinkat),
	SCMP_SYS(mkdirat), SCMP_SYS(mknodat), SCMP_SYS(symlinkat), SCMP_SYS(linkat),
	SCMP_SYS(unlinkat), SCMP_SYS(renameat2), SCMP_SYS(renameat), SCMP_SYS(fchownat),
	SCMP_SYS(fchown), SCMP_SYS(fchmodat), SCMP_SYS(fchmod), SCMP_SYS(utimensat),
	SCMP_SYS(ftruncate), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(fallocate),
	SCMP_SYS(ppoll), SCMP_SYS(poll), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(getrandom), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* In a PID namespace of its own, the server reopens inodes through a procfs
 * of that namespace (mounted in its private mount namespace, over /proc):
 * walking up from self/fd finds no other process. */
static int own_proc(struct fsd *s, struct err *err)
{
	int fd;

	if (getpid() != 1)
		return 0;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid") < 0 &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return err_sys(err, errno, "file server: mount its own /proc");
	fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "file server: open its /proc/self/fd");
	close(s->proc_fd);
	s->proc_fd = fd;
	return 0;
}

/* Only the share exists: a private mount namespace whose root it is. The
 * old root is detached at once (pivot_root ".", "." then umount "."). */
static int enter_share(struct fsd *s, const struct fsd_config *cfg, struct err *err)
{
	unsigned long ro = cfg->read_only ? MS_RDONLY : 0;
	/* A staged file's namespace is the server's own already (leaving it
	 * would dissolve the staging mounts the root fd sees). */
	const char *share = s->own_mount_ns ? s->staged : cfg->share;

	if (!s->own_mount_ns && unshare(CLONE_NEWNS) < 0)
		return err_sys(err, errno, "file server: new mount namespace");
	if (!s->own_mount_ns && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return err_sys(err, errno, "file server: make mounts slaves");
	if (own_proc(s, err) < 0)
		return -1;
	if (mount(share, share, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(err, errno, "file server: bind %s", share);
	/* :ro is the host's too: the mount refuses writes whatever the code does. */
	if (ro && mount(NULL, share, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
			NULL) < 0)
		return err_sys(err, errno, "file server: make %s read-only", share);
	if (chdir(share) < 0)
		return err_sys(err, errno, "file server: enter %s", share);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(err, errno, "file server: pivot_root into %s", share);
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(err, errno, "file server: detach the old root");
	if (chdir("/") < 0)
		return err_sys(err, errno, "file server: chdir /");
	/* The root node becomes the new root, same inode, under the same fd
	 * number: the fd opened before went with the old root's detached tree,
	 * and with it the mounts beneath the share (a staged file's bind). */
	{
		_cleanup_close_ int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || dup3(fd, s->root_fd, O_CLOEXEC) < 0)
			return err_sys(err, errno, "file server: reopen the share's root");
	}
	return 0;
}

int fsd_stage_file(struct fsd *s, const char *path, bool read_only, struct err *err)
{
	char *dir = s->staged;
	size_t dir_len = sizeof(s->staged);
	unsigned long ro = read_only ? MS_RDONLY : 0;
	char file[PATH_MAX], src[64];
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *slash;
	int made;

	if (strlen(path) >= dir_len || path[0] != '/')
		return err_set(err, "file server: %s: not an absolute path that fits", path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	/* A tmpfs over / would hide /proc, which the bind goes through. */
	if (slash == dir)
		return err_set(err, "file server: %s: a file of / cannot be shared alone", path);
	*slash = '\0';
	if (snprintf(file, sizeof(file), "%s/" FSD_STAGED_FILE, dir) >= (int)sizeof(file))
		return err_set(err, "file server: %s: path too long", path);
	if (unshare(CLONE_NEWNS) < 0)
		return err_sys(err, errno, "file server: new mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return err_sys(err, errno, "file server: make mounts slaves");
	/* Opened in the new namespace (a bind's source must be in the caller's),
	 * before the tmpfs hides it. */
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_sys(err, errno, "file server: open %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, "file server: %s: a single shared file must be a regular file",
			       path);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4k") < 0)
		return err_sys(err, errno, "file server: a directory for %s", path);
	made = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (made < 0)
		return err_sys(err, errno, "file server: stage %s", path);
	close(made);
	if (mount(src, file, NULL, MS_BIND, NULL) < 0)
		return err_sys(err, errno, "file server: bind %s", path);
	if (ro && mount(NULL, file, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
			NULL) < 0)
		return err_sys(err, errno, "file server: make %s read-only", path);
	/* Nothing can be made beside it: the guest sees the one file. */
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=4k") < 0)
		return err_sys(err, errno, "file server: seal the directory of %s", path);
	s->own_mount_ns = true;
	return 0;
}

static int drop_caps(struct err *err)
{
	cap_t caps;
	cap_value_t c;
	int r;

	for (c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = false;
		size_t i;

		for (i = 0; i < N_OF(kept_caps); i++)
			keep |= kept_caps[i] == c;
		if (!keep && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return err_sys(err, errno, "file server: drop capability %d", c);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return err_sys(err, errno, "file server: clear ambient capabilities");
	caps = cap_init();
	if (!caps)
		return err_sys(err, errno, "file server: capabilities");
	r = cap_set_flag(caps, CAP_PERMITTED, N_OF(kept_caps), kept_caps, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, N_OF(kept_caps), kept_caps, CAP_SET) < 0 ||
	    cap_set_proc(caps) < 0;
	cap_free(caps);
	if (r)
		return err_sys(err, errno, "file server: set capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(err, errno, "file server: no_new_privs");
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, struct err *err)
{
	size_t i;
	int r;

	for (i = 0; i < N_OF(allowed); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0)) < 0)
			return err_sys(err, -r, "file server seccomp filter: system call %d",
				       allowed[i]);
	/* Memory, never executable; fcntl only to read and set fd flags. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				  SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				  SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				  SCMP_A1_32(SCMP_CMP_EQ, F_GETFL, 0))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				  SCMP_A1_32(SCMP_CMP_EQ, F_GETFD, 0))) < 0)
		return err_sys(err, -r, "file server seccomp filter: memory rules");
	return 0;
}

static int install_filter(struct err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return err_set(err, "file server seccomp filter: cannot create it");
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0) {
		seccomp_release(ctx);
		return err_sys(err, -r, "file server seccomp filter: attributes");
	}
	if (add_rules(ctx, err) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? err_sys(err, -r, "load the file server's seccomp filter") : 0;
}

int fsd_sandbox_enter(struct fsd *s, const struct fsd_config *cfg, struct err *err)
{
	unsigned nodes = cfg->max_nodes ? cfg->max_nodes : FSD_DEFAULT_NODES;
	unsigned files = cfg->max_handles ? cfg->max_handles : FSD_DEFAULT_HANDLES;
	/* Every node and open file is an fd, plus the loop's few. */
	rlim_t want = nodes + files + 64;
	struct rlimit nofile = { .rlim_cur = want, .rlim_max = want };

	if (enter_share(s, cfg, err) < 0)
		return -1;
	/* Without CAP_SYS_RESOURCE the hard limit caps it: the tables then
	 * answer EMFILE sooner, still bounded. */
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) {
		if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
			return err_sys(err, errno, "file server: open file limit");
		if (nofile.rlim_max != RLIM_INFINITY && nofile.rlim_max < want)
			want = nofile.rlim_max;
		nofile.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
			return err_sys(err, errno, "file server: allow %u open files",
				       (unsigned)want);
	}
	if (drop_caps(err) < 0 || install_filter(err) < 0)
		return -1;
	return 0;
}

int fsd_proc_fd(const struct fsd *s)
{
	return s->proc_fd;
}
