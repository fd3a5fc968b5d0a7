/* isobox's virtio-fs file server: FUSE requests from a hostile guest, answered
 * on one shared host directory. Every name is one path component resolved
 * beneath the share, inodes are O_PATH fds in a bounded table addressed by
 * handle (never a host pointer), open files are bounded, a read-only share
 * refuses writes here on the host. The server runs in a process of its own
 * (fsd_sandbox_enter) forked by isobox-vmm; see docs/hyperv.md. */
#ifndef ISOBOX_FSD_H
#define ISOBOX_FSD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "util/err.h"

#define FSD_DEFAULT_NODES 65536
#define FSD_DEFAULT_HANDLES 4096
/* The largest WRITE (and READ) a guest may send: FUSE_MAX_PAGES of 4 KiB. */
#define FSD_MAX_WRITE (256u * 4096u)
#define FSD_STAGED_FILE "file"

struct fsd;

struct fsd_config {
	const char *share;      /* the shared host directory */
	bool read_only;         /* refuse every write op with EROFS */
	/* share is one regular file (docker's -v FILE:PATH): the guest sees a
	 * directory that holds it alone, as FSD_STAGED_FILE, and nothing can be
	 * made beside it (fsd_new stages it in a mount namespace of its own) */
	bool file;
	unsigned max_nodes;     /* inodes the guest may hold; 0: FSD_DEFAULT_NODES */
	unsigned max_handles;   /* open files and directories; 0: FSD_DEFAULT_HANDLES */
	/* The pages of data one READ or WRITE may carry (FUSE_INIT's max_pages),
	 * 1 to FSD_MAX_WRITE / 4096; 0: that maximum. A virtqueue transport
	 * caps it: each page is a descriptor of the request's chain. */
	unsigned max_pages;
};

/* Open the share (and /proc/self/fd, to reopen O_PATH inodes) for a server. */
int fsd_new(const struct fsd_config *cfg, struct fsd **out, struct err *err);
void fsd_free(struct fsd *s);

/* One request in, one reply out, as a virtqueue chain carries them: the
 * request is the device-readable buffers in order, the reply goes to the
 * device-writable ones. Returns the bytes written into out: 0 when the
 * request takes no reply (FORGET, BATCH_FORGET) or out cannot hold even a
 * reply header. Never fails otherwise: a bad request gets an error reply. */
size_t fsd_handle_iov(struct fsd *s, const struct iovec *in, unsigned in_n,
		      const struct iovec *out, unsigned out_n);
/* The same for flat buffers (tests, fuzzing). */
void fsd_handle(struct fsd *s, const void *in, size_t in_len, void *out, size_t out_cap,
		size_t *out_len);

/* Number of inodes and open handles the guest holds now (tests). */
unsigned fsd_nodes_in_use(const struct fsd *s);
unsigned fsd_handles_in_use(const struct fsd *s);

/* Confine the calling process (the server, after fsd_new) to the share: a new
 * mount namespace whose root is the share (pivot_root), read-only when the
 * share is, RLIMIT_NOFILE raised for the tables, every capability dropped but
 * CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER and CAP_FSETID, no_new_privs, and a
 * seccomp filter of the system calls the server makes (others kill it). When
 * the caller is PID 1 of a PID namespace of its own (the VMM clones it with
 * CLONE_NEWPID), the server's /proc becomes that namespace's: no other
 * process is reachable from it. */
int fsd_sandbox_enter(struct fsd *s, const struct fsd_config *cfg, struct err *err);
/* The fd the server reopens inodes through (tests). */
int fsd_proc_fd(const struct fsd *s);
#endif
