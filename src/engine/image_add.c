/* Adding to the store: a new image from a rootfs tarball (import), an image
 * whose blobs and layers pull, load or commit put in the store
 * (image_store_add), and a new name for an image (tag). Each writes
 * index.json under images.lock; a name moves from any image that had it. */
#include "image.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "blob.h"
#include "digest.h"
#include "image_store.h"
#include "layer.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Drop ref from the index; an image it leaves without a name stays as <none>,
 * unless another descriptor still names the same manifest. */
static void index_untag(json_t *index, const char *ref)
{
	json_t *list = json_object_get(index, "manifests"), *kept = json_array(), *d, *o;
	size_t i, j;

	json_array_foreach(list, i, d) {
		const char *r = desc_ref(d);
		bool dup = false;

		if (r && !strcmp(r, ref)) {
			desc_drop_ref(d);
			json_array_foreach(list, j, o)
				dup |= j != i && json_equal(json_object_get(o, "digest"),
							    json_object_get(d, "digest"));
			if (dup)
				continue;
		}
		json_array_append(kept, d);
	}
	json_object_set_new(index, "manifests", kept);
}

static int index_add(const char *root, const char *ref, json_t *desc, struct err *err)
{
	_cleanup_close_ int lock = store_lock(root, "images.lock", LOCK_EX, err);
	_cleanup_json_ json_t *index = NULL;

	if (lock < 0 || index_load(root, &index, err) < 0)
		return -1;
	if (ref) {
		index_untag(index, ref);
		json_object_set_new(desc, "annotations", json_pack("{s:s}", REF_ANNOTATION, ref));
	}
	json_array_append(json_object_get(index, "manifests"), desc);
	return index_save(root, index, err);
}

/* ---- import ---- */

static json_t *descriptor(const char *media, const char *digest, size_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media, "digest", digest, "size",
			 (json_int_t)size);
}

static int image_commit(const char *root, const char *ref, json_t *cfg,
			const struct layer_info *li, char **id_out, struct err *err)
{
	_cleanup_free_ char *id = NULL;
	_cleanup_free_ char *mdigest = NULL;
	_cleanup_json_ json_t *mf = NULL;
	_cleanup_json_ json_t *desc = NULL;
	json_t *layer = descriptor(LAYER_MEDIA_TYPE, li->diff_id, li->tar_size);
	char size[32];
	size_t csize, msize;

	snprintf(size, sizeof(size), "%llu", li->content_size);
	json_object_set_new(layer, "annotations", json_pack("{s:s}", SIZE_ANNOTATION, size));
	json_array_append_new(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"),
			      json_string(li->diff_id));
	if (blob_put_json(root, cfg, &id, &csize, err) < 0)
		return -1;
	mf = json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
		       MEDIA_MANIFEST, "config", descriptor(MEDIA_CONFIG, id, csize),
		       "layers", layer);
	if (blob_put_json(root, mf, &mdigest, &msize, err) < 0)
		return -1;
	desc = descriptor(MEDIA_MANIFEST, mdigest, msize);
	if (index_add(root, ref, desc, err) < 0)
		return -1;
	*id_out = take_ptr(&id);
	return 0;
}

int image_import_ex(const char *root, const struct image_import_opts *o, char **id_out,
		    struct err *err)
{
	_cleanup_free_ char *ref = NULL;
	_cleanup_json_ json_t *cfg = NULL;
	_cleanup_close_ int lock = -1;
	struct layer_info li;

	if (o->ref && image_ref_normalize(o->ref, &ref, err) < 0)
		return -1;
	if (image_config_new(o->changes, o->n_changes, o->message, &cfg, err) < 0)
		return -1;
	if (store_init(root, err) < 0)
		return err_wrap(err, "image store %s", root);
	/* Shared: image_remove must not delete a layer this import will name. */
	lock = store_lock(root, "layers.lock", LOCK_SH, err);
	if (lock < 0)
		return -1;
	if (layer_unpack(root, o->file, &li, err) < 0)
		return err_wrap(err, "import %s", o->file);
	return image_commit(root, ref, cfg, &li, id_out, err);
}

int image_import(const char *root, const char *file, const char *ref,
		 const char *const *changes, size_t n_changes, char **id_out, struct err *err)
{
	struct image_import_opts o = { .file = file, .ref = ref, .changes = changes,
				       .n_changes = n_changes };

	return image_import_ex(root, &o, id_out, err);
}

/* ---- images from registries and archives ---- */

/* Everything the manifest names must be in the store before it gets a name. */
static int store_add_check(const char *root, json_t *mf, const char *manifest,
			   struct err *err)
{
	_cleanup_json_ json_t *config = NULL;
	json_t *layers = json_object_get(mf, "layers"), *ids, *l;
	const char *cfg = json_string_value(json_object_get(json_object_get(mf, "config"),
							     "digest"));
	size_t i;

	if (!digest_valid(cfg) || !json_is_array(layers))
		return err_set(err, "manifest %s is not an image manifest", manifest);
	if (!blob_exists(root, cfg))
		return err_set(err, "manifest %s: config blob %s is not in the store", manifest,
			       cfg);
	if (blob_get_json(root, cfg, &config, err) < 0)
		return -1;
	ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (json_array_size(ids) != json_array_size(layers))
		return err_set(err, "image config %s lists %zu layers, its manifest %zu", cfg,
			       json_array_size(ids), json_array_size(layers));
	json_array_foreach(layers, i, l) {
		const char *d = json_string_value(json_object_get(l, "digest"));
		const char *diff = json_string_value(json_array_get(ids, i));

		if (!blob_exists(root, d))
			return err_set(err, "manifest %s: layer blob %s is not in the store",
				       manifest, d ? d : "");
		if (!layer_present(root, diff))
			return err_set(err, "manifest %s: layer %s is not unpacked", manifest,
				       diff ? diff : "");
	}
	return 0;
}

/* Whether descriptor d names the image whose manifest is manifest and whose
 * config is id (another manifest of the same config is the same image). */
static bool desc_same_image(const char *root, json_t *d, const char *manifest, const char *id)
{
	const char *dm = json_string_value(json_object_get(d, "digest"));
	_cleanup_json_ json_t *mf = NULL;
	struct err ignored;

	if (!digest_valid(dm))
		return false;
	if (!strcmp(dm, manifest))
		return true;
	if (!id || blob_get_json(root, dm, &mf, &ignored) < 0)
		return false;
	return !strcmp(json_string_value(json_object_get(json_object_get(mf, "config"),
							 "digest")) ?: "", id);
}

/* An untagged image that the index already holds (under any name) gets no
 * second descriptor; its repo digest is added to one without. */
static bool index_merge_untagged(const char *root, json_t *index, const char *manifest,
				 const char *id, const char *repo_digest)
{
	json_t *list = json_object_get(index, "manifests"), *d;
	json_t *bare = NULL;
	size_t i;

	json_array_foreach(list, i, d) {
		const char *rd = desc_annotation(d, REPO_DIGEST_ANNOTATION);

		if (!desc_same_image(root, d, manifest, id))
			continue;
		if (!repo_digest || (rd && !strcmp(rd, repo_digest)))
			return true;
		if (!rd && !bare)
			bare = d;
	}
	if (!bare)
		return false;
	if (!json_is_object(json_object_get(bare, "annotations")))
		json_object_set_new(bare, "annotations", json_object());
	json_object_set_new(json_object_get(bare, "annotations"), REPO_DIGEST_ANNOTATION,
			    json_string(repo_digest));
	return true;
}

/* A name for an image drops the <none> descriptors of that image that carry
 * nothing else (no other repo digest). */
static void index_drop_untagged(const char *root, json_t *index, const char *manifest,
				const char *id, const char *repo_digest)
{
	json_t *list = json_object_get(index, "manifests"), *kept = json_array(), *d;
	size_t i;

	json_array_foreach(list, i, d) {
		const char *rd = desc_annotation(d, REPO_DIGEST_ANNOTATION);

		if (!desc_ref(d) && (!rd || (repo_digest && !strcmp(rd, repo_digest))) &&
		    desc_same_image(root, d, manifest, id))
			continue;
		json_array_append(kept, d);
	}
	json_object_set_new(index, "manifests", kept);
}

int image_store_add(const char *root, const char *ref, const char *manifest_digest,
		    const char *repo_digest, struct err *err)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *mf = NULL;
	_cleanup_json_ json_t *index = NULL;
	_cleanup_json_ json_t *desc = NULL;
	_cleanup_close_ int lock = -1;
	const char *media;
	struct stat st;

	if (ref && image_ref_normalize(ref, &norm, err) < 0)
		return -1;
	if (!digest_valid(manifest_digest))
		return err_set(err, "invalid manifest digest '%s'",
			       manifest_digest ? manifest_digest : "");
	if (blob_get_json(root, manifest_digest, &mf, err) < 0)
		return -1;
	if (store_add_check(root, mf, manifest_digest, err) < 0)
		return -1;
	media = json_string_value(json_object_get(mf, "mediaType"));
	if (!media)
		media = MEDIA_MANIFEST;
	path = blob_path(root, manifest_digest);
	if (stat(path, &st) < 0)
		return err_sys(err, errno, "stat %s", path);
	desc = descriptor(media, manifest_digest, (size_t)st.st_size);
	json_object_set_new(desc, "annotations", json_object());
	if (norm)
		json_object_set_new(json_object_get(desc, "annotations"), REF_ANNOTATION,
				    json_string(norm));
	if (repo_digest)
		json_object_set_new(json_object_get(desc, "annotations"),
				    REPO_DIGEST_ANNOTATION, json_string(repo_digest));
	if (!norm && !repo_digest)
		json_object_del(desc, "annotations");
	lock = store_lock(root, "images.lock", LOCK_EX, err);
	if (lock < 0 || index_load(root, &index, err) < 0)
		return -1;
	if (norm) {
		index_untag(index, norm);
		index_drop_untagged(root, index, manifest_digest,
				    json_string_value(json_object_get(json_object_get(mf, "config"),
								      "digest")),
				    repo_digest);
	} else if (index_merge_untagged(root, index, manifest_digest,
					json_string_value(json_object_get(
						json_object_get(mf, "config"), "digest")),
					repo_digest))
		return index_save(root, index, err);
	json_array_append(json_object_get(index, "manifests"), desc);
	return index_save(root, index, err);
}

/* ---- tag ---- */

int image_tag(const char *root, const char *source, const char *target, struct err *err)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_json_ json_t *desc = NULL;
	_cleanup_close_ int lock = -1;
	struct store s;
	size_t i;
	int r;

	if (image_ref_normalize(target, &norm, err) < 0)
		return -1;
	lock = store_lock(root, "images.lock", LOCK_EX, err);
	if (lock < 0)
		return -1;
	if (store_load_find(root, source, &s, &i, NULL, err) < 0)
		return -1;
	desc = json_deep_copy(s.v[i].desc);
	if (!json_is_object(json_object_get(desc, "annotations")))
		json_object_set_new(desc, "annotations", json_object());
	json_object_set_new(json_object_get(desc, "annotations"), REF_ANNOTATION,
			    json_string(norm));
	index_untag(s.index, norm);
	index_drop_untagged(root, s.index, s.v[i].manifest, s.v[i].id,
			    desc_annotation(desc, REPO_DIGEST_ANNOTATION));
	json_array_append(json_object_get(s.index, "manifests"), desc);
	r = index_save(root, s.index, err);
	store_free(&s);
	return r;
}
