/* -v and --mount parsing (engine/mount_spec.c) and volume names (engine/volume.c):
 * docker's forms, docker's errors, hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/mount_spec.h"
#include "engine/volume.h"

static void v_ok(const char *spec, enum mount_type type, const char *src, const char *dst,
		 bool ro, const char *mode, struct mount_spec *m)
{
	struct err err = { 0 };

	assert_int_equal(mount_spec_parse_volume(spec, m, &err), 0);
	assert_int_equal(m->type, type);
	if (src)
		assert_string_equal(m->source, src);
	else
		assert_null(m->source);
	assert_string_equal(m->target, dst);
	assert_int_equal(m->readonly, ro);
	assert_string_equal(m->mode, mode);
}

static void v_bad(const char *spec, const char *msg)
{
	struct mount_spec m;
	struct err err = { 0 };

	assert_int_equal(mount_spec_parse_volume(spec, &m, &err), -1);
	assert_non_null(strstr(err.msg, msg));
	mount_spec_free(&m);
}

static void test_volume_forms(void **state)
{
	struct mount_spec m;

	v_ok("/host:/ctr", MOUNT_BIND, "/host", "/ctr", false, "", &m);
	assert_string_equal(m.propagation, "rprivate");
	mount_spec_free(&m);
	v_ok("/host:/ctr:ro", MOUNT_BIND, "/host", "/ctr", true, "ro", &m);
	mount_spec_free(&m);
	v_ok("/host:/ctr:rw,rslave", MOUNT_BIND, "/host", "/ctr", false, "rw,rslave", &m);
	assert_string_equal(m.propagation, "rslave");
	mount_spec_free(&m);
	v_ok("name:/ctr", MOUNT_VOLUME, "name", "/ctr", false, "z", &m);
	mount_spec_free(&m);
	v_ok("name:/ctr:ro,nocopy", MOUNT_VOLUME, "name", "/ctr", true, "ro,nocopy", &m);
	assert_true(m.nocopy);
	mount_spec_free(&m);
	v_ok("/anon", MOUNT_VOLUME, NULL, "/anon", false, "", &m);
	mount_spec_free(&m);
}

static void test_volume_errors(void **state)
{
	char long_path[5000];

	v_bad("", "invalid empty volume spec");
	v_bad("/a:/b:/c:/d", "too many colons");
	v_bad("a:b:c:d:e:f", "too many colons");
	v_bad("rel:data", "'data' mount path must be absolute");
	v_bad("rel", "'rel' mount path must be absolute");
	v_bad("/x:/y:bogus", "invalid mode: bogus");
	v_bad("/x:/y:ro,rw", "invalid mode: ro,rw");
	v_bad("/x:/y:", "invalid mode: ");
	v_bad("/x:ro", "invalid volume specification: '/x:ro'");
	v_bad(":/y", "invalid volume specification");
	v_bad("/x:/", "destination can't be '/'");
	v_bad("/x:///", "destination can't be '/'");
	v_bad("name:/y:rslave", "propagation applies to host paths only");
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	v_bad(long_path, "longer than 4096");
}

static void m_bad(const char *spec, const char *msg)
{
	struct mount_spec m;
	struct err err = { 0 };

	assert_int_equal(mount_spec_parse_mount(spec, &m, &err), -1);
	assert_non_null(strstr(err.msg, msg));
	mount_spec_free(&m);
}

static void test_mount_forms(void **state)
{
	struct mount_spec m;
	struct err err = { 0 };

	assert_int_equal(mount_spec_parse_mount("type=bind,source=/h,target=/c,readonly,"
						"bind-propagation=rshared", &m, &err), 0);
	assert_int_equal(m.type, MOUNT_BIND);
	assert_string_equal(m.source, "/h");
	assert_string_equal(m.target, "/c");
	assert_true(m.readonly && m.from_mount);
	assert_string_equal(m.propagation, "rshared");
	mount_spec_free(&m);
	assert_int_equal(mount_spec_parse_mount("target=/c", &m, &err), 0);
	assert_int_equal(m.type, MOUNT_VOLUME);
	assert_null(m.source);
	assert_string_equal(m.mode, "z");
	mount_spec_free(&m);
	assert_int_equal(mount_spec_parse_mount("type=volume,src=v1,dst=/c,ro=false,"
						"volume-opt=a=b,volume-nocopy", &m, &err), 0);
	assert_string_equal(m.source, "v1");
	assert_false(m.readonly);
	assert_true(m.nocopy);
	assert_int_equal(m.volume_opts.n, 1);
	assert_string_equal(m.volume_opts.v[0], "a=b");
	mount_spec_free(&m);
	assert_int_equal(mount_spec_parse_mount("type=tmpfs,destination=/t,tmpfs-size=1m,"
						"tmpfs-mode=700", &m, &err), 0);
	assert_int_equal(m.tmpfs_size, 1048576);
	assert_int_equal(m.tmpfs_mode, 0700);
	mount_spec_free(&m);
}

static void test_mount_errors(void **state)
{
	m_bad("", "target is required");
	m_bad("source=/x", "target is required");
	m_bad("type=foo,target=/x", "mount type unknown");
	m_bad("type=bind,target=/x", "field Source must not be empty");
	m_bad("type=bind,source=rel,target=/x", "'rel' mount path must be absolute");
	m_bad("type=tmpfs,source=a,target=/x", "field Source must not be specified");
	m_bad("type=volume,target=/x,bind-propagation=rslave", "field BindOptions");
	m_bad("type=bind,source=/a,target=/x,bind-propagation=bogus", "invalid bind-propagation");
	m_bad("type=volume,target=/x,tmpfs-size=1m", "field TmpfsOptions");
	m_bad("type=tmpfs,target=/x,tmpfs-size=huge", "invalid tmpfs-size");
	m_bad("type=tmpfs,target=/x,tmpfs-mode=99999", "invalid tmpfs-mode");
	m_bad("type=tmpfs,target=/x,volume-opt=a=b", "field VolumeOptions");
	m_bad("target=/x,volume-opt=novalue", "invalid volume-opt");
	m_bad("target=/x,readonly=maybe", "invalid value for readonly");
	m_bad("target=/x,bogus=1", "unexpected key 'bogus'");
	m_bad("target=rel", "'rel' mount path must be absolute");
	m_bad("target=/", "destination can't be '/'");
	m_bad("source=a/b,target=/x", "includes invalid characters");
	m_bad(",,,=,target=/x", "unexpected key");
}

static void test_volume_names(void **state)
{
	static const char *const good[] = { "ab", "a1", "my_vol.1-x", "0123456789abcdef" };
	static const char *const bad[] = { "a", "", "a/b", "../x", ".x", "-x", "_x", "a b",
					   "a:b", "a\n" };
	char long_name[300];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct err err = { 0 };

		assert_int_equal(volume_name_check(good[i], &err), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err err = { 0 };

		assert_int_equal(volume_name_check(bad[i], &err), -1);
		assert_non_null(strstr(err.msg, "create "));
	}
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	{
		struct err err = { 0 };

		assert_int_equal(volume_name_check(long_name, &err), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_volume_forms),
		cmocka_unit_test(test_volume_errors),
		cmocka_unit_test(test_mount_forms),
		cmocka_unit_test(test_mount_errors),
		cmocka_unit_test(test_volume_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
