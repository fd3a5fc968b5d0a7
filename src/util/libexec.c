#include "util/libexec.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int libexec_find(const char *name, char *buf, size_t len, struct err *err)
{
	static const char *const dirs[] = { "", "/../libexec/isobox", "/../scripts" };
	const char *env = getenv("ISOBOX_LIBEXEC");
	char self[PATH_MAX];
	ssize_t n;
	size_t i;

	if (env && *env) {
		snprintf(buf, len, "%s/%s", env, name);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return err_sys(err, errno, "readlink /proc/self/exe");
	self[n] = '\0';
	dirname(self);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s%s/%s", self, dirs[i], name);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return err_set(err, "%s not found beside %s or in ../libexec/isobox: reinstall isobox "
		       "or set ISOBOX_LIBEXEC", name, self);
}
