/* Pull an image from a registry into the store: the manifest (an index
 * resolved to one platform), the config and the layers, every blob verified
 * as it streams into a blob writer, layers downloaded concurrently (at most
 * max_concurrent_downloads), retried with backoff and resumed with Range
 * requests; then unpacked and named. A failed or killed pull names no image
 * and leaves no unverified blob (partial downloads stay, for a resume). */
#ifndef ISOBOX_PULL_H
#define ISOBOX_PULL_H

#include <stdbool.h>

#include "util/err.h"

struct host_config;

/* Progress as docker's message stream has it: id is a layer's short id
 * (12 hex digits) or, for a line of its own, NULL or a tag; status is
 * docker's words ("Pulling fs layer", "Waiting", "Downloading", "Verifying
 * Checksum", "Download complete", "Extracting", "Pull complete", "Already
 * exists", "Pulling from NAME"); current/total for Downloading and
 * Extracting (total -1 when unknown). */
typedef void (*pull_progress_fn)(void *ctx, const char *id, const char *status,
				 unsigned long long current, long long total);

struct pull_opts {
	const char *platform;            /* "os/arch[/variant]", or NULL: linux/amd64 */
	const struct host_config *hc;    /* insecure_registries, max_concurrent_downloads */
	pull_progress_fn progress;       /* or NULL */
	void *ctx;
};

struct pull_result {
	char *name;          /* familiar name: "busybox", "127.0.0.1:5000/x" */
	char *ref;           /* what was asked, familiar: "busybox:latest", "x@sha256:..." */
	char *full;          /* docker's last line: "docker.io/library/busybox:latest" */
	char *digest;        /* the digest of what the tag names (an index or a manifest) */
	bool updated;        /* false: the image was up to date */
};

int pull_image(const char *root, const char *ref, const struct pull_opts *o,
	       struct pull_result *res, struct err *err);
void pull_result_free(struct pull_result *res);

/* The tags of a repository (-a), sorted as the registry lists them. */
int pull_list_tags(const char *ref, const struct host_config *hc, char ***tags,
		   size_t *n_tags, struct err *err);

#endif
