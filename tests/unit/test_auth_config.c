/* docker's client config.json: reading what docker writes, writing what it
 * reads, and refusing hostile files without touching them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/auth_config.h"
#include "util/cleanup.h"
#include "util/fs.h"

static char dir[] = "/tmp/isobox-test-auth-XXXXXX";
static char path[256];

static int setup(void **state)
{
	struct err err = { 0 };

	rm_rf(dir, &err);
	if (mkdir(dir, 0700) < 0)
		return -1;
	setenv("DOCKER_CONFIG", dir, 1);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	return 0;
}

static int group_setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	struct err err = { 0 };

	rm_rf(dir, &err);
	return 0;
}

static void put(const char *content)
{
	struct err err = { 0 };

	if (write_file_atomic(path, content, strlen(content), 0600, &err) < 0)
		fail_msg("%s", err.msg);
}

static char *get_file(void)
{
	struct err err = { 0 };
	char *s = NULL;

	if (read_file(path, 1 << 20, &s, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	return s;
}

static void assert_creds(const char *host, const char *user, const char *pass)
{
	struct err err = { 0 };
	char *u = NULL, *p = NULL;

	if (auth_config_get(host, &u, &p, &err) < 0)
		fail_msg("get %s: %s", host, err.msg);
	if (!user) {
		assert_null(u);
		assert_null(p);
		return;
	}
	assert_non_null(u);
	assert_string_equal(u, user);
	assert_string_equal(p, pass);
	free(u);
	free(p);
}

/* A hostile file: get, set and remove all fail, name the file, and leave it
 * as it was. */
static void assert_refused(const char *content, const char *why)
{
	struct err err = { 0 };
	char *u = NULL, *p = NULL;
	int had = 0;
	_cleanup_free_ char *after = NULL;

	put(content);
	if (auth_config_get("127.0.0.1:5000", &u, &p, &err) == 0)
		fail_msg("accepted: %s", content);
	assert_null(u);
	assert_null(p);
	assert_non_null(strstr(err.msg, path));
	if (why && !strstr(err.msg, why))
		fail_msg("'%s' does not say '%s'", err.msg, why);
	err_clear(&err);
	assert_int_equal(auth_config_set("127.0.0.1:5000", "u", "p", &err), -1);
	assert_non_null(strstr(err.msg, path));
	err_clear(&err);
	assert_int_equal(auth_config_remove("127.0.0.1:5000", &had, &err), -1);
	after = get_file();
	assert_string_equal(after, content);
}

static void test_path(void **state)
{
	char *p;

	p = auth_config_path();
	assert_string_equal(p, path);
	free(p);
	unsetenv("DOCKER_CONFIG");
	setenv("HOME", "/home/someone", 1);
	p = auth_config_path();
	assert_string_equal(p, "/home/someone/.docker/config.json");
	free(p);
	setenv("DOCKER_CONFIG", "", 1);   /* empty: as unset, as docker */
	p = auth_config_path();
	assert_string_equal(p, "/home/someone/.docker/config.json");
	free(p);
}

static void test_missing_and_empty(void **state)
{
	assert_creds("127.0.0.1:5000", NULL, NULL);
	put("");
	assert_creds("127.0.0.1:5000", NULL, NULL);
	put("{}");
	assert_creds("127.0.0.1:5000", NULL, NULL);
	put("{\"auths\": {}}");
	assert_creds("127.0.0.1:5000", NULL, NULL);
}

/* What docker login writes (dGVzdDpzM2NyZXQ6eA== is "test:s3cret:x"). */
static void test_read_docker(void **state)
{
	put("{\n\t\"auths\": {\n\t\t\"127.0.0.1:5000\": {\n\t\t\t\"auth\": \"dGVzdDpzM2NyZXQ6eA==\"\n"
	    "\t\t},\n\t\t\"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1YnB3\"},\n"
	    "\t\t\"https://reg.example:8443/v2/\": {\"auth\": \"YTpi\"},\n"
	    "\t\t\"helper.example\": {}\n\t}\n}\n");
	assert_creds("127.0.0.1:5000", "test", "s3cret:x");
	assert_creds("docker.io", "hub", "hubpw");
	assert_creds("registry-1.docker.io", "hub", "hubpw");
	assert_creds("reg.example:8443", "a", "b");
	assert_creds("helper.example", NULL, NULL);
	assert_creds("127.0.0.1:5001", NULL, NULL);
	/* username/password fields, as some tools write them */
	put("{\"auths\": {\"h\": {\"username\": \"u\", \"password\": \"p\"}}}");
	assert_creds("h", "u", "p");
}

static void test_set_keeps_other_keys(void **state)
{
	struct err err = { 0 };
	_cleanup_free_ char *s = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct stat st;

	put("{\"credHelpers\": {\"x.example\": \"pass\"}, \"psFormat\": \"{{.ID}}\", "
	    "\"auths\": {\"other:1\": {\"auth\": \"YTpi\"}, \"http://127.0.0.1:5000\": {\"auth\": \"YTpi\"}},"
	    " \"proxies\": {\"default\": {\"httpProxy\": \"http://p:3128\"}}}");
	chmod(path, 0644);
	if (auth_config_set("127.0.0.1:5000", "alice", "pa:ss", &err) < 0)
		fail_msg("%s", err.msg);
	assert_creds("127.0.0.1:5000", "alice", "pa:ss");
	assert_creds("other:1", "a", "b");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	if (json_load_path(path, &j, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(j, "psFormat")), "{{.ID}}");
	assert_non_null(json_object_get(json_object_get(j, "credHelpers"), "x.example"));
	assert_non_null(json_object_get(json_object_get(j, "proxies"), "default"));
	/* "alice:pa:ss" */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j,
			    "auths"), "127.0.0.1:5000"), "auth")), "YWxpY2U6cGE6c3M=");
	/* the old spelling of the same host is gone */
	assert_null(json_object_get(json_object_get(j, "auths"), "http://127.0.0.1:5000"));
	/* no temporary file left */
	s = xasprintf("%s/config.json.tmp.%d", dir, getpid());
	assert_int_equal(access(s, F_OK), -1);
}

static void test_set_creates_dir_and_hub_key(void **state)
{
	struct err err = { 0 };
	_cleanup_free_ char *sub = xasprintf("%s/a/b", dir);
	_cleanup_json_ json_t *j = NULL;
	struct stat st;

	setenv("DOCKER_CONFIG", sub, 1);
	snprintf(path, sizeof(path), "%s/config.json", sub);
	if (auth_config_set("docker.io", "me", "pw", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	if (json_load_path(path, &j, &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(json_object_get(json_object_get(j, "auths"), "https://index.docker.io/v1/"));
	assert_creds("index.docker.io", "me", "pw");
	/* refused usernames */
	assert_int_equal(auth_config_set("h", "", "pw", &err), -1);
	assert_int_equal(auth_config_set("h", "a:b", "pw", &err), -1);
}

static void test_remove(void **state)
{
	struct err err = { 0 };
	int had = 1;
	_cleanup_free_ char *s = NULL;

	/* no file: nothing to remove, nothing created */
	assert_int_equal(auth_config_remove("127.0.0.1:5000", &had, &err), 0);
	assert_int_equal(had, 0);
	assert_int_equal(access(path, F_OK), -1);
	put("{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"YTpi\"}, "
	    "\"https://127.0.0.1:5000\": {\"auth\": \"YTpi\"}, \"keep:1\": {\"auth\": \"YTpi\"}},"
	    " \"x\": 1}");
	assert_int_equal(auth_config_remove("127.0.0.1:5000", &had, &err), 0);
	assert_int_equal(had, 1);
	assert_creds("127.0.0.1:5000", NULL, NULL);
	assert_creds("keep:1", "a", "b");
	s = get_file();
	assert_non_null(strstr(s, "\"x\": 1"));
	assert_int_equal(auth_config_remove("127.0.0.1:5000", &had, &err), 0);
	assert_int_equal(had, 0);
}

static void test_hostile(void **state)
{
	assert_refused("{", "not valid JSON");
	assert_refused("[]", "not a JSON object");
	assert_refused("\"auths\"", "not a JSON object");
	assert_refused("{\"auths\": []}", "\"auths\" is not an object");
	assert_refused("{\"auths\": \"x\"}", "\"auths\" is not an object");
	assert_refused("{\"auths\": {\"h\": 1}}", "not an object");
	assert_refused("{\"auths\": {\"h\": {\"auth\": 5}}}", "not a string");
	assert_refused("{\"auths\": {\"h\": {\"username\": 5}}}", "must be strings");
	/* bad base64: alphabet, length, padding in the middle, whitespace */
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"!!!!\"}}}", "not valid base64");
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"YTpiY\"}}}", "not valid base64");
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"YT=iYw==\"}}}", "not valid base64");
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"YTpi Yw==\"}}}", "not valid base64");
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"YTpiYw===\"}}}", "not valid base64");
	/* no colon ("abc"), empty user (":b"), NUL in the user ("a\0:b") */
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"YWJj\"}}}", "user:password");
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"OmI=\"}}}", "user:password");
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"YQA6Yg==\"}}}", "user:password");
	/* a NUL inside the password ("a:b\0c") */
	assert_refused("{\"auths\": {\"h\": {\"auth\": \"YTpiAGM=\"}}}", "NUL");
	/* duplicate keys */
	assert_refused("{\"auths\": {}, \"auths\": {\"h\": {\"auth\": \"YTpi\"}}}", "not valid JSON");
}

static void test_nul_padding_trimmed(void **state)
{
	/* "a:b\0\0": Go's decodeAuth trims NULs around the password */
	put("{\"auths\": {\"h\": {\"auth\": \"YTpiAAA=\"}}}");
	assert_creds("h", "a", "b");
}

static void test_huge_and_odd_files(void **state)
{
	struct err err = { 0 };
	char *u = NULL, *p = NULL;
	FILE *f = fopen(path, "w");
	struct stat st;

	assert_non_null(f);
	fputs("{\"auths\": {}, \"pad\": \"", f);
	for (int i = 0; i < (3 << 20) / 64; i++)
		fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", f);
	fputs("\"}", f);
	fclose(f);
	assert_int_equal(auth_config_get("h", &u, &p, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "larger"));
	err_clear(&err);
	assert_int_equal(auth_config_set("h", "u", "p", &err), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > (3 << 20) - 100);
	/* a directory where the file should be */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	err_clear(&err);
	assert_int_equal(auth_config_get("h", &u, &p, &err), -1);
	assert_non_null(strstr(err.msg, path));
	rmdir(path);
}

static void test_symlink_followed(void **state)
{
	struct err err = { 0 };
	_cleanup_free_ char *target = xasprintf("%s/real.json", dir);
	struct stat st;

	put("{\"auths\": {}}");
	rename(path, target);
	assert_int_equal(symlink("real.json", path), 0);
	if (auth_config_set("h", "u", "p", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_creds("h", "u", "p");
}

/* A credential helper on PATH that keeps what it stores in files beside it. */
static void helper_install(void)
{
	struct err err = { 0 };
	_cleanup_free_ char *bin = xasprintf("%s/bin", dir);
	_cleanup_free_ char *prog = xasprintf("%s/docker-credential-isoboxtest", bin);
	_cleanup_free_ char *path_env = xasprintf("%s:%s", bin, getenv("PATH"));
	static const char script[] =
		"#!/bin/sh\n"
		"d=$(dirname \"$0\")/store; mkdir -p \"$d\"\n"
		"case \"$1\" in\n"
		"get) read -r s; f=\"$d/$(echo \"$s\" | tr '/:' '__')\"\n"
		"  [ -f \"$f\" ] && exec cat \"$f\"\n"
		"  echo 'credentials not found in native keychain'; exit 1;;\n"
		"store) j=$(cat); s=$(echo \"$j\" | sed 's/.*\"ServerURL\":\"\\([^\"]*\\)\".*/\\1/')\n"
		"  echo \"$j\" > \"$d/$(echo \"$s\" | tr '/:' '__')\";;\n"
		"erase) read -r s; rm -f \"$d/$(echo \"$s\" | tr '/:' '__')\";;\n"
		"*) exit 2;;\n"
		"esac\n";

	if (mkdir_p(bin, 0700, &err) < 0 ||
	    write_file_atomic(prog, script, strlen(script), 0700, &err) < 0)
		fail_msg("%s", err.msg);
	setenv("PATH", path_env, 1);
}

static void test_cred_helpers(void **state)
{
	struct err err = { 0 };
	_cleanup_free_ char *s = NULL;
	int had = 0;

	helper_install();
	/* credsStore: every registry's secret in the helper, an empty entry in the file */
	put("{\"credsStore\": \"isoboxtest\"}");
	assert_creds("127.0.0.1:5000", NULL, NULL);
	if (auth_config_set("127.0.0.1:5000", "alice", "s3:cret", &err) < 0)
		fail_msg("%s", err.msg);
	s = get_file();
	assert_null(strstr(s, "auth\""));
	assert_non_null(strstr(s, "\"127.0.0.1:5000\": {}"));
	assert_creds("127.0.0.1:5000", "alice", "s3:cret");
	{
		char *h = auth_config_helper("127.0.0.1:5000");

		assert_string_equal(h, "isoboxtest");
		free(h);
	}
	assert_int_equal(auth_config_remove("127.0.0.1:5000", &had, &err), 0);
	assert_creds("127.0.0.1:5000", NULL, NULL);
	/* credHelpers: only that registry */
	put("{\"credHelpers\": {\"reg.example\": \"isoboxtest\"}}");
	if (auth_config_set("reg.example", "bob", "pw", &err) < 0 ||
	    auth_config_set("other.example", "carol", "pw2", &err) < 0)
		fail_msg("%s", err.msg);
	assert_creds("reg.example", "bob", "pw");
	assert_creds("other.example", "carol", "pw2");
	free(s);
	s = get_file();
	assert_null(strstr(s, "Ym9i"));           /* base64 "bob": not in the file */
	assert_non_null(strstr(s, "Y2Fyb2w6cHcy")); /* "carol:pw2" is */
	/* a helper that is not there fails, naming the file and the helper */
	put("{\"credsStore\": \"nothere\"}");
	err_clear(&err);
	char *u = NULL, *p = NULL;
	assert_int_equal(auth_config_get("h", &u, &p, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "docker-credential-nothere"));
	/* names that are not a helper's are refused */
	assert_refused("{\"credsStore\": \"../../bin/sh\"}", "credsStore");
	assert_refused("{\"credsStore\": 1}", "credsStore");
	assert_refused("{\"credHelpers\": []}", "credHelpers");
	assert_refused("{\"credHelpers\": {\"h\": \"a b\"}}", "credHelpers");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_path, setup),
		cmocka_unit_test_setup(test_missing_and_empty, setup),
		cmocka_unit_test_setup(test_read_docker, setup),
		cmocka_unit_test_setup(test_set_keeps_other_keys, setup),
		cmocka_unit_test_setup(test_set_creates_dir_and_hub_key, setup),
		cmocka_unit_test_setup(test_remove, setup),
		cmocka_unit_test_setup(test_hostile, setup),
		cmocka_unit_test_setup(test_nul_padding_trimmed, setup),
		cmocka_unit_test_setup(test_huge_and_odd_files, setup),
		cmocka_unit_test_setup(test_symlink_followed, setup),
		cmocka_unit_test_setup(test_cred_helpers, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
