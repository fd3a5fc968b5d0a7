#include "util/unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* path as a sockaddr; *dirfd holds the directory when it had to be opened. */
static int unix_addr(const char *path, struct sockaddr_un *sa, int *dirfd, struct err *err)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = NULL;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dirfd = -1;
	if (strlen(path) < sizeof(sa->sun_path)) {
		strcpy(sa->sun_path, path);
		return 0;
	}
	if (!slash || strlen(slash + 1) > 64)
		return err_set(err, "socket path %s is too long", path);
	dir = xstrdup(path);
	dir[slash - path] = '\0';
	*dirfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return err_sys(err, errno, "open %s", dir);
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd, slash + 1);
	return 0;
}

/* A stream socket, and path as its address (dirfd holds a long path's dir). */
static int unix_socket(const char *path, struct sockaddr_un *sa, int *dirfd, struct err *err)
{
	int fd;

	if (unix_addr(path, sa, dirfd, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(err, errno, "socket");
	return fd;
}

int unix_listen(const char *path, struct err *err)
{
	_cleanup_close_ int dirfd = -1;
	struct sockaddr_un sa;
	_cleanup_close_ int fd = unix_socket(path, &sa, &dirfd, err);

	if (fd < 0)
		return -1;
	if (unlink(sa.sun_path) < 0 && errno != ENOENT)
		return err_sys(err, errno, "remove the stale socket %s", path);
	if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(sa.sun_path, 0600) < 0 || listen(fd, 16) < 0)
		return err_sys(err, errno, "listen on %s", path);
	return take_fd(&fd);
}

int unix_connect(const char *path, struct err *err)
{
	_cleanup_close_ int dirfd = -1;
	struct sockaddr_un sa;
	_cleanup_close_ int fd = unix_socket(path, &sa, &dirfd, err);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_sys(err, errno, "connect to %s", path);
	return take_fd(&fd);
}
