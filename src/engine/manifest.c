/* Manifests, indexes and image configs from registries and archives: outside
 * data, checked field by field before anything else reads it. */
#include "engine/manifest.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/kernel_info.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MEDIA_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MEDIA_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
/* Bigger than a manifest: a config carries the image's history. */
#define IMAGE_CONFIG_MAX_BYTES (16u << 20)

static const char *const layer_types[] = {
	MEDIA_OCI_LAYER,
	MEDIA_OCI_LAYER_GZIP,
	MEDIA_OCI_LAYER_ZSTD,
	MEDIA_DOCKER_LAYER,
	/* Foreign and non-distributable layers: docker pulls them like any other. */
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	NULL,
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static bool is_index_type(const char *t)
{
	return !strcmp(t, MEDIA_OCI_INDEX) || !strcmp(t, MEDIA_DOCKER_LIST);
}

static bool is_manifest_type(const char *t)
{
	return !strcmp(t, MEDIA_OCI_MANIFEST) || !strcmp(t, MEDIA_DOCKER_MANIFEST);
}

static void descriptor_free(struct descriptor *d)
{
	free(d->media_type);
	platform_free(&d->platform);
	memset(d, 0, sizeof(*d));
}

void platform_free(struct platform *p)
{
	free(p->os);
	free(p->arch);
	free(p->variant);
	free(p->os_version);
	if (p->os_features)
		for (char **f = p->os_features; *f; f++)
			free(*f);
	free(p->os_features);
	memset(p, 0, sizeof(*p));
}

void manifest_free(struct manifest *m)
{
	free(m->media_type);
	descriptor_free(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_free(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		descriptor_free(&m->manifests[i]);
	free(m->manifests);
	memset(m, 0, sizeof(*m));
}

/* A string member, or NULL when absent; -1 when present and not a string. */
static int opt_string(json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static int platform_read(json_t *j, struct platform *p, const char *what, struct err *err)
{
	const char *os, *arch, *variant, *version;
	json_t *features = json_object_get(j, "os.features");
	size_t i;
	json_t *f;

	if (!json_is_object(j))
		return err_set(err, "%s: platform is not an object", what);
	if (opt_string(j, "os", &os) < 0 || opt_string(j, "architecture", &arch) < 0 ||
	    opt_string(j, "variant", &variant) < 0 || opt_string(j, "os.version", &version) < 0)
		return err_set(err, "%s: a platform field is not a string", what);
	if (!os || !arch)
		return err_set(err, "%s: platform without os or architecture", what);
	if (features && !json_is_null(features)) {
		if (!json_is_array(features) || json_array_size(features) > MANIFEST_MAX_ENTRIES)
			return err_set(err, "%s: os.features is not an array of strings", what);
		p->os_features = calloc(json_array_size(features) + 1, sizeof(char *));
		if (!p->os_features)
			return err_sys(err, ENOMEM, "%s", what);
		json_array_foreach(features, i, f) {
			if (!json_is_string(f))
				return err_set(err, "%s: os.features is not an array of strings", what);
			p->os_features[i] = xstrdup(json_string_value(f));
		}
	}
	p->os = xstrdup(os);
	p->arch = xstrdup(arch);
	p->variant = variant ? xstrdup(variant) : NULL;
	p->os_version = version ? xstrdup(version) : NULL;
	return 0;
}

static int descriptor_read(json_t *j, struct descriptor *d, const char *what, struct err *err)
{
	const char *type, *digest;
	json_t *size = json_object_get(j, "size");

	if (!json_is_object(j))
		return err_set(err, "%s is not an object", what);
	if (opt_string(j, "mediaType", &type) < 0 || !type)
		return err_set(err, "%s has no mediaType", what);
	if (opt_string(j, "digest", &digest) < 0 || !digest || !digest_valid(digest))
		return err_set(err, "%s: invalid digest %.80s: only sha256:<64 hex digits> is "
			       "accepted", what, digest ? digest : "(none)");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return err_set(err, "%s: size is not a non-negative integer", what);
	d->media_type = xstrdup(type);
	snprintf(d->digest, sizeof(d->digest), "%s", digest);
	d->size = json_integer_value(size);
	if (json_object_get(j, "platform")) {
		d->has_platform = true;
		return platform_read(json_object_get(j, "platform"), &d->platform, what, err);
	}
	return 0;
}

static int image_read(json_t *root, struct manifest *m, struct err *err)
{
	json_t *layers = json_object_get(root, "layers");
	char what[64];
	size_t i;
	json_t *l;

	if (json_object_get(root, "manifests"))
		return err_set(err, "image manifest with a manifests list: refused");
	if (descriptor_read(json_object_get(root, "config"), &m->config, "manifest config",
			    err) < 0)
		return -1;
	if (strcmp(m->config.media_type, MEDIA_OCI_CONFIG) &&
	    strcmp(m->config.media_type, MEDIA_DOCKER_CONFIG))
		return err_set(err, "manifest config has media type %.100s: not an image config",
			       m->config.media_type);
	if (!json_is_array(layers))
		return err_set(err, "image manifest without a layers array");
	if (json_array_size(layers) > MANIFEST_MAX_LAYERS)
		return err_set(err, "image manifest of %zu layers: at most %u are accepted",
			       json_array_size(layers), MANIFEST_MAX_LAYERS);
	m->layers = calloc(json_array_size(layers) + 1, sizeof(*m->layers));
	if (!m->layers)
		return err_sys(err, ENOMEM, "manifest layers");
	json_array_foreach(layers, i, l) {
		snprintf(what, sizeof(what), "layer %zu", i);
		m->n_layers = i + 1;
		if (descriptor_read(l, &m->layers[i], what, err) < 0)
			return -1;
		if (!in_list(m->layers[i].media_type, layer_types))
			return err_set(err, "layer %zu has media type %.100s: not a tar layer "
				       "(plain, gzip or zstd)", i, m->layers[i].media_type);
	}
	return 0;
}

static int index_read(json_t *root, struct manifest *m, struct err *err)
{
	json_t *list = json_object_get(root, "manifests");
	char what[64];
	size_t i;
	json_t *e;

	if (json_object_get(root, "layers") || json_object_get(root, "config"))
		return err_set(err, "index with layers or a config: refused");
	if (!json_is_array(list))
		return err_set(err, "index without a manifests array");
	if (json_array_size(list) > MANIFEST_MAX_ENTRIES)
		return err_set(err, "index of %zu entries: at most %u are accepted",
			       json_array_size(list), MANIFEST_MAX_ENTRIES);
	m->manifests = calloc(json_array_size(list) + 1, sizeof(*m->manifests));
	if (!m->manifests)
		return err_sys(err, ENOMEM, "index entries");
	json_array_foreach(list, i, e) {
		snprintf(what, sizeof(what), "index entry %zu", i);
		m->n_manifests = i + 1;
		if (descriptor_read(e, &m->manifests[i], what, err) < 0)
			return -1;
		if (!is_manifest_type(m->manifests[i].media_type) &&
		    !is_index_type(m->manifests[i].media_type))
			return err_set(err, "index entry %zu has media type %.100s: not a manifest",
				       i, m->manifests[i].media_type);
	}
	return 0;
}

/* "application/json; charset=utf-8" -> "application/json", bounded. */
static void media_type_base(const char *ct, char *out, size_t size)
{
	size_t n = strcspn(ct, "; \t");

	if (n >= size)
		n = size - 1;
	memcpy(out, ct, n);
	out[n] = 0;
}

static int manifest_read(json_t *root, const char *content_type, struct manifest *m,
			 struct err *err)
{
	json_t *version = json_object_get(root, "schemaVersion");
	const char *type;
	char transport[128] = "";

	if (!json_is_object(root))
		return err_set(err, "manifest is not a JSON object");
	if (opt_string(root, "mediaType", &type) < 0)
		return err_set(err, "manifest mediaType is not a string");
	if (content_type)
		media_type_base(content_type, transport, sizeof(transport));
	if (json_is_integer(version) && json_integer_value(version) == 1)
		return err_set(err, "manifest is docker schema 1, which is deprecated and no "
			       "longer pulled: push the image again with a current client");
	if (!json_is_integer(version) || json_integer_value(version) != 2)
		return err_set(err, "manifest schemaVersion is not 2");
	if (!type && transport[0] && strcmp(transport, "application/json") &&
	    strcmp(transport, "application/octet-stream"))
		type = transport;
	/* OCI documents may leave mediaType out: their shape says what they are. */
	if (!type)
		type = json_object_get(root, "manifests") ? MEDIA_OCI_INDEX : MEDIA_OCI_MANIFEST;
	if (!strcmp(type, MEDIA_DOCKER_SCHEMA1) || !strcmp(type, MEDIA_DOCKER_SCHEMA1_SIGNED))
		return err_set(err, "manifest is docker schema 1, which is deprecated and no "
			       "longer pulled: push the image again with a current client");
	m->media_type = xstrdup(type);
	if (is_index_type(type)) {
		m->kind = MANIFEST_INDEX;
		return index_read(root, m, err);
	}
	if (is_manifest_type(type)) {
		m->kind = MANIFEST_IMAGE;
		return image_read(root, m, err);
	}
	return err_set(err, "unsupported manifest media type %.100s", type);
}

int manifest_parse(const char *data, size_t len, const char *content_type,
		   struct manifest *m, struct err *err)
{
	_cleanup_json_ json_t *root = NULL;
	json_error_t jerr;

	memset(m, 0, sizeof(*m));
	if (len > MANIFEST_MAX_BYTES)
		return err_set(err, "manifest of %zu bytes: at most %u are accepted", len,
			       MANIFEST_MAX_BYTES);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, "manifest is not valid JSON: %s", jerr.text);
	if (manifest_read(root, content_type, m, err) < 0) {
		manifest_free(m);
		return -1;
	}
	return 0;
}

/* Docker's normalization: the names uname and distributions use. */
static void platform_normalize(struct platform *p)
{
	static const struct { const char *from, *arch, *variant; } alias[] = {
		{ "x86_64", "amd64", NULL }, { "x86-64", "amd64", NULL },
		{ "aarch64", "arm64", NULL }, { "armhf", "arm", "v7" },
		{ "armel", "arm", "v6" }, { "i386", "386", NULL },
	};

	for (char *c = p->os; c && *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	for (size_t i = 0; p->arch && i < sizeof(alias) / sizeof(alias[0]); i++) {
		if (strcasecmp(p->arch, alias[i].from))
			continue;
		free(p->arch);
		p->arch = xstrdup(alias[i].arch);
		if (alias[i].variant && !p->variant)
			p->variant = xstrdup(alias[i].variant);
	}
	/* arm64 is v8 unless it says otherwise: "linux/arm64/v8" is "linux/arm64". */
	if (p->arch && !strcmp(p->arch, "arm64") && p->variant && !strcmp(p->variant, "v8")) {
		free(p->variant);
		p->variant = NULL;
	}
}

int platform_parse(const char *s, struct platform *p, struct err *err)
{
	const char *a, *b;

	memset(p, 0, sizeof(*p));
	if (!s || !*s) {
		p->os = xstrdup("linux");
		p->arch = xstrdup("amd64");
		return 0;
	}
	a = strchr(s, '/');
	b = a ? strchr(a + 1, '/') : NULL;
	if (!a || a == s || !a[1] || a[1] == '/' || (b && (!b[1] || strchr(b + 1, '/'))) ||
	    strlen(s) > 128 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789_-./") != strlen(s))
		return err_set(err, "invalid platform %.130s: the form is os/arch[/variant], "
			       "such as linux/amd64 or linux/arm64/v8", s);
	p->os = xasprintf("%.*s", (int)(a - s), s);
	p->arch = b ? xasprintf("%.*s", (int)(b - a - 1), a + 1) : xstrdup(a + 1);
	p->variant = b ? xstrdup(b + 1) : NULL;
	platform_normalize(p);
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void platform_format(const struct platform *p, char *buf, size_t size)
{
	snprintf(buf, size, "%.40s/%.40s%s%.40s", p->os ? p->os : "linux",
		 p->arch ? p->arch : "amd64", p->variant ? "/" : "", p->variant ? p->variant : "");
}

/* Rank of an entry for want: -1 unfit; higher is better. */
static int entry_rank(const struct descriptor *d, const struct platform *want,
		      const struct kernel_version *host, struct kernel_version *version)
{
	struct platform p = { 0 };
	const char *want_os = want && want->os ? want->os : "linux";
	const char *want_arch = want && want->arch ? want->arch : "amd64";
	const char *want_variant = want ? want->variant : NULL;
	int rank = -1;

	memset(version, 0, sizeof(*version));
	if (!d->has_platform || !is_manifest_type(d->media_type))
		return -1;
	p.os = xstrdup(d->platform.os);
	p.arch = xstrdup(d->platform.arch);
	p.variant = d->platform.variant && *d->platform.variant ? xstrdup(d->platform.variant)
								: NULL;
	platform_normalize(&p);
	if (!str_eq(p.os, want_os) || !str_eq(p.arch, want_arch))
		goto out;
	if (want_variant) {
		if (!str_eq(p.variant, want_variant))
			goto out;
		rank = 1;
	} else {
		rank = !p.variant || !strcmp(p.variant, "v1") ? 1 : 0;
	}
	if (d->platform.os_version && *d->platform.os_version) {
		if (kernel_version_parse(d->platform.os_version, version) < 0)
			rank = host ? -1 : rank;
		else if (host && kernel_version_cmp(host, version) < 0)
			rank = -1;
	}
out:
	platform_free(&p);
	return rank;
}

int manifest_select(const struct manifest *index, const struct platform *want,
		    const char *host_kernel, size_t *idx, struct err *err)
{
	struct kernel_version host, best_version = { 0 }, v;
	bool have_host = host_kernel && kernel_version_parse(host_kernel, &host) == 0;
	int best = -1;
	char name[128];

	for (size_t i = 0; index->kind == MANIFEST_INDEX && i < index->n_manifests; i++) {
		int rank = entry_rank(&index->manifests[i], want, have_host ? &host : NULL, &v);

		if (rank < 0)
			continue;
		if (rank > best || (rank == best && kernel_version_cmp(&v, &best_version) > 0)) {
			best = rank;
			best_version = v;
			*idx = i;
		}
	}
	if (best >= 0)
		return 0;
	if (want)
		platform_format(want, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "linux/amd64");
	return err_set(err, "no matching manifest for %s in the manifest list entries", name);
}

int image_config_parse(const char *data, size_t len, size_t n_layers, json_t **out,
		       struct err *err)
{
	_cleanup_json_ json_t *root = NULL;
	json_t *rootfs, *diff_ids, *d, *cfg;
	const char *type;
	json_error_t jerr;
	size_t i;

	*out = NULL;
	if (len > IMAGE_CONFIG_MAX_BYTES)
		return err_set(err, "image config of %zu bytes: at most %u are accepted", len,
			       IMAGE_CONFIG_MAX_BYTES);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, "image config is not valid JSON: %s", jerr.text);
	if (!json_is_object(root))
		return err_set(err, "image config is not a JSON object");
	cfg = json_object_get(root, "config");
	if (cfg && !json_is_object(cfg) && !json_is_null(cfg))
		return err_set(err, "image config: config is not an object");
	rootfs = json_object_get(root, "rootfs");
	if (!json_is_object(rootfs))
		return err_set(err, "image config has no rootfs");
	if (opt_string(rootfs, "type", &type) < 0 || !str_eq(type, "layers"))
		return err_set(err, "image config: rootfs.type is not \"layers\"");
	diff_ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(diff_ids) && !(n_layers == 0 && (!diff_ids || json_is_null(diff_ids))))
		return err_set(err, "image config: rootfs.diff_ids is not an array");
	if (json_array_size(diff_ids) != n_layers)
		return err_set(err, "image config names %zu layers and its manifest %zu",
			       json_array_size(diff_ids), n_layers);
	json_array_foreach(diff_ids, i, d)
		if (!json_is_string(d) || !digest_valid(json_string_value(d)))
			return err_set(err, "image config: diff id %zu is not a sha256 digest", i);
	*out = json_incref(root);
	return 0;
}
