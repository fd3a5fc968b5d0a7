/* libFuzzer: user_resolve against a hostile image's /etc/passwd and /etc/group.
 * Input: USER[:GROUP] spec, NUL, passwd content, NUL, group content. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/user.h"
#include "util/fs.h"

static char root[64] = "/tmp/isobox_fuzz_user.XXXXXX";
static char *passwd_path, *group_path;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_user: %s: %s\n", what, strerror(errno));
	abort();
}

static void root_remove(void)
{
	struct err err;

	rm_rf(root, &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *etc;

	if (!mkdtemp(root))
		die("mkdtemp");
	atexit(root_remove);
	etc = xasprintf("%s/etc", root);
	if (mkdir(etc, 0755) < 0)
		die(etc);
	free(etc);
	passwd_path = xasprintf("%s/etc/passwd", root);
	group_path = xasprintf("%s/etc/group", root);
	return 0;
}

/* The next NUL-terminated piece of data (the rest when there is no NUL). */
static const uint8_t *piece(const uint8_t **data, size_t *size, size_t *len)
{
	const uint8_t *p = *data, *nul = memchr(p, 0, *size);

	*len = nul ? (size_t)(nul - p) : *size;
	*data += nul ? *len + 1 : *len;
	*size -= nul ? *len + 1 : *len;
	return p;
}

static void put(const char *path, const uint8_t *data, size_t len)
{
	struct err err;

	if (write_file_replace(path, data, len, 0644, &err) < 0)
		die(err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *roots[] = { root };
	struct user_ids ids;
	struct err err = { 0 };
	const uint8_t *p;
	size_t len;
	char *spec;

	p = piece(&data, &size, &len);
	spec = strndup((const char *)p, len);
	if (!spec)
		die("strndup");
	p = piece(&data, &size, &len);
	put(passwd_path, p, len);
	p = piece(&data, &size, &len);
	put(group_path, p, len);
	if (user_resolve(roots, 1, spec, &ids, &err) == 0) {
		if (ids.n_gids > sizeof(ids.gids) / sizeof(ids.gids[0]))
			__builtin_trap();
	} else if (!err.msg[0]) {
		__builtin_trap();
	}
	free(spec);
	return 0;
}
