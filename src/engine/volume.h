/* Volumes (issue 15), docker's "local" driver:
 *
 *  - The store: ROOT/volumes/<name>/ holds _data (what containers mount,
 *    docker's Mountpoint) and volume.json (CreatedAt, Labels, Options, and
 *    Anonymous: made for one container by -v PATH, --mount without source or
 *    an image VOLUME; rm -v and run --rm remove those). Names are docker's
 *    ([a-zA-Z0-9][a-zA-Z0-9_.-]+, so a name is also a safe file name);
 *    anonymous ones are 64 hex. Changes happen under the flock of
 *    ROOT/volumes/.lock.
 *  - Who uses a volume: the containers (running or not) whose record's
 *    Mounts (docker's inspect shape) names it.
 *  - A block volume (-o type=block [-o size=SIZE], isobox's own option of
 *    the local driver): _data is an ext4 disk image of SIZE (1g by default,
 *    sparse), which a hyperv container gets as a virtio-blk disk of its own
 *    and one VM at a time (the VMM locks it); a process container cannot
 *    mount it (the host kernel would parse the ext4 a VM wrote). For the
 *    metadata speed of a volume one VM uses (docs/volumes.md).
 */
#ifndef ISOBOX_VOLUME_H
#define ISOBOX_VOLUME_H

#include <stdbool.h>
#include <jansson.h>

#include "util/err.h"
#include "util/strv.h"

struct volume_create_opts {
	const char *name;            /* NULL: an anonymous volume */
	const char *driver;          /* -d: only "local" (NULL = local) */
	struct strv labels;          /* --label k=v */
	struct strv options;         /* -o k=v (kept; of the local driver's type= and
				      * device=, only type=block, with size=) */
	bool anonymous;              /* made for one container */
};

/* docker's checks: "create NAME: ..." messages; 0 or -1. */
int volume_name_check(const char *name, struct err *err);
/* Creates the volume, or finds it when the name exists (as docker: no
 * error, its labels unchanged). *name_out the volume's name; *created whether
 * it is new (may be NULL). */
int volume_create(const char *root, const struct volume_create_opts *o, char **name_out,
		  bool *created, struct err *err);
/* Whether the volume is a block volume (type=block): its _data is a disk. */
bool volume_is_block(const char *root, const char *name);
/* docker's inspect object; "get NAME: no such volume" when missing. */
int volume_inspect(const char *root, const char *name, json_t **out, struct err *err);
/* Every volume's inspect object, by name. */
int volume_list(const char *root, json_t **out, struct err *err);
/* Refused while a container uses it ("remove NAME: volume is in use - [ID]");
 * force: a missing volume is no error. */
int volume_remove(const char *root, const char *name, bool force, struct err *err);
/* Every volume no container uses; *removed lists their names. */
int volume_prune(const char *root, struct strv *removed, struct err *err);
/* The anonymous volumes of a container's Mounts that no other container
 * uses (rm -v, run --rm); errors are ignored, as docker's. */
void volume_remove_anonymous(const char *root, json_t *mounts);
/* ROOT/volumes/NAME/_data (caller frees). */
char *volume_data_path(const char *root, const char *name);

#endif
