#include "spec.h"

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "oci/annotations.h"
#include "util/fs.h"

struct mount_flag {
	const char *name;
	bool clear;
	unsigned long flag;
};

static const struct mount_flag mount_flags[] = {
	{ "defaults", false, 0 },     { "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },    { "nosuid", false, MS_NOSUID },
	{ "suid", true, MS_NOSUID },  { "nodev", false, MS_NODEV },
	{ "dev", true, MS_NODEV },    { "noexec", false, MS_NOEXEC },
	{ "exec", true, MS_NOEXEC },  { "sync", false, MS_SYNCHRONOUS },
	{ "async", true, MS_SYNCHRONOUS }, { "dirsync", false, MS_DIRSYNC },
	{ "remount", false, MS_REMOUNT }, { "mand", false, MS_MANDLOCK },
	{ "nomand", true, MS_MANDLOCK }, { "atime", true, MS_NOATIME },
	{ "noatime", false, MS_NOATIME }, { "diratime", true, MS_NODIRATIME },
	{ "nodiratime", false, MS_NODIRATIME }, { "relatime", false, MS_RELATIME },
	{ "norelatime", true, MS_RELATIME }, { "strictatime", false, MS_STRICTATIME },
	{ "nostrictatime", true, MS_STRICTATIME },
};

static const struct mount_flag propagation_flags[] = {
	{ "private", false, MS_PRIVATE },   { "rprivate", false, MS_PRIVATE | MS_REC },
	{ "shared", false, MS_SHARED },     { "rshared", false, MS_SHARED | MS_REC },
	{ "slave", false, MS_SLAVE },       { "rslave", false, MS_SLAVE | MS_REC },
	{ "unbindable", false, MS_UNBINDABLE }, { "runbindable", false, MS_UNBINDABLE | MS_REC },
};

static const struct { const char *name; int res; } rlimits[] = {
	{ "RLIMIT_AS", RLIMIT_AS },         { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },       { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static const struct { const char *type; int flag; } namespaces[] = {
	{ "mount", CLONE_NEWNS }, { "pid", CLONE_NEWPID },   { "uts", CLONE_NEWUTS },
	{ "ipc", CLONE_NEWIPC },  { "network", CLONE_NEWNET }, { "cgroup", CLONE_NEWCGROUP },
	{ "user", CLONE_NEWUSER },
};

int spec_rlimit_resource(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++)
		if (!strcmp(rlimits[i].name, name))
			return rlimits[i].res;
	return -1;
}

int spec_strv_from_json(json_t *arr, const char *what, const char ***out, struct err *err)
{
	const char **v;
	size_t i;
	json_t *s;

	if (!arr) {
		*out = xmalloc(sizeof(char *));
		return 0;
	}
	if (!json_is_array(arr))
		return err_set(err, "%s: must be an array of strings", what);
	v = xmalloc((json_array_size(arr) + 1) * sizeof(char *));
	json_array_foreach(arr, i, s) {
		if (!json_is_string(s)) {
			free(v);
			return err_set(err, "%s[%zu]: must be a string", what, i);
		}
		v[i] = json_string_value(s);
	}
	*out = v;
	return 0;
}

static int flag_lookup(const struct mount_flag *tab, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(tab[i].name, name))
			return (int)i;
	return -1;
}

static void data_append(char **data, const char *opt)
{
	char *old = *data;

	*data = old ? xasprintf("%s,%s", old, opt) : xstrdup(opt);
	free(old);
}

int spec_mount_options(json_t *options, struct oci_mount *m, struct err *err)
{
	size_t i, n_mf = sizeof(mount_flags) / sizeof(mount_flags[0]);
	size_t n_pf = sizeof(propagation_flags) / sizeof(propagation_flags[0]);
	json_t *o;

	if (options && !json_is_array(options))
		return err_set(err, "mount %s: options must be an array", m->destination);
	json_array_foreach(options, i, o) {
		const char *s = json_string_value(o);
		int k;

		if (!s)
			return err_set(err, "mount %s: options[%zu] must be a string",
				       m->destination, i);
		if (!strcmp(s, "bind") || !strcmp(s, "rbind")) {
			m->bind = true;
			m->flags |= MS_BIND | (s[0] == 'r' ? MS_REC : 0);
		} else if ((k = flag_lookup(mount_flags, n_mf, s)) >= 0) {
			if (mount_flags[k].clear)
				m->flags &= ~mount_flags[k].flag;
			else
				m->flags |= mount_flags[k].flag;
		} else if ((k = flag_lookup(propagation_flags, n_pf, s)) >= 0) {
			m->propagation = propagation_flags[k].flag;
		} else {
			data_append(&m->data, s);
		}
	}
	if (m->bind && (m->flags & MS_RDONLY)) {
		m->readonly_bind = true;
		m->flags &= ~MS_RDONLY;
	}
	return 0;
}

/* Destinations are resolved beneath the rootfs later; here they must at least
 * be absolute and free of "..", so no mount can be aimed outside it. */
static int path_check(const char *what, const char *path, struct err *err)
{
	const char *p;

	if (!path || path[0] != '/')
		return err_set(err, "%s: must be an absolute path", what);
	for (p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return err_set(err, "%s: %s must not contain '..'", what, path);
	return 0;
}

static int parse_mounts(json_t *arr, struct oci_spec *spec, struct err *err)
{
	size_t i;
	json_t *m;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err_set(err, "mounts: must be an array");
	spec->mounts = xmalloc(json_array_size(arr) * sizeof(*spec->mounts));
	json_array_foreach(arr, i, m) {
		struct oci_mount *om = &spec->mounts[i];
		char what[32];

		snprintf(what, sizeof(what), "mounts[%zu]", i);
		spec->n_mounts = i + 1;
		if (!json_is_object(m))
			return err_set(err, "%s: must be an object", what);
		om->destination = json_string_value(json_object_get(m, "destination"));
		om->type = json_string_value(json_object_get(m, "type"));
		om->source = json_string_value(json_object_get(m, "source"));
		if (path_check(what, om->destination, err) < 0)
			return -1;
		if (spec_mount_options(json_object_get(m, "options"), om, err) < 0)
			return -1;
		if (!om->type)
			om->type = om->bind ? "bind" : "none";
		if (!om->source)
			om->source = om->type;
	}
	return 0;
}

/* uid_t and gid_t are 32 bits and (uid_t)-1 means "unchanged" to the kernel:
 * anything else, truncated, could become 0. */
#define ID_MAX 0xfffffffeu

static int id_parse(json_t *v, unsigned int *out)
{
	json_int_t n;

	if (!v) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < 0 || n > (json_int_t)ID_MAX)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

static int parse_user(json_t *user, struct oci_spec *spec, struct err *err)
{
	json_t *gids = json_object_get(user, "additionalGids"), *g;
	size_t i;

	if (!json_is_object(user))
		return 0;
	if (id_parse(json_object_get(user, "uid"), &spec->uid) < 0 ||
	    id_parse(json_object_get(user, "gid"), &spec->gid) < 0)
		return err_set(err, "process.user: uid and gid must be integers from 0 to %u",
			       ID_MAX);
	if (!gids)
		return 0;
	if (!json_is_array(gids) || json_array_size(gids) > 65536)
		return err_set(err, "process.user.additionalGids: must be an array of gids");
	spec->gids = xmalloc((json_array_size(gids) + 1) * sizeof(gid_t));
	json_array_foreach(gids, i, g) {
		if (id_parse(g, &spec->gids[spec->n_gids]) < 0)
			return err_set(err, "process.user.additionalGids[%zu]: bad gid", i);
		spec->n_gids++;
	}
	return 0;
}

static int parse_rlimits(json_t *arr, struct oci_spec *spec, struct err *err)
{
	size_t i;
	json_t *r;

	if (!json_is_array(arr))
		return 0;
	spec->rlimits = xmalloc((json_array_size(arr) + 1) * sizeof(*spec->rlimits));
	json_array_foreach(arr, i, r) {
		const char *type = json_string_value(json_object_get(r, "type"));
		int res = type ? spec_rlimit_resource(type) : -1;

		if (res < 0)
			return err_set(err, "process.rlimits[%zu]: unknown type %s", i,
				       type ? type : "(none)");
		spec->rlimits[i].resource = res;
		spec->rlimits[i].soft = json_integer_value(json_object_get(r, "soft"));
		spec->rlimits[i].hard = json_integer_value(json_object_get(r, "hard"));
		if (spec->rlimits[i].soft > spec->rlimits[i].hard)
			return err_set(err, "process.rlimits[%zu]: soft limit above hard", i);
		spec->n_rlimits = i + 1;
	}
	return 0;
}

static int parse_process(json_t *proc, struct oci_spec *spec, struct err *err)
{
	if (!json_is_object(proc))
		return err_set(err, "process: missing");
	if (spec_strv_from_json(json_object_get(proc, "args"), "process.args", &spec->args, err) < 0 ||
	    spec_strv_from_json(json_object_get(proc, "env"), "process.env", &spec->env, err) < 0)
		return -1;
	if (!spec->args[0])
		return err_set(err, "process.args: must not be empty");
	spec->cwd = json_string_value(json_object_get(proc, "cwd"));
	if (!spec->cwd)
		spec->cwd = "/";
	if (path_check("process.cwd", spec->cwd, err) < 0)
		return -1;
	spec->terminal = json_is_true(json_object_get(proc, "terminal"));
	spec->no_new_privileges = json_is_true(json_object_get(proc, "noNewPrivileges"));
	spec->has_oom_score_adj = json_is_integer(json_object_get(proc, "oomScoreAdj"));
	spec->oom_score_adj = json_integer_value(json_object_get(proc, "oomScoreAdj"));
	spec->capabilities = json_object_get(proc, "capabilities");
	if (parse_user(json_object_get(proc, "user"), spec, err) < 0)
		return -1;
	return parse_rlimits(json_object_get(proc, "rlimits"), spec, err);
}

static int parse_namespaces(json_t *arr, struct oci_spec *spec, struct err *err)
{
	size_t i, k;
	json_t *ns;

	if (arr && !json_is_array(arr))
		return err_set(err, "linux.namespaces: must be an array");
	json_array_foreach(arr, i, ns) {
		const char *type = json_string_value(json_object_get(ns, "type"));

		for (k = 0; type && k < sizeof(namespaces) / sizeof(namespaces[0]); k++)
			if (!strcmp(namespaces[k].type, type))
				break;
		if (!type || k == sizeof(namespaces) / sizeof(namespaces[0]))
			return err_set(err, "linux.namespaces[%zu]: unsupported type %s", i,
				       type ? type : "(none)");
		if (json_object_get(ns, "path")) {
			const char *path = json_string_value(json_object_get(ns, "path"));

			if (!path || path[0] != '/' || namespaces[k].flag == CLONE_NEWNS ||
			    spec->n_ns_paths == sizeof(spec->ns_paths) / sizeof(spec->ns_paths[0]))
				return err_set(err, "linux.namespaces[%zu]: a %s namespace cannot be "
					       "joined by path here (an absolute path; not mount)",
					       i, type);
			spec->ns_paths[spec->n_ns_paths++] =
				(struct oci_ns_path){ namespaces[k].flag, path };
			continue;
		}
		spec->clone_flags |= namespaces[k].flag;
	}
	/* Without its own mount namespace the container's pivot_root would move
	 * the caller's root: refused rather than shared. */
	if (!(spec->clone_flags & CLONE_NEWNS))
		return err_set(err, "linux.namespaces: the container needs a mount namespace of "
			       "its own (type mount, without path)");
	return 0;
}

static int parse_id_maps(json_t *arr, const char *what, struct oci_id_map *maps, size_t *n,
			 struct err *err)
{
	json_t *m;
	size_t i;

	if (arr && (!json_is_array(arr) || json_array_size(arr) > 5))
		return err_set(err, "linux.%s: an array of at most 5 mappings", what);
	json_array_foreach(arr, i, m) {
		json_int_t c = json_integer_value(json_object_get(m, "containerID"));
		json_int_t h = json_integer_value(json_object_get(m, "hostID"));
		json_int_t sz = json_integer_value(json_object_get(m, "size"));

		if (c < 0 || h < 0 || sz <= 0 || c > UINT32_MAX || h > UINT32_MAX || sz > UINT32_MAX)
			return err_set(err, "linux.%s[%zu]: containerID, hostID and size", what, i);
		maps[(*n)++] = (struct oci_id_map){ (unsigned)c, (unsigned)h, (unsigned)sz };
	}
	return 0;
}

static int parse_devices(json_t *arr, struct oci_spec *spec, struct err *err)
{
	json_t *d;
	size_t i;

	if (arr && !json_is_array(arr))
		return err_set(err, "linux.devices: must be an array");
	spec->devices = xmalloc((json_array_size(arr) + 1) * sizeof(*spec->devices));
	json_array_foreach(arr, i, d) {
		struct oci_device *dev = &spec->devices[spec->n_devices];
		const char *type = json_string_value(json_object_get(d, "type"));
		json_t *mode = json_object_get(d, "fileMode");

		dev->path = json_string_value(json_object_get(d, "path"));
		if (path_check("linux.devices[].path", dev->path, err) < 0)
			return -1;
		if (!type || strlen(type) != 1 || !strchr("cubp", *type))
			return err_set(err, "linux.devices[%zu].type: c, b, u or p", i);
		dev->type = *type == 'b' ? S_IFBLK : *type == 'p' ? S_IFIFO : S_IFCHR;
		dev->major = json_integer_value(json_object_get(d, "major"));
		dev->minor = json_integer_value(json_object_get(d, "minor"));
		dev->mode = mode ? (mode_t)json_integer_value(mode) & 07777 : 0666;
		dev->uid = json_integer_value(json_object_get(d, "uid"));
		dev->gid = json_integer_value(json_object_get(d, "gid"));
		spec->n_devices++;
	}
	return 0;
}

int spec_namespace_flags(const struct oci_spec *spec)
{
	int flags = spec->clone_flags;
	size_t i;

	for (i = 0; i < spec->n_ns_paths; i++)
		flags |= spec->ns_paths[i].flag;
	return flags;
}

/* The device rules isobox writes: docker's defaults, or everything when the
 * last rule allows all devices (what --privileged asks for). */
static bool devices_allow_all(json_t *rules)
{
	json_t *last = json_array_get(rules, json_array_size(rules) - 1);

	const char *access = json_string_value(json_object_get(last, "access"));

	return json_array_size(rules) && json_is_true(json_object_get(last, "allow")) &&
	       !json_object_get(last, "type") && !json_object_get(last, "major") &&
	       !json_object_get(last, "minor") &&
	       (!access || (strchr(access, 'r') && strchr(access, 'w') && strchr(access, 'm')));
}

static int rule_from_json(json_t *j, size_t i, struct dev_rule *r, struct err *err)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *access = json_string_value(json_object_get(j, "access"));
	json_t *major = json_object_get(j, "major"), *minor = json_object_get(j, "minor");
	json_t *allow = json_object_get(j, "allow");

	if (!json_is_object(j) || !json_is_boolean(allow))
		return err_set(err, "linux.resources.devices[%zu]: an object with allow true or "
			       "false", i);
	r->type = type ? type[0] : 'a';
	r->major = json_is_integer(major) ? (long)json_integer_value(major) : -1;
	r->minor = json_is_integer(minor) ? (long)json_integer_value(minor) : -1;
	r->deny = !json_is_true(allow);
	if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
		return err_set(err, "linux.resources.devices[%zu]: type %s is not a, c or b", i,
			       type);
	if ((major && !json_is_null(major) && (!json_is_integer(major) || r->major < -1 ||
					       r->major > INT32_MAX)) ||
	    (minor && !json_is_null(minor) && (!json_is_integer(minor) || r->minor < -1 ||
					       r->minor > INT32_MAX)))
		return err_set(err, "linux.resources.devices[%zu]: bad major or minor", i);
	if (devcg_rule_set_access(r, access ? access : "rwm") < 0)
		return err_set(err, "linux.resources.devices[%zu]: access %s is not some of rwm",
			       i, access);
	return 0;
}

int spec_device_rules(json_t *json, struct dev_rule **rules, size_t *n, struct err *err)
{
	size_t i;

	*rules = NULL;
	*n = 0;
	if (!json || json_is_null(json))
		return 0;
	if (!json_is_array(json) || json_array_size(json) > DEVCG_MAX_RULES)
		return err_set(err, "linux.resources.devices: an array of at most %d rules",
			       DEVCG_MAX_RULES);
	*rules = xmalloc((json_array_size(json) + 1) * sizeof(**rules));
	for (i = 0; i < json_array_size(json); i++)
		if (rule_from_json(json_array_get(json, i), i, &(*rules)[i], err) < 0) {
			free(*rules);
			*rules = NULL;
			return -1;
		}
	*n = i;
	return 0;
}

static int parse_resources(json_t *res, struct oci_spec *spec, struct err *err)
{
	json_t *mem = json_object_get(res, "memory"), *cpu = json_object_get(res, "cpu");

	spec->memory_limit = json_integer_value(json_object_get(mem, "limit"));
	spec->cpu_quota = json_integer_value(json_object_get(cpu, "quota"));
	spec->cpu_period = json_integer_value(json_object_get(cpu, "period"));
	spec->pids_limit = json_integer_value(json_object_get(json_object_get(res, "pids"),
							      "limit"));
	spec->devices_allow_all = devices_allow_all(json_object_get(res, "devices"));
	spec->resources = res;
	return spec_device_rules(json_object_get(res, "devices"), &spec->dev_rules,
				 &spec->n_dev_rules, err);
}

/* Dotted names of /proc/sys that cannot climb out of it, string values. */
static int check_sysctls(json_t *sysctl, struct err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(sysctl, key, v)
		if (!json_is_string(v) || !*key || key[0] == '.' || strstr(key, "..") ||
		    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
			    strlen(key))
			return err_set(err, "linux.sysctl %s: a dotted name and a string value", key);
	return 0;
}

static int parse_root_propagation(json_t *v, struct oci_spec *spec, struct err *err)
{
	size_t n = sizeof(propagation_flags) / sizeof(propagation_flags[0]);
	int k = json_is_string(v) ? flag_lookup(propagation_flags, n, json_string_value(v)) : -1;

	if (!v)
		return 0;
	if (k < 0)
		return err_set(err, "linux.rootfsPropagation: not a propagation (shared, slave, "
			       "private, unbindable, or their r-forms)");
	spec->root_propagation = propagation_flags[k].flag;
	return 0;
}

static int parse_linux(json_t *lx, struct oci_spec *spec, struct err *err)
{
	if (lx && !json_is_object(lx))
		return err_set(err, "linux: must be an object");
	if (parse_namespaces(json_object_get(lx, "namespaces"), spec, err) < 0)
		return -1;
	if (spec_strv_from_json(json_object_get(lx, "maskedPaths"), "linux.maskedPaths",
			   &spec->masked_paths, err) < 0 ||
	    spec_strv_from_json(json_object_get(lx, "readonlyPaths"), "linux.readonlyPaths",
			   &spec->readonly_paths, err) < 0)
		return -1;
	spec->seccomp = json_object_get(lx, "seccomp");
	spec->sysctl = json_object_get(lx, "sysctl");
	spec->cgroups_path = json_string_value(json_object_get(lx, "cgroupsPath"));
	if (spec->sysctl && !json_is_object(spec->sysctl))
		return err_set(err, "linux.sysctl: must be an object");
	if (check_sysctls(spec->sysctl, err) < 0)
		return -1;
	if (parse_root_propagation(json_object_get(lx, "rootfsPropagation"), spec, err) < 0)
		return -1;
	if (parse_resources(json_object_get(lx, "resources"), spec, err) < 0)
		return -1;
	if (parse_id_maps(json_object_get(lx, "uidMappings"), "uidMappings", spec->uid_maps,
			  &spec->n_uid_maps, err) < 0 ||
	    parse_id_maps(json_object_get(lx, "gidMappings"), "gidMappings", spec->gid_maps,
			  &spec->n_gid_maps, err) < 0)
		return -1;
	if ((spec->clone_flags & CLONE_NEWUSER) && (!spec->n_uid_maps || !spec->n_gid_maps))
		return err_set(err, "linux: a user namespace needs uidMappings and gidMappings");
	return parse_devices(json_object_get(lx, "devices"), spec, err);
}

int spec_parse(json_t *json, struct oci_spec *spec, struct err *err)
{
	json_t *root;

	memset(spec, 0, sizeof(*spec));
	spec->json = json_incref(json);
	if (!json_is_object(json))
		return err_set(err, "config.json: must be an object");
	root = json_object_get(json, "root");
	spec->root_path = json_string_value(json_object_get(root, "path"));
	if (!spec->root_path)
		return err_set(err, "config.json: root.path: missing");
	spec->root_readonly = json_is_true(json_object_get(root, "readonly"));
	spec->hostname = json_string_value(json_object_get(json, "hostname"));
	spec->annotations = json_object_get(json, "annotations");
	spec->init = !strcmp(json_string_value(json_object_get(spec->annotations,
								ANNOTATION_INIT)) ?: "", "true");
	if (parse_process(json_object_get(json, "process"), spec, err) < 0 ||
	    parse_mounts(json_object_get(json, "mounts"), spec, err) < 0 ||
	    parse_linux(json_object_get(json, "linux"), spec, err) < 0)
		return err_wrap(err, "config.json");
	return 0;
}

int spec_load(const char *path, struct oci_spec *spec, struct err *err)
{
	json_t *j;
	int r;

	memset(spec, 0, sizeof(*spec));
	if (json_load_path(path, &j, err) < 0)
		return -1;
	r = spec_parse(j, spec, err);
	json_decref(j);
	return r;
}

void spec_free(struct oci_spec *spec)
{
	size_t i;

	for (i = 0; i < spec->n_mounts; i++)
		free(spec->mounts[i].data);
	free(spec->mounts);
	free(spec->args);
	free(spec->env);
	free(spec->gids);
	free(spec->rlimits);
	free(spec->masked_paths);
	free(spec->readonly_paths);
	free(spec->devices);
	free(spec->dev_rules);
	json_decref(spec->json);
	memset(spec, 0, sizeof(*spec));
}
