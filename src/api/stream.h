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

#define API_SELF_ARGS 16

/* "isobox --root ROOT [--config C] [--default-isolation D]": the count. */
size_t api_self_argv(const struct api_ctx *ctx, const char *argv[API_SELF_ARGS]);
/* argv with stdio io[] (-1: /dev/null); the child's pid, or -1. */
pid_t api_self_spawn(const char *const *argv, const int io[3], struct err *err);
/* Its exit code (128 + N for a signal). */
int api_child_wait(pid_t pid);
/* `isobox ARGS...` to its end; the first line it said on stderr in err. */
int api_self_run(const struct api_ctx *ctx, const char *const *args, struct err *err);

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

struct api_session;
/* argv streaming on c in a thread of its own: on_exit(exit_cls, code) once
 * it ended and its output drained, before the client sees the end (which
 * then asks for the code); on_closed(exit_cls) (may be NULL) after, when
 * the owner may close c. The caller holds one reference (api_session_put),
 * or NULL with err. */
struct api_session *api_session_spawn(const char *const *argv, struct api_conn *c,
				      void (*on_exit)(void *cls, int code),
				      void (*on_closed)(void *cls), void *exit_cls,
				      struct err *err);
/* Whether it ended; if so, its first output (why a start failed) in buf. */
bool api_session_done(struct api_session *s, char *buf, size_t len);
void api_session_put(struct api_session *s);

#endif
