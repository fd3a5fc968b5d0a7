/* The inode and open-file tables. A nodeid (and a file handle) is a slot
 * index plus one in the low 32 bits and the slot's generation in the high
 * ones, so a forged or stale number from the guest names no slot: it is
 * looked up, never dereferenced. Both tables are bounded. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsd/server.h"

#define ID_MAKE(idx, gen) (((uint64_t)(gen) << 32) | ((uint64_t)(idx) + 1))
#define ID_INDEX(id) ((uint32_t)(id) - 1)
#define ID_GEN(id) ((uint32_t)((id) >> 32))

static unsigned bucket_of(const struct fsd *s, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;

	return (unsigned)(h % s->max_nodes);
}

int fsd_table_init(struct fsd *s)
{
	unsigned i;

	s->nodes = calloc(s->max_nodes, sizeof(*s->nodes));
	s->buckets = calloc(s->max_nodes, sizeof(*s->buckets));
	s->free_nodes = calloc(s->max_nodes, sizeof(*s->free_nodes));
	s->files = calloc(s->max_files, sizeof(*s->files));
	if (!s->nodes || !s->buckets || !s->free_nodes || !s->files)
		return -1;
	for (i = 0; i < s->max_nodes; i++) {
		s->nodes[i].fd = -1;
		s->nodes[i].hash_next = -1;
		s->buckets[i] = -1;
	}
	for (i = 0; i < s->max_files; i++)
		s->files[i].fd = -1;
	/* Slot 0 is the root (FUSE_ROOT_ID, generation 0), never freed; the
	 * others are handed out lowest first. */
	s->n_free_nodes = 0;
	for (i = s->max_nodes; i-- > 1;)
		s->free_nodes[s->n_free_nodes++] = i;
	return 0;
}

static void node_unhash(struct fsd *s, uint32_t idx)
{
	struct fsd_node *n = &s->nodes[idx];
	int32_t *p = &s->buckets[bucket_of(s, n->dev, n->ino)];

	while (*p >= 0 && *p != (int32_t)idx)
		p = &s->nodes[*p].hash_next;
	if (*p == (int32_t)idx)
		*p = n->hash_next;
	n->hash_next = -1;
}

static void node_release(struct fsd *s, uint32_t idx)
{
	struct fsd_node *n = &s->nodes[idx];

	node_unhash(s, idx);
	close(n->fd);
	n->fd = -1;
	n->nlookup = 0;
	n->gen++;
	s->free_nodes[s->n_free_nodes++] = idx;
}

/* Drop everything the guest held (DESTROY, a new INIT): the root stays. */
void fsd_table_reset(struct fsd *s)
{
	unsigned i;

	for (i = 1; i < s->max_nodes; i++)
		if (s->nodes[i].fd >= 0)
			node_release(s, i);
	for (i = 0; i < s->max_files; i++)
		if (s->files[i].fd >= 0)
			fsd_file_close(s, ID_MAKE(i, s->files[i].gen));
}

void fsd_table_free(struct fsd *s)
{
	if (s->nodes && s->files)
		fsd_table_reset(s);
	free(s->nodes);
	free(s->buckets);
	free(s->free_nodes);
	free(s->files);
}

void fsd_node_set_root(struct fsd *s, int fd, const struct stat *st)
{
	unsigned b = bucket_of(s, st->st_dev, st->st_ino);

	s->nodes[0] = (struct fsd_node){ .fd = fd, .nlookup = 1, .dev = st->st_dev,
					 .ino = st->st_ino, .hash_next = s->buckets[b] };
	s->buckets[b] = 0;
}

struct fsd_node *fsd_node_get(struct fsd *s, uint64_t nodeid)
{
	uint32_t idx = ID_INDEX(nodeid);

	if (nodeid == 0 || idx >= s->max_nodes)
		return NULL;
	if (s->nodes[idx].fd < 0 || s->nodes[idx].gen != ID_GEN(nodeid))
		return NULL;
	return &s->nodes[idx];
}

uint64_t fsd_node_ref(struct fsd *s, int fd, const struct stat *st, int *e)
{
	unsigned b = bucket_of(s, st->st_dev, st->st_ino);
	int32_t i;
	struct fsd_node *n;

	for (i = s->buckets[b]; i >= 0; i = s->nodes[i].hash_next) {
		n = &s->nodes[i];
		if (n->dev == st->st_dev && n->ino == st->st_ino) {
			close(fd);
			n->nlookup++;
			return ID_MAKE(i, n->gen);
		}
	}
	if (s->n_free_nodes == 0) {
		close(fd);
		*e = -ENFILE;
		return 0;
	}
	i = (int32_t)s->free_nodes[--s->n_free_nodes];
	n = &s->nodes[i];
	n->fd = fd;
	n->nlookup = 1;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->hash_next = s->buckets[b];
	s->buckets[b] = i;
	return ID_MAKE(i, n->gen);
}

void fsd_node_forget(struct fsd *s, uint64_t nodeid, uint64_t count)
{
	struct fsd_node *n = fsd_node_get(s, nodeid);

	/* The root is the mount's: its count is the kernel's business. */
	if (!n || n == &s->nodes[0])
		return;
	n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
	if (n->nlookup == 0)
		node_release(s, ID_INDEX(nodeid));
}

struct fsd_file *fsd_file_get(struct fsd *s, uint64_t fh, bool dir)
{
	uint32_t idx = ID_INDEX(fh);
	struct fsd_file *f;

	if (fh == 0 || idx >= s->max_files)
		return NULL;
	f = &s->files[idx];
	if (f->fd < 0 || f->gen != ID_GEN(fh) || f->dir != dir)
		return NULL;
	return f;
}

uint64_t fsd_file_add(struct fsd *s, int fd, bool dir)
{
	unsigned i;

	for (i = 0; i < s->max_files; i++)
		if (s->files[i].fd < 0) {
			s->files[i].fd = fd;
			s->files[i].dir = dir;
			s->files_in_use++;
			return ID_MAKE(i, s->files[i].gen);
		}
	close(fd);
	return 0;
}

void fsd_file_close(struct fsd *s, uint64_t fh)
{
	uint32_t idx = ID_INDEX(fh);
	struct fsd_file *f;

	if (fh == 0 || idx >= s->max_files || s->files[idx].fd < 0 ||
	    s->files[idx].gen != ID_GEN(fh))
		return;
	f = &s->files[idx];
	close(f->fd);
	f->fd = -1;
	free(f->pend);
	f->pend = NULL;
	f->pend_len = 0;
	f->gen++;
	s->files_in_use--;
}

unsigned fsd_nodes_in_use(const struct fsd *s)
{
	return s->max_nodes - s->n_free_nodes;
}

unsigned fsd_handles_in_use(const struct fsd *s)
{
	return s->files_in_use;
}
