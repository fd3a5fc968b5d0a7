/* Docker's seccomp profile format and its default profile. The default is kept
 * as tables in Docker's own shape (conditions included) and goes through the
 * same conversion as a user's file, as in moby's profiles/seccomp package. */
#include "engine/seccomp_profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "process/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define PROFILE_MAX_BYTES (4u << 20)

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The default profile tests at most one argument per rule. */
struct rule_arg {
	unsigned index;
	unsigned long long value;
	const char *op;
};

/* One entry of Docker's "syscalls" list; NULL fields are absent. */
struct rule {
	const char *const *names;
	const char *action;
	int errno_ret; /* 0: absent */
	const struct rule_arg *arg;
	const char *inc_cap, *exc_cap;
	const char *const *inc_arches, *const *exc_arches;
	const char *inc_kernel;
};

struct arch_map {
	const char *arch;
	const char *const *sub;
};

/* Docker names the host architecture the way Go and libseccomp's tools do. */
#if defined(__x86_64__)
#define NATIVE_ARCH "amd64"
#define NATIVE_SCMP_ARCH "SCMP_ARCH_X86_64"
#elif defined(__i386__)
#define NATIVE_ARCH "x86"
#define NATIVE_SCMP_ARCH "SCMP_ARCH_X86"
#elif defined(__aarch64__)
#define NATIVE_ARCH "arm64"
#define NATIVE_SCMP_ARCH "SCMP_ARCH_AARCH64"
#elif defined(__arm__)
#define NATIVE_ARCH "arm"
#define NATIVE_SCMP_ARCH "SCMP_ARCH_ARM"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH "ppc64le"
#define NATIVE_SCMP_ARCH "SCMP_ARCH_PPC64LE"
#elif defined(__s390x__)
#define NATIVE_ARCH "s390x"
#define NATIVE_SCMP_ARCH "SCMP_ARCH_S390X"
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH "riscv64"
#define NATIVE_SCMP_ARCH "SCMP_ARCH_RISCV64"
#else
#define NATIVE_ARCH ""
#define NATIVE_SCMP_ARCH ""
#endif

/* clang-format off */
/* Generated from moby profiles/seccomp/default.json (moby/moby b985e231,
 * August 2026); keep the order, later rules may repeat earlier names. */
static const struct arch_map default_arch_map[] = {
	{ "SCMP_ARCH_X86_64", LIST("SCMP_ARCH_X86", "SCMP_ARCH_X32") },
	{ "SCMP_ARCH_AARCH64", LIST("SCMP_ARCH_ARM") },
	{ "SCMP_ARCH_MIPS64", LIST("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32") },
	{ "SCMP_ARCH_MIPS64N32", LIST("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64") },
	{ "SCMP_ARCH_MIPSEL64", LIST("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32") },
	{ "SCMP_ARCH_MIPSEL64N32", LIST("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64") },
	{ "SCMP_ARCH_S390X", LIST("SCMP_ARCH_S390") },
	{ "SCMP_ARCH_RISCV64", NULL },
	{ "SCMP_ARCH_LOONGARCH64", NULL },
};

static const struct rule default_rules[] = {
	{ .names = (const char *const[]){
			"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
			"cachestat", "capget", "capset", "chdir", "chmod", "chown",
			"chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
			"clock_getres_time64", "clock_gettime", "clock_gettime64",
			"clock_nanosleep", "clock_nanosleep_time64", "close",
			"close_range", "connect", "copy_file_range", "creat", "dup",
			"dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
			"epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
			"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
			"exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
			"fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
			"fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
			"fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
			"fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64",
			"fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
			"futex", "futex_requeue", "futex_time64", "futex_wait",
			"futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
			"getdents", "getdents64", "getegid", "getegid32", "geteuid",
			"geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
			"getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
			"getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
			"getresuid", "getresuid32", "getrlimit", "get_robust_list",
			"getrusage", "getsid", "getsockname", "getsockopt",
			"get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
			"getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
			"inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
			"io_destroy", "io_getevents", "io_pgetevents",
			"io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
			"io_submit", "ipc", "kill", "landlock_add_rule",
			"landlock_create_ruleset", "landlock_restrict_self", "lchown",
			"lchown32", "lgetxattr", "link", "linkat", "listen", "listmount",
			"listxattr", "listxattrat", "llistxattr", "_llseek",
			"lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
			"madvise", "map_shadow_stack", "membarrier", "memfd_create",
			"memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
			"mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
			"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
			"mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
			"mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv",
			"msgsnd", "msync", "munlock", "munlockall", "munmap",
			"name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
			"open", "openat", "openat2", "pause", "pidfd_open",
			"pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
			"pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
			"pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
			"pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
			"read", "readahead", "readlink", "readlinkat", "readv", "recv",
			"recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
			"remap_file_pages", "removexattr", "removexattrat", "rename",
			"renameat", "renameat2", "restart_syscall", "riscv_hwprobe",
			"rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
			"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
			"rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
			"sched_getaffinity", "sched_getattr", "sched_getparam",
			"sched_get_priority_max", "sched_get_priority_min",
			"sched_getscheduler", "sched_rr_get_interval",
			"sched_rr_get_interval_time64", "sched_setaffinity",
			"sched_setattr", "sched_setparam", "sched_setscheduler",
			"sched_yield", "seccomp", "select", "semctl", "semget", "semop",
			"semtimedop", "semtimedop_time64", "send", "sendfile",
			"sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid",
			"setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
			"setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
			"setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
			"setresuid32", "setreuid", "setreuid32", "setrlimit",
			"set_robust_list", "setsid", "setsockopt", "set_thread_area",
			"set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat",
			"shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
			"signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
			"socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
			"statmount", "statx", "symlink", "symlinkat", "sync",
			"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
			"timer_create", "timer_delete", "timer_getoverrun",
			"timer_gettime", "timer_gettime64", "timer_settime",
			"timer_settime64", "timerfd_create", "timerfd_gettime",
			"timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
			"times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
			"uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
			"utimensat_time64", "utimes", "vfork", "vmsplice", "wait4",
			"waitid", "waitpid", "write", "writev", NULL },
	  .action = "SCMP_ACT_ALLOW", },
	{ .names = LIST("process_vm_readv", "process_vm_writev", "ptrace"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_kernel = "4.8", },
	{ .names = LIST("socket"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 38ULL, "SCMP_CMP_LT" }, },
	{ .names = LIST("socket"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 39ULL, "SCMP_CMP_EQ" }, },
	{ .names = LIST("socket"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 40ULL, "SCMP_CMP_GT" }, },
	{ .names = LIST("personality"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 0ULL, "SCMP_CMP_EQ" }, },
	{ .names = LIST("personality"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 8ULL, "SCMP_CMP_EQ" }, },
	{ .names = LIST("personality"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 131072ULL, "SCMP_CMP_EQ" }, },
	{ .names = LIST("personality"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 131080ULL, "SCMP_CMP_EQ" }, },
	{ .names = LIST("personality"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 4294967295ULL, "SCMP_CMP_EQ" }, },
	{ .names = LIST("sync_file_range2", "swapcontext"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_arches = LIST("ppc64le"), },
	{ .names = (const char *const[]){
			"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
			"breakpoint", "cacheflush", "set_tls", NULL },
	  .action = "SCMP_ACT_ALLOW",
	  .inc_arches = LIST("arm", "arm64"), },
	{ .names = LIST("arch_prctl"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_arches = LIST("amd64", "x32"), },
	{ .names = LIST("modify_ldt"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_arches = LIST("amd64", "x32", "x86"), },
	{ .names = LIST("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_arches = LIST("s390", "s390x"), },
	{ .names = LIST("riscv_flush_icache"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_arches = LIST("riscv64"), },
	{ .names = LIST("open_by_handle_at"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_DAC_READ_SEARCH", },
	{ .names = (const char *const[]){
			"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount",
			"fsopen", "fspick", "lookup_dcookie", "lsm_get_self_attr",
			"lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr",
			"move_mount", "open_tree", "perf_event_open", "quotactl",
			"quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
			"umount", "umount2", "unshare", NULL },
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_ADMIN", },
	{ .names = LIST("clone"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 0, 2114060288ULL, "SCMP_CMP_MASKED_EQ" },
	  .exc_cap = "CAP_SYS_ADMIN",
	  .exc_arches = LIST("s390", "s390x"), },
	{ /* s390 parameter ordering for clone is different */
	  .names = LIST("clone"),
	  .action = "SCMP_ACT_ALLOW",
	  .arg = &(const struct rule_arg){ 1, 2114060288ULL, "SCMP_CMP_MASKED_EQ" },
	  .inc_arches = LIST("s390", "s390x"),
	  .exc_cap = "CAP_SYS_ADMIN", },
	{ .names = LIST("clone3"),
	  .action = "SCMP_ACT_ERRNO",
	  .errno_ret = 38,
	  .exc_cap = "CAP_SYS_ADMIN", },
	{ .names = LIST("reboot"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_BOOT", },
	{ .names = LIST("chroot"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_CHROOT", },
	{ .names = LIST("delete_module", "init_module", "finit_module"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_MODULE", },
	{ .names = LIST("acct"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_PACCT", },
	{ .names = (const char *const[]){
			"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
			"process_vm_writev", "ptrace", NULL },
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_PTRACE", },
	{ .names = LIST("iopl", "ioperm"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_RAWIO", },
	{ .names = LIST("settimeofday", "stime", "clock_settime", "clock_settime64"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_TIME", },
	{ .names = LIST("vhangup"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_TTY_CONFIG", },
	{ .names = LIST("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYS_NICE", },
	{ .names = LIST("syslog"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_SYSLOG", },
	{ .names = LIST("bpf"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_BPF", },
	{ .names = LIST("perf_event_open"),
	  .action = "SCMP_ACT_ALLOW",
	  .inc_cap = "CAP_PERFMON", },
};
/* clang-format on */

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_ACTION "SCMP_ACT_ERRNO"
#define DEFAULT_ERRNO_RET 1 /* EPERM */

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

/* --- the default profile, as the JSON a user's file would hold --- */

static json_t *list_to_json(const char *const *list)
{
	json_t *a = json_array();

	for (; list && *list; list++)
		json_array_append_new(a, json_string(*list));
	return a;
}

static json_t *filter_to_json(const char *cap, const char *const *arches, const char *kernel)
{
	json_t *f;

	if (!cap && !arches && !kernel)
		return NULL;
	f = json_object();
	if (cap)
		json_object_set_new(f, "caps", json_pack("[s]", cap));
	if (arches)
		json_object_set_new(f, "arches", list_to_json(arches));
	if (kernel)
		json_object_set_new(f, "minKernel", json_string(kernel));
	return f;
}

static json_t *rule_to_json(const struct rule *r)
{
	json_t *j = json_pack("{s:o, s:s}", "names", list_to_json(r->names), "action", r->action);
	json_t *inc = filter_to_json(r->inc_cap, r->inc_arches, r->inc_kernel);
	json_t *exc = filter_to_json(r->exc_cap, r->exc_arches, NULL);

	if (r->errno_ret)
		json_object_set_new(j, "errnoRet", json_integer(r->errno_ret));
	if (r->arg)
		json_object_set_new(j, "args",
				    json_pack("[{s:i, s:I, s:s}]", "index", (int)r->arg->index,
					      "value", (json_int_t)r->arg->value, "op",
					      r->arg->op));
	if (inc)
		json_object_set_new(j, "includes", inc);
	if (exc)
		json_object_set_new(j, "excludes", exc);
	return j;
}

static json_t *default_to_json(void)
{
	json_t *map = json_array(), *rules = json_array();

	for (size_t i = 0; i < N_OF(default_arch_map); i++) {
		const struct arch_map *m = &default_arch_map[i];

		json_array_append_new(map, json_pack("{s:s, s:o}", "architecture", m->arch,
						     "subArchitectures",
						     m->sub ? list_to_json(m->sub) : json_null()));
	}
	for (size_t i = 0; i < N_OF(default_rules); i++)
		json_array_append_new(rules, rule_to_json(&default_rules[i]));
	return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", DEFAULT_ACTION, "defaultErrnoRet",
			 DEFAULT_ERRNO_RET, "archMap", map, "syscalls", rules);
}

/* --- conditions: includes / excludes --- */

struct convert {
	const char *const *caps;
	size_t n_caps;
};

struct filter {
	json_t *caps;	/* borrowed array of strings, or NULL */
	json_t *arches; /* borrowed array of strings, or NULL */
	bool has_kernel;
	unsigned kernel, major;
};

static bool caps_contain(const struct convert *cv, const char *cap)
{
	for (size_t i = 0; i < cv->n_caps; i++)
		if (cv->caps[i] && strcmp(cv->caps[i], cap) == 0)
			return true;
	return false;
}

static bool list_contains(json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

static int check_strings(json_t *list, const char *where, const char *field, struct err *err)
{
	size_t i;
	json_t *v;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return err_set(err, "%s.%s: must be an array of strings", where, field);
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v))
			return err_set(err, "%s.%s[%zu]: must be a string", where, field, i);
	}
	return 0;
}

/* "<kernel>.<major>" as Docker accepts it: two numbers up to 255, not "0.0". */
static int kernel_version_parse(json_t *v, const char *where, struct filter *f, struct err *err)
{
	const char *s = json_string_value(v);
	int end = -1;

	if (!v || json_is_null(v) || (s && *s == '\0'))
		return 0;
	if (s && sscanf(s, "%3u.%3u%n", &f->kernel, &f->major, &end) == 2 &&
	    (size_t)end == strlen(s) && strspn(s, "0123456789.") == strlen(s) && f->kernel <= 255 &&
	    f->major <= 255 && (f->kernel || f->major)) {
		f->has_kernel = true;
		return 0;
	}
	return err_set(err,
		       "%s.minKernel: invalid kernel version %s, expected \"<kernel>.<major>\"",
		       where, s ? s : "(not a string)");
}

static int filter_parse(json_t *j, const char *where, struct filter *f, struct err *err)
{
	memset(f, 0, sizeof(*f));
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_object(j))
		return err_set(err, "%s: must be an object", where);
	f->caps = json_object_get(j, "caps");
	f->arches = json_object_get(j, "arches");
	if (check_strings(f->caps, where, "caps", err) < 0 ||
	    check_strings(f->arches, where, "arches", err) < 0)
		return -1;
	return kernel_version_parse(json_object_get(j, "minKernel"), where, f, err);
}

static int host_kernel_at_least(unsigned kernel, unsigned major, bool *ok, struct err *err)
{
	struct utsname u;
	unsigned k, m;

	if (uname(&u) < 0)
		return err_sys(err, errno, "uname");
	if (sscanf(u.release, "%u.%u", &k, &m) != 2)
		return err_set(err, "cannot parse the kernel version %s", u.release);
	*ok = k > kernel || (k == kernel && m >= major);
	return 0;
}

/* An "includes" filter keeps a rule when every condition holds; an "excludes"
 * filter drops it when any condition holds (moby's setupSeccomp). */
static int filter_drops(const struct filter *f, bool include, const struct convert *cv, bool *drop,
			struct err *err)
{
	size_t i;
	json_t *c;
	bool ok = false;

	*drop = true;
	if (json_array_size(f->arches) > 0 && list_contains(f->arches, NATIVE_ARCH) != include)
		return 0;
	json_array_foreach(f->caps, i, c)
	{
		if (caps_contain(cv, json_string_value(c)) != include)
			return 0;
	}
	if (f->has_kernel) {
		if (host_kernel_at_least(f->kernel, f->major, &ok, err) < 0)
			return -1;
		if (ok != include)
			return 0;
	}
	*drop = false;
	return 0;
}

/* --- one rule --- */

/* "name" is Docker's old spelling of a one-element "names". */
static int rule_names(json_t *rule, const char *where, json_t **names, struct err *err)
{
	json_t *name = json_object_get(rule, "name");
	json_t *list = json_object_get(rule, "names");

	*names = NULL;
	if (name && !json_is_null(name) && !json_is_string(name))
		return err_set(err, "%s.name: must be a string", where);
	if (json_is_string(name) && json_string_length(name) > 0) {
		if (json_array_size(list) > 0)
			return err_set(
			    err, "%s: both \"name\" and \"names\" are set; use \"names\"", where);
		*names = json_pack("[O]", name);
		return 0;
	}
	*names = json_deep_copy(list);
	return 0;
}

static int rule_filters_drop(json_t *rule, const struct convert *cv, const char *where, bool *drop,
			     struct err *err)
{
	char at[512];
	struct filter inc, exc;
	bool drop_inc, drop_exc;

	at_printf(at, sizeof(at), "%s.includes", where);
	if (filter_parse(json_object_get(rule, "includes"), at, &inc, err) < 0)
		return -1;
	at_printf(at, sizeof(at), "%s.excludes", where);
	if (filter_parse(json_object_get(rule, "excludes"), at, &exc, err) < 0)
		return -1;
	if (filter_drops(&exc, false, cv, &drop_exc, err) < 0 ||
	    filter_drops(&inc, true, cv, &drop_inc, err) < 0)
		return -1;
	*drop = drop_exc || drop_inc;
	return 0;
}

/* Checks the whole rule even when the host drops it, so a profile is valid or
 * not regardless of the host it is used on. *out is NULL for a dropped rule. */
static int rule_convert(json_t *rule, const struct convert *cv, const char *where, json_t **out,
			struct err *err)
{
	static const char *const copied[] = {"action", "errnoRet", "args"};
	_cleanup_json_ json_t *oci = json_object();
	json_t *names;
	bool drop;

	*out = NULL;
	if (!json_is_object(rule))
		return err_set(err, "%s: must be an object", where);
	if (rule_names(rule, where, &names, err) < 0)
		return -1;
	if (names)
		json_object_set_new(oci, "names", names);
	for (size_t i = 0; i < N_OF(copied); i++) {
		json_t *v = json_object_get(rule, copied[i]);

		if (v && !json_is_null(v))
			json_object_set_new(oci, copied[i], json_deep_copy(v));
	}
	if (seccomp_check_rule(oci, where, err) < 0 ||
	    rule_filters_drop(rule, cv, where, &drop, err) < 0)
		return -1;
	if (!drop)
		*out = take_ptr(&oci);
	return 0;
}

static int rules_convert(json_t *rules, const struct convert *cv, const char *where, json_t *oci,
			 struct err *err)
{
	json_t *list = json_array();
	char at[512];
	size_t i;
	json_t *r;

	json_object_set_new(oci, "syscalls", list);
	if (!rules || json_is_null(rules))
		return 0;
	if (!json_is_array(rules))
		return err_set(err, "%s: syscalls: must be an array", where);
	json_array_foreach(rules, i, r)
	{
		json_t *o;

		at_printf(at, sizeof(at), "%s: syscalls[%zu]", where, i);
		if (rule_convert(r, cv, at, &o, err) < 0)
			return -1;
		if (o)
			json_array_append_new(list, o);
	}
	return 0;
}

/* --- architectures --- */

static int arches_copy(json_t *list, const char *where, json_t *out, struct err *err)
{
	char at[512];
	size_t i;
	json_t *a;

	if (!json_is_array(list))
		return err_set(err, "%s: must be an array", where);
	json_array_foreach(list, i, a)
	{
		at_printf(at, sizeof(at), "%s[%zu]", where, i);
		if (seccomp_check_arch(a, at, err) < 0)
			return -1;
		json_array_append(out, a);
	}
	return 0;
}

static int arch_map_entry(json_t *e, const char *where, json_t *out, bool *used, struct err *err)
{
	char at[512];
	json_t *arch = json_object_get(e, "architecture");
	json_t *subs = json_object_get(e, "subArchitectures");

	if (!json_is_object(e))
		return err_set(err, "%s: must be an object", where);
	if (!json_is_string(arch))
		return err_set(err, "%s.architecture: must be a string", where);
	if (check_strings(subs, where, "subArchitectures", err) < 0)
		return -1;
	/* like Docker, only the first entry for the host is used */
	if (*used || strcmp(json_string_value(arch), NATIVE_SCMP_ARCH) != 0)
		return 0;
	*used = true;
	at_printf(at, sizeof(at), "%s.architecture", where);
	if (seccomp_check_arch(arch, at, err) < 0)
		return -1;
	json_array_append(out, arch);
	at_printf(at, sizeof(at), "%s.subArchitectures", where);
	return subs && !json_is_null(subs) ? arches_copy(subs, at, out, err) : 0;
}

static int arch_map_select(json_t *map, const char *where, json_t *out, struct err *err)
{
	char at[512];
	bool used = false;
	size_t i;
	json_t *e;

	if (!json_is_array(map))
		return err_set(err, "%s: archMap: must be an array", where);
	json_array_foreach(map, i, e)
	{
		at_printf(at, sizeof(at), "%s: archMap[%zu]", where, i);
		if (arch_map_entry(e, at, out, &used, err) < 0)
			return -1;
	}
	return 0;
}

static int arches_convert(json_t *p, const char *where, json_t *oci, struct err *err)
{
	char at[512];
	json_t *list = json_object_get(p, "architectures");
	json_t *map = json_object_get(p, "archMap");
	json_t *out = json_array();

	json_object_set_new(oci, "architectures", out);
	if (json_array_size(list) > 0 && json_array_size(map) > 0)
		return err_set(err, "%s: both \"architectures\" and \"archMap\" are set; use one",
			       where);
	at_printf(at, sizeof(at), "%s: architectures", where);
	if (list && !json_is_null(list))
		return arches_copy(list, at, out, err);
	if (map && !json_is_null(map))
		return arch_map_select(map, where, out, err);
	return 0;
}

/* --- the whole profile --- */

static int header_convert(json_t *p, const char *where, json_t *oci, struct err *err)
{
	char at[512];
	json_t *action = json_object_get(p, "defaultAction");
	json_t *errno_ret = json_object_get(p, "defaultErrnoRet");
	json_t *flags = json_object_get(p, "flags");
	const char *listener = json_string_value(json_object_get(p, "listenerPath"));

	if (!action)
		return err_set(err,
			       "%s: defaultAction is missing (to run without seccomp, use "
			       "--security-opt seccomp=unconfined)",
			       where);
	at_printf(at, sizeof(at), "%s: defaultAction", where);
	if (seccomp_check_action(action, at, err) < 0)
		return -1;
	json_object_set(oci, "defaultAction", action);
	at_printf(at, sizeof(at), "%s: defaultErrnoRet", where);
	if (errno_ret && !json_is_null(errno_ret)) {
		if (seccomp_check_errno(errno_ret, at, err) < 0)
			return -1;
		json_object_set(oci, "defaultErrnoRet", errno_ret);
	}
	at_printf(at, sizeof(at), "%s: flags", where);
	if (flags && !json_is_null(flags)) {
		if (seccomp_check_flags(flags, at, err) < 0)
			return -1;
		json_object_set_new(oci, "flags", json_deep_copy(flags));
	}
	if (listener && *listener)
		return err_set(err, "%s: listenerPath: seccomp notify is not supported by isobox",
			       where);
	return 0;
}

int seccomp_profile_convert(json_t *p, const char *const *caps, size_t n_caps, const char *where,
			    json_t **out, struct err *err)
{
	_cleanup_json_ json_t *oci = json_object();
	const struct convert cv = {caps, n_caps};

	if (!json_is_object(p))
		return err_set(err, "%s: must be a JSON object", where);
	if (header_convert(p, where, oci, err) < 0 || arches_convert(p, where, oci, err) < 0 ||
	    rules_convert(json_object_get(p, "syscalls"), &cv, where, oci, err) < 0)
		return -1;
	*out = take_ptr(&oci);
	return 0;
}

int seccomp_profile_load_docker(const char *path, const char *const *caps, size_t n_caps,
				json_t **out, struct err *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ char *where = xasprintf("seccomp profile %s", path);
	_cleanup_json_ json_t *p = NULL;
	json_error_t je;
	size_t len;

	if (read_file(path, PROFILE_MAX_BYTES, &buf, &len, err) < 0)
		return err_wrap(err, "seccomp profile");
	p = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!p)
		return err_set(err, "%s: not valid JSON: line %d column %d: %s", where, je.line,
			       je.column, je.text);
	return seccomp_profile_convert(p, caps, n_caps, where, out, err);
}

json_t *seccomp_profile_default(const char *const *caps, size_t n_caps)
{
	_cleanup_json_ json_t *docker = default_to_json();
	struct err err;
	json_t *out = NULL;

	if (!docker || seccomp_profile_convert(docker, caps, n_caps, "default seccomp profile",
					       &out, &err) < 0)
		return NULL;
	return out;
}
