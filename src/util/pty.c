#include "util/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int pty_open_raw(int *master, int *slave, bool ctty, struct err *err)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s;
	struct termios t;
	char name[64];

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name))) {
		err_sys(err, errno, "allocate a pty");
		if (m >= 0)
			close(m);
		return -1;
	}
	if (ctty)
		setsid();       /* fails, harmlessly, for a process group leader */
	s = open(name, O_RDWR | O_CLOEXEC | (ctty ? 0 : O_NOCTTY));
	if (s < 0) {
		err_sys(err, errno, "open %s", name);
		close(m);
		return -1;
	}
	if (ctty)
		ioctl(s, TIOCSCTTY, 0);
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	*master = m;
	*slave = s;
	return 0;
}
