/* GET /events: the store's log of events (engine/events.h) as docker streams
 * it, one JSON object a line: those since ?since= (none before the request
 * without it), then new ones as the log grows, until ?until= or for as long
 * as the client stays; ?filters= as docker's. The log is read here, not
 * through the engine: appends are whole lines, a rotation shows as a new
 * inode. */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define POLL_MS 100
#define NS 1000000000LL

struct event_reader {
	char *path, *old_path;       /* events.log, events.log.1 */
	FILE *f;
	ino_t ino;
	long long since, until;      /* ns; until 0: none */
	json_t *filters;
	struct api_pending pending;
	struct api_client client;
};

/* docker's since/until: seconds, with a fraction ("1700000000.5"); a
 * duration ago is the client's to turn into a time. 0 when absent. */
static int time_arg(const char *v, long long *ns)
{
	char *end;
	double d;

	*ns = 0;
	if (!v || !*v)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || d < 0 || d > 1e11)
		return -1;
	*ns = (long long)(d * NS);
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

/* f opened at the log's start (and its inode kept); false if there is none. */
static bool log_open(struct event_reader *r, const char *path)
{
	struct stat sb;

	if (r->f)
		fclose(r->f);
	r->f = fopen(path, "re");
	if (r->f && fstat(fileno(r->f), &sb) == 0)
		r->ino = sb.st_ino;
	return r->f != NULL;
}

/* A whole line of the log, or NULL: none yet (a half line is left). */
static char *log_line(struct event_reader *r)
{
	char *line = NULL;
	size_t cap = 0;
	long pos;
	ssize_t n;

	if (!r->f)
		return NULL;
	pos = ftell(r->f);
	n = getline(&line, &cap, r->f);
	if (n > 0 && line[n - 1] == '\n')
		return line;
	free(line);
	clearerr(r->f);
	fseek(r->f, pos, SEEK_SET);
	return NULL;
}

/* At the end of what f holds: if the log is another file now (rotated
 * under us, or f was events.log.1), go on at its start; whether it did. */
static bool follow_rotation(struct event_reader *r)
{
	struct stat sb;

	return stat(r->path, &sb) == 0 && (!r->f || sb.st_ino != r->ino) &&
	       log_open(r, r->path);
}

static bool wanted(struct event_reader *r, json_t *ev)
{
	long long t = json_integer_value(json_object_get(ev, "timeNano"));

	return json_is_object(ev) && t >= r->since && (!r->until || t <= r->until) &&
	       (!r->filters || api_filters_match(API_FILTERS_EVENTS, ev, r->filters));
}

static ssize_t events_read(void *cls, char *buf, size_t max)
{
	struct event_reader *r = cls;

	for (;;) {
		char *line;

		if (r->pending.len)
			return (ssize_t)api_pending_take(&r->pending, buf, max);
		line = log_line(r);
		if (line) {
			_cleanup_json_ json_t *ev = json_loads(line, 0, NULL);

			if (wanted(r, ev))
				api_pending_add(&r->pending, line, strlen(line));
			free(line);
			continue;
		}
		if (follow_rotation(r))
			continue;
		if (r->until && now_ns() > r->until)
			return 0;
		if (api_client_gone(&r->client))
			return -1;
		nanosleep(&(struct timespec){ 0, POLL_MS * 1000000L }, NULL);
	}
}

static void events_free(void *cls)
{
	struct event_reader *r = cls;

	if (r->f)
		fclose(r->f);
	json_decref(r->filters);
	api_pending_free(&r->pending);
	free(r->path);
	free(r->old_path);
	free(r);
}

void api_events(const struct api_req *req, struct api_resp *resp)
{
	const char *f = req->query(req->query_ctx, "filters");
	struct event_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		api_error(resp, 500, "out of memory");
		return;
	}
	r->client = api_client_of(req);
	r->path = xasprintf("%s/events.log", req->ctx->root);
	r->old_path = xasprintf("%s/events.log.1", req->ctx->root);
	if (time_arg(req->query(req->query_ctx, "since"), &r->since) < 0 ||
	    time_arg(req->query(req->query_ctx, "until"), &r->until) < 0) {
		events_free(r);
		api_error(resp, 400, "since and until are times in seconds since the epoch");
		return;
	}
	if (f && *f && api_filters_parse(API_FILTERS_EVENTS, f, &r->filters, resp) < 0) {
		events_free(r);
		return;
	}
	if (r->since) {
		/* the older log first; at its end follow_rotation moves on */
		log_open(r, r->old_path);
	} else {
		r->since = now_ns();
		if (log_open(r, r->path))
			fseek(r->f, 0, SEEK_END);
	}
	resp->status = 200;
	resp->content_type = "application/json";
	resp->reader = events_read;
	resp->reader_cls = r;
	resp->reader_free = events_free;
}
