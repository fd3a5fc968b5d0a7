/* The container's process as the guest agent reads it: the blob of
 * guest/agent_proto.h, built here and handed to the guest as a disk. */
#ifndef ISOBOX_GUEST_CONFIG_H
#define ISOBOX_GUEST_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct guest_process {
	const char *const *argv;    /* NULL-terminated, not empty */
	const char *const *env;     /* NULL-terminated, may be NULL */
	const char *cwd;            /* NULL: "/" */
	const char *hostname;       /* may be NULL */
	const char *user;           /* exec: "user[:group]" the guest looks up, or NULL */
	unsigned uid, gid;
	bool tty, readonly;
};

/* The blob in memory (free it). */
int guest_config_build(const struct guest_process *p, char **blob, size_t *len,
		       struct err *err);
/* A memfd holding the blob, padded to whole 512-byte sectors (it is a disk). */
int guest_config_memfd(const struct guest_process *p, struct err *err);

#endif
