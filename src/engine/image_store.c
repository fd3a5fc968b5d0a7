/* The image store's internals (see image_store.h): index.json, its
 * descriptors and their manifests loaded as a struct store, finding an image
 * in it, the store's layout and its locks. */
#include "image_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "image.h"
#include "digest.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define BLOB_MAX (16u << 20)
#define NOT_FOUND_FMT "image %s not found: run 'isobox images' to list images, " \
		      "or 'isobox import' to add one"

int blob_get_json(const char *root, const char *digest, json_t **out, struct err *err)
{
	_cleanup_free_ char *data = NULL;
	json_error_t je;
	size_t len = 0;

	if (blob_get(root, digest, BLOB_MAX, &data, &len, err) < 0)
		return -1;
	*out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return err_set(err, "blob %s is not a JSON object: %s", digest, je.text);
	}
	return 0;
}

int index_load(const char *root, json_t **out, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", root);

	if (access(path, F_OK) < 0 && errno == ENOENT) {
		*out = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
				 MEDIA_INDEX, "manifests");
		return 0;
	}
	if (json_load_path(path, out, err) < 0)
		return -1;
	if (!json_is_array(json_object_get(*out, "manifests"))) {
		json_decref(*out);
		return err_set(err, "%s has no manifests list: the image store is corrupt",
			       path);
	}
	return 0;
}

int index_save(const char *root, json_t *index, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", root);

	return json_save_atomic(path, index, err);
}

const char *desc_annotation(json_t *desc, const char *key)
{
	return json_string_value(json_object_get(json_object_get(desc, "annotations"), key));
}

const char *desc_ref(json_t *desc)
{
	return desc_annotation(desc, REF_ANNOTATION);
}

void desc_drop_ref(json_t *desc)
{
	json_object_del(json_object_get(desc, "annotations"), REF_ANNOTATION);
	if (json_object_size(json_object_get(desc, "annotations")) == 0)
		json_object_del(desc, "annotations");
}

static int store_entry_load(const char *root, json_t *desc, struct store_entry *e,
			    struct err *err)
{
	e->desc = desc;
	e->ref = desc_ref(desc);
	e->manifest = json_string_value(json_object_get(desc, "digest"));
	if (!digest_valid(e->manifest))
		return err_set(err, "index.json names a manifest with an invalid digest");
	if (blob_get_json(root, e->manifest, &e->mf, err) < 0)
		return -1;
	e->id = json_string_value(json_object_get(json_object_get(e->mf, "config"), "digest"));
	if (!digest_valid(e->id))
		return err_set(err, "manifest %s names an invalid config digest", e->manifest);
	return 0;
}

void store_free(struct store *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		json_decref(s->v[i].mf);
		json_decref(s->v[i].config);
	}
	free(s->v);
	json_decref(s->index);
	memset(s, 0, sizeof(*s));
}

int store_load(const char *root, struct store *s, struct err *err)
{
	json_t *list, *desc;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->root = root;
	if (index_load(root, &s->index, err) < 0)
		return -1;
	list = json_object_get(s->index, "manifests");
	s->v = xmalloc(sizeof(*s->v) * (json_array_size(list) + 1));
	json_array_foreach(list, i, desc) {
		if (store_entry_load(root, desc, &s->v[s->n++], err) < 0) {
			store_free(s);
			return err_wrap(err, "image store %s", root);
		}
	}
	return 0;
}

int store_load_configs(struct store *s, struct err *err)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!s->v[i].config && blob_get_json(s->root, s->v[i].id, &s->v[i].config, err) < 0)
			return err_wrap(err, "image store %s", s->root);
	return 0;
}

static bool is_hex_prefix(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return !s[n] && n >= 4 && n <= DIGEST_HEX_LEN;
}

/* 1 with *idx set, 0 if no ID starts with hex, -1 if several do. */
static int store_find_prefix(struct store *s, const char *hex, size_t *idx, struct err *err)
{
	const char *found = NULL;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strncmp(digest_hex(s->v[i].id), hex, strlen(hex)))
			continue;
		if (found && strcmp(found, s->v[i].id))
			return err_set(err, "image ID prefix %s is ambiguous: give more digits", hex);
		if (!found)
			*idx = i;
		found = s->v[i].id;
	}
	return found ? 1 : 0;
}

int repo_digest_parse(const char *ref, char **want, char **name_out, struct err *err)
{
	const char *at = strchr(ref, '@');
	_cleanup_free_ char *name = xasprintf("%.*s", (int)(at - ref), ref);
	_cleanup_free_ char *full = NULL;
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ char *tag = NULL;

	if (!digest_valid(at + 1) || image_ref_normalize(name, &full, err) < 0)
		return err_set(err, "invalid reference format '%s': expected "
			       "NAME@sha256:<64 hex digits>", ref);
	image_ref_split(full, &norm, &tag);
	*want = xasprintf("%s@%s", norm, at + 1);
	if (name_out)
		*name_out = take_ptr(&norm);
	return 0;
}

/* name@sha256:<manifest digest>: the image whose manifest that is, pulled or
 * loaded under that name (its RepoDigests entry) or tagged with that name. */
static int store_find_digest_ref(struct store *s, const char *ref, size_t *idx,
				 struct err *err)
{
	const char *at = strchr(ref, '@');
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ char *want = NULL;
	size_t i;

	if (repo_digest_parse(ref, &want, &norm, err) < 0)
		return -1;
	for (i = 0; i < s->n; i++) {
		const char *rd = desc_annotation(s->v[i].desc, REPO_DIGEST_ANNOTATION);
		_cleanup_free_ char *n = NULL;
		_cleanup_free_ char *t = NULL;

		if (strcmp(s->v[i].manifest, at + 1))
			continue;
		if (s->v[i].ref)
			image_ref_split(s->v[i].ref, &n, &t);
		if ((rd && !strcmp(rd, want)) || (n && !strcmp(n, norm))) {
			*idx = i;
			return 0;
		}
	}
	err_set(err, NOT_FOUND_FMT, ref);
	err->errnum = ENOENT;
	return -1;
}

int store_find(struct store *s, const char *ref, size_t *idx, bool *by_name,
	       struct err *err)
{
	_cleanup_free_ char *norm = NULL;
	const char *hex = strncmp(ref, DIGEST_PREFIX, strlen(DIGEST_PREFIX)) ? ref
						  : ref + strlen(DIGEST_PREFIX);
	struct err ref_err;
	size_t i;
	int r;

	*by_name = false;
	if (strchr(ref, '@'))
		return store_find_digest_ref(s, ref, idx, err);
	if (image_ref_normalize(ref, &norm, &ref_err) == 0) {
		for (i = 0; i < s->n; i++) {
			if (s->v[i].ref && !strcmp(s->v[i].ref, norm)) {
				*idx = i;
				*by_name = true;
				return 0;
			}
		}
	}
	if (is_hex_prefix(hex)) {
		r = store_find_prefix(s, hex, idx, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	} else if (!norm) {
		*err = ref_err;
		return -1;
	}
	err_set(err, NOT_FOUND_FMT, norm && !is_hex_prefix(hex) ? norm : ref);
	err->errnum = ENOENT;
	return -1;
}

int store_load_find(const char *root, const char *ref, struct store *s, size_t *idx,
		    bool *by_name, struct err *err)
{
	bool ignored;

	if (store_load(root, s, err) < 0)
		return -1;
	if (store_find(s, ref, idx, by_name ? by_name : &ignored, err) < 0) {
		store_free(s);
		return -1;
	}
	return 0;
}

int store_init(const char *root, struct err *err)
{
	_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", root);
	_cleanup_free_ char *layers = xasprintf("%s/layers", root);
	_cleanup_free_ char *layout = xasprintf("%s/oci-layout", root);
	static const char text[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

	if (mkdir_p(blobs, 0755, err) < 0 || mkdir_p(layers, 0700, err) < 0)
		return -1;
	if (access(layout, F_OK) == 0)
		return 0;
	return write_file_atomic(layout, text, strlen(text), 0644, err);
}

int store_lock(const char *root, const char *name, int op, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", root, name);

	return lock_path(path, op, err);
}

int image_store_lock_shared(const char *root, struct err *err)
{
	if (store_init(root, err) < 0)
		return err_wrap(err, "image store %s", root);
	return store_lock(root, "layers.lock", LOCK_SH, err);
}

const char *config_created(json_t *config)
{
	const char *s = json_string_value(json_object_get(config, "created"));

	return s ? s : "";
}

bool json_array_has_string(json_t *a, const char *v)
{
	json_t *x;
	size_t i;

	json_array_foreach(a, i, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), v))
			return true;
	return false;
}
