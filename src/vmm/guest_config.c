#include "vmm/guest_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest/agent_proto.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int put(int fd, unsigned tag, const char *s, size_t *total, struct err *err)
{
	size_t n = strlen(s);
	uint8_t h[5] = { (uint8_t)tag, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
			 (uint8_t)(n >> 24) };

	*total += sizeof(h) + n;
	if (*total > AGENT_CONFIG_MAX)
		return err_set(err, "the container's command line and environment exceed %u KiB",
			       AGENT_CONFIG_MAX >> 10);
	if (write_all(fd, h, sizeof(h)) < 0 || write_all(fd, s, n) < 0)
		return err_sys(err, errno, "write the guest config");
	return 0;
}

static int put_uint(int fd, unsigned tag, unsigned v, size_t *total, struct err *err)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	return put(fd, tag, buf, total, err);
}

int guest_config_memfd(const struct guest_process *p, struct err *err)
{
	_cleanup_close_ int fd = memfd_create("isobox-config", MFD_CLOEXEC);
	size_t total = AGENT_MAGIC_LEN + 1, i;
	static const uint8_t zeros[512];

	if (fd < 0)
		return err_sys(err, errno, "memfd_create");
	if (!p->argv || !p->argv[0])
		return err_set(err, "the container has no command");
	if (write_all(fd, AGENT_MAGIC, AGENT_MAGIC_LEN) < 0)
		return err_sys(err, errno, "write the guest config");
	for (i = 0; p->argv[i]; i++)
		if (put(fd, TAG_ARG, p->argv[i], &total, err) < 0)
			return -1;
	for (i = 0; p->env && p->env[i]; i++)
		if (put(fd, TAG_ENV, p->env[i], &total, err) < 0)
			return -1;
	if (put(fd, TAG_CWD, p->cwd ? p->cwd : "/", &total, err) < 0 ||
	    put_uint(fd, TAG_UID, p->uid, &total, err) < 0 ||
	    put_uint(fd, TAG_GID, p->gid, &total, err) < 0 ||
	    put(fd, TAG_TTY, p->tty ? "1" : "0", &total, err) < 0 ||
	    put(fd, TAG_READONLY, p->readonly ? "1" : "0", &total, err) < 0 ||
	    (p->hostname && put(fd, TAG_HOSTNAME, p->hostname, &total, err) < 0))
		return -1;
	if (write_all(fd, "\0", 1) < 0 || write_all(fd, zeros, 512 - total % 512) < 0)
		return err_sys(err, errno, "write the guest config");
	return take_fd(&fd);
}
