/* Tests for src/process/caps.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process/caps.h"
#include "util/cleanup.h"

static int list_has(json_t *list, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (strcmp(json_string_value(v), name) == 0)
			return 1;
	}
	return 0;
}

#define BIT(c) (UINT64_C(1) << (c))

static uint64_t status_mask(const char *field);

/* What "ALL" means: known to the kernel and held by this process. */
static size_t caps_known(void)
{
	size_t n = (size_t)cap_max_bits();
	uint64_t eff = status_mask("CapEff");

	if (n > CAP_LAST_CAP + 1)
		n = CAP_LAST_CAP + 1;
	if (eff == 0)
		return n;
	return (size_t)__builtin_popcountll(eff & ((UINT64_C(1) << n) - 1));
}

static void test_default_set(void **state)
{
	_cleanup_json_ json_t *list = NULL;
	struct err err = {0};

	assert_int_equal(caps_docker_default_len, 14);
	assert_int_equal(caps_resolve(NULL, 0, NULL, 0, 0, &list, &err), 0);
	assert_int_equal(json_array_size(list), 14);
	for (size_t i = 0; i < caps_docker_default_len; i++)
		assert_true(list_has(list, caps_docker_default[i]));
	assert_false(list_has(list, "CAP_SYS_ADMIN"));
}

static void test_add_drop(void **state)
{
	static const char *const add[] = {"sys_admin", "CAP_NET_ADMIN", "Cap_Sys_Ptrace", "chown"};
	static const char *const drop[] = {"cap_chown", "MKNOD", "net_raw"};
	_cleanup_json_ json_t *list = NULL;
	struct err err = {0};

	assert_int_equal(caps_resolve(add, 4, drop, 3, 0, &list, &err), 0);
	assert_true(list_has(list, "CAP_SYS_ADMIN"));
	assert_true(list_has(list, "CAP_NET_ADMIN"));
	assert_true(list_has(list, "CAP_SYS_PTRACE"));
	/* docker drops from the defaults first, then adds: chown comes back */
	assert_true(list_has(list, "CAP_CHOWN"));
	assert_false(list_has(list, "CAP_MKNOD"));
	assert_false(list_has(list, "CAP_NET_RAW"));
	assert_true(list_has(list, "CAP_KILL"));
	assert_int_equal(json_array_size(list), 14 + 3 - 2);
}

static void test_all(void **state)
{
	static const char *const all[] = {"all"};
	static const char *const raw[] = {"NET_RAW"};
	static const char *const chown_[] = {"CAP_CHOWN"};
	_cleanup_json_ json_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	struct err err = {0};

	assert_int_equal(caps_resolve(all, 1, raw, 1, 0, &a, &err), 0);
	assert_int_equal(json_array_size(a), caps_known() - 1);
	assert_false(list_has(a, "CAP_NET_RAW"));
	assert_true(list_has(a, "CAP_SYS_ADMIN"));
	assert_int_equal(caps_resolve(chown_, 1, all, 1, 0, &b, &err), 0);
	assert_int_equal(json_array_size(b), 1);
	assert_true(list_has(b, "CAP_CHOWN"));
	/* add ALL wins over drop ALL, as in docker */
	assert_int_equal(caps_resolve(all, 1, all, 1, 0, &c, &err), 0);
	assert_int_equal(json_array_size(c), caps_known());
	assert_int_equal(caps_resolve(NULL, 0, raw, 1, 1, &d, &err), 0);
	assert_int_equal(json_array_size(d), caps_known());
}

static void test_unknown(void **state)
{
	static const char *const bad[][1] = {{"CAP_FOO"}, {"foo"}, {"cap_all"}, {""}};
	static const char *const want[] = {
	    "unknown capability: CAP_FOO", "unknown capability: CAP_FOO",
	    "unknown capability: CAP_ALL", "unknown capability: CAP_"};
	char longname[200];

	for (size_t i = 0; i < 4; i++) {
		struct err err = {0};
		json_t *list = NULL;

		assert_int_equal(caps_resolve(bad[i], 1, NULL, 0, 0, &list, &err), -1);
		assert_string_equal(err.msg, want[i]);
		assert_null(list);
		assert_int_equal(caps_resolve(NULL, 0, bad[i], 1, 0, &list, &err), -1);
		assert_string_equal(err.msg, want[i]);
	}
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	{
		const char *const l[] = {longname};
		struct err err = {0};
		json_t *list = NULL;

		assert_int_equal(caps_resolve(l, 1, NULL, 0, 0, &list, &err), -1);
		assert_non_null(strstr(err.msg, "unknown capability"));
	}
}

static void test_from_name(void **state)
{
	assert_int_equal(caps_from_name("CAP_CHOWN"), 0);
	assert_int_equal(caps_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(caps_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(caps_from_name("cap_chown"), -1);
	assert_int_equal(caps_from_name("CAP_FOO"), -1);
}

static void test_apply_bad_input(void **state)
{
	_cleanup_json_ json_t *bad = json_pack("[s]", "CAP_NOPE");
	_cleanup_json_ json_t *num = json_pack("[i]", 3);
	_cleanup_json_ json_t *obj = json_object();
	struct err err = {0};

	assert_int_equal(caps_apply(bad, NULL, NULL, NULL, NULL, &err), -1);
	assert_string_equal(err.msg,
			    "process.capabilities.bounding[0]: unknown capability: CAP_NOPE");
	assert_int_equal(caps_apply(NULL, num, NULL, NULL, NULL, &err), -1);
	assert_string_equal(err.msg, "process.capabilities.effective[0]: must be a string");
	assert_int_equal(caps_apply(NULL, NULL, NULL, NULL, obj, &err), -1);
	assert_string_equal(err.msg, "process.capabilities.ambient: must be an array");
}

/* One hex mask from /proc/self/status ("CapEff:\t0000..."). */
static uint64_t status_mask(const char *field)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t len = strlen(field);
	uint64_t v = UINT64_MAX;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			sscanf(line + len + 1, "%" SCNx64, &v);
	return v;
}

/* In a child: become uid 1000 keeping caps, as the runtime does, then apply. */
static int child_apply(void)
{
	_cleanup_json_ json_t *bnd = json_pack("[s, s, s]", "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW");
	_cleanup_json_ json_t *set = json_pack("[s, s]", "CAP_CHOWN", "CAP_KILL");
	_cleanup_json_ json_t *amb = json_pack("[s]", "CAP_KILL");
	struct err err = {0};

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setresgid(1000, 1000, 1000) < 0 ||
	    setresuid(1000, 1000, 1000) < 0)
		return 10;
	if (status_mask("CapEff") != 0)
		return 11;
	if (caps_apply(bnd, set, set, set, amb, &err) < 0) {
		fprintf(stderr, "caps_apply: %s\n", err.msg);
		return 12;
	}
	if (status_mask("CapBnd") != (BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_RAW)))
		return 13;
	if (status_mask("CapEff") != (BIT(CAP_CHOWN) | BIT(CAP_KILL)) ||
	    status_mask("CapPrm") != (BIT(CAP_CHOWN) | BIT(CAP_KILL)) ||
	    status_mask("CapInh") != (BIT(CAP_CHOWN) | BIT(CAP_KILL)))
		return 14;
	if (status_mask("CapAmb") != BIT(CAP_KILL))
		return 15;
	return 0;
}

static void test_unavailable(void **state)
{
	static const char *const res[] = {"SYS_RESOURCE"};
	struct err err = {0};
	json_t *list = NULL;

	/* root on some hosts (this one included) lacks CAP_SYS_RESOURCE */
	if (status_mask("CapEff") == 0 || (status_mask("CapEff") & BIT(CAP_SYS_RESOURCE)))
		skip();
	assert_int_equal(caps_resolve(res, 1, NULL, 0, 0, &list, &err), -1);
	assert_non_null(strstr(err.msg, "CAP_SYS_RESOURCE is not supported by your kernel or not "
					"available"));
}

/* --privileged as root: every set gets everything "all" means; must apply. */
static int child_apply_privileged(void)
{
	_cleanup_json_ json_t *all = NULL;
	struct err err = {0};

	if (caps_resolve(NULL, 0, NULL, 0, 1, &all, &err) < 0 ||
	    caps_apply(all, all, all, all, all, &err) < 0) {
		fprintf(stderr, "privileged: %s\n", err.msg);
		return 1;
	}
	return json_array_size(all) == caps_known() ? 0 : 2;
}

static void test_apply_privileged(void **state)
{
	int status;
	pid_t pid;

	if (geteuid() != 0 || status_mask("CapEff") == 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_apply_privileged());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_apply_after_setuid(void **state)
{
	int status;
	pid_t pid;

	if (geteuid() != 0 || status_mask("CapEff") == 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_apply());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_set),
	    cmocka_unit_test(test_add_drop),
	    cmocka_unit_test(test_all),
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_from_name),
	    cmocka_unit_test(test_apply_bad_input),
	    cmocka_unit_test(test_unavailable),
	    cmocka_unit_test(test_apply_privileged),
	    cmocka_unit_test(test_apply_after_setuid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
