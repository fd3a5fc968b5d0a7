/* The container's process as the guest agent reads it: the blob of
 * guest/agent_proto.h, built here and handed to the guest as a disk. */
#ifndef ISOBOX_GUEST_CONFIG_H
#define ISOBOX_GUEST_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/agent_proto.h"
#include "oci/spec.h"
#include "util/err.h"
#include "vmm/devices/virtio_fs.h"
#include "vmm/vm_devices.h"

/* The spec's bind mounts of host directories, as virtio-fs shares: device
 * i serves fs[i] under tag "isobox-fsI", and the agent mounts it on dest[i]
 * with flags[i] (read-only, nosuid, nodev, noexec). */
struct guest_shares {
	struct virtio_fs_share fs[AGENT_SHARES_MAX];
	char tags[AGENT_SHARES_MAX][16];
	const char *dest[AGENT_SHARES_MAX];
	unsigned long flags[AGENT_SHARES_MAX];
	size_t n;
	/* block volumes (a mount of type ext4 whose source is a regular file):
	 * disks, mounted by the guest in the spec's order after the shares */
	struct vm_volume_disk disks[AGENT_SHARES_MAX];
	char serials[AGENT_SHARES_MAX][24];
	const char *disk_dest[AGENT_SHARES_MAX];
	unsigned long disk_flags[AGENT_SHARES_MAX];
	size_t n_disks;
};

/* The process's privileges, applied by the guest right before exec. */
struct guest_security {
	uint64_t caps[5];           /* bounding, effective, inheritable, permitted, ambient */
	bool no_new_privs;
	const void *seccomp;        /* struct sock_filter[], or NULL */
	size_t seccomp_len;         /* bytes */
	unsigned long seccomp_flags;
};

struct guest_process {
	const char *const *argv;    /* NULL-terminated, not empty */
	const char *const *env;     /* NULL-terminated, may be NULL */
	const char *cwd;            /* NULL: "/" */
	const char *hostname;       /* may be NULL */
	const char *user;           /* exec: "user[:group]" the guest looks up, or NULL */
	unsigned uid, gid;
	bool tty, readonly;
	bool hold;                  /* the agent waits for "start" before the app */
	bool detach;                /* exec -d: the process's stdio is /dev/null */
	bool tool;                  /* exec: argv is a guest tool (guest/cp_tool.h) */
	bool init;                  /* --init: isobox-init is the container's PID 1 */
	unsigned root_disks;        /* the image's EROFS disks; 0: say nothing (one) */
	const struct oci_mount *mounts;     /* its tmpfs ones go to the guest */
	size_t n_mounts;
	const struct oci_rlimit *rlimits;
	size_t n_rlimits;
	unsigned long long memory, pids;    /* limits inside the guest, 0: none */
	unsigned long long cpu_quota, cpu_period;   /* --cpus as cpu.max in the guest, 0: none */
	const struct guest_security *security;  /* NULL: the agent's own (all) */
	const char *const *masked_paths;        /* NULL-terminated, may be NULL */
	const char *const *readonly_paths;
	const gid_t *gids;                      /* supplementary groups */
	size_t n_gids;
	json_t *sysctl;                         /* linux.sysctl, may be NULL */
	bool has_oom_score_adj;
	int oom_score_adj;
	const struct oci_device *devices;       /* linux.devices, made in the guest's /dev */
	size_t n_devices;
	const struct dev_rule *dev_rules;       /* linux.resources.devices: the guest adds */
	size_t n_dev_rules;                     /* docker's defaults, as the host would */
	bool devices_allow_all;                 /* no device policy (--privileged) */
	unsigned long root_propagation;         /* linux.rootfsPropagation, 0: none */
	/* For every resource rlimits does not set, the caller's own limit: what
	 * a process container (or exec) would inherit from the same caller. */
	bool inherit_rlimits;
	/* /etc/hosts, /etc/hostname, /etc/resolv.conf: contents, or NULL. */
	const char *etc_files[3];
	/* The guest's eth0 (TAG_NET_*): MAC "xx:..", "a.b.c.d/prefix", gateway
	 * "a.b.c.d" (or NULL), MTU (0: the default); net_addr NULL: no NIC. */
	const char *net_mac, *net_addr, *net_gateway;
	unsigned net_mtu;
	const struct guest_shares *shares;      /* NULL: none */
};

/* The contents of the files the spec binds onto /etc/hosts, /etc/hostname
 * and /etc/resolv.conf (the container's own, made by the engine or the
 * engine above the OCI runtime), into files[3] (free each; NULL when none). */
int guest_config_etc_files(const struct oci_spec *spec, char *files[3], struct err *err);

/* The spec's binds as shares (those of /etc/hosts, /etc/hostname and
 * /etc/resolv.conf are guest_config_etc_files', those under /dev the
 * guest's own): a directory, or a regular file alone. A bind of anything
 * else (a device, socket or fifo) is refused. A mount of type ext4 whose
 * source is a regular file is a block volume's disk. Pointers into spec. */
int guest_config_shares(const struct oci_spec *spec, struct guest_shares *out,
			struct err *err);

/* The blob in memory (free it). */
int guest_config_build(const struct guest_process *p, char **blob, size_t *len,
		       struct err *err);
/* A memfd holding the blob, padded to whole 512-byte sectors (it is a disk). */
int guest_config_memfd(const struct guest_process *p, struct err *err);

/* FRAME_UPDATE's data: one TAG_CGROUP_SET record per "FILE VALUE" of sets
 * (NULL-terminated), then TAG_END; at most one frame. */
int guest_update_build(const char *const *sets, char **blob, size_t *len, struct err *err);

#endif
