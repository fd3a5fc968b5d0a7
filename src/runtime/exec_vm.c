#include "runtime/exec_vm.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "guest/agent_proto.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/unixsock.h"
#include "runtime/vm_privileges.h"
#include "vmm/guest_config.h"
#include "vmm/vm_backend.h"

/* The VMM binds its socket just after the container counts as running. */
#define CONNECT_WAIT_MS 5000

/* Frames go out from two threads (stdin, window sizes): one at a time. */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;

static int send_all(int sock, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		/* A VMM that hung up is an error here, not a SIGPIPE. */
		ssize_t n = send(sock, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(int sock, unsigned type, const void *data, size_t len, struct err *err)
{
	uint8_t f[AGENT_FRAME_MAX];
	int r;

	agent_frame_put(f, type, 0, (uint32_t)len);
	memcpy(f + AGENT_FRAME_HDR, data, len);
	pthread_mutex_lock(&send_lock);
	r = send_all(sock, f, AGENT_FRAME_HDR + len);
	pthread_mutex_unlock(&send_lock);
	return r < 0 ? err_sys(err, errno, "send to the VM") : 0;
}

static int vm_connect(const char *dir, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/" VM_EXEC_SOCKET, dir);
	int waited = 0;

	for (;;) {
		int fd = unix_connect(path, err);

		if (fd >= 0 || (err->errnum != ENOENT && err->errnum != ECONNREFUSED) ||
		    waited >= CONNECT_WAIT_MS)
			return fd;
		err_clear(err);
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
		waited += 20;
	}
}

/* The process's config, in frames of at most AGENT_FRAME_DATA. */
static int send_config(int sock, const struct rt_exec *re, const struct oci_spec *spec,
		       struct err *err)
{
	struct guest_security security;
	struct seccomp_prog seccomp;
	struct guest_process gp = { .argv = spec->args, .env = spec->env, .cwd = spec->cwd,
				    .uid = spec->uid, .gid = spec->gid, .tty = re->tty,
				    .detach = re->detach, .tool = re->tool,
				    .user = re->user, .rlimits = spec->rlimits,
				    .n_rlimits = spec->n_rlimits, .security = &security,
				    .gids = spec->gids, .n_gids = spec->n_gids,
				    .inherit_rlimits = true };
	_cleanup_free_ char *blob = NULL;
	size_t len, off = 0;
	int r;

	if (vm_privileges(spec, re->cache_dir, &security, &seccomp, err) < 0)
		return -1;
	r = guest_config_build(&gp, &blob, &len, err);
	seccomp_prog_free(&seccomp);
	if (r < 0)
		return -1;
	while (len - off > AGENT_FRAME_DATA) {
		if (send_frame(sock, FRAME_CONFIG, blob + off, AGENT_FRAME_DATA, err) < 0)
			return -1;
		off += AGENT_FRAME_DATA;
	}
	return send_frame(sock, FRAME_START, blob + off, len - off, err);
}

static int send_size(int sock, struct err *err)
{
	struct winsize ws;
	char text[32];

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return 0;
	snprintf(text, sizeof(text), "%u %u", ws.ws_row, ws.ws_col);
	return send_frame(sock, FRAME_RESIZE, text, strlen(text), err);
}

/* One frame from the VMM: output, or the status (returns 1). */
static int recv_frame(int sock, int *exit_code, struct err *err)
{
	uint8_t h[AGENT_FRAME_HDR], data[AGENT_FRAME_DATA + 1];
	unsigned type;
	uint32_t session, len;

	if (read_full(sock, h, sizeof(h)) != sizeof(h)) {
		*exit_code = 137;     /* the container stopped: its processes were killed */
		return 1;
	}
	if (agent_frame_get(h, &type, &session, &len) < 0 ||
	    read_full(sock, data, len) != (ssize_t)len)
		return err_set(err, "the VM sent a malformed exec frame");
	data[len] = '\0';
	if (type == FRAME_STDOUT)
		write_all(STDOUT_FILENO, data, len);
	else if (type == FRAME_STDERR)
		write_all(STDERR_FILENO, data, len);
	else if (type == FRAME_EXIT) {
		*exit_code = atoi((char *)data);
		return 1;
	}
	return 0;
}

/* stdin goes out on a thread of its own: a send that waits for the VM to
 * take it must never stop the output coming back (cat big | exec -i cat). */
static void *stdin_thread(void *arg)
{
	int sock = *(int *)arg;
	char buf[AGENT_FRAME_DATA];
	struct err err = { 0 };

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (send_frame(sock, FRAME_STDIN, buf, (size_t)n, &err) < 0)
			return NULL;
	}
	send_frame(sock, FRAME_STDIN_EOF, NULL, 0, &err);
	return NULL;
}

static int relay(int sock, const struct rt_exec *re, int *exit_code, struct err *err)
{
	static int thread_sock;
	pthread_t t;
	sigset_t set;
	_cleanup_close_ int sfd = -1;
	int e;

	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	/* a resize before SIGWINCH was blocked went unseen: the size now */
	if (re->tty && send_size(sock, err) < 0)
		return -1;
	thread_sock = sock;
	if (re->interactive && (e = pthread_create(&t, NULL, stdin_thread, &thread_sock)) != 0)
		return err_sys(err, e, "start the stdin thread");
	if (re->interactive)
		pthread_detach(t);
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN },
				       { .fd = re->tty ? sfd : -1, .events = POLLIN } };
		struct signalfd_siginfo si;
		int r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(err, errno, "poll");
		}
		if (p[0].revents && (r = recv_frame(sock, exit_code, err)) != 0)
			return r < 0 ? -1 : 0;
		if (p[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si) &&
		    send_size(sock, err) < 0)
			return -1;
	}
}

int exec_vm(const struct rt_exec *re, const struct oci_spec *spec, int *exit_code,
	    struct err *err)
{
	/* Not closed on return: the stdin thread may still send until we exit. */
	int sock = vm_connect(re->dir, err);
	struct termios saved, raw;
	bool raw_on = false;
	int r;

	if (sock < 0)
		return err_wrap(err, "reach the container's VM");
	if (send_config(sock, re, spec, err) < 0 ||
	    /* Without -i the process's stdin is empty, as docker's /dev/null. */
	    ((!re->interactive || re->detach) &&
	     send_frame(sock, FRAME_STDIN_EOF, NULL, 0, err) < 0)) {
		close(sock);
		return -1;
	}
	if (re->detach) {
		close(sock);
		*exit_code = 0;
		return 0;
	}
	if (re->tty && send_size(sock, err) < 0)
		return -1;
	if (re->tty && re->interactive && isatty(STDIN_FILENO) &&
	    tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		/* OPOST off, as docker: the container's own terminal makes its CRs */
		raw_on = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	r = relay(sock, re, exit_code, err);
	if (raw_on)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return r;
}

int exec_vm_update(const char *dir, const void *records, size_t len, struct err *err)
{
	_cleanup_close_ int sock = vm_connect(dir, err);
	uint8_t h[AGENT_FRAME_HDR], data[AGENT_FRAME_DATA + 1];
	char why[AGENT_FRAME_DATA + 1] = "";
	unsigned type;
	uint32_t session, n;

	if (sock < 0)
		return err_wrap(err, "reach the container's VM");
	if (send_frame(sock, FRAME_UPDATE, records, len, err) < 0)
		return -1;
	for (;;) {
		if (read_full(sock, h, sizeof(h)) != sizeof(h) ||
		    agent_frame_get(h, &type, &session, &n) < 0 ||
		    read_full(sock, data, n) != (ssize_t)n)
			return err_set(err, "the VM stopped before it applied the update");
		data[n] = '\0';
		if (type == FRAME_STDERR)
			snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s", (char *)data);
		if (type != FRAME_EXIT)
			continue;
		if (!strcmp((char *)data, "0"))
			return 0;
		why[strcspn(why, "\n")] = '\0';
		return err_set(err, "%s", *why ? why : "the guest refused the update");
	}
}
