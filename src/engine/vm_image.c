#include "engine/vm_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/program.h"

int vm_image_rootfs(const char *root, const struct image *img, char **path, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/erofs", root);
	_cleanup_free_ char *out = NULL, *tmp = NULL;
	const char *hex = strchr(img->id, ':') ? strchr(img->id, ':') + 1 : img->id;

	if (img->n_layers != 1)
		return err_set(err, "Hyper-V isolation needs a one-layer image for now; this one "
			       "has %zu layers", img->n_layers);
	out = xasprintf("%s/%s.erofs", dir, hex);
	if (access(out, R_OK) == 0) {
		*path = take_ptr(&out);
		return 0;
	}
	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	tmp = xasprintf("%s/.tmp-%s-%d.erofs", dir, hex, getpid());
	{
		const char *argv[] = { "mkfs.erofs", "--quiet", tmp, img->layer_dirs[0], NULL };

		if (program_run(argv, err) < 0) {
			unlink(tmp);
			return err_wrap(err, "build the image's EROFS disk (install erofs-utils)");
		}
	}
	if (rename(tmp, out) < 0) {
		unlink(tmp);
		return err_sys(err, errno, "rename %s", tmp);
	}
	*path = take_ptr(&out);
	return 0;
}

int vm_image_upper(const char *path, uint64_t size, struct err *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	const char *argv[] = { "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1",
			       path, NULL };

	if (fd < 0)
		return err_sys(err, errno, "create %s", path);
	if (ftruncate(fd, (off_t)size) < 0)
		return err_sys(err, errno, "size %s", path);
	if (program_run(argv, err) < 0)
		return err_wrap(err, "make the container's writable disk (install e2fsprogs)");
	return 0;
}
