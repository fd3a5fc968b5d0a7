/* Layers: a tar stream read once, stored twice — as a normalized uncompressed
 * tar blob (whose sha256 is the diff id) and unpacked under ROOT/layers/<hex>/,
 * with OCI whiteouts turned into overlayfs ones. */
#ifndef ISOBOX_LAYER_H
#define ISOBOX_LAYER_H

#include <stdbool.h>

#include "digest.h"
#include "util/err.h"

#define LAYER_MEDIA_TYPE "application/vnd.oci.image.layer.v1.tar"

struct layer_info {
	char diff_id[DIGEST_STR_LEN];    /* "sha256:<hex>" of the uncompressed tar */
	unsigned long long tar_size;     /* bytes of the uncompressed tar blob */
	unsigned long long content_size; /* bytes of file content, as docker's Size */
};

/* Read the tar stream at file ("-" is stdin; plain or compressed) into the
 * layer blob and ROOT/layers/<hex>/. Refuses entries that would land outside
 * the layer; on any failure leaves nothing behind. */
int layer_unpack(const char *root, const char *file, struct layer_info *info,
		 struct err *err);
/* The same from an open fd, which is not closed. */
int layer_unpack_fd(const char *root, int fd, struct layer_info *info, struct err *err);
/* The same; allow_empty: a tar without entries is a layer too (a commit of a
 * container without changes, as docker's empty layer). */
int layer_unpack_fd_ex(const char *root, int fd, bool allow_empty, struct layer_info *info,
		       struct err *err);

/* Unpack a layer blob already in the store (a tar, plain, gzip or zstd, as
 * pulled or loaded) into ROOT/layers/<diff_id hex>/, keeping the blob as it
 * is. The uncompressed stream must hash to diff_id, else nothing is kept and
 * the error says so. A layer that is already unpacked is not unpacked again;
 * two processes unpacking one layer serialize on ROOT/layers/.lock-<hex>.
 * info->diff_id gets diff_id; content_size and tar_size are filled. */
int layer_unpack_blob(const char *root, const char *blob_digest, const char *diff_id,
		      struct layer_info *info, struct err *err);
/* True when ROOT/layers/<diff_id hex>/ exists (only complete layers get that name). */
bool layer_present(const char *root, const char *diff_id);

/* ROOT/layers/<hex>; caller frees. diff_id must be digest_valid(). */
char *layer_dir(const char *root, const char *diff_id);

/* Bytes of file content under dir (regular files and symlinks, each inode once). */
int layer_disk_usage(const char *dir, unsigned long long *bytes, struct err *err);

/* True when a tar entry name may be extracted: relative and without "..". */
bool layer_path_safe(const char *name);

#endif
