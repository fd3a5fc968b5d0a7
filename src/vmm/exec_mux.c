#include "vmm/exec_mux.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/fs.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void client_drop(struct exec_client *c)
{
	close_fd(&c->fd);
	c->have = 0;
	c->ready = false;
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
	 * guest's output block, which is the guest's back-pressure. */
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
		client_drop(&m->c[i]);
	close_fd(&m->listen_fd);
	for (i = 0; i < 2; i++) {
		close_fd(&m->to_guest[i]);
		close_fd(&m->from_guest[i]);
	}
}

static void accept_client(struct exec_mux *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	size_t i;

	if (fd < 0)
		return;
	/* A guest that broke the channel sends nothing back: the client would
	 * wait for its output forever. */
	for (i = 0; i < AGENT_MAX_SESSIONS && !m->broken; i++) {
		if (m->c[i].fd >= 0)
			continue;
		m->c[i].fd = fd;
		m->c[i].session = ++m->next_session;
		m->c[i].have = 0;
		m->c[i].ready = false;
		return;
	}
	close(fd);      /* as many sessions as the agent takes are open, or none can be */
}

/* A whole frame goes into the pipe at once (it is at most PIPE_BUF), or
 * waits for room. */
static void client_flush(struct exec_mux *m, struct exec_client *c)
{
	ssize_t n = write(m->to_guest[1], c->frame, c->have);

	if (n == (ssize_t)c->have) {
		c->have = 0;
		c->ready = false;
	} else if (n >= 0 || errno != EAGAIN) {
		client_drop(c);
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
		client_drop(c);
		return;
	}
	c->have += (size_t)n;
	if (c->have < AGENT_FRAME_HDR)
		return;
	if (c->have == AGENT_FRAME_HDR) {
		if (agent_frame_get(c->frame, &type, &session, &len) < 0 || type < FRAME_CONFIG ||
		    type > FRAME_SIGNAL) {
			client_drop(c);
			return;
		}
		agent_frame_put(c->frame, type, c->session, len);
	}
	if (c->have < AGENT_FRAME_HDR + len)
		return;
	c->ready = true;
	client_flush(m, c);
}

static struct exec_client *client_of(struct exec_mux *m, uint32_t session)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		if (m->c[i].fd >= 0 && m->c[i].session == session)
			return &m->c[i];
	return NULL;
}

static void route(struct exec_mux *m)
{
	unsigned type;
	uint32_t session, len;
	struct exec_client *c;

	agent_frame_get(m->frame, &type, &session, &len);
	c = client_of(m, session);
	if (!c)
		return;
	/* The client reads until EXIT: a blocking write is its back-pressure. */
	if (write_all(c->fd, m->frame, AGENT_FRAME_HDR + len) < 0 || type == FRAME_EXIT)
		client_drop(c);
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
		     type > FRAME_EXIT)) {
			size_t i;

			/* Not the agent's frames: nothing on this channel can be trusted. */
			m->broken = true;
			for (i = 0; i < AGENT_MAX_SESSIONS; i++)
				client_drop(&m->c[i]);
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
		waiting |= m->c[i].ready;
	p[0] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = m->from_guest[0], .events = POLLIN };
	p[2] = (struct pollfd){ .fd = waiting ? m->to_guest[1] : -1, .events = POLLOUT };
	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_client *c = &m->c[i];

		p[3 + i] = (struct pollfd){ .fd = c->ready ? -1 : c->fd, .events = POLLIN };
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
	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct exec_client *c = &m->c[i];

		if (c->fd >= 0 && c->ready && p[2].fd >= 0 && p[2].revents)
			client_flush(m, c);
		else if (p[3 + i].fd >= 0 && p[3 + i].fd == c->fd && p[3 + i].revents)
			client_read(m, c);
	}
	if (p[0].fd >= 0 && p[0].revents)
		accept_client(m);
}
