/* docker load: an image archive is read once into a staging directory
 * (ROOT/.load-XXXXXX), every member hashed on the way; the images it
 * describes are checked whole (every blob present, sizes and digests right)
 * before anything enters the store; then blobs move in, layers are unpacked
 * (each must hash to its diff id) and the images are named. Whatever a
 * failure leaves in the store is taken out again. */
#include "image_archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/archive_dl.h"
#include "engine/blob.h"
#include "engine/digest.h"
#include "engine/image.h"
#include "engine/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define INDEX_DEPTH_MAX 4

/* One regular file of the archive, staged under its number. */
struct member {
	char *name;                  /* normalized path inside the archive */
	char *link;                  /* a legacy layer.tar symlink: the member it names, or NULL */
	char digest[DIGEST_STR_LEN];
	long long size;
};

/* One image to load: blobs by digest, and what names it. */
struct plan_image {
	char config[DIGEST_STR_LEN];
	char manifest[DIGEST_STR_LEN];   /* "" for docker archives: written at commit */
	size_t n_layers;
	char (*blobs)[DIGEST_STR_LEN];   /* layer blobs, bottom first */
	char (*diff_ids)[DIGEST_STR_LEN];
	json_t *tags;                    /* normalized "name:tag" strings */
};

struct load {
	const char *root;
	char *stage;                 /* ROOT/.load-XXXXXX */
	struct member *m;
	size_t n, cap;
	json_t *names;               /* member name -> index, so lookups stay O(1) */
	struct plan_image *img;
	size_t n_img;
	json_t *added_blobs;         /* digests this load put in the store */
	json_t *added_layers;        /* diff ids this load unpacked */
};

/* ---- reading the archive ---- */

static char *staged_path(struct load *l, size_t i)
{
	return xasprintf("%s/m%zu", l->stage, i);
}

static size_t member_find_raw(struct load *l, const char *name)
{
	json_t *i = json_object_get(l->names, name);

	return i ? (size_t)json_integer_value(i) : SIZE_MAX;
}

/* The regular member name stands for: itself, or what its link names (one hop). */
static size_t member_find(struct load *l, const char *name)
{
	size_t i = member_find_raw(l, name);

	if (i != SIZE_MAX && l->m[i].link) {
		i = member_find_raw(l, l->m[i].link);
		if (i != SIZE_MAX && l->m[i].link)
			return SIZE_MAX;
	}
	return i;
}

/* "./a//b" -> "a/b"; NULL for names that are absolute or climb out. */
static char *name_normalize(const char *name)
{
	char *out, *o;
	const char *p = name;

	if (!layer_path_safe(name))
		return NULL;
	out = o = xmalloc(strlen(name) + 1);
	while (*p) {
		size_t n = strcspn(p, "/");

		if (!(n == 1 && p[0] == '.') && n > 0) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, n);
			o += n;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	*o = '\0';
	return out;
}

static struct member *member_new(struct load *l, char *name)
{
	struct member *m;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->m = realloc(l->m, l->cap * sizeof(*l->m));
		if (!l->m)
			abort();
	}
	json_object_set_new(l->names, name, json_integer((json_int_t)l->n));
	m = &l->m[l->n++];
	memset(m, 0, sizeof(*m));
	m->name = name;
	return m;
}

static int read_fail(struct archive *a, struct err *err)
{
	const char *msg = archive_error_string(a);

	return err_set(err, "invalid image archive: %s", msg ? msg : "unexpected end of data");
}

/* A regular member: to its staged file, hashed; a blob's name must be its digest. */
static int stage_regular(struct load *l, struct archive *a, struct member *m, struct err *err)
{
	_cleanup_free_ char *path = staged_path(l, l->n - 1);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	char buf[64 * 1024];
	struct digest dg = { 0 };
	la_ssize_t n;

	if (fd < 0)
		return err_sys(err, errno, "create %s", path);
	digest_init(&dg, err);
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if (write_all(fd, buf, (size_t)n) < 0) {
			digest_free(&dg);
			if (errno == ENOSPC)
				return err_kind(err, ERR_RUNTIME, "load into %s: no space left on "
						"device", l->root);
			return err_sys(err, errno, "write %s", path);
		}
		digest_update(&dg, buf, (size_t)n);
		m->size += n;
	}
	if (n < 0) {
		digest_free(&dg);
		return read_fail(a, err);
	}
	if (digest_final(&dg, m->digest, err) < 0)
		return -1;
	if (!strncmp(m->name, "blobs/", 6)) {
		const char *hex = m->name + strlen("blobs/sha256/");

		if (strncmp(m->name, "blobs/sha256/", 13) || strchr(hex, '/'))
			return err_set(err, "invalid image archive: unsupported blob '%s'", m->name);
		if (strcmp(hex, digest_hex(m->digest)))
			return err_set(err, "invalid image archive: blob sha256:%s failed "
				       "verification: its content hashes to %s", hex, m->digest);
	}
	return 0;
}

/* docker 20.10 and podman link a layer.tar to the copy they already wrote
 * ("<id>/layer.tar" -> "../<other>/layer.tar" or "../<hex>.tar"). Only that is
 * accepted, as an alias inside the archive; no link enters the store, and
 * none may sit among the blobs. */
static int stage_symlink(struct archive_entry *e, struct member *m, struct err *err)
{
	const char *target = archive_entry_symlink(e);
	const char *slash = strchr(m->name, '/');
	char *norm = NULL;

	if (!target || !slash || strchr(slash + 1, '/') || strcmp(slash + 1, "layer.tar") ||
	    !strncmp(m->name, "blobs/", 6) || strncmp(target, "../", 3))
		goto refuse;
	/* m is "<id>/layer.tar": its "../" is the archive's top. */
	norm = name_normalize(target + 3);
	if (!norm || !*norm || !strncmp(norm, "blobs/", 6)) {
		free(norm);
		goto refuse;
	}
	m->link = norm;
	return 0;
refuse:
	return err_set(err, "invalid image archive: refusing link '%s' -> '%s': links are not "
		       "allowed in an image archive", m->name, target ? target : "");
}

static int stage_entry(struct load *l, struct archive *a, struct archive_entry *e,
		       struct err *err)
{
	const char *raw = archive_entry_pathname(e);
	char *name = raw ? name_normalize(raw) : NULL;
	unsigned type = archive_entry_filetype(e);
	struct member *m;

	if (!name)
		return err_set(err, "invalid image archive: refusing member '%s': it points "
			       "outside the archive", raw ? raw : "");
	if (type == AE_IFDIR || !*name) {
		free(name);
		return 0;
	}
	if (member_find_raw(l, name) != SIZE_MAX) {
		int r = err_set(err, "invalid image archive: member '%s' appears twice", name);

		free(name);
		return r;
	}
	if (l->n >= ARCHIVE_MEMBERS_MAX) {
		free(name);
		return err_set(err, "invalid image archive: more than %d members",
			       ARCHIVE_MEMBERS_MAX);
	}
	m = member_new(l, name);
	if (archive_entry_hardlink(e))
		return err_set(err, "invalid image archive: refusing hard link '%s': links are "
			       "not allowed in an image archive", name);
	if (type == AE_IFLNK)
		return stage_symlink(e, m, err);
	if (type != AE_IFREG)
		return err_set(err, "invalid image archive: member '%s' is not a regular file",
			       name);
	return stage_regular(l, a, m, err);
}

static int load_read(struct load *l, int fd, struct err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = 0, rr;

	if (!a)
		return err_set(err, "libarchive: out of memory");
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
		r = read_fail(a, err);
	while (r == 0 && ((rr = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
			  rr == ARCHIVE_WARN))
		r = stage_entry(l, a, e, err);
	if (r == 0 && rr != ARCHIVE_EOF)
		r = read_fail(a, err);
	archive_read_free(a);
	return r;
}

/* ---- what the archive describes ---- */

static int member_json(struct load *l, size_t i, json_t **out, struct err *err)
{
	_cleanup_free_ char *path = staged_path(l, i);
	_cleanup_free_ char *data = NULL;
	json_error_t je;
	size_t len = 0;

	if (l->m[i].size > (long long)ARCHIVE_JSON_MAX)
		return err_set(err, "invalid image archive: %s is too large (%lld bytes) for a "
			       "JSON document", l->m[i].name, l->m[i].size);
	if (read_file(path, ARCHIVE_JSON_MAX, &data, &len, err) < 0)
		return -1;
	*out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return err_set(err, "invalid image archive: %s: %s", l->m[i].name, je.text);
	return 0;
}

static size_t member_by_name(struct load *l, const char *name, struct err *err)
{
	_cleanup_free_ char *norm = name ? name_normalize(name) : NULL;
	size_t i = norm ? member_find(l, norm) : SIZE_MAX;

	if (i == SIZE_MAX)
		err_set(err, "invalid image archive: it names '%s', which it does not hold",
			name ? name : "");
	return i;
}

static size_t member_by_digest(struct load *l, const char *digest, long long size,
			       struct err *err)
{
	_cleanup_free_ char *name = NULL;
	size_t i;

	if (!digest_valid(digest)) {
		err_set(err, "invalid image archive: invalid digest '%s'", digest ? digest : "");
		return SIZE_MAX;
	}
	name = xasprintf("blobs/sha256/%s", digest_hex(digest));
	i = member_find(l, name);
	if (i == SIZE_MAX)
		err_set(err, "invalid image archive: blob %s is missing", digest);
	else if (size >= 0 && l->m[i].size != size)
		err_set(err, "invalid image archive: blob %s is %lld bytes, its descriptor "
			"says %lld", digest, l->m[i].size, size);
	else
		return i;
	return SIZE_MAX;
}

/* The config's diff ids, n of them, checked. */
static int config_diff_ids(struct load *l, size_t ci, size_t n, struct plan_image *p,
			   struct err *err)
{
	_cleanup_json_ json_t *cfg = NULL;
	json_t *ids, *v;
	size_t i;

	if (member_json(l, ci, &cfg, err) < 0)
		return -1;
	ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (!json_is_object(cfg) || !json_is_array(ids) || json_array_size(ids) != n)
		return err_set(err, "invalid image archive: config %s lists %zu layers, the "
			       "image %zu", l->m[ci].name, json_array_size(ids), n);
	snprintf(p->config, sizeof(p->config), "%s", l->m[ci].digest);
	p->n_layers = n;
	p->blobs = xmalloc(sizeof(*p->blobs) * (n + 1));
	p->diff_ids = xmalloc(sizeof(*p->diff_ids) * (n + 1));
	json_array_foreach(ids, i, v) {
		if (!digest_valid(json_string_value(v)))
			return err_set(err, "invalid image archive: config %s has an invalid "
				       "diff id", l->m[ci].name);
		snprintf(p->diff_ids[i], DIGEST_STR_LEN, "%s", json_string_value(v));
	}
	return 0;
}

static struct plan_image *plan_new(struct load *l, struct err *err)
{
	struct plan_image *p;

	if (l->n_img >= ARCHIVE_IMAGES_MAX) {
		err_set(err, "invalid image archive: more than %d images", ARCHIVE_IMAGES_MAX);
		return NULL;
	}
	l->img = realloc(l->img, (l->n_img + 1) * sizeof(*l->img));
	if (!l->img)
		abort();
	p = &l->img[l->n_img++];
	memset(p, 0, sizeof(*p));
	p->tags = json_array();
	return p;
}

static int plan_tag(struct plan_image *p, const char *ref, struct err *err)
{
	char *norm = NULL;

	if (image_ref_normalize(ref, &norm, err) < 0)
		return err_wrap(err, "invalid image archive: image name");
	json_array_append_new(p->tags, json_string(norm));
	free(norm);
	return 0;
}

/* docker 25's archives hold the image's own manifest too (index.json): keep
 * it, and so its digest, when it names exactly this config and these layers. */
static void plan_reuse_manifest(struct load *l, struct plan_image *p)
{
	_cleanup_json_ json_t *idx = NULL;
	size_t ii = member_find(l, "index.json"), i, j;
	struct err ignored;
	json_t *d;

	if (ii == SIZE_MAX || member_json(l, ii, &idx, &ignored) < 0)
		return;
	json_array_foreach(json_object_get(idx, "manifests"), i, d) {
		_cleanup_json_ json_t *mf = NULL;
		const char *media = json_string_value(json_object_get(d, "mediaType"));
		size_t mi = member_by_digest(l, json_string_value(json_object_get(d, "digest")),
					     json_integer_value(json_object_get(d, "size")), &ignored);
		json_t *layers;
		bool same;

		if (mi == SIZE_MAX || !media || (strcmp(media, MEDIA_OCI_MANIFEST) &&
						 strcmp(media, MEDIA_DOCKER_MANIFEST)) ||
		    member_json(l, mi, &mf, &ignored) < 0)
			continue;
		layers = json_object_get(mf, "layers");
		same = json_is_array(layers) && json_array_size(layers) == p->n_layers &&
		       !strcmp(json_string_value(json_object_get(json_object_get(mf, "config"),
								 "digest")) ?: "", p->config);
		for (j = 0; same && j < p->n_layers; j++)
			same = !strcmp(json_string_value(json_object_get(
				json_array_get(layers, j), "digest")) ?: "", p->blobs[j]);
		if (same) {
			snprintf(p->manifest, sizeof(p->manifest), "%s", l->m[mi].digest);
			return;
		}
	}
}

static int plan_docker_item(struct load *l, json_t *item, struct err *err)
{
	json_t *layers = json_object_get(item, "Layers"), *tags = json_object_get(item, "RepoTags");
	struct plan_image *p = plan_new(l, err);
	size_t ci, i;
	json_t *v;

	if (!p)
		return -1;
	if (!json_is_array(layers) || json_array_size(layers) > 1024 ||
	    (tags && !json_is_null(tags) && !json_is_array(tags)))
		return err_set(err, "invalid image archive: manifest.json has a malformed entry");
	ci = member_by_name(l, json_string_value(json_object_get(item, "Config")), err);
	if (ci == SIZE_MAX || config_diff_ids(l, ci, json_array_size(layers), p, err) < 0)
		return -1;
	json_array_foreach(layers, i, v) {
		size_t li = member_by_name(l, json_string_value(v), err);

		if (li == SIZE_MAX)
			return -1;
		snprintf(p->blobs[i], DIGEST_STR_LEN, "%s", l->m[li].digest);
	}
	plan_reuse_manifest(l, p);
	json_array_foreach(tags, i, v)
		if (!json_is_string(v) || plan_tag(p, json_string_value(v), err) < 0)
			return json_is_string(v) ? -1 : err_set(err, "invalid image archive: "
								"a RepoTags entry is not a string");
	return 0;
}

static int plan_docker(struct load *l, size_t mi, struct err *err)
{
	_cleanup_json_ json_t *list = NULL;
	json_t *item;
	size_t i;

	if (member_json(l, mi, &list, err) < 0)
		return -1;
	if (!json_is_array(list) || json_array_size(list) == 0)
		return err_set(err, "invalid image archive: manifest.json lists no images");
	json_array_foreach(list, i, item)
		if (plan_docker_item(l, item, err) < 0)
			return -1;
	return 0;
}

/* docker.io/library/busybox:1 -> busybox:1; a bare tag ("latest") names no image. */
static char *oci_ref_name(json_t *desc)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *full = json_string_value(json_object_get(ann, "io.containerd.image.name"));
	const char *ref = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
	const char *s = full ? full : ref;

	if (!s || (!full && !strchr(s, ':') && !strchr(s, '/')))
		return NULL;
	if (!strncmp(s, "docker.io/library/", 18))
		s += 18;
	else if (!strncmp(s, "docker.io/", 10))
		s += 10;
	return xstrdup(s);
}

static bool platform_wanted(json_t *desc)
{
	json_t *p = json_object_get(desc, "platform");
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));

	return !p || ((!os || !strcmp(os, "linux")) && (!arch || !strcmp(arch, "amd64")));
}

static int plan_oci_desc(struct load *l, json_t *desc, const char *ref, int depth,
			 struct err *err);

static int plan_oci_manifest(struct load *l, size_t mi, const char *ref, struct err *err)
{
	_cleanup_json_ json_t *mf = NULL;
	json_t *cfg, *layers, *v;
	struct plan_image *p;
	size_t ci, i;

	if (member_json(l, mi, &mf, err) < 0)
		return -1;
	cfg = json_object_get(mf, "config");
	layers = json_object_get(mf, "layers");
	if (!json_is_object(cfg) || !json_is_array(layers) || json_array_size(layers) > 1024)
		return err_set(err, "invalid image archive: manifest %s is malformed",
			       l->m[mi].digest);
	ci = member_by_digest(l, json_string_value(json_object_get(cfg, "digest")),
			      json_integer_value(json_object_get(cfg, "size")), err);
	p = ci == SIZE_MAX ? NULL : plan_new(l, err);
	if (!p || config_diff_ids(l, ci, json_array_size(layers), p, err) < 0)
		return -1;
	snprintf(p->manifest, sizeof(p->manifest), "%s", l->m[mi].digest);
	json_array_foreach(layers, i, v) {
		size_t li = member_by_digest(l, json_string_value(json_object_get(v, "digest")),
					     json_integer_value(json_object_get(v, "size")), err);

		if (li == SIZE_MAX)
			return -1;
		snprintf(p->blobs[i], DIGEST_STR_LEN, "%s", l->m[li].digest);
	}
	return ref ? plan_tag(p, ref, err) : 0;
}

/* An index: the linux/amd64 entry (the first, when several match). */
static int plan_oci_index(struct load *l, size_t mi, const char *ref, int depth,
			  struct err *err)
{
	_cleanup_json_ json_t *idx = NULL;
	json_t *list, *d;
	size_t i;

	if (member_json(l, mi, &idx, err) < 0)
		return -1;
	list = json_object_get(idx, "manifests");
	if (!json_is_array(list) || json_array_size(list) > 1024)
		return err_set(err, "invalid image archive: index %s is malformed", l->m[mi].digest);
	json_array_foreach(list, i, d)
		if (platform_wanted(d))
			return plan_oci_desc(l, d, ref, depth + 1, err);
	return err_set(err, "no matching manifest for linux/amd64 in the manifest list entries");
}

static int plan_oci_desc(struct load *l, json_t *desc, const char *ref, int depth,
			 struct err *err)
{
	const char *media = json_string_value(json_object_get(desc, "mediaType"));
	size_t mi;

	if (depth > INDEX_DEPTH_MAX)
		return err_set(err, "invalid image archive: indexes nested more than %d deep",
			       INDEX_DEPTH_MAX);
	mi = member_by_digest(l, json_string_value(json_object_get(desc, "digest")),
			      json_integer_value(json_object_get(desc, "size")), err);
	if (mi == SIZE_MAX)
		return -1;
	if (media && (!strcmp(media, MEDIA_OCI_INDEX) || !strcmp(media, MEDIA_DOCKER_LIST)))
		return plan_oci_index(l, mi, ref, depth, err);
	if (media && strcmp(media, MEDIA_OCI_MANIFEST) && strcmp(media, MEDIA_DOCKER_MANIFEST))
		return err_set(err, "invalid image archive: unsupported media type '%s'", media);
	return plan_oci_manifest(l, mi, ref, err);
}

static int plan_oci(struct load *l, size_t ii, struct err *err)
{
	_cleanup_json_ json_t *idx = NULL;
	json_t *list, *d;
	size_t i;

	if (member_json(l, ii, &idx, err) < 0)
		return -1;
	list = json_object_get(idx, "manifests");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return err_set(err, "invalid image archive: index.json lists no manifests");
	json_array_foreach(list, i, d) {
		_cleanup_free_ char *ref = oci_ref_name(d);

		if (plan_oci_desc(l, d, ref, 0, err) < 0)
			return -1;
	}
	return 0;
}

static int load_plan(struct load *l, struct err *err)
{
	size_t mi = member_find(l, "manifest.json"), ii = member_find(l, "index.json");

	if (mi != SIZE_MAX)
		return plan_docker(l, mi, err);
	if (ii != SIZE_MAX)
		return plan_oci(l, ii, err);
	return err_set(err, "invalid image archive: it has neither manifest.json (docker) nor "
		       "index.json (OCI)");
}

/* ---- into the store ---- */

static bool json_has(json_t *a, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

static int blob_move_in(struct load *l, const char *digest, struct err *err)
{
	_cleanup_free_ char *from = NULL;
	_cleanup_free_ char *to = NULL;
	_cleanup_close_ int fd = -1;
	size_t i;

	if (blob_exists(l->root, digest))
		return 0;
	for (i = 0; i < l->n; i++)
		if (!l->m[i].link && !strcmp(l->m[i].digest, digest))
			break;
	if (i == l->n)
		return err_set(err, "load: blob %s is missing", digest);
	from = staged_path(l, i);
	to = blob_path(l->root, digest);
	fd = open(from, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return err_sys(err, errno, "sync %s", from);
	if (rename(from, to) < 0)
		return err_sys(err, errno, "rename %s", from);
	json_array_append_new(l->added_blobs, json_string(digest));
	return 0;
}

static const char *layer_media_type(struct load *l, const char *digest)
{
	_cleanup_free_ char *path = blob_path(l->root, digest);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char b[4] = { 0 };

	if (fd >= 0 && read(fd, b, sizeof(b)) == (ssize_t)sizeof(b)) {
		if (b[0] == 0x1f && b[1] == 0x8b)
			return "application/vnd.oci.image.layer.v1.tar+gzip";
		if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
			return "application/vnd.oci.image.layer.v1.tar+zstd";
	}
	return "application/vnd.oci.image.layer.v1.tar";
}

static long long blob_size(const char *root, const char *digest)
{
	_cleanup_free_ char *path = blob_path(root, digest);
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* A docker archive has no manifest: write an OCI one. */
static int manifest_write(struct load *l, struct plan_image *p, struct err *err)
{
	_cleanup_json_ json_t *mf = NULL;
	_cleanup_free_ char *text = NULL;
	char *digest = NULL;
	bool had;
	size_t i;

	mf = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
		       MEDIA_OCI_MANIFEST, "config", "mediaType", MEDIA_OCI_CONFIG, "digest",
		       p->config, "size", (json_int_t)blob_size(l->root, p->config), "layers");
	for (i = 0; i < p->n_layers; i++)
		json_array_append_new(json_object_get(mf, "layers"),
				      json_pack("{s:s, s:s, s:I}", "mediaType",
						layer_media_type(l, p->blobs[i]), "digest",
						p->blobs[i], "size",
						(json_int_t)blob_size(l->root, p->blobs[i])));
	text = json_dumps(mf, JSON_COMPACT);
	if (!text)
		return err_set(err, "load: encode manifest");
	if (digest_buffer(text, strlen(text), p->manifest, err) < 0)
		return -1;
	had = blob_exists(l->root, p->manifest);
	if (blob_put(l->root, text, strlen(text), &digest, err) < 0)
		return -1;
	free(digest);
	if (!had)
		json_array_append_new(l->added_blobs, json_string(p->manifest));
	return 0;
}

static int commit_image(struct load *l, struct plan_image *p, struct err *err)
{
	struct layer_info li;
	size_t i;

	if (blob_move_in(l, p->config, err) < 0)
		return -1;
	for (i = 0; i < p->n_layers; i++) {
		if (blob_move_in(l, p->blobs[i], err) < 0)
			return -1;
		if (layer_present(l->root, p->diff_ids[i]))
			continue;
		if (layer_unpack_blob(l->root, p->blobs[i], p->diff_ids[i], &li, err) < 0)
			return -1;
		json_array_append_new(l->added_layers, json_string(p->diff_ids[i]));
	}
	if (!*p->manifest)
		return manifest_write(l, p, err);
	return blob_move_in(l, p->manifest, err);
}

static int name_image(struct load *l, struct plan_image *p, json_t *loaded, struct err *err)
{
	json_t *t;
	size_t i;

	json_array_foreach(p->tags, i, t) {
		_cleanup_free_ char *old = NULL;
		struct err ignored;

		/* docker says when a name moves off another image. */
		if (image_resolve_id(l->root, json_string_value(t), &old, &ignored) == 0 &&
		    strcmp(old, p->config))
			json_array_append_new(loaded, json_pack("{s:s, s:s}", "Renamed",
								json_string_value(t), "Old", old));
		if (image_store_add(l->root, json_string_value(t), p->manifest, NULL, err) < 0)
			return -1;
		if (!json_has(loaded, json_string_value(t)))
			json_array_append(loaded, t);
	}
	if (json_array_size(p->tags))
		return 0;
	if (image_store_add(l->root, NULL, p->manifest, NULL, err) < 0)
		return -1;
	if (!json_has(loaded, p->config))
		json_array_append_new(loaded, json_string(p->config));
	return 0;
}

/* Take out what a failed load put in (nothing names it yet). */
static void load_rollback(struct load *l)
{
	json_t *v;
	size_t i;

	json_array_foreach(l->added_layers, i, v) {
		_cleanup_free_ char *dir = layer_dir(l->root, json_string_value(v));
		_cleanup_free_ char *trash = xasprintf("%s/layers/.rm-%s", l->root,
						       digest_hex(json_string_value(v)));
		struct err ignored;

		if (rename(dir, trash) == 0)
			rm_rf(trash, &ignored);
	}
	json_array_foreach(l->added_blobs, i, v) {
		_cleanup_free_ char *path = blob_path(l->root, json_string_value(v));

		unlink(path);
	}
}

static int load_commit(struct load *l, json_t *loaded, struct err *err)
{
	_cleanup_close_ int lock = image_store_lock_shared(l->root, err);
	size_t i;

	if (lock < 0)
		return -1;
	for (i = 0; i < l->n_img; i++)
		if (commit_image(l, &l->img[i], err) < 0) {
			load_rollback(l);
			return -1;
		}
	for (i = 0; i < l->n_img; i++)
		if (name_image(l, &l->img[i], loaded, err) < 0)
			return -1;
	return 0;
}

static void load_free(struct load *l)
{
	struct err ignored;
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->m[i].name);
		free(l->m[i].link);
	}
	free(l->m);
	json_decref(l->names);
	for (i = 0; i < l->n_img; i++) {
		free(l->img[i].blobs);
		free(l->img[i].diff_ids);
		json_decref(l->img[i].tags);
	}
	free(l->img);
	if (l->stage)
		rm_rf(l->stage, &ignored);
	free(l->stage);
	json_decref(l->added_blobs);
	json_decref(l->added_layers);
}

/* A load killed midway leaves its staging directory: whoever finds one whose
 * lock nobody holds removes it. */
static void stage_sweep(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *dir = NULL;
		_cleanup_free_ char *lock = NULL;
		_cleanup_close_ int fd = -1;
		struct err ignored;

		if (strncmp(de->d_name, ".load-", 6))
			continue;
		dir = xasprintf("%s/%s", root, de->d_name);
		lock = xasprintf("%s/lock", dir);
		fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;  /* a load in progress */
		rm_rf(dir, &ignored);
	}
	closedir(d);
}

static int stage_create(struct load *l, int *lock_fd, struct err *err)
{
	_cleanup_free_ char *lock = NULL;

	l->stage = xasprintf("%s/.load-XXXXXX", l->root);
	if (!mkdtemp(l->stage)) {
		int e = errno;

		free(l->stage);
		l->stage = NULL;
		return err_sys(err, e, "create a staging directory in %s", l->root);
	}
	lock = xasprintf("%s/lock", l->stage);
	*lock_fd = lock_path(lock, LOCK_EX, err);
	return *lock_fd < 0 ? -1 : 0;
}

int image_load(const char *root, int fd, json_t *loaded, struct err *err)
{
	struct load l = { .root = root };
	_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", root);
	_cleanup_close_ int stage_lock = -1;
	int r;

	if (archive_dl_load(err) < 0)
		return -1;
	if (mkdir_p(blobs, 0755, err) < 0)
		return -1;
	stage_sweep(root);
	l.names = json_object();
	l.added_blobs = json_array();
	l.added_layers = json_array();
	r = stage_create(&l, &stage_lock, err);
	if (r == 0)
		r = load_read(&l, fd, err);
	if (r == 0 && l.n == 0)
		r = err_set(err, "invalid image archive: it is empty");
	if (r == 0)
		r = load_plan(&l, err);
	if (r == 0)
		r = load_commit(&l, loaded, err);
	load_free(&l);
	return r;
}
