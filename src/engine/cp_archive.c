/* docker cp's tar streams, written and read beneath a root. */
#include "engine/cp_archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/archive_dl.h"
#include "engine/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define CP_MAX_DEPTH 256

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static void archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static void entry_freep(struct archive_entry **e)
{
	if (*e)
		archive_entry_free(*e);
}

/* path as a process chrooted at root_fd sees it; follow: the last symlink too. */
static int open_in_root(int root_fd, const char *path, int flags, bool follow)
{
	struct open_how how = {
		.flags = (unsigned long long)flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, root_fd, *path ? path : "/", &how, sizeof(how));
}

int cp_path_stat(int root_fd, const char *path, bool follow, struct cp_stat *st,
		 struct err *err)
{
	_cleanup_close_ int fd = open_in_root(root_fd, path, O_PATH, follow);
	struct stat sb;

	*st = (struct cp_stat){ 0 };
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return err_sys(err, errno, "%s", path);
	st->exists = true;
	st->is_dir = S_ISDIR(sb.st_mode);
	st->is_link = S_ISLNK(sb.st_mode);
	return 0;
}

static int write_fail(struct archive *a, const char *what, struct err *err)
{
	return err_sys(err, archive_errno(a), "write the tar entry %s: %s", what,
		       archive_error_string(a) ?: "error");
}

static int write_data(struct archive *a, int fd, const char *name, struct err *err)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(a, buf, (size_t)n) != n)
			return write_fail(a, name, err);
	if (n < 0)
		return err_sys(err, errno, "read %s", name);
	return 0;
}

static int write_tree(struct archive *a, int fd, const char *arcname, int depth, struct err *err);

static int write_children(struct archive *a, int fd, const char *arcname, int depth,
			  struct err *err)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return err_sys(err, errno, "open the directory %s", arcname);
	}
	if (depth > CP_MAX_DEPTH)
		return err_set(err, "%s: directories nested too deep", arcname);
	while ((errno = 0, de = readdir(d))) {
		_cleanup_free_ char *child = NULL;
		_cleanup_close_ int cfd = -1;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = *arcname ? xasprintf("%s/%s", arcname, de->d_name) : xstrdup(de->d_name);
		cfd = openat(dirfd(d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			return err_sys(err, errno, "open %s", child);
		if (write_tree(a, cfd, child, depth + 1, err) < 0)
			return -1;
	}
	return errno ? err_sys(err, errno, "read the directory %s", arcname) : 0;
}

/* One entry from its O_PATH fd (a symlink's own), then a directory's children. */
static int write_tree(struct archive *a, int fd, const char *arcname, int depth, struct err *err)
{
	struct archive_entry *e __attribute__((cleanup(entry_freep))) = archive_entry_new();
	_cleanup_close_ int data = -1;
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return err_sys(err, errno, "stat %s", arcname);
	archive_entry_copy_stat(e, &sb);
	archive_entry_set_pathname(e, arcname);
	if (S_ISLNK(sb.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);

		if (n < 0)
			return err_sys(err, errno, "readlink %s", arcname);
		target[n] = 0;
		archive_entry_set_symlink(e, target);
	} else if (S_ISREG(sb.st_mode)) {
		_cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", fd);

		data = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (data < 0)
			return err_sys(err, errno, "open %s", arcname);
	} else if (!S_ISDIR(sb.st_mode)) {
		archive_entry_set_size(e, 0);
	}
	if (archive_write_header(a, e) != ARCHIVE_OK)
		return write_fail(a, arcname, err);
	if (data >= 0 && write_data(a, data, arcname, err) < 0)
		return -1;
	if (S_ISDIR(sb.st_mode))
		return write_children(a, fd, arcname, depth, err);
	return 0;
}

/* The last name of path, "/" and "/." at its end skipped. */
static const char *base_name(const char *path)
{
	const char *end = path + strlen(path), *b;

	while (end > path && (end[-1] == '/' ||
			      (end[-1] == '.' && (end - 1 == path || end[-2] == '/'))))
		end--;
	for (b = end; b > path && b[-1] != '/'; b--)
		;
	return b == end ? "/" : b;
}

int cp_archive_write(int root_fd, const char *path, bool follow, const char *as, int out_fd,
		     struct err *err)
{
	struct archive *a __attribute__((cleanup(archive_freep))) = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *name = NULL;
	const char *b;
	size_t n;

	if (archive_dl_load(err) < 0)
		return -1;
	fd = open_in_root(root_fd, path, O_PATH, follow);
	if (fd < 0)
		return err_sys(err, errno == ENOTDIR ? ENOENT : errno, "%s", path);
	b = base_name(path);
	n = strcspn(b, "/");
	name = !strcmp(b, "/") || !n ? xstrdup("/") : strndup(b, n);
	if (!name)
		return err_sys(err, ENOMEM, "%s", path);
	if (as) {
		free(name);
		name = xstrdup(*as ? as : "/");
	}
	a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
		return err_set(err, "start a tar stream");
	if (!strcmp(name, "/")) {
		if (write_children(a, fd, "", 0, err) < 0)
			return -1;
	} else if (write_tree(a, fd, name, 0, err) < 0) {
		return -1;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		return write_fail(a, "end", err);
	return 0;
}

/* The entry's name beneath o->dir: "./" and "/" dropped, rebased, no "..". */
static char *entry_name(const char *in, const struct cp_extract *o)
{
	_cleanup_free_ char *copy = NULL;
	const char *raw = in;
	size_t n;

	while (*raw == '/' || (raw[0] == '.' && raw[1] == '/'))
		raw += raw[0] == '.' ? 2 : 1;
	copy = xstrdup(raw);
	for (n = strlen(copy); n > 0 && copy[n - 1] == '/'; n--)
		copy[n - 1] = 0;
	raw = copy;
	if (!*raw || !strcmp(raw, ".") || !layer_path_safe(raw))
		return NULL;
	n = strcspn(raw, "/");
	if (o->rebase_from && strlen(o->rebase_from) == n && !strncmp(raw, o->rebase_from, n)) {
		if (*o->rebase_to)
			return xasprintf("%s%s", o->rebase_to, raw + n);
		/* "" drops the first component: what is in it lands in dir. */
		return raw[n] && raw[n + 1] ? xstrdup(raw + n + 1) : NULL;
	}
	return xstrdup(raw);
}

static int extract_data(struct archive *a, int fd, const char *name, struct err *err)
{
	char buf[65536];
	la_ssize_t n;

	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, (size_t)n) < 0)
			return err_sys(err, errno, "write %s", name);
	if (n < 0)
		return err_set(err, "read the tar entry %s: %s", name,
			       archive_error_string(a) ?: "error");
	return 0;
}

/* Make room for a new entry named base in pfd: a directory stays for a directory. */
static int make_room(int pfd, const char *base, bool dir, const char *name, struct err *err)
{
	struct stat sb;

	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "stat %s", name);
	if (S_ISDIR(sb.st_mode)) {
		if (dir)
			return 1;
		return err_set(err, "cannot overwrite directory %s with non-directory", name);
	}
	if (dir)
		return err_set(err, "cannot overwrite non-directory %s with directory", name);
	if (unlinkat(pfd, base, 0) < 0)
		return err_sys(err, errno, "remove %s", name);
	return 0;
}

/* The directories above a tar entry that the tar did not name, as docker's
 * unpacking makes them (0755, root's). */
static int mkdir_parents(int root_fd, const char *path, struct err *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	char *slash = p;

	while ((slash = strchr(slash + 1, '/'))) {
		_cleanup_close_ int fd = -1;

		*slash = 0;
		fd = open_in_root(root_fd, p, O_PATH | O_DIRECTORY, true);
		if (fd < 0 && errno == ENOENT) {
			char *last = strrchr(p, '/');
			_cleanup_close_ int pfd = -1;

			*last = 0;
			pfd = open_in_root(root_fd, p, O_PATH | O_DIRECTORY, true);
			*last = '/';
			if (pfd < 0 || (mkdirat(pfd, last + 1, 0755) < 0 && errno != EEXIST))
				return err_sys(err, errno, "mkdir %s", p);
		} else if (fd < 0) {
			return err_sys(err, errno, "%s", p);
		}
		*slash = '/';
	}
	return 0;
}

static int extract_entry(int root_fd, struct archive *a, struct archive_entry *e,
			 const char *path, const char *name, const struct cp_extract *o,
			 struct err *err)
{
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	const char *base = slash + 1;
	mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e) & 07777;
	_cleanup_close_ int pfd = -1;
	int r;

	*slash = 0;
	pfd = open_in_root(root_fd, parent, O_PATH | O_DIRECTORY, true);
	if (pfd < 0)
		return err_sys(err, errno, "%s", parent);
	r = make_room(pfd, base, type == AE_IFDIR, name, err);
	if (r < 0)
		return -1;
	if (type == AE_IFDIR) {
		if (!r && mkdirat(pfd, base, perm) < 0)
			return err_sys(err, errno, "mkdir %s", name);
	} else if (type == AE_IFREG) {
		_cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
						O_CLOEXEC, perm);

		if (fd < 0)
			return err_sys(err, errno, "create %s", name);
		if (extract_data(a, fd, name, err) < 0)
			return -1;
	} else if (type == AE_IFLNK) {
		if (symlinkat(archive_entry_symlink(e) ?: "", pfd, base) < 0)
			return err_sys(err, errno, "symlink %s", name);
	} else if (archive_entry_hardlink(e)) {
		_cleanup_free_ char *tn = entry_name(archive_entry_hardlink(e), o);
		_cleanup_free_ char *tp = tn ? xasprintf("%s/%s", o->dir, tn) : NULL;
		_cleanup_close_ int tfd = tp ? open_in_root(root_fd, tp, O_PATH, false) : -1;

		if (tfd < 0 || linkat(tfd, "", pfd, base, AT_EMPTY_PATH) < 0)
			return err_sys(err, errno, "link %s", name);
		return 0;
	} else if (mknodat(pfd, base, type | perm, 0) < 0) {
		return err_sys(err, errno, "mknod %s", name);
	}
	if (fchownat(pfd, base, o->keep_owner ? (uid_t)archive_entry_uid(e) : 0,
		     o->keep_owner ? (gid_t)archive_entry_gid(e) : 0, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, errno, "chown %s", name);
	if (type != AE_IFLNK && fchmodat(pfd, base, perm, 0) < 0)
		return err_sys(err, errno, "chmod %s", name);
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = archive_entry_mtime(e) } };

	utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

int cp_archive_extract(int root_fd, int in_fd, const struct cp_extract *o, struct err *err)
{
	struct archive *a __attribute__((cleanup(archive_read_freep))) = NULL;
	struct archive_entry *e;
	int r;

	if (archive_dl_load(err) < 0)
		return -1;
	a = archive_read_new();
	if (!a || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_gnutar(a) != ARCHIVE_OK ||
	    archive_read_support_format_empty(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, in_fd, 65536) != ARCHIVE_OK)
		return err_set(err, "Error processing tar file: %s",
			       a ? archive_error_string(a) ?: "error" : "no memory");
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		_cleanup_free_ char *name = entry_name(archive_entry_pathname(e) ?: "", o);
		_cleanup_free_ char *path = NULL;

		if (!name)
			continue;
		path = xasprintf("%s/%s", o->dir, name);
		if (strchr(name, '/') && mkdir_parents(root_fd, path, err) < 0)
			return -1;
		if (extract_entry(root_fd, a, e, path, name, o, err) < 0)
			return -1;
	}
	if (r != ARCHIVE_EOF)
		return err_set(err, "Error processing tar file: %s",
			       archive_error_string(a) ?: "unexpected EOF");
	return 0;
}

int cp_archive_rename(int in_fd, int out_fd, const char *from, const char *to, struct err *err)
{
	struct archive *r __attribute__((cleanup(archive_read_freep))) = NULL;
	struct archive *w __attribute__((cleanup(archive_freep))) = NULL;
	const struct cp_extract o = { .rebase_from = from, .rebase_to = to };
	struct archive_entry *e;
	char buf[65536];
	int rc;

	if (archive_dl_load(err) < 0)
		return -1;
	r = archive_read_new();
	w = archive_write_new();
	if (!r || !w || archive_read_support_format_tar(r) != ARCHIVE_OK ||
	    archive_read_support_format_gnutar(r) != ARCHIVE_OK ||
	    archive_read_support_format_empty(r) != ARCHIVE_OK ||
	    archive_read_open_fd(r, in_fd, sizeof(buf)) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	    archive_write_open_fd(w, out_fd) != ARCHIVE_OK)
		return err_set(err, "Error processing tar file: %s",
			       r ? archive_error_string(r) ?: "error" : "no memory");
	while ((rc = archive_read_next_header(r, &e)) == ARCHIVE_OK) {
		_cleanup_free_ char *name = entry_name(archive_entry_pathname(e) ?: "", &o);
		_cleanup_free_ char *link = NULL;
		la_ssize_t n;

		if (!name)
			continue;
		archive_entry_set_pathname(e, name);
		if (archive_entry_hardlink(e)) {
			link = entry_name(archive_entry_hardlink(e), &o);
			if (!link)
				continue;
			archive_entry_set_hardlink(e, link);
		}
		if (archive_write_header(w, e) != ARCHIVE_OK)
			return write_fail(w, name, err);
		while ((n = archive_read_data(r, buf, sizeof(buf))) > 0)
			if (archive_write_data(w, buf, (size_t)n) != n)
				return write_fail(w, name, err);
		if (n < 0)
			return err_set(err, "read the tar entry %s: %s", name,
				       archive_error_string(r) ?: "error");
	}
	if (rc != ARCHIVE_EOF)
		return err_set(err, "Error processing tar file: %s",
			       archive_error_string(r) ?: "unexpected EOF");
	if (archive_write_close(w) != ARCHIVE_OK)
		return write_fail(w, "end", err);
	return 0;
}
