/* The request loop's one step: copy the request head out of the guest's
 * buffers, check it against the op's fixed sizes, the share's mode and the
 * reply room, run the op, write the reply. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsd/server.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
/* The oldest protocol the handlers' struct sizes fit (Linux 4.20+ guests). */
#define FSD_MIN_MINOR 28

struct fsd_op {
	uint32_t opcode;
	int (*fn)(struct fsd *s, struct fsd_req *r);
	uint32_t in_min;        /* fixed body bytes the request must carry */
	uint32_t out_min;       /* reply body bytes the out buffers must hold */
	bool writes;            /* refused with EROFS on a read-only share */
};

static int op_init(struct fsd *s, struct fsd_req *r);
static int op_destroy(struct fsd *s, struct fsd_req *r);
static int op_nosys(struct fsd *s, struct fsd_req *r)
{
	return -ENOSYS;
}

static const struct fsd_op ops[] = {
	{ FUSE_INIT, op_init, sizeof(struct fuse_init_in) - 48, sizeof(struct fuse_init_out), false },
	{ FUSE_DESTROY, op_destroy, 0, 0, false },
	{ FUSE_LOOKUP, fsd_op_lookup, 0, sizeof(struct fuse_entry_out), false },
	{ FUSE_FORGET, fsd_op_forget, sizeof(struct fuse_forget_in), 0, false },
	{ FUSE_BATCH_FORGET, fsd_op_batch_forget, sizeof(struct fuse_batch_forget_in), 0, false },
	{ FUSE_GETATTR, fsd_op_getattr, sizeof(struct fuse_getattr_in), sizeof(struct fuse_attr_out), false },
	{ FUSE_SETATTR, fsd_op_setattr, sizeof(struct fuse_setattr_in), sizeof(struct fuse_attr_out), true },
	{ FUSE_READLINK, fsd_op_readlink, 0, 0, false },
	{ FUSE_SYMLINK, fsd_op_symlink, 0, sizeof(struct fuse_entry_out), true },
	{ FUSE_MKNOD, fsd_op_mknod, sizeof(struct fuse_mknod_in), sizeof(struct fuse_entry_out), true },
	{ FUSE_MKDIR, fsd_op_mkdir, sizeof(struct fuse_mkdir_in), sizeof(struct fuse_entry_out), true },
	{ FUSE_UNLINK, fsd_op_unlink, 0, 0, true },
	{ FUSE_RMDIR, fsd_op_rmdir, 0, 0, true },
	{ FUSE_RENAME, fsd_op_rename, sizeof(struct fuse_rename_in), 0, true },
	{ FUSE_RENAME2, fsd_op_rename2, sizeof(struct fuse_rename2_in), 0, true },
	{ FUSE_LINK, fsd_op_link, sizeof(struct fuse_link_in), sizeof(struct fuse_entry_out), true },
	{ FUSE_OPEN, fsd_op_open, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out), false },
	{ FUSE_CREATE, fsd_op_create, sizeof(struct fuse_create_in),
	  sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out), true },
	{ FUSE_READ, fsd_op_read, sizeof(struct fuse_read_in), 0, false },
	{ FUSE_WRITE, fsd_op_write, sizeof(struct fuse_write_in), sizeof(struct fuse_write_out), true },
	{ FUSE_RELEASE, fsd_op_release, sizeof(struct fuse_release_in), 0, false },
	{ FUSE_FLUSH, fsd_op_flush, sizeof(struct fuse_flush_in), 0, false },
	{ FUSE_FSYNC, fsd_op_fsync, sizeof(struct fuse_fsync_in), 0, false },
	{ FUSE_OPENDIR, fsd_op_opendir, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out), false },
	{ FUSE_READDIR, fsd_op_readdir, sizeof(struct fuse_read_in), 0, false },
	{ FUSE_READDIRPLUS, fsd_op_readdirplus, sizeof(struct fuse_read_in), 0, false },
	{ FUSE_RELEASEDIR, fsd_op_release, sizeof(struct fuse_release_in), 0, false },
	{ FUSE_FSYNCDIR, fsd_op_fsync, sizeof(struct fuse_fsync_in), 0, false },
	{ FUSE_STATFS, fsd_op_statfs, 0, sizeof(struct fuse_statfs_out), false },
	{ FUSE_ACCESS, fsd_op_access, sizeof(struct fuse_access_in), 0, false },
	{ FUSE_FALLOCATE, fsd_op_fallocate, sizeof(struct fuse_fallocate_in), 0, true },
	{ FUSE_LSEEK, fsd_op_lseek, sizeof(struct fuse_lseek_in), sizeof(struct fuse_lseek_out), false },
	/* No extended attributes: ENOSYS makes the guest stop asking. */
	{ FUSE_GETXATTR, op_nosys, 0, 0, false },
	{ FUSE_LISTXATTR, op_nosys, 0, 0, false },
	{ FUSE_SETXATTR, op_nosys, 0, 0, true },
	{ FUSE_REMOVEXATTR, op_nosys, 0, 0, true },
};

int fsd_new(const struct fsd_config *cfg, struct fsd **out, struct err *err)
{
	struct fsd *s = calloc(1, sizeof(*s));

	if (!s)
		return err_sys(err, ENOMEM, "file server for %s", cfg->share);
	s->root_fd = s->proc_fd = -1;
	s->read_only = cfg->read_only;
	s->max_nodes = cfg->max_nodes ? cfg->max_nodes : FSD_DEFAULT_NODES;
	s->max_files = cfg->max_handles ? cfg->max_handles : FSD_DEFAULT_HANDLES;
	s->max_write = cfg->max_pages && cfg->max_pages < FSD_MAX_WRITE / 4096
			       ? cfg->max_pages * 4096u : FSD_MAX_WRITE;
	if (s->max_nodes < 2 || fsd_table_init(s) < 0) {
		fsd_free(s);
		return err_sys(err, ENOMEM, "file server for %s: inode table", cfg->share);
	}
	if (cfg->file && fsd_stage_file(s, cfg->share, cfg->read_only, err) < 0) {
		fsd_free(s);
		return -1;
	}
	s->root_fd = open(cfg->file ? s->staged : cfg->share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0) {
		int e = errno;

		fsd_free(s);
		return err_sys(err, e, "open shared directory %s", cfg->share);
	}
	/* The sandbox has no /proc: this fd, opened now, is how an O_PATH inode
	 * is reopened for I/O (as virtiofsd does). */
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0) {
		int e = errno;

		fsd_free(s);
		return err_sys(err, e, "file server for %s: open /proc/self/fd", cfg->share);
	}
	struct stat st;
	if (fstat(s->root_fd, &st) < 0) {
		int e = errno;

		fsd_free(s);
		return err_sys(err, e, "stat shared directory %s", cfg->share);
	}
	fsd_node_set_root(s, s->root_fd, &st);
	*out = s;
	return 0;
}

void fsd_free(struct fsd *s)
{
	if (!s)
		return;
	fsd_table_free(s);
	if (s->root_fd >= 0)
		close(s->root_fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	free(s);
}

static int op_init(struct fsd *s, struct fsd_req *r)
{
	const struct fuse_init_in *in = (const void *)r->body;
	struct fuse_init_out o;
	uint32_t want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_DO_READDIRPLUS |
			FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
			FUSE_BIG_WRITES;

	memset(&o, 0, sizeof(o));
	o.major = FUSE_KERNEL_VERSION;
	o.minor = FUSE_KERNEL_MINOR_VERSION;
	r->reply = s->stage;
	r->reply_len = sizeof(o);
	/* A newer major: answer ours alone, the guest retries with it. */
	if (in->major > FUSE_KERNEL_VERSION) {
		memcpy(s->stage, &o, sizeof(o));
		return 0;
	}
	if (in->major < FUSE_KERNEL_VERSION || in->minor < FSD_MIN_MINOR)
		return -EPROTO;
	fsd_table_reset(s);
	if (in->minor < o.minor)
		o.minor = in->minor;
	s->minor = o.minor;
	o.flags = in->flags & want;
	o.max_readahead = in->max_readahead;
	o.max_background = 16;
	o.congestion_threshold = 12;
	o.max_write = s->max_write;
	o.time_gran = 1;
	o.max_pages = (uint16_t)(s->max_write / 4096);
	s->initialized = true;
	memcpy(s->stage, &o, sizeof(o));
	return 0;
}

static int op_destroy(struct fsd *s, struct fsd_req *r)
{
	fsd_table_reset(s);
	s->initialized = false;
	return 0;
}

static const struct fsd_op *op_find(uint32_t opcode)
{
	size_t i;

	for (i = 0; i < N_OF(ops); i++)
		if (ops[i].opcode == opcode)
			return &ops[i];
	return NULL;
}

static int dispatch(struct fsd *s, struct fsd_req *r)
{
	const struct fsd_op *op = op_find(r->h->opcode);

	if (!op)
		return -ENOSYS;
	if (!s->initialized && op->opcode != FUSE_INIT)
		return -EIO;
	if (r->in_len - sizeof(*r->h) < op->in_min || r->body_len < op->in_min)
		return -EINVAL;
	if (r->room < op->out_min)
		return -EIO;
	if (op->writes && s->read_only)
		return -EROFS;
	return op->fn(s, r);
}

size_t fsd_handle_iov(struct fsd *s, const struct iovec *in, unsigned in_n,
		      const struct iovec *out, unsigned out_n)
{
	struct fuse_out_header oh = { 0 };
	struct fsd_req r = { .in = in, .in_n = in_n, .out = out, .out_n = out_n };
	size_t total = fsd_iov_total(in, in_n), out_total = fsd_iov_total(out, out_n), head;
	int e;

	if (out_total < sizeof(oh))
		return 0;
	head = fsd_iov_read(in, in_n, 0, s->head, total < FSD_HEAD_MAX ? total : FSD_HEAD_MAX);
	r.h = (const struct fuse_in_header *)s->head;
	r.room = out_total - sizeof(oh);
	if (head < sizeof(*r.h)) {
		e = -EINVAL;
	} else {
		oh.unique = r.h->unique;
		r.in_len = r.h->len;
		/* The header's length is the guest's word: it must fit the buffers. */
		if (r.in_len < sizeof(*r.h) || r.in_len > total) {
			e = -EINVAL;
		} else {
			r.body = s->head + sizeof(*r.h);
			r.body_len = (r.in_len < head ? r.in_len : head) - sizeof(*r.h);
			e = dispatch(s, &r);
		}
	}
	if (r.no_reply)
		return 0;
	oh.error = e;
	if (e == 0 && !r.direct && r.reply_len > 0)
		fsd_iov_write(out, out_n, sizeof(oh), r.reply, r.reply_len);
	oh.len = sizeof(oh) + (e == 0 ? r.reply_len : 0);
	fsd_iov_write(out, out_n, 0, &oh, sizeof(oh));
	return oh.len;
}

void fsd_handle(struct fsd *s, const void *in, size_t in_len, void *out, size_t out_cap,
		size_t *out_len)
{
	struct iovec iv = { (void *)in, in_len }, ov = { out, out_cap };

	*out_len = fsd_handle_iov(s, &iv, 1, &ov, 1);
}
