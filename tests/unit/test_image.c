/* The image store end to end: import, lookup, list, inspect, remove. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "engine/blob.h"
#include "engine/digest.h"
#include "engine/image.h"
#include "engine/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct fixture {
	char dir[64];
	char *root;
	char *tar_a;   /* bin/sh */
	char *tar_b;   /* etc/motd */
};

static void write_tar(const char *path, const char *name, const char *data)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, (la_int64_t)strlen(data));
	archive_write_header(a, e);
	archive_write_data(a, data, strlen(data));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static int setup(void **state)
{
	struct fixture *f = xmalloc(sizeof(*f));

	strcpy(f->dir, "/tmp/test_image.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->root = xasprintf("%s/root", f->dir);
	f->tar_a = xasprintf("%s/a.tgz", f->dir);
	f->tar_b = xasprintf("%s/b.tgz", f->dir);
	write_tar(f->tar_a, "bin/sh", "#!fake shell\n");
	write_tar(f->tar_b, "etc/motd", "hello\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct err err;

	rm_rf(f->dir, &err);
	free(f->root);
	free(f->tar_a);
	free(f->tar_b);
	free(f);
	return 0;
}

static char *import(struct fixture *f, const char *tar, const char *ref)
{
	const char *changes[] = { "CMD [\"/bin/sh\"]", "WORKDIR /srv" };
	struct err err = { 0 };
	char *id = NULL;

	if (image_import(f->root, tar, ref, changes, 2, &id, &err) < 0)
		fail_msg("import: %s", err.msg);
	assert_true(digest_valid(id));
	return id;
}

static void test_import_lookup(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *id = import(f, f->tar_a, "app");
	char prefix[16];
	struct image img;
	struct err err = { 0 };
	char *sh;

	assert_int_equal(image_lookup(f->root, "app", &img, &err), 0);
	assert_string_equal(img.ref, "app:latest");
	assert_string_equal(img.id, id);
	assert_int_equal(img.n_layers, 1);
	assert_null(img.layer_dirs[1]);
	sh = xasprintf("%s/bin/sh", img.layer_dirs[0]);
	assert_int_equal(access(sh, X_OK), 0);
	free(sh);
	assert_string_equal(json_string_value(json_object_get(json_object_get(img.config,
		"config"), "WorkingDir")), "/srv");
	image_free(&img);

	assert_int_equal(image_lookup(f->root, id, &img, &err), 0);
	assert_null(img.ref);
	image_free(&img);
	snprintf(prefix, sizeof(prefix), "%.6s", digest_hex(id));
	assert_int_equal(image_lookup(f->root, prefix, &img, &err), 0);
	assert_string_equal(img.id, id);
	image_free(&img);
}

static void test_not_found(void **state)
{
	struct fixture *f = *state;
	struct image img;
	struct err err = { 0 };

	assert_int_equal(image_lookup(f->root, "busybox", &img, &err), -1);
	assert_string_equal(err.msg, "image busybox:latest not found: run 'isobox images' to "
			    "list images, or 'isobox import' to add one");
	assert_int_equal(image_lookup(f->root, "NoSuch", &img, &err), -1);
	assert_non_null(strstr(err.msg, "invalid reference format"));
}

static void test_list_inspect(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *id = import(f, f->tar_a, "app:v1");
	_cleanup_free_ char *untagged = import(f, f->tar_b, NULL);
	_cleanup_json_ json_t *rows = NULL;
	_cleanup_json_ json_t *obj = NULL;
	struct err err = { 0 };
	json_t *row;

	assert_int_equal(image_list(f->root, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 2);
	row = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(row, "Repository")), "app");
	assert_string_equal(json_string_value(json_object_get(row, "Tag")), "v1");
	assert_string_equal(json_string_value(json_object_get(row, "Id")), id);
	assert_int_equal(json_integer_value(json_object_get(row, "Size")), 13);
	row = json_array_get(rows, 1);
	assert_string_equal(json_string_value(json_object_get(row, "Repository")), "<none>");
	assert_string_equal(json_string_value(json_object_get(row, "Id")), untagged);

	assert_int_equal(image_inspect(f->root, "app:v1", &obj, &err), 0);
	assert_string_equal(json_string_value(json_object_get(obj, "Id")), id);
	assert_string_equal(json_string_value(json_array_get(json_object_get(obj, "RepoTags"),
							     0)), "app:v1");
	assert_string_equal(json_string_value(json_object_get(obj, "Os")), "linux");
	assert_non_null(json_object_get(json_object_get(obj, "Config"), "Env"));
	assert_int_equal(json_array_size(json_object_get(json_object_get(obj, "RootFS"),
							 "Layers")), 1);
}

/* A new import under a taken name leaves the old image as <none>. */
static void test_retag_and_remove(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *old = import(f, f->tar_a, "app");
	_cleanup_free_ char *new = import(f, f->tar_b, "app");
	_cleanup_json_ json_t *rows = NULL;
	_cleanup_json_ json_t *report = json_array();
	struct image img;
	struct err err = { 0 };
	char *dir;

	assert_int_equal(image_list(f->root, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(image_lookup(f->root, "app", &img, &err), 0);
	assert_string_equal(img.id, new);
	image_free(&img);

	assert_int_equal(image_lookup(f->root, old, &img, &err), 0);
	dir = xstrdup(img.layer_dirs[0]);
	image_free(&img);
	assert_int_equal(image_remove_ex(f->root, old, 0, report, &err), 0);
	assert_int_equal(access(dir, F_OK), -1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(report, 0),
							       "Deleted")), old);
	free(dir);
	assert_int_equal(image_lookup(f->root, old, &img, &err), -1);
	assert_int_equal(image_remove(f->root, "app", &err), 0);
	json_decref(rows);
	assert_int_equal(image_list(f->root, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 0);
}

/* Two names for one layer: removing one keeps the shared layer. */
static void test_shared_layer_kept(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *a = import(f, f->tar_a, "one");
	_cleanup_free_ char *b = import(f, f->tar_a, "two");
	struct image img;
	struct err err = { 0 };

	assert_string_not_equal(a, b);

	assert_int_equal(image_remove(f->root, "one", &err), 0);
	assert_int_equal(image_lookup(f->root, "two", &img, &err), 0);
	assert_int_equal(access(img.layer_dirs[0], F_OK), 0);
	image_free(&img);
}

static void test_multi_tag_needs_force(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *id = import(f, f->tar_a, "one");
	struct err err = { 0 };
	_cleanup_free_ char *idx = xasprintf("%s/index.json", f->root);
	_cleanup_json_ json_t *index = NULL;
	json_t *d;

	/* Tag the same manifest twice by hand. */
	assert_int_equal(json_load_path(idx, &index, &err), 0);
	d = json_deep_copy(json_array_get(json_object_get(index, "manifests"), 0));
	json_object_set_new(json_object_get(d, "annotations"),
			    "org.opencontainers.image.ref.name", json_string("two:latest"));
	json_array_append_new(json_object_get(index, "manifests"), d);
	assert_int_equal(json_save_atomic(idx, index, &err), 0);

	assert_int_equal(image_remove(f->root, id, &err), -1);
	assert_non_null(strstr(err.msg, "must be forced"));
	assert_int_equal(image_remove_ex(f->root, id, IMAGE_RM_FORCE, NULL, &err), 0);
}

/* A pulled image: a gzip layer blob kept as is (its digest is not the diff
 * id), a docker schema2 manifest, named by image_store_add with a repo digest. */
static void put_blob(struct fixture *f, const char *data, size_t len, char **digest)
{
	struct err err = { 0 };

	assert_int_equal(blob_put(f->root, data, len, digest, &err), 0);
}

static void test_store_add_compressed(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *gz = NULL, *plain = NULL, *cmd = NULL, *layer = NULL;
	_cleanup_free_ char *cfg = NULL, *mf = NULL, *cfg_s = NULL, *mf_s = NULL;
	_cleanup_free_ char *repo_digest = NULL, *by_digest = NULL, *dir = NULL, *p = NULL;
	_cleanup_json_ json_t *out = NULL;
	_cleanup_json_ json_t *index = NULL;
	_cleanup_json_ json_t *report = NULL;
	char diff[DIGEST_STR_LEN];
	size_t gz_len = 0, plain_len = 0;
	struct layer_info li;
	struct image img;
	struct err err = { 0 };
	int lock;

	lock = image_store_lock_shared(f->root, &err);
	assert_true(lock >= 0);
	assert_int_equal(read_file(f->tar_a, 1 << 20, &gz, &gz_len, &err), 0);
	put_blob(f, gz, gz_len, &layer);
	cmd = xasprintf("gzip -dc %s > %s/a.tar", f->tar_a, f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("%s/a.tar", f->dir);
	assert_int_equal(read_file(cmd, 1 << 20, &plain, &plain_len, &err), 0);
	assert_int_equal(digest_buffer(plain, plain_len, diff, &err), 0);
	assert_string_not_equal(diff, layer);
	cfg_s = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":"
			  "[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]},"
			  "\"history\":[{\"created_by\":\"ADD a.tar /\"}]}", diff);
	put_blob(f, cfg_s, strlen(cfg_s), &cfg);
	mf_s = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker."
			 "distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"application/"
			 "vnd.docker.container.image.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
			 "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar."
			 "gzip\",\"digest\":\"%s\",\"size\":%zu}]}", cfg, strlen(cfg_s), layer, gz_len);
	put_blob(f, mf_s, strlen(mf_s), &mf);
	repo_digest = xasprintf("reg.example/bb@%s", mf);

	/* Not unpacked yet: refused, naming the layer. */
	assert_int_equal(image_store_add(f->root, "reg.example/bb:1", mf, repo_digest, &err), -1);
	assert_non_null(strstr(err.msg, diff));
	assert_int_equal(layer_unpack_blob(f->root, layer, diff, &li, &err), 0);
	assert_int_equal(image_store_add(f->root, "reg.example/bb:1", mf, repo_digest, &err), 0);
	/* Again, untagged with the same repo digest: nothing new in the index. */
	assert_int_equal(image_store_add(f->root, NULL, mf, repo_digest, &err), 0);
	close(lock);
	p = xasprintf("%s/index.json", f->root);
	assert_int_equal(json_load_path(p, &index, &err), 0);
	assert_int_equal(json_array_size(json_object_get(index, "manifests")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(index, "manifests"), 0), "mediaType")),
		"application/vnd.docker.distribution.manifest.v2+json");

	assert_int_equal(image_lookup(f->root, "reg.example/bb:1", &img, &err), 0);
	dir = layer_dir(f->root, diff);
	assert_string_equal(img.layer_dirs[0], dir);
	assert_string_equal(img.id, cfg);
	image_free(&img);
	assert_int_equal(image_lookup(f->root, repo_digest, &img, &err), 0);
	assert_string_equal(img.id, cfg);
	image_free(&img);
	by_digest = xasprintf("reg.example/other@%s", mf);
	assert_int_equal(image_lookup(f->root, by_digest, &img, &err), -1);
	assert_int_equal(image_inspect(f->root, "reg.example/bb:1", &out, &err), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(out, "RepoDigests"),
							     0)), repo_digest);
	assert_true(json_integer_value(json_object_get(out, "Size")) > 0);

	json_decref(out);
	out = NULL;
	/* rmi name@digest drops that RepoDigests entry; the tag keeps the image. */
	report = json_array();
	assert_int_equal(image_remove_ex(f->root, repo_digest, 0, report, &err), 0);
	assert_int_equal(json_array_size(report), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(report, 0),
							      "Untagged")), repo_digest);
	assert_int_equal(image_inspect(f->root, "reg.example/bb:1", &out, &err), 0);
	assert_int_equal(json_array_size(json_object_get(out, "RepoDigests")), 0);
	assert_true(blob_exists(f->root, layer));
	/* Removal of the last name collects the compressed blob, config, manifest, layer. */
	assert_int_equal(image_remove(f->root, "reg.example/bb:1", &err), 0);
	assert_false(blob_exists(f->root, layer));
	assert_false(blob_exists(f->root, cfg));
	assert_false(blob_exists(f->root, mf));
	assert_false(layer_present(f->root, diff));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_import_lookup),
		T(test_store_add_compressed),
		T(test_not_found),
		T(test_list_inspect),
		T(test_retag_and_remove),
		T(test_shared_layer_kept),
		T(test_multi_tag_needs_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
