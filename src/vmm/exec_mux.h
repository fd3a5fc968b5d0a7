/* `exec` in a VM, on the host's side: clients connect to the container's
 * exec socket and speak the frames of guest/agent_proto.h; the VMM numbers
 * their sessions and carries the frames through one virtio console (hvc3) to
 * the agent, and the agent's frames back to the client of their session.
 * The guest is not trusted: a frame that cannot be one, or output past a
 * session's window, ends the channel; a frame for a session nobody holds is
 * dropped. The loop never blocks on a client: what the guest sends waits in
 * the client's buffer, bounded by the session's window, and the window
 * reopens (FRAME_CREDIT) only as the client reads. The other way, a
 * client's STDIN waits (and the client is not read) while its process has
 * a window's worth it has not taken (FRAME_STDIN_CREDIT). */
#ifndef ISOBOX_EXEC_MUX_H
#define ISOBOX_EXEC_MUX_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/agent_proto.h"
#include "util/err.h"

/* Give credit back in batches, not one small frame per output frame. */
#define EXEC_MUX_CREDIT_BATCH (AGENT_EXEC_WINDOW / 4)
/* The output a client may have waiting: a full window, then EXIT. */
#define EXEC_MUX_OUT_MAX (AGENT_EXEC_WINDOW + AGENT_FRAME_MAX)

struct exec_client {
	int fd;                        /* -1: no client (the slot is free unless hangup) */
	uint32_t session;
	/* client -> guest */
	uint8_t frame[AGENT_FRAME_MAX];
	size_t have;
	bool ready;                    /* frame is whole, waiting for room in the pipe */
	bool known;                    /* a frame reached the guest: the agent has the session */
	uint32_t in_window;            /* stdin data the agent still takes */
	/* guest -> client */
	uint8_t *out;                  /* EXEC_MUX_OUT_MAX bytes */
	size_t out_off, out_len;
	uint32_t window;               /* output bytes the guest may still send */
	uint32_t credit;               /* bytes the client took, not yet given back */
	bool exited;                   /* EXIT is in out: close once the client has it */
	bool hangup;                   /* the client left: FRAME_HANGUP still to send */
};

struct exec_mux {
	int listen_fd;                 /* -1: no exec */
	int to_guest[2];               /* pipe: [0] is the console's input */
	int from_guest[2];             /* pipe: [1] is the console's output */
	struct exec_client c[AGENT_MAX_SESSIONS];
	uint32_t next_session;
	uint8_t frame[AGENT_FRAME_MAX];
	size_t have;
	bool broken;                   /* the guest sent garbage: drain and drop */
};

/* The pollfds the mux watches: the socket, the guest's pipe, the room in the
 * pipe to the guest, and each client. */
#define EXEC_MUX_POLLFDS (3 + AGENT_MAX_SESSIONS)

/* listen_fd (taken) may be -1: the console then carries nothing. */
int exec_mux_init(struct exec_mux *m, int listen_fd, struct err *err);
void exec_mux_destroy(struct exec_mux *m);
/* A connected client (fd taken) in a free slot, under a new session: 0, or
 * -1 when none is free or the channel is broken (fd closed). */
int exec_mux_attach(struct exec_mux *m, int fd);
void exec_mux_pollfds(struct exec_mux *m, struct pollfd p[EXEC_MUX_POLLFDS]);
void exec_mux_events(struct exec_mux *m, const struct pollfd p[EXEC_MUX_POLLFDS]);
/* Whatever the guest wrote, routed (for tests and for the end of the VM). */
void exec_mux_from_guest(struct exec_mux *m, const uint8_t *data, size_t len);

#endif
