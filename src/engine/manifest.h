/* Image manifests, indexes and configs as registries and archives hand them
 * over: OCI image manifests and indexes, docker schema2 manifests and
 * manifest lists. All of it is outside data: every parser here checks types,
 * digests, sizes and counts, and is fuzzed (tests/fuzz/fuzz_manifest.c). */
#ifndef ISOBOX_MANIFEST_H
#define ISOBOX_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "digest.h"
#include "util/err.h"

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIA_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MEDIA_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Bounds on what outside data may claim. */
#define MANIFEST_MAX_BYTES (4u << 20)
#define MANIFEST_MAX_LAYERS 1024
#define MANIFEST_MAX_ENTRIES 1024

struct platform {
	char *os;            /* "linux" */
	char *arch;          /* "amd64" */
	char *variant;       /* "v2", or NULL */
	char *os_version;    /* or NULL */
	char **os_features;  /* NULL-terminated, or NULL */
};

struct descriptor {
	char *media_type;
	char digest[DIGEST_STR_LEN];
	long long size;              /* >= 0 */
	struct platform platform;    /* index entries; all NULL elsewhere */
	bool has_platform;
};

enum manifest_kind {
	MANIFEST_IMAGE,              /* OCI image manifest or docker schema2 manifest */
	MANIFEST_INDEX,              /* OCI index or docker manifest list */
};

struct manifest {
	enum manifest_kind kind;
	char *media_type;            /* as the document (or, without one, the transport) says */
	struct descriptor config;    /* MANIFEST_IMAGE */
	struct descriptor *layers;   /* MANIFEST_IMAGE, bottom first */
	size_t n_layers;
	struct descriptor *manifests;/* MANIFEST_INDEX */
	size_t n_manifests;
};

/* Parse and check a manifest or index. content_type: the HTTP Content-Type or
 * the descriptor's mediaType that led here, or NULL; used when the document
 * has no mediaType. Refuses: not JSON, schemaVersion other than 2, schema1,
 * unknown media types, invalid digests, negative sizes, more than the bounds
 * above, a layer whose media type is not a tar (plain, gzip or zstd; foreign
 * layers included, as docker pulls them). */
int manifest_parse(const char *data, size_t len, const char *content_type,
		   struct manifest *m, struct err *err);
void manifest_free(struct manifest *m);

/* "os/arch[/variant]" -> platform; NULL or "" is the host's (linux/amd64). */
int platform_parse(const char *s, struct platform *p, struct err *err);
void platform_free(struct platform *p);

/* Index entry for want: os and arch must match; a variant in want must
 * match, else entries without a variant (or v1) come first; among several,
 * the highest os.version that host_kernel ("6.1.0", or NULL) satisfies.
 * Fails with docker's "no matching manifest for linux/amd64 in the manifest
 * list entries" when none does. */
int manifest_select(const struct manifest *index, const struct platform *want,
		    const char *host_kernel, size_t *idx, struct err *err);

/* Check an image config against its manifest: a JSON object whose
 * rootfs.type is "layers" and whose rootfs.diff_ids are n_layers valid
 * digests. *out gets the parsed config (owned). */
int image_config_parse(const char *data, size_t len, size_t n_layers, json_t **out,
		       struct err *err);

#endif
