/* A container's cgroup usage as docker's stats (cgroup_stats.h). */
#include "process/cgroup_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define FILE_MAX (256u << 10)

/* The directory of a v1 controller, or v2's one. */
static const char *dir_of(const struct cgroup *cg, const char *ctrl)
{
	_cleanup_free_ char *part = xasprintf("/%s/", ctrl);

	if (cg->unified)
		return cg->n_dirs ? cg->dirs[0] : NULL;
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (strstr(cg->dirs[i], part))
			return cg->dirs[i];
	return NULL;
}

/* A file of dir, NUL-ended (malloc'ed), or NULL. */
static char *read_in(const char *dir, const char *file)
{
	_cleanup_free_ char *path = dir ? xasprintf("%s/%s", dir, file) : NULL;
	char *text = NULL;

	if (!path || read_file(path, FILE_MAX, &text, NULL, &(struct err){ 0 }) < 0)
		return NULL;
	return text;
}

static unsigned long long read_ull(const char *dir, const char *file)
{
	_cleanup_free_ char *text = read_in(dir, file);

	return text ? strtoull(text, NULL, 10) : 0;
}

/* "KEY VALUE" lines as an object of numbers. */
static json_t *key_values(const char *text)
{
	json_t *o = json_object();
	char key[128];
	unsigned long long v;
	int used;

	while (text && sscanf(text, "%127s %llu%n", key, &v, &used) == 2) {
		json_object_set_new(o, key, json_integer((json_int_t)v));
		text += used;
		text += strspn(text, "\n");
	}
	return o;
}

static json_int_t host_memory(void)
{
	struct sysinfo si;

	return sysinfo(&si) == 0 ? (json_int_t)si.totalram * si.mem_unit : 0;
}

static json_t *cpu_v1(const char *dir)
{
	_cleanup_free_ char *percpu = read_in(dir, "cpuacct.usage_percpu");
	_cleanup_free_ char *stat = read_in(dir, "cpuacct.stat");
	_cleanup_json_ json_t *ticks = key_values(stat);
	json_t *cpus = json_array();
	long hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	char *p = percpu, *end;

	while (p && *p) {
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p)
			break;
		json_array_append_new(cpus, json_integer((json_int_t)v));
		p = end;
	}
	return json_pack("{s:I, s:o, s:I, s:I}", "total_usage",
			 (json_int_t)read_ull(dir, "cpuacct.usage"), "percpu_usage", cpus,
			 "usage_in_usermode",
			 json_integer_value(json_object_get(ticks, "user")) * (1000000000 / hz),
			 "usage_in_kernelmode",
			 json_integer_value(json_object_get(ticks, "system")) * (1000000000 / hz));
}

static json_t *cpu_v2(const char *dir)
{
	_cleanup_free_ char *stat = read_in(dir, "cpu.stat");
	_cleanup_json_ json_t *us = key_values(stat);

	return json_pack("{s:I, s:I, s:I}", "total_usage",
			 json_integer_value(json_object_get(us, "usage_usec")) * 1000,
			 "usage_in_usermode",
			 json_integer_value(json_object_get(us, "user_usec")) * 1000,
			 "usage_in_kernelmode",
			 json_integer_value(json_object_get(us, "system_usec")) * 1000);
}

static json_t *memory(const struct cgroup *cg)
{
	const char *dir = dir_of(cg, "memory");
	_cleanup_free_ char *stat = read_in(dir, "memory.stat");
	_cleanup_free_ char *max = cg->unified ? read_in(dir, "memory.max") : NULL;
	json_int_t limit = cg->unified ? (max && strncmp(max, "max", 3) ? atoll(max) : 0)
				       : (json_int_t)read_ull(dir, "memory.limit_in_bytes");
	json_int_t host = host_memory();
	json_t *m;

	if (!limit || (host && limit > host))
		limit = host;               /* docker's: no limit is the host's memory */
	m = json_pack("{s:I, s:o, s:I}", "usage",
		      (json_int_t)read_ull(dir, cg->unified ? "memory.current"
							    : "memory.usage_in_bytes"),
		      "stats", key_values(stat), "limit", limit);
	if (!cg->unified)
		json_object_set_new(m, "max_usage",
				    json_integer((json_int_t)read_ull(dir,
								      "memory.max_usage_in_bytes")));
	return m;
}

/* blkio's "MAJ:MIN Op N" lines, or io.stat's "MAJ:MIN rbytes=N wbytes=N". */
static json_t *blkio(const struct cgroup *cg)
{
	_cleanup_free_ char *text = cg->unified ? read_in(dir_of(cg, "io"), "io.stat") :
				    read_in(dir_of(cg, "blkio"),
					    "blkio.throttle.io_service_bytes_recursive");
	json_t *rows = json_array();
	char *line, *save = NULL;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		unsigned long long rd, wr, v;
		char op[16];

		if (cg->unified && sscanf(line, "%u:%u rbytes=%llu wbytes=%llu", &maj, &min, &rd,
					  &wr) == 4) {
			json_array_append_new(rows, json_pack("{s:i, s:i, s:s, s:I}", "major", maj,
							      "minor", min, "op", "read",
							      "value", (json_int_t)rd));
			json_array_append_new(rows, json_pack("{s:i, s:i, s:s, s:I}", "major", maj,
							      "minor", min, "op", "write",
							      "value", (json_int_t)wr));
		} else if (!cg->unified &&
			   sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) == 4) {
			json_array_append_new(rows, json_pack("{s:i, s:i, s:s, s:I}", "major", maj,
							      "minor", min, "op", op,
							      "value", (json_int_t)v));
		}
	}
	return json_pack("{s:o}", "io_service_bytes_recursive", rows);
}

void cgroup_stats(const struct cgroup *cg, json_t *out)
{
	const char *cpu_dir = dir_of(cg, cg->unified ? "" : "cpuacct");

	json_object_set_new(out, "cpu_stats",
			    json_pack("{s:o}", "cpu_usage",
				      cg->unified ? cpu_v2(cpu_dir) : cpu_v1(cpu_dir)));
	json_object_set_new(out, "memory_stats", memory(cg));
	json_object_set_new(out, "pids_stats",
			    json_pack("{s:I}", "current",
				      (json_int_t)read_ull(dir_of(cg, "pids"), "pids.current")));
	json_object_set_new(out, "blkio_stats", blkio(cg));
}
