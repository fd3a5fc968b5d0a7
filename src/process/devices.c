#include "process/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* Docker's: mknod of anything, use of the standard nodes only. Without
 * these, CAP_MKNOD (in docker's default set) would open the host's disks. */
const struct dev_rule devices_default[] = {
	{ 'c', -1, -1, "m" },   { 'b', -1, -1, "m" },   { 'c', 1, 3, "rwm" },
	{ 'c', 1, 5, "rwm" },   { 'c', 1, 7, "rwm" },   { 'c', 1, 8, "rwm" },
	{ 'c', 1, 9, "rwm" },   { 'c', 5, 0, "rwm" },   { 'c', 5, 1, "rwm" },
	{ 'c', 5, 2, "rwm" },   { 'c', 136, -1, "rwm" },
};
const size_t devices_default_len = sizeof(devices_default) / sizeof(devices_default[0]);

static void rule_format(const struct dev_rule *r, char *buf, size_t len)
{
	char major[24] = "*", minor[24] = "*";

	if (r->major >= 0)
		snprintf(major, sizeof(major), "%ld", r->major);
	if (r->minor >= 0)
		snprintf(minor, sizeof(minor), "%ld", r->minor);
	snprintf(buf, len, "%c %s:%s %s", r->type, major, minor, r->access);
}

int devices_apply_v1(const char *dir, bool allow_all, struct err *err)
{
	_cleanup_free_ char *allow = xasprintf("%s/devices.allow", dir);
	_cleanup_free_ char *deny = xasprintf("%s/devices.deny", dir);
	char rule[96];
	size_t i;

	if (allow_all)
		return write_file(allow, "a", err);
	if (write_file(deny, "a", err) < 0)
		return -1;
	for (i = 0; i < devices_default_len; i++) {
		rule_format(&devices_default[i], rule, sizeof(rule));
		if (write_file(allow, rule, err) < 0)
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

/* r2 = device type, r3 = requested access, r4 = major, r5 = minor. Each rule
 * is a block of checks that jump to the next rule on mismatch and return 1
 * (allow) at its end; the program ends with return 0 (deny). */
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
	for (i = 0; i < n; i++) {
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
		EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
		EMIT(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	}
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	EMIT(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
#undef EMIT
	return (int)k;
}

int devices_apply_v2(const char *dir, bool allow_all, struct err *err)
{
	struct bpf_insn prog[256];
	char log[4096] = "";
	_cleanup_close_ int cgfd = -1, progfd = -1;
	union bpf_attr attr;
	int n;

	if (allow_all)
		return 0;
	n = devices_bpf_build(devices_default, devices_default_len, prog, 256);
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
