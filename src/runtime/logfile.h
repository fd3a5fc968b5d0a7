/* The container log in docker's json-file format: one JSON object a line,
 * {"log":"...\n","stream":"stdout","time":"RFC 3339 nano"}. */
#ifndef ISOBOX_LOGFILE_H
#define ISOBOX_LOGFILE_H

#include <stddef.h>

#define LOG_LINE_MAX 16384

struct log_stream {
	const char *name;           /* "stdout" or "stderr" */
	char buf[LOG_LINE_MAX];
	size_t len;
};

/* Append data to the stream; every complete line (and a full buffer) is
 * written to fd as one record. */
void log_stream_write(int fd, struct log_stream *s, const char *data, size_t len);
/* Write what is left without a trailing newline. */
void log_stream_flush(int fd, struct log_stream *s);

#endif
