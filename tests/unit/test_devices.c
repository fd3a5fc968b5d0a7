/* Device rules: the v1 rule strings and the v2 BPF program, loaded for real
 * into a cgroup2 hierarchy and checked against device opens in a child. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci/spec.h"
#include "process/devices.h"
#include "util/fs.h"

static const char *cgroup2_root(void)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup";
	if (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
		return "/sys/fs/cgroup/unified";
	return NULL;
}

/* In a child inside dir: 0 when opening a fresh c major:minor node works. */
static int open_in_cgroup(const char *dir, unsigned major, unsigned minor)
{
	char node[64];
	int status, fd;
	pid_t pid;

	snprintf(node, sizeof(node), "/tmp/isobox-devtest-%d", getpid());
	unlink(node);
	if (mknod(node, S_IFCHR | 0600, makedev(major, minor)) < 0)
		return -2;
	pid = fork();
	if (pid == 0) {
		char *procs = xasprintf("%s/cgroup.procs", dir);
		struct err err = { 0 };

		if (write_file(procs, "0", &err) < 0)
			_exit(3);
		fd = open(node, O_RDONLY | O_NONBLOCK);
		_exit(fd >= 0 ? 0 : errno == EPERM ? 1 : 2);
	}
	waitpid(pid, &status, 0);
	unlink(node);
	return WEXITSTATUS(status);
}

static void test_bpf_program_enforces_the_rules(void **state)
{
	const char *root = cgroup2_root();
	char *dir;
	struct err err = { 0 };

	assert_non_null(root);  /* this test needs a cgroup2 hierarchy: fail loudly */
	dir = xasprintf("%s/isobox-devtest-%d", root, getpid());
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(devices_apply_v2(dir, false, NULL, 0, &err), 0);
	assert_int_equal(open_in_cgroup(dir, 1, 3), 0);    /* /dev/null */
	assert_int_equal(open_in_cgroup(dir, 1, 9), 0);    /* /dev/urandom */
	assert_int_equal(open_in_cgroup(dir, 1, 11), 1);   /* /dev/kmsg: denied */
	assert_int_equal(open_in_cgroup(dir, 1, 1), 1);    /* /dev/mem: denied */
	assert_int_equal(open_in_cgroup(dir, 10, 200), 1); /* /dev/net/tun: denied */
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

/* linux.resources.devices come before the defaults: an engine's device
 * (here /dev/net/tun, and /dev/kmsg for reading) opens, the rest stays shut. */
static void test_spec_rules_add_devices(void **state)
{
	const char *root = cgroup2_root();
	json_t *j = json_loads("[{\"allow\": false, \"access\": \"rwm\"},"
			       " {\"allow\": true, \"type\": \"c\", \"major\": 10,"
			       "  \"minor\": 200, \"access\": \"rwm\"},"
			       " {\"allow\": true, \"type\": \"c\", \"major\": 1,"
			       "  \"minor\": 11, \"access\": \"r\"}]", 0, NULL);
	struct dev_rule *rules;
	struct err err = { 0 };
	size_t n;
	char *dir;

	assert_non_null(root);
	assert_int_equal(spec_device_rules(j, &rules, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_true(rules[0].deny && rules[0].type == 'a' && rules[0].major == -1);
	assert_false(rules[1].deny);
	dir = xasprintf("%s/isobox-devtest-spec-%d", root, getpid());
	assert_int_equal(mkdir(dir, 0755), 0);
	if (devices_apply_v2(dir, false, rules, n, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(open_in_cgroup(dir, 10, 200), 0);
	assert_int_equal(open_in_cgroup(dir, 1, 11), 0);
	assert_int_equal(open_in_cgroup(dir, 1, 3), 0);    /* the defaults still hold */
	assert_int_equal(open_in_cgroup(dir, 1, 1), 1);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
	free(rules);
	json_decref(j);
}

static void test_bad_spec_rules_are_refused(void **state)
{
	static const char *const bad[] = {
		"{}", "[1]", "[{\"access\": \"rwm\"}]",
		"[{\"allow\": true, \"type\": \"x\"}]",
		"[{\"allow\": true, \"type\": \"cc\"}]",
		"[{\"allow\": true, \"access\": \"rwx\"}]",
		"[{\"allow\": true, \"access\": \"\"}]",
		"[{\"allow\": true, \"major\": -2}]",
		"[{\"allow\": true, \"minor\": \"1\"}]",
		"[{\"allow\": true, \"major\": 99999999999}]",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		struct dev_rule *rules = (struct dev_rule *)1;
		struct err err = { 0 };
		size_t n = 7;

		assert_non_null(j);
		assert_int_equal(spec_device_rules(j, &rules, &n, &err), -1);
		assert_null(rules);
		assert_int_equal(n, 0);
		assert_non_null(strstr(err.msg, "linux.resources.devices"));
		json_decref(j);
	}
}

static void test_allow_all_attaches_nothing(void **state)
{
	const char *root = cgroup2_root();
	char *dir;
	struct err err = { 0 };

	assert_non_null(root);
	dir = xasprintf("%s/isobox-devtest-all-%d", root, getpid());
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(devices_apply_v2(dir, true, NULL, 0, &err), 0);
	assert_int_equal(open_in_cgroup(dir, 1, 11), 0);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpf_program_enforces_the_rules),
		cmocka_unit_test(test_allow_all_attaches_nothing),
		cmocka_unit_test(test_spec_rules_add_devices),
		cmocka_unit_test(test_bad_spec_rules_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
