#include "engine/kernel_info.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "engine/archive_dl.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define CONFIG_MAX (4 << 20)

int kernel_version_parse(const char *s, struct kernel_version *v)
{
	unsigned long n[3] = { 0, 0, 0 };
	int count = 0;
	char *end;

	while (count < 3 && *s >= '0' && *s <= '9') {
		n[count] = strtoul(s, &end, 10);
		if (n[count++] > 99999)
			return -1;
		s = end;
		if (*s != '.')
			break;
		s++;
	}
	if (count < 2)
		return -1;
	v->major = n[0], v->minor = n[1], v->patch = n[2];
	return 0;
}

int kernel_version_cmp(const struct kernel_version *a, const struct kernel_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return 0;
}

void kernel_version_format(const struct kernel_version *v, char *buf, size_t size)
{
	if (!v->major && !v->minor && !v->patch)
		snprintf(buf, size, "unknown");
	else
		snprintf(buf, size, "%u.%u.%u", v->major, v->minor, v->patch);
}

void kernel_banner_parse(const char *banner, char *release, size_t size,
			 struct kernel_version *v)
{
	const char *debian;

	memset(v, 0, sizeof(*v));
	if (!strncmp(banner, "Linux version ", 14))
		banner += 14;
	snprintf(release, size, "%.*s", (int)strcspn(banner, " \n"), banner);
	debian = strstr(banner, " Debian ");
	if (!debian || kernel_version_parse(debian + 8, v) < 0)
		kernel_version_parse(release, v);
}

/* /proc/config.gz, gzip-compressed: libarchive's raw format reads it. */
static int config_gz_read(const char *path, char **out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct archive *a;
	struct archive_entry *e;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	if (fd < 0 || archive_dl_load(&(struct err){ 0 }) < 0)
		return -1;
	a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		archive_read_free(a);
		return -1;
	}
	buf = xmalloc(CONFIG_MAX + 1);
	while (len < CONFIG_MAX && (n = archive_read_data(a, buf + len, CONFIG_MAX - len)) > 0)
		len += n;
	archive_read_free(a);
	buf[len] = '\0';
	*out = buf;
	return len ? 0 : (free(buf), -1);
}

int kernel_info_host(struct kernel_info *k, struct err *err)
{
	_cleanup_free_ char *banner = NULL, *boot = NULL;
	struct utsname u;

	memset(k, 0, sizeof(*k));
	if (uname(&u) < 0)
		return err_sys(err, errno, "uname");
	if (read_file("/proc/version", 4096, &banner, NULL, &(struct err){ 0 }) == 0)
		kernel_banner_parse(banner, k->release, sizeof(k->release), &k->version);
	snprintf(k->release, sizeof(k->release), "%s", u.release);
	if (!k->version.major)
		kernel_version_parse(u.release, &k->version);
	boot = xasprintf("/boot/config-%s", u.release);
	if (config_gz_read("/proc/config.gz", &k->config) == 0) {
		snprintf(k->config_source, sizeof(k->config_source), "/proc/config.gz");
	} else {
		snprintf(k->config_source, sizeof(k->config_source), "%s", boot);
		if (read_file(boot, CONFIG_MAX, &k->config, NULL, &(struct err){ 0 }) < 0)
			k->config = NULL;
	}
	return 0;
}

/* The bzImage setup header names the kernel: kernel_version (offset 0x20e)
 * points, from 0x200, at the NUL-terminated banner. */
static int bzimage_banner(const char *path, char *banner, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char hdr[0x210];
	uint16_t off;
	ssize_t n;

	if (fd < 0 || pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr + 0x202, "HdrS", 4))
		return -1;
	off = hdr[0x20e] | hdr[0x20f] << 8;
	if (!off)
		return -1;
	n = pread(fd, banner, size - 1, 0x200 + off);
	if (n <= 0)
		return -1;
	banner[n] = '\0';
	return 0;
}

void kernel_info_load(struct kernel_info *k, const char *bzimage, const char *config)
{
	char banner[256];

	memset(k, 0, sizeof(*k));
	if (bzimage_banner(bzimage, banner, sizeof(banner)) == 0)
		kernel_banner_parse(banner, k->release, sizeof(k->release), &k->version);
	snprintf(k->config_source, sizeof(k->config_source), "%s", config);
	if (read_file(config, CONFIG_MAX, &k->config, NULL, &(struct err){ 0 }) < 0)
		k->config = NULL;
}

void kernel_info_free(struct kernel_info *k)
{
	free(k->config);
	memset(k, 0, sizeof(*k));
}

static const struct { const char *name, *option; } features[] = {
	{ "bpf", "CONFIG_BPF_SYSCALL" },
	{ "btrfs", "CONFIG_BTRFS_FS" },
	{ "fuse", "CONFIG_FUSE_FS" },
	{ "io_uring", "CONFIG_IO_URING" },
	{ "kvm", "CONFIG_KVM" },
	{ "landlock", "CONFIG_SECURITY_LANDLOCK" },
	{ "nftables", "CONFIG_NF_TABLES" },
	{ "overlayfs", "CONFIG_OVERLAY_FS" },
	{ "seccomp", "CONFIG_SECCOMP_FILTER" },
	{ "user_namespaces", "CONFIG_USER_NS" },
	{ "userfaultfd", "CONFIG_USERFAULTFD" },
	{ "wireguard", "CONFIG_WIREGUARD" },
};

const char *kernel_feature_names(void)
{
	return "bpf, btrfs, fuse, io_uring, kvm, landlock, nftables, overlayfs, seccomp, "
	       "user_namespaces, userfaultfd, wireguard";
}

int kernel_feature_option(const char *feature, const char **option)
{
	size_t i;

	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (!strcmp(feature, features[i].name)) {
			*option = features[i].option;
			return 0;
		}
	if (!strncmp(feature, "CONFIG_", 7) && feature[7] &&
	    strspn(feature, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(feature)) {
		*option = feature;
		return 0;
	}
	return -1;
}

int kernel_has_option(const struct kernel_info *k, const char *option)
{
	size_t n = strlen(option);
	const char *p;

	if (!k->config)
		return -1;
	for (p = k->config; (p = strstr(p, option)); p += n) {
		bool line_start = p == k->config || p[-1] == '\n';

		if (line_start && p[n] == '=' && (p[n + 1] == 'y' || p[n + 1] == 'm'))
			return 1;
	}
	return 0;
}
