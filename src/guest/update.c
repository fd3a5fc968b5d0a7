#include "update.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_proto.h"

/* Decimal digits, at most 19 (below 2^63). */
static int is_number(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n && n <= 19 && !s[n];
}

static int limit_ok(const char *v)
{
	return !strcmp(v, "max") || is_number(v);
}

/* "max|QUOTA PERIOD", PERIOD 1000 to 1000000 as the kernel takes it. */
static int cpu_max_ok(const char *v)
{
	char quota[24];
	const char *sp = strchr(v, ' ');
	unsigned long period;

	if (!sp || (size_t)(sp - v) >= sizeof(quota) || !is_number(sp + 1))
		return 0;
	memcpy(quota, v, (size_t)(sp - v));
	quota[sp - v] = '\0';
	period = strtoul(sp + 1, NULL, 10);
	return limit_ok(quota) && strcmp(quota, "0") && period >= 1000 && period <= 1000000;
}

static int weight_ok(const char *v)
{
	unsigned long w = is_number(v) ? strtoul(v, NULL, 10) : 0;

	return w >= 1 && w <= 10000;
}

/* A cpu or node list: "0-2,5". */
static int list_ok(const char *v)
{
	return *v && strspn(v, "0123456789,-") == strlen(v) && v[0] != ',' && v[0] != '-';
}

static const struct {
	const char *file, *controller;
	int (*ok)(const char *value);
} files[] = {
	{ "memory.max", "+memory", limit_ok },
	{ "memory.swap.max", "+memory", limit_ok },
	{ "memory.low", "+memory", limit_ok },
	{ "pids.max", "+pids", limit_ok },
	{ "cpu.max", "+cpu", cpu_max_ok },
	{ "cpu.weight", "+cpu", weight_ok },
	{ "cpuset.cpus", "+cpuset", list_ok },
	{ "cpuset.mems", "+cpuset", list_ok },
};

static int file_index(const char *file)
{
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(files[i].file, file))
			return (int)i;
	return -1;
}

/* "FILE VALUE" into one slot: both fit, FILE is known, VALUE is one it takes. */
static int parse_set(struct agent_update *u, const unsigned char *p, uint32_t n)
{
	const unsigned char *sp = memchr(p, ' ', n);
	size_t flen = sp ? (size_t)(sp - p) : 0, vlen = sp ? n - flen - 1 : 0;
	int i;

	if (u->n >= AGENT_UPDATE_MAX || !sp || !flen || flen >= sizeof(u->set[0].file) ||
	    !vlen || vlen >= sizeof(u->set[0].value) || memchr(p, '\0', n))
		return -1;
	memcpy(u->set[u->n].file, p, flen);
	u->set[u->n].file[flen] = '\0';
	memcpy(u->set[u->n].value, sp + 1, vlen);
	u->set[u->n].value[vlen] = '\0';
	i = file_index(u->set[u->n].file);
	if (i < 0 || !files[i].ok(u->set[u->n].value))
		return -1;
	u->n++;
	return 0;
}

int agent_update_parse(const unsigned char *buf, size_t len, struct agent_update *u)
{
	const unsigned char *data;
	size_t off = 0;
	unsigned tag;
	uint32_t n;
	int r;

	memset(u, 0, sizeof(*u));
	while ((r = agent_record_next(buf, len, &off, &tag, &data, &n)) > 0)
		if (tag != TAG_CGROUP_SET || parse_set(u, data, n) < 0)
			return -1;
	return r == 0 && off == len && u->n ? 0 : -1;
}

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[256];
	int fd, e;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

int agent_update_apply(const struct agent_update *u, const char *dir, char *msg, size_t len)
{
	char parent[256];
	char *slash;
	size_t k;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	for (k = 0; k < u->n; k++) {
		int i = file_index(u->set[k].file);

		/* The app's cgroup gets the controller from its parent (the root):
		 * memory and pids are there from boot, cpu and cpuset on demand. */
		if (i < 0) {
			snprintf(msg, len, "%s: not a limit isobox sets", u->set[k].file);
			return -1;
		}
		write_text(parent, "cgroup.subtree_control", files[i].controller);
		if (write_text(dir, u->set[k].file, u->set[k].value) < 0) {
			snprintf(msg, len, "%s %s in the VM's guest: %s", u->set[k].file,
				 u->set[k].value, strerror(errno));
			return -1;
		}
	}
	return 0;
}
