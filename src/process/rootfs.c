#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "process/cgroup_view.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define OVERLAY_ANNOTATION "io.isobox.overlay"

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

int rootfs_open_beneath(int rootfd, const char *path, int as_file, struct err *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	char *s = p;
	int fd;

	while (*s == '/')
		s++;
	if (!*s)
		return openat2_in_root(rootfd, ".", O_PATH);
	for (;;) {
		char *slash = strchr(s, '/');
		bool last;

		if (slash)
			*slash = '\0';
		last = !slash || !slash[1];
		fd = openat2_in_root(rootfd, p, O_PATH);
		if (fd < 0 && errno == ENOENT) {
			/* Create the component in its resolved parent, then look again. */
			char *base = strrchr(p, '/');
			_cleanup_close_ int parent = -1;
			int r;

			if (base)
				*base = '\0';
			parent = openat2_in_root(rootfd, base ? (*p ? p : "/") : ".", O_DIRECTORY);
			if (base)
				*base = '/';
			if (parent < 0)
				return err_sys(err, errno, "open parent of %s in rootfs", p);
			if (last && as_file)
				r = mknodat(parent, base ? base + 1 : p, S_IFREG | 0644, 0);
			else
				r = mkdirat(parent, base ? base + 1 : p, 0755);
			if (r < 0 && errno != EEXIST)
				return err_sys(err, errno, "create %s in rootfs", p);
			fd = openat2_in_root(rootfd, p, O_PATH);
		}
		if (fd < 0)
			return err_sys(err, errno, "open %s in rootfs", p);
		if (last)
			return fd;
		close(fd);
		*slash = '/';
		s = slash + 1;
	}
}

int rootfs_mount_at(const char *source, int fd, const char *type, unsigned long flags,
		    const char *data, const char *dest, struct err *err)
{
	char target[64];

	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mount(source, target, type, flags, data) < 0)
		return err_sys(err, errno, "mount %s on %s", type ? type : source, dest);
	return 0;
}

static int mount_one(int rootfd, const struct oci_mount *m, bool cgroupns, struct err *err)
{
	struct stat st;
	_cleanup_close_ int fd = -1;
	bool as_file = m->bind && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode);

	fd = rootfs_open_beneath(rootfd, m->destination, as_file, err);
	if (fd < 0)
		return -1;
	if (m->bind) {
		if (rootfs_mount_at(m->source, fd, NULL, m->flags, NULL, m->destination, err) < 0)
			return -1;
		if (m->readonly_bind || (m->flags & ~(MS_BIND | MS_REC))) {
			/* Reopen: the fd still names the directory under the new mount. */
			close(fd);
			fd = rootfs_open_beneath(rootfd, m->destination, as_file, err);
			if (fd < 0)
				return -1;
			if (rootfs_mount_at(NULL, fd, NULL,
					MS_BIND | MS_REMOUNT | (m->flags & ~MS_REC) |
						(m->readonly_bind ? MS_RDONLY : 0),
					NULL, m->destination, err) < 0)
				return -1;
		}
	} else if (m->type && !strcmp(m->type, "cgroup")) {
		if (cgroup_view_mount(rootfd, m->destination, m->flags, cgroupns, err) < 0)
			return -1;
	} else if (rootfs_mount_at(m->source, fd, m->type, m->flags, m->data, m->destination,
			       err) < 0) {
		return -1;
	}
	if (m->propagation) {
		close(fd);
		fd = rootfs_open_beneath(rootfd, m->destination, as_file, err);
		if (fd < 0 || rootfs_mount_at(NULL, fd, NULL, m->propagation, NULL, m->destination,
					  err) < 0)
			return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

/* runc's, which docker shows; plus "core" where the kernel has /proc/kcore. */
static const struct {
	const char *target, *name;
} dev_links[] = {
	{ "/proc/self/fd", "fd" },     { "/proc/self/fd/0", "stdin" },
	{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	{ "pts/ptmx", "ptmx" },
};

/* A device node in dir; in a user namespace, where mknod is refused, the
 * host's node of the same path bound onto an empty file, as runc does. */
static int dev_node_make(int dir, const char *name, mode_t mode, dev_t dev, const char *host,
			 struct err *err)
{
	_cleanup_close_ int fd = -1;
	char target[64];

	if (mknodat(dir, name, mode, dev) == 0 || errno == EEXIST)
		return 0;
	if (errno != EPERM)
		return err_sys(err, errno, "create %s", host);
	fd = openat(dir, name, O_CREAT | O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_sys(err, errno, "create %s", host);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mount(host, target, NULL, MS_BIND, NULL) < 0)
		return err_sys(err, errno, "bind %s", host);
	return 1;       /* bound: mode and owner are the host's */
}

/* linux.devices: nodes made beside the standard ones, beneath the root. */
static int rootfs_make_devices(int rootfd, const struct oci_spec *spec, struct err *err)
{
	size_t i;

	for (i = 0; i < spec->n_devices; i++) {
		const struct oci_device *d = &spec->devices[i];
		_cleanup_free_ char *parent = xstrdup(d->path);
		_cleanup_close_ int dir = -1;
		char *slash = strrchr(parent, '/');

		*slash = '\0';
		dir = rootfs_open_beneath(rootfd, *parent ? parent : "/", false, err);
		if (dir < 0)
			return -1;
		int r;

		unlinkat(dir, slash + 1, 0);
		r = dev_node_make(dir, slash + 1, d->type | d->mode, makedev(d->major, d->minor),
				  d->path, err);
		if (r < 0)
			return -1;
		if (r == 0 && (fchownat(dir, slash + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
			       fchmodat(dir, slash + 1, d->mode, 0) < 0))
			return err_sys(err, errno, "create device %s", d->path);
	}
	return 0;
}

static int rootfs_setup_dev(int rootfd, struct err *err)
{
	_cleanup_close_ int dev = -1;
	size_t i;

	dev = openat2_in_root(rootfd, "/dev", O_DIRECTORY);
	if (dev < 0)
		return err_sys(err, errno, "open /dev in rootfs");
	for (i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		_cleanup_free_ char *host = xasprintf("/dev/%s", dev_nodes[i].name);
		int r = dev_node_make(dev, dev_nodes[i].name, S_IFCHR | 0666,
				      makedev(dev_nodes[i].major, dev_nodes[i].minor), host, err);

		if (r < 0)
			return -1;
		if (r == 0)
			fchmodat(dev, dev_nodes[i].name, 0666, 0);
	}
	for (i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
		if (symlinkat(dev_links[i].target, dev, dev_links[i].name) < 0 && errno != EEXIST)
			return err_sys(err, errno, "create /dev/%s", dev_links[i].name);
	if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
	    errno != EEXIST)
		return err_sys(err, errno, "create /dev/core");
	return 0;
}

static int rootfs_mount_root(const char *rootfs, const struct oci_spec *spec, struct err *err)
{
	json_t *ov = json_object_get(spec->annotations, OVERLAY_ANNOTATION);

	if (json_is_string(ov)) {
		if (mount("overlay", rootfs, "overlay", 0, json_string_value(ov)) < 0)
			return err_sys(err, errno, "mount overlay rootfs on %s", rootfs);
		return 0;
	}
	/* A plain directory: bind it onto itself so pivot_root sees a mount point. */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(err, errno, "bind rootfs %s", rootfs);
	return 0;
}

static int rootfs_pivot(const char *rootfs, struct err *err)
{
	if (chdir(rootfs) < 0)
		return err_sys(err, errno, "chdir %s", rootfs);
	/* pivot_root(".", ".") stacks the old root on the new one; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(err, errno, "pivot_root %s", rootfs);
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return err_sys(err, errno, "make old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(err, errno, "detach old root");
	if (chdir("/") < 0)
		return err_sys(err, errno, "chdir /");
	return 0;
}

int rootfs_prepare(const char *bundle, const struct oci_spec *spec, struct err *err)
{
	_cleanup_free_ char *rootfs = NULL;
	_cleanup_close_ int rootfd = -1;
	size_t i;

	rootfs = spec->root_path[0] == '/' ? xstrdup(spec->root_path)
					   : xasprintf("%s/%s", bundle, spec->root_path);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(err, errno, "make / private");
	if (rootfs_mount_root(rootfs, spec, err) < 0)
		return -1;
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys(err, errno, "open rootfs %s", rootfs);
	for (i = 0; i < spec->n_mounts; i++)
		if (mount_one(rootfd, &spec->mounts[i], spec->clone_flags & CLONE_NEWCGROUP, err) < 0)
			return -1;
	if (rootfs_setup_dev(rootfd, err) < 0 || rootfs_make_devices(rootfd, spec, err) < 0 ||
	    rootfs_pivot(rootfs, err) < 0)
		return -1;
	/* linux.rootfsPropagation: the new root's own, once it is the root. */
	if (spec->root_propagation && mount(NULL, "/", NULL, spec->root_propagation, NULL) < 0)
		return err_sys(err, errno, "set the root's propagation");
	return 0;
}

static int rootfs_mask(const char *path, struct err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "stat %s", path);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0)
			return err_sys(err, errno, "mask %s", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return err_sys(err, errno, "mask %s", path);
	}
	return 0;
}

static int rootfs_readonly(const char *path, struct err *err)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "bind %s", path);
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
		  MS_NOEXEC, NULL) < 0)
		return err_sys(err, errno, "make %s read-only", path);
	return 0;
}

/* linux.sysctl, through the container's own /proc (before /proc/sys turns
 * read-only); spec.c checked that no key climbs out of /proc/sys. */
static int rootfs_sysctl(const struct oci_spec *spec, struct err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(spec->sysctl, key, v) {
		_cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
		char *p;

		for (p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		if (write_file(path, json_string_value(v), err) < 0)
			return err_wrap(err, "sysctl %s", key);
	}
	return 0;
}

int rootfs_finish(const struct oci_spec *spec, struct err *err)
{
	size_t i;

	if (rootfs_sysctl(spec, err) < 0)
		return -1;
	for (i = 0; spec->masked_paths[i]; i++)
		if (rootfs_mask(spec->masked_paths[i], err) < 0)
			return -1;
	for (i = 0; spec->readonly_paths[i]; i++)
		if (rootfs_readonly(spec->readonly_paths[i], err) < 0)
			return -1;
	/* A missing working directory is made, as runc makes it: before a
	 * read-only root could refuse it. */
	if (spec->cwd && mkdir_p(spec->cwd, 0755, err) < 0)
		return err_wrap(err, "create the working directory %s", spec->cwd);
	if (spec->root_readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return err_sys(err, errno, "make the root read-only");
	return 0;
}
