/* libFuzzer: the bytes are a hostile guest on the exec channel (hvc3) and
 * two host clients, against the VMM's exec_mux; then the agent's config
 * parser on the same bytes, with and without the magic in front.
 *
 * The clients are socketpairs in slots 0 and 1 (sessions 1 and 2, as the
 * mux numbers them). Input: operations until the bytes run out:
 *   0 GUEST  n:u8 bytes[n]       exec_mux_from_guest, in this chunk
 *   1 PIPE   n:u8 bytes[n]       the vCPU writes them; the I/O loop runs
 *   2 CLIENT k:u8 n:u8 bytes[n]  client k & 1 writes them; the I/O loop runs
 *   3 HANGUP k:u8                client k & 1 goes away; the I/O loop runs
 * n is cut to what is left. Chunks stay small so that what the mux writes
 * to a client always fits its socket: the mux's writes there block.
 *
 * A model of the protocol runs beside the mux and is the oracle: each
 * client gets exactly the frames of its session until its EXIT, the guest
 * exactly each client's frames with the client's session, a client that
 * sends a bad frame is dropped, and the first bad frame of the guest drops
 * every client and breaks the channel for good. Flow control: the clients
 * always read, so their output is delivered at once and the guest gets its
 * credit back in batches; output past a session's window breaks the
 * channel; a client that leaves after the guest heard of it, and before its
 * EXIT, is a HANGUP for the guest. A client's STDIN past its stdin window
 * waits, and the client is not read, until the guest's STDIN_CREDIT. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest/agent.h"
#include "guest/update.h"
#include "vmm/exec_mux.h"

#define CLIENTS 2

/* Frames out of a byte stream; bad at the first header that is none. */
struct reader {
	uint8_t buf[AGENT_FRAME_MAX];
	size_t have;
	unsigned type_min, type_max;
	unsigned type_also;     /* one more type taken outside the range, or 0 */
	bool bad;
};

/* Bytes one side should see, in order. */
struct expect {
	uint8_t buf[4 * AGENT_FRAME_MAX];
	size_t len;
};

struct client {
	int peer;               /* the client's end; -1 once closed */
	bool alive;             /* the model: the mux holds it */
	struct reader sent;     /* what the client wrote, as the mux reads it */
	struct expect out;      /* the guest's frames for it */
	struct expect in;       /* its frames, as the guest should get them */
	bool known;             /* a frame of it reached the guest */
	uint32_t window;        /* the model's flow control, as the mux's */
	uint32_t credit;
	uint32_t in_window;
	uint8_t unread[1 << 16];        /* written, not yet read by the mux */
	size_t unread_off, unread_len;
	uint8_t held[AGENT_FRAME_MAX];  /* a STDIN frame waiting for credit */
	size_t held_len;
};

static struct exec_mux mux;
static struct client clients[CLIENTS];
static struct reader guest, to_guest;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_exec_mux: %s: %s\n", what, strerror(errno));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* As in the VMM (from the monitor): a client gone is an EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void reader_feed(struct reader *r, const uint8_t *p, size_t n,
			void (*frame)(const uint8_t *f, size_t len, void *ctx), void *ctx)
{
	while (n && !r->bad) {
		unsigned type = 0;
		uint32_t session, len = 0;
		size_t take;

		if (r->have >= AGENT_FRAME_HDR)
			agent_frame_get(r->buf, &type, &session, &len);
		take = AGENT_FRAME_HDR + len - r->have;
		take = take < n ? take : n;
		memcpy(r->buf + r->have, p, take);
		r->have += take, p += take, n -= take;
		if (r->have == AGENT_FRAME_HDR &&
		    (agent_frame_get(r->buf, &type, &session, &len) < 0 || ((type < r->type_min ||
		       type > r->type_max) && (!r->type_also || type != r->type_also))))
			r->bad = true;
		else if (r->have >= AGENT_FRAME_HDR && r->have == AGENT_FRAME_HDR + len)
			frame(r->buf, r->have, ctx), r->have = 0;
	}
}

static void expect_add(struct expect *e, const uint8_t *f, size_t len)
{
	if (len > sizeof(e->buf) - e->len)
		__builtin_trap();       /* the harness's own limit: chunks are small */
	memcpy(e->buf + e->len, f, len);
	e->len += len;
}

static uint32_t frame_session(const uint8_t *f)
{
	unsigned type;
	uint32_t session, len;

	agent_frame_get(f, &type, &session, &len);
	return session;
}

static void client_feed(struct client *c);
static void client_forward(struct client *c, const uint8_t *f, size_t len);

/* The model: the guest's stdin credit, and what it lets go. */
static void guest_stdin_credit(const uint8_t *f, size_t len)
{
	uint32_t session = frame_session(f), v;
	struct client *c;

	if (len != AGENT_FRAME_HDR + 4) {
		guest.bad = true;
		return;
	}
	if (session < 1 || session > CLIENTS || !clients[session - 1].alive)
		return;
	c = &clients[session - 1];
	v = (uint32_t)f[9] | (uint32_t)f[10] << 8 | (uint32_t)f[11] << 16 | (uint32_t)f[12] << 24;
	c->in_window = v > AGENT_EXEC_WINDOW - c->in_window ? AGENT_EXEC_WINDOW : c->in_window + v;
	if (c->held_len && c->held_len - AGENT_FRAME_HDR <= c->in_window) {
		size_t n = c->held_len;

		c->held_len = 0;
		client_forward(c, c->held, n);
		client_feed(c);
	}
}

/* The model routes a frame of the guest. */
static void guest_frame(const uint8_t *f, size_t len, void *ctx)
{
	uint32_t session = frame_session(f);
	struct client *c;

	if (f[0] == FRAME_STDIN_CREDIT) {
		guest_stdin_credit(f, len);
		return;
	}
	if (session < 1 || session > CLIENTS || !clients[session - 1].alive)
		return;
	c = &clients[session - 1];
	if (f[0] != FRAME_EXIT && len > c->window) {
		guest.bad = true;       /* past the window: the channel breaks */
		return;
	}
	expect_add(&c->out, f, len);
	if (f[0] == FRAME_EXIT) {
		c->alive = false;
		return;
	}
	c->window -= (uint32_t)len;
	c->credit += (uint32_t)len;     /* delivered at once: the client reads */
	if (c->credit >= EXEC_MUX_CREDIT_BATCH) {
		uint8_t credit[AGENT_FRAME_HDR + 4];

		agent_frame_put(credit, FRAME_CREDIT, session, 4);
		credit[9] = (uint8_t)c->credit, credit[10] = (uint8_t)(c->credit >> 8);
		credit[11] = (uint8_t)(c->credit >> 16), credit[12] = (uint8_t)(c->credit >> 24);
		expect_add(&c->in, credit, sizeof(credit));
		c->window += c->credit;
		c->credit = 0;
	}
}

/* The model: the client left; the guest hears of it if it knew the session. */
static void client_left(struct client *c)
{
	uint8_t hangup[AGENT_FRAME_HDR];

	if (c->alive && c->known) {
		agent_frame_put(hangup, FRAME_HANGUP, (uint32_t)(c - clients) + 1, 0);
		expect_add(&c->in, hangup, sizeof(hangup));
	}
	c->alive = false;
	c->held_len = c->unread_len = 0;
}

/* The model forwards a frame of a client, under its session. */
static void client_forward(struct client *c, const uint8_t *f, size_t len)
{
	uint8_t copy[AGENT_FRAME_MAX];

	if (f[0] == FRAME_STDIN)
		c->in_window -= (uint32_t)(len - AGENT_FRAME_HDR);
	memcpy(copy, f, len);
	agent_frame_put(copy, f[0], (uint32_t)(c - clients) + 1, (uint32_t)(len - AGENT_FRAME_HDR));
	expect_add(&c->in, copy, len);
	c->known = true;
}

/* A whole frame of a client: forwarded, or held while it is stdin past the
 * window (the mux then reads no more of the client). */
static void client_frame(const uint8_t *f, size_t len, void *ctx)
{
	struct client *c = ctx;

	if (f[0] == FRAME_STDIN && len - AGENT_FRAME_HDR > c->in_window) {
		memcpy(c->held, f, len);
		c->held_len = len;
		return;
	}
	client_forward(c, f, len);
}

/* The mux reads a client byte by byte as far as the model can tell: up to
 * a held frame, or a bad one. */
static void client_feed(struct client *c)
{
	while (c->alive && !c->held_len && c->unread_len) {
		reader_feed(&c->sent, c->unread + c->unread_off, 1, client_frame, c);
		c->unread_off++, c->unread_len--;
		if (c->sent.bad)
			client_left(c);
	}
	if (!c->unread_len)
		c->unread_off = 0;
}

/* A frame arrived in the pipe to the guest: the next its client sent. */
static void to_guest_frame(const uint8_t *f, size_t len, void *ctx)
{
	uint32_t session = frame_session(f);
	struct expect *e;

	if (session < 1 || session > CLIENTS)
		__builtin_trap();
	e = &clients[session - 1].in;
	if (e->len < len || memcmp(e->buf, f, len))
		__builtin_trap();
	memmove(e->buf, e->buf + len, e->len - len);
	e->len -= len;
}

static void drain_to_guest(void)
{
	uint8_t buf[8192];
	ssize_t n;

	while ((n = read(mux.to_guest[0], buf, sizeof(buf))) > 0)
		reader_feed(&to_guest, buf, (size_t)n, to_guest_frame, NULL);
	if (to_guest.bad)
		__builtin_trap();
}

/* Turns of the VMM's I/O loop until nothing is ready. */
static void io_loop(void)
{
	int turn;

	for (turn = 0; turn < (1 << 16); turn++) {
		struct pollfd p[EXEC_MUX_POLLFDS];

		exec_mux_pollfds(&mux, p);
		if (poll(p, EXEC_MUX_POLLFDS, 0) <= 0)
			return;
		exec_mux_events(&mux, p);
		drain_to_guest();
	}
}

/* After an operation, the mux did what the model did. */
static void check(void)
{
	size_t k;

	drain_to_guest();
	if (mux.broken != guest.bad)
		__builtin_trap();
	for (k = 0; k < CLIENTS; k++) {
		struct client *c = &clients[k];
		uint8_t buf[sizeof(c->out.buf) + 1];
		size_t have = 0;
		ssize_t n;

		if (c->in.len)
			__builtin_trap();       /* a whole frame did not reach the guest */
		if (c->alive != (mux.c[k].fd >= 0))
			__builtin_trap();
		if (c->alive && (mux.c[k].window != c->window || mux.c[k].credit != c->credit ||
				 mux.c[k].out_len || mux.c[k].in_window != c->in_window ||
				 mux.c[k].ready != (c->held_len > 0)))
			__builtin_trap();       /* flow control differs from the model's */
		if (mux.c[k].hangup)
			__builtin_trap();       /* the pipe had room: the hangup is out */
		if (c->peer < 0)
			continue;
		while ((n = recv(c->peer, buf + have, sizeof(buf) - have, MSG_DONTWAIT)) > 0)
			have += (size_t)n;
		if (have != c->out.len || memcmp(buf, c->out.buf, have))
			__builtin_trap();
		c->out.len = 0;
		if (n < 0 && errno == EAGAIN) {
			if (!c->alive)
				__builtin_trap();       /* dropped but not closed */
			continue;
		}
		if (c->alive)
			__builtin_trap();       /* closed but held */
		close(c->peer);
		c->peer = -1;
	}
}

static void start(void)
{
	struct err err = { 0 };
	size_t k;

	if (exec_mux_init(&mux, -1, &err) < 0)
		die(err.msg);
	guest = (struct reader){ .type_min = FRAME_STDOUT, .type_max = FRAME_STDIN_CREDIT };
	to_guest = (struct reader){ .type_min = FRAME_CONFIG, .type_max = FRAME_HANGUP,
				    .type_also = FRAME_UPDATE };
	for (k = 0; k < CLIENTS; k++) {
		struct client *c = &clients[k];
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair");
		if (exec_mux_attach(&mux, sv[0]) < 0 || mux.c[k].fd != sv[0])
			die("attach a client");
		c->peer = sv[1];
		c->alive = true;
		c->known = false;
		c->window = c->in_window = AGENT_EXEC_WINDOW;
		c->credit = 0;
		c->held_len = c->unread_off = c->unread_len = 0;
		c->sent = (struct reader){ .type_min = FRAME_CONFIG, .type_max = FRAME_SIGNAL,
					   .type_also = FRAME_UPDATE };
		c->out.len = c->in.len = 0;
	}
}

static void stop(void)
{
	size_t k;

	exec_mux_destroy(&mux);
	for (k = 0; k < CLIENTS; k++)
		if (clients[k].peer >= 0)
			close(clients[k].peer);
}

static void from_guest(const uint8_t *p, size_t n)
{
	size_t k;

	reader_feed(&guest, p, n, guest_frame, NULL);
	if (guest.bad)
		for (k = 0; k < CLIENTS; k++)
			clients[k].alive = false;
}

static void client_write(struct client *c, const uint8_t *p, size_t n)
{
	if (c->peer < 0)
		return;
	if (n && write(c->peer, p, n) != (ssize_t)n)
		die("write a client");
	if (c->alive) {
		if (n > sizeof(c->unread) - c->unread_off - c->unread_len)
			__builtin_trap();       /* the harness's own limit: inputs are small */
		memcpy(c->unread + c->unread_off + c->unread_len, p, n);
		c->unread_len += n;
		client_feed(c);
	}
	io_loop();
}

static void client_hangup(struct client *c)
{
	if (c->peer >= 0)
		close(c->peer);
	c->peer = -1;
	client_left(c);
	io_loop();
}

static void run(const uint8_t *data, size_t size)
{
	size_t i = 0;

	while (i < size) {
		unsigned op = data[i++] & 3, k = 0;
		size_t n;

		if (op >= 2 && i < size)
			k = data[i++] & 1;
		if (op == 3) {
			client_hangup(&clients[k]);
			check();
			continue;
		}
		n = i < size ? data[i++] : 0;
		n = n < size - i ? n : size - i;
		if (op == 0) {
			from_guest(data + i, n);
			exec_mux_from_guest(&mux, data + i, n);
			io_loop();      /* credit may have let a client's frames go */
		} else if (op == 1) {
			from_guest(data + i, n);
			if (n && write(mux.from_guest[1], data + i, n) != (ssize_t)n)
				die("write the guest's pipe");
			io_loop();
		} else {
			client_write(&clients[k], data + i, n);
		}
		i += n;
		check();
	}
}

static void parse_config(const uint8_t *data, size_t size)
{
	struct agent_update u;
	struct agent_process p;
	uint8_t *buf = malloc(AGENT_MAGIC_LEN + size);

	if (!buf)
		die("malloc");
	if (agent_config_parse(data, size, &p) == 0)
		agent_process_free(&p);
	/* FRAME_UPDATE's records: what parses has only allowed files, NUL-ended. */
	if (agent_update_parse(data, size, &u) == 0)
		for (size_t k = 0; k < u.n; k++)
			if (!memchr(u.set[k].file, 0, sizeof(u.set[k].file)) ||
			    !memchr(u.set[k].value, 0, sizeof(u.set[k].value)) ||
			    strchr(u.set[k].file, '/'))
				__builtin_trap();
	memcpy(buf, AGENT_MAGIC, AGENT_MAGIC_LEN);
	memcpy(buf + AGENT_MAGIC_LEN, data, size);
	if (agent_config_parse(buf, AGENT_MAGIC_LEN + size, &p) == 0) {
		if (!p.argv || !p.argv[0] || !p.envp || !p.cwd)
			__builtin_trap();
		agent_process_free(&p);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	start();
	run(data, size);
	stop();
	parse_config(data, size);
	return 0;
}
