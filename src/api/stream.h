/* The isobox command as a child of the service: run to its end (start,
 * restart), or streaming on a hijacked connection (attach then start, exec):
 * its stdout and stderr raw with a TTY, else in docker's 8-byte frames
 * {1 or 2, 0, 0, 0, size big-endian}; the client's stdin into it until the
 * client half-closes. This threaded server forks no engine code: every
 * start and exec is `isobox ...` spawned on the same root. */
#ifndef ISOBOX_API_STREAM_H
#define ISOBOX_API_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "api/api.h"

struct strv;
/* "isobox --root ROOT [--config C] [--default-isolation D]" onto argv. */
void api_self_argv(const struct api_ctx *ctx, struct strv *argv);
/* argv with stdio io[] (-1: /dev/null); the child's pid, or -1. */
pid_t api_self_spawn(const char *const *argv, const int io[3], struct err *err);
/* The same with DOCKER_CONFIG=docker_config in its environment (the
 * credentials a request brought: api_registry_auth). */
pid_t api_self_spawn_env(const char *const *argv, const int io[3], const char *docker_config,
			 struct err *err);
/* Its exit code (128 + N for a signal). */
int api_child_wait(pid_t pid);
/* Its exit code once err_fd (its stderr) is read to the end; on a failure
 * the first line it said in err ("isobox: " dropped). */
int api_child_end(pid_t pid, int err_fd, struct err *err);
/* What a child that speaks as docker's CLI said ("Error response from
 * daemon: X"): X, what the API answers with. */
const char *api_child_said(const struct err *err);
/* `isobox ARGS...` to its end; the first line it said on stderr in err. */
int api_self_run(const struct api_ctx *ctx, const char *const *args, struct err *err);
/* The same with stdin from in_fd (-1: /dev/null), DOCKER_CONFIG from
 * docker_config (NULL: the service's) and, when out is not NULL, its stdout
 * in *out (malloc'ed, NUL-ended, the first API_OUTPUT_MAX bytes; NULL on a
 * failure). */
#define API_OUTPUT_MAX (64u << 10)
int api_self_call(const struct api_ctx *ctx, const char *const *args, int in_fd,
		  const char *docker_config, char **out, struct err *err);

/* docker_config: a directory of the request's credentials (api_registry_auth,
 * or NULL), the child's DOCKER_CONFIG, removed once it ended (taken).
 * A response body that is `isobox ARGS...`'s stdout (pull's and push's JSON
 * messages, save's tar, load's and import's lines), stdin from in_fd (-1:
 * /dev/null). The first output is awaited here: a child that fails before
 * it answers with docker's status and message (404 for what is missing,
 * else 500); after it, with docker's {"errorDetail"} message in a JSON
 * stream, or a cut-off body in a tar. A client that leaves stops the child. */
enum api_child_body {
	API_BODY_RAW,            /* the bytes as they are (a tar) */
	API_BODY_JSON,           /* docker's JSON messages already */
	API_BODY_STREAM_LINES,   /* each line a {"stream": "LINE\n"} (load) */
	API_BODY_STATUS_LINES,   /* each line a {"status": "LINE"} (import) */
};
void api_child_body(const struct api_ctx *ctx, const char *const *args, int in_fd,
		    char *docker_config, enum api_child_body kind, struct api_resp *resp);

/* A hijacked connection (api_resp.on_upgrade's). */
struct api_conn {
	int sock;                   /* -1 until the upgrade */
	void *urh;
	bool want_stdin, tty;
	char *early;                /* stdin that came with the request */
	size_t early_len;
};

/* Take the upgrade's socket (made blocking) and early bytes into c. */
void api_conn_take(struct api_conn *c, int sock, void *urh, const char *extra, size_t len);
/* Close it (MHD's) and free what it holds. */
void api_conn_close(struct api_conn *c);

/* A running container's output on c, its log as it is written (log, made
 * with api_conn_log_client(c) as its client), in a thread of its own that
 * frees log and c (malloc'ed) at the end; the client's stdin is not read.
 * -1 with err when the thread cannot start (the caller still owns both). */
struct api_client api_conn_log_client(struct api_conn *c);
int api_conn_follow_log(struct api_conn *c, struct api_log *log, struct err *err);

struct api_session;
/* argv streaming on c in a thread of its own: on_exit(exit_cls, code) once
 * it ended and its output drained, before the client sees the end (which
 * then asks for the code); on_closed(exit_cls) (may be NULL) after, when
 * the owner may close c. The caller holds one reference (api_session_put),
 * or NULL with err. */
struct api_session *api_session_spawn(const char *const *argv, struct api_conn *c,
				      const char *key, void (*on_exit)(void *cls, int code),
				      void (*on_closed)(void *cls), void *exit_cls,
				      struct err *err);
/* With a TTY (c->tty) the child's terminal is a pty of the session's, key
 * (a container's or an exec's id; NULL: none) what a resize names: its size
 * set, which reaches the container's terminal (SIGWINCH to the isobox
 * command, which passes it on). -1 when no such session runs. */
int api_session_resize(const char *key, unsigned short rows, unsigned short cols);
/* Whether it ended; if so, its first output (why a start failed) in buf. */
bool api_session_done(struct api_session *s, char *buf, size_t len);
void api_session_put(struct api_session *s);

#endif
