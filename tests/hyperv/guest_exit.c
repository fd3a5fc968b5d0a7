/* /init of the smallest test guest: say hello on the console, list the ACPI
 * devices the kernel found (sysfs), then report an exit status to isobox-vmm
 * on its exit port (0xf4), the way the guest agent reports a container's
 * status. Usage as init: the status is argv[1] or 7; "poweroff" powers the
 * guest off (ACPI S5) instead of reporting. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

static void list_dir(const char *label, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		return;
	printf("%s:", label);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			printf(" %s", e->d_name);
	printf("\n");
	closedir(d);
}

int main(int argc, char **argv)
{
	int status = argc > 1 ? atoi(argv[1]) : 7;

	printf("GUEST-OK pid=%d\n", getpid());
	mkdir("/sys", 0755);
	if (mount("sysfs", "/sys", "sysfs", 0, NULL) == 0) {
		list_dir("GUEST-ACPI-DEVICES", "/sys/bus/acpi/devices");
		list_dir("GUEST-PLATFORM-DEVICES", "/sys/bus/platform/devices");
	}
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "poweroff")) {
		sync();
		reboot(RB_POWER_OFF);
		perror("reboot");
		return 1;
	}
	if (ioperm(0xf4, 1, 1) < 0) {
		perror("ioperm");
		return 1;
	}
	outb((unsigned char)status, 0xf4);
	for (;;)
		pause();
}
