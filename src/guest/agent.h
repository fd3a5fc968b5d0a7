/* isobox-init as a VM's /init: bring the guest up (modules, disks, the
 * container's root), then hand over to the ordinary init loop. */
#ifndef ISOBOX_AGENT_H
#define ISOBOX_AGENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest/agent_proto.h"
#include "util/devcg.h"

#define AGENT_MAX_GROUPS 64

struct agent_process {
	char **argv;            /* NULL-terminated */
	char **envp;
	char *cwd, *hostname;
	char *user;             /* exec: "user[:group]" to look up, or NULL */
	unsigned uid, gid;
	bool tty, readonly;
	bool hold;              /* TAG_HOLD: the app waits for the control line "start" */
	bool detach;            /* TAG_DETACH: exec -d, stdio is /dev/null */
	bool tool;              /* TAG_TOOL: argv is a tool of cp_tool.h */
	bool init;              /* TAG_INIT: isobox-init is the container's PID 1 (--init) */
	unsigned root_disks;    /* TAG_ROOT_DISKS: 1..AGENT_ROOT_DISKS_MAX, 0: absent (one) */
	char **tmpfs;           /* TAG_TMPFS values, NULL-terminated */
	char **shares;          /* TAG_SHARE values, NULL-terminated */
	char **file_shares;     /* TAG_SHARE_FILE values, NULL-terminated */
	char **disk_shares;     /* TAG_SHARE_DISK values, NULL-terminated */
	dev_t disk_devs[AGENT_SHARES_MAX];  /* their disks, found before the root switch */
	char **masked;          /* TAG_MASKED paths, NULL-terminated */
	char **readonly_paths;  /* TAG_RO_PATH paths */
	struct agent_rlimit {
		int resource;
		unsigned long long soft, hard;
	} rlimits[64];
	size_t n_rlimits;
	unsigned long long memory;  /* bytes, 0: none */
	unsigned long long pids;    /* 0: none */
	unsigned long long cpu_quota, cpu_period;  /* TAG_CPU_MAX, microseconds; 0: none */
	char *cgroup_mount;         /* TAG_CGROUP_MOUNT: where the app sees its cgroup, or NULL */
	unsigned long cgroup_mount_flags;
	bool has_caps;              /* else the process keeps PID 1's */
	unsigned long long caps[5]; /* bounding, effective, inheritable, permitted, ambient */
	bool no_new_privs;
	unsigned gids[AGENT_MAX_GROUPS];  /* TAG_GROUP: supplementary groups */
	size_t n_gids;
	char **sysctl;              /* TAG_SYSCTL "KEY=VALUE"s, NULL-terminated */
	char **devices;             /* TAG_DEVICE values */
	struct dev_rule *dev_rules; /* TAG_DEV_RULE, at most DEVCG_MAX_RULES */
	size_t n_dev_rules;
	bool devices_allow_all;     /* TAG_DEV_ALLOW_ALL */
	unsigned long root_propagation; /* TAG_ROOT_PROPAGATION, 0: none */
	char *etc_files[3];         /* TAG_ETC_HOSTS, _HOSTNAME, _RESOLV contents, or NULL */
	bool has_oom_score_adj;
	int oom_score_adj;
	unsigned char *seccomp;     /* struct sock_filter[], or NULL */
	size_t seccomp_len;
	unsigned long long seccomp_flags;
	/* TAG_NET_*: the guest's eth0; has_addr false: no NIC to set up. */
	struct agent_net {
		bool has_mac, has_addr, has_gateway;
		uint8_t mac[6];
		struct in_addr addr, gateway;
		unsigned prefix, mtu;   /* mtu 0: the driver's */
	} net;
};

/* The cgroup (v2, in the guest) that holds the app and every exec'd process:
 * the container's memory, cpu and pids limits and its device policy apply
 * there. PID 1 holds it open at AGENT_CGROUP_FD (close-on-exec) from a mount
 * of the whole hierarchy that the container's root hides, so the app sees
 * only its own cgroup (TAG_CGROUP_MOUNT), read-only as docker has it, and
 * PID 1's children join by path before they exec. */
#define AGENT_CGROUP_FD 1023
#define AGENT_CGROUP "/proc/self/fd/1023"

/* The container's stdio as PID 1 relays it in a VM. Without a terminal the
 * app writes to the consoles itself and only its stdin goes through PID 1
 * (so that EOF reaches it); with one, the app has a pty of the guest and
 * PID 1 carries both directions between it and hvc0. */
struct agent_io {
	int stdin_src, stdin_dst;   /* hvc0 -> the app's stdin pipe or pty master */
	int out_src, out_dst;       /* the pty master -> hvc0, or -1 */
	int pty;                    /* the pty master, for the size; or -1 */
	int ctl;                    /* hvc2: "eof", "signal N", "resize ROWS COLS" */
	int exec_chan;              /* hvc3: the frames of exec sessions */
};

/* True when this process is a VM's first process (not a container's). */
bool agent_is_vm_init(int argc);
/* Set up the guest and the container's root; fills p, and io with the fds
 * PID 1 relays. Exits through agent_report (status 125) on failure, after
 * saying why in the kernel log. */
void agent_boot(struct agent_process *p, struct agent_io *io);
/* Tell the VMM the container's status; never returns. */
void agent_report(int status) __attribute__((noreturn));
/* In the container's own PID and mount namespaces (the first process there):
 * a /proc of that PID namespace over the guest's, with docker's masked and
 * read-only paths under it again. 0, or -1 with errno set. */
int agent_container_proc(const struct agent_process *p);
/* The app exited with status: tell the VMM if the kernel killed it for memory. */
void agent_report_oom(int status);
/* The parser of the config blob, exposed for tests: 0, or -1 when malformed. */
int agent_config_parse(const unsigned char *buf, size_t len, struct agent_process *p);
void agent_process_free(struct agent_process *p);

#endif
