/* File-system helpers shared by every layer. All fds are O_CLOEXEC. */
#ifndef ISOBOX_FS_H
#define ISOBOX_FS_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "err.h"

/* malloc'ed printf; aborts the process only on out-of-memory. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

int mkdir_p(const char *path, mode_t mode, struct err *err);
/* Remove a tree; a missing path is not an error. Does not cross mounts. */
int rm_rf(const char *path, struct err *err);

/* Read a whole file (NUL-terminated); fails above max bytes. */
int read_file(const char *path, size_t max, char **out, size_t *len, struct err *err);
/* write to PATH.tmp.PID, fsync, rename over PATH, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
		      struct err *err);
/* The same without fsync: readers never see half a file, but a crash may lose
 * the change. For container state, as runc and crun write theirs; what must
 * survive a crash (the image store) uses write_file_atomic. */
int write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
		       struct err *err);
/* Create a file that must not exist yet, in a directory nobody sees until the
 * caller publishes it (renames it into place). */
int write_file_new(const char *path, const void *data, size_t len, mode_t mode,
		   struct err *err);
int write_file(const char *path, const char *data, struct err *err);
/* write() until done or a real error (-1, errno set); EINTR is retried. */
int write_all(int fd, const void *data, size_t len);
/* len bytes, or fewer at EOF: the count, or -1 on error. */
ssize_t read_full(int fd, void *data, size_t len);
/* What is left on fd until its writer closes it, read and dropped: a writer
 * still padding its stream is not killed by a reader that stopped early. */
void read_to_end(int fd);

int json_load_path(const char *path, json_t **out, struct err *err);
int json_save_atomic(const char *path, json_t *j, struct err *err);
int json_save_replace(const char *path, json_t *j, struct err *err);

/* flock() a lock file (created if missing); returns the fd or -1.
 * With nonblock, a held lock fails with errno EWOULDBLOCK and err->errnum set. */
int lock_path(const char *path, int op, struct err *err);

/* Current time as RFC 3339 with nanoseconds, UTC ("2026-11-29T01:02:03.123456789Z"). */
void time_rfc3339(char *buf, size_t len);
/* Same for a given time. */
void time_rfc3339_ts(long long sec, long nsec, char *buf, size_t len);
/* Parse RFC 3339 (as produced above); returns -1 on a malformed string. */
int time_parse_rfc3339(const char *s, long long *sec, long *nsec);
/* "3 seconds ago", "About a minute ago", "2 hours ago", as docker prints. */
void time_human_ago(long long sec, char *buf, size_t len);
/* "10.5MB", "1.2GB" (decimal units, as docker prints sizes): 3 significant
 * digits (docker images, ps); _digits: that many (units.HumanSize: 4). */
void size_human(unsigned long long bytes, char *buf, size_t len);
void size_human_digits(unsigned long long bytes, int digits, char *buf, size_t len);

/* Parse "512m", "1g", "100k", "1024" into bytes. */
int parse_bytes(const char *s, long long *out);

#endif
