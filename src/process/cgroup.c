#include "cgroup.h"

#include <errno.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "process/devices.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* The v1 hierarchies a container is placed in, as runc places it: limits
 * need memory, cpu and pids; every one is its own in the container's
 * /sys/fs/cgroup (process/cgroup_view.c), named=systemd included. */
static const char *const v1_controllers[] = { "memory", "cpu", "cpuacct", "pids",
					      "freezer", "devices", "blkio", "cpuset",
					      "systemd" };

static bool cgroup_is_unified(void)
{
	return access(CGROUP_ROOT "/cgroup.controllers", F_OK) == 0;
}

void cgroup_open_at(const char *path, struct cgroup *cg)
{
	size_t i;

	memset(cg, 0, sizeof(*cg));
	cg->unified = cgroup_is_unified();
	if (cg->unified) {
		cg->dirs[cg->n_dirs++] = xasprintf(CGROUP_ROOT "/%s", path);
		cg->memory_dir = cg->dirs[0];
		return;
	}
	for (i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]); i++) {
		_cleanup_free_ char *base = xasprintf(CGROUP_ROOT "/%s", v1_controllers[i]);

		if (access(base, F_OK) < 0)
			continue;
		cg->dirs[cg->n_dirs] = xasprintf("%s/%s", base, path);
		/* cpuset only where made (cgroup_create_at; containers of older
		 * versions have none). */
		if (!strcmp(v1_controllers[i], "cpuset") && access(cg->dirs[cg->n_dirs], F_OK) < 0) {
			free(cg->dirs[cg->n_dirs]);
			continue;
		}
		if (!strcmp(v1_controllers[i], "memory"))
			cg->memory_dir = cg->dirs[cg->n_dirs];
		cg->n_dirs++;
	}
}

void cgroup_open(const char *id, struct cgroup *cg)
{
	_cleanup_free_ char *path = xasprintf("isobox/%s", id);

	cgroup_open_at(path, cg);
}

static int cgroup_write(const char *dir, const char *file, const char *value, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);

	return write_file(path, value, err);
}

static int cgroup_write_ll(const char *dir, const char *file, long long v, struct err *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	return cgroup_write(dir, file, buf, err);
}

/* The others the host has (io, cpuset, hugetlb, ...), as runc enables them:
 * the container's cgroup then has the files a docker container sees. */
static void cgroup_enable_others(const char *dir)
{
	_cleanup_free_ char *text = NULL;
	char *tok, *save;

	if (read_file(CGROUP_ROOT "/cgroup.controllers", 4096, &text, NULL, &(struct err){ 0 }) < 0)
		return;
	for (tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		_cleanup_free_ char *one = NULL;

		if (!strcmp(tok, "memory") || !strcmp(tok, "pids") || !strcmp(tok, "cpu"))
			continue;
		one = xasprintf("+%s", tok);
		cgroup_write(dir, "cgroup.subtree_control", one, &(struct err){ 0 });
	}
}

/* Enable controllers at every level above dir: a host's init usually did it
 * at the root; a bare one has not. */
static int v2_enable(const char *dir, const char *controllers, struct err *err)
{
	_cleanup_free_ char *above = xstrdup(dir);
	char *slash = above + strlen(CGROUP_ROOT);

	cgroup_write(CGROUP_ROOT, "cgroup.subtree_control", controllers, &(struct err){ 0 });
	cgroup_enable_others(CGROUP_ROOT);
	while ((slash = strchr(slash + 1, '/'))) {
		*slash = '\0';
		if (cgroup_write(above, "cgroup.subtree_control", controllers, err) < 0)
			return -1;
		cgroup_enable_others(above);
		*slash = '/';
	}
	return 0;
}

static int cgroup_limits_v2(const struct cgroup *cg, const struct oci_spec *spec,
			    struct err *err)
{
	const char *dir = cg->dirs[0];

	if (v2_enable(dir, "+memory +pids +cpu", err) < 0)
		return -1;
	return devices_apply_v2(dir, spec->devices_allow_all, spec->dev_rules, spec->n_dev_rules,
				err);
}

/* A limit in v2's words: "max" for -1 (runc's unlimited). */
static void v2_value(char *buf, size_t len, long long v)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%lld", v);
}

static json_int_t res_int(json_t *res, const char *object, const char *key, bool *set)
{
	json_t *v = json_object_get(json_object_get(res, object), key);

	*set = json_is_integer(v) && json_integer_value(v) != 0;
	return *set ? json_integer_value(v) : 0;
}

/* runc's conversions to v2: cpu.weight from shares, io.weight from blkio's,
 * memory.swap.max from memory+swap. */
static int cgroup_resources_v2_more(const char *dir, json_t *res, long long limit,
				    struct err *err)
{
	json_t *cpu = json_object_get(res, "cpu");
	bool set;
	long long v;
	char buf[64];
	const char *s;

	if (res_int(res, "cpu", "realtimePeriod", &set), set ||
	    (res_int(res, "cpu", "realtimeRuntime", &set), set))
		return err_set(err, "cgroup v2 has no realtime CPU limits (cpu.realtimePeriod, "
			       "cpu.realtimeRuntime, runc's --cpu-rt-period and --cpu-rt-runtime)");
	v = res_int(res, "memory", "swap", &set);
	if (set) {
		if (v >= 0 && (limit <= 0 || v < limit))
			return err_set(err, "memory+swap %lld: it must be at least the memory "
				       "limit (%lld), or -1 for unlimited swap", v, limit);
		v2_value(buf, sizeof(buf), v < 0 ? -1 : v - limit);
		if (cgroup_write(dir, "memory.swap.max", buf, err) < 0)
			return -1;
	} else if (limit > 0) {
		cgroup_write(dir, "memory.swap.max", "0", &(struct err){ 0 });
	}
	v = res_int(res, "memory", "reservation", &set);
	v2_value(buf, sizeof(buf), v);
	if (set && cgroup_write(dir, "memory.low", buf, err) < 0)
		return -1;
	v = res_int(res, "cpu", "shares", &set);
	if (set && (v < 2 || v > 262144))
		return err_set(err, "cpu shares %lld: 2 to 262144", v);
	if (set && cgroup_write_ll(dir, "cpu.weight", 1 + ((v - 2) * 9999) / 262142, err) < 0)
		return -1;
	if ((s = json_string_value(json_object_get(cpu, "cpus"))) && *s &&
	    (v2_enable(dir, "+cpuset", err) < 0 || cgroup_write(dir, "cpuset.cpus", s, err) < 0))
		return -1;
	if ((s = json_string_value(json_object_get(cpu, "mems"))) && *s &&
	    (v2_enable(dir, "+cpuset", err) < 0 || cgroup_write(dir, "cpuset.mems", s, err) < 0))
		return -1;
	v = res_int(res, "blockIO", "weight", &set);
	if (set) {
		_cleanup_free_ char *bfq = xasprintf("%s/io.bfq.weight", dir);

		if (v < 10 || v > 1000)
			return err_set(err, "blkio weight %lld: 10 to 1000", v);
		if (v2_enable(dir, "+io", err) < 0)
			return -1;
		if (access(bfq, F_OK) == 0)
			return cgroup_write_ll(dir, "io.bfq.weight", v, err);
		if (cgroup_write_ll(dir, "io.weight", 1 + (v - 10) * 9999 / 990, err) < 0)
			return err_wrap(err, "blkio weight %lld: this host's I/O scheduler takes "
					"no weights", v);
	}
	return 0;
}

static int cgroup_resources_v2(const struct cgroup *cg, const struct oci_spec *spec,
			       struct err *err)
{
	const char *dir = cg->dirs[0];
	char buf[64];

	if (spec->memory_limit) {
		v2_value(buf, sizeof(buf), spec->memory_limit);
		if (cgroup_write(dir, "memory.max", buf, err) < 0)
			return -1;
	}
	if (spec->pids_limit) {
		v2_value(buf, sizeof(buf), spec->pids_limit);
		if (cgroup_write(dir, "pids.max", buf, err) < 0)
			return -1;
	}
	if (spec->cpu_quota || spec->cpu_period) {
		v2_value(buf, sizeof(buf), spec->cpu_quota ? spec->cpu_quota : -1);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %lld",
			 spec->cpu_period > 0 ? spec->cpu_period : 100000);
		if (cgroup_write(dir, "cpu.max", buf, err) < 0)
			return -1;
	}
	return cgroup_resources_v2_more(dir, spec->resources, spec->memory_limit, err);
}

static const char *cgroup_dir_of(const struct cgroup *cg, const char *controller)
{
	size_t i;
	_cleanup_free_ char *prefix = xasprintf(CGROUP_ROOT "/%s/", controller);

	for (i = 0; i < cg->n_dirs; i++)
		if (!strncmp(cg->dirs[i], prefix, strlen(prefix)))
			return cg->dirs[i];
	return NULL;
}

static int cgroup_limits_v1(const struct cgroup *cg, const struct oci_spec *spec,
			    struct err *err)
{
	const char *devices = cgroup_dir_of(cg, "devices");

	if (!devices)
		return err_set(err, "the devices cgroup controller is missing: without it the "
			       "container could open the host's devices");
	return devices_apply_v1(devices, spec->devices_allow_all, spec->dev_rules,
				spec->n_dev_rules, err);
}

/* linux.resources beyond the limits docker's flags set, as v1 files; written
 * in this order (swap after the memory limit it must not go below). */
static const struct {
	const char *object, *key, *controller, *file;
} v1_files[] = {
	{ "cpu", "shares", "cpu", "cpu.shares" },
	{ "cpu", "realtimePeriod", "cpu", "cpu.rt_period_us" },
	{ "cpu", "realtimeRuntime", "cpu", "cpu.rt_runtime_us" },
	{ "cpu", "cpus", "cpuset", "cpuset.cpus" },
	{ "cpu", "mems", "cpuset", "cpuset.mems" },
	{ "memory", "reservation", "memory", "memory.soft_limit_in_bytes" },
	{ "memory", "kernel", "memory", "memory.kmem.limit_in_bytes" },
	{ "memory", "kernelTCP", "memory", "memory.kmem.tcp.limit_in_bytes" },
	{ "memory", "swappiness", "memory", "memory.swappiness" },
	{ "memory", "disableOOMKiller", "memory", "memory.oom_control" },
	{ "blockIO", "weight", "blkio", "blkio.weight" },
	{ "blockIO", "leafWeight", "blkio", "blkio.leaf_weight" },
};

static int cgroup_resources_v1_more(const struct cgroup *cg, json_t *res, struct err *err)
{
	size_t i;

	for (i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++) {
		json_t *v = json_object_get(json_object_get(res, v1_files[i].object), v1_files[i].key);
		const char *dir = cgroup_dir_of(cg, v1_files[i].controller);
		char buf[64];

		if (!v || json_is_null(v))
			continue;
		if (!dir)
			return err_set(err, "linux.resources.%s.%s needs the %s cgroup controller",
				       v1_files[i].object, v1_files[i].key, v1_files[i].controller);
		if (json_is_string(v))
			snprintf(buf, sizeof(buf), "%s", json_string_value(v));
		else if (json_is_boolean(v))
			snprintf(buf, sizeof(buf), "%d", json_is_true(v));
		else if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		else
			return err_set(err, "linux.resources.%s.%s: bad value", v1_files[i].object,
				       v1_files[i].key);
		if (!strcmp(v1_files[i].controller, "blkio")) {
			_cleanup_free_ char *plain = xasprintf("%s/%s", dir, v1_files[i].file);
			_cleanup_free_ char *bfq = xasprintf("blkio.bfq.%s", v1_files[i].file + 6);
			_cleanup_free_ char *bfq_path = xasprintf("%s/%s", dir, bfq);

			if (access(plain, F_OK) < 0 && access(bfq_path, F_OK) < 0)
				return err_set(err, "linux.resources.blockIO.%s %s: this host's block "
					       "I/O scheduler takes no weights (no %s or %s: BFQ "
					       "is not in use)", v1_files[i].key, buf,
					       v1_files[i].file, bfq);
			if (access(plain, F_OK) < 0 && cgroup_write(dir, bfq, buf, err) < 0)
				return -1;
			if (access(plain, F_OK) < 0)
				continue;
		}
		if (cgroup_write(dir, v1_files[i].file, buf, err) < 0)
			return -1;
	}
	return 0;
}

static int cgroup_resources_v1(const struct cgroup *cg, const struct oci_spec *spec,
			       struct err *err)
{
	const char *mem = cgroup_dir_of(cg, "memory"), *pids = cgroup_dir_of(cg, "pids");
	const char *cpu = cgroup_dir_of(cg, "cpu");

	if (spec->memory_limit) {
		json_t *swap = json_object_get(json_object_get(spec->resources, "memory"), "swap");
		/* No swap beyond the limit unless asked for, as docker does when the host
		 * has none; hosts without swap accounting lack the file. */
		long long memsw = json_is_integer(swap) && json_integer_value(swap)
					  ? json_integer_value(swap) : spec->memory_limit;
		bool swap_set = json_is_integer(swap) && json_integer_value(swap);

		if (!mem)
			return err_set(err, "--memory needs the memory cgroup controller");
		if (swap_set && memsw >= 0 && (spec->memory_limit < 0 || memsw < spec->memory_limit))
			return err_set(err, "memory+swap %lld: it must be at least the memory "
				       "limit (%lld), or -1 for unlimited swap", memsw,
				       spec->memory_limit);
		/* memory.limit_in_bytes may never exceed memsw: raising both, memsw
		 * goes first; lowering, the limit does. */
		if (cgroup_write_ll(mem, "memory.memsw.limit_in_bytes", memsw, &(struct err){ 0 }) == 0) {
			if (cgroup_write_ll(mem, "memory.limit_in_bytes", spec->memory_limit, err) < 0)
				return -1;
		} else if (cgroup_write_ll(mem, "memory.limit_in_bytes", spec->memory_limit, err) < 0 ||
			   (cgroup_write_ll(mem, "memory.memsw.limit_in_bytes", memsw, err) < 0 &&
			    swap_set)) {
			return -1;
		}
		err_clear(err);
	}
	if (spec->pids_limit) {
		if (!pids)
			return err_set(err, "--pids-limit needs the pids cgroup controller");
		if (spec->pids_limit < 0 ? cgroup_write(pids, "pids.max", "max", err) < 0
					 : cgroup_write_ll(pids, "pids.max", spec->pids_limit, err) < 0)
			return -1;
	}
	if (cgroup_resources_v1_more(cg, spec->resources, err) < 0)
		return -1;
	if (spec->cpu_quota || spec->cpu_period) {
		if (!cpu)
			return err_set(err, "--cpus needs the cpu cgroup controller");
		if (cgroup_write_ll(cpu, "cpu.cfs_period_us",
				    spec->cpu_period > 0 ? spec->cpu_period : 100000, err) < 0 ||
		    (spec->cpu_quota &&
		     cgroup_write_ll(cpu, "cpu.cfs_quota_us", spec->cpu_quota, err) < 0))
			return -1;
	}
	return 0;
}

int cgroup_update(const struct cgroup *cg, const struct oci_spec *spec, struct err *err)
{
	return cg->unified ? cgroup_resources_v2(cg, spec, err) : cgroup_resources_v1(cg, spec, err);
}

/* v1's freezer.state, or v2's cgroup.freeze; a freeze waits until it holds. */
int cgroup_freeze(const struct cgroup *cg, bool frozen, struct err *err)
{
	const char *dir = cg->unified ? cg->dirs[0] : cgroup_dir_of(cg, "freezer");
	int tries;


	if (!dir)
		return err_set(err, "pausing needs the freezer cgroup controller");
	if (cgroup_write(dir, cg->unified ? "cgroup.freeze" : "freezer.state",
			 cg->unified ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED"),
			 err) < 0)
		return -1;
	for (tries = 0; frozen && tries < 1000 && !cgroup_frozen(cg); tries++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	return !frozen || cgroup_frozen(cg) ? 0 : err_set(err, "the cgroup did not freeze");
}

bool cgroup_frozen(const struct cgroup *cg)
{
	const char *dir = cg->unified ? cg->dirs[0] : cgroup_dir_of(cg, "freezer");
	_cleanup_free_ char *path = NULL, *text = NULL;

	if (!dir)
		return false;
	path = xasprintf("%s/%s", dir, cg->unified ? "cgroup.events" : "freezer.state");
	if (read_file(path, 4096, &text, NULL, &(struct err){ 0 }) < 0)
		return false;
	return cg->unified ? strstr(text, "frozen 1") != NULL : !strncmp(text, "FROZEN", 6);
}

/* A v1 cpuset directory and those above it, each given its parent's cpus and
 * mems (a new cpuset is empty, and no task may join it). */
static int cpuset_mkdir(const char *dir, struct err *err)
{
	_cleanup_free_ char *parent = xstrdup(dir);
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char *slash = strrchr(parent, '/');
	size_t i;

	if (access(dir, F_OK) == 0)
		return 0;
	*slash = '\0';
	if (strcmp(parent, CGROUP_ROOT "/cpuset") && cpuset_mkdir(parent, err) < 0)
		return -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "create %s", dir);
	for (i = 0; i < 2; i++) {
		_cleanup_free_ char *from = xasprintf("%s/%s", parent, files[i]), *v = NULL;

		if (read_file(from, 4096, &v, NULL, err) < 0 ||
		    cgroup_write(dir, files[i], v, err) < 0)
			return -1;
	}
	return 0;
}

int cgroup_create_at(const char *path, const struct oci_spec *spec, struct cgroup *cg,
		     struct err *err)
{
	size_t i;
	int r;

	cgroup_open_at(path, cg);
	/* cpuset too, filled from its parent (a new one holds no task until
	 * then): the container's own, not the host's, is what it sees. */
	if (!cg->unified && !cgroup_dir_of(cg, "cpuset") &&
	    access(CGROUP_ROOT "/cpuset", F_OK) == 0 && cg->n_dirs < CGROUP_MAX_DIRS)
		cg->dirs[cg->n_dirs++] = xasprintf(CGROUP_ROOT "/cpuset/%s", path);
	for (i = 0; i < cg->n_dirs; i++) {
		r = strstr(cg->dirs[i], CGROUP_ROOT "/cpuset/") ? cpuset_mkdir(cg->dirs[i], err)
							       : mkdir_p(cg->dirs[i], 0755, err);
		if (r < 0)
			goto fail;
	}
	r = cg->unified ? cgroup_limits_v2(cg, spec, err) : cgroup_limits_v1(cg, spec, err);
	if (r == 0)
		r = cgroup_update(cg, spec, err);
	if (r == 0)
		return 0;
fail:
	cgroup_destroy(cg, &(struct err){ 0 });
	return err_wrap(err, "cgroup");
}

int cgroup_cpuset_join(struct cgroup *cg, const char *path, struct err *err)
{
	_cleanup_free_ char *dir = NULL, *procs = NULL, *text = NULL;
	char *line, *save;

	if (cg->unified || cgroup_dir_of(cg, "cpuset") || !cg->n_dirs)
		return 0;
	if (access(CGROUP_ROOT "/cpuset", F_OK) < 0 || cg->n_dirs >= CGROUP_MAX_DIRS)
		return err_set(err, "cpuset limits need the cpuset cgroup controller");
	dir = xasprintf(CGROUP_ROOT "/cpuset/%s", path);
	procs = xasprintf("%s/cgroup.procs", cg->dirs[0]);
	if (cpuset_mkdir(dir, err) < 0 || read_file(procs, 1 << 20, &text, NULL, err) < 0)
		return err_wrap(err, "cgroup");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (cgroup_write(dir, "cgroup.procs", line, err) < 0 && err->errnum != ESRCH)
			return err_wrap(err, "cgroup");
	err_clear(err);
	cg->dirs[cg->n_dirs++] = take_ptr(&dir);
	return 0;
}

int cgroup_create(const char *id, const struct oci_spec *spec, struct cgroup *cg,
		  struct err *err)
{
	_cleanup_free_ char *path = xasprintf("isobox/%s", id);

	return cgroup_create_at(path, spec, cg, err);
}

int cgroup_enter_self(const struct cgroup *cg, struct err *err)
{
	/* On v1 a single thread that moves itself through "tasks" skips the
	 * global threadgroup lock, whose write side waits for an RCU grace
	 * period (~10 ms here); cgroup.procs would take it. */
	const char *file = cg->unified ? "cgroup.procs" : "tasks";
	size_t i;

	for (i = 0; i < cg->n_dirs; i++)
		if (cgroup_write(cg->dirs[i], file, "0", err) < 0)
			return -1;
	return 0;
}

int cgroup_enter_pid(const struct cgroup *cg, pid_t pid, struct err *err)
{
	char buf[16];
	size_t i;

	snprintf(buf, sizeof(buf), "%d", pid);
	for (i = 0; i < cg->n_dirs; i++)
		if (cgroup_write(cg->dirs[i], "cgroup.procs", buf, err) < 0)
			return -1;
	return 0;
}

bool cgroup_oom_killed(const struct cgroup *cg)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	struct err err = { 0 };
	const char *p;

	if (!cg->memory_dir)
		return false;
	path = xasprintf("%s/%s", cg->memory_dir,
			 cg->unified ? "memory.events" : "memory.oom_control");
	if (read_file(path, 1 << 16, &buf, NULL, &err) < 0)
		return false;
	p = strstr(buf, "oom_kill ");
	return p && atoll(p + strlen("oom_kill ")) > 0;
}

static void cgroup_kill_all(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroup.procs", dir);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	int pid;

	while (f && fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGKILL);
}

int cgroup_destroy(struct cgroup *cg, struct err *err)
{
	size_t i;
	int tries;

	for (i = 0; i < cg->n_dirs; i++) {
		for (tries = 0; tries < 200; tries++) {
			if (rmdir(cg->dirs[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY)
				return err_sys(err, errno, "remove cgroup %s", cg->dirs[i]);
			cgroup_kill_all(cg->dirs[i]);
			nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
		}
		if (tries == 200)
			return err_sys(err, EBUSY, "remove cgroup %s", cg->dirs[i]);
	}
	return 0;
}

void cgroup_free(struct cgroup *cg)
{
	size_t i;

	for (i = 0; i < cg->n_dirs; i++)
		free(cg->dirs[i]);
	memset(cg, 0, sizeof(*cg));
}
