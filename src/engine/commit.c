/* docker commit: the container's changes as a new layer on its image's. */
#include "engine/commit.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/blob.h"
#include "engine/digest.h"
#include "engine/image.h"
#include "engine/layer.h"
#include "engine/layer_diff.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/program.h"

#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define SIZE_ANNOTATION "io.isobox.layer.size"

static bool is_hyperv(const struct container *c)
{
	json_t *hc = json_object_get(c->record, "HostConfig");

	return !strcmp(json_string_value(json_object_get(hc, "Isolation")) ?: "", "hyperv");
}

/* The child's side: in a hyperv container the upper directory is on its ext4
 * disk, mounted read-only in a mount namespace of the child's own (so the
 * host never sees it and it goes away with the child). A running VM's disk is
 * copied first and the copy mounted read-write: its journal is replayed
 * there, never on the disk the guest holds. */
static int diff_child(const struct container *c, bool running, int out_fd, struct err *err)
{
	_cleanup_free_ char *upper = NULL;

	if (!is_hyperv(c)) {
		upper = xasprintf("%s/upper", c->dir);
		return layer_diff_write(upper, out_fd, err);
	}
	{
		_cleanup_free_ char *disk = xasprintf("%s/upper.ext4", c->dir);
		_cleanup_free_ char *copy = xasprintf("%s/commit-upper.ext4", c->dir);
		_cleanup_free_ char *mnt = xasprintf("%s/commit-mnt", c->dir);
		const char *cp[] = { "cp", "--sparse=always", disk, copy, NULL };
		const char *modprobe[] = { "modprobe", "-q", "-a", "loop", "ext4", NULL };
		const char *mount_argv[] = { "mount", "-t", "ext4", "-o", NULL, NULL, mnt, NULL };
		struct err ignore = { 0 };

		if (unshare(CLONE_NEWNS) < 0)
			return err_sys(err, errno, "unshare the mount namespace");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return err_sys(err, errno, "make the mounts private");
		if (mkdir(mnt, 0700) < 0 && errno != EEXIST)
			return err_sys(err, errno, "mkdir %s", mnt);
		program_run(modprobe, &ignore);
		if (running) {
			if (program_run(cp, err) < 0)
				return err_wrap(err, "copy the writable disk %s", disk);
			/* Read-write, a copy: ext4 replays the journal (ro would refuse). */
			mount_argv[4] = "loop,nosuid,nodev,noexec";
			mount_argv[5] = copy;
		} else {
			mount_argv[4] = "ro,noload,loop,nosuid,nodev,noexec";
			mount_argv[5] = disk;
		}
		if (program_run(mount_argv, err) < 0)
			return err_wrap(err, "mount the writable disk %s", mount_argv[5]);
		upper = xasprintf("%s/upper", mnt);
		if (access(upper, F_OK) < 0) {
			/* A container that never ran: its disk has no upper yet, an
			 * empty directory (on a tmpfs of this namespace) stands in. */
			if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0 ||
			    mkdir(upper, 0755) < 0)
				return err_sys(err, errno, "an empty upper directory");
		}
		return layer_diff_write(upper, out_fd, err);
	}
}

/* The tar of the container's changes, written by a child into a pipe, stored
 * by layer_unpack_fd as it arrives (blob and unpacked layer). */
static int diff_store(const char *root, const struct container *c, bool running,
		      struct layer_info *li, struct err *err)
{
	_cleanup_free_ char *copy = xasprintf("%s/commit-upper.ext4", c->dir);
	_cleanup_free_ char *mnt = xasprintf("%s/commit-mnt", c->dir);
	int data[2], msg[2], status = 0, r;
	char text[sizeof(err->msg)];
	ssize_t n;
	pid_t pid;

	if (pipe2(data, O_CLOEXEC) < 0 || pipe2(msg, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return err_sys(err, errno, "fork");
	if (pid == 0) {
		struct err e = { 0 };

		close(data[0]);
		close(msg[0]);
		signal(SIGPIPE, SIG_DFL);
		if (diff_child(c, running, data[1], &e) < 0) {
			if (write(msg[1], e.msg, strlen(e.msg)) < 0)
				_exit(2);
			_exit(1);
		}
		_exit(0);
	}
	close(data[1]);
	close(msg[1]);
	r = layer_unpack_fd_ex(root, data[0], true, li, err);
	close(data[0]);
	n = read(msg[0], text, sizeof(text) - 1);
	close(msg[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	unlink(copy);
	rmdir(mnt);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		text[n > 0 ? n : 0] = '\0';
		memset(err, 0, sizeof(*err));
		return err_set(err, "%s", n > 0 ? text : "the layer writer failed");
	}
	return r;
}

/* The manifest that names the image's config. */
static int base_manifest(const char *root, const char *image_id, json_t **out,
			 struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", root);
	_cleanup_json_ json_t *index = NULL;
	json_t *d;
	size_t i;

	if (json_load_path(path, &index, err) < 0)
		return -1;
	json_array_foreach(json_object_get(index, "manifests"), i, d) {
		const char *dg = json_string_value(json_object_get(d, "digest"));
		_cleanup_free_ char *data = NULL;
		struct err ignore = { 0 };
		json_t *mf, *cfg;
		size_t len;

		if (!dg || !digest_valid(dg) ||
		    blob_get(root, dg, 4 << 20, &data, &len, &ignore) < 0)
			continue;
		mf = json_loadb(data, len, 0, NULL);
		cfg = json_object_get(json_object_get(mf, "config"), "digest");
		if (json_is_array(json_object_get(mf, "layers")) && json_is_string(cfg) &&
		    !strcmp(json_string_value(cfg), image_id)) {
			*out = mf;
			return 0;
		}
		json_decref(mf);
	}
	return err_set(err, "the manifest of image %s is not in the store", image_id);
}

/* docker's history line: the container's command, as docker joins it. */
static char *created_by(const struct container *c)
{
	const char *path = json_string_value(json_object_get(c->record, "Path"));
	char *s = xstrdup(path ? path : "");
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(c->record, "Args"), i, a) {
		char *more = xasprintf("%s %s", s, json_string_value(a) ?: "");

		free(s);
		s = more;
	}
	return s;
}

static int config_build(const struct image *img, const struct container *c,
			const struct commit_opts *o, const struct layer_info *li, json_t **out,
			struct err *err)
{
	_cleanup_json_ json_t *cfg = json_deep_copy(img->config);
	_cleanup_free_ char *by = created_by(c);
	json_t *hist, *rootfs, *h;
	char now[40];
	size_t i;

	if (!json_is_object(cfg))
		return err_set(err, "the image's config is not an object");
	for (i = 0; i < o->n_changes; i++)
		if (image_change_apply(cfg, o->changes[i], err) < 0)
			return -1;
	time_rfc3339(now, sizeof(now));
	json_object_set_new(cfg, "created", json_string(now));
	json_object_set_new(cfg, "container", json_string(c->id));
	if (o->author && *o->author)
		json_object_set_new(cfg, "author", json_string(o->author));
	else
		json_object_del(cfg, "author");
	/* docker's image config keeps the message at the top too (inspect's Comment). */
	if (o->message && *o->message)
		json_object_set_new(cfg, "comment", json_string(o->message));
	else
		json_object_del(cfg, "comment");
	hist = json_object_get(cfg, "history");
	if (!json_is_array(hist)) {
		hist = json_array();
		json_object_set_new(cfg, "history", hist);
	}
	h = json_pack("{s:s, s:s}", "created", now, "created_by", by);
	if (o->author && *o->author)
		json_object_set_new(h, "author", json_string(o->author));
	if (o->message && *o->message)
		json_object_set_new(h, "comment", json_string(o->message));
	json_array_append_new(hist, h);
	rootfs = json_object_get(cfg, "rootfs");
	if (!json_is_object(rootfs) || !json_is_array(json_object_get(rootfs, "diff_ids")))
		return err_set(err, "the image's config has no rootfs.diff_ids");
	json_array_append_new(json_object_get(rootfs, "diff_ids"), json_string(li->diff_id));
	*out = take_ptr(&cfg);
	return 0;
}

/* The base manifest's layers, then the new one; config and manifest stored. */
static int manifest_store(const char *root, json_t *base, json_t *cfg,
			  const struct layer_info *li, char **cfg_digest, char **mf_digest,
			  struct err *err)
{
	_cleanup_json_ json_t *mf = NULL;
	json_t *layers = json_deep_copy(json_object_get(base, "layers")), *layer;
	size_t csize, msize;
	char size[32];

	if (blob_put_json(root, cfg, cfg_digest, &csize, err) < 0) {
		json_decref(layers);
		return -1;
	}
	snprintf(size, sizeof(size), "%llu", li->content_size);
	layer = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", LAYER_MEDIA_TYPE, "digest",
			  li->diff_id, "size", (json_int_t)li->tar_size, "annotations",
			  SIZE_ANNOTATION, size);
	json_array_append_new(layers, layer);
	mf = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
		       MEDIA_OCI_MANIFEST, "config", "mediaType", MEDIA_OCI_CONFIG, "digest",
		       *cfg_digest, "size", (json_int_t)csize, "layers", layers);
	return blob_put_json(root, mf, mf_digest, &msize, err);
}

/* A running hyperv container's guest writes its page cache to the disk. */
static int guest_sync(struct container *c, struct err *err)
{
	struct exec_opts x = { 0 };
	int code = 0;

	strv_push(&x.cmd, "sync");
	if (container_exec(c, &x, &code, err) < 0) {
		strv_free(&x.cmd);
		return err_wrap(err, "sync the container's disk");
	}
	strv_free(&x.cmd);
	return 0;
}

int container_commit(const char *root, struct container *c, const struct commit_opts *o,
		     char **id_out, struct err *err)
{
	_cleanup_free_ char *cfg_digest = NULL, *mf_digest = NULL;
	_cleanup_json_ json_t *base = NULL, *cfg = NULL;
	_cleanup_close_ int lock = -1;
	const char *image_id = json_string_value(json_object_get(c->record, "Image"));
	struct image img = { 0 };
	struct layer_info li;
	struct rt_state st;
	bool running;
	int r = -1;

	if (!image_id)
		return err_set(err, "container %s names no image", c->id);
	running = rt_state_read(c->dir, &st, err) == 0 && st.status == RT_RUNNING;
	memset(err, 0, sizeof(*err));
	if (image_lookup(root, image_id, &img, err) < 0)
		return err_wrap(err, "the image of container %s", c->id);
	if (base_manifest(root, img.id, &base, err) < 0)
		goto out;
	if (running && is_hyperv(c) && guest_sync(c, err) < 0)
		goto out;
	/* Shared: image removal must not delete what this commit will name. */
	lock = image_store_lock_shared(root, err);
	if (lock < 0)
		goto out;
	/* docker's -p: nothing changes while the layer is read (a VM after its
	 * sync: the disk's copy is then a consistent snapshot). */
	if (running && o->pause && rt_pause(c->dir, is_hyperv(c), true, err) < 0) {
		err_wrap(err, "pause container %s (commit --pause=false does without)", c->id);
		goto out;
	}
	r = diff_store(root, c, running, &li, err);
	if (running && o->pause) {
		struct err ignore = { 0 };

		rt_pause(c->dir, is_hyperv(c), false, &ignore);
	}
	if (r < 0) {
		err_wrap(err, "commit container %s", c->id);
		goto out;
	}
	r = -1;
	if (config_build(&img, c, o, &li, &cfg, err) < 0 ||
	    manifest_store(root, base, cfg, &li, &cfg_digest, &mf_digest, err) < 0 ||
	    image_store_add(root, o->ref, mf_digest, NULL, err) < 0)
		goto out;
	*id_out = take_ptr(&cfg_digest);
	r = 0;
out:
	image_free(&img);
	return r;
}
