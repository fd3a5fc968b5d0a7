/* Signal names as docker takes them: "SIGTERM", "term", "15", "RTMIN+3". */
#ifndef ISOBOX_SIGNAL_H
#define ISOBOX_SIGNAL_H

#include <stdbool.h>

/* The signal number, or -1 when s names none. */
int signal_parse(const char *s);
/* Every signal back to its default action: a container's app starts as from
 * a fresh login, whatever its launcher ignored (a shell's background job
 * ignores SIGINT and SIGQUIT; nohup, SIGHUP). */
void signals_default(void);
/* True when sig's default action ends a process (not ignore, stop or continue). */
bool signal_ends(int sig);

#endif
