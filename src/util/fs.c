#include "fs.h"

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		fputs("isobox: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("isobox: out of memory\n", stderr);
		abort();
	}
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p) {
		fputs("isobox: out of memory\n", stderr);
		abort();
	}
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		fputs("isobox: out of memory\n", stderr);
		abort();
	}
	return s;
}

int mkdir_p(const char *path, mode_t mode, struct err *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	char *s;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return err_sys(err, errno, "create directory %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return err_sys(err, errno, "create directory %s", p);
	return 0;
}

static int rm_rf_at(int dfd, const char *name, dev_t dev, struct err *err)
{
	struct stat st;
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *de;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "stat %s", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return err_sys(err, errno, "remove %s", name);
		return 0;
	}
	if (st.st_dev != dev)
		return err_set(err, "refusing to remove %s: it is a mount point", name);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", name);
	d = fdopendir(fd);
	if (!d)
		return err_sys(err, errno, "open %s", name);
	fd = -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rm_rf_at(dirfd(d), de->d_name, dev, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return err_sys(err, errno, "remove %s", name);
	return 0;
}

int rm_rf(const char *path, struct err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "stat %s", path);
	return rm_rf_at(AT_FDCWD, path, st.st_dev, err);
}

int read_file(const char *path, size_t max, char **out, size_t *len, struct err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, n = 0;
	ssize_t r;

	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap >= max)
				return err_set(err, "%s is larger than %zu bytes", path, max);
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				return err_sys(err, ENOMEM, "read %s", path);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(err, errno, "read %s", path);
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = take_ptr(&buf);
	return 0;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t r = write(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		len -= r;
	}
	return 0;
}

ssize_t read_full(int fd, void *data, size_t len)
{
	char *p = data;
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

void read_to_end(int fd)
{
	char buf[65536];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		;
}

static int write_file_rename(const char *path, const void *data, size_t len, mode_t mode,
			     bool durable, struct err *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, getpid());
	_cleanup_free_ char *dir = xstrdup(path);
	_cleanup_close_ int fd = -1;
	_cleanup_close_ int dfd = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_sys(err, errno, "create %s", tmp);
	if (write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
		int e = errno;
		unlink(tmp);
		return err_sys(err, e, "write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return err_sys(err, e, "rename %s", tmp);
	}
	if (!durable)
		return 0;
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
		      struct err *err)
{
	return write_file_rename(path, data, len, mode, true, err);
}

int write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
		       struct err *err)
{
	return write_file_rename(path, data, len, mode, false, err);
}

int write_file_new(const char *path, const void *data, size_t len, mode_t mode,
		   struct err *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0)
		return err_sys(err, errno, "create %s", path);
	if (write_all(fd, data, len) < 0)
		return err_sys(err, errno, "write %s", path);
	return 0;
}

int write_file(const char *path, const char *data, struct err *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	if (write_all(fd, data, strlen(data)) < 0)
		return err_sys(err, errno, "write '%s' to %s", data, path);
	return 0;
}

int json_load_path(const char *path, json_t **out, struct err *err)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);

	if (!j) {
		if (access(path, F_OK) < 0)
			return err_sys(err, errno, "open %s", path);
		return err_set(err, "%s: line %d: %s", path, je.line, je.text);
	}
	*out = j;
	return 0;
}

int json_save_atomic(const char *path, json_t *j, struct err *err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);

	if (!s)
		return err_set(err, "encode %s", path);
	return write_file_atomic(path, s, strlen(s), 0600, err);
}

int json_save_replace(const char *path, json_t *j, struct err *err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);

	if (!s)
		return err_set(err, "encode %s", path);
	return write_file_replace(path, s, strlen(s), 0600, err);
}

int lock_path(const char *path, int op, struct err *err)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return err_sys(err, errno, "open lock %s", path);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		return err_sys(err, errno, "lock %s", path);
	}
	return take_fd(&fd);
}

void time_rfc3339_ts(long long sec, long nsec, char *buf, size_t len)
{
	struct tm tm;
	time_t t = sec;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", base, nsec);
}

void time_rfc3339(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	time_rfc3339_ts(ts.tv_sec, ts.tv_nsec, buf, len);
}

int time_parse_rfc3339(const char *s, long long *sec, long *nsec)
{
	struct tm tm = { 0 };
	const char *p;
	long ns = 0;
	int digits = 0;

	if (!s)
		return -1;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 9)
				ns = ns * 10 + (*p - '0');
		for (; digits < 9; digits++)
			ns *= 10;
	}
	*sec = timegm(&tm);
	*nsec = ns;
	return 0;
}

/* go-units' HumanDuration, as docker prints CREATED. */
void time_human_ago(long long sec, char *buf, size_t len)
{
	long long d = (long long)time(NULL) - sec;
	long long hours = (d + 1800) / 3600;

	if (d < 1)
		snprintf(buf, len, "Less than a second ago");
	else if (d < 60)
		snprintf(buf, len, "%lld second%s ago", d, d == 1 ? "" : "s");
	else if (d < 120)
		snprintf(buf, len, "About a minute ago");
	else if (d < 3600)
		snprintf(buf, len, "%lld minutes ago", d / 60);
	else if (hours == 1)
		snprintf(buf, len, "About an hour ago");
	else if (hours < 48)
		snprintf(buf, len, "%lld hours ago", hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, len, "%lld days ago", hours / 24);
	else if (hours < 24 * 30 * 2)
		snprintf(buf, len, "%lld weeks ago", hours / 24 / 7);
	else if (hours < 24 * 365 * 2)
		snprintf(buf, len, "%lld months ago", hours / 24 / 30);
	else
		snprintf(buf, len, "%lld years ago", d / 3600 / 24 / 365);
}

void size_human_digits(unsigned long long bytes, int digits, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", bytes);
	else
		snprintf(buf, len, "%.*g%s", digits, v, units[u]);
}

void size_human(unsigned long long bytes, char *buf, size_t len)
{
	size_human_digits(bytes, 3, buf, len);
}

int parse_bytes(const char *s, long long *out)
{
	char *end;
	long long v;
	long long mul = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'b': mul = 1; break;
	case 'k': mul = 1LL << 10; break;
	case 'm': mul = 1LL << 20; break;
	case 'g': mul = 1LL << 30; break;
	default: return -1;
	}
	if (*end) {
		end++;
		if (tolower((unsigned char)*end) == 'b' && mul > 1)
			end++;
		if (*end)
			return -1;
	}
	if (v > (1LL << 62) / mul)
		return -1;
	*out = v * mul;
	return 0;
}
