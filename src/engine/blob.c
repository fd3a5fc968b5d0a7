/* The streaming blob writer: a blob enters ROOT/blobs/sha256/ under its name
 * only after its bytes hashed to that name. */
#include "blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

bool blob_exists(const char *root, const char *digest)
{
	_cleanup_free_ char *path = NULL;

	if (!digest_valid(digest))
		return false;
	path = blob_path(root, digest);
	return access(path, F_OK) == 0;
}

static int write_errno(int e, const char *digest, struct err *err)
{
	if (e == ENOSPC)
		return err_kind(err, ERR_RUNTIME, "write blob %s: no space left on device", digest);
	return err_sys(err, e, "write blob %s", digest);
}

/* Hash what an earlier attempt left in the partial file and seek to its end. */
static int partial_rehash(struct blob_writer *w, struct err *err)
{
	char buf[64 * 1024];
	ssize_t n;

	if (lseek(w->fd, 0, SEEK_SET) < 0)
		return err_sys(err, errno, "seek %s", w->partial);
	while ((n = read(w->fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(err, errno, "read %s", w->partial);
		}
		digest_update(&w->dg, buf, (size_t)n);
		w->size += (unsigned long long)n;
	}
	return 0;
}

static void writer_reset(struct blob_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->lock_fd = -1;
}

int blob_writer_open(struct blob_writer *w, const char *root, const char *digest,
		     unsigned long long *resume_at, struct err *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char *lock = NULL;

	writer_reset(w);
	*resume_at = 0;
	if (!digest_valid(digest))
		return err_set(err, "invalid digest '%s'", digest ? digest : "");
	if (blob_exists(root, digest))
		return 1;
	dir = xasprintf("%s/blobs/sha256", root);
	if (mkdir_p(dir, 0755, err) < 0)
		return -1;
	lock = xasprintf("%s/.lock-%s", dir, digest_hex(digest));
	w->lock_fd = lock_path(lock, LOCK_EX, err);
	if (w->lock_fd < 0)
		return -1;
	/* Another process may have finished it while we waited for the lock. */
	if (blob_exists(root, digest)) {
		blob_writer_close(w, true);
		return 1;
	}
	w->root = xstrdup(root);
	snprintf(w->digest, sizeof(w->digest), "%s", digest);
	w->partial = xasprintf("%s/.partial-%s", dir, digest_hex(digest));
	w->fd = open(w->partial, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int e = errno;

		blob_writer_close(w, true);
		return err_sys(err, e, "open %s/.partial-%s", dir, digest_hex(digest));
	}
	if (digest_init(&w->dg, err) < 0 || partial_rehash(w, err) < 0) {
		blob_writer_close(w, false);
		return -1;
	}
	*resume_at = w->size;
	return 0;
}

int blob_writer_write(struct blob_writer *w, const void *data, size_t len, struct err *err)
{
	if (w->fd < 0)
		return err_set(err, "blob %s: writer is not open", w->digest);
	if (write_all(w->fd, data, len) < 0)
		return write_errno(errno, w->digest, err);
	digest_update(&w->dg, data, len);
	w->size += len;
	return 0;
}

int blob_writer_restart(struct blob_writer *w, struct err *err)
{
	if (w->fd < 0)
		return err_set(err, "blob %s: writer is not open", w->digest);
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return err_sys(err, errno, "truncate %s", w->partial);
	digest_free(&w->dg);
	w->size = 0;
	return digest_init(&w->dg, err);
}

static int fsync_dir(const char *root, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/blobs/sha256", root);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return err_sys(err, errno, "sync %s", dir);
	return 0;
}

/* A partial that failed verification is worthless: it goes, and so does the lock. */
static int verify_fail(struct blob_writer *w, struct err *err, const char *fmt,
		       unsigned long long a, unsigned long long b, const char *actual)
{
	unlink(w->partial);
	if (actual)
		return err_set(err, "blob %s failed verification: its content hashes to %s",
			       w->digest, actual);
	return err_set(err, fmt, w->digest, a, b);
}

int blob_writer_commit(struct blob_writer *w, long long expected_size, struct err *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *lock = NULL;
	char actual[DIGEST_STR_LEN];

	if (w->fd < 0)
		return err_set(err, "blob %s: writer is not open", w->digest);
	if (expected_size >= 0 && w->size != (unsigned long long)expected_size)
		return verify_fail(w, err, "blob %s failed verification: %llu bytes, expected %llu",
				   w->size, (unsigned long long)expected_size, NULL);
	if (digest_final(&w->dg, actual, err) < 0)
		return -1;
	if (strcmp(actual, w->digest) != 0)
		return verify_fail(w, err, NULL, 0, 0, actual);
	if (fsync(w->fd) < 0)
		return write_errno(errno, w->digest, err);
	path = blob_path(w->root, w->digest);
	if (rename(w->partial, path) < 0)
		return err_sys(err, errno, "rename %s", w->partial);
	free(w->partial);
	w->partial = NULL;
	/* Anyone waiting on this lock re-checks blob_exists once they get it. */
	lock = xasprintf("%s/blobs/sha256/.lock-%s", w->root, digest_hex(w->digest));
	unlink(lock);
	return fsync_dir(w->root, err);
}

void blob_writer_close(struct blob_writer *w, bool keep_partial)
{
	cleanup_closep(&w->fd);
	w->fd = -1;
	if (w->partial && !keep_partial)
		unlink(w->partial);
	cleanup_closep(&w->lock_fd);
	w->lock_fd = -1;
	digest_free(&w->dg);
	free(w->partial);
	free(w->root);
	w->partial = NULL;
	w->root = NULL;
	w->size = 0;
}
