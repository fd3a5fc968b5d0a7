/* isobox-vmm: isobox's virtual machine monitor. Today it runs raw firmware
 * (the VMM floor benchmark and its tests); the Hyper-V isolation backend
 * grows here. Usage: isobox-vmm firmware IMAGE [--mem MiB] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "vmm/firmware.h"
#include "vmm/kvm.h"

static int usage(void)
{
	fputs("usage: isobox-vmm firmware IMAGE [--mem MiB]\n", stderr);
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
	return usage();
}
