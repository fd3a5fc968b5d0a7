#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/passwd.h"
#include "util/signal.h"

extern char **environ;

static int exec_status(int errnum)
{
	return errnum == ENOENT || errnum == ENOTDIR ? 127 : 126;
}

#define APP_ETC_FILE_MAX (4u << 20)

int app_user_lookup(const char *spec, const char *passwd, const char *group,
		    struct passwd_user *u)
{
	FILE *pw, *gr;
	int r;

	if (!*spec)
		return -1;
	pw = passwd_fopen(passwd, APP_ETC_FILE_MAX);
	gr = passwd_fopen(group, APP_ETC_FILE_MAX);
	r = passwd_user_resolve(pw, gr, spec, u);
	if (pw)
		fclose(pw);
	if (gr)
		fclose(gr);
	return r == PASSWD_OK ? 0 : -1;
}

char **app_env_home(char **envp, unsigned uid, const char *passwd)
{
	struct passwd_entry e;
	char key[16], **env;
	FILE *f;
	size_t n;
	int found;

	for (n = 0; envp[n]; n++)
		if (!strncmp(envp[n], "HOME=", 5))
			return envp;
	env = malloc((n + 2) * sizeof(char *));
	if (!env)
		return envp;
	snprintf(key, sizeof(key), "%u", uid);
	f = passwd_fopen(passwd, APP_ETC_FILE_MAX);
	found = f && passwd_find(f, key, &e) == 0;
	if (f)
		fclose(f);
	memcpy(env, envp, n * sizeof(char *));
	if (asprintf(&env[n], "HOME=%s", found ? e.home : "/") < 0) {
		free(env);
		return envp;
	}
	env[n + 1] = NULL;
	return env;
}

static int load_seccomp(const struct agent_process *p)
{
	struct sock_fprog prog = { .len = (unsigned short)(p->seccomp_len / sizeof(struct sock_filter)),
				   .filter = (struct sock_filter *)p->seccomp };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)p->seccomp_flags,
			    &prog);
}

static void caps_put(struct __user_cap_data_struct d[2], int which, unsigned long long mask)
{
	uint32_t lo = (uint32_t)mask, hi = (uint32_t)(mask >> 32);

	if (which == 0)
		d[0].effective = lo, d[1].effective = hi;
	else if (which == 1)
		d[0].inheritable = lo, d[1].inheritable = hi;
	else
		d[0].permitted = lo, d[1].permitted = hi;
}

/* The OCI sets, in runc's order: effective up to permitted (for SETPCAP),
 * the bounding set dropped, the three sets, then the ambient ones. */
static int set_caps(const unsigned long long caps[5])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int i;

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	for (i = 0; i < 64; i++) {
		if (caps[0] >> i & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;      /* past the kernel's last capability */
			return -1;
		}
	}
	caps_put(d, 0, caps[1]);
	caps_put(d, 1, caps[2]);
	caps_put(d, 2, caps[3]);
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (i = 0; i < 64; i++)
		if ((caps[4] >> i & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			return -1;
	return 0;
}

static void __attribute__((noreturn)) fail(const char *what)
{
	fprintf(stderr, "isobox: %s: %s\n", what, strerror(errno));
	_exit(125);
}

static int app_join_cgroup(const char *dir)
{
	char path[256];
	int fd, r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = write(fd, "0", 1) == 1 ? 0 : -1;
	close(fd);
	return r;
}

_Static_assert(sizeof(gid_t) == sizeof(unsigned), "agent_process.gids are gid_t");

static int app_oom_score_adj(int adj)
{
	char text[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC), n, r;

	if (fd < 0)
		return -1;
	n = snprintf(text, sizeof(text), "%d", adj);
	r = write(fd, text, (size_t)n) == n ? 0 : -1;
	close(fd);
	return r;
}

void app_exec(const struct app *a)
{
	const struct agent_process *sec = a->privileges;
	char **argv = a->argv;
	unsigned uid = a->uid, gid = a->gid;
	gid_t groups[PASSWD_MAX_GROUPS + AGENT_MAX_GROUPS];
	size_t i, n_groups = 0;
	struct passwd_user u;
	char **envp = a->envp;
	sigset_t all;

	/* isobox-init (exec_self) reads its signals from a signalfd: what came
	 * meanwhile stays pending across exec for it, where unblocked now it would
	 * be lost on a PID 1 without handlers. */
	sigfillset(&all);
	if (!a->exec_self)
		sigprocmask(SIG_UNBLOCK, &all, NULL);
	signals_default();
	if (a->tty) {
		setsid();
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
	} else {
		setpgid(0, 0);
	}
	/* Its own cgroup namespace, rooted there: /proc/self/cgroup shows "/". */
	if (a->cgroup && access(a->cgroup, F_OK) == 0 &&
	    (app_join_cgroup(a->cgroup) < 0 || unshare(CLONE_NEWCGROUP) < 0)) {
		perror("isobox: join the container's cgroup");
		_exit(125);
	}
	for (i = 0; i < a->n_rlimits; i++) {
		struct rlimit rl = { a->rlimits[i].soft, a->rlimits[i].hard };

		if (setrlimit(a->rlimits[i].resource, &rl) < 0) {
			perror("isobox: setrlimit");
			_exit(125);
		}
	}
	if (a->user) {
		if (app_user_lookup(a->user, "/etc/passwd", "/etc/group", &u) < 0) {
			fprintf(stderr, "isobox: unable to find user %s: no matching entries in "
				"passwd file\n", a->user);
			_exit(125);
		}
		uid = u.uid;
		gid = u.gid;
		for (i = 0; i < u.n_gids; i++)
			groups[n_groups++] = u.gids[i];
	}
	/* The spec's groups; after the user's own with exec -u (--group-add). */
	for (i = 0; sec && i < sec->n_gids; i++)
		groups[n_groups++] = sec->gids[i];
	/* runc's HOME: the user's home in the container's passwd, else "/". */
	if (a->set_ids && a->envp)
		envp = app_env_home(a->envp, uid, "/etc/passwd");
	/* Without no_new_privs only CAP_SYS_ADMIN may load a filter: load it
	 * before the capabilities go, as the process backend does. */
	if (sec && !sec->no_new_privs && sec->seccomp && load_seccomp(sec) < 0)
		fail("load the seccomp filter");
	if (sec && sec->has_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		fail("keep capabilities");
	if (sec && sec->has_oom_score_adj && app_oom_score_adj(sec->oom_score_adj) < 0)
		fail("set oom_score_adj");
	if ((a->set_ids || a->user) &&
	    (setgroups(n_groups, groups) < 0 ||
	     setgid(gid) < 0 || setuid(uid) < 0))
		fail("set the container's user");
	if (sec && sec->has_caps && set_caps(sec->caps) < 0)
		fail("set the capabilities");
	if (sec && sec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("set no_new_privs");
	if (sec && sec->no_new_privs && sec->seccomp && load_seccomp(sec) < 0)
		fail("load the seccomp filter");
	if (envp)
		environ = envp;
	if (a->exec_self)
		execv("/proc/self/exe", argv);
	else
		execvp(argv[0], argv);
	if (errno == ENOENT && !strchr(argv[0], '/'))
		fprintf(stderr, "isobox: exec: \"%s\": executable file not found in $PATH\n",
			argv[0]);
	else
		fprintf(stderr, "isobox: exec: \"%s\": %s\n", argv[0], strerror(errno));
	_exit(exec_status(errno));
}
