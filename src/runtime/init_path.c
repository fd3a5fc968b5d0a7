/* Where isobox-init is. A file of its own: the monitor and the OCI runtime
 * both need it, and neither should call into runtime.c for it. */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/libexec.h"

int rt_init_path(char *buf, size_t len, struct err *err)
{
	const char *env = getenv("ISOBOX_INIT");

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	return libexec_find("isobox-init", buf, len, err);
}
