/* The ops on names and inodes. A name from the guest is one path component
 * resolved beneath its parent's O_PATH fd: never '/', '.' or '..', never a
 * symlink followed (a symlink's target is data the guest reads back), so no
 * request reaches a file outside the share. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsd/server.h"

#define FSD_VALID_SECS 1

const char *fsd_req_name(const struct fsd_req *r, size_t off, size_t *next, int *e)
{
	const char *name = (const char *)r->body + off;
	const char *nul;

	*e = -EINVAL;
	if (off >= r->body_len)
		return NULL;
	nul = memchr(name, '\0', r->body_len - off);
	if (!nul || nul == name)
		return NULL;
	if (nul - name > NAME_MAX) {
		*e = -ENAMETOOLONG;
		return NULL;
	}
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return NULL;
	if (next)
		*next = (size_t)(nul - (const char *)r->body) + 1;
	*e = 0;
	return name;
}

/* The request's nodeid as a node, or NULL when the guest named none. */
static struct fsd_node *req_node(struct fsd *s, const struct fsd_req *r)
{
	return fsd_node_get(s, r->h->nodeid);
}

void fsd_fill_attr(const struct stat *st, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = (uint32_t)st->st_blksize;
}

static int stat_fd(int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

int fsd_lookup_entry(struct fsd *s, int dir_fd, const char *name, struct fuse_entry_out *out)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	struct stat st;
	int fd, e = 0;

	fd = (int)syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if ((e = stat_fd(fd, &st)) < 0) {
		close(fd);
		return e;
	}
	memset(out, 0, sizeof(*out));
	out->nodeid = fsd_node_ref(s, fd, &st, &e);
	if (!out->nodeid)
		return e;
	out->entry_valid = out->attr_valid = FSD_VALID_SECS;
	fsd_fill_attr(&st, &out->attr);
	return 0;
}

int fsd_reopen(struct fsd *s, int fd, int flags)
{
	char num[16];
	int r;

	snprintf(num, sizeof(num), "%d", fd);
	r = openat(s->proc_fd, num, flags | O_CLOEXEC);
	return r < 0 ? -errno : r;
}

/* A new entry belongs to the guest's caller; in a setgid directory its
 * group is the directory's, as the host kernel made it. */
int fsd_set_owner(const struct fsd_req *r, int dir_fd, const char *name)
{
	struct stat dir;
	gid_t gid = r->h->gid;

	if (stat_fd(dir_fd, &dir) == 0 && (dir.st_mode & S_ISGID))
		gid = (gid_t)-1;
	if (fchownat(dir_fd, name, r->h->uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int entry_reply(struct fsd *s, struct fsd_req *r, int dir_fd, const char *name)
{
	struct fuse_entry_out *o = (void *)s->stage;
	int e = fsd_lookup_entry(s, dir_fd, name, o);

	if (e < 0)
		return e;
	r->reply = o;
	r->reply_len = sizeof(*o);
	return 0;
}

int fsd_op_lookup(struct fsd *s, struct fsd_req *r)
{
	struct fsd_node *dir = req_node(s, r);
	const char *name;
	int e;

	if (!dir)
		return -ESTALE;
	if (!(name = fsd_req_name(r, 0, NULL, &e)))
		return e;
	e = entry_reply(s, r, dir->fd, name);
	if (e == -ENOENT) {
		/* A negative entry (nodeid 0) the guest keeps as long as a
		 * positive one: tar's unlink-then-create asks once, not twice. */
		struct fuse_entry_out *o = (void *)s->stage;

		memset(o, 0, sizeof(*o));
		o->entry_valid = FSD_VALID_SECS;
		r->reply = o;
		r->reply_len = sizeof(*o);
		return 0;
	}
	return e;
}

int fsd_op_forget(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_forget_in *in = (const void *)r->body;

	fsd_node_forget(s, r->h->nodeid, in->nlookup);
	r->no_reply = true;
	return 0;
}

int fsd_op_batch_forget(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_batch_forget_in *in = (const void *)r->body;
	size_t off = sizeof(*r->h) + sizeof(*in);
	struct fuse_forget_one one;
	uint32_t i;

	r->no_reply = true;
	/* The entries may lie past the copied head: read each from the request. */
	if (in->count > (r->in_len - off) / sizeof(one))
		return -EINVAL;
	for (i = 0; i < in->count; i++, off += sizeof(one)) {
		fsd_iov_read(r->in, r->in_n, off, &one, sizeof(one));
		fsd_node_forget(s, one.nodeid, one.nlookup);
	}
	return 0;
}

static int attr_reply(struct fsd *s, struct fsd_req *r, const struct stat *st)
{
	struct fuse_attr_out *o = (void *)s->stage;

	memset(o, 0, sizeof(*o));
	o->attr_valid = FSD_VALID_SECS;
	fsd_fill_attr(st, &o->attr);
	r->reply = o;
	r->reply_len = sizeof(*o);
	return 0;
}

int fsd_op_getattr(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_getattr_in *in = (const void *)r->body;
	struct fsd_node *n = req_node(s, r);
	struct fsd_file *f;
	struct stat st;
	int e;

	if (!n)
		return -ESTALE;
	if ((in->getattr_flags & FUSE_GETATTR_FH) && (f = fsd_file_get(s, in->fh, false))) {
		if (fstat(f->fd, &st) < 0)
			return -errno;
	} else if ((e = stat_fd(n->fd, &st)) < 0) {
		return e;
	}
	return attr_reply(s, r, &st);
}

static int set_size(struct fsd *s, struct fsd_node *n, const struct fuse_setattr_in *in,
		    const struct stat *st)
{
	struct fsd_file *f = (in->valid & FATTR_FH) ? fsd_file_get(s, in->fh, false) : NULL;
	int fd, e = 0;

	if (!S_ISREG(st->st_mode))
		return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
	if (in->size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (f)
		return ftruncate(f->fd, (off_t)in->size) < 0 ? -errno : 0;
	if ((fd = fsd_reopen(s, n->fd, O_WRONLY)) < 0)
		return fd;
	if (ftruncate(fd, (off_t)in->size) < 0)
		e = -errno;
	close(fd);
	return e;
}

static void set_time(struct timespec *t, uint32_t valid, uint32_t set, uint32_t now,
		     uint64_t sec, uint32_t nsec)
{
	if (valid & now)
		t->tv_nsec = UTIME_NOW;
	else if (valid & set)
		*t = (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = nsec % 1000000000u };
	else
		t->tv_nsec = UTIME_OMIT;
}

static int set_attrs(struct fsd *s, struct fsd_node *n, const struct fuse_setattr_in *in,
		     const struct stat *st)
{
	char num[16];
	struct timespec ts[2];
	bool link = S_ISLNK(st->st_mode);

	snprintf(num, sizeof(num), "%d", n->fd);
	/* Mode and times go through the /proc magic link (an O_PATH fd takes
	 * neither); a symlink has no mode and its times are left alone. */
	if (in->valid & FATTR_MODE) {
		if (link)
			return -EOPNOTSUPP;
		if (fchmodat(s->proc_fd, num, in->mode & 07777, 0) < 0)
			return -errno;
	}
	if (in->valid & (FATTR_UID | FATTR_GID)) {
		uid_t uid = (in->valid & FATTR_UID) ? in->uid : (uid_t)-1;
		gid_t gid = (in->valid & FATTR_GID) ? in->gid : (gid_t)-1;

		if (fchownat(n->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (in->valid & FATTR_SIZE) {
		int e = set_size(s, n, in, st);

		if (e < 0)
			return e;
	}
	if (in->valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		if (link)
			return -EOPNOTSUPP;
		set_time(&ts[0], in->valid, FATTR_ATIME, FATTR_ATIME_NOW, in->atime, in->atimensec);
		set_time(&ts[1], in->valid, FATTR_MTIME, FATTR_MTIME_NOW, in->mtime, in->mtimensec);
		if (utimensat(s->proc_fd, num, ts, 0) < 0)
			return -errno;
	}
	return 0;
}

int fsd_op_setattr(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_setattr_in *in = (const void *)r->body;
	struct fsd_node *n = req_node(s, r);
	struct stat st;
	int e;

	if (!n)
		return -ESTALE;
	if ((e = stat_fd(n->fd, &st)) < 0 || (e = set_attrs(s, n, in, &st)) < 0 ||
	    (e = stat_fd(n->fd, &st)) < 0)
		return e;
	return attr_reply(s, r, &st);
}

int fsd_op_readlink(struct fsd *s, struct fsd_req *r)
{
	struct fsd_node *n = req_node(s, r);
	size_t cap = r->room < PATH_MAX ? r->room : PATH_MAX;
	ssize_t len;

	if (!n)
		return -ESTALE;
	len = readlinkat(n->fd, "", (char *)s->stage, cap);
	if (len < 0)
		return -errno;
	r->reply = s->stage;
	r->reply_len = (size_t)len;
	return 0;
}

/* Make an entry, give it to the caller, answer as LOOKUP; undone on failure. */
static int made(struct fsd *s, struct fsd_req *r, int dir_fd, const char *name, bool is_dir)
{
	int e = fsd_set_owner(r, dir_fd, name);

	if (e == 0)
		e = entry_reply(s, r, dir_fd, name);
	if (e < 0)
		unlinkat(dir_fd, name, is_dir ? AT_REMOVEDIR : 0);
	return e;
}

int fsd_op_symlink(struct fsd *s, struct fsd_req *r)
{
	struct fsd_node *dir = req_node(s, r);
	const char *name, *target;
	size_t next;
	int e;

	if (!dir)
		return -ESTALE;
	if (!(name = fsd_req_name(r, 0, &next, &e)))
		return e;
	/* The target is data: any bytes, resolved by nobody here. */
	target = (const char *)r->body + next;
	if (next >= r->body_len || !memchr(target, '\0', r->body_len - next))
		return -EINVAL;
	if (strlen(target) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (symlinkat(target, dir->fd, name) < 0)
		return -errno;
	return made(s, r, dir->fd, name, false);
}

int fsd_op_mknod(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_mknod_in *in = (const void *)r->body;
	struct fsd_node *dir = req_node(s, r);
	const char *name;
	int e;

	if (!dir)
		return -ESTALE;
	if (!(name = fsd_req_name(r, sizeof(*in), NULL, &e)))
		return e;
	/* No device nodes (nor sockets): the host would honour them. */
	if (!S_ISREG(in->mode) && !S_ISFIFO(in->mode))
		return -EPERM;
	if (mknodat(dir->fd, name, in->mode & (S_IFMT | 07777), 0) < 0)
		return -errno;
	return made(s, r, dir->fd, name, false);
}

int fsd_op_mkdir(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_mkdir_in *in = (const void *)r->body;
	struct fsd_node *dir = req_node(s, r);
	const char *name;
	int e;

	if (!dir)
		return -ESTALE;
	if (!(name = fsd_req_name(r, sizeof(*in), NULL, &e)))
		return e;
	if (mkdirat(dir->fd, name, in->mode & 07777) < 0)
		return -errno;
	return made(s, r, dir->fd, name, true);
}

static int remove_entry(struct fsd *s, struct fsd_req *r, int flags)
{
	struct fsd_node *dir = req_node(s, r);
	const char *name;
	int e;

	if (!dir)
		return -ESTALE;
	if (!(name = fsd_req_name(r, 0, NULL, &e)))
		return e;
	return unlinkat(dir->fd, name, flags) < 0 ? -errno : 0;
}

int fsd_op_unlink(struct fsd *s, struct fsd_req *r)
{
	return remove_entry(s, r, 0);
}

int fsd_op_rmdir(struct fsd *s, struct fsd_req *r)
{
	return remove_entry(s, r, AT_REMOVEDIR);
}

static int rename_entry(struct fsd *s, struct fsd_req *r, uint64_t newdir_id, size_t off,
			uint32_t flags)
{
	struct fsd_node *dir = req_node(s, r), *newdir = fsd_node_get(s, newdir_id);
	const char *old, *new;
	size_t next;
	int e;

	if (!dir || !newdir)
		return -ESTALE;
	/* RENAME_WHITEOUT would make a device node. */
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (!(old = fsd_req_name(r, off, &next, &e)) || !(new = fsd_req_name(r, next, NULL, &e)))
		return e;
	if (renameat2(dir->fd, old, newdir->fd, new, flags) < 0)
		return -errno;
	return 0;
}

int fsd_op_rename(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_rename_in *in = (const void *)r->body;

	return rename_entry(s, r, in->newdir, sizeof(*in), 0);
}

int fsd_op_rename2(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_rename2_in *in = (const void *)r->body;

	return rename_entry(s, r, in->newdir, sizeof(*in), in->flags);
}

int fsd_op_link(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_link_in *in = (const void *)r->body;
	struct fsd_node *dir = req_node(s, r), *old = fsd_node_get(s, in->oldnodeid);
	const char *name;
	char num[16];
	int e;

	/* The source is a node the guest looked up: inside the share by
	 * construction, so no link to an outside file can be made. */
	if (!dir || !old)
		return -ESTALE;
	if (!(name = fsd_req_name(r, sizeof(*in), NULL, &e)))
		return e;
	snprintf(num, sizeof(num), "%d", old->fd);
	if (linkat(s->proc_fd, num, dir->fd, name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return entry_reply(s, r, dir->fd, name);
}

int fsd_op_statfs(struct fsd *s, struct fsd_req *r)
{
	struct fsd_node *n = req_node(s, r);
	struct fuse_statfs_out *o = (void *)s->stage;
	struct statfs st;

	if (!n)
		return -ESTALE;
	if (fstatfs(n->fd, &st) < 0)
		return -errno;
	memset(o, 0, sizeof(*o));
	o->st = (struct fuse_kstatfs){ .blocks = st.f_blocks, .bfree = st.f_bfree,
				       .bavail = st.f_bavail, .files = st.f_files,
				       .ffree = st.f_ffree, .bsize = (uint32_t)st.f_bsize,
				       .namelen = (uint32_t)st.f_namelen,
				       .frsize = (uint32_t)st.f_frsize };
	r->reply = o;
	r->reply_len = sizeof(*o);
	return 0;
}

/* The guest checks permissions itself (virtio-fs mounts with
 * default_permissions); this answers the rare ACCESS by the mode bits. */
int fsd_op_access(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_access_in *in = (const void *)r->body;
	struct fsd_node *n = req_node(s, r);
	struct stat st;
	unsigned bits;
	int e;

	if (!n)
		return -ESTALE;
	if ((e = stat_fd(n->fd, &st)) < 0)
		return e;
	if ((in->mask & W_OK) && s->read_only)
		return -EROFS;
	if (r->h->uid == 0) {
		if ((in->mask & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111))
			return -EACCES;
		return 0;
	}
	bits = st.st_uid == r->h->uid ? (st.st_mode >> 6) : st.st_gid == r->h->gid
		? (st.st_mode >> 3) : st.st_mode;
	if ((in->mask & (R_OK | W_OK | X_OK)) & ~(bits & 7))
		return -EACCES;
	return 0;
}
