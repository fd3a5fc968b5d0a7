/* libFuzzer: the bytes are a hostile virtio-fs guest. Each input starts a
 * fresh server (small tables) on a fresh share holding a file, a directory,
 * a fifo and symlinks to "..", "/" and a directory outside the share, sends
 * INIT, then the requests the input describes. Ids the server hands out are
 * remembered, so requests reach real nodes and handles, as well as forged
 * ones. After each input the outside directory must be untouched. The
 * requests and replies are split across iovecs as a virtqueue chain would
 * split them, so ASan sees any access past a buffer.
 *
 * Input: records until the bytes run out:
 *   op:u8 node:u8 flags:u8 aux:u8 blen:u16 [extras] body[blen]
 *   op      opcode = ops[op % N], or 0xff: a raw u32 opcode follows
 *   node    0: FUSE_ROOT_ID; 0xfe: 0; 0xff: a raw u64 follows;
 *           else the (node-1)th remembered nodeid
 *   flags   bit 0: body[0..8) = the (aux)th remembered file handle
 *           bit 1: a raw u32 header length follows (else the right one)
 *           bit 2: three u8 split points follow (request and reply iovecs)
 *           bit 3: a u16 reply capacity follows
 *           bit 4: body[0..8) = the (aux)th remembered nodeid (LINK, RENAME)
 *           bit 5: uid/gid = aux (else 0)
 * Multi-byte values are little-endian. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd/fsd.h"

#define MAX_IDS 32
#define OUT_MAX (1u << 17)

static const uint32_t ops[] = {
	FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR, FUSE_READLINK, FUSE_SYMLINK,
	FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME, FUSE_LINK, FUSE_OPEN,
	FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE, FUSE_FSYNC, FUSE_GETXATTR,
	FUSE_LISTXATTR, FUSE_FLUSH, FUSE_INIT, FUSE_OPENDIR, FUSE_READDIR, FUSE_RELEASEDIR,
	FUSE_FSYNCDIR, FUSE_ACCESS, FUSE_CREATE, FUSE_DESTROY, FUSE_BATCH_FORGET,
	FUSE_READDIRPLUS, FUSE_RENAME2, FUSE_FALLOCATE, FUSE_LSEEK,
};

static char top[64], share[96], outside[96];
static uint8_t req[70000], out[OUT_MAX + 64];
static uint64_t ids[MAX_IDS], fhs[MAX_IDS];
static unsigned n_ids, n_fhs;

static void remove_tree(int dir)
{
	DIR *d = fdopendir(dir);
	struct dirent *e;

	if (!d) {
		close(dir);
		return;
	}
	while ((e = readdir(d))) {
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			continue;
		sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			remove_tree(sub);
		unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static void make_share(void)
{
	char p[160];
	int fd;

	fd = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fchmod(fd, 0755);
		remove_tree(fd);
	}
	mkdir(share, 0755);
	snprintf(p, sizeof(p), "%s/f", share);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "hello, world\n", 13) != 13)
		abort();
	close(fd);
	snprintf(p, sizeof(p), "%s/d", share);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/d/g", share);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	snprintf(p, sizeof(p), "%s/p", share);
	mkfifo(p, 0644);
	snprintf(p, sizeof(p), "%s/up", share);
	symlink("..", p);
	snprintf(p, sizeof(p), "%s/root", share);
	symlink("/", p);
	snprintf(p, sizeof(p), "%s/out", share);
	symlink(outside, p);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The outside directory holds exactly its canary, unchanged, and nothing
 * appeared beside the share. */
static void check_outside(void)
{
	char p[160];
	struct stat st;
	int n = count_entries(outside);

	if (count_entries(top) != 4) {
		fprintf(stderr, "the server made an entry beside %s\n", share);
		abort();
	}
	snprintf(p, sizeof(p), "%s/canary", outside);
	if (n != 3 || lstat(p, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != 1 ||
	    (st.st_mode & 07777) != 0644 || st.st_uid != 0 || st.st_nlink != 1) {
		fprintf(stderr, "the server changed %s\n", outside);
		abort();
	}
}

/* libFuzzer ends a timed run with exit(): the temporary tree goes with it. */
static void remove_top(void)
{
	int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0)
		remove_tree(fd);
	rmdir(top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char p[160];
	int fd;

	snprintf(top, sizeof(top), "%s/fuzz_fuse.XXXXXX", base);
	if (!mkdtemp(top))
		abort();
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	mkdir(outside, 0755);
	snprintf(p, sizeof(p), "%s/canary", outside);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "c", 1) != 1)
		abort();
	close(fd);
	atexit(remove_top);
	return 0;
}

static void remember(uint32_t opcode, size_t n)
{
	struct fuse_out_header oh;
	const uint8_t *body = out + sizeof(oh);

	if (n < sizeof(oh))
		return;
	memcpy(&oh, out, sizeof(oh));
	if (oh.error)
		return;
	if ((opcode == FUSE_LOOKUP || opcode == FUSE_MKDIR || opcode == FUSE_MKNOD ||
	     opcode == FUSE_SYMLINK || opcode == FUSE_LINK || opcode == FUSE_CREATE) &&
	    n >= sizeof(oh) + sizeof(struct fuse_entry_out)) {
		struct fuse_entry_out e;

		memcpy(&e, body, sizeof(e));
		ids[n_ids++ % MAX_IDS] = e.nodeid;
	}
	if ((opcode == FUSE_OPEN || opcode == FUSE_OPENDIR || opcode == FUSE_CREATE)) {
		size_t at = opcode == FUSE_CREATE ? sizeof(struct fuse_entry_out) : 0;
		struct fuse_open_out o;

		if (n >= sizeof(oh) + at + sizeof(o)) {
			memcpy(&o, body + at, sizeof(o));
			fhs[n_fhs++ % MAX_IDS] = o.fh;
		}
	}
}

static size_t take(const uint8_t **data, size_t *size, void *dst, size_t n)
{
	memset(dst, 0, n);
	n = n < *size ? n : *size;
	memcpy(dst, *data, n);
	*data += n;
	*size -= n;
	return n;
}

/* Send req[0..len) split at the given points; the reply likewise. */
static size_t send_req(struct fsd *s, size_t len, const uint8_t split[3], size_t cap)
{
	struct iovec in[4], ov[2];
	size_t a = split[0] % (len + 1), b = a + split[1] % (len - a + 1);
	size_t c = b + split[2] * 64u % (len - b + 1), o = split[1] * 8u % (cap + 1);
	uint8_t *copy = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
	size_t n;

	memcpy(copy, req, len);
	in[0] = (struct iovec){ copy, a };
	in[1] = (struct iovec){ copy + a, b - a };
	in[2] = (struct iovec){ copy + b, c - b };
	in[3] = (struct iovec){ copy + c, len - c };
	ov[0] = (struct iovec){ out, o };
	ov[1] = (struct iovec){ out + o, cap - o };
	n = fsd_handle_iov(s, in, 4, ov, 2);
	free(copy);
	if (n > cap)
		abort();
	return n;
}

static void run(struct fsd *s, const uint8_t *data, size_t size)
{
	uint8_t rec[6], split[3] = { 0 };
	struct fuse_in_header h;
	struct fuse_init_in init = { .major = 7, .minor = 38, .flags = 0xffffffff };

	memset(&h, 0, sizeof(h));
	h.opcode = FUSE_INIT;
	h.len = sizeof(h) + sizeof(init);
	memcpy(req, &h, sizeof(h));
	memcpy(req + sizeof(h), &init, sizeof(init));
	send_req(s, h.len, split, OUT_MAX);
	while (size >= sizeof(rec)) {
		uint16_t blen, cap16 = 0;
		uint32_t raw_len = 0;
		size_t cap = OUT_MAX, n;

		take(&data, &size, rec, sizeof(rec));
		memset(&h, 0, sizeof(h));
		h.opcode = ops[rec[0] % (sizeof(ops) / sizeof(ops[0]))];
		if (rec[0] == 0xff)
			take(&data, &size, &h.opcode, 4);
		h.nodeid = rec[1] == 0 ? FUSE_ROOT_ID : rec[1] == 0xfe ? 0
			   : n_ids ? ids[(rec[1] - 1u) % (n_ids < MAX_IDS ? n_ids : MAX_IDS)]
				   : FUSE_ROOT_ID;
		if (rec[1] == 0xff)
			take(&data, &size, &h.nodeid, 8);
		if (rec[2] & 2)
			take(&data, &size, &raw_len, 4);
		if (rec[2] & 4)
			take(&data, &size, split, 3);
		if (rec[2] & 8) {
			take(&data, &size, &cap16, 2);
			cap = cap16;
		}
		if (rec[2] & 32)
			h.uid = h.gid = rec[3];
		blen = (uint16_t)(rec[4] | rec[5] << 8);
		blen = (uint16_t)take(&data, &size, req + sizeof(h), blen);
		if ((rec[2] & 1) && n_fhs && blen >= 8)
			memcpy(req + sizeof(h), &fhs[rec[3] % (n_fhs < MAX_IDS ? n_fhs : MAX_IDS)], 8);
		if ((rec[2] & 16) && n_ids && blen >= 8)
			memcpy(req + sizeof(h), &ids[rec[3] % (n_ids < MAX_IDS ? n_ids : MAX_IDS)], 8);
		/* Preallocation is real memory on tmpfs: at most 1 MiB a request. */
		if (h.opcode == FUSE_FALLOCATE && blen >= 24) {
			uint64_t len;

			memcpy(&len, req + sizeof(h) + 16, 8);
			len &= (1u << 20) - 1;
			memcpy(req + sizeof(h) + 16, &len, 8);
		}
		h.unique = 1;
		h.len = (rec[2] & 2) ? raw_len : (uint32_t)(sizeof(h) + blen);
		memcpy(req, &h, sizeof(h));
		n = send_req(s, sizeof(h) + blen, split, cap);
		remember(h.opcode, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fsd_config cfg = { .share = share, .max_nodes = 16, .max_handles = 8 };
	struct err err = { 0 };
	struct fsd *s;

	make_share();
	n_ids = n_fhs = 0;
	if (fsd_new(&cfg, &s, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	/* Some inputs on a read-only share. */
	if (size > 0 && data[0] == 0x52) {
		fsd_free(s);
		cfg.read_only = true;
		if (fsd_new(&cfg, &s, &err) < 0)
			abort();
	}
	run(s, data, size);
	fsd_free(s);
	check_outside();
	return 0;
}
