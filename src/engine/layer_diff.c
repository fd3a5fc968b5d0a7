#include "engine/layer_diff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/archive_dl.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define OVERLAY_XATTR "trusted.overlay."
#define OPAQUE_XATTR "trusted.overlay.opaque"

/* Mount points the runtime makes for its own bind mounts (docker keeps them
 * in the init layer below the container's, so commit never sees them). */
static bool runtime_stub(const char *rel, const char *name)
{
	if (!*rel)
		return !strcmp(name, ".dockerenv");
	return !strcmp(rel, "etc/") &&
	       (!strcmp(name, "hosts") || !strcmp(name, "hostname") ||
		!strcmp(name, "resolv.conf"));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ar_fail(struct archive *a, const char *what, struct err *err)
{
	return err_set(err, "write the layer (%s): %s", what, archive_error_string(a));
}

/* One entry: its header, its xattrs but overlay's own, a regular file's bytes. */
static int put_entry(struct archive *a, int dirfd, const char *name, const char *path,
		     const struct stat *st, struct err *err)
{
	_cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
	struct archive_entry *e = archive_entry_new();
	char names[8192], target[4096], val[4096];
	ssize_t n, vn, off;
	int r = -1;

	archive_entry_copy_stat(e, st);
	archive_entry_set_pathname(e, path);
	if (S_ISLNK(st->st_mode)) {
		n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			err_sys(err, errno, "readlink %s", path);
			goto out;
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	}
	if (!S_ISREG(st->st_mode))
		archive_entry_set_size(e, 0);
	n = llistxattr(proc, names, sizeof(names));
	for (off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
		const char *x = names + off;

		if (!strncmp(x, OVERLAY_XATTR, strlen(OVERLAY_XATTR)))
			continue;
		vn = lgetxattr(proc, x, val, sizeof(val));
		if (vn >= 0)
			archive_entry_xattr_add_entry(e, x, val, (size_t)vn);
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		ar_fail(a, path, err);
		goto out;
	}
	if (S_ISREG(st->st_mode) && st->st_size > 0) {
		_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char buf[65536];

		if (fd < 0) {
			err_sys(err, errno, "open %s", path);
			goto out;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (archive_write_data(a, buf, (size_t)n) != n) {
				ar_fail(a, path, err);
				goto out;
			}
		if (n < 0) {
			err_sys(err, errno, "read %s", path);
			goto out;
		}
	}
	r = 0;
out:
	archive_entry_free(e);
	return r;
}

/* An empty regular file: a whiteout (".wh.NAME") or an opaque marker. */
static int put_marker(struct archive *a, const char *path, const struct stat *like,
		      struct err *err)
{
	struct archive_entry *e = archive_entry_new();
	struct stat st = *like;
	int r = 0;

	st.st_mode = S_IFREG | 0644;
	st.st_size = 0;
	st.st_rdev = 0;
	archive_entry_copy_stat(e, &st);
	archive_entry_set_pathname(e, path);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		r = ar_fail(a, path, err);
	archive_entry_free(e);
	return r;
}

static int walk(struct archive *a, int dirfd, const char *rel, unsigned depth,
		struct err *err);

static int walk_one(struct archive *a, int dirfd, const char *rel, const char *name,
		    unsigned depth, struct err *err)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;

	if (runtime_stub(rel, name))
		return 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, errno, "stat %s%s", rel, name);
	/* overlay's whiteout, a 0/0 character device: OCI's ".wh.NAME". */
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		path = xasprintf("%s.wh.%s", rel, name);
		return put_marker(a, path, &st, err);
	}
	if (S_ISSOCK(st.st_mode))
		return 0;                  /* tar has no sockets; docker skips them too */
	path = xasprintf("%s%s", rel, name);
	if (put_entry(a, dirfd, name, path, &st, err) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
		_cleanup_free_ char *sub = xasprintf("%s/", path);
		_cleanup_close_ int fd = -1;
		char v[8];
		ssize_t n = lgetxattr(proc, OPAQUE_XATTR, v, sizeof(v));

		/* overlay's opaque directory: OCI's ".wh..wh..opq" inside it. */
		if (n == 1 && v[0] == 'y') {
			_cleanup_free_ char *opq = xasprintf("%s.wh..wh..opq", sub);

			if (put_marker(a, opq, &st, err) < 0)
				return -1;
		}
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return err_sys(err, errno, "open %s", path);
		return walk(a, fd, sub, depth + 1, err);
	}
	return 0;
}

/* The entries of dirfd in name order (the same changes make the same tar). */
static int walk(struct archive *a, int dirfd, const char *rel, unsigned depth,
		struct err *err)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	int r = 0, fd;

	if (depth > 512)
		return err_set(err, "%s: directories nest too deep", rel);
	fd = dup(dirfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return err_sys(err, errno, "open %s", *rel ? rel : "/");
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = walk_one(a, dirfd, rel, names[i], depth, err);
		free(names[i]);
	}
	free(names);
	return r;
}

int layer_diff_write(const char *upper, int out_fd, struct err *err)
{
	_cleanup_close_ int dirfd = -1;
	struct archive *a;
	int r;

	if (archive_dl_load(err) < 0)
		return -1;
	dirfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_sys(err, errno, "open %s", upper);
	a = archive_write_new();
	if (!a)
		return err_set(err, "libarchive: out of memory");
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out_fd) != ARCHIVE_OK) {
		r = ar_fail(a, "open", err);
		archive_write_free(a);
		return r;
	}
	r = walk(a, dirfd, "", 0, err);
	if (archive_write_close(a) != ARCHIVE_OK && r == 0)
		r = ar_fail(a, "close", err);
	archive_write_free(a);
	return r;
}
