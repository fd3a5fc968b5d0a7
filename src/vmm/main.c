/* isobox-vmm: isobox's virtual machine monitor.
 *   isobox-vmm firmware IMAGE [--mem MiB]
 *       raw real-mode firmware from the reset vector (the VMM floor)
 *   isobox-vmm boot VM-OPTIONS
 *       a Linux guest until it reports a status on the exit port
 *   isobox-vmm run VM-OPTIONS --rootfs EROFS [--upper EXT4] [--env K=V]... [--workdir DIR]
 *                  [--user UID:GID] [--hostname NAME] [--tty] -- CMD [ARG...]
 *       a container in a VM: the guest agent runs CMD from the EROFS root with
 *       this process's stdin/stdout on hvc0 and stderr on hvc1
 * VM-OPTIONS: --kernel FILE [--initrd FILE] [--init FILE] [--cmdline TEXT] [--mem MiB]
 *             [--serial FILE] [--timeout MS]
 * --init appends FILE to the initramfs as /init (the agent of this build).
 * The exit status is the guest's (the container's); 125 when the VMM fails.
 * The guest kernel's log goes to --serial (default: discarded for run,
 * stderr for boot). */
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/strv.h"
#include "vmm/firmware.h"
#include "vmm/guest_config.h"
#include "vmm/kvm.h"
#include "vmm/linux_vm.h"


static int usage(void)
{
	fputs("usage: isobox-vmm firmware IMAGE [--mem MiB]\n"
	      "       isobox-vmm boot --kernel FILE [--initrd FILE] [--cmdline TEXT] [--mem MiB]\n"
	      "                       [--serial FILE] [--timeout MS]\n"
	      "       isobox-vmm run  (the boot options) --rootfs EROFS [--upper EXT4]\n"
	      "                       [--env K=V]... [--workdir DIR] [--user UID:GID]\n"
	      "                       [--hostname NAME] [--tty] -- CMD [ARG...]\n", stderr);
	return 125;
}

static int fail(const char *msg)
{
	fprintf(stderr, "isobox-vmm: %s\n", msg);
	return 125;
}

static int cmd_firmware(int argc, char **argv)
{
	_cleanup_free_ char *image = NULL;
	struct err err = { 0 };
	unsigned long mem_mib = 1;
	size_t len = 0;
	int value = 0;

	if (argc < 3)
		return usage();
	if (argc == 5 && !strcmp(argv[3], "--mem"))
		mem_mib = strtoul(argv[4], NULL, 10);
	else if (argc != 3)
		return usage();
	if (mem_mib > 65536)
		return usage();
	if (read_file(argv[2], FIRMWARE_MAX_SIZE, &image, &len, &err) < 0 ||
	    firmware_run(image, len, (uint64_t)mem_mib << 20, &value, &err) < 0)
		return fail(err.msg);
	return value;
}

enum { O_KERNEL = 256, O_INITRD, O_INIT, O_CMDLINE, O_MEM, O_SERIAL, O_TIMEOUT, O_ROOTFS, O_UPPER,
       O_ENV, O_WORKDIR, O_USER, O_HOSTNAME, O_TTY };

static const struct option vm_options[] = {
	{ "kernel", required_argument, NULL, O_KERNEL },
	{ "initrd", required_argument, NULL, O_INITRD },
	{ "init", required_argument, NULL, O_INIT },
	{ "cmdline", required_argument, NULL, O_CMDLINE },
	{ "mem", required_argument, NULL, O_MEM },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "rootfs", required_argument, NULL, O_ROOTFS },
	{ "upper", required_argument, NULL, O_UPPER },
	{ "env", required_argument, NULL, O_ENV },
	{ "workdir", required_argument, NULL, O_WORKDIR },
	{ "user", required_argument, NULL, O_USER },
	{ "hostname", required_argument, NULL, O_HOSTNAME },
	{ "tty", no_argument, NULL, O_TTY },
	{ 0 },
};

struct options {
	struct linux_vm_config vm;
	struct vm_container_io io;
	struct guest_process gp;
	struct strv env;
	int serial_fd;
};

static int parse_ids(const char *s, unsigned *uid, unsigned *gid)
{
	char *end;
	unsigned long u = strtoul(s, &end, 10), g = 0;

	if (end == s || (*end && *end != ':'))
		return -1;
	if (*end == ':') {
		const char *gs = end + 1;

		g = strtoul(gs, &end, 10);
		if (end == gs || *end)
			return -1;
	}
	if (u > 0xfffffffeUL || g > 0xfffffffeUL)
		return -1;
	*uid = (unsigned)u;
	*gid = (unsigned)g;
	return 0;
}

static int parse_option(struct options *o, int opt, const char *arg)
{
	char *end;

	switch (opt) {
	case O_KERNEL: o->vm.kernel = arg; return 0;
	case O_INITRD: o->vm.initrd = arg; return 0;
	case O_INIT: o->vm.init = arg; return 0;
	case O_CMDLINE: o->vm.cmdline = arg; return 0;
	case O_MEM:
		o->vm.mem_bytes = strtoull(arg, &end, 10) << 20;
		return *end || o->vm.mem_bytes < (4ULL << 20) || o->vm.mem_bytes > (3ULL << 30)
			       ? -1 : 0;
	case O_SERIAL:
		o->serial_fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		o->vm.serial_fd = o->serial_fd;
		return o->serial_fd < 0 ? -1 : 0;
	case O_TIMEOUT:
		o->vm.timeout_ms = (unsigned)strtoul(arg, &end, 10);
		return *end ? -1 : 0;
	case O_ROOTFS: o->io.rootfs = arg; return 0;
	case O_UPPER: o->io.upper = arg; return 0;
	case O_ENV: strv_push(&o->env, arg); return 0;
	case O_WORKDIR: o->gp.cwd = arg; return arg[0] == '/' ? 0 : -1;
	case O_USER: return parse_ids(arg, &o->gp.uid, &o->gp.gid);
	case O_HOSTNAME: o->gp.hostname = arg; return 0;
	case O_TTY: o->gp.tty = true; return 0;
	default: return -1;
	}
}

static int cmd_vm(int argc, char **argv, bool container)
{
	struct options o = {
		.vm = { .cmdline = container ? LINUX_VM_CONTAINER_CMDLINE : "console=ttyS0",
			.mem_bytes = 256ULL << 20, .serial_fd = container ? -1 : STDERR_FILENO,
			.serial_limit = 16 << 20 },
		.io = { .stdin_fd = STDIN_FILENO, .stdout_fd = STDOUT_FILENO,
			.stderr_fd = STDERR_FILENO, .config_fd = -1, .exec_fd = -1,
			.start_fd = -1, .ready_fd = -1 },
		.serial_fd = -1,
	};
	struct err err = { 0 };
	struct linux_vm_exit exit = { 0 };
	int opt, r;

	while ((opt = getopt_long(argc, argv, "+", vm_options, NULL)) != -1)
		if (opt >= O_ROOTFS && !container)
			return usage();
		else if (parse_option(&o, opt, optarg) < 0)
			return opt == O_SERIAL ? fail("cannot open the --serial file") : usage();
	if (!o.vm.kernel || (container && (!o.io.rootfs || optind >= argc)) ||
	    (!container && optind != argc))
		return usage();
	if (container) {
		o.gp.argv = (const char *const *)argv + optind;
		o.gp.env = o.env.n ? strv_get(&o.env) : NULL;
		o.io.config_fd = guest_config_memfd(&o.gp, &err);
		if (o.io.config_fd < 0)
			return fail(err.msg);
		o.vm.io = &o.io;
	}
	r = linux_vm_run(&o.vm, &exit, &err);
	if (o.io.config_fd >= 0)
		close(o.io.config_fd);
	if (o.serial_fd >= 0)
		close(o.serial_fd);
	strv_free(&o.env);
	return r < 0 ? fail(err.msg) : exit.status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "firmware"))
		return cmd_firmware(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "boot"))
		return cmd_vm(argc - 1, argv + 1, false);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_vm(argc - 1, argv + 1, true);
	return usage();
}
