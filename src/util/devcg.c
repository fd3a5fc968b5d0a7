#include "util/devcg.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Without these, CAP_MKNOD (in docker's default set) would open the host's disks. */
const struct dev_rule devcg_defaults[] = {
	{ 'c', -1, -1, "m", false },   { 'b', -1, -1, "m", false },   { 'c', 1, 3, "rwm", false },
	{ 'c', 1, 5, "rwm", false },   { 'c', 1, 7, "rwm", false },   { 'c', 1, 8, "rwm", false },
	{ 'c', 1, 9, "rwm", false },   { 'c', 5, 0, "rwm", false },   { 'c', 5, 1, "rwm", false },
	{ 'c', 5, 2, "rwm", false },   { 'c', 136, -1, "rwm", false },
};
const size_t devcg_defaults_len = sizeof(devcg_defaults) / sizeof(devcg_defaults[0]);

#define DEVCG_BPF_MAX 4096

int devcg_rule_set_access(struct dev_rule *r, const char *access)
{
	size_t k = 0;

	if (!access || !*access || strspn(access, "rwm") != strlen(access))
		return -1;
	for (const char *c = "rwm"; *c; c++)
		if (strchr(access, *c))
			r->access[k++] = *c;
	r->access[k] = '\0';
	return 0;
}

void devcg_rule_format(const struct dev_rule *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s %c %ld %ld %s", r->deny ? "deny" : "allow", r->type, r->major,
		 r->minor, r->access);
}

/* A decimal of -1..INT32_MAX, whole. */
static int parse_num(const char *s, long *v)
{
	char *end;

	if (!*s || (s[0] == '0' && s[1]) || (s[0] == '-' && strcmp(s, "-1")) ||
	    strspn(s, "-0123456789") != strlen(s) || strlen(s) > 10)
		return -1;
	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || *end || *v < -1 || *v > INT32_MAX ? -1 : 0;
}

int devcg_rule_parse(const char *s, struct dev_rule *r)
{
	char verdict[8], type[2], major[16], minor[16], access[8], line[DEVCG_RULE_TEXT_MAX];
	int end = -1;

	if (!s || strlen(s) >= DEVCG_RULE_TEXT_MAX ||
	    sscanf(s, "%7s %1s %15s %15s %7s%n", verdict, type, major, minor, access, &end) != 5 ||
	    end < 0 || s[end])
		return -1;
	if ((strcmp(verdict, "allow") && strcmp(verdict, "deny")) || !strchr("acb", type[0]) ||
	    !type[0] || parse_num(major, &r->major) < 0 || parse_num(minor, &r->minor) < 0 ||
	    devcg_rule_set_access(r, access) < 0)
		return -1;
	r->type = type[0];
	r->deny = !strcmp(verdict, "deny");
	/* One spelling only: what devcg_rule_format writes. */
	devcg_rule_format(r, line, sizeof(line));
	return strcmp(line, s) ? -1 : 0;
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
int devcg_bpf_build(const struct dev_rule *rules, size_t n, struct bpf_insn *p, size_t max)
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

static int bpf_load(const struct bpf_insn *prog, int n, char *log, size_t log_len)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (__u64)(uintptr_t)prog;
	attr.insn_cnt = (__u32)n;
	attr.license = (__u64)(uintptr_t)"GPL";
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0 && errno == EINVAL && log && log_len) {
		/* Again with the verifier's log, to say why. */
		attr.log_buf = (__u64)(uintptr_t)log;
		attr.log_size = (__u32)log_len;
		attr.log_level = 1;
		fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
		log[strcspn(log, "\n")] = '\0';
	}
	return fd;
}

static int bpf_attach(const char *dir, int progfd)
{
	union bpf_attr attr;
	int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r, e;

	if (cgfd < 0)
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = cgfd;
	attr.attach_bpf_fd = progfd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	r = syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr));
	e = errno;
	close(cgfd);
	errno = e;
	return r;
}

int devcg_attach(const char *dir, const struct dev_rule *rules, size_t n, char *log,
		 size_t log_len)
{
	struct dev_rule *all = calloc(n + devcg_defaults_len, sizeof(*all));
	struct bpf_insn *prog = calloc(DEVCG_BPF_MAX, sizeof(*prog));
	int len = -1, progfd = -1, r = -1, e = ENOMEM;

	if (log && log_len)
		log[0] = '\0';
	if (all && prog) {
		if (n)
			memcpy(all, rules, n * sizeof(*all));
		memcpy(all + n, devcg_defaults, sizeof(devcg_defaults));
		len = devcg_bpf_build(all, n + devcg_defaults_len, prog, DEVCG_BPF_MAX);
		e = E2BIG;
	}
	if (len > 0 && (progfd = bpf_load(prog, len, log, log_len)) >= 0)
		r = bpf_attach(dir, progfd);
	if (len > 0)
		e = errno;
	if (progfd >= 0)
		close(progfd);
	free(all);
	free(prog);
	errno = e;
	return r;
}
