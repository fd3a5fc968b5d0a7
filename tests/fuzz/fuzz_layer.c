/* libFuzzer: bytes as a tar stream (plain or compressed) -> layer_unpack_fd.
 *
 * The store root sits deep inside a sandbox directory, so that an entry which
 * escapes with "../" lands somewhere the harness looks: after every input the
 * sandbox must hold exactly its skeleton, the working directory must be back
 * where it was and empty, and a refused input must leave nothing in the store.
 *
 * When it can (root), the harness runs in a private mount namespace with a
 * nodev,nosuid tmpfs as the sandbox: device nodes a tar creates cannot be
 * opened, and the fsync/syncfs of each unpack cost nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/layer.h"
#include "util/fs.h"

/* The skeleton: BASE/d1/d2/d3/d4/store is the store root, BASE/cwd the cwd. */
static const char *const skeleton[] = { "d1", "d1/d2", "d1/d2/d3", "d1/d2/d3/d4" };

static char base[64] = "/tmp/isobox_fuzz_layer.XXXXXX";
static char *store;
static char *cwd;
static char *sentinel;
static int memfd = -1;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_layer: %s: %s\n", what, strerror(errno));
	abort();
}

static void violation(const char *fmt, const char *path)
{
	fprintf(stderr, "fuzz_layer: VIOLATION: ");
	fprintf(stderr, fmt, path);
	fputc('\n', stderr);
	abort();
}

static void sandbox_mount(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", base, "tmpfs", MS_NODEV | MS_NOSUID, "size=512m,mode=0700") < 0)
		fprintf(stderr, "fuzz_layer: no private tmpfs (%s): using %s as it is\n",
			strerror(errno), base);
}

static void store_create(void)
{
	struct err err;

	if (mkdir_p(store, 0700, &err) < 0)
		die(err.msg);
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
	struct err err;
	size_t i;

	if (!mkdtemp(base))
		die("mkdtemp");
	sandbox_mount();
	atexit(sandbox_remove);
	for (i = 0; i < sizeof(skeleton) / sizeof(skeleton[0]); i++) {
		char *p = xasprintf("%s/%s", base, skeleton[i]);

		if (mkdir(p, 0755) < 0)
			die(p);
		free(p);
	}
	store = xasprintf("%s/d1/d2/d3/d4/store", base);
	cwd = xasprintf("%s/cwd", base);
	sentinel = xasprintf("%s/sentinel", base);
	store_create();
	if (mkdir(cwd, 0755) < 0 || chdir(cwd) < 0)
		die(cwd);
	if (write_file_atomic(sentinel, "keep", 4, 0644, &err) < 0)
		die(err.msg);
	memfd = memfd_create("fuzz_layer", MFD_CLOEXEC);
	if (memfd < 0)
		die("memfd_create");
	return 0;
}

/* dir must hold exactly the names in want (NULL-terminated). */
static void expect_only(const char *dir, const char *const *want)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		violation("cannot open %s", dir);
	while ((de = readdir(d))) {
		size_t i;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		for (i = 0; want[i]; i++)
			if (!strcmp(want[i], de->d_name))
				break;
		if (!want[i]) {
			char *p = xasprintf("%s/%s", dir, de->d_name);

			violation("unexpected %s (written outside the layer?)", p);
		}
	}
	closedir(d);
}

static void check_sandbox(int ok)
{
	char buf[4096];
	char *p;
	int fd;

	if (!getcwd(buf, sizeof(buf)) || strcmp(buf, cwd))
		violation("working directory not restored: %s", buf);
	expect_only(cwd, (const char *[]){ NULL });
	expect_only(base, (const char *[]){ "d1", "cwd", "sentinel", NULL });
	p = xasprintf("%s/d1", base);
	expect_only(p, (const char *[]){ "d2", NULL });
	free(p);
	p = xasprintf("%s/d1/d2", base);
	expect_only(p, (const char *[]){ "d3", NULL });
	free(p);
	p = xasprintf("%s/d1/d2/d3", base);
	expect_only(p, (const char *[]){ "d4", NULL });
	free(p);
	p = xasprintf("%s/d1/d2/d3/d4", base);
	expect_only(p, (const char *[]){ "store", NULL });
	free(p);
	expect_only(store, (const char *[]){ "blobs", "layers", NULL });
	fd = open(sentinel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 4 || memcmp(buf, "keep", 4))
		violation("%s was changed", sentinel);
	close(fd);
	if (!ok) {
		/* a refused layer leaves no temp dir and no blob */
		p = xasprintf("%s/layers", store);
		expect_only(p, (const char *[]){ NULL });
		free(p);
		p = xasprintf("%s/blobs/sha256", store);
		expect_only(p, (const char *[]){ NULL });
		free(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct layer_info info;
	struct err err = { 0 };
	int r;

	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size ||
	    lseek(memfd, 0, SEEK_SET) < 0)
		die("memfd");
	r = layer_unpack_fd(store, memfd, &info, &err);
	if (r < 0 && !err.msg[0])
		violation("refused without a message%s", "");
	check_sandbox(r == 0);
	if (rm_rf(store, &err) < 0)
		die(err.msg);
	store_create();
	return 0;
}
