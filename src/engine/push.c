/* isobox push (see push.h). The store's index.json says which manifest a
 * name:tag is and which other repositories of a registry an image came from
 * or was pushed to (its tags and RepoDigests): those are the mount sources. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/push.h"
#include "engine/digest.h"
#include "engine/host_config.h"
#include "engine/image.h"
#include "engine/manifest.h"
#include "engine/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define REF_ANNOTATION "org.opencontainers.image.ref.name"
#define REPO_DIGEST_ANNOTATION "io.isobox.repo.digest"
#define CONFIG_MAX_BYTES (8u << 20)

/* One manifest of the store under one name. */
struct push_entry {
	char *name;          /* familiar name, "127.0.0.1:5000/busybox" */
	char *tag;           /* or NULL (a RepoDigests entry) */
	char digest[DIGEST_STR_LEN];
};

struct push_job {
	const char *root;
	struct registry *reg;
	struct registry_ref ref;      /* domain and path pushed to */
	char *name;                   /* familiar name */
	struct push_entry *entries;   /* everything index.json names */
	size_t n_entries;
	const struct push_progress *p;
	bool retryable;               /* the last blob failure may be tried again */
};

static void entries_free(struct push_job *j)
{
	for (size_t i = 0; i < j->n_entries; i++) {
		free(j->entries[i].name);
		free(j->entries[i].tag);
	}
	free(j->entries);
	j->entries = NULL;
	j->n_entries = 0;
}

static void entry_add(struct push_job *j, const char *name, const char *tag, const char *digest)
{
	struct push_entry *e;

	j->entries = xrealloc(j->entries, sizeof(*e) * (j->n_entries + 1));
	e = &j->entries[j->n_entries++];
	e->name = xstrdup(name);
	e->tag = tag ? xstrdup(tag) : NULL;
	snprintf(e->digest, sizeof(e->digest), "%s", digest);
}

/* index.json's names: "name:tag" refs and "name@sha256:..." repo digests. */
static int entries_load(struct push_job *j, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", j->root);
	_cleanup_json_ json_t *index = NULL;
	json_t *d;
	size_t i;

	if (access(path, F_OK) < 0)
		return 0;
	if (json_load_path(path, &index, err) < 0)
		return -1;
	json_array_foreach(json_object_get(index, "manifests"), i, d) {
		const char *digest = json_string_value(json_object_get(d, "digest"));
		json_t *ann = json_object_get(d, "annotations");
		const char *ref = json_string_value(json_object_get(ann, REF_ANNOTATION));
		const char *rd = json_string_value(json_object_get(ann, REPO_DIGEST_ANNOTATION));

		if (!digest || !digest_valid(digest))
			continue;
		if (ref) {
			_cleanup_free_ char *name = NULL, *tag = NULL;

			image_ref_split(ref, &name, &tag);
			entry_add(j, name, tag, digest);
		}
		if (rd && strchr(rd, '@')) {
			_cleanup_free_ char *name = strndup(rd, strcspn(rd, "@"));

			entry_add(j, name, NULL, digest);
		}
	}
	return 0;
}

static int manifest_load(const char *root, const char *digest, char **data, size_t *len,
			 struct manifest *m, struct err *err)
{
	if (blob_get(root, digest, MANIFEST_MAX_BYTES, data, len, err) < 0)
		return err_wrap(err, "manifest %s", digest);
	if (manifest_parse(*data, *len, NULL, m, err) < 0)
		return err_wrap(err, "manifest %s", digest);
	if (m->kind != MANIFEST_IMAGE)
		return err_set(err, "manifest %s is an index: isobox pushes image manifests only",
			       digest);
	return 0;
}

/* Another repository of this registry whose image in the store has blob:
 * the registry has it there too, as that image came from or went to it. */
static char *mount_source(struct push_job *j, const char *blob)
{
	for (size_t i = 0; i < j->n_entries; i++) {
		struct push_entry *e = &j->entries[i];
		struct registry_ref r;
		struct err err = { 0 };
		struct manifest m = { 0 };
		_cleanup_free_ char *data = NULL;
		size_t len;
		bool has = false;

		if (!strcmp(e->name, j->name))
			continue;
		if (registry_ref_parse(e->name, &r, &err) < 0)
			continue;
		if (strcmp(r.domain, j->ref.domain) || !strcmp(r.path, j->ref.path) ||
		    manifest_load(j->root, e->digest, &data, &len, &m, &err) < 0) {
			registry_ref_free(&r);
			continue;
		}
		has = !strcmp(m.config.digest, blob);
		for (size_t k = 0; k < m.n_layers && !has; k++)
			has = !strcmp(m.layers[k].digest, blob);
		manifest_free(&m);
		if (has) {
			char *path = xstrdup(r.path);

			registry_ref_free(&r);
			return path;
		}
		registry_ref_free(&r);
	}
	return NULL;
}

static void report(struct push_job *j, const char *id, enum push_layer_status st,
		   unsigned long long cur, unsigned long long total, const char *from)
{
	if (id && j->p && j->p->layer)
		j->p->layer(j->p->ctx, id, st, cur, total, from);
}

/* "LOCATION?digest=D" or "LOCATION&digest=D". */
static char *location_with_digest(const char *loc, const char *digest)
{
	return xasprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', digest);
}

/* A blob's transfer that failed for a dropped connection or a 5xx can be
 * tried again; a refusal cannot. */
static int do_req(struct push_job *j, const struct registry_request *req,
		  struct registry_response *resp, struct err *err)
{
	if (registry_do(j->reg, req, resp, err) < 0) {
		j->retryable = true;
		return -1;
	}
	return 0;
}

static int fail(struct push_job *j, struct registry_response *resp, const char *what,
		struct err *err)
{
	j->retryable = resp->status >= 500;
	return registry_error(j->reg, resp, what, err);
}

static int expect(struct push_job *j, struct registry_response *resp, long want,
		  const char *what, struct err *err)
{
	if (resp->status == want)
		return 0;
	return fail(j, resp, what, err);
}

/* Send [from, from + len) of fd: one PATCH. The new Location comes back in resp. */
static int upload_chunk(struct push_job *j, const char *loc, int fd, unsigned long long from,
			unsigned long long len, struct registry_response *resp, struct err *err)
{
	char range[80], clen[64];
	const char *headers[] = { "Content-Type: application/octet-stream", range, clen, NULL };
	struct registry_request req = { .method = "PATCH", .path = loc, .headers = headers,
					.body_fd = fd, .body_fd_len = (long long)len };

	snprintf(range, sizeof(range), "Content-Range: %llu-%llu", from, from + len - 1);
	snprintf(clen, sizeof(clen), "Content-Length: %llu", len);
	if (lseek(fd, (off_t)from, SEEK_SET) < 0)
		return err_sys(err, errno, "seek in a blob");
	if (do_req(j, &req, resp, err) < 0)
		return -1;
	if (resp->status != 202 && resp->status != 204)
		return fail(j, resp, "blob upload", err);
	if (!resp->location)
		return err_set(err, "the registry's answer to an upload PATCH has no Location");
	return 0;
}

/* Upload blob (size bytes) into the session at loc (the Location of the
 * POST): one PUT with the body, or PATCHes then a PUT without one. */
static int upload(struct push_job *j, const char *loc_in, const char *blob,
		  unsigned long long size, const char *id, struct err *err)
{
	_cleanup_free_ char *path = blob_path(j->root, blob);
	_cleanup_free_ char *loc = xstrdup(loc_in);
	_cleanup_free_ char *put = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct registry_response resp = { .content_length = -1 };
	const char *ctype[] = { "Content-Type: application/octet-stream", NULL };
	struct registry_request req = { .method = "PUT", .headers = ctype, .body_fd = -1 };
	unsigned long long done = 0;
	int r = -1;

	if (fd < 0)
		return err_sys(err, errno, "open blob %s", blob);
	if (size > PUSH_MONOLITHIC_MAX) {
		while (done < size) {
			unsigned long long n = size - done < PUSH_CHUNK_SIZE ? size - done :
					       PUSH_CHUNK_SIZE;

			if (upload_chunk(j, loc, fd, done, n, &resp, err) < 0)
				goto out;
			free(loc);
			loc = xstrdup(resp.location);
			done += n;
			report(j, id, PUSH_PUSHING, done, size, NULL);
		}
	} else {
		req.body_fd = fd;
		req.body_fd_len = (long long)size;
	}
	put = location_with_digest(loc, blob);
	req.path = put;
	if (do_req(j, &req, &resp, err) < 0)
		goto out;
	if (expect(j, &resp, 201, "blob upload", err) < 0)
		goto out;
	if (!done)
		report(j, id, PUSH_PUSHING, size, size, NULL);
	r = 0;
out:
	registry_response_free(&resp);
	return r;
}

/* One blob: already there, mounted, or uploaded. */
static int push_blob(struct push_job *j, const char *blob, const char *id, struct err *err)
{
	_cleanup_free_ char *path = blob_path(j->root, blob);
	_cleanup_free_ char *head = xasprintf("blobs/%s", blob);
	_cleanup_free_ char *from = NULL, *post = NULL;
	struct registry_response resp = { .content_length = -1 };
	struct registry_request req = { .method = "HEAD", .path = head, .body_fd = -1 };
	const char *nobody[] = { "Content-Length: 0", NULL };
	struct stat st;
	int r = -1;

	if (stat(path, &st) < 0)
		return err_sys(err, errno, "blob %s of %s is not in the store", blob, j->name);
	if (do_req(j, &req, &resp, err) < 0)
		goto out;
	if (resp.status == 200) {
		report(j, id, PUSH_EXISTS, 0, 0, NULL);
		r = 0;
		goto out;
	}
	if (resp.status != 404 && fail(j, &resp, "blob", err) < 0)
		goto out;
	from = mount_source(j, blob);
	if (from) {
		registry_scope_add(j->reg, from);
		post = xasprintf("blobs/uploads/?mount=%s&from=%s", blob, from);
	} else {
		post = xstrdup("blobs/uploads/");
	}
	req.method = "POST";
	req.path = post;
	req.headers = nobody;
	if (do_req(j, &req, &resp, err) < 0)
		goto out;
	if (from && resp.status == 201) {
		report(j, id, PUSH_MOUNTED, 0, 0, from);
		r = 0;
		goto out;
	}
	if (expect(j, &resp, 202, "blob upload", err) < 0)
		goto out;
	if (!resp.location) {
		err_set(err, "the registry started an upload without a Location");
		goto out;
	}
	report(j, id, PUSH_PUSHING, 0, (unsigned long long)st.st_size, NULL);
	if (upload(j, resp.location, blob, (unsigned long long)st.st_size, id, err) < 0)
		goto out;
	report(j, id, PUSH_PUSHED, 0, 0, NULL);
	r = 0;
out:
	registry_response_free(&resp);
	return r;
}

/* A blob again after a dropped connection or a 5xx, PUSH_RETRIES times,
 * waiting 1, 2, 4... seconds ("Retrying in N seconds", as docker). */
static int push_blob_retry(struct push_job *j, const char *blob, const char *id,
			   struct err *err)
{
	for (int attempt = 0;; attempt++) {
		unsigned secs = 1u << attempt;

		j->retryable = false;
		if (push_blob(j, blob, id, err) == 0)
			return 0;
		if (!j->retryable || attempt >= PUSH_RETRIES)
			return -1;
		report(j, id, PUSH_RETRYING, secs, 0, NULL);
		sleep(secs);
		err_clear(err);
	}
}

/* Docker names a layer in progress by its diff id's first 12 hex digits. */
static void layer_id(json_t *cfg, size_t i, const char *blob, char id[13])
{
	json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	const char *d = json_string_value(json_array_get(ids, i));

	snprintf(id, 13, "%s", digest_hex(d && digest_valid(d) ? d : blob));
}

/* docker records where an image went: "NAME@DIGEST" joins its RepoDigests
 * (and names a mount source for later pushes). The push itself is done: a
 * failure here changes nothing of it. */
static void record_push(struct push_job *j, const char *tag, const char *manifest_digest)
{
	_cleanup_free_ char *ref = xasprintf("%s:%s", j->name, tag);
	_cleanup_free_ char *repo_digest = xasprintf("%s@%s", j->name, manifest_digest);
	struct err err = { 0 };

	image_store_add(j->root, ref, manifest_digest, repo_digest, &err);
}

static int push_tag(struct push_job *j, const char *tag, const char *manifest_digest,
		    struct err *err)
{
	_cleanup_free_ char *data = NULL, *cfg_data = NULL, *put = NULL, *ctype = NULL;
	_cleanup_json_ json_t *cfg = NULL;
	struct manifest m = { 0 };
	struct registry_response resp = { .content_length = -1 };
	size_t len, cfg_len;
	char (*ids)[13] = NULL;
	int r = -1;

	if (manifest_load(j->root, manifest_digest, &data, &len, &m, err) < 0)
		return -1;
	if (blob_get(j->root, m.config.digest, CONFIG_MAX_BYTES, &cfg_data, &cfg_len, err) < 0 ||
	    image_config_parse(cfg_data, cfg_len, m.n_layers, &cfg, err) < 0) {
		err_wrap(err, "config of %s:%s", j->name, tag);
		goto out;
	}
	ids = xmalloc(sizeof(*ids) * (m.n_layers + 1));
	/* docker lists the layers top first */
	for (size_t i = m.n_layers; i-- > 0;) {
		layer_id(cfg, i, m.layers[i].digest, ids[i]);
		report(j, ids[i], PUSH_PREPARING, 0, 0, NULL);
	}
	for (size_t i = m.n_layers; i-- > 0;) {
		if (push_blob_retry(j, m.layers[i].digest, ids[i], err) < 0)
			goto out;
	}
	if (push_blob_retry(j, m.config.digest, NULL, err) < 0)
		goto out;
	put = xasprintf("manifests/%s", tag);
	ctype = xasprintf("Content-Type: %s", m.media_type);
	{
		const char *headers[] = { ctype, NULL };
		struct registry_request req = { .method = "PUT", .path = put, .headers = headers,
						.body = data, .body_len = len, .body_fd = -1 };

		if (registry_do(j->reg, &req, &resp, err) < 0)
			goto out;
		if (resp.status != 201 && resp.status != 200) {
			_cleanup_free_ char *what = xasprintf("manifest %s:%s", j->name, tag);

			registry_error(j->reg, &resp, what, err);
			goto out;
		}
		if (resp.docker_digest && strcmp(resp.docker_digest, manifest_digest)) {
			err_set(err, "the registry stored the manifest of %s:%s as %s, not %s",
				j->name, tag, resp.docker_digest, manifest_digest);
			goto out;
		}
	}
	record_push(j, tag, manifest_digest);
	if (j->p && j->p->pushed)
		j->p->pushed(j->p->ctx, tag, manifest_digest, len);
	r = 0;
out:
	registry_response_free(&resp);
	manifest_free(&m);
	free(ids);
	return r;
}

/* Reach the registry (and get a token for the push) before any layer is
 * named, so an unreachable one fails first, as docker's push does. */
static int registry_ping(struct push_job *j, struct err *err)
{
	struct registry_request req = { .method = "GET", .path = "/v2/", .body_fd = -1 };
	struct registry_response resp = { .content_length = -1 };
	int r = registry_do(j->reg, &req, &resp, err);

	registry_response_free(&resp);
	return r;
}

int image_push(const char *root, const struct host_config *hc, const char *ref,
	       bool all_tags, const struct push_progress *progress, struct err *err)
{
	struct push_job j = { .root = root, .p = progress };
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *lock_path_s = xasprintf("%s/layers.lock", root);
	size_t n = 0;
	int r = -1;

	if (registry_ref_parse(ref, &j.ref, err) < 0)
		return -1;
	if (j.ref.digest) {
		err_set(err, "cannot push a digest reference: %s", ref);
		goto out;
	}
	j.name = registry_ref_name(&j.ref);
	/* Shared, as a pull holds it: no image removal deletes a blob under us. */
	if (access(root, F_OK) == 0) {
		lock = lock_path(lock_path_s, LOCK_SH, err);
		if (lock < 0)
			goto out;
	}
	if (progress && progress->repository) {
		_cleanup_free_ char *full = xasprintf("%s/%s", j.ref.domain, j.ref.path);

		progress->repository(progress->ctx, full);
	}
	if (entries_load(&j, err) < 0)
		goto out;
	for (size_t i = 0; i < j.n_entries; i++)
		n += j.entries[i].tag && !strcmp(j.entries[i].name, j.name) &&
		     (all_tags || !strcmp(j.entries[i].tag, j.ref.tag));
	if (!n) {
		err_set(err, "An image does not exist locally with the tag: %s", j.name);
		goto out;
	}
	if (registry_open(j.ref.domain, j.ref.path, true, hc, &j.reg, err) < 0 ||
	    registry_ping(&j, err) < 0)
		goto out;
	for (size_t i = 0; i < j.n_entries; i++) {
		struct push_entry *e = &j.entries[i];

		if (!e->tag || strcmp(e->name, j.name) || (!all_tags && strcmp(e->tag, j.ref.tag)))
			continue;
		if (push_tag(&j, e->tag, e->digest, err) < 0)
			goto out;
	}
	r = 0;
out:
	if (j.reg)
		registry_close(j.reg);
	entries_free(&j);
	free(j.name);
	registry_ref_free(&j.ref);
	return r;
}
