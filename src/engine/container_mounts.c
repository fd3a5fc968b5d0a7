/* -v, --mount, --volumes-from and image VOLUMEs -> volumes, binds, the
 * record's Mounts and the bundle's OCI mounts (container_mounts.h). docker's
 * order in Mounts: -v binds, --mount, --volumes-from, anonymous volumes. */
#include "engine/container_mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/mount_spec.h"
#include "engine/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define COPY_DEPTH_MAX 128

static json_t *oci_bind(const char *src, const char *dst, bool ro, const char *prop)
{
	json_t *opts = json_pack("[s, s]", "rbind", prop && *prop ? prop : "rprivate");

	if (ro)
		json_array_append_new(opts, json_string("ro"));
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", "bind", "source",
			 src, "options", opts);
}

/* A volume's mount: a bind of its directory, or a block volume's disk (a
 * hyperv container's alone: the VMM gives it the guest as a disk). */
static int oci_volume(const char *root, const char *name, const char *data, const char *dst,
		      bool ro, const char *prop, bool hyperv, json_t **out, struct err *err)
{
	if (!volume_is_block(root, name)) {
		*out = oci_bind(data, dst, ro, prop);
		return 0;
	}
	if (!hyperv)
		return err_set(err, "volume %s is a block volume (type=block): only a hyperv "
			       "container mounts it, as a disk of its own; a process container "
			       "would have the host kernel parse the ext4 a VM wrote: run with "
			       "--isolation=hyperv, or use a volume without type=block", name);
	*out = json_pack("{s:s, s:s, s:s, s:[s]}", "destination", dst, "type", "ext4", "source",
			 data, "options", ro ? "ro" : "rw");
	return 0;
}

static json_t *oci_tmpfs(const struct mount_spec *m)
{
	json_t *opts = json_pack("[s, s]", "nosuid", "nodev");

	if (m->readonly)
		json_array_append_new(opts, json_string("ro"));
	if (m->tmpfs_size)
		json_array_append_new(opts, json_sprintf("size=%lld", m->tmpfs_size));
	json_array_append_new(opts, json_sprintf("mode=%o", m->tmpfs_mode ? m->tmpfs_mode : 01777));
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", m->target, "type", "tmpfs",
			 "source", "tmpfs", "options", opts);
}

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static int copy_file(int src, int dst, const char *name, const struct stat *st)
{
	_cleanup_close_ int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return -1;
	out = openat(dst, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		     st->st_mode & 07777);
	if (out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_all(out, buf, (size_t)n) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}

/* One layer's tree onto the volume: symlinks copied as links (never followed),
 * device nodes skipped, whiteouts (0/0 char devices) remove what lower
 * layers put there. */
static int copy_tree(int src, int dst, int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = dup(src);

	if (fd < 0 || depth > COPY_DEPTH_MAX || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		struct stat st;

		if (!strcmp(n, ".") || !strcmp(n, "..") || fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
			if (unlinkat(dst, n, 0) < 0)
				unlinkat(dst, n, AT_REMOVEDIR);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s = -1, t = -1;

			if (mkdirat(dst, n, st.st_mode & 07777) < 0 && errno != EEXIST)
				continue;
			s = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			t = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || t < 0 || copy_tree(s, t, depth + 1) < 0)
				return -1;
		} else if (S_ISREG(st.st_mode)) {
			unlinkat(dst, n, 0);
			if (copy_file(src, dst, n, &st) < 0)
				return -1;
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlinkat(src, n, target, sizeof(target) - 1);

			if (len < 0)
				continue;
			target[len] = '\0';
			unlinkat(dst, n, 0);
			if (symlinkat(target, dst, n) < 0)
				return -1;
		} else {
			continue;
		}
		fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
		if (!S_ISLNK(st.st_mode))
			fchmodat(dst, n, st.st_mode & 07777, 0);
	}
	return 0;
}

/* docker's copy-up: a new volume gets the image's content at its path, and
 * that directory's owner and mode. Paths resolve beneath each layer. */
static int volume_fill(const struct image *img, const char *target, const char *data,
		       struct err *err)
{
	_cleanup_close_ int dst = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t i;

	if (dst < 0)
		return err_sys(err, errno, "open %s", data);
	for (i = 0; i < img->n_layers; i++) {
		_cleanup_close_ int layer = open(img->layer_dirs[i],
						 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int src = -1;
		struct stat st;

		if (layer < 0)
			continue;
		src = open_in_root(layer, target, O_RDONLY | O_DIRECTORY);
		if (src < 0 || fstat(src, &st) < 0)
			continue;
		if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0 ||
		    copy_tree(src, dst, 0) < 0)
			return err_sys(err, errno, "copy the image's %s into the volume", target);
	}
	return 0;
}

static json_t *volume_entry(const char *name, const char *data, const char *target,
			    const char *mode, bool rw)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume", "Name",
			 name, "Source", data, "Destination", target, "Driver", "local", "Mode",
			 mode, "RW", rw, "Propagation", "");
}

static int volume_use(const char *root, const struct image *img, const struct mount_spec *m,
		      bool hyperv, struct mounts_plan *p, struct err *err)
{
	struct volume_create_opts vo = { .name = m->source, .anonymous = !m->source,
					 .options = m->volume_opts };
	_cleanup_free_ char *name = NULL, *data = NULL;
	json_t *oci;
	bool created;

	if (volume_create(root, &vo, &name, &created, err) < 0)
		return -1;
	data = volume_data_path(root, name);
	if (oci_volume(root, name, data, m->target, m->readonly, "rprivate", hyperv, &oci,
		       err) < 0)
		return -1;
	json_array_append_new(p->oci, oci);
	/* a block volume starts empty: no copy-up (the host does not mount it) */
	if (created && !m->nocopy && !volume_is_block(root, name) &&
	    volume_fill(img, m->target, data, err) < 0)
		return -1;
	json_array_append_new(p->mounts, volume_entry(name, data, m->target, m->mode,
						      !m->readonly));
	return 0;
}

/* --mount type=bind names a host path that must exist (-v makes it). */
static int bind_source_check(const struct mount_spec *m, struct err *err)
{
	if (m->type != MOUNT_BIND || !m->from_mount || access(m->source, F_OK) == 0)
		return 0;
	return err_set(err, "invalid mount config for type \"bind\": bind source path does not "
		       "exist: %s", m->source);
}

static int bind_use(const struct mount_spec *m, struct mounts_plan *p, struct err *err)
{
	struct stat st;

	if (bind_source_check(m, err) < 0)
		return -1;
	if (stat(m->source, &st) < 0) {
		/* -v: docker makes the missing host directory */
		if (mkdir_p(m->source, 0755, err) < 0)
			return -1;
	}
	json_array_append_new(p->mounts,
			      json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
					m->source, "Destination", m->target, "Mode", m->mode, "RW",
					!m->readonly, "Propagation", m->propagation));
	json_array_append_new(p->oci, oci_bind(m->source, m->target, m->readonly,
					       m->propagation));
	return 0;
}

static void tmpfs_use(const struct mount_spec *m, struct mounts_plan *p)
{
	json_array_append_new(p->mounts,
			      json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "tmpfs", "Source",
					"", "Destination", m->target, "Mode", "", "RW", !m->readonly,
					"Propagation", ""));
	json_array_append_new(p->oci, oci_tmpfs(m));
}

/* docker's HostConfig.Mounts entry of a --mount. */
static json_t *hc_mount(const struct mount_spec *m)
{
	static const char *const types[] = { "bind", "volume", "tmpfs" };
	json_t *j = json_pack("{s:s}", "Type", types[m->type]);

	if (m->source)
		json_object_set_new(j, "Source", json_string(m->source));
	json_object_set_new(j, "Target", json_string(m->target));
	if (m->readonly)
		json_object_set_new(j, "ReadOnly", json_true());
	if (m->type == MOUNT_BIND && strcmp(m->propagation, "rprivate"))
		json_object_set_new(j, "BindOptions",
				    json_pack("{s:s}", "Propagation", m->propagation));
	if (m->type == MOUNT_TMPFS && (m->tmpfs_size || m->tmpfs_mode)) {
		json_t *t = json_object();

		if (m->tmpfs_size)
			json_object_set_new(t, "SizeBytes", json_integer(m->tmpfs_size));
		if (m->tmpfs_mode)
			json_object_set_new(t, "Mode", json_integer(m->tmpfs_mode));
		json_object_set_new(j, "TmpfsOptions", t);
	}
	return j;
}

static bool target_taken(json_t *mounts, const char *target)
{
	json_t *m;
	size_t i;

	json_array_foreach(mounts, i, m)
		if (!strcmp(json_string_value(json_object_get(m, "Destination")) ?: "", target))
			return true;
	return false;
}

/* --volumes-from C[:ro|:rw]: C's Mounts (but tmpfs), at the same paths. */
static int volumes_from(const char *root, const char *ref, bool hyperv, struct mounts_plan *p,
			struct err *err)
{
	_cleanup_free_ char *name = xstrdup(ref);
	char *colon = strrchr(name, ':');
	struct container c;
	bool ro = false;
	json_t *m;
	size_t i;

	if (colon) {
		if (strcmp(colon + 1, "ro") && strcmp(colon + 1, "rw"))
			return err_set(err, "invalid mode for volumes-from: %s", colon + 1);
		ro = colon[1] == 'r' && colon[2] == 'o';
		*colon = '\0';
	}
	if (container_find(root, name, &c, err) < 0)
		return -1;
	json_array_foreach(json_object_get(c.record, "Mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "Type")) ?: "";
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		const char *prop = json_string_value(json_object_get(m, "Propagation"));
		bool rw = colon ? !ro : json_is_true(json_object_get(m, "RW"));
		json_t *e, *oci;

		if (!strcmp(type, "tmpfs") || !src || !dst || target_taken(p->mounts, dst))
			continue;
		if (!strcmp(type, "volume")) {
			if (oci_volume(root, json_string_value(json_object_get(m, "Name")) ?: "",
				       src, dst, !rw, prop, hyperv, &oci, err) < 0) {
				container_free(&c);
				return -1;
			}
		} else {
			oci = oci_bind(src, dst, !rw, prop);
		}
		e = json_deep_copy(m);
		json_object_set_new(e, "Mode", json_string(""));
		json_object_set_new(e, "RW", json_boolean(rw));
		json_array_append_new(p->mounts, e);
		json_array_append_new(p->oci, oci);
	}
	container_free(&c);
	json_array_append_new(p->volumes_from, json_string(ref));
	return 0;
}

static int specs_parse(const struct run_opts *o, struct mount_spec *specs, size_t *n,
		       struct err *err)
{
	size_t i, k;

	*n = 0;
	for (i = 0; i < o->volumes.n; i++)
		if (mount_spec_parse_volume(o->volumes.v[i], &specs[(*n)++], err) < 0)
			return -1;
	for (i = 0; i < o->mounts.n; i++)
		if (mount_spec_parse_mount(o->mounts.v[i], &specs[(*n)++], err) < 0)
			return -1;
	for (i = 0; i < *n; i++) {
		if (specs[i].type == MOUNT_VOLUME && specs[i].source &&
		    volume_name_check(specs[i].source, err) < 0)
			return -1;
		for (k = 0; k < i; k++)
			if (!strcmp(specs[i].target, specs[k].target))
				return err_set(err, "Duplicate mount point: %s", specs[i].target);
	}
	return 0;
}

static int specs_apply(const char *root, const struct run_opts *o, const struct image *img,
		       bool hyperv, struct mount_spec *specs, size_t n, struct mounts_plan *p,
		       struct err *err)
{
	json_t *vols = json_object_get(json_object_get(img->config, "config"), "Volumes");
	json_t *v;
	const char *path;
	size_t i;

	/* Binds and named -v volumes, then --mount, --volumes-from, then anonymous. */
	for (i = 0; i < n; i++) {
		struct mount_spec *m = &specs[i];

		if (m->from_mount || (m->type == MOUNT_VOLUME && !m->source))
			continue;
		json_array_append_new(p->binds, json_string(o->volumes.v[i]));
		if ((m->type == MOUNT_BIND ? bind_use(m, p, err)
					   : volume_use(root, img, m, hyperv, p, err)) < 0)
			return -1;
	}
	for (i = 0; i < n; i++) {
		struct mount_spec *m = &specs[i];

		if (!m->from_mount)
			continue;
		json_array_append_new(p->hc_mounts, hc_mount(m));
		if (m->type == MOUNT_TMPFS)
			tmpfs_use(m, p);
		else if ((m->type == MOUNT_BIND ? bind_use(m, p, err)
						: volume_use(root, img, m, hyperv, p, err)) < 0)
			return -1;
	}
	for (i = 0; i < o->volumes_from.n; i++)
		if (volumes_from(root, o->volumes_from.v[i], hyperv, p, err) < 0)
			return -1;
	for (i = 0; i < n; i++) {
		if (specs[i].from_mount || specs[i].type != MOUNT_VOLUME || specs[i].source)
			continue;
		json_object_set_new(p->cfg_volumes, specs[i].target, json_object());
		if (volume_use(root, img, &specs[i], hyperv, p, err) < 0)
			return -1;
	}
	json_object_foreach(vols, path, v) {
		struct mount_spec m = { .type = MOUNT_VOLUME, .target = (char *)path, .mode = "" };

		if (path[0] != '/' || target_taken(p->mounts, path))
			continue;
		json_object_set_new(p->cfg_volumes, path, json_object());
		if (volume_use(root, img, &m, hyperv, p, err) < 0)
			return -1;
	}
	return 0;
}

static json_t *or_null(json_t *j)
{
	if (json_is_array(j) ? json_array_size(j) : json_object_size(j))
		return j;
	json_decref(j);
	return json_null();
}

int container_mounts_resolve(const char *root, const struct run_opts *o,
			     const struct image *img, bool hyperv, struct mounts_plan *p,
			     struct err *err)
{
	size_t n = 0, i, cap = o->volumes.n + o->mounts.n;
	_cleanup_free_ struct mount_spec *specs = xmalloc((cap + 1) * sizeof(*specs));
	int r;

	memset(specs, 0, (cap + 1) * sizeof(*specs));
	memset(p, 0, sizeof(*p));
	p->mounts = json_array();
	p->oci = json_array();
	p->binds = json_array();
	p->hc_mounts = json_array();
	p->volumes_from = json_array();
	p->cfg_volumes = json_object();
	r = specs_parse(o, specs, &n, err);
	for (i = 0; r == 0 && i < o->volumes_from.n; i++) {
		_cleanup_free_ char *name = xstrdup(o->volumes_from.v[i]);
		struct container c;

		if (strchr(name, ':'))
			*strchr(name, ':') = '\0';
		r = container_find(root, name, &c, err);
		if (r == 0)
			container_free(&c);
	}
	for (i = 0; r == 0 && i < n; i++)
		r = bind_source_check(&specs[i], err);
	if (r == 0) {
		r = specs_apply(root, o, img, hyperv, specs, n, p, err);
		/* A create that fails leaves no anonymous volume behind (made
		 * before a later flag failed); others' and named ones stay. */
		if (r < 0)
			volume_remove_anonymous(root, p->mounts);
	}
	for (i = 0; i < cap; i++)
		mount_spec_free(&specs[i]);
	p->binds = or_null(p->binds);
	p->hc_mounts = or_null(p->hc_mounts);
	p->volumes_from = or_null(p->volumes_from);
	p->cfg_volumes = or_null(p->cfg_volumes);
	return r;
}

void mounts_plan_free(struct mounts_plan *p)
{
	json_decref(p->mounts);
	json_decref(p->oci);
	json_decref(p->binds);
	json_decref(p->hc_mounts);
	json_decref(p->volumes_from);
	json_decref(p->cfg_volumes);
	memset(p, 0, sizeof(*p));
}
