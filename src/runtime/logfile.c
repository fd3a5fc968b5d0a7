#include "runtime/logfile.h"

#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "util/cleanup.h"
#include "util/fs.h"

static void log_record(int fd, const char *stream, const char *data, size_t len)
{
	char now[40];
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *line = NULL;
	size_t n;

	time_rfc3339(now, sizeof(now));
	j = json_pack("{s:s%, s:s, s:s}", "log", data, len, "stream", stream, "time", now);
	if (!j)
		return;
	line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!line)
		return;
	n = strlen(line);
	line[n] = '\n';
	/* One write per record keeps concurrent readers from seeing half a line. */
	if (write(fd, line, n + 1) < 0)
		return;
}

void log_stream_write(int fd, struct log_stream *s, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) + 1 : len;

		if (take > sizeof(s->buf) - s->len)
			take = sizeof(s->buf) - s->len;
		memcpy(s->buf + s->len, data, take);
		s->len += take;
		data += take;
		len -= take;
		if (s->buf[s->len - 1] == '\n' || s->len == sizeof(s->buf)) {
			log_record(fd, s->name, s->buf, s->len);
			s->len = 0;
		}
	}
}

void log_stream_flush(int fd, struct log_stream *s)
{
	if (s->len)
		log_record(fd, s->name, s->buf, s->len);
	s->len = 0;
}
