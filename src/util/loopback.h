/* Bring up "lo" in the calling process's network namespace: runc does it in
 * every network namespace it creates, and docker's --network none has it, so
 * an app reaches 127.0.0.1 (and localhost through /etc/hosts). */
#ifndef ISOBOX_UTIL_LOOPBACK_H
#define ISOBOX_UTIL_LOOPBACK_H

/* 0, or -1 with errno set. */
int loopback_up(void);

#endif
