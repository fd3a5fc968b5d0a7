/* The server's private state, shared by its files (fsd/ only). */
#ifndef ISOBOX_FSD_SERVER_H
#define ISOBOX_FSD_SERVER_H

#include <linux/fuse.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "fsd/fsd.h"

/* The request head (header, fixed body, names) is copied out of guest memory
 * once: the largest is SYMLINK's two names. WRITE's data stays in the iovec. */
#define FSD_HEAD_MAX 8192
/* READDIR's reply is staged here; READ goes straight to the guest. */
#define FSD_STAGE_MAX (128u * 1024u)

struct fsd_node {
	int fd;                 /* O_PATH|O_NOFOLLOW, -1 when the slot is free */
	uint32_t gen;           /* bumped at each reuse: stale nodeids miss */
	uint64_t nlookup;       /* the guest's references (LOOKUP minus FORGET) */
	dev_t dev;
	ino_t ino;
	int32_t hash_next;      /* next node in the (dev, ino) bucket, or -1 */
};

struct fsd_file {
	int fd;                 /* an open file or directory, -1 when free */
	uint32_t gen;
	bool dir;
	/* A directory's entries that getdents gave and the last reply had no
	 * room for (malloc'd, pend_len bytes of dirent64), and the offset the
	 * guest continues from with them: a listing goes on from there without
	 * a seek, since a directory's offsets need not survive its entries'
	 * removal (tmpfs before Linux 6.6 counts positions: `rm -rf` skipped
	 * entries). */
	uint8_t *pend;
	uint32_t pend_len;
	uint64_t pend_off;
};

struct fsd {
	int root_fd;            /* O_PATH of the share */
	int proc_fd;            /* /proc/self/fd: reopens an O_PATH inode by number */
	bool read_only;
	/* A single file's share (fsd_config.file): the sealed directory that
	 * holds it, made in a mount namespace of the server's own already. */
	char staged[PATH_MAX];
	bool own_mount_ns;
	bool initialized;       /* INIT answered, DESTROY not yet */
	uint32_t minor;         /* the FUSE minor version agreed on */
	unsigned max_nodes, max_files;
	uint32_t max_write;     /* bytes of one READ or WRITE: max_pages of 4 KiB */
	struct fsd_node *nodes;
	int32_t *buckets;       /* max_nodes heads of (dev, ino) chains */
	uint32_t *free_nodes;   /* stack of free slots */
	unsigned n_free_nodes;
	struct fsd_file *files;
	unsigned files_in_use;
	_Alignas(8) uint8_t head[FSD_HEAD_MAX];
	_Alignas(8) uint8_t stage[FSD_STAGE_MAX];
	_Alignas(8) uint8_t dents[32768];   /* getdents64 for READDIR */
};

/* fsd_config.file: in a new mount namespace, the file's directory becomes a
 * sealed tmpfs holding the file alone, bind-mounted as FSD_STAGED_FILE
 * (read-only when read_only); s->staged gets that directory. */
int fsd_stage_file(struct fsd *s, const char *path, bool read_only, struct err *err);

/* One request as the handlers see it. */
struct fsd_req {
	const struct fuse_in_header *h;
	const uint8_t *body;    /* the op's bytes after the header (in head) */
	size_t body_len;        /* of which this many are in head */
	size_t in_len;          /* the whole request, as h->len says and the iovec holds */
	const struct iovec *in;
	unsigned in_n;
	const struct iovec *out;
	unsigned out_n;
	size_t room;            /* bytes of reply body the out iovec holds */
	const void *reply;      /* the reply body, or NULL */
	size_t reply_len;
	bool direct;            /* the body was written into out already (READ) */
	bool no_reply;          /* FORGET */
};

/* table.c: inodes and open files. */
int fsd_table_init(struct fsd *s);
void fsd_table_free(struct fsd *s);
void fsd_table_reset(struct fsd *s);
/* Slot 0, FUSE_ROOT_ID: the share's root, never forgotten. */
void fsd_node_set_root(struct fsd *s, int fd, const struct stat *st);
/* The node a nodeid names, or NULL (forged, stale, free). */
struct fsd_node *fsd_node_get(struct fsd *s, uint64_t nodeid);
/* Take fd (an O_PATH of the inode st describes): the existing node of that
 * inode gains a reference (fd is closed), or a new one is made. Returns the
 * nodeid, or 0 and -errno in *e when the table is full. */
uint64_t fsd_node_ref(struct fsd *s, int fd, const struct stat *st, int *e);
void fsd_node_forget(struct fsd *s, uint64_t nodeid, uint64_t n);
struct fsd_file *fsd_file_get(struct fsd *s, uint64_t fh, bool dir);
/* Take fd as a new open file; 0 (fd closed) when the table is full. */
uint64_t fsd_file_add(struct fsd *s, int fd, bool dir);
void fsd_file_close(struct fsd *s, uint64_t fh);

/* iov.c: byte streams over iovecs. */
size_t fsd_iov_total(const struct iovec *iov, unsigned n);
size_t fsd_iov_read(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len);
size_t fsd_iov_write(const struct iovec *iov, unsigned n, size_t off, const void *src,
		     size_t len);
/* The bytes [off, off+len) of the stream as at most max entries. */
unsigned fsd_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		       struct iovec *dst, unsigned max);

/* ops_*.c: each returns 0 or -errno; a reply body goes in req->reply. */
int fsd_op_lookup(struct fsd *s, struct fsd_req *r);
int fsd_op_forget(struct fsd *s, struct fsd_req *r);
int fsd_op_batch_forget(struct fsd *s, struct fsd_req *r);
int fsd_op_getattr(struct fsd *s, struct fsd_req *r);
int fsd_op_setattr(struct fsd *s, struct fsd_req *r);
int fsd_op_readlink(struct fsd *s, struct fsd_req *r);
int fsd_op_symlink(struct fsd *s, struct fsd_req *r);
int fsd_op_mknod(struct fsd *s, struct fsd_req *r);
int fsd_op_mkdir(struct fsd *s, struct fsd_req *r);
int fsd_op_unlink(struct fsd *s, struct fsd_req *r);
int fsd_op_rmdir(struct fsd *s, struct fsd_req *r);
int fsd_op_rename(struct fsd *s, struct fsd_req *r);
int fsd_op_rename2(struct fsd *s, struct fsd_req *r);
int fsd_op_link(struct fsd *s, struct fsd_req *r);
int fsd_op_statfs(struct fsd *s, struct fsd_req *r);
int fsd_op_access(struct fsd *s, struct fsd_req *r);
int fsd_op_open(struct fsd *s, struct fsd_req *r);
int fsd_op_create(struct fsd *s, struct fsd_req *r);
int fsd_op_read(struct fsd *s, struct fsd_req *r);
int fsd_op_write(struct fsd *s, struct fsd_req *r);
int fsd_op_release(struct fsd *s, struct fsd_req *r);
int fsd_op_opendir(struct fsd *s, struct fsd_req *r);
int fsd_op_readdir(struct fsd *s, struct fsd_req *r);
int fsd_op_readdirplus(struct fsd *s, struct fsd_req *r);
int fsd_op_releasedir(struct fsd *s, struct fsd_req *r);
int fsd_op_fsync(struct fsd *s, struct fsd_req *r);
int fsd_op_flush(struct fsd *s, struct fsd_req *r);
int fsd_op_fallocate(struct fsd *s, struct fsd_req *r);
int fsd_op_lseek(struct fsd *s, struct fsd_req *r);

/* ops_entry.c helpers the data ops share. */
/* The request's name at body offset off: one component, NUL-terminated
 * within the request, not "." or "..", at most NAME_MAX. NULL and *e set. */
const char *fsd_req_name(const struct fsd_req *r, size_t off, size_t *next, int *e);
/* Look name up beneath dir and fill out as LOOKUP answers it. */
int fsd_lookup_entry(struct fsd *s, int dir_fd, const char *name, struct fuse_entry_out *out);
void fsd_fill_attr(const struct stat *st, struct fuse_attr *a);
/* Reopen an O_PATH node fd as a real open file (flags sanitized by caller). */
int fsd_reopen(struct fsd *s, int fd, int flags);
/* Give the entry name in dir to the request's caller. */
int fsd_set_owner(const struct fsd_req *r, int dir_fd, const char *name);
#endif
