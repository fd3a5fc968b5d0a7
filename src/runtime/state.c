#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

static const char *const status_names[] = { "created", "running", "exited" };

const char *rt_status_name(enum rt_status s)
{
	return status_names[s];
}

static void copy_str(char *dst, size_t len, json_t *j)
{
	snprintf(dst, len, "%s", json_is_string(j) ? json_string_value(j) : "");
}

static int state_parse(json_t *j, struct rt_state *st, struct err *err)
{
	const char *status = json_string_value(json_object_get(j, "status"));
	size_t i;

	memset(st, 0, sizeof(*st));
	for (i = 0; status && i < 3; i++)
		if (!strcmp(status, status_names[i]))
			break;
	if (!status || i == 3)
		return err_set(err, "state.json: bad status");
	st->status = i;
	st->pid = json_integer_value(json_object_get(j, "pid"));
	st->monitor_pid = json_integer_value(json_object_get(j, "monitor_pid"));
	st->exit_code = json_integer_value(json_object_get(j, "exit_code"));
	st->oom_killed = json_is_true(json_object_get(j, "oom_killed"));
	copy_str(st->started_at, sizeof(st->started_at), json_object_get(j, "started_at"));
	copy_str(st->finished_at, sizeof(st->finished_at), json_object_get(j, "finished_at"));
	copy_str(st->error, sizeof(st->error), json_object_get(j, "error"));
	return 0;
}

int rt_state_write(const char *dir, const struct rt_state *st, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/state.json", dir);
	_cleanup_json_ json_t *j = json_pack(
		"{s:s, s:i, s:i, s:i, s:b, s:s, s:s, s:s}", "status", status_names[st->status],
		"pid", (int)st->pid, "monitor_pid", (int)st->monitor_pid, "exit_code",
		st->exit_code, "oom_killed", st->oom_killed, "started_at", st->started_at,
		"finished_at", st->finished_at, "error", st->error);

	return json_save_replace(path, j, err);
}

int rt_lock_dir(const char *dir, int op)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (flock(fd, op) < 0)
		if (errno != EINTR)
			return -1;
	return take_fd(&fd);
}

/* The monitor holds a lock on the container's directory while it lives. */
static bool monitor_alive(const char *dir)
{
	_cleanup_close_ int fd = rt_lock_dir(dir, LOCK_SH | LOCK_NB);

	return fd < 0 && errno == EWOULDBLOCK;
}

int rt_state_read(const char *dir, struct rt_state *st, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/state.json", dir);
	_cleanup_json_ json_t *j = NULL;

	/* No state yet: created and never started. */
	if (access(path, F_OK) < 0 && errno == ENOENT && access(dir, F_OK) == 0) {
		memset(st, 0, sizeof(*st));
		st->status = RT_CREATED;
		return 0;
	}
	if (json_load_path(path, &j, err) < 0 || state_parse(j, st, err) < 0)
		return -1;
	if (st->status != RT_RUNNING || monitor_alive(dir))
		return 0;
	/* Re-read: the monitor may have recorded the exit since we looked. */
	json_decref(j);
	j = NULL;
	if (json_load_path(path, &j, err) < 0 || state_parse(j, st, err) < 0)
		return -1;
	if (st->status != RT_RUNNING)
		return 0;
	st->status = RT_EXITED;
	st->exit_code = 255;
	st->pid = 0;
	time_rfc3339(st->finished_at, sizeof(st->finished_at));
	snprintf(st->error, sizeof(st->error), "the container's monitor exited unexpectedly");
	rt_state_write(dir, st, &(struct err){ 0 });
	return 0;
}
