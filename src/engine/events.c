#include "engine/events.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define EVENTS_LOG_MAX (1 << 20)

int events_append(const char *dir, const char *action, const char *id, json_t *attributes,
		  struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/events.log", dir), *line = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_json_ json_t *ev = NULL;
	struct timespec now;

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
	return 0;
}

static void events_read(const char *path, json_t *out)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save;

	if (read_file(path, EVENTS_LOG_MAX, &text, NULL, &(struct err){ 0 }) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL);

		if (json_is_object(ev))
			json_array_append_new(out, ev);
		else
			json_decref(ev);
	}
}

static int older_first(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "timeNano"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "timeNano"));

	return x < y ? -1 : x > y;
}

int events_list(const char *root, const char *container, json_t **out, struct err *err)
{
	_cleanup_free_ char *base = xasprintf("%s/containers", root);
	_cleanup_closedir_ DIR *d = opendir(base);
	json_t *all = json_array(), **v;
	struct dirent *de;
	size_t i, n;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *path = NULL;

		if (de->d_name[0] == '.' || (container && strcmp(de->d_name, container)))
			continue;
		path = xasprintf("%s/%s/events.log", base, de->d_name);
		events_read(path, all);
	}
	n = json_array_size(all);
	v = xmalloc((n + 1) * sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(all, i));
	qsort(v, n, sizeof(*v), older_first);
	json_array_clear(all);
	for (i = 0; i < n; i++)
		json_array_append_new(all, v[i]);
	free(v);
	*out = all;
	return 0;
}
