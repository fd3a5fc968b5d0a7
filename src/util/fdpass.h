/* Passing one file descriptor over a unix socket (SCM_RIGHTS). */
#ifndef ISOBOX_FDPASS_H
#define ISOBOX_FDPASS_H

int fd_send(int sock, int fd);
/* Returns the received fd (O_CLOEXEC) or -1 with errno set. */
int fd_recv(int sock);

#endif
