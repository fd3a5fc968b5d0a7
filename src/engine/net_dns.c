/* Names on user networks: aardvark-dns (podman's), one daemon per network
 * namespace of the host side, driven as netavark drives it: a config
 * directory with a file per network (first line: the gateway it listens on;
 * then "ID IPV4 IPV6 NAMES" lines), SIGHUP to reload, stopped when the last
 * entry goes. The directory is ROOT/aardvark-dns/<inode of the netns>, so the
 * daemons of two namespaces (two test runs) never mix. */
#include "engine/network_store.h"

#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define AARDVARK_DEFAULT "/usr/lib/podman/aardvark-dns"
#define DNS_READY_MS 3000

static const char *aardvark_path(void)
{
	const char *p = getenv("ISOBOX_AARDVARK_DNS");

	return p && *p ? p : AARDVARK_DEFAULT;
}

bool net_dns_available(void)
{
	return access(aardvark_path(), X_OK) == 0;
}

static char *dns_dir(const char *root)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		st.st_ino = 0;
	return xasprintf("%s/aardvark-dns/%llu", root, (unsigned long long)st.st_ino);
}

static pid_t daemon_pid(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/aardvark.pid", dir), *text = NULL;
	long pid;

	if (read_file(path, 64, &text, NULL, &(struct err){ 0 }) < 0)
		return 0;
	pid = strtol(text, NULL, 10);
	return pid > 1 && kill((pid_t)pid, 0) == 0 ? (pid_t)pid : 0;
}

static int daemon_start(const char *dir, struct err *err)
{
	_cleanup_free_ char *pidfile = xasprintf("%s/aardvark.pid", dir);
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status, i;
	pid_t pid;

	unlink(pidfile);
	pid = fork();
	if (pid < 0)
		return err_sys(err, errno, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		setsid();
		execl(aardvark_path(), "aardvark-dns", "--config", dir, "-p", "53", "run",
		      (char *)NULL);
		_exit(127);
	}
	/* It forks itself into the background and writes its pid file. */
	for (i = 0; i < 300 && !daemon_pid(dir); i++) {
		if (waitpid(pid, &status, WNOHANG) == pid && (!WIFEXITED(status) ||
							      WEXITSTATUS(status))) {
			return err_set(err, "aardvark-dns exited (%d) before it served",
				       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		nanosleep(&ts, NULL);
	}
	waitpid(pid, &status, WNOHANG);
	if (!daemon_pid(dir))
		return err_set(err, "aardvark-dns did not start");
	return 0;
}

/* One A query for name to gateway:53; true when an answer with a record
 * comes back within 20 ms. */
static bool dns_answers(int sock, const char *name)
{
	unsigned char q[300] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	unsigned char reply[512];
	size_t n = 12;
	const char *label = name;
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	ssize_t got;

	while (*label && n + 64 < sizeof(q) - 5) {
		size_t len = strcspn(label, ".");

		if (len == 0 || len > 63)
			return false;
		q[n++] = (unsigned char)len;
		memcpy(q + n, label, len);
		n += len;
		label += len + (label[len] == '.');
	}
	q[n++] = 0;
	q[n++] = 0, q[n++] = 1;       /* type A */
	q[n++] = 0, q[n++] = 1;       /* class IN */
	if (send(sock, q, n, 0) < 0 || poll(&pfd, 1, 20) <= 0)
		return false;
	got = recv(sock, reply, sizeof(reply), 0);
	return got >= 12 && reply[0] == 0x12 && reply[1] == 0x34 && (reply[6] | reply[7]);
}

/* aardvark-dns rebinds its sockets when it reloads, and binds them a moment
 * after it wrote its pid file: a container must not start before its name
 * resolves, as docker's names do from the first instant. */
static int dns_wait_ready(const char *gateway, const char *names, struct err *err)
{
	_cleanup_free_ char *name = xasprintf("%.*s", (int)strcspn(names, ","), names);
	_cleanup_close_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	int waited;

	if (sock < 0 || inet_pton(AF_INET, gateway, &to.sin_addr) != 1 ||
	    connect(sock, (struct sockaddr *)&to, sizeof(to)) < 0)
		return err_sys(err, errno, "aardvark-dns on %s", gateway);
	for (waited = 0; waited < DNS_READY_MS; waited += 25) {
		if (dns_answers(sock, name))
			return 0;
		nanosleep(&ts, NULL);
	}
	return err_set(err, "aardvark-dns on %s:53 does not answer for %s after %d ms",
		       gateway, name, DNS_READY_MS);
}

/* Rewrite one network's file without cid's line; *left: entries kept. */
static void file_drop(const char *path, const char *cid, size_t *left)
{
	_cleanup_free_ char *text = NULL, *out = xstrdup(""), *prefix = xasprintf("%s ", cid);
	char *line, *save, *next;
	size_t n = 0, kept = 0;

	*left = 0;
	if (read_file(path, 1 << 20, &text, NULL, &(struct err){ 0 }) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		if (n > 0 && !strncmp(line, prefix, strlen(prefix)))
			continue;
		kept += n > 0;
		next = xasprintf("%s%s\n", out, line);
		free(out);
		out = next;
	}
	*left = kept;
	if (!kept)
		unlink(path);
	else
		write_file_replace(path, out, strlen(out), 0644, &(struct err){ 0 });
}

/* Running still: a zombie nobody has reaped yet (our PID 1 may be slow to)
 * holds no socket. */
static bool daemon_alive(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid);
	_cleanup_free_ char *stat = NULL;
	const char *paren;

	if (kill(pid, 0) < 0 || read_file(path, 4096, &stat, NULL, &(struct err){ 0 }) < 0)
		return false;
	paren = strrchr(stat, ')');
	return !paren || paren[1] != ' ' || paren[2] != 'Z';
}

/* After a change: reload the daemon, or stop it when nothing is left. */
static void daemon_sync(const char *dir, bool any)
{
	pid_t pid = daemon_pid(dir);

	if (pid)
		kill(pid, any ? SIGHUP : SIGTERM);
	if (!any) {
		_cleanup_free_ char *pidfile = xasprintf("%s/aardvark.pid", dir);
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		int i;

		/* Gone before we go on: a network made again at once (compose's
		 * down then up) gets the same gateway, whose port 53 the old
		 * daemon would still hold from the next one. */
		for (i = 0; pid && i < 200 && daemon_alive(pid); i++)
			nanosleep(&ts, NULL);
		if (pid && daemon_alive(pid))
			kill(pid, SIGKILL);
		unlink(pidfile);
	}
}

static bool dir_has_networks(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, "aardvark.pid"))
			return true;
	return false;
}

int net_dns_add(const char *root, const char *network, const char *gateway, const char *cid,
		const char *ip, const char *names, struct err *err)
{
	_cleanup_free_ char *dir = dns_dir(root), *lock = xasprintf("%s.lock", dir);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, network), *text = NULL;
	_cleanup_free_ char *out = NULL;
	_cleanup_close_ int fd = -1;
	size_t left;

	if (!net_dns_available())
		return 0;       /* no names, as without aardvark-dns in podman */
	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	fd = lock_path(lock, LOCK_EX, err);
	if (fd < 0)
		return -1;
	file_drop(path, cid, &left);
	if (read_file(path, 1 << 20, &text, NULL, &(struct err){ 0 }) < 0)
		text = xasprintf("%s\n", gateway);
	out = xasprintf("%s%s %s  %s\n", text, cid, ip, names);
	if (write_file_replace(path, out, strlen(out), 0644, err) < 0)
		return -1;
	if (daemon_pid(dir))
		daemon_sync(dir, true);
	else if (daemon_start(dir, err) < 0)
		return -1;
	return dns_wait_ready(gateway, names, err);
}

void net_dns_remove(const char *root, const char *cid)
{
	_cleanup_free_ char *base = xasprintf("%s/aardvark-dns", root);
	_cleanup_closedir_ DIR *d = opendir(base);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *dir = NULL, *lock = NULL;
		_cleanup_closedir_ DIR *nd = NULL;
		_cleanup_close_ int fd = -1;
		struct dirent *ne;
		bool changed = false;

		if (de->d_name[0] == '.' || strchr(de->d_name, '.'))
			continue;
		dir = xasprintf("%s/%s", base, de->d_name);
		lock = xasprintf("%s.lock", dir);
		fd = lock_path(lock, LOCK_EX, &(struct err){ 0 });
		nd = opendir(dir);
		while (nd && (ne = readdir(nd))) {
			_cleanup_free_ char *path = NULL, *text = NULL, *needle = NULL;
			size_t left;

			if (ne->d_name[0] == '.' || !strcmp(ne->d_name, "aardvark.pid"))
				continue;
			path = xasprintf("%s/%s", dir, ne->d_name);
			needle = xasprintf("\n%s ", cid);
			if (read_file(path, 1 << 20, &text, NULL, &(struct err){ 0 }) < 0 ||
			    !strstr(text, needle))
				continue;
			file_drop(path, cid, &left);
			changed = true;
		}
		if (changed)
			daemon_sync(dir, dir_has_networks(dir));
	}
}

void net_dns_remove_one(const char *root, const char *network, const char *cid)
{
	_cleanup_free_ char *dir = dns_dir(root), *lock = xasprintf("%s.lock", dir);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, network);
	_cleanup_close_ int fd = -1;
	size_t left;

	if (access(dir, F_OK) < 0)
		return;
	fd = lock_path(lock, LOCK_EX, &(struct err){ 0 });
	file_drop(path, cid, &left);
	daemon_sync(dir, dir_has_networks(dir));
}
