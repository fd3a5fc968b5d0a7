#include "runtime/vm_update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "vmm/vm_backend.h"

static bool int_of(json_t *res, const char *object, const char *key, long long *v)
{
	json_t *j = json_object_get(json_object_get(res, object), key);

	*v = json_is_integer(j) ? json_integer_value(j) : 0;
	return *v != 0;
}

static void set_value(struct strv *sets, const char *file, long long v)
{
	char buf[64];

	if (v < 0)
		snprintf(buf, sizeof(buf), "%s max", file);
	else
		snprintf(buf, sizeof(buf), "%s %lld", file, v);
	strv_push(sets, buf);
}

/* Every CPU (or node) of a list such as "0-2,5" below n; -1 when malformed. */
static int list_below(const char *list, unsigned n, unsigned *bad)
{
	const char *p = list;

	if (!*p || strspn(p, "0123456789,-") != strlen(p) || strlen(p) > 60)
		return -1;
	while (*p) {
		char *end;
		unsigned long a = strtoul(p, &end, 10), b = a;

		if (end == p)
			return -1;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p || b < a)
				return -1;
		}
		if (b >= n) {
			*bad = (unsigned)b;
			return 1;
		}
		if (*end && *end != ',')
			return -1;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int refused(json_t *delta, struct err *err)
{
	static const char *const rt[] = { "realtimePeriod", "realtimeRuntime" };
	json_t *bio = json_object_get(delta, "blockIO");
	const char *key;
	long long v;
	json_t *j;
	size_t i;

	for (i = 0; i < 2; i++)
		if (int_of(delta, "cpu", rt[i], &v))
			return err_set(err, "cpu.%s %lld: a VM's guest has no realtime CPU limits "
				       "(its cgroup v2 has none); they are for process isolation",
				       rt[i], v);
	json_object_foreach(bio, key, j) {
		_cleanup_free_ char *text = NULL;

		if (json_is_null(j) || (json_is_integer(j) && !json_integer_value(j)))
			continue;
		text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
		return err_set(err, "blockIO.%s %.64s: a VM's disks are its VMM's files on the "
			       "host, scheduled as one: block I/O weights and limits are for "
			       "process isolation", key, text ? text : "");
	}
	return 0;
}

static int memory_sets(json_t *delta, json_t *merged, const struct oci_spec *vm,
		       struct strv *sets, struct err *err)
{
	unsigned long long ram = vm_memory_size(vm);
	long long v, limit;

	if (int_of(delta, "memory", "limit", &v)) {
		if (v > 0 && (unsigned long long)v > ram)
			return err_set(err, "memory %lld bytes is above the VM's RAM (%llu bytes, "
				       "fixed when it booted): a VM's memory cannot grow, so create "
				       "the container with the larger limit", v, ram);
		set_value(sets, "memory.max", v);
	}
	if (int_of(delta, "memory", "swap", &v)) {
		int_of(merged, "memory", "limit", &limit);
		if (v >= 0 && (limit <= 0 || v < limit))
			return err_set(err, "memory+swap %lld: it must be at least the memory limit "
				       "(%lld), or -1 for unlimited swap", v, limit);
		set_value(sets, "memory.swap.max", v < 0 ? -1 : v - limit);
	}
	if (int_of(delta, "memory", "reservation", &v))
		set_value(sets, "memory.low", v);
	return 0;
}

static int cpu_sets(json_t *delta, json_t *merged, const struct oci_spec *vm, struct strv *sets,
		    struct err *err)
{
	json_t *cpu = json_object_get(delta, "cpu");
	const char *cpus = json_string_value(json_object_get(cpu, "cpus"));
	const char *mems = json_string_value(json_object_get(cpu, "mems"));
	unsigned n = vm_vcpus(vm), bad = 0;
	long long quota, period, shares;
	char buf[64];
	int r;

	if (int_of(delta, "cpu", "quota", &quota) || int_of(delta, "cpu", "period", &period)) {
		int_of(merged, "cpu", "quota", &quota);
		int_of(merged, "cpu", "period", &period);
		if (period < 0 || (period && (period < 1000 || period > 1000000)))
			return err_set(err, "cpu period %lld: 1000 to 1000000 microseconds", period);
		if (quota > 0)
			snprintf(buf, sizeof(buf), "cpu.max %lld %lld", quota, period ? period : 100000);
		else
			snprintf(buf, sizeof(buf), "cpu.max max %lld", period ? period : 100000);
		strv_push(sets, buf);
	}
	if (int_of(delta, "cpu", "shares", &shares)) {
		if (shares < 2 || shares > 262144)
			return err_set(err, "cpu shares %lld: 2 to 262144", shares);
		/* runc's conversion of shares to cgroup v2's weight */
		set_value(sets, "cpu.weight", 1 + ((shares - 2) * 9999) / 262142);
	}
	if (cpus && *cpus) {
		if ((r = list_below(cpus, n, &bad)) < 0)
			return err_set(err, "cpuset cpus \"%.64s\": a list such as 0-2,5", cpus);
		if (r > 0)
			return err_set(err, "cpuset cpus %s: CPU %u is beyond the VM's %u vCPU%s "
				       "(0-%u), fixed when it booted", cpus, bad, n, n == 1 ? "" : "s",
				       n - 1);
		snprintf(buf, sizeof(buf), "cpuset.cpus %s", cpus);
		strv_push(sets, buf);
	}
	if (mems && *mems) {
		if ((r = list_below(mems, 1, &bad)) < 0)
			return err_set(err, "cpuset mems \"%.64s\": a list such as 0-1", mems);
		if (r > 0)
			return err_set(err, "cpuset mems %s: the VM has one memory node, 0", mems);
		snprintf(buf, sizeof(buf), "cpuset.mems %s", mems);
		strv_push(sets, buf);
	}
	return 0;
}

int vm_update_sets(json_t *delta, json_t *merged, const struct oci_spec *vm, struct strv *sets,
		   struct err *err)
{
	long long v;

	if (refused(delta, err) < 0 || memory_sets(delta, merged, vm, sets, err) < 0 ||
	    cpu_sets(delta, merged, vm, sets, err) < 0)
		return -1;
	if (int_of(delta, "pids", "limit", &v))
		set_value(sets, "pids.max", v);
	/* Kernel memory, as runc leaves it on cgroup v2: the memory limit covers it. */
	return 0;
}
