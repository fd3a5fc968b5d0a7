#include "runtime/logfile.h"

#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range excludes overlongs, surrogates and > U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* The output as valid UTF-8: each invalid byte becomes U+FFFD, as docker does. */
static char *utf8_sanitize(const char *data, size_t len, size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)data;
	char *out = xmalloc(len * 3 + 1);
	size_t i = 0, o = 0;

	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);

		if (n) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*out_len = o;
	return out;
}

static void log_record(int fd, const char *stream, const char *raw, size_t raw_len)
{
	char now[40];
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *line = NULL, *data = NULL;
	size_t n, len;

	data = utf8_sanitize(raw, raw_len, &len);
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

/* A full buffer without a newline is one record; a character cut in two at
 * its end waits for the next record. */
static void log_split_full(int fd, struct log_stream *s)
{
	size_t cut = s->len, back = 0;

	while (back < 3 && cut > back && ((unsigned char)s->buf[cut - 1 - back] & 0xc0) == 0x80)
		back++;
	if (cut > back && (unsigned char)s->buf[cut - 1 - back] >= 0xc0 &&
	    utf8_seq((unsigned char *)s->buf + cut - 1 - back, back + 1) == 0)
		cut -= back + 1;
	if (cut == 0)
		cut = s->len;
	log_record(fd, s->name, s->buf, cut);
	memmove(s->buf, s->buf + cut, s->len - cut);
	s->len -= cut;
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
		if (s->buf[s->len - 1] == '\n') {
			log_record(fd, s->name, s->buf, s->len);
			s->len = 0;
		} else if (s->len == sizeof(s->buf)) {
			log_split_full(fd, s);
		}
	}
}

void log_stream_flush(int fd, struct log_stream *s)
{
	if (s->len)
		log_record(fd, s->name, s->buf, s->len);
	s->len = 0;
}
