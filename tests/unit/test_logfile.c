/* Tests for src/runtime/logfile.c: docker's json-file records, one a line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/logfile.h"
#include "util/fs.h"

struct records {
	json_t *list;        /* the parsed records */
	size_t bad_lines;    /* lines that are not JSON */
	char *log;           /* every "log" value concatenated */
	size_t log_len;
};

static int log_fd(void)
{
	int fd = memfd_create("test_logfile", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* Read back everything written to fd and parse it line by line. */
static void records_read(int fd, struct records *r)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = xmalloc((size_t)size + 1), *line, *nl;

	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	memset(r, 0, sizeof(*r));
	r->list = json_array();
	r->log = xmalloc((size_t)size + 1);
	if (size > 0)
		assert_int_equal(buf[size - 1], '\n');
	for (line = buf; line < buf + size; line = nl + 1) {
		json_error_t jerr;
		json_t *j;

		nl = memchr(line, '\n', (size_t)(buf + size - line));
		assert_non_null(nl);
		j = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, &jerr);
		if (!j) {
			r->bad_lines++;
			continue;
		}
		assert_true(json_is_string(json_object_get(j, "log")));
		memcpy(r->log + r->log_len, json_string_value(json_object_get(j, "log")),
		       json_string_length(json_object_get(j, "log")));
		r->log_len += json_string_length(json_object_get(j, "log"));
		json_array_append_new(r->list, j);
	}
	free(buf);
}

static void records_free(struct records *r)
{
	json_decref(r->list);
	free(r->log);
}

static const char *rec_log(struct records *r, size_t i)
{
	return json_string_value(json_object_get(json_array_get(r->list, i), "log"));
}

static size_t rec_len(struct records *r, size_t i)
{
	return json_string_length(json_object_get(json_array_get(r->list, i), "log"));
}

static struct log_stream *stream_new(const char *name)
{
	struct log_stream *s = xmalloc(sizeof(*s));

	s->name = name;
	return s;
}

static void test_lines(void **state)
{
	struct log_stream *s = stream_new("stdout");
	struct records r;
	int fd = log_fd();
	long long sec;
	long nsec;

	log_stream_write(fd, s, "hello\nworld\n\n", 13);
	log_stream_flush(fd, s);
	records_read(fd, &r);
	assert_int_equal(r.bad_lines, 0);
	assert_int_equal(json_array_size(r.list), 3);
	assert_string_equal(rec_log(&r, 0), "hello\n");
	assert_string_equal(rec_log(&r, 1), "world\n");
	assert_string_equal(rec_log(&r, 2), "\n");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(r.list, 0), "stream")), "stdout");
	assert_int_equal(time_parse_rfc3339(json_string_value(json_object_get(
							json_array_get(r.list, 0), "time")),
					    &sec, &nsec),
			 0);
	assert_true(sec > 1600000000);
	/* docker's key order: log, stream, time */
	{
		char line[64];

		assert_int_equal(pread(fd, line, 8, 0), 8);
		assert_memory_equal(line, "{\"log\":\"", 8);
	}
	records_free(&r);
	close(fd);
	free(s);
}

static void test_partial(void **state)
{
	struct log_stream *s = stream_new("stderr");
	struct records r;
	int fd = log_fd();

	log_stream_write(fd, s, "par", 3);
	log_stream_write(fd, s, "tial\nre", 7);
	log_stream_write(fd, s, "st", 2);
	records_read(fd, &r);
	/* nothing of "rest" before the flush */
	assert_int_equal(json_array_size(r.list), 1);
	assert_string_equal(rec_log(&r, 0), "partial\n");
	records_free(&r);
	log_stream_flush(fd, s);
	log_stream_flush(fd, s);
	records_read(fd, &r);
	assert_int_equal(json_array_size(r.list), 2);
	assert_string_equal(rec_log(&r, 1), "rest");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(r.list, 1), "stream")), "stderr");
	records_free(&r);
	close(fd);
	free(s);
}

static void test_long_line(void **state)
{
	struct log_stream *s = stream_new("stdout");
	size_t n = 2 * LOG_LINE_MAX + 1000, i;
	char *data = xmalloc(n + 1);
	struct records r;
	int fd = log_fd();

	for (i = 0; i < n; i++)
		data[i] = 'a' + i % 26;
	data[n] = '\n';
	/* in odd-sized pieces, as a pipe delivers them */
	for (i = 0; i <= n; i += 4093)
		log_stream_write(fd, s, data + i, n + 1 - i < 4093 ? n + 1 - i : 4093);
	log_stream_flush(fd, s);
	records_read(fd, &r);
	assert_int_equal(r.bad_lines, 0);
	assert_int_equal(json_array_size(r.list), 3);
	for (i = 0; i < json_array_size(r.list); i++)
		assert_true(rec_len(&r, i) <= LOG_LINE_MAX);
	assert_int_equal(rec_len(&r, 0), LOG_LINE_MAX);
	assert_int_equal(rec_len(&r, 2), 1001);
	assert_int_equal(r.log_len, n + 1);
	assert_memory_equal(r.log, data, n + 1);
	records_free(&r);
	close(fd);
	free(data);
	free(s);
}

static void test_exact_fit(void **state)
{
	struct log_stream *s = stream_new("stdout");
	char *data = xmalloc(LOG_LINE_MAX);
	struct records r;
	int fd = log_fd();

	memset(data, 'x', LOG_LINE_MAX - 1);
	data[LOG_LINE_MAX - 1] = '\n';
	log_stream_write(fd, s, data, LOG_LINE_MAX);
	log_stream_write(fd, s, "y\n", 2);
	log_stream_flush(fd, s);
	records_read(fd, &r);
	assert_int_equal(json_array_size(r.list), 2);
	assert_int_equal(rec_len(&r, 0), LOG_LINE_MAX);
	assert_string_equal(rec_log(&r, 1), "y\n");
	records_free(&r);
	close(fd);
	free(data);
	free(s);
}

static void test_nul_and_control(void **state)
{
	struct log_stream *s = stream_new("stdout");
	static const char data[] = "a\0b\t\x1b[31mred\x1b[0m \"q\" \\\n";
	struct records r;
	int fd = log_fd();

	log_stream_write(fd, s, data, sizeof(data) - 1);
	records_read(fd, &r);
	assert_int_equal(r.bad_lines, 0);
	assert_int_equal(json_array_size(r.list), 1);
	assert_int_equal(rec_len(&r, 0), sizeof(data) - 1);
	assert_memory_equal(rec_log(&r, 0), data, sizeof(data) - 1);
	records_free(&r);
	close(fd);
	free(s);
}

/* A program may print any bytes; none of its output may vanish from the log.
 * (docker's json-file writer replaces invalid UTF-8 with U+FFFD.) */
static void test_invalid_utf8(void **state)
{
	struct log_stream *s = stream_new("stdout");
	static const char data[] = "ok\n\xff\xfe binary \xc3\x28 \xed\xa0\x80\nafter\n";
	struct records r;
	int fd = log_fd();

	log_stream_write(fd, s, data, sizeof(data) - 1);
	records_read(fd, &r);
	assert_int_equal(r.bad_lines, 0);
	assert_string_equal(rec_log(&r, 0), "ok\n");
	if (json_array_size(r.list) != 3)
		fail_msg("%zu records for 3 lines: the line with invalid UTF-8 was dropped",
			 json_array_size(r.list));
	assert_string_equal(rec_log(&r, 2), "after\n");
	records_free(&r);
	close(fd);
	free(s);
}

/* Valid UTF-8 cut at the LOG_LINE_MAX boundary must not lose either half. */
static void test_utf8_split_at_boundary(void **state)
{
	struct log_stream *s = stream_new("stdout");
	char *data = xmalloc(LOG_LINE_MAX + 8);
	size_t n = LOG_LINE_MAX - 1;
	struct records r;
	int fd = log_fd();

	memset(data, 'a', n);
	memcpy(data + n, "\xc3\xa9tail\n", 7);   /* "étail\n", é straddles the cut */
	log_stream_write(fd, s, data, n + 7);
	log_stream_flush(fd, s);
	records_read(fd, &r);
	assert_int_equal(r.bad_lines, 0);
	if (r.log_len < n + 6)
		fail_msg("%zu of %zu bytes logged: a record holding half a UTF-8 character "
			 "was dropped",
			 r.log_len, n + 7);
	records_free(&r);
	close(fd);
	free(data);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_exact_fit),
		cmocka_unit_test(test_nul_and_control),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_utf8_split_at_boundary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
