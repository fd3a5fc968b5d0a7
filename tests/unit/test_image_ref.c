/* Image references, docker's --change instructions and the import config. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "engine/image.h"
#include "util/signal.h"
#include "util/cleanup.h"

static void assert_ref(const char *in, const char *want)
{
	struct err err = { 0 };
	char *out = NULL;

	if (image_ref_normalize(in, &out, &err) < 0)
		fail_msg("'%s' refused: %s", in, err.msg);
	assert_string_equal(out, want);
	free(out);
}

static void assert_bad_ref(const char *in)
{
	struct err err = { 0 };
	char *out = NULL;

	if (image_ref_normalize(in, &out, &err) == 0)
		fail_msg("'%s' accepted as '%s'", in, out);
	assert_non_null(strstr(err.msg, "invalid reference format"));
}

static void test_ref_good(void **state)
{
	assert_ref("busybox", "busybox:latest");
	assert_ref("busybox:1.36", "busybox:1.36");
	assert_ref("library/busybox:latest", "library/busybox:latest");
	/* docker's familiar names (the docker CLI sends the full ones) */
	assert_ref("docker.io/library/busybox", "busybox:latest");
	assert_ref("docker.io/acme/app:v1", "acme/app:v1");
	assert_ref("docker.io:5000/app", "docker.io:5000/app:latest");
	assert_ref("my-app_x.y__z--w", "my-app_x.y__z--w:latest");
	assert_ref("localhost:5000/app", "localhost:5000/app:latest");
	assert_ref("localhost:5000/app:v1", "localhost:5000/app:v1");
	assert_ref("Registry.Example.com/team/app:V_1.2-rc", "Registry.Example.com/team/app:V_1.2-rc");
	assert_ref("a", "a:latest");
	assert_ref("app:_x", "app:_x");
}

static void test_ref_bad(void **state)
{
	char long_tag[200];

	assert_bad_ref("");
	assert_bad_ref("Busybox");
	assert_bad_ref("busy box");
	assert_bad_ref("busybox:");
	assert_bad_ref(":latest");
	assert_bad_ref("busybox:bad tag");
	assert_bad_ref("busybox:.hidden");
	assert_bad_ref("busybox:-x");
	assert_bad_ref("foo/../bar");
	assert_bad_ref("../etc/passwd");
	assert_bad_ref("/abs");
	assert_bad_ref("foo//bar");
	assert_bad_ref("foo/");
	assert_bad_ref("-foo");
	assert_bad_ref("foo-");
	assert_bad_ref("foo___bar");
	assert_bad_ref("foo..bar");
	assert_bad_ref("foo.-bar");
	assert_bad_ref("busybox@sha256:abcd");
	assert_bad_ref("host:port/app");
	assert_bad_ref("-host.com/app");
	memset(long_tag, 'a', sizeof(long_tag));
	memcpy(long_tag, "app:", 4);
	long_tag[sizeof(long_tag) - 1] = '\0';
	assert_bad_ref(long_tag);
}

static void test_ref_split(void **state)
{
	char *name, *tag;

	image_ref_split("localhost:5000/app:v1", &name, &tag);
	assert_string_equal(name, "localhost:5000/app");
	assert_string_equal(tag, "v1");
	free(name);
	free(tag);
	image_ref_split("localhost:5000/app", &name, &tag);
	assert_string_equal(name, "localhost:5000/app");
	assert_string_equal(tag, "latest");
	free(name);
	free(tag);
}

/* The "config" object (or, with whole, the image config without it) after
 * applying one instruction, as compact JSON. */
static char *apply_to(const char *instr, bool whole)
{
	_cleanup_json_ json_t *img = json_pack("{s:{}}", "config");
	struct err err = { 0 };

	if (image_change_apply(img, instr, &err) < 0)
		fail_msg("'%s' refused: %s", instr, err.msg);
	if (whole) {
		json_object_del(img, "config");
		return json_dumps(img, JSON_COMPACT | JSON_SORT_KEYS);
	}
	return json_dumps(json_object_get(img, "config"), JSON_COMPACT | JSON_SORT_KEYS);
}

static char *apply(const char *instr)
{
	return apply_to(instr, false);
}

static void assert_change(const char *instr, const char *want)
{
	char *got = apply(instr);

	assert_string_equal(got, want);
	free(got);
}

static void assert_bad_change(const char *instr, const char *msg_part)
{
	_cleanup_json_ json_t *cfg = json_pack("{s:{}}", "config");
	struct err err = { 0 };

	if (image_change_apply(cfg, instr, &err) == 0)
		fail_msg("'%s' accepted", instr);
	if (!strstr(err.msg, msg_part))
		fail_msg("error '%s' does not mention '%s'", err.msg, msg_part);
}

static void test_change_cmd(void **state)
{
	assert_change("CMD [\"sh\", \"-c\", \"echo hi\"]", "{\"Cmd\":[\"sh\",\"-c\",\"echo hi\"]}");
	assert_change("CMD echo hi", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"]}");
	assert_change("cmd   top  ", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"top\"]}");
	assert_change("CMD [not json", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[not json\"]}");
	assert_change("CMD [1, 2]", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[1, 2]\"]}");
	assert_change("ENTRYPOINT [\"/bin/app\"]", "{\"Entrypoint\":[\"/bin/app\"]}");
	assert_change("ENTRYPOINT /bin/app --x", "{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"/bin/app --x\"]}");
	assert_bad_change("CMD", "needs a command");
}

static void test_change_env(void **state)
{
	assert_change("ENV A=b", "{\"Env\":[\"A=b\"]}");
	assert_change("ENV A=b C=\"d e\" F=g\\ h", "{\"Env\":[\"A=b\",\"C=d e\",\"F=g h\"]}");
	assert_change("ENV A hello world", "{\"Env\":[\"A=hello world\"]}");
	assert_change("ENV A=", "{\"Env\":[\"A=\"]}");
	assert_bad_change("ENV", "KEY=VALUE");
	assert_bad_change("ENV A", "KEY=VALUE");
	assert_bad_change("ENV A=b =c", "KEY=VALUE");
	assert_bad_change("ENV A=\"open", "unterminated quote");
}

static void test_change_env_replaces(void **state)
{
	_cleanup_json_ json_t *img = json_pack("{s:{}}", "config");
	struct err err = { 0 };
	char *s;

	assert_int_equal(image_change_apply(img, "ENV A=1 B=2", &err), 0);
	assert_int_equal(image_change_apply(img, "ENV A=3", &err), 0);
	s = json_dumps(json_object_get(img, "config"), JSON_COMPACT);
	assert_string_equal(s, "{\"Env\":[\"A=3\",\"B=2\"]}");
	free(s);
}

static void assert_image_change(const char *instr, const char *want)
{
	char *got = apply_to(instr, true);

	assert_string_equal(got, want);
	free(got);
}

static void test_change_platform_needs(void **state)
{
	assert_image_change("OS windows", "{\"os\":\"windows\"}");
	assert_image_change("ARCH arm64/v8", "{\"architecture\":\"arm64\",\"variant\":\"v8\"}");
	assert_image_change("os.version 6.20", "{\"os.version\":\"6.20\"}");
	assert_image_change("OS.FEATURES io_uring, bpf CONFIG_FOO",
			    "{\"os.features\":[\"io_uring\",\"bpf\",\"CONFIG_FOO\"]}");
	assert_bad_change("OS.VERSION six", "lowest kernel version");
	assert_bad_change("OS.VERSION 6", "lowest kernel version");
	assert_bad_change("OS.FEATURES ,", "needs kernel features");
	assert_bad_change("ARCH /v8", "ARCHITECTURE[/VARIANT]");
	assert_bad_change("OS two words", "one word");
}

static void test_change_misc(void **state)
{
	assert_change("WORKDIR /srv/app", "{\"WorkingDir\":\"/srv/app\"}");
	assert_change("WORKDIR srv", "{\"WorkingDir\":\"/srv\"}");
	assert_change("USER nobody:nogroup", "{\"User\":\"nobody:nogroup\"}");
	assert_change("LABEL a=b \"c d\"=\"e f\"", "{\"Labels\":{\"a\":\"b\",\"c d\":\"e f\"}}");
	assert_change("LABEL version 1.0", "{\"Labels\":{\"version\":\"1.0\"}}");
	assert_change("EXPOSE 80 53/udp", "{\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{}}}");
	assert_change("EXPOSE 8000-8002", "{\"ExposedPorts\":{\"8000/tcp\":{},\"8001/tcp\":{},"
		      "\"8002/tcp\":{}}}");
	assert_change("STOPSIGNAL SIGINT", "{\"StopSignal\":\"SIGINT\"}");
	assert_change("STOPSIGNAL 9", "{\"StopSignal\":\"9\"}");
	assert_change("VOLUME /data /logs", "{\"Volumes\":{\"/data\":{},\"/logs\":{}}}");
	assert_change("VOLUME [\"/data\"]", "{\"Volumes\":{\"/data\":{}}}");
	assert_bad_change("WORKDIR", "WORKDIR needs");
	assert_bad_change("USER", "USER needs");
	assert_bad_change("USER a b", "USER needs");
	assert_bad_change("EXPOSE", "EXPOSE needs");
	assert_bad_change("EXPOSE 0", "1-65535");
	assert_bad_change("EXPOSE 70000", "1-65535");
	assert_bad_change("EXPOSE 80/xtp", "tcp, udp or sctp");
	assert_bad_change("EXPOSE 90-80", "range");
	assert_bad_change("STOPSIGNAL SIGNOPE", "not a signal");
	assert_bad_change("STOPSIGNAL 0", "not a signal");
	assert_bad_change("VOLUME", "VOLUME needs");
	assert_bad_change("LABEL", "KEY=VALUE");
	assert_bad_change("FROM scratch", "unknown instruction FROM");
	assert_bad_change("RUN rm -rf /", "unknown instruction RUN");
	assert_bad_change("", "unknown instruction");
}

static void test_signal_parse(void **state)
{
	assert_int_equal(signal_parse("SIGTERM"), SIGTERM);
	assert_int_equal(signal_parse("kill"), SIGKILL);
	assert_int_equal(signal_parse("15"), 15);
	assert_int_equal(signal_parse("SIGRTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(signal_parse("RTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(signal_parse("SIGFOO"), -1);
	assert_int_equal(signal_parse("15x"), -1);
	assert_int_equal(signal_parse("RTMIN+"), -1);
	assert_int_equal(signal_parse("0"), -1);
	assert_int_equal(signal_parse(""), -1);
}

static void test_config_new(void **state)
{
	const char *changes[] = { "CMD [\"sh\"]", "ENV FOO=bar" };
	const char *with_path[] = { "ENV PATH=/opt/bin" };
	_cleanup_json_ json_t *img = NULL;
	_cleanup_json_ json_t *img2 = NULL;
	struct err err = { 0 };
	json_t *env;

	assert_int_equal(image_config_new(changes, 2, "note", &img, &err), 0);
	assert_string_equal(json_string_value(json_object_get(img, "os")), "linux");
	assert_non_null(json_string_value(json_object_get(img, "architecture")));
	assert_non_null(json_string_value(json_object_get(img, "created")));
	env = json_object_get(json_object_get(img, "config"), "Env");
	assert_int_equal(json_array_size(env), 2);
	assert_string_equal(json_string_value(json_array_get(env, 0)),
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_string_equal(json_string_value(json_array_get(env, 1)), "FOO=bar");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(img, "rootfs"), "type")), "layers");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(img, "history"), 0), "comment")), "note");

	assert_int_equal(image_config_new(with_path, 1, NULL, &img2, &err), 0);
	env = json_object_get(json_object_get(img2, "config"), "Env");
	assert_int_equal(json_array_size(env), 1);
	assert_string_equal(json_string_value(json_array_get(env, 0)), "PATH=/opt/bin");
}

static void test_config_new_bad_change(void **state)
{
	const char *changes[] = { "CMD sh", "BOGUS x" };
	json_t *img = NULL;
	struct err err = { 0 };

	assert_int_equal(image_config_new(changes, 2, NULL, &img, &err), -1);
	assert_null(img);
	assert_non_null(strstr(err.msg, "BOGUS"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_good),
		cmocka_unit_test(test_ref_bad),
		cmocka_unit_test(test_ref_split),
		cmocka_unit_test(test_change_cmd),
		cmocka_unit_test(test_change_env),
		cmocka_unit_test(test_change_env_replaces),
		cmocka_unit_test(test_change_misc),
		cmocka_unit_test(test_change_platform_needs),
		cmocka_unit_test(test_signal_parse),
		cmocka_unit_test(test_config_new),
		cmocka_unit_test(test_config_new_bad_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
