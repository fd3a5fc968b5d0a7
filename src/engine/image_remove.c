/* Removing images: untag them (rmi), delete the files that no remaining
 * image names (blobs, unpacked layers and their VM disks), and prune. Both
 * hold layers.lock exclusive, then images.lock, so that no import or pull is
 * between adding files and naming them while files are deleted. */
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "container.h"
#include "digest.h"
#include "image_store.h"
#include "layer.h"
#include "vm_image.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* ---- remove ---- */

static void report_add(json_t *report, const char *key, const char *value)
{
	if (report)
		json_array_append_new(report, json_pack("{s:s}", key, value));
}

/* Fill kept with the descriptors that stay; report the tags that go. */
static int remove_plan(struct store *s, size_t hit, bool by_name, unsigned flags,
		       json_t *kept, json_t *report, struct err *err)
{
	const char *id = s->v[hit].id;
	size_t i, tags = 0;

	for (i = 0; i < s->n; i++)
		tags += s->v[i].ref && !strcmp(s->v[i].id, id);
	if (!by_name && tags > 1 && !(flags & IMAGE_RM_FORCE))
		return err_set(err, "conflict: unable to delete %.12s (must be forced) - image is "
			       "referenced in multiple repositories", digest_hex(id));
	for (i = 0; i < s->n; i++) {
		bool drop = by_name ? i == hit : !strcmp(s->v[i].id, id);

		if (!drop)
			json_array_append(kept, s->v[i].desc);
		else if (s->v[i].ref)
			report_add(report, "Untagged", s->v[i].ref);
	}
	return 0;
}

static bool kept_has_id(struct store *s, json_t *kept, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].id, id)) {
			size_t j;
			json_t *d;

			json_array_foreach(kept, j, d)
				if (d == s->v[i].desc)
					return true;
		}
	return false;
}

static bool store_names_blob(struct store *s, const char *digest)
{
	size_t i, j;
	json_t *l;

	for (i = 0; i < s->n; i++) {
		if (!strcmp(s->v[i].manifest, digest) || !strcmp(s->v[i].id, digest))
			return true;
		json_array_foreach(json_object_get(s->v[i].mf, "layers"), j, l) {
			const char *d = json_string_value(json_object_get(l, "digest"));

			if (d && !strcmp(d, digest))
				return true;
		}
	}
	return false;
}

static bool store_uses_layer(struct store *s, const char *diff_id)
{
	size_t i, j;
	json_t *v;

	for (i = 0; i < s->n; i++)
		json_array_foreach(json_object_get(json_object_get(s->v[i].config, "rootfs"),
						   "diff_ids"), j, v)
			if (!strcmp(json_string_value(v) ? json_string_value(v) : "", diff_id))
				return true;
	return false;
}

static void blob_drop(struct store *s, const char *digest)
{
	_cleanup_free_ char *path = NULL;

	if (!digest_valid(digest) || store_names_blob(s, digest))
		return;
	path = blob_path(s->root, digest);
	unlink(path);
}

/* Renamed away first, so a half-removed layer never carries a valid name. */
static int layer_drop(struct store *s, const char *diff_id, json_t *report,
		      unsigned long long *reclaimed, struct err *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char *trash = NULL;

	if (!digest_valid(diff_id) || store_uses_layer(s, diff_id))
		return 0;
	dir = layer_dir(s->root, diff_id);
	trash = xasprintf("%s/layers/.rm-%s", s->root, digest_hex(diff_id));
	if (rename(dir, trash) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "remove %s", dir);
	report_add(report, "Deleted", diff_id);
	if (reclaimed) {
		unsigned long long n = 0;
		struct err ignored;

		if (layer_disk_usage(trash, &n, &ignored) == 0)
			*reclaimed += n;
	}
	/* Its EROFS disks for VMs: its own and any chain that holds it. */
	vm_image_layer_dropped(s->root, digest_hex(diff_id));
	return rm_rf(trash, err);
}

static bool is_hex64(const char *name)
{
	return strlen(name) == DIGEST_HEX_LEN &&
	       strspn(name, "0123456789abcdef") == DIGEST_HEX_LEN;
}

/* What no image names any more: a manifest an image was named by before a
 * newer manifest of the same config took its place, the blobs and layers of
 * a pull or load that died before naming its image. Safe only under
 * layers.lock held exclusive: then no one is between adding files and
 * naming them. */
static int store_sweep(struct store *s, unsigned long long *reclaimed, struct err *err)
{
	_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", s->root);
	_cleanup_free_ char *layers = xasprintf("%s/layers", s->root);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if ((d = opendir(blobs))) {
		while ((de = readdir(d)))
			if (is_hex64(de->d_name)) {
				_cleanup_free_ char *digest = xasprintf("sha256:%s", de->d_name);

				blob_drop(s, digest);
			}
		closedir(d);
	}
	if ((d = opendir(layers))) {
		while (r == 0 && (de = readdir(d)))
			if (is_hex64(de->d_name)) {
				_cleanup_free_ char *diff = xasprintf("sha256:%s", de->d_name);

				r = layer_drop(s, diff, NULL, reclaimed, err);
			}
		closedir(d);
	}
	return r;
}

/* Delete the files of a removed image that no remaining image names.
 * mfs: {"digest", "mf"} of every manifest the removed image had (one image
 * may have several: the same config loaded from a docker and an OCI archive). */
static int store_gc(const char *root, json_t *mfs, json_t *config, json_t *report,
		    unsigned long long *reclaimed, struct err *err)
{
	struct store s;
	json_t *l, *m;
	size_t i, j;
	int r = 0;

	if (store_load(root, &s, err) < 0 || store_load_configs(&s, err) < 0) {
		store_free(&s);
		return -1;
	}
	json_array_foreach(json_object_get(json_object_get(config, "rootfs"), "diff_ids"), i, l)
		if (r == 0)
			r = layer_drop(&s, json_string_value(l), report, reclaimed, err);
	json_array_foreach(mfs, j, m) {
		json_t *mf = json_object_get(m, "mf");

		json_array_foreach(json_object_get(mf, "layers"), i, l)
			blob_drop(&s, json_string_value(json_object_get(l, "digest")));
		blob_drop(&s, json_string_value(json_object_get(json_object_get(mf, "config"),
								"digest")));
		blob_drop(&s, json_string_value(json_object_get(m, "digest")));
	}
	if (r == 0)
		r = store_sweep(&s, reclaimed, err);
	store_free(&s);
	return r;
}

/* Every manifest of image id, for store_gc. */
static json_t *image_manifests(struct store *s, const char *id)
{
	json_t *mfs = json_array(), *m;
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		bool dup = false;

		if (strcmp(s->v[i].id, id))
			continue;
		json_array_foreach(mfs, j, m)
			dup |= !strcmp(json_string_value(json_object_get(m, "digest")),
				       s->v[i].manifest);
		if (!dup)
			json_array_append_new(mfs, json_pack("{s:s, s:O}", "digest",
							     s->v[i].manifest, "mf", s->v[i].mf));
	}
	return mfs;
}

static json_t *desc_untagged(json_t *desc)
{
	json_t *d = json_deep_copy(desc);

	desc_drop_ref(d);
	return d;
}

/* rmi NAME@sha256:...: that RepoDigests entry goes; a descriptor left with
 * neither a tag nor a repo digest goes with it. 0 if handled, 1 when no
 * descriptor carries it (the name matched a tag: removal by ID applies). */
static int remove_digest_ref(struct store *s, const char *ref, unsigned flags,
			     json_t *report, bool *gone, const char *id, struct err *err)
{
	_cleanup_free_ char *want = NULL;
	_cleanup_json_ json_t *kept = json_array();
	bool found = false;
	json_t *d;
	size_t i;

	if (repo_digest_parse(ref, &want, NULL, err) < 0)
		return -1;
	for (i = 0; i < s->n; i++) {
		const char *rd = desc_annotation(s->v[i].desc, REPO_DIGEST_ANNOTATION);

		d = s->v[i].desc;
		if (!rd || strcmp(rd, want)) {
			json_array_append(kept, d);
			continue;
		}
		found = true;
		json_object_del(json_object_get(d, "annotations"), REPO_DIGEST_ANNOTATION);
		if (desc_ref(d))
			json_array_append(kept, d);
	}
	if (!found)
		return 1;
	report_add(report, "Untagged", want);
	*gone = !kept_has_id(s, kept, id);
	if (*gone && (flags & IMAGE_RM_KEEP_DATA))
		for (i = 0; i < s->n; i++)
			if (!strcmp(s->v[i].id, id)) {
				json_array_append_new(kept, desc_untagged(s->v[i].desc));
				break;
			}
	json_object_set(s->index, "manifests", kept);
	return index_save(s->root, s->index, err);
}

/* Save the index without the removed descriptors; *gone tells whether the
 * image lost its last descriptor (and so its files may go). */
static int remove_from_index(struct store *s, size_t hit, bool by_name, unsigned flags,
			     json_t *report, bool *gone, struct err *err)
{
	_cleanup_json_ json_t *kept = json_array();

	if (remove_plan(s, hit, by_name, flags, kept, report, err) < 0)
		return -1;
	*gone = !kept_has_id(s, kept, s->v[hit].id);
	if (*gone && (flags & IMAGE_RM_KEEP_DATA))
		json_array_append_new(kept, desc_untagged(s->v[hit].desc));
	json_object_set(s->index, "manifests", kept);
	return index_save(s->root, s->index, err);
}

static int remove_locked(const char *root, const char *ref, unsigned flags,
			 json_t *report, unsigned long long *reclaimed, struct err *err)
{
	_cleanup_json_ json_t *mfs = NULL;
	_cleanup_json_ json_t *config = NULL;
	_cleanup_free_ char *id = NULL;
	struct store s;
	bool by_name, gone = false;
	size_t hit;
	int r;

	if (store_load_find(root, ref, &s, &hit, &by_name, err) < 0)
		return -1;
	r = blob_get_json(root, s.v[hit].id, &config, err);
	if (r == 0) {
		id = xstrdup(s.v[hit].id);
		mfs = image_manifests(&s, id);
		r = strchr(ref, '@') ? remove_digest_ref(&s, ref, flags, report, &gone, id, err) : 1;
		if (r == 1)
			r = remove_from_index(&s, hit, by_name, flags, report, &gone, err);
	}
	store_free(&s);
	if (r < 0 || !gone || (flags & IMAGE_RM_KEEP_DATA))
		return r;
	report_add(report, "Deleted", id);
	return store_gc(root, mfs, config, report, reclaimed, err);
}

int image_remove_ex(const char *root, const char *ref, unsigned flags, json_t *report,
		    struct err *err)
{
	_cleanup_close_ int gc_lock = -1;
	_cleanup_close_ int index_lock = -1;
	char *id = NULL;

	/* Not found is reported before anything (even a lock file) is created. */
	if (image_resolve_id(root, ref, &id, err) < 0)
		return -1;
	free(id);
	gc_lock = store_lock(root, "layers.lock", LOCK_EX, err);
	if (gc_lock < 0)
		return -1;
	index_lock = store_lock(root, "images.lock", LOCK_EX, err);
	if (index_lock < 0)
		return -1;
	return remove_locked(root, ref, flags, report, NULL, err);
}

int image_remove(const char *root, const char *ref, struct err *err)
{
	return image_remove_ex(root, ref, 0, NULL, err);
}

/* ---- prune ---- */

static bool id_tagged(struct store *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].ref && !strcmp(s->v[i].id, id))
			return true;
	return false;
}

/* The IDs prune would remove: untagged ones, or with all every one; none in use. */
static json_t *prune_candidates(struct store *s, bool all,
				bool (*in_use)(const char *id, void *ctx), void *ctx)
{
	json_t *ids = json_array();
	size_t i;

	for (i = 0; i < s->n; i++) {
		const char *id = s->v[i].id;

		if (json_array_has_string(ids, id) || (!all && id_tagged(s, id)))
			continue;
		if (in_use && in_use(id, ctx))
			continue;
		json_array_append_new(ids, json_string(id));
	}
	return ids;
}

int image_prune(const char *root, bool all, bool (*in_use)(const char *id, void *ctx),
		void *ctx, json_t *report, unsigned long long *reclaimed, struct err *err)
{
	_cleanup_close_ int gc_lock = -1;
	_cleanup_close_ int index_lock = -1;
	_cleanup_json_ json_t *ids = NULL;
	json_t *id;
	struct store s;
	size_t i;

	*reclaimed = 0;
	gc_lock = store_lock(root, "layers.lock", LOCK_EX, err);
	if (gc_lock < 0)
		return -1;
	index_lock = store_lock(root, "images.lock", LOCK_EX, err);
	if (index_lock < 0 || store_load(root, &s, err) < 0)
		return -1;
	ids = prune_candidates(&s, all, in_use, ctx);
	store_free(&s);
	json_array_foreach(ids, i, id) {
		if (remove_locked(root, json_string_value(id), IMAGE_RM_FORCE, report, reclaimed,
				  err) < 0)
			return -1;
	}
	return 0;
}

/* Whether ref is one of the image's tags and not its only one: removing it
 * leaves the image named, so a container using it is no conflict (docker's
 * isSingleReference). */
static bool one_of_several_tags(const char *root, const char *ref)
{
	_cleanup_json_ json_t *img = NULL;
	_cleanup_free_ char *norm = NULL;
	json_t *tags, *t;
	size_t i;

	if (image_ref_normalize(ref, &norm, &(struct err){ 0 }) < 0 ||
	    image_inspect(root, ref, &img, &(struct err){ 0 }) < 0)
		return false;
	tags = json_object_get(img, "RepoTags");
	if (json_array_size(tags) < 2)
		return false;
	json_array_foreach(tags, i, t)
		if (!strcmp(json_string_value(t) ?: "", norm))
			return true;
	return false;
}

int image_rmi(const char *root, const char *ref, bool force, json_t *report, struct err *err)
{
	_cleanup_free_ char *id = NULL, *user = NULL;
	unsigned flags = force ? IMAGE_RM_FORCE : 0;
	int used;

	if (image_resolve_id(root, ref, &id, err) < 0)
		return -1;
	used = container_image_in_use(root, id, &user, err);
	if (used < 0)
		return -1;
	if (used && !force && !one_of_several_tags(root, ref))
		return err_set(err, "conflict: unable to remove repository reference \"%s\" "
			       "(must force) - container %s is using its referenced image %.12s: "
			       "remove the container first, or use 'isobox rmi -f'",
			       ref, user ? user : "?", strchr(id, ':') + 1);
	if (used)
		flags |= IMAGE_RM_KEEP_DATA;
	return image_remove_ex(root, ref, flags, report, err);
}
