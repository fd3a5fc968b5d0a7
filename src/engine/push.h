/* Pushing an image from the store to a registry, as docker does (the OCI
 * distribution spec): each layer blob and then the config, skipped when the
 * registry has it (HEAD), else mounted from another repository of the same
 * registry that the store knows has it, else uploaded (one PUT for a small
 * blob, PATCHes of PUSH_CHUNK_SIZE then a PUT for a large one), streamed
 * from the store; the manifest last, its stored bytes as they are. */
#ifndef ISOBOX_PUSH_H
#define ISOBOX_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* Blobs up to this size go up in one PUT; larger ones in PATCHes of
 * PUSH_CHUNK_SIZE bytes. */
#define PUSH_MONOLITHIC_MAX (16ull << 20)
#define PUSH_CHUNK_SIZE (16ull << 20)
/* A blob whose transfer dropped or got a 5xx is tried again this many times. */
#define PUSH_RETRIES 3

enum push_layer_status {
	PUSH_PREPARING,       /* "Preparing" */
	PUSH_PUSHING,         /* "Pushing", current of total bytes */
	PUSH_PUSHED,          /* "Pushed" */
	PUSH_EXISTS,          /* "Layer already exists" */
	PUSH_MOUNTED,         /* "Mounted from FROM" */
	PUSH_RETRYING,        /* "Retrying in N seconds", N in current */
};

/* What the CLI prints; every callback may be NULL. */
struct push_progress {
	/* Once: the repository, "127.0.0.1:5000/busybox" ("The push refers to
	 * repository [...]"). */
	void (*repository)(void *ctx, const char *name);
	/* A layer, by the first 12 hex digits of its diff id, as docker names it. */
	void (*layer)(void *ctx, const char *id, enum push_layer_status status,
		      unsigned long long current, unsigned long long total, const char *from);
	/* A tag's manifest is up: "TAG: digest: sha256:... size: N". */
	void (*pushed)(void *ctx, const char *tag, const char *digest, size_t size);
	void *ctx;
};

struct host_config;
/* Push ref ("NAME[:TAG]"; without a tag "latest", or every tag of NAME in the
 * store with all_tags) to its registry. An image missing from the store fails
 * with docker's "An image does not exist locally with the tag: NAME". */
int image_push(const char *root, const struct host_config *hc, const char *ref,
	       bool all_tags, const struct push_progress *progress, struct err *err);

#endif
