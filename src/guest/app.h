/* A process isobox-init starts: the container's app, or (in a VM) a process
 * of `exec`. The child side of the fork: take the terminal or a process
 * group, become the user, and exec. */
#ifndef ISOBOX_GUEST_APP_H
#define ISOBOX_GUEST_APP_H

#include <stddef.h>

#include "agent.h"
#include "util/passwd.h"

struct app {
	char **argv;
	char **envp;            /* NULL: our own environment */
	int tty;                /* stdin is a terminal to take as the controlling one */
	int set_ids;            /* become uid:gid first (in a VM, where PID 1 stays root) */
	unsigned uid, gid;
	const char *user;       /* "user[:group]" to look up in /etc/passwd, or NULL */
	const char *cgroup;     /* a cgroup directory to join first, or NULL */
	const struct agent_rlimit *rlimits;
	size_t n_rlimits;
	const struct agent_process *privileges;  /* its caps, no_new_privs, seccomp; or NULL */
	int exec_self;          /* exec this binary (isobox-init, --init) with argv, not argv[0] */
};

/* Never returns: exits 125 when the user cannot be taken, 126/127 when the
 * command cannot be executed, after saying why on stderr. */
void app_exec(const struct app *a) __attribute__((noreturn));

/* "user[:group]" with names looked up in /etc/passwd and /etc/group, as
 * docker does (util/passwd.h: ids, home, the user's groups); 0, or -1 when a
 * name is unknown. Exposed for tests. */
int app_user_lookup(const char *spec, const char *passwd, const char *group,
		    struct passwd_user *u);
/* envp with HOME=, runc's way: unless it has one, the home of uid in passwd,
 * else "/". envp itself, or a new array sharing its strings. */
char **app_env_home(char **envp, unsigned uid, const char *passwd);

#endif
