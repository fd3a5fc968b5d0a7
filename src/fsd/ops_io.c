/* The ops on open files and directories: data moves between the host file
 * and the guest's buffers with preadv/pwritev, no copy in between. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsd/server.h"

#define SLICE_MAX 64
/* What the guest may ask of an open: no O_PATH, O_TMPFILE, O_DIRECTORY,
 * O_NOFOLLOW games, no O_DIRECT on its unaligned buffers. */
#define OPEN_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC)

static int open_flags(const struct fsd *s, uint32_t flags, int *out)
{
	int f = (int)flags & OPEN_FLAGS;

	if ((f & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (s->read_only && ((f & O_ACCMODE) != O_RDONLY || (f & O_TRUNC)))
		return -EROFS;
	*out = f;
	return 0;
}

static int open_reply(struct fsd *s, struct fsd_req *r, int fd, bool dir, size_t at)
{
	struct fuse_open_out *o = (void *)(s->stage + at);
	uint64_t fh = fsd_file_add(s, fd, dir);

	if (!fh)
		return -ENFILE;
	memset(o, 0, sizeof(*o));
	o->fh = fh;
	r->reply = s->stage;
	r->reply_len = at + sizeof(*o);
	return 0;
}

static int node_open(struct fsd *s, struct fsd_req *r, bool dir)
{
	const struct fuse_open_in *in = (const void *)r->body;
	struct fsd_node *n = fsd_node_get(s, r->h->nodeid);
	struct stat st;
	int flags = O_RDONLY | O_DIRECTORY, fd, e;

	if (!n)
		return -ESTALE;
	if (fstatat(n->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (dir && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (!dir && S_ISDIR(st.st_mode))
		return -EISDIR;
	/* Only regular files are opened on the host: a device node or a fifo
	 * in the share is the guest's own special file, never the host's. */
	if (!dir && !S_ISREG(st.st_mode))
		return S_ISLNK(st.st_mode) ? -ELOOP : -ENXIO;
	if (!dir && (e = open_flags(s, in->flags, &flags)) < 0)
		return e;
	if ((fd = fsd_reopen(s, n->fd, flags)) < 0)
		return fd;
	return open_reply(s, r, fd, dir, 0);
}

int fsd_op_open(struct fsd *s, struct fsd_req *r)
{
	return node_open(s, r, false);
}

int fsd_op_opendir(struct fsd *s, struct fsd_req *r)
{
	return node_open(s, r, true);
}

static int create_file(struct fsd *s, struct fsd_req *r, int dir_fd, const char *name,
		       int flags, mode_t mode, bool excl)
{
	struct stat st;
	struct open_how how = { .flags = (uint64_t)(flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC),
				.mode = mode & 07777,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	int fd, e;

	fd = (int)syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
	if (fd >= 0) {
		if ((e = fsd_set_owner(r, dir_fd, name)) < 0) {
			close(fd);
			unlinkat(dir_fd, name, 0);
			return e;
		}
		return fd;
	}
	if (errno != EEXIST || excl)
		return -errno;
	/* Another writer made it since the guest's lookup: open it, but only a
	 * regular file (a fifo would block the server, a device node is the
	 * host's): look first, then reopen what was looked at. */
	how = (struct open_how){ .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = how.resolve };
	fd = (int)syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	e = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : S_ISDIR(st.st_mode) ? -EISDIR
	    : S_ISLNK(st.st_mode) ? -ELOOP : -ENXIO;
	if (e < 0) {
		close(fd);
		return e;
	}
	e = fsd_reopen(s, fd, flags);
	close(fd);
	return e;
}

int fsd_op_create(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_create_in *in = (const void *)r->body;
	struct fsd_node *dir = fsd_node_get(s, r->h->nodeid);
	struct fuse_entry_out *entry = (void *)s->stage;
	const char *name;
	uint64_t fh;
	int flags, fd, e;

	if (!dir)
		return -ESTALE;
	if (!(name = fsd_req_name(r, sizeof(*in), NULL, &e)) || (e = open_flags(s, in->flags, &flags)) < 0)
		return e;
	if ((fd = create_file(s, r, dir->fd, name, flags, in->mode, in->flags & O_EXCL)) < 0)
		return fd;
	if ((e = open_reply(s, r, fd, false, sizeof(*entry))) < 0)
		return e;
	fh = ((struct fuse_open_out *)(s->stage + sizeof(*entry)))->fh;
	if ((e = fsd_lookup_entry(s, dir->fd, name, entry)) < 0)
		fsd_file_close(s, fh);
	return e;
}

int fsd_op_read(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_read_in *in = (const void *)r->body;
	struct fsd_file *f = fsd_file_get(s, in->fh, false);
	struct iovec slice[SLICE_MAX];
	size_t size = in->size;
	unsigned n;
	ssize_t got;

	if (!f)
		return -EBADF;
	if (in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (size > r->room)
		size = r->room;
	if (size > s->max_write)
		size = s->max_write;
	n = fsd_iov_slice(r->out, r->out_n, sizeof(struct fuse_out_header), size, slice, SLICE_MAX);
	got = n ? preadv(f->fd, slice, (int)n, (off_t)in->offset) : 0;
	if (got < 0)
		return -errno;
	r->direct = true;
	r->reply_len = (size_t)got;
	return 0;
}

int fsd_op_write(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_write_in *in = (const void *)r->body;
	struct fsd_file *f = fsd_file_get(s, in->fh, false);
	struct fuse_write_out *o = (void *)s->stage;
	size_t off = sizeof(struct fuse_in_header) + sizeof(*in);
	struct iovec slice[SLICE_MAX];
	unsigned n;
	ssize_t put;

	if (!f)
		return -EBADF;
	if (in->size > r->in_len - off || in->size > s->max_write ||
	    in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	n = fsd_iov_slice(r->in, r->in_n, off, in->size, slice, SLICE_MAX);
	put = n ? pwritev(f->fd, slice, (int)n, (off_t)in->offset) : 0;
	if (put < 0)
		return -errno;
	memset(o, 0, sizeof(*o));
	o->size = (uint32_t)put;
	r->reply = o;
	r->reply_len = sizeof(*o);
	return 0;
}

int fsd_op_release(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_release_in *in = (const void *)r->body;

	fsd_file_close(s, in->fh);
	return 0;
}

/* Nothing to flush: a WRITE is the host file's at once (no writeback cache)
 * and there are no POSIX locks to drop. ENOSYS tells the guest so once, and
 * it sends no FLUSH again: one round trip less on every close(). */
int fsd_op_flush(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_flush_in *in = (const void *)r->body;

	return fsd_file_get(s, in->fh, false) ? -ENOSYS : -EBADF;
}

int fsd_op_fsync(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_fsync_in *in = (const void *)r->body;
	struct fsd_file *f = fsd_file_get(s, in->fh, r->h->opcode == FUSE_FSYNCDIR);
	int rc;

	if (!f)
		return -EBADF;
	rc = (in->fsync_flags & 1) ? fdatasync(f->fd) : fsync(f->fd);
	return rc < 0 ? -errno : 0;
}

/* Preallocation and hole punching (fio, databases); no other modes. */
int fsd_op_fallocate(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_fallocate_in *in = (const void *)r->body;
	struct fsd_file *f = fsd_file_get(s, in->fh, false);

	if (!f)
		return -EBADF;
	if (in->mode & ~(uint32_t)(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (in->offset > (uint64_t)INT64_MAX || in->length > (uint64_t)INT64_MAX - in->offset)
		return -EINVAL;
	if (fallocate(f->fd, (int)in->mode, (off_t)in->offset, (off_t)in->length) < 0)
		return -errno;
	return 0;
}

/* SEEK_DATA and SEEK_HOLE (the others the guest answers itself). */
int fsd_op_lseek(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_lseek_in *in = (const void *)r->body;
	struct fsd_file *f = fsd_file_get(s, in->fh, false);
	struct fuse_lseek_out *o = (void *)s->stage;
	off_t off;

	if (!f)
		return -EBADF;
	if ((in->whence != SEEK_DATA && in->whence != SEEK_HOLE) || in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	if ((off = lseek(f->fd, (off_t)in->offset, (int)in->whence)) < 0)
		return -errno;
	o->offset = (uint64_t)off;
	r->reply = o;
	r->reply_len = sizeof(*o);
	return 0;
}

/* One directory entry into the reply at *used; false when it does not fit.
 * READDIRPLUS looks the entry up (the guest then holds a reference), so
 * the room is checked first. */
static int dirent_put(struct fsd *s, int dir_fd, const struct dirent64 *d, bool plus,
		      size_t size, size_t *used)
{
	size_t namelen = strnlen(d->d_name, NAME_MAX + 1);
	size_t entsize = plus ? FUSE_DIRENTPLUS_SIZE(&(struct fuse_direntplus){
					.dirent.namelen = (uint32_t)namelen })
			      : FUSE_DIRENT_SIZE(&(struct fuse_dirent){ .namelen = (uint32_t)namelen });
	struct fuse_direntplus *dp = (void *)(s->stage + *used);
	struct fuse_dirent *de = plus ? &dp->dirent : (void *)dp;
	bool dot = strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0;
	int e;

	if (namelen > NAME_MAX)
		return 0;       /* skipped: no such name reaches the guest */
	if (*used + entsize > size)
		return -ENOSPC;
	memset(dp, 0, entsize);
	if (plus && !dot) {
		e = fsd_lookup_entry(s, dir_fd, d->d_name, &dp->entry_out);
		if (e == -ENOENT)
			return 0;       /* removed since getdents */
		if (e < 0)
			return e;
	}
	de->ino = d->d_ino;
	de->off = (uint64_t)d->d_off;
	de->namelen = (uint32_t)namelen;
	de->type = d->d_type;
	memcpy(de->name, d->d_name, namelen);
	*used += entsize;
	return 0;
}

/* The entries of buf[0..len) into the reply until it is full: -ENOSPC then,
 * with *pos at the first entry left out. */
static int dirents_put(struct fsd *s, struct fsd_file *f, const uint8_t *buf, size_t len,
		       bool plus, size_t size, size_t *used, size_t *pos, uint64_t *last_off)
{
	int e = 0;

	for (*pos = 0; *pos < len && e == 0;) {
		const struct dirent64 *d = (const void *)(buf + *pos);
		size_t before = *used;

		if (d->d_reclen < offsetof(struct dirent64, d_name) + 1 || *pos + d->d_reclen > len)
			return -EIO;
		e = dirent_put(s, f->fd, d, plus, size, used);
		if (e == 0) {
			if (*used != before)
				*last_off = (uint64_t)d->d_off;
			*pos += d->d_reclen;
		}
	}
	return e;
}

/* Keep buf[pos..len), the entries the reply had no room for, for the next
 * request that continues at off. */
static void keep_pending(struct fsd_file *f, const uint8_t *buf, size_t pos, size_t len,
			 uint64_t off)
{
	uint8_t *p = len > pos ? malloc(len - pos) : NULL;

	if (p)
		memcpy(p, buf + pos, len - pos);
	free(f->pend);
	f->pend = p;
	f->pend_len = p ? (uint32_t)(len - pos) : 0;
	f->pend_off = off;
}

static int read_dir(struct fsd *s, struct fsd_req *r, bool plus)
{
	const struct fuse_read_in *in = (const void *)r->body;
	struct fsd_file *f = fsd_file_get(s, in->fh, true);
	size_t size = in->size, used = 0, pos;
	uint64_t last_off = in->offset;
	ssize_t got;
	int e = 0;

	if (!f)
		return -EBADF;
	if (in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	size = size < r->room ? size : r->room;
	size = size < FSD_STAGE_MAX ? size : FSD_STAGE_MAX;
	if (f->pend && in->offset == f->pend_off) {
		/* The listing goes on: first what the last reply left out; the
		 * fd is past it already. */
		uint8_t *pend = f->pend;
		size_t len = f->pend_len;

		f->pend = NULL;
		f->pend_len = 0;
		e = dirents_put(s, f, pend, len, plus, size, &used, &pos, &last_off);
		if (e == -ENOSPC)
			keep_pending(f, pend, pos, len, last_off);
		free(pend);
	} else {
		/* Anything else starts at the offset the guest names, a d_off
		 * this server handed out (or anything: the kernel checks it). */
		free(f->pend);
		f->pend = NULL;
		f->pend_len = 0;
		if (lseek(f->fd, (off_t)in->offset, SEEK_SET) < 0)
			return -errno;
	}
	while (e == 0) {
		got = getdents64(f->fd, s->dents, sizeof(s->dents));
		if (got <= 0) {
			if (got < 0 && used == 0)
				return -errno;
			break;
		}
		e = dirents_put(s, f, s->dents, (size_t)got, plus, size, &used, &pos, &last_off);
		if (e == -ENOSPC)
			keep_pending(f, s->dents, pos, (size_t)got, last_off);
	}
	if (e < 0 && e != -ENOSPC && used == 0)
		return e;
	r->reply = s->stage;
	r->reply_len = used;
	return 0;
}

int fsd_op_readdir(struct fsd *s, struct fsd_req *r)
{
	return read_dir(s, r, false);
}

int fsd_op_readdirplus(struct fsd *s, struct fsd_req *r)
{
	return read_dir(s, r, true);
}
