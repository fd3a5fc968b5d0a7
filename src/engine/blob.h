/* A blob that arrives in pieces (a download, an archive member), written to
 * ROOT/blobs/sha256/.partial-<hex> while it is hashed. It enters the store
 * under its name only when its bytes hash to the digest it was opened for;
 * nothing unverified is ever named by a digest. A partial file that a failed
 * attempt leaves behind lets the next attempt resume from its end (a Range
 * request); its bytes are hashed again before more are added. One writer per
 * blob at a time, across processes: ROOT/blobs/sha256/.lock-<hex> is held
 * from open to close. */
#ifndef ISOBOX_BLOB_H
#define ISOBOX_BLOB_H

#include <stdbool.h>
#include <stddef.h>

#include "digest.h"
#include "util/err.h"

struct blob_writer {
	char *root;
	char digest[DIGEST_STR_LEN];
	char *partial;               /* ROOT/blobs/sha256/.partial-<hex> */
	int fd;                      /* of partial */
	int lock_fd;
	struct digest dg;
	unsigned long long size;     /* bytes written so far, resumed ones included */
};

/* True when ROOT/blobs/sha256/<hex> exists (it was verified when it entered). */
bool blob_exists(const char *root, const char *digest);

/* Open a writer for digest. Returns 1 (no writer to close) when the blob is
 * already in the store, possibly after waiting for another process that was
 * writing it; 0 with *resume_at set to the bytes already there (0 for a new
 * blob); -1 on error. */
int blob_writer_open(struct blob_writer *w, const char *root, const char *digest,
		     unsigned long long *resume_at, struct err *err);
int blob_writer_write(struct blob_writer *w, const void *data, size_t len, struct err *err);
/* Start again from byte 0 (the server ignored the Range request). */
int blob_writer_restart(struct blob_writer *w, struct err *err);
/* Check the size (when expected_size >= 0) and the digest, fsync and move the
 * blob into the store. A mismatch removes the partial file and fails with
 * "blob sha256:... failed verification: ..." */
int blob_writer_commit(struct blob_writer *w, long long expected_size, struct err *err);
/* Release the writer; keep_partial keeps what was written for a resume. Safe
 * after commit and on a zeroed struct with fd = lock_fd = -1. */
void blob_writer_close(struct blob_writer *w, bool keep_partial);

#endif
