/* The image store's internals, shared by the files that implement image.h
 * (image.c, image_add.c, image_remove.c, image_history.c, image_store.c).
 * Private to them: nothing else includes this header; image.h is the door.
 *
 * The store is an OCI image layout under ROOT whose index.json names
 * manifests by "name:tag". Writers hold ROOT/layers.lock (shared while
 * importing, exclusive while deleting files) and then ROOT/images.lock
 * (exclusive while changing index.json), always in that order. */
#ifndef ISOBOX_IMAGE_STORE_H
#define ISOBOX_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "util/err.h"

#define MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define REF_ANNOTATION "org.opencontainers.image.ref.name"
#define SIZE_ANNOTATION "io.isobox.layer.size"
/* docker's RepoDigests entry ("name@sha256:<manifest digest>") of a pulled or
 * loaded image; one per descriptor, inspect gathers them. */
#define REPO_DIGEST_ANNOTATION "io.isobox.repo.digest"

/* One index.json descriptor with its manifest, and the config when loaded. */
struct store_entry {
	json_t *desc;          /* borrowed from the index */
	const char *ref;       /* "name:tag", or NULL for an untagged image */
	const char *manifest;  /* manifest digest */
	json_t *mf;            /* the manifest (owned) */
	const char *id;        /* config digest, borrowed from mf */
	json_t *config;        /* the image config (owned), see store_load_configs */
};

struct store {
	const char *root;
	json_t *index;
	struct store_entry *v;
	size_t n;
};

/* A blob that must be a JSON object (manifest, config). */
int blob_get_json(const char *root, const char *digest, json_t **out, struct err *err);

/* ROOT/index.json (an empty index when there is none yet). */
int index_load(const char *root, json_t **out, struct err *err);
int index_save(const char *root, json_t *index, struct err *err);

/* A descriptor's annotation key, its "name:tag", or NULL. */
const char *desc_annotation(json_t *desc, const char *key);
const char *desc_ref(json_t *desc);
/* Remove the "name:tag" annotation (and annotations, when that empties it). */
void desc_drop_ref(json_t *desc);

/* The index with every descriptor's manifest; store_free releases it. */
int store_load(const char *root, struct store *s, struct err *err);
void store_free(struct store *s);
/* Load the config of every entry (list and gc need them). */
int store_load_configs(struct store *s, struct err *err);
/* Find ref: name[:tag], name@sha256:<manifest digest>, full ID or unique ID
 * prefix. *by_name is true when a "name:tag" matched. A missing image fails
 * with errnum ENOENT and a message that says how to add one. */
int store_find(struct store *s, const char *ref, size_t *idx, bool *by_name,
	       struct err *err);
/* store_load, then store_find (by_name may be NULL); on failure nothing is
 * left to free. */
int store_load_find(const char *root, const char *ref, struct store *s, size_t *idx,
		    bool *by_name, struct err *err);
/* ref "name@sha256:<hex>" as a RepoDigests entry, its name normalized
 * (*want, malloc'ed); name_out (may be NULL) gets that name, malloc'ed. */
int repo_digest_parse(const char *ref, char **want, char **name_out, struct err *err);

/* Create ROOT's layout (blobs, layers, oci-layout) when it is missing. */
int store_init(const char *root, struct err *err);
/* Lock ROOT/name with flock op (LOCK_SH or LOCK_EX); returns the fd or -1. */
int store_lock(const char *root, const char *name, int op, struct err *err);

/* The config's "created", or "". */
const char *config_created(json_t *config);
bool json_array_has_string(json_t *a, const char *v);

#endif
