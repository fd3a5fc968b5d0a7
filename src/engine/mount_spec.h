/* docker's -v/--volume and --mount flags, parsed (no side effects): what the
 * container asks to have mounted. container_mounts.c turns them into volumes,
 * bind mounts and the record's Mounts. */
#ifndef ISOBOX_MOUNT_SPEC_H
#define ISOBOX_MOUNT_SPEC_H

#include <stdbool.h>

#include "util/err.h"
#include "util/strv.h"

enum mount_type { MOUNT_BIND, MOUNT_VOLUME, MOUNT_TMPFS };

struct mount_spec {
	enum mount_type type;
	char *source;          /* bind: host path; volume: name, NULL = anonymous; tmpfs: NULL */
	char *target;          /* absolute, not "/" */
	bool readonly;
	bool nocopy;           /* no copy-up of the image's content into a new volume */
	bool from_mount;       /* --mount (HostConfig.Mounts), else -v (Binds / Config.Volumes) */
	char *mode;            /* -v's mode text ("ro", "rw,z", ""), docker's Mounts[].Mode */
	char *propagation;     /* bind only: "rprivate" unless asked */
	long long tmpfs_size;  /* bytes, 0 = the kernel's default */
	unsigned tmpfs_mode;   /* 0 = 1777 */
	struct strv volume_opts;   /* volume-opt=K=V */
};

/* -v SRC:DST[:MODE] | NAME:DST[:MODE] | DST; docker's messages. */
int mount_spec_parse_volume(const char *spec, struct mount_spec *m, struct err *err);
/* --mount type=bind|volume|tmpfs,source=,target=,readonly,volume-opt=,
 * volume-nocopy,tmpfs-size=,tmpfs-mode=,bind-propagation=. */
int mount_spec_parse_mount(const char *spec, struct mount_spec *m, struct err *err);
void mount_spec_free(struct mount_spec *m);

#endif
