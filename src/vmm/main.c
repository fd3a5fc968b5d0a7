/* isobox-vmm: isobox's virtual machine monitor.
 *   isobox-vmm firmware IMAGE [--mem MiB]      raw real-mode firmware (the VMM floor)
 *   isobox-vmm boot --kernel K [--initrd I] [--cmdline C] [--mem MiB]
 *                   [--serial FILE] [--timeout MS]
 * boot runs a Linux guest until it reports its status on the exit port and
 * exits with that status; the guest kernel's log goes to --serial (default:
 * stderr). The Hyper-V isolation backend grows here. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "vmm/firmware.h"
#include "vmm/kvm.h"
#include "vmm/linux_vm.h"

static int usage(void)
{
	fputs("usage: isobox-vmm firmware IMAGE [--mem MiB]\n"
	      "       isobox-vmm boot --kernel FILE [--initrd FILE] [--cmdline TEXT] [--mem MiB]\n"
	      "                       [--serial FILE] [--timeout MS]\n", stderr);
	return 125;
}

static int fail(const struct err *err)
{
	fprintf(stderr, "isobox-vmm: %s\n", err->msg);
	return 125;
}

static int cmd_boot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' }, { "mem", required_argument, NULL, 'm' },
		{ "serial", required_argument, NULL, 's' }, { "timeout", required_argument, NULL, 't' },
		{ "acpi-test-device", no_argument, NULL, 'A' },
		{ 0 },
	};
	struct linux_vm_config c = { .cmdline = "console=ttyS0", .mem_bytes = 256ULL << 20,
				     .serial_fd = STDERR_FILENO, .serial_limit = 16 << 20 };
	_cleanup_close_ int serial = -1;
	struct err err = { 0 };
	int o, status = 0;
	char *end;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'k': c.kernel = optarg; break;
		case 'i': c.initrd = optarg; break;
		case 'c': c.cmdline = optarg; break;
		case 'm':
			c.mem_bytes = strtoull(optarg, &end, 10) << 20;
			if (*end || c.mem_bytes < (4ULL << 20) || c.mem_bytes > (3ULL << 30))
				return usage();
			break;
		case 's':
			serial = open(optarg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (serial < 0)
				return fail(&(struct err){ .msg = "cannot open the --serial file" });
			c.serial_fd = serial;
			break;
		case 't':
			c.timeout_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end)
				return usage();
			break;
		case 'A': c.acpi_test_device = true; break;   /* test only, undocumented */
		default:
			return usage();
		}
	}
	if (!c.kernel || optind != argc)
		return usage();
	if (linux_vm_run(&c, &status, &err) < 0)
		return fail(&err);
	return status;
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
	    firmware_run(image, len, (uint64_t)mem_mib << 20, &value, &err) < 0) {
		fprintf(stderr, "isobox-vmm: %s\n", err.msg);
		return 125;
	}
	return value;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "firmware"))
		return cmd_firmware(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "boot"))
		return cmd_boot(argc - 1, argv + 1);
	return usage();
}
