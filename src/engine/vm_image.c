#include "engine/vm_image.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/annotations.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/program.h"
#include "util/sha256.h"

/* mkfs.erofs of dir into ROOT/erofs/.tmp-*, then moved to out (kept if there). */
static int erofs_build(const char *erofs_dir, const char *tag, const char *src, char **tmp_out,
		       struct err *err)
{
	const char *argv[] = { "mkfs.erofs", "--quiet", NULL, src, NULL };

	if (mkdir_p(erofs_dir, 0700, err) < 0)
		return -1;
	*tmp_out = xasprintf("%s/.tmp-%s-%d.erofs", erofs_dir, tag, getpid());
	argv[2] = *tmp_out;
	if (program_run(argv, err) < 0) {
		unlink(*tmp_out);
		return err_wrap(err, "build the EROFS disk of %s (install erofs-utils)", src);
	}
	return 0;
}

/* Whether hex is a line of ids. */
static bool layer_listed(const char *ids, const char *hex)
{
	size_t n = strlen(hex);
	const char *p;

	for (p = ids; (p = strstr(p, hex)); p += n)
		if ((p == ids || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static int file_sha256(const char *path, char hex[SHA256_HEX_LEN + 1], struct err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct sha256 s;
	char buf[65536];
	ssize_t n;

	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	sha256_begin(&s);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_add(&s, buf, n);
	if (n < 0)
		return err_sys(err, errno, "read %s", path);
	sha256_end_hex(&s, hex);
	return 0;
}

/* One layer's disk, ROOT/erofs/<diff-id hex>.erofs: keyed by the layer (not
 * the image), so every image that has the layer shares it. */
static int layer_disk(const char *dir, const char *layer_dir, char **path, struct err *err)
{
	const char *hex = strrchr(layer_dir, '/') + 1;
	_cleanup_free_ char *out = xasprintf("%s/%s.erofs", dir, hex);
	_cleanup_free_ char *tmp = NULL;

	if (access(out, R_OK) != 0) {
		if (erofs_build(dir, hex, layer_dir, &tmp, err) < 0)
			return -1;
		if (rename(tmp, out) < 0) {
			unlink(tmp);
			return err_sys(err, errno, "rename %s", tmp);
		}
	}
	*path = take_ptr(&out);
	return 0;
}

/* The bottom n layers as one disk, ROOT/erofs/chain-<sha256 of their ids>.erofs,
 * for images of more layers than a VM takes disks: overlay merges them on the
 * host (read-only, in a mount namespace of mkfs's own, so whiteouts and opaque
 * dirs apply and nothing below needs them), mkfs.erofs copies the merged view.
 * chain-<h>.layers lists the layers, so removing any of them removes it. */
static int chain_disk(const char *dir, const struct image *img, size_t n, char **path,
		      struct err *err)
{
	_cleanup_free_ char *ids = xstrdup(""), *lower = xstrdup("");
	_cleanup_free_ char *out = NULL, *list = NULL, *tmp = NULL, *mnt = NULL, *layers = NULL;
	char hex[SHA256_HEX_LEN + 1];
	struct sha256 s;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *h = strrchr(img->layer_dirs[i], '/') + 1;
		char *more = xasprintf("%s%s\n", ids, h);

		free(ids);
		ids = more;
		/* Relative to ROOT/layers and top first: the option fits a page for
		 * about 60 layers, where absolute paths would stop sooner. */
		more = xasprintf("%s%s%s", h, i ? ":" : "", lower);
		free(lower);
		lower = more;
	}
	sha256_begin(&s);
	sha256_add(&s, ids, strlen(ids));
	sha256_end_hex(&s, hex);
	out = xasprintf("%s/chain-%s.erofs", dir, hex);
	list = xasprintf("%s/chain-%s.layers", dir, hex);
	if (access(out, R_OK) == 0 && access(list, R_OK) == 0) {
		*path = take_ptr(&out);
		return 0;
	}
	if (strlen(lower) > 4000)
		return err_set(err, "the image's %zu layers do not fit a VM: at most %d layers "
			       "above %d merged ones", img->n_layers, VM_ROOTFS_MAX_DISKS - 1, 60);
	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	tmp = xasprintf("%s/.tmp-chain-%s-%d.erofs", dir, hex, getpid());
	mnt = xasprintf("%s/.mnt-chain-%s-%d", dir, hex, getpid());
	layers = xstrdup(img->layer_dirs[0]);
	*strrchr(layers, '/') = '\0';
	if (mkdir(mnt, 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s", mnt);
	{
		const char *argv[] = {
			"unshare", "-m", "--propagation", "private", "sh", "-c",
			"cd \"$1\" && mount -t overlay overlay -o \"lowerdir=$2\" \"$3\" && "
			"exec mkfs.erofs --quiet \"$4\" \"$3\"",
			"sh", layers, lower, mnt, tmp, NULL
		};
		int r = program_run(argv, err);

		rmdir(mnt);
		if (r < 0) {
			unlink(tmp);
			return err_wrap(err, "merge the bottom %zu layers into one EROFS disk", n);
		}
	}
	if (write_file_atomic(list, ids, strlen(ids), 0600, err) < 0 || rename(tmp, out) < 0) {
		unlink(tmp);
		return err->msg[0] ? -1 : err_sys(err, errno, "rename %s", tmp);
	}
	*path = take_ptr(&out);
	return 0;
}

int vm_image_rootfs(const char *root, const struct image *img, char **path, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/erofs", root);
	_cleanup_free_ char *list = xstrdup("");
	size_t i = 0, chained = 0;

	if (!img->n_layers)
		return err_set(err, "the image has no layers");
	/* More layers than disks: the bottom ones become one, the rest stay shared. */
	if (img->n_layers > VM_ROOTFS_MAX_DISKS) {
		chained = img->n_layers - (VM_ROOTFS_MAX_DISKS - 1);
		if (chain_disk(dir, img, chained, &list, err) < 0)
			return -1;
		i = chained;
	}
	for (; i < img->n_layers; i++) {
		_cleanup_free_ char *one = NULL;
		char *more;

		if (layer_disk(dir, img->layer_dirs[i], &one, err) < 0)
			return -1;
		more = xasprintf("%s%s%s", list, *list ? "\n" : "", one);
		free(list);
		list = more;
	}
	*path = take_ptr(&list);
	return 0;
}

void vm_image_layer_dropped(const char *root, const char *hex)
{
	_cleanup_free_ char *dir = xasprintf("%s/erofs", root);
	_cleanup_free_ char *one = xasprintf("%s/%s.erofs", dir, hex);
	DIR *d;
	struct dirent *e;

	unlink(one);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		_cleanup_free_ char *list = NULL, *ids = NULL;
		size_t len = strlen(e->d_name);
		struct err ignore = { 0 };

		if (strncmp(e->d_name, "chain-", 6) || len < 7 ||
		    strcmp(e->d_name + len - 7, ".layers"))
			continue;
		list = xasprintf("%s/%s", dir, e->d_name);
		if (read_file(list, 1 << 20, &ids, NULL, &ignore) < 0)
			continue;
		if (layer_listed(ids, hex)) {
			_cleanup_free_ char *disk = xasprintf("%.*s.erofs", (int)(strlen(list) - 7),
							      list);

			unlink(disk);
			unlink(list);
		}
	}
	if (d)
		closedir(d);
}

int vm_image_from_dir(const char *root, const char *dir, char **path, struct err *err)
{
	_cleanup_free_ char *erofs_dir = xasprintf("%s/erofs", root);
	_cleanup_free_ char *tmp = NULL, *out = NULL;
	char hex[SHA256_HEX_LEN + 1];

	if (erofs_build(erofs_dir, "dir", dir, &tmp, err) < 0)
		return -1;
	if (file_sha256(tmp, hex, err) < 0) {
		unlink(tmp);
		return -1;
	}
	out = xasprintf("%s/dir-%s.erofs", erofs_dir, hex);
	/* The same content already has its disk: VMs of it share one. */
	if (access(out, R_OK) == 0)
		unlink(tmp);
	else if (rename(tmp, out) < 0) {
		unlink(tmp);
		return err_sys(err, errno, "rename %s", tmp);
	}
	*path = take_ptr(&out);
	return 0;
}
