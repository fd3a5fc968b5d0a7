#include "util/signal.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int signal_parse(const char *s)
{
	const char *name;
	char *end;
	long v;
	int i;

	if (!s || !*s)
		return -1;
	name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	if (isdigit((unsigned char)*s)) {
		v = strtol(s, &end, 10);
		return *end || v < 1 || v > SIGRTMAX ? -1 : (int)v;
	}
	for (i = 1; i < SIGRTMIN; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcasecmp(abbrev, name))
			return i;
	}
	if (!strncasecmp(name, "RTMIN+", 6) || !strncasecmp(name, "RTMAX-", 6)) {
		v = strtol(name + 6, &end, 10);
		if (*end || end == name + 6 || v < 0 || v > SIGRTMAX - SIGRTMIN)
			return -1;
		return toupper((unsigned char)name[4]) == 'N' ? SIGRTMIN + (int)v
							      : SIGRTMAX - (int)v;
	}
	return -1;
}

bool signal_ends(int sig)
{
	return sig > 0 && sig != SIGCHLD && sig != SIGCONT && sig != SIGURG && sig != SIGWINCH &&
	       sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU;
}

void signals_default(void)
{
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
}
