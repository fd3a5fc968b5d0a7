/* A path's lstat as one line of text (path_info.h). */
#include "util/path_info.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int path_info_print(FILE *out, const char *path)
{
	char link[PATH_MAX] = "";
	struct stat sb;

	if (lstat(path, &sb) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
		fputs("-", out);
		return 0;
	}
	if (S_ISLNK(sb.st_mode) && !realpath(path, link))
		link[0] = 0;                     /* dangling: no target */
	fprintf(out, "%c %o %lld %lld %ld\n%s",
		S_ISDIR(sb.st_mode) ? 'd' : S_ISLNK(sb.st_mode) ? 'l' : 'f', (unsigned)sb.st_mode,
		(long long)sb.st_size, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, link);
	return 0;
}

int path_info_parse(const char *text, struct path_info *pi)
{
	const char *nl = strchr(text, '\n');
	unsigned mode;
	char type;

	*pi = (struct path_info){ 0 };
	if (!strcmp(text, "-"))
		return 0;
	if (!nl || sscanf(text, "%c %o %lld %lld %ld", &type, &mode, &pi->size, &pi->mtime_sec,
			  &pi->mtime_nsec) != 5 || !strchr("dlf", type) || pi->size < 0 ||
	    pi->mtime_nsec < 0 || pi->mtime_nsec >= 1000000000L || strlen(nl + 1) >= PATH_MAX ||
	    strchr(nl + 1, '\n'))
		return -1;
	pi->exists = true;
	pi->mode = (mode_t)mode;
	if ((type == 'd') != S_ISDIR(pi->mode) || (type == 'l') != S_ISLNK(pi->mode))
		return -1;
	strcpy(pi->link, nl + 1);
	return 0;
}
