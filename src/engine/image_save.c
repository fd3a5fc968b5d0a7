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
	size_t i;
	json_t *v;

	if (!digest_valid(digest))
		return err_set(err, "save: invalid digest '%s'", digest ? digest : "");
	json_array_foreach(s->written, i, v)
		if (!strcmp(json_string_value(v), digest))
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

static int save_image_blobs(struct save *s, json_t *img, struct err *err)
{
	json_t *l;
	size_t i;

	if (save_blob(s, json_string_value(json_object_get(img, "Id")), err) < 0)
		return -1;
	json_array_foreach(image_layers(img), i, l)
		if (save_blob(s, json_string_value(json_object_get(l, "digest")), err) < 0)
			return -1;
	return save_blob(s, json_string_value(json_object_get(img, "Manifest")), err);
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
	size_t i;

	json_array_foreach(image_layers(img), i, l) {
		const char *d = json_string_value(json_object_get(l, "digest"));

		json_array_append_new(layers, json_sprintf("blobs/sha256/%s", digest_hex(d)));
	}
	return json_pack("{s:o, s:O, s:o}", "Config",
			 json_sprintf("blobs/sha256/%s", digest_hex(id)), "RepoTags",
			 json_array_size(tags) ? tags : json_null(), "Layers", layers);
}

/* repositories: {"name": {"tag": "<top layer's diff id hex>"}}, for old loaders. */
static int repositories_add(const char *root, json_t *repos, json_t *img, struct err *err)
{
	_cleanup_free_ char *cfg = NULL;
	_cleanup_json_ json_t *config = NULL;
	json_t *ids, *t;
	const char *top;
	size_t len = 0, i;

	if (!json_array_size(json_object_get(img, "RepoTags")))
		return 0;
	if (blob_get(root, json_string_value(json_object_get(img, "Id")), ARCHIVE_JSON_MAX, &cfg,
		     &len, err) < 0)
		return -1;
	config = json_loadb(cfg, len, 0, NULL);
	ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
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
		if (repositories_add(s->root, repos, img, err) < 0)
			return -1;
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
		if (save_image_blobs(s, img, err) < 0)
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
