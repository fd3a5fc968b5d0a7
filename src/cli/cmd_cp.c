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
#include "util/cleanup.h"
#include "util/fs.h"

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
	return cp_archive_write(root_fd, a->src, a->follow, a->fd, err);
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

static int copy_out(struct container *c, struct cp_args *a, const char *dest)
{
	struct container_fs_job job = { .child_close = -1 };
	struct err err = { 0 };
	char abs[PATH_MAX], type = 0, parent[PATH_MAX];
	int data[2];
	struct stat sb;
	struct cp_stat dst = { 0 };
	struct cp_plan p;
	_cleanup_close_ int dir_fd = -1;

	if (!strcmp(dest, "-")) {
		a->fd = STDOUT_FILENO;
		if (container_fs_start(c, from_container, a, &job, &err) < 0 ||
		    container_fs_wait(&job, &err) < 0)
			return cp_fail(a->ctr_name, err.msg, &err);
		return 0;
	}
	if (dest[0] == '/')
		snprintf(abs, sizeof(abs), "%s", dest);
	else if (!getcwd(parent, sizeof(parent)) ||
		 snprintf(abs, sizeof(abs), "%s/%s", parent, dest) >= (int)sizeof(abs))
		return fprintf(stderr, "%s: path too long\n", dest), CP_FAIL;
	snprintf(parent, sizeof(parent), "%s", abs);
	while (strlen(parent) > 1 && ends_with(parent, "/"))
		parent[strlen(parent) - 1] = 0;
	dirname(parent);
	if (stat(parent, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "invalid output path: directory \"%s\" does not exist\n", parent);
		return CP_FAIL;
	}
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
	dst.exists = stat(abs, &sb) == 0;
	dst.is_dir = dst.exists && S_ISDIR(sb.st_mode);
	if (cp_plan_make(abs, &dst, a, &p, &err) == 0) {
		struct cp_extract x = { .dir = "", .keep_owner = true,
					.rebase_from = p.rebase ? p.from : NULL,
					.rebase_to = p.rebase ? p.to : NULL };

		dir_fd = open(p.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd < 0)
			err_sys(&err, errno, "%s", p.dir);
		else
			cp_archive_extract(dir_fd, data[0], &x, &err);
	}
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

static int copy_in(struct container *c, struct cp_args *a, const char *src)
{
	struct container_fs_job job = { .child_close = -1 };
	struct err err = { 0 }, werr = { 0 };
	_cleanup_free_ char *copy = NULL;
	_cleanup_close_ int parent_fd = -1;
	struct stat sb;
	int data[2];

	if (!strcmp(src, "-")) {
		a->src = NULL;
		a->fd = STDIN_FILENO;
		if (container_fs_start(c, to_container, a, &job, &err) < 0 ||
		    container_fs_wait(&job, &err) < 0)
			return cp_fail(a->ctr_name, err.msg, &err);
		return 0;
	}
	if ((a->follow ? stat(src, &sb) : lstat(src, &sb)) < 0) {
		char *abs = realpath(".", NULL);

		fprintf(stderr, "lstat %s%s%s: %s\n", src[0] == '/' ? "" : abs ?: "",
			src[0] == '/' ? "" : "/", src, strerror(errno));
		free(abs);
		return CP_FAIL;
	}
	a->src = src;
	a->src_dir = S_ISDIR(sb.st_mode);
	copy = xstrdup(src);
	parent_fd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent_fd < 0)
		return fprintf(stderr, "open %s: %s\n", copy, strerror(errno)), CP_FAIL;
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
		cp_archive_write(parent_fd, name, a->follow, data[1], &werr);
	}
	close(data[1]);
	if (container_fs_wait(&job, &err) < 0)
		return cp_fail(a->ctr_name, err.msg, &err);
	if (werr.kind)
		return fprintf(stderr, "%s\n", werr.msg), CP_FAIL;
	return 0;
}

static bool is_hyperv(const struct container *c)
{
	json_t *hc = json_object_get(c->record, "HostConfig");

	return !strcmp(json_string_value(json_object_get(hc, "Isolation")) ?: "", "hyperv");
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
		{ 0 },
	};
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
		case 'h': printf(CP_USAGE); return 0;
		default: fprintf(stderr, "\n" CP_USAGE); return CP_FAIL;
		}
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
	if (is_hyperv(&c)) {
		container_free(&c);
		fprintf(stderr, "isobox cp: hyperv containers are not supported yet (issue 15)\n");
		return ERR_RUNTIME;
	}
	if (src_ctr) {
		a.src = src;
		a.contents = is_contents(src);
		r = copy_out(&c, &a, dst);
	} else {
		a.dest = dst;
		a.contents = is_contents(src);
		r = copy_in(&c, &a, src);
	}
	container_free(&c);
	return r;
}
