/* The guest's side of `exec` in a VM: processes started at the host's
 * request, each a session of frames on hvc3 (guest/agent_proto.h). PID 1
 * polls the channel and the sessions' fds with its own, and passes on the
 * children it reaps. */
#ifndef ISOBOX_EXEC_SERVER_H
#define ISOBOX_EXEC_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "agent_proto.h"

struct exec_session {
	bool used, started, exited, tty, in_eof, detach;
	uint32_t id;
	pid_t pid;
	int status;
	uint32_t window;             /* output bytes the VMM still takes (AGENT_EXEC_WINDOW) */
	uint32_t in_credit;          /* stdin data taken or lost, not yet given back */
	int in_fd;                   /* the process's stdin: a pipe, or the pty master */
	int out_fd, err_fd;          /* pipes; with a terminal out_fd is the master */
	unsigned char *cfg;          /* the config blob as it arrives */
	size_t cfg_len;
	unsigned char *pending;      /* stdin the process has not taken yet */
	size_t pending_len;
	struct timespec exited_at;
};

struct exec_server {
	int chan;                    /* /dev/hvc3; -1: no exec */
	unsigned char buf[AGENT_FRAME_MAX];
	size_t have;
	struct exec_session s[AGENT_MAX_SESSIONS];
	pid_t container;             /* the container's PID 1 (our pid for it), or 0 */
};

/* The pollfds exec_server_pollfds fills: the channel, then 3 per session. */
#define EXEC_SERVER_POLLFDS (1 + 3 * AGENT_MAX_SESSIONS)

/* chan: the channel's console, opened raw (the server owns it). */
void exec_server_init(struct exec_server *x, int chan);
/* The container's PID 1 runs as pid: sessions join its PID and mount
 * namespaces from now on, as docker exec joins a container's. */
void exec_server_container(struct exec_server *x, pid_t pid);
void exec_server_pollfds(struct exec_server *x, struct pollfd p[EXEC_SERVER_POLLFDS]);
void exec_server_events(struct exec_server *x, const struct pollfd p[EXEC_SERVER_POLLFDS]);
/* A child was reaped: true when it was a session's process. */
bool exec_server_reaped(struct exec_server *x, pid_t pid, int status);
/* How long poll may wait (ms, -1: forever) before exec_server_tick must run:
 * a session with a terminal whose process exited gets a moment to drain. */
int exec_server_timeout(const struct exec_server *x);
void exec_server_tick(struct exec_server *x);

#endif
