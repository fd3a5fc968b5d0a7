/* Private to runtime/: the monitor process. */
#ifndef ISOBOX_MONITOR_H
#define ISOBOX_MONITOR_H

#include <sys/types.h>

#include "runtime/runtime.h"

/* Fork the monitor; *status_fd reads its lines: "started PID", "error KIND MSG",
 * and with attach "exit CODE". */
int monitor_launch(const struct rt_start *rs, int *status_fd, pid_t *monitor_pid,
		   struct err *err);

#endif
