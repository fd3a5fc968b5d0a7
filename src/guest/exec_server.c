#include "exec_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "app.h"
#include "cp_tool.h"
#include "update.h"

/* Stdin credit goes back in batches, or at once when the process has all. */
#define STDIN_CREDIT_BATCH (AGENT_EXEC_WINDOW / 4)
/* A session with a terminal ends this long after its process, even when a
 * process it left behind keeps the terminal open. */
#define TTY_DRAIN_MS 200

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void send_frame(struct exec_server *x, unsigned type, uint32_t id, const void *data,
		       size_t len)
{
	unsigned char f[AGENT_FRAME_MAX];
	size_t off = 0;

	if (x->chan < 0 || len > AGENT_FRAME_DATA)
		return;
	agent_frame_put(f, type, id, (uint32_t)len);
	memcpy(f + AGENT_FRAME_HDR, data, len);
	len += AGENT_FRAME_HDR;
	while (off < len) {
		ssize_t n = write(x->chan, f + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close_fd(&x->chan);
			return;
		}
		off += (size_t)n;
	}
}

/* Output counts against the session's window; what does not fit waits in
 * the process's pipe, which stops only that process. */
static bool send_output(struct exec_server *x, struct exec_session *s, unsigned type,
			const void *data, size_t len)
{
	if (AGENT_FRAME_HDR + len > s->window)
		return false;
	s->window -= (uint32_t)(AGENT_FRAME_HDR + len);
	send_frame(x, type, s->id, data, len);
	return true;
}

static void session_release(struct exec_session *s)
{
	close_fd(&s->in_fd);
	close_fd(&s->out_fd);
	close_fd(&s->err_fd);
	free(s->cfg);
	free(s->pending);
	memset(s, 0, sizeof(*s));
	s->in_fd = s->out_fd = s->err_fd = -1;
}

static void session_end(struct exec_server *x, struct exec_session *s, int status)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%d", status);

	send_frame(x, FRAME_EXIT, s->id, text, (size_t)n);
	session_release(s);
}

static void session_fail(struct exec_server *x, struct exec_session *s, const char *why)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "isobox: exec: %s\n", why);

	send_output(x, s, FRAME_STDERR, msg, (size_t)n);
	session_end(x, s, 125);
}

static struct exec_session *session_find(struct exec_server *x, uint32_t id, bool create)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		if (x->s[i].used && x->s[i].id == id)
			return &x->s[i];
	for (i = 0; create && i < AGENT_MAX_SESSIONS; i++) {
		if (x->s[i].used)
			continue;
		session_release(&x->s[i]);
		x->s[i].used = true;
		x->s[i].id = id;
		x->s[i].window = AGENT_EXEC_WINDOW;
		return &x->s[i];
	}
	return NULL;
}

void exec_server_init(struct exec_server *x, int chan)
{
	size_t i;

	memset(x, 0, sizeof(*x));
	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		x->s[i].in_fd = x->s[i].out_fd = x->s[i].err_fd = -1;
	x->chan = chan;
}

void exec_server_container(struct exec_server *x, pid_t pid)
{
	x->container = pid;
}

/* The container's namespaces, opened before the fork: its PID namespace
 * (NS_PID), its mount namespace (NS_MNT) and its root (NS_ROOT), and ours
 * to come back to (NS_SELF). */
enum { NS_PID, NS_MNT, NS_ROOT, NS_SELF, NS_N };

static void ns_close(int ns[NS_N])
{
	for (int i = 0; i < NS_N; i++)
		close_fd(&ns[i]);
}

static int ns_open(const struct exec_server *x, int ns[NS_N])
{
	static const char *const what[NS_N] = { "ns/pid", "ns/mnt", "root", NULL };
	char path[64];
	int i;

	for (i = 0; i < NS_N; i++)
		ns[i] = -1;
	if (x->container <= 0)
		return 0;
	for (i = 0; i < NS_N; i++) {
		if (what[i])
			snprintf(path, sizeof(path), "/proc/%d/%s", (int)x->container, what[i]);
		else
			snprintf(path, sizeof(path), "/proc/self/ns/pid");
		ns[i] = open(path, (i == NS_ROOT ? O_PATH | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
		if (ns[i] < 0) {
			ns_close(ns);
			return -1;
		}
	}
	return 0;
}

/* The child, already in the container's PID namespace: its mounts and root. */
static int ns_enter(const int ns[NS_N])
{
	if (ns[NS_MNT] < 0)
		return 0;
	return setns(ns[NS_MNT], CLONE_NEWNS) < 0 || fchdir(ns[NS_ROOT]) < 0 || chroot(".") < 0
		       ? -1 : 0;
}

/* The child: the session's fds as its stdio, then the process. */
static void __attribute__((noreturn)) session_child(const struct agent_process *p, int fds[3],
						     const int ns[NS_N])
{
	int high[3], i, busybox = -1;

	/* PID 1 may have given the pipes fds 0-2: move them out of the way first. */
	for (i = 0; i < 3; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			_exit(125);
	for (i = 0; i < 3; i++)
		if (dup2(high[i], i) < 0)
			_exit(125);
	/* A tool's binary is ours: opened before the container's root hides it. */
	if (p->tool)
		busybox = open(CP_TOOL_BUSYBOX, O_PATH | O_CLOEXEC);
	if (ns_enter(ns) < 0) {
		fprintf(stderr, "isobox: exec: enter the container's namespaces: %s\n",
			strerror(errno));
		_exit(125);
	}
	if (p->tool)
		cp_tool_run(p->argv, busybox);
	if (chdir(p->cwd) < 0) {
		fprintf(stderr, "isobox: exec: chdir to cwd (\"%s\"): %s\n", p->cwd,
			strerror(errno));
		_exit(125);
	}
	app_exec(&(struct app){ .argv = p->argv, .envp = p->envp, .tty = p->tty, .set_ids = 1,
				.uid = p->uid, .gid = p->gid, .user = p->user, .cgroup = AGENT_CGROUP,
				.rlimits = p->rlimits, .n_rlimits = p->n_rlimits, .privileges = p });
}

/* The child's ends of its stdio, and ours in s. */
static int session_fds(struct exec_session *s, int child[3])
{
	int in[2], out[2], err[2];
	char name[64];

	if (s->detach) {        /* as docker's exec -d: nothing to read, nobody reading */
		child[0] = child[1] = child[2] = open("/dev/null", O_RDWR | O_CLOEXEC);
		return child[0] < 0 ? -1 : 0;
	}
	if (s->tty) {
		s->in_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s->in_fd < 0 || grantpt(s->in_fd) < 0 || unlockpt(s->in_fd) < 0 ||
		    ptsname_r(s->in_fd, name, sizeof(name)) ||
		    (child[0] = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
			return -1;
		child[1] = child[2] = child[0];
		s->out_fd = fcntl(s->in_fd, F_DUPFD_CLOEXEC, 3);
		return s->out_fd < 0 ? -1 : 0;
	}
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]), close(in[1]);
		return -1;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		return -1;
	}
	child[0] = in[0], child[1] = out[1], child[2] = err[1];
	s->in_fd = in[1], s->out_fd = out[0], s->err_fd = err[0];
	return 0;
}

static void child_fds_close(const int child[3])
{
	for (int i = 0; i < 3; i++)
		if (child[i] >= 0 && (i == 0 || child[i] != child[i - 1]))
			close(child[i]);
}

static void session_start(struct exec_server *x, struct exec_session *s)
{
	struct agent_process p;
	int child[3] = { -1, -1, -1 }, ns[NS_N] = { -1, -1, -1, -1 }, fork_errno;

	if (agent_config_parse(s->cfg, s->cfg_len, &p) < 0) {
		session_fail(x, s, "the process's config is malformed");
		return;
	}
	s->tty = p.tty;
	s->detach = p.detach;
	s->started = true;
	/* The process is born in the container's PID namespace (setns applies
	 * to children), and is still our child: we reap it as before. */
	if (session_fds(s, child) < 0 || ns_open(x, ns) < 0 ||
	    (ns[NS_PID] >= 0 && setns(ns[NS_PID], CLONE_NEWPID) < 0)) {
		int e = errno;

		ns_close(ns);
		child_fds_close(child);
		agent_process_free(&p);
		session_fail(x, s, strerror(e));
		return;
	}
	s->pid = fork();
	fork_errno = errno;
	if (s->pid == 0)
		session_child(&p, child, ns);
	if (ns[NS_SELF] >= 0)
		setns(ns[NS_SELF], CLONE_NEWPID);
	ns_close(ns);
	child_fds_close(child);
	agent_process_free(&p);
	if (s->pid < 0) {
		session_fail(x, s, strerror(fork_errno));
		return;
	}
	if (s->in_fd >= 0)
		fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
	if (s->out_fd >= 0)
		fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
	if (s->err_fd >= 0)
		fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
}

static void config_append(struct exec_server *x, struct exec_session *s, unsigned type,
			  const unsigned char *data, uint32_t len)
{
	unsigned char *cfg;

	if (s->started)
		return;
	if (s->cfg_len + len > AGENT_CONFIG_MAX || !(cfg = realloc(s->cfg, s->cfg_len + len + 1))) {
		session_fail(x, s, "the process's config is too large");
		return;
	}
	memcpy(cfg + s->cfg_len, data, len);
	s->cfg = cfg;
	s->cfg_len += len;
	if (type == FRAME_START)
		session_start(x, s);
}

static void put_u32(unsigned char b[4], uint32_t v)
{
	b[0] = (uint8_t)v, b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)(v >> 16), b[3] = (uint8_t)(v >> 24);
}

/* The VMM sends more stdin as the process takes it: a process that does not
 * read its stdin holds back its own client only. */
static void stdin_credit(struct exec_server *x, struct exec_session *s, uint32_t n)
{
	unsigned char b[4];

	s->in_credit += n;
	if (!s->in_credit || (s->pending_len && s->in_credit < STDIN_CREDIT_BATCH))
		return;
	put_u32(b, s->in_credit);
	send_frame(x, FRAME_STDIN_CREDIT, s->id, b, sizeof(b));
	s->in_credit = 0;
}

/* Give the process what stdin it takes now; close it after the end. */
static void stdin_flush(struct exec_server *x, struct exec_session *s)
{
	size_t before = s->pending_len;

	while (s->pending_len && s->in_fd >= 0) {
		ssize_t n = write(s->in_fd, s->pending, s->pending_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {        /* the process closed its stdin: what is left is lost */
			s->pending_len = 0;
			if (!s->tty)
				close_fd(&s->in_fd);
			break;
		}
		memmove(s->pending, s->pending + n, s->pending_len - (size_t)n);
		s->pending_len -= (size_t)n;
	}
	if (!s->pending_len && s->in_eof && !s->tty)
		close_fd(&s->in_fd);
	stdin_credit(x, s, (uint32_t)(before - s->pending_len));
}

static void stdin_append(struct exec_server *x, struct exec_session *s,
			 const unsigned char *data, uint32_t len)
{
	unsigned char *p;

	/* Nowhere to go (or more than the VMM may send): lost, as on a closed pipe. */
	if (s->in_fd < 0 || s->in_eof || s->pending_len + len > AGENT_EXEC_WINDOW ||
	    !(p = realloc(s->pending, s->pending_len + len + 1))) {
		stdin_credit(x, s, len);
		return;
	}
	memcpy(p + s->pending_len, data, len);
	s->pending = p;
	s->pending_len += len;
	stdin_flush(x, s);
}

static void session_maybe_end(struct exec_server *x, struct exec_session *s);

/* The client is gone: the process sees its stdio closed, as it would on the
 * host when the reader of its pipe or its terminal goes away. */
static void session_hangup(struct exec_server *x, struct exec_session *s)
{
	if (!s->started) {
		session_release(s);
		return;
	}
	close_fd(&s->in_fd);
	close_fd(&s->out_fd);
	close_fd(&s->err_fd);
	s->pending_len = 0;
	session_maybe_end(x, s);
}

/* The VMM's credit: a LE u32, never more than a whole window in all. */
static void session_credit(struct exec_session *s, const unsigned char *data, uint32_t len)
{
	uint32_t v;

	if (len != 4)
		return;
	v = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
	    (uint32_t)data[3] << 24;
	s->window = v > AGENT_EXEC_WINDOW - s->window ? AGENT_EXEC_WINDOW : s->window + v;
}

/* runc's update: new limits for the app's cgroup, a session of one frame. */
static void session_update(struct exec_server *x, struct exec_session *s,
			   const unsigned char *data, uint32_t len)
{
	struct agent_update u;
	char msg[256];
	int n;

	if (s->started || s->cfg_len) {
		session_fail(x, s, "an update in an exec session");
		return;
	}
	if (agent_update_parse(data, len, &u) < 0) {
		session_fail(x, s, "the update's limits are malformed");
		return;
	}
	if (agent_update_apply(&u, AGENT_CGROUP, msg, sizeof(msg)) < 0) {
		n = (int)strlen(msg);
		send_output(x, s, FRAME_STDERR, msg, (size_t)n);
		session_end(x, s, 1);
		return;
	}
	session_end(x, s, 0);
}

static void on_frame(struct exec_server *x, unsigned type, uint32_t id,
		     const unsigned char *data, uint32_t len)
{
	bool opens = type == FRAME_CONFIG || type == FRAME_START || type == FRAME_UPDATE;
	struct exec_session *s = session_find(x, id, opens);
	char text[32];
	unsigned short rows, cols;

	if (!s) {
		if (opens) {
			static const char busy[] = "isobox: exec: too many exec sessions\n";

			send_frame(x, FRAME_STDERR, id, busy, sizeof(busy) - 1);
			send_frame(x, FRAME_EXIT, id, "125", 3);
		}
		return;
	}
	snprintf(text, sizeof(text), "%.*s", (int)(len < 31 ? len : 31), (const char *)data);
	switch (type) {
	case FRAME_CONFIG:
	case FRAME_START:
		config_append(x, s, type, data, len);
		break;
	case FRAME_UPDATE:
		session_update(x, s, data, len);
		break;
	case FRAME_STDIN:
		stdin_append(x, s, data, len);
		break;
	case FRAME_STDIN_EOF:
		s->in_eof = true;
		stdin_flush(x, s);
		break;
	case FRAME_RESIZE:
		if (s->tty && s->in_fd >= 0 && sscanf(text, "%hu %hu", &rows, &cols) == 2)
			ioctl(s->in_fd, TIOCSWINSZ, &(struct winsize){ .ws_row = rows, .ws_col = cols });
		break;
	case FRAME_SIGNAL:
		if (s->pid > 0 && !s->exited && atoi(text) > 0 && atoi(text) < 65)
			kill(s->pid, atoi(text));
		break;
	case FRAME_CREDIT:
		session_credit(s, data, len);
		break;
	case FRAME_HANGUP:
		session_hangup(x, s);
		break;
	}
}

static void channel_read(struct exec_server *x)
{
	ssize_t n = read(x->chan, x->buf + x->have, sizeof(x->buf) - x->have);
	size_t off = 0;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(&x->chan);
		return;
	}
	x->have += (size_t)n;
	while (x->have - off >= AGENT_FRAME_HDR) {
		unsigned type;
		uint32_t id, len;

		if (agent_frame_get(x->buf + off, &type, &id, &len) < 0) {
			off = x->have;     /* not a frame: the VMM never sends that */
			break;
		}
		if (x->have - off < AGENT_FRAME_HDR + len)
			break;
		on_frame(x, type, id, x->buf + off + AGENT_FRAME_HDR, len);
		off += AGENT_FRAME_HDR + len;
	}
	memmove(x->buf, x->buf + off, x->have - off);
	x->have -= off;
}

static void session_maybe_end(struct exec_server *x, struct exec_session *s)
{
	if (s->exited && s->out_fd < 0 && s->err_fd < 0)
		session_end(x, s, s->status);
}

static void output_read(struct exec_server *x, struct exec_session *s, int *fd, unsigned type)
{
	unsigned char buf[AGENT_FRAME_DATA];
	size_t room = s->window > AGENT_FRAME_HDR ? s->window - AGENT_FRAME_HDR : 0;
	ssize_t n;

	if (!room)
		return;         /* the client has not read what it has: the pipe waits */
	n = read(*fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n > 0) {
		send_output(x, s, type, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	close_fd(fd);               /* EOF, or EIO: the terminal's last holder is gone */
	session_maybe_end(x, s);
}

void exec_server_pollfds(struct exec_server *x, struct pollfd p[EXEC_SERVER_POLLFDS])
{
	size_t i;

	/* Always read: stdin is bounded per session by the VMM, and credit comes
	 * this way. */
	p[0] = (struct pollfd){ .fd = x->chan, .events = POLLIN };
	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_session *s = &x->s[i];
		bool live = s->used && s->started;
		bool room = s->window > AGENT_FRAME_HDR;

		p[1 + 3 * i] = (struct pollfd){ .fd = live && s->pending_len ? s->in_fd : -1,
						.events = POLLOUT };
		p[2 + 3 * i] = (struct pollfd){ .fd = live && room ? s->out_fd : -1,
						.events = POLLIN };
		p[3 + 3 * i] = (struct pollfd){ .fd = live && room ? s->err_fd : -1,
						.events = POLLIN };
	}
}

void exec_server_events(struct exec_server *x, const struct pollfd p[EXEC_SERVER_POLLFDS])
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_session *s = &x->s[i];

		if (p[1 + 3 * i].fd >= 0 && p[1 + 3 * i].revents)
			stdin_flush(x, s);
		if (p[2 + 3 * i].fd >= 0 && p[2 + 3 * i].revents && s->used)
			output_read(x, s, &s->out_fd, FRAME_STDOUT);
		if (p[3 + 3 * i].fd >= 0 && p[3 + 3 * i].revents && s->used)
			output_read(x, s, &s->err_fd, FRAME_STDERR);
	}
	if (p[0].fd >= 0 && p[0].revents)
		channel_read(x);
}

bool exec_server_reaped(struct exec_server *x, pid_t pid, int status)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_session *s = &x->s[i];

		if (!s->used || !s->started || s->pid != pid || s->exited)
			continue;
		s->exited = true;
		s->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		clock_gettime(CLOCK_MONOTONIC, &s->exited_at);
		session_maybe_end(x, s);
		return true;
	}
	return false;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

int exec_server_timeout(const struct exec_server *x)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		if (x->s[i].used && x->s[i].exited && x->s[i].tty)
			return TTY_DRAIN_MS / 4;
	return -1;
}

void exec_server_tick(struct exec_server *x)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_session *s = &x->s[i];

		if (!s->used || !s->exited || !s->tty || ms_since(&s->exited_at) < TTY_DRAIN_MS)
			continue;
		close_fd(&s->out_fd);
		session_maybe_end(x, s);
	}
}
