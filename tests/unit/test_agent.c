/* The guest agent's config parser against what the VMM writes, and hostile blobs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/agent.h"
#include "guest/agent_proto.h"
#include "vmm/guest_config.h"

static size_t blob(const struct guest_process *gp, unsigned char *buf, size_t max)
{
	struct err err = { 0 };
	int fd = guest_config_memfd(gp, &err);
	ssize_t n;

	assert_true(fd >= 0);
	n = pread(fd, buf, max, 0);
	close(fd);
	assert_true(n > 0);
	assert_int_equal(n % 512, 0);
	return (size_t)n;
}

static void test_round_trip(void **state)
{
	const char *argv[] = { "sh", "-c", "echo 'a b'", NULL };
	const char *env[] = { "A=1", "PATH=/bin", NULL };
	struct guest_process gp = { .argv = argv, .env = env, .cwd = "/srv", .hostname = "box",
				    .uid = 1000, .gid = 100, .tty = true };
	unsigned char buf[4096];
	struct agent_process p;
	size_t n = blob(&gp, buf, sizeof(buf));

	assert_int_equal(agent_config_parse(buf, n, &p), 0);
	assert_string_equal(p.argv[0], "sh");
	assert_string_equal(p.argv[2], "echo 'a b'");
	assert_null(p.argv[3]);
	assert_string_equal(p.envp[1], "PATH=/bin");
	assert_string_equal(p.cwd, "/srv");
	assert_string_equal(p.hostname, "box");
	assert_int_equal(p.uid, 1000);
	assert_int_equal(p.gid, 100);
	assert_true(p.tty);
	assert_false(p.readonly);
}

static void test_hostile_blobs(void **state)
{
	const char *argv[] = { "true", NULL };
	struct guest_process gp = { .argv = argv };
	unsigned char buf[4096];
	struct agent_process p;
	size_t n = blob(&gp, buf, sizeof(buf)), cut;
	unsigned char bad[64];

	assert_int_equal(agent_config_parse(buf, n, &p), 0);
	assert_string_equal(p.envp[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	/* Every truncation is refused, never read past. */
	for (cut = 0; cut < 40; cut++)
		if (cut < AGENT_MAGIC_LEN + 5 + 4 + 1)
			assert_int_equal(agent_config_parse(buf, cut, &p), -1);
	/* Wrong magic; a length past the end; a NUL inside a string; an unknown tag;
	 * no argv; a relative cwd; a uid that would wrap. */
	memcpy(bad, "ISOBOXC2", 8);
	assert_int_equal(agent_config_parse(bad, 8, &p), -1);
	memcpy(bad, "ISOBOXC1\x01\xff\xff\xff\x7f" "abc\x00", 17);
	assert_int_equal(agent_config_parse(bad, 17, &p), -1);
	memcpy(bad, "ISOBOXC1\x01\x03\x00\x00\x00" "a\x00" "b\x00", 15);
	assert_int_equal(agent_config_parse(bad, 15, &p), -1);
	memcpy(bad, "ISOBOXC1\x63\x01\x00\x00\x00" "x\x00", 15);
	assert_int_equal(agent_config_parse(bad, 15, &p), -1);
	memcpy(bad, "ISOBOXC1\x00", 9);
	assert_int_equal(agent_config_parse(bad, 9, &p), -1);
	memcpy(bad, "ISOBOXC1\x01\x01\x00\x00\x00" "x" "\x03\x03\x00\x00\x00" "tmp\x00", 22);
	assert_int_equal(agent_config_parse(bad, 22, &p), -1);
	memcpy(bad, "ISOBOXC1\x01\x01\x00\x00\x00" "x" "\x04\x0a\x00\x00\x00" "4294967296\x00", 29);
	assert_int_equal(agent_config_parse(bad, 29, &p), -1);
}

static void test_too_big_is_refused(void **state)
{
	static const char *argv[AGENT_MAX_ARGS + 2];
	char *big = malloc(AGENT_CONFIG_MAX);
	struct guest_process gp = { .argv = argv };
	struct err err = { 0 };

	memset(big, 'a', AGENT_CONFIG_MAX - 1);
	big[AGENT_CONFIG_MAX - 1] = '\0';
	argv[0] = big;
	argv[1] = NULL;
	assert_int_equal(guest_config_memfd(&gp, &err), -1);
	assert_non_null(strstr(err.msg, "exceed"));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile_blobs),
		cmocka_unit_test(test_too_big_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
