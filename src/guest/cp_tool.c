/* docker cp in a VM, the guest's side: a path looked at, then busybox's tar. */
#include "cp_tool.h"
#include "util/path_info.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void __attribute__((noreturn)) fail(int code, const char *what, const char *path)
{
	fprintf(stderr, "%s %s: %s\n", what, path, strerror(errno));
	_exit(code);
}

static bool missing(void)
{
	return errno == ENOENT || errno == ENOTDIR;
}

/* path without its trailing "/" and "/." ("/" stays); *trailing: there were some. */
static void path_trim(const char *in, char out[PATH_MAX], bool *trailing)
{
	size_t n;

	snprintf(out, PATH_MAX, "%s", in);
	n = strlen(out);
	*trailing = false;
	while (n > 1 && (out[n - 1] == '/' || (out[n - 1] == '.' && out[n - 2] == '/'))) {
		out[--n] = 0;
		*trailing = true;
	}
}

static void __attribute__((noreturn)) busybox_exec(int busybox_fd, char **argv)
{
	if (busybox_fd < 0) {
		fprintf(stderr, "the guest has no %s (%s): install busybox-static on the host "
			"and run `isobox kernel install` again\n", argv[0], CP_TOOL_BUSYBOX);
		_exit(125);
	}
	fexecve(busybox_fd, argv, (char *[]){ "PATH=/bin", NULL });
	fail(125, "exec", CP_TOOL_BUSYBOX);
}

static void __attribute__((noreturn)) cp_stat(const char *path, bool follow)
{
	struct stat sb;

	if ((follow ? stat(path, &sb) : lstat(path, &sb)) < 0) {
		if (!missing())
			fail(125, "stat", path);
		fputs("-", stdout);
	} else {
		fputs(S_ISDIR(sb.st_mode) ? "d" : "f", stdout);
	}
	fflush(stdout);
	_exit(0);
}

static void __attribute__((noreturn)) cp_out(const char *in, bool follow, int busybox_fd)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;
	const char *name;
	bool trailing;
	struct stat sb;

	path_trim(in, path, &trailing);
	if ((follow || trailing ? stat(path, &sb) : lstat(path, &sb)) < 0)
		missing() ? _exit(CP_TOOL_MISSING) : fail(125, "stat", path);
	/* -L follows the last symlink: the tar holds what it points to. */
	if ((follow || trailing) && !realpath(path, real))
		missing() ? _exit(CP_TOOL_MISSING) : fail(125, "resolve", path);
	if (!(follow || trailing))
		snprintf(real, sizeof(real), "%s", path);
	if (!strcmp(real, "/")) {
		name = ".";
		if (chdir("/") < 0)
			fail(125, "chdir", "/");
	} else {
		slash = strrchr(real, '/');
		name = slash + 1;
		*slash = 0;
		if (chdir(*real ? real : "/") < 0)
			missing() ? _exit(CP_TOOL_MISSING) : fail(125, "chdir", real);
	}
	printf("%c %s\n", S_ISDIR(sb.st_mode) ? 'd' : 'f', name);
	fflush(stdout);
	{
		char arg[NAME_MAX + 3];

		/* "./NAME": a name that starts with '-' is not an option. */
		snprintf(arg, sizeof(arg), "./%s", strcmp(name, ".") ? name : "");
		busybox_exec(busybox_fd, (char *[]){ "tar", "-cf", "-", arg, NULL });
	}
}

static void __attribute__((noreturn)) cp_in(const char *dir, bool keep_owner, int busybox_fd)
{
	struct stat sb;

	if (stat(dir, &sb) < 0)
		missing() ? _exit(CP_TOOL_MISSING) : fail(125, "stat", dir);
	if (!S_ISDIR(sb.st_mode))
		_exit(CP_TOOL_NOT_DIR);
	if (chdir(dir) < 0)
		fail(125, "chdir", dir);
	umask(0);
	busybox_exec(busybox_fd, (char *[]){ "tar", "-xf", "-", keep_owner ? "--numeric-owner" : "-o",
					 NULL });
}

void cp_tool_run(char **argv, int busybox_fd)
{
	int n = 0;

	while (argv[n])
		n++;
	if (n == 3 && !strcmp(argv[0], "cp-stat"))
		cp_stat(argv[1], !strcmp(argv[2], "follow"));
	if (n == 3 && !strcmp(argv[0], "cp-out"))
		cp_out(argv[1], !strcmp(argv[2], "follow"), busybox_fd);
	if (n == 3 && !strcmp(argv[0], "cp-in"))
		cp_in(argv[1], !strcmp(argv[2], "owner"), busybox_fd);
	if (n >= 1 && !strcmp(argv[0], "ps"))
		busybox_exec(busybox_fd, argv);
	if (n == 2 && !strcmp(argv[0], "cp-path-info")) {
		if (path_info_print(stdout, argv[1]) < 0)
			fail(125, "lstat", argv[1]);
		fflush(stdout);
		_exit(0);
	}
	fprintf(stderr, "isobox-init: no such tool: %s\n", n ? argv[0] : "(none)");
	_exit(125);
}
