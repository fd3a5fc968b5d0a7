#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "guest/net.h"
#include "util/passwd.h"
#include "util/loopback.h"

#define MODULES_DIR "/lib/isobox-modules"
#define DEVICE_WAIT_MS 5000

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What went wrong goes to the kernel log (the VMM's serial log file). */
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (fd >= 0) {
		dprintf(fd, "isobox-agent: %s\n", buf);
		close(fd);
	} else {
		fprintf(stderr, "isobox-agent: %s\n", buf);
	}
}

void agent_report(int status)
{
	sync();
	if (ioperm(AGENT_EXIT_PORT, 2, 1) == 0)
		outb((unsigned char)status, AGENT_EXIT_PORT);
	/* Not under isobox's VMM: power off instead. */
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void __attribute__((noreturn)) die(const char *what)
{
	say("%s: %s", what, strerror(errno));
	agent_report(125);
}

bool agent_is_vm_init(int argc)
{
	return getpid() == 1 && argc == 1;
}

static void load_modules(void)
{
	char order[256], path[sizeof(MODULES_DIR) + 256];
	FILE *f = fopen(MODULES_DIR "/order", "re");

	/* The initramfs lists its modules in dependency order, one per line. */
	while (f && fgets(order, sizeof(order), f)) {
		int fd;

		order[strcspn(order, "\n")] = '\0';
		if (!*order)
			continue;
		snprintf(path, sizeof(path), MODULES_DIR "/%s", order);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
			say("load %s: %s", order, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (f)
		fclose(f);
}

/* /dev/vdX whose virtio serial is want, waiting for the disks to appear. */
static int find_disk(const char *want, char *dev, size_t len)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		DIR *d = opendir("/sys/block");
		struct dirent *e;

		while (d && (e = readdir(d))) {
			char path[64], serial[64] = "";
			int fd;
			ssize_t n;

			if (strncmp(e->d_name, "vd", 2))
				continue;
			snprintf(path, sizeof(path), "/sys/block/%.32s/serial", e->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			n = fd >= 0 ? read(fd, serial, sizeof(serial) - 1) : -1;
			if (fd >= 0)
				close(fd);
			serial[n > 0 ? n : 0] = '\0';
			serial[strcspn(serial, "\n")] = '\0';
			if (!strcmp(serial, want)) {
				snprintf(dev, len, "/dev/%.32s", e->d_name);
				closedir(d);
				return 0;
			}
		}
		if (d)
			closedir(d);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
		    DEVICE_WAIT_MS)
			return -1;
		nanosleep(&(struct timespec){ 0, 2 * 1000 * 1000 }, NULL);
	}
}

static char *dup_field(const unsigned char *p, uint32_t n)
{
	char *s = malloc((size_t)n + 1);

	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	/* A NUL inside would cut the string short where the host did not. */
	return memchr(s, '\0', n) ? (free(s), NULL) : s;
}

static int push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s || *n >= AGENT_MAX_ARGS)
		return -1;
	nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -1;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static int parse_ull(const char *s, unsigned long long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* "RESOURCE:SOFT:HARD" */
static int parse_rlimit(struct agent_process *p, char *s)
{
	char *soft = s ? strchr(s, ':') : NULL, *hard = soft ? strchr(soft + 1, ':') : NULL;
	unsigned res;
	struct agent_rlimit *r = &p->rlimits[p->n_rlimits];
	int bad;

	if (!hard || p->n_rlimits >= sizeof(p->rlimits) / sizeof(p->rlimits[0])) {
		free(s);
		return -1;
	}
	*soft++ = '\0';
	*hard++ = '\0';
	bad = passwd_parse_id(s, &res) < 0 || res > 64 || parse_ull(soft, &r->soft) < 0 ||
	      parse_ull(hard, &r->hard) < 0 || r->soft > r->hard;
	free(s);
	if (bad)
		return -1;
	r->resource = (int)res;
	p->n_rlimits++;
	return 0;
}

/* LE u64 flags, then whole BPF instructions (8 bytes each), at most 4096. */
static int parse_seccomp(struct agent_process *p, const unsigned char *b, uint32_t n)
{
	size_t i;

	if (p->seccomp || n < 8 + 8 || (n - 8) % 8 || (n - 8) / 8 > 4096)
		return -1;
	for (i = 0; i < 8; i++)
		p->seccomp_flags |= (unsigned long long)b[i] << (8 * i);
	p->seccomp = malloc(n - 8);
	if (!p->seccomp)
		return -1;
	memcpy(p->seccomp, b + 8, n - 8);
	p->seccomp_len = n - 8;
	return 0;
}

/* "BOUNDING EFFECTIVE INHERITABLE PERMITTED AMBIENT", hex */
static int parse_caps(struct agent_process *p, char *s)
{
	int n = s ? sscanf(s, "%llx %llx %llx %llx %llx", &p->caps[0], &p->caps[1], &p->caps[2],
			   &p->caps[3], &p->caps[4]) : 0;

	free(s);
	if (n != 5)
		return -1;
	p->has_caps = true;
	return 0;
}

/* "MS_FLAGS:DATA:DEST" (TAG_TMPFS) or "MS_FLAGS:TAG:DEST" (TAG_SHARE), with
 * an absolute DEST */
static int check_mount_record(const char *s)
{
	const char *data = s ? strchr(s, ':') : NULL, *dest = data ? strchr(data + 1, ':') : NULL;

	return dest && dest[1] == '/' ? 0 : -1;
}

struct counts {
	size_t args, env, tmpfs, shares, file_shares, disk_shares, masked, readonly, sysctl, devices;
};

static int parse_group(struct agent_process *p, char *s)
{
	int r = p->n_gids < AGENT_MAX_GROUPS ? passwd_parse_id(s, &p->gids[p->n_gids]) : -1;

	free(s);
	if (r == 0)
		p->n_gids++;
	return r;
}

/* One propagation type, recursive or not: nothing else reaches mount(2). */
static int parse_root_propagation(struct agent_process *p, char *s)
{
	unsigned long long v;
	unsigned long type;
	int r = parse_ull(s, &v);

	free(s);
	type = (unsigned long)v & ~(unsigned long)MS_REC;
	if (r < 0 || v != (unsigned long)v ||
	    (type != MS_PRIVATE && type != MS_SHARED && type != MS_SLAVE && type != MS_UNBINDABLE))
		return -1;
	p->root_propagation = (unsigned long)v;
	return 0;
}

static int parse_oom_score_adj(struct agent_process *p, char *s)
{
	char *end = NULL;
	long v = s ? strtol(s, &end, 10) : 0;
	int r = s && *s && !*end && v >= -1000 && v <= 1000 ? 0 : -1;

	free(s);
	p->oom_score_adj = (int)v;
	p->has_oom_score_adj = r == 0;
	return r;
}

/* "KEY=VALUE": a key of the names /proc/sys has, nothing that leaves it. */
static int check_sysctl(const char *s)
{
	const char *eq = s ? strchr(s, '=') : NULL;
	size_t key = eq ? (size_t)(eq - s) : 0;

	if (!key || s[0] == '.' || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789_.-") != key)
		return -1;
	return memmem(s, key, "..", 2) ? -1 : 0;
}

/* "TYPE MAJOR MINOR MODE UID GID PATH" with PATH below /dev/. */
static int check_device(const char *s)
{
	char type, path[256];
	unsigned major, minor, mode, uid, gid;

	if (!s || sscanf(s, "%c %u %u %o %u %u %255s", &type, &major, &minor, &mode, &uid, &gid,
			 path) != 7 || !strchr("cbp", type) || mode > 07777)
		return -1;
	/* PATH is the last word, whole: no blanks in it. */
	return strncmp(path, "/dev/", 5) || strstr(path, "..") || strcmp(path, strrchr(s, ' ') + 1)
		       ? -1 : 0;
}

/* One rule more, in order, within the spec's bound. */
static int parse_dev_rule(struct agent_process *p, char *s)
{
	struct dev_rule r, *more;
	int ok = p->n_dev_rules < DEVCG_MAX_RULES && devcg_rule_parse(s, &r) == 0;

	free(s);
	if (!ok)
		return -1;
	more = realloc(p->dev_rules, (p->n_dev_rules + 1) * sizeof(*more));
	if (!more)
		return -1;
	more[p->n_dev_rules++] = r;
	p->dev_rules = more;
	return 0;
}

/* "1" or "0", nothing else. */
static int parse_flag(bool *out, char *s)
{
	int r = s && (!strcmp(s, "1") || !strcmp(s, "0")) ? 0 : -1;

	*out = r == 0 && s[0] == '1';
	free(s);
	return r;
}

/* The names the agent binds TAG_ETC_* onto, in tag order. */
static const char *const etc_names[3] = { "hosts", "hostname", "resolv.conf" };

static int set_etc_file(struct agent_process *p, unsigned tag, char *s)
{
	char **slot = &p->etc_files[tag - TAG_ETC_HOSTS];

	if (!s || strlen(s) > AGENT_ETC_FILE_MAX) {
		free(s);
		return -1;
	}
	free(*slot);
	*slot = s;
	return 0;
}

static int push_path(char ***v, size_t *n, char *s)
{
	return s && s[0] == '/' ? push(v, n, s) : (free(s), -1);
}

/* "QUOTA PERIOD": the kernel's bounds of cpu.max (1 ms..1 s periods, a
 * quota of at least 1 ms, below its overflow). */
static int parse_cpu_max(struct agent_process *p, char *s)
{
	unsigned long long q, per;
	char *space = s ? strchr(s, ' ') : NULL;
	int r = -1;

	if (space) {
		*space = '\0';
		r = parse_ull(s, &q) < 0 || parse_ull(space + 1, &per) < 0 || q < 1000 ||
				    q > (1ULL << 44) || per < 1000 || per > 1000000
			    ? -1 : 0;
	}
	free(s);
	if (r == 0) {
		p->cpu_quota = q;
		p->cpu_period = per;
	}
	return r;
}

/* "MS_FLAGS:DEST", once: flags of the read-only, nosuid, nodev, noexec kind
 * only, DEST absolute without "..". */
static int parse_cgroup_mount(struct agent_process *p, char *s)
{
	const unsigned long allowed = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char *colon = s ? strchr(s, ':') : NULL;
	unsigned long long flags;
	int r = -1;

	if (colon && !p->cgroup_mount) {
		*colon = '\0';
		r = parse_ull(s, &flags) < 0 || (flags & ~(unsigned long long)allowed) ||
				    colon[1] != '/' || strstr(colon + 1, "..") ||
				    strlen(colon + 1) > 255
			    ? -1 : 0;
	}
	if (r == 0) {
		p->cgroup_mount = strdup(colon + 1);
		p->cgroup_mount_flags = (unsigned long)flags;
		r = p->cgroup_mount ? 0 : -1;
	}
	free(s);
	return r;
}

/* How many EROFS disks the image is, once: 1..AGENT_ROOT_DISKS_MAX. */
static int parse_root_disks(struct agent_process *p, char *s)
{
	unsigned long long v;
	int r = !p->root_disks && s && parse_ull(s, &v) == 0 && v >= 1 &&
			v <= AGENT_ROOT_DISKS_MAX ? 0 : -1;

	free(s);
	if (r == 0)
		p->root_disks = (unsigned)v;
	return r;
}

static int apply_record(struct agent_process *p, unsigned tag, char *s, struct counts *n)
{
	switch (tag) {
	case TAG_MASKED: return push_path(&p->masked, &n->masked, s);
	case TAG_RO_PATH: return push_path(&p->readonly_paths, &n->readonly, s);
	case TAG_TMPFS: return check_mount_record(s) < 0 ? (free(s), -1) : push(&p->tmpfs, &n->tmpfs, s);
	case TAG_SHARE:
	case TAG_SHARE_FILE:
	case TAG_SHARE_DISK:
		if (check_mount_record(s) < 0 ||
		    n->shares + n->file_shares + n->disk_shares >= AGENT_SHARES_MAX)
			return free(s), -1;
		return tag == TAG_SHARE ? push(&p->shares, &n->shares, s)
		       : tag == TAG_SHARE_FILE ? push(&p->file_shares, &n->file_shares, s)
					       : push(&p->disk_shares, &n->disk_shares, s);
	case TAG_RLIMIT: return parse_rlimit(p, s);
	case TAG_CAPS: return parse_caps(p, s);
	case TAG_NO_NEW_PRIVS: p->no_new_privs = s && !strcmp(s, "1"); free(s); return 0;
	case TAG_MEMORY: { int r = parse_ull(s, &p->memory); free(s); return r; }
	case TAG_PIDS: { int r = parse_ull(s, &p->pids); free(s); return r; }
	case TAG_CPU_MAX: return parse_cpu_max(p, s);
	case TAG_CGROUP_MOUNT: return parse_cgroup_mount(p, s);
	case TAG_ROOT_DISKS: return parse_root_disks(p, s);
	case TAG_ARG: return push(&p->argv, &n->args, s);
	case TAG_ENV: return push(&p->envp, &n->env, s);
	case TAG_CWD: free(p->cwd); p->cwd = s; return s && s[0] == '/' ? 0 : -1;
	case TAG_HOSTNAME: free(p->hostname); p->hostname = s; return s ? 0 : -1;
	case TAG_UID: { int r = passwd_parse_id(s, &p->uid); free(s); return r; }
	case TAG_GID: { int r = passwd_parse_id(s, &p->gid); free(s); return r; }
	case TAG_TTY: p->tty = s && !strcmp(s, "1"); free(s); return 0;
	case TAG_READONLY: p->readonly = s && !strcmp(s, "1"); free(s); return 0;
	case TAG_HOLD: p->hold = s && !strcmp(s, "1"); free(s); return 0;
	case TAG_DETACH: p->detach = s && !strcmp(s, "1"); free(s); return 0;
	case TAG_TOOL: p->tool = s && !strcmp(s, "1"); free(s); return 0;
	case TAG_INIT: return parse_flag(&p->init, s);
	case TAG_GROUP: return parse_group(p, s);
	case TAG_OOM_SCORE_ADJ: return parse_oom_score_adj(p, s);
	case TAG_SYSCTL: return check_sysctl(s) < 0 ? (free(s), -1) : push(&p->sysctl, &n->sysctl, s);
	case TAG_DEVICE: return check_device(s) < 0 ? (free(s), -1) : push(&p->devices, &n->devices, s);
	case TAG_DEV_RULE: return parse_dev_rule(p, s);
	case TAG_DEV_ALLOW_ALL: p->devices_allow_all = s && !strcmp(s, "1"); free(s); return 0;
	case TAG_ROOT_PROPAGATION: return parse_root_propagation(p, s);
	case TAG_USER: free(p->user); p->user = s; return s && *s ? 0 : -1;
	case TAG_ETC_HOSTS:
	case TAG_ETC_HOSTNAME:
	case TAG_ETC_RESOLV: return set_etc_file(p, tag, s);
	case TAG_NET_MAC:
	case TAG_NET_ADDR:
	case TAG_NET_GATEWAY:
	case TAG_NET_MTU: { int r = agent_net_record(&p->net, tag, s); free(s); return r; }
	default: free(s); return -1;
	}
}

void agent_process_free(struct agent_process *p)
{
	size_t i;

	for (i = 0; p->argv && p->argv[i]; i++)
		free(p->argv[i]);
	for (i = 0; p->envp && p->envp[i]; i++)
		free(p->envp[i]);
	for (i = 0; p->tmpfs && p->tmpfs[i]; i++)
		free(p->tmpfs[i]);
	for (i = 0; p->shares && p->shares[i]; i++)
		free(p->shares[i]);
	for (i = 0; p->file_shares && p->file_shares[i]; i++)
		free(p->file_shares[i]);
	for (i = 0; p->disk_shares && p->disk_shares[i]; i++)
		free(p->disk_shares[i]);
	for (i = 0; p->masked && p->masked[i]; i++)
		free(p->masked[i]);
	for (i = 0; p->readonly_paths && p->readonly_paths[i]; i++)
		free(p->readonly_paths[i]);
	for (i = 0; p->sysctl && p->sysctl[i]; i++)
		free(p->sysctl[i]);
	for (i = 0; p->devices && p->devices[i]; i++)
		free(p->devices[i]);
	free(p->sysctl);
	free(p->devices);
	free(p->dev_rules);
	free(p->masked);
	free(p->readonly_paths);
	free(p->argv);
	free(p->envp);
	free(p->tmpfs);
	free(p->shares);
	free(p->file_shares);
	free(p->disk_shares);
	free(p->seccomp);
	free(p->cwd);
	free(p->hostname);
	free(p->user);
	for (i = 0; i < 3; i++)
		free(p->etc_files[i]);
	free(p->cgroup_mount);
	memset(p, 0, sizeof(*p));
}

static int config_parse(const unsigned char *buf, size_t len, struct agent_process *p)
{
	size_t off = AGENT_MAGIC_LEN;
	struct counts n_of = { 0 };
	const unsigned char *data;
	unsigned tag;
	uint32_t n;
	int r;

	if (len < AGENT_MAGIC_LEN || memcmp(buf, AGENT_MAGIC, AGENT_MAGIC_LEN))
		return -1;
	while ((r = agent_record_next(buf, len, &off, &tag, &data, &n)) > 0) {
		if (tag == TAG_SECCOMP) {
			if (parse_seccomp(p, data, n) < 0)
				return -1;
		} else if (apply_record(p, tag, dup_field(data, n), &n_of) < 0) {
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (!n_of.args || agent_net_check(&p->net) < 0)
		return -1;
	if (!p->envp && push(&p->envp, &n_of.env, strdup("PATH=/usr/local/sbin:/usr/local/bin:"
						       "/usr/sbin:/usr/bin:/sbin:/bin")) < 0)
		return -1;
	if (!p->cwd)
		p->cwd = strdup("/");
	return p->cwd ? 0 : -1;
}

int agent_config_parse(const unsigned char *buf, size_t len, struct agent_process *p)
{
	memset(p, 0, sizeof(*p));
	if (config_parse(buf, len, p) == 0)
		return 0;
	agent_process_free(p);
	return -1;
}

static void read_config(struct agent_process *p)
{
	static unsigned char buf[AGENT_CONFIG_MAX];
	char dev[64];
	ssize_t n;
	int fd;

	if (find_disk(AGENT_DISK_CONFIG, dev, sizeof(dev)) < 0) {
		say("no disk with serial %s appeared", AGENT_DISK_CONFIG);
		agent_report(125);
	}
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(dev);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		die("read the container's config");
	if (agent_config_parse(buf, (size_t)n, p) < 0) {
		say("the container's config is malformed");
		agent_report(125);
	}
}

static void mount_or_die(const char *src, const char *dst, const char *type, unsigned long fl,
			 const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, fl, data) < 0)
		die(dst);
}

/* The container's /dev, as docker makes it: the standard nodes only (not the
 * guest's disks and consoles), its own devpts, shm and mqueue. */
static void make_dev(void)
{
	static const struct { const char *name; unsigned major, minor; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	};
	char path[64];
	size_t i;

	mount_or_die("tmpfs", "/root/dev", "tmpfs", MS_NOSUID, "mode=0755,size=65536k");
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "/root/dev/%s", nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0 ||
		    chmod(path, 0666) < 0)
			die(path);
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "/root/dev/%s", links[i][1]);
		if (symlink(links[i][0], path) < 0)
			die(path);
	}
	/* runc's /dev/core, where the kernel has /proc/kcore (docker masks it). */
	if (access("/proc/kcore", F_OK) == 0 && symlink("/proc/kcore", "/root/dev/core") < 0)
		die("/root/dev/core");
	mount_or_die("devpts", "/root/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620");
	mount_or_die("shm", "/root/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     "mode=1777,size=65536k");
	mount_or_die("mqueue", "/root/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     NULL);
}

/* The image's EROFS disks below (one per layer, or a chain of layers at the
 * bottom), the writable layer (its own disk, so changes survive a stop, or a
 * tmpfs) above, an overlay as the container's root: lowerdir lists the disks
 * top first, so overlay honours each layer's whiteouts and opaque dirs. */
static void mount_root(const struct agent_process *p)
{
	unsigned i, n = p->root_disks ? p->root_disks : 1;
	char dev[64], lower[24], upper[64];
	char opts[AGENT_ROOT_DISKS_MAX * 16 + 64];
	size_t off;

	for (i = 0; i < n; i++) {
		char serial[32];

		if (i == 0)
			snprintf(serial, sizeof(serial), "%s", AGENT_DISK_ROOT);
		else
			snprintf(serial, sizeof(serial), "%s-%u", AGENT_DISK_ROOT, i);
		if (find_disk(serial, dev, sizeof(dev)) < 0) {
			say("no disk with serial %s appeared", serial);
			agent_report(125);
		}
		snprintf(lower, sizeof(lower), "/lower%u", i);
		mount_or_die(dev, lower, "erofs", MS_RDONLY, NULL);
	}
	off = (size_t)snprintf(opts, sizeof(opts), "lowerdir=");
	for (i = n; i-- > 0;)
		off += (size_t)snprintf(opts + off, sizeof(opts) - off, "/lower%u%s", i,
					i ? ":" : "");
	snprintf(opts + off, sizeof(opts) - off, ",upperdir=/rw/upper,workdir=/rw/work");
	if (find_disk(AGENT_DISK_UPPER, upper, sizeof(upper)) == 0)
		mount_or_die(upper, "/rw", "ext4", 0, NULL);
	else
		mount_or_die("tmpfs", "/rw", "tmpfs", 0, "mode=0755");
	mkdir("/rw/upper", 0755);
	mkdir("/rw/work", 0755);
	/* Read-write first: the mount points below may need creating. */
	mount_or_die("overlay", "/root", "overlay", 0, opts);
	/* In the order of runc's default config.json: proc, /dev and below, sys. */
	mount_or_die("proc", "/root/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	make_dev();
	/* Read-only as docker has it, unless the container may administer the system. */
	mount_or_die("sysfs", "/root/sys", "sysfs",
		     MS_NOSUID | MS_NODEV | MS_NOEXEC |
			     (p->has_caps && !(p->caps[0] >> CAP_SYS_ADMIN & 1) ? MS_RDONLY : 0),
		     NULL);
}

/* The container's /etc/hosts, hostname and resolv.conf, written into a
 * tmpfs of the guest's own (outside the container's root); fds[i] is the
 * file, O_PATH, or -1 where the config had none. */
static void write_etc_files(const struct agent_process *p, int fds[3])
{
	char path[64];
	size_t i;

	for (i = 0; i < 3; i++)
		fds[i] = -1;
	if (!p->etc_files[0] && !p->etc_files[1] && !p->etc_files[2])
		return;
	mount_or_die("tmpfs", "/etc-files", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     "mode=0755,size=1m");
	for (i = 0; i < 3; i++) {
		int fd;
		size_t len;

		if (!p->etc_files[i])
			continue;
		snprintf(path, sizeof(path), "/etc-files/%s", etc_names[i]);
		len = strlen(p->etc_files[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, p->etc_files[i], len) != (ssize_t)len || close(fd) < 0)
			die(path);
		fds[i] = open(path, O_PATH | O_CLOEXEC);
		if (fds[i] < 0)
			die(path);
	}
}

/* Bind them onto /etc/NAME inside the container's root (its symlinks
 * resolve there), making the mount points as runc does. */
static void bind_etc_files(int fds[3])
{
	char src[64], dst[64];
	size_t i;

	for (i = 0; i < 3; i++) {
		int fd;

		if (fds[i] < 0)
			continue;
		snprintf(src, sizeof(src), "/proc/self/fd/%d", fds[i]);
		snprintf(dst, sizeof(dst), "/etc/%s", etc_names[i]);
		mkdir("/etc", 0755);
		fd = open(dst, O_WRONLY | O_CREAT | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		/* A bind keeps its source's nosuid,nodev,noexec: clear them, as
		 * docker's binds of these files have none. */
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0 ||
		    mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND, NULL) < 0)
			die(dst);
		close(fds[i]);
		fds[i] = -1;
	}
}

/* The initramfs is rootfs, which cannot be pivoted away: move the new root
 * over it and chroot, as switch_root does. */
static void enter_root(void)
{
	if (chdir("/root") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		die("switch to the container's root");
}

static int mkdir_parents(const char *path);

/* A single host file (TAG_SHARE_FILE): the virtio-fs device TAG is mounted on
 * a directory of the container's /dev (the guest's own tmpfs, in no image
 * layer), its one file is bound on dest (made empty first when missing, as
 * docker's file binds; the bind keeps the mount's flags), and the directory
 * goes again. */
#define SHARE_STAGING "/dev/.isobox-share"
static int mount_shared_file(const char *tag, const char *dest, unsigned long flags)
{
	char *parent = strdup(dest);
	int r = -1, made, e;

	if (!parent)
		return -1;
	*strrchr(parent, '/') = '\0';
	if (*parent && mkdir_parents(parent) < 0)
		goto out;
	made = open(dest, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (made < 0)
		goto out;
	close(made);
	if (mkdir(SHARE_STAGING, 0700) < 0)
		goto out;
	if (mount(tag, SHARE_STAGING, "virtiofs", flags, NULL) == 0) {
		r = mount(SHARE_STAGING "/" AGENT_SHARED_FILE, dest, NULL, MS_BIND, NULL);
		e = errno;
		umount2(SHARE_STAGING, MNT_DETACH);
		errno = e;
	}
	e = errno;
	rmdir(SHARE_STAGING);
	errno = e;
out:
	free(parent);
	return r;
}

/* Block volumes (TAG_SHARE_DISK "MS_FLAGS:SERIAL:DEST"): each disk's device
 * number, looked up by serial in the guest's /sys before the root switch. */
static void find_disk_shares(struct agent_process *p)
{
	size_t i;

	for (i = 0; p->disk_shares && p->disk_shares[i]; i++) {
		char serial[64], dev[64];
		const char *arg = strchr(p->disk_shares[i], ':') + 1;
		struct stat st;

		snprintf(serial, sizeof(serial), "%.*s", (int)strcspn(arg, ":"), arg);
		if (find_disk(serial, dev, sizeof(dev)) < 0 || stat(dev, &st) < 0 ||
		    !S_ISBLK(st.st_mode)) {
			say("no disk with serial %s appeared", serial);
			agent_report(125);
		}
		p->disk_devs[i] = st.st_rdev;
	}
}

/* ...and mounted (ext4, the record's flags) on DEST in the container's root,
 * through a node made for the mount alone in its /dev (the guest's tmpfs).
 * A read-only one is a read-only disk too (the VMM's): the host enforces it. */
#define DISK_STAGING "/dev/.isobox-volume"
static void mount_disk_shares(const struct agent_process *p)
{
	size_t i;

	for (i = 0; p->disk_shares && p->disk_shares[i]; i++) {
		const char *s = p->disk_shares[i];
		const char *dest = strchr(strchr(s, ':') + 1, ':') + 1;
		unsigned long flags = strtoul(s, NULL, 10);
		int r, e;

		if (mkdir_parents(dest) < 0 || mknod(DISK_STAGING, S_IFBLK | 0600,
						     p->disk_devs[i]) < 0)
			die(dest);
		/* a read-only disk (the host's :ro) cannot replay the journal */
		r = mount(DISK_STAGING, dest, "ext4", flags, flags & MS_RDONLY ? "noload" : NULL);
		e = errno;
		unlink(DISK_STAGING);
		errno = e;
		if (r < 0)
			die(dest);
	}
}

/* TAG_TMPFS ("MS_FLAGS:DATA:DEST", --tmpfs), TAG_SHARE ("MS_FLAGS:TAG:DEST",
 * a host directory over virtio-fs) or TAG_SHARE_FILE (type "file") records,
 * inside the container's root and before it turns read-only. */
static void mount_records(char **records, const char *type)
{
	size_t i;

	for (i = 0; records && records[i]; i++) {
		char *copy = strdup(records[i]), *arg, *dest;
		unsigned long flags;
		int r;

		if (!copy)
			die("strdup");
		arg = strchr(copy, ':');
		*arg++ = '\0';
		dest = strchr(arg, ':');
		*dest++ = '\0';
		flags = strtoul(copy, NULL, 10);
		if (!strcmp(type, "file")) {
			r = mount_shared_file(arg, dest, flags);
		} else {
			if (mkdir_parents(dest) < 0)
				die(dest);
			if (!strcmp(type, "tmpfs"))
				r = mount("tmpfs", dest, "tmpfs", flags, arg);
			else
				r = mount(arg, dest, type, flags, NULL);
		}
		if (r < 0 && errno == ENODEV && strcmp(type, "tmpfs")) {
			say("%s: the guest kernel's initramfs has no virtiofs module: "
			    "run `isobox kernel install` again", dest);
			agent_report(125);
		}
		if (r < 0)
			die(dest);
		free(copy);
	}
}

/* linux.devices, in the container's /dev (the guest kernel's devices). */
static void make_devices(const struct agent_process *p)
{
	size_t i;

	for (i = 0; p->devices && p->devices[i]; i++) {
		char type, path[256], dir[256];
		unsigned major, minor, mode, uid, gid;
		mode_t fmt;

		sscanf(p->devices[i], "%c %u %u %o %u %u %255s", &type, &major, &minor, &mode, &uid,
		       &gid, path);
		fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		mkdir_parents(dir);
		unlink(path);
		if (mknod(path, fmt | (mode & 07777), makedev(major, minor)) < 0 ||
		    chmod(path, mode & 07777) < 0 || chown(path, uid, gid) < 0)
			die(path);
	}
}

/* linux.sysctl: the guest kernel is the container's own, so all apply. */
static void write_sysctls(const struct agent_process *p)
{
	size_t i;

	for (i = 0; p->sysctl && p->sysctl[i]; i++) {
		const char *eq = strchr(p->sysctl[i], '=');
		char path[300];
		int fd, n = snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(eq - p->sysctl[i]),
				     p->sysctl[i]);
		bool ok;

		for (char *c = path + 10; c < path + n; c++)
			if (*c == '.')
				*c = '/';
		fd = open(path, O_WRONLY | O_CLOEXEC);
		ok = fd >= 0 && write(fd, eq + 1, strlen(eq + 1)) == (ssize_t)strlen(eq + 1);
		if (fd >= 0)
			close(fd);
		if (!ok)
			die(path);
	}
}

static bool under(const char *path, const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	return !prefix || (!strncmp(path, prefix, n) && (path[n] == '/' || !path[n]));
}

/* docker's maskedPaths and readonlyPaths, inside the container's root: all
 * of them, or those under prefix. -1 with errno and *failed on failure. */
static int protect_paths_under(const struct agent_process *p, const char *prefix,
			       const char **failed)
{
	struct stat st;
	size_t i;

	for (i = 0; p->masked && p->masked[i]; i++) {
		const char *path = *failed = p->masked[i];

		if (!under(path, prefix) || stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0
					: mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
			return -1;
	}
	for (i = 0; p->readonly_paths && p->readonly_paths[i]; i++) {
		const char *path = *failed = p->readonly_paths[i];

		if (!under(path, prefix) || stat(path, &st) < 0)
			continue;
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC, NULL) < 0)
			return -1;
	}
	return 0;
}

static void protect_paths(const struct agent_process *p)
{
	const char *failed = NULL;

	if (protect_paths_under(p, NULL, &failed) < 0)
		die(failed);
}

int agent_container_proc(const struct agent_process *p)
{
	const char *failed;

	/* Private first: with a shared root the new /proc would propagate back
	 * over the agent's, which must keep seeing the guest's processes. It
	 * goes over the guest's (whose masks stay listed beneath it): unmounted
	 * and mounted again, /proc would move after the spec's later mounts. */
	if (mount(NULL, "/proc", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	return protect_paths_under(p, "/proc", &failed);
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? write(fd, text, strlen(text)) : -1;

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The app's own stdio, the consoles it was handed, stays open to it
 * (`echo >/dev/stderr` reopens it), as its pipes are in process mode. */
static size_t console_rules(const int con[2], struct dev_rule *out)
{
	struct stat st;
	size_t n = 0;
	int i;

	for (i = 0; i < 2; i++)
		if (fstat(con[i], &st) == 0 && S_ISCHR(st.st_mode))
			out[n++] = (struct dev_rule){ 'c', (long)major(st.st_rdev),
						      (long)minor(st.st_rdev), "rw", false };
	return n;
}

/* linux.resources.devices and docker's defaults as a BPF device program on
 * the container's cgroup, the same program the process backend attaches on
 * a cgroup v2 host: the guest's devices are the guest kernel's, but a node
 * made with CAP_MKNOD would still reach its disks and consoles. */
static void apply_device_rules(const struct agent_process *p, const int con[2])
{
	struct dev_rule *rules;
	char log[256];
	size_t n;

	if (p->devices_allow_all)
		return;
	rules = calloc(p->n_dev_rules + 2, sizeof(*rules));
	if (!rules)
		die("apply the container's device rules");
	if (p->n_dev_rules)
		memcpy(rules, p->dev_rules, p->n_dev_rules * sizeof(*rules));
	n = p->n_dev_rules + console_rules(con, rules + p->n_dev_rules);
	if (devcg_attach(AGENT_CGROUP, rules, n, log, sizeof(log)) < 0) {
		say("device rules: %s", log);
		die("apply the container's device rules");
	}
	free(rules);
}

/* Every controller the guest kernel has, in the container's cgroup, as
 * runc enables them: its files are those a docker container sees. */
static void enable_controllers(void)
{
	char buf[512], *tok, *save;
	int fd = open("/sys/fs/cgroup/cgroup.controllers", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		char one[64];

		snprintf(one, sizeof(one), "+%.60s", tok);
		write_text("/sys/fs/cgroup/cgroup.subtree_control", one);
	}
}

/* The container's cgroup in the guest: the limits of -m, --cpus and
 * --pids-limit and the device rules hold for the app and its exec'd
 * processes, not for PID 1; con is the app's stdout and stderr consoles.
 * Made in the initramfs's /sys, which the container's root then hides:
 * PID 1 keeps it at AGENT_CGROUP_FD. */
static void setup_cgroup(const struct agent_process *p, const int con[2])
{
	char v[48];
	int fd = -1;

	if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0 ||
	    (enable_controllers(), mkdir("/sys/fs/cgroup/container", 0755) < 0 && errno != EEXIST) ||
	    (fd = open("/sys/fs/cgroup/container", O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0 ||
	    dup3(fd, AGENT_CGROUP_FD, O_CLOEXEC) < 0) {
		if (p->memory || p->pids || p->cpu_quota || !p->devices_allow_all)
			die("set up the container's cgroup");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	apply_device_rules(p, con);
	snprintf(v, sizeof(v), "%llu", p->memory);
	if (p->memory && write_text(AGENT_CGROUP "/memory.max", v) < 0)
		die("set the memory limit");
	snprintf(v, sizeof(v), "%llu", p->pids);
	if (p->pids && write_text(AGENT_CGROUP "/pids.max", v) < 0)
		die("set the pids limit");
	snprintf(v, sizeof(v), "%llu %llu", p->cpu_quota, p->cpu_period);
	if (p->cpu_quota && write_text(AGENT_CGROUP "/cpu.max", v) < 0)
		die("set the cpu limit");
}

/* The app's view of its cgroup (the spec's "cgroup" mount, docker's
 * /sys/fs/cgroup): the container's own, with that mount's flags. */
static void mount_cgroup_view(const struct agent_process *p)
{
	if (!p->cgroup_mount || access(AGENT_CGROUP, F_OK) < 0)
		return;
	if (mkdir_parents(p->cgroup_mount) < 0 ||
	    mount(AGENT_CGROUP, p->cgroup_mount, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, p->cgroup_mount, NULL, MS_BIND | MS_REMOUNT | p->cgroup_mount_flags,
		  NULL) < 0)
		die(p->cgroup_mount);
}

void agent_report_oom(int status)
{
	char buf[512], *k;
	int fd = status == 137 ? open(AGENT_CGROUP "/memory.events", O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	k = strstr(buf, "oom_kill ");
	if (k && atoi(k + 9) > 0 && ioperm(AGENT_OOM_PORT, 1, 1) == 0)
		outb(1, AGENT_OOM_PORT);
}

/* mkdir -p, as docker creates a missing working directory. */
static int mkdir_parents(const char *path)
{
	char buf[4096];
	size_t i;

	if (strlen(path) >= sizeof(buf))
		return -1;
	strcpy(buf, path);
	for (i = 1; buf[i]; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		mkdir(buf, 0755);
		buf[i] = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static void raw_console(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
}

/* A pty of the guest for the app, its slave as the app's stdio. */
static int open_app_pty(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave;
	char name[64];

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)))
		die("allocate the container's terminal");
	slave = open(name, O_RDWR | O_NOCTTY);
	if (slave < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
		die(name);
	close(slave);
	return master;
}

/* hvc0 carries stdin and stdout, hvc1 stderr, hvc2 the VMM's control lines,
 * hvc3 the exec sessions; all raw, so the bytes pass untouched. Opened from
 * the guest's own /dev, before the container's replaces it. */
static void open_consoles(int con[4])
{
	char name[16];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "/dev/hvc%d", i);
		con[i] = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (con[i] < 0)
			die(name);
		raw_console(con[i]);
	}
}

/* Without a terminal stdin goes through a pipe that init feeds, so the app
 * can see its end; with one, the app gets a pty of the guest. */
static void setup_stdio(const struct agent_process *p, const int con[4], struct agent_io *io)
{
	int out = con[0], err = con[1];
	int pipefd[2];

	io->stdin_src = out;
	io->ctl = con[2];
	io->exec_chan = con[3];
	if (p->tty) {
		io->pty = open_app_pty();
		io->stdin_dst = io->out_src = io->pty;
		io->out_dst = out;
		close(err);
	} else {
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			die("pipe");
		if (dup2(pipefd[0], 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			die("dup2");
		close(pipefd[0]);
		close(err);
		io->stdin_dst = pipefd[1];
		io->out_src = io->out_dst = io->pty = -1;
	}
	if (ioperm(AGENT_READY_PORT, 1, 1) == 0)
		outb(1, AGENT_READY_PORT);
}

void agent_boot(struct agent_process *p, struct agent_io *io)
{
	int con[4], etc_fds[3];

	mount_or_die("proc", "/proc", "proc", 0, NULL);
	mount_or_die("sysfs", "/sys", "sysfs", 0, NULL);
	mount_or_die("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	load_modules();
	/* The guest's network is the container's own: its loopback up, as runc's. */
	if (loopback_up() < 0)
		say("bring up lo: %s", strerror(errno));
	read_config(p);
	{
		const char *what = NULL;

		if (agent_net_setup(&p->net, &what) < 0)
			die(what);
	}
	mount_root(p);
	find_disk_shares(p);
	open_consoles(con);
	write_etc_files(p, etc_fds);
	setup_cgroup(p, con);
	enter_root();
	bind_etc_files(etc_fds);
	mount_records(p->tmpfs, "tmpfs");
	mount_records(p->shares, "virtiofs");
	mount_records(p->file_shares, "file");
	mount_disk_shares(p);
	make_devices(p);
	write_sysctls(p);
	mount_cgroup_view(p);
	protect_paths(p);
	/* A missing working directory is made before a read-only root would
	 * refuse it, as runc makes it. */
	if (access(p->cwd, F_OK) < 0)
		mkdir_parents(p->cwd);
	if (p->readonly && mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		die("make the root read-only");
	if (p->root_propagation && mount(NULL, "/", NULL, p->root_propagation, NULL) < 0)
		die("set the root's propagation");
	setup_stdio(p, con, io);
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		die("sethostname");
	if (chdir(p->cwd) < 0 && (mkdir_parents(p->cwd), chdir(p->cwd) < 0))
		die(p->cwd);
	/* The user is taken by the app's process only: PID 1 stays root, to
	 * report the status and power the VM off. */
}
