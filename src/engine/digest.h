/* sha256 digests ("sha256:<hex>") over libcrypto, and the content-addressed
 * blob store ROOT/blobs/sha256/<hex> they name. */
#ifndef ISOBOX_DIGEST_H
#define ISOBOX_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "util/err.h"

#define DIGEST_PREFIX "sha256:"
#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex digits + NUL */
#define DIGEST_STR_LEN (sizeof(DIGEST_PREFIX) + DIGEST_HEX_LEN)

struct digest {
	void *ctx;      /* struct sha256 */
};

int digest_init(struct digest *d, struct err *err);
void digest_update(struct digest *d, const void *data, size_t len);
/* Finish into out ("sha256:<hex>", DIGEST_STR_LEN bytes) and free the context. */
int digest_final(struct digest *d, char out[DIGEST_STR_LEN], struct err *err);
/* Free a context that will not be finished (safe after digest_final). */
void digest_free(struct digest *d);

/* Digest of a memory buffer. */
int digest_buffer(const void *data, size_t len, char out[DIGEST_STR_LEN], struct err *err);

/* True when s is exactly "sha256:" followed by 64 lowercase hex digits: only
 * such strings may become paths, as manifests are outside data. */
bool digest_valid(const char *s);
/* The hex part of a valid digest. */
const char *digest_hex(const char *digest);

/* ROOT/blobs/sha256/<hex>; caller frees. */
char *blob_path(const char *root, const char *digest);
/* Store data as a blob (atomically, once); digest_out gets "sha256:<hex>" (caller frees). */
int blob_put(const char *root, const void *data, size_t len, char **digest_out,
	     struct err *err);
/* Store j, compact, as a blob; size gets its length in bytes. */
int blob_put_json(const char *root, json_t *j, char **digest_out, size_t *size,
		  struct err *err);
/* Read a blob (at most max bytes) and check that its content matches its digest. */
int blob_get(const char *root, const char *digest, size_t max, char **data, size_t *len,
	     struct err *err);

#endif
