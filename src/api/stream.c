/* The isobox command as a child of the service, and its streams. */
#include "api/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/pty.h"
#include "util/fs.h"
#include "util/strv.h"

void api_self_argv(const struct api_ctx *ctx, struct strv *argv)
{
	strv_push(argv, "isobox");
	strv_push(argv, "--root");
	strv_push(argv, ctx->root);
	if (ctx->config) {
		strv_push(argv, "--config");
		strv_push(argv, ctx->config);
	}
	if (ctx->default_isolation) {
		strv_push(argv, "--default-isolation");
		strv_push(argv, ctx->default_isolation);
	}
}

/* stdio from io[] (-1: /dev/null), or, with tty, that terminal opened in a
 * session of the child's own, so it is its controlling terminal (a resize
 * reaches it as SIGWINCH); the child's pid, or -1. */
static pid_t spawn(const char *const *argv, const int io[3], const char *tty,
		   const char *docker_config, struct err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid;
	int i, r;

	/* The server's threads block SIGTERM, SIGINT and SIGPIPE (api_serve):
	 * a child starts with none blocked and every handler at its default. */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					(tty ? POSIX_SPAWN_SETSID : 0));
	posix_spawn_file_actions_init(&fa);
	for (i = 0; i < 3; i++) {
		if (tty && i == 0)
			posix_spawn_file_actions_addopen(&fa, 0, tty, O_RDWR, 0);
		else if (tty)
			posix_spawn_file_actions_adddup2(&fa, 0, i);
		else if (io[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, io[i], i);
		else
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
	}
	if (docker_config) {           /* the request's credentials, not the host's */
		struct strv env = { 0 };
		_cleanup_free_ char *dc = xasprintf("DOCKER_CONFIG=%s", docker_config);

		for (char **e = environ; *e; e++)
			if (strncmp(*e, "DOCKER_CONFIG=", 14))
				strv_push(&env, *e);
		strv_push(&env, dc);
		r = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, (char *const *)argv,
				(char *const *)strv_get(&env));
		strv_free(&env);
	} else {
		r = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, (char *const *)argv, environ);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return r ? err_sys(err, r, "run isobox") : pid;
}

pid_t api_self_spawn(const char *const *argv, const int io[3], struct err *err)
{
	return spawn(argv, io, NULL, NULL, err);
}

pid_t api_self_spawn_env(const char *const *argv, const int io[3], const char *docker_config,
			 struct err *err)
{
	return spawn(argv, io, NULL, docker_config, err);
}

int api_child_wait(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int api_child_end(pid_t pid, int err_fd, struct err *err)
{
	char text[sizeof(err->msg)];
	ssize_t len = read_full(err_fd, text, sizeof(text) - 1);
	int code;

	read_to_end(err_fd);                /* more than a message: the child goes on */
	code = api_child_wait(pid);
	if (code == 0)
		return 0;
	text[len > 0 ? len : 0] = 0;
	text[strcspn(text, "\n")] = 0;
	err_set(err, "%s", !strncmp(text, "isobox: ", 8) ? text + 8 :
			   *text ? text : "isobox failed");
	return code;
}

int api_self_call(const struct api_ctx *ctx, const char *const *args, int in_fd,
		  const char *docker_config, char **out, struct err *err)
{
	struct strv argv = { 0 };
	int outp[2] = { -1, -1 }, errp[2], code;
	pid_t pid;

	api_self_argv(ctx, &argv);
	while (*args)
		strv_push(&argv, *args++);
	if (pipe2(errp, O_CLOEXEC) < 0 || (out && pipe2(outp, O_CLOEXEC) < 0)) {
		strv_free(&argv);
		return err_sys(err, errno, "pipe");
	}
	pid = api_self_spawn_env(strv_get(&argv), (int[3]){ in_fd, outp[1], errp[1] },
				 docker_config, err);
	strv_free(&argv);
	close(errp[1]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (pid >= 0 && out) {
		ssize_t n;

		*out = xmalloc(API_OUTPUT_MAX + 1);
		n = read_full(outp[0], *out, API_OUTPUT_MAX);
		(*out)[n > 0 ? n : 0] = 0;
		read_to_end(outp[0]);
	}
	if (outp[0] >= 0)
		close(outp[0]);
	code = pid < 0 ? -1 : api_child_end(pid, errp[0], err);
	close(errp[0]);
	if (code != 0 && out) {
		free(*out);
		*out = NULL;
	}
	return code == 0 ? 0 : -1;
}

const char *api_child_said(const struct err *err)
{
	static const char prefix[] = "Error response from daemon: ";

	return strncmp(err->msg, prefix, sizeof(prefix) - 1) ? err->msg
							     : err->msg + sizeof(prefix) - 1;
}

int api_self_run(const struct api_ctx *ctx, const char *const *args, struct err *err)
{
	return api_self_call(ctx, args, -1, NULL, NULL, err);
}

void api_conn_take(struct api_conn *c, int sock, void *urh, const char *extra, size_t len)
{
	/* MHD's sockets are non-blocking; the pumps want to wait on theirs */
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK);
	if (len) {
		c->early = xmalloc(len);
		memcpy(c->early, extra, len);
		c->early_len = len;
	}
	c->urh = urh;
	c->sock = sock;
}

void api_conn_close(struct api_conn *c)
{
	if (c->urh)
		api_upgrade_close(c->urh);
	c->urh = NULL;
	c->sock = -1;
	free(c->early);
	c->early = NULL;
}

/* One stream onto the connection: raw with a TTY, else docker's frames
 * {type, 0, 0, 0, size big-endian} (1 stdout, 2 stderr). */
struct pump {
	int from, to;
	unsigned char type;
	pthread_mutex_t *lock;
	char *said;                 /* the first bytes, kept (a failed start's why) */
	size_t said_max, *said_len;
};

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *pump_out(void *arg)
{
	struct pump *p = arg;
	unsigned char buf[8 + 32768];
	bool gone = false;
	ssize_t n;

	for (;;) {
		n = read(p->from, buf + 8, sizeof(buf) - 8);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		pthread_mutex_lock(p->lock);
		if (p->said && *p->said_len < p->said_max) {
			size_t k = p->said_max - *p->said_len < (size_t)n ? p->said_max - *p->said_len
									  : (size_t)n;

			memcpy(p->said + *p->said_len, buf + 8, k);
			*p->said_len += k;
		}
		pthread_mutex_unlock(p->lock);
		if (gone)
			continue;      /* the client left: drain, the container goes on */
		buf[0] = p->type;
		buf[1] = buf[2] = buf[3] = 0;
		buf[4] = (unsigned char)((size_t)n >> 24);
		buf[5] = (unsigned char)((size_t)n >> 16);
		buf[6] = (unsigned char)((size_t)n >> 8);
		buf[7] = (unsigned char)n;
		pthread_mutex_lock(p->lock);
		gone = (p->type ? send_all(p->to, buf, (size_t)n + 8)
				: send_all(p->to, buf + 8, (size_t)n)) < 0;
		pthread_mutex_unlock(p->lock);
	}
	close(p->from);
	return NULL;
}

/* The client's stdin into the container until it half-closes. */
static void *pump_in(void *arg)
{
	struct pump *p = arg;
	char buf[32768];
	ssize_t n;

	for (;;) {
		n = recv(p->from, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(p->to, buf, (size_t)n) < 0)
			break;
	}
	close(p->to);
	return NULL;
}

struct api_session {
	struct api_conn *a;
	pid_t pid;
	int in_w, out_r, err_r;
	int pty;                    /* with a TTY: the terminal's master, else -1 */
	char key[80];               /* what a resize names it by, or "" */
	atomic_bool done;
	atomic_int refs;
	void (*on_exit)(void *cls, int code);    /* with the isobox command's exit code */
	void (*on_closed)(void *cls);            /* the streams are done */
	void *exit_cls;
	pthread_mutex_t lock;       /* one frame at a time on the connection; said */
	char said[512];
	size_t said_len;
};

void api_session_put(struct api_session *s)
{
	if (atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

/* The sessions with a terminal, by key, for resizes. */
#define TTY_SESSIONS_MAX 256
static pthread_mutex_t tty_lock = PTHREAD_MUTEX_INITIALIZER;
static struct api_session *tty_sessions[TTY_SESSIONS_MAX];

/* Sizes that came before their session (docker exec -it resizes as soon as
 * its start is sent): its terminal starts with it. The oldest goes first. */
static struct {
	char key[80];
	struct winsize ws;
} early_sizes[TTY_SESSIONS_MAX];
static size_t early_next;

/* Under tty_lock: the size asked for key before it ran, taken; false if none. */
static bool early_size_take(const char *key, struct winsize *ws)
{
	for (size_t i = 0; i < TTY_SESSIONS_MAX; i++)
		if (*key && !strcmp(early_sizes[i].key, key)) {
			*ws = early_sizes[i].ws;
			early_sizes[i].key[0] = 0;
			return true;
		}
	return false;
}

/* Known to resizes from now on; a size asked for before is its terminal's. */
static void tty_register(struct api_session *s)
{
	struct winsize ws;

	pthread_mutex_lock(&tty_lock);
	if (early_size_take(s->key, &ws))
		ioctl(s->pty, TIOCSWINSZ, &ws);
	for (size_t i = 0; i < TTY_SESSIONS_MAX; i++)
		if (!tty_sessions[i]) {
			tty_sessions[i] = s;
			break;
		}
	pthread_mutex_unlock(&tty_lock);
}

static void tty_unregister(struct api_session *s)
{
	pthread_mutex_lock(&tty_lock);
	for (size_t i = 0; i < TTY_SESSIONS_MAX; i++)
		if (tty_sessions[i] == s)
			tty_sessions[i] = NULL;
	pthread_mutex_unlock(&tty_lock);
}

int api_session_resize(const char *key, unsigned short rows, unsigned short cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	bool found = false;
	int r = 0;

	pthread_mutex_lock(&tty_lock);
	for (size_t i = 0; i < TTY_SESSIONS_MAX && !found; i++)
		if (tty_sessions[i] && !strcmp(tty_sessions[i]->key, key)) {
			found = true;
			r = ioctl(tty_sessions[i]->pty, TIOCSWINSZ, &ws);
		}
	if (!found && *key) {
		struct winsize old;

		early_size_take(key, &old);
		snprintf(early_sizes[early_next].key, sizeof(early_sizes[0].key), "%s", key);
		early_sizes[early_next].ws = ws;
		early_next = (early_next + 1) % TTY_SESSIONS_MAX;
	}
	pthread_mutex_unlock(&tty_lock);
	return r;
}

static void *session_run(void *arg)
{
	struct api_session *s = arg;
	struct pump out = { .from = s->out_r, .to = s->a->sock, .type = s->a->tty ? 0 : 1,
			    .lock = &s->lock, .said = s->said, .said_max = sizeof(s->said) - 1,
			    .said_len = &s->said_len };
	struct pump err = { .from = s->err_r, .to = s->a->sock, .type = 2, .lock = &s->lock,
			    .said = s->said, .said_max = sizeof(s->said) - 1,
			    .said_len = &s->said_len };
	struct pump in = { .from = s->a->sock, .to = s->in_w };
	pthread_t t_out, t_err, t_in;
	bool has_err = s->err_r >= 0, has_in = s->in_w >= 0;
	int code;

	signal(SIGPIPE, SIG_IGN);
	if (has_in && s->a->early_len)
		write_all(s->in_w, s->a->early, s->a->early_len);
	pthread_create(&t_out, NULL, pump_out, &out);
	if (has_err)
		pthread_create(&t_err, NULL, pump_out, &err);
	if (has_in)
		pthread_create(&t_in, NULL, pump_in, &in);
	pthread_join(t_out, NULL);
	if (has_err)
		pthread_join(t_err, NULL);
	code = api_child_wait(s->pid);
	if (s->pty >= 0) {
		tty_unregister(s);
		close(s->pty);
	}
	/* the code before the client sees the end: it asks for it then */
	s->on_exit(s->exit_cls, code);
	atomic_store(&s->done, true);
	/* a stdin still open ends with the connection */
	shutdown(s->a->sock, SHUT_RDWR);
	if (has_in)
		pthread_join(t_in, NULL);
	if (s->on_closed)
		s->on_closed(s->exit_cls);  /* the owner closes the connection */
	api_session_put(s);
	return NULL;
}

/* The isobox command argv streaming on a's connection, in a thread of its
 * own; the session (one reference the caller's), or NULL. */
/* With a TTY the child's stdio is a raw pty of the session's (the
 * container's own terminal does the terminal's work): its master is both
 * ends here (stdin through a copy, so that its end leaves the output be). */
static struct api_session *tty_session_spawn(const char *const *argv, struct api_session *s,
					     struct err *err)
{
	char name[64];
	int slave;

	if (pty_open_raw(&s->pty, &slave, false, err) < 0)
		return NULL;
	if (ptsname_r(s->pty, name, sizeof(name))) {
		err_sys(err, errno, "ptsname");
		goto fail;
	}
	s->out_r = s->pty;
	s->in_w = s->a->want_stdin ? fcntl(s->pty, F_DUPFD_CLOEXEC, 0) : -1;
	tty_register(s);             /* the child starts with the size asked for */
	s->pid = spawn(argv, (int[3]){ -1, -1, -1 }, name, NULL, err);
	close(slave);
	if (s->pid >= 0)
		return s;
	tty_unregister(s);
	if (s->in_w >= 0)
		close(s->in_w);
fail:
	close(slave);
	close(s->pty);
	return NULL;
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

/* Without a TTY: pipes, stdout and stderr apart. */
static struct api_session *pipe_session_spawn(const char *const *argv, struct api_session *s,
					      struct err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };

	if ((s->a->want_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		err_sys(err, errno, "pipe");
		close_pair(in);
		close_pair(out);
		close_pair(errp);
		return NULL;
	}
	s->in_w = in[1];
	s->out_r = out[0];
	s->err_r = errp[0];
	s->pid = api_self_spawn(argv, (int[3]){ in[0], out[1], errp[1] }, err);
	if (in[0] >= 0)
		close(in[0]);
	close(out[1]);
	close(errp[1]);
	if (s->pid >= 0)
		return s;
	if (in[1] >= 0)
		close(in[1]);
	close(out[0]);
	close(errp[0]);
	return NULL;
}

struct api_session *api_session_spawn(const char *const *argv, struct api_conn *a,
				      const char *key, void (*on_exit)(void *, int),
				      void (*on_closed)(void *), void *exit_cls, struct err *err)
{
	struct api_session *s = calloc(1, sizeof(*s));
	pthread_t t;

	if (!s) {
		err_set(err, "no memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->refs, 2);
	s->a = a;
	s->on_exit = on_exit;
	s->on_closed = on_closed;
	s->exit_cls = exit_cls;
	s->pty = s->in_w = s->out_r = s->err_r = -1;
	snprintf(s->key, sizeof(s->key), "%s", key ? key : "");
	if (!(a->tty ? tty_session_spawn(argv, s, err) : pipe_session_spawn(argv, s, err))) {
		free(s);
		return NULL;
	}
	if (pthread_create(&t, NULL, session_run, s) != 0) {
		kill(s->pid, SIGTERM);
		err_set(err, "start the session's thread");
		return NULL;
	}
	pthread_detach(t);
	return s;
}

bool api_session_done(struct api_session *s, char *buf, size_t len)
{
	if (!atomic_load(&s->done))
		return false;
	pthread_mutex_lock(&s->lock);
	snprintf(buf, len, "%.*s", (int)s->said_len, s->said);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/* The client closed the connection (a half-close is only its stdin's end). */
static bool conn_gone(void *ctx)
{
	struct api_conn *c = ctx;
	struct pollfd p = { .fd = c->sock, .events = 0 };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

struct api_client api_conn_log_client(struct api_conn *c)
{
	return (struct api_client){ conn_gone, c };
}

struct follow {
	struct api_conn *conn;
	struct api_log *log;
};

static void *follow_run(void *arg)
{
	struct follow *f = arg;
	char buf[32768];
	ssize_t n;

	while ((n = api_log_read(f->log, buf, sizeof(buf))) > 0)
		if (send_all(f->conn->sock, buf, (size_t)n) < 0)
			break;
	api_log_free(f->log);
	api_conn_close(f->conn);
	free(f->conn);
	free(f);
	return NULL;
}

int api_conn_follow_log(struct api_conn *c, struct api_log *log, struct err *err)
{
	struct follow *f = xmalloc(sizeof(*f));
	pthread_attr_t attr;
	pthread_t t;
	int r;

	*f = (struct follow){ c, log };
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, follow_run, f);
	pthread_attr_destroy(&attr);
	if (r) {
		free(f);
		return err_sys(err, r, "start a thread");
	}
	return 0;
}
