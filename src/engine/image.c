/* The image store: an OCI image layout under ROOT whose index.json names
 * manifests by "name:tag". Writers hold ROOT/layers.lock (shared while
 * importing, exclusive while deleting files) and then ROOT/images.lock
 * (exclusive while changing index.json), always in that order. */
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "digest.h"
#include "layer.h"
#include "vm_image.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define REF_ANNOTATION "org.opencontainers.image.ref.name"
#define SIZE_ANNOTATION "io.isobox.layer.size"
/* docker's RepoDigests entry ("name@sha256:<manifest digest>") of a pulled or
 * loaded image; one per descriptor, inspect gathers them. */
#define REPO_DIGEST_ANNOTATION "io.isobox.repo.digest"
#define BLOB_MAX (16u << 20)
#define NOT_FOUND_FMT "image %s not found: run 'isobox images' to list images, " \
		      "or 'isobox import' to add one"

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

static int blob_get_json(const char *root, const char *digest, json_t **out,
			 struct err *err)
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

static int index_load(const char *root, json_t **out, struct err *err)
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

static int index_save(const char *root, json_t *index, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", root);

	return json_save_atomic(path, index, err);
}

static const char *desc_annotation(json_t *desc, const char *key)
{
	return json_string_value(json_object_get(json_object_get(desc, "annotations"), key));
}

static const char *desc_ref(json_t *desc)
{
	return desc_annotation(desc, REF_ANNOTATION);
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

static void store_free(struct store *s)
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

static int store_load(const char *root, struct store *s, struct err *err)
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

static int store_load_configs(struct store *s, struct err *err)
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

/* name@sha256:<manifest digest>: the image whose manifest that is, pulled or
 * loaded under that name (its RepoDigests entry) or tagged with that name. */
static int store_find_digest_ref(struct store *s, const char *ref, size_t *idx,
				 struct err *err)
{
	const char *at = strchr(ref, '@');
	_cleanup_free_ char *name = xasprintf("%.*s", (int)(at - ref), ref);
	_cleanup_free_ char *full = NULL;
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ char *tag = NULL;
	_cleanup_free_ char *want = NULL;
	size_t i;

	if (!digest_valid(at + 1) || image_ref_normalize(name, &full, err) < 0)
		return err_set(err, "invalid reference format '%s': expected "
			       "NAME@sha256:<64 hex digits>", ref);
	image_ref_split(full, &norm, &tag);
	want = xasprintf("%s@%s", norm, at + 1);
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

static int store_find(struct store *s, const char *ref, size_t *idx, bool *by_name,
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

static int image_fill_layers(const char *root, struct image *img, struct err *err)
{
	json_t *ids = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids"), *v;
	size_t i;

	img->layer_dirs = xmalloc(sizeof(char *) * (json_array_size(ids) + 1));
	json_array_foreach(ids, i, v) {
		const char *diff_id = json_string_value(v);

		if (!digest_valid(diff_id))
			return err_set(err, "image %s has an invalid layer diff id", img->id);
		img->layer_dirs[i] = layer_dir(root, diff_id);
		img->n_layers = i + 1;
		if (access(img->layer_dirs[i], F_OK) < 0)
			return err_sys(err, errno, "image %s: layer %s", img->id,
				       img->layer_dirs[i]);
	}
	return 0;
}

static int image_fill(const char *root, struct store_entry *e, bool by_name,
		      struct image *img, struct err *err)
{
	img->ref = by_name ? xstrdup(e->ref) : NULL;
	img->id = xstrdup(e->id);
	if (blob_get_json(root, e->id, &img->config, err) < 0)
		return -1;
	if (image_fill_layers(root, img, err) < 0)
		return err_wrap(err, "remove the image and import it again");
	return 0;
}

int image_lookup(const char *root, const char *ref, struct image *img, struct err *err)
{
	struct store s;
	bool by_name;
	size_t i;
	int r;

	memset(img, 0, sizeof(*img));
	if (store_load(root, &s, err) < 0)
		return -1;
	r = store_find(&s, ref, &i, &by_name, err);
	if (r == 0)
		r = image_fill(root, &s.v[i], by_name, img, err);
	store_free(&s);
	if (r < 0)
		image_free(img);
	return r;
}

void image_free(struct image *img)
{
	size_t i;

	if (!img)
		return;
	for (i = 0; img->layer_dirs && i < img->n_layers; i++)
		free(img->layer_dirs[i]);
	free(img->layer_dirs);
	free(img->ref);
	free(img->id);
	json_decref(img->config);
	memset(img, 0, sizeof(*img));
}

int image_resolve_id(const char *root, const char *ref, char **id_out, struct err *err)
{
	struct store s;
	bool by_name;
	size_t i;
	int r;

	if (store_load(root, &s, err) < 0)
		return -1;
	r = store_find(&s, ref, &i, &by_name, err);
	if (r == 0)
		*id_out = xstrdup(s.v[i].id);
	store_free(&s);
	return r;
}

/* Content bytes of an image: recorded at import, else measured on disk. */
static unsigned long long image_size(const char *root, json_t *mf, json_t *config)
{
	json_t *layers = json_object_get(mf, "layers"), *l;
	json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	unsigned long long total = 0, n;
	size_t i;

	json_array_foreach(layers, i, l) {
		const char *s = json_string_value(
			json_object_get(json_object_get(l, "annotations"), SIZE_ANNOTATION));

		if (!s)
			break;
		total += strtoull(s, NULL, 10);
	}
	if (i == json_array_size(layers))
		return total;
	total = 0;
	json_array_foreach(ids, i, l) {
		struct err ignored;
		_cleanup_free_ char *dir = NULL;

		if (!digest_valid(json_string_value(l)))
			continue;
		dir = layer_dir(root, json_string_value(l));
		if (layer_disk_usage(dir, &n, &ignored) == 0)
			total += n;
	}
	return total;
}

static const char *config_created(json_t *config)
{
	const char *s = json_string_value(json_object_get(config, "created"));

	return s ? s : "";
}

static json_t *list_row(const char *root, struct store_entry *e)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *tag = NULL;

	if (e->ref) {
		image_ref_split(e->ref, &name, &tag);
	} else {
		name = xstrdup("<none>");
		tag = xstrdup("<none>");
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:I}", "Repository", name, "Tag", tag, "Id",
			 e->id, "Created", config_created(e->config), "Size",
			 (json_int_t)image_size(root, e->mf, e->config));
}

int image_list(const char *root, json_t **out, struct err *err)
{
	struct store s;
	json_t *rows;
	size_t i;

	if (store_load(root, &s, err) < 0)
		return -1;
	if (store_load_configs(&s, err) < 0) {
		store_free(&s);
		return -1;
	}
	rows = json_array();
	for (i = 0; i < s.n; i++)
		json_array_append_new(rows, list_row(root, &s.v[i]));
	store_free(&s);
	*out = rows;
	return 0;
}

static json_t *member_or(json_t *obj, const char *key, json_t *dflt)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return dflt;
	json_decref(dflt);
	return json_deep_copy(v);
}

static json_t *inspect_config(json_t *cfg)
{
	json_t *o = json_object();

	json_object_set_new(o, "User", member_or(cfg, "User", json_string("")));
	json_object_set_new(o, "ExposedPorts", member_or(cfg, "ExposedPorts", json_null()));
	json_object_set_new(o, "Env", member_or(cfg, "Env", json_null()));
	json_object_set_new(o, "Cmd", member_or(cfg, "Cmd", json_null()));
	json_object_set_new(o, "Volumes", member_or(cfg, "Volumes", json_null()));
	json_object_set_new(o, "WorkingDir", member_or(cfg, "WorkingDir", json_string("")));
	json_object_set_new(o, "Entrypoint", member_or(cfg, "Entrypoint", json_null()));
	json_object_set_new(o, "Labels", member_or(cfg, "Labels", json_null()));
	json_object_set_new(o, "StopSignal", member_or(cfg, "StopSignal", json_string("")));
	return o;
}

static bool json_array_has_string(json_t *a, const char *v)
{
	json_t *x;
	size_t i;

	json_array_foreach(a, i, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), v))
			return true;
	return false;
}

static json_t *inspect_object(struct store *s, struct store_entry *e)
{
	json_t *cfg = e->config;
	json_t *tags = json_array(), *digests = json_array(), *hist0, *o;
	size_t i;

	for (i = 0; i < s->n; i++) {
		const char *rd = desc_annotation(s->v[i].desc, REPO_DIGEST_ANNOTATION);

		if (strcmp(s->v[i].id, e->id))
			continue;
		if (s->v[i].ref)
			json_array_append_new(tags, json_string(s->v[i].ref));
		if (rd && !json_array_has_string(digests, rd))
			json_array_append_new(digests, json_string(rd));
	}
	hist0 = json_array_get(json_object_get(cfg, "history"), 0);
	o = json_pack("{s:s, s:o, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:I, s:o, s:{s:s, s:o}}",
		"Id", e->id, "RepoTags", tags, "RepoDigests", digests, "Parent", "",
		"Comment", json_is_string(json_object_get(cfg, "comment"))
			? member_or(cfg, "comment", json_string(""))
			: member_or(hist0, "comment", json_string("")),
		"Created", config_created(cfg),
		"Author", member_or(cfg, "author", json_string("")),
		"Architecture", member_or(cfg, "architecture", json_string("")),
		"Os", member_or(cfg, "os", json_string("")),
		"Size", (json_int_t)image_size(s->root, e->mf, cfg),
		"Config", inspect_config(json_object_get(cfg, "config")),
		"RootFS", "Type", "layers",
		"Layers", member_or(json_object_get(cfg, "rootfs"), "diff_ids", json_array()));
	/* Docker's omitempty platform fields, and what the image needs of its kernel
	 * (import -c 'ARCH amd64/v2', 'OS.VERSION 6.1', 'OS.FEATURES io_uring'). */
	if (json_is_string(json_object_get(cfg, "variant")))
		json_object_set(o, "Variant", json_object_get(cfg, "variant"));
	if (json_is_string(json_object_get(cfg, "os.version")))
		json_object_set(o, "OsVersion", json_object_get(cfg, "os.version"));
	if (json_is_array(json_object_get(cfg, "os.features")))
		json_object_set(o, "OsFeatures", json_object_get(cfg, "os.features"));
	return o;
}

int image_inspect(const char *root, const char *ref, json_t **out, struct err *err)
{
	struct store s;
	bool by_name;
	size_t i;
	int r;

	if (store_load(root, &s, err) < 0)
		return -1;
	r = store_find(&s, ref, &i, &by_name, err);
	if (r == 0)
		r = blob_get_json(root, s.v[i].id, &s.v[i].config, err);
	if (r == 0)
		*out = inspect_object(&s, &s.v[i]);
	store_free(&s);
	return r;
}

/* ---- import ---- */

static int store_init(const char *root, struct err *err)
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

static int store_lock(const char *root, const char *name, int op, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", root, name);

	return lock_path(path, op, err);
}

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
			json_object_del(json_object_get(d, "annotations"), REF_ANNOTATION);
			if (json_object_size(json_object_get(d, "annotations")) == 0)
				json_object_del(d, "annotations");
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

static json_t *descriptor(const char *media, const char *digest, size_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media, "digest", digest, "size",
			 (json_int_t)size);
}

static int put_json(const char *root, json_t *j, char **digest, size_t *size,
		    struct err *err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);

	if (!s)
		return err_set(err, "encode JSON blob");
	*size = strlen(s);
	return blob_put(root, s, *size, digest, err);
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
	if (put_json(root, cfg, &id, &csize, err) < 0)
		return -1;
	mf = json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
		       MEDIA_MANIFEST, "config", descriptor(MEDIA_CONFIG, id, csize),
		       "layers", layer);
	if (put_json(root, mf, &mdigest, &msize, err) < 0)
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

/* Delete the files of a removed image that no remaining image names. */
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

/* mfs: {"digest", "mf"} of every manifest the removed image had (one image
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

	json_object_del(json_object_get(d, "annotations"), REF_ANNOTATION);
	if (json_object_size(json_object_get(d, "annotations")) == 0)
		json_object_del(d, "annotations");
	return d;
}

/* rmi NAME@sha256:...: that RepoDigests entry goes; a descriptor left with
 * neither a tag nor a repo digest goes with it. 0 if handled, 1 when no
 * descriptor carries it (the name matched a tag: removal by ID applies). */
static int remove_digest_ref(struct store *s, const char *ref, unsigned flags,
			     json_t *report, bool *gone, const char *id, struct err *err)
{
	const char *at = strchr(ref, '@');
	_cleanup_free_ char *name = xasprintf("%.*s", (int)(at - ref), ref);
	_cleanup_free_ char *full = NULL, *norm = NULL, *tag = NULL, *want = NULL;
	_cleanup_json_ json_t *kept = json_array();
	bool found = false;
	json_t *d;
	size_t i;

	if (image_ref_normalize(name, &full, err) < 0)
		return -1;
	image_ref_split(full, &norm, &tag);
	want = xasprintf("%s@%s", norm, at + 1);
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

	if (store_load(root, &s, err) < 0)
		return -1;
	r = store_find(&s, ref, &hit, &by_name, err);
	if (r == 0)
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

/* ---- images from registries and archives ---- */

int image_store_lock_shared(const char *root, struct err *err)
{
	if (store_init(root, err) < 0)
		return err_wrap(err, "image store %s", root);
	return store_lock(root, "layers.lock", LOCK_SH, err);
}

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
	bool by_name;
	size_t i;
	int r;

	if (image_ref_normalize(target, &norm, err) < 0)
		return -1;
	lock = store_lock(root, "images.lock", LOCK_EX, err);
	if (lock < 0)
		return -1;
	if (store_load(root, &s, err) < 0)
		return -1;
	r = store_find(&s, source, &i, &by_name, err);
	if (r == 0) {
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
	}
	store_free(&s);
	return r;
}

/* ---- history ---- */

/* Content bytes of layer i of an image: recorded at import, else measured. */
static long long layer_size_at(const char *root, json_t *mf, json_t *config, size_t i)
{
	json_t *l = json_array_get(json_object_get(mf, "layers"), i);
	const char *s = json_string_value(json_object_get(json_object_get(l, "annotations"),
							  SIZE_ANNOTATION));
	const char *diff = json_string_value(json_array_get(
		json_object_get(json_object_get(config, "rootfs"), "diff_ids"), i));
	_cleanup_free_ char *dir = NULL;
	unsigned long long n = 0;
	struct err ignored;

	if (s)
		return strtoll(s, NULL, 10);
	if (!digest_valid(diff))
		return 0;
	dir = layer_dir(root, diff);
	if (layer_disk_usage(dir, &n, &ignored) < 0)
		return 0;
	return (long long)n;
}

static long long created_sec(const char *s)
{
	long long sec = 0;
	long nsec;

	if (!s || time_parse_rfc3339(s, &sec, &nsec) < 0)
		return 0;
	return sec;
}

static json_t *history_row(const char *created, const char *by, long long size,
			   const char *comment)
{
	return json_pack("{s:s, s:I, s:s, s:n, s:I, s:s}", "Id", "<missing>", "Created",
			 (json_int_t)created_sec(created), "CreatedBy", by ? by : "", "Tags",
			 "Size", (json_int_t)size, "Comment", comment ? comment : "");
}

/* Rows oldest first: one per history entry, a layer's size on the entries
 * that made one; without a history, one row per layer. */
static json_t *history_rows(const char *root, json_t *mf, json_t *config)
{
	json_t *hist = json_object_get(config, "history"), *h, *rows = json_array();
	size_t i, layer = 0;

	json_array_foreach(hist, i, h) {
		bool empty = json_is_true(json_object_get(h, "empty_layer"));
		long long size = empty ? 0 : layer_size_at(root, mf, config, layer++);

		json_array_append_new(rows, history_row(
			json_string_value(json_object_get(h, "created")),
			json_string_value(json_object_get(h, "created_by")), size,
			json_string_value(json_object_get(h, "comment"))));
	}
	if (json_array_size(hist) == 0) {
		size_t n = json_array_size(json_object_get(mf, "layers"));

		for (i = 0; i < n; i++)
			json_array_append_new(rows, history_row(config_created(config), "",
								layer_size_at(root, mf, config, i),
								""));
	}
	return rows;
}

int image_history(const char *root, const char *ref, json_t **out, struct err *err)
{
	_cleanup_json_ json_t *config = NULL;
	json_t *rows, *top, *tags;
	struct store s;
	bool by_name;
	size_t i, n;
	int r;

	if (store_load(root, &s, err) < 0)
		return -1;
	r = store_find(&s, ref, &i, &by_name, err);
	if (r == 0)
		r = blob_get_json(root, s.v[i].id, &config, err);
	if (r < 0) {
		store_free(&s);
		return -1;
	}
	rows = history_rows(root, s.v[i].mf, config);
	/* Newest first; the newest row is the image itself, with its tags. */
	*out = json_array();
	for (n = json_array_size(rows); n > 0; n--)
		json_array_append(*out, json_array_get(rows, n - 1));
	json_decref(rows);
	top = json_array_get(*out, 0);
	if (top) {
		size_t j;

		tags = json_array();
		for (j = 0; j < s.n; j++)
			if (s.v[j].ref && !strcmp(s.v[j].id, s.v[i].id))
				json_array_append_new(tags, json_string(s.v[j].ref));
		json_object_set_new(top, "Id", json_string(s.v[i].id));
		json_object_set_new(top, "Tags", json_array_size(tags) ? tags : json_null());
		if (!json_array_size(tags))
			json_decref(tags);
	}
	store_free(&s);
	return 0;
}

/* ---- what save needs ---- */

int image_describe(const char *root, const char *ref, json_t **out, struct err *err)
{
	struct store s;
	bool by_name;
	size_t i;
	int r;

	if (store_load(root, &s, err) < 0)
		return -1;
	r = store_find(&s, ref, &i, &by_name, err);
	if (r == 0) {
		json_t *tags = json_array();

		if (by_name)
			json_array_append_new(tags, json_string(s.v[i].ref));
		/* A bare repository name means every tag of it, as docker save does. */
		*out = json_pack("{s:s, s:s, s:O, s:o}", "Id", s.v[i].id, "Manifest",
				 s.v[i].manifest, "ManifestJSON", s.v[i].mf, "RepoTags", tags);
		json_object_set(*out, "MediaType", json_object_get(s.v[i].desc, "mediaType"));
		json_object_set(*out, "Size", json_object_get(s.v[i].desc, "size"));
	}
	store_free(&s);
	return r;
}

int image_repo_tags(const char *root, const char *name, json_t **out, struct err *err)
{
	struct store s;
	size_t i;

	if (store_load(root, &s, err) < 0)
		return -1;
	*out = json_array();
	for (i = 0; i < s.n; i++) {
		_cleanup_free_ char *n = NULL;
		_cleanup_free_ char *t = NULL;

		if (!s.v[i].ref)
			continue;
		image_ref_split(s.v[i].ref, &n, &t);
		if (!strcmp(n, name))
			json_array_append_new(*out, json_string(s.v[i].ref));
	}
	store_free(&s);
	return 0;
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
