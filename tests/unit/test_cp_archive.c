/* docker cp's tar streams (engine/cp_archive.c): hostile tars stay beneath the
 * root they are unpacked in; a written tree reads back, renamed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "engine/cp_archive.h"
#include "util/fs.h"

#define EVIL "isobox-cp-unit-evil"

struct ent {
	const char *name;
	mode_t type;
	const char *data;   /* a file's bytes, a link's target */
};

/* A tar of ents in a temporary file, its fd at 0. */
static int tar_make(const struct ent *e, size_t n)
{
	char path[] = "/tmp/isobox-cp-unit-tar.XXXXXX";
	int fd = mkstemp(path);
	struct archive *a = archive_write_new();
	size_t i;

	assert_true(fd >= 0);
	unlink(path);
	archive_write_set_format_pax_restricted(a);
	archive_write_open_fd(a, fd);
	for (i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();

		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, e[i].type);
		archive_entry_set_perm(ae, 0644);
		if (e[i].type == AE_IFLNK)
			archive_entry_set_symlink(ae, e[i].data);
		if (e[i].type == AE_IFREG)
			archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
		if (e[i].type == 0) {   /* a hard link */
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].type == AE_IFREG)
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static char *root_make(void)
{
	char *root = xstrdup("/tmp/isobox-cp-unit.XXXXXX");

	assert_non_null(mkdtemp(root));
	return root;
}

static void root_remove(char *root)
{
	struct err err = { 0 };

	rm_rf(root, &err);
	free(root);
}

static bool exists(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static void test_hostile_tar_stays_in_root(void **state)
{
	const struct ent e[] = {
		{ "lnk", AE_IFLNK, "/" },
		{ "lnk/etc/" EVIL, AE_IFREG, "x" },
		{ "../" EVIL "-up", AE_IFREG, "x" },
		{ "/abs/../../" EVIL "-abs", AE_IFREG, "x" },
		{ "up", AE_IFLNK, "../../../../../.." },
		{ "up/" EVIL "-rel", AE_IFREG, "x" },
	};
	char *root = root_make();
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = tar_make(e, 6);
	struct cp_extract x = { .dir = "/" };
	struct err err = { 0 };

	assert_int_equal(cp_archive_extract(rfd, fd, &x, &err), 0);
	assert_true(exists(root, "etc/" EVIL));         /* through "lnk -> /": the root's */
	assert_true(exists(root, EVIL "-rel"));
	assert_false(access("/etc/" EVIL, F_OK) == 0);
	assert_false(access("/" EVIL "-rel", F_OK) == 0);
	assert_false(exists(root, "../" EVIL "-up"));   /* ".." entries dropped */
	assert_false(exists(root, "../" EVIL "-abs"));
	close(fd);
	close(rfd);
	root_remove(root);
}

static void test_hardlink_outside_refused(void **state)
{
	const struct ent e[] = { { "hl", 0, "../../etc/passwd" } };
	char *root = root_make();
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = tar_make(e, 1);
	struct cp_extract x = { .dir = "/" };
	struct err err = { 0 };

	assert_int_equal(cp_archive_extract(rfd, fd, &x, &err), -1);
	assert_false(exists(root, "hl"));
	close(fd);
	close(rfd);
	root_remove(root);
}

static void test_write_then_extract_renamed(void **state)
{
	char *src = root_make(), *dst = root_make();
	char *p = xasprintf("%s/d", src);
	int sfd, dfd, pipefd[2];
	struct cp_extract x = { .dir = "/", .rebase_from = "d", .rebase_to = "renamed" };
	struct err err = { 0 };
	struct stat sb;

	assert_int_equal(mkdir(p, 0750), 0);
	free(p);
	p = xasprintf("%s/d/f", src);
	assert_int_equal(write_file_new(p, "hello\n", 6, 0644, &err), 0);
	free(p);
	p = xasprintf("%s/d/l", src);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	free(p);
	sfd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	dfd = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(pipe(pipefd), 0);
	/* small: fits in the pipe */
	if (cp_archive_write(sfd, "/d", false, NULL, pipefd[1], &err) < 0)
		fail_msg("%s", err.msg);
	close(pipefd[1]);
	assert_int_equal(cp_archive_extract(dfd, pipefd[0], &x, &err), 0);
	close(pipefd[0]);
	p = xasprintf("%s/renamed/f", dst);
	{
		char *data = NULL;
		size_t len;

		assert_int_equal(read_file(p, 100, &data, &len, &err), 0);
		assert_int_equal(len, 6);
		assert_memory_equal(data, "hello\n", 6);
		free(data);
	}
	free(p);
	p = xasprintf("%s/renamed/l", dst);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	free(p);
	p = xasprintf("%s/renamed", dst);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0750);
	free(p);
	close(sfd);
	close(dfd);
	root_remove(src);
	root_remove(dst);
}

/* The names of a tar read back from fd, one a line. */
static char *tar_names(int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *names = xstrdup("");

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char *next = xasprintf("%s%s%s%s\n", names, archive_entry_pathname(e),
				       archive_entry_hardlink(e) ? " => " : "",
				       archive_entry_hardlink(e) ?: "");
		free(names);
		names = next;
	}
	archive_read_free(a);
	return names;
}

/* A guest's tar ("./NAME/..." from busybox) renamed as the host names it;
 * names with ".." and their hard links left out. */
static void test_rename_a_guests_tar(void **state)
{
	const struct ent e[] = {
		{ "./", AE_IFDIR, NULL },
		{ "./target", AE_IFDIR, NULL },
		{ "./target/f", AE_IFREG, "x" },
		{ "./target/h", 0, "./target/f" },
		{ "../" EVIL, AE_IFREG, "x" },
		{ "./target/out", 0, "../etc/passwd" },
		{ "/abs", AE_IFREG, "y" },
	};
	int fd = tar_make(e, 7), out = fileno(tmpfile());
	struct err err = { 0 };
	char *names;

	assert_true(out >= 0);
	if (cp_archive_rename(fd, out, "target", "link", &err) < 0)
		fail_msg("%s", err.msg);
	lseek(out, 0, SEEK_SET);
	names = tar_names(out);
	assert_string_equal(names, "link/\nlink/f\nlink/h => link/f\nabs\n");
	free(names);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_tar_stays_in_root),
		cmocka_unit_test(test_hardlink_outside_refused),
		cmocka_unit_test(test_write_then_extract_renamed),
		cmocka_unit_test(test_rename_a_guests_tar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
