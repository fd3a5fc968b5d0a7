#include "vmm/exec_mux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void client_free(struct exec_client *c)
{
	close_fd(&c->fd);
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->have = 0;
	c->window = c->credit = c->in_window = 0;
	c->ready = c->known = c->exited = c->hangup = false;
}

int exec_mux_init(struct exec_mux *m, int listen_fd, struct err *err)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->listen_fd = listen_fd;
	m->to_guest[0] = m->to_guest[1] = m->from_guest[0] = m->from_guest[1] = -1;
	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		m->c[i].fd = -1;
	/* Non-blocking ends for the I/O loop; the vCPU thread's writes of the
	 * guest's output block, but the loop always drains them: per-session
	 * windows, not this pipe, hold a slow client's output back. */
	if (pipe2(m->to_guest, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(m->from_guest, O_CLOEXEC) < 0 ||
	    fcntl(m->from_guest[0], F_SETFL, O_NONBLOCK) < 0)
		return err_sys(err, errno, "exec pipes");
	return 0;
}

void exec_mux_destroy(struct exec_mux *m)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		client_free(&m->c[i]);
	close_fd(&m->listen_fd);
	for (i = 0; i < 2; i++) {
		close_fd(&m->to_guest[i]);
		close_fd(&m->from_guest[i]);
	}
}

int exec_mux_attach(struct exec_mux *m, int fd)
{
	size_t i;

	/* A guest that broke the channel sends nothing back: the client would
	 * wait for its output forever. */
	for (i = 0; i < AGENT_MAX_SESSIONS && !m->broken; i++) {
		struct exec_client *c = &m->c[i];

		if (c->fd >= 0 || c->hangup)
			continue;
		if (!(c->out = malloc(EXEC_MUX_OUT_MAX)))
			break;
		c->fd = fd;
		c->session = ++m->next_session;
		c->window = c->in_window = AGENT_EXEC_WINDOW;
		return 0;
	}
	close(fd);      /* as many sessions as the agent takes are open, or none can be */
	return -1;
}

static void accept_client(struct exec_mux *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd >= 0)
		exec_mux_attach(m, fd);
}

/* A frame of the VMM's own to the guest; false while the pipe is full. */
static bool control_put(struct exec_mux *m, unsigned type, uint32_t session, uint32_t value,
			size_t len)
{
	uint8_t f[AGENT_FRAME_HDR + 4] = { 0 };

	agent_frame_put(f, type, session, (uint32_t)len);
	f[9] = (uint8_t)value, f[10] = (uint8_t)(value >> 8);
	f[11] = (uint8_t)(value >> 16), f[12] = (uint8_t)(value >> 24);
	/* Smaller than PIPE_BUF: all of it goes in, or none. */
	return write(m->to_guest[1], f, AGENT_FRAME_HDR + len) == (ssize_t)(AGENT_FRAME_HDR + len);
}

static bool credit_due(const struct exec_client *c)
{
	return c->fd >= 0 && !c->exited && c->credit >= EXEC_MUX_CREDIT_BATCH;
}

/* Hangups and credit, while the pipe to the guest has room. */
static void control_flush(struct exec_mux *m)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_client *c = &m->c[i];

		if (c->hangup) {
			if (!control_put(m, FRAME_HANGUP, c->session, 0, 0))
				return;
			c->hangup = false;        /* the slot is free now */
		} else if (credit_due(c)) {
			if (!control_put(m, FRAME_CREDIT, c->session, c->credit, 4))
				return;
			c->window += c->credit;
			c->credit = 0;
		}
	}
}

/* The client left (or broke its protocol). A session the agent knows gets a
 * hangup, so that its process is not left writing into a window that never
 * reopens; its slot is taken until the hangup is in the pipe. */
static void client_gone(struct exec_mux *m, struct exec_client *c)
{
	bool tell = c->known && !c->exited && !m->broken;

	client_free(c);
	c->hangup = tell;
	if (tell)
		control_flush(m);
}

/* The guest broke the protocol: nothing on this channel can be trusted. */
static void channel_break(struct exec_mux *m)
{
	size_t i;

	m->broken = true;
	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		client_free(&m->c[i]);
}

/* The client's whole frame is stdin its process has no room for yet. */
static bool client_blocked(const struct exec_client *c)
{
	return c->ready && c->frame[0] == FRAME_STDIN &&
	       c->have - AGENT_FRAME_HDR > c->in_window;
}

/* A whole frame goes into the pipe at once (it is at most PIPE_BUF), or
 * waits for room, or for stdin credit. */
static void client_flush(struct exec_mux *m, struct exec_client *c)
{
	ssize_t n;

	if (client_blocked(c))
		return;
	n = write(m->to_guest[1], c->frame, c->have);
	if (n == (ssize_t)c->have) {
		if (c->frame[0] == FRAME_STDIN)
			c->in_window -= (uint32_t)(c->have - AGENT_FRAME_HDR);
		c->have = 0;
		c->ready = false;
		c->known = true;
	} else if (n >= 0 || errno != EAGAIN) {
		client_gone(m, c);
	}
}

/* A header is read alone first, then its data: a client cannot make the
 * VMM buffer more than one frame. */
static void client_read(struct exec_mux *m, struct exec_client *c)
{
	unsigned type;
	uint32_t session, len = 0;
	ssize_t n;

	if (c->have >= AGENT_FRAME_HDR)
		agent_frame_get(c->frame, &type, &session, &len);
	n = read(c->fd, c->frame + c->have, AGENT_FRAME_HDR + len - c->have);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_gone(m, c);
		return;
	}
	c->have += (size_t)n;
	if (c->have < AGENT_FRAME_HDR)
		return;
	if (c->have == AGENT_FRAME_HDR) {
		if (agent_frame_get(c->frame, &type, &session, &len) < 0 ||
		    ((type < FRAME_CONFIG || type > FRAME_SIGNAL) && type != FRAME_UPDATE)) {
			client_gone(m, c);
			return;
		}
		agent_frame_put(c->frame, type, c->session, len);
	}
	if (c->have < AGENT_FRAME_HDR + len)
		return;
	c->ready = true;
	client_flush(m, c);
}

/* The guest's output goes to the client as fast as the client reads it,
 * never blocking the loop; what the client took is credit for the guest. */
static void client_send(struct exec_mux *m, struct exec_client *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_gone(m, c);
			return;
		}
		c->out_off += (size_t)n;
		c->out_len -= (size_t)n;
		if (!c->exited)
			c->credit += (uint32_t)n;
	}
	if (!c->out_len)
		c->out_off = 0;
	if (c->exited && !c->out_len) {
		client_free(c);         /* the client has its status: the session is over */
		return;
	}
	control_flush(m);
}

static struct exec_client *client_of(struct exec_mux *m, uint32_t session)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		if (m->c[i].fd >= 0 && m->c[i].session == session)
			return &m->c[i];
	return NULL;
}

static uint32_t get_u32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The process took stdin: its client's next frame may go. */
static void stdin_credit(struct exec_mux *m, struct exec_client *c, uint32_t len)
{
	uint32_t v;

	if (len != 4) {
		channel_break(m);
		return;
	}
	if (!c)
		return;
	v = get_u32(m->frame + AGENT_FRAME_HDR);
	/* Never past a whole window, whatever the guest says. */
	c->in_window = v > AGENT_EXEC_WINDOW - c->in_window ? AGENT_EXEC_WINDOW : c->in_window + v;
	if (c->ready)
		client_flush(m, c);
}

static void route(struct exec_mux *m)
{
	unsigned type;
	uint32_t session, len;
	struct exec_client *c;
	size_t size;

	agent_frame_get(m->frame, &type, &session, &len);
	size = AGENT_FRAME_HDR + len;
	c = client_of(m, session);
	if (type == FRAME_STDIN_CREDIT) {
		stdin_credit(m, c, len);
		return;
	}
	if (!c || c->exited)
		return;
	if (type != FRAME_EXIT && size > c->window) {
		channel_break(m);       /* output past the window: the agent ignored it */
		return;
	}
	if (type != FRAME_EXIT)
		c->window -= (uint32_t)size;
	if (c->out_off + c->out_len + size > EXEC_MUX_OUT_MAX) {
		memmove(c->out, c->out + c->out_off, c->out_len);
		c->out_off = 0;
	}
	if (c->out_len + size > EXEC_MUX_OUT_MAX) {
		channel_break(m);       /* cannot happen within the window; checked anyway */
		return;
	}
	memcpy(c->out + c->out_off + c->out_len, m->frame, size);
	c->out_len += size;
	c->exited = type == FRAME_EXIT;
	client_send(m, c);
}

void exec_mux_from_guest(struct exec_mux *m, const uint8_t *data, size_t len)
{
	while (len && !m->broken) {
		unsigned type;
		uint32_t session, flen = 0;
		size_t want = AGENT_FRAME_HDR, take;

		if (m->have >= AGENT_FRAME_HDR) {
			agent_frame_get(m->frame, &type, &session, &flen);
			want += flen;
		}
		take = want - m->have < len ? want - m->have : len;
		memcpy(m->frame + m->have, data, take);
		m->have += take;
		data += take;
		len -= take;
		if (m->have == AGENT_FRAME_HDR &&
		    (agent_frame_get(m->frame, &type, &session, &flen) < 0 || type < FRAME_STDOUT ||
		     type > FRAME_STDIN_CREDIT)) {
			channel_break(m);   /* not the agent's frames */
			return;
		}
		if (m->have >= AGENT_FRAME_HDR && m->have == AGENT_FRAME_HDR + flen) {
			route(m);
			m->have = 0;
		}
	}
}

void exec_mux_pollfds(struct exec_mux *m, struct pollfd p[EXEC_MUX_POLLFDS])
{
	bool waiting = false;
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		waiting |= (m->c[i].ready && !client_blocked(&m->c[i])) || m->c[i].hangup ||
			   credit_due(&m->c[i]);
	p[0] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = m->from_guest[0], .events = POLLIN };
	p[2] = (struct pollfd){ .fd = waiting ? m->to_guest[1] : -1, .events = POLLOUT };
	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_client *c = &m->c[i];
		short events = (short)((c->fd >= 0 && !c->ready ? POLLIN : 0) |
				       (c->fd >= 0 && c->out_len ? POLLOUT : 0));

		/* A client whose stdin waits for its process is not read, but
		 * its hangup (which poll always reports) is seen. */
		p[3 + i] = (struct pollfd){ .fd = events || client_blocked(c) ? c->fd : -1,
					    .events = events };
	}
}

void exec_mux_events(struct exec_mux *m, const struct pollfd p[EXEC_MUX_POLLFDS])
{
	size_t i;

	if (p[1].fd >= 0 && p[1].revents) {
		uint8_t buf[8192];
		ssize_t n = read(m->from_guest[0], buf, sizeof(buf));

		if (n > 0)
			exec_mux_from_guest(m, buf, (size_t)n);
	}
	if (p[2].fd >= 0 && p[2].revents)
		control_flush(m);
	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_client *c = &m->c[i];
		const struct pollfd *q = &p[3 + i];
		bool mine = q->fd >= 0 && q->fd == c->fd;

		if (mine && client_blocked(c) && (q->revents & (POLLHUP | POLLERR))) {
			client_gone(m, c);
			continue;
		}
		if (c->fd >= 0 && c->ready && p[2].fd >= 0 && p[2].revents)
			client_flush(m, c);
		if (mine && q->revents && c->out_len)
			client_send(m, c);
		/* client_send may have ended the session (EXIT delivered, or gone). */
		if (mine && q->fd == c->fd && (q->events & POLLIN) &&
		    (q->revents & (POLLIN | POLLHUP | POLLERR)) && !c->ready)
			client_read(m, c);
	}
	if (p[0].fd >= 0 && p[0].revents)
		accept_client(m);
}
