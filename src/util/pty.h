/* Host ptys for a VM's terminals: the guest's own pty does the terminal's
 * work, so these only pass bytes (raw). */
#ifndef ISOBOX_PTY_H
#define ISOBOX_PTY_H

#include <stdbool.h>

#include "util/err.h"

/* A new pty: its master and its slave, both O_CLOEXEC, the slave raw. With
 * ctty the slave becomes the caller's controlling terminal, when the caller
 * can start a session (not a process group leader), so that the size the
 * master's holder sets reaches the caller as SIGWINCH. */
int pty_open_raw(int *master, int *slave, bool ctty, struct err *err);

#endif
