/* docker top (container_top in container.h): ps's table of a container's
 * processes. A process container's are the host's ps rows whose PID is in
 * its cgroup, as dockerd finds them; a running VM's are its guest's, from
 * busybox's ps run by the guest's tool (guest/cp_tool.h). */
#include "engine/container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/vm_cp.h"
#include "process/cgroup.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/program.h"
#include "util/strv.h"

/* A line's fields: the first n - 1 by blanks, the last the rest (a
 * command's words), as docker splits ps's rows. */
static json_t *fields(char *line, size_t n)
{
	json_t *row = json_array();
	char *p = line;

	while (*p && json_array_size(row) + 1 < n) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (!len)
			break;
		json_array_append_new(row, json_stringn(p, len));
		p += len;
	}
	p += strspn(p, " \t");
	if (*p)
		json_array_append_new(row, json_string(p));
	return row;
}

/* ps's output as {"Titles", "Processes"}; pids NULL: every row, else those
 * whose PID column is one of them. */
static int table(char *text, const json_t *pids, json_t **out, struct err *err)
{
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	json_t *titles, *procs, *t;
	ssize_t pid_col = -1;
	size_t i;

	if (!line)
		return err_set(err, "ps printed nothing");
	titles = fields(line, SIZE_MAX);
	json_array_foreach(titles, i, t)
		if (!strcmp(json_string_value(t), "PID"))
			pid_col = (ssize_t)i;
	if (pid_col < 0) {
		json_decref(titles);
		return err_set(err, "Couldn't find PID field in ps output");
	}
	procs = json_array();
	while ((line = strtok_r(NULL, "\n", &save))) {
		json_t *row = fields(line, json_array_size(titles));
		const char *pid = json_string_value(json_array_get(row, (size_t)pid_col));

		if (pid && (!pids || json_object_get(pids, pid)))
			json_array_append_new(procs, row);
		else
			json_decref(row);
	}
	*out = json_pack("{s:o, s:o}", "Titles", titles, "Processes", procs);
	return 0;
}

/* The PIDs of the container's cgroup, as an object's keys. */
static json_t *cgroup_pids(const char *id)
{
	_cleanup_free_ char *text = NULL, *path = NULL;
	json_t *pids = json_object();
	struct cgroup cg;
	char *save = NULL, *p;

	cgroup_open(id, &cg);
	if (cg.n_dirs)
		path = xasprintf("%s/cgroup.procs", cg.dirs[0]);
	cgroup_free(&cg);
	if (path && read_file(path, 4u << 20, &text, NULL, &(struct err){ 0 }) == 0)
		for (p = strtok_r(text, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
			json_object_set_new(pids, p, json_true());
	return pids;
}

/* The guest's tool's output. */
static int vm_ps(const struct container *c, const char *const *args, size_t n, char **out,
		 struct err *err)
{
	struct strv argv = { 0 };
	struct vm_cp_job job = { .child_close = -1 };
	int o[2], code = 0;
	ssize_t got;

	strv_push(&argv, "ps");
	for (size_t i = 0; i < n; i++)
		strv_push(&argv, args[i]);
	if (pipe2(o, O_CLOEXEC) < 0) {
		strv_free(&argv);
		return err_sys(err, errno, "pipe");
	}
	job.child_close = o[0];
	if (vm_cp_start(c, strv_get(&argv), -1, o[1], &job, err) < 0) {
		strv_free(&argv);
		close(o[0]);
		close(o[1]);
		return -1;
	}
	strv_free(&argv);
	close(o[1]);
	*out = xmalloc(PROGRAM_OUTPUT_MAX + 1);
	got = read_full(o[0], *out, PROGRAM_OUTPUT_MAX);
	(*out)[got > 0 ? got : 0] = 0;
	read_to_end(o[0]);
	close(o[0]);
	if (vm_cp_wait(&job, &code, err) < 0) {
		free(*out);
		*out = NULL;
		return err_wrap(err, "ps: exit status %d", code);
	}
	return 0;
}

int container_top(const struct container *c, const char *const *ps_args, size_t n,
		  json_t **out, struct err *err)
{
	static const char *const default_args[] = { "-ef" };
	_cleanup_free_ char *text = NULL;
	struct rt_state st;

	if (rt_state_read(c->dir, &st, err) < 0)
		return -1;
	if (st.status != RT_RUNNING)
		return err_set(err, "Container %s is not running", c->id);
	if (!n) {
		ps_args = default_args;
		n = 1;
	}
	if (vm_cp_applies(c)) {
		if (vm_ps(c, ps_args, n, &text, err) < 0)
			return -1;
		return table(text, NULL, out, err);
	}
	{
		_cleanup_json_ json_t *pids = cgroup_pids(c->id);
		struct strv argv = { 0 };
		int r;

		strv_push(&argv, "ps");
		for (size_t i = 0; i < n; i++)
			strv_push(&argv, ps_args[i]);
		r = program_output(strv_get(&argv), &text, err);
		strv_free(&argv);
		if (r < 0)
			return -1;
		return table(text, pids, out, err);
	}
}
