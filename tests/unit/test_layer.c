/* layer_unpack against hostile and ordinary tarballs, built here with
 * libarchive's writer. A refused tarball must leave nothing behind: no file
 * outside the store, no temp dir, no blob. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "engine/layer.h"
#include "util/fs.h"

/* One tar entry: type 'f' file, 'd' dir, 'l' symlink, 'h' hard link. */
struct ent {
	char type;
	const char *path;
	const char *data;   /* file content, or link target */
};

struct sandbox {
	char dir[64];       /* /tmp/test_layer.XXXXXX */
	char *root;         /* dir/store/deep: escapes land inside dir */
	char *outside;      /* dir/outside, with a file "secret" */
	char *tarball;
};

static int sandbox_setup(void **state)
{
	struct sandbox *s = xmalloc(sizeof(*s));
	struct err err;
	char *secret;

	strcpy(s->dir, "/tmp/test_layer.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	s->root = xasprintf("%s/store/deep", s->dir);
	s->outside = xasprintf("%s/outside", s->dir);
	s->tarball = xasprintf("%s/in.tar", s->dir);
	assert_int_equal(mkdir_p(s->root, 0755, &err), 0);
	assert_int_equal(mkdir(s->outside, 0755), 0);
	secret = xasprintf("%s/secret", s->outside);
	assert_int_equal(write_file_atomic(secret, "keep", 4, 0644, &err), 0);
	free(secret);
	*state = s;
	return 0;
}

static int sandbox_teardown(void **state)
{
	struct sandbox *s = *state;
	struct err err;

	rm_rf(s->dir, &err);
	free(s->root);
	free(s->outside);
	free(s->tarball);
	free(s);
	return 0;
}

static void write_tar(const char *path, const struct ent *e, size_t n, int filter)
{
	struct archive *a = archive_write_new();
	size_t i;

	archive_write_set_format_pax_restricted(a);
	if (filter == ARCHIVE_FILTER_GZIP)
		archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();

		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_perm(ae, e[i].type == 'd' ? 0755 : 0644);
		if (e[i].type == 'f') {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
		} else if (e[i].type == 'd') {
			archive_entry_set_filetype(ae, AE_IFDIR);
		} else if (e[i].type == 'l') {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].data);
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
		}
		assert_true(archive_write_header(a, ae) >= ARCHIVE_WARN);
		if (e[i].type == 'f')
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

/* Every path under dir except the store's own skeleton, one per line. */
static void list_tree(const char *dir, const char *rel, char *out, size_t len)
{
	char *path = xasprintf("%s/%s", dir, rel);
	DIR *d = opendir(path);
	struct dirent *de;

	free(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		snprintf(out + strlen(out), len - strlen(out), "%s\n", sub);
		if (de->d_type == DT_DIR)
			list_tree(dir, sub, out, len);
		free(sub);
	}
	closedir(d);
}

static void assert_nothing_left(struct sandbox *s)
{
	char tree[4096] = "";
	char secret[16] = "";
	char *p = xasprintf("%s/secret", s->outside);
	FILE *f = fopen(p, "re");

	free(p);
	list_tree(s->dir, "", tree, sizeof(tree));
	/* Order is readdir's; compare as a sorted set via sort(1)-free checks. */
	assert_null(strstr(tree, ".tmp-"));
	assert_null(strstr(tree, "escape"));
	assert_null(strstr(tree, "pwned"));
	assert_null(strstr(tree, "passwd"));
	assert_null(strstr(tree, "store/deep/layers/"));
	assert_null(strstr(tree, "store/deep/blobs/sha256/"));
	assert_non_null(f);
	assert_non_null(fgets(secret, sizeof(secret), f));
	fclose(f);
	assert_string_equal(secret, "keep");
}

static void expect_refused(struct sandbox *s, const struct ent *e, size_t n,
			   const char *msg_part)
{
	struct layer_info li;
	struct err err = { 0 };

	write_tar(s->tarball, e, n, ARCHIVE_FILTER_NONE);
	assert_int_equal(layer_unpack(s->root, s->tarball, &li, &err), -1);
	if (msg_part && !strstr(err.msg, msg_part))
		fail_msg("error '%s' does not mention '%s'", err.msg, msg_part);
	assert_nothing_left(s);
}

static void test_dotdot_escape(void **state)
{
	const struct ent e[] = { { 'f', "ok", "x" }, { 'f', "../escape", "x" } };

	expect_refused(*state, e, 2, "../escape");
}

static void test_absolute(void **state)
{
	struct sandbox *s = *state;
	char *abs = xasprintf("%s/escape", s->outside);
	const struct ent e[] = { { 'f', abs, "x" } };

	expect_refused(s, e, 1, "outside the layer");
	free(abs);
}

static void test_dotdot_inside(void **state)
{
	const struct ent e[] = { { 'd', "a/", NULL }, { 'f', "a/../../escape", "x" } };

	expect_refused(*state, e, 2, "outside the layer");
}

static void test_symlink_then_through(void **state)
{
	struct sandbox *s = *state;
	const struct ent e[] = { { 'l', "link", s->outside }, { 'f', "link/pwned", "x" } };

	expect_refused(s, e, 2, NULL);
}

static void test_symlink_root_passwd(void **state)
{
	struct sandbox *s = *state;
	char *before = NULL, *after = NULL;
	struct err err;
	const struct ent e[] = { { 'l', "link", "/" }, { 'f', "link/etc/passwd", "pwned\n" } };

	assert_int_equal(read_file("/etc/passwd", 1 << 20, &before, NULL, &err), 0);
	expect_refused(s, e, 2, NULL);
	assert_int_equal(read_file("/etc/passwd", 1 << 20, &after, NULL, &err), 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_hardlink_dotdot(void **state)
{
	const struct ent e[] = { { 'h', "passwd", "../../etc/passwd" } };

	expect_refused(*state, e, 1, "hard link");
}

static void test_hardlink_absolute(void **state)
{
	const struct ent e[] = { { 'h', "passwd", "/etc/passwd" } };

	expect_refused(*state, e, 1, "hard link");
}

static void test_hardlink_through_symlink(void **state)
{
	struct sandbox *s = *state;
	const struct ent e[] = { { 'l', "link", s->outside }, { 'h', "stolen", "link/secret" } };

	expect_refused(s, e, 2, NULL);
}

static void test_truncated_gzip(void **state)
{
	struct sandbox *s = *state;
	const struct ent e[] = { { 'f', "a", "hello" }, { 'f', "b", "world" } };
	struct layer_info li;
	struct err err = { 0 };
	char *data = NULL;
	size_t len = 0;

	write_tar(s->tarball, e, 2, ARCHIVE_FILTER_GZIP);
	assert_int_equal(read_file(s->tarball, 1 << 20, &data, &len, &err), 0);
	assert_int_equal(write_file_atomic(s->tarball, data, len / 2, 0644, &err), 0);
	free(data);
	assert_int_equal(layer_unpack(s->root, s->tarball, &li, &err), -1);
	assert_non_null(strstr(err.msg, "corrupt tar archive"));
	assert_nothing_left(s);
}

static void test_garbage(void **state)
{
	struct sandbox *s = *state;
	struct layer_info li;
	struct err err = { 0 };

	assert_int_equal(write_file_atomic(s->tarball, "not a tarball at all\n", 21, 0644, &err),
			 0);
	assert_int_equal(layer_unpack(s->root, s->tarball, &li, &err), -1);
	assert_non_null(strstr(err.msg, "corrupt tar archive"));
	assert_nothing_left(s);
}

static void assert_whiteout(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 0);
	assert_int_equal(minor(st.st_rdev), 0);
}

static void test_whiteouts(void **state)
{
	struct sandbox *s = *state;
	const struct ent e[] = {
		{ 'd', "dir/", NULL },
		{ 'f', "dir/.wh..wh..opq", "" },
		{ 'f', "dir/kept", "k" },
		{ 'f', ".wh.gone", "" },
		{ 'f', "sub/.wh.file", "" },
	};
	struct layer_info li;
	struct err err = { 0 };
	char val[8] = "";
	char *dir, *p;

	write_tar(s->tarball, e, 5, ARCHIVE_FILTER_NONE);
	assert_int_equal(layer_unpack(s->root, s->tarball, &li, &err), 0);
	dir = layer_dir(s->root, li.diff_id);
	p = xasprintf("%s/gone", dir);
	assert_whiteout(p);
	free(p);
	p = xasprintf("%s/sub/file", dir);
	assert_whiteout(p);
	free(p);
	p = xasprintf("%s/dir", dir);
	assert_int_equal(getxattr(p, "trusted.overlay.opaque", val, sizeof(val)), 1);
	assert_int_equal(val[0], 'y');
	free(p);
	p = xasprintf("%s/dir/.wh..wh..opq", dir);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	free(dir);
}

/* The same files, plain or gzip'ed, give the same diff id and one layer dir. */
static void test_normalized_digest(void **state)
{
	struct sandbox *s = *state;
	const struct ent e[] = { { 'd', "bin/", NULL }, { 'f', "bin/tool", "#!/bin/sh\n" },
				 { 'l', "bin/alias", "tool" }, { 'h', "bin/copy", "bin/tool" } };
	struct layer_info a, b;
	struct err err = { 0 };
	char *blob, *dir, *p;
	struct stat st1, st2;

	write_tar(s->tarball, e, 4, ARCHIVE_FILTER_NONE);
	assert_int_equal(layer_unpack(s->root, s->tarball, &a, &err), 0);
	write_tar(s->tarball, e, 4, ARCHIVE_FILTER_GZIP);
	assert_int_equal(layer_unpack(s->root, s->tarball, &b, &err), 0);
	assert_string_equal(a.diff_id, b.diff_id);
	assert_true(digest_valid(a.diff_id));
	blob = blob_path(s->root, a.diff_id);
	assert_int_equal(stat(blob, &st1), 0);
	assert_int_equal((unsigned long long)st1.st_size, a.tar_size);
	dir = layer_dir(s->root, a.diff_id);
	p = xasprintf("%s/bin/tool", dir);
	assert_int_equal(stat(p, &st1), 0);
	free(p);
	p = xasprintf("%s/bin/copy", dir);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(a.content_size, strlen("#!/bin/sh\n") + strlen("tool"));
	free(p);
	free(blob);
	free(dir);
}

/* A full disk fails cleanly and says so. */
static void test_enospc(void **state)
{
	struct sandbox *s = *state;
	char *big = xmalloc(2 << 20);
	const struct ent e[] = { { 'f', "big", big } };
	struct layer_info li;
	struct err err = { 0 };

	if (mount("tmpfs", s->root, "tmpfs", 0, "size=1m") < 0) {
		free(big);
		skip();
	}
	memset(big, 'x', (2 << 20) - 1);
	write_tar(s->tarball, e, 1, ARCHIVE_FILTER_GZIP);
	assert_int_equal(layer_unpack(s->root, s->tarball, &li, &err), -1);
	assert_non_null(strstr(err.msg, "no space left on device"));
	assert_nothing_left(s);
	umount(s->root);
	free(big);
}

static void test_path_safe(void **state)
{
	assert_true(layer_path_safe("a"));
	assert_true(layer_path_safe("./a/b"));
	assert_true(layer_path_safe("a/..b/c.."));
	assert_true(layer_path_safe("."));
	assert_false(layer_path_safe(""));
	assert_false(layer_path_safe(NULL));
	assert_false(layer_path_safe("/a"));
	assert_false(layer_path_safe(".."));
	assert_false(layer_path_safe("../a"));
	assert_false(layer_path_safe("a/.."));
	assert_false(layer_path_safe("a//../b"));
}

/* ---- layer_unpack_blob: a stored blob, kept as is ---- */

/* Store file as a blob (compressed by prog first, e.g. "gzip -n", or NULL);
 * digest gets the blob's digest. */
static void put_file_blob(struct sandbox *s, const char *prog, char digest[DIGEST_STR_LEN])
{
	char *cmd, *packed = xasprintf("%s.packed", s->tarball), *data = NULL, *d = NULL;
	size_t len = 0;
	struct err err = { 0 };

	cmd = prog ? xasprintf("%s < %s > %s", prog, s->tarball, packed)
		   : xasprintf("cp %s %s", s->tarball, packed);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(read_file(packed, 16 << 20, &data, &len, &err), 0);
	assert_int_equal(blob_put(s->root, data, len, &d, &err), 0);
	snprintf(digest, DIGEST_STR_LEN, "%s", d);
	unlink(packed);
	free(cmd);
	free(packed);
	free(data);
	free(d);
}

static void tar_digest(struct sandbox *s, char out[DIGEST_STR_LEN])
{
	char *data = NULL;
	size_t len = 0;
	struct err err = { 0 };

	assert_int_equal(read_file(s->tarball, 16 << 20, &data, &len, &err), 0);
	assert_int_equal(digest_buffer(data, len, out, &err), 0);
	free(data);
}

static void assert_no_layer_temp(struct sandbox *s)
{
	char tree[4096] = "";

	list_tree(s->dir, "", tree, sizeof(tree));
	assert_null(strstr(tree, ".tmp-"));
	assert_null(strstr(tree, "store/deep/layers/"));
	assert_null(strstr(tree, "escape"));
}

static void unpack_blob_with(void **state, const char *prog)
{
	struct sandbox *s = *state;
	const struct ent e[] = { { 'd', "etc/", NULL }, { 'f', "etc/motd", "hello\n" },
				 { 'f', ".wh.gone", "" }, { 'l', "etc/link", "motd" } };
	char blob[DIGEST_STR_LEN], diff[DIGEST_STR_LEN];
	struct layer_info li;
	struct err err = { 0 };
	char *dir, *p;
	struct stat st;

	write_tar(s->tarball, e, 4, ARCHIVE_FILTER_NONE);
	tar_digest(s, diff);
	put_file_blob(s, prog, blob);
	assert_false(layer_present(s->root, diff));
	assert_int_equal(layer_unpack_blob(s->root, blob, diff, &li, &err), 0);
	assert_string_equal(li.diff_id, diff);
	assert_int_equal(li.content_size, strlen("hello\n") + strlen("motd"));
	assert_int_equal(stat(s->tarball, &st), 0);
	assert_int_equal(li.tar_size, (unsigned long long)st.st_size);
	assert_true(layer_present(s->root, diff));
	/* The blob stays as it came; no second (uncompressed) blob appears. */
	p = blob_path(s->root, diff);
	assert_int_equal(access(p, F_OK), prog ? -1 : 0);
	free(p);
	dir = layer_dir(s->root, diff);
	p = xasprintf("%s/etc/motd", dir);
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	p = xasprintf("%s/gone", dir);
	assert_whiteout(p);
	free(p);
	/* Present: success without unpacking again. */
	assert_int_equal(layer_unpack_blob(s->root, blob, diff, &li, &err), 0);
	free(dir);
}

static void test_blob_plain(void **state)
{
	unpack_blob_with(state, NULL);
}

static void test_blob_gzip(void **state)
{
	unpack_blob_with(state, "gzip -n");
}

static void test_blob_zstd(void **state)
{
	unpack_blob_with(state, "zstd -q");
}

/* The diff id the config claims must be what the blob decompresses to. */
static void test_blob_diff_id_mismatch(void **state)
{
	struct sandbox *s = *state;
	const struct ent e[] = { { 'f', "a", "a" } };
	const struct ent other[] = { { 'f', "a", "b" } };
	char blob[DIGEST_STR_LEN], diff[DIGEST_STR_LEN], actual[DIGEST_STR_LEN];
	struct layer_info li;
	struct err err = { 0 };
	char *want;

	write_tar(s->tarball, other, 1, ARCHIVE_FILTER_NONE);
	tar_digest(s, diff);
	write_tar(s->tarball, e, 1, ARCHIVE_FILTER_NONE);
	tar_digest(s, actual);
	put_file_blob(s, "gzip -n", blob);
	assert_int_equal(layer_unpack_blob(s->root, blob, diff, &li, &err), -1);
	want = xasprintf("layer %s failed verification: its content hashes to %s", diff, actual);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not say '%s'", err.msg, want);
	free(want);
	assert_false(layer_present(s->root, diff));
	assert_false(layer_present(s->root, actual));
	assert_no_layer_temp(s);
}

static void test_blob_traversal(void **state)
{
	struct sandbox *s = *state;
	const struct ent e[] = { { 'f', "ok", "x" }, { 'f', "../../escape", "x" } };
	char blob[DIGEST_STR_LEN], diff[DIGEST_STR_LEN];
	struct layer_info li;
	struct err err = { 0 };

	write_tar(s->tarball, e, 2, ARCHIVE_FILTER_NONE);
	tar_digest(s, diff);
	put_file_blob(s, "zstd -q", blob);
	assert_int_equal(layer_unpack_blob(s->root, blob, diff, &li, &err), -1);
	assert_non_null(strstr(err.msg, "outside the layer"));
	assert_false(layer_present(s->root, diff));
	assert_no_layer_temp(s);
}

static void test_blob_missing_or_garbage(void **state)
{
	struct sandbox *s = *state;
	char blob[DIGEST_STR_LEN], diff[DIGEST_STR_LEN];
	struct layer_info li;
	struct err err = { 0 };
	FILE *f = fopen(s->tarball, "we");

	assert_non_null(f);
	fputs("this is not a tar archive at all, just words that go on and on", f);
	fclose(f);
	tar_digest(s, diff);
	assert_int_equal(layer_unpack_blob(s->root, diff, diff, &li, &err), -1);
	assert_non_null(strstr(err.msg, "not in the store"));
	put_file_blob(s, NULL, blob);
	assert_int_equal(layer_unpack_blob(s->root, blob, diff, &li, &err), -1);
	assert_false(layer_present(s->root, diff));
	assert_no_layer_temp(s);
}

/* A bomb: more decompressed bytes than the disk holds. */
static void test_blob_enospc(void **state)
{
	struct sandbox *s = *state;
	char *big = xmalloc(2 << 20);
	const struct ent e[] = { { 'f', "big", big } };
	char blob[DIGEST_STR_LEN], diff[DIGEST_STR_LEN];
	struct layer_info li;
	struct err err = { 0 };

	if (mount("tmpfs", s->root, "tmpfs", 0, "size=1m") < 0) {
		free(big);
		skip();
	}
	memset(big, 'x', (2 << 20) - 1);
	big[(2 << 20) - 1] = 0;
	write_tar(s->tarball, e, 1, ARCHIVE_FILTER_NONE);
	tar_digest(s, diff);
	put_file_blob(s, "gzip -n", blob);
	assert_int_equal(layer_unpack_blob(s->root, blob, diff, &li, &err), -1);
	assert_non_null(strstr(err.msg, "no space left on device"));
	assert_false(layer_present(s->root, diff));
	assert_no_layer_temp(s);
	umount(s->root);
	free(big);
}

#define T(f) cmocka_unit_test_setup_teardown(f, sandbox_setup, sandbox_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_safe),
		T(test_dotdot_escape),
		T(test_absolute),
		T(test_dotdot_inside),
		T(test_symlink_then_through),
		T(test_symlink_root_passwd),
		T(test_hardlink_dotdot),
		T(test_hardlink_absolute),
		T(test_hardlink_through_symlink),
		T(test_truncated_gzip),
		T(test_garbage),
		T(test_whiteouts),
		T(test_normalized_digest),
		T(test_enospc),
		T(test_blob_plain),
		T(test_blob_gzip),
		T(test_blob_zstd),
		T(test_blob_diff_id_mismatch),
		T(test_blob_traversal),
		T(test_blob_missing_or_garbage),
		T(test_blob_enospc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
