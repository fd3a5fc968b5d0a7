/* Registry references as docker parses them (engine/registry.c), hostile ones
 * included, and the isobox.conf keys the registry client reads. */
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
#include "engine/registry.h"
#include "util/fs.h"

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void assert_ref(const char *in, const char *domain, const char *path, const char *tag,
		       const char *digest, const char *name, const char *str)
{
	struct err err = { 0 };
	struct registry_ref r;
	char *s;

	if (registry_ref_parse(in, &r, &err) < 0)
		fail_msg("'%s' refused: %s", in, err.msg);
	assert_string_equal(r.domain, domain);
	assert_string_equal(r.path, path);
	if (tag)
		assert_string_equal(r.tag, tag);
	else
		assert_null(r.tag);
	if (digest)
		assert_string_equal(r.digest, digest);
	else
		assert_null(r.digest);
	s = registry_ref_name(&r);
	assert_string_equal(s, name);
	free(s);
	s = registry_ref_string(&r);
	assert_string_equal(s, str);
	free(s);
	registry_ref_free(&r);
}

static void test_refs(void **state)
{
	assert_ref("busybox", "docker.io", "library/busybox", "latest", NULL, "busybox",
		   "busybox:latest");
	assert_ref("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "busybox",
		   "busybox:1.36");
	assert_ref("user/app", "docker.io", "user/app", "latest", NULL, "user/app",
		   "user/app:latest");
	assert_ref("docker.io/library/busybox", "docker.io", "library/busybox", "latest", NULL,
		   "busybox", "busybox:latest");
	assert_ref("index.docker.io/library/busybox:x", "docker.io", "library/busybox", "x",
		   NULL, "busybox", "busybox:x");
	assert_ref("127.0.0.1:5000/busybox", "127.0.0.1:5000", "busybox", "latest", NULL,
		   "127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest");
	assert_ref("localhost/a/b:t", "localhost", "a/b", "t", NULL, "localhost/a/b",
		   "localhost/a/b:t");
	assert_ref("mcr.microsoft.com/windows/servercore:ltsc2019", "mcr.microsoft.com",
		   "windows/servercore", "ltsc2019", NULL, "mcr.microsoft.com/windows/servercore",
		   "mcr.microsoft.com/windows/servercore:ltsc2019");
	assert_ref("reg:5000/x@" DG, "reg:5000", "x", NULL, DG, "reg:5000/x", "reg:5000/x@" DG);
	assert_ref("x:t@" DG, "docker.io", "library/x", "t", DG, "x", "x:t");
	/* "localhost" alone, or a first component without '.', ':': a path. */
	assert_ref("localhost", "docker.io", "library/localhost", "latest", NULL, "localhost",
		   "localhost:latest");
	assert_ref("foo/bar", "docker.io", "foo/bar", "latest", NULL, "foo/bar",
		   "foo/bar:latest");
}

static void test_bad_refs(void **state)
{
	static const char *bad[] = {
		"", "Busybox", "busybox:", ":tag", "busybox@sha256:123", "busybox@md5:" DG + 7,
		"busybox@" DG "x", "a//b", "/a", "a/", "busybox:-x", "a b", "busybox:t@",
		"127.0.0.1:5000/", "busybox@", "../x", "x/../y", "busybox\n", NULL,
	};
	struct err err = { 0 };
	struct registry_ref r;

	for (const char **s = bad; *s; s++) {
		if (registry_ref_parse(*s, &r, &err) == 0)
			fail_msg("'%s' accepted as %s/%s", *s, r.domain, r.path);
		assert_non_null(strstr(err.msg, "invalid reference format"));
		assert_null(r.domain);
	}
}

static void assert_param(const char *ch, const char *name, const char *want)
{
	char *v = NULL;

	assert_int_equal(registry_challenge_param(ch, name, &v), 0);
	if (!want)
		assert_null(v);
	else
		assert_string_equal(v, want);
	free(v);
}

static void test_challenge(void **state)
{
	const char *ch = "realm=\"https://auth.example/token\",service=\"registry.example\","
			 "scope=\"repository:a/b:pull,push\"";
	char *v = NULL;

	assert_param(ch, "realm", "https://auth.example/token");
	assert_param(ch, "service", "registry.example");
	assert_param(ch, "scope", "repository:a/b:pull,push");
	assert_param(ch, "error", NULL);
	/* A name inside another's, or inside a value, is not it. */
	assert_param("xrealm=\"evil\",realm=\"good\"", "realm", "good");
	assert_param("service=\"realm=evil\", realm=good", "realm", "good");
	assert_param("service=\"x,realm=evil\", realm=good", "realm", "good");
	assert_param("service=\"a\\\"realm=evil\",realm=\"g\\\"d\"", "realm", "g\"d");
	assert_param("REALM=up", "realm", "up");
	assert_param("realm", "realm", NULL);
	assert_param("realm =x", "realm", NULL);
	assert_param("realm=\"\"", "realm", "");
	assert_param("", "realm", NULL);
	assert_int_equal(registry_challenge_param("realm=\"open", "realm", &v), -1);
	assert_null(v);
}

static int put(const char *path, const char *text, struct err *err)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_config_keys(void **state)
{
	char path[] = "/tmp/isobox-test-registry-XXXXXX";
	int fd = mkstemp(path);
	struct host_config c;
	struct err err = { 0 };

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(put(path, "insecure_registries = reg.lan:5000, 10.0.0.1\n"
				    "max_concurrent_downloads = 7\n", &err), 0);
	assert_int_equal(host_config_load(path, &c, &err), 0);
	assert_int_equal(c.insecure_registries.n, 2);
	assert_string_equal(c.insecure_registries.v[0], "reg.lan:5000");
	assert_string_equal(c.insecure_registries.v[1], "10.0.0.1");
	assert_int_equal(c.max_concurrent_downloads, 7);
	host_config_free(&c);
	assert_int_equal(put(path, "default_isolation = process\n", &err), 0);
	assert_int_equal(host_config_load(path, &c, &err), 0);
	assert_int_equal(c.max_concurrent_downloads, 3);
	host_config_free(&c);
	for (const char **v = (const char *[]){ "0", "65", "x", "3x", "-1", "", NULL }; *v; v++) {
		char *text = xasprintf("max_concurrent_downloads = %s\n", *v);

		assert_int_equal(put(path, text, &err), 0);
		free(text);
		if (host_config_load(path, &c, &err) == 0)
			fail_msg("max_concurrent_downloads = %s accepted", *v);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_bad_refs),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_challenge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
