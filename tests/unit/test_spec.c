/* Tests for src/oci/spec.c: spec_parse on a good config.json and on hostile
 * ones, and the mount option parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "oci/spec.h"
#include "util/cleanup.h"

static const char good_config[] =
	"{"
	" \"ociVersion\": \"1.0.2\","
	" \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
	" \"hostname\": \"box\","
	" \"process\": {"
	"  \"terminal\": true,"
	"  \"args\": [\"/bin/sh\", \"-c\", \"echo hi\"],"
	"  \"env\": [\"PATH=/bin\", \"A=b\"],"
	"  \"cwd\": \"/work\","
	"  \"noNewPrivileges\": true,"
	"  \"user\": {\"uid\": 1000, \"gid\": 100, \"additionalGids\": [10, 20]},"
	"  \"capabilities\": {\"bounding\": [\"CAP_KILL\"]},"
	"  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096}]"
	" },"
	" \"mounts\": ["
	"  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
	"  {\"destination\": \"/data\", \"source\": \"/srv/data\","
	"   \"options\": [\"rbind\", \"ro\", \"rprivate\"]},"
	"  {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\","
	"   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]}"
	" ],"
	" \"linux\": {"
	"  \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": \"network\"},"
	"                   {\"type\": \"uts\"}, {\"type\": \"ipc\"}],"
	"  \"maskedPaths\": [\"/proc/kcore\"],"
	"  \"readonlyPaths\": [\"/proc/sys\", \"/proc/bus\"],"
	"  \"resources\": {\"memory\": {\"limit\": 67108864},"
	"                  \"cpu\": {\"quota\": 50000, \"period\": 100000},"
	"                  \"pids\": {\"limit\": 64},"
	"                  \"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}"
	" }"
	"}";

/* A minimal valid config with one member replaced by a JSON text. */
static json_t *config_with(const char *pointer_member, const char *value)
{
	json_error_t jerr;
	json_t *j = json_loads(good_config, 0, &jerr);
	json_t *v;

	assert_non_null(j);
	if (!pointer_member)
		return j;
	v = json_loads(value, JSON_DECODE_ANY, &jerr);
	assert_non_null(v);
	/* "a.b.c": set member c of object a.b */
	{
		char path[128], *dot, *p = path;
		json_t *obj = j;

		snprintf(path, sizeof(path), "%s", pointer_member);
		while ((dot = strchr(p, '.'))) {
			*dot = '\0';
			obj = json_object_get(obj, p);
			assert_non_null(obj);
			p = dot + 1;
		}
		json_object_set_new(obj, p, v);
	}
	return j;
}

/* spec_parse must refuse j with a message containing want. */
static void expect_refused(json_t *j, const char *want)
{
	struct oci_spec spec;
	struct err err = { 0 };

	assert_int_equal(spec_parse(j, &spec, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not mention '%s'", err.msg, want);
	spec_free(&spec);
	json_decref(j);
}

static void refuse(const char *member, const char *value, const char *want)
{
	expect_refused(config_with(member, value), want);
}

static void test_good(void **state)
{
	_cleanup_json_ json_t *j = config_with(NULL, NULL);
	struct oci_spec spec;
	struct err err = { 0 };

	assert_int_equal(spec_parse(j, &spec, &err), 0);
	assert_string_equal(spec.root_path, "rootfs");
	assert_true(spec.root_readonly);
	assert_string_equal(spec.hostname, "box");
	assert_string_equal(spec.args[0], "/bin/sh");
	assert_string_equal(spec.args[2], "echo hi");
	assert_null(spec.args[3]);
	assert_string_equal(spec.env[1], "A=b");
	assert_null(spec.env[2]);
	assert_string_equal(spec.cwd, "/work");
	assert_true(spec.terminal);
	assert_true(spec.no_new_privileges);
	assert_int_equal(spec.uid, 1000);
	assert_int_equal(spec.gid, 100);
	assert_int_equal(spec.n_gids, 2);
	assert_int_equal(spec.gids[0], 10);
	assert_int_equal(spec.gids[1], 20);
	assert_non_null(spec.capabilities);
	assert_int_equal(spec.n_rlimits, 1);
	assert_int_equal(spec.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(spec.rlimits[0].soft, 1024);
	assert_int_equal(spec.rlimits[0].hard, 4096);

	assert_int_equal(spec.n_mounts, 3);
	assert_string_equal(spec.mounts[0].destination, "/proc");
	assert_string_equal(spec.mounts[0].type, "proc");
	assert_int_equal(spec.mounts[0].flags, 0);
	assert_null(spec.mounts[0].data);
	/* no type: a bind mount gets type "bind" */
	assert_string_equal(spec.mounts[1].type, "bind");
	assert_string_equal(spec.mounts[1].source, "/srv/data");
	assert_true(spec.mounts[1].bind);
	assert_true(spec.mounts[1].readonly_bind);
	assert_int_equal(spec.mounts[1].flags, MS_BIND | MS_REC);
	assert_int_equal(spec.mounts[1].propagation, MS_PRIVATE | MS_REC);
	assert_int_equal(spec.mounts[2].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
	assert_string_equal(spec.mounts[2].data, "mode=1777,size=65536k");
	assert_false(spec.mounts[2].bind);

	assert_int_equal(spec.clone_flags,
			 CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC);
	assert_string_equal(spec.masked_paths[0], "/proc/kcore");
	assert_null(spec.masked_paths[1]);
	assert_string_equal(spec.readonly_paths[1], "/proc/bus");
	assert_null(spec.readonly_paths[2]);
	assert_int_equal(spec.memory_limit, 67108864);
	assert_int_equal(spec.cpu_quota, 50000);
	assert_int_equal(spec.cpu_period, 100000);
	assert_int_equal(spec.pids_limit, 64);
	assert_false(spec.devices_allow_all);
	spec_free(&spec);
	/* spec_parse took its own reference: j is still ours */
	assert_int_equal(j->refcount, 1);
}

static void test_minimal_defaults(void **state)
{
	json_error_t jerr;
	_cleanup_json_ json_t *j =
		json_loads("{\"root\":{\"path\":\"/r\"},\"process\":{\"args\":[\"x\"]},"
			   "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}", 0, &jerr);
	struct oci_spec spec;
	struct err err = { 0 };

	assert_non_null(j);
	assert_int_equal(spec_parse(j, &spec, &err), 0);
	assert_string_equal(spec.cwd, "/");
	assert_null(spec.env[0]);
	assert_null(spec.masked_paths[0]);
	assert_null(spec.readonly_paths[0]);
	assert_int_equal(spec.n_mounts, 0);
	assert_int_equal(spec.clone_flags, CLONE_NEWNS);
	assert_int_equal(spec.uid, 0);
	assert_false(spec.devices_allow_all);
	spec_free(&spec);
}

static void test_not_object(void **state)
{
	expect_refused(json_array(), "must be an object");
	expect_refused(json_string("{}"), "must be an object");
	expect_refused(json_null(), "must be an object");
	expect_refused(json_integer(1), "must be an object");
}

static void test_root(void **state)
{
	json_error_t jerr;

	expect_refused(json_loads("{\"process\":{\"args\":[\"x\"]}}", 0, &jerr), "root.path");
	refuse("root", "{}", "root.path");
	refuse("root", "\"rootfs\"", "root.path");
	refuse("root.path", "42", "root.path");
	refuse("root.path", "null", "root.path");
}

static void test_process(void **state)
{
	refuse("process", "null", "process");
	refuse("process", "[]", "process");
	refuse("process.args", "[]", "must not be empty");
	refuse("process.args", "[1]", "process.args[0]");
	refuse("process.args", "[\"sh\", null]", "process.args[1]");
	refuse("process.args", "\"sh\"", "process.args");
	refuse("process.env", "{\"A\":\"b\"}", "process.env");
	refuse("process.env", "[\"A=b\", [\"C\"]]", "process.env[1]");
	/* no args at all is as bad as an empty list */
	{
		json_t *j = config_with(NULL, NULL);

		json_object_del(json_object_get(j, "process"), "args");
		expect_refused(j, "must not be empty");
	}
}

static void test_cwd(void **state)
{
	refuse("process.cwd", "\"work\"", "process.cwd");
	refuse("process.cwd", "\"\"", "process.cwd");
	refuse("process.cwd", "\"/..\"", "'..'");
	refuse("process.cwd", "\"/a/../../etc\"", "'..'");
	refuse("process.cwd", "\"/a/..\"", "'..'");
	refuse("process.cwd", "\"../x\"", "process.cwd");
}

static void test_cwd_dots_in_names(void **state)
{
	/* "..." and "a..b" are ordinary names */
	json_t *j = config_with("process.cwd", "\"/a..b/.../c..\"");
	struct oci_spec spec;
	struct err err = { 0 };

	assert_int_equal(spec_parse(j, &spec, &err), 0);
	assert_string_equal(spec.cwd, "/a..b/.../c..");
	spec_free(&spec);
	json_decref(j);
}

static void test_mounts_hostile(void **state)
{
	refuse("mounts", "{}", "mounts");
	refuse("mounts", "[\"/proc\"]", "mounts[0]");
	refuse("mounts", "[{\"type\":\"tmpfs\"}]", "mounts[0]");
	refuse("mounts", "[{\"destination\":\"tmp\"}]", "absolute");
	refuse("mounts", "[{\"destination\":42}]", "absolute");
	refuse("mounts", "[{\"destination\":\"/../etc\"}]", "'..'");
	refuse("mounts", "[{\"destination\":\"/proc\"},{\"destination\":\"/x/../../etc\"}]",
	       "mounts[1]");
	refuse("mounts", "[{\"destination\":\"/x\",\"options\":\"ro\"}]", "must be an array");
	refuse("mounts", "[{\"destination\":\"/x\",\"options\":{\"ro\":true}}]",
	       "must be an array");
	refuse("mounts", "[{\"destination\":\"/x\",\"options\":[\"ro\",1]}]", "options[1]");
	/* the data of an earlier mount is freed by spec_free after a failure */
	refuse("mounts",
	       "[{\"destination\":\"/x\",\"options\":[\"size=1\",\"mode=2\"]},"
	       " {\"destination\":\"/y\",\"options\":[\"a=b\", null]}]",
	       "options[1]");
}

static void test_rlimits(void **state)
{
	refuse("process.rlimits", "[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]",
	       "unknown type RLIMIT_BOGUS");
	refuse("process.rlimits", "[{\"soft\":1,\"hard\":1}]", "unknown type");
	refuse("process.rlimits", "[{\"type\":7,\"soft\":1,\"hard\":1}]", "unknown type");
	refuse("process.rlimits", "[\"RLIMIT_NOFILE\"]", "rlimits[0]");
	refuse("process.rlimits", "[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":5}]",
	       "soft limit above hard");
	refuse("process.rlimits",
	       "[{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0},"
	       " {\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":5}]",
	       "rlimits[1]");
	assert_int_equal(spec_rlimit_resource("RLIMIT_NPROC"), RLIMIT_NPROC);
	assert_int_equal(spec_rlimit_resource("rlimit_nproc"), -1);
	assert_int_equal(spec_rlimit_resource(""), -1);
}

static void test_user(void **state)
{
	refuse("process.user", "{\"uid\":-1,\"gid\":0}", "must be integers from 0");
	refuse("process.user", "{\"uid\":0,\"gid\":-5}", "must be integers from 0");
	refuse("process.user", "{\"uid\":\"1000\",\"gid\":0}", "must be integers from 0");
	refuse("process.user", "{\"uid\":1.5,\"gid\":0}", "must be integers from 0");
	refuse("process.user", "{\"uid\":0,\"gid\":0,\"additionalGids\":[1,-2]}",
	       "additionalGids[1]");
	refuse("process.user", "{\"uid\":0,\"gid\":0,\"additionalGids\":[\"wheel\"]}",
	       "additionalGids[0]");
}

/* A uid that does not fit uid_t must not wrap around to 0 (root). */
static void test_user_uid_overflow(void **state)
{
	refuse("process.user", "{\"uid\":4294967296,\"gid\":0}", "must be integers from 0");
	refuse("process.user", "{\"uid\":4294967295,\"gid\":0}", "must be integers from 0");
	refuse("process.user", "{\"uid\":0,\"gid\":4294967296}", "must be integers from 0");
}

static void test_namespaces(void **state)
{
	struct oci_spec spec;
	struct err err = { 0 };
	json_t *j;

	refuse("linux.namespaces", "[{\"type\":\"pid\"},{\"type\":\"time\"}]",
	       "namespaces[1]: unsupported type time");
	refuse("linux.namespaces", "[{}]", "unsupported type (none)");
	refuse("linux.namespaces", "[\"pid\"]", "namespaces[0]");
	/* Without a mount namespace of its own pivot_root would move the caller's root. */
	refuse("linux.namespaces", "[{\"type\":\"pid\"}]", "needs a mount namespace");
	refuse("linux.namespaces", "[{\"type\":\"mount\",\"path\":\"/proc/1/ns/mnt\"}]",
	       "cannot be joined by path");
	refuse("linux.namespaces", "[{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"x\"}]",
	       "cannot be joined by path");
	refuse("linux.namespaces", "[{\"type\":\"mount\"},{\"type\":\"user\"}]",
	       "needs uidMappings and gidMappings");
	refuse("linux.uidMappings", "[{\"containerID\":0,\"hostID\":-1,\"size\":1}]",
	       "linux.uidMappings[0]");
	refuse("linux.gidMappings", "[{},{},{},{},{},{}]", "at most 5");
	refuse("linux.devices", "[{\"path\":\"dev/x\",\"type\":\"c\"}]", "absolute");
	refuse("linux.devices", "[{\"path\":\"/dev/../x\",\"type\":\"c\"}]", "..");
	refuse("linux.devices", "[{\"path\":\"/dev/x\",\"type\":\"z\"}]", "type");
	refuse("linux.sysctl", "[]", "linux.sysctl");
	refuse("linux", "[]", "linux: must be an object");
	refuse("linux.maskedPaths", "\"/proc/kcore\"", "linux.maskedPaths");
	refuse("linux.readonlyPaths", "[1]", "linux.readonlyPaths[0]");
	/* Joined by path: kept apart from the ones to make. */
	j = config_with("linux.namespaces", "[{\"type\":\"mount\"},{\"type\":\"network\","
			"\"path\":\"/run/netns/x\"},{\"type\":\"user\"}]");
	json_object_set_new(json_object_get(j, "linux"), "uidMappings",
			    json_loads("[{\"containerID\":0,\"hostID\":1000,\"size\":10}]", 0, NULL));
	json_object_set_new(json_object_get(j, "linux"), "gidMappings",
			    json_loads("[{\"containerID\":0,\"hostID\":1000,\"size\":10}]", 0, NULL));
	assert_int_equal(spec_parse(j, &spec, &err), 0);
	assert_int_equal(spec.clone_flags, CLONE_NEWNS | CLONE_NEWUSER);
	assert_int_equal(spec.n_ns_paths, 1);
	assert_int_equal(spec.ns_paths[0].flag, CLONE_NEWNET);
	assert_string_equal(spec.ns_paths[0].path, "/run/netns/x");
	assert_int_equal(spec_namespace_flags(&spec), CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWNET);
	assert_int_equal(spec.uid_maps[0].host, 1000);
	spec_free(&spec);
	json_decref(j);
}

static void test_huge_arrays(void **state)
{
	json_t *j = config_with(NULL, NULL);
	json_t *args = json_array(), *env = json_array(), *mounts = json_array();
	struct oci_spec spec;
	struct err err = { 0 };
	size_t i;

	for (i = 0; i < 100000; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "arg%zu", i);
		json_array_append_new(args, json_string(buf));
		json_array_append_new(env, json_string("A=b"));
	}
	for (i = 0; i < 10000; i++)
		json_array_append_new(mounts,
				      json_pack("{s:s, s:[s,s,s]}", "destination", "/m",
						"options", "rbind", "ro", "x=y"));
	json_object_set_new(json_object_get(j, "process"), "args", args);
	json_object_set_new(json_object_get(j, "process"), "env", env);
	json_object_set_new(j, "mounts", mounts);
	assert_int_equal(spec_parse(j, &spec, &err), 0);
	assert_string_equal(spec.args[99999], "arg99999");
	assert_null(spec.args[100000]);
	assert_null(spec.env[100000]);
	assert_int_equal(spec.n_mounts, 10000);
	assert_true(spec.mounts[9999].readonly_bind);
	assert_string_equal(spec.mounts[9999].data, "x=y");
	spec_free(&spec);
	json_decref(j);
}

static void test_deep_nesting(void **state)
{
	/* jansson limits nesting depth on load; what it accepts must parse */
	json_t *j = config_with(NULL, NULL);
	json_t *deep = json_object();
	struct oci_spec spec;
	struct err err = { 0 };
	int i;

	for (i = 0; i < 1000; i++)
		deep = json_pack("{s:o}", "a", deep);
	json_object_set_new(j, "annotations", deep);
	assert_int_equal(spec_parse(j, &spec, &err), 0);
	assert_non_null(spec.annotations);
	spec_free(&spec);
	json_decref(j);
}

/* spec_mount_options on one list, starting from a zeroed mount. */
static int mount_opts(const char *list, struct oci_mount *m)
{
	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loads(list, JSON_DECODE_ANY, &jerr);
	struct err err = { 0 };

	assert_non_null(o);
	memset(m, 0, sizeof(*m));
	m->destination = "/t";
	return spec_mount_options(o, m, &err);
}

static void test_mount_options(void **state)
{
	struct oci_mount m;

	assert_int_equal(mount_opts("[\"ro\"]", &m), 0);
	assert_int_equal(m.flags, MS_RDONLY);
	assert_false(m.readonly_bind);

	assert_int_equal(mount_opts("[\"ro\", \"rw\"]", &m), 0);
	assert_int_equal(m.flags, 0);

	assert_int_equal(mount_opts("[\"nosuid\", \"suid\", \"nodev\", \"noexec\"]", &m), 0);
	assert_int_equal(m.flags, MS_NODEV | MS_NOEXEC);

	assert_int_equal(mount_opts("[\"bind\"]", &m), 0);
	assert_true(m.bind);
	assert_int_equal(m.flags, MS_BIND);

	assert_int_equal(mount_opts("[\"rbind\"]", &m), 0);
	assert_int_equal(m.flags, MS_BIND | MS_REC);

	/* a read-only bind is a bind plus a remount: MS_RDONLY moves out */
	assert_int_equal(mount_opts("[\"ro\", \"bind\", \"nosuid\"]", &m), 0);
	assert_true(m.bind);
	assert_true(m.readonly_bind);
	assert_int_equal(m.flags, MS_BIND | MS_NOSUID);

	assert_int_equal(mount_opts("[\"bind\", \"ro\", \"rw\"]", &m), 0);
	assert_false(m.readonly_bind);

	assert_int_equal(mount_opts("[\"private\"]", &m), 0);
	assert_int_equal(m.propagation, MS_PRIVATE);
	assert_int_equal(m.flags, 0);
	assert_int_equal(mount_opts("[\"rshared\"]", &m), 0);
	assert_int_equal(m.propagation, MS_SHARED | MS_REC);
	assert_int_equal(mount_opts("[\"rslave\", \"runbindable\"]", &m), 0);
	assert_int_equal(m.propagation, MS_UNBINDABLE | MS_REC);

	assert_int_equal(mount_opts("[\"mode=755\", \"ro\", \"size=1m\", \"uid=0\"]", &m), 0);
	assert_int_equal(m.flags, MS_RDONLY);
	assert_string_equal(m.data, "mode=755,size=1m,uid=0");
	free(m.data);

	assert_int_equal(mount_opts("[\"defaults\", \"noatime\", \"strictatime\"]", &m), 0);
	assert_int_equal(m.flags, MS_NOATIME | MS_STRICTATIME);
	assert_null(m.data);

	assert_int_equal(mount_opts("[]", &m), 0);
	assert_int_equal(m.flags, 0);
	/* no options at all is fine; an explicit null is not a list */
	memset(&m, 0, sizeof(m));
	assert_int_equal(spec_mount_options(NULL, &m, &(struct err){ 0 }), 0);
	assert_int_equal(mount_opts("null", &m), -1);

	assert_int_equal(mount_opts("\"ro\"", &m), -1);
	assert_int_equal(mount_opts("[\"ro\", 3]", &m), -1);
	assert_int_equal(mount_opts("[\"ro\", null]", &m), -1);
}

static int devices_allow_all(const char *rules)
{
	json_t *j = config_with("linux.resources.devices", rules);
	struct oci_spec spec;
	struct err err = { 0 };
	int r;

	/* Bad rules are refused when the spec is read, for both modes. */
	r = spec_parse(j, &spec, &err) < 0 ? -1 : spec.devices_allow_all;
	spec_free(&spec);
	json_decref(j);
	return r;
}

static void test_devices_allow_all(void **state)
{
	/* docker --privileged */
	assert_true(devices_allow_all("[{\"allow\":true,\"access\":\"rwm\"}]"));
	assert_true(devices_allow_all("[{\"allow\":false,\"access\":\"rwm\"},"
				      " {\"allow\":true,\"access\":\"rwm\"}]"));
	/* docker's default list: deny all, then allow some */
	assert_false(devices_allow_all("[{\"allow\":false,\"access\":\"rwm\"},"
				       " {\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,"
				       "  \"access\":\"rwm\"}]"));
	/* the last rule decides */
	assert_false(devices_allow_all("[{\"allow\":true,\"access\":\"rwm\"},"
				       " {\"allow\":false,\"access\":\"rwm\"}]"));
	assert_false(devices_allow_all("[{\"allow\":true,\"type\":\"a\",\"major\":1}]"));
	assert_false(devices_allow_all("[{\"allow\":true,\"minor\":3}]"));
	assert_int_equal(devices_allow_all("[{\"allow\":\"yes\"}]"), -1);
	assert_false(devices_allow_all("[]"));
	assert_int_equal(devices_allow_all("{}"), -1);
	assert_int_equal(devices_allow_all("[1, 2]"), -1);
	assert_false(devices_allow_all("null"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_cwd),
		cmocka_unit_test(test_cwd_dots_in_names),
		cmocka_unit_test(test_mounts_hostile),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_user_uid_overflow),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_huge_arrays),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_mount_options),
		cmocka_unit_test(test_devices_allow_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
