#include "vmm/guest_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest/agent_proto.h"
#include "util/cleanup.h"
#include "util/fs.h"

static void put(FILE *f, unsigned tag, const char *s)
{
	size_t n = strlen(s);
	uint8_t h[5] = { (uint8_t)tag, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
			 (uint8_t)(n >> 24) };

	fwrite(h, 1, sizeof(h), f);
	fwrite(s, 1, n, f);
}

static void put_uint(FILE *f, unsigned tag, unsigned v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	put(f, tag, buf);
}

int guest_config_build(const struct guest_process *p, char **blob, size_t *len,
		       struct err *err)
{
	FILE *f;
	size_t i;

	*blob = NULL;
	if (!p->argv || !p->argv[0])
		return err_set(err, "the container has no command");
	f = open_memstream(blob, len);
	if (!f)
		return err_sys(err, errno, "build the guest config");
	fwrite(AGENT_MAGIC, 1, AGENT_MAGIC_LEN, f);
	for (i = 0; p->argv[i]; i++)
		put(f, TAG_ARG, p->argv[i]);
	for (i = 0; p->env && p->env[i]; i++)
		put(f, TAG_ENV, p->env[i]);
	put(f, TAG_CWD, p->cwd ? p->cwd : "/");
	put_uint(f, TAG_UID, p->uid);
	put_uint(f, TAG_GID, p->gid);
	put(f, TAG_TTY, p->tty ? "1" : "0");
	put(f, TAG_READONLY, p->readonly ? "1" : "0");
	if (p->hostname)
		put(f, TAG_HOSTNAME, p->hostname);
	if (p->user)
		put(f, TAG_USER, p->user);
	fputc(TAG_END, f);
	if (fclose(f) != 0) {
		free(*blob);
		*blob = NULL;
		return err_sys(err, errno, "build the guest config");
	}
	if (*len > AGENT_CONFIG_MAX) {
		free(*blob);
		*blob = NULL;
		return err_set(err, "the container's command line and environment exceed %u KiB",
			       AGENT_CONFIG_MAX >> 10);
	}
	return 0;
}

int guest_config_memfd(const struct guest_process *p, struct err *err)
{
	_cleanup_close_ int fd = memfd_create("isobox-config", MFD_CLOEXEC);
	_cleanup_free_ char *blob = NULL;
	static const uint8_t zeros[512];
	size_t len;

	if (fd < 0)
		return err_sys(err, errno, "memfd_create");
	if (guest_config_build(p, &blob, &len, err) < 0)
		return -1;
	if (write_all(fd, blob, len) < 0 || write_all(fd, zeros, (512 - len % 512) % 512) < 0)
		return err_sys(err, errno, "write the guest config");
	return take_fd(&fd);
}
