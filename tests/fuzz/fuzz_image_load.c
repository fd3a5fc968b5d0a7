/* libFuzzer: bytes as an image archive (docker or OCI, plain or compressed)
 * -> image_load.
 *
 * The store root sits inside a sandbox directory, so that a member or layer
 * entry which escapes with "../" lands where the harness looks: after every
 * input the sandbox holds exactly its skeleton, the working directory is back
 * and empty, no staging directory is left, and a refused archive leaves the
 * store as it found it: no blob, no layer, no index. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/image_archive.h"
#include "util/fs.h"

static char base[64] = "/tmp/isobox_fuzz_image_load.XXXXXX";
static char *store;
static char *cwd;
static int memfd = -1;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_image_load: %s: %s\n", what, strerror(errno));
	abort();
}

static void violation(const char *fmt, const char *path)
{
	fprintf(stderr, "fuzz_image_load: VIOLATION: ");
	fprintf(stderr, fmt, path);
	fputc('\n', stderr);
	abort();
}

static void sandbox_remove(void)
{
	struct err err;

	if (chdir("/") == 0 && umount2(base, MNT_DETACH) == 0)
		rmdir(base);
	else
		rm_rf(base, &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *d1;

	if (!mkdtemp(base))
		die("mkdtemp");
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", base, "tmpfs", MS_NODEV | MS_NOSUID, "size=512m,mode=0700") < 0)
		fprintf(stderr, "fuzz_image_load: no private tmpfs (%s): using %s as it is\n",
			strerror(errno), base);
	atexit(sandbox_remove);
	d1 = xasprintf("%s/d1", base);
	store = xasprintf("%s/d1/store", base);
	cwd = xasprintf("%s/cwd", base);
	if (mkdir(d1, 0755) < 0 || mkdir(store, 0700) < 0 || mkdir(cwd, 0755) < 0 ||
	    chdir(cwd) < 0)
		die("skeleton");
	free(d1);
	memfd = memfd_create("fuzz_image_load", MFD_CLOEXEC);
	if (memfd < 0)
		die("memfd_create");
	return 0;
}

/* dir must hold only names from want (NULL-terminated). */
static void expect_only(const char *dir, const char *const *want)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t i;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		for (i = 0; want[i]; i++)
			if (!strcmp(want[i], de->d_name))
				break;
		if (!want[i]) {
			char *p = xasprintf("%s/%s", dir, de->d_name);

			violation("unexpected %s", p);
		}
	}
	closedir(d);
}

static void check_sandbox(int ok)
{
	char buf[4096];
	char *p;

	if (!getcwd(buf, sizeof(buf)) || strcmp(buf, cwd))
		violation("working directory not restored: %s", buf);
	expect_only(cwd, (const char *[]){ NULL });
	expect_only(base, (const char *[]){ "d1", "cwd", NULL });
	p = xasprintf("%s/d1", base);
	expect_only(p, (const char *[]){ "store", NULL });
	free(p);
	if (ok) {
		expect_only(store, (const char *[]){ "blobs", "layers", "index.json", "oci-layout",
						     "layers.lock", "images.lock", NULL });
		return;
	}
	/* Refused: the store keeps nothing of it (lock files and empty dirs aside). */
	expect_only(store, (const char *[]){ "blobs", "layers", "oci-layout", "layers.lock",
					     NULL });
	p = xasprintf("%s/blobs/sha256", store);
	expect_only(p, (const char *[]){ NULL });
	free(p);
	p = xasprintf("%s/layers", store);
	expect_only(p, (const char *[]){ NULL });
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *loaded = json_array();
	struct err err = { 0 };
	int r;

	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size ||
	    lseek(memfd, 0, SEEK_SET) < 0)
		die("memfd");
	r = image_load(store, memfd, loaded, &err);
	if (r < 0 && !err.msg[0])
		violation("refused without a message%s", "");
	if (r == 0 && json_array_size(loaded) == 0)
		violation("loaded nothing and said nothing%s", "");
	json_decref(loaded);
	check_sandbox(r == 0);
	if (rm_rf(store, &err) < 0 || mkdir(store, 0700) < 0)
		die("reset store");
	return 0;
}
