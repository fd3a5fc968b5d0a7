/* The virtio-fs file server (src/fsd) driven as a hostile guest would: FUSE
 * requests against a temporary share, checked on the host side. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fuse.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsd/fsd.h"

#define UID 1234
#define GID 2345

struct fx {
	char top[64];           /* holds share/ and outside/ */
	char share[96], outside[96];
	struct fsd *s;
	uint8_t in[1 << 16];
	uint8_t out[1 << 17];
	size_t out_len;
};

static int fx_open(struct fx *f, bool ro, unsigned nodes, unsigned handles)
{
	struct fsd_config cfg = { .share = f->share, .read_only = ro, .max_nodes = nodes,
				  .max_handles = handles };
	struct err err = { 0 };

	fsd_free(f->s);
	f->s = NULL;
	if (fsd_new(&cfg, &f->s, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->top, sizeof(f->top), "/tmp/test_fsd.XXXXXX");
	if (!mkdtemp(f->top))
		return -1;
	snprintf(f->share, sizeof(f->share), "%s/share", f->top);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->top);
	mkdir(f->share, 0755);
	mkdir(f->outside, 0755);
	*state = f;
	return fx_open(f, false, 0, 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	fsd_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->top);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* One request: the header, a fixed body and up to two NUL-terminated names.
 * Returns the reply's error (0 or -errno); the body is at reply(f). */
static int req_raw(struct fx *f, uint32_t op, uint64_t nodeid, const void *body, size_t blen,
		   const char *n1, const char *n2, size_t out_cap)
{
	struct fuse_in_header h = { .opcode = op, .unique = 77, .nodeid = nodeid, .uid = UID,
				    .gid = GID, .pid = 1 };
	size_t len = sizeof(h);
	struct fuse_out_header oh;

	memcpy(f->in + len, body, blen);
	len += blen;
	if (n1) {
		memcpy(f->in + len, n1, strlen(n1) + 1);
		len += strlen(n1) + 1;
	}
	if (n2) {
		memcpy(f->in + len, n2, strlen(n2) + 1);
		len += strlen(n2) + 1;
	}
	h.len = (uint32_t)len;
	memcpy(f->in, &h, sizeof(h));
	fsd_handle(f->s, f->in, len, f->out, out_cap, &f->out_len);
	if (f->out_len == 0)
		return 1;       /* no reply */
	assert_true(f->out_len >= sizeof(oh));
	memcpy(&oh, f->out, sizeof(oh));
	assert_int_equal(oh.len, f->out_len);
	assert_int_equal(oh.unique, 77);
	if (oh.error)
		assert_int_equal(oh.len, sizeof(oh));
	return oh.error;
}

static int req(struct fx *f, uint32_t op, uint64_t nodeid, const void *body, size_t blen,
	       const char *n1, const char *n2)
{
	return req_raw(f, op, nodeid, body, blen, n1, n2, sizeof(f->out));
}

static void *reply(struct fx *f)
{
	return f->out + sizeof(struct fuse_out_header);
}

static size_t reply_len(struct fx *f)
{
	return f->out_len - sizeof(struct fuse_out_header);
}

static void init(struct fx *f)
{
	struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 65536,
				   .flags = FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES | (1u << 31) };
	struct fuse_init_out *o;

	assert_int_equal(req(f, FUSE_INIT, 0, &in, sizeof(in), NULL, NULL), 0);
	o = reply(f);
	assert_int_equal(o->major, 7);
	assert_int_equal(o->minor, 38);
	/* Only the flags both sides know: never DAX or the unknown bit 31. */
	assert_int_equal(o->flags, FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES);
	assert_true(o->max_write >= 65536);
}

static uint64_t lookup(struct fx *f, uint64_t dir, const char *name, struct fuse_attr *attr)
{
	struct fuse_entry_out *e;

	if (req(f, FUSE_LOOKUP, dir, NULL, 0, name, NULL) != 0)
		return 0;
	e = reply(f);
	if (attr)
		*attr = e->attr;
	return e->nodeid;
}

static int host_write(struct fx *f, const char *name, const char *data)
{
	char path[256];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", f->share, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	r = write(fd, data, strlen(data)) == (ssize_t)strlen(data) ? 0 : -1;
	close(fd);
	return r;
}

static int host_stat(struct fx *f, const char *name, struct stat *st)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->share, name);
	return lstat(path, st);
}

static uint64_t open_file(struct fx *f, uint64_t node, uint32_t flags, int *e)
{
	struct fuse_open_in in = { .flags = flags };

	*e = req(f, FUSE_OPEN, node, &in, sizeof(in), NULL, NULL);
	return *e ? 0 : ((struct fuse_open_out *)reply(f))->fh;
}

static void test_init_and_unknown(void **state)
{
	struct fx *f = *state;
	struct fuse_init_in old = { .major = 7, .minor = 5 };
	struct fuse_init_in newer = { .major = 8, .minor = 0 };

	/* Nothing is served before INIT. */
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "x", NULL), -EIO);
	assert_int_equal(req(f, FUSE_INIT, 0, &old, sizeof(old), NULL, NULL), -EPROTO);
	/* A newer major gets ours back to retry with. */
	assert_int_equal(req(f, FUSE_INIT, 0, &newer, sizeof(newer), NULL, NULL), 0);
	assert_int_equal(((struct fuse_init_out *)reply(f))->major, 7);
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "x", NULL), -EIO);
	init(f);
	assert_int_equal(req(f, 9999, FUSE_ROOT_ID, NULL, 0, NULL, NULL), -ENOSYS);
	assert_int_equal(req(f, FUSE_SETUPMAPPING, FUSE_ROOT_ID, NULL, 0, NULL, NULL), -ENOSYS);
	assert_int_equal(req(f, FUSE_GETXATTR, FUSE_ROOT_ID, NULL, 0, "user.x", NULL), -ENOSYS);
	assert_int_equal(req(f, FUSE_LISTXATTR, FUSE_ROOT_ID, NULL, 0, NULL, NULL), -ENOSYS);
	/* DESTROY: the guest's references are gone, INIT again to go on. */
	assert_int_equal(host_write(f, "a", "x"), 0);
	assert_true(lookup(f, FUSE_ROOT_ID, "a", NULL) != 0);
	assert_int_equal(fsd_nodes_in_use(f->s), 2);
	assert_int_equal(req(f, FUSE_DESTROY, FUSE_ROOT_ID, NULL, 0, NULL, NULL), 0);
	assert_int_equal(fsd_nodes_in_use(f->s), 1);
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "a", NULL), -EIO);
}

static void test_lookup_getattr_forget(void **state)
{
	struct fx *f = *state;
	struct fuse_getattr_in gin = { 0 };
	struct fuse_forget_in fin = { .nlookup = 1 };
	struct fuse_attr a;
	struct stat st;
	uint64_t id, id2;

	init(f);
	assert_int_equal(host_write(f, "file", "hello"), 0);
	assert_int_equal(host_stat(f, "file", &st), 0);
	id = lookup(f, FUSE_ROOT_ID, "file", &a);
	assert_true(id > FUSE_ROOT_ID);
	assert_int_equal(a.size, 5);
	assert_int_equal(a.ino, st.st_ino);
	assert_true(S_ISREG(a.mode));
	/* A missing name is a negative entry: nodeid 0, kept as long as a positive one. */
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "missing", NULL), 0);
	assert_int_equal(reply_len(f), sizeof(struct fuse_entry_out));
	assert_int_equal(((struct fuse_entry_out *)reply(f))->nodeid, 0);
	assert_int_equal(((struct fuse_entry_out *)reply(f))->entry_valid, 1);
	assert_int_equal(fsd_nodes_in_use(f->s), 2);     /* the root and "file": no node */
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "dir/missing", NULL), -EINVAL);
	/* The same inode is the same node, counted twice. */
	id2 = lookup(f, FUSE_ROOT_ID, "file", NULL);
	assert_int_equal(id, id2);
	assert_int_equal(fsd_nodes_in_use(f->s), 2);
	assert_int_equal(req(f, FUSE_GETATTR, id, &gin, sizeof(gin), NULL, NULL), 0);
	assert_int_equal(((struct fuse_attr_out *)reply(f))->attr.size, 5);
	assert_int_equal(req(f, FUSE_GETATTR, FUSE_ROOT_ID, &gin, sizeof(gin), NULL, NULL), 0);
	assert_true(S_ISDIR(((struct fuse_attr_out *)reply(f))->attr.mode));
	/* FORGET takes no reply; the node lives until its last reference goes. */
	assert_int_equal(req(f, FUSE_FORGET, id, &fin, sizeof(fin), NULL, NULL), 1);
	assert_int_equal(req(f, FUSE_GETATTR, id, &gin, sizeof(gin), NULL, NULL), 0);
	assert_int_equal(req(f, FUSE_FORGET, id, &fin, sizeof(fin), NULL, NULL), 1);
	assert_int_equal(fsd_nodes_in_use(f->s), 1);
	/* Its nodeid is stale now, even when the slot is reused. */
	assert_int_equal(req(f, FUSE_GETATTR, id, &gin, sizeof(gin), NULL, NULL), -ESTALE);
	id2 = lookup(f, FUSE_ROOT_ID, "file", NULL);
	assert_true(id2 != id && (uint32_t)id2 == (uint32_t)id);
	assert_int_equal(req(f, FUSE_GETATTR, id, &gin, sizeof(gin), NULL, NULL), -ESTALE);
	/* Forgetting the root does nothing. */
	assert_int_equal(req(f, FUSE_FORGET, FUSE_ROOT_ID, &fin, sizeof(fin), NULL, NULL), 1);
	assert_int_equal(req(f, FUSE_GETATTR, FUSE_ROOT_ID, &gin, sizeof(gin), NULL, NULL), 0);
	/* BATCH_FORGET, its count checked against the request. */
	struct {
		struct fuse_batch_forget_in h;
		struct fuse_forget_one one[2];
	} batch = { { .count = 2 }, { { id2, 1 }, { 0xdeadbeef, 5 } } };
	batch.h.count = 1000;
	assert_int_equal(req(f, FUSE_BATCH_FORGET, 0, &batch, sizeof(batch), NULL, NULL), 1);
	assert_int_equal(fsd_nodes_in_use(f->s), 2);
	batch.h.count = 2;
	assert_int_equal(req(f, FUSE_BATCH_FORGET, 0, &batch, sizeof(batch), NULL, NULL), 1);
	assert_int_equal(fsd_nodes_in_use(f->s), 1);
}

static void test_create_write_read_setattr(void **state)
{
	struct fx *f = *state;
	struct fuse_create_in cin = { .flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0640 };
	struct fuse_entry_out *entry;
	struct fuse_read_in rin = { .size = 100 };
	struct fuse_release_in rel = { 0 };
	struct stat st;
	uint64_t id, fh;
	int e;

	init(f);
	assert_int_equal(req(f, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "new", NULL), 0);
	assert_int_equal(reply_len(f), sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	entry = reply(f);
	id = entry->nodeid;
	fh = ((struct fuse_open_out *)(entry + 1))->fh;
	assert_int_equal(host_stat(f, "new", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, UID);
	assert_int_equal(st.st_gid, GID);
	assert_int_equal(fsd_handles_in_use(f->s), 1);

	struct {
		struct fuse_write_in w;
		char data[11];
	} wr = { { .fh = fh, .offset = 0, .size = 11 }, "hello world" };
	assert_int_equal(req(f, FUSE_WRITE, id, &wr, sizeof(wr), NULL, NULL), 0);
	assert_int_equal(((struct fuse_write_out *)reply(f))->size, 11);
	rin.fh = fh;
	rin.offset = 6;
	assert_int_equal(req(f, FUSE_READ, id, &rin, sizeof(rin), NULL, NULL), 0);
	assert_int_equal(reply_len(f), 5);
	assert_memory_equal(reply(f), "world", 5);
	/* A READ larger than the reply room is cut to it. */
	rin.offset = 0;
	assert_int_equal(req_raw(f, FUSE_READ, id, &rin, sizeof(rin), NULL, NULL,
				 sizeof(struct fuse_out_header) + 3), 0);
	assert_int_equal(reply_len(f), 3);
	/* FLUSH and FSYNC on the handle; a forged handle is refused. */
	struct fuse_flush_in fl = { .fh = fh };
	struct fuse_fsync_in fs = { .fh = fh, .fsync_flags = 1 };
	/* nothing to flush: ENOSYS, and the guest sends no more FLUSH */
	assert_int_equal(req(f, FUSE_FLUSH, id, &fl, sizeof(fl), NULL, NULL), -ENOSYS);
	assert_int_equal(req(f, FUSE_FSYNC, id, &fs, sizeof(fs), NULL, NULL), 0);
	fs.fh = fh + (1ULL << 32);
	assert_int_equal(req(f, FUSE_FSYNC, id, &fs, sizeof(fs), NULL, NULL), -EBADF);
	/* FALLOCATE grows the file (other modes refused); LSEEK finds data. */
	struct fuse_fallocate_in fa = { .fh = fh, .offset = 0, .length = 8192 };
	assert_int_equal(req(f, FUSE_FALLOCATE, id, &fa, sizeof(fa), NULL, NULL), 0);
	assert_int_equal(host_stat(f, "new", &st), 0);
	assert_int_equal(st.st_size, 8192);
	fa.mode = FALLOC_FL_COLLAPSE_RANGE;
	assert_int_equal(req(f, FUSE_FALLOCATE, id, &fa, sizeof(fa), NULL, NULL), -EOPNOTSUPP);
	fa.mode = 0;
	fa.offset = ~0ULL - 5;
	assert_int_equal(req(f, FUSE_FALLOCATE, id, &fa, sizeof(fa), NULL, NULL), -EINVAL);
	struct fuse_lseek_in ls = { .fh = fh, .offset = 0, .whence = SEEK_DATA };
	assert_int_equal(req(f, FUSE_LSEEK, id, &ls, sizeof(ls), NULL, NULL), 0);
	assert_int_equal(((struct fuse_lseek_out *)reply(f))->offset, 0);
	ls.whence = SEEK_END;
	assert_int_equal(req(f, FUSE_LSEEK, id, &ls, sizeof(ls), NULL, NULL), -EINVAL);
	rel.fh = fh;
	assert_int_equal(req(f, FUSE_RELEASE, id, &rel, sizeof(rel), NULL, NULL), 0);
	assert_int_equal(fsd_handles_in_use(f->s), 0);
	assert_int_equal(req(f, FUSE_READ, id, &rin, sizeof(rin), NULL, NULL), -EBADF);

	/* SETATTR: mode, owner, size, times. */
	struct fuse_setattr_in sa = { .valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE |
					       FATTR_MTIME | FATTR_ATIME,
				      .mode = 0604, .uid = 42, .gid = 43, .size = 5,
				      .atime = 1000, .mtime = 2000, .mtimensec = 7 };
	assert_int_equal(req(f, FUSE_SETATTR, id, &sa, sizeof(sa), NULL, NULL), 0);
	assert_int_equal(((struct fuse_attr_out *)reply(f))->attr.size, 5);
	assert_int_equal(host_stat(f, "new", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_int_equal(st.st_uid, 42);
	assert_int_equal(st.st_gid, 43);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_atim.tv_sec, 1000);
	assert_int_equal(st.st_mtim.tv_sec, 2000);
	assert_int_equal(st.st_mtim.tv_nsec, 7);
	/* OPEN with O_TRUNC truncates; ACCESS answers by the mode bits. */
	fh = open_file(f, id, O_WRONLY | O_TRUNC, &e);
	assert_int_equal(e, 0);
	assert_int_equal(host_stat(f, "new", &st), 0);
	assert_int_equal(st.st_size, 0);
	struct fuse_access_in ac = { .mask = W_OK };
	assert_int_equal(req(f, FUSE_ACCESS, id, &ac, sizeof(ac), NULL, NULL), -EACCES);
	ac.mask = R_OK;
	assert_int_equal(req(f, FUSE_ACCESS, id, &ac, sizeof(ac), NULL, NULL), 0);
	/* A directory is not OPENed, a file not OPENDIRed. */
	assert_int_equal(open_file(f, FUSE_ROOT_ID, O_RDONLY, &e), 0);
	assert_int_equal(e, -EISDIR);
	struct fuse_open_in oin = { 0 };
	assert_int_equal(req(f, FUSE_OPENDIR, id, &oin, sizeof(oin), NULL, NULL), -ENOTDIR);
	struct fuse_statfs_out *sf;
	assert_int_equal(req(f, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0, NULL, NULL), 0);
	sf = reply(f);
	assert_true(sf->st.bsize > 0 && sf->st.namelen > 0);
}

/* The names a READDIR(PLUS) reply lists, joined by spaces, sorted by the
 * caller's expectations: returns how many entries. */
static int dir_names(struct fx *f, bool plus, char *names, size_t cap, uint64_t *ids)
{
	size_t off = 0;
	int n = 0;

	names[0] = '\0';
	while (off < reply_len(f)) {
		struct fuse_direntplus *dp = (void *)((uint8_t *)reply(f) + off);
		struct fuse_dirent *d = plus ? &dp->dirent : (void *)dp;

		if (strlen(names) + d->namelen + 2 > cap)
			return -1;
		strncat(names, d->name, d->namelen);
		strcat(names, " ");
		if (plus && ids)
			ids[n] = dp->entry_out.nodeid;
		n++;
		off += plus ? FUSE_DIRENTPLUS_SIZE(dp) : FUSE_DIRENT_SIZE(d);
	}
	return n;
}

static void test_directories(void **state)
{
	struct fx *f = *state;
	struct fuse_mkdir_in mk = { .mode = 0750 };
	struct fuse_open_in oin = { 0 };
	struct fuse_read_in rin = { .size = 4096 };
	struct fuse_release_in rel = { 0 };
	char names[512];
	uint64_t d, ids[8];
	struct stat st;
	int n;

	init(f);
	assert_int_equal(req(f, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), "d", NULL), 0);
	d = ((struct fuse_entry_out *)reply(f))->nodeid;
	assert_int_equal(host_stat(f, "d", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, UID);
	assert_int_equal(host_write(f, "d/one", "1"), 0);
	assert_int_equal(host_write(f, "d/two", "2"), 0);
	assert_int_equal(req(f, FUSE_OPENDIR, d, &oin, sizeof(oin), NULL, NULL), 0);
	rin.fh = ((struct fuse_open_out *)reply(f))->fh;
	assert_int_equal(req(f, FUSE_READDIR, d, &rin, sizeof(rin), NULL, NULL), 0);
	n = dir_names(f, false, names, sizeof(names), NULL);
	assert_int_equal(n, 4);
	assert_non_null(strstr(names, "one "));
	assert_non_null(strstr(names, "two "));
	/* READDIRPLUS looks each entry up (but not . and ..). */
	assert_int_equal(fsd_nodes_in_use(f->s), 2);
	assert_int_equal(req(f, FUSE_READDIRPLUS, d, &rin, sizeof(rin), NULL, NULL), 0);
	n = dir_names(f, true, names, sizeof(names), ids);
	assert_int_equal(n, 4);
	assert_int_equal(fsd_nodes_in_use(f->s), 4);
	/* A small buffer takes one entry at a time, resumed at its offset. */
	rin.size = 40;
	rin.offset = 0;
	for (n = 0; n < 10; n++) {
		struct fuse_dirent *de;

		assert_int_equal(req(f, FUSE_READDIR, d, &rin, sizeof(rin), NULL, NULL), 0);
		if (reply_len(f) == 0)
			break;
		de = reply(f);
		assert_int_equal(reply_len(f), FUSE_DIRENT_SIZE(de));
		rin.offset = de->off;
	}
	assert_int_equal(n, 4);
	rel.fh = rin.fh;
	assert_int_equal(req(f, FUSE_RELEASEDIR, d, &rel, sizeof(rel), NULL, NULL), 0);
	assert_int_equal(fsd_handles_in_use(f->s), 0);

	/* RENAME, RENAME2 (NOREPLACE, no WHITEOUT), LINK, UNLINK, RMDIR. */
	struct fuse_rename_in rn = { .newdir = FUSE_ROOT_ID };
	struct fuse_rename2_in rn2 = { .newdir = d, .flags = RENAME_NOREPLACE };
	assert_int_equal(req(f, FUSE_RENAME, d, &rn, sizeof(rn), "one", "uno"), 0);
	assert_int_equal(host_stat(f, "uno", &st), 0);
	assert_int_equal(req(f, FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "uno", "two"), -EEXIST);
	rn2.flags = RENAME_WHITEOUT;
	assert_int_equal(req(f, FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "uno", "w"), -EINVAL);
	rn2.flags = 0;
	assert_int_equal(req(f, FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "uno", "back"), 0);
	assert_int_equal(host_stat(f, "d/back", &st), 0);
	uint64_t two = lookup(f, d, "two", NULL);
	struct fuse_link_in ln = { .oldnodeid = two };
	assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "hard", NULL), 0);
	assert_int_equal(((struct fuse_entry_out *)reply(f))->nodeid, two);
	assert_int_equal(((struct fuse_entry_out *)reply(f))->attr.nlink, 2);
	assert_int_equal(host_stat(f, "hard", &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(req(f, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "hard", NULL), 0);
	assert_int_equal(host_stat(f, "hard", &st), -1);
	assert_int_equal(req(f, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0, "d", NULL), -ENOTEMPTY);
	assert_int_equal(req(f, FUSE_UNLINK, d, NULL, 0, "two", NULL), 0);
	assert_int_equal(req(f, FUSE_UNLINK, d, NULL, 0, "back", NULL), 0);
	assert_int_equal(req(f, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0, "d", NULL), 0);
	assert_int_equal(host_stat(f, "d", &st), -1);
	struct fuse_fsync_in fs = { .fh = 1 };
	assert_int_equal(req(f, FUSE_FSYNCDIR, FUSE_ROOT_ID, &fs, sizeof(fs), NULL, NULL), -EBADF);
}

static void test_symlink_mknod(void **state)
{
	struct fx *f = *state;
	struct fuse_mknod_in mn = { .mode = S_IFIFO | 0600 };
	struct stat st;
	uint64_t id;
	int e;

	init(f);
	assert_int_equal(req(f, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "ln", "../../etc/passwd"), 0);
	id = ((struct fuse_entry_out *)reply(f))->nodeid;
	assert_int_equal(host_stat(f, "ln", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_uid, UID);
	/* The target is data read back, never followed. */
	assert_int_equal(req(f, FUSE_READLINK, id, NULL, 0, NULL, NULL), 0);
	assert_int_equal(reply_len(f), strlen("../../etc/passwd"));
	assert_memory_equal(reply(f), "../../etc/passwd", reply_len(f));
	assert_int_equal(open_file(f, id, O_RDONLY, &e), 0);
	assert_int_equal(e, -ELOOP);
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, &mn, sizeof(mn), "fifo", NULL), 0);
	assert_int_equal(host_stat(f, "fifo", &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* A fifo is the guest's: never opened on the host (it would block). */
	id = ((struct fuse_entry_out *)reply(f))->nodeid;
	assert_int_equal(open_file(f, id, O_RDONLY, &e), 0);
	assert_int_equal(e, -ENXIO);
	mn.mode = S_IFREG | 0644;
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, &mn, sizeof(mn), "reg", NULL), 0);
	assert_int_equal(host_stat(f, "reg", &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void test_hostile_names(void **state)
{
	struct fx *f = *state;
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_mknod_in mn = { .mode = S_IFCHR | 0666, .rdev = makedev(1, 3) };
	struct fuse_create_in cin = { .flags = O_WRONLY | O_CREAT, .mode = 0644 };
	char path[256], longname[NAME_MAX + 2];
	struct stat st;
	uint64_t root_link;

	init(f);
	/* A symlink to / in the share (as a guest or anyone could make). */
	snprintf(path, sizeof(path), "%s/root", f->share);
	assert_int_equal(symlink("/", path), 0);
	snprintf(path, sizeof(path), "%s/out", f->share);
	assert_int_equal(symlink(f->outside, path), 0);
	snprintf(path, sizeof(path), "%s/victim", f->share);
	assert_int_equal(symlink("../outside/victim", path), 0);
	root_link = lookup(f, FUSE_ROOT_ID, "root", NULL);
	assert_true(root_link != 0);
	/* Through it: nothing resolves (it is no directory to the server). */
	assert_int_equal(req(f, FUSE_LOOKUP, root_link, NULL, 0, "etc", NULL), -ENOTDIR);
	assert_int_equal(req(f, FUSE_MKDIR, lookup(f, FUSE_ROOT_ID, "out", NULL), &mk, sizeof(mk),
			     "made", NULL), -ENOTDIR);
	/* CREATE on a symlink's name does not write where it points. */
	assert_int_equal(req(f, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "victim", NULL),
			 -ELOOP);
	snprintf(path, sizeof(path), "%s/victim", f->outside);
	assert_int_equal(stat(path, &st), -1);
	/* CREATE over an existing fifo or device node opens neither on the
	 * host (the fifo would block the server); over a file it opens it. */
	snprintf(path, sizeof(path), "%s/fifo", f->share);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(req(f, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "fifo", NULL), -ENXIO);
	snprintf(path, sizeof(path), "%s/zero", f->share);
	assert_int_equal(mknod(path, S_IFCHR | 0666, makedev(1, 5)), 0);
	assert_int_equal(req(f, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "zero", NULL), -ENXIO);
	assert_int_equal(host_write(f, "exists", "old"), 0);
	cin.flags |= O_TRUNC;
	assert_int_equal(req(f, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "exists", NULL), 0);
	assert_int_equal(host_stat(f, "exists", &st), 0);
	assert_int_equal(st.st_size, 0);
	cin.flags |= O_EXCL;
	assert_int_equal(req(f, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "exists", NULL), -EEXIST);
	/* Names are one component: no '/', '.', '..', empty, or over NAME_MAX. */
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "..", NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, ".", NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "", NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "../outside", NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), "..", NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "a/b", "x"), -EINVAL);
	struct fuse_rename_in rn = { .newdir = FUSE_ROOT_ID };
	assert_int_equal(host_write(f, "mine", "m"), 0);
	assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "mine",
			     "../outside/stolen"), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(req(f, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), longname, NULL),
			 -ENAMETOOLONG);
	longname[NAME_MAX] = '\0';
	assert_int_equal(req(f, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), longname, NULL), 0);
	/* Device nodes are refused, whatever the guest's capabilities. */
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, &mn, sizeof(mn), "null", NULL), -EPERM);
	mn.mode = S_IFBLK | 0666;
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, &mn, sizeof(mn), "sda", NULL), -EPERM);
	mn.mode = S_IFSOCK | 0666;
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, &mn, sizeof(mn), "sock", NULL), -EPERM);
	assert_int_equal(host_stat(f, "null", &st), -1);
	/* A device node already in the share is never opened on the host. */
	snprintf(path, sizeof(path), "%s/hostnull", f->share);
	assert_int_equal(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0);
	int e;
	assert_int_equal(open_file(f, lookup(f, FUSE_ROOT_ID, "hostnull", NULL), O_RDWR, &e), 0);
	assert_int_equal(e, -ENXIO);
	/* Hard links come from nodes only, so only from inside; a link to a
	 * symlink links the symlink, not its target. */
	struct fuse_link_in ln = { .oldnodeid = root_link };
	assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "root2", NULL), 0);
	assert_int_equal(host_stat(f, "root2", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	ln.oldnodeid = FUSE_ROOT_ID;
	assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "self", NULL), -EPERM);
	ln.oldnodeid = 0x7fffffff;
	assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "forged", NULL), -ESTALE);
}

static void test_forged_and_truncated(void **state)
{
	struct fx *f = *state;
	struct fuse_getattr_in gin = { 0 };
	struct fuse_init_in iin = { .major = 7, .minor = 38 };
	struct fuse_in_header h = { .len = 100, .opcode = FUSE_GETATTR, .unique = 5,
				    .nodeid = FUSE_ROOT_ID };
	struct fuse_out_header oh;
	uint64_t forged[] = { 0, 2, 0xffffffff, 0x100000001ULL, ~0ULL, 0x8000000000000001ULL };
	size_t i;

	init(f);
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		assert_int_equal(req(f, FUSE_GETATTR, forged[i], &gin, sizeof(gin), NULL, NULL),
				 -ESTALE);
		assert_int_equal(req(f, FUSE_LOOKUP, forged[i], NULL, 0, "x", NULL), -ESTALE);
	}
	/* The header's length beyond the bytes given, or below a header. */
	memcpy(f->in, &h, sizeof(h));
	fsd_handle(f->s, f->in, sizeof(h) + 8, f->out, sizeof(f->out), &f->out_len);
	memcpy(&oh, f->out, sizeof(oh));
	assert_int_equal(oh.error, -EINVAL);
	assert_int_equal(oh.unique, 5);
	h.len = 10;
	memcpy(f->in, &h, sizeof(h));
	fsd_handle(f->s, f->in, sizeof(h), f->out, sizeof(f->out), &f->out_len);
	memcpy(&oh, f->out, sizeof(oh));
	assert_int_equal(oh.error, -EINVAL);
	/* Fewer bytes than a header; no room for a reply header. */
	fsd_handle(f->s, f->in, 7, f->out, sizeof(f->out), &f->out_len);
	memcpy(&oh, f->out, sizeof(oh));
	assert_int_equal(oh.error, -EINVAL);
	fsd_handle(f->s, f->in, sizeof(h), f->out, 15, &f->out_len);
	assert_int_equal(f->out_len, 0);
	/* Bodies shorter than the op's struct. */
	assert_int_equal(req(f, FUSE_GETATTR, FUSE_ROOT_ID, &gin, 4, NULL, NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_SETATTR, FUSE_ROOT_ID, &gin, 4, NULL, NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_WRITE, FUSE_ROOT_ID, &gin, 8, NULL, NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_INIT, 0, &iin, 8, NULL, NULL), -EINVAL);
	/* A name without its NUL. */
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, "abc", 3, NULL, NULL), -EINVAL);
	assert_int_equal(req(f, FUSE_SYMLINK, FUSE_ROOT_ID, "a\0bc", 4, NULL, NULL), -EINVAL);
	/* A reply that would not fit: refused before anything is done. */
	assert_int_equal(host_write(f, "f", "x"), 0);
	assert_int_equal(req_raw(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "f", NULL,
				 sizeof(struct fuse_out_header) + 8), -EIO);
	assert_int_equal(fsd_nodes_in_use(f->s), 1);
	/* WRITE's size beyond its data; READ at an offset past off_t. */
	int e;
	uint64_t fid = lookup(f, FUSE_ROOT_ID, "f", NULL);
	uint64_t fh = open_file(f, fid, O_RDWR, &e);
	assert_int_equal(e, 0);
	struct {
		struct fuse_write_in w;
		char data[4];
	} wr = { { .fh = fh, .size = 5000 }, "abcd" };
	assert_int_equal(req(f, FUSE_WRITE, fid, &wr, sizeof(wr), NULL, NULL), -EINVAL);
	wr.w.size = 4;
	wr.w.offset = ~0ULL;
	assert_int_equal(req(f, FUSE_WRITE, fid, &wr, sizeof(wr), NULL, NULL), -EINVAL);
	struct fuse_read_in rin = { .fh = fh, .offset = ~0ULL, .size = 10 };
	assert_int_equal(req(f, FUSE_READ, fid, &rin, sizeof(rin), NULL, NULL), -EINVAL);
	/* Handle of the wrong kind: a file handle is no directory handle. */
	rin.offset = 0;
	assert_int_equal(req(f, FUSE_READDIR, FUSE_ROOT_ID, &rin, sizeof(rin), NULL, NULL), -EBADF);
	struct fuse_open_in oin = { .flags = O_ACCMODE };
	assert_int_equal(req(f, FUSE_OPEN, fid, &oin, sizeof(oin), NULL, NULL), -EINVAL);
}

static void test_read_only_share(void **state)
{
	struct fx *f = *state;
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_mknod_in mn = { .mode = S_IFREG | 0644 };
	struct fuse_create_in cin = { .flags = O_WRONLY | O_CREAT, .mode = 0644 };
	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = 0777 };
	struct fuse_rename_in rn = { .newdir = FUSE_ROOT_ID };
	struct fuse_read_in rin = { .size = 10 };
	struct stat before, after;
	uint64_t id, fh;
	int e;

	assert_int_equal(host_write(f, "keep", "data"), 0);
	assert_int_equal(host_stat(f, "keep", &before), 0);
	assert_int_equal(fx_open(f, true, 0, 0), 0);
	init(f);
	id = lookup(f, FUSE_ROOT_ID, "keep", NULL);
	assert_true(id != 0);
	assert_int_equal(req(f, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), "d", NULL), -EROFS);
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, &mn, sizeof(mn), "n", NULL), -EROFS);
	assert_int_equal(req(f, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "c", NULL), -EROFS);
	assert_int_equal(req(f, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "s", "t"), -EROFS);
	assert_int_equal(req(f, FUSE_SETATTR, id, &sa, sizeof(sa), NULL, NULL), -EROFS);
	assert_int_equal(req(f, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "keep", NULL), -EROFS);
	assert_int_equal(req(f, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0, "keep", NULL), -EROFS);
	assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "keep", "k2"), -EROFS);
	struct fuse_link_in ln = { .oldnodeid = id };
	assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "l", NULL), -EROFS);
	assert_int_equal(req(f, FUSE_SETXATTR, id, NULL, 0, NULL, NULL), -EROFS);
	assert_int_equal(open_file(f, id, O_WRONLY, &e), 0);
	assert_int_equal(e, -EROFS);
	assert_int_equal(open_file(f, id, O_RDONLY | O_TRUNC, &e), 0);
	assert_int_equal(e, -EROFS);
	fh = open_file(f, id, O_RDONLY, &e);
	assert_int_equal(e, 0);
	struct {
		struct fuse_write_in w;
		char data[2];
	} wr = { { .fh = fh, .size = 2 }, "XX" };
	assert_int_equal(req(f, FUSE_WRITE, id, &wr, sizeof(wr), NULL, NULL), -EROFS);
	struct fuse_fallocate_in fa = { .fh = fh, .length = 100 };
	assert_int_equal(req(f, FUSE_FALLOCATE, id, &fa, sizeof(fa), NULL, NULL), -EROFS);
	struct fuse_access_in ac = { .mask = W_OK };
	assert_int_equal(req(f, FUSE_ACCESS, id, &ac, sizeof(ac), NULL, NULL), -EROFS);
	rin.fh = fh;
	assert_int_equal(req(f, FUSE_READ, id, &rin, sizeof(rin), NULL, NULL), 0);
	assert_memory_equal(reply(f), "data", 4);
	assert_int_equal(host_stat(f, "keep", &after), 0);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_int_equal(after.st_size, 4);
	assert_int_equal(host_stat(f, "d", &after), -1);
	assert_int_equal(host_stat(f, "c", &after), -1);
}

static void test_bounded_tables(void **state)
{
	struct fx *f = *state;
	char name[16];
	uint64_t id;
	int i, e;

	assert_int_equal(fx_open(f, false, 4, 2), 0);
	init(f);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(host_write(f, name, "x"), 0);
	}
	/* The root and three more; then ENFILE until one is forgotten. */
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_true(lookup(f, FUSE_ROOT_ID, name, NULL) != 0);
	}
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "f3", NULL), -ENFILE);
	id = lookup(f, FUSE_ROOT_ID, "f0", NULL);   /* a known inode costs no slot */
	assert_true(id != 0);
	open_file(f, id, O_RDONLY, &e);
	assert_int_equal(e, 0);
	open_file(f, id, O_RDONLY, &e);
	assert_int_equal(e, 0);
	open_file(f, id, O_RDONLY, &e);
	assert_int_equal(e, -ENFILE);
	struct fuse_forget_in fin = { .nlookup = 2 };
	assert_int_equal(req(f, FUSE_FORGET, id, &fin, sizeof(fin), NULL, NULL), 1);
	assert_true(lookup(f, FUSE_ROOT_ID, "f3", NULL) != 0);
	/* READDIRPLUS stops at a full table and gives what it has. */
	struct fuse_open_in oin = { 0 };
	struct fuse_read_in rin = { .size = 4096 };
	assert_int_equal(fsd_handles_in_use(f->s), 2);
	struct fuse_release_in rel = { .fh = 1 };
	assert_int_equal(req(f, FUSE_RELEASE, id, &rel, sizeof(rel), NULL, NULL), 0);
	assert_int_equal(fsd_handles_in_use(f->s), 1);
	assert_int_equal(req(f, FUSE_OPENDIR, FUSE_ROOT_ID, &oin, sizeof(oin), NULL, NULL), 0);
	rin.fh = ((struct fuse_open_out *)reply(f))->fh;
	assert_int_equal(req(f, FUSE_READDIRPLUS, FUSE_ROOT_ID, &rin, sizeof(rin), NULL, NULL), 0);
	assert_true(reply_len(f) > 0);
	assert_int_equal(fsd_nodes_in_use(f->s), 4);
}

/* A request spread over several readable buffers and its reply over several
 * writable ones, as a virtqueue chain gives them. */
static void test_iovec_chains(void **state)
{
	struct fx *f = *state;
	struct fuse_create_in cin = { .flags = O_RDWR, .mode = 0644 };
	struct fuse_in_header h = { .opcode = FUSE_WRITE, .unique = 9, .uid = UID, .gid = GID };
	struct fuse_write_in w = { .size = 10 };
	struct fuse_read_in rin = { .size = 10 };
	struct fuse_out_header oh;
	struct iovec in[4], out[3];
	char a[3], b[20], c[7];
	uint64_t id;
	size_t n;

	init(f);
	assert_int_equal(req(f, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "iov", NULL), 0);
	id = ((struct fuse_entry_out *)reply(f))->nodeid;
	w.fh = ((struct fuse_open_out *)((struct fuse_entry_out *)reply(f) + 1))->fh;
	h.nodeid = id;
	h.len = sizeof(h) + sizeof(w) + 10;
	/* The header split in two, the body and data across the rest. */
	in[0] = (struct iovec){ &h, 5 };
	in[1] = (struct iovec){ (char *)&h + 5, sizeof(h) - 5 };
	uint8_t rest[sizeof(w) + 10];
	memcpy(rest, &w, sizeof(w));
	memcpy(rest + sizeof(w), "0123456789", 10);
	in[2] = (struct iovec){ rest, sizeof(w) + 4 };
	in[3] = (struct iovec){ rest + sizeof(w) + 4, 6 };
	n = fsd_handle_iov(f->s, in, 4, &(struct iovec){ f->out, sizeof(f->out) }, 1);
	memcpy(&oh, f->out, sizeof(oh));
	assert_int_equal(oh.error, 0);
	assert_int_equal(n, sizeof(oh) + sizeof(struct fuse_write_out));
	assert_int_equal(((struct fuse_write_out *)reply(f))->size, 10);
	/* READ into a reply split 3 + 20 + 7: header across the first two. */
	h.opcode = FUSE_READ;
	h.len = sizeof(h) + sizeof(rin);
	rin.fh = w.fh;
	in[0] = (struct iovec){ &h, sizeof(h) };
	in[1] = (struct iovec){ &rin, sizeof(rin) };
	out[0] = (struct iovec){ a, sizeof(a) };
	out[1] = (struct iovec){ b, sizeof(b) };
	out[2] = (struct iovec){ c, sizeof(c) };
	n = fsd_handle_iov(f->s, in, 2, out, 3);
	assert_int_equal(n, sizeof(oh) + 10);
	memcpy(&oh, a, 3);
	memcpy((char *)&oh + 3, b, sizeof(oh) - 3);
	assert_int_equal(oh.error, 0);
	assert_int_equal(oh.len, sizeof(oh) + 10);
	assert_memory_equal(b + sizeof(oh) - 3, "0123456", 7);
	assert_memory_equal(c, "789", 3);
}

/* The confined server, in a child: it serves requests over a socket pair.
 * Returns the child's pid. */
static pid_t serve_confined_cfg(struct fx *f, int *sock, const struct fsd_config *config)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fsd_config cfg = *config;
		struct err err = { 0 };
		struct fsd *s;
		static uint8_t in[1 << 16], out[1 << 17];
		ssize_t n;
		size_t len;

		close(sv[0]);
		if (fsd_new(&cfg, &s, &err) < 0 || fsd_sandbox_enter(s, &cfg, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			_exit(3);
		}
		while ((n = read(sv[1], in, sizeof(in))) > 0) {
			fsd_handle(s, in, (size_t)n, out, sizeof(out), &len);
			if (write(sv[1], out, len ? len : 1) < 0)
				_exit(4);
		}
		_exit(0);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

static pid_t serve_confined(struct fx *f, int *sock, bool ro)
{
	struct fsd_config cfg = { .share = f->share, .read_only = ro };

	return serve_confined_cfg(f, sock, &cfg);
}

static int remote(struct fx *f, int sock, uint32_t op, uint64_t nodeid, const void *body,
		  size_t blen, const char *n1, const char *n2)
{
	struct fuse_in_header h = { .opcode = op, .unique = 1, .nodeid = nodeid, .uid = UID,
				    .gid = GID };
	size_t len = sizeof(h);
	struct fuse_out_header oh;
	ssize_t n;

	memcpy(f->in + len, body, blen);
	len += blen;
	if (n1) {
		memcpy(f->in + len, n1, strlen(n1) + 1);
		len += strlen(n1) + 1;
	}
	if (n2) {
		memcpy(f->in + len, n2, strlen(n2) + 1);
		len += strlen(n2) + 1;
	}
	h.len = (uint32_t)len;
	memcpy(f->in, &h, sizeof(h));
	assert_int_equal(write(sock, f->in, len), (ssize_t)len);
	n = read(sock, f->out, sizeof(f->out));
	if (n < (ssize_t)sizeof(oh))
		fail_msg("opcode %u: the confined server is gone (a system call off its filter?)", op);
	f->out_len = (size_t)n;
	memcpy(&oh, f->out, sizeof(oh));
	return oh.error;
}

static void test_sandbox_confines(void **state)
{
	struct fx *f = *state;
	struct fuse_init_in iin = { .major = 7, .minor = 38 };
	struct fuse_create_in cin = { .flags = O_RDWR, .mode = 0644 };
	struct fuse_read_in rin = { .size = 100 };
	struct fuse_open_in oin = { 0 };
	char path[256], secret[256];
	struct stat st;
	int sock, status;
	uint64_t id, fh;
	pid_t pid;

	/* A file outside the share, and links in the share pointing at it. */
	snprintf(secret, sizeof(secret), "%s/secret", f->outside);
	assert_int_equal(close(open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);
	snprintf(path, sizeof(path), "%s/abs", f->share);
	assert_int_equal(symlink(secret, path), 0);
	assert_int_equal(host_write(f, "inside", "confined"), 0);
	pid = serve_confined(f, &sock, false);
	assert_int_equal(remote(f, sock, FUSE_INIT, 0, &iin, sizeof(iin), NULL, NULL), 0);
	/* Reads and writes work inside (the inodes reopen without /proc). */
	assert_int_equal(remote(f, sock, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "inside", NULL), 0);
	id = ((struct fuse_entry_out *)reply(f))->nodeid;
	assert_int_equal(remote(f, sock, FUSE_OPEN, id, &oin, sizeof(oin), NULL, NULL), 0);
	fh = ((struct fuse_open_out *)reply(f))->fh;
	rin.fh = fh;
	assert_int_equal(remote(f, sock, FUSE_READ, id, &rin, sizeof(rin), NULL, NULL), 0);
	assert_memory_equal(reply(f), "confined", 8);
	assert_int_equal(remote(f, sock, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "made",
				NULL), 0);
	assert_int_equal(host_stat(f, "made", &st), 0);
	assert_int_equal(st.st_uid, UID);
	/* The absolute symlink names a path that does not exist in the
	 * server's world; creating through it fails and the secret is intact. */
	assert_int_equal(remote(f, sock, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin), "abs",
				NULL), -ELOOP);
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(sock);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Every op once inside the sandbox: a system call missing from the filter
 * would kill the server (the socket then reads end of file). */
static void test_sandbox_every_op(void **state)
{
	struct fx *f = *state;
	struct fuse_init_in iin = { .major = 7, .minor = 38, .flags = FUSE_DO_READDIRPLUS };
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_mknod_in mn = { .mode = S_IFIFO | 0644 };
	struct fuse_create_in cin = { .flags = O_RDWR, .mode = 0644 };
	struct fuse_setattr_in sa = { .valid = FATTR_MODE | FATTR_UID | FATTR_SIZE | FATTR_MTIME |
					       FATTR_ATIME_NOW, .mode = 0600, .uid = 7, .size = 2,
				      .mtime = 5 };
	struct fuse_open_in oin = { 0 };
	struct fuse_read_in rin = { .size = 4096 };
	struct fuse_getattr_in gin = { 0 };
	struct fuse_access_in ac = { .mask = R_OK };
	struct fuse_forget_in fin = { .nlookup = 1 };
	struct fuse_rename_in rn = { .newdir = FUSE_ROOT_ID };
	struct fuse_rename2_in rn2 = { .newdir = FUSE_ROOT_ID, .flags = RENAME_EXCHANGE };
	struct stat st;
	uint64_t d, file, fh, dh;
	int sock, status;
	pid_t pid;

	pid = serve_confined(f, &sock, false);
	assert_int_equal(remote(f, sock, FUSE_INIT, 0, &iin, sizeof(iin), NULL, NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), "d", NULL), 0);
	d = ((struct fuse_entry_out *)reply(f))->nodeid;
	assert_int_equal(remote(f, sock, FUSE_CREATE, d, &cin, sizeof(cin), "f", NULL), 0);
	file = ((struct fuse_entry_out *)reply(f))->nodeid;
	fh = ((struct fuse_open_out *)((struct fuse_entry_out *)reply(f) + 1))->fh;
	struct {
		struct fuse_write_in w;
		char data[4];
	} wr = { { .fh = fh, .size = 4 }, "data" };
	assert_int_equal(remote(f, sock, FUSE_WRITE, file, &wr, sizeof(wr), NULL, NULL), 0);
	struct fuse_fsync_in fs = { .fh = fh };
	assert_int_equal(remote(f, sock, FUSE_FSYNC, file, &fs, sizeof(fs), NULL, NULL), 0);
	struct fuse_fallocate_in fa = { .fh = fh, .length = 4096, .mode = FALLOC_FL_KEEP_SIZE };
	assert_int_equal(remote(f, sock, FUSE_FALLOCATE, file, &fa, sizeof(fa), NULL, NULL), 0);
	struct fuse_lseek_in ls = { .fh = fh, .whence = SEEK_HOLE };
	assert_int_equal(remote(f, sock, FUSE_LSEEK, file, &ls, sizeof(ls), NULL, NULL), 0);
	fs.fsync_flags = 1;
	assert_int_equal(remote(f, sock, FUSE_FSYNC, file, &fs, sizeof(fs), NULL, NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_SETATTR, file, &sa, sizeof(sa), NULL, NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_GETATTR, file, &gin, sizeof(gin), NULL, NULL), 0);
	assert_int_equal(host_stat(f, "d/f", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_size, 2);
	assert_int_equal(st.st_mtim.tv_sec, 5);
	assert_int_equal(remote(f, sock, FUSE_SYMLINK, d, NULL, 0, "s", "/etc"), 0);
	assert_int_equal(remote(f, sock, FUSE_READLINK, ((struct fuse_entry_out *)reply(f))->nodeid,
				NULL, 0, NULL, NULL), 0);
	struct fuse_link_in ln = { .oldnodeid = file };
	assert_int_equal(remote(f, sock, FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "l", NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_MKNOD, d, &mn, sizeof(mn), "p", NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_RENAME, d, &rn, sizeof(rn), "p", "p2"), 0);
	assert_int_equal(remote(f, sock, FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "p2", "l"), 0);
	assert_int_equal(host_stat(f, "l", &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(remote(f, sock, FUSE_OPENDIR, d, &oin, sizeof(oin), NULL, NULL), 0);
	dh = ((struct fuse_open_out *)reply(f))->fh;
	rin.fh = dh;
	assert_int_equal(remote(f, sock, FUSE_READDIRPLUS, d, &rin, sizeof(rin), NULL, NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_READDIR, d, &rin, sizeof(rin), NULL, NULL), 0);
	fs.fh = dh;
	assert_int_equal(remote(f, sock, FUSE_FSYNCDIR, d, &fs, sizeof(fs), NULL, NULL), 0);
	struct fuse_release_in rel = { .fh = dh };
	assert_int_equal(remote(f, sock, FUSE_RELEASEDIR, d, &rel, sizeof(rel), NULL, NULL), 0);
	rel.fh = fh;
	assert_int_equal(remote(f, sock, FUSE_RELEASE, file, &rel, sizeof(rel), NULL, NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0, NULL, NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_ACCESS, d, &ac, sizeof(ac), NULL, NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "l", NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_UNLINK, d, NULL, 0, "s", NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_UNLINK, d, NULL, 0, "f", NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "p2", NULL), 0);
	assert_int_equal(remote(f, sock, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0, "d", NULL), 0);
	/* FORGET has no reply: the server answers one byte (serve_confined). */
	struct fuse_in_header h = { .len = sizeof(h) + sizeof(fin), .opcode = FUSE_FORGET,
				    .nodeid = file };
	memcpy(f->in, &h, sizeof(h));
	memcpy(f->in + sizeof(h), &fin, sizeof(fin));
	assert_int_equal(write(sock, f->in, h.len), (ssize_t)h.len);
	assert_int_equal(read(sock, f->out, sizeof(f->out)), 1);
	assert_int_equal(remote(f, sock, FUSE_DESTROY, 0, NULL, 0, NULL, NULL), 0);
	assert_int_equal(host_stat(f, "d", &st), -1);
	close(sock);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* In the confined process itself: no host path outside the share, no device
 * nodes, and a system call off the list kills it. */
static void test_sandbox_world(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;

	assert_int_equal(host_write(f, "here", "x"), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fsd_config cfg = { .share = f->share };
		struct err err = { 0 };
		struct fsd *s;
		char secret[256];
		struct stat st;

		snprintf(secret, sizeof(secret), "%s/outside", f->top);
		/* The server keeps /proc/self/fd open, as this does: a process
		 * taken over could walk up from it to another's root. */
		int proc = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (proc < 0 || fsd_new(&cfg, &s, &err) < 0 || fsd_sandbox_enter(s, &cfg, &err) < 0)
			_exit(3);
		if (fstatat(proc, "../../1/root/etc/passwd", &st, 0) == 0 ||
		    fstatat(proc, "../../1/cwd", &st, 0) == 0)
			_exit(15);      /* the kernel's ptrace check refuses it */
		if (stat("/here", &st) < 0)
			_exit(10);      /* the share is the root */
		if (stat("/etc/passwd", &st) == 0 || stat(secret, &st) == 0 || stat("/proc/1", &st) == 0)
			_exit(11);      /* a host path outside it */
		if (stat("/..", &st) < 0 || stat("/../here", &st) < 0)
			_exit(12);      /* .. of the root is the root */
		if (mknodat(AT_FDCWD, "/dev0", S_IFCHR | 0600, makedev(1, 3)) == 0 || errno != EPERM)
			_exit(13);      /* no CAP_MKNOD */
		/* socket() is not on the filter's list: SIGSYS. */
		socket(AF_INET, SOCK_STREAM, 0);
		_exit(14);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status))
		fail_msg("the confined child exited with %d", WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* Started as PID 1 of its own PID namespace (as the VMM starts it), the
 * server's /proc shows no other process, so even a server taken over finds
 * no other root to walk into; inodes still reopen through it. */
static void test_sandbox_pid_namespace(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;

	assert_int_equal(host_write(f, "here", "pidns"), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t inner;

		if (unshare(CLONE_NEWPID) < 0)
			_exit(2);
		inner = fork();
		if (inner == 0) {
			struct fsd_config cfg = { .share = f->share };
			struct err err = { 0 };
			struct fsd *s;
			static char buf[8192];
			struct stat st;
			ssize_t n, off;
			int procs = 0, dfd;

			if (fsd_new(&cfg, &s, &err) < 0 || fsd_sandbox_enter(s, &cfg, &err) < 0)
				_exit(3);
			/* getdents64 itself: the server's filter has no fdopendir's F_SETFD. */
			dfd = openat(fsd_proc_fd(s), "../..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				_exit(10);
			while ((n = getdents64(dfd, buf, sizeof(buf))) > 0)
				for (off = 0; off < n; off += ((struct dirent64 *)(buf + off))->d_reclen) {
					const char *name = ((struct dirent64 *)(buf + off))->d_name;

					procs += name[0] >= '0' && name[0] <= '9';
				}
			if (procs != 1)
				_exit(11);      /* only the server itself */
			if (fstatat(fsd_proc_fd(s), "../../1/root/here", &st, 0) < 0)
				_exit(12);      /* PID 1 is the server: its root the share */
			_exit(0);
		}
		if (inner < 0 || waitpid(inner, &status, 0) != inner)
			_exit(4);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_sandbox_read_only(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;

	assert_int_equal(host_write(f, "ro", "x"), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fsd_config cfg = { .share = f->share, .read_only = true };
		struct err err = { 0 };
		struct fsd *s;
		int fd;

		if (fsd_new(&cfg, &s, &err) < 0 || fsd_sandbox_enter(s, &cfg, &err) < 0)
			_exit(3);
		/* Even a bug in the server could not write: the mount is ro. */
		fd = open("/ro", O_WRONLY | O_CLOEXEC);
		_exit(fd < 0 && errno == EROFS ? 0 : 10);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A single file shared alone (-v FILE:PATH): the guest sees a directory that
 * holds it as "file" and nothing else; nothing can be made beside it; writes
 * reach the host file, and a read-only share refuses them. */
static void test_single_file_share(void **state)
{
	struct fx *f = *state;
	struct fuse_init_in iin = { .major = 7, .minor = 38 };
	struct fuse_create_in cin = { .flags = O_RDWR, .mode = 0644 };
	struct fuse_open_in oin = { .flags = O_RDWR };
	struct fuse_read_in rin = { .size = 100 };
	struct {
		struct fuse_write_in w;
		char data[4];
	} win = { .w = { .size = 4 }, .data = "EDIT" };
	char one[160], buf[16] = "";
	struct fsd_config cfg = { .share = one, .file = true };
	int sock, status, fd;
	uint64_t id, fh;
	bool ro;
	pid_t pid;

	snprintf(one, sizeof(one), "%s/one", f->share);
	assert_int_equal(host_write(f, "one", "single"), 0);
	assert_int_equal(host_write(f, "sibling", "secret"), 0);
	for (ro = false; ; ro = true) {
		cfg.read_only = ro;
		pid = serve_confined_cfg(f, &sock, &cfg);
		assert_int_equal(remote(f, sock, FUSE_INIT, 0, &iin, sizeof(iin), NULL, NULL), 0);
		/* only the staged file: the others are negative entries */
		assert_int_equal(remote(f, sock, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "sibling",
					NULL), 0);
		assert_int_equal(((struct fuse_entry_out *)reply(f))->nodeid, 0);
		assert_int_equal(remote(f, sock, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "one", NULL),
				 0);
		assert_int_equal(((struct fuse_entry_out *)reply(f))->nodeid, 0);
		assert_int_equal(remote(f, sock, FUSE_CREATE, FUSE_ROOT_ID, &cin, sizeof(cin),
					"new", NULL), -EROFS);
		assert_int_equal(remote(f, sock, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0,
					FSD_STAGED_FILE, NULL), 0);
		id = ((struct fuse_entry_out *)reply(f))->nodeid;
		if (ro) {
			assert_int_equal(remote(f, sock, FUSE_OPEN, id, &oin, sizeof(oin), NULL,
						NULL), -EROFS);
		} else {
			assert_int_equal(remote(f, sock, FUSE_OPEN, id, &oin, sizeof(oin), NULL,
						NULL), 0);
			fh = ((struct fuse_open_out *)reply(f))->fh;
			rin.fh = win.w.fh = fh;
			assert_int_equal(remote(f, sock, FUSE_READ, id, &rin, sizeof(rin), NULL,
						NULL), 0);
			assert_memory_equal(reply(f), "single", 6);
			assert_int_equal(remote(f, sock, FUSE_WRITE, id, &win, sizeof(win), NULL,
						NULL), 0);
		}
		close(sock);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		if (ro)
			break;
	}
	/* The host file took the write; nothing new beside it. */
	fd = open(one, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
	close(fd);
	assert_string_equal(buf, "EDITle");
	assert_int_equal(access(f->share, F_OK), 0);
	snprintf(one, sizeof(one), "%s/new", f->share);
	assert_int_equal(access(one, F_OK), -1);
}

/* `rm -rf` lists a directory while it unlinks what it listed. On tmpfs
 * before Linux 6.6 a directory offset is a position, and positions shift
 * as entries go: a listing that seeks to the guest's offset each time skips
 * entries (rm then finds the directory not empty). The listing goes on
 * without a seek: every entry is seen once. */
static void test_listing_while_removing(void **state)
{
	struct fx *f = *state;
	struct fuse_open_in oin = { 0 };
	struct fuse_read_in rin = { .size = 512 };
	char dir[96], path[160], names[4096];
	bool seen[200] = { false };
	uint64_t fh;
	int i, n, total = 0, rounds = 0;

	/* A ramfs, whose offsets are positions (as tmpfs's were before 6.6),
	 * in a mount namespace of this test's own. */
	snprintf(f->share, sizeof(f->share), "%s/ramfs", f->top);
	assert_int_equal(mkdir(f->share, 0755), 0);
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	assert_int_equal(mount("ramfs", f->share, "ramfs", 0, NULL), 0);
	snprintf(dir, sizeof(dir), "%s", f->share);
	for (i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "%s/f%03d", dir, i);
		assert_int_equal(close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);
	}
	assert_int_equal(fx_open(f, false, 0, 0), 0);
	init(f);
	assert_int_equal(req(f, FUSE_OPENDIR, FUSE_ROOT_ID, &oin, sizeof(oin), NULL, NULL), 0);
	fh = ((struct fuse_open_out *)reply(f))->fh;
	rin.fh = fh;
	for (;;) {
		size_t off = 0;

		assert_int_equal(req(f, FUSE_READDIR, FUSE_ROOT_ID, &rin, sizeof(rin), NULL, NULL), 0);
		if (reply_len(f) == 0)
			break;
		n = dir_names(f, false, names, sizeof(names), NULL);
		assert_true(n > 0);
		while (off < reply_len(f)) {
			struct fuse_dirent *d = (void *)((uint8_t *)reply(f) + off);

			rin.offset = d->off;
			if (d->namelen == 4 && d->name[0] == 'f') {
				int k = atoi(d->name + 1);

				assert_false(seen[k]);
				seen[k] = true;
				total++;
				snprintf(path, sizeof(path), "%s/%.*s", dir, (int)d->namelen, d->name);
				assert_int_equal(unlink(path), 0);
			}
			off += FUSE_DIRENT_SIZE(d);
		}
		assert_true(++rounds < 1000);
	}
	assert_int_equal(total, 200);
	fsd_free(f->s);
	f->s = NULL;
	assert_int_equal(umount2(dir, MNT_DETACH), 0);
	snprintf(f->share, sizeof(f->share), "%s/share", f->top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_getattr_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_write_read_setattr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directories, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_mknod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_and_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iovec_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_confines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_every_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_world, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_pid_namespace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_file_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing_while_removing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
