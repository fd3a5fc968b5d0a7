#include "cgroup_view.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "process/rootfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HOST_CGROUP "/sys/fs/cgroup"

/* Reopen dest beneath the root: an fd opened before a mount names the
 * directory under it. */
static int reopen(int rootfd, int *fd, const char *dest, struct err *err)
{
	close(*fd);
	*fd = rootfs_open_beneath(rootfd, dest, false, err);
	return *fd < 0 ? -1 : 0;
}

/* The calling process's cgroup in the hierarchy whose /proc/self/cgroup
 * controllers field is ctrls ("" for the unified one), or NULL. */
static char *own_cgroup(const char *ctrls)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save;
	size_t len;

	if (read_file("/proc/self/cgroup", 1 << 16, &text, &len, &(struct err){ 0 }) < 0)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;

		if (p && (size_t)(p - c - 1) == strlen(ctrls) && !strncmp(c + 1, ctrls, p - c - 1))
			return xstrdup(p + 1);
	}
	return NULL;
}

/* One hierarchy at fd: the filesystem itself in a cgroup namespace (its root
 * is then the container's cgroup), else the container's directory of the
 * host's mount at host_mp bound. 1 when it cannot be had (a user namespace
 * may not mount cgroup v1), as runc leaves it out rootless. */
static int hierarchy_mount(int rootfd, int *fd, const char *dest, const char *type,
			   const char *opts, const char *host_mp, const char *ctrls,
			   unsigned long flags, bool cgroupns, struct err *err)
{
	_cleanup_free_ char *own = NULL, *src = NULL;

	if (cgroupns) {
		char target[64];

		snprintf(target, sizeof(target), "/proc/self/fd/%d", *fd);
		if (mount(type, target, type, flags, opts) == 0)
			return 0;
		if (errno == EPERM)
			return 1;
		return err_sys(err, errno, "mount %s (%s) on %s", type, opts ? opts : "", dest);
	}
	own = own_cgroup(ctrls);
	if (!own)
		return 1;
	src = xasprintf("%s%s", host_mp, own);
	if (rootfs_mount_at(src, *fd, NULL, MS_BIND, NULL, dest, err) < 0 ||
	    reopen(rootfd, fd, dest, err) < 0 ||
	    rootfs_mount_at(NULL, *fd, NULL, MS_BIND | MS_REMOUNT | flags, NULL, dest, err) < 0)
		return -1;
	return 0;
}

/* The subsystems of a v1 mount's super options ("rw,cpu,cpuacct",
 * "rw,name=systemd"), comma-separated, without the other options. */
static char *v1_subsystems(const char *superopts)
{
	static const char *const not_ss[] = { "rw", "ro", "xattr", "noprefix", "clone_children",
					      "cpuset_v2_mode", "favordynmods", "none" };
	_cleanup_free_ char *copy = xstrdup(superopts);
	char *out = xstrdup(""), *tok, *save;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool skip = !strncmp(tok, "release_agent=", 14);
		char *next;

		for (size_t i = 0; i < sizeof(not_ss) / sizeof(not_ss[0]); i++)
			skip |= !strcmp(tok, not_ss[i]);
		if (skip)
			continue;
		next = xasprintf("%s%s%s", out, *out ? "," : "", tok);
		free(out);
		out = next;
	}
	return out;
}

/* cpu -> cpu,cpuacct: each controller of a combined hierarchy by its own name. */
static void v1_links(int dir, const char *name)
{
	_cleanup_free_ char *copy = xstrdup(name);
	char *tok, *save;

	if (!strchr(name, ','))
		return;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strncmp(tok, "name=", 5))
			symlinkat(name, dir, tok);
}

/* Every v1 hierarchy the host mounts directly under /sys/fs/cgroup, in the
 * host's order and by the host's names; the unified one of a hybrid host is
 * left out, as runc does. */
static int v1_mount_all(int rootfd, int tmpfs, const char *dest, unsigned long flags,
			bool cgroupns, struct err *err)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save;
	size_t len;

	if (read_file("/proc/self/mountinfo", 1 << 22, &text, &len, err) < 0)
		return err_wrap(err, "cgroup view");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mp[256], fstype[32], superopts[512];
		_cleanup_free_ char *ss = NULL, *sub = NULL;
		_cleanup_close_ int fd = -1;
		const char *name, *sep = strstr(line, " - ");
		int r;

		if (!sep || strchr(line, '\\') ||
		    sscanf(line, "%*s %*s %*s %*s %255s", mp) != 1 ||
		    sscanf(sep, " - %31s %*s %511s", fstype, superopts) != 2 ||
		    strcmp(fstype, "cgroup") || strncmp(mp, HOST_CGROUP "/", 15))
			continue;
		name = mp + 15;
		if (!*name || strchr(name, '/') || name[0] == '.')
			continue;
		ss = v1_subsystems(superopts);
		if (!*ss)
			continue;
		if (mkdirat(tmpfs, name, 0755) < 0 && errno != EEXIST)
			return err_sys(err, errno, "create %s/%s", dest, name);
		sub = xasprintf("%s/%s", dest, name);
		fd = rootfs_open_beneath(rootfd, sub, false, err);
		if (fd < 0)
			return -1;
		r = hierarchy_mount(rootfd, &fd, sub, "cgroup", ss, mp, ss, flags, cgroupns, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			unlinkat(tmpfs, name, AT_REMOVEDIR);
			continue;
		}
		v1_links(tmpfs, name);
	}
	return 0;
}

int cgroup_view_mount(int rootfd, const char *dest, unsigned long flags, bool cgroupns,
		      struct err *err)
{
	_cleanup_close_ int fd = -1, dir = -1;
	struct statfs sf;
	char path[64];

	flags &= MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME |
		 MS_STRICTATIME;
	fd = rootfs_open_beneath(rootfd, dest, false, err);
	if (fd < 0)
		return -1;
	if (statfs(HOST_CGROUP, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		int r = hierarchy_mount(rootfd, &fd, dest, "cgroup2", NULL, HOST_CGROUP, "", flags,
					cgroupns, err);

		return r < 0 ? -1 : 0;
	}
	/* v1 and hybrid: docker's tmpfs (read-write, as runc leaves it) holding
	 * the container's hierarchies, each mounted with the mount's flags. */
	if (rootfs_mount_at("tmpfs", fd, "tmpfs", flags & ~MS_RDONLY, "mode=755", dest, err) < 0 ||
	    reopen(rootfd, &fd, dest, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dir = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dir < 0)
		return err_sys(err, errno, "open %s", dest);
	return v1_mount_all(rootfd, dir, dest, flags, cgroupns, err);
}
