/* docker's stats of a container (container_stats in container.h): its
 * cgroups' usage (a VM's: its VMM's, the VM's use of the host), the network
 * devices of its namespace, the host's CPU time to compare with. */
#include "engine/container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process/cgroup_stats.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* The host's CPU time (the first line of /proc/stat) in nanoseconds. */
static json_int_t system_cpu_ns(void)
{
	_cleanup_free_ char *text = NULL;
	unsigned long long v[8] = { 0 }, sum = 0;
	long hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;

	if (read_file("/proc/stat", 1 << 20, &text, NULL, &(struct err){ 0 }) < 0 ||
	    sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) < 4)
		return 0;
	for (int i = 0; i < 8; i++)
		sum += v[i];
	return (json_int_t)(sum * (1000000000ULL / (unsigned long long)hz));
}

/* The devices of pid's network namespace but lo, as docker's "networks". */
static json_t *networks(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/net/dev", (int)pid), *text = NULL;
	json_t *nets = json_object();
	char *line, *save = NULL;

	if (read_file(path, 1 << 20, &text, NULL, &(struct err){ 0 }) < 0)
		return nets;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long f[16];
		char name[64];

		if (sscanf(line, " %63[^:]: %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
			   "%llu %llu %llu %llu %llu", name, &f[0], &f[1], &f[2], &f[3], &f[4],
			   &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &f[11], &f[12], &f[13],
			   &f[14], &f[15]) != 17 || !strcmp(name, "lo"))
			continue;
		json_object_set_new(nets, name,
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
					      "rx_bytes", (json_int_t)f[0], "rx_packets",
					      (json_int_t)f[1], "rx_errors", (json_int_t)f[2],
					      "rx_dropped", (json_int_t)f[3], "tx_bytes",
					      (json_int_t)f[8], "tx_packets", (json_int_t)f[9],
					      "tx_errors", (json_int_t)f[10], "tx_dropped",
					      (json_int_t)f[11]));
	}
	return nets;
}

int container_stats(const struct container *c, json_t **out, struct err *err)
{
	const char *name = json_string_value(json_object_get(c->record, "Name")) ?: "";
	struct rt_state st;
	char now[48];
	json_t *s, *cpu;

	if (rt_state_read(c->dir, &st, err) < 0)
		return -1;
	time_rfc3339(now, sizeof(now));
	s = json_pack("{s:s, s:s, s:s+, s:s, s:i, s:{}}", "read", now, "preread",
		      "0001-01-01T00:00:00Z", "name", "/", name, "id", c->id, "num_procs", 0,
		      "storage_stats");
	if (st.status == RT_RUNNING) {
		struct cgroup cg;

		cgroup_open(c->id, &cg);
		cgroup_stats(&cg, s);
		cgroup_free(&cg);
		json_object_set_new(s, "networks", networks(st.pid));
	} else {                            /* docker's for a stopped one: nothing used */
		json_object_set_new(s, "read", json_string("0001-01-01T00:00:00Z"));
		json_object_set_new(s, "cpu_stats", json_pack("{s:{s:i}}", "cpu_usage",
							      "total_usage", 0));
		json_object_set_new(s, "memory_stats", json_object());
		json_object_set_new(s, "pids_stats", json_object());
		json_object_set_new(s, "blkio_stats",
				    json_pack("{s:n}", "io_service_bytes_recursive"));
	}
	cpu = json_object_get(s, "cpu_stats");
	if (st.status == RT_RUNNING) {
		json_object_set_new(cpu, "system_cpu_usage", json_integer(system_cpu_ns()));
		json_object_set_new(cpu, "online_cpus",
				    json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	}
	json_object_set_new(cpu, "throttling_data",
			    json_pack("{s:i, s:i, s:i}", "periods", 0, "throttled_periods", 0,
				      "throttled_time", 0));
	json_object_set_new(s, "precpu_stats", json_pack("{s:{s:i}, s:{s:i, s:i, s:i}}",
							 "cpu_usage", "total_usage", 0,
							 "throttling_data", "periods", 0,
							 "throttled_periods", 0,
							 "throttled_time", 0));
	*out = s;
	return 0;
}
