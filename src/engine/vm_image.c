#include "engine/vm_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int vm_image_rootfs(const char *root, const struct image *img, char **path, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/erofs", root);
	_cleanup_free_ char *out = NULL, *tmp = NULL;
	const char *hex;

	if (img->n_layers != 1)
		return err_set(err, "Hyper-V isolation needs a one-layer image for now; this one "
			       "has %zu layers", img->n_layers);
	/* Keyed by the layer (ROOT/layers/<diff-id hex>), not the image: images of the
	 * same content (two names, two imports of one tarball) share one disk. */
	hex = strrchr(img->layer_dirs[0], '/') + 1;
	out = xasprintf("%s/%s.erofs", dir, hex);
	if (access(out, R_OK) == 0) {
		*path = take_ptr(&out);
		return 0;
	}
	if (erofs_build(dir, hex, img->layer_dirs[0], &tmp, err) < 0)
		return -1;
	if (rename(tmp, out) < 0) {
		unlink(tmp);
		return err_sys(err, errno, "rename %s", tmp);
	}
	*path = take_ptr(&out);
	return 0;
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
