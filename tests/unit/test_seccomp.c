/* Tests for src/engine/seccomp_profile.c and src/process/seccomp.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/seccomp_profile.h"
#include "process/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* The first rule naming syscall name, or NULL. */
static json_t *rule_find(json_t *oci, const char *name)
{
	size_t i, k;
	json_t *r, *n;

	json_array_foreach(json_object_get(oci, "syscalls"), i, r)
	{
		json_array_foreach(json_object_get(r, "names"), k, n)
		{
			if (strcmp(json_string_value(n), name) == 0)
				return r;
		}
	}
	return NULL;
}

/* An SCMP_ACT_ALLOW rule naming name without argument conditions. */
static int allowed_plain(json_t *oci, const char *name)
{
	size_t i, k;
	json_t *r, *n;

	json_array_foreach(json_object_get(oci, "syscalls"), i, r)
	{
		if (json_object_get(r, "args") ||
		    strcmp(json_string_value(json_object_get(r, "action")), "SCMP_ACT_ALLOW") != 0)
			continue;
		json_array_foreach(json_object_get(r, "names"), k, n)
		{
			if (strcmp(json_string_value(n), name) == 0)
				return 1;
		}
	}
	return 0;
}

static char *write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/isobox-test-seccomp-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int load_text(const char *text, const char *const *caps, size_t n, json_t **out,
		     struct err *err)
{
	_cleanup_free_ char *path = write_tmp(text);
	int r = seccomp_profile_load_docker(path, caps, n, out, err);

	unlink(path);
	return r;
}

static void test_default_profile_basics(void **state)
{
	_cleanup_json_ json_t *p = seccomp_profile_default(NULL, 0);
	struct err err = {0};
	json_t *clone, *arg;

	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "defaultAction")),
			    "SCMP_ACT_ERRNO");
	assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), 1);
#if defined(__x86_64__)
	assert_int_equal(json_array_size(json_object_get(p, "architectures")), 3);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(p, "architectures"), 0)),
	    "SCMP_ARCH_X86_64");
	assert_true(allowed_plain(p, "arch_prctl"));
#endif
	assert_true(allowed_plain(p, "read"));
	assert_true(allowed_plain(p, "execve"));
	assert_null(rule_find(p, "kexec_load"));
	assert_null(rule_find(p, "mount"));
	assert_null(rule_find(p, "open_by_handle_at"));
	assert_false(allowed_plain(p, "clone"));
	clone = rule_find(p, "clone");
	assert_non_null(clone);
	arg = json_array_get(json_object_get(clone, "args"), 0);
	assert_string_equal(json_string_value(json_object_get(arg, "op")), "SCMP_CMP_MASKED_EQ");
	assert_int_equal(json_integer_value(json_object_get(arg, "value")), 0x7E020000);
	assert_int_equal(json_integer_value(json_object_get(arg, "index")), 0);
	assert_int_equal(json_integer_value(json_object_get(rule_find(p, "clone3"), "errnoRet")),
			 38);
	assert_int_equal(seccomp_validate(p, &err), 0);
}

static void test_default_profile_caps(void **state)
{
	static const char *const caps[] = {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_BPF"};
	_cleanup_json_ json_t *p = seccomp_profile_default(caps, 3);
	struct err err = {0};

	assert_non_null(p);
	assert_true(allowed_plain(p, "mount"));
	assert_true(allowed_plain(p, "umount2"));
	assert_true(allowed_plain(p, "unshare"));
	assert_true(allowed_plain(p, "setns"));
	assert_true(allowed_plain(p, "clone"));
	assert_true(allowed_plain(p, "clone3"));
	assert_true(allowed_plain(p, "ptrace"));
	assert_true(allowed_plain(p, "kcmp"));
	assert_true(allowed_plain(p, "bpf"));
	assert_false(allowed_plain(p, "reboot"));
	assert_false(allowed_plain(p, "init_module"));
	assert_null(rule_find(p, "kexec_load"));
	/* clone3's ENOSYS rule and the masked clone rule are excluded by CAP_SYS_ADMIN */
	assert_true(json_is_string(json_object_get(rule_find(p, "clone3"), "action")));
	assert_null(json_object_get(rule_find(p, "clone3"), "errnoRet"));
	assert_null(json_object_get(rule_find(p, "clone"), "args"));
	assert_int_equal(seccomp_validate(p, &err), 0);
}

static const char small_profile[] =
    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,"
    " \"archMap\": [{\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": "
    "[\"SCMP_ARCH_ARM\"]},"
    "   {\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\"]}],"
    " \"syscalls\": ["
    "  {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"x\"},"
    "  {\"name\": \"mount\", \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": "
    "[\"CAP_SYS_ADMIN\"]}},"
    "  {\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38,"
    "   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
    "  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": "
    "\"4.8\"}},"
    "  {\"names\": [\"futex\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": "
    "\"200.0\"}},"
    "  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","
    "   \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}"
    " ]}";

static void test_docker_convert(void **state)
{
	static const char *const admin[] = {"CAP_SYS_ADMIN"};
	_cleanup_json_ json_t *plain = NULL, *priv = NULL;
	struct err err = {0};

	assert_int_equal(load_text(small_profile, NULL, 0, &plain, &err), 0);
	assert_int_equal(load_text(small_profile, admin, 1, &priv, &err), 0);
#if defined(__x86_64__)
	assert_int_equal(json_array_size(json_object_get(plain, "architectures")), 2);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(plain, "architectures"), 1)),
	    "SCMP_ARCH_X86");
#endif
	assert_true(allowed_plain(plain, "read"));
	assert_null(rule_find(plain, "mount"));
	assert_true(allowed_plain(priv, "mount"));
	assert_int_equal(
	    json_integer_value(json_object_get(rule_find(plain, "clone3"), "errnoRet")), 38);
	assert_null(rule_find(priv, "clone3"));
	assert_true(allowed_plain(plain, "ptrace"));
	assert_null(rule_find(plain, "futex"));
	assert_non_null(json_object_get(rule_find(plain, "personality"), "args"));
	assert_null(json_object_get(rule_find(plain, "read"), "comment"));
	assert_int_equal(seccomp_validate(plain, &err), 0);
	assert_int_equal(seccomp_validate(priv, &err), 0);
}

/* Each hostile profile fails with a message holding the expected words. */
static void test_docker_malformed(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"{\"defaultAction\": ", "not valid JSON"},
	    {"[1, 2]", "must be a JSON object"},
	    {"{\"syscalls\": []}", "defaultAction is missing"},
	    {"{\"defaultAction\": 7}", "defaultAction: must be a string"},
	    {"{\"defaultAction\": \"SCMP_ACT_NOPE\"}",
	     "defaultAction: unknown action SCMP_ACT_NOPE"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}", "defaultErrnoRet"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": {}}",
	     "syscalls: must be an array"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\"}, 3]}",
	     "syscalls[1]: must be an object"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\"}, {}, {}, {\"names\": [\"x\"], \"action\": "
	     "\"SCMP_ACT_FOO\"}]}",
	     "syscalls[1].names"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"a\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"b\"], \"action\": "
	     "\"SCMP_ACT_ALLOW\"}, "
	     "{\"names\": [\"c\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"x\"], "
	     "\"action\": "
	     "\"SCMP_ACT_FOO\"}]}",
	     "syscalls[3].action: unknown action SCMP_ACT_FOO"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [1], "
	     "\"action\": \"SCMP_ACT_ALLOW\"}]}",
	     "syscalls[0].names[0]: must be a string"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"a b\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\"}]}",
	     "invalid syscall name"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"name\": \"a\", \"names\": "
	     "[\"b\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
	     "both \"name\" and \"names\""},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"a\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": "
	     "\"SCMP_CMP_EQ\"}]}]}",
	     "args[0].index: 6 is out of range 0..5"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"a\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
	     "\"SCMP_CMP_XX\"}]}]}",
	     "args[0].op: unknown operator SCMP_CMP_XX"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"a\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": \"1\", \"op\": "
	     "\"SCMP_CMP_EQ\"}]}]}",
	     "args[0].value: must be an integer"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"a\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": \"CAP_X\"}}]}",
	     "includes.caps: must be an array of strings"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"a\"], "
	     "\"action\": \"SCMP_ACT_ALLOW\", \"excludes\": {\"minKernel\": \"4\"}}]}",
	     "excludes.minKernel: invalid kernel version 4"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86\"], "
	     "\"archMap\": [{\"architecture\": \"SCMP_ARCH_X86\"}]}",
	     "both \"architectures\""},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_VAX\"]}",
	     "architectures[0]: unknown architecture SCMP_ARCH_VAX"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"flags\": [\"SECCOMP_FILTER_FLAG_BOGUS\"]}",
	     "flags[0]: unsupported flag"},
	    {"{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "SCMP_ACT_NOTIFY is not supported"},
	    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultAction\": \"SCMP_ACT_ALLOW\"}",
	     "not valid JSON"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err err = {0};
		json_t *out = NULL;

		if (load_text(cases[i].text, NULL, 0, &out, &err) == 0 ||
		    !strstr(err.msg, cases[i].want) || !strstr(err.msg, "seccomp profile /tmp/")) {
			fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].want, err.msg);
		}
		assert_null(out);
	}
}

static void test_docker_missing_file(void **state)
{
	struct err err = {0};
	json_t *out = NULL;

	assert_int_equal(seccomp_profile_load_docker("/nonexistent/p.json", NULL, 0, &out, &err),
			 -1);
	assert_non_null(strstr(err.msg, "seccomp profile"));
	assert_non_null(strstr(err.msg, "/nonexistent/p.json"));
}

static void test_validate_oci(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"[]", "linux.seccomp: must be an object"},
	    {"{}", "linux.seccomp.defaultAction: missing"},
	    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": \"x\"}",
	     "linux.seccomp.architectures: must be an array"},
	    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], "
	     "\"action\": \"SCMP_ACT_ERRNO\"}]}",
	     "linux.seccomp.syscalls[0].names"},
	    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
	     "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 70000}]}",
	     "errnoRet: 70000 is out of range"},
	    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\"}", "listenerPath"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_json_ json_t *j = json_loads(cases[i].text, 0, NULL);
		struct err err = {0};

		assert_non_null(j);
		if (seccomp_validate(j, &err) == 0 || !strstr(err.msg, cases[i].want))
			fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].want, err.msg);
	}
}

/* Run fn in a child (the filter must not reach the test process); it returns 0
 * when every check passed, else the number of the first failed check. */
static int run_child(int (*fn)(json_t *), json_t *filter)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct err err = {0};

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_apply(filter, &err) < 0) {
			fprintf(stderr, "seccomp_apply: %s\n", err.msg);
			_exit(100);
		}
		_exit(fn(filter));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int check_small_filter(json_t *filter)
{
	int fd;

	errno = 0;
	if (syscall(SYS_mkdirat, AT_FDCWD, "/tmp/isobox-seccomp-denied", 0700) != -1 ||
	    errno != EPERM)
		return 1;
	if (syscall(SYS_fchmodat, AT_FDCWD, "/nonexistent", 0) != -1 || errno != EXDEV)
		return 2;
	if (socket(AF_UNIX, SOCK_STREAM, 0) != -1 || errno != EPERM)
		return 3;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 4;
	close(fd);
	if (getpid() <= 0 || syscall(SYS_getppid, 0) <= 0)
		return 5;
	/* two conditions on one argument become two rules: either one matches */
	if (syscall(SYS_getppid, 1) != -1 || errno != EPERM)
		return 6;
	if (syscall(SYS_getppid, 2) != -1 || errno != EPERM)
		return 7;
	return 0;
}

static void test_apply_small(void **state)
{
	_cleanup_json_ json_t *f = json_loads(
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\","
	    " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],"
	    " \"syscalls\": ["
	    "  {\"names\": [\"mkdirat\", \"no_such_syscall_here\"], \"action\": "
	    "\"SCMP_ACT_ERRNO\"},"
	    "  {\"names\": [\"fchmodat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 18},"
	    "  {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"},"
	    "  {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\","
	    "   \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
	    "  {\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\","
	    "   \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
	    "              {\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}"
	    " ]}",
	    0, NULL);

	assert_non_null(f);
	rmdir("/tmp/isobox-seccomp-denied");
	assert_int_equal(run_child(check_small_filter, f), 0);
	/* the parent is not filtered */
	assert_int_equal(mkdir("/tmp/isobox-seccomp-denied", 0700), 0);
	rmdir("/tmp/isobox-seccomp-denied");
}

/* fork (clone without namespace flags) and exec a shell under the filter */
static int check_fork_exec(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "cat /proc/self/status >/dev/null && exit 3", NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int check_default_filter(json_t *filter)
{
	errno = 0;
	if (syscall(SYS_umount2, "/nonexistent-isobox", 0) != -1 || errno != EPERM)
		return 1;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 2;
	if (syscall(SYS_kexec_load, 0, 0, NULL, 0) != -1 || errno != EPERM)
		return 3;
	if (unshare(CLONE_NEWNS) != -1 || errno != EPERM)
		return 4;
	if (getpid() <= 0)
		return 5;
	return check_fork_exec() == 3 ? 0 : 6;
}

static void test_apply_default(void **state)
{
	_cleanup_json_ json_t *p = seccomp_profile_default(NULL, 0);

	assert_non_null(p);
	assert_int_equal(run_child(check_default_filter, p), 0);
}

/* Every capability: the rules that repeat names (syslog, bpf, ptrace...) load. */
static int check_privileged_filter(json_t *filter)
{
	errno = 0;
	if (syscall(SYS_umount2, "/nonexistent-isobox", 0) != -1 || errno == EPERM)
		return 1;
	if (syscall(SYS_kexec_load, 0, 0, NULL, 0) != -1 || errno != EPERM)
		return 2;
	return check_fork_exec() == 3 ? 0 : 3;
}

static void test_apply_privileged(void **state)
{
	static const char *const caps[] = {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE",	  "CAP_SYS_MODULE",
					   "CAP_SYS_BOOT",  "CAP_SYS_CHROOT",	  "CAP_SYS_NICE",
					   "CAP_SYS_PACCT", "CAP_SYS_RAWIO",	  "CAP_SYS_TIME",
					   "CAP_SYSLOG",    "CAP_SYS_TTY_CONFIG", "CAP_BPF",
					   "CAP_PERFMON",   "CAP_DAC_READ_SEARCH"};
	_cleanup_json_ json_t *p = seccomp_profile_default(caps, sizeof(caps) / sizeof(caps[0]));

	assert_non_null(p);
	assert_true(allowed_plain(p, "reboot"));
	assert_true(allowed_plain(p, "open_by_handle_at"));
	assert_int_equal(run_child(check_privileged_filter, p), 0);
}

static void test_apply_invalid(void **state)
{
	_cleanup_json_ json_t *f = json_loads("{\"defaultAction\": \"SCMP_ACT_BOGUS\"}", 0, NULL);
	struct err err = {0};

	/* fails in validation, before anything is loaded */
	assert_int_equal(seccomp_apply(f, &err), -1);
	assert_non_null(strstr(err.msg, "unknown action SCMP_ACT_BOGUS"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_profile_basics),
	    cmocka_unit_test(test_default_profile_caps),
	    cmocka_unit_test(test_docker_convert),
	    cmocka_unit_test(test_docker_malformed),
	    cmocka_unit_test(test_docker_missing_file),
	    cmocka_unit_test(test_validate_oci),
	    cmocka_unit_test(test_apply_small),
	    cmocka_unit_test(test_apply_default),
	    cmocka_unit_test(test_apply_privileged),
	    cmocka_unit_test(test_apply_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
