/* Signal names as docker takes them: "SIGTERM", "term", "15", "RTMIN+3". */
#ifndef ISOBOX_SIGNAL_H
#define ISOBOX_SIGNAL_H

#include <stdbool.h>

/* The signal number, or -1 when s names none. */
int signal_parse(const char *s);
/* True when sig's default action ends a process (not ignore, stop or continue). */
bool signal_ends(int sig);

#endif
