/* docker save and docker load: image archives in docker's format (manifest.json,
 * the legacy <id>/layer.tar layout and docker 25's blobs/sha256 one, which
 * includes an OCI image layout) and OCI archives (index.json and blobs). */
#ifndef ISOBOX_IMAGE_ARCHIVE_H
#define ISOBOX_IMAGE_ARCHIVE_H

#include <stddef.h>
#include <jansson.h>

#include "util/err.h"

/* Write the images refs name (name:tag, a bare name for all its tags, an ID)
 * to fd as docker 25's `docker save` does: manifest.json and repositories,
 * with oci-layout, index.json and blobs/sha256/<hex>. */
int image_save(const char *root, const char *const *refs, size_t n, int fd, struct err *err);

/* Read a docker or OCI archive (plain, gzip, xz, zstd or bzip2) from fd into
 * the store. Every blob is verified, every layer must hash to its diff id;
 * on any failure the store keeps nothing of it. loaded gets one string per
 * image name loaded ("name:tag"), or its ID ("sha256:...") when it has none,
 * and before a name that moved off another image {"Renamed": name, "Old": id}. */
int image_load(const char *root, int fd, json_t *loaded, struct err *err);

/* Bounds on what an archive may claim. */
#define ARCHIVE_JSON_MAX (4u << 20)
#define ARCHIVE_MEMBERS_MAX 100000
#define ARCHIVE_IMAGES_MAX 1024

#endif
