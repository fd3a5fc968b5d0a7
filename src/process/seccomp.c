/* Check an OCI linux.seccomp object and install it with libseccomp. The filter
 * is compiled to BPF in memory and installed with one seccomp(2) call, as crun
 * does, so nothing runs between the install and the caller's execve. */
#include "process/seccomp.h"

#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/sha256.h"

#define RULE_ARGS_MAX 64    /* conditions per rule; more is a hostile profile */
#define SYSCALL_ARG_COUNT 6 /* a syscall has arguments 0..5 */
#define SYSCALL_NAME_MAX 64
#define ACTION_DATA_MAX 0xffff /* SCMP_ACT_ERRNO/TRACE keep 16 bits of data */

struct named {
	const char *name;
	uint32_t value;
};

static const struct named actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
};

static const struct named ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct named arches[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

/* The OCI flags are seccomp(2) flags; we pass them to the kernel ourselves. */
static const struct named filter_flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* snprintf for the place named in a message; a place cut short still reads
 * fine, and vsnprintf keeps gcc from flagging every nested path as truncated. */
static __attribute__((format(printf, 3, 4))) void at_printf(char *buf, size_t size, const char *fmt,
							    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static const struct named *named_find(const struct named *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

/* A non-negative JSON integer no larger than max. */
static int check_uint(json_t *v, unsigned long long max, const char *where, struct err *err)
{
	if (!json_is_integer(v))
		return err_set(err, "%s: must be an integer", where);
	if (json_integer_value(v) < 0 || (unsigned long long)json_integer_value(v) > max)
		return err_set(err, "%s: %lld is out of range 0..%llu", where,
			       (long long)json_integer_value(v), max);
	return 0;
}

int seccomp_check_action(json_t *action, const char *where, struct err *err)
{
	const char *s = json_string_value(action);

	if (!action)
		return err_set(err, "%s: missing", where);
	if (!s)
		return err_set(err, "%s: must be a string", where);
	if (strcmp(s, "SCMP_ACT_NOTIFY") == 0)
		return err_set(err, "%s: SCMP_ACT_NOTIFY is not supported by isobox", where);
	if (!named_find(actions, N_OF(actions), s))
		return err_set(err, "%s: unknown action %s", where, s);
	return 0;
}

int seccomp_check_errno(json_t *errno_ret, const char *where, struct err *err)
{
	return check_uint(errno_ret, ACTION_DATA_MAX, where, err);
}

int seccomp_check_arch(json_t *arch, const char *where, struct err *err)
{
	const char *s = json_string_value(arch);

	if (!s)
		return err_set(err, "%s: must be a string", where);
	if (!named_find(arches, N_OF(arches), s))
		return err_set(err, "%s: unknown architecture %s", where, s);
	return 0;
}

int seccomp_check_flags(json_t *flags, const char *where, struct err *err)
{
	size_t i;
	json_t *f;

	if (!json_is_array(flags))
		return err_set(err, "%s: must be an array", where);
	json_array_foreach(flags, i, f)
	{
		if (!json_is_string(f))
			return err_set(err, "%s[%zu]: must be a string", where, i);
		if (!named_find(filter_flags, N_OF(filter_flags), json_string_value(f)))
			return err_set(err, "%s[%zu]: unsupported flag %s", where, i,
				       json_string_value(f));
	}
	return 0;
}

static int check_name(json_t *name, const char *where, struct err *err)
{
	const char *s = json_string_value(name);
	size_t len;

	if (!s)
		return err_set(err, "%s: must be a string", where);
	len = strlen(s);
	if (len == 0 || len > SYSCALL_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
		return err_set(err, "%s: invalid syscall name \"%.*s\"", where, SYSCALL_NAME_MAX,
			       s);
	return 0;
}

static int check_names(json_t *names, const char *where, struct err *err)
{
	char at[512];
	size_t i;
	json_t *n;

	if (!json_is_array(names) || json_array_size(names) == 0)
		return err_set(err, "%s.names: must be a non-empty array of syscall names", where);
	json_array_foreach(names, i, n)
	{
		at_printf(at, sizeof(at), "%s.names[%zu]", where, i);
		if (check_name(n, at, err) < 0)
			return -1;
	}
	return 0;
}

static int check_arg(json_t *arg, const char *where, struct err *err)
{
	char at[512];
	json_t *op = json_object_get(arg, "op");
	json_t *two = json_object_get(arg, "valueTwo");

	if (!json_is_object(arg))
		return err_set(err, "%s: must be an object", where);
	at_printf(at, sizeof(at), "%s.index", where);
	if (check_uint(json_object_get(arg, "index"), SYSCALL_ARG_COUNT - 1, at, err) < 0)
		return -1;
	at_printf(at, sizeof(at), "%s.value", where);
	if (check_uint(json_object_get(arg, "value"), LLONG_MAX, at, err) < 0)
		return -1;
	at_printf(at, sizeof(at), "%s.valueTwo", where);
	if (two && check_uint(two, LLONG_MAX, at, err) < 0)
		return -1;
	if (!json_is_string(op))
		return err_set(err, "%s.op: must be a string", where);
	if (!named_find(ops, N_OF(ops), json_string_value(op)))
		return err_set(err, "%s.op: unknown operator %s", where, json_string_value(op));
	return 0;
}

static int check_args(json_t *args, const char *where, struct err *err)
{
	char at[512];
	size_t i;
	json_t *a;

	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args))
		return err_set(err, "%s.args: must be an array", where);
	if (json_array_size(args) > RULE_ARGS_MAX)
		return err_set(err, "%s.args: more than %d conditions", where, RULE_ARGS_MAX);
	json_array_foreach(args, i, a)
	{
		at_printf(at, sizeof(at), "%s.args[%zu]", where, i);
		if (check_arg(a, at, err) < 0)
			return -1;
	}
	return 0;
}

int seccomp_check_rule(json_t *rule, const char *where, struct err *err)
{
	char at[512];
	json_t *errno_ret = json_object_get(rule, "errnoRet");

	if (!json_is_object(rule))
		return err_set(err, "%s: must be an object", where);
	if (check_names(json_object_get(rule, "names"), where, err) < 0)
		return -1;
	at_printf(at, sizeof(at), "%s.action", where);
	if (seccomp_check_action(json_object_get(rule, "action"), at, err) < 0)
		return -1;
	at_printf(at, sizeof(at), "%s.errnoRet", where);
	if (errno_ret && !json_is_null(errno_ret) && seccomp_check_errno(errno_ret, at, err) < 0)
		return -1;
	return check_args(json_object_get(rule, "args"), where, err);
}

static int check_arches(json_t *list, const char *where, struct err *err)
{
	char at[512];
	size_t i;
	json_t *a;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return err_set(err, "%s: must be an array", where);
	json_array_foreach(list, i, a)
	{
		at_printf(at, sizeof(at), "%s[%zu]", where, i);
		if (seccomp_check_arch(a, at, err) < 0)
			return -1;
	}
	return 0;
}

static int check_rules(json_t *rules, struct err *err)
{
	char at[512];
	size_t i;
	json_t *r;

	if (!rules || json_is_null(rules))
		return 0;
	if (!json_is_array(rules))
		return err_set(err, "linux.seccomp.syscalls: must be an array");
	json_array_foreach(rules, i, r)
	{
		at_printf(at, sizeof(at), "linux.seccomp.syscalls[%zu]", i);
		if (seccomp_check_rule(r, at, err) < 0)
			return -1;
	}
	return 0;
}

int seccomp_validate(json_t *s, struct err *err)
{
	json_t *errno_ret = json_object_get(s, "defaultErrnoRet");
	json_t *flags = json_object_get(s, "flags");
	const char *listener = json_string_value(json_object_get(s, "listenerPath"));

	if (!json_is_object(s))
		return err_set(err, "linux.seccomp: must be an object");
	if (seccomp_check_action(json_object_get(s, "defaultAction"), "linux.seccomp.defaultAction",
				 err) < 0)
		return -1;
	if (errno_ret && !json_is_null(errno_ret) &&
	    seccomp_check_errno(errno_ret, "linux.seccomp.defaultErrnoRet", err) < 0)
		return -1;
	if (check_arches(json_object_get(s, "architectures"), "linux.seccomp.architectures", err) <
	    0)
		return -1;
	if (flags && !json_is_null(flags) &&
	    seccomp_check_flags(flags, "linux.seccomp.flags", err) < 0)
		return -1;
	if (listener && *listener)
		return err_set(err, "linux.seccomp.listenerPath: seccomp notify is not supported "
				    "by isobox");
	return check_rules(json_object_get(s, "syscalls"), err);
}

/* --- building the filter (the object has been validated) --- */

static uint32_t named_value(const struct named *t, size_t n, json_t *name)
{
	return named_find(t, n, json_string_value(name))->value;
}

/* ERRNO and TRACE carry errnoRet, EPERM when absent, as runc does. */
static uint32_t action_value(json_t *action, json_t *errno_ret)
{
	uint32_t act = named_value(actions, N_OF(actions), action);
	uint32_t data =
	    json_is_integer(errno_ret) ? (uint32_t)json_integer_value(errno_ret) : EPERM;

	if (act == SCMP_ACT_ERRNO(0))
		return SCMP_ACT_ERRNO(data);
	if (act == SCMP_ACT_TRACE(0))
		return SCMP_ACT_TRACE(data);
	return act;
}

/* Fills cmp[]; *separate is set when two conditions test the same argument:
 * libseccomp cannot AND those, so like runc each becomes its own rule. */
static size_t args_parse(json_t *args, struct scmp_arg_cmp *cmp, bool *separate)
{
	unsigned seen[SYSCALL_ARG_COUNT] = {0};
	size_t i;
	json_t *a;

	*separate = false;
	json_array_foreach(args, i, a)
	{
		json_t *two = json_object_get(a, "valueTwo");

		cmp[i].arg = (unsigned)json_integer_value(json_object_get(a, "index"));
		cmp[i].op =
		    (enum scmp_compare)named_value(ops, N_OF(ops), json_object_get(a, "op"));
		cmp[i].datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value"));
		cmp[i].datum_b = two ? (scmp_datum_t)json_integer_value(two) : 0;
		if (++seen[cmp[i].arg] > 1)
			*separate = true;
	}
	return json_is_array(args) ? json_array_size(args) : 0;
}

static int filter_add_syscall(scmp_filter_ctx ctx, uint32_t act, int nr,
			      const struct scmp_arg_cmp *cmp, size_t n, bool separate)
{
	int r;

	if (!separate)
		return seccomp_rule_add_array(ctx, act, nr, (unsigned)n, n ? cmp : NULL);
	for (size_t i = 0; i < n; i++) {
		r = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int filter_add_rule(scmp_filter_ctx ctx, uint32_t def, json_t *rule, size_t idx,
			   struct err *err)
{
	struct scmp_arg_cmp cmp[RULE_ARGS_MAX];
	uint32_t act =
	    action_value(json_object_get(rule, "action"), json_object_get(rule, "errnoRet"));
	bool separate;
	size_t n = args_parse(json_object_get(rule, "args"), cmp, &separate);
	size_t i;
	json_t *name;

	/* libseccomp refuses a rule whose action is the default one; it is a no-op */
	if (act == def)
		return 0;
	json_array_foreach(json_object_get(rule, "names"), i, name)
	{
		int nr = seccomp_syscall_resolve_name(json_string_value(name));
		int r;

		/* a syscall this libseccomp does not know is skipped, as runc does */
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = filter_add_syscall(ctx, act, nr, cmp, n, separate);
		if (r < 0)
			return err_sys(err, -r, "seccomp: syscalls[%zu]: add rule for %s", idx,
				       json_string_value(name));
	}
	return 0;
}

static int filter_add_arches(scmp_filter_ctx ctx, json_t *list, struct err *err)
{
	size_t i;
	json_t *a;

	json_array_foreach(list, i, a)
	{
		int r = seccomp_arch_add(ctx, named_value(arches, N_OF(arches), a));

		if (r < 0 && r != -EEXIST)
			return err_sys(err, -r, "seccomp: add architecture %s",
				       json_string_value(a));
	}
	return 0;
}

static int filter_add_rules(scmp_filter_ctx ctx, uint32_t def, json_t *rules, struct err *err)
{
	for (size_t i = 0; i < json_array_size(rules); i++)
		if (filter_add_rule(ctx, def, json_array_get(rules, i), i, err) < 0)
			return -1;
	return 0;
}

static int filter_build(json_t *s, scmp_filter_ctx *out, struct err *err)
{
	uint32_t def = action_value(json_object_get(s, "defaultAction"),
				    json_object_get(s, "defaultErrnoRet"));
	scmp_filter_ctx ctx = seccomp_init(def);
	int r;

	if (!ctx)
		return err_set(err,
			       "seccomp: cannot create a filter with default action %s "
			       "(not supported by this kernel or libseccomp?)",
			       json_string_value(json_object_get(s, "defaultAction")));
	/* the caller sets no_new_privs itself, at the point it chooses */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		err_sys(err, -r, "seccomp: clear the no_new_privs filter attribute");
	if (r < 0 || filter_add_arches(ctx, json_object_get(s, "architectures"), err) < 0 ||
	    filter_add_rules(ctx, def, json_object_get(s, "syscalls"), err) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	*out = ctx;
	return 0;
}

/* Compile the filter to BPF in a malloc'ed program. */
static int filter_export(scmp_filter_ctx ctx, struct sock_fprog *prog, struct err *err)
{
	_cleanup_close_ int fd = memfd_create("isobox-seccomp", MFD_CLOEXEC);
	_cleanup_free_ struct sock_filter *insns = NULL;
	struct stat st;
	size_t size;
	ssize_t n;
	int r;

	if (fd < 0)
		return err_sys(err, errno, "seccomp: memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return err_sys(err, -r, "seccomp: compile the filter");
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "seccomp: stat the compiled filter");
	size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(*insns) || size / sizeof(*insns) > BPF_MAXINSNS)
		return err_set(err,
			       "seccomp: the compiled filter has %zu bytes (at most %d "
			       "instructions fit); simplify the profile",
			       size, BPF_MAXINSNS);
	insns = xmalloc(size);
	n = pread(fd, insns, size, 0);
	if (n < 0)
		return err_sys(err, errno, "seccomp: read the compiled filter");
	if ((size_t)n != size)
		return err_set(err, "seccomp: short read of the compiled filter");
	prog->len = (unsigned short)(size / sizeof(*insns));
	prog->filter = take_ptr(&insns);
	return 0;
}

static unsigned long flags_value(json_t *flags)
{
	unsigned long v = 0;

	for (size_t i = 0; i < json_array_size(flags); i++)
		v |= named_value(filter_flags, N_OF(filter_flags), json_array_get(flags, i));
	return v;
}

static int filter_install(const struct sock_fprog *prog, unsigned long flags, struct err *err)
{
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);

	if (r == 0)
		return 0;
	if (r > 0)
		return err_set(err, "seccomp: thread %ld could not be synchronized (TSYNC)", r);
	if (errno == EACCES)
		return err_sys(err, errno,
			       "seccomp: load filter (set no_new_privs first, or "
			       "hold CAP_SYS_ADMIN)");
	return err_sys(err, errno, "seccomp: load filter");
}

/* The cache key: the profile as canonical JSON plus the libseccomp version,
 * so an upgrade never loads a program another version compiled. */
static int cache_path(json_t *s, const char *cache_dir, char **out, struct err *err)
{
	const struct scmp_version *v = seccomp_version();
	_cleanup_free_ char *canon = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	char hex[SHA256_HEX_LEN + 1];
	struct sha256 h;

	if (!canon)
		return err_set(err, "seccomp: encode the profile");
	sha256_begin(&h);
	sha256_add(&h, canon, strlen(canon));
	sha256_add(&h, v, sizeof(*v));
	sha256_end_hex(&h, hex);
	*out = xasprintf("%s/%s.bpf", cache_dir, hex);
	return 0;
}

static int cache_read(const char *path, struct sock_fprog *prog)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct err ignore = { 0 };

	if (read_file(path, BPF_MAXINSNS * sizeof(struct sock_filter), &data, &len, &ignore) < 0)
		return -1;
	if (len == 0 || len % sizeof(struct sock_filter))
		return -1;
	prog->len = (unsigned short)(len / sizeof(struct sock_filter));
	prog->filter = take_ptr(&data);
	return 0;
}

int seccomp_prog_compile(json_t *s, const char *cache_dir, struct seccomp_prog *out,
		    struct err *err)
{
	_cleanup_free_ char *path = NULL;
	scmp_filter_ctx ctx = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (seccomp_validate(s, err) < 0)
		return -1;
	out->flags = flags_value(json_object_get(s, "flags"));
	if (cache_dir && cache_path(s, cache_dir, &path, err) < 0)
		return -1;
	if (path && cache_read(path, &out->fprog) == 0)
		return 0;
	if (filter_build(s, &ctx, err) < 0)
		return -1;
	r = filter_export(ctx, &out->fprog, err);
	seccomp_release(ctx);
	if (r < 0 || !path)
		return r;
	/* A cache that cannot be written only costs the next container the compile. */
	if (mkdir_p(cache_dir, 0700, &(struct err){ 0 }) == 0)
		write_file_atomic(path, out->fprog.filter, out->fprog.len * sizeof(struct sock_filter),
				  0600, &(struct err){ 0 });
	return 0;
}

int seccomp_prog_load(const struct seccomp_prog *prog, struct err *err)
{
	return filter_install(&prog->fprog, prog->flags, err);
}

void seccomp_prog_free(struct seccomp_prog *prog)
{
	free(prog->fprog.filter);
	memset(prog, 0, sizeof(*prog));
}

int seccomp_apply(json_t *s, struct err *err)
{
	struct seccomp_prog prog;

	if (seccomp_prog_compile(s, NULL, &prog, err) < 0)
		return -1;
	/* On success prog.filter is not freed: free() may trim the heap with
	 * brk/munmap, which the new filter may kill; the caller execs next. */
	if (seccomp_prog_load(&prog, err) < 0) {
		seccomp_prog_free(&prog);
		return -1;
	}
	return 0;
}
