/* docker save: the images' blobs as they are in the store, an OCI image
 * layout over them (oci-layout, index.json), and docker's manifest.json and
 * repositories, as docker 25 and later write them. */
#include "image_archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/archive_dl.h"
#include "engine/digest.h"
#include "engine/image.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define OCI_LAYOUT "{\"imageLayoutVersion\": \"1.0.0\"}"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"

struct save {
	const char *root;
	int fd;
	int write_errno;
	struct archive *tar;
	json_t *images;     /* image_describe objects, one per ID, RepoTags merged */
	json_t *written;    /* blob digests already in the archive */
};

static la_ssize_t save_sink(struct archive *a, void *data, const void *buf, size_t len)
{
	struct save *s = data;

	if (write_all(s->fd, buf, len) < 0) {
		s->write_errno = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

static int save_fail(struct save *s, struct err *err)
{
	const char *msg = archive_error_string(s->tar);

	if (s->write_errno == ENOSPC)
		return err_kind(err, ERR_RUNTIME, "save: no space left on device");
	if (s->write_errno)
		return err_sys(err, s->write_errno, "save: write");
	return err_set(err, "save: %s", msg ? msg : "write failed");
}

static int save_header(struct save *s, const char *name, int type, long long size,
		       struct err *err)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned)type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
	archive_entry_set_mtime(e, 0, 0);
	r = archive_write_header(s->tar, e);
	archive_entry_free(e);
	return r < ARCHIVE_WARN ? save_fail(s, err) : 0;
}

static int save_buffer(struct save *s, const char *name, const char *data, size_t len,
		       struct err *err)
{
	if (save_header(s, name, AE_IFREG, (long long)len, err) < 0)
		return -1;
	if (len && archive_write_data(s->tar, data, len) < 0)
		return save_fail(s, err);
	return 0;
}

static int save_json(struct save *s, const char *name, json_t *j, struct err *err)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);

	if (!text)
		return err_set(err, "save: encode %s", name);
	return save_buffer(s, name, text, strlen(text), err);
}

static bool written(struct save *s, const char *digest)
{
	json_t *v;
	size_t i;

	json_array_foreach(s->written, i, v)
		if (!strcmp(json_string_value(v), digest))
			return true;
	return false;
}

static long long blob_size(const char *root, const char *digest)
{
	_cleanup_free_ char *path = blob_path(root, digest);
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* One blob, streamed from the store; each at most once per archive. */
static int save_blob(struct save *s, const char *digest, struct err *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int fd = -1;
	char buf[64 * 1024];
	struct stat st;
	long long left;
	ssize_t n;

	if (!digest_valid(digest))
		return err_set(err, "save: invalid digest '%s'", digest ? digest : "");
	if (written(s, digest))
		return 0;
	path = blob_path(s->root, digest);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_sys(err, errno, "save: blob %s", digest);
	name = xasprintf("blobs/sha256/%s", digest_hex(digest));
	if (save_header(s, name, AE_IFREG, (long long)st.st_size, err) < 0)
		return -1;
	for (left = (long long)st.st_size; left > 0; left -= n) {
		n = read(fd, buf, left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			return err_sys(err, n < 0 ? errno : EIO, "save: read blob %s", digest);
		if (archive_write_data(s->tar, buf, (size_t)n) < 0)
			return save_fail(s, err);
	}
	json_array_append_new(s->written, json_string(digest));
	return 0;
}

static json_t *image_layers(json_t *img)
{
	return json_object_get(json_object_get(img, "ManifestJSON"), "layers");
}

/* A compressed layer blob, decompressed: counted (to, NULL) or written. */
static int raw_pass(struct save *s, const char *blob, bool write, long long *n,
		    struct err *err)
{
	_cleanup_free_ char *path = blob_path(s->root, blob);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char buf[64 * 1024];
	la_ssize_t k;
	int r = 0;

	*n = 0;
	if (fd < 0 || !a) {
		archive_read_free(a);
		return err_sys(err, fd < 0 ? errno : ENOMEM, "save: blob %s", blob);
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, sizeof(buf)) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK)
		r = err_set(err, "save: layer blob %s: %s", blob,
			    archive_error_string(a) ? archive_error_string(a) : "unreadable");
	while (r == 0 && (k = archive_read_data(a, buf, sizeof(buf))) > 0) {
		*n += k;
		if (write && archive_write_data(s->tar, buf, (size_t)k) < 0)
			r = save_fail(s, err);
	}
	if (r == 0 && k < 0)
		r = err_set(err, "save: layer blob %s: %s", blob,
			    archive_error_string(a) ? archive_error_string(a) : "unreadable");
	archive_read_free(a);
	return r;
}

/* docker save writes layers as the plain tars their diff ids name: a
 * compressed blob goes in decompressed (measured first, as a tar header
 * needs the size). size gets the tar's size. */
static int save_layer(struct save *s, const char *blob, const char *diff, long long *size,
		      struct err *err)
{
	_cleanup_free_ char *name = NULL;
	long long again = 0;

	if (!strcmp(blob, diff)) {
		*size = blob_size(s->root, blob);
		return save_blob(s, blob, err);
	}
	if (raw_pass(s, blob, false, size, err) < 0)
		return -1;
	if (written(s, diff))
		return 0;
	name = xasprintf("blobs/sha256/%s", digest_hex(diff));
	if (save_header(s, name, AE_IFREG, *size, err) < 0 ||
	    raw_pass(s, blob, true, &again, err) < 0)
		return -1;
	if (again != *size)
		return err_set(err, "save: layer blob %s changed while it was read", blob);
	json_array_append_new(s->written, json_string(diff));
	return 0;
}

/* The image's manifest as saved: its own when its layers are plain tars,
 * else a new OCI one naming the decompressed layers (img's "Manifest",
 * "Size" and "MediaType" follow it). */
static int save_manifest(struct save *s, json_t *img, json_t *layers, bool converted,
			 struct err *err)
{
	const char *id = json_string_value(json_object_get(img, "Id"));
	_cleanup_json_ json_t *mf = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *name = NULL;
	char digest[DIGEST_STR_LEN];

	if (!converted)
		return save_blob(s, json_string_value(json_object_get(img, "Manifest")), err);
	mf = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
		       MEDIA_OCI_MANIFEST, "config", "mediaType", MEDIA_OCI_CONFIG, "digest", id,
		       "size", (json_int_t)blob_size(s->root, id), "layers", layers);
	text = json_dumps(mf, JSON_COMPACT);
	if (!text || digest_buffer(text, strlen(text), digest, err) < 0)
		return err_set(err, "save: encode manifest");
	json_object_set_new(img, "Manifest", json_string(digest));
	json_object_set_new(img, "Size", json_integer((json_int_t)strlen(text)));
	json_object_set_new(img, "MediaType", json_string(MEDIA_OCI_MANIFEST));
	if (written(s, digest))
		return 0;
	name = xasprintf("blobs/sha256/%s", digest_hex(digest));
	if (save_buffer(s, name, text, strlen(text), err) < 0)
		return -1;
	json_array_append_new(s->written, json_string(digest));
	return 0;
}

static int save_image_blobs(struct save *s, json_t *img, struct err *err)
{
	json_t *ids = json_object_get(json_object_get(json_object_get(img, "Config"), "rootfs"),
				      "diff_ids");
	_cleanup_json_ json_t *layers = json_array();
	bool converted = false;
	json_t *l;
	size_t i;

	if (save_blob(s, json_string_value(json_object_get(img, "Id")), err) < 0)
		return -1;
	if (json_array_size(ids) != json_array_size(image_layers(img)))
		return err_set(err, "save: image %s: its config and manifest disagree on its layers",
			       json_string_value(json_object_get(img, "Id")));
	json_array_foreach(image_layers(img), i, l) {
		const char *blob = json_string_value(json_object_get(l, "digest"));
		const char *diff = json_string_value(json_array_get(ids, i));
		long long size = 0;

		if (!digest_valid(blob) || !digest_valid(diff))
			return err_set(err, "save: image %s has an invalid layer digest",
				       json_string_value(json_object_get(img, "Id")));
		if (save_layer(s, blob, diff, &size, err) < 0)
			return -1;
		converted |= strcmp(blob, diff) != 0;
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType",
							MEDIA_OCI_LAYER, "digest", diff, "size",
							(json_int_t)size));
	}
	return save_manifest(s, img, layers, converted, err);
}

/* docker's full name for containerd's annotation: busybox:1 -> docker.io/library/busybox:1 */
static char *ref_full_name(const char *ref)
{
	const char *slash = strchr(ref, '/');
	size_t first = slash ? (size_t)(slash - ref) : 0;

	if (!slash)
		return xasprintf("docker.io/library/%s", ref);
	if (memchr(ref, '.', first) || memchr(ref, ':', first) ||
	    (first == 9 && !strncmp(ref, "localhost", 9)))
		return xstrdup(ref);
	return xasprintf("docker.io/%s", ref);
}

static json_t *index_entry(json_t *img, const char *ref)
{
	json_t *d = json_pack("{s:O, s:O, s:O}", "mediaType", json_object_get(img, "MediaType"),
			      "digest", json_object_get(img, "Manifest"), "size",
			      json_object_get(img, "Size"));

	if (ref) {
		_cleanup_free_ char *full = ref_full_name(ref);
		_cleanup_free_ char *name = NULL;
		_cleanup_free_ char *tag = NULL;

		image_ref_split(ref, &name, &tag);
		json_object_set_new(d, "annotations",
				    json_pack("{s:s, s:s}", "io.containerd.image.name", full,
					      "org.opencontainers.image.ref.name", tag));
	}
	return d;
}

static json_t *manifest_item(json_t *img)
{
	json_t *tags = json_object_get(img, "RepoTags"), *layers = json_array(), *l;
	const char *id = json_string_value(json_object_get(img, "Id"));
	json_t *ids = json_object_get(json_object_get(json_object_get(img, "Config"), "rootfs"),
				      "diff_ids");
	size_t i;

	json_array_foreach(ids, i, l)
		json_array_append_new(layers, json_sprintf("blobs/sha256/%s",
							   digest_hex(json_string_value(l))));
	return json_pack("{s:o, s:O, s:o}", "Config",
			 json_sprintf("blobs/sha256/%s", digest_hex(id)), "RepoTags",
			 json_array_size(tags) ? tags : json_null(), "Layers", layers);
}

/* repositories: {"name": {"tag": "<top layer's diff id hex>"}}, for old loaders. */
static int repositories_add(json_t *repos, json_t *img)
{
	json_t *ids, *t;
	const char *top;
	size_t i;

	if (!json_array_size(json_object_get(img, "RepoTags")))
		return 0;
	ids = json_object_get(json_object_get(json_object_get(img, "Config"), "rootfs"),
			      "diff_ids");
	top = json_string_value(json_array_get(ids, json_array_size(ids) - 1));
	if (!digest_valid(top))
		return 0;
	json_array_foreach(json_object_get(img, "RepoTags"), i, t) {
		_cleanup_free_ char *name = NULL;
		_cleanup_free_ char *tag = NULL;

		image_ref_split(json_string_value(t), &name, &tag);
		if (!json_object_get(repos, name))
			json_object_set_new(repos, name, json_object());
		json_object_set_new(json_object_get(repos, name), tag,
				    json_string(digest_hex(top)));
	}
	return 0;
}

static int save_layout(struct save *s, struct err *err)
{
	_cleanup_json_ json_t *index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2,
						  "mediaType",
						  "application/vnd.oci.image.index.v1+json",
						  "manifests");
	_cleanup_json_ json_t *manifest = json_array();
	_cleanup_json_ json_t *repos = json_object();
	json_t *img, *t;
	size_t i, j;

	json_array_foreach(s->images, i, img) {
		json_t *tags = json_object_get(img, "RepoTags");

		json_array_foreach(tags, j, t)
			json_array_append_new(json_object_get(index, "manifests"),
					      index_entry(img, json_string_value(t)));
		if (!json_array_size(tags))
			json_array_append_new(json_object_get(index, "manifests"),
					      index_entry(img, NULL));
		json_array_append_new(manifest, manifest_item(img));
		repositories_add(repos, img);
	}
	if (save_json(s, "index.json", index, err) < 0 ||
	    save_json(s, "manifest.json", manifest, err) < 0 ||
	    save_buffer(s, "oci-layout", OCI_LAYOUT, strlen(OCI_LAYOUT), err) < 0)
		return -1;
	if (json_object_size(repos) && save_json(s, "repositories", repos, err) < 0)
		return -1;
	return 0;
}

/* One image per ID; the tags of every argument naming it are merged. */
static void images_add(json_t *images, json_t *img)
{
	json_t *o, *t;
	size_t i, j;

	json_array_foreach(images, i, o) {
		if (!json_equal(json_object_get(o, "Id"), json_object_get(img, "Id")))
			continue;
		json_array_foreach(json_object_get(img, "RepoTags"), j, t) {
			json_t *have = json_object_get(o, "RepoTags"), *x;
			size_t k;
			bool dup = false;

			json_array_foreach(have, k, x)
				dup |= json_equal(x, t);
			if (!dup)
				json_array_append(have, t);
		}
		json_decref(img);
		return;
	}
	json_array_append_new(images, img);
}

static bool ref_is_bare_name(const char *ref)
{
	const char *slash = strrchr(ref, '/');

	return !strchr(ref, '@') && !strchr(slash ? slash : ref, ':');
}

static int save_resolve(const char *root, const char *ref, json_t *images, struct err *err)
{
	_cleanup_json_ json_t *tags = NULL;
	json_t *img, *t;
	size_t i;

	if (ref_is_bare_name(ref) && image_repo_tags(root, ref, &tags, err) == 0 &&
	    json_array_size(tags) > 0) {
		json_array_foreach(tags, i, t) {
			if (image_describe(root, json_string_value(t), &img, err) < 0)
				return -1;
			images_add(images, img);
		}
		return 0;
	}
	if (image_describe(root, ref, &img, err) < 0)
		return -1;
	images_add(images, img);
	return 0;
}

static int image_config_load(struct save *s, json_t *img, struct err *err)
{
	_cleanup_free_ char *data = NULL;
	json_t *cfg;
	size_t len = 0;

	if (blob_get(s->root, json_string_value(json_object_get(img, "Id")), ARCHIVE_JSON_MAX,
		     &data, &len, err) < 0)
		return -1;
	cfg = json_loadb(data, len, 0, NULL);
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		return err_set(err, "save: image config %s is not JSON",
			       json_string_value(json_object_get(img, "Id")));
	}
	json_object_set_new(img, "Config", cfg);
	return 0;
}

static int save_run(struct save *s, struct err *err)
{
	json_t *img;
	size_t i;

	s->tar = archive_write_new();
	if (!s->tar)
		return err_set(err, "libarchive: out of memory");
	archive_write_set_format_pax_restricted(s->tar);
	if (archive_write_open(s->tar, s, NULL, save_sink, NULL) != ARCHIVE_OK)
		return save_fail(s, err);
	if (save_header(s, "blobs/", AE_IFDIR, 0, err) < 0 ||
	    save_header(s, "blobs/sha256/", AE_IFDIR, 0, err) < 0)
		return -1;
	json_array_foreach(s->images, i, img)
		if (image_config_load(s, img, err) < 0 || save_image_blobs(s, img, err) < 0)
			return -1;
	if (save_layout(s, err) < 0)
		return -1;
	if (archive_write_close(s->tar) != ARCHIVE_OK)
		return save_fail(s, err);
	return 0;
}

int image_save(const char *root, const char *const *refs, size_t n, int fd, struct err *err)
{
	struct save s = { .root = root, .fd = fd };
	_cleanup_close_ int lock = -1;
	size_t i;
	int r = 0;

	if (archive_dl_load(err) < 0)
		return -1;
	s.images = json_array();
	s.written = json_array();
	for (i = 0; i < n && r == 0; i++)
		r = save_resolve(root, refs[i], s.images, err);
	/* Shared: rmi and prune wait until every blob is out. */
	if (r == 0)
		r = lock = image_store_lock_shared(root, err);
	if (r >= 0)
		r = save_run(&s, err);
	archive_write_free(s.tar);
	json_decref(s.images);
	json_decref(s.written);
	return r < 0 ? -1 : 0;
}
