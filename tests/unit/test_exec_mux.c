/* The VMM's exec multiplexer without a VM: real host clients on a unix
 * socket, and a hostile guest's bytes fed to exec_mux_from_guest in every
 * split, with garbage that must end the channel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/unixsock.h"
#include "vmm/exec_mux.h"

struct fixture {
	char dir[64];
	char path[96];
	struct exec_mux m;
};

static void mux_open(struct fixture *f)
{
	struct err err = { 0 };
	int lfd = unix_listen(f->path, &err);

	assert_true(lfd >= 0);
	assert_int_equal(exec_mux_init(&f->m, lfd, &err), 0);
}

static void mux_close(struct fixture *f)
{
	exec_mux_destroy(&f->m);
	unlink(f->path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/isobox_test_exec_mux.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/exec.sock", f->dir);
	mux_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mux_close(f);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* One turn of the VMM's I/O loop. */
static void pump(struct exec_mux *m)
{
	struct pollfd p[EXEC_MUX_POLLFDS];

	exec_mux_pollfds(m, p);
	if (poll(p, EXEC_MUX_POLLFDS, 10) < 0)
		fail_msg("poll: %s", strerror(errno));
	exec_mux_events(m, p);
}

/* A header and its data are read in turns of their own. */
static void pump_n(struct exec_mux *m, int n)
{
	while (n--)
		pump(m);
}

static size_t frame(uint8_t *buf, unsigned type, uint32_t session, const char *data)
{
	size_t len = strlen(data);

	agent_frame_put(buf, type, session, (uint32_t)len);
	memcpy(buf + AGENT_FRAME_HDR, data, len);
	return AGENT_FRAME_HDR + len;
}

static size_t slots_used(const struct exec_mux *m)
{
	size_t i, n = 0;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		n += m->c[i].fd >= 0;
	return n;
}

/* A client the mux has accepted, in slot (its session is the slot's). */
static int client_connect(struct fixture *f, size_t slot)
{
	struct err err = { 0 };
	int fd = unix_connect(f->path, &err);

	assert_true(fd >= 0);
	pump(&f->m);
	assert_true(f->m.c[slot].fd >= 0);
	return fd;
}

static void send_bytes(int fd, const void *data, size_t len)
{
	assert_int_equal(write(fd, data, len), (ssize_t)len);
}

/* want arrives on fd, byte for byte. */
static void expect_bytes(int fd, const uint8_t *want, size_t len)
{
	uint8_t got[2 * AGENT_FRAME_MAX];
	size_t have = 0;

	assert_true(len <= sizeof(got));
	while (have < len) {
		ssize_t n = recv(fd, got + have, len - have, MSG_DONTWAIT);

		assert_true(n > 0);
		have += (size_t)n;
	}
	assert_memory_equal(got, want, len);
}

static void expect_frame(int fd, unsigned type, uint32_t session, const char *data)
{
	uint8_t want[AGENT_FRAME_MAX];

	expect_bytes(fd, want, frame(want, type, session, data));
}

static void expect_nothing(int fd)
{
	uint8_t b;

	assert_int_equal(recv(fd, &b, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* want, and nothing more waiting. */
static void expect_only(int fd, const uint8_t *want, size_t len)
{
	expect_bytes(fd, want, len);
	expect_nothing(fd);
}

/* The mux closed its end: EOF, or a reset when the client's last bytes
 * were left unread. */
static void expect_eof(int fd)
{
	uint8_t b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);

	if (n != 0 && !(n < 0 && errno == ECONNRESET))
		fail_msg("the connection is still open (recv: %zd, %s)", n, strerror(errno));
}

/* What the VMM put in the pipe to the guest (non-blocking). */
static void expect_to_guest(struct exec_mux *m, const uint8_t *want, size_t len)
{
	uint8_t got[2 * AGENT_FRAME_MAX];
	ssize_t n = read(m->to_guest[0], got, sizeof(got));

	if (!len) {
		assert_int_equal(n, -1);
		assert_int_equal(errno, EAGAIN);
		return;
	}
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, want, len);
}

static void test_sessions_numbered_by_vmm(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);
	uint8_t buf[64], want[64];
	size_t n;

	assert_int_equal(f->m.c[0].session, 1);
	assert_int_equal(f->m.c[1].session, 2);
	/* Whatever session the client writes, the guest sees the VMM's. */
	n = frame(buf, FRAME_STDIN, 77, "hi");
	send_bytes(a, buf, n);
	pump_n(&f->m, 2);
	expect_to_guest(&f->m, want, frame(want, FRAME_STDIN, 1, "hi"));
	n = frame(buf, FRAME_RESIZE, 0, "24 80");
	send_bytes(b, buf, n);
	pump_n(&f->m, 2);
	expect_to_guest(&f->m, want, frame(want, FRAME_RESIZE, 2, "24 80"));
	/* A session ends; the next client gets a new number, not a reused one. */
	close(a);
	pump(&f->m);
	assert_int_equal(f->m.c[0].fd, -1);
	a = client_connect(f, 0);
	assert_int_equal(f->m.c[0].session, 3);
	close(a);
	close(b);
}

static void test_client_frame_in_pieces(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0);
	uint8_t buf[256], want[256];
	char data[101];
	size_t n, i;

	memset(data, 'c', 100);
	data[100] = '\0';
	n = frame(buf, FRAME_CONFIG, 0xffffffff, data);
	for (i = 0; i < n; i++) {
		send_bytes(a, buf + i, 1);
		pump(&f->m);
		if (i + 1 < n)
			expect_to_guest(&f->m, NULL, 0);
	}
	expect_to_guest(&f->m, want, frame(want, FRAME_CONFIG, 1, data));
	/* A frame without data, and two frames in one write. */
	n = frame(buf, FRAME_STDIN_EOF, 0, "");
	n += frame(buf + n, FRAME_SIGNAL, 0, "15");
	send_bytes(a, buf, n);
	pump_n(&f->m, 4);
	n = frame(want, FRAME_STDIN_EOF, 1, "");
	n += frame(want + n, FRAME_SIGNAL, 1, "15");
	expect_to_guest(&f->m, want, n);
	close(a);
}

static void test_client_largest_frame(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0);
	static uint8_t buf[AGENT_FRAME_MAX], want[AGENT_FRAME_MAX];

	agent_frame_put(buf, FRAME_STDIN, 0, AGENT_FRAME_DATA);
	memset(buf + AGENT_FRAME_HDR, 'x', AGENT_FRAME_DATA);
	memcpy(want, buf, sizeof(want));
	agent_frame_put(want, FRAME_STDIN, 1, AGENT_FRAME_DATA);
	send_bytes(a, buf, sizeof(buf));
	pump_n(&f->m, 4);
	expect_to_guest(&f->m, want, sizeof(want));
	assert_true(f->m.c[0].fd >= 0);
	close(a);
}

/* A client that speaks anything but host frames is dropped, before any of
 * the bad frame reaches the guest. */
/* runc's update: a frame of its own, to the guest under the VMM's session. */
static void test_client_update_frame(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0);
	uint8_t buf[64], want[64];
	size_t n = frame(buf, FRAME_UPDATE, 5, "limits");

	send_bytes(a, buf, n);
	pump_n(&f->m, 2);
	expect_to_guest(&f->m, want, frame(want, FRAME_UPDATE, f->m.c[0].session, "limits"));
	close(a);
}

static void test_client_bad_frames_dropped(void **state)
{
	struct fixture *f = *state;
	const struct {
		unsigned type;
		uint32_t len;
	} bad[] = {
		{ 0, 0 }, { FRAME_CREDIT, 4 }, { FRAME_HANGUP, 0 }, { 9, 0 }, { FRAME_STDOUT, 1 }, { FRAME_STDERR, 0 }, { FRAME_EXIT, 1 },
		{ 255, 0 }, { FRAME_STDIN, AGENT_FRAME_DATA + 1 }, { FRAME_CONFIG, 0xffffffff },
		{ FRAME_START, 1u << 31 }, { FRAME_STDIN_CREDIT, 4 }, { FRAME_UPDATE + 1, 0 },
		{ FRAME_UPDATE, AGENT_FRAME_DATA + 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int a = client_connect(f, 0), b = client_connect(f, 1);
		uint8_t buf[64], want[64];
		size_t n = frame(buf, FRAME_STDIN, 0, "ok");
		uint32_t sa = f->m.c[0].session;

		agent_frame_put(buf + n, bad[i].type, 0, bad[i].len);
		memset(buf + n + AGENT_FRAME_HDR, 'z', 8);
		send_bytes(a, buf, n + AGENT_FRAME_HDR + 8);
		pump_n(&f->m, 4);
		/* The agent had the session: it hears that the client is gone. */
		n = frame(want, FRAME_STDIN, sa, "ok");
		agent_frame_put(want + n, FRAME_HANGUP, sa, 0);
		expect_to_guest(&f->m, want, n + AGENT_FRAME_HDR);
		expect_eof(a);
		assert_int_equal(f->m.c[0].fd, -1);
		/* The other session is not touched. */
		assert_true(f->m.c[1].fd >= 0);
		expect_nothing(b);
		close(a);
		close(b);
		pump(&f->m);
		assert_int_equal(slots_used(&f->m), 0);
	}
}

static void test_sessions_full(void **state)
{
	struct fixture *f = *state;
	int fds[AGENT_MAX_SESSIONS + 1];
	struct err err = { 0 };
	size_t i;

	for (i = 0; i < AGENT_MAX_SESSIONS; i++)
		fds[i] = client_connect(f, i);
	fds[i] = unix_connect(f->path, &err);
	assert_true(fds[i] >= 0);
	pump(&f->m);
	expect_eof(fds[i]);
	for (i = 0; i < AGENT_MAX_SESSIONS; i++) {
		expect_nothing(fds[i]);
		close(fds[i]);
	}
	close(fds[AGENT_MAX_SESSIONS]);
}

/* With the pipe to the guest full, a whole frame waits (the client is not
 * read meanwhile) and goes in order once there is room. */
static void test_pipe_full_waits(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0);
	uint8_t fill[AGENT_FRAME_MAX] = { 0 }, buf[64], want[64], junk[AGENT_FRAME_MAX];
	struct pollfd p[EXEC_MUX_POLLFDS];
	size_t n;

	while (write(f->m.to_guest[1], fill, sizeof(fill)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	n = frame(buf, FRAME_STDIN, 0, "first");
	n += frame(buf + n, FRAME_STDIN, 0, "second");
	send_bytes(a, buf, n);
	pump_n(&f->m, 3);
	assert_true(f->m.c[0].ready);
	exec_mux_pollfds(&f->m, p);
	assert_int_equal(p[2].fd, f->m.to_guest[1]);
	assert_int_equal(p[3].fd, -1);
	while (read(f->m.to_guest[0], junk, sizeof(junk)) > 0)
		;
	pump_n(&f->m, 4);
	n = frame(want, FRAME_STDIN, 1, "first");
	n += frame(want + n, FRAME_STDIN, 1, "second");
	expect_to_guest(&f->m, want, n);
	close(a);
}

static void test_guest_frames_routed(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);
	uint8_t buf[256], want[256];
	size_t n, w;

	n = frame(buf, FRAME_STDOUT, 1, "one");
	n += frame(buf + n, FRAME_STDERR, 2, "two");
	n += frame(buf + n, FRAME_STDOUT, 1, "");
	n += frame(buf + n, FRAME_STDERR, 1, "three");
	exec_mux_from_guest(&f->m, buf, n);
	w = frame(want, FRAME_STDOUT, 1, "one");
	w += frame(want + w, FRAME_STDOUT, 1, "");
	w += frame(want + w, FRAME_STDERR, 1, "three");
	expect_only(a, want, w);
	expect_frame(b, FRAME_STDERR, 2, "two");
	expect_nothing(b);
	/* Through the pipe, as the vCPU writes it. */
	n = frame(buf, FRAME_STDOUT, 2, "piped");
	assert_int_equal(write(f->m.from_guest[1], buf, n), (ssize_t)n);
	pump(&f->m);
	expect_frame(b, FRAME_STDOUT, 2, "piped");
	expect_nothing(a);
	close(a);
	close(b);
}

/* Two frames and an empty one, cut at every byte, and byte by byte. */
static void test_guest_split_everywhere(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);
	uint8_t buf[256], wa[128], wb[64];
	size_t n, na, nb, cut, i;

	n = frame(buf, FRAME_STDOUT, 1, "hello");
	n += frame(buf + n, FRAME_STDERR, 2, "world!");
	n += frame(buf + n, FRAME_STDOUT, 1, "");
	na = frame(wa, FRAME_STDOUT, 1, "hello");
	na += frame(wa + na, FRAME_STDOUT, 1, "");
	nb = frame(wb, FRAME_STDERR, 2, "world!");
	for (cut = 0; cut <= n; cut++) {
		exec_mux_from_guest(&f->m, buf, cut);
		exec_mux_from_guest(&f->m, buf + cut, n - cut);
		expect_only(a, wa, na);
		expect_only(b, wb, nb);
	}
	for (i = 0; i < n; i++)
		exec_mux_from_guest(&f->m, buf + i, 1);
	expect_only(a, wa, na);
	expect_only(b, wb, nb);
	assert_false(f->m.broken);
	close(a);
	close(b);
}

static void test_guest_largest_frame(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0);
	static uint8_t buf[AGENT_FRAME_MAX];

	agent_frame_put(buf, FRAME_STDOUT, 1, AGENT_FRAME_DATA);
	memset(buf + AGENT_FRAME_HDR, 'o', AGENT_FRAME_DATA);
	exec_mux_from_guest(&f->m, buf, 100);
	exec_mux_from_guest(&f->m, buf + 100, sizeof(buf) - 100);
	expect_only(a, buf, sizeof(buf));
	assert_false(f->m.broken);
	close(a);
}

/* Frames nobody holds are skipped whole: their data, even when it looks
 * like a bad header, does not desynchronise the channel. */
static void test_guest_unknown_session_dropped(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);
	const uint32_t nobody[] = { 0, 3, 99, 0x100, 0x10000, 0x1000000, 0xffffffff };
	uint8_t buf[512], evil[AGENT_FRAME_HDR];
	size_t n = 0, i;

	agent_frame_put(evil, 255, 1, 0xffffffff);
	for (i = 0; i < sizeof(nobody) / sizeof(nobody[0]); i++) {
		agent_frame_put(buf + n, FRAME_STDOUT + i % 3, nobody[i], AGENT_FRAME_HDR);
		memcpy(buf + n + AGENT_FRAME_HDR, evil, sizeof(evil));
		n += 2 * AGENT_FRAME_HDR;
	}
	n += frame(buf + n, FRAME_STDOUT, 2, "still here");
	exec_mux_from_guest(&f->m, buf, n);
	assert_false(f->m.broken);
	expect_nothing(a);
	expect_frame(b, FRAME_STDOUT, 2, "still here");
	expect_nothing(b);
	assert_int_equal(slots_used(&f->m), 2);
	close(a);
	close(b);
}

/* A header no agent sends ends the channel: every client is dropped and
 * all later input is ignored, wherever it is cut. */
static void test_guest_garbage_breaks_channel(void **state)
{
	struct fixture *f = *state;
	const struct {
		unsigned type;
		uint32_t len;
	} bad[] = {
		{ FRAME_STDOUT, AGENT_FRAME_DATA + 1 }, { FRAME_EXIT, 0xffffffff },
		{ FRAME_STDERR, 1u << 16 }, { 0, 0 }, { FRAME_CONFIG, 1 }, { FRAME_SIGNAL, 2 },
		{ FRAME_STDIN, 0 }, { 15, 0 }, { FRAME_STDIN_CREDIT, 0 }, { FRAME_STDIN_CREDIT, 3 },
		{ FRAME_STDIN_CREDIT, 5 }, { 20, 0 }, { 255, 3 },
	};
	size_t i, step;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (step = 1; step <= 64; step *= 4) {
			int a = client_connect(f, 0), b = client_connect(f, 1);
			uint8_t buf[256], junk[256];
			size_t n = frame(buf, FRAME_STDOUT, f->m.c[0].session, "before"), off, w;
			uint32_t sa = f->m.c[0].session, sb = f->m.c[1].session;

			agent_frame_put(buf + n, bad[i].type, sb, bad[i].len);
			n += AGENT_FRAME_HDR;
			n += frame(buf + n, FRAME_STDOUT, sb, "after");
			for (off = 0; off < n; off += w) {
				w = n - off < step ? n - off : step;
				exec_mux_from_guest(&f->m, buf + off, w);
			}
			assert_true(f->m.broken);
			expect_frame(a, FRAME_STDOUT, sa, "before");
			expect_eof(a);
			expect_eof(b);
			assert_int_equal(slots_used(&f->m), 0);
			/* Later input, good or bad, large or small, changes nothing. */
			exec_mux_from_guest(&f->m, buf, n);
			memset(junk, 0xff, sizeof(junk));
			exec_mux_from_guest(&f->m, junk, sizeof(junk));
			assert_int_equal(write(f->m.from_guest[1], buf, n), (ssize_t)n);
			pump(&f->m);
			assert_int_equal(read(f->m.from_guest[0], junk, sizeof(junk)), -1);
			assert_int_equal(errno, EAGAIN);
			close(a);
			close(b);
			mux_close(f);
			mux_open(f);
		}
	}
}

static void test_guest_exit_closes_client(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);
	uint8_t buf[128], want[128];
	size_t n, w;

	n = frame(buf, FRAME_STDOUT, 1, "bye");
	n += frame(buf + n, FRAME_EXIT, 1, "3");
	n += frame(buf + n, FRAME_STDOUT, 1, "too late");
	n += frame(buf + n, FRAME_STDOUT, 2, "b");
	exec_mux_from_guest(&f->m, buf, n);
	w = frame(want, FRAME_STDOUT, 1, "bye");
	w += frame(want + w, FRAME_EXIT, 1, "3");
	expect_bytes(a, want, w);
	expect_eof(a);
	assert_int_equal(f->m.c[0].fd, -1);
	expect_frame(b, FRAME_STDOUT, 2, "b");
	assert_false(f->m.broken);
	close(a);
	close(b);
}

/* A client gone before its output arrives is dropped, not the VMM. */
static void test_guest_output_to_gone_client(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);
	uint8_t buf[64];
	size_t n;

	close(a);
	n = frame(buf, FRAME_STDOUT, 1, "x");
	exec_mux_from_guest(&f->m, buf, n);
	exec_mux_from_guest(&f->m, buf, n);
	assert_int_equal(f->m.c[0].fd, -1);
	n = frame(buf, FRAME_STDOUT, 2, "y");
	exec_mux_from_guest(&f->m, buf, n);
	expect_frame(b, FRAME_STDOUT, 2, "y");
	close(b);
}

/* Once the guest broke the channel nothing can come back from it: a new
 * client is refused at once, rather than waiting for output forever. */
static void test_broken_channel_refuses_clients(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	uint8_t bad[AGENT_FRAME_HDR];
	int a;

	agent_frame_put(bad, 0, 0, 0);
	exec_mux_from_guest(&f->m, bad, sizeof(bad));
	assert_true(f->m.broken);
	a = unix_connect(f->path, &err);
	assert_true(a >= 0);
	pump(&f->m);
	assert_int_equal(slots_used(&f->m), 0);
	expect_eof(a);
	close(a);
}

static void test_without_listener(void **state)
{
	struct exec_mux m;
	struct err err = { 0 };
	struct pollfd p[EXEC_MUX_POLLFDS];
	uint8_t buf[64];
	size_t n, i;

	assert_int_equal(exec_mux_init(&m, -1, &err), 0);
	exec_mux_pollfds(&m, p);
	assert_int_equal(p[0].fd, -1);
	assert_int_equal(p[2].fd, -1);
	for (i = 3; i < EXEC_MUX_POLLFDS; i++)
		assert_int_equal(p[i].fd, -1);
	n = frame(buf, FRAME_STDOUT, 1, "nobody");
	n += frame(buf + n, FRAME_EXIT, 1, "0");
	exec_mux_from_guest(&m, buf, n);
	assert_false(m.broken);
	assert_int_equal(poll(p, EXEC_MUX_POLLFDS, 0), 0);
	exec_mux_events(&m, p);
	exec_mux_destroy(&m);
}

/* The mux's end of the client in slot: a small send buffer, so that a
 * client that does not read is soon full. */
static void client_shrink(struct fixture *f, size_t slot)
{
	int size = 4096;

	assert_int_equal(setsockopt(f->m.c[slot].fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
}

/* The guest sends a session a whole window of output, in whole frames. */
static void guest_fill_window(struct exec_mux *m, uint32_t session)
{
	static uint8_t buf[AGENT_FRAME_MAX];
	size_t sent;

	agent_frame_put(buf, FRAME_STDOUT, session, AGENT_FRAME_DATA);
	memset(buf + AGENT_FRAME_HDR, 'y', AGENT_FRAME_DATA);
	for (sent = 0; sent < AGENT_EXEC_WINDOW; sent += sizeof(buf))
		exec_mux_from_guest(m, buf, sizeof(buf));
}

/* The CREDIT frames in the pipe to the guest, summed; anything else fails. */
static uint32_t credit_to_guest(struct exec_mux *m, uint32_t session)
{
	uint8_t f[AGENT_FRAME_HDR + 4];
	uint32_t sum = 0;

	while (read(m->to_guest[0], f, AGENT_FRAME_HDR) == AGENT_FRAME_HDR) {
		unsigned type;
		uint32_t s, len;

		assert_int_equal(agent_frame_get(f, &type, &s, &len), 0);
		assert_int_equal(type, FRAME_CREDIT);
		assert_int_equal(s, session);
		assert_int_equal(len, 4);
		assert_int_equal(read(m->to_guest[0], f + AGENT_FRAME_HDR, 4), 4);
		sum += (uint32_t)f[9] | (uint32_t)f[10] << 8 | (uint32_t)f[11] << 16 |
		       (uint32_t)f[12] << 24;
	}
	return sum;
}

/* A client that stops reading holds its own output only: the VMM never
 * blocks on it, and the other session's output still goes through. */
static void test_slow_client_holds_only_its_session(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);
	struct pollfd p[EXEC_MUX_POLLFDS];

	client_shrink(f, 0);
	guest_fill_window(&f->m, 1);
	assert_false(f->m.broken);
	assert_int_equal(f->m.c[0].window, 0);
	assert_true(f->m.c[0].out_len > 0);
	assert_true(f->m.c[0].out_len <= EXEC_MUX_OUT_MAX);
	exec_mux_pollfds(&f->m, p);
	assert_int_equal(p[3].fd, f->m.c[0].fd);
	assert_true(p[3].events & POLLOUT);
	/* Session 2 is not held up. */
	exec_mux_from_guest(&f->m, (uint8_t[]){ FRAME_STDOUT, 2, 0, 0, 0, 1, 0, 0, 0, 'b' }, 10);
	expect_frame(b, FRAME_STDOUT, 2, "b");
	/* Its EXIT needs no credit, and waits behind the output. */
	exec_mux_from_guest(&f->m, (uint8_t[]){ FRAME_EXIT, 1, 0, 0, 0, 1, 0, 0, 0, '0' }, 10);
	assert_true(f->m.c[0].exited);
	assert_true(f->m.c[0].fd >= 0);
	close(a);
	close(b);
}

/* What the client reads comes back to the guest as credit, in batches,
 * until the whole window is open again. */
static void test_credit_as_client_reads(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0);
	uint8_t buf[AGENT_FRAME_MAX];
	size_t got = 0;
	uint32_t credit = 0;
	int turns;

	client_shrink(f, 0);
	guest_fill_window(&f->m, 1);
	for (turns = 0; got < AGENT_EXEC_WINDOW && turns < 10000; turns++) {
		ssize_t n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			got += (size_t)n;
		pump(&f->m);
		credit += credit_to_guest(&f->m, 1);
		assert_true(f->m.c[0].window == credit);
	}
	assert_int_equal(got, AGENT_EXEC_WINDOW);
	assert_int_equal(f->m.c[0].out_len, 0);
	assert_int_equal(credit + f->m.c[0].credit, AGENT_EXEC_WINDOW);
	assert_true(f->m.c[0].credit < EXEC_MUX_CREDIT_BATCH);
	assert_true(credit >= AGENT_EXEC_WINDOW - EXEC_MUX_CREDIT_BATCH);
	close(a);
}

/* Output past the window is the agent ignoring the protocol. */
static void test_guest_past_window_breaks_channel(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);

	client_shrink(f, 0);
	guest_fill_window(&f->m, 1);
	assert_false(f->m.broken);
	exec_mux_from_guest(&f->m, (uint8_t[]){ FRAME_STDERR, 1, 0, 0, 0, 0, 0, 0, 0 }, 9);
	assert_true(f->m.broken);
	assert_int_equal(slots_used(&f->m), 0);
	expect_eof(b);
	close(a);
	close(b);
}

/* A client that leaves is a hangup for the agent, once the agent has its
 * session and before its EXIT; the slot waits for room in the pipe. */
static void test_client_gone_hangs_up(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1), c;
	uint8_t fill[AGENT_FRAME_MAX] = { 0 }, buf[64], want[64], junk[AGENT_FRAME_MAX];
	size_t n;

	/* Never heard of by the agent: nothing to tell. */
	close(b);
	pump(&f->m);
	assert_int_equal(f->m.c[1].fd, -1);
	assert_false(f->m.c[1].hangup);
	expect_to_guest(&f->m, NULL, 0);
	/* Known, with the pipe full: the hangup waits, and holds the slot. */
	n = frame(buf, FRAME_START, 0, "cfg");
	send_bytes(a, buf, n);
	pump_n(&f->m, 2);
	expect_to_guest(&f->m, want, frame(want, FRAME_START, 1, "cfg"));
	while (write(f->m.to_guest[1], fill, sizeof(fill)) > 0)
		;
	close(a);
	pump(&f->m);
	assert_int_equal(f->m.c[0].fd, -1);
	assert_true(f->m.c[0].hangup);
	c = client_connect(f, 1);
	assert_int_equal(f->m.c[1].session, 3);
	while (read(f->m.to_guest[0], junk, sizeof(junk)) > 0)
		;
	pump(&f->m);
	assert_false(f->m.c[0].hangup);
	agent_frame_put(want, FRAME_HANGUP, 1, 0);
	expect_to_guest(&f->m, want, AGENT_FRAME_HDR);
	/* After its EXIT the session is over: no hangup. */
	n = frame(buf, FRAME_STDIN, 0, "x");
	send_bytes(c, buf, n);
	pump_n(&f->m, 2);
	expect_to_guest(&f->m, want, frame(want, FRAME_STDIN, 3, "x"));
	exec_mux_from_guest(&f->m, (uint8_t[]){ FRAME_EXIT, 3, 0, 0, 0, 1, 0, 0, 0, '0' }, 10);
	expect_frame(c, FRAME_EXIT, 3, "0");
	assert_int_equal(f->m.c[1].fd, -1);
	close(c);
	pump(&f->m);
	expect_to_guest(&f->m, NULL, 0);
}

static void guest_stdin_credit(struct exec_mux *m, uint32_t session, uint32_t v)
{
	uint8_t f[AGENT_FRAME_HDR + 4];

	agent_frame_put(f, FRAME_STDIN_CREDIT, session, 4);
	f[9] = (uint8_t)v, f[10] = (uint8_t)(v >> 8), f[11] = (uint8_t)(v >> 16);
	f[12] = (uint8_t)(v >> 24);
	exec_mux_from_guest(m, f, sizeof(f));
}

/* The client sends whole-data STDIN frames until one waits for credit;
 * how many went to the guest. */
static size_t client_fill_stdin(struct fixture *f, int fd)
{
	static uint8_t buf[AGENT_FRAME_MAX], junk[2 * AGENT_FRAME_MAX];
	size_t sent = 0;
	int i;

	agent_frame_put(buf, FRAME_STDIN, 0, AGENT_FRAME_DATA);
	memset(buf + AGENT_FRAME_HDR, 'i', AGENT_FRAME_DATA);
	for (i = 0; i < 20; i++)
		send_bytes(fd, buf, sizeof(buf));
	for (i = 0; i < 100; i++) {
		ssize_t n;

		pump(&f->m);
		while ((n = read(f->m.to_guest[0], junk, sizeof(junk))) > 0)
			sent += (size_t)n;
	}
	return sent / AGENT_FRAME_MAX;
}

/* A process that does not take its stdin holds its client only: the VMM
 * stops reading that client, and the guest's credit lets it go on. */
static void test_stdin_waits_for_credit(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0), b = client_connect(f, 1);
	struct pollfd p[EXEC_MUX_POLLFDS];
	uint8_t buf[64], want[64], junk[2 * AGENT_FRAME_MAX];
	size_t n;

	assert_int_equal(client_fill_stdin(f, a), AGENT_EXEC_WINDOW / AGENT_FRAME_DATA);
	assert_true(f->m.c[0].ready);
	assert_true(f->m.c[0].in_window < AGENT_FRAME_DATA);
	exec_mux_pollfds(&f->m, p);
	assert_int_equal(p[2].fd, -1);           /* nothing to write: no busy loop */
	assert_int_equal(p[3].fd, f->m.c[0].fd);
	assert_int_equal(p[3].events, 0);
	/* The other session's stdin goes on. */
	n = frame(buf, FRAME_STDIN, 0, "b");
	send_bytes(b, buf, n);
	pump_n(&f->m, 2);
	expect_to_guest(&f->m, want, frame(want, FRAME_STDIN, 2, "b"));
	/* Credit for another session, or not enough, frees nothing. */
	guest_stdin_credit(&f->m, 2, AGENT_EXEC_WINDOW);
	guest_stdin_credit(&f->m, 99, AGENT_EXEC_WINDOW);
	guest_stdin_credit(&f->m, 1, 1);
	assert_true(f->m.c[0].ready);
	expect_to_guest(&f->m, NULL, 0);
	/* Enough: the waiting frame goes at once. */
	guest_stdin_credit(&f->m, 1, AGENT_FRAME_DATA);
	assert_false(f->m.c[0].ready);
	assert_int_equal(read(f->m.to_guest[0], junk, sizeof(junk)), AGENT_FRAME_MAX);
	/* A guest that gives too much opens one window, no more. */
	guest_stdin_credit(&f->m, 1, 0xffffffff);
	assert_int_equal(f->m.c[0].in_window, AGENT_EXEC_WINDOW);
	assert_int_equal(f->m.c[1].in_window, AGENT_EXEC_WINDOW);
	assert_false(f->m.broken);
	close(a);
	close(b);
}

/* A client that leaves while its stdin waits is seen to go. */
static void test_stdin_waiting_client_gone(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, 0);
	uint8_t want[AGENT_FRAME_HDR];

	client_fill_stdin(f, a);
	assert_true(f->m.c[0].ready);
	close(a);
	pump(&f->m);
	assert_int_equal(f->m.c[0].fd, -1);
	agent_frame_put(want, FRAME_HANGUP, 1, 0);
	expect_to_guest(&f->m, want, sizeof(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sessions_numbered_by_vmm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_frame_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_largest_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_update_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_bad_frames_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe_full_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_frames_routed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_split_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_largest_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_unknown_session_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_garbage_breaks_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_exit_closes_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_output_to_gone_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_channel_refuses_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_holds_only_its_session, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_credit_as_client_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_past_window_breaks_channel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_client_gone_hangs_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin_waits_for_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin_waiting_client_gone, setup, teardown),
		cmocka_unit_test(test_without_listener),
	};

	/* As in the VMM, which inherits it from the monitor: a client that went
	 * away is an EPIPE, not the end of the process. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
