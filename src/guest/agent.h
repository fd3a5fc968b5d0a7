/* isobox-init as a VM's /init: bring the guest up (modules, disks, the
 * container's root), then hand over to the ordinary init loop. */
#ifndef ISOBOX_AGENT_H
#define ISOBOX_AGENT_H

#include <stdbool.h>
#include <stddef.h>

struct agent_process {
	char **argv;            /* NULL-terminated */
	char **envp;
	char *cwd, *hostname;
	unsigned uid, gid;
	bool tty, readonly;
};

/* True when this process is a VM's first process (not a container's). */
bool agent_is_vm_init(int argc);
/* Set up the guest and the container's root; fills p, and the fds init
 * relays: hvc0 into the app's stdin pipe (-1 with a terminal) and the VMM's
 * control console. Exits through agent_report (status 125) on failure, after
 * saying why in the kernel log. */
void agent_boot(struct agent_process *p, int *stdin_src, int *stdin_dst, int *ctl);
/* Tell the VMM the container's status; never returns. */
void agent_report(int status) __attribute__((noreturn));
/* The parser of the config blob, exposed for tests: 0, or -1 when malformed. */
int agent_config_parse(const unsigned char *buf, size_t len, struct agent_process *p);

#endif
