#include "layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>


#include "engine/archive_dl.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

#define RAW_BUF_SIZE (64 * 1024)

/* One unpack in flight: the input, its outputs, and their temp names. An
 * import (layer_unpack_fd) rewrites the tar into a new blob (tar != NULL) and
 * hashes that; a stored blob (layer_unpack_blob) is decompressed by raw and
 * the decompressed bytes are hashed as they pass to the tar reader in. */
struct unpack {
	const char *root;
	struct layer_info *info;
	char *tmp_dir;       /* ROOT/layers/.tmp-XXXXXX */
	char *tmp_blob;      /* ROOT/blobs/sha256/.tmp-XXXXXX */
	int blob_fd;
	int dir_fd;
	int cwd_fd;
	int write_errno;     /* errno of a failed blob write */
	bool allow_empty;    /* an image's layer may be an empty tar; an import may not */
	struct digest dg;
	struct archive *raw; /* the stored blob, decompressed, as one raw entry */
	char *raw_buf;
	struct archive *in;
	struct archive *tar;
	struct archive *disk;
};

bool layer_path_safe(const char *name)
{
	const char *p = name;

	if (!name || !*name || name[0] == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += n;
		while (*p == '/')
			p++;
	}
	return true;
}

char *layer_dir(const char *root, const char *diff_id)
{
	return xasprintf("%s/layers/%s", root, digest_hex(diff_id));
}

/* libarchive's tar writer hands its output here: to the blob file and the hash. */
static la_ssize_t tar_sink(struct archive *a, void *data, const void *buf, size_t len)
{
	struct unpack *u = data;

	if (write_all(u->blob_fd, buf, len) < 0) {
		u->write_errno = errno;
		archive_set_error(a, errno, "write layer blob: %s", strerror(errno));
		return -1;
	}
	digest_update(&u->dg, buf, len);
	u->info->tar_size += len;
	return (la_ssize_t)len;
}

static int fail_read(struct unpack *u, struct err *err)
{
	const char *msg = archive_error_string(u->in);

	return err_set(err, "corrupt tar archive: %s", msg ? msg : "unexpected end of data");
}

static int fail_write(struct unpack *u, struct archive *a, const char *what,
		      struct err *err)
{
	int e = u->write_errno ? u->write_errno : archive_errno(a);
	const char *msg = archive_error_string(a);

	if (e == ENOSPC)
		return err_kind(err, ERR_RUNTIME, "write layer under %s: no space left on device",
				u->root);
	if (e > 0 && !msg)
		return err_sys(err, e, "%s", what);
	return err_set(err, "%s: %s", what, msg ? msg : "write failed");
}

static int fail_extract(struct unpack *u, const char *path, struct err *err)
{
	_cleanup_free_ char *what = xasprintf("extract '%s'", path);

	return fail_write(u, u->disk, what, err);
}

static int unpack_open_blob(struct unpack *u, struct err *err)
{
	_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", u->root);

	if (mkdir_p(blobs, 0755, err) < 0)
		return -1;
	u->tmp_blob = xasprintf("%s/.tmp-XXXXXX", blobs);
	u->blob_fd = mkostemp(u->tmp_blob, O_CLOEXEC);
	if (u->blob_fd < 0) {
		int e = errno;

		free(u->tmp_blob);
		u->tmp_blob = NULL;
		return err_sys(err, e, "create temporary blob in %s", blobs);
	}
	if (fchmod(u->blob_fd, 0644) < 0)
		return err_sys(err, errno, "chmod %s", u->tmp_blob);
	return 0;
}

static int unpack_open_dir(struct unpack *u, struct err *err)
{
	_cleanup_free_ char *layers = xasprintf("%s/layers", u->root);

	if (mkdir_p(layers, 0700, err) < 0)
		return -1;
	u->tmp_dir = xasprintf("%s/.tmp-XXXXXX", layers);
	if (!mkdtemp(u->tmp_dir)) {
		int e = errno;

		free(u->tmp_dir);
		u->tmp_dir = NULL;
		return err_sys(err, e, "create temporary directory in %s", layers);
	}
	u->dir_fd = open(u->tmp_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->dir_fd < 0 || fchmod(u->dir_fd, 0755) < 0)
		return err_sys(err, errno, "open %s", u->tmp_dir);
	return 0;
}

static void tar_reader_formats(struct archive *a)
{
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_empty(a);
}

static void disk_writer_options(struct unpack *u)
{
	archive_write_disk_set_options(u->disk,
		ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_PERM |
		ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR);
}

static int unpack_open_archives(struct unpack *u, int fd, struct err *err)
{
	u->in = archive_read_new();
	u->tar = archive_write_new();
	u->disk = archive_write_disk_new();
	if (!u->in || !u->tar || !u->disk)
		return err_set(err, "libarchive: out of memory");
	archive_read_support_filter_all(u->in);
	tar_reader_formats(u->in);
	if (archive_read_open_fd(u->in, fd, 64 * 1024) != ARCHIVE_OK)
		return fail_read(u, err);
	archive_write_set_format_pax_restricted(u->tar);
	if (archive_write_open(u->tar, u, NULL, tar_sink, NULL) != ARCHIVE_OK)
		return fail_write(u, u->tar, "write layer blob", err);
	disk_writer_options(u);
	return 0;
}

static int tar_write(struct unpack *u, const void *buf, size_t len, struct err *err)
{
	if (!u->tar)
		return 0;
	if (archive_write_data(u->tar, buf, len) < 0)
		return fail_write(u, u->tar, "write layer blob", err);
	return 0;
}

/* Holes of sparse entries become zeros: the blob is a plain tar. */
static int tar_write_zeros(struct unpack *u, long long n, struct err *err)
{
	static const char zeros[16384];

	while (u->tar && n > 0) {
		size_t k = n < (long long)sizeof(zeros) ? (size_t)n : sizeof(zeros);

		if (tar_write(u, zeros, k, err) < 0)
			return -1;
		n -= (long long)k;
	}
	return 0;
}

static int copy_data(struct unpack *u, struct archive_entry *e, bool to_disk,
		     struct err *err)
{
	const void *buf;
	size_t size;
	la_int64_t off, pos = 0;
	int r;

	while ((r = archive_read_data_block(u->in, &buf, &size, &off)) == ARCHIVE_OK) {
		if (off < pos)
			return err_set(err, "corrupt tar archive: overlapping data in %s",
				       archive_entry_pathname(e));
		if (tar_write_zeros(u, off - pos, err) < 0 || tar_write(u, buf, size, err) < 0)
			return -1;
		if (to_disk && archive_write_data_block(u->disk, buf, size, off) < ARCHIVE_OK)
			return fail_extract(u, archive_entry_pathname(e), err);
		pos = off + (la_int64_t)size;
	}
	if (r != ARCHIVE_EOF)
		return fail_read(u, err);
	if (archive_entry_size_is_set(e) && pos < archive_entry_size(e))
		return tar_write_zeros(u, archive_entry_size(e) - pos, err);
	return 0;
}

/* Open (creating as needed) directory rel beneath dirfd, never through a symlink. */
static int open_dir_beneath(int dirfd, const char *rel, struct err *err)
{
	_cleanup_free_ char *copy = xstrdup(rel);
	_cleanup_close_ int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	char *save = NULL, *comp;

	if (fd < 0)
		return err_sys(err, errno, "dup");
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next;

		if (!strcmp(comp, "."))
			continue;
		if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
			return err_sys(err, errno, "create directory %s", rel);
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return err_sys(err, errno, "refusing whiteout in %s", rel);
		close(fd);
		fd = next;
	}
	return take_fd(&fd);
}

static const char *path_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool is_whiteout(struct archive_entry *e)
{
	return archive_entry_filetype(e) != AE_IFDIR &&
	       !strncmp(path_base(archive_entry_pathname(e)), WHITEOUT_PREFIX,
			strlen(WHITEOUT_PREFIX));
}

/* ".wh.NAME" -> 0/0 char device NAME; ".wh..wh..opq" -> opaque directory. */
static int unpack_whiteout(struct unpack *u, const char *path, struct err *err)
{
	const char *base = path_base(path);
	_cleanup_free_ char *dir = xasprintf("%.*s", (int)(base - path), path);
	_cleanup_close_ int dfd = -1;
	const char *name = base + strlen(WHITEOUT_PREFIX);

	dfd = open_dir_beneath(u->dir_fd, dir, err);
	if (dfd < 0)
		return -1;
	if (!strcmp(base, WHITEOUT_OPAQUE)) {
		if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return err_sys(err, errno, "mark %s opaque", *dir ? dir : "/");
		return 0;
	}
	if (!strncmp(base, WHITEOUT_META, strlen(WHITEOUT_META)))
		return 0;  /* other aufs metadata: nothing to extract */
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return err_set(err, "refusing whiteout '%s': it names no file", path);
	unlinkat(dfd, name, 0);
	if (mknodat(dfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		return err_sys(err, errno, "create whiteout for %s%s", dir, name);
	return 0;
}

static void count_content(struct unpack *u, struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return;
	if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0)
		u->info->content_size += (unsigned long long)archive_entry_size(e);
	else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e))
		u->info->content_size += strlen(archive_entry_symlink(e));
}

static int check_entry(struct archive_entry *e, struct err *err)
{
	const char *path = archive_entry_pathname(e);
	const char *link = archive_entry_hardlink(e);

	if (!layer_path_safe(path))
		return err_set(err, "refusing tar entry '%s': it points outside the layer",
			       path ? path : "");
	if (link && !layer_path_safe(link))
		return err_set(err, "refusing hard link '%s' -> '%s': its target is outside "
			       "the layer", path, link);
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive_entry *e, struct err *err)
{
	const char *path = archive_entry_pathname(e);

	if (check_entry(e, err) < 0)
		return -1;
	archive_entry_sparse_clear(e);
	if (u->tar && archive_write_header(u->tar, e) < ARCHIVE_WARN)
		return fail_write(u, u->tar, "write layer blob", err);
	count_content(u, e);
	if (is_whiteout(e))
		return copy_data(u, e, false, err) < 0 ? -1 : unpack_whiteout(u, path, err);
	if (archive_write_header(u->disk, e) < ARCHIVE_WARN)
		return fail_extract(u, path, err);
	if (copy_data(u, e, true, err) < 0)
		return -1;
	if (archive_write_finish_entry(u->disk) < ARCHIVE_WARN)
		return fail_extract(u, path, err);
	return 0;
}

static int unpack_entries(struct unpack *u, struct err *err)
{
	struct archive_entry *e;
	size_t entries = 0;
	int r;

	while ((r = archive_read_next_header(u->in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (unpack_entry(u, e, err) < 0)
			return -1;
		entries++;
	}
	if (r != ARCHIVE_EOF)
		return fail_read(u, err);
	/* An empty input is a mistake (a failed download, the wrong file), not a rootfs. */
	if (entries == 0 && !u->allow_empty)
		return err_set(err, "the archive has no entries");
	return 0;
}

/* archive_write_disk resolves names against the cwd, so extraction runs with
 * the cwd in the temp dir (isobox is single-threaded), and the disk writer is
 * closed there too because it applies deferred directory fixups on close. */
static int unpack_run(struct unpack *u, struct err *err)
{
	int r;

	u->cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->cwd_fd < 0)
		return err_sys(err, errno, "open current directory");
	if (fchdir(u->dir_fd) < 0)
		return err_sys(err, errno, "enter %s", u->tmp_dir);
	r = unpack_entries(u, err);
	if (r == 0 && archive_write_close(u->disk) < ARCHIVE_WARN)
		r = fail_write(u, u->disk, "finish layer", err);
	archive_write_free(u->disk);
	u->disk = NULL;
	if (fchdir(u->cwd_fd) < 0 && r == 0)
		r = err_sys(err, errno, "return to the working directory");
	if (r == 0 && u->tar && archive_write_close(u->tar) != ARCHIVE_OK)
		r = fail_write(u, u->tar, "write layer blob", err);
	return r;
}

static int unpack_commit_blob(struct unpack *u, struct err *err)
{
	_cleanup_free_ char *blob = NULL;

	if (digest_final(&u->dg, u->info->diff_id, err) < 0)
		return -1;
	if (fsync(u->blob_fd) < 0) {
		u->write_errno = errno;
		return fail_write(u, u->tar, "write layer blob", err);
	}
	blob = blob_path(u->root, u->info->diff_id);
	if (rename(u->tmp_blob, blob) < 0)
		return err_sys(err, errno, "rename %s", u->tmp_blob);
	free(u->tmp_blob);
	u->tmp_blob = NULL;
	return 0;
}

/* The layer gets its name last: only complete layers carry one. */
static int unpack_commit_dir(struct unpack *u, struct err *err)
{
	_cleanup_free_ char *dir = NULL;

	if (syncfs(u->dir_fd) < 0)
		return err_sys(err, errno, "sync %s", u->tmp_dir);
	dir = layer_dir(u->root, u->info->diff_id);
	if (rename(u->tmp_dir, dir) == 0) {
		free(u->tmp_dir);
		u->tmp_dir = NULL;
	} else if (errno != EEXIST && errno != ENOTEMPTY) {
		return err_sys(err, errno, "rename %s", u->tmp_dir);
	}
	return 0;
}

static void unpack_cleanup(struct unpack *u)
{
	struct err ignored;

	archive_read_free(u->in);
	archive_read_free(u->raw);
	free(u->raw_buf);
	archive_write_free(u->tar);
	if (u->disk) {
		/* Never applied outside the temp dir: see unpack_run. */
		archive_write_free(u->disk);
	}
	digest_free(&u->dg);
	cleanup_closep(&u->blob_fd);
	cleanup_closep(&u->dir_fd);
	cleanup_closep(&u->cwd_fd);
	if (u->tmp_blob)
		unlink(u->tmp_blob);
	if (u->tmp_dir)
		rm_rf(u->tmp_dir, &ignored);
	free(u->tmp_blob);
	free(u->tmp_dir);
}

int layer_unpack_fd(const char *root, int fd, struct layer_info *info, struct err *err)
{
	return layer_unpack_fd_ex(root, fd, false, info, err);
}

int layer_unpack_fd_ex(const char *root, int fd, bool allow_empty, struct layer_info *info,
		       struct err *err)
{
	struct unpack u = { .root = root, .info = info, .blob_fd = -1, .dir_fd = -1,
			    .cwd_fd = -1, .allow_empty = allow_empty };
	int r;

	memset(info, 0, sizeof(*info));
	if (archive_dl_load(err) < 0)
		return -1;
	r = digest_init(&u.dg, err);
	if (r == 0)
		r = unpack_open_blob(&u, err);
	if (r == 0)
		r = unpack_open_dir(&u, err);
	if (r == 0)
		r = unpack_open_archives(&u, fd, err);
	if (r == 0)
		r = unpack_run(&u, err);
	if (r == 0)
		r = unpack_commit_blob(&u, err);
	if (r == 0)
		r = unpack_commit_dir(&u, err);
	unpack_cleanup(&u);
	return r;
}

int layer_unpack(const char *root, const char *file, struct layer_info *info,
		 struct err *err)
{
	_cleanup_close_ int fd = -1;

	if (!strcmp(file, "-"))
		return layer_unpack_fd(root, STDIN_FILENO, info, err);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", file);
	return layer_unpack_fd(root, fd, info, err);
}

/* ---- a stored layer blob ---- */

/* The tar reader's input: the blob's decompressed bytes, hashed as they pass. */
static la_ssize_t raw_feed(struct archive *a, void *data, const void **buf)
{
	struct unpack *u = data;
	la_ssize_t n = archive_read_data(u->raw, u->raw_buf, RAW_BUF_SIZE);

	if (n < 0) {
		const char *msg = archive_error_string(u->raw);

		archive_set_error(a, archive_errno(u->raw) > 0 ? archive_errno(u->raw) : EIO,
				  "%s", msg ? msg : "decompression failed");
		return -1;
	}
	digest_update(&u->dg, u->raw_buf, (size_t)n);
	u->info->tar_size += (unsigned long long)n;
	*buf = u->raw_buf;
	return n;
}

/* Layer blobs are tars, plain or gzip, zstd, xz or bzip2 compressed; no
 * filter that runs an external program. */
static int unpack_open_raw(struct unpack *u, int fd, struct err *err)
{
	struct archive_entry *e;

	u->raw = archive_read_new();
	u->in = archive_read_new();
	u->disk = archive_write_disk_new();
	u->raw_buf = xmalloc(RAW_BUF_SIZE);
	if (!u->raw || !u->in || !u->disk)
		return err_set(err, "libarchive: out of memory");
	archive_read_support_filter_gzip(u->raw);
	archive_read_support_filter_zstd(u->raw);
	archive_read_support_filter_xz(u->raw);
	archive_read_support_filter_bzip2(u->raw);
	archive_read_support_format_raw(u->raw);
	if (archive_read_open_fd(u->raw, fd, RAW_BUF_SIZE) != ARCHIVE_OK ||
	    archive_read_next_header(u->raw, &e) != ARCHIVE_OK) {
		const char *msg = archive_error_string(u->raw);

		return err_set(err, "corrupt layer: %s", msg ? msg : "it is empty");
	}
	tar_reader_formats(u->in);
	if (archive_read_open(u->in, u, NULL, raw_feed, NULL) != ARCHIVE_OK)
		return fail_read(u, err);
	disk_writer_options(u);
	return 0;
}

/* The diff id covers the whole decompressed stream, the padding after the
 * tar's end included. */
static int unpack_verify_raw(struct unpack *u, const char *diff_id, struct err *err)
{
	char actual[DIGEST_STR_LEN];
	la_ssize_t n;

	while ((n = archive_read_data(u->raw, u->raw_buf, RAW_BUF_SIZE)) > 0) {
		digest_update(&u->dg, u->raw_buf, (size_t)n);
		u->info->tar_size += (unsigned long long)n;
	}
	if (n < 0) {
		const char *msg = archive_error_string(u->raw);

		return err_set(err, "corrupt layer: %s", msg ? msg : "decompression failed");
	}
	if (digest_final(&u->dg, actual, err) < 0)
		return -1;
	if (strcmp(actual, diff_id))
		return err_set(err, "layer %s failed verification: its content hashes to %s",
			       diff_id, actual);
	return 0;
}

static int unpack_blob_locked(const char *root, const char *blob_digest,
			      const char *diff_id, struct layer_info *info, struct err *err)
{
	struct unpack u = { .root = root, .info = info, .blob_fd = -1, .dir_fd = -1,
			    .cwd_fd = -1, .allow_empty = true };
	_cleanup_free_ char *path = blob_path(root, blob_digest);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return errno == ENOENT ? err_set(err, "layer blob %s is not in the store",
						 blob_digest)
				       : err_sys(err, errno, "open %s", path);
	snprintf(info->diff_id, sizeof(info->diff_id), "%s", diff_id);
	r = digest_init(&u.dg, err);
	if (r == 0)
		r = unpack_open_dir(&u, err);
	if (r == 0)
		r = unpack_open_raw(&u, fd, err);
	if (r == 0)
		r = unpack_run(&u, err);
	if (r == 0)
		r = unpack_verify_raw(&u, diff_id, err);
	if (r == 0)
		r = unpack_commit_dir(&u, err);
	unpack_cleanup(&u);
	return r;
}

bool layer_present(const char *root, const char *diff_id)
{
	_cleanup_free_ char *dir = NULL;
	struct stat st;

	if (!digest_valid(diff_id))
		return false;
	dir = layer_dir(root, diff_id);
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int layer_unpack_blob(const char *root, const char *blob_digest, const char *diff_id,
		      struct layer_info *info, struct err *err)
{
	_cleanup_free_ char *layers = xasprintf("%s/layers", root);
	_cleanup_free_ char *lock = NULL;
	_cleanup_close_ int lock_fd = -1;
	int r;

	memset(info, 0, sizeof(*info));
	if (!digest_valid(blob_digest) || !digest_valid(diff_id))
		return err_set(err, "invalid layer digest '%s' (diff id '%s')",
			       blob_digest ? blob_digest : "", diff_id ? diff_id : "");
	if (mkdir_p(layers, 0700, err) < 0)
		return -1;
	lock = xasprintf("%s/.lock-%s", layers, digest_hex(diff_id));
	lock_fd = lock_path(lock, LOCK_EX, err);
	if (lock_fd < 0)
		return -1;
	if (layer_present(root, diff_id)) {
		_cleanup_free_ char *dir = layer_dir(root, diff_id);

		snprintf(info->diff_id, sizeof(info->diff_id), "%s", diff_id);
		return layer_disk_usage(dir, &info->content_size, err);
	}
	if (archive_dl_load(err) < 0)
		return -1;
	r = unpack_blob_locked(root, blob_digest, diff_id, info, err);
	/* The lock only saves duplicate work (two complete unpacks race only on
	 * the rename, which either wins); whoever waits on it checks
	 * layer_present once they hold it. */
	unlink(lock);
	return r;
}

/* Hard-linked inodes already counted by layer_disk_usage. */
struct inode_set {
	ino_t *v;
	size_t n, cap;
};

static bool inode_set_add(struct inode_set *s, ino_t ino)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == ino)
			return false;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			abort();
	}
	s->v[s->n++] = ino;
	return true;
}

static int usage_at(int dfd, struct inode_set *seen, unsigned long long *bytes,
		    struct err *err)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	struct stat st;
	int r = 0;

	if (!d) {
		close(dfd);
		return err_sys(err, errno, "read layer directory");
	}
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				r = usage_at(sub, seen, bytes, err);
		} else if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) &&
			   (st.st_nlink < 2 || inode_set_add(seen, st.st_ino))) {
			*bytes += (unsigned long long)st.st_size;
		}
	}
	closedir(d);
	return r;
}

int layer_disk_usage(const char *dir, unsigned long long *bytes, struct err *err)
{
	struct inode_set seen = { 0 };
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	*bytes = 0;
	if (fd < 0)
		return err_sys(err, errno, "open %s", dir);
	r = usage_at(fd, &seen, bytes, err);
	free(seen.v);
	return r;
}
