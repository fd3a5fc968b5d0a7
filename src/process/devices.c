#include "process/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* Docker's: mknod of anything, use of the standard nodes only. Without
 * these, CAP_MKNOD (in docker's default set) would open the host's disks. */
const struct dev_rule devices_default[] = {
	{ 'c', -1, -1, "m", false },   { 'b', -1, -1, "m", false },   { 'c', 1, 3, "rwm", false },
	{ 'c', 1, 5, "rwm", false },   { 'c', 1, 7, "rwm", false },   { 'c', 1, 8, "rwm", false },
	{ 'c', 1, 9, "rwm", false },   { 'c', 5, 0, "rwm", false },   { 'c', 5, 1, "rwm", false },
	{ 'c', 5, 2, "rwm", false },   { 'c', 136, -1, "rwm", false },
};
const size_t devices_default_len = sizeof(devices_default) / sizeof(devices_default[0]);

#define DEVICES_MAX_RULES 256
#define DEVICES_BPF_MAX 4096

static int rule_from_json(json_t *j, size_t i, struct dev_rule *r, struct err *err)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	json_t *major = json_object_get(j, "major"), *minor = json_object_get(j, "minor");
	json_t *allow = json_object_get(j, "allow");

	r->type = type ? type[0] : 'a';
	r->major = json_is_integer(major) ? (long)json_integer_value(major) : -1;
	r->minor = json_is_integer(minor) ? (long)json_integer_value(minor) : -1;
	r->access = json_string_value(json_object_get(j, "access")) ?: "rwm";
	r->deny = !json_is_true(allow);
	if (!json_is_object(j) || !json_is_boolean(allow))
		return err_set(err, "linux.resources.devices[%zu]: an object with allow true or "
			       "false", i);
	if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
		return err_set(err, "linux.resources.devices[%zu]: type %s is not a, c or b", i,
			       type);
	if ((major && !json_is_null(major) && (!json_is_integer(major) || r->major < -1 ||
					       r->major > INT32_MAX)) ||
	    (minor && !json_is_null(minor) && (!json_is_integer(minor) || r->minor < -1 ||
					       r->minor > INT32_MAX)))
		return err_set(err, "linux.resources.devices[%zu]: bad major or minor", i);
	if (!*r->access || strspn(r->access, "rwm") != strlen(r->access))
		return err_set(err, "linux.resources.devices[%zu]: access %s is not some of rwm",
			       i, r->access);
	return 0;
}

int devices_rules_from_json(json_t *json, struct dev_rule **rules, size_t *n, struct err *err)
{
	size_t i;

	*rules = NULL;
	*n = 0;
	if (!json || json_is_null(json))
		return 0;
	if (!json_is_array(json) || json_array_size(json) > DEVICES_MAX_RULES)
		return err_set(err, "linux.resources.devices: an array of at most %d rules",
			       DEVICES_MAX_RULES);
	*rules = xmalloc((json_array_size(json) + 1) * sizeof(**rules));
	for (i = 0; i < json_array_size(json); i++)
		if (rule_from_json(json_array_get(json, i), i, &(*rules)[i], err) < 0) {
			free(*rules);
			*rules = NULL;
			return -1;
		}
	*n = i;
	return 0;
}

/* The spec's rules, then the defaults: the whole list, in order. */
static struct dev_rule *rules_all(const struct dev_rule *rules, size_t n, size_t *total)
{
	struct dev_rule *all = xmalloc((n + devices_default_len) * sizeof(*all));

	if (n)
		memcpy(all, rules, n * sizeof(*all));
	memcpy(all + n, devices_default, devices_default_len * sizeof(*all));
	*total = n + devices_default_len;
	return all;
}

static void rule_format(const struct dev_rule *r, char *buf, size_t len)
{
	char major[24] = "*", minor[24] = "*";

	if (r->major >= 0)
		snprintf(major, sizeof(major), "%ld", r->major);
	if (r->minor >= 0)
		snprintf(minor, sizeof(minor), "%ld", r->minor);
	snprintf(buf, len, "%c %s:%s %s", r->type, major, minor, r->access);
}

/* In order, as the kernel takes them: each allow adds to the list, each deny
 * takes from it ("a" empties it). */
int devices_apply_v1(const char *dir, bool allow_all, const struct dev_rule *rules, size_t n,
		     struct err *err)
{
	_cleanup_free_ char *allow = xasprintf("%s/devices.allow", dir);
	_cleanup_free_ char *deny = xasprintf("%s/devices.deny", dir);
	_cleanup_free_ struct dev_rule *all = NULL;
	char rule[96];
	size_t i, total;

	if (allow_all)
		return write_file(allow, "a", err);
	if (write_file(deny, "a", err) < 0)
		return -1;
	all = rules_all(rules, n, &total);
	for (i = 0; i < total; i++) {
		rule_format(&all[i], rule, sizeof(rule));
		if (write_file(all[i].deny ? deny : allow, rule, err) < 0)
			return -1;
	}
	return 0;
}

static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off,
				  .imm = imm };
}

static unsigned access_mask(const char *access)
{
	return (strchr(access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0) |
	       (strchr(access, 'r') ? BPF_DEVCG_ACC_READ : 0) |
	       (strchr(access, 'w') ? BPF_DEVCG_ACC_WRITE : 0);
}

/* r2 = device type, r3 = requested access, r4 = major, r5 = minor. Each rule,
 * the last first, is a block of checks that jump to the next on mismatch and
 * return 1 (allow) or 0 (deny) at its end; the program ends with return 0. */
int devices_bpf_build(const struct dev_rule *rules, size_t n, struct bpf_insn *p, size_t max)
{
	size_t k = 0, i;

#define EMIT(x)                        \
	do {                           \
		if (k >= max)          \
			return -1;     \
		p[k++] = (x);          \
	} while (0)
	EMIT(insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0));
	EMIT(insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
	EMIT(insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
	EMIT(insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0));
	EMIT(insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0));
	for (i = n; i-- > 0;) {
		const struct dev_rule *r = &rules[i];
		unsigned mask = access_mask(r->access);
		bool all_access = mask == (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ |
					   BPF_DEVCG_ACC_WRITE);
		/* Length of this block, so each check can jump past its end. */
		int len = (r->type != 'a') + (r->major >= 0) + (r->minor >= 0) +
			  (all_access ? 0 : 3) + 2;
		int at = 0;

		if (r->type != 'a')
			EMIT(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, len - 1 - at++,
				  r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
		if (r->major >= 0)
			EMIT(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, len - 1 - at++,
				  (__s32)r->major));
		if (r->minor >= 0)
			EMIT(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, len - 1 - at++,
				  (__s32)r->minor));
		if (!all_access) {
			/* Allowed only if the request asks for nothing outside the mask. */
			EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
			at++;
			EMIT(insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (__s32)~mask));
			at++;
			EMIT(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, len - 1 - at++, 0));
		}
		EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->deny ? 0 : 1));
		EMIT(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
		/* A rule that matches everything decides alone: what would follow
		 * is unreachable, which the verifier refuses. */
		if (at == 0)
			return (int)k;
	}
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	EMIT(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
#undef EMIT
	return (int)k;
}

int devices_apply_v2(const char *dir, bool allow_all, const struct dev_rule *rules,
		     size_t n_rules, struct err *err)
{
	_cleanup_free_ struct bpf_insn *prog = NULL;
	_cleanup_free_ struct dev_rule *all = NULL;
	char log[4096] = "";
	_cleanup_close_ int cgfd = -1, progfd = -1;
	union bpf_attr attr;
	size_t total;
	int n;

	if (allow_all)
		return 0;
	all = rules_all(rules, n_rules, &total);
	prog = xmalloc(DEVICES_BPF_MAX * sizeof(*prog));
	n = devices_bpf_build(all, total, prog, DEVICES_BPF_MAX);
	if (n < 0)
		return err_set(err, "device rules: the BPF program is too long");
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (__u64)(uintptr_t)prog;
	attr.insn_cnt = (__u32)n;
	attr.license = (__u64)(uintptr_t)"GPL";
	progfd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (progfd < 0 && errno == EINVAL) {
		/* Again with the verifier's log, to say why. */
		attr.log_buf = (__u64)(uintptr_t)log;
		attr.log_size = sizeof(log);
		attr.log_level = 1;
		progfd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	}
	if (progfd < 0) {
		int e = errno;

		log[strcspn(log, "\n")] = '\0';
		return err_sys(err, e, "load the device rules' BPF program (%.200s)", log);
	}
	cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return err_sys(err, errno, "open %s", dir);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = cgfd;
	attr.attach_bpf_fd = progfd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		return err_sys(err, errno, "attach the device rules to %s", dir);
	return 0;
}
