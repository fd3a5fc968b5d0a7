/* A container's filesystem for docker cp, in a child process. */
#include "engine/container_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci/annotations.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/program.h"

#define OVERLAY_ANNOTATION "io.isobox.overlay"

static int open_beneath(int root_fd, const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned long long)flags | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/* The mount point beneath the root, made when missing as the runtime makes it
 * at start (a directory, or an empty file for a file's bind): docker does the
 * same for a stopped container's cp. */
static int target_open(int root_fd, const char *dst, bool file)
{
	_cleanup_free_ char *prefix = xstrdup(dst);
	char *p = prefix;

	for (;;) {
		size_t n;
		char save;
		_cleanup_close_ int pfd = -1;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		save = p[n];
		p[n] = 0;
		{
			_cleanup_close_ int fd = open_beneath(root_fd, prefix, O_PATH);
			char *slash = strrchr(prefix, '/');
			bool last = !save || !p[n + 1 + strspn(p + n + 1, "/")];

			if (fd < 0 && errno == ENOENT) {
				*slash = 0;
				pfd = open_beneath(root_fd, *prefix ? prefix : "/", O_PATH | O_DIRECTORY);
				*slash = '/';
				if (pfd < 0)
					return -1;
				if (last && file) {
					int f = openat(pfd, slash + 1, O_CREAT | O_EXCL | O_WRONLY |
						       O_NOFOLLOW | O_CLOEXEC, 0644);
					if (f < 0)
						return -1;
					close(f);
				} else if (mkdirat(pfd, slash + 1, 0755) < 0) {
					return -1;
				}
			} else if (fd < 0) {
				return -1;
			}
		}
		p[n] = save;
		p += n;
	}
	return open_beneath(root_fd, dst, O_PATH);
}

/* Each volume or bind of the record on its target beneath the root, as the
 * runtime mounts them. */
static int mounts_bind(const struct container *c, int root_fd, struct err *err)
{
	json_t *mounts = json_object_get(c->record, "Mounts"), *m;
	size_t i;

	json_array_foreach(mounts, i, m) {
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		_cleanup_close_ int fd = -1;
		struct stat sb;
		char proc[64];

		if (!src || !dst || !*src || stat(src, &sb) < 0)
			continue;
		/* a volume's _data is a directory, or a block volume's disk,
		 * which only the container's VM mounts */
		if (!strcmp(json_string_value(json_object_get(m, "Type")) ?: "", "volume") &&
		    S_ISREG(sb.st_mode))
			return err_set(err, "the container has block volume %s on %s, which only "
				       "its VM mounts: start the container, then copy",
				       json_string_value(json_object_get(m, "Name")) ?: "", dst);
		fd = target_open(root_fd, dst, !S_ISDIR(sb.st_mode));
		if (fd < 0)
			return err_sys(err, errno, "the mount point %s", dst);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (mount(src, proc, NULL, MS_BIND | MS_REC, NULL) < 0)
			return err_sys(err, errno, "bind %s on %s", src, dst);
	}
	return 0;
}

/* A stopped hyperv container's writable layer is on its ext4 disk: mounted
 * here (this child's mount namespace only) as commit mounts it, read-write so
 * that a journal left by a VM that was killed is replayed, the container held
 * stopped by our lock. opts becomes the overlay's with its upper on the disk. */
static int vm_upper_mount(const struct container *c, const char *disk, char **opts,
			  struct err *err)
{
	_cleanup_free_ char *mnt = xasprintf("%s/cp-mnt", c->dir);
	_cleanup_free_ char *upper = xasprintf("%s/upper", mnt);
	_cleanup_free_ char *work = xasprintf("%s/work", mnt);
	const char *modprobe[] = { "modprobe", "-q", "-a", "loop", "ext4", NULL };
	const char *mount_argv[] = { "mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noexec",
				     disk, mnt, NULL };
	const char *upper_at = strstr(*opts, ",upperdir=");
	struct err ignore = { 0 };
	char *next;

	if (!upper_at)
		return err_set(err, "container %s has no overlay rootfs", c->id);
	if (mkdir(mnt, 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s", mnt);
	program_run(modprobe, &ignore);
	if (program_run(mount_argv, err) < 0)
		return err_wrap(err, "mount the writable disk %s", disk);
	/* A container that never ran: its disk has no layer yet (the guest makes them). */
	if ((mkdir(upper, 0755) < 0 && errno != EEXIST) || (mkdir(work, 0755) < 0 && errno != EEXIST))
		return err_sys(err, errno, "mkdir %s", upper);
	next = xasprintf("%.*s,upperdir=%s,workdir=%s", (int)(upper_at - *opts), *opts, upper, work);
	free(*opts);
	*opts = next;
	return 0;
}

static int stopped_root(const struct container *c, struct err *err)
{
	_cleanup_free_ char *cfg = xasprintf("%s/config.json", c->dir);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
	_cleanup_json_ json_t *spec = NULL;
	_cleanup_free_ char *opts = NULL;
	json_t *ann;
	const char *disk;
	int fd;

	if (json_load_path(cfg, &spec, err) < 0)
		return -1;
	ann = json_object_get(spec, "annotations");
	if (!json_string_value(json_object_get(ann, OVERLAY_ANNOTATION)))
		return err_set(err, "container %s has no overlay rootfs", c->id);
	opts = xstrdup(json_string_value(json_object_get(ann, OVERLAY_ANNOTATION)));
	disk = json_string_value(json_object_get(ann, VM_ANNOTATION_UPPER));
	if (unshare(CLONE_NEWNS) < 0)
		return err_sys(err, errno, "unshare the mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(err, errno, "make the mounts private");
	if (disk && vm_upper_mount(c, disk, &opts, err) < 0)
		return -1;
	if (mkdir(rootfs, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s", rootfs);
	if (mount("overlay", rootfs, "overlay", 0, opts) < 0)
		return err_sys(err, errno, "mount the container's rootfs on %s", rootfs);
	fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", rootfs);
	if (mounts_bind(c, fd, err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The monitor holds its container's directory locked while it lives: a shared
 * lock taken here says the container is stopped and keeps it so (a start
 * waits) while the child works on its overlay; the lock dies with the child. */
static int container_root(const struct container *c, struct err *err)
{
	int lock = rt_lock_dir(c->dir, LOCK_SH | LOCK_NB);
	struct rt_state st;
	char proc[64];
	int fd;

	if (lock >= 0)
		return stopped_root(c, err);
	if (errno != EWOULDBLOCK)
		return err_sys(err, errno, "lock %s", c->dir);
	if (rt_state_read(c->dir, &st, err) < 0)
		return -1;
	if (st.status != RT_RUNNING || st.pid <= 0)
		return err_set(err, "container %s is starting or stopping: try again", c->id);
	snprintf(proc, sizeof(proc), "/proc/%d/root", (int)st.pid);
	fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", proc);
	return fd;
}

static void child_run(const struct container *c, container_fs_fn fn, void *arg, int msg)
{
	struct err e = { 0 };
	int root_fd = container_root(c, &e);
	char text[sizeof(e.msg) + 16];
	int n;

	if (root_fd >= 0 && fn(root_fd, arg, &e) == 0)
		_exit(0);
	n = snprintf(text, sizeof(text), "%d:%s", e.errnum, e.msg);
	if (write(msg, text, (size_t)n) < 0)
		_exit(2);
	_exit(1);
}

int container_fs_start(const struct container *c, container_fs_fn fn, void *arg,
		       struct container_fs_job *job, struct err *err)
{
	int msg[2];

	if (pipe2(msg, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	job->pid = fork();
	if (job->pid < 0) {
		close(msg[0]);
		close(msg[1]);
		return err_sys(err, errno, "fork");
	}
	if (job->pid == 0) {
		close(msg[0]);
		if (job->child_close >= 0)
			close(job->child_close);
		signal(SIGPIPE, SIG_DFL);
		child_run(c, fn, arg, msg[1]);
	}
	close(msg[1]);
	job->msg_fd = msg[0];
	return 0;
}

int container_fs_wait(struct container_fs_job *job, struct err *err)
{
	char text[sizeof(err->msg) + 16];
	ssize_t n = read_full(job->msg_fd, text, sizeof(text) - 1);
	int status = 0;
	char *colon;

	close(job->msg_fd);
	while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n <= 0)
		return err_set(err, "the copy's helper process failed (status %d)", status);
	text[n] = 0;
	colon = strchr(text, ':');
	err_set(err, "%s", colon ? colon + 1 : text);
	err->errnum = colon ? atoi(text) : 0;
	return -1;
}
