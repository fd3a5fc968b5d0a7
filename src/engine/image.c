/* Finding images in the store and describing them: lookup (for run and
 * create), list, inspect, and what save needs. The store itself is
 * image_store.c; adding images image_add.c, removing them image_remove.c. */
#include "image.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "image_store.h"
#include "layer.h"
#include "util/cleanup.h"
#include "util/fs.h"

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
	if (store_load_find(root, ref, &s, &i, &by_name, err) < 0)
		return -1;
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
	size_t i;

	if (store_load_find(root, ref, &s, &i, NULL, err) < 0)
		return -1;
	*id_out = xstrdup(s.v[i].id);
	store_free(&s);
	return 0;
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
	/* the rest of docker's container config, as dockerd 20.10 shows it */
	json_object_update_missing_new(
		o, json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:s, s:n}", "Hostname", "",
			     "Domainname", "", "AttachStdin", 0, "AttachStdout", 0,
			     "AttachStderr", 0, "Tty", 0, "OpenStdin", 0, "StdinOnce", 0, "Image",
			     "", "OnBuild"));
	return o;
}

/* Where the layers are unpacked: the top one as UpperDir, the others
 * (top first) as LowerDir; an image is never mounted, so no MergedDir or
 * WorkDir of its own (empty, as keys). */
static json_t *graph_data(const char *root, json_t *cfg)
{
	json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	json_t *data = json_pack("{s:s, s:s}", "MergedDir", "", "WorkDir", "");
	_cleanup_free_ char *lower = NULL;
	size_t n = json_array_size(ids);

	for (size_t i = n; i-- > 0;) {
		const char *id = json_string_value(json_array_get(ids, i)) ?: "";
		_cleanup_free_ char *dir = xasprintf("%s/layers/%s", root,
						     strchr(id, ':') ? strchr(id, ':') + 1 : id);

		if (i == n - 1) {
			json_object_set_new(data, "UpperDir", json_string(dir));
		} else {
			char *l = lower ? xasprintf("%s:%s", lower, dir) : xstrdup(dir);

			free(lower);
			lower = l;
		}
	}
	if (!n)
		json_object_set_new(data, "UpperDir", json_string(""));
	if (lower)
		json_object_set_new(data, "LowerDir", json_string(lower));
	return data;
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
	/* dockerd 20.10's other keys: the builder's (empty here: no builder),
	 * VirtualSize (the Size), the storage (layers by diff id, unpacked) */
	json_object_set_new(o, "Container", json_string(""));
	json_object_set_new(o, "ContainerConfig", inspect_config(NULL));
	json_object_set_new(o, "DockerVersion", json_string(""));
	json_object_set(o, "VirtualSize", json_object_get(o, "Size"));
	json_object_set_new(o, "GraphDriver", json_pack("{s:s, s:o}", "Name", "overlay2",
							 "Data", graph_data(s->root, cfg)));
	json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime",
						     "0001-01-01T00:00:00Z"));
	return o;
}

int image_inspect(const char *root, const char *ref, json_t **out, struct err *err)
{
	struct store s;
	size_t i;
	int r;

	if (store_load_find(root, ref, &s, &i, NULL, err) < 0)
		return -1;
	r = blob_get_json(root, s.v[i].id, &s.v[i].config, err);
	if (r == 0)
		*out = inspect_object(&s, &s.v[i]);
	store_free(&s);
	return r;
}

/* ---- what save needs ---- */

int image_describe(const char *root, const char *ref, json_t **out, struct err *err)
{
	struct store s;
	bool by_name;
	json_t *tags;
	size_t i;

	if (store_load_find(root, ref, &s, &i, &by_name, err) < 0)
		return -1;
	tags = json_array();
	if (by_name)
		json_array_append_new(tags, json_string(s.v[i].ref));
	/* A bare repository name means every tag of it, as docker save does. */
	*out = json_pack("{s:s, s:s, s:O, s:o}", "Id", s.v[i].id, "Manifest",
			 s.v[i].manifest, "ManifestJSON", s.v[i].mf, "RepoTags", tags);
	json_object_set(*out, "MediaType", json_object_get(s.v[i].desc, "mediaType"));
	json_object_set(*out, "Size", json_object_get(s.v[i].desc, "size"));
	store_free(&s);
	return 0;
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
