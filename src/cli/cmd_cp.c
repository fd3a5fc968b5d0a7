/* docker cp: files between a container and the host, or a tar on stdin/stdout.
 * docker's rules for the destination (an existing directory takes the source
 * inside it, a missing path becomes the source's copy, "SRC/." copies what is
 * in SRC), docker's messages and docker's exit code 1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/container.h"
#include "engine/container_fs.h"
#include "engine/cp_archive.h"
#include "engine/vm_cp.h"
#include "guest/cp_tool.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/path_info.h"

#define CP_FAIL 1
#define CP_USAGE "Usage:  isobox cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n" \
		 "\tisobox cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n"

struct cp_args {
	const char *ctr_name;       /* as typed, for messages */
	const char *src, *dest;     /* the paths (container's absolute) */
	bool follow, archive, src_dir, contents;
	int fd;                     /* the tar's pipe or stdin/stdout */
	bool header;                /* from a container: one byte, 'd' for a directory, first */
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* "SRC/." (or "/."-ended): copy what is in SRC, not SRC itself. */
static bool is_contents(const char *p)
{
	return ends_with(p, "/.") || !strcmp(p, ".");
}

static const char *last_name(const char *path, char *buf, size_t len)
{
	const char *end = path + strlen(path), *b;

	while (end > path && (end[-1] == '/' || (end[-1] == '.' && (end - 1 == path || end[-2] == '/'))))
		end--;
	for (b = end; b > path && b[-1] != '/'; b--)
		;
	snprintf(buf, len, "%.*s", (int)(end - b), b);
	return buf;
}

/* docker's destination rules; plan->dir the directory to unpack into. */
struct cp_plan {
	char dir[PATH_MAX];
	char from[NAME_MAX + 1], to[NAME_MAX + 1];
	bool rebase;
};

static int cp_plan_make(const char *dest, const struct cp_stat *dst, const struct cp_args *a,
			struct cp_plan *p, struct err *err)
{
	char tmp[PATH_MAX];

	*p = (struct cp_plan){ 0 };
	last_name(a->src, p->from, sizeof(p->from));
	if (dst->exists && dst->is_dir) {
		snprintf(p->dir, sizeof(p->dir), "%s", dest);
		p->rebase = a->contents;   /* to "": what is in SRC */
		return 0;
	}
	if (dst->exists && a->src_dir)
		return err_set(err, "cannot copy directory");
	if (!dst->exists && ends_with(dest, "/") && !a->src_dir)
		return err_set(err, "no such directory");
	snprintf(tmp, sizeof(tmp), "%s", dest);
	while (strlen(tmp) > 1 && ends_with(tmp, "/"))
		tmp[strlen(tmp) - 1] = 0;
	last_name(tmp, p->to, sizeof(p->to));
	snprintf(p->dir, sizeof(p->dir), "%s", dirname(tmp));
	p->rebase = true;
	return 0;
}

/* errnum ENOENT and the path alone: the CLI prints docker's message. */
static int not_found(struct err *err, const char *path)
{
	err_set(err, "%s", path);
	err->errnum = ENOENT;
	return -1;
}

/* In the container's child: the tar of the source. */
static int from_container(int root_fd, void *arg, struct err *err)
{
	struct cp_args *a = arg;
	struct cp_stat st;

	if (cp_path_stat(root_fd, a->src, a->follow, &st, err) < 0)
		return -1;
	if (!st.exists)
		return not_found(err, a->src);
	if (a->header && write_all(a->fd, st.is_dir ? "d" : "f", 1) < 0)
		return err_sys(err, errno, "write");
	return cp_archive_write(root_fd, a->src, a->follow, NULL, a->fd, err);
}

/* In the container's child: unpack the tar at the destination. */
static int to_container(int root_fd, void *arg, struct err *err)
{
	struct cp_args *a = arg;
	struct cp_stat st;
	struct cp_plan p;
	struct cp_extract x = { .keep_owner = a->archive };
	char parent[PATH_MAX];

	if (cp_path_stat(root_fd, a->dest, true, &st, err) < 0)
		return -1;
	if (!a->src) {  /* a tar on stdin: into an existing directory */
		if (!st.exists)
			return not_found(err, a->dest);
		if (!st.is_dir)
			return err_set(err, "extraction point is not a directory");
		x.dir = a->dest;
		return cp_archive_extract(root_fd, a->fd, &x, err);
	}
	if (cp_plan_make(a->dest, &st, a, &p, err) < 0)
		return -1;
	snprintf(parent, sizeof(parent), "%s", p.dir);
	if (cp_path_stat(root_fd, parent, true, &st, err) < 0)
		return -1;
	if (!st.exists)
		return not_found(err, parent);
	x.dir = p.dir;
	x.rebase_from = p.rebase ? p.from : NULL;
	x.rebase_to = p.rebase ? p.to : NULL;
	return cp_archive_extract(root_fd, a->fd, &x, err);
}

static int cp_fail(const char *ctr, const char *path, const struct err *err)
{
	if (err->errnum == ENOENT && !strcmp(err->msg, path))
		fprintf(stderr, "Error response from daemon: Could not find the file %s in container %s\n",
			path, ctr);
	else
		fprintf(stderr, "%s\n", err->msg);
	return CP_FAIL;
}

/* dest made absolute, its directory there (docker's check); -1 said why. */
static int out_path(const char *dest, char abs[PATH_MAX])
{
	char parent[PATH_MAX];
	struct stat sb;

	if (dest[0] == '/')
		snprintf(abs, PATH_MAX, "%s", dest);
	else if (!getcwd(parent, sizeof(parent)) ||
		 snprintf(abs, PATH_MAX, "%s/%s", parent, dest) >= PATH_MAX)
		return fprintf(stderr, "%s: path too long\n", dest), -1;
	snprintf(parent, sizeof(parent), "%s", abs);
	while (strlen(parent) > 1 && ends_with(parent, "/"))
		parent[strlen(parent) - 1] = 0;
	dirname(parent);
	if (stat(parent, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "invalid output path: directory \"%s\" does not exist\n", parent);
		return -1;
	}
	return 0;
}

/* The tar on fd unpacked at abs by docker's destination rules; tar_name:
 * the first name of its entries when it is not the source's own (a guest's
 * tar: "." for the root's, or what -L's symlink points to), else NULL. */
static int out_extract(const char *abs, const struct cp_args *a, const char *tar_name, int fd,
		       struct err *err)
{
	struct stat sb;
	struct cp_stat dst = { 0 };
	struct cp_plan p;
	_cleanup_close_ int dir_fd = -1;

	dst.exists = stat(abs, &sb) == 0;
	dst.is_dir = dst.exists && S_ISDIR(sb.st_mode);
	if (cp_plan_make(abs, &dst, a, &p, err) < 0)
		return -1;
	struct cp_extract x = { .dir = "", .keep_owner = true,
				.rebase_from = p.rebase ? p.from : NULL,
				.rebase_to = p.rebase ? p.to : NULL };

	if (tar_name) {
		x.rebase_from = strcmp(tar_name, ".") ? tar_name : NULL;
		x.rebase_to = p.rebase ? p.to : p.from;
	}
	dir_fd = open(p.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return err_sys(err, errno, "%s", p.dir);
	return cp_archive_extract(dir_fd, fd, &x, err);
}

static int copy_out(struct container *c, struct cp_args *a, const char *dest)
{
	struct container_fs_job job = { .child_close = -1 };
	struct err err = { 0 };
	char abs[PATH_MAX], type = 0;
	int data[2];

	if (!strcmp(dest, "-")) {
		a->fd = STDOUT_FILENO;
		if (container_fs_start(c, from_container, a, &job, &err) < 0 ||
		    container_fs_wait(&job, &err) < 0)
			return cp_fail(a->ctr_name, err.msg, &err);
		return 0;
	}
	if (out_path(dest, abs) < 0)
		return CP_FAIL;
	if (pipe2(data, O_CLOEXEC) < 0)
		return fprintf(stderr, "pipe: %s\n", strerror(errno)), CP_FAIL;
	a->fd = data[1];
	a->header = true;
	job.child_close = data[0];
	if (container_fs_start(c, from_container, a, &job, &err) < 0)
		return cp_fail(a->ctr_name, a->src, &err);
	close(data[1]);
	if (read_full(data[0], &type, 1) != 1) {
		close(data[0]);
		container_fs_wait(&job, &err);
		return cp_fail(a->ctr_name, err.msg, &err);
	}
	a->src_dir = type == 'd';
	if (out_extract(abs, a, NULL, data[0], &err) == 0)
		read_to_end(data[0]); /* libarchive stops at the end marker */
	close(data[0]);
	if (err.kind) {
		struct err ignore = { 0 };

		container_fs_wait(&job, &ignore);
		fprintf(stderr, "%s\n", err.msg);
		return CP_FAIL;
	}
	if (container_fs_wait(&job, &err) < 0)
		return cp_fail(a->ctr_name, err.msg, &err);
	return 0;
}

/* The host's source: there (docker's message if not), its kind in a; the
 * directory it is in, opened, or -1 said why. */
static int in_source(struct cp_args *a, const char *src)
{
	_cleanup_free_ char *copy = xstrdup(src);
	struct stat sb;
	int fd;

	if ((a->follow ? stat(src, &sb) : lstat(src, &sb)) < 0) {
		char *abs = realpath(".", NULL);

		fprintf(stderr, "lstat %s%s%s: %s\n", src[0] == '/' ? "" : abs ?: "",
			src[0] == '/' ? "" : "/", src, strerror(errno));
		free(abs);
		return -1;
	}
	a->src = src;
	a->src_dir = S_ISDIR(sb.st_mode);
	fd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "open %s: %s\n", copy, strerror(errno));
	return fd;
}

static int copy_in(struct container *c, struct cp_args *a, const char *src)
{
	struct container_fs_job job = { .child_close = -1 };
	struct err err = { 0 }, werr = { 0 };
	_cleanup_close_ int parent_fd = -1;
	int data[2];

	if (!strcmp(src, "-")) {
		a->src = NULL;
		a->fd = STDIN_FILENO;
		if (container_fs_start(c, to_container, a, &job, &err) < 0 ||
		    container_fs_wait(&job, &err) < 0)
			return cp_fail(a->ctr_name, err.msg, &err);
		return 0;
	}
	parent_fd = in_source(a, src);
	if (parent_fd < 0)
		return CP_FAIL;
	if (pipe2(data, O_CLOEXEC) < 0)
		return fprintf(stderr, "pipe: %s\n", strerror(errno)), CP_FAIL;
	a->fd = data[0];
	job.child_close = data[1];
	/* A child that refuses early closes the pipe: its message says why. */
	signal(SIGPIPE, SIG_IGN);
	if (container_fs_start(c, to_container, a, &job, &err) < 0)
		return cp_fail(a->ctr_name, a->dest, &err);
	close(data[0]);
	{
		char name[NAME_MAX + 1];

		last_name(src, name, sizeof(name));
		/* The host's own path: its symlinks are the user's, followed. */
		cp_archive_write(parent_fd, name, a->follow, NULL, data[1], &werr);
	}
	close(data[1]);
	if (container_fs_wait(&job, &err) < 0)
		return cp_fail(a->ctr_name, err.msg, &err);
	if (werr.kind)
		return fprintf(stderr, "%s\n", werr.msg), CP_FAIL;
	return 0;
}

/* A running hyperv container's files are its guest's: the guest's cp tools
 * (guest/cp_tool.h) answer over exec, the host side stays the same. */

/* A tool's failure: its missing path as docker says it, else what it said. */
static int vm_fail(const struct cp_args *a, const char *path, int code, struct err *err)
{
	if (code == CP_TOOL_MISSING)
		not_found(err, path);
	else if (code == CP_TOOL_NOT_DIR)
		err_set(err, "extraction point is not a directory");
	return cp_fail(a->ctr_name, path, err);
}

/* The guest's cp-stat: *type 'd', 'f' or '-' (missing). */
static int vm_stat(const struct container *c, const char *path, char *type, int *code,
		   struct err *err)
{
	const char *argv[] = { "cp-stat", path, "follow", NULL };
	struct vm_cp_job job = { .child_close = -1 };
	char buf[4] = "";
	ssize_t n;
	int out[2];

	*code = 0;
	if (pipe2(out, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	job.child_close = out[0];
	if (vm_cp_start(c, argv, -1, out[1], &job, err) < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	close(out[1]);
	n = read_full(out[0], buf, sizeof(buf) - 1);
	close(out[0]);
	if (vm_cp_wait(&job, code, err) < 0)
		return -1;
	if (n < 1 || !strchr("df-", buf[0]))
		return err_set(err, "the guest's cp-stat of %s answered nothing", path);
	*type = buf[0];
	return 0;
}

static int copy_out_vm(const struct container *c, struct cp_args *a, const char *dest)
{
	const char *argv[] = { "cp-out", a->src, a->follow ? "follow" : "nofollow", NULL };
	struct vm_cp_job job = { .child_close = -1 };
	struct err err = { 0 }, ignore = { 0 };
	char abs[PATH_MAX], line[NAME_MAX + 4], name[NAME_MAX + 1];
	size_t n = 0;
	int data[2], code = 0;

	if (strcmp(dest, "-") && out_path(dest, abs) < 0)
		return CP_FAIL;
	if (pipe2(data, O_CLOEXEC) < 0)
		return fprintf(stderr, "pipe: %s\n", strerror(errno)), CP_FAIL;
	job.child_close = data[0];
	if (vm_cp_start(c, argv, -1, data[1], &job, &err) < 0)
		return fprintf(stderr, "%s\n", err.msg), CP_FAIL;
	close(data[1]);
	/* "d NAME\n" or "f NAME\n", then the tar. */
	while (n < sizeof(line) - 1 && read(data[0], line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	if (n < 3 || line[1] != ' ' || !strchr("df", line[0])) {
		close(data[0]);
		if (vm_cp_wait(&job, &code, &err) < 0)
			return vm_fail(a, a->src, code, &err);
		return fprintf(stderr, "the guest's cp-out of %s answered nothing\n", a->src),
		       CP_FAIL;
	}
	a->src_dir = line[0] == 'd';
	snprintf(name, sizeof(name), "%.*s", NAME_MAX, line + 2);
	if (!strcmp(dest, "-")) {
		char want[NAME_MAX + 1];

		/* As the process backend writes it: named after the source. */
		last_name(a->src, want, sizeof(want));
		cp_archive_rename(data[0], STDOUT_FILENO, strcmp(name, ".") ? name : NULL,
				  *want ? want : NULL, &err);
	} else {
		out_extract(abs, a, name, data[0], &err);
	}
	if (!err.kind)
		read_to_end(data[0]); /* libarchive stops at the end marker */
	close(data[0]);
	if (vm_cp_wait(&job, &code, err.kind ? &ignore : &err) < 0 && !err.kind)
		return vm_fail(a, a->src, code, &err);
	if (err.kind)
		return fprintf(stderr, "%s\n", err.msg), CP_FAIL;
	return 0;
}

/* The tar on in_fd unpacked into dir in the guest; out_fd written by fill. */
static int copy_in_vm_run(const struct container *c, struct cp_args *a, const char *dir,
			  int parent_fd, const char *as)
{
	const char *argv[] = { "cp-in", dir, a->archive ? "owner" : "root", NULL };
	struct vm_cp_job job = { .child_close = -1 };
	struct err err = { 0 }, werr = { 0 };
	int data[2], code = 0;

	if (pipe2(data, O_CLOEXEC) < 0)
		return fprintf(stderr, "pipe: %s\n", strerror(errno)), CP_FAIL;
	job.child_close = data[1];
	signal(SIGPIPE, SIG_IGN);
	if (vm_cp_start(c, argv, data[0], -1, &job, &err) < 0)
		return fprintf(stderr, "%s\n", err.msg), CP_FAIL;
	close(data[0]);
	if (parent_fd < 0) {
		/* A tar from stdin: its names checked here, as the host would unpack it. */
		cp_archive_rename(STDIN_FILENO, data[1], NULL, NULL, &werr);
	} else {
		char name[NAME_MAX + 1];

		last_name(a->src, name, sizeof(name));
		cp_archive_write(parent_fd, name, a->follow, as, data[1], &werr);
	}
	close(data[1]);
	if (vm_cp_wait(&job, &code, &err) < 0)
		return vm_fail(a, dir, code, &err);
	if (werr.kind)
		return fprintf(stderr, "%s\n", werr.msg), CP_FAIL;
	return 0;
}

static int copy_in_vm(const struct container *c, struct cp_args *a, const char *src)
{
	_cleanup_close_ int parent_fd = -1;
	struct err err = { 0 };
	struct cp_stat st = { 0 };
	struct cp_plan p;
	char type;
	int code;

	if (!strcmp(src, "-")) {
		a->src = NULL;
		return copy_in_vm_run(c, a, a->dest, -1, NULL);
	}
	parent_fd = in_source(a, src);
	if (parent_fd < 0)
		return CP_FAIL;
	if (vm_stat(c, a->dest, &type, &code, &err) < 0)
		return vm_fail(a, a->dest, code, &err);
	st.exists = type != '-';
	st.is_dir = type == 'd';
	if (cp_plan_make(a->dest, &st, a, &p, &err) < 0)
		return fprintf(stderr, "%s\n", err.msg), CP_FAIL;
	if (vm_stat(c, p.dir, &type, &code, &err) < 0)
		return vm_fail(a, p.dir, code, &err);
	if (type == '-')
		return vm_fail(a, p.dir, CP_TOOL_MISSING, &err);
	return copy_in_vm_run(c, a, p.dir, parent_fd, p.rebase ? p.to : NULL);
}

/* isobox serve's stat of a path in a container (docker's HEAD .../archive):
 * the path's info as util/path_info.h prints it, on stdout. Looked at in
 * the container's root: the guest's tool in a running VM, else a child
 * chrooted there (a symlink's target resolves as the container sees it). */
static int info_in_root(int root_fd, void *arg, struct err *err)
{
	const char *path = arg;

	if (fchdir(root_fd) < 0 || chroot(".") < 0)
		return err_sys(err, errno, "enter the container's root");
	if (path_info_print(stdout, path) < 0)
		return err_sys(err, errno, "lstat %s", path);
	return fflush(stdout) == 0 ? 0 : err_sys(err, errno, "write");
}

static int path_info_cmd(struct container *c, const char *path)
{
	struct err err = { 0 };
	int code = 0;

	fflush(stdout);
	if (vm_cp_applies(c)) {
		const char *argv[] = { "cp-path-info", path, NULL };
		struct vm_cp_job job = { .child_close = -1 };

		if (vm_cp_start(c, argv, -1, STDOUT_FILENO, &job, &err) < 0 ||
		    vm_cp_wait(&job, &code, &err) < 0)
			return fprintf(stderr, "%s\n", err.msg), CP_FAIL;
	} else {
		struct container_fs_job job = { .child_close = -1 };

		if (container_fs_start(c, info_in_root, (void *)path, &job, &err) < 0 ||
		    container_fs_wait(&job, &err) < 0)
			return fprintf(stderr, "%s\n", err.msg), CP_FAIL;
	}
	return 0;
}

/* docker's splitCpArg: an absolute path is local; else "CONTAINER:PATH". */
static char *split_arg(char *arg, char **path)
{
	char *colon = arg[0] == '/' ? NULL : strchr(arg, ':');

	if (!colon) {
		*path = arg;
		return NULL;
	}
	*colon = 0;
	*path = colon + 1;
	return arg;
}

int cmd_cp(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "archive", no_argument, NULL, 'a' },     { "follow-link", no_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' },       { "help", no_argument, NULL, 'h' },
		{ "path-info", no_argument, NULL, 'I' },   /* isobox serve's; not in the usage */
		{ 0 },
	};
	bool info = false;
	struct cp_args a = { 0 };
	struct container c = { 0 };
	struct err err = { 0 };
	char *src_ctr, *dst_ctr, *src, *dst;
	int opt, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+aLqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': a.archive = true; break;
		case 'L': a.follow = true; break;
		case 'q': break;   /* docker prints progress only to a terminal; isobox never */
		case 'I': info = true; break;
		case 'h': printf(CP_USAGE); return 0;
		default: fprintf(stderr, "\n" CP_USAGE); return CP_FAIL;
		}
	}
	if (info && argc - optind == 1 && (src_ctr = split_arg(argv[optind], &src))) {
		if (container_find(cli->root, src_ctr, &c, &err) < 0)
			return fprintf(stderr, "Error response from daemon: %s\n", err.msg), CP_FAIL;
		r = path_info_cmd(&c, src);
		container_free(&c);
		return r;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "isobox: 'isobox cp' requires 2 arguments\n\n" CP_USAGE
			"\nRun 'isobox cp --help' for more information\n");
		return CP_FAIL;
	}
	src_ctr = split_arg(argv[optind], &src);
	dst_ctr = split_arg(argv[optind + 1], &dst);
	if (!src_ctr && !dst_ctr)
		return fprintf(stderr, "must specify at least one container source\n"), CP_FAIL;
	if (src_ctr && dst_ctr)
		return fprintf(stderr, "copying between containers is not supported\n"), CP_FAIL;
	a.ctr_name = src_ctr ?: dst_ctr;
	if (container_find(cli->root, a.ctr_name, &c, &err) < 0) {
		fprintf(stderr, "Error response from daemon: %s\n", err.msg);
		return CP_FAIL;
	}
	a.contents = is_contents(src);
	if (src_ctr) {
		a.src = src;
		r = vm_cp_applies(&c) ? copy_out_vm(&c, &a, dst) : copy_out(&c, &a, dst);
	} else {
		a.dest = dst;
		r = vm_cp_applies(&c) ? copy_in_vm(&c, &a, src) : copy_in(&c, &a, src);
	}
	container_free(&c);
	return r;
}
