/* The isolation policy's parser and matcher, kernel versions and banners, and
 * image needs against hostile image configs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/host_config.h"
#include "engine/image_needs.h"
#include "engine/isolation_policy.h"
#include "engine/kernel_info.h"
#include "util/cleanup.h"

static int config_from(const char *text, struct host_config *c, struct err *err)
{
	char path[] = "/tmp/isobox-policy-XXXXXX";
	int fd = mkstemp(path), r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	r = host_config_load(path, c, err);
	unlink(path);
	return r;
}

static void test_versions(void **state)
{
	struct kernel_version v, w;
	char buf[32];

	assert_int_equal(kernel_version_parse("6.1", &v), 0);
	assert_true(v.major == 6 && v.minor == 1 && v.patch == 0);
	assert_int_equal(kernel_version_parse("6.18.44-fc-v1147", &v), 0);
	assert_true(v.major == 6 && v.minor == 18 && v.patch == 44);
	assert_int_equal(kernel_version_parse("6", &v), -1);
	assert_int_equal(kernel_version_parse("", &v), -1);
	assert_int_equal(kernel_version_parse(".1", &v), -1);
	assert_int_equal(kernel_version_parse("6.x", &v), -1);
	assert_int_equal(kernel_version_parse("99999999999999999999.1", &v), -1);
	kernel_version_parse("6.20", &w);
	kernel_version_parse("6.18.44", &v);
	assert_true(kernel_version_cmp(&v, &w) < 0 && kernel_version_cmp(&w, &v) > 0);
	assert_int_equal(kernel_version_cmp(&v, &v), 0);
	kernel_version_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "6.18.44");
	memset(&v, 0, sizeof(v));
	kernel_version_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "unknown");
}

static void test_banners(void **state)
{
	struct kernel_version v;
	char release[64];

	kernel_banner_parse("Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org) "
			    "(gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2025-05-01)\n",
			    release, sizeof(release), &v);
	assert_string_equal(release, "6.1.0-50-amd64");
	assert_true(v.major == 6 && v.minor == 1 && v.patch == 176);
	kernel_banner_parse("6.18.44-fc-v1147 (root@build) #1 SMP", release, sizeof(release), &v);
	assert_string_equal(release, "6.18.44-fc-v1147");
	assert_true(v.major == 6 && v.minor == 18 && v.patch == 44);
	/* Hostile: no version anywhere, an overlong release, a Debian with garbage. */
	kernel_banner_parse("garbage Debian x.y", release, sizeof(release), &v);
	assert_true(v.major == 0 && v.minor == 0);
	memset(release, 0, sizeof(release));
	{
		char long_banner[300];

		memset(long_banner, '7', sizeof(long_banner) - 1);
		long_banner[sizeof(long_banner) - 1] = '\0';
		kernel_banner_parse(long_banner, release, sizeof(release), &v);
		assert_int_equal(strlen(release), sizeof(release) - 1);
	}
}

static void test_features(void **state)
{
	struct kernel_info k = { .config = (char *)"# CONFIG_BPF_SYSCALL is not set\n"
					       "CONFIG_IO_URING=y\nCONFIG_FUSE_FS=m\n"
					       "XCONFIG_USER_NS=y\nCONFIG_USER_NS_X=y\n" };
	const char *opt;

	assert_int_equal(kernel_feature_option("io_uring", &opt), 0);
	assert_string_equal(opt, "CONFIG_IO_URING");
	assert_int_equal(kernel_feature_option("CONFIG_FOO_BAR", &opt), 0);
	assert_int_equal(kernel_feature_option("CONFIG_", &opt), -1);
	assert_int_equal(kernel_feature_option("CONFIG_foo", &opt), -1);
	assert_int_equal(kernel_feature_option("telepathy", &opt), -1);
	assert_int_equal(kernel_has_option(&k, "CONFIG_IO_URING"), 1);
	assert_int_equal(kernel_has_option(&k, "CONFIG_FUSE_FS"), 1);
	assert_int_equal(kernel_has_option(&k, "CONFIG_BPF_SYSCALL"), 0);
	/* Neither inside another name nor a prefix of one. */
	assert_int_equal(kernel_has_option(&k, "CONFIG_USER_NS"), 0);
	k.config = NULL;
	assert_int_equal(kernel_has_option(&k, "CONFIG_IO_URING"), -1);
}

static int needs_of(const char *json, struct image_needs *n, json_t **keep, struct err *err)
{
	*keep = json_loads(json, 0, NULL);
	assert_non_null(*keep);
	return image_needs_read(*keep, "img:1", n, err);
}

static void test_image_needs_hostile(void **state)
{
	static const char *const bad[] = {
		"{\"os\":\"windows\"}",
		"{\"architecture\":\"s390x\"}",
		"{\"os.version\":7}",
		"{\"os.version\":\"6\"}",
		"{\"os.version\":\"6.1-rc1\"}",
		"{\"os.version\":\"\"}",
		"{\"os.features\":\"io_uring\"}",
		"{\"os.features\":[1]}",
		"{\"os.features\":[\"CONFIG_\"]}",
		"{\"os.features\":[\"../x\"]}",
		"{\"config\":{\"Labels\":{\"org.isobox.kernel\":\"6.1.2\"}}}",
		"{\"config\":{\"Labels\":{\"org.isobox.kernel\":[]}}}",
	};
	struct image_needs n;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err err = { 0 };
		json_t *j;

		assert_int_equal(needs_of(bad[i], &n, &j, &err), -1);
		assert_non_null(strstr(err.msg, "img:1"));
		json_decref(j);
	}
}

static void test_image_needs_met(void **state)
{
	struct kernel_info k = { .release = "6.1.0-57-cloud-amd64",
				 .version = { 6, 1, 192 },
				 .config = (char *)"CONFIG_IO_URING=y\n",
				 .config_source = "/k/config" };
	struct image_needs n;
	struct err err = { 0 };
	char need[256], lack[512], words[256];
	json_t *j;

	assert_int_equal(needs_of("{\"os\":\"linux\",\"architecture\":\"amd64\",\"os.version\":"
				  "\"6.1.100\",\"os.features\":[\"io_uring\"],\"config\":{\"Labels\":"
				  "{\"org.isobox.kernel\":\"6.1\"}}}", &n, &j, &err), 0);
	assert_int_equal(image_needs_met(&n, &k, "guest kernel x", need, sizeof(need), lack,
					 sizeof(lack)), 1);
	image_needs_describe(&n, words, sizeof(words));
	assert_string_equal(words, "kernel >= 6.1.100, kernel series 6.1, io_uring");
	json_decref(j);

	assert_int_equal(needs_of("{\"os.version\":\"6.20\"}", &n, &j, &err), 0);
	assert_int_equal(image_needs_met(&n, &k, "this host", need, sizeof(need), lack,
					 sizeof(lack)), 0);
	assert_string_equal(need, "kernel 6.20 (os.version)");
	assert_string_equal(lack, "this host runs 6.1.192 (6.1.0-57-cloud-amd64)");
	json_decref(j);

	assert_int_equal(needs_of("{\"os.features\":[\"bpf\"]}", &n, &j, &err), 0);
	assert_int_equal(image_needs_met(&n, &k, "this host", need, sizeof(need), lack,
					 sizeof(lack)), 0);
	assert_string_equal(need, "bpf (os.features: CONFIG_BPF_SYSCALL)");
	assert_non_null(strstr(lack, "is built without it (/k/config)"));
	k.config = NULL;
	assert_int_equal(image_needs_met(&n, &k, "this host", need, sizeof(need), lack,
					 sizeof(lack)), 0);
	assert_non_null(strstr(lack, "has no build config to confirm it (no /k/config)"));
	json_decref(j);
}

static void test_image_patterns(void **state)
{
	assert_true(policy_image_matches("busybox", "busybox:latest"));
	assert_true(policy_image_matches("busybox:latest", "busybox:latest"));
	assert_true(policy_image_matches("docker.io/library/busybox", "busybox:latest"));
	assert_true(policy_image_matches("docker.io/*", "acme/app:1"));
	assert_true(policy_image_matches("localhost:5000/*", "localhost:5000/app:1"));
	assert_true(policy_image_matches("registry.example.com/team/*",
					 "registry.example.com/team/app:2"));
	assert_false(policy_image_matches("busybox", "busybox2:latest"));
	assert_false(policy_image_matches("docker.io/*", "localhost:5000/app:1"));
	assert_false(policy_image_matches("registry.example.com/*", "evil.com/registry.example.com:1"));
}

static void test_rules(void **state)
{
	struct host_config c;
	struct err err = { 0 };
	struct strv labels = { 0 }, caps = { 0 };
	_cleanup_json_ json_t *results = json_array();
	json_t *labels_img = json_pack("{s:s}", "tier", "frontend");
	struct policy_subject s = { .image = "busybox:latest", .image_labels = labels_img,
				    .labels = &labels, .cap_add = &caps };

	assert_int_equal(config_from("[rule both]\nlabel = tenant=*\nimage = busybox\n"
				     "[rule img]\nimage_label = tier=back*\n"
				     "[rule caps]\ncap_add = CAP_SYS_ADMIN\n"
				     "[policy]\nrequire_hyperv_for_untrusted = yes\n"
				     "trusted_images = busy*\n", &c, &err), 0);
	assert_int_equal(c.n_rules, 3);
	/* Every condition of a rule must match: the label alone is not enough. */
	strv_push(&labels, "tenant=acme");
	s.image = "alpine:3";
	assert_int_equal(policy_evaluate(&c, &s, results), 3);   /* untrusted alpine */
	assert_string_equal(json_string_value(json_object_get(json_array_get(results, 0), "Detail")),
			    "image alpine:3 matches no image pattern of the rule");
	json_array_clear(results);
	s.image = "busybox:latest";
	assert_int_equal(policy_evaluate(&c, &s, results), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(results, 0), "Detail")),
			    "image busybox:latest matches busybox; container label tenant=acme "
			    "matches tenant=*");
	json_array_clear(results);
	strv_free(&labels);
	strv_push(&caps, "ALL");
	assert_int_equal(policy_evaluate(&c, &s, results), 2);
	json_array_clear(results);
	strv_free(&caps);
	assert_int_equal(policy_evaluate(&c, &s, results), -1);
	assert_int_equal(json_array_size(results), 4);
	host_config_free(&c);
	json_decref(labels_img);
}

static void test_config_errors(void **state)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "[rule]\n", ":1: unknown section [rule]" },
		{ "[rule a b]\n", ":1: unknown section [rule a b]" },
		{ "[rule x]\nimage =\n", ":2: invalid value \"\" for image" },
		{ "[rule x]\nprivileged = false\n", "rule x has no condition" },
		{ "[policy]\ndefault_isolation = vm\n", ":2: unknown setting \"default_isolation\"" },
		{ "[rule x\n", ":1: a section header is \"[name]\"" },
		{ "default_isolation = auto\n", "valid values are process, hyperv (alias vm) and "
						"default" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct host_config c;
		struct err err = { 0 };

		assert_int_equal(config_from(bad[i].text, &c, &err), -1);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].text, err.msg, bad[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_banners),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_image_needs_hostile),
		cmocka_unit_test(test_image_needs_met),
		cmocka_unit_test(test_image_patterns),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
