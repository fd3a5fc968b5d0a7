/* Manifests, indexes, image configs and platform selection (engine/manifest.c),
 * with hostile documents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/manifest.h"
#include "util/fs.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char *oci_manifest =
	"{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\","
	"\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":7},"
	"\"layers\":[{\"mediaType\":\"" MEDIA_OCI_LAYER_GZIP "\",\"digest\":\"" D2 "\",\"size\":10},"
	"{\"mediaType\":\"" MEDIA_OCI_LAYER_ZSTD "\",\"digest\":\"" D3 "\",\"size\":0}]}";

static int parse(const char *json, const char *ct, struct manifest *m, struct err *err)
{
	return manifest_parse(json, strlen(json), ct, m, err);
}

static void assert_refused(const char *json, const char *ct, const char *words)
{
	struct err err = { 0 };
	struct manifest m;

	if (parse(json, ct, &m, &err) == 0)
		fail_msg("accepted: %s", json);
	if (words && !strstr(err.msg, words))
		fail_msg("error '%s' lacks '%s'", err.msg, words);
	/* Nothing is left to free after a refusal. */
	assert_null(m.layers);
	assert_null(m.manifests);
	assert_null(m.media_type);
}

static void test_oci_manifest(void **state)
{
	struct err err = { 0 };
	struct manifest m;

	assert_int_equal(parse(oci_manifest, NULL, &m, &err), 0);
	assert_int_equal(m.kind, MANIFEST_IMAGE);
	assert_string_equal(m.media_type, MEDIA_OCI_MANIFEST);
	assert_string_equal(m.config.digest, D1);
	assert_int_equal(m.config.size, 7);
	assert_int_equal(m.n_layers, 2);
	assert_string_equal(m.layers[0].digest, D2);
	assert_string_equal(m.layers[1].media_type, MEDIA_OCI_LAYER_ZSTD);
	manifest_free(&m);
	manifest_free(&m); /* twice is safe */
}

static void test_docker_manifest_and_list(void **state)
{
	const char *doc =
		"{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_MANIFEST "\","
		"\"config\":{\"mediaType\":\"" MEDIA_DOCKER_CONFIG "\",\"digest\":\"" D1 "\",\"size\":7},"
		"\"layers\":[{\"mediaType\":\"" MEDIA_DOCKER_LAYER "\",\"digest\":\"" D2 "\",\"size\":10},"
		"{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\","
		"\"digest\":\"" D3 "\",\"size\":1,\"urls\":[\"https://x\"]}]}";
	const char *list =
		"{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_LIST "\",\"manifests\":["
		"{\"mediaType\":\"" MEDIA_DOCKER_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":5,"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
	struct err err = { 0 };
	struct manifest m;

	assert_int_equal(parse(doc, NULL, &m, &err), 0);
	assert_int_equal(m.kind, MANIFEST_IMAGE);
	assert_int_equal(m.n_layers, 2);
	manifest_free(&m);
	assert_int_equal(parse(list, NULL, &m, &err), 0);
	assert_int_equal(m.kind, MANIFEST_INDEX);
	assert_int_equal(m.n_manifests, 1);
	assert_true(m.manifests[0].has_platform);
	assert_string_equal(m.manifests[0].platform.arch, "amd64");
	manifest_free(&m);
}

static void test_media_type_from_transport(void **state)
{
	const char *bare = "{\"schemaVersion\":2,\"manifests\":[]}";
	const char *bare_image =
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG "\","
		"\"digest\":\"" D1 "\",\"size\":7},\"layers\":[]}";
	struct err err = { 0 };
	struct manifest m;

	assert_int_equal(parse(bare, MEDIA_DOCKER_LIST "; charset=utf-8", &m, &err), 0);
	assert_string_equal(m.media_type, MEDIA_DOCKER_LIST);
	assert_int_equal(m.kind, MANIFEST_INDEX);
	manifest_free(&m);
	assert_int_equal(parse(bare, NULL, &m, &err), 0);
	assert_string_equal(m.media_type, MEDIA_OCI_INDEX);
	manifest_free(&m);
	assert_int_equal(parse(bare_image, "application/json", &m, &err), 0);
	assert_string_equal(m.media_type, MEDIA_OCI_MANIFEST);
	assert_int_equal(m.n_layers, 0);
	manifest_free(&m);
	/* The transport says index, the shape says image: refused. */
	assert_refused(bare_image, MEDIA_OCI_INDEX, "index");
}

static void test_hostile_manifests(void **state)
{
	char *big;

	assert_refused("", NULL, "JSON");
	assert_refused("[]", NULL, "object");
	assert_refused("{\"schemaVersion\":2", NULL, "JSON");
	assert_refused("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, "schema 1");
	assert_refused("{\"schemaVersion\":2,\"mediaType\":"
		       "\"application/vnd.docker.distribution.manifest.v1+prettyjws\"}", NULL,
		       "schema 1");
	assert_refused("{\"schemaVersion\":\"2\",\"manifests\":[]}", NULL, "schemaVersion");
	assert_refused("{\"schemaVersion\":3,\"manifests\":[]}", NULL, "schemaVersion");
	assert_refused("{\"schemaVersion\":2,\"mediaType\":\"text/html\",\"manifests\":[]}", NULL,
		       "unsupported");
	assert_refused("{\"schemaVersion\":2,\"mediaType\":7,\"manifests\":[]}", NULL, NULL);
	/* Duplicate keys could let two readers see two documents. */
	assert_refused("{\"schemaVersion\":2,\"manifests\":[],\"manifests\":[]}", NULL, "JSON");
	/* Bad digests: other algorithms, upper case, traversal, short. */
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"sha512:11\",\"size\":1}]}", NULL, "digest");
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"sha256:../../../../etc/passwd\",\"size\":1}]}", NULL,
		       "digest");
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"SHA256:1111111111111111111111111111111111111111111111111111111111111111\","
		       "\"size\":1}]}", NULL, "digest");
	/* Sizes: negative, real, string, missing. */
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"" D1 "\",\"size\":-1}]}", NULL, "size");
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"" D1 "\",\"size\":1.5}]}", NULL, "size");
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"" D1 "\"}]}", NULL, "size");
	/* Entries that are not manifests; platforms that are not platforms. */
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_LAYER
		       "\",\"digest\":\"" D1 "\",\"size\":1}]}", NULL, "not a manifest");
	assert_refused("{\"schemaVersion\":2,\"manifests\":[7]}", NULL, "object");
	assert_refused("{\"schemaVersion\":2,\"manifests\":{}}", NULL, "manifests");
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"" D1 "\",\"size\":1,\"platform\":[]}]}", NULL, "platform");
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
		       NULL, "platform");
	assert_refused("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
		       "\",\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linux\","
		       "\"architecture\":\"amd64\",\"os.features\":[1]}}]}", NULL, "os.features");
	/* An image manifest whose config is not an image config, or whose layers are not tars. */
	assert_refused("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.cncf."
		       "helm.config.v1+json\",\"digest\":\"" D1 "\",\"size\":7},\"layers\":[]}",
		       NULL, "not an image config");
	assert_refused("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG
		       "\",\"digest\":\"" D1 "\",\"size\":7},\"layers\":[{\"mediaType\":"
		       "\"application/x-shellscript\",\"digest\":\"" D2 "\",\"size\":1}]}", NULL,
		       "not a tar");
	assert_refused("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG
		       "\",\"digest\":\"" D1 "\",\"size\":7}}", NULL, "layers");
	assert_refused("{\"schemaVersion\":2,\"layers\":[]}", NULL, "config");
	assert_refused("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG
		       "\",\"digest\":\"" D1 "\",\"size\":7},\"layers\":[],\"manifests\":[]}", NULL,
		       NULL);
	/* Past the bounds. */
	big = xmalloc(MANIFEST_MAX_BYTES + 2);
	memset(big, ' ', MANIFEST_MAX_BYTES + 1);
	big[MANIFEST_MAX_BYTES + 1] = 0;
	assert_refused(big, NULL, "bytes");
	free(big);
}

static char *index_of(size_t n)
{
	size_t cap = 64 + n * 200, len;
	char *s = xmalloc(cap);

	len = (size_t)snprintf(s, cap, "{\"schemaVersion\":2,\"manifests\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s{\"mediaType\":\"" MEDIA_OCI_MANIFEST
					"\",\"digest\":\"" D1 "\",\"size\":1}", i ? "," : "");
	snprintf(s + len, cap - len, "]}");
	return s;
}

static void test_bounds(void **state)
{
	struct err err = { 0 };
	struct manifest m;
	char *s = index_of(MANIFEST_MAX_ENTRIES);

	assert_int_equal(parse(s, NULL, &m, &err), 0);
	assert_int_equal(m.n_manifests, MANIFEST_MAX_ENTRIES);
	manifest_free(&m);
	free(s);
	s = index_of(MANIFEST_MAX_ENTRIES + 1);
	assert_refused(s, NULL, "at most");
	free(s);
}

static const char *platform_index =
	"{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_INDEX "\",\"manifests\":["
	"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
	"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
	"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":\"v3\"}},"
	"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":1,"
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
	"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":1,"
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.1\"}},"
	"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":1,"
	"\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
	"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":1,"
	"\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";

static size_t select_for(const char *index, const char *want, const char *kernel)
{
	struct err err = { 0 };
	struct platform p;
	struct manifest m;
	size_t idx = 999;

	assert_int_equal(parse(index, NULL, &m, &err), 0);
	assert_int_equal(platform_parse(want, &p, &err), 0);
	if (manifest_select(&m, &p, kernel, &idx, &err) < 0)
		idx = 999;
	platform_free(&p);
	manifest_free(&m);
	return idx;
}

static void test_select(void **state)
{
	assert_int_equal(select_for(platform_index, NULL, NULL), 2);
	assert_int_equal(select_for(platform_index, "linux/amd64", "6.1.0"), 2);
	assert_int_equal(select_for(platform_index, "linux/amd64/v3", NULL), 1);
	assert_int_equal(select_for(platform_index, "linux/arm64", NULL), 0);
	assert_int_equal(select_for(platform_index, "linux/arm64/v8", NULL), 0);
	assert_int_equal(select_for(platform_index, "linux/aarch64", NULL), 0);
	assert_int_equal(select_for(platform_index, "linux/arm/v7", NULL), 4);
	assert_int_equal(select_for(platform_index, "linux/armhf", NULL), 4);
	assert_int_equal(select_for(platform_index, "linux/arm/v6", NULL), 999);
	assert_int_equal(select_for(platform_index, "linux/s390x", NULL), 999);
	assert_int_equal(select_for(platform_index, "windows/amd64", NULL), 3);
}

static void test_select_os_version(void **state)
{
	const char *idx =
		"{\"schemaVersion\":2,\"manifests\":["
		"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
		"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":1,"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.version\":\"6.1\"}},"
		"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":1,"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.version\":\"6.8.2\"}},"
		"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":1,"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.version\":\"garbage\"}}]}";

	assert_int_equal(select_for(idx, NULL, "5.10.0"), 0);
	assert_int_equal(select_for(idx, NULL, "6.1.0"), 1);
	assert_int_equal(select_for(idx, NULL, "6.6.30"), 1);
	assert_int_equal(select_for(idx, NULL, "6.18.44"), 2);
	/* An unknown host kernel: the newest. */
	assert_int_equal(select_for(idx, NULL, NULL), 2);
}

static void test_select_message(void **state)
{
	struct err err = { 0 };
	struct platform p;
	struct manifest m;
	size_t idx;

	assert_int_equal(parse(platform_index, NULL, &m, &err), 0);
	assert_int_equal(platform_parse("linux/ppc64le", &p, &err), 0);
	assert_int_equal(manifest_select(&m, &p, NULL, &idx, &err), -1);
	assert_string_equal(err.msg,
			    "no matching manifest for linux/ppc64le in the manifest list entries");
	platform_free(&p);
	manifest_free(&m);
}

static void test_platform_parse(void **state)
{
	static const char *bad[] = { "linux", "/amd64", "linux/", "linux//v7", "a/b/c/d",
				     "linux/amd64/", "linux/am d64", "linux/amd64\n", NULL };
	struct err err = { 0 };
	struct platform p;

	assert_int_equal(platform_parse(NULL, &p, &err), 0);
	assert_string_equal(p.os, "linux");
	assert_string_equal(p.arch, "amd64");
	assert_null(p.variant);
	platform_free(&p);
	assert_int_equal(platform_parse("Linux/x86_64", &p, &err), 0);
	assert_string_equal(p.os, "linux");
	assert_string_equal(p.arch, "amd64");
	platform_free(&p);
	assert_int_equal(platform_parse("linux/arm/v7", &p, &err), 0);
	assert_string_equal(p.variant, "v7");
	platform_free(&p);
	for (const char **s = bad; *s; s++) {
		if (platform_parse(*s, &p, &err) == 0)
			fail_msg("'%s' accepted", *s);
		assert_non_null(strstr(err.msg, "invalid platform"));
	}
}

static void test_image_config(void **state)
{
	struct err err = { 0 };
	json_t *cfg;
	const char *good = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
			   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";
	static const char *bad[] = {
		"", "[]", "{}", "{\"rootfs\":[]}",
		"{\"rootfs\":{\"type\":\"other\",\"diff_ids\":[]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":{}}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",7]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"sha256:..\"]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\",\"" D3 "\"]}}",
		"{\"config\":7,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}",
		NULL,
	};

	assert_int_equal(image_config_parse(good, strlen(good), 2, &cfg, &err), 0);
	assert_string_equal(json_string_value(json_object_get(cfg, "os")), "linux");
	json_decref(cfg);
	for (const char **s = bad; *s; s++) {
		if (image_config_parse(*s, strlen(*s), 2, &cfg, &err) == 0)
			fail_msg("accepted: %s", *s);
		assert_null(cfg);
	}
	good = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	assert_int_equal(image_config_parse(good, strlen(good), 0, &cfg, &err), 0);
	json_decref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_manifest),
		cmocka_unit_test(test_docker_manifest_and_list),
		cmocka_unit_test(test_media_type_from_transport),
		cmocka_unit_test(test_hostile_manifests),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_select_os_version),
		cmocka_unit_test(test_select_message),
		cmocka_unit_test(test_platform_parse),
		cmocka_unit_test(test_image_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
