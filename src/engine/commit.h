/* docker commit: a container's changes (its overlay upper directory, in a
 * hyperv container the one on its writable ext4 disk) become a new layer on
 * top of its image's layers, named as a new image. */
#ifndef ISOBOX_COMMIT_H
#define ISOBOX_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/container.h"
#include "util/err.h"

struct commit_opts {
	const char *ref;                 /* "name[:tag]", or NULL: an untagged image */
	const char *author, *message;    /* -a, -m; may be NULL */
	const char *const *changes;      /* -c: docker's Dockerfile instructions */
	size_t n_changes;
	bool pause;                      /* -p (docker's default: true) */
};

/* id_out gets the new image's id, "sha256:<hex>". */
int container_commit(const char *root, struct container *c, const struct commit_opts *o,
		     char **id_out, struct err *err);

#endif
