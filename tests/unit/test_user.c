/* Tests for src/engine/user.c: USER[:GROUP] through an image's /etc/passwd and
 * /etc/group, including layers that try to make it read the host's files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/user.h"
#include "util/fs.h"
#include "util/passwd.h"

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"# a comment line and a broken one\n"
	"broken:x:notanumber:0::/:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
	"bob:x:1001:100::/home/bob:/bin/sh\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

static const char group[] =
	"root:x:0:\n"
	"wheel:x:10:root,alice\n"
	"users:x:100:\n"
	"alice:x:1000:\n"
	"docker:x:999:bob,alice\n"
	"staff:x:50:bob\n"
	"nogroup:x:65534:\n";

static const char host_passwd[] = "hostonly:x:4321:4322::/:/bin/sh\n"
				  "root:x:4321:4322::/:/bin/sh\n";

struct sandbox {
	char dir[64];     /* /tmp/test_user.XXXXXX */
	char *image;      /* dir/image: passwd and group */
	char *top;        /* dir/top: passwd only */
	char *bottom;     /* dir/bottom: group, and a passwd the top one hides */
	char *empty;      /* dir/empty: no etc at all */
	char *hostile;    /* dir/hostile: rebuilt by each hostile test */
	char *marker;     /* a "host" passwd outside every root */
};

static struct sandbox *sb;

static void put(const char *root, const char *rel, const char *data)
{
	struct err err = { 0 };
	char *path = xasprintf("%s/%s", root, rel);
	char *slash = strrchr(path, '/');

	*slash = '\0';
	assert_int_equal(mkdir_p(path, 0755, &err), 0);
	*slash = '/';
	assert_int_equal(write_file_atomic(path, data, strlen(data), 0644, &err), 0);
	free(path);
}

static int setup(void **state)
{
	struct err err = { 0 };

	sb = xmalloc(sizeof(*sb));
	strcpy(sb->dir, "/tmp/test_user.XXXXXX");
	assert_non_null(mkdtemp(sb->dir));
	sb->image = xasprintf("%s/image", sb->dir);
	sb->top = xasprintf("%s/top", sb->dir);
	sb->bottom = xasprintf("%s/bottom", sb->dir);
	sb->empty = xasprintf("%s/empty", sb->dir);
	sb->hostile = xasprintf("%s/hostile", sb->dir);
	put(sb->image, "etc/passwd", passwd);
	put(sb->image, "etc/group", group);
	put(sb->top, "etc/passwd", "root:x:0:0::/:/bin/sh\ncarol:x:2000:2001::/:/bin/sh\n");
	put(sb->bottom, "etc/group", "carols:x:2001:\nops:x:3000:carol\n");
	put(sb->bottom, "etc/passwd", "carol:x:7:7::/:/bin/sh\n");
	assert_int_equal(mkdir_p(sb->empty, 0755, &err), 0);
	/* the "host" file: outside every root, with a user no image has */
	sb->marker = xasprintf("/tmp/test_user_host_passwd.%d", getpid());
	assert_int_equal(write_file_atomic(sb->marker, host_passwd, strlen(host_passwd), 0644,
					   &err), 0);
	return 0;
}

static int teardown(void **state)
{
	struct err err = { 0 };

	rm_rf(sb->dir, &err);
	unlink(sb->marker);
	free(sb->image);
	free(sb->top);
	free(sb->bottom);
	free(sb->empty);
	free(sb->hostile);
	free(sb->marker);
	free(sb);
	return 0;
}

static int resolve1(const char *root, const char *spec, struct user_ids *ids, struct err *err)
{
	const char *roots[] = { root };

	memset(err, 0, sizeof(*err));
	return user_resolve(roots, 1, spec, ids, err);
}

static void expect_ids(const char *spec, unsigned uid, unsigned gid)
{
	struct user_ids ids;
	struct err err;

	if (resolve1(sb->image, spec, &ids, &err) < 0)
		fail_msg("resolve '%s': %s", spec, err.msg);
	if (ids.uid != uid || ids.gid != gid)
		fail_msg("resolve '%s': got %u:%u, want %u:%u", spec, (unsigned)ids.uid,
			 (unsigned)ids.gid, uid, gid);
}

static bool has_gid(const struct user_ids *ids, gid_t g)
{
	size_t i;

	for (i = 0; i < ids->n_gids; i++)
		if (ids->gids[i] == g)
			return true;
	return false;
}

static void test_names_and_ids(void **state)
{
	expect_ids("", 0, 0);
	expect_ids("root", 0, 0);
	expect_ids("nobody", 65534, 65534);
	expect_ids("alice", 1000, 1000);
	expect_ids("bob", 1001, 100);
	expect_ids("1000", 1000, 1000);
	expect_ids("1001", 1001, 100);
	expect_ids("1000:1000", 1000, 1000);
	expect_ids("1000:100", 1000, 100);
	expect_ids("alice:staff", 1000, 50);
	expect_ids("alice:50", 1000, 50);
	expect_ids("1001:docker", 1001, 999);
	expect_ids("root:nogroup", 0, 65534);
	/* numeric ids need no entry: the uid alone gets gid 0, as in docker */
	expect_ids("4242", 4242, 0);
	expect_ids("4242:4243", 4242, 4243);
	expect_ids("alice:4243", 1000, 4243);
}

static void test_unknown(void **state)
{
	struct user_ids ids;
	struct err err;

	assert_int_equal(resolve1(sb->image, "mallory", &ids, &err), -1);
	assert_non_null(strstr(err.msg, "unable to find user mallory"));
	assert_int_equal(resolve1(sb->image, "alice:nosuchgroup", &ids, &err), -1);
	assert_non_null(strstr(err.msg, "unable to find group nosuchgroup"));
	assert_int_equal(resolve1(sb->image, "broken", &ids, &err), -1);
	/* ids that are not plain decimal numbers below 2^31 are names */
	assert_int_equal(resolve1(sb->image, "-1", &ids, &err), -1);
	assert_int_equal(resolve1(sb->image, "4294967296", &ids, &err), -1);
	assert_int_equal(resolve1(sb->image, "12abc", &ids, &err), -1);
	assert_int_equal(resolve1(sb->image, "0:-1", &ids, &err), -1);
	assert_int_equal(resolve1(sb->image, "0:", &ids, &err), -1);
}

static void test_supplementary(void **state)
{
	struct user_ids ids;
	struct err err;

	/* docker's list: the primary group first, then the groups naming the user. */
	assert_int_equal(resolve1(sb->image, "alice", &ids, &err), 0);
	assert_int_equal(ids.n_gids, 3);
	assert_int_equal(ids.gids[0], 1000);
	assert_true(has_gid(&ids, 10));
	assert_true(has_gid(&ids, 999));
	/* An explicit group replaces the member ones, as runc's. */
	assert_int_equal(resolve1(sb->image, "bob:users", &ids, &err), 0);
	assert_int_equal(ids.gid, 100);
	assert_int_equal(ids.n_gids, 1);
	assert_int_equal(ids.gids[0], 100);
	assert_int_equal(resolve1(sb->image, "nobody", &ids, &err), 0);
	assert_int_equal(ids.n_gids, 1);
	assert_int_equal(ids.gids[0], 65534);
	/* A uid without an entry: group 0, and no member groups (it has no name). */
	assert_int_equal(resolve1(sb->image, "4242", &ids, &err), 0);
	assert_int_equal(ids.n_gids, 1);
	assert_int_equal(ids.gids[0], 0);
}

/* A group line of three fields has no member list: the one before it, still
 * in the line buffer, must not count (the fuzzer's use-after-free). */
static void test_group_line_without_members(void **state)
{
	static char pw[] = "alice:x:1000:1000::/home/alice:/bin/sh\n";
	static char gr[] = "wheel:x:10:alice\ns:x:7\n";
	FILE *p = fmemopen(pw, strlen(pw), "r"), *g = fmemopen(gr, strlen(gr), "r");
	struct passwd_user u;

	assert_int_equal(passwd_user_resolve(p, g, "alice", &u), PASSWD_OK);
	assert_int_equal(u.n_gids, 2);
	assert_int_equal(u.gids[0], 1000);
	assert_int_equal(u.gids[1], 10);
	fclose(p);
	fclose(g);
}

/* --group-add: numbers as they are, names through the image's group file. */
static void test_group_add(void **state)
{
	const char *const add[] = { "staff", "4242", "docker" }, *const bad[] = { "nosuch" };
	const char *roots[] = { sb->image };
	struct user_ids ids;
	struct err err = { 0 };

	assert_int_equal(resolve1(sb->image, "nobody", &ids, &err), 0);
	assert_int_equal(user_group_add(roots, 1, add, 3, &ids, &err), 0);
	assert_int_equal(ids.n_gids, 4);
	assert_int_equal(ids.gids[1], 50);
	assert_int_equal(ids.gids[2], 4242);
	assert_int_equal(ids.gids[3], 999);
	assert_int_equal(user_group_add(roots, 1, bad, 1, &ids, &err), -1);
	assert_string_equal(err.msg, "Unable to find group nosuch: no matching entries in group "
			    "file");
	/* Without a group file only numbers resolve. */
	assert_int_equal(user_group_add((const char *[]){ sb->empty }, 1, add + 1, 1, &ids, &err),
			 0);
	assert_int_equal(user_group_add((const char *[]){ sb->empty }, 1, add, 1, &ids, &err), -1);
}

/* docker finds the user's name from its uid, then the groups that list it. */
static void test_supplementary_by_uid(void **state)
{
	struct user_ids ids;
	struct err err;

	assert_int_equal(resolve1(sb->image, "1000", &ids, &err), 0);
	if (ids.n_gids != 3 || !has_gid(&ids, 1000) || !has_gid(&ids, 10) || !has_gid(&ids, 999))
		fail_msg("--user 1000 (alice) got %zu supplementary groups, want 1000, 10 and 999",
			 ids.n_gids);
}

static void test_layers(void **state)
{
	const char *roots[] = { sb->top, sb->bottom };
	struct user_ids ids;
	struct err err = { 0 };

	/* the top layer's passwd hides the bottom one; group comes from below */
	assert_int_equal(user_resolve(roots, 2, "carol", &ids, &err), 0);
	assert_int_equal(ids.uid, 2000);
	assert_int_equal(ids.gid, 2001);
	assert_int_equal(ids.n_gids, 2);
	assert_int_equal(ids.gids[0], 2001);
	assert_int_equal(ids.gids[1], 3000);
	assert_int_equal(user_resolve(roots, 2, "carol:carols", &ids, &err), 0);
	assert_int_equal(ids.gid, 2001);
	assert_int_equal(user_resolve(roots, 2, "root:ops", &ids, &err), 0);
	assert_int_equal(ids.uid, 0);
	assert_int_equal(ids.gid, 3000);
	/* bottom first: its passwd wins */
	roots[0] = sb->bottom;
	roots[1] = sb->top;
	assert_int_equal(user_resolve(roots, 2, "carol", &ids, &err), 0);
	assert_int_equal(ids.uid, 7);
	assert_int_equal(user_resolve(roots, 0, "1234:5678", &ids, &err), 0);
	assert_int_equal(ids.uid, 1234);
	assert_int_equal(ids.gid, 5678);
}

/* An image without /etc/passwd (FROM scratch) runs as root by default. */
static void test_no_passwd_default_root(void **state)
{
	struct user_ids ids;
	struct err err;

	assert_int_equal(resolve1(sb->empty, "0", &ids, &err), 0);
	assert_int_equal(ids.uid, 0);
	assert_int_equal(resolve1(sb->empty, "1000:1000", &ids, &err), 0);
	assert_int_equal(ids.uid, 1000);
	assert_int_equal(ids.gid, 1000);
	assert_int_equal(resolve1(sb->empty, "alice", &ids, &err), -1);
	if (resolve1(sb->empty, "", &ids, &err) < 0)
		fail_msg("default user in an image without /etc/passwd: %s", err.msg);
	assert_int_equal(ids.uid, 0);
	assert_int_equal(ids.gid, 0);
}

/* Make dir/hostile/etc/passwd (or etc itself) a symlink to target. */
static void hostile_link(const char *rel, const char *target)
{
	struct err err = { 0 };
	char *etc = xasprintf("%s/etc", sb->hostile);
	char *link = xasprintf("%s/%s", sb->hostile, rel);

	rm_rf(sb->hostile, &err);
	assert_int_equal(mkdir_p(etc, 0755, &err), 0);
	if (!strcmp(rel, "etc"))
		rmdir(etc);
	put(sb->hostile, "etc/group", "g:x:4322:\n");
	if (symlink(target, link) < 0)
		fail_msg("symlink %s: %s", link, strerror(errno));
	free(etc);
	free(link);
}

/* The host's file must not be read: "hostonly" stays unknown, and a bare uid
 * gets gid 0, not the host entry's 4322. */
static void expect_host_not_read(void)
{
	struct user_ids ids;
	struct err err;

	assert_int_equal(resolve1(sb->hostile, "hostonly", &ids, &err), -1);
	assert_int_equal(resolve1(sb->hostile, "4321", &ids, &err), 0);
	assert_int_equal(ids.uid, 4321);
	assert_int_equal(ids.gid, 0);
	if (resolve1(sb->hostile, "root", &ids, &err) == 0)
		assert_int_equal(ids.uid, 0);
}

static void test_symlink_escape(void **state)
{
	char *rel;

	hostile_link("etc/passwd", sb->marker);
	expect_host_not_read();
	rel = xasprintf("../../../../../../../..%s", sb->marker);
	hostile_link("etc/passwd", rel);
	expect_host_not_read();
	free(rel);
	rel = xasprintf("../..%s", sb->marker);
	hostile_link("etc/passwd", rel);
	expect_host_not_read();
	free(rel);
	/* /etc/shadow and the host's real passwd: inside the root they do not exist */
	hostile_link("etc/passwd", "/etc/shadow");
	expect_host_not_read();
	hostile_link("etc/passwd", "../../../../etc/passwd");
	expect_host_not_read();
	/* the magic links of /proc are refused too */
	hostile_link("etc/passwd", "/proc/self/root/etc/passwd");
	expect_host_not_read();
}

/* A hostile image whose /etc/passwd is a FIFO or /dev/zero must not hang the
 * engine (nor `exec -u`, which reads the running container's files). */
static void expect_returns(const char *what)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct user_ids ids;
		struct err err;

		alarm(5);
		resolve1(sb->hostile, "alice", &ids, &err);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("user_resolve with %s as /etc/passwd: killed by signal %d (hung)", what,
			 WTERMSIG(status));
	assert_true(WIFEXITED(status));
}

/* A fresh dir/hostile/etc; returns the path of its passwd (caller frees). */
static char *hostile_etc(void)
{
	struct err err = { 0 };
	char *etc = xasprintf("%s/etc", sb->hostile);

	rm_rf(sb->hostile, &err);
	assert_int_equal(mkdir_p(etc, 0755, &err), 0);
	free(etc);
	return xasprintf("%s/etc/passwd", sb->hostile);
}

static void test_passwd_directory(void **state)
{
	char *pw = hostile_etc();

	/* the read fails: the user is simply unknown */
	assert_int_equal(mkdir(pw, 0755), 0);
	expect_returns("a directory");
	free(pw);
}

static void test_passwd_fifo(void **state)
{
	char *pw = hostile_etc();

	assert_int_equal(mkfifo(pw, 0644), 0);
	expect_returns("a FIFO");
	free(pw);
}

static void test_passwd_char_device(void **state)
{
	char *pw = hostile_etc();

	if (mknod(pw, S_IFCHR | 0644, makedev(1, 5)) < 0) {
		free(pw);
		skip();
	}
	expect_returns("a char device 1:5 (/dev/zero)");
	free(pw);
}

static void test_long_lines(void **state)
{
	struct err err = { 0 };
	struct user_ids ids;
	/* a passwd line longer than the reader's buffer must not have its tail
	 * taken for an entry of its own */
	size_t pad = 3000;
	char *line = xmalloc(pad + 200);

	memset(line, 'a', pad);
	strcpy(line + pad, ":x:5:5::/:/bin/sh\n");
	{
		char *s = xasprintf("%sroot:x:0:0::/:/bin/sh\n", line);
		char *g = xasprintf("big:x:77:%s,mallory\n", line);

		rm_rf(sb->hostile, &err);
		put(sb->hostile, "etc/passwd", s);
		put(sb->hostile, "etc/group", g);
		assert_int_equal(resolve1(sb->hostile, "root", &ids, &err), 0);
		assert_int_equal(ids.uid, 0);
		free(s);
		free(g);
	}
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_ids),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_supplementary),
		cmocka_unit_test(test_group_add),
		cmocka_unit_test(test_supplementary_by_uid),
		cmocka_unit_test(test_layers),
		cmocka_unit_test(test_no_passwd_default_root),
		cmocka_unit_test(test_symlink_escape),
		cmocka_unit_test(test_passwd_directory),
		cmocka_unit_test(test_passwd_fifo),
		cmocka_unit_test(test_passwd_char_device),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_group_line_without_members),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
