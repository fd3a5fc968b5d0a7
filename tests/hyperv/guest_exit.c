/* /init of the smallest test guest: say hello on the console, then report an
 * exit status to isobox-vmm on its exit port (0xf4), the way the guest agent
 * reports a container's status. Usage as init: the status is argv[1] or 7. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int status = argc > 1 ? atoi(argv[1]) : 7;

	printf("GUEST-OK pid=%d\n", getpid());
	fflush(stdout);
	if (ioperm(0xf4, 1, 1) < 0) {
		perror("ioperm");
		return 1;
	}
	outb((unsigned char)status, 0xf4);
	for (;;)
		pause();
}
