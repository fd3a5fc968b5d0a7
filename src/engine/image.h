/* The image store: an OCI image layout under ROOT (blobs/sha256/<hex>,
 * index.json naming manifests by "name:tag"), and the unpacked layers under
 * ROOT/layers/<diff-id hex>/, each unpacked once and shared by every container. */
#ifndef ISOBOX_IMAGE_H
#define ISOBOX_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "util/err.h"

struct image {
	char *ref;          /* normalized "name:tag", or NULL when looked up by id */
	char *id;           /* "sha256:<hex>" of the config blob */
	json_t *config;     /* the OCI image config (owned) */
	char **layer_dirs;  /* unpacked layer directories, bottom first, NULL-terminated */
	size_t n_layers;
};

/* "busybox" -> "busybox:latest", docker.io/library/busybox and
 * docker.io/acme/app -> busybox and acme/app (docker's familiar names);
 * refuses malformed references. Caller frees. */
int image_ref_normalize(const char *ref, char **out, struct err *err);

/* Find an image by name[:tag], full id, or unique id prefix (>= 4 hex digits).
 * A missing image fails with a message that says how to add one. */
int image_lookup(const char *root, const char *ref, struct image *img, struct err *err);
void image_free(struct image *img);

/* Import a rootfs tarball (plain, gzip, xz, bzip2 or zstd; path or "-" for stdin)
 * as a one-layer image named ref. changes: docker's --change instructions
 * ("CMD [\"sh\"]", "ENV A=b", "WORKDIR /x", "USER u", "ENTRYPOINT ...",
 * "LABEL k=v", "EXPOSE", "STOPSIGNAL SIGINT"), may be NULL. id_out gets "sha256:<hex>". */
int image_import(const char *root, const char *file, const char *ref,
		 const char *const *changes, size_t n_changes, char **id_out, struct err *err);

/* A JSON array with one object per name:tag:
 * {"Repository","Tag","Id","Created","Size"} (Size in bytes of the layers). */
int image_list(const char *root, json_t **out, struct err *err);

/* docker image inspect's object for an image. */
int image_inspect(const char *root, const char *ref, json_t **out, struct err *err);

/* Untag ref; when no tag is left, delete its blobs and unpacked layers
 * (those no other image uses). in_use is checked by the caller. */
int image_remove(const char *root, const char *ref, struct err *err);

/* ---- Additions beyond the first interface. ---- */

/* Split a normalized "name:tag" into its parts (both malloc'ed). */
void image_ref_split(const char *ref, char **name, char **tag);

/* Apply one docker --change instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
 * STOPSIGNAL, USER, VOLUME, WORKDIR) to an image config's "config" object, or
 * one of isobox's (OS, ARCH, OS.VERSION, OS.FEATURES) to the image config. */
int image_change_apply(json_t *image, const char *instr, struct err *err);
/* A new OCI image config (no layers yet) with changes applied, Env's default
 * PATH, and a history entry carrying message (may be NULL). */
int image_config_new(const char *const *changes, size_t n_changes, const char *message,
		     json_t **out, struct err *err);

struct image_import_opts {
	const char *file;                /* path, or "-" for stdin */
	const char *ref;                 /* "name[:tag]", or NULL for an untagged image */
	const char *const *changes;
	size_t n_changes;
	const char *message;             /* history comment, or NULL */
};
int image_import_ex(const char *root, const struct image_import_opts *opts, char **id_out,
		    struct err *err);

enum image_remove_flags {
	IMAGE_RM_FORCE = 1,      /* by ID: remove every tag of a multiply-tagged image */
	IMAGE_RM_KEEP_DATA = 2,  /* a container uses it: untag, keep it as <none> */
};
/* image_remove with flags; report (a JSON array, may be NULL) gets docker's
 * {"Untagged": "name:tag"} and {"Deleted": "sha256:..."} entries. */
int image_remove_ex(const char *root, const char *ref, unsigned flags, json_t *report,
		    struct err *err);
/* docker rmi of one ref: refused while a container uses the image (docker's
 * "conflict: ... must force" message), unless force, which then untags and
 * keeps the image as <none>. report as image_remove_ex's. */
int image_rmi(const char *root, const char *ref, bool force, json_t *report, struct err *err);
/* The image ID ("sha256:<hex>", malloc'ed) that ref names. */
int image_resolve_id(const char *root, const char *ref, char **id_out, struct err *err);

/* ---- Images from registries and archives (pull, load, commit). ---- */

/* Hold ROOT/layers.lock shared while blobs and layers are being added for an
 * image, until image_store_add names them: image removal and prune take it
 * exclusive, so they never delete what an unfinished pull will name. Returns
 * the lock's fd (close it to release) or -1. Creates the store if needed. */
int image_store_lock_shared(const char *root, struct err *err);

/* Name an image whose manifest, config and layer blobs are in the store and
 * whose layers are unpacked (layer_unpack_blob). manifest_digest names an
 * image manifest, OCI or docker schema2 (its mediaType is read from it).
 * ref: "name:tag" (normalized by image_ref_normalize; it moves from any image
 * that had it), or NULL for an untagged image. repo_digest: docker's
 * RepoDigests entry "name@sha256:<manifest digest>", or NULL. Fails, naming
 * what is missing, when a blob or layer the manifest needs is absent. */
int image_store_add(const char *root, const char *ref, const char *manifest_digest,
		    const char *repo_digest, struct err *err);

/* docker tag: target ("name[:tag]") names the image source names too. */
int image_tag(const char *root, const char *source, const char *target, struct err *err);

/* docker history's rows, newest first: {"Id" (the image's on the newest row,
 * else "<missing>"), "Created" (seconds), "CreatedBy", "Tags" (or null),
 * "Size" (bytes of the layer the step made, 0 for empty ones), "Comment"}. */
int image_history(const char *root, const char *ref, json_t **out, struct err *err);

/* For save: {"Id", "Manifest" (digest), "ManifestJSON", "MediaType", "Size",
 * "RepoTags" (ref's name:tag when ref is one, else [])}. */
int image_describe(const char *root, const char *ref, json_t **out, struct err *err);
/* Every "name:tag" of repository name (docker save NAME saves them all). */
int image_repo_tags(const char *root, const char *name, json_t **out, struct err *err);

/* docker image prune: remove untagged images (all: every image), except
 * those in_use says a container uses. report gets {"Untagged"}/{"Deleted"}
 * entries; reclaimed the bytes of the layers deleted. */
int image_prune(const char *root, bool all, bool (*in_use)(const char *id, void *ctx),
		void *ctx, json_t *report, unsigned long long *reclaimed, struct err *err);

#endif
