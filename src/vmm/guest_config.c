#include "vmm/guest_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/agent_proto.h"
#include "util/cleanup.h"
#include "util/fs.h"

static void put_bytes(FILE *f, unsigned tag, const void *head, size_t head_len,
		      const void *data, size_t len)
{
	size_t n = head_len + len;
	uint8_t h[5] = { (uint8_t)tag, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
			 (uint8_t)(n >> 24) };

	fwrite(h, 1, sizeof(h), f);
	fwrite(head, 1, head_len, f);
	fwrite(data, 1, len, f);
}

static void put(FILE *f, unsigned tag, const char *s)
{
	put_bytes(f, tag, "", 0, s, strlen(s));
}

static void put_security(FILE *f, const struct guest_security *sec)
{
	char caps[100];
	uint8_t flags[8];
	size_t i;

	snprintf(caps, sizeof(caps), "%llx %llx %llx %llx %llx",
		 (unsigned long long)sec->caps[0], (unsigned long long)sec->caps[1],
		 (unsigned long long)sec->caps[2], (unsigned long long)sec->caps[3],
		 (unsigned long long)sec->caps[4]);
	put(f, TAG_CAPS, caps);
	if (sec->no_new_privs)
		put(f, TAG_NO_NEW_PRIVS, "1");
	if (!sec->seccomp)
		return;
	for (i = 0; i < sizeof(flags); i++)
		flags[i] = (uint8_t)((uint64_t)sec->seccomp_flags >> (8 * i));
	put_bytes(f, TAG_SECCOMP, flags, sizeof(flags), sec->seccomp, sec->seccomp_len);
}

static void put_uint(FILE *f, unsigned tag, unsigned long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", v);
	put(f, tag, buf);
}

/* The agent mounts /dev and /dev/shm itself; other tmpfs mounts (--tmpfs)
 * are the container's. */
static void put_tmpfs(FILE *f, const struct oci_mount *m)
{
	char *text = NULL;

	if (strcmp(m->type, "tmpfs") || !strcmp(m->destination, "/dev") ||
	    !strncmp(m->destination, "/dev/", 5))
		return;
	if (asprintf(&text, "%lu:%s:%s", m->flags, m->data ? m->data : "", m->destination) < 0)
		return;
	put(f, TAG_TMPFS, text);
	free(text);
}

/* A "cgroup" mount: the guest's container cgroup, seen there with these flags. */
static void put_cgroup_mount(FILE *f, const struct oci_mount *m)
{
	char *text = NULL;

	if (strcmp(m->type, "cgroup") ||
	    asprintf(&text, "%lu:%s", m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC),
		     m->destination) < 0)
		return;
	put(f, TAG_CGROUP_MOUNT, text);
	free(text);
}

static void put_device(FILE *f, const struct oci_device *d)
{
	char *text = NULL;

	/* Whole, however long the path: the agent refuses what it cannot take. */
	if (asprintf(&text, "%c %u %u %o %u %u %s",
		     d->type == S_IFBLK ? 'b' : d->type == S_IFIFO ? 'p' : 'c', d->major, d->minor,
		     (unsigned)(d->mode & 07777), (unsigned)d->uid, (unsigned)d->gid, d->path) < 0)
		return;
	put(f, TAG_DEVICE, text);
	free(text);
}

static void put_dev_rules(FILE *f, const struct guest_process *p)
{
	char text[DEVCG_RULE_TEXT_MAX];
	size_t i;

	if (p->devices_allow_all)
		put(f, TAG_DEV_ALLOW_ALL, "1");
	for (i = 0; i < p->n_dev_rules; i++) {
		devcg_rule_format(&p->dev_rules[i], text, sizeof(text));
		put(f, TAG_DEV_RULE, text);
	}
}

static void put_sysctls(FILE *f, json_t *sysctl)
{
	const char *key;
	json_t *v;

	json_object_foreach(sysctl, key, v) {
		char *text = NULL;

		if (!json_is_string(v) || asprintf(&text, "%s=%s", key, json_string_value(v)) < 0)
			continue;
		put(f, TAG_SYSCTL, text);
		free(text);
	}
}

static void put_rlimit(FILE *f, const struct oci_rlimit *r)
{
	char text[80];

	snprintf(text, sizeof(text), "%d:%llu:%llu", r->resource, r->soft, r->hard);
	put(f, TAG_RLIMIT, text);
}

/* The guest kernel's default fs.nr_open: no RLIMIT_NOFILE goes above it. */
#define GUEST_NR_OPEN 1048576ULL

static bool rlimit_set(const struct guest_process *p, int resource)
{
	size_t i;

	for (i = 0; i < p->n_rlimits; i++)
		if (p->rlimits[i].resource == resource)
			return true;
	return false;
}

/* The caller's own limits where the spec sets none: the guest's defaults
 * (nofile 1024, an nproc from the guest's RAM) are nobody's choice. */
static void put_inherited_rlimits(FILE *f, const struct guest_process *p)
{
	int res;

	for (res = 0; res < RLIM_NLIMITS; res++) {
		struct rlimit rl;
		struct oci_rlimit r = { .resource = res };

		if (rlimit_set(p, res) || getrlimit(res, &rl) < 0)
			continue;
		r.soft = rl.rlim_cur;
		r.hard = rl.rlim_max;
		if (res == RLIMIT_NOFILE) {
			r.hard = r.hard > GUEST_NR_OPEN ? GUEST_NR_OPEN : r.hard;
			r.soft = r.soft > r.hard ? r.hard : r.soft;
		}
		put_rlimit(f, &r);
	}
}

static const char *const etc_destinations[3] = { "/etc/hosts", "/etc/hostname",
						  "/etc/resolv.conf" };

int guest_config_etc_files(const struct oci_spec *spec, char *files[3], struct err *err)
{
	struct stat st;
	size_t i, k, len;

	for (k = 0; k < 3; k++)
		files[k] = NULL;
	for (i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];

		for (k = 0; k < 3; k++) {
			if (!m->bind || strcmp(m->destination, etc_destinations[k]))
				continue;
			free(files[k]);
			files[k] = NULL;
			/* A FIFO or a device would block the boot or never end. */
			if (stat(m->source, &st) == 0 && !S_ISREG(st.st_mode))
				err_set(err, "%s is not a regular file", m->source);
			else if (read_file(m->source, AGENT_ETC_FILE_MAX, &files[k], &len, err) == 0 &&
				 strlen(files[k]) != len)
				err_set(err, "%s holds a NUL byte: not a text file", m->source);
			else if (files[k])
				continue;
			for (k = 0; k < 3; k++)
				free(files[k]);
			return err_wrap(err, "the container's %s", m->destination);
		}
	}
	return 0;
}

static bool is_etc_destination(const char *dest)
{
	size_t k;

	for (k = 0; k < 3; k++)
		if (!strcmp(dest, etc_destinations[k]))
			return true;
	return false;
}

int guest_config_shares(const struct oci_spec *spec, struct guest_shares *out,
			struct err *err)
{
	const unsigned long keep = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct stat st;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		size_t n = out->n;

		if (!m->bind && m->type && !strcmp(m->type, "ext4") && m->source &&
		    stat(m->source, &st) == 0 && S_ISREG(st.st_mode)) {
			size_t k = out->n_disks;

			if (n + k == AGENT_SHARES_MAX)
				return err_set(err, "more than %d bind mounts and volumes: a hyperv "
					       "container has at most %d", AGENT_SHARES_MAX,
					       AGENT_SHARES_MAX);
			snprintf(out->serials[k], sizeof(out->serials[k]), "%s-%zu",
				 AGENT_DISK_VOLUME, k);
			out->disk_dest[k] = m->destination;
			out->disk_flags[k] = m->flags & keep;
			out->disks[k] = (struct vm_volume_disk){ .path = m->source,
								 .serial = out->serials[k],
								 .read_only = m->flags & MS_RDONLY };
			out->n_disks++;
			continue;
		}
		if (!m->bind || is_etc_destination(m->destination) ||
		    !strcmp(m->destination, "/dev") || !strncmp(m->destination, "/dev/", 5))
			continue;
		if (stat(m->source, &st) < 0)
			return err_sys(err, errno, "bind mount source %s", m->source);
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			return err_set(err, "bind mount of %s on %s: a hyperv container shares "
				       "directories and regular files with the host, not devices, "
				       "sockets or fifos: use --isolation=process", m->source,
				       m->destination);
		if (n + out->n_disks == AGENT_SHARES_MAX)
			return err_set(err, "more than %d bind mounts and volumes: a hyperv "
				       "container has at most %d", AGENT_SHARES_MAX,
				       AGENT_SHARES_MAX);
		snprintf(out->tags[n], sizeof(out->tags[n]), "isobox-fs%zu", n);
		out->dest[n] = m->destination;
		out->flags[n] = m->flags & keep;
		if (m->readonly_bind)
			out->flags[n] |= MS_RDONLY;
		out->fs[n] = (struct virtio_fs_share){ .source = m->source, .tag = out->tags[n],
						       .read_only = out->flags[n] & MS_RDONLY,
						       .file = S_ISREG(st.st_mode) };
		out->n++;
	}
	return 0;
}

static void put_shares(FILE *f, const struct guest_shares *sh)
{
	size_t i;

	for (i = 0; sh && i < sh->n; i++) {
		char *text = NULL;

		if (asprintf(&text, "%lu:%s:%s", sh->flags[i], sh->tags[i], sh->dest[i]) < 0)
			return;
		put(f, sh->fs[i].file ? TAG_SHARE_FILE : TAG_SHARE, text);
		free(text);
	}
	for (i = 0; sh && i < sh->n_disks; i++) {
		char *text = NULL;

		if (asprintf(&text, "%lu:%s:%s", sh->disk_flags[i], sh->serials[i],
			     sh->disk_dest[i]) < 0)
			return;
		put(f, TAG_SHARE_DISK, text);
		free(text);
	}
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
	if (p->hold)
		put(f, TAG_HOLD, "1");
	if (p->detach)
		put(f, TAG_DETACH, "1");
	if (p->tool)
		put(f, TAG_TOOL, "1");
	if (p->init)
		put(f, TAG_INIT, "1");
	if (p->root_disks)
		put_uint(f, TAG_ROOT_DISKS, p->root_disks);
	if (p->net_addr) {
		put(f, TAG_NET_MAC, p->net_mac);
		put(f, TAG_NET_ADDR, p->net_addr);
		if (p->net_gateway)
			put(f, TAG_NET_GATEWAY, p->net_gateway);
		if (p->net_mtu)
			put_uint(f, TAG_NET_MTU, p->net_mtu);
	}
	if (p->hostname)
		put(f, TAG_HOSTNAME, p->hostname);
	if (p->user)
		put(f, TAG_USER, p->user);
	for (i = 0; i < p->n_mounts; i++) {
		put_tmpfs(f, &p->mounts[i]);
		put_cgroup_mount(f, &p->mounts[i]);
	}
	put_shares(f, p->shares);
	for (i = 0; i < p->n_rlimits; i++)
		put_rlimit(f, &p->rlimits[i]);
	if (p->inherit_rlimits)
		put_inherited_rlimits(f, p);
	for (i = 0; i < 3; i++)
		if (p->etc_files[i])
			put(f, TAG_ETC_HOSTS + (unsigned)i, p->etc_files[i]);
	if (p->memory)
		put_uint(f, TAG_MEMORY, p->memory);
	if (p->pids)
		put_uint(f, TAG_PIDS, p->pids);
	if (p->cpu_quota) {
		char cpu[48];

		snprintf(cpu, sizeof(cpu), "%llu %llu", p->cpu_quota, p->cpu_period);
		put(f, TAG_CPU_MAX, cpu);
	}
	if (p->security)
		put_security(f, p->security);
	for (i = 0; p->masked_paths && p->masked_paths[i]; i++)
		put(f, TAG_MASKED, p->masked_paths[i]);
	for (i = 0; p->readonly_paths && p->readonly_paths[i]; i++)
		put(f, TAG_RO_PATH, p->readonly_paths[i]);
	for (i = 0; i < p->n_gids; i++)
		put_uint(f, TAG_GROUP, p->gids[i]);
	put_sysctls(f, p->sysctl);
	if (p->has_oom_score_adj) {
		char adj[16];

		snprintf(adj, sizeof(adj), "%d", p->oom_score_adj);
		put(f, TAG_OOM_SCORE_ADJ, adj);
	}
	for (i = 0; i < p->n_devices; i++)
		put_device(f, &p->devices[i]);
	put_dev_rules(f, p);
	if (p->root_propagation)
		put_uint(f, TAG_ROOT_PROPAGATION, p->root_propagation);
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

int guest_update_build(const char *const *sets, char **blob, size_t *len, struct err *err)
{
	FILE *f;
	size_t i;

	*blob = NULL;
	f = open_memstream(blob, len);
	if (!f)
		return err_sys(err, errno, "build the update");
	for (i = 0; sets[i]; i++)
		put(f, TAG_CGROUP_SET, sets[i]);
	fputc(TAG_END, f);
	if (fclose(f) != 0) {
		free(*blob);
		*blob = NULL;
		return err_sys(err, errno, "build the update");
	}
	if (*len > AGENT_FRAME_DATA) {
		free(*blob);
		*blob = NULL;
		return err_set(err, "the update does not fit one frame");
	}
	return 0;
}
