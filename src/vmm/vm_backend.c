#include "vmm/vm_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "net/tap.h"
#include "util/cleanup.h"
#include "util/fdpass.h"
#include "util/fs.h"
#include "util/program.h"
#include "util/pty.h"
#include "util/unixsock.h"
#include "vmm/guest_config.h"
#include "vmm/linux_vm.h"

#define VM_DEFAULT_MEMORY (256ULL << 20)
#define VM_SERIAL_LIMIT (4ULL << 20)

static const char *annotation(const struct oci_spec *spec, const char *key)
{
	return json_string_value(json_object_get(spec->annotations, key));
}

int vm_spec_is_hyperv(const struct oci_spec *spec)
{
	const char *iso = annotation(spec, VM_ANNOTATION_ISOLATION);

	return iso && !strcmp(iso, "hyperv");
}

/* -m: the VM's memory is the limit plus the guest's own overhead (its
 * kernel and agent), as Windows sizes a Hyper-V container; inside the guest
 * the limit holds for the container's processes (agent.c's cgroup). */
#define VM_GUEST_OVERHEAD (64ULL << 20)

uint64_t vm_memory_size(const struct oci_spec *spec)
{
	const char *m = annotation(spec, VM_ANNOTATION_MEMORY);
	uint64_t bytes = m ? strtoull(m, NULL, 10) : 0;

	if (!bytes)
		bytes = spec->memory_limit > 0 ? (uint64_t)spec->memory_limit + VM_GUEST_OVERHEAD
					       : VM_DEFAULT_MEMORY;
	bytes = (bytes + (1 << 20) - 1) & ~((1ULL << 20) - 1);
	return bytes < (128ULL << 20) ? 128ULL << 20 : bytes > (3ULL << 30) ? 3ULL << 30 : bytes;
}

/* --cpus: the VM gets that many vCPUs, rounded up, as Windows gives a
 * Hyper-V container its processors. */
unsigned vm_vcpus(const struct oci_spec *spec)
{
	long long n;

	if (spec->cpu_quota <= 0 || spec->cpu_period <= 0)
		return 1;
	n = (spec->cpu_quota + spec->cpu_period - 1) / spec->cpu_period;
	return n > LINUX_VM_MAX_VCPUS ? LINUX_VM_MAX_VCPUS : (unsigned)n;
}

/* With a terminal the consoles face a host pty, whose master the monitor gets. */
static int vm_tty(int sock, int stdio[3], struct err *err)
{
	_cleanup_close_ int master = -1;
	int slave;

	if (pty_open_raw(&master, &slave, false, err) < 0)
		return -1;
	if (fd_send(sock, master) < 0)
		return err_sys(err, errno, "send the pty to the monitor");
	stdio[0] = stdio[1] = stdio[2] = slave;
	return 0;
}

/* The lines of the bundle's root image list (vm_devices checks each). */
static unsigned root_disk_count(const char *list)
{
	unsigned n = 1;

	for (; *list; list++)
		n += *list == '\n' && list[1];
	return n;
}

#define VM_NET_IF "eth0"
#define VM_TAP "tap0"

/* The guest's eth0 as TAG_NET_* text. */
struct vm_net {
	char mac[18], addr[INET_ADDRSTRLEN + 4], gateway[INET_ADDRSTRLEN];
};

static const char *joined_netns(const struct oci_spec *spec)
{
	size_t i;

	for (i = 0; i < spec->n_ns_paths; i++)
		if (spec->ns_paths[i].flag == CLONE_NEWNET)
			return spec->ns_paths[i].path;
	return NULL;
}

/* In a network namespace the spec names (the VMM runs in it already), the
 * guest's NIC takes the place of its eth0, as Kata's "tcfilter": a TAP beside
 * eth0, joined to it both ways by tc, and the guest configured with eth0's
 * MAC, address, gateway and MTU. A namespace without eth0 (--network none)
 * gives the guest loopback only. */
static int vm_net_attach(const struct oci_spec *spec, struct guest_process *gp,
			 struct vm_container_io *io, struct vm_net *n, struct err *err)
{
	const char *path = joined_netns(spec);
	struct net_if_info info;
	struct nl nl = { 0 };
	char ip[INET_ADDRSTRLEN];
	int r;

	if (!path || !nl_link_index(VM_NET_IF))
		return 0;
	if (nl_open(&nl, err) < 0)
		return err_wrap(err, "the network namespace %s", path);
	r = net_if_read(&nl, VM_NET_IF, &info, err);
	if (r == 0 && !info.has_addr)
		r = err_set(err, "%s has no IPv4 address", VM_NET_IF);
	if (r == 0 && (io->tap_fd = net_tap_create(VM_TAP, info.mtu, err)) < 0)
		r = -1;
	if (r == 0)
		r = net_tc_redirect_pair(&nl, VM_NET_IF, VM_TAP, err);
	nl_close(&nl);
	if (r < 0)
		return err_wrap(err, "the network namespace %s", path);
	snprintf(n->mac, sizeof(n->mac), "%02x:%02x:%02x:%02x:%02x:%02x", info.mac[0], info.mac[1],
		 info.mac[2], info.mac[3], info.mac[4], info.mac[5]);
	inet_ntop(AF_INET, &info.addr, ip, sizeof(ip));
	snprintf(n->addr, sizeof(n->addr), "%s/%u", ip, info.prefix);
	gp->net_mac = n->mac;
	gp->net_addr = n->addr;
	if (info.has_gateway) {
		inet_ntop(AF_INET, &info.gateway, n->gateway, sizeof(n->gateway));
		gp->net_gateway = n->gateway;
	}
	gp->net_mtu = info.mtu;
	io->net = true;
	memcpy(io->mac, info.mac, 6);
	return 0;
}

static int vm_child(const struct vm_start *vs, struct err *err)
{
	const struct oci_spec *spec = vs->spec;
	struct guest_process gp = {
		.argv = spec->args, .env = spec->env, .cwd = spec->cwd, .hostname = spec->hostname,
		.uid = spec->uid, .gid = spec->gid, .tty = spec->terminal,
		.readonly = spec->root_readonly, .mounts = spec->mounts, .n_mounts = spec->n_mounts,
		.rlimits = spec->rlimits, .n_rlimits = spec->n_rlimits,
		.memory = spec->memory_limit > 0 ? (unsigned long long)spec->memory_limit : 0,
		.pids = spec->pids_limit > 0 ? (unsigned long long)spec->pids_limit : 0,
		.cpu_quota = spec->cpu_quota > 0 ? (unsigned long long)spec->cpu_quota : 0,
		.cpu_period = spec->cpu_period > 0 ? (unsigned long long)spec->cpu_period : 100000,
		.security = vs->security, .masked_paths = spec->masked_paths,
		.readonly_paths = spec->readonly_paths, .hold = vs->start_fifo != NULL,
		.gids = spec->gids, .n_gids = spec->n_gids, .sysctl = spec->sysctl,
		.has_oom_score_adj = spec->has_oom_score_adj, .oom_score_adj = spec->oom_score_adj,
		.devices = spec->devices, .n_devices = spec->n_devices,
		.dev_rules = spec->dev_rules, .n_dev_rules = spec->n_dev_rules,
		.devices_allow_all = spec->devices_allow_all,
		.root_propagation = spec->root_propagation, .init = spec->init,
		.inherit_rlimits = true,
	};
	struct vm_container_io io = {
		.stdin_fd = vs->stdio[0], .stdout_fd = vs->stdio[1], .stderr_fd = vs->stdio[2],
		.rootfs = annotation(spec, VM_ANNOTATION_ROOTFS),
		.upper = annotation(spec, VM_ANNOTATION_UPPER), .config_fd = -1, .exec_fd = -1,
		.start_fd = -1, .ready_fd = vs->ready_fd,
	};
	struct linux_vm_config c = {
		.kernel = annotation(spec, VM_ANNOTATION_KERNEL),
		.initrd = annotation(spec, VM_ANNOTATION_INITRD), .init = vs->init,
		.cmdline = LINUX_VM_CONTAINER_CMDLINE,
		.mem_bytes = vm_memory_size(spec), .n_vcpus = vm_vcpus(spec),
		.serial_limit = VM_SERIAL_LIMIT, .io = &io,
	};
	const int *stdio = vs->stdio;
	struct linux_vm_exit exit = { 0 };
	_cleanup_close_ int oom_fd = -1, start_fd = -1, tap_fd = -1;
	struct vm_net net;
	struct guest_shares shares;
	char *etc[3];
	size_t i;

	if (!c.kernel || !c.initrd || !io.rootfs)
		return err_set(err, "the bundle names no guest kernel, initramfs or root image");
	gp.root_disks = root_disk_count(io.rootfs);
	io.stdin_fd = stdio[0];
	io.stdout_fd = stdio[1];
	io.stderr_fd = stdio[2];
	c.serial_fd = vs->serial_log ? open(vs->serial_log, O_WRONLY | O_CREAT | O_TRUNC |
					    O_CLOEXEC, 0600) : -1;
	if (vm_net_attach(spec, &gp, &io, &net, err) < 0)
		return -1;
	if (guest_config_shares(spec, &shares, err) < 0)
		return -1;
	gp.shares = &shares;
	io.shares = shares.fs;
	io.n_shares = shares.n;
	io.volume_disks = shares.disks;
	io.n_volume_disks = shares.n_disks;
	tap_fd = io.net ? io.tap_fd : -1;
	if (guest_config_etc_files(spec, etc, err) < 0)
		return -1;
	for (i = 0; i < 3; i++)
		gp.etc_files[i] = etc[i];
	io.config_fd = guest_config_memfd(&gp, err);
	for (i = 0; i < 3; i++)
		free(etc[i]);
	if (io.config_fd < 0)
		return -1;
	if (vs->exec_socket && (io.exec_fd = unix_listen(vs->exec_socket, err)) < 0)
		return -1;
	/* Opened now: once the guest runs, the VMM's seccomp filter allows no open. */
	if (vs->oom_file && (oom_fd = open(vs->oom_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
					   0600)) < 0)
		return err_sys(err, errno, "create %s", vs->oom_file);
	/* Read and write: `start` can open it for writing at any time, and
	 * there is no end of file to see meanwhile. */
	if (vs->start_fifo &&
	    (io.start_fd = start_fd = open(vs->start_fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		return err_sys(err, errno, "open %s", vs->start_fifo);
	if (linux_vm_run(&c, &exit, err) < 0)
		return -1;
	/* The monitor reads it for OOMKilled: the status alone cannot say. */
	if (exit.oom_killed && oom_fd >= 0 && write(oom_fd, "1", 1) < 0)
		return err_sys(err, errno, "write %s", vs->oom_file);
	return exit.status;
}

/* The VMM keeps only what it is given: the monitor's other fds (its lock,
 * the other ends of the stdio pipes, the caller's status pipe) must not stay
 * open in it, or stdin would never end and the monitor's lock never drop. */
static void vm_child_fds(const struct vm_start *vs, struct vm_start *mine)
{
	int want[5] = { vs->stdio[0], vs->stdio[1], vs->stdio[2], vs->console_sock, vs->ready_fd };
	int tmp[5];
	int i;

	for (i = 0; i < 5; i++)
		tmp[i] = want[i] >= 0 ? fcntl(want[i], F_DUPFD_CLOEXEC, 16) : -1;
	for (i = 0; i < 5; i++) {
		if (tmp[i] >= 0)
			dup2(tmp[i], i);
		else if (i < 3)
			dup2(open("/dev/null", O_RDWR | O_CLOEXEC), i);
	}
	close_range(5, ~0U, 0);
	*mine = *vs;
	mine->stdio[0] = 0;
	mine->stdio[1] = 1;
	mine->stdio[2] = 2;
	mine->console_sock = vs->console_sock >= 0 ? 3 : -1;
	mine->ready_fd = vs->ready_fd >= 0 ? 4 : -1;
}

static const char *ns_name(int flag)
{
	switch (flag) {
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWUSER: return "user";
	default: return "network";
	}
}

/* A VM shares no kernel with the host: of the host's namespaces only the
 * network one means anything, where the VMM itself runs (the VM's host side,
 * as Kata's VMM joins a pod's). The others, and a user namespace's host id
 * maps, are refused rather than dropped. */
static int vm_namespaces_check(const struct oci_spec *spec, struct err *err)
{
	size_t i;

	for (i = 0; i < spec->n_ns_paths; i++)
		if (spec->ns_paths[i].flag != CLONE_NEWNET)
			return err_set(err, "linux.namespaces: a VM cannot join the host's %s "
				       "namespace %s: hyperv isolation shares no kernel with the "
				       "host; use --isolation=process",
				       ns_name(spec->ns_paths[i].flag), spec->ns_paths[i].path);
	if (spec->clone_flags & CLONE_NEWUSER)
		return err_set(err, "linux.namespaces: a user namespace maps host ids, and a VM's "
			       "ids are its guest kernel's own: use --isolation=process");
	return 0;
}

/* The VMM runs in the network namespace the spec names, if any. */
static int vm_namespaces_join(const struct oci_spec *spec, struct err *err)
{
	size_t i;

	for (i = 0; i < spec->n_ns_paths; i++) {
		_cleanup_close_ int fd = open(spec->ns_paths[i].path, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			return err_sys(err, errno, "join the network namespace %s",
				       spec->ns_paths[i].path);
	}
	return 0;
}

int vm_spawn(const struct vm_start *vs, pid_t *pid, struct err *err)
{
	pid_t child;

	if (vm_namespaces_check(vs->spec, err) < 0)
		return -1;
	child = fork();
	if (child < 0)
		return err_sys(err, errno, "fork the VMM");
	if (child == 0) {
		struct err e = { 0 };
		struct vm_start mine;
		int status;

		sigset_t kill_set;

		/* The container dies with its monitor, as in process mode. */
		if (!vs->outlive_parent)
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* Blocked before any thread: only the I/O loop's signalfd takes it. */
		sigemptyset(&kill_set);
		sigaddset(&kill_set, VM_SIGNAL_KILL);
		sigprocmask(SIG_BLOCK, &kill_set, NULL);
		vm_child_fds(vs, &mine);
		vs = &mine;
		status = vs->child_setup ? vs->child_setup(vs->child_setup_data, &e) : 0;
		if (status == 0)
			status = vm_namespaces_join(vs->spec, &e);
		/* The pty first: an engine waits for its master before it starts us. */
		if (status == 0 && vs->spec->terminal)
			status = vm_tty(vs->console_sock, mine.stdio, &e);
		if (status == 0)
			status = vm_child(vs, &e);

		if (status < 0) {
			/* The container's stderr is where its user looks. */
			dprintf(vs->stdio[2], "isobox: hyperv: %s\n", e.msg);
			_exit(125);
		}
		_exit(status);
	}
	*pid = child;
	return 0;
}

int vm_upper_create(const char *path, uint64_t size, struct err *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	const char *argv[] = { "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1",
			       path, NULL };

	if (fd < 0)
		return err_sys(err, errno, "create %s", path);
	if (ftruncate(fd, (off_t)size) < 0)
		return err_sys(err, errno, "size %s", path);
	if (program_run(argv, err) < 0)
		return err_wrap(err, "make the container's writable disk (install e2fsprogs)");
	return 0;
}
