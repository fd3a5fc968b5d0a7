#include "engine/spec_build.h"

#include <stdlib.h>
#include <string.h>

#include "engine/host_config.h"
#include "engine/seccomp_profile.h"
#include "engine/host_config.h"
#include "oci/annotations.h"
#include "oci/spec.h"
#include "process/caps.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char *const masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static json_t *strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *mount_new(const char *dest, const char *type, const char *src, const char *opts)
{
	json_t *o = json_array();
	_cleanup_free_ char *copy = xstrdup(opts);
	char *tok, *save;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(o, json_string(tok));
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source",
			 src, "options", o);
}

static int mounts_build(const struct run_opts *o, const char *dir, json_t **out,
			struct err *err)
{
	json_t *m = json_array();
	size_t i;
	static const char *const etc_files[] = { "hostname", "hosts", "resolv.conf" };

	json_array_append_new(m, mount_new("/proc", "proc", "proc", "nosuid,noexec,nodev"));
	json_array_append_new(m, mount_new("/dev", "tmpfs", "tmpfs",
					   "nosuid,strictatime,mode=755,size=65536k"));
	json_array_append_new(m, mount_new("/dev/pts", "devpts", "devpts",
					   "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
	/* docker's default mounts; --privileged clears "ro" of /sys and of the
	 * cgroup view (moby's WithMounts). */
	json_array_append_new(m, mount_new("/sys", "sysfs", "sysfs",
					   o->privileged ? "nosuid,noexec,nodev"
							 : "nosuid,noexec,nodev,ro"));
	json_array_append_new(m, mount_new("/sys/fs/cgroup", "cgroup", "cgroup",
					   o->privileged ? "nosuid,noexec,nodev"
							 : "ro,nosuid,noexec,nodev"));
	json_array_append_new(m, mount_new("/dev/mqueue", "mqueue", "mqueue",
					   "nosuid,noexec,nodev"));
	json_array_append_new(m, mount_new("/dev/shm", "tmpfs", "shm",
					   "nosuid,noexec,nodev,mode=1777,size=65536k"));
	for (i = 0; i < 3; i++) {
		_cleanup_free_ char *src = xasprintf("%s/%s", dir, etc_files[i]);
		_cleanup_free_ char *dst = xasprintf("/etc/%s", etc_files[i]);

		json_array_append_new(m, mount_new(dst, "bind", src, "rbind,rprivate"));
	}
	for (i = 0; i < o->tmpfs.n; i++) {
		_cleanup_free_ char *path = xstrdup(o->tmpfs.v[i]);
		char *opts = strchr(path, ':');
		_cleanup_free_ char *all = NULL;

		if (opts)
			*opts++ = '\0';
		if (path[0] != '/') {
			json_decref(m);
			return err_set(err, "invalid --tmpfs %s: the path must be absolute",
				       o->tmpfs.v[i]);
		}
		all = xasprintf("nosuid,nodev,noexec%s%s", opts && *opts ? "," : "",
				opts ? opts : "");
		json_array_append_new(m, mount_new(path, "tmpfs", "tmpfs", all));
	}
	*out = m;
	return 0;
}

int spec_build_args(json_t *config, const struct run_opts *o, json_t **out, struct err *err)
{
	json_t *ep = json_object_get(config, "Entrypoint"), *cmd = json_object_get(config, "Cmd");
	json_t *args = json_array(), *v;
	size_t i;

	if (o->entrypoint) {
		if (*o->entrypoint)
			json_array_append_new(args, json_string(o->entrypoint));
		cmd = NULL;     /* docker: --entrypoint also resets the image's Cmd */
	} else if (json_is_array(ep)) {
		json_array_extend(args, ep);
	}
	if (o->cmd.n) {
		for (i = 0; i < o->cmd.n; i++)
			json_array_append_new(args, json_string(o->cmd.v[i]));
	} else if (json_is_array(cmd)) {
		json_array_foreach(cmd, i, v)
			json_array_append(args, v);
	}
	if (json_array_size(args) == 0) {
		json_decref(args);
		return err_set(err, "no command specified: the image has no Cmd or Entrypoint; "
			       "give one after the image name");
	}
	*out = args;
	return 0;
}

static void env_set(json_t *env, const char *kv)
{
	size_t klen = strcspn(kv, "="), i;
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (s && !strncmp(s, kv, klen) && (s[klen] == '=' || s[klen] == '\0')) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

json_t *spec_build_env(json_t *config, const struct run_opts *o, const char *hostname, bool tty)
{
	json_t *env = json_array(), *image_env = json_object_get(config, "Env"), *v;
	_cleanup_free_ char *h = xasprintf("HOSTNAME=%s", hostname);
	size_t i;

	env_set(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env_set(env, h);
	json_array_foreach(image_env, i, v)
		if (json_is_string(v))
			env_set(env, json_string_value(v));
	if (tty)
		env_set(env, "TERM=xterm");
	for (i = 0; i < o->env.n; i++) {
		const char *kv = o->env.v[i];

		if (strchr(kv, '=')) {
			env_set(env, kv);
		} else if (getenv(kv)) {
			_cleanup_free_ char *full = xasprintf("%s=%s", kv, getenv(kv));
			env_set(env, full);
		}
	}
	return env;
}

static int rlimits_build(const struct run_opts *o, json_t **out, struct err *err)
{
	json_t *r = json_array();
	size_t i;

	for (i = 0; i < o->ulimits.n; i++) {
		_cleanup_free_ char *name = xstrdup(o->ulimits.v[i]), *type = NULL;
		char *val = strchr(name, '='), *hard, *end;
		unsigned long long soft, h;

		if (val)
			*val++ = '\0';
		hard = val ? strchr(val, ':') : NULL;
		if (hard)
			*hard++ = '\0';
		type = xasprintf("RLIMIT_%s", name);
		for (char *p = type; *p; p++)
			*p = (*p >= 'a' && *p <= 'z') ? *p - 32 : *p;
		if (!val || spec_rlimit_resource(type) < 0)
			goto bad;
		soft = strtoull(val, &end, 10);
		if (end == val || *end)
			goto bad;
		h = hard ? strtoull(hard, &end, 10) : soft;
		if (hard && (end == hard || *end))
			goto bad;
		if (soft > h) {
			json_decref(r);
			return err_set(err, "invalid --ulimit %s: soft limit above hard limit",
				       o->ulimits.v[i]);
		}
		json_array_append_new(r, json_pack("{s:s, s:I, s:I}", "type", type, "soft",
						   (json_int_t)soft, "hard", (json_int_t)h));
		continue;
bad:
		json_decref(r);
		return err_set(err, "invalid --ulimit %s: want NAME=SOFT[:HARD], e.g. "
			       "nofile=1024:2048", o->ulimits.v[i]);
	}
	*out = r;
	return 0;
}

/* --security-opt seccomp=...; no-new-privileges[=true|false]. */
static int security_build(const struct run_opts *o, json_t *caps, json_t **seccomp,
			  bool *nnp, struct err *err)
{
	const char *profile = NULL;
	const char **names = xmalloc((json_array_size(caps) + 1) * sizeof(char *));
	size_t i, n = json_array_size(caps);
	json_t *v;
	int r = 0;

	json_array_foreach(caps, i, v)
		names[i] = json_string_value(v);
	/* docker: off unless asked, or the host's default (dockerd --no-new-privileges). */
	*nnp = o->host && o->host->no_new_privileges;
	for (i = 0; i < o->security_opt.n; i++) {
		const char *s = o->security_opt.v[i];

		if (!strncmp(s, "seccomp=", 8) || !strncmp(s, "seccomp:", 8))
			profile = s + 8;
		else if (!strcmp(s, "no-new-privileges") || !strcmp(s, "no-new-privileges=true") ||
			 !strcmp(s, "no-new-privileges:true"))
			*nnp = true;
		else if (!strcmp(s, "no-new-privileges=false") ||
			 !strcmp(s, "no-new-privileges:false"))
			*nnp = false;
		else
			r = err_set(err, "invalid --security-opt %s: want seccomp=unconfined|FILE "
				    "or no-new-privileges", s);
	}
	*seccomp = NULL;
	if (r == 0 && profile && strcmp(profile, "unconfined"))
		r = seccomp_profile_load_docker(profile, names, n, seccomp, err);
	else if (r == 0 && !profile && !o->privileged)
		*seccomp = seccomp_profile_default(names, n);
	free(names);
	return r;
}

static json_t *resources_build(const struct run_opts *o)
{
	json_t *res = json_object();

	if (o->memory > 0)
		json_object_set_new(res, "memory", json_pack("{s:I}", "limit", o->memory));
	if (o->nano_cpus > 0)
		json_object_set_new(res, "cpu", json_pack("{s:I, s:I}", "quota",
							  o->nano_cpus / 10000, "period",
							  (json_int_t)100000));
	if (o->pids_limit > 0)
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", o->pids_limit));
	json_object_set_new(res, "devices", json_pack("[{s:b, s:s}]", "allow", o->privileged,
						      "access", "rwm"));
	return res;
}

static json_t *overlay_options(const struct image *img, const char *dir)
{
	_cleanup_free_ char *lower = xstrdup("");
	size_t i;

	/* overlayfs lists lower layers top first; layers are stored bottom first. */
	for (i = img->n_layers; i-- > 0;) {
		char *next = xasprintf("%s%s%s", lower, *lower ? ":" : "", img->layer_dirs[i]);
		free(lower);
		lower = next;
	}
	return json_sprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, dir, dir);
}

static json_t *process_build(const struct run_opts *o, json_t *args, json_t *env,
			     const char *cwd, const struct user_ids *ids, json_t *caps,
			     json_t *rlimits, bool nnp)
{
	json_t *gids = json_array();
	size_t i;

	for (i = 0; i < ids->n_gids; i++)
		json_array_append_new(gids, json_integer(ids->gids[i]));
	return json_pack("{s:b, s:{s:i, s:i, s:o}, s:o, s:o, s:s, s:{s:O, s:O, s:o, s:O, s:o},"
			 " s:o, s:b}",
			 "terminal", o->tty, "user", "uid", (int)ids->uid, "gid", (int)ids->gid,
			 "additionalGids", gids, "args", args, "env", env, "cwd", cwd,
			 "capabilities", "bounding", caps, "effective", caps, "inheritable",
			 json_array(), "permitted", caps, "ambient", json_array(), "rlimits",
			 rlimits, "noNewPrivileges", nnp);
}

/* Every namespace of its own, but those --network/--pid/--ipc/--uts host share. */
static json_t *namespaces_build(const struct run_opts *o)
{
	const struct { const char *type, *mode; } ns[] = {
		{ "mount", NULL },   { "pid", o->pid_mode }, { "uts", o->uts_mode },
		{ "ipc", o->ipc_mode }, { "network", o->network_mode }, { "cgroup", NULL },
	};
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (!ns[i].mode || strcmp(ns[i].mode, "host"))
			json_array_append_new(a, json_pack("{s:s}", "type", ns[i].type));
	return a;
}

bool run_opts_init(const struct run_opts *o)
{
	return o->init_set ? o->init : o->host && o->host->init;
}

int spec_build(const struct image *img, const struct run_opts *o, const char *dir,
	       const char *hostname, const struct user_ids *ids, json_t **out, struct err *err)
{
	json_t *cfg = json_object_get(img->config, "config");
	const char *wd = o->workdir ? o->workdir : json_string_value(json_object_get(cfg, "WorkingDir"));
	_cleanup_json_ json_t *caps = NULL;
	json_t *args = NULL, *mounts = NULL, *rlimits = NULL, *seccomp = NULL, *linux_;
	bool nnp;

	if (!wd || !*wd)
		wd = "/";
	if (wd[0] != '/')
		return err_set(err, "the working directory '%s' is invalid: it must be absolute", wd);
	if (caps_resolve(strv_get(&o->cap_add), o->cap_add.n, strv_get(&o->cap_drop),
			 o->cap_drop.n, o->privileged, &caps, err) < 0)
		return -1;
	if (spec_build_args(cfg, o, &args, err) < 0)
		return -1;
	if (mounts_build(o, dir, &mounts, err) < 0 || rlimits_build(o, &rlimits, err) < 0 ||
	    security_build(o, caps, &seccomp, &nnp, err) < 0) {
		json_decref(args);
		json_decref(mounts);
		json_decref(rlimits);
		return -1;
	}
	linux_ = json_pack("{s:o, s:o, s:o, s:o}", "namespaces", namespaces_build(o),
			   "maskedPaths",
			   o->privileged ? json_array() : strings(masked_paths, 11), "readonlyPaths",
			   o->privileged ? json_array() : strings(readonly_paths, 5), "resources",
			   resources_build(o));
	if (seccomp)
		json_object_set_new(linux_, "seccomp", seccomp);
	/* docker's for a network namespace of its own: ping without CAP_NET_RAW,
	 * ports below 1024 without CAP_NET_BIND_SERVICE. */
	if (!o->network_mode || strcmp(o->network_mode, "host"))
		json_object_set_new(linux_, "sysctl",
				    json_pack("{s:s, s:s}", "net.ipv4.ip_unprivileged_port_start",
					      "0", "net.ipv4.ping_group_range", "0 2147483647"));
	*out = json_pack("{s:s, s:{s:s, s:b}, s:s, s:o, s:o, s:o, s:{s:o, s:s}}", "ociVersion",
			 "1.0.2", "root", "path", "rootfs", "readonly", o->read_only, "hostname",
			 hostname,
			 "process", process_build(o, args, spec_build_env(cfg, o, hostname, o->tty),
						  wd, ids, caps, rlimits, nnp),
			 "mounts", mounts, "linux", linux_, "annotations", "io.isobox.overlay",
			 overlay_options(img, dir), "io.isobox.isolation", "process");
	if (*out && run_opts_init(o))
		json_object_set_new(json_object_get(*out, "annotations"), ANNOTATION_INIT,
				    json_string("true"));
	return *out ? 0 : err_set(err, "build the OCI spec");
}
