#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "util/cleanup.h"
#include "util/fs.h"
#include "util/sha256.h"

int digest_init(struct digest *d, struct err *err)
{
	d->ctx = xmalloc(sizeof(struct sha256));
	sha256_begin(d->ctx);
	return 0;
}

void digest_update(struct digest *d, const void *data, size_t len)
{
	if (d->ctx && len)
		sha256_add(d->ctx, data, len);
}

int digest_final(struct digest *d, char out[DIGEST_STR_LEN], struct err *err)
{
	char hex[SHA256_HEX_LEN + 1];

	if (!d->ctx)
		return err_set(err, "sha256: digest not started");
	sha256_end_hex(d->ctx, hex);
	digest_free(d);
	snprintf(out, DIGEST_STR_LEN, "%s%s", DIGEST_PREFIX, hex);
	return 0;
}

void digest_free(struct digest *d)
{
	free(d->ctx);
	d->ctx = NULL;
}

int digest_buffer(const void *data, size_t len, char out[DIGEST_STR_LEN], struct err *err)
{
	struct digest d;

	if (digest_init(&d, err) < 0)
		return -1;
	digest_update(&d, data, len);
	return digest_final(&d, out, err);
}

bool digest_valid(const char *s)
{
	size_t n = strlen(DIGEST_PREFIX), i;

	if (!s || strncmp(s, DIGEST_PREFIX, n) != 0 || strlen(s) != n + DIGEST_HEX_LEN)
		return false;
	for (i = n; s[i]; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

const char *digest_hex(const char *digest)
{
	return digest + strlen(DIGEST_PREFIX);
}

char *blob_path(const char *root, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", root, digest_hex(digest));
}

int blob_put(const char *root, const void *data, size_t len, char **digest_out,
	     struct err *err)
{
	char digest[DIGEST_STR_LEN];
	_cleanup_free_ char *dir = xasprintf("%s/blobs/sha256", root);
	_cleanup_free_ char *path = NULL;

	if (digest_buffer(data, len, digest, err) < 0)
		return -1;
	path = blob_path(root, digest);
	if (access(path, F_OK) < 0) {
		if (mkdir_p(dir, 0755, err) < 0)
			return -1;
		if (write_file_atomic(path, data, len, 0644, err) < 0)
			return -1;
	}
	*digest_out = xstrdup(digest);
	return 0;
}

int blob_put_json(const char *root, json_t *j, char **digest_out, size_t *size,
		  struct err *err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);

	if (!s)
		return err_set(err, "encode JSON blob");
	*size = strlen(s);
	return blob_put(root, s, *size, digest_out, err);
}

int blob_get(const char *root, const char *digest, size_t max, char **data, size_t *len,
	     struct err *err)
{
	char actual[DIGEST_STR_LEN];
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;

	if (!digest_valid(digest))
		return err_set(err, "invalid digest '%s'", digest ? digest : "");
	path = blob_path(root, digest);
	if (read_file(path, max, &buf, &n, err) < 0)
		return err_wrap(err, "blob %s", digest);
	if (digest_buffer(buf, n, actual, err) < 0)
		return -1;
	if (strcmp(actual, digest) != 0)
		return err_set(err, "blob %s is corrupt (its content hashes to %s): "
			       "remove the image and import it again", digest, actual);
	*data = take_ptr(&buf);
	if (len)
		*len = n;
	return 0;
}
