/* Unix stream sockets by path. A path longer than sun_path allows (container
 * directories under a deep --root) is reached through its directory's
 * /proc/self/fd entry. */
#ifndef ISOBOX_UNIXSOCK_H
#define ISOBOX_UNIXSOCK_H

#include "util/err.h"

/* A listening socket at path (a stale one is replaced), mode 0600. */
int unix_listen(const char *path, struct err *err);
/* A connection to path; err->errnum is ENOENT or ECONNREFUSED when nobody
 * listens there. */
int unix_connect(const char *path, struct err *err);

#endif
