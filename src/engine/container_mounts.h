/* A container's volumes and bind mounts at create (engine-private): run_opts'
 * -v, --mount, --volumes-from and the image's VOLUMEs, resolved into volumes
 * (created and filled from the image when new), host directories (created
 * for -v as docker does), the record's keys and the bundle's OCI mounts. */
#ifndef ISOBOX_CONTAINER_MOUNTS_H
#define ISOBOX_CONTAINER_MOUNTS_H

#include <stdbool.h>
#include <jansson.h>

#include "engine/container.h"
#include "engine/image.h"
#include "util/err.h"

struct mounts_plan {
	json_t *mounts;          /* docker's Mounts: Type, Name, Source, Destination, ... */
	json_t *oci;             /* config.json's mounts to append (rbind, tmpfs) */
	json_t *binds;           /* HostConfig.Binds (array or null) */
	json_t *hc_mounts;       /* HostConfig.Mounts (array or null) */
	json_t *volumes_from;    /* HostConfig.VolumesFrom (array or null) */
	json_t *cfg_volumes;     /* Config.Volumes ({PATH: {}} or null) */
};

/* Everything asked is checked before anything is made. The same in both
 * modes: a hyperv container's binds and volumes reach its guest over
 * virtio-fs (vmm/devices/virtio_fs.h); but a block volume (volume.h) is a
 * disk only a hyperv container mounts (config.json: type "ext4", its image
 * as the source). */
int container_mounts_resolve(const char *root, const struct run_opts *o,
			     const struct image *img, bool hyperv, struct mounts_plan *p,
			     struct err *err);
void mounts_plan_free(struct mounts_plan *p);

#endif
