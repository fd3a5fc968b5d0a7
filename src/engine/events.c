/* The store's log of events (events.h). */
#include "engine/events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define EVENTS_LOG_MAX (1 << 20)

/* Past EVENTS_LOG_MAX the log becomes events.log.1 (the one before goes):
 * under a lock, and only if no one rotated it meanwhile. */
static void rotate(const char *root, const char *path, int fd)
{
	_cleanup_free_ char *lock = xasprintf("%s/events.lock", root);
	_cleanup_free_ char *old = xasprintf("%s.1", path);
	_cleanup_close_ int lock_fd = lock_path(lock, LOCK_EX, &(struct err){ 0 });
	struct stat mine, now;

	if (lock_fd >= 0 && fstat(fd, &mine) == 0 && stat(path, &now) == 0 &&
	    mine.st_ino == now.st_ino && now.st_size > EVENTS_LOG_MAX)
		rename(path, old);
}

int events_append(const char *root, const char *action, const char *id, json_t *attributes,
		  struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/events.log", root), *line = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_json_ json_t *ev = NULL;
	struct timespec now;
	struct stat sb;

	clock_gettime(CLOCK_REALTIME, &now);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "status", action,
		       "id", id, "from", json_string_value(json_object_get(attributes, "image")) ?: "",
		       "Type", "container", "Action", action, "Actor", "ID", id, "Attributes",
		       attributes, "scope", "local", "time", (json_int_t)now.tv_sec, "timeNano",
		       (json_int_t)now.tv_sec * 1000000000 + now.tv_nsec);
	if (!ev)
		return err_set(err, "build the %s event", action);
	line = json_dumps(ev, JSON_COMPACT);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	/* One write of one line: appends from two processes do not interleave. */
	line = xrealloc(line, strlen(line) + 2);
	strcat(line, "\n");
	if (write_all(fd, line, strlen(line)) < 0)
		return err_sys(err, errno, "write %s", path);
	if (fstat(fd, &sb) == 0 && sb.st_size > EVENTS_LOG_MAX)
		rotate(root, path, fd);
	return 0;
}

static void events_read(const char *path, const char *container, json_t *out)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save;

	if (read_file(path, 2 * EVENTS_LOG_MAX, &text, NULL, &(struct err){ 0 }) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL);
		const char *id = json_string_value(json_object_get(ev, "id"));

		if (json_is_object(ev) && (!container || (id && !strcmp(id, container))))
			json_array_append_new(out, ev);
		else
			json_decref(ev);
	}
}

int events_list(const char *root, const char *container, json_t **out, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/events.log", root);
	_cleanup_free_ char *old = xasprintf("%s/events.log.1", root);

	*out = json_array();
	events_read(old, container, *out);
	events_read(path, container, *out);
	return 0;
}
