#include "app.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

extern char **environ;

static int exec_status(int errnum)
{
	return errnum == ENOENT || errnum == ENOTDIR ? 127 : 126;
}

static int parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xfffffffeUL)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* In a passwd or group file: the entry with this name or number, its third
 * field as the id and, for passwd, its fourth as gid. Lines are read whole:
 * the tail of a long one read on its own would pass for an entry. */
static int file_lookup(const char *path, const char *name, unsigned *id, unsigned *gid)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int found = -1;

	while (f && found < 0 && getline(&line, &cap, f) >= 0) {
		char *field[4] = { 0 }, *p = line;
		int i;

		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < 4 && p; i++) {
			field[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (i < 3 || (strcmp(field[0], name) && strcmp(field[2], name)) ||
		    parse_id(field[2], id) < 0)
			continue;
		if (gid && (!field[3] || parse_id(field[3], gid) < 0))
			continue;
		found = 0;
	}
	free(line);
	if (f)
		fclose(f);
	return found;
}

int app_user_lookup(const char *spec, const char *passwd, const char *group, unsigned *uid,
		    unsigned *gid)
{
	char buf[256], *colon;
	unsigned pw_gid = 0;

	if (strlen(spec) >= sizeof(buf) || !*spec)
		return -1;
	strcpy(buf, spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	/* A number need not be in passwd: its group is then root's, as docker. */
	if (file_lookup(passwd, buf, uid, &pw_gid) < 0 && parse_id(buf, uid) < 0)
		return -1;
	*gid = pw_gid;
	if (colon && parse_id(colon, gid) < 0 && file_lookup(group, colon, gid, NULL) < 0)
		return -1;
	return 0;
}

void app_exec(const struct app *a)
{
	char **argv = a->argv;
	unsigned uid = a->uid, gid = a->gid;
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (a->tty) {
		setsid();
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
	} else {
		setpgid(0, 0);
	}
	if (a->user && app_user_lookup(a->user, "/etc/passwd", "/etc/group", &uid, &gid) < 0) {
		fprintf(stderr, "isobox: unable to find user %s: no matching entries in passwd "
			"file\n", a->user);
		_exit(125);
	}
	if ((a->set_ids || a->user) &&
	    (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)) {
		perror("isobox: set the container's user");
		_exit(125);
	}
	if (a->envp)
		environ = a->envp;
	execvp(argv[0], argv);
	if (errno == ENOENT && !strchr(argv[0], '/'))
		fprintf(stderr, "isobox: exec: \"%s\": executable file not found in $PATH\n",
			argv[0]);
	else
		fprintf(stderr, "isobox: exec: \"%s\": %s\n", argv[0], strerror(errno));
	_exit(exec_status(errno));
}
